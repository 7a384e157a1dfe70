-- axiom-migrate: run-as=admin
--
-- db/definitions/20_canonical_encoding.sql - Canonical encoding: the exact bytes that record
-- hashes and ledger hashes cover.
--
-- docs/canonical-encoding.md is the specification; common/canon/ax_canon.c computes the same
-- bytes in C and tests/data/ holds vectors written by independent implementations (test
-- 0103-canonical-encoding-in-sql and 0701-ledger-encoding-in-sql check the SQL side, unit
-- test_canon the C side). Each value is a type tag, a 4-byte big-endian length and the bytes;
-- NULL is the single byte 00. Every function here is pure (declared STABLE PARALLEL SAFE) and
-- changes no row; axiom_definer (hashes on insert) and axiom_auditor (verification, digests)
-- execute them. Changing an encoding needs a new version (canon_record_v2, ...) and a
-- migration, never an edit of a v1 function, or every stored hash stops verifying (layer L6).
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- A boolean as canon_int64 of 1 (true) or 0 (false); NULL as 00.
CREATE OR REPLACE FUNCTION axiom.canon_bool(v boolean)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT axiom.canon_int64(CASE WHEN v THEN 1 WHEN NOT v THEN 0 END)
$function$;

-- A bytea: tag 02, its length as 4 bytes big-endian, the bytes; NULL as 00.
CREATE OR REPLACE FUNCTION axiom.canon_bytes(v bytea)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x02'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.octet_length(v)) OPERATOR(pg_catalog.||) v END
$function$;

-- An integer: tag 03, length 8, the value as 8 bytes big-endian two's complement; NULL as 00.
CREATE OR REPLACE FUNCTION axiom.canon_int64(v bigint)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x0300000008'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.int8send(v) END
$function$;

-- The canonical encoding v1 of one ledger entry; entry_hash = SHA-256 of it. The previous
-- entry's hash is part of the encoding, so the entries of one partition form a chain. The batch
-- computes it for every entry (partition_commands, append_ledger_entry), verify_ledger_chains
-- recomputes it, and common/canon/ax_canon.c and `axiom audit --verify` compute the same bytes.
CREATE OR REPLACE FUNCTION axiom.canon_ledger_v1(p_topic text, p_partition integer, p_seq bigint, p_offset bigint, p_command_id uuid, p_actor text, p_event_time timestamp with time zone, p_decision text, p_reason_code text, p_record_hash bytea, p_previous_entry_hash bytea)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT axiom.canon_text('axiom/ledger/v1')
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_topic)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(p_partition)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(p_seq)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(p_offset)
	    OPERATOR(pg_catalog.||) axiom.canon_uuid(p_command_id)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_actor)
	    OPERATOR(pg_catalog.||) axiom.canon_timestamp(p_event_time)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_decision)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_reason_code)
	    OPERATOR(pg_catalog.||) axiom.canon_bytes(p_record_hash)
	    OPERATOR(pg_catalog.||) axiom.canon_bytes(p_previous_entry_hash)
$function$;

-- The canonical encoding v1 of one record version, field by field in the documented order;
-- record_hash = SHA-256 of it (record_hash_v1 for a stored row, expected_hash for a command).
-- The applier computes the same bytes in C before it sends a command, so the hash is computed
-- twice and compared (hash_mismatch).
CREATE OR REPLACE FUNCTION axiom.canon_record_v1(p_record_id uuid, p_id uuid, p_version bigint, p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text, p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_created_by text, p_created_at timestamp with time zone, p_change_id uuid)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT axiom.canon_text('axiom/record/v1')
	    OPERATOR(pg_catalog.||) axiom.canon_uuid(p_record_id)
	    OPERATOR(pg_catalog.||) axiom.canon_uuid(p_id)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(p_version)
	    OPERATOR(pg_catalog.||) axiom.canon_uuid(p_previous_record_id)
	    OPERATOR(pg_catalog.||) axiom.canon_bytes(p_previous_record_hash)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_record_type)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_facility_id)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_domain_id)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_title)
	    OPERATOR(pg_catalog.||) axiom.canon_bytes(p_content)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_created_by)
	    OPERATOR(pg_catalog.||) axiom.canon_timestamp(p_created_at)
	    OPERATOR(pg_catalog.||) axiom.canon_uuid(p_change_id)
