/*
 * ax_relay.h - publishes every ledger entry, after its commit, as an Outcome on the audit
 * topic (same partition number as the command's), once per ledger sequence.
 *
 * Invariants:
 *  (1) the source is the committed ledger (axiom_api.ledger_entries), never the applier's
 *      memory: what is published was decided and chained;
 *  (2) per (topic, partition) ledger, outcomes are published in seq order, each once: a
 *      cursor learns the last sequence already on the audit partition by reading its tail
 *      (read committed, up to the end the partition had when the read began, waiting for
 *      the transaction the other ledger sharing that partition may have open);
 *  (3) one publish is one Kafka transaction: it commits whole or not at all; after a
 *      failure the cursor re-reads the tail before publishing again, so a gap is filled
 *      and nothing is published twice;
 *  (4) the producer's transactional id belongs to the ledger (axiom-relay/<topic>/<p>), so
 *      a new owner's cursor fences the old owner's producer and aborts its open
 *      transaction: what a stale writer had not committed there never reaches a
 *      read-committed reader. A fenced cursor reports AX_ECONFLICT; its writer's next
 *      cursor fences the other producer in turn, after reading the tail, so two relays of
 *      one ledger can take turns but never publish an entry twice. A writer publishes only
 *      entries below its own next offset (what it committed itself or found stored when
 *      it claimed the partition), and nothing more once fenced by its claim or once its
 *      partition was lost. Readers of the audit topic must read committed (librdkafka's
 *      default; `axiom audit` does);
 *  (5) every event is keyed by its ledger entry, "<topic>/<partition>/<seq>" for an Outcome
 *      and the same with "/checkpoint" for a Checkpoint: unique on the audit topic, where
 *      the ledgers of PREFIX.control/0 and PREFIX.commands/0 share partition 0; an Outcome
 *      says its kind (TICK for the ledger's tick entries, COMMAND otherwise), and carries
 *      the ledger's payload_hash and reason_detail (empty where an entry predates db/0024).
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
 * The relay of an applier instance to audit_topic (each cursor has its own transactional
 * producer); *out owned by the caller. With key (may be
 * NULL: no checkpoints), every ledger entry whose seq is a multiple of every is also signed,
 * stored (axiom_api.store_checkpoint, as instance) and published as a Checkpoint just before
 * its Outcome, so that a crash can repeat a checkpoint (same bytes) but never lose one.
 */
int ax_relay_new(struct ax_relay **out, const struct ax_codec *codec, const char *brokers,
    const char *audit_topic, const struct ax_checkpoint_key *key, int every, const char *instance,
    struct ax_err *err);

/* Free r (after its cursors); NULL is a no-op. */
void ax_relay_free(struct ax_relay *r);

/*
 * A cursor for the ledger of (topic, partition): starts its transactional producer (fencing
 * an older one of the same ledger, invariant 4), then reads the tail of the audit partition to
 * learn the last sequence published (0 when none). *out owned by the caller.
 */
int ax_relay_cursor_new(struct ax_relay_cursor **out, struct ax_relay *r, const char *topic,
    int32_t partition, struct ax_err *err);

/* Free c; NULL is a no-op. */
void ax_relay_cursor_free(struct ax_relay_cursor *c);

/*
 * The highest sequence of the ledger of (topic, partition) on the audit topic (read
 * committed, invariant 2; 0 when none), into *seq. Reads only: no producer, no fencing
 * (`axiom apply --until-caught-up` waits on it, consumers/ax_applier_caught_up.c).
 */
int ax_relay_tail(
    struct ax_relay *r, const char *topic, int32_t partition, int64_t *seq, struct ax_err *err);

/* The last ledger sequence published through c. */
int64_t ax_relay_cursor_seq(const struct ax_relay_cursor *c);

/*
 * Publish the committed ledger entries after the cursor whose Kafka offset is below until
 * (the writer's next offset, invariant 4), read through conn (the runtime role), in one
 * Kafka transaction. AX_EUNAVAIL when conn broke (the writer reconnects) or the broker did
 * not answer in time; AX_ECONFLICT, for good, once a newer producer of the same ledger
 * fenced this one (free the cursor; a new one fences that producer in turn); nothing of a
 * failed publish is visible, and the next one starts after what the audit topic holds.
 */
int ax_relay_publish(struct ax_relay_cursor *c, PGconn *conn, int64_t until, struct ax_err *err);

#endif
