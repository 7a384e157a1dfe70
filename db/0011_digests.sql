-- 0011_digests - deterministic per-table digests: one SHA-256 per table of schema axiom, so
-- that a database rebuilt by `axiom replay` can be compared with the live one table by table
-- (docs/replay.md and docs/canonical-encoding.md: "a rebuild is itself a verification").
--
-- Layer: 6 (cryptographic chains: the digests are a read-only check). Runs as axiom_auditor,
-- invoker's rights, no superuser; the auditor already reads every table (0005) except the
-- command-context MAC key, which is a secret and not part of the compared state.
--
-- Invariants:
--  (1) the digest of a table depends only on its rows' values: every value is encoded with
--      the canonical-encoding helpers of 0003 (length-prefixed, typed, explicit NULL tags,
--      timestamps as int64 microseconds, +-infinity as the int64 extremes, integers big-endian), never through a text form, so
--      TimeZone, DateStyle, IntervalStyle, bytea_output, extra_float_digits and lc_* change
--      nothing; booleans are the int64 0 or 1; a text[] is its cardinality then each element;
--  (2) rows are taken in an order defined by natural keys only, never by physical order or
--      by a value assigned at insertion time across partitions; text keys sort COLLATE "C"
--      (bytewise), so the database's locale changes nothing;
--  (3) a column whose value legitimately differs between the live database and a replay is
--      left out, each one named below with the reason (EXCLUDED):
--        change_request_steps.step_seq   identity column: numbers are handed out in commit
--            order across all partitions, so two appliers interleaving partitions differently
--            number the same steps differently. Kept instead: the step's ordinal within its
--            change request (all steps of one change are on the change's lineage partition,
--            applied in log order), so a reordering of steps is still detected;
--        session_events.event_seq        identity column, the same reason. Kept instead: the
--            event's ordinal within its command (one command's events are written in order
--            by one function call); events without a command id are ordered by their own
--            encoding (a multiset: no other order is defined for them);
--        partition_offsets.updated_by    the name of the applier instance that stored the
--            offset (a replay runs under its own instance name); next_offset is kept;
--        control_watermark.updated_by    the same: an instance name; event_time is kept;
--  (4) table digest = SHA-256(canon_text('axiom/table-digest/v1') || canon_text(table) ||
--      canon_int64(row count) || SHA-256(row 1) || ... || SHA-256(row n)), where row i is the
--      concatenation of its encoded columns in table column order (the excluded ones left
--      out, the ordinals of (3) appended). A row hash of 32 bytes keeps the aggregate below
--      PostgreSQL's 1 GB value limit up to about 33 million rows per table;
--  (5) every table of schema axiom is digested by its own function axiom.digest_rows_<table>
--      (here, or in a migration after the table's: 0013 for checkpoints, 0014 for the
--      e-signature tables of 0009) or is out of scope (context_key: a secret); a table
--      without one is reported with a NULL digest and the status 'not covered', so a
--      comparison cannot pass it silently.
--      Migration bookkeeping (axiom_meta.migrations) is in another schema and not compared:
--      it records when and by whom each database was migrated.

CREATE FUNCTION axiom.canon_bool(v boolean) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT axiom.canon_int64(CASE WHEN v THEN 1 WHEN NOT v THEN 0 END)
$$;

