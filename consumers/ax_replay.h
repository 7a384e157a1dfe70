/*
 * ax_replay.h - `axiom replay`: rebuild an empty database from the topics, and compare
 * databases by their deterministic per-table digests
 * (db/definitions/85_digests_and_verification.sql).
 *
 * Invariants (docs/replay.md, docs/architecture.md):
 *  (1) the target is migrated and empty (no ledger entry, no stored offset) before anything
 *      is applied; a non-empty target is refused, never merged into;
 *  (2) the rebuild is the applier itself (ax_applier_run, until caught up) under a fresh
 *      consumer group and its own instance name, so it takes exactly the decisions the live
 *      applier took; it appends nothing to any topic (no ticks, no audit relay:
 *      opts.no_ticks and opts.no_relay);
 *  (3) a replay is complete only when every partition of PREFIX.control and PREFIX.commands
 *      is applied up to the log end measured when the applier stopped, as a read_committed
 *      reader reaches it (ax_logend.h: transaction markers and aborted records after the
 *      last applied message are never received); a log that does not start at offset 0
 *      (records deleted) cannot be rebuilt and is refused;
 *  (4) progress is observed from outside the applier: the main thread polls the target's
 *      partition_offsets (as the auditor) against the broker's log-end offsets (its own
 *      struct ax_logend).
 * States of a replay: CHECKING (target, topics) -> APPLYING (applier thread runs, main
 * thread draws progress) -> REPORTING (ledger counts) -> done | failed | stalled.
 */
#ifndef AX_REPLAY_H
#define AX_REPLAY_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ax_err.h"

struct ax_replay_opts {
	const char *brokers;
	const char *prefix;         /* topic prefix */
	const char *pg_dsn;         /* the runtime role (axiom_user), into the target */
	const char *auditor_dsn;    /* the auditor, into the target (checks, progress, report) */
	const char *group;          /* consumer group; NULL: axiom-replay-<random> */
	const char *instance;       /* applier instance name; NULL: axiom-replay */
	int batch_max, batch_ms;    /* as `axiom apply` */
	int stall_s;                /* stop when nothing is applied for this long (default 60) */
	const char *checkpoint_key; /* the live applier's Ed25519 key (PEM), NULL: none; the
	                             * same key reproduces the same checkpoints */
	int checkpoint_every;       /* as `axiom apply --checkpoint-every`, 0: its default */
	int progress;               /* 0 none, 1 a redrawn bar (terminal), 2 a line every 2 s */
};

struct ax_replay_partition {
	char topic[200];
	int32_t partition;
	int64_t low, high; /* the log's first offset and its end (the last stable offset) */
	int64_t next;      /* the target's stored next offset (low when none) */
	int64_t position;  /* where a read_committed reader at next stood when high was read:
	                    * beyond next when only markers and aborted records follow it */
	uint64_t accepted, rejected, quarantined;
};

struct ax_replay_report {
	char group[96];
	struct ax_replay_partition *parts; /* owned; ax_replay_report_free */
	size_t nparts;
	uint64_t total, applied; /* log offsets in all partitions, and those passed of them */
	uint64_t accepted, rejected, quarantined;
	double seconds;        /* from the applier's start to its stop */
	double active_seconds; /* from the first to the last observed progress: without the
	                        * group join and the idle tail (the rate's denominator) */
	double cpu_s;          /* user + system CPU of this process during the replay */
	long peak_rss_kib;     /* this process's peak resident memory */
	bool complete;         /* invariant 3 */
};

/* Fill o with the defaults (DSNs and brokers NULL). */
void ax_replay_defaults(struct ax_replay_opts *o);

/*
 * Rebuild the target from the topics. rep is filled (even on failure, as far as known) and
 * owned by the caller. AX_OK: complete; AX_ECONFLICT: the target is not empty; AX_EINVAL:
 * not migrated, missing topics or a truncated log; AX_EUNAVAIL: broker or PostgreSQL
 * unreachable; AX_ERR: a partition failed, or the replay stalled or was stopped (*stop).
 */
int ax_replay_run(const struct ax_replay_opts *o, volatile sig_atomic_t *stop,
    struct ax_replay_report *rep, struct ax_err *err);

/* Release what rep owns; rep itself is the caller's. */
void ax_replay_report_free(struct ax_replay_report *rep);

/* Print rep as a table a person reads (partitions, outcomes, duration, rate, CPU, memory). */
void ax_replay_report_print(FILE *fp, const struct ax_replay_report *rep);

/* One table's digest as axiom_api.table_digests() returns it. */
struct ax_digest {
	char table[64];
	long long rows; /* -1 when not covered */
	char hex[65];   /* "" when not covered */
	bool covered;
};

/*
 * Read every table digest of the database behind conn (a reader with EXECUTE on
 * axiom_api.table_digests(), normally the auditor). *out is owned by the caller (free).
 */
int ax_digests_fetch(
    struct ax_digest **out, size_t *n, PGconn *conn, const char *who, struct ax_err *err);

/*
 * Print, table by table, whether the rebuilt digests a[] equal the live ones b[]; returns
 * the number of tables that differ, are missing on one side or are not covered.
 */
size_t ax_digests_compare(
    FILE *fp, const struct ax_digest *a, size_t na, const struct ax_digest *b, size_t nb);

#endif
