/*
 * ax_audit_chain.h - checks the audit topic from its messages alone (`axiom audit --verify`):
 * every ledger's chain and the signed checkpoints, as a reader outside the database can.
 *
 * Invariants, per ledger (topic, partition of the command), in the order the audit partition
 * holds its outcomes (read committed):
 *  (1) ledger_seq runs 1, 2, 3, ... without a gap, a repeat or a step back: a dropped event
 *      is a gap, a duplicated one a repeat, a reordered pair a step back;
 *  (2) previous_entry_hash is the ledger_hash of the outcome before (32 zero bytes for seq
 *      1), and ledger_hash is the SHA-256 of the ledger encoding v1 recomputed from the
 *      outcome's own fields (docs/canonical-encoding.md section 4): a field changed after the
 *      fact (a decision flipped) no longer matches its hash, and a hash changed with it no
 *      longer matches the next outcome's previous_entry_hash;
 *  (3) every checkpoint names the ledger_hash of the outcome of its seq, and, with the
 *      applier's public key, carries that key's id and a valid Ed25519 signature over its
 *      statement (consumers/ax_checkpoint.h);
 *  (4) an outcome of revision 1 (no actor, no previous_entry_hash) cannot be recomputed: it
 *      is a failure, not a pass.
 * A failure is reported once per ledger (its first), with the audit partition and offset;
 * checking goes on from that message, so the count says how many places are broken.
 * @locality: one thread.
 */
#ifndef AX_AUDIT_CHAIN_H
#define AX_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "ax_codec.h"
#include "ax_err.h"

struct ax_audit_chain;

/* What the checker found, for the summary. */
struct ax_audit_chain_summary {
	int64_t ledgers, outcomes, checkpoints, signatures_checked;
	int64_t failures; /* places that broke an invariant */
};

/* Called once per failure: where it is on the audit topic, and what is wrong. */
typedef void (*ax_audit_chain_report_fn)(void *arg, const char *ledger_topic,
    int32_t ledger_partition, int64_t seq, int32_t audit_partition, int64_t audit_offset,
    const char *problem);

/*
 * A checker; pub is the applier's Ed25519 public key (32 bytes) or NULL: then checkpoints
 * are matched with their outcomes but their signatures are not checked. *out owned by the
 * caller.
 */
int ax_audit_chain_new(struct ax_audit_chain **out, const uint8_t *pub,
    ax_audit_chain_report_fn report, void *arg, struct ax_err *err);

/* Free c; NULL is a no-op. */
void ax_audit_chain_free(struct ax_audit_chain *c);

/* Check one decoded audit event read at (audit_partition, audit_offset). */
int ax_audit_chain_add(struct ax_audit_chain *c, int32_t audit_partition, int64_t audit_offset,
    const struct ax_message *m, struct ax_err *err);

/* After the last event: checkpoints whose outcome never came; fills *s. */
void ax_audit_chain_finish(struct ax_audit_chain *c, struct ax_audit_chain_summary *s);

#endif
