/*
 * ax_batch.h - one partition writer's side of PostgreSQL: claim the partition, load its
 * stored next offset, and apply a batch of Kafka messages in one transaction through the
 * SQL API.
 *
 * Invariants (see ax_applier.h for the whole applier's):
 *  (1) a batch transaction is one statement, axiom_api.apply_partition_batch (db/0008,
 *      db/0016, db/0017): the check of this writer's claim of the partition and of the
 *      stored next offset, the commands with their ledger entries, the new next offset
 *      (compare-and-set), then the implicit COMMIT; a head lookup before it only reads;
 *  (2) ctx->next_offset only moves after a COMMIT that PostgreSQL confirmed, or after a
 *      re-read of the stored offset (ax_batch_reconnect), never on hope;
 *  (3) messages are decoded here with the exact writer schema; an undecodable message is a
 *      quarantined outcome (size and SHA-256 of its bytes, and what refused them), never a
 *      reason to stop; every element carries the SHA-256 of its message's bytes, which the
 *      ledger keeps as payload_hash (db/0024);
 *  (4) a record hash sent with a command never depends on how an earlier command of the
 *      same batch is decided (complete_element in ax_batch.c): where it could, the batch
 *      is cut there (so a replay, batched differently, sends the same hashes);
 *  (5) a context claims its partition once, when it is made (a new assignment); it never
 *      claims again (a reconnect keeps the claim), so a newer writer's claim stops it for
 *      good and a stale writer never takes a partition back;
 *  (6) only a LogAppendTime message carries event time: a message's event time is the
 *      partition's last known event time (that of its last ledger entry, the epoch before
 *      the first, db/0019) raised to the broker's append time; a message with any other
 *      timestamp type is quarantined (not_log_append_time) at the last known event time, so
 *      a partition's event times never go backwards, a timestamp its producer chose never
 *      moves a watermark nor makes a partition wait, and a replay derives the same times;
 *  (7) a data message whose key is not its command's lineage id as 36-character lower-case
 *      text is quarantined key_not_lineage, and one whose key's murmur2 partition
 *      (ax_partition.h) is not the partition it was read from is quarantined wrong_partition
 *      (docs/producers.md section 3): a pure function of the message, its partition and the
 *      topic's partition count (fixed at creation), so a replay decides alike. Quarantined,
 *      not rejected: the command id is not used up, and the producer publishes the same
 *      command again, correctly routed;
 *  (8) a head a command is completed with (ax_batch_element.h) is the lineage's committed head
 *      as the command's actor sees it, or one this writer knows committed: found by an earlier
 *      lookup, or left by a command of a batch whose commit PostgreSQL confirmed (its claimed
 *      hash, which the database compared, binds every field of the head). Only this partition's
 *      writer moves its lineages' heads (invariant 7; an apply_change's version is refused
 *      unless it is on its message's lineage, whose id its hash binds), and a context is made
 *      per assignment, so such a head is the committed one. The two differ only where the
 *      actor may not see the lineage, and the database then refuses the command as
 *      not_found_or_denied with or without a hash; so decisions, outcomes and ledger entries are
 *      those of a lookup for every command (a replay starts with no such head). What it knows is
 *      forgotten on every (re)connection and after a batch whose commit is not confirmed.
 * @locality: a context belongs to one writer thread.
 */
#ifndef AX_BATCH_H
#define AX_BATCH_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

struct ax_codec;
struct ax_batch_ctx;

struct ax_batch_result {
	size_t released;     /* messages at the front that are done (applied or re-deliveries) */
	bool waiting;        /* stopped at a data command beyond the control watermark */
	int64_t wait_for_us; /* with waiting: the watermark it needs (its event time + 1 us) */
	size_t accepted, rejected, quarantined, duplicates;
	double statement_s; /* the batch statement, commit included (0 when none was sent) */
};

/*
 * Called by ax_batch_apply once per committed outcome, in log order, on the writer's thread:
 * its decision, reason code ("" when none) and the seconds from the message's append to the
 * commit (negative when the message has no append time).
 */
typedef void (*ax_batch_observe_fn)(
    void *arg, const char *decision, const char *reason_code, double latency_s);

/* Observe ctx's outcomes with fn(arg, ...) from now on (NULL: none). */
void ax_batch_set_observer(struct ax_batch_ctx *ctx, ax_batch_observe_fn fn, void *arg);

/*
 * Connect to dsn for (topic, partition) of a topic of partitions partitions, claim it and
 * load its stored next offset and its last known event time (what the partition's last
 * committed batch left, whoever wrote it, invariant 6). *out is owned by the caller
 * (ax_batch_ctx_free). AX_EUNAVAIL when PostgreSQL cannot be reached.
 */
int ax_batch_ctx_new(struct ax_batch_ctx **out, const struct ax_codec *codec, const char *dsn,
    const char *instance, const char *topic, int32_t partition, int32_t partitions, bool control,
    struct ax_err *err);

