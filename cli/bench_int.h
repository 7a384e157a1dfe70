/*
 * bench_int.h - what the files of `axiom bench` share, and nothing outside cli/bench*.c: the
 * run's context, the command mix, the publisher, the commit listener and the children. The
 * contract (invariants, phases) is bench.h.
 *
 *   bench.c           the run: the phases in order, SETUP and CLEANUP, small helpers
 *   bench_phases.c    CONTROL, THROUGHPUT, LATENCY, REPLAY, VERIFY, SCALE, SIGNATURES
 *   bench_ceiling.c   CEILING (invariant 3)
 *   bench_workload.c  the command mix and publishing it
 *   bench_observe.c   the machine, the commit listener (invariant 2), the children
 *   bench_report.c    the table, the JSON object, the plot
 *
 * Threads: everything runs on the caller's thread except the listener (bench_listener_main,
 * its samples under mu) and the ceiling's loaders (bench_ceiling.c).
 */
#ifndef AXIOM_BENCH_INT_H
#define AXIOM_BENCH_INT_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ax_publish.h"
#include "ax_softauth.h"
#include "ax_topics.h"
#include "bench.h"

/* a command line: a Sign command carries its proofs (about 1.5 KB) */
#define LINE_MAX_BYTES 8192
/* commands of the latency phase's warm-up, not measured */
#define WARMUP_COMMANDS 60

/* signable lineages per partition: created before the throughput phase (bench_seed_signable) */
#define SIGNABLE_PER_PARTITION 4

/*
 * Deterministic data commands: SOP lineages created then versioned directly (gate none), and
 * specification lineages changed through propose -> submit -> review -> approve -> apply
 * (gate review_approve), interleaved; in the realistic mix (the default) also e-signatures of
 * the signable lineages' version 1 (software authenticators of alice, authorship, and carol,
 * approval, registered on the control topic) and refusals: a create by dave, enrolled
 * without a grant, and a new version on a stale base version. Per lineage the commands come
 * in order, and a lineage stays on one partition, so every base version the generator counts
 * on holds; a refusal changes no lineage's state.
 */
struct bench_gen {
	long seq;       /* command ids */
	int change_pct; /* share of change steps among the non-signature, non-refusal commands */
	int sign_pct;   /* share of Sign commands (0: none) */
	int refuse_pct; /* share of commands the applier must refuse (0: none) */
	long acc;       /* Bresenham accumulator of the mix */
	long acc_sign, acc_refuse;
	long signs, refusals;          /* Sign commands and refusals generated so far */
	struct ax_softauth *signer[2]; /* alice (authorship), carol (approval) */
	int nsignable;                 /* signable lineages, their version 1 hashes below */
	uint8_t (*signable_hash)[32];
	bool signable_ready; /* their hashes are known: Sign commands may be generated */
	int next_signable;
	int nsop, nspec; /* lineages */
	long *sop_ver;   /* current version of each SOP lineage, 0: not created */
	long *spec_ver;  /* current version of each specification lineage */
	int *spec_step;  /* next step of the change in flight: 0 propose .. 4 apply */
	long *spec_change;
	int next_sop, next_spec;
	long changes;
	int64_t expires_us;
};

/* The bench's producer: the control principal, on both command topics. */
struct bench_pub {
	struct ax_producer *p;
	const struct ax_codec *codec;
	char control[AX_TOPIC_NAME_MAX + 16], commands[AX_TOPIC_NAME_MAX + 16];
	uint64_t line;
};

/* The phase of the listener while a backlog is applied: it records nothing. */
#define BENCH_IDLE (-1)

/* The commit listener (invariant 2): one sample per committed data command, read from the
 * ledger of the commands topic, partition by partition after the last seq it read. */
struct bench_listener {
	PGconn *conn;
	pthread_t thread;
	pthread_mutex_t mu;
	struct bench_sample *s;
	size_t n, cap;
	size_t data_seen[3]; /* data commands seen per phase */
	char topic[AX_TOPIC_NAME_MAX + 16];
	int partitions;
	long long *seq; /* per partition: the last seq read */
	_Atomic int phase, stop;
	_Atomic unsigned polls; /* polls completed */
};

/*
 * One run: its options and result, the names of its throwaway objects (invariant 1), and what
 * SETUP made, which CLEANUP undoes (each *_made flag or non-NULL handle says what exists).
 */
struct bench_ctx {
	const struct bench_opts *o;
	const struct ax_config *cfg;
	struct bench_result *r;
	FILE *log;
	long latency_n; /* measured data commands of each paced run (the warm-up apart) */
	/* names */
	char db[96], db2[96], prefix[64], group[96], rgroup[96], workdir[128];
	char admin_db[1024], user_db[1024], auditor_db[1024], auditor_db2[1024], user_db2[1024];
	char batch[16], batch_ms[16]; /* the applier's --batch and --batch-ms */
	/* what SETUP made */
	PGconn *admin;       /* the admin, on the server's default database */
	PGconn *admin_bench; /* the admin, on the bench database */
	long pm;             /* the postmaster's pid, -1 when unknown */
	rd_kafka_t *kadmin;  /* the throwaway topics' and groups' admin */
	struct ax_codec *codec;
	struct bench_listener lis;
	struct bench_pub pb;
	struct bench_gen g;
	bool db_made, db2_made, topics_made, lis_started, gen_made;
};

