-- 0008_applier - what the applier needs beyond the per-command API: the control watermark,
-- the registry of applied command ids, and one entry point that applies a partition's batch
-- atomically (docs/security-layers.md and docs/architecture.md).
--
-- Layers: 2 (every command still goes through the per-command functions and their checks),
-- 4 (applied_commands is append-only), 6 (every outcome, duplicates and ticks included,
-- extends the partition's ledger), and exactly-once: the offset compare-and-set, the effects,
-- the ledger and the new next offset are one statement, hence one transaction.
--
-- Invariants:
--  (1) the control watermark only grows: it is the running maximum of the event times of the
--      applied control commands (ticks included);
--  (2) a data command with event time T is applied only when the watermark is >= T; the batch
--      stops at the first command beyond it and the applier waits (and asks for a tick);
--  (3) a command id is applied at most once: a republished one is a rejected outcome
--      (duplicate_command), chained in the ledger like any other;
--  (4) a batch whose expected next offset is not the stored one raises offset_conflict
--      (SQLSTATE AX409): the whole transaction rolls back, nothing of the batch remains.

CREATE TABLE axiom.control_watermark (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	event_time timestamptz NOT NULL,    -- lifecycle column (grows only)
	updated_by text NOT NULL            -- lifecycle column
);
INSERT INTO axiom.control_watermark VALUES (true, '-infinity', 'migration 0008');

CREATE TABLE axiom.applied_commands (
	command_id uuid PRIMARY KEY,
	topic text NOT NULL,
	kafka_partition integer NOT NULL,
	kafka_offset bigint NOT NULL
);

CREATE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON axiom.applied_commands
    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.applied_commands
    FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.applied_commands ENABLE ALWAYS TRIGGER append_only_row;
ALTER TABLE axiom.applied_commands ENABLE ALWAYS TRIGGER append_only_truncate;

CREATE TRIGGER immutable_data_columns BEFORE UPDATE ON axiom.control_watermark
    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_data_columns('event_time', 'updated_by');
CREATE TRIGGER no_removal_row BEFORE DELETE ON axiom.control_watermark
    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
CREATE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.control_watermark
    FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.control_watermark ENABLE ALWAYS TRIGGER immutable_data_columns;
ALTER TABLE axiom.control_watermark ENABLE ALWAYS TRIGGER no_removal_row;
ALTER TABLE axiom.control_watermark ENABLE ALWAYS TRIGGER no_removal_truncate;

GRANT SELECT, INSERT ON axiom.applied_commands TO axiom_definer;
GRANT SELECT ON axiom.control_watermark TO axiom_definer;
GRANT UPDATE (event_time, updated_by) ON axiom.control_watermark TO axiom_definer;
GRANT SELECT ON axiom.applied_commands, axiom.control_watermark TO axiom_auditor;

DO $rls$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['applied_commands', 'control_watermark'] LOOP
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE axiom.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY auditor_reads_all ON axiom.%I FOR SELECT '
		    'TO axiom_auditor USING (true)', t);
		EXECUTE format('CREATE POLICY definer_all ON axiom.%I TO axiom_definer '
		    'USING (true) WITH CHECK (true)', t);
	END LOOP;
END
$rls$;

-- The control watermark (invariant 1). Read-only.
CREATE FUNCTION axiom_api.control_watermark() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT w.event_time FROM axiom.control_watermark w
$$;

-- The ledger entries of (p_topic, p_partition) after seq p_after, at most p_limit, in order:
-- what the relay publishes on the audit topic. Read-only.
CREATE FUNCTION axiom_api.ledger_entries(p_topic text, p_partition integer, p_after bigint,
    p_limit integer)
