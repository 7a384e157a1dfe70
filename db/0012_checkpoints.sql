-- 0012_checkpoints - signed checkpoints of the partition ledgers (docs/canonical-encoding.md).
--
-- Layer: 6 (cryptographic chains), anchored outside the database: the applier signs every
-- AX_CHECKPOINT_EVERY-th ledger entry with its Ed25519 key (consumers/ax_checkpoint.h for the
-- signed statement) and publishes the checkpoint on the audit topic; this table keeps them so
-- that the auditor's verifier can check them against the ledger as it is now. The database
-- cannot check Ed25519 itself: it only makes sure a checkpoint names an existing entry and
-- copies that entry's hash and event time, so a checkpoint never states another head.
--
-- Invariants: (1) append-only (ALWAYS triggers); (2) one checkpoint per (topic, partition,
-- seq, key): storing it again is a no-op, so a restarted applier may repeat itself.

CREATE TABLE axiom.checkpoints (
	topic text NOT NULL,
	kafka_partition integer NOT NULL,
	seq bigint NOT NULL,
	entry_hash bytea NOT NULL CHECK (octet_length(entry_hash) = 32),
	signed_at timestamptz NOT NULL,      -- the entry's event time
	key_id uuid NOT NULL,
	public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
	signature bytea NOT NULL CHECK (octet_length(signature) = 64),
	PRIMARY KEY (topic, kafka_partition, seq, key_id)
);

CREATE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON axiom.checkpoints
    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.checkpoints ENABLE ALWAYS TRIGGER append_only_row;
ALTER TABLE axiom.checkpoints ENABLE ALWAYS TRIGGER append_only_truncate;

GRANT SELECT, INSERT ON axiom.checkpoints TO axiom_definer;
GRANT SELECT ON axiom.checkpoints TO axiom_auditor;
ALTER TABLE axiom.checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY auditor_reads_all ON axiom.checkpoints FOR SELECT TO axiom_auditor USING (true);
CREATE POLICY definer_all ON axiom.checkpoints TO axiom_definer USING (true) WITH CHECK (true);

-- Store the checkpoint of ledger entry (p_topic, p_partition, p_seq) signed by key p_key_id.
-- Returns 'stored', 'exists' (the same checkpoint was stored before), or raises when the entry
-- does not exist (invalid_parameter_value). p_instance names the applier (for its log only:
-- a replay with the same key must rebuild the same rows).
CREATE FUNCTION axiom_api.store_checkpoint(p_instance text, p_topic text, p_partition integer,
    p_seq bigint, p_key_id uuid, p_public_key bytea, p_signature bytea) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l axiom.ledger;
BEGIN
	SELECT * INTO l FROM axiom.ledger x
	 WHERE x.topic = p_topic AND x.kafka_partition = p_partition AND x.seq = p_seq;
	IF p_instance IS NULL THEN
		RAISE EXCEPTION 'the applier instance is required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF l.seq IS NULL THEN
		RAISE EXCEPTION 'no ledger entry %/% seq % to checkpoint', p_topic, p_partition, p_seq
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO axiom.checkpoints VALUES (p_topic, p_partition, p_seq, l.entry_hash,
	    l.event_time, p_key_id, p_public_key, p_signature)
	ON CONFLICT DO NOTHING;
	RETURN CASE WHEN FOUND THEN 'stored' ELSE 'exists' END;
END
$$;

REVOKE ALL ON FUNCTION axiom_api.store_checkpoint(text, text, integer, bigint, uuid, bytea, bytea)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom_api.store_checkpoint(text, text, integer, bigint, uuid, bytea, bytea)
    TO axiom_user;
ALTER FUNCTION axiom_api.store_checkpoint(text, text, integer, bigint, uuid, bytea, bytea)
    OWNER TO axiom_definer;