-- A timestamp that may be infinite (the control watermark starts at -infinity): finite values
-- exactly as canon_timestamp; -infinity and infinity as the int64 extremes, which no finite
-- timestamptz reaches (PostgreSQL's own representation of them).
CREATE FUNCTION axiom.canon_timestamp_any(v timestamptz) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL OR pg_catalog.isfinite(v) THEN axiom.canon_timestamp(v)
	WHEN v OPERATOR(pg_catalog.<) 'epoch'::pg_catalog.timestamptz
	    THEN '\x04000000088000000000000000'::pg_catalog.bytea
	ELSE '\x04000000087fffffffffffffff'::pg_catalog.bytea END
$$;

CREATE FUNCTION axiom.canon_text_array(v text[]) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE axiom.canon_int64(pg_catalog.cardinality(v)) OPERATOR(pg_catalog.||)
	    coalesce((SELECT pg_catalog.string_agg(axiom.canon_text(e), ''::pg_catalog.bytea ORDER BY o)
	                FROM pg_catalog.unnest(v) WITH ORDINALITY AS u(e, o)), ''::pg_catalog.bytea)
	END
$$;

-- The digest of (p_table, its row hashes in order); invariant 4.
CREATE FUNCTION axiom.table_digest_v1(p_table text, p_rows bigint, p_hashes bytea)
RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT pg_catalog.sha256(axiom.canon_text('axiom/table-digest/v1')
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_table)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(p_rows)
	    OPERATOR(pg_catalog.||) coalesce(p_hashes, ''::pg_catalog.bytea))
$$;

-- The rows of each table, as (row count, the concatenated row hashes in natural-key order):
-- one function per table, named axiom.digest_rows_<table>, so that a migration adding a table
-- adds its digest beside it (invariant 5). Deterministic; invoker's rights.

CREATE FUNCTION axiom.digest_rows_access_tiers(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(t.tier) || axiom.canon_int64(t.rank)), ''::bytea ORDER BY t.tier COLLATE "C")
	  FROM axiom.access_tiers t
$$;

CREATE FUNCTION axiom.digest_rows_users(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(u.user_id) || axiom.canon_text(u.printed_name)
	    || axiom.canon_bool(u.administrator) || axiom.canon_text(u.db_role::text)
	    || axiom.canon_timestamp_any(u.enrolled_at) || axiom.canon_text(u.enrolled_by)
	    || axiom.canon_timestamp_any(u.deactivated_at)), ''::bytea ORDER BY u.user_id COLLATE "C")
	  FROM axiom.users u
$$;

CREATE FUNCTION axiom.digest_rows_facilities(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(f.facility_id) || axiom.canon_text(f.name)
	    || axiom.canon_timestamp_any(f.defined_at) || axiom.canon_text(f.defined_by)),
	    ''::bytea ORDER BY f.facility_id COLLATE "C")
	  FROM axiom.facilities f
$$;

CREATE FUNCTION axiom.digest_rows_domains(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(x.domain_id) || axiom.canon_text(x.name)
	    || axiom.canon_timestamp_any(x.defined_at) || axiom.canon_text(x.defined_by)),
	    ''::bytea ORDER BY x.domain_id COLLATE "C")
	  FROM axiom.domains x
$$;

CREATE FUNCTION axiom.digest_rows_grants(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(g.grant_id) || axiom.canon_text(g.user_id)
	    || axiom.canon_text(g.facility_id) || axiom.canon_text(g.domain_id)
	    || axiom.canon_text(g.tier) || axiom.canon_text(g.kind)
	    || axiom.canon_uuid(g.source_grant_id) || axiom.canon_text(g.granted_by)
	    || axiom.canon_text(g.reason) || axiom.canon_timestamp_any(g.valid_from)
	    || axiom.canon_timestamp_any(g.expires_at) || axiom.canon_timestamp_any(g.revoked_at)
	    || axiom.canon_text(g.revoked_by) || axiom.canon_text(g.revoke_reason)),
	    ''::bytea ORDER BY g.grant_id)
	  FROM axiom.grants g
$$;

CREATE FUNCTION axiom.digest_rows_record_types(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(t.record_type) || axiom.canon_text(t.domain_id)
	    || axiom.canon_text(t.gate) || axiom.canon_timestamp_any(t.configured_at)
	    || axiom.canon_text(t.configured_by)), ''::bytea ORDER BY t.record_type COLLATE "C")
	  FROM axiom.record_types t
$$;

