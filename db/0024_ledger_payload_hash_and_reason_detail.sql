-- axiom-migrate: run-as=admin
--
-- 0024_ledger_payload_hash_and_reason_detail - the ledger keeps the SHA-256 of each message
-- and what decided each refusal, for the audit topic.
--
-- Layer: 6 (the partition ledger); nothing about who may do what changes.
--
-- Why: the audit topic's Outcome promises payload_hash, "SHA-256 of the command's message
-- bytes", and reason_detail, what decided a rejection or quarantine (schemas/avro/audit.avsc).
-- The relay publishes from the ledger alone (consumers/ax_relay.h, invariant 1), and the
-- ledger kept neither: payload_hash was published for quarantines only (their record_hash),
-- reason_detail never (issue 14, item 5).
--
-- What changes: axiom.ledger gets payload_hash (32 bytes, the SHA-256 of the Kafka message
-- value) and reason_detail (the outcome's message for a rejection or quarantine; NULL when
-- accepted), both filled by the batch (db/definitions/80_batch_entry_point.sql). Neither is
-- covered by the entry hash: canonical encoding v1 (docs/canonical-encoding.md section 4) stays
-- as it is, so every stored chain still verifies; the ledger's table digest covers both (replay
-- equals live). axiom_api.ledger_entries returns them, and axiom_api.append_ledger_entry takes
-- them (two trailing arguments with defaults): both signatures change, so the old functions are
-- dropped here and db/definitions creates the new ones.
--
-- Invariants: entries written before this migration keep NULL in both columns (the ledger is
-- append-only; the message bytes are not in the database to hash): the relay publishes them
-- empty, except a quarantine's payload_hash, which is its record_hash.

ALTER TABLE axiom.ledger
    ADD COLUMN IF NOT EXISTS payload_hash bytea
        CHECK (payload_hash IS NULL OR octet_length(payload_hash) = 32),
    ADD COLUMN IF NOT EXISTS reason_detail text;

COMMENT ON COLUMN axiom.ledger.payload_hash IS
    'SHA-256 of the Kafka message value decided (db/0024); NULL before it. Not covered by entry_hash.';
COMMENT ON COLUMN axiom.ledger.reason_detail IS
    'What decided a rejection or quarantine, in words (db/0024); NULL when accepted or before it. Not covered by entry_hash.';

DROP FUNCTION IF EXISTS axiom_api.ledger_entries(text, integer, bigint, integer);
DROP FUNCTION IF EXISTS axiom_api.append_ledger_entry(text, timestamp with time zone, text,
    integer, bigint, uuid, text, text, bytea);
