-- 0013_checkpoint_digest - the digest of axiom.checkpoints (0012) for axiom_api.table_digests()
-- (0011, invariant 5: the table's digest comes with a migration after the table's own).
--
-- Layer: 6 (a read-only check). Every column is digested: a checkpoint is a pure function of
-- its ledger entry and the signing key (Ed25519 signatures are deterministic,
-- consumers/ax_checkpoint.h), so a replay signed with the live applier's key rebuilds the
-- same rows; a replay without that key has no checkpoints and its digest differs, rightly.
-- Rows in natural-key order: topic (bytewise), partition, seq, key id.

CREATE FUNCTION axiom.digest_rows_checkpoints(OUT row_count bigint, OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_text(c.topic) || axiom.canon_int64(c.kafka_partition)
	    || axiom.canon_int64(c.seq) || axiom.canon_bytes(c.entry_hash)
	    || axiom.canon_timestamp_any(c.signed_at) || axiom.canon_uuid(c.key_id)
	    || axiom.canon_bytes(c.public_key) || axiom.canon_bytes(c.signature)),
	    ''::bytea ORDER BY c.topic COLLATE "C", c.kafka_partition, c.seq, c.key_id)
	  FROM axiom.checkpoints c
$$;

REVOKE ALL ON FUNCTION axiom.digest_rows_checkpoints() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom.digest_rows_checkpoints() TO axiom_auditor;
