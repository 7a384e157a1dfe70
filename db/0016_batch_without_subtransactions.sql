-- axiom-migrate: run-as=admin
--
-- 0016_batch_without_subtransactions - the applier's batch, the same decisions and the same
-- rows, without a subtransaction per command.
--
-- Layers: 2, 3 and 5 (every command still goes through its per-command API function and
-- all their checks, under the same identity and row policies), 4 and 6 (the ledger entries
-- are the same rows with the same hashes). Nothing about who may do what changes here.
--
-- Why: a profile of 4,000 commands of the benchmark mix (pg_stat_user_functions) spent about
-- a third of the server time in three places that decide nothing: the per-command EXCEPTION
-- block of apply_batch (a subtransaction per command, to turn a malformed field into an
-- invalid_command outcome), the EXCEPTION block of insert_version (a second subtransaction,
-- to turn a key violation into not_found_or_denied), and append_ledger_entry (an advisory
-- lock and a read of the ledger's last entry, per entry). Measured afterwards, the traps
-- were the smaller part of that (insert_version's own time is mostly the insert); most of
-- the gain came from (4) and (5) below (docs/benchmarks.md).
--
-- What changes:
--  (1) axiom.insert_version inserts with ON CONFLICT DO NOTHING instead of trapping
--      unique_violation: a key conflict still yields NULL (not_found_or_denied), without a
--      subtransaction. Its other trapped error, foreign_key_violation, cannot happen after
--      the callers' checks (record type, facility and domain come from a row that exists or
--      were checked to exist; created_by is an active user; change_id is the change read)
--      and would now abort the batch instead of denying the command: loud, never silent.
--  (2) axiom.dispatch_command holds the operation dispatch of apply_batch (0009), verbatim;
--      apply_batch calls it inside its per-command trap as before.
--  (3) axiom_api.apply_partition_batch applies the commands first in one subtransaction for
--      the whole batch, calling dispatch_command without a per-command trap and extending
--      the ledger from the last entry it read once (under the partition's advisory lock of
--      append_ledger_entry). If any command raises a data exception (a malformed field),
--      that attempt is rolled back entirely and the batch is applied again exactly as 0008
--      did (apply_batch per command, append_ledger_entry per entry). Either way the outcomes,
--      session events, records, ledger entries and hashes are the same: the first attempt
--      only runs when no command of the batch is malformed, and then apply_batch's trap would
--      not have fired either. Invariants 1 to 4 of 0008 hold unchanged.
--  (4) the three lookups of a lineage's head (axiom.head_for_update, the trigger
--      axiom.link_record_version, axiom_api.lineage_head) run without bitmap scans. Their
--      query (WHERE id = $1 ORDER BY version DESC LIMIT 1) carries the definer's row policy
--      as a filter; with a bitmap scan PostgreSQL evaluates that policy (a MAC and a grant
--      lookup) on every version of the lineage and then sorts, so a command cost grew with
--      the length of its lineage (20 policy evaluations per command in the benchmark). The
--      backward index scan stops at the head. All versions of a lineage share its facility
--      and domain (0004's trigger), so the policy admits all of them or none: the head found
--      is the same row either way.
--  (5) lineage_head and change_content return at most one row, and say so (ROWS 1): the
--      applier calls them once per command of a batch in one statement, and the default
--      estimate of 1,000 rows per call made that statement look expensive enough for JIT
--      compilation (30 to 140 ms per batch; the applier's session also turns JIT off).

SET LOCAL ROLE axiom_owner;

-- (4) -------------------------------------------------------------------------------------
ALTER FUNCTION axiom.head_for_update(uuid) SET enable_bitmapscan = off;
ALTER FUNCTION axiom.link_record_version() SET enable_bitmapscan = off;

-- (1) -------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION axiom.insert_version(p_record_id uuid, p_id uuid, p_version bigint,
    p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text,
    p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_actor text,
    p_event_time timestamptz, p_change_id uuid) RETURNS bytea
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	h bytea;
BEGIN
	INSERT INTO axiom.records (record_id, id, version, previous_record_id, previous_record_hash,
	    record_hash, record_type, facility_id, domain_id, title, content, created_by, created_at,
	    change_id)
	VALUES (p_record_id, p_id, p_version, p_previous_record_id, p_previous_record_hash, NULL,
	    p_record_type, p_facility_id, p_domain_id, p_title, p_content, p_actor, p_event_time,
	    p_change_id)
	ON CONFLICT DO NOTHING
	RETURNING record_hash INTO h;
	RETURN h;
END
$$;

-- (2) -------------------------------------------------------------------------------------
-- The outcome of command c (an element of apply_batch's array) whose actor, event time and
-- command id the caller parsed; raises a data exception when a field is malformed.
CREATE FUNCTION axiom.dispatch_command(c jsonb, actor text, et timestamptz, cmd uuid,
    p_topic text, p_partition integer) RETURNS axiom_api.outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE c->>'op'
	WHEN 'create_record' THEN axiom_api.create_record(actor, et, cmd,
	    (c->>'record_id')::uuid, (c->>'id')::uuid, c->>'record_type', c->>'facility_id',
	    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'))
	WHEN 'new_version' THEN axiom_api.new_version(actor, et, cmd,
	    (c->>'record_id')::uuid, (c->>'id')::uuid, decode(c->>'previous_record_hash', 'hex'),
	    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'))
	WHEN 'transition_record' THEN axiom_api.transition_record(actor, et, cmd,
	    (c->>'id')::uuid, (c->>'version')::bigint, c->>'to_status', c->>'reason')
	WHEN 'propose_change' THEN axiom_api.propose_change(actor, et, cmd,
	    (c->>'change_id')::uuid, (c->>'id')::uuid, (c->>'base_version')::bigint,
	    c->>'title', decode(c->>'content', 'hex'), c->>'reason')
	WHEN 'submit_change' THEN axiom_api.submit_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'review_change' THEN axiom_api.review_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'approve_change' THEN axiom_api.approve_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'reject_change' THEN axiom_api.reject_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'apply_change' THEN axiom_api.apply_change(actor, et, cmd,
	    (c->>'change_id')::uuid, (c->>'record_id')::uuid, decode(c->>'record_hash', 'hex'),
	    c->>'reason')
	WHEN 'sign_record' THEN CASE WHEN c ? 'nonce' THEN axiom_api.sign_record(actor, et,
	    cmd, (c->>'signature_id')::uuid, (c->>'record_id')::uuid, (c->>'id')::uuid,
	    (c->>'version')::bigint, decode(c->>'record_hash', 'hex'), c->>'meaning',
	    decode(c->>'nonce', 'hex'), decode(c->>'intent_hash', 'hex'), p_topic,
	    p_partition,
	    ARRAY(SELECT jsonb_array_elements_text(c->'factor_ids'))::uuid[],
	    ARRAY(SELECT jsonb_array_elements_text(c->'factor_types')),
	    (c->>'user_verified')::boolean, (c->>'sign_count')::bigint, c->>'refusal',
	    c->>'refusal_detail', decode(c->>'proofs', 'hex'), c->>'comment')
	    ELSE axiom_api.sign_record(actor, et, cmd,
	    (c->>'signature_id')::uuid, (c->>'record_id')::uuid, c->>'meaning',
	    decode(c->>'intent_hash', 'hex'),
	    ARRAY(SELECT jsonb_array_elements_text(c->'factor_types')),
	    decode(c->>'proofs', 'hex')) END
	WHEN 'register_factor' THEN axiom_api.register_factor(actor, et, cmd,
	    (c->>'factor_id')::uuid, c->>'factor_type', c->>'user_id',
	    decode(c->>'credential_id', 'hex'), decode(c->>'public_key', 'hex'),
	    (c->>'cose_alg')::integer, c->>'issuer', c->>'audience', c->>'jwks', c->>'reason')
	WHEN 'revoke_factor' THEN axiom_api.revoke_factor(actor, et, cmd,
	    (c->>'factor_id')::uuid, c->>'reason')
	WHEN 'set_signing_policy' THEN axiom_api.set_signing_policy(actor, et, cmd,
	    c->>'record_type', c->>'meaning', (c->>'require_fido2')::boolean,
	    (c->>'require_oidc')::boolean, (c->>'require_password')::boolean, c->>'reason')
	WHEN 'grant_access' THEN axiom_api.grant_access(actor, et, cmd,
	    (c->>'grant_id')::uuid, c->>'user_id', c->>'facility_id', c->>'domain_id',
	    c->>'tier', (c->>'expires_at')::timestamptz, c->>'reason')
	WHEN 'revoke_grant' THEN axiom_api.revoke_grant(actor, et, cmd,
	    (c->>'grant_id')::uuid, c->>'reason')
	WHEN 'delegate' THEN axiom_api.delegate(actor, et, cmd,
	    (c->>'delegation_id')::uuid, (c->>'source_grant_id')::uuid, c->>'delegatee',
	    c->>'kind', (c->>'expires_at')::timestamptz, c->>'reason')
	WHEN 'revoke_delegation' THEN axiom_api.revoke_delegation(actor, et, cmd,
	    (c->>'delegation_id')::uuid, c->>'reason')
	WHEN 'enroll_user' THEN axiom_api.enroll_user(actor, et, cmd, c->>'user_id',
	    c->>'printed_name', coalesce((c->>'administrator')::boolean, false),
	    (c->>'db_role')::name, c->>'reason')
	WHEN 'deactivate_user' THEN axiom_api.deactivate_user(actor, et, cmd,
	    c->>'user_id', c->>'reason')
	WHEN 'define_scope' THEN axiom_api.define_scope(actor, et, cmd, c->>'kind',
	    c->>'key', c->>'name')
	WHEN 'configure_record_type' THEN axiom_api.configure_record_type(actor, et, cmd,
	    c->>'record_type', c->>'domain_id', c->>'gate')
	WHEN 'quarantine' THEN ROW('quarantined', coalesce(c->>'reason_code', 'undecodable'),
	    'the message was quarantined', NULL, NULL,
	    decode(c->>'payload_sha256', 'hex'))::axiom_api.outcome
	ELSE axiom.rejected('invalid_command',
	    format('unknown operation %s', coalesce(c->>'op', '(none)')))
	END;
END
$$;

-- One row of apply_partition_batch's result, with the command's event time.
CREATE TYPE axiom.batch_outcome AS (ordinal integer, kafka_offset bigint,
    event_time timestamptz, decision text, reason_code text, message text, object_id uuid,
    version bigint, record_hash bytea);

-- The commands of a batch of (p_topic, p_partition) up to the first data command beyond the
-- watermark p_w, their outcomes in order. p_trap: 0008's way (apply_batch per command, with
-- its trap, and append_ledger_entry per entry); otherwise no per-command trap, and the ledger
-- extended here from its last entry. The caller holds the partition's offset row lock.
CREATE FUNCTION axiom.partition_commands(p_topic text, p_partition integer, p_control boolean,
    p_expected bigint, p_w timestamptz, p_commands jsonb, p_trap boolean)
RETURNS SETOF axiom.batch_outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c jsonb;
	n bigint;
	off bigint;
	et timestamptz;
	cmd uuid;
	next_off bigint := p_expected;
	o axiom_api.outcome;
	r record;
	-- the ledger entry of the command (p_trap = false)
	l_actor text;
	l_et timestamptz;
	l_cmd uuid;
	l_reason text;
	l_hash bytea;
	last_seq bigint;
	last_off bigint;
	last_hash bytea;
	h bytea;
	res axiom.batch_outcome;
BEGIN
	IF NOT p_trap THEN
		-- append_ledger_entry's lock and read, once for the batch
		PERFORM pg_advisory_xact_lock(hashtextextended(p_topic || '/' || p_partition::text, 7));
		SELECT l.seq, l.kafka_offset, l.entry_hash INTO last_seq, last_off, last_hash
		  FROM axiom.ledger l WHERE l.topic = p_topic AND l.kafka_partition = p_partition
		 ORDER BY l.seq DESC LIMIT 1;
	END IF;
	FOR c, n IN SELECT e, i FROM jsonb_array_elements(p_commands) WITH ORDINALITY AS x(e, i) LOOP
		off := (c->>'offset')::bigint;
		et := (c->>'event_time')::timestamptz;
		IF off IS NULL OR et IS NULL OR (next_off IS NOT NULL AND off < next_off) THEN
			RAISE EXCEPTION 'command % of the batch has no offset or event time, or goes back in the log', n
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF NOT p_control AND et > p_w THEN
			EXIT; -- invariant 2 of 0008: the rest waits for the control watermark
		END IF;
		cmd := NULL;
		IF c->>'command_id' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
			cmd := (c->>'command_id')::uuid;
		END IF;
		l_actor := c->>'actor';
		l_et := et;
		l_cmd := cmd;
		l_hash := NULL;
		IF cmd IS NOT NULL AND EXISTS (SELECT 1 FROM axiom.applied_commands a WHERE a.command_id = cmd) THEN
			o := axiom.rejected('duplicate_command', format(
			    'command %s was already applied (topic %s)', cmd,
			    (SELECT a.topic || '/' || a.kafka_partition || '@' || a.kafka_offset
			       FROM axiom.applied_commands a WHERE a.command_id = cmd)));
			l_reason := o.reason_code;
			IF p_trap THEN
				PERFORM axiom_api.append_ledger_entry(l_actor, et, p_topic, p_partition, off,
				    cmd, o.decision, o.reason_code, NULL);
			END IF;
		ELSIF c->>'op' = 'tick' THEN
			o := axiom.accepted('control watermark tick');
			l_reason := 'tick';
			IF p_trap THEN
				PERFORM axiom_api.append_ledger_entry(l_actor, et, p_topic, p_partition, off,
				    cmd, o.decision, 'tick', NULL);
			END IF;
		ELSIF p_trap THEN
			SELECT b.decision, b.reason_code, b.message, b.object_id, b.version, b.record_hash
			  INTO r FROM axiom_api.apply_batch(p_topic, p_partition, jsonb_build_array(c)) b;
			o := ROW(r.decision, r.reason_code, r.message, r.object_id, r.version, r.record_hash);
		ELSE
			-- apply_batch's parsing, without its trap: a malformed field raises
			l_et := (c->>'event_time')::timestamptz;
			l_cmd := (c->>'command_id')::uuid;
			o := axiom.dispatch_command(c, l_actor, l_et, l_cmd, p_topic, p_partition);
			l_reason := o.reason_code;
			l_hash := o.record_hash;
		END IF;
		-- append_ledger_entry's entry, with its refusals (no entry for an offset that does not
		-- increase): the same seq, links and hash
		IF NOT p_trap AND off >= 0 AND (last_seq IS NULL OR off > last_off) THEN
			h := sha256(axiom.canon_ledger_v1(p_topic, p_partition, coalesce(last_seq, 0) + 1,
			    off, l_cmd, l_actor, l_et, o.decision, l_reason, l_hash, coalesce(last_hash,
			    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)));
			INSERT INTO axiom.ledger VALUES (p_topic, p_partition, coalesce(last_seq, 0) + 1,
			    off, l_cmd, l_actor, l_et, o.decision, l_reason, l_hash, coalesce(last_hash,
			    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea), h);
			last_seq := coalesce(last_seq, 0) + 1;
			last_off := off;
			last_hash := h;
		END IF;
		IF cmd IS NOT NULL AND o.reason_code IS DISTINCT FROM 'duplicate_command' THEN
			INSERT INTO axiom.applied_commands VALUES (cmd, p_topic, p_partition, off);
		END IF;
		next_off := off + 1;
		res := ROW(n, off, et, o.decision,
		    CASE WHEN c->>'op' = 'tick' AND o.decision = 'accepted' THEN 'tick' ELSE o.reason_code END,
		    o.message, o.object_id, o.version, o.record_hash);
		RETURN NEXT res;
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION axiom.dispatch_command(jsonb, text, timestamptz, uuid, text, integer),
    axiom.partition_commands(text, integer, boolean, bigint, timestamptz, jsonb, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom.dispatch_command(jsonb, text, timestamptz, uuid, text, integer),
    axiom.partition_commands(text, integer, boolean, bigint, timestamptz, jsonb, boolean)
    TO axiom_definer;
GRANT USAGE ON TYPE axiom.batch_outcome TO axiom_definer;

-- (2) to (5): lineage_head, change_content, apply_batch and apply_partition_batch are owned
-- by axiom_definer since their hand-over, and axiom_owner (NOINHERIT) may not replace or
-- alter them; the admin login does, for these four only (CREATE OR REPLACE and ALTER keep
-- their owner and privileges).
RESET ROLE;

ALTER FUNCTION axiom_api.lineage_head(text, timestamptz, uuid) SET enable_bitmapscan = off;
ALTER FUNCTION axiom_api.lineage_head(text, timestamptz, uuid) ROWS 1;
ALTER FUNCTION axiom_api.change_content(text, timestamptz, uuid) ROWS 1;

CREATE OR REPLACE FUNCTION axiom_api.apply_batch(p_topic text, p_partition integer, p_commands jsonb)
RETURNS TABLE (ordinal integer, decision text, reason_code text, message text, object_id uuid,
    version bigint, record_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c jsonb;
	n bigint;
	o axiom_api.outcome;
	actor text;
	et timestamptz;
	cmd uuid;
BEGIN
	IF jsonb_typeof(p_commands) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'commands must be a json array' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR c, n IN SELECT e, i FROM jsonb_array_elements(p_commands) WITH ORDINALITY AS x(e, i) LOOP
		o := NULL;
		actor := NULL;
		et := NULL;
		cmd := NULL;
		BEGIN
			actor := c->>'actor';
			et := (c->>'event_time')::timestamptz;
			cmd := (c->>'command_id')::uuid;
			o := axiom.dispatch_command(c, actor, et, cmd, p_topic, p_partition);
		EXCEPTION WHEN data_exception THEN
			o := axiom.rejected('invalid_command', 'malformed command: ' || SQLERRM);
		END;
		IF c ? 'offset' AND et IS NOT NULL THEN
			PERFORM axiom_api.append_ledger_entry(actor, et, p_topic, p_partition,
			    (c->>'offset')::bigint, cmd, o.decision, o.reason_code, o.record_hash);
		END IF;
		ordinal := n;
		decision := o.decision;
		reason_code := o.reason_code;
		message := o.message;
		object_id := o.object_id;
		version := o.version;
		record_hash := o.record_hash;
		RETURN NEXT;
	END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION axiom_api.apply_partition_batch(p_instance text, p_topic text,
    p_partition integer, p_control boolean, p_expected bigint, p_commands jsonb)
RETURNS TABLE (ordinal integer, kafka_offset bigint, decision text, reason_code text,
    message text, object_id uuid, version bigint, record_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	stored bigint;
	found_row boolean;
	w timestamptz;
	outs axiom.batch_outcome[];
	x axiom.batch_outcome;
	next_off bigint;
	o axiom_api.outcome;
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

	-- one subtransaction for the batch; a malformed command sends it down 0008's path
	BEGIN
		outs := ARRAY(SELECT b FROM axiom.partition_commands(p_topic, p_partition, p_control,
		    p_expected, w, p_commands, false) b);
	EXCEPTION WHEN data_exception THEN
		outs := ARRAY(SELECT b FROM axiom.partition_commands(p_topic, p_partition, p_control,
		    p_expected, w, p_commands, true) b);
	END;

	next_off := p_expected;
	FOREACH x IN ARRAY outs LOOP
		IF p_control AND x.event_time > w THEN
			w := x.event_time;
		END IF;
		next_off := x.kafka_offset + 1;
		ordinal := x.ordinal;
		kafka_offset := x.kafka_offset;
		decision := x.decision;
		reason_code := x.reason_code;
		message := x.message;
		object_id := x.object_id;
		version := x.version;
		record_hash := x.record_hash;
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

SET LOCAL ROLE axiom_owner;
