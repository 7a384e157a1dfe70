-- axiom-migrate: run-as=admin
--
-- 0017_partition_claims - a writer that took over a partition is no longer fenced by the
-- writer it replaced (docs/architecture.md: a zombie is refused, its successor carries on).
--
-- Layer: 1 (the claims are reachable only through the API); exactly-once. Nothing about who
-- may do what, or about any decision, outcome, record or ledger entry, changes here.
--
-- Why: the offset compare-and-set of 0008 refuses a stale writer only when its expectation
-- is stale. After a rebalance the old writer of a partition (a zombie that has not noticed
-- its revocation yet) and the new one both read the same stored next offset; whichever
-- committed first won, and when that was the zombie, the new owner lost its compare-and-set
-- and stopped as fenced while the zombie went on until it noticed: the partition then stood
-- still until an operator restarted the new owner. Safety held (one of them applied each
-- command once), liveness did not.
--
-- What changes:
--  (1) axiom.partition_claims: one row per partition a writer ever claimed, with a claim
--      number that grows by one per claim. axiom_api.claim_partition(instance, topic,
--      partition) takes the next number and returns it with the stored next offset; the
--      applier claims each partition once when it is assigned, and not again when it only
--      reconnects after a lost connection.
--  (2) axiom_api.apply_partition_batch gains the claim as its sixth parameter. It locks the
--      partition's claim row (FOR SHARE) before anything else and raises claim_conflict
--      (SQLSTATE AX409, as offset_conflict: the writer must stop) unless the number is the
--      latest claim. A partition nobody ever claimed is written with a NULL claim (the SQL
--      tests do that); once claimed, a NULL claim is refused too.
--  (3) 0016's apply_partition_batch, unchanged, becomes axiom.partition_batch, executable by
--      the definer only: the new entry point calls it after the claim check. An applier
--      binary that still calls the six-argument form gets "function does not exist", loudly.
--  (4) axiom_api.table_digests leaves partition_claims out, as it leaves out context_key:
--      claim numbers count assignments and restarts, which the log does not determine, so a
--      replay rebuilds other numbers by design.
--
-- Invariants:
--  (1) claim numbers of a partition only grow (lifecycle columns; no delete, no truncate);
--  (2) a claim waits for the batch that holds the partition (that batch's FOR SHARE lock) and
--      then reads the stored next offset that batch left: the new owner starts exactly where
--      the last committed batch ended;
--  (3) a batch whose claim is not the latest is refused before it reads or writes anything
--      else, so after a claim commits no earlier claimant commits a batch: the zombie stops,
--      the new owner is never fenced by it. The offset compare-and-set of 0008 stays as the
--      second fence (a claimant whose expectation is stale is still refused).

CREATE TABLE axiom.partition_claims (
	topic text NOT NULL,
	kafka_partition integer NOT NULL CHECK (kafka_partition >= 0),
	claim bigint NOT NULL CHECK (claim > 0), -- lifecycle column (grows only)
	claimed_by text NOT NULL,                -- lifecycle column
	claimed_at timestamptz NOT NULL,         -- lifecycle column
	PRIMARY KEY (topic, kafka_partition)
);
ALTER TABLE axiom.partition_claims OWNER TO axiom_owner;

CREATE TRIGGER immutable_data_columns BEFORE UPDATE ON axiom.partition_claims
    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_data_columns('claim', 'claimed_by',
        'claimed_at');
CREATE TRIGGER no_removal_row BEFORE DELETE ON axiom.partition_claims
    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
CREATE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.partition_claims
    FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.partition_claims ENABLE ALWAYS TRIGGER immutable_data_columns;
ALTER TABLE axiom.partition_claims ENABLE ALWAYS TRIGGER no_removal_row;
ALTER TABLE axiom.partition_claims ENABLE ALWAYS TRIGGER no_removal_truncate;

REVOKE ALL ON axiom.partition_claims FROM PUBLIC;
GRANT SELECT, INSERT ON axiom.partition_claims TO axiom_definer;
GRANT UPDATE (claim, claimed_by, claimed_at) ON axiom.partition_claims TO axiom_definer;
GRANT SELECT ON axiom.partition_claims TO axiom_auditor;
ALTER TABLE axiom.partition_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.partition_claims FORCE ROW LEVEL SECURITY;
CREATE POLICY auditor_reads_all ON axiom.partition_claims FOR SELECT TO axiom_auditor
    USING (true);
CREATE POLICY definer_all ON axiom.partition_claims TO axiom_definer
    USING (true) WITH CHECK (true);

-- (3) -------------------------------------------------------------------------------------
ALTER FUNCTION axiom_api.apply_partition_batch(text, text, integer, boolean, bigint, jsonb)
    SET SCHEMA axiom;
ALTER FUNCTION axiom.apply_partition_batch(text, text, integer, boolean, bigint, jsonb)
    RENAME TO partition_batch;
REVOKE ALL ON FUNCTION axiom.partition_batch(text, text, integer, boolean, bigint, jsonb)
    FROM PUBLIC, axiom_user;

-- (1) -------------------------------------------------------------------------------------
-- Claim (p_topic, p_partition) for applier instance p_instance: the new claim number, and the
-- stored next offset (NULL when none) as the batch holding the partition, if any, left it.
CREATE FUNCTION axiom_api.claim_partition(p_instance text, p_topic text, p_partition integer,
    OUT next_offset bigint, OUT claim bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p_instance IS NULL OR p_topic IS NULL OR p_partition IS NULL OR p_partition < 0 THEN
		RAISE EXCEPTION 'instance, topic and partition are required'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO axiom.partition_claims AS c
	VALUES (p_topic, p_partition, 1, p_instance, clock_timestamp())
	ON CONFLICT (topic, kafka_partition) DO UPDATE
	   SET claim = c.claim + 1, claimed_by = excluded.claimed_by,
	       claimed_at = excluded.claimed_at
	RETURNING c.claim INTO claim;
	-- a statement of its own, so its snapshot is taken after the claim's row lock was granted
	-- (invariant 2)
	SELECT o.next_offset INTO next_offset FROM axiom.partition_offsets o
	 WHERE o.topic = p_topic AND o.kafka_partition = p_partition;
END
$$;

-- (2) -------------------------------------------------------------------------------------
CREATE FUNCTION axiom_api.apply_partition_batch(p_instance text, p_topic text,
    p_partition integer, p_control boolean, p_expected bigint, p_claim bigint,
    p_commands jsonb)
RETURNS TABLE (ordinal integer, kafka_offset bigint, decision text, reason_code text,
    message text, object_id uuid, version bigint, record_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	latest bigint;
BEGIN
	SELECT c.claim INTO latest FROM axiom.partition_claims c
	 WHERE c.topic = p_topic AND c.kafka_partition = p_partition FOR SHARE;
	IF latest IS DISTINCT FROM p_claim THEN
		RAISE EXCEPTION 'claim_conflict: the latest claim of %/% is %, not %', p_topic,
		    p_partition, coalesce(latest::text, 'none'), coalesce(p_claim::text, 'none')
		    USING ERRCODE = 'AX409',
		          HINT = 'Another applier instance claimed this partition; this one must stop.';
	END IF;
	RETURN QUERY SELECT * FROM axiom.partition_batch(p_instance, p_topic, p_partition,
	    p_control, p_expected, p_commands);
END
$$;

DO $handover$
DECLARE
	f regprocedure;
BEGIN
	FOREACH f IN ARRAY ARRAY[
	    'axiom_api.claim_partition(text, text, integer)'::regprocedure,
	    'axiom_api.apply_partition_batch(text, text, integer, boolean, bigint, bigint, jsonb)'
	        ::regprocedure] LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO axiom_user', f);
		EXECUTE format('ALTER FUNCTION %s OWNER TO axiom_definer', f);
	END LOOP;
END
$handover$;

-- (4) -------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION axiom_api.table_digests()
RETURNS TABLE (table_name text, row_count bigint, digest bytea, status text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text;
	h bytea;
BEGIN
	FOR t IN SELECT c.relname::text FROM pg_catalog.pg_class c
	    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'axiom' AND c.relkind IN ('r', 'p')
	      AND c.relname <> 'context_key'      -- a secret, out of scope (invariant 5 of 0011)
	      AND c.relname <> 'partition_claims' -- counts assignments, not the log (0017)
	    ORDER BY c.relname COLLATE "C" LOOP
		table_name := t;
		IF to_regprocedure(format('axiom.%I()', 'digest_rows_' || t)) IS NULL THEN
			row_count := NULL;
			digest := NULL;
			status := 'not covered';
		ELSE
			EXECUTE format('SELECT d.row_count, d.hashes FROM axiom.%I() d', 'digest_rows_' || t)
			    INTO row_count, h;
			digest := axiom.table_digest_v1(t, row_count, h);
			status := 'covered';
		END IF;
		RETURN NEXT;
	END LOOP;
END
$$;