/* bench.c */
void bench_say(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Create db and migrate it from dir. */
int bench_create_database(
    PGconn *admin, const char *db, const char *admin_dsn, const char *dir, struct ax_err *err);

/* bench_phases.c: each phase fills its part of c->r (REPLAY and VERIFY only when
 * o->replay, o->verify); AX_OK, or why the run stops */
int bench_seed_control(struct bench_ctx *c, struct ax_err *err);
int bench_throughput(struct bench_ctx *c, struct ax_err *err);
int bench_latency(struct bench_ctx *c, struct ax_err *err);
int bench_replay(struct bench_ctx *c, struct ax_err *err);
int bench_verify(struct bench_ctx *c, struct ax_err *err);
int bench_scale(struct bench_ctx *c, struct ax_err *err);
int bench_signatures(struct bench_ctx *c, struct ax_err *err);

/* bench_ceiling.c: the CEILING phase (invariant 3) */
int bench_ceiling(struct bench_ctx *c, struct ax_err *err);

/* bench_workload.c */
/* Set up the generator for partitions partitions and the mix (sign_pct and refuse_pct 0:
 * the basic mix, every command accepted); -1 when out of memory or no key could be made. */
int bench_gen_init(
    struct bench_gen *g, int partitions, int change_pct, int sign_pct, int refuse_pct);
/* Release what g holds. */
void bench_gen_free(struct bench_gen *g);
/* The control commands of phase k (1: scopes, types, people; 2: grants and, with signatures,
 * the signers' factors); NULL at the end. */
const char *bench_gen_control(struct bench_gen *g, int phase, int i, char *buf, size_t cap);
/* The i-th signable lineage's CreateRecord (0 .. nsignable - 1) as a JSON line in buf. */
const char *bench_gen_signable(struct bench_gen *g, int i, char *buf, size_t cap);
/* The i-th signable lineage's id as text (36 characters and a NUL). */
void bench_gen_signable_id(char out[37], int i);
/* The next data command as a JSON line in buf; AX_OK, or why it could not be signed. */
int bench_gen_data(struct bench_gen *g, char *buf, size_t cap, struct ax_err *err);
/* Generate the next data command and queue it on its topic. */
int bench_publish_data(struct bench_gen *g, struct bench_pub *pb, struct ax_err *err);
/* Generate a new version of the next SOP lineage (SCALE's long lineages) and queue it. */
int bench_publish_version(struct bench_gen *g, struct bench_pub *pb, struct ax_err *err);
/* Encode one JSON command line and queue it on its topic. */
int bench_publish_line(struct bench_pub *pb, const char *line, struct ax_err *err);
/* Wait for every delivery; AX_ERR when one failed. */
int bench_publish_wait(struct bench_pub *pb, struct ax_err *err);

/* bench_observe.c */
/* The CPU, its count, the memory and the load average, into r. */
void bench_describe_machine(struct bench_result *r);
/* CPU seconds of the whole server under postmaster pm (every child, live or reaped). */
double bench_pg_cpu_s(long pm);
/* The postmaster's pid: the parent of this connection's backend (a local server only). */
long bench_postmaster_pid(PGconn *conn);
/* The listener thread: read the ledger's new data entries with their commit times every
 * 25 ms, recording them in phases 0 and 2, until stop. */
void *bench_listener_main(void *arg);
/* Return once the listener read the ledger as it is now (two more polls); false after
 * timeout_s. */
bool bench_listener_sync(struct bench_listener *l, double timeout_s);
/* How many data commands of phase were seen committed so far. */
size_t bench_listener_seen(struct bench_listener *l, int phase);
/* Wait until want data commands of phase were seen, at most timeout_s; true when they were. */
bool bench_listener_wait(struct bench_listener *l, int phase, size_t want, double timeout_s);
/* Spawn argv with stdout to out_path (or /dev/null) and stderr to err_path. */
int bench_spawn(
    pid_t *pid, char *const argv[], const char *out_path, const char *err_path, struct ax_err *err);
/* Wait for pid; its exit code (or 128+signal) in *code and its resource use in *ru. */
void bench_reap(pid_t pid, int *code, struct rusage *ru);
/* Like bench_reap, while sampling the committed data commands (bench_observe.c). */
void bench_reap_sampling(pid_t pid, int *code, struct rusage *ru, PGconn *conn,
    const char *commands_topic, long base, long want, double *first, double *last,
    struct bench_listener *lis);
/* User plus system CPU seconds of ru. */
double bench_ru_cpu(const struct rusage *ru);

#endif