CREATE FUNCTION axiom.digest_rows_records(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(r.record_id) || axiom.canon_uuid(r.id)
	    || axiom.canon_int64(r.version) || axiom.canon_uuid(r.previous_record_id)
	    || axiom.canon_bytes(r.previous_record_hash) || axiom.canon_bytes(r.record_hash)
	    || axiom.canon_text(r.record_type) || axiom.canon_text(r.facility_id)
	    || axiom.canon_text(r.domain_id) || axiom.canon_text(r.title)
	    || axiom.canon_bytes(r.content) || axiom.canon_text(r.created_by)
	    || axiom.canon_timestamp_any(r.created_at) || axiom.canon_uuid(r.change_id)
	    || axiom.canon_text(r.status) || axiom.canon_timestamp_any(r.status_changed_at)
	    || axiom.canon_text(r.status_changed_by)), ''::bytea ORDER BY r.record_id)
	  FROM axiom.records r
$$;

CREATE FUNCTION axiom.digest_rows_change_requests(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(c.change_id) || axiom.canon_uuid(c.id)
	    || axiom.canon_int64(c.base_version) || axiom.canon_bytes(c.base_record_hash)
	    || axiom.canon_text(c.record_type) || axiom.canon_text(c.facility_id)
	    || axiom.canon_text(c.domain_id) || axiom.canon_text(c.title)
	    || axiom.canon_bytes(c.content) || axiom.canon_text(c.author)
	    || axiom.canon_text(c.reason) || axiom.canon_timestamp_any(c.proposed_at)
	    || axiom.canon_text(c.status) || axiom.canon_timestamp_any(c.status_changed_at)
	    || axiom.canon_uuid(c.applied_record_id)), ''::bytea ORDER BY c.change_id)
	  FROM axiom.change_requests c
$$;

-- step_seq EXCLUDED (invariant 3); the ordinal within the change replaces it
CREATE FUNCTION axiom.digest_rows_change_request_steps(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(s.change_id) || axiom.canon_text(s.step)
	    || axiom.canon_text(s.from_status) || axiom.canon_text(s.to_status)
	    || axiom.canon_text(s.actor) || axiom.canon_timestamp_any(s.event_time)
	    || axiom.canon_text(s.reason) || axiom.canon_text(s.facility_id)
	    || axiom.canon_text(s.domain_id) || axiom.canon_int64(s.ordinal)),
	    ''::bytea ORDER BY s.change_id, s.ordinal)
	  FROM (SELECT x.*, row_number() OVER (PARTITION BY x.change_id ORDER BY x.step_seq)
	            AS ordinal
	          FROM axiom.change_request_steps x) s
$$;

CREATE FUNCTION axiom.digest_rows_signatures(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(s.signature_id) || axiom.canon_uuid(s.record_id)
	    || axiom.canon_uuid(s.id) || axiom.canon_int64(s.version)
	    || axiom.canon_bytes(s.record_hash) || axiom.canon_text(s.facility_id)
	    || axiom.canon_text(s.domain_id) || axiom.canon_text(s.signer)
	    || axiom.canon_text(s.printed_name) || axiom.canon_timestamp_any(s.signed_at)
	    || axiom.canon_text(s.meaning) || axiom.canon_bytes(s.intent_hash)
	    || axiom.canon_text_array(s.factor_types) || axiom.canon_bytes(s.proofs)),
	    ''::bytea ORDER BY s.signature_id)
	  FROM axiom.signatures s
$$;

