/*
 * ax_relay.h - publishes every ledger entry, after its commit, as an Outcome on the audit
 * topic (same partition number as the command's), once per ledger sequence.
 *
 * Invariants:
 *  (1) the source is the committed ledger (axiom_api.ledger_entries), never the applier's
 *      memory: what is published was decided and chained;
 *  (2) per (topic, partition) ledger, outcomes are published in seq order, each once: on
 *      start a cursor learns the last sequence already on the audit partition by reading its
 *      tail; afterwards the idempotent producer keeps order and drops its own retries;
 *  (3) a failed delivery marks the cursor for a resync: before publishing again it re-reads
 *      the audit tail and continues after the last outcome that really landed, so a gap is
 *      filled and nothing is published twice by this process;
 *  (4) a writer publishes only the entries of offsets it committed itself or found stored
 *      when it claimed the partition (below its next offset): a stale writer never
 *      publishes what the partition's new owner committed. Limit: outcomes a stale writer
 *      committed and had handed to the producer before the new owner read the audit tail
 *      may land twice (the new owner publishes them too); consumers of the audit topic
 *      drop repeats by (topic, partition, ledger_seq). Fencing the producers themselves
 *      (a transactional producer per partition) would close that window.
 * @locality: ax_relay_* from writer threads; one cursor belongs to one writer.
 */
#ifndef AX_RELAY_H
#define AX_RELAY_H

#include <libpq-fe.h>
#include <stdint.h>

#include "ax_err.h"

struct ax_checkpoint_key;
struct ax_codec;
struct ax_relay;
struct ax_relay_cursor;

/*
 * The shared idempotent producer for audit_topic; *out owned by the caller. With key (may be
 * NULL: no checkpoints), every ledger entry whose seq is a multiple of every is also signed,
 * stored (axiom_api.store_checkpoint, as instance) and published as a Checkpoint just before
 * its Outcome, so that a crash can repeat a checkpoint (same bytes) but never lose one.
 */
int ax_relay_new(struct ax_relay **out, const struct ax_codec *codec, const char *brokers,
    const char *audit_topic, const struct ax_checkpoint_key *key, int every, const char *instance,
    struct ax_err *err);

/* Flush what is in flight (bounded) and free; NULL is a no-op. */
void ax_relay_free(struct ax_relay *r);

/*
 * A cursor for the ledger of (topic, partition): reads the tail of the audit partition to
 * learn the last sequence published (0 when none). *out owned by the caller.
 */
int ax_relay_cursor_new(struct ax_relay_cursor **out, struct ax_relay *r, const char *topic,
    int32_t partition, struct ax_err *err);

/* Free c; NULL is a no-op. */
void ax_relay_cursor_free(struct ax_relay_cursor *c);

/* The last ledger sequence published through c. */
int64_t ax_relay_cursor_seq(const struct ax_relay_cursor *c);

/*
 * Publish the committed ledger entries after the cursor whose Kafka offset is below until
 * (the writer's next offset, invariant 4), read through conn (the runtime role).
 * AX_EUNAVAIL when conn broke (the writer reconnects; the cursor is unchanged).
 */
int ax_relay_publish(struct ax_relay_cursor *c, PGconn *conn, int64_t until, struct ax_err *err);

#endif
