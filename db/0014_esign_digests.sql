-- 0014_esign_digests - the digests of the e-signature tables of 0009 for
-- axiom_api.table_digests() (0011, invariant 5: a table's digest comes with a migration after
-- the table's own).
--
-- Layer: 6 (a read-only check). Every column of every table is digested: factors, policies,
-- nonces and evidence are all decided from the log (event times, the proofs carried by the
-- commands, the partition a signing command came from), so a replay rebuilds them as they
-- are. Rows in natural-key order; text keys bytewise (COLLATE "C").

-- A uuid[] as its cardinality, then each element (the canonical scheme of 0003).
CREATE FUNCTION axiom.canon_uuid_array(v uuid[]) RETURNS pg_catalog.bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::pg_catalog.bytea
	ELSE axiom.canon_int64(pg_catalog.cardinality(v)) OPERATOR(pg_catalog.||)
	    coalesce((SELECT pg_catalog.string_agg(axiom.canon_uuid(e), ''::pg_catalog.bytea ORDER BY o)
	                FROM pg_catalog.unnest(v) WITH ORDINALITY AS u(e, o)), ''::pg_catalog.bytea)
	END
$$;

CREATE FUNCTION axiom.digest_rows_signing_factors(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(f.factor_id) || axiom.canon_text(f.factor_type)
	    || axiom.canon_text(f.user_id) || axiom.canon_bytes(f.credential_id)
	    || axiom.canon_bytes(f.public_key) || axiom.canon_int64(f.cose_alg)
	    || axiom.canon_text(f.issuer) || axiom.canon_text(f.audience)
	    || axiom.canon_text(f.jwks) || axiom.canon_timestamp_any(f.registered_at)
	    || axiom.canon_text(f.registered_by) || axiom.canon_timestamp_any(f.revoked_at)
	    || axiom.canon_text(f.revoked_by)), ''::bytea ORDER BY f.factor_id)
	  FROM axiom.signing_factors f
$$;

CREATE FUNCTION axiom.digest_rows_signing_policies(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(p.record_type) || axiom.canon_text(p.meaning)
	    || axiom.canon_bool(p.require_fido2) || axiom.canon_bool(p.require_oidc)
	    || axiom.canon_bool(p.require_password) || axiom.canon_timestamp_any(p.valid_from)
	    || axiom.canon_text(p.set_by)),
	    ''::bytea ORDER BY p.record_type COLLATE "C", p.meaning COLLATE "C", p.valid_from)
	  FROM axiom.signing_policies p
$$;

CREATE FUNCTION axiom.digest_rows_signing_nonces(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_bytes(n.nonce) || axiom.canon_uuid(n.signature_id)
	    || axiom.canon_timestamp_any(n.used_at)), ''::bytea ORDER BY n.nonce)
	  FROM axiom.signing_nonces n
$$;

CREATE FUNCTION axiom.digest_rows_signature_evidence(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(e.signature_id) || axiom.canon_text(e.signer)
	    || axiom.canon_text(e.topic) || axiom.canon_int64(e.kafka_partition)
	    || axiom.canon_timestamp_any(e.signed_at) || axiom.canon_bytes(e.nonce)
	    || axiom.canon_uuid_array(e.factor_ids) || axiom.canon_text_array(e.factor_types)
	    || axiom.canon_bool(e.all_components) || axiom.canon_bool(e.user_verified)
	    || axiom.canon_uuid(e.fido2_factor_id) || axiom.canon_int64(e.sign_count)
	    || axiom.canon_text(e.comment)), ''::bytea ORDER BY e.signature_id)
	  FROM axiom.signature_evidence e
$$;

REVOKE ALL ON FUNCTION axiom.canon_uuid_array(uuid[]), axiom.digest_rows_signing_factors(),
    axiom.digest_rows_signing_policies(), axiom.digest_rows_signing_nonces(),
    axiom.digest_rows_signature_evidence() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom.canon_uuid_array(uuid[]), axiom.digest_rows_signing_factors(),
    axiom.digest_rows_signing_policies(), axiom.digest_rows_signing_nonces(),
    axiom.digest_rows_signature_evidence() TO axiom_auditor;
