/*
 * ax_logend.h - where a partition's log ends for a read_committed reader, and how far from
 * it a stored next offset is.
 *
 * A transactional producer's commit and abort markers, and the records of its aborted
 * transactions, take offsets that a read_committed consumer never receives. The applier
 * stores the offset after the last message it applied (exactly once resumes there; seeking
 * to it skips the markers by itself), so after a partition's last transaction its stored
 * next offset stays below the log end for good. Caught up, lag and a replay's end are
 * therefore measured here, for a stored next offset `next`, as
 *
 *   end       the last stable offset: what a read_committed client is told is the end
 *             (rd_kafka_query_watermark_offsets honours isolation.level); below it every
 *             transaction is decided, committed or aborted, for good;
 *   position  the offset of the first message a read_committed reader that starts at
 *             `next` receives, or, when it receives none before the end, the offset its
 *             end-of-partition event reports (librdkafka's fetcher steps over markers and
 *             aborted records, so that is the end);
 *   lag       end - position, never negative: 0 when only markers and aborted records lie
 *             between `next` and the end.
 *
 * Invariants:
 *  (1) it only reads: a simple consumer with no group membership that commits nothing, of
 *      the role the caller names (the applier's, for `axiom apply` and `axiom replay`);
 *  (2) a partition is read only when `next` is below the end, and at most from where the
 *      last read of the same `next` stopped: what lies below a last stable offset never
 *      changes, so "nothing to receive in [next, p)" stays true once seen, and a message
 *      found at p stays the first one after `next`;
 *  (3) `next` below the log start counts from the log start (the records are gone).
 * @locality: one thread uses one struct ax_logend (the applier's poll thread; the replay's
 * observer thread has its own).
 */
#ifndef AX_LOGEND_H
#define AX_LOGEND_H

#include <stdint.h>

#include "ax_err.h"
#include "ax_kafka.h"

/* What ax_logend_read found for one partition. */
struct ax_logend_state {
	int64_t low;      /* the log start offset */
	int64_t end;      /* the last stable offset */
	int64_t position; /* where a read_committed reader at next stands (see above) */
	int64_t lag;      /* end - position, at least 0 */
};

struct ax_logend;

/* Create a reader for brokers acting as role; *out owned by the caller (ax_logend_free). */
int ax_logend_new(
    struct ax_logend **out, const char *brokers, enum ax_kafka_role role, struct ax_err *err);

/* Free le; NULL is a no-op. */
void ax_logend_free(struct ax_logend *le);

/*
 * Fill *out for topic/partition and the stored next offset `next` (a negative next: none
 * stored, counts as the log start), reading the partition when invariant 2 asks for it.
 * AX_EUNAVAIL when the broker does not answer within timeout_ms (twice that at most: one
 * offsets request, one read).
 */
int ax_logend_read(struct ax_logend *le, const char *topic, int32_t partition, int64_t next,
    int timeout_ms, struct ax_logend_state *out, struct ax_err *err);

#endif