/* Free ctx and close its connection; NULL is a no-op. */
void ax_batch_ctx_free(struct ax_batch_ctx *ctx);

/* The next offset to apply: the stored one, or RD_KAFKA_OFFSET_BEGINNING when none. */
int64_t ax_batch_next_offset(const struct ax_batch_ctx *ctx);

/*
 * Apply msgs[0..n) (in log order) in one transaction. On AX_OK, res says how many of them
 * are done. AX_EUNAVAIL: the connection broke (call ax_batch_reconnect, then try again);
 * AX_ECONFLICT: another writer claimed the partition since, or moved the stored offset
 * (fenced; stop); AX_ERR: an
 * invariant of the database refused the batch (stop this partition).
 */
int ax_batch_apply(struct ax_batch_ctx *ctx, rd_kafka_message_t **msgs, size_t n,
    struct ax_batch_result *res, struct ax_err *err);

/*
 * The control watermark committed now, in microseconds (INT64_MIN before any control command):
 * a waiting writer polls it, cheaply, before it sends its batch again.
 */
int ax_batch_watermark(struct ax_batch_ctx *ctx, int64_t *us, struct ax_err *err);

/* The broker's append time of m in microseconds, or -1 when m has no LogAppendTime (then it
 * carries no event time of its own, invariant 6). */
int64_t ax_batch_event_time_us(const rd_kafka_message_t *m);

/* The event time before a partition's first message: the epoch (invariant 6). */
#define AX_EVENT_TIME_ORIGIN_US 0

/*
 * Invariant 6, pure: the event time of the next message of a partition whose last known event
 * time is last_us, the message's timestamp being ms of type type. *log_append says whether
 * the message has a usable LogAppendTime; when it has not, the result is last_us.
 */
int64_t ax_event_time_next(
    int64_t last_us, rd_kafka_timestamp_type_t type, int64_t ms, bool *log_append);

/*
 * Invariant 4, pure: what complete_element (ax_batch.c, where the argument is) knows of a
 * command that creates the next version of a lineage (new_version, apply_change) when it
 * decides whether the hashes it would claim are exact, i.e. cannot depend on how an earlier
 * command of the same batch is decided.
 */
struct ax_speculation {
	/* it builds on the head an earlier command of the batch would leave (else on the
	 * committed head) */
	bool on_speculative_head;
	bool head_found;      /* the head it builds on exists ... */
	int64_t head_version; /* ... with this version */
	int64_t base_version; /* the version the command names as its base */
	bool is_change;       /* apply_change */
	/* apply_change: an earlier propose_change of the batch proposes its change, with this
	 * base version, carrying its content (or not) */
	bool change_proposed_in_batch;
	int64_t proposal_base_version;
	bool proposal_has_content;
	bool change_committed; /* apply_change: the change exists in the database already */
	/* the speculative head rests on a head lookup that found no head, made for another actor
	 * or at another event time: the lineage may exist, out of that lookup's sight */
	bool head_not_found_by_another_lookup;
};

/* Where the batch is cut before such a command, and why; AX_SPECULATION_EXACT: not cut. */
enum ax_speculation_verdict {
	AX_SPECULATION_EXACT = 0,
	/* the change is proposed in the batch but exists already: that propose is refused and
	 * the committed change, whose base is not known here, is the one applied */
	AX_SPECULATION_CUT_CHANGE_COMMITTED,
	/* the proposing element carries no content to hash */
	AX_SPECULATION_CUT_PROPOSAL_WITHOUT_CONTENT,
	/* a committed change applied on a speculative head: its base is not known here */
	AX_SPECULATION_CUT_COMMITTED_CHANGE_ON_SPECULATIVE_HEAD,
	/* the speculative head's version is not the command's base (the proposal's, for a
	 * change proposed in the batch): the database would use another head, or none */
	AX_SPECULATION_CUT_BASE_NOT_HEAD,
	/* the speculative head rests on a lookup for another actor or event time that found no
	 * head: the lineage may exist, and this command's actor may see it then */
	AX_SPECULATION_CUT_HEAD_NOT_FOUND_BY_ANOTHER_LOOKUP,
};

/* Whether the batch is cut before the command s describes (invariant 4). */
enum ax_speculation_verdict ax_batch_speculation(const struct ax_speculation *s);

/*
 * What this context knows of the control watermark: a lower bound (it only grows), learnt
 * from ax_batch_watermark, from the control commands this context applied, or from a hint
 * (ax_batch_learn_watermark: another writer's committed control batch). A data batch is cut
 * before its first command beyond it without asking PostgreSQL, which enforces the
 * watermark anyway: a hint that is too high costs a refused round trip, never a decision.
 */
int64_t ax_batch_known_watermark(const struct ax_batch_ctx *ctx);
void ax_batch_learn_watermark(struct ax_batch_ctx *ctx, int64_t us);

/* Reconnect and re-read the stored next offset and last known event time; the claim stays as
 * it was. */
int ax_batch_reconnect(struct ax_batch_ctx *ctx, struct ax_err *err);

#endif
