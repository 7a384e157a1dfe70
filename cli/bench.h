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
 *      event_time) against its transaction's commit time as PostgreSQL records it
 *      (pg_xact_commit_timestamp of the ledger row, track_commit_timestamp = on), read by a
 *      poller that changes nothing: the bench adds no trigger, lock or notification to the
 *      applier's transactions (a NOTIFY per ledger row, as before, made the applier's
 *      commits wait for each other: PostgreSQL holds one lock through a notifying commit);
 *  (3) the ceiling inserts the very rows the applier wrote (copied out afterwards) into
 *      tables of the same shape (same columns, same primary and unique indexes; no CHECK,
 *      no foreign key, no trigger, no RLS) with COPY, one transaction per batch of the same
 *      size, on as many connections as the applier had partitions;
 *  (4) no timed assertion anywhere: the bench reports, it does not judge.
 * Phases, in order: SETUP -> CONTROL (control commands, then the signable records, applied)
 * -> THROUGHPUT (backlog, then `apply --until-caught-up`) -> LATENCY (paced publishing at a
 * fraction of the measured rate while the applier runs; once per fraction with
 * --rate-fractions) -> CEILING -> REPLAY -> VERIFY ->
 * SCALE (--verify-versions: the database grown to N versions, then verified) -> SIGNATURES
 * -> CLEANUP, each a function of one context
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

/* The most fractions --rate-fractions takes. */
#define BENCH_MAX_FRACTIONS 16

/* The append -> commit p99 the sweep's crossing is read against (issue 16 item 5), in ms. */
#define BENCH_P99_MARK_MS 50.0

struct bench_opts {
	const struct ax_config *cfg; /* brokers and the admin, runtime and auditor DSNs */
	const char *self;            /* path of the axiom binary (children: apply, verify) */
	const char *db_dir;          /* migrations folder */
	long commands;               /* data commands of the throughput phase */
	long latency_commands;       /* data commands of each paced run */
	int partitions;              /* of PREFIX.commands */
	int batch_max, batch_ms;     /* applier batches, and the ceiling's batch size */
	int change_pct;              /* share of change-request steps in the data mix */
	int sign_pct, refuse_pct;    /* shares of Sign commands and refusals (0, 0: basic mix) */
	long verify_versions;        /* SCALE: grow the database to this many versions, 0: no */
	double rate_fraction;        /* paced rate = this x the measured apply rate */
	/* further paced runs, each at its fraction of the apply rate (nfractions 0: only
	 * rate_fraction's run); the latency phase runs these and rate_fraction, each once, in
	 * ascending order */
	double rate_fractions[BENCH_MAX_FRACTIONS];
	int nfractions;
	bool replay, verify, keep;
	const char *json_path, *plot_path; /* NULL: not written */
};

/* One committed command as the listener saw it. */
struct bench_sample {
	int64_t commit_us; /* its commit time (wall clock, as PostgreSQL recorded it) */
	int64_t event_us;  /* its LogAppendTime */
	int phase;         /* 1 throughput, 2 latency, BENCH_COUNTED (below) */
};

/* A throughput-phase commit counted from the stored offsets (the listener records nothing
 * while a backlog is applied): it has a commit second but no latency (event_us is 0). */
#define BENCH_COUNTED 3

/* CPU of one phase that applies commands: the applier's and the PostgreSQL server's. */
struct bench_cpu {
	long commands;    /* commands (data and control) the phase applied */
	double applier_s; /* the applier's user + system time (a child's wait4, or this process) */
	double pg_s;      /* every process of the server: live backends and the reaped ones */
};

/* One paced run of the latency phase: its own applier child, warm-up and measured commands. */
struct bench_latency_run {
	double fraction;                  /* of the throughput phase's apply rate */
	double paced_rate, achieved_rate; /* publish rate asked for, commits per second seen */
	long n;                           /* measured commands (the warm-up not counted) */
	double p50_ms, p95_ms, p99_ms, max_ms;
	struct bench_cpu cpu; /* the applier child's and the server's, warm-up included */
	long rss_kib;         /* the applier child's peak RSS */
};

/* One `axiom verify` run as the bench reads it from its JSON. */
struct bench_verify_fig {
	long versions;     /* record versions in the database */
	double seconds;    /* wall time of the child, start to exit */
	double rate;       /* versions / seconds */
	int exit;          /* its exit code */
	double records_s;  /* its record chain stage */
	double database_s; /* every stage that reads PostgreSQL only */
	double kafka_s;    /* the stages that read the broker */
	long kafka_items;  /* log offsets and audit outcomes read */
};

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
	long applier_rss_kib; /* the throughput phase's applier */
	long latency_rss_kib; /* the latency phase's applier (the run at o->rate_fraction) */
	struct bench_cpu cpu_throughput, cpu_latency, cpu_replay;
	/* the throughput phase's outcomes, from the ledger, and what the mix meant to refuse */
	long accepted, rejected, quarantined, signatures_stored;
	long mix_signs, mix_refusals;
	struct {
		char code[48];
		long n;
	} reasons[8]; /* the rejections by reason code, most frequent first */
	int nreasons;
	/* latency phase: the run at o->rate_fraction (also in sweep) */
	double paced_rate, achieved_rate;
	long latency_n;
	double p50_ms, p95_ms, p99_ms, max_ms;
	/* every paced run, in ascending order of fraction (one when no --rate-fractions) */
	struct bench_latency_run sweep[BENCH_MAX_FRACTIONS + 1];
	int nsweep;
	/* ceiling */
	long ceiling_rows, ceiling_commands;
	double ceiling_rate, ceiling_seconds, ratio;
	/* replay and verify (0 when not run) */
	double replay_rate, replay_seconds;
	long replay_messages;
	bool replay_equal;
	struct bench_verify_fig verify;
	double synthetic_rate; /* ax_verify_bench_records: the C checker alone, one core */
	/* SCALE (--verify-versions) */
	long scale_commands;
	double scale_apply_rate;
	struct bench_cpu cpu_scale;
	struct bench_verify_fig scale_verify;
	/* in-process: WebAuthn verifications and raw ECDSA P-256 verifies per second */
	double sig_rate, sig_raw_rate;
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
