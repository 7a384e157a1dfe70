/*
 * ax_checkpoint.h - signed checkpoints of the partition ledgers (docs/verify.md).
 *
 * Every AX_CHECKPOINT_EVERY-th ledger entry of a partition (seq a multiple of the interval)
 * is signed by the applier's Ed25519 key, stored in axiom.checkpoints and published on the
 * audit topic, so that parties outside the database hold the ledger heads (a trust anchor
 * outside the database, as Certificate Transparency does).
 *
 * The signed statement is canonical (the field scheme of docs/canonical-encoding.md: a type
 * byte, a 4-byte big-endian length, the bytes):
 *   text "axiom/checkpoint/v1", text topic, int64 partition, int64 seq,
 *   bytes entry_hash (32), timestamp signed_at (the entry's event time, microseconds)
 * Invariants: (1) a checkpoint is a pure function of the ledger entry and the key (Ed25519
 * signatures are deterministic), so a replay with the same key reproduces it byte for byte;
 * (2) key_id is the first 16 bytes of SHA-256(public key), as a UUID (version 8).
 */
#ifndef AX_CHECKPOINT_H
#define AX_CHECKPOINT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

#define AX_CHECKPOINT_EVERY         1000
#define AX_CHECKPOINT_SIG_LEN       64
#define AX_CHECKPOINT_PUB_LEN       32
#define AX_CHECKPOINT_STATEMENT_MAX 512

struct ax_checkpoint_key;

/* Load an Ed25519 private key from a PEM file (openssl genpkey -algorithm ed25519). */
int ax_checkpoint_key_load(struct ax_checkpoint_key **out, const char *path, struct ax_err *err);

/* Free k; NULL is a no-op. */
void ax_checkpoint_key_free(struct ax_checkpoint_key *k);

/* The key's id (16 bytes) and public key (32 bytes), borrowed. */
const uint8_t *ax_checkpoint_key_id(const struct ax_checkpoint_key *k);
const uint8_t *ax_checkpoint_key_public(const struct ax_checkpoint_key *k);

/* Write the statement of one checkpoint into out (cap bytes); its length, or 0 if too long. */
size_t ax_checkpoint_statement(uint8_t *out, size_t cap, const char *topic, int32_t partition,
    int64_t seq, const uint8_t entry_hash[32], int64_t signed_at_us);

/* Sign a statement with k into sig. */
int ax_checkpoint_sign(uint8_t sig[AX_CHECKPOINT_SIG_LEN], const struct ax_checkpoint_key *k,
    const uint8_t *statement, size_t len, struct ax_err *err);

/* 1 when sig is k_pub's valid signature of the statement, 0 otherwise. */
int ax_checkpoint_valid(const uint8_t pub[AX_CHECKPOINT_PUB_LEN], const uint8_t *statement,
    size_t len, const uint8_t sig[AX_CHECKPOINT_SIG_LEN]);

/* The key id belonging to a public key. */
void ax_checkpoint_key_id_of(uint8_t id[16], const uint8_t pub[AX_CHECKPOINT_PUB_LEN]);

/* Where the first checkpoint that does not hold is. */
struct ax_checkpoint_failure {
	char topic[256];
	int32_t partition;
	int64_t seq;
};

/*
 * Check every stored checkpoint (as axiom_auditor, through conn, in the caller's snapshot):
 * its statement rebuilt from the LEDGER's entry (not the checkpoint row's copy), its
 * signature, its key id. Writes the number checked to *checked; AX_OK when all hold, else
 * AX_ECONFLICT with *where and a message naming the first checkpoint that does not.
 */
int ax_checkpoint_verify_all(
    PGconn *conn, long *checked, struct ax_checkpoint_failure *where, struct ax_err *err);

#endif
