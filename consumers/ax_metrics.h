/*
 * ax_metrics.h - the applier's figures in the Prometheus text exposition format (version
 * 0.0.4), served over HTTP by libmicrohttpd (`axiom apply --metrics HOST:PORT`).
 *
 * What is kept, per (topic, partition) of the partitions this instance applies or applied:
 *   gauges      next_offset, log_end (for a read_committed reader), lag (ax_logend.h),
 *               waiting_for_control (0/1), relay_backlog (offsets committed but not yet
 *               published on the audit topic)
 *   counters    commands_total{decision, reason} (accepted; rejected and quarantined by
 *               reason code), claims_lost_total (the partition was claimed by another writer)
 *   histograms  batch_size (commands per committed batch), batch_seconds (the batch
 *               statement, commit included), append_to_commit_seconds (per command: the
 *               broker's append time to the commit that applied it)
 *
 * Invariants: (1) every update and every rendering holds the one mutex of the registry, so a
 * scrape sees each batch's figures whole; (2) counters only grow, also across a revocation
 * (the series stays, its gauges are kept at their last values); (3) label values are escaped
 * as the format requires, so a topic name or reason code cannot forge a series; (4) at most
 * AX_METRICS_PARTITIONS_MAX series sets and AX_METRICS_REASONS_MAX reason codes per
 * partition: beyond them figures go to reason "other" or are dropped, never grow memory.
 * @locality: any thread; the HTTP server answers on libmicrohttpd's own thread.
 */
#ifndef AX_METRICS_H
#define AX_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

#define AX_METRICS_PARTITIONS_MAX 1024
#define AX_METRICS_REASONS_MAX    64

struct ax_metrics;

/* A new, empty registry in *out (caller-owned, ax_metrics_free). */
int ax_metrics_new(struct ax_metrics **out, struct ax_err *err);

/* Stop serving and free m; NULL is a no-op. */
void ax_metrics_free(struct ax_metrics *m);

/*
 * Serve GET /metrics on host_port ("HOST:PORT", IPv4 or a name; PORT 0 picks a free one,
 * see ax_metrics_port). AX_EINVAL for a malformed address, AX_EUNAVAIL when it cannot bind.
 */
int ax_metrics_serve(struct ax_metrics *m, const char *host_port, struct ax_err *err);

/* The port the server listens on, 0 when it does not. */
int ax_metrics_port(const struct ax_metrics *m);

/* One command's outcome, committed latency_s after its append (negative: not known). */
void ax_metrics_outcome(struct ax_metrics *m, const char *topic, int32_t partition,
    const char *decision, const char *reason, double latency_s);

/* One committed batch of commands commands, whose statement took seconds. */
void ax_metrics_batch(
    struct ax_metrics *m, const char *topic, int32_t partition, size_t commands, double seconds);

/*
 * The gauges of a partition as its owner sees them now: log_end < 0, not known (log_end and
 * lag keep their last values); lag < 0, log_end - next_offset; else what ax_logend_read
 * measured (0 when only transaction markers and aborted records follow next_offset).
 */
void ax_metrics_partition(struct ax_metrics *m, const char *topic, int32_t partition,
    int64_t next_offset, int64_t log_end, int64_t lag, bool waiting, int64_t relay_backlog);

/* The partition was claimed by another writer (this one was fenced). */
void ax_metrics_claim_lost(struct ax_metrics *m, const char *topic, int32_t partition);

/* The exposition text, NUL-terminated, in *out (caller frees); *len without the NUL. */
int ax_metrics_render(struct ax_metrics *m, char **out, size_t *len, struct ax_err *err);

#endif
