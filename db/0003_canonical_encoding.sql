-- 0003_canonical_encoding - canonical encoding v1 in SQL (docs/canonical-encoding.md), the
-- twin of common/ax_canon.c; tests/data/canon-record-v1.txt holds the shared test vectors.
--
-- Layer: 6 (cryptographic chains). Every field is a 1-byte type tag, then for a non-NULL
-- value a 4-byte big-endian length and the bytes; NULL is the tag 0x00 alone.
--   0x00 NULL   0x01 text (UTF-8)   0x02 bytes   0x03 int64 (8 bytes, big-endian)
--   0x04 timestamp (int64 microseconds since 1970-01-01 00:00:00 UTC)   0x05 uuid (16 bytes)
-- Nothing here depends on DateStyle, TimeZone, bytea_output, lc_* or extra_float_digits.
-- The functions are invoker's rights and deterministic (declared STABLE only because
-- convert_to and extract are). They carry no SET search_path clause on purpose: a SET clause
-- stops PostgreSQL from inlining a SQL function, which made a record hash 25 times slower;
-- instead every function, operator and type below is schema-qualified (pg_catalog, axiom),
-- so no search_path a caller sets can redirect a name.

CREATE FUNCTION axiom.canon_text(v text) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x01'::pg_catalog.bytea
	    OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.octet_length(pg_catalog.convert_to(v, 'UTF8')))
	    OPERATOR(pg_catalog.||) pg_catalog.convert_to(v, 'UTF8')
	END
$$;

CREATE FUNCTION axiom.canon_bytes(v bytea) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x02'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.octet_length(v)) OPERATOR(pg_catalog.||) v END
$$;

CREATE FUNCTION axiom.canon_int64(v bigint) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x0300000008'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.int8send(v) END
$$;

-- Microseconds since the Unix epoch; extract(epoch ...) is numeric and exact since PG 14.
CREATE FUNCTION axiom.timestamp_us(v timestamptz) RETURNS pg_catalog.int8
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT (extract(epoch FROM v) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8
$$;

CREATE FUNCTION axiom.canon_timestamp(v timestamptz) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x0400000008'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.int8send(axiom.timestamp_us(v)) END
$$;

CREATE FUNCTION axiom.canon_uuid(v uuid) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE '\x0500000010'::pg_catalog.bytea OPERATOR(pg_catalog.||) pg_catalog.uuid_send(v) END
$$;

-- The canonical encoding v1 of one record version, field by field in the documented order.
CREATE FUNCTION axiom.canon_record_v1(
	p_record_id uuid, p_id uuid, p_version bigint, p_previous_record_id uuid,
	p_previous_record_hash bytea, p_record_type text, p_facility_id text, p_domain_id text,
	p_title text, p_content bytea, p_created_by text, p_created_at timestamptz,
	p_change_id uuid) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
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
$$;

-- record_hash of a stored row: SHA-256 of its canonical encoding v1.
CREATE FUNCTION axiom.record_hash_v1(r axiom.records) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT pg_catalog.sha256(axiom.canon_record_v1(r.record_id, r.id, r.version, r.previous_record_id,
	    r.previous_record_hash, r.record_type, r.facility_id, r.domain_id, r.title, r.content,
	    r.created_by, r.created_at, r.change_id))
$$;

-- The canonical encoding v1 of one ledger entry; entry_hash = SHA-256 of it. The previous
-- entry's hash is part of the encoding, so the entries of one partition form a chain.
CREATE FUNCTION axiom.canon_ledger_v1(
	p_topic text, p_partition integer, p_seq bigint, p_offset bigint, p_command_id uuid,
	p_actor text, p_event_time timestamptz, p_decision text, p_reason_code text,
	p_record_hash bytea, p_previous_entry_hash bytea) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
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
$$;
