-- axiom-migrate: run-as=admin
--
-- db/definitions/85_digests_and_verification.sql - Digests and verification: what replay,
-- verify and the checks compare.
--
-- axiom_api.table_digests gives one SHA-256 per table of schema axiom over its rows in a fixed
-- order (digest_rows_<table>, table_digest_v1): a log replayed into an empty database must give
-- the same digests as the live one (`axiom replay`; tests 0506-apply-determinism,
-- 0720-replay-equals-live). verify_record_chains and verify_ledger_chains recompute every record
-- hash and ledger hash (layer L6), and verify_ledger_references names each regulated row whose
-- ledger entry is missing or disagrees (layers L4, L6); `axiom verify` runs the last one and
-- checks the chains itself in C (tests 0106-db-tamper-detection,
-- 0509-apply-ledger-is-the-only-door, 0700-verify-tamper-detection). Every function here reads
-- only and runs with its caller's rights; axiom_auditor, who reads every row, executes them.
--
-- Invariants of the digests:
--  (1) a digest depends only on the rows' values: every value is encoded with the canonical
--      encoding of 20_canonical_encoding.sql (typed, length-prefixed, explicit NULL,
--      timestamps as int64 microseconds, +-infinity as the int64 extremes), never through a text
--      form, so TimeZone, DateStyle, bytea_output, extra_float_digits and the locale change
--      nothing;
--  (2) rows are taken in an order defined by natural keys only, never by physical order or by
--      a value assigned at insertion across partitions; text keys sort COLLATE "C";
--  (3) a column whose value legitimately differs between the live database and a replay is
--      left out (EXCLUDED): change_request_steps.step_seq and session_events.event_seq
--      (identity columns numbered in commit order across partitions; kept instead, the row's
--      ordinal within its change request, or within its command in ledger order),
--      partition_offsets.updated_by and control_watermark.updated_by (the applier instance's
--      name). The ledger reference columns (ledger_topic, ledger_partition, ledger_seq) are
--      digested for session_events only; verify_ledger_references checks them everywhere;
--  (4) table digest = SHA-256(canon_text('axiom/table-digest/v1') || canon_text(table) ||
--      canon_int64(row count) || SHA-256(row 1) || ... || SHA-256(row n)) (table_digest_v1);
--  (5) every table of schema axiom has its digest_rows_<table> function, or is out of scope:
--      context_key (a secret) and partition_claims (it counts partition assignments, not the
--      log); a table without one is reported 'not covered' with a NULL digest, so a comparison
--      cannot pass it silently.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- Row count and the SHA-256 of each row of axiom.access_tiers (every column canonically encoded),
-- concatenated in the order of tier. Input of table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_access_tiers(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(t.tier) || axiom.canon_int64(t.rank)), ''::bytea ORDER BY t.tier COLLATE "C")
	  FROM axiom.access_tiers t
$function$;

-- Row count and the SHA-256 of each row of axiom.applied_commands (every column canonically
-- encoded), concatenated in the order of (command id, topic, partition). Input of table_digests
-- (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_applied_commands(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(a.command_id) || axiom.canon_text(a.topic)
	    || axiom.canon_int64(a.kafka_partition) || axiom.canon_int64(a.kafka_offset)),
	    ''::bytea ORDER BY a.command_id, a.topic COLLATE "C", a.kafka_partition)
	  FROM axiom.applied_commands a
$function$;