RETURNS TABLE (seq bigint, kafka_offset bigint, command_id uuid, actor text,
    event_time timestamptz, decision text, reason_code text, record_hash bytea,
    previous_entry_hash bytea, entry_hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT l.seq, l.kafka_offset, l.command_id, l.actor, l.event_time, l.decision,
	       l.reason_code, l.record_hash, l.previous_entry_hash, l.entry_hash
	  FROM axiom.ledger l
	 WHERE l.topic = p_topic AND l.kafka_partition = p_partition AND l.seq > p_after
	 ORDER BY l.seq
	 LIMIT least(greatest(p_limit, 1), 10000)
$$;

-- What the applier needs to compute the record_hash of the next version of lineage p_id in C
-- (docs/canonical-encoding.md: the hash is computed twice, by the applier and by the database): the
-- head as p_actor sees it at p_event_time (layer 3: nothing when the actor may not see it).
-- Read-only; writes no audit row.
CREATE FUNCTION axiom_api.lineage_head(p_actor text, p_event_time timestamptz, p_id uuid)
RETURNS TABLE (record_id uuid, version bigint, record_hash bytea, record_type text,
    facility_id text, domain_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF axiom.start_command(p_actor, p_event_time) IS NULL THEN
		RETURN QUERY SELECT r.record_id, r.version, r.record_hash, r.record_type, r.facility_id,
		    r.domain_id FROM axiom.records r WHERE r.id = p_id ORDER BY r.version DESC LIMIT 1;
	END IF;
	PERFORM axiom.begin_command(NULL, NULL);
END
$$;

-- What the applier needs to compute the record_hash of the version an approved change will
-- create: the change's lineage, title and content as p_actor sees them. Read-only.
CREATE FUNCTION axiom_api.change_content(p_actor text, p_event_time timestamptz,
    p_change_id uuid)
RETURNS TABLE (id uuid, title text, content bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF axiom.start_command(p_actor, p_event_time) IS NULL THEN
		RETURN QUERY SELECT c.id, c.title, c.content FROM axiom.change_requests c
		 WHERE c.change_id = p_change_id;
	END IF;
	PERFORM axiom.begin_command(NULL, NULL);
END
$$;

-- Apply the batch p_commands (the element format of axiom_api.apply_batch, each with its
-- "offset" and "event_time") of (p_topic, p_partition), whose stored next offset the caller
-- expects to be p_expected (NULL: none stored yet). Returns the outcomes of the commands it
-- applied, a prefix of the batch, in order; the next offset stored is the one after the last
-- applied command. p_control: the batch is from the control topic (it advances the
-- watermark; otherwise it waits for it). The op "tick" only advances the watermark.
-- p_instance names the applier instance in the offsets table. Invariants 1 to 4 above.
CREATE FUNCTION axiom_api.apply_partition_batch(p_instance text, p_topic text,
    p_partition integer, p_control boolean, p_expected bigint, p_commands jsonb)
RETURNS TABLE (ordinal integer, kafka_offset bigint, decision text, reason_code text,
    message text, object_id uuid, version bigint, record_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	stored bigint;
	found_row boolean;
	w timestamptz;
	c jsonb;
	n bigint;
	off bigint;
	et timestamptz;
	cmd uuid;
	next_off bigint;
	o axiom_api.outcome;
	r record;
BEGIN
	IF p_instance IS NULL OR p_topic IS NULL OR p_partition IS NULL OR p_control IS NULL
	    OR jsonb_typeof(p_commands) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'instance, topic, partition, control flag and a json array of commands are required'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;

	-- fencing first (invariant 4): lock the offset row and compare
	SELECT po.next_offset, true INTO stored, found_row FROM axiom.partition_offsets po
	 WHERE po.topic = p_topic AND po.kafka_partition = p_partition FOR UPDATE;
	IF coalesce(found_row, false) <> (p_expected IS NOT NULL) OR stored IS DISTINCT FROM p_expected THEN
		RAISE EXCEPTION 'offset_conflict: the stored next offset of %/% is %, not %', p_topic,
		    p_partition, coalesce(stored::text, 'unset'), coalesce(p_expected::text, 'unset')
		    USING ERRCODE = 'AX409',
		          HINT = 'Another applier instance owns this partition; this one must stop.';
	END IF;

	-- no lock for data batches: every check of the API is a function of the event time, so a
	-- control commit landing meanwhile (event time > w >= T) cannot change their decisions
	IF p_control THEN
		SELECT cw.event_time INTO w FROM axiom.control_watermark cw FOR UPDATE;
	ELSE
		SELECT cw.event_time INTO w FROM axiom.control_watermark cw;
	END IF;
	next_off := p_expected;
	FOR c, n IN SELECT e, i FROM jsonb_array_elements(p_commands) WITH ORDINALITY AS x(e, i) LOOP
		off := (c->>'offset')::bigint;
		et := (c->>'event_time')::timestamptz;
		IF off IS NULL OR et IS NULL OR (next_off IS NOT NULL AND off < next_off) THEN
			RAISE EXCEPTION 'command % of the batch has no offset or event time, or goes back in the log', n
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF NOT p_control AND et > w THEN
			EXIT; -- invariant 2: the rest waits for the control watermark
		END IF;
		cmd := NULL;
		IF c->>'command_id' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
			cmd := (c->>'command_id')::uuid;
		END IF;

		IF cmd IS NOT NULL AND EXISTS (SELECT 1 FROM axiom.applied_commands a WHERE a.command_id = cmd) THEN
			o := axiom.rejected('duplicate_command', format(
			    'command %s was already applied (topic %s)', cmd,
			    (SELECT a.topic || '/' || a.kafka_partition || '@' || a.kafka_offset
			       FROM axiom.applied_commands a WHERE a.command_id = cmd)));
			PERFORM axiom_api.append_ledger_entry(c->>'actor', et, p_topic, p_partition, off,
			    cmd, o.decision, o.reason_code, NULL);
		ELSIF c->>'op' = 'tick' THEN
			o := axiom.accepted('control watermark tick');
			PERFORM axiom_api.append_ledger_entry(c->>'actor', et, p_topic, p_partition, off,
			    cmd, o.decision, 'tick', NULL);
		ELSE
			SELECT b.decision, b.reason_code, b.message, b.object_id, b.version, b.record_hash
			  INTO r FROM axiom_api.apply_batch(p_topic, p_partition, jsonb_build_array(c)) b;
			o := ROW(r.decision, r.reason_code, r.message, r.object_id, r.version, r.record_hash);
		END IF;
		IF cmd IS NOT NULL AND o.reason_code IS DISTINCT FROM 'duplicate_command' THEN
			INSERT INTO axiom.applied_commands VALUES (cmd, p_topic, p_partition, off);
		END IF;
		IF p_control AND et > w THEN
			w := et;
		END IF;
		next_off := off + 1;
		ordinal := n;
		kafka_offset := off;
		decision := o.decision;
		reason_code := CASE WHEN c->>'op' = 'tick' AND o.decision = 'accepted' THEN 'tick' ELSE o.reason_code END;
		message := o.message;
		object_id := o.object_id;
		version := o.version;
		record_hash := o.record_hash;
		RETURN NEXT;
	END LOOP;

	IF next_off IS DISTINCT FROM p_expected THEN
		o := axiom_api.store_next_offset(p_instance, p_topic, p_partition, p_expected, next_off);
		IF o.decision <> 'accepted' THEN
			RAISE EXCEPTION 'offset_conflict: %', o.message USING ERRCODE = 'AX409';
		END IF;
	END IF;
	IF p_control THEN
		UPDATE axiom.control_watermark SET event_time = w, updated_by = p_instance
		 WHERE event_time < w;
	END IF;
END
$$;

DO $handover$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
	    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname = 'axiom_api' AND p.prosecdef
	      AND p.proname IN ('control_watermark', 'ledger_entries', 'apply_partition_batch',
	          'lineage_head', 'change_content') LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO axiom_user', f);
		EXECUTE format('ALTER FUNCTION %s OWNER TO axiom_definer', f);
	END LOOP;
END
$handover$;
