/*
 * bench.h - `axiom bench`: the end-to-end benchmark on the local stack (issue 7 item 4,
 * issue 5 "Speed and memory").
 *
 * It sits in cli/ because it drives the whole system the way an operator does: it publishes
 * through the producer library (producers/), runs `axiom apply` as a child process (so the
 * CPU time and peak memory measured are the applier's alone), replays with consumers/ and
 * verifies with `axiom verify`.
 *
 * Invariants:
 *  (1) everything runs in throwaway objects: a database axiom_bench_<tag> (and a second one
 *      for the replay) and topics bench-<tag>.*, removed at the end unless kept;
 *  (2) latency is append -> commit: the broker's LogAppendTime of a command (its ledger
 *      event_time) against the instant its commit becomes visible, observed through a
 *      NOTIFY sent by an AFTER INSERT trigger on axiom.ledger that exists only in the
 *      benchmark database (notifications are delivered at commit);
 *  (3) the ceiling inserts the very rows the applier wrote (copied out afterwards) into
 *      tables of the same shape (same columns, same primary and unique indexes; no CHECK,
 *      no foreign key, no trigger, no RLS) with COPY, one transaction per batch of the same
 *      size, on as many connections as the applier had partitions;
 *  (4) no timed assertion anywhere: the bench reports, it does not judge.
 * Phases, in order: SETUP -> CONTROL -> THROUGHPUT (backlog, then `apply --until-caught-up`)
 * -> LATENCY (paced publishing at a fraction of the measured rate while the applier runs)
 * -> CEILING -> REPLAY -> VERIFY -> SIGNATURES -> CLEANUP, each a function of one context
 * (cli/bench_int.h names the file of each); then the caller's REPORT (bench_print,
 * bench_write_json, bench_write_plot).
 */
#ifndef AXIOM_BENCH_H
#define AXIOM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ax_config.h"
#include "ax_err.h"

struct bench_opts {
	const struct ax_config *cfg; /* brokers and the admin, runtime and auditor DSNs */
	const char *self;            /* path of the axiom binary (children: apply, verify) */
	const char *db_dir;          /* migrations folder */
	long commands;               /* data commands of the throughput phase */
	long latency_commands;       /* data commands of the paced phase */
	int partitions;              /* of PREFIX.commands */
	int batch_max, batch_ms;     /* applier batches, and the ceiling's batch size */
	int change_pct;              /* share of change-request steps in the data mix */
	double rate_fraction;        /* paced rate = this x the measured apply rate */
	bool replay, verify, keep;
	const char *json_path, *plot_path; /* NULL: not written */
};

/* One committed command as the listener saw it. */
struct bench_sample {
	int64_t recv_us;  /* wall clock when its commit became visible */
	int64_t event_us; /* its LogAppendTime */
	int phase;        /* 1 throughput, 2 latency, BENCH_COUNTED (below) */
};

/* A throughput-phase commit counted from the stored offsets (that phase runs without the
 * listener's NOTIFY): it has a commit second but no latency (event_us is 0). */
#define BENCH_COUNTED 3

struct bench_result {
	char tag[32], machine[256];
	int nproc;
	long mem_total_mib;
	double loadavg_start; /* 1-minute load average when the run began: a busy machine shows */
	/* throughput phase */
	long applied;
	double publish_rate, apply_rate, apply_seconds;
	double applier_cpu_s; /* the applier child, over the throughput phase */
	double pg_cpu_s;      /* the whole PostgreSQL server (every database) over the same phase */
	long applier_rss_kib; /* peak over both applier runs */
	/* latency phase */
	double paced_rate, achieved_rate;
	long latency_n;
	double p50_ms, p95_ms, p99_ms, max_ms;
	/* ceiling */
	long ceiling_rows, ceiling_commands;
	double ceiling_rate, ceiling_seconds, ratio;
	/* replay and verify (0 when not run) */
	double replay_rate, replay_seconds;
	long replay_messages;
	bool replay_equal;
	double verify_rate, verify_seconds;
	/* in-process: WebAuthn verifications and raw ECDSA P-256 verifies per second */
	double sig_rate, sig_raw_rate;
	long verify_versions;
	int verify_exit;
	/* the timeline */
	struct bench_sample *samples;
	size_t nsamples;
	double t0_us; /* wall clock of the first publish */
};

/* Fill o with the defaults. */
void bench_defaults(struct bench_opts *o);

/*
 * Run every phase. r is filled as far as the run got and owned by the caller
 * (bench_result_free). progress lines go to log (may be NULL). AX_EUNAVAIL when the stack
 * cannot be reached, AX_ERR when a phase failed (the message says which).
 */
int bench_run(const struct bench_opts *o, struct bench_result *r, FILE *log, struct ax_err *err);

/* Release what r owns. */
void bench_result_free(struct bench_result *r);

/* The human table. */
void bench_print(FILE *fp, const struct bench_opts *o, const struct bench_result *r);

/* Write r as one JSON object to path. */
int bench_write_json(
    const char *path, const struct bench_opts *o, const struct bench_result *r, struct ax_err *err);

/* Plot throughput and latency over the run into the PNG path (with gnuplot). */
int bench_write_plot(const char *path, const struct bench_result *r, struct ax_err *err);

#endif