-- Row count and the SHA-256 of each row of axiom.change_request_steps (its columns but the ledger
-- reference canonically encoded), concatenated in the order of (change id, ordinal); step_seq
-- EXCLUDED (invariant 3), the step's ordinal within its change encoded instead. Input of
-- table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_change_request_steps(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Row count and the SHA-256 of each row of axiom.change_requests (its columns but the ledger
-- reference canonically encoded), concatenated in the order of change id. Input of table_digests
-- (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_change_requests(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Row count and the SHA-256 of each row of axiom.checkpoints (every column canonically encoded),
-- concatenated in the order of (topic, partition, seq, key id). Input of table_digests (invariants
-- 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_checkpoints(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(c.topic) || axiom.canon_int64(c.kafka_partition)
	    || axiom.canon_int64(c.seq) || axiom.canon_bytes(c.entry_hash)
	    || axiom.canon_timestamp_any(c.signed_at) || axiom.canon_uuid(c.key_id)
	    || axiom.canon_bytes(c.public_key) || axiom.canon_bytes(c.signature)),
	    ''::bytea ORDER BY c.topic COLLATE "C", c.kafka_partition, c.seq, c.key_id)
	  FROM axiom.checkpoints c
$function$;

-- Row count and the SHA-256 of each row of axiom.control_watermark (every column canonically
-- encoded), concatenated in the order of the singleton key; updated_by EXCLUDED (invariant 3).
-- Input of table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_control_watermark(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_bool(w.singleton) || axiom.canon_timestamp_any(w.event_time)),
	    ''::bytea ORDER BY w.singleton)
	  FROM axiom.control_watermark w
$function$;

-- Row count and the SHA-256 of each row of axiom.delegation_limits (every column canonically
-- encoded), concatenated in the order of effective_from; the limits come from the migrations, and
-- a replay compares them too. Input of table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_delegation_limits(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_timestamp_any(d.effective_from)
	    || axiom.canon_int64((extract(epoch FROM d.max_length) * 1000000)::bigint)
	    || axiom.canon_text(d.reason)), ''::bytea ORDER BY d.effective_from)
	  FROM axiom.delegation_limits d
$function$;

-- Row count and the SHA-256 of each row of axiom.domains (its columns but the ledger reference
-- canonically encoded), concatenated in the order of domain id. Input of table_digests (invariants
-- 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_domains(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(x.domain_id) || axiom.canon_text(x.name)
	    || axiom.canon_timestamp_any(x.defined_at) || axiom.canon_text(x.defined_by)),
	    ''::bytea ORDER BY x.domain_id COLLATE "C")
	  FROM axiom.domains x
$function$;

-- Row count and the SHA-256 of each row of axiom.facilities (its columns but the ledger reference
-- canonically encoded), concatenated in the order of facility id. Input of table_digests
-- (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_facilities(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(f.facility_id) || axiom.canon_text(f.name)
	    || axiom.canon_timestamp_any(f.defined_at) || axiom.canon_text(f.defined_by)),
	    ''::bytea ORDER BY f.facility_id COLLATE "C")
	  FROM axiom.facilities f
$function$;

-- Row count and the SHA-256 of each row of axiom.grants (its columns but the ledger reference
-- canonically encoded), concatenated in the order of grant id. Input of table_digests (invariants
-- 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_grants(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Row count and the SHA-256 of each row of axiom.ledger (every column canonically encoded,
-- payload_hash and reason_detail of db/0024 included although the entry hash does not cover
-- them), concatenated in the order of (topic, partition, seq). Input of table_digests
-- (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_ledger(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(l.topic) || axiom.canon_int64(l.kafka_partition)
	    || axiom.canon_int64(l.seq) || axiom.canon_int64(l.kafka_offset)
	    || axiom.canon_uuid(l.command_id) || axiom.canon_text(l.actor)
	    || axiom.canon_timestamp_any(l.event_time) || axiom.canon_text(l.decision)
	    || axiom.canon_text(l.reason_code) || axiom.canon_bytes(l.record_hash)
	    || axiom.canon_bytes(l.previous_entry_hash) || axiom.canon_bytes(l.entry_hash)
	    || axiom.canon_bytes(l.payload_hash) || axiom.canon_text(l.reason_detail)),
	    ''::bytea ORDER BY l.topic COLLATE "C", l.kafka_partition, l.seq)
	  FROM axiom.ledger l
$function$;

-- Row count and the SHA-256 of each row of axiom.partition_offsets (every column canonically
-- encoded), concatenated in the order of (topic, partition); updated_by EXCLUDED (invariant 3).
-- Input of table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_partition_offsets(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(p.topic) || axiom.canon_int64(p.kafka_partition)
	    || axiom.canon_int64(p.next_offset)), ''::bytea ORDER BY p.topic COLLATE "C", p.kafka_partition)
	  FROM axiom.partition_offsets p
$function$;

-- Row count and the SHA-256 of each row of axiom.record_types (its columns but the ledger
-- reference canonically encoded), concatenated in the order of record type. Input of table_digests
-- (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_record_types(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(t.record_type) || axiom.canon_text(t.domain_id)
	    || axiom.canon_text(t.gate) || axiom.canon_timestamp_any(t.configured_at)
	    || axiom.canon_text(t.configured_by)), ''::bytea ORDER BY t.record_type COLLATE "C")
	  FROM axiom.record_types t
$function$;

-- Row count and the SHA-256 of each row of axiom.records (its columns but the ledger reference
-- canonically encoded), concatenated in the order of record id. Input of table_digests (invariants
-- 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_records(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Row count and the SHA-256 of each row of axiom.session_events, every column canonically
-- encoded, the ledger reference included; event_seq EXCLUDED (invariant 3), the event's
-- ordinal within its command (in ledger order) encoded instead. Ordered by (command id,
-- ordinal, row hash), events without a command id last and by their own hash (a multiset: no
-- other order is defined for them). Input of table_digests.
CREATE OR REPLACE FUNCTION axiom.digest_rows_session_events(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(e.row_hash,
	    ''::bytea ORDER BY e.command_id NULLS LAST, e.ordinal, e.row_hash)
	  FROM (SELECT sha256(axiom.canon_text(x.actor) || axiom.canon_timestamp_any(x.event_time)
	            || axiom.canon_text(x.operation) || axiom.canon_text(x.decision)
	            || axiom.canon_text(x.reason_code) || axiom.canon_text(x.reason)
	            || axiom.canon_uuid(x.command_id) || axiom.canon_uuid(x.object_id)
	            || axiom.canon_uuid(x.old_record_id) || axiom.canon_uuid(x.new_record_id)
	            || axiom.canon_text(x.facility_id) || axiom.canon_text(x.domain_id)
	            || axiom.canon_int64(x.ordinal) || axiom.canon_text(x.ledger_topic)
	            || axiom.canon_int64(x.ledger_partition) || axiom.canon_int64(x.ledger_seq))
	            AS row_hash, x.command_id, x.ordinal
	          FROM (SELECT y.*, CASE WHEN y.command_id IS NULL THEN 0 ELSE row_number()
	                    OVER (PARTITION BY y.command_id ORDER BY y.ledger_topic COLLATE "C",
	                        y.ledger_partition, y.ledger_seq, y.event_seq) END AS ordinal
	                  FROM axiom.session_events y) x) e
$function$;

-- Row count and the SHA-256 of each row of axiom.signature_evidence (its columns but the ledger
-- reference canonically encoded), concatenated in the order of signature id. Input of
-- table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_signature_evidence(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(e.signature_id) || axiom.canon_text(e.signer)
	    || axiom.canon_text(e.topic) || axiom.canon_int64(e.kafka_partition)
	    || axiom.canon_timestamp_any(e.signed_at) || axiom.canon_bytes(e.nonce)
	    || axiom.canon_uuid_array(e.factor_ids) || axiom.canon_text_array(e.factor_types)
	    || axiom.canon_bool(e.all_components) || axiom.canon_bool(e.user_verified)
	    || axiom.canon_uuid(e.fido2_factor_id) || axiom.canon_int64(e.sign_count)
	    || axiom.canon_text(e.comment)), ''::bytea ORDER BY e.signature_id)
	  FROM axiom.signature_evidence e
$function$;

-- Row count and the SHA-256 of each row of axiom.signatures (its columns but the ledger reference
-- canonically encoded), concatenated in the order of signature id, the raw proofs included. Input
-- of table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_signatures(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Row count and the SHA-256 of each row of axiom.signing_factors (its columns but the ledger
-- reference canonically encoded), concatenated in the order of factor id. Input of table_digests
-- (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_signing_factors(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(f.factor_id) || axiom.canon_text(f.factor_type)
	    || axiom.canon_text(f.user_id) || axiom.canon_bytes(f.credential_id)
	    || axiom.canon_bytes(f.public_key) || axiom.canon_int64(f.cose_alg)
	    || axiom.canon_text(f.issuer) || axiom.canon_text(f.audience)
	    || axiom.canon_text(f.jwks) || axiom.canon_timestamp_any(f.registered_at)
	    || axiom.canon_text(f.registered_by) || axiom.canon_timestamp_any(f.revoked_at)
	    || axiom.canon_text(f.revoked_by)), ''::bytea ORDER BY f.factor_id)
	  FROM axiom.signing_factors f
$function$;

-- Row count and the SHA-256 of each row of axiom.signing_nonces (its columns but the ledger
-- reference canonically encoded), concatenated in the order of nonce. Input of table_digests
-- (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_signing_nonces(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_bytes(n.nonce) || axiom.canon_uuid(n.signature_id)
	    || axiom.canon_timestamp_any(n.used_at)), ''::bytea ORDER BY n.nonce)
	  FROM axiom.signing_nonces n
$function$;

-- Row count and the SHA-256 of each row of axiom.signing_policies (its columns but the ledger
-- reference canonically encoded), concatenated in the order of (record type, meaning, valid_from).
-- Input of table_digests (invariants 1 to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_signing_policies(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(p.record_type) || axiom.canon_text(p.meaning)
	    || axiom.canon_bool(p.require_fido2) || axiom.canon_bool(p.require_oidc)
	    || axiom.canon_bool(p.require_password) || axiom.canon_timestamp_any(p.valid_from)
	    || axiom.canon_text(p.set_by)),
	    ''::bytea ORDER BY p.record_type COLLATE "C", p.meaning COLLATE "C", p.valid_from)
	  FROM axiom.signing_policies p
$function$;

-- Row count and the SHA-256 of each row of axiom.users (its columns but the ledger reference
-- canonically encoded), concatenated in the order of user id. Input of table_digests (invariants 1
-- to 3).
CREATE OR REPLACE FUNCTION axiom.digest_rows_users(OUT row_count bigint, OUT hashes bytea)
 RETURNS record
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(u.user_id) || axiom.canon_text(u.printed_name)
	    || axiom.canon_bool(u.administrator) || axiom.canon_text(u.db_role::text)
	    || axiom.canon_timestamp_any(u.enrolled_at) || axiom.canon_text(u.enrolled_by)
	    || axiom.canon_timestamp_any(u.deactivated_at)), ''::bytea ORDER BY u.user_id COLLATE "C")
	  FROM axiom.users u
$function$;

-- The digest of table p_table from its row count and its row hashes in order (invariant 4):
-- SHA-256 of canon_text('axiom/table-digest/v1'), canon_text(p_table), canon_int64(p_rows) and
-- the row hashes.
CREATE OR REPLACE FUNCTION axiom.table_digest_v1(p_table text, p_rows bigint, p_hashes bytea)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT pg_catalog.sha256(axiom.canon_text('axiom/table-digest/v1')
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_table)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(p_rows)
	    OPERATOR(pg_catalog.||) coalesce(p_hashes, ''::pg_catalog.bytea))
$function$;

-- One row per table of schema axiom but context_key and partition_claims (invariant 5): its
-- name, row count, digest (table_digest_v1) and status 'covered', or NULL count and digest and
-- status 'not covered' when axiom.digest_rows_<table>() does not exist; ordered by table name
-- (bytewise). Deterministic; invoker's rights: run it as axiom_auditor, who needs EXECUTE on
-- every digest_rows function (a missing grant is an error, never a skip). `axiom replay`
-- compares its result for the live and the replayed database.
CREATE OR REPLACE FUNCTION axiom_api.table_digests()
 RETURNS TABLE(table_name text, row_count bigint, digest bytea, status text)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	t text;
	h bytea;
BEGIN
	FOR t IN SELECT c.relname::text FROM pg_catalog.pg_class c
	    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'axiom' AND c.relkind IN ('r', 'p')
	      AND c.relname <> 'context_key'      -- a secret, out of scope (invariant 5 of 0011)
	      AND c.relname <> 'partition_claims' -- counts assignments, not the log (0017)
	      AND c.relname <> 'batch_scope'      -- never holds a committed row (0025)
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
$function$;

-- Check every partition's ledger chain: seq gap-free from 1, each entry's previous_entry_hash
-- the entry_hash of the entry before (32 zero bytes for the first), and entry_hash recomputed
-- from the stored columns (canon_ledger_v1). One row per broken partition: its first broken
-- entry and the problem. Deterministic; invoker's rights (the auditor).
CREATE OR REPLACE FUNCTION axiom_api.verify_ledger_chains()
 RETURNS TABLE(topic text, kafka_partition integer, seq bigint, problem text)
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	WITH l AS (
		SELECT x.*, row_number() OVER w AS expected_seq, lag(x.entry_hash) OVER w AS lag_hash
		  FROM axiom.ledger x
		WINDOW w AS (PARTITION BY x.topic, x.kafka_partition ORDER BY x.seq)
	), problems AS (
		SELECT l.topic, l.kafka_partition, l.expected_seq AS seq,
		       CASE
		         WHEN l.seq <> l.expected_seq THEN format('entry %s is missing', l.expected_seq)
		         WHEN l.previous_entry_hash IS DISTINCT FROM coalesce(l.lag_hash,
		             '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) THEN
		           'previous_entry_hash is not the entry_hash of the previous entry'
		         WHEN l.entry_hash IS DISTINCT FROM sha256(axiom.canon_ledger_v1(l.topic,
		             l.kafka_partition, l.seq, l.kafka_offset, l.command_id, l.actor, l.event_time,
		             l.decision, l.reason_code, l.record_hash, l.previous_entry_hash)) THEN
		           'entry_hash does not match the stored columns'
		       END AS problem
		  FROM l
	)
	SELECT DISTINCT ON (p.topic, p.kafka_partition) p.topic, p.kafka_partition, p.seq, p.problem
	  FROM problems p WHERE p.problem IS NOT NULL
	 ORDER BY p.topic, p.kafka_partition, p.seq
$function$;

-- Every regulated row (users, facilities, domains, grants, record_types, records,
-- change_requests, change_request_steps, signatures, session_events, signing_factors,
-- signing_policies, signing_nonces, signature_evidence) whose ledger reference names no entry
-- of its ledger (or none at all: a row written before ledger references, or outside the
-- applier), an entry whose decision is not accepted (for session_events: accepted or
-- rejected), an entry of another event time (every table but record_types, whose gate
-- changes in place), or, for session_events, of another command; the
-- bootstrap administrator axiom-system seeded by migration 0002 needs no entry. Also every
-- ledger entry whose event time is before its predecessor's. One row per problem: table, the
-- row's key, the problem. Deterministic; invoker's rights (the auditor reads every table it
-- joins). p_skip: the checks left out (the table names above, 'ledger' for the event-time
-- order); NULL leaves none out. `axiom verify` skips records, session_events and ledger,
-- which it checks in C as it streams them (ref_out_of_line and ref_seal in
-- consumers/ax_verify.c make the same checks as the specs of those three here), and runs every
-- check when that finds a problem (consumers/ax_verify.c).
CREATE OR REPLACE FUNCTION axiom_api.verify_ledger_references(p_skip text[])
 RETURNS TABLE(table_name text, row_key text, problem text)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	-- table, key, event time (NULL: none), command id (NULL: none), the decisions the row's
	-- entry may have, the rows that need no entry (the bootstrap administrator of 0002)
	spec text[];
	specs text[][] := ARRAY[
	    ARRAY['users', 'x.user_id', 'x.enrolled_at', 'NULL::uuid', 'accepted',
	          'x.user_id = ''axiom-system'' AND x.enrolled_by = ''axiom-system'' AND x.enrolled_at = ''epoch'''],
	    ARRAY['facilities', 'x.facility_id', 'x.defined_at', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['domains', 'x.domain_id', 'x.defined_at', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['grants', 'x.grant_id::text', 'x.valid_from', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['record_types', 'x.record_type', 'NULL::timestamptz', 'NULL::uuid', 'accepted',
	          'false'],
	    ARRAY['records', 'x.record_id::text', 'x.created_at', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['change_requests', 'x.change_id::text', 'x.proposed_at', 'NULL::uuid', 'accepted',
	          'false'],
	    ARRAY['change_request_steps', 'x.step_seq::text', 'x.event_time', 'NULL::uuid',
	          'accepted', 'false'],
	    ARRAY['signatures', 'x.signature_id::text', 'x.signed_at', 'NULL::uuid', 'accepted',
	          'false'],
	    ARRAY['session_events', 'x.event_seq::text', 'x.event_time', 'x.command_id',
	          'accepted,rejected', 'false'],
	    ARRAY['signing_factors', 'x.factor_id::text', 'x.registered_at', 'NULL::uuid',
	          'accepted', 'false'],
	    ARRAY['signing_policies', 'x.record_type || ''/'' || x.meaning || ''/'' || x.valid_from',
	          'x.valid_from', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['signing_nonces', 'encode(x.nonce, ''hex'')', 'x.used_at', 'NULL::uuid',
	          'accepted', 'false'],
	    ARRAY['signature_evidence', 'x.signature_id::text', 'x.signed_at', 'NULL::uuid',
	          'accepted', 'false']];
BEGIN
	FOREACH spec SLICE 1 IN ARRAY specs LOOP
		CONTINUE WHEN spec[1] = ANY (coalesce(p_skip, '{}'));
		RETURN QUERY EXECUTE format($q$
			SELECT %1$L::text, (%2$s)::text,
			       CASE
			         WHEN x.ledger_topic = '' THEN
			           'no ledger entry: the row predates ledger references or was written outside the applier'
			         WHEN l.seq IS NULL THEN format('names ledger entry %%s/%%s#%%s, which does not exist',
			           x.ledger_topic, x.ledger_partition, x.ledger_seq)
			         WHEN l.decision <> ALL (string_to_array(%5$L, ',')) THEN format(
			           'names ledger entry %%s/%%s#%%s, whose decision is %%s',
			           x.ledger_topic, x.ledger_partition, x.ledger_seq, l.decision)
			         WHEN (%3$s) <> l.event_time THEN format(
			           'its event time %%s is not that of ledger entry %%s/%%s#%%s (%%s)',
			           %3$s, x.ledger_topic, x.ledger_partition, x.ledger_seq, l.event_time)
			         ELSE format('its command %%s is not that of ledger entry %%s/%%s#%%s',
			           %4$s, x.ledger_topic, x.ledger_partition, x.ledger_seq)
			       END
			  FROM axiom.%1$I x
			  LEFT JOIN axiom.ledger l ON l.topic = x.ledger_topic
			       AND l.kafka_partition = x.ledger_partition AND l.seq = x.ledger_seq
			 WHERE NOT (%6$s)
			   AND (l.seq IS NULL
			    OR l.decision <> ALL (string_to_array(%5$L, ','))
			    OR coalesce((%3$s) <> l.event_time, false)
			    OR ((%4$s) IS NOT NULL AND (%4$s) IS DISTINCT FROM l.command_id))
			 ORDER BY (%2$s)::text COLLATE "C"$q$,
		    spec[1], spec[2], spec[3], spec[4], spec[5], spec[6]);
	END LOOP;
	IF 'ledger' = ANY (coalesce(p_skip, '{}')) THEN
		RETURN;
	END IF;
	RETURN QUERY
	SELECT 'ledger'::text, format('%s/%s#%s', l.topic, l.kafka_partition, l.seq),
	       format('event time %s is before the previous entry''s %s', l.event_time, l.prev_et)
	  FROM (SELECT x.*, lag(x.event_time) OVER (PARTITION BY x.topic, x.kafka_partition
	            ORDER BY x.seq) AS prev_et FROM axiom.ledger x) l
	 WHERE l.event_time < l.prev_et
	 ORDER BY l.topic COLLATE "C", l.kafka_partition, l.seq;
END
$function$;

-- Every problem of every check of verify_ledger_references(p_skip), none skipped.
CREATE OR REPLACE FUNCTION axiom_api.verify_ledger_references()
 RETURNS TABLE(table_name text, row_key text, problem text)
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT * FROM axiom_api.verify_ledger_references(NULL::text[])
$function$;

-- Check every record chain: versions gap-free from 1, each linked to its predecessor by
-- previous_record_id and previous_record_hash, and record_hash recomputed from the stored
-- columns (canon_record_v1). One row per broken lineage: the first broken version and what is
-- wrong (for a missing version, the version that is missing). Deterministic; invoker's rights
-- (the auditor).
CREATE OR REPLACE FUNCTION axiom_api.verify_record_chains()
 RETURNS TABLE(id uuid, version bigint, record_id uuid, problem text)
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	WITH r AS (
		SELECT x.*, row_number() OVER w AS expected_version,
		       lag(x.record_id) OVER w AS lag_record_id, lag(x.record_hash) OVER w AS lag_hash
		  FROM axiom.records x
		WINDOW w AS (PARTITION BY x.id ORDER BY x.version)
	), problems AS (
		SELECT r.id, r.expected_version AS version,
		       CASE WHEN r.version = r.expected_version THEN r.record_id END AS record_id,
		       CASE
		         WHEN r.version <> r.expected_version THEN
		           format('version %s is missing', r.expected_version)
		         WHEN r.previous_record_id IS DISTINCT FROM r.lag_record_id THEN
		           'previous_record_id is not the record_id of the previous version'
		         WHEN r.previous_record_hash IS DISTINCT FROM r.lag_hash THEN
		           'previous_record_hash is not the record_hash of the previous version'
		         WHEN r.record_hash IS DISTINCT FROM sha256(axiom.canon_record_v1(r.record_id,
		             r.id, r.version, r.previous_record_id, r.previous_record_hash,
		             r.record_type, r.facility_id, r.domain_id, r.title, r.content,
		             r.created_by, r.created_at, r.change_id)) THEN
		           'record_hash does not match the stored columns'
		       END AS problem
		  FROM r
	)
	SELECT DISTINCT ON (p.id) p.id, p.version, p.record_id, p.problem
	  FROM problems p WHERE p.problem IS NOT NULL
	 ORDER BY p.id, p.version
$function$;