$function$;

-- A text: tag 01, the length of its UTF-8 bytes as 4 bytes big-endian, the UTF-8 bytes
-- (whatever the database encoding); NULL as 00.
CREATE OR REPLACE FUNCTION axiom.canon_text(v text)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x01'::pg_catalog.bytea
	    OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.octet_length(pg_catalog.convert_to(v, 'UTF8')))
	    OPERATOR(pg_catalog.||) pg_catalog.convert_to(v, 'UTF8')
	END
$function$;

-- A text[]: its cardinality as canon_int64, then each element as canon_text in order; NULL as
-- 00. Used by the table digests (85_digests_and_verification.sql), not by record or ledger
-- hashes.
CREATE OR REPLACE FUNCTION axiom.canon_text_array(v text[])
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE axiom.canon_int64(pg_catalog.cardinality(v)) OPERATOR(pg_catalog.||)
	    coalesce((SELECT pg_catalog.string_agg(axiom.canon_text(e), ''::pg_catalog.bytea ORDER BY o)
	                FROM pg_catalog.unnest(v) WITH ORDINALITY AS u(e, o)), ''::pg_catalog.bytea)
	END
$function$;

-- A finite timestamptz: tag 04, length 8, microseconds since the Unix epoch (timestamp_us) as
-- 8 bytes big-endian; NULL as 00.
CREATE OR REPLACE FUNCTION axiom.canon_timestamp(v timestamp with time zone)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x0400000008'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.int8send(axiom.timestamp_us(v)) END
$function$;

-- A timestamp that may be infinite (the control watermark starts at -infinity): finite values
-- exactly as canon_timestamp; -infinity and infinity as the int64 extremes, which no finite
-- timestamptz reaches (PostgreSQL's own representation of them). Used by the table digests.
CREATE OR REPLACE FUNCTION axiom.canon_timestamp_any(v timestamp with time zone)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL OR pg_catalog.isfinite(v) THEN axiom.canon_timestamp(v)
	WHEN v OPERATOR(pg_catalog.<) 'epoch'::pg_catalog.timestamptz
	    THEN '\x04000000088000000000000000'::pg_catalog.bytea
	ELSE '\x04000000087fffffffffffffff'::pg_catalog.bytea END
$function$;

-- A uuid: tag 05, length 16, its 16 bytes; NULL as 00.
CREATE OR REPLACE FUNCTION axiom.canon_uuid(v uuid)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x0500000010'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.uuid_send(v) END
$function$;

-- A uuid[]: its cardinality as canon_int64, then each element as canon_uuid in order; NULL as
-- 00. Used by the table digests (signature_evidence.factor_ids).
CREATE OR REPLACE FUNCTION axiom.canon_uuid_array(v uuid[])
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE axiom.canon_int64(pg_catalog.cardinality(v)) OPERATOR(pg_catalog.||)
	    coalesce((SELECT pg_catalog.string_agg(axiom.canon_uuid(e), ''::pg_catalog.bytea ORDER BY o)
	                FROM pg_catalog.unnest(v) WITH ORDINALITY AS u(e, o)), ''::pg_catalog.bytea)
	END
$function$;

-- record_hash of a stored row: SHA-256 of canon_record_v1 over its columns. The insert trigger
-- link_record_version (30_integrity_triggers.sql) sets every new version's hash with it.
CREATE OR REPLACE FUNCTION axiom.record_hash_v1(r axiom.records)
 RETURNS bytea
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT pg_catalog.sha256(axiom.canon_record_v1(r.record_id, r.id, r.version, r.previous_record_id,
	    r.previous_record_hash, r.record_type, r.facility_id, r.domain_id, r.title, r.content,
	    r.created_by, r.created_at, r.change_id))
$function$;

-- Microseconds since the Unix epoch; extract(epoch ...) is numeric and exact since
-- PostgreSQL 14.
CREATE OR REPLACE FUNCTION axiom.timestamp_us(v timestamp with time zone)
 RETURNS bigint
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT (extract(epoch FROM v) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8
$function$;