-- event_seq EXCLUDED (invariant 3); the ordinal within the command replaces it
CREATE FUNCTION axiom.digest_rows_session_events(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(e.row_hash,
	    ''::bytea ORDER BY e.command_id NULLS LAST, e.ordinal, e.row_hash)
	  FROM (SELECT sha256(axiom.canon_text(x.actor) || axiom.canon_timestamp_any(x.event_time)
	            || axiom.canon_text(x.operation) || axiom.canon_text(x.decision)
	            || axiom.canon_text(x.reason_code) || axiom.canon_text(x.reason)
	            || axiom.canon_uuid(x.command_id) || axiom.canon_uuid(x.object_id)
	            || axiom.canon_uuid(x.old_record_id) || axiom.canon_uuid(x.new_record_id)
	            || axiom.canon_text(x.facility_id) || axiom.canon_text(x.domain_id)
	            || axiom.canon_int64(x.ordinal)) AS row_hash, x.command_id, x.ordinal
	          FROM (SELECT y.*, CASE WHEN y.command_id IS NULL THEN 0 ELSE row_number()
	                    OVER (PARTITION BY y.command_id ORDER BY y.event_seq) END AS ordinal
	                  FROM axiom.session_events y) x) e
$$;

CREATE FUNCTION axiom.digest_rows_ledger(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(l.topic) || axiom.canon_int64(l.kafka_partition)
	    || axiom.canon_int64(l.seq) || axiom.canon_int64(l.kafka_offset)
	    || axiom.canon_uuid(l.command_id) || axiom.canon_text(l.actor)
	    || axiom.canon_timestamp_any(l.event_time) || axiom.canon_text(l.decision)
	    || axiom.canon_text(l.reason_code) || axiom.canon_bytes(l.record_hash)
	    || axiom.canon_bytes(l.previous_entry_hash) || axiom.canon_bytes(l.entry_hash)),
	    ''::bytea ORDER BY l.topic COLLATE "C", l.kafka_partition, l.seq)
	  FROM axiom.ledger l
$$;

-- updated_by EXCLUDED (invariant 3)
CREATE FUNCTION axiom.digest_rows_partition_offsets(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(p.topic) || axiom.canon_int64(p.kafka_partition)
	    || axiom.canon_int64(p.next_offset)), ''::bytea ORDER BY p.topic COLLATE "C", p.kafka_partition)
	  FROM axiom.partition_offsets p
$$;

-- updated_by EXCLUDED (invariant 3)
CREATE FUNCTION axiom.digest_rows_control_watermark(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_bool(w.singleton) || axiom.canon_timestamp_any(w.event_time)),
	    ''::bytea ORDER BY w.singleton)
	  FROM axiom.control_watermark w
$$;

CREATE FUNCTION axiom.digest_rows_applied_commands(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(a.command_id) || axiom.canon_text(a.topic)
	    || axiom.canon_int64(a.kafka_partition) || axiom.canon_int64(a.kafka_offset)),
	    ''::bytea ORDER BY a.command_id)
	  FROM axiom.applied_commands a
$$;

-- One row per table of schema axiom: its name, row count, digest (NULL when not covered) and
-- status ('covered', 'not covered'); ordered by table name (bytewise). A table is covered when
-- axiom.digest_rows_<table>() exists. Deterministic; invoker's rights (run it as axiom_auditor,
-- who needs EXECUTE on every digest_rows function: a missing grant is an error, never a skip).
-- Invariants 1 to 5 above.
CREATE FUNCTION axiom_api.table_digests()
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
	      AND c.relname <> 'context_key' -- a secret, out of scope (invariant 5)
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

REVOKE ALL ON FUNCTION axiom.canon_bool(boolean), axiom.canon_timestamp_any(timestamptz),
    axiom.canon_text_array(text[]), axiom.table_digest_v1(text, bigint, bytea),
    axiom_api.table_digests() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom.canon_bool(boolean), axiom.canon_timestamp_any(timestamptz),
    axiom.canon_text_array(text[]), axiom.table_digest_v1(text, bigint, bytea),
    axiom_api.table_digests() TO axiom_auditor;
DO $grants$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
	    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname = 'axiom' AND p.proname LIKE 'digest\_rows\_%' LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO axiom_auditor', f);
	END LOOP;
END
$grants$;
