/*
 * ax_applier_int.h - what the files of the applier share, and nothing outside them: the
 * writer and applier structs, the writer states, and the functions one file calls in
 * another. The public contract (invariants, the writer state machine) is ax_applier.h.
 *
 *   ax_applier.c          the poll loop (main thread): the consumer, rebalances,
 *                         backpressure, progress, metrics, topic configuration checks
 *   ax_applier_caught_up.c  --until-caught-up: when the run may stop (main thread)
 *   ax_applier_writer.c   a partition's writer thread and its lifecycle
 *   ax_applier_relay.c    a partition's relay thread: its ledger to the audit topic
 *
 * Thread rules, field by field, are in the structs below: a field is either owned by one
 * thread (named), atomic, or guarded by the mutex named beside it.
 */
#ifndef AX_APPLIER_INT_H
#define AX_APPLIER_INT_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ax_applier.h"
#include "ax_pg.h"
#include "ax_topics.h"

#define WRITERS_MAX (AX_PARTITIONS_MAX + 1)
enum writer_state { W_STARTING, W_RUNNING, W_STOPPING, W_STOPPED, W_FAILED };

/* the names of enum writer_state, for the log */
extern const char *const ax_applier_writer_state_names[];

struct writer {
	struct applier *app;
	char topic[AX_TOPIC_NAME_MAX];
	int32_t partition;
	bool control;
	struct ax_pqueue *q;
	struct ax_batch_ctx *ctx;
	pthread_t thread;
	bool thread_started;
	/* the relay thread: this partition's ledger -> the audit topic, off the apply path (a
	 * Kafka transaction per publish must not hold up the next batch) */
	pthread_t relay_thread;
	bool relay_started;
	pthread_mutex_t relay_mu;
	pthread_cond_t relay_cv;
	int64_t relay_until; /* relay_mu: publish the entries below this offset (committed) */
	bool relay_stop;     /* relay_mu: the writer has stopped; publish once more and end */
	bool relay_fenced;   /* relay_mu: another writer owns the partition; publish no more */
	PGconn *relay_conn;  /* relay thread only, like the two below */
	struct ax_relay_cursor *cursor;
	unsigned relay_failures; /* in a row; logged on the first and every 100th */
	bool paused;             /* main thread only */
	_Atomic int state;
	_Atomic int64_t next_offset; /* applied and committed up to here (exclusive) */
	_Atomic uint64_t accepted, rejected, quarantined, duplicates, batches;
	_Atomic int waiting;        /* blocked on the control watermark */
	_Atomic int64_t relay_done; /* the relay published the entries below this offset */
	/* progress bookkeeping, main thread only */
	int64_t last_offset_reported;
	double last_report_s;
};

struct applier {
	const struct ax_applier_opts *o;
	volatile sig_atomic_t *stop;
	rd_kafka_t *consumer;
	struct ax_codec *codec;
	struct ax_tick *tick;
	struct ax_relay *relay;
	struct ax_checkpoint_key *ckey;
	PGconn *pg;          /* --until-caught-up: reads the stored offsets of every partition */
	rd_kafka_t *admin;   /* describes the topics' configuration (check_topic_configs) */
	bool recheck_topics; /* main thread: partitions were assigned since the last check */
	int partitions[2];   /* of the control and the command topic */
	char control_topic[AX_TOPIC_NAME_MAX], commands_topic[AX_TOPIC_NAME_MAX];
	char audit_topic[AX_TOPIC_NAME_MAX];
	struct writer *w[WRITERS_MAX];
	size_t nw;
	/* the control watermark as this instance's control writer committed it: data writers
	 * wait on wm_cv instead of polling PostgreSQL (which stays the authority) */
	pthread_mutex_t wm_mu;
	pthread_cond_t wm_cv;
	_Atomic int64_t wm_us;       /* written under wm_mu; the poll thread reads it without */
	_Atomic int control_running; /* this instance's control writer is running */
	struct ax_metrics *metrics;  /* --metrics; NULL for none */
	double metrics_at;           /* main thread: when the gauges were last updated */
	double logend_retry_at; /* main thread: no log-end read before then (broker unanswered) */
	int failed_partitions;
	bool control_failed; /* the control partition was among them */
	bool startup_failed;
	struct ax_err startup_err;
	/* --until-caught-up, main thread only (the rebalance callback runs in the poll):
	 * held: this run was assigned the partition at least once; head: the ledger's last
	 * sequence as last read; audit_seq: the highest sequence of that ledger found on the audit
	 * topic (read committed) */
	bool held[2][AX_PARTITIONS_MAX];
	int64_t head[2][AX_PARTITIONS_MAX];
	int64_t audit_seq[2][AX_PARTITIONS_MAX];
	double last_audit_check, last_wait_log;
	bool audit_ok;            /* the last answer of audit_topic_reached_heads */
	int64_t log_ends;         /* sum of the log ends offsets_at_log_end saw last */
	int64_t audited_log_ends; /* log_ends when audit_ok was answered */
	/* main thread: the log ends and lags as a read_committed reader sees them */
	struct ax_logend *logend;
};

/* ax_applier_writer.c, main thread */

/* Create the writer of (topic, partition): connect, claim, load the stored offset, start its
 * relay and writer threads; *out is app's to keep (AX_EUNAVAIL: PostgreSQL unreachable). */
int ax_applier_writer_start(struct writer **out, struct applier *app, const char *topic,
    int32_t partition, struct ax_err *err);
/* The writer app holds for (topic, partition) (borrowed), or NULL. */
struct writer *ax_applier_writer_find(struct applier *app, const char *topic, int32_t partition);
/* Stop and free every writer; lost: the group took the partitions away (no last relay). */
void ax_applier_stop_writers(struct applier *app, bool lost);

/* ax_applier_relay.c */

/* The relay thread's body; arg is its struct writer. */
void *ax_applier_relay_main(void *arg);
/* The writer committed everything below until (stop: it stopped; fenced: it lost the
 * partition): wake its relay. Writer thread or main thread. */
void ax_applier_relay_notify(struct writer *w, int64_t until, bool stop, bool fenced);

/* ax_applier_caught_up.c, main thread */

/* Whether `--until-caught-up` may stop now (ax_applier_caught_up.c, invariant 1). */
bool ax_applier_caught_up(struct applier *app);

#endif
