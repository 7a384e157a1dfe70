/*
 * ax_applier.c - the poll loop, the rebalance handling and the partition writers of
 * `axiom apply`; see ax_applier.h for the invariants and the writer state machine.
 *
 * Threads: the main thread owns the consumer (poll, rebalance callback, pause/resume,
 * progress, caught-up detection); one writer thread per assigned partition owns that
 * partition's PostgreSQL connection (struct ax_batch_ctx) and its pending messages.
 */
#include "ax_applier.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_backoff.h"
#include "ax_batch.h"
#include "ax_checkpoint.h"
#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_kafka.h"
#include "ax_log.h"
#include "ax_metrics.h"
#include "ax_pg.h"
#include "ax_pqueue.h"
#include "ax_relay.h"
#include "ax_tick.h"
#include "ax_topics.h"

#define WRITERS_MAX (AX_PARTITIONS_MAX + 1)
/* Memory is bounded whatever the backlog (issue target: 256 MiB with 6 partitions): each
 * writer's hand-over queue pauses its partition past QUEUE_BYTES_MAX, librdkafka's own
 * prefetch is capped by queued.max.messages.kbytes and fetch.max.bytes below. */
#define QUEUE_BYTES_MAX (16 * 1024 * 1024)
/* Pausing is for memory, not for pacing: librdkafka drops a paused partition's prefetched
 * messages and fetches them again on resume, and with a high mark of 4 batches (800 items)
 * a replay paused and resumed its partitions all the time; some replays then crawled on one
 * partition at a few commands per second with every writer idle. The byte mark bounds
 * memory (7 x 16 MiB); the item mark only guards against floods of tiny messages. */
#define QUEUE_ITEMS_MAX 65536
/* A writer with nothing queued wakes this often to look at its state (stop, revocation). */
#define IDLE_WAIT_MS 100
/* A data writer waiting for the control watermark asks for a tick, and reads the watermark
 * from PostgreSQL when no local control writer announces it, this often. */
#define WATERMARK_POLL_MS 5
/* The most rows axiom_api.ledger_entries returns in one call (db/0008). */
#define LEDGER_PAGE 10000

/* The relay publishes at most this often per partition (one Kafka transaction each). */
#define RELAY_LINGER_MS 100

enum writer_state { W_STARTING, W_RUNNING, W_STOPPING, W_STOPPED, W_FAILED };

static const char *const state_names[] = { "starting", "running", "stopping", "stopped", "failed" };

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
	int failed_partitions;
	bool startup_failed;
	struct ax_err startup_err;
	/* --until-caught-up, main thread only (the rebalance callback runs in the poll):
	 * held: this run was assigned the partition at least once; head: the ledger's last
	 * sequence as last read; audit: the highest sequence of that ledger found on the audit
	 * topic (read committed) */
	bool held[2][AX_PARTITIONS_MAX];
	int64_t head[2][AX_PARTITIONS_MAX];
	int64_t audit[2][AX_PARTITIONS_MAX];
	double last_audit_check, last_wait_log;
	bool audit_ok;            /* the last answer of audit_reached_heads */
	int64_t log_ends;         /* sum of the log ends offsets_at_log_end saw last */
	int64_t audited_log_ends; /* log_ends when audit_ok was answered */
};

static void
destroy_message(void *m)
{
	rd_kafka_message_destroy(m);
}

/* The sticky failure of a writer: logged once, never left. */
static void
writer_fail(struct writer *w, const char *why, const struct ax_err *err)
{
	atomic_store(&w->state, W_FAILED);
	ax_log(AX_LOG_ERROR, "partition_failed",
	    "topic=%s partition=%d next_offset=%lld why=%s error=\"%s\" detail=\"%s\" sqlstate=%s",
	    w->topic, (int)w->partition, (long long)atomic_load(&w->next_offset), why, err->msg,
	    err->detail, err->sqlstate[0] ? err->sqlstate : "-");
}

/*
 * Publish w's committed ledger entries below until; false when it must be retried. The
 * cursor (a transactional producer, and a Kafka round trip to learn where the audit
 * partition stopped) and the connection are made here on first use, and again after a
 * failure, so a broker or database that is away is retried like any other relay failure.
 */
static bool
relay_once(struct writer *w, int64_t until)
{
	struct ax_err err;
	int rc = AX_OK;

	if (w->relay_conn != NULL && PQstatus(w->relay_conn) != CONNECTION_OK) {
		PQfinish(w->relay_conn);
		w->relay_conn = NULL;
	}
	if (w->relay_conn == NULL)
		rc = ax_pg_connect(&w->relay_conn, w->app->o->pg_dsn, "the runtime role", &err);
	if (rc == AX_OK && w->cursor == NULL)
		rc = ax_relay_cursor_new(&w->cursor, w->app->relay, w->topic, w->partition, &err);
	if (rc == AX_OK)
		rc = ax_relay_publish(w->cursor, w->relay_conn, until, &err);
	if (rc == AX_OK) {
		w->relay_failures = 0;
		return true;
	}
	if (rc == AX_ECONFLICT) {
		/* another producer of this ledger fenced ours: a stale instance's, or one whose
		 * commit timed out. The next round starts a new one (which fences it in turn, and
		 * reads the tail first), so the owner's relay never stays silent */
		ax_relay_cursor_free(w->cursor);
		w->cursor = NULL;
		ax_log(AX_LOG_WARN, "audit_relay_fenced", "topic=%s partition=%d error=\"%s\"",
		    w->topic, (int)w->partition, err.msg);
	}
	if (w->relay_failures++ % 100 == 0)
		ax_log(AX_LOG_WARN, "audit_relay_retrying",
		    "topic=%s partition=%d failures=%u error=\"%s\"", w->topic, (int)w->partition,
		    w->relay_failures, err.msg);
	return false;
}

/*
 * The relay thread of w: publishes what the writer committed (relay_notify), retrying a
 * failure every second; when the writer stops, publishes once more and ends, unless the
 * writer was fenced (the partition's new owner publishes from there, ax_relay.h (4)).
 * AXIOM_TEST_RELAY_DELAY_MS (tests only) delays every publish by that long, so that a test
 * can kill an applier between a commit and its relay (tests/integration/0512).
 */
static void *
relay_main(void *arg)
{
	struct writer *w = arg;
	int64_t done = INT64_MIN, until;
	bool stop = false, fenced = false, ok = true;
	const char *delay = getenv("AXIOM_TEST_RELAY_DELAY_MS");
	long delay_ms = delay != NULL ? strtol(delay, NULL, 10) : 0;

	while (!stop || !ok) {
		struct timespec deadline;

		pthread_mutex_lock(&w->relay_mu);
		if (ok) {
			while (!w->relay_stop && w->relay_until == done)
				pthread_cond_wait(&w->relay_cv, &w->relay_mu);
			/* let more commits join this publish: a Kafka transaction per batch of a
			 * few commands would cost the broker more than the commands cost us */
			ax_deadline_after(&deadline, RELAY_LINGER_MS);
			while (!w->relay_stop &&
			       pthread_cond_timedwait(&w->relay_cv, &w->relay_mu, &deadline) == 0)
				;
		} else if (!w->relay_stop) { /* retry in a second, or at the next commit */
			ax_deadline_after(&deadline, 1000);
			pthread_cond_timedwait(&w->relay_cv, &w->relay_mu, &deadline);
		}
		until = w->relay_until;
		stop = w->relay_stop;
		fenced = w->relay_fenced;
		pthread_mutex_unlock(&w->relay_mu);
		if (fenced)
			break;
		if (delay_ms > 0 && until != done)
			ax_sleep_s((double)delay_ms / 1000.0);
		if ((ok = until == done || relay_once(w, until))) {
			done = until;
			atomic_store(&w->relay_done, done);
		} else if (stop)
			break; /* the last try after the writer stopped: the next owner goes on */
	}
	return NULL;
}

/* The writer committed everything below until: wake its relay. */
static void
relay_notify(struct writer *w, int64_t until, bool stop, bool fenced)
{
	pthread_mutex_lock(&w->relay_mu);
	w->relay_until = until;
	w->relay_stop = w->relay_stop || stop;
	w->relay_fenced = w->relay_fenced || fenced;
	pthread_cond_signal(&w->relay_cv);
	pthread_mutex_unlock(&w->relay_mu);
}

/* Tell waiting data writers the control watermark this instance's control writer reached. */
static void
announce_watermark(struct applier *app, int64_t us)
{
	pthread_mutex_lock(&app->wm_mu);
	if (us > app->wm_us) {
		app->wm_us = us;
		pthread_cond_broadcast(&app->wm_cv);
	}
	pthread_mutex_unlock(&app->wm_mu);
}

/* Wait up to ms for an announced watermark of at least us; the one announced, or INT64_MIN. */
static int64_t
announced_watermark(struct applier *app, int64_t us, int ms)
{
	struct timespec deadline;
	int64_t wm;
	int rc = 0;

	ax_deadline_after(&deadline, ms);
	pthread_mutex_lock(&app->wm_mu);
	while (app->wm_us < us && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&app->wm_cv, &app->wm_mu, &deadline);
	wm = app->wm_us >= us ? app->wm_us : INT64_MIN;
	pthread_mutex_unlock(&app->wm_mu);
	return wm;
}

/*
 * Wait until the committed control watermark reaches us, asking again for a tick every
 * WATERMARK_POLL_MS (the rate limit may have dropped the last request): woken by this
 * instance's control writer, whose commits are announced, or else by one cheap query per
 * turn (the control partition belongs to another instance). Returns early on stop,
 * revocation or a database error (the next batch attempt handles those).
 */
static void
wait_for_control(struct writer *w, int64_t us)
{
	struct ax_err err;
	int64_t wm;

	while (atomic_load(&w->state) == W_RUNNING && !*w->app->stop) {
		if (!w->app->o->no_ticks) /* replay: the log must stay as it is */
			ax_tick_request(w->app->tick, us);
		if ((wm = announced_watermark(w->app, us, WATERMARK_POLL_MS)) != INT64_MIN) {
			ax_batch_learn_watermark(w->ctx, wm);
			return;
		}
		if (atomic_load(&w->app->control_running))
			continue; /* its commits are announced: no query needed */
		if (ax_batch_watermark(w->ctx, &wm, &err) != AX_OK || wm >= us)
			return;
	}
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	const struct ax_applier_opts *o = w->app->o;
	rd_kafka_message_t **pending = calloc((size_t)o->batch_max, sizeof(*pending));
	struct ax_batch_result res;
	struct ax_backoff backoff;
	struct ax_err err;
	size_t npending = 0, i;
	int delay_ms, rc;

	if (pending == NULL) {
		ax_err_set(&err, AX_ERR, "out of memory");
		writer_fail(w, "out_of_memory", &err);
		return NULL;
	}
	/* writers that lost PostgreSQL together retry apart, and none sleeps long once it is
	 * back (ax_backoff.h) */
	ax_backoff_init(&backoff, 50, 1000,
	    (uint32_t)ax_wall_us() ^ ((uint32_t)w->partition * 2654435761u) ^ (uint32_t)w->control);
	if (w->control)
		atomic_store(&w->app->control_running, 1);
	while (atomic_load(&w->state) == W_RUNNING && !*w->app->stop) {
		/* commands left over from a batch cut at the watermark go again at once, with
		 * whatever joined them meanwhile */
		if (npending < (size_t)o->batch_max)
			npending += ax_pqueue_pop(w->q, (void **)pending + npending,
			    (size_t)o->batch_max - npending, npending > 0 ? 0 : IDLE_WAIT_MS,
			    npending > 0 ? 0 : o->batch_ms);
		if (npending == 0 || atomic_load(&w->state) != W_RUNNING || *w->app->stop)
			continue;
		rc = ax_batch_apply(w->ctx, pending, npending, &res, &err);
		if (rc == AX_EUNAVAIL) {
			char q[AX_LOG_QUOTE_MAX];

			delay_ms = ax_backoff_next(&backoff);
			ax_log(AX_LOG_WARN, "database_unavailable",
			    "topic=%s partition=%d error=%s retry_in_ms=%d", w->topic,
			    (int)w->partition, ax_log_quote(q, sizeof(q), err.msg), delay_ms);
			ax_sleep_s(delay_ms / 1e3);
			if (ax_batch_reconnect(w->ctx, &err) == AX_OK) {
				ax_log(AX_LOG_INFO, "database_reconnected",
				    "topic=%s partition=%d next_offset=%lld", w->topic,
				    (int)w->partition, (long long)ax_batch_next_offset(w->ctx));
				ax_backoff_reset(&backoff);
			}
			continue;
		}
		if (rc == AX_ECONFLICT) {
			ax_metrics_claim_lost(w->app->metrics, w->topic, w->partition);
			writer_fail(w, "fenced", &err);
			if (w->relay_started)
				relay_notify(w, ax_batch_next_offset(w->ctx), true, true);
			break;
		}
		if (rc != AX_OK) {
			writer_fail(w, "invariant_violated", &err);
			break;
		}
		ax_backoff_reset(&backoff);
		if (res.accepted + res.rejected + res.quarantined > 0)
			ax_metrics_batch(w->app->metrics, w->topic, w->partition,
			    res.accepted + res.rejected + res.quarantined, res.statement_s);
		if (w->control && res.released > 0) /* before the relay: data writers wait on it */
			announce_watermark(w->app, ax_batch_known_watermark(w->ctx));
		if (w->relay_started && res.accepted + res.rejected + res.quarantined > 0)
			relay_notify(w, ax_batch_next_offset(w->ctx), false, false);
		for (i = 0; i < res.released; i++)
			rd_kafka_message_destroy(pending[i]);
		memmove(
		    pending, pending + res.released, (npending - res.released) * sizeof(*pending));
		npending -= res.released;
		atomic_store(&w->next_offset, ax_batch_next_offset(w->ctx));
		atomic_fetch_add(&w->accepted, res.accepted);
		atomic_fetch_add(&w->rejected, res.rejected);
		atomic_fetch_add(&w->quarantined, res.quarantined);
		atomic_fetch_add(&w->duplicates, res.duplicates);
		atomic_fetch_add(&w->batches, 1);
		if (res.waiting) {
			if (!atomic_exchange(&w->waiting, 1))
				ax_log(AX_LOG_INFO, "waiting_for_control",
				    "topic=%s partition=%d offset=%lld event_time_us=%lld",
				    w->topic, (int)w->partition, (long long)pending[0]->offset,
				    (long long)res.wait_for_us);
			wait_for_control(w, res.wait_for_us);
		} else if (atomic_exchange(&w->waiting, 0)) {
			ax_log(AX_LOG_INFO, "control_caught_up", "topic=%s partition=%d", w->topic,
			    (int)w->partition);
		}
	}
	for (i = 0; i < npending; i++)
		rd_kafka_message_destroy(pending[i]);
	free(pending);
	if (w->control)
		atomic_store(&w->app->control_running, 0);
	if (atomic_load(&w->state) != W_FAILED)
		atomic_store(&w->state, W_STOPPED);
	return NULL;
}

/*
 * Free w after its threads: the relay's last round first (it reads the ledger), unless the
 * partition was lost (the group gave it to another member meanwhile: that one publishes).
 */
static void
writer_free(struct writer *w, bool lost)
{
	if (w->relay_started) {
		relay_notify(w, ax_batch_next_offset(w->ctx), true, lost);
		pthread_join(w->relay_thread, NULL);
	}
	ax_relay_cursor_free(w->cursor);
	PQfinish(w->relay_conn);
	pthread_cond_destroy(&w->relay_cv);
	pthread_mutex_destroy(&w->relay_mu);
	ax_batch_ctx_free(w->ctx);
	ax_pqueue_free(w->q, destroy_message);
	free(w);
}

/* Create the writer of (topic, partition): connect, load the stored offset, start. */
/* ax_batch's observer (the writer's thread): one committed outcome, into the metrics. */
static void
writer_observe(void *arg, const char *decision, const char *reason_code, double latency_s)
{
	struct writer *w = arg;

	ax_metrics_outcome(
	    w->app->metrics, w->topic, w->partition, decision, reason_code, latency_s);
}

static int
writer_start(struct writer **out, struct applier *app, const char *topic, int32_t partition,
    struct ax_err *err)
{
	struct writer *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (w == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	w->app = app;
	snprintf(w->topic, sizeof(w->topic), "%s", topic);
	w->partition = partition;
	w->control = strcmp(topic, app->control_topic) == 0;
	atomic_init(&w->state, W_STARTING);
	pthread_mutex_init(&w->relay_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* ax_deadline_after's clock */
		pthread_cond_init(&w->relay_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((rc = ax_pqueue_new(&w->q, QUEUE_ITEMS_MAX, QUEUE_BYTES_MAX, err)) != AX_OK)
		goto fail;
	if ((rc = ax_batch_ctx_new(&w->ctx, app->codec, app->o->pg_dsn, app->o->instance, topic,
	         partition, app->partitions[w->control ? 0 : 1], w->control, err)) != AX_OK)
		goto fail;
	atomic_init(&w->next_offset, ax_batch_next_offset(w->ctx));
	atomic_init(&w->relay_done, -1); /* not known before the relay's first round */
	if (app->metrics != NULL)
		ax_batch_set_observer(w->ctx, writer_observe, w);
	w->last_offset_reported = atomic_load(&w->next_offset);
	w->last_report_s = ax_mono_s();
	/* its first round publishes what an earlier run committed but did not relay */
	w->relay_until = ax_batch_next_offset(w->ctx);
	if (!app->o->no_relay) {
		if (pthread_create(&w->relay_thread, NULL, relay_main, w) != 0) {
			rc = ax_err_set(err, AX_ERR, "could not start the relay thread of %s/%d",
			    topic, (int)partition);
			goto fail;
		}
		w->relay_started = true;
	}
	atomic_store(&w->state, W_RUNNING);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		rc = ax_err_set(err, AX_ERR, "could not start the writer thread of %s/%d", topic,
		    (int)partition);
		goto fail;
	}
	w->thread_started = true;
	*out = w;
	return AX_OK;
fail:
	writer_free(w, false);
	return rc;
}

/*
 * Stop w's writer thread (it finishes or abandons its batch) and start its relay's last
 * round: the relay publishes once more what the writer committed, unless the writer was
 * fenced or the partition lost, and ends.
 */
static void
writer_join(struct writer *w, bool lost)
{
	int expect = W_RUNNING;

	atomic_compare_exchange_strong(&w->state, &expect, W_STOPPING);
	ax_pqueue_wake(w->q);
	if (w->thread_started)
		pthread_join(w->thread, NULL);
	w->thread_started = false;
	if (w->relay_started) /* its last round starts now; writer_free waits for it */
		relay_notify(w, ax_batch_next_offset(w->ctx), true, lost);
}

/* Stop a writer (revocation, shutdown) and free it once its relay's last round is done. */
static void
writer_stop(struct writer *w, bool lost)
{
	writer_join(w, lost);
	ax_log(AX_LOG_INFO, "writer_stopped",
	    "topic=%s partition=%d state=%s next_offset=%lld accepted=%llu rejected=%llu "
	    "quarantined=%llu duplicates=%llu",
	    w->topic, (int)w->partition, state_names[atomic_load(&w->state)],
	    (long long)atomic_load(&w->next_offset), (unsigned long long)atomic_load(&w->accepted),
	    (unsigned long long)atomic_load(&w->rejected),
	    (unsigned long long)atomic_load(&w->quarantined),
	    (unsigned long long)atomic_load(&w->duplicates));
	writer_free(w, lost);
}

static struct writer *
writer_find(struct applier *app, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < app->nw; i++)
		if (app->w[i]->partition == partition && strcmp(app->w[i]->topic, topic) == 0)
			return app->w[i];
	return NULL;
}

/*
 * Stop every writer; lost: the group took the partitions away (their relays publish no
 * last round). All are told first, so their last batches and relay rounds overlap.
 */
static void
stop_all_writers(struct applier *app, bool lost)
{
	size_t i;

	for (i = 0; i < app->nw; i++) {
		int expect = W_RUNNING;

		atomic_compare_exchange_strong(&app->w[i]->state, &expect, W_STOPPING);
		ax_pqueue_wake(app->w[i]->q);
	}
	for (i = 0; i < app->nw; i++)
		writer_join(app->w[i], lost);
	for (i = 0; i < app->nw; i++) {
		if (atomic_load(&app->w[i]->state) == W_FAILED)
			app->failed_partitions++;
		writer_stop(app->w[i], lost);
	}
	app->nw = 0;
}

/*
 * Eager assignor: every rebalance revokes everything, then assigns the new set. On
 * assignment each partition is positioned at PostgreSQL's stored next offset (invariant 2);
 * a database that cannot be reached is retried here, so no partition starts from a guess.
 */
static void
rebalance_cb(
    rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct applier *app = opaque;
	struct ax_err err;
	int i, attempt;

	if (e != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		ax_log(AX_LOG_INFO, "revoked", "partitions=%d lost=%d", parts->cnt,
		    rd_kafka_assignment_lost(rk));
		stop_all_writers(app, rd_kafka_assignment_lost(rk));
		rd_kafka_assign(rk, NULL);
		return;
	}
	for (i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		struct writer *w = NULL;

		for (attempt = 0; !*app->stop; attempt++) {
			if (writer_start(&w, app, p->topic, p->partition, &err) == AX_OK)
				break;
			if (err.code != AX_EUNAVAIL || attempt == 0)
				ax_log(err.code == AX_EUNAVAIL ? AX_LOG_WARN : AX_LOG_ERROR,
				    "writer_start_failed",
				    "topic=%s partition=%d error=\"%s\" detail=\"%s\"", p->topic,
				    (int)p->partition, err.msg, err.detail);
			if (err.code != AX_EUNAVAIL || attempt >= 60) {
				app->startup_failed = true;
				app->startup_err = err;
				break;
			}
			ax_sleep_s(1.0);
		}
		if (w == NULL) {
			/* never consume a partition whose stored offset is unknown */
			*app->stop = 1;
			p->offset = RD_KAFKA_OFFSET_INVALID;
			continue;
		}
		app->w[app->nw++] = w;
		if (p->partition >= 0 && p->partition < AX_PARTITIONS_MAX)
			app->held[strcmp(p->topic, app->control_topic) == 0 ? 0 : 1][p->partition] =
			    true;
		p->offset = atomic_load(&w->next_offset);
		ax_log(AX_LOG_INFO, "assigned", "topic=%s partition=%d next_offset=%s%lld",
		    p->topic, (int)p->partition,
		    p->offset == RD_KAFKA_OFFSET_BEGINNING ? "beginning/" : "",
		    (long long)(p->offset == RD_KAFKA_OFFSET_BEGINNING ? 0 : p->offset));
	}
	rd_kafka_assign(rk, parts);
	app->recheck_topics = true; /* in the poll loop, not to hold the assignment up */
	/* librdkafka keeps a partition's pause flag across revocation and re-assignment: a
	 * partition paused for backpressure by a writer of the previous assignment would never
	 * be fetched again (the new writer starts with paused = false) */
	rd_kafka_resume_partitions(rk, parts);
}

static void
set_paused(struct applier *app, struct writer *w, bool pause)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(l, w->topic, w->partition);
	if (pause)
		rd_kafka_pause_partitions(app->consumer, l);
	else
		rd_kafka_resume_partitions(app->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	w->paused = pause;
}

/* Backpressure: a partition is paused when a push takes its writer's queue over the high mark
 * (in the poll loop); resume the paused ones whose writer has caught up. */
static void
resume_drained(struct applier *app)
{
	size_t i;

	for (i = 0; i < app->nw; i++)
		if (app->w[i]->paused && ax_pqueue_below_low_mark(app->w[i]->q))
			set_paused(app, app->w[i], false);
}

/* The gauges of every partition this instance holds, at most once a second (main thread). */
static void
update_metrics(struct applier *app)
{
	double t = ax_mono_s();
	size_t i;

	if (app->metrics == NULL || t - app->metrics_at < 1.0)
		return;
	app->metrics_at = t;
	for (i = 0; i < app->nw; i++) {
		struct writer *w = app->w[i];
		int64_t low = 0, high = -1, next = atomic_load(&w->next_offset);
		int64_t done = atomic_load(&w->relay_done);

		rd_kafka_get_watermark_offsets(app->consumer, w->topic, w->partition, &low, &high);
		if (next < 0)
			next = low;
		ax_metrics_partition(app->metrics, w->topic, w->partition, next, high,
		    atomic_load(&w->waiting) != 0, done >= 0 && next > done ? next - done : 0);
	}
}

static void
report_progress(struct applier *app, bool force)
{
	double t = ax_mono_s();
	size_t i;

	for (i = 0; i < app->nw; i++) {
		struct writer *w = app->w[i];
		int64_t low = 0, high = 0, next = atomic_load(&w->next_offset);
		double dt = t - w->last_report_s;

		if (!force && dt * 1000 < app->o->progress_ms)
			continue;
		rd_kafka_get_watermark_offsets(app->consumer, w->topic, w->partition, &low, &high);
		if (next < 0)
			next = low;
		ax_log(AX_LOG_INFO, "progress",
		    "topic=%s partition=%d state=%s next_offset=%lld log_end=%lld lag=%lld "
		    "rate_per_s=%.0f accepted=%llu rejected=%llu quarantined=%llu "
		    "duplicates=%llu%s",
		    w->topic, (int)w->partition, state_names[atomic_load(&w->state)],
		    (long long)next, (long long)high, (long long)(high > next ? high - next : 0),
		    dt > 0 ? (double)(next - w->last_offset_reported) / dt : 0.0,
		    (unsigned long long)atomic_load(&w->accepted),
		    (unsigned long long)atomic_load(&w->rejected),
		    (unsigned long long)atomic_load(&w->quarantined),
		    (unsigned long long)atomic_load(&w->duplicates),
		    atomic_load(&w->waiting) ? " waiting_for_control=1" : "");
		w->last_offset_reported = next;
		w->last_report_s = t;
	}
}

/* Big-endian readers of a group member's assignment (bounded by the caller). */
static int32_t
rd_be32(const uint8_t *b)
{
	return (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
}

/*
 * Mark in other[t][p] the partitions of the control (t 0) and command (t 1) topics that the
 * consumer-protocol assignment b (n bytes: version, [topic, [partition]], user data) gives
 * its member. Malformed bytes mark nothing.
 */
static void
mark_assignment(struct applier *app, const uint8_t *b, size_t n, bool other[2][AX_PARTITIONS_MAX])
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	size_t at = 2, len;
	int32_t ntopics, nparts, i, j, p;
	int t;

	if (n < 6)
		return;
	ntopics = rd_be32(b + at);
	at += 4;
	for (i = 0; i < ntopics; i++) {
		if (at + 2 > n)
			return;
		len = (size_t)((b[at] << 8) | b[at + 1]);
		at += 2;
		if (at + len + 4 > n)
			return;
		for (t = 0; t < 2; t++)
			if (strlen(topics[t]) == len && memcmp(b + at, topics[t], len) == 0)
				break;
		at += len;
		nparts = rd_be32(b + at);
		at += 4;
		if (nparts < 0 || (size_t)nparts * 4 > n - at)
			return;
		for (j = 0; j < nparts; j++, at += 4)
			if (t < 2 && (p = rd_be32(b + at)) >= 0 && p < AX_PARTITIONS_MAX)
				other[t][p] = true;
	}
}

/*
 * Whether every partition of both topics was held by this run at least once, or is held
 * now by another member of the group (an instance running alongside, which will catch it up
 * and relay it itself). A dead member still listed by the coordinator counts too: the
 * audit check then keeps this run waiting until its entries are relayed, by this run once
 * the group drops the dead member.
 */
static bool
held_every_partition(struct applier *app)
{
	static bool other[2][AX_PARTITIONS_MAX];
	const struct rd_kafka_group_list *gl = NULL;
	char *self = NULL;
	bool all = true, listed = false;
	int t, p, g, m;

	for (t = 0; t < 2 && all; t++)
		for (p = 0; p < app->partitions[t] && p < AX_PARTITIONS_MAX; p++)
			if (!app->held[t][p]) {
				all = false;
				break;
			}
	if (all)
		return true;
	memset(other, 0, sizeof(other));
	if (rd_kafka_list_groups(app->consumer, app->o->group, &gl, 5000) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	self = rd_kafka_memberid(app->consumer);
	for (g = 0; g < gl->group_cnt; g++)
		for (m = 0; m < gl->groups[g].member_cnt; m++) {
			const struct rd_kafka_group_member_info *mi = &gl->groups[g].members[m];

			if (self != NULL && strcmp(mi->member_id, self) == 0)
				continue;
			mark_assignment(
			    app, mi->member_assignment, (size_t)mi->member_assignment_size, other);
			listed = true;
		}
	rd_kafka_group_list_destroy(gl);
	if (self != NULL)
		rd_kafka_mem_free(app->consumer, self);
	for (t = 0; t < 2; t++)
		for (p = 0; p < app->partitions[t] && p < AX_PARTITIONS_MAX; p++)
			if (!app->held[t][p] && !(listed && other[t][p]))
				return false;
	return true;
}

/*
 * Every ledger's entries are on the audit topic: for each (topic, partition), the ledger's
 * last sequence (read after the one known, so a check reads only what is new) against the
 * highest sequence of that ledger on its audit partition (ax_relay_tail, read committed;
 * read again only while it is below the head). A partition that failed here is skipped.
 */
static bool
audit_reached_heads(struct applier *app)
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	double t0 = ax_mono_s();
	struct ax_err err;
	int t, p;

	for (t = 0; t < 2; t++)
		for (p = 0; p < app->partitions[t] && p < AX_PARTITIONS_MAX; p++) {
			struct writer *w = writer_find(app, topics[t], p);
			char part[16], after[24];
			const char *params[3] = { topics[t], part, after };
			PGresult *res;
			int64_t head = app->head[t][p];
			long rows;

			if (w != NULL && atomic_load(&w->state) == W_FAILED)
				continue;
			snprintf(part, sizeof(part), "%d", p);
			/* ledger_entries returns at most 10,000 rows a call: read on until fewer */
			for (rows = LEDGER_PAGE; rows == LEDGER_PAGE;) {
				snprintf(after, sizeof(after), "%lld", (long long)head);
				res = PQexecParams(app->pg,
				    "SELECT count(*), coalesce(max(seq), $3::bigint) FROM "
				    "axiom_api.ledger_entries($1, $2::integer, $3::bigint, "
				    "10000)",
				    3, NULL, params, NULL, NULL, 0);
				if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
					if (PQstatus(app->pg) != CONNECTION_OK)
						PQreset(app->pg);
					PQclear(res);
					return false;
				}
				rows = strtol(PQgetvalue(res, 0, 0), NULL, 10);
				head = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
				PQclear(res);
			}
			app->head[t][p] = head;
			if (app->audit[t][p] >= head)
				continue;
			if (ax_relay_tail(app->relay, topics[t], p, &app->audit[t][p], &err) !=
			    AX_OK) {
				ax_log(AX_LOG_WARN, "audit_tail_unread",
				    "topic=%s partition=%d error=\"%s\"", topics[t], p, err.msg);
				return false;
			}
			if (app->audit[t][p] < head) {
				if (t0 - app->last_wait_log >= 5.0) {
					app->last_wait_log = t0;
					ax_log(AX_LOG_INFO, "waiting_for_audit",
					    "topic=%s partition=%d ledger_head=%lld audit_seq=%lld",
					    topics[t], p, (long long)head,
					    (long long)app->audit[t][p]);
				}
				return false;
			}
		}
	return true;
}

/* The stored next offset of every partition of both topics is its log end. */
static bool
offsets_at_log_end(struct applier *app)
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	int64_t ends = 0;
	int t;

	for (t = 0; t < 2; t++) {
		char count[16];
		const char *params[2] = { topics[t], count };
		PGresult *res;
		int p;
		bool done = true;

		snprintf(count, sizeof(count), "%d", app->partitions[t]);
		res = PQexecParams(app->pg,
		    "SELECT coalesce(axiom_api.next_offset($1, p), 0) FROM generate_series(0, "
		    "$2::integer - 1) p ORDER BY p",
		    2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != app->partitions[t]) {
			if (PQstatus(app->pg) != CONNECTION_OK)
				PQreset(app->pg);
			PQclear(res);
			return false;
		}
		for (p = 0; p < app->partitions[t] && done; p++) {
			struct writer *w = writer_find(app, topics[t], p);
			int64_t low, high, next = strtoll(PQgetvalue(res, p, 0), NULL, 10);

			if (w != NULL && atomic_load(&w->state) == W_FAILED)
				continue;
			if (rd_kafka_query_watermark_offsets(app->consumer, topics[t], p, &low,
			        &high, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
				done = false;
			else if (next < high && !(high == low && next <= low))
				done = false;
			else
				ends += high;
		}
		PQclear(res);
		if (!done)
			return false;
	}
	app->log_ends = ends;
	return true;
}

/*
 * Caught up means (issue 13): every partition of both topics applied up to its log end,
 * whichever instance applied it (the stored next offsets in PostgreSQL against the log ends
 * on the broker), every partition held by this run at least once or by another member of
 * the group now (held_every_partition), and every ledger's entries on the audit topic
 * (audit_reached_heads; not for a replay, which relays nothing). So a run that started while
 * the group still waited for a dead member, which had committed entries and not relayed
 * them, waits until the group drops that member and this run relays them. A partition that
 * failed here is skipped: it will not catch up, and the exit code says so.
 */
static bool
caught_up(struct applier *app)
{
	double t = ax_mono_s();

	if (!offsets_at_log_end(app))
		return false;
	if (!held_every_partition(app)) {
		if (t - app->last_wait_log >= 5.0) {
			app->last_wait_log = t;
			ax_log(AX_LOG_INFO, "waiting_for_assignment",
			    "group=%s reason=\"a partition was never held by this run nor is held "
			    "by "
			    "another member\"",
			    app->o->group);
		}
		return false;
	}
	if (app->o->no_relay)
		return true;
	/* the audit topic is read at most once a second; in between, the last answer holds
	 * unless a log end moved (new commands, new ledger entries) */
	if (t - app->last_audit_check >= 1.0 || app->log_ends != app->audited_log_ends) {
		app->last_audit_check = t;
		app->audited_log_ends = app->log_ends;
		app->audit_ok = audit_reached_heads(app);
	}
	return app->audit_ok;
}

/*
 * Log one topic_config_drift warning for each configuration of the three topics that differs
 * from what `axiom topics create` made (ax_topics.h, invariant 3): a topic switched to
 * CreateTime, even for a moment, lets producers choose timestamps; one whose retention or
 * cleanup policy changed loses what a rebuild needs. The applier keeps running: a message
 * that is not LogAppendTime is quarantined whatever the topic says (ax_batch.h, invariant 6),
 * this only makes the drift loud. `axiom doctor` and `axiom topics check` say the same.
 */
static void
check_topic_configs(struct applier *app)
{
	const char *topics[3] = { app->control_topic, app->commands_topic, app->audit_topic };
	struct ax_topic_state st;
	struct ax_err err;
	size_t t, i;

	for (t = 0; t < 3; t++) {
		if (ax_kafka_describe_topic(app->admin, topics[t], 5000, &st, &err) != AX_OK) {
			ax_log(AX_LOG_WARN, "topic_config_unchecked", "topic=%s error=\"%s\"",
			    topics[t], err.msg);
			continue;
		}
		if (!st.exists)
			continue; /* count_partitions, or the relay, says so */
		for (i = 0; i < ax_topic_configs_len; i++) {
			const struct ax_topic_config *c = &ax_topic_configs[i];

			if (strcmp(st.config[i], c->value) == 0)
				continue;
			ax_log(AX_LOG_WARN, "topic_config_drift",
			    "topic=%s config=%s expected=%s found=%s why=\"%s\" "
			    "fix=\"kafka-configs --alter --entity-type topics --entity-name %s "
			    "--add-config %s=%s\"",
			    topics[t], c->name, c->value,
			    st.config[i][0] ? st.config[i] : "(unknown)", c->why, topics[t],
			    c->name, c->value);
		}
	}
}

/* The partition counts of both topics (they never change after creation). */
static int
count_partitions(struct applier *app, struct ax_err *err)
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	int t;

	for (t = 0; t < 2; t++) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(app->consumer, topics[t], NULL);
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t e = rd_kafka_metadata(app->consumer, 0, rkt, &md, 10000);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
		    md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			ax_err_set(err, AX_EINVAL, "topic %s does not exist", topics[t]);
			ax_err_hint(err, "Create the topics with \"axiom topics create\".");
			if (md != NULL)
				rd_kafka_metadata_destroy(md);
			rd_kafka_topic_destroy(rkt);
			return AX_EINVAL;
		}
		app->partitions[t] = md->topics[0].partition_cnt;
		rd_kafka_metadata_destroy(md);
		rd_kafka_topic_destroy(rkt);
	}
	return AX_OK;
}

static int
consumer_new(struct applier *app, struct ax_err *err)
{
	const struct ax_applier_opts *o = app->o;
	const char *const kv[] = {
		"group.id",
		o->group,
		"enable.auto.commit",
		"false",
		"enable.auto.offset.store",
		"false",
		"auto.offset.reset",
		"earliest",
		"partition.assignment.strategy",
		"range",
		"isolation.level",
		"read_committed",
		"session.timeout.ms",
		"10000",
		"heartbeat.interval.ms",
		"1000",
		"max.poll.interval.ms",
		"300000",
		"fetch.wait.max.ms",
		"50",
		"queued.max.messages.kbytes",
		"32768",
		"fetch.max.bytes",
		"16777216",
		NULL,
	};
	rd_kafka_conf_t *conf;
	char errstr[512];
	int rc;

	/* the rebalance callback and its opaque must be on the conf; librdkafka's errors are
	 * logged (level 3): a consumer's connection trouble has no caller to report it */
	if ((rc = ax_kafka_conf(&conf, o->brokers, AX_KAFKA_APPLIER, 3, kv, err)) != AX_OK)
		return rc;
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_conf_set_opaque(conf, app);
	if ((app->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr))) ==
	    NULL) {
		rd_kafka_conf_destroy(conf);
		ax_err_set(err, AX_EINVAL, "could not create the kafka consumer");
		ax_err_detail(err, "%s", errstr);
		return AX_EINVAL;
	}
	rd_kafka_poll_set_consumer(app->consumer);
	return AX_OK;
}

void
ax_applier_defaults(struct ax_applier_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->group = "axiom-applier";
	o->prefix = "axiom";
	o->instance = "axiom-apply";
	o->batch_max = 200;
	o->batch_ms = 0;
	o->progress_ms = 10000;
	o->idle_exit_ms = 2000;
}

int
ax_applier_run(const struct ax_applier_opts *o, volatile sig_atomic_t *stop, struct ax_err *err)
{
	struct applier app;
	rd_kafka_topic_partition_list_t *subs = NULL;
	struct ax_kafka_cluster cl;
	double caught_since = 0, last_check = 0;
	int rc;

	memset(&app, 0, sizeof(app));
	app.o = o;
	app.stop = stop;
	atomic_init(&app.wm_us, INT64_MIN);
	pthread_mutex_init(&app.wm_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&app.wm_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	snprintf(app.control_topic, sizeof(app.control_topic), "%s.control", o->prefix);
	snprintf(app.commands_topic, sizeof(app.commands_topic), "%s.commands", o->prefix);
	snprintf(app.audit_topic, sizeof(app.audit_topic), "%s.audit", o->prefix);

	/* fail fast and clearly when the broker is not there */
	if ((rc = ax_kafka_new(
	         &app.admin, RD_KAFKA_PRODUCER, o->brokers, AX_KAFKA_APPLIER, NULL, err)) != AX_OK)
		goto out;
	if ((rc = ax_kafka_probe(app.admin, o->brokers, 10000, &cl, err)) != AX_OK)
		goto out;
	if (o->metrics != NULL) {
		if ((rc = ax_metrics_new(&app.metrics, err)) != AX_OK ||
		    (rc = ax_metrics_serve(app.metrics, o->metrics, err)) != AX_OK)
			goto out;
		ax_log(AX_LOG_INFO, "metrics", "address=%s port=%d path=/metrics", o->metrics,
		    ax_metrics_port(app.metrics));
	}
	if ((rc = ax_codec_new(&app.codec, NULL, err)) != AX_OK)
		goto out;
	if ((rc = ax_tick_new(
	         &app.tick, app.codec, o->brokers, app.control_topic, o->instance, err)) != AX_OK)
		goto out;
	if (o->checkpoint_key != NULL) {
		char id[37], pub[2 * AX_CHECKPOINT_PUB_LEN + 1];

		if ((rc = ax_checkpoint_key_load(&app.ckey, o->checkpoint_key, err)) != AX_OK)
			goto out;
		ax_uuid_format(id, ax_checkpoint_key_id(app.ckey));
		ax_hex_encode(pub, ax_checkpoint_key_public(app.ckey), AX_CHECKPOINT_PUB_LEN);
		ax_log(AX_LOG_INFO, "checkpoint_key", "key_id=%s ed25519_public_key=%s every=%d",
		    id, pub, o->checkpoint_every > 0 ? o->checkpoint_every : AX_CHECKPOINT_EVERY);
	}
	if ((rc = ax_relay_new(&app.relay, app.codec, o->brokers, app.audit_topic, app.ckey,
	         o->checkpoint_every, o->instance, err)) != AX_OK)
		goto out;
	if ((rc = consumer_new(&app, err)) != AX_OK)
		goto out;
	if ((rc = count_partitions(&app, err)) != AX_OK)
		goto out;
	check_topic_configs(&app);
	if (o->until_caught_up &&
	    (rc = ax_pg_connect(&app.pg, o->pg_dsn, "the runtime role", err)) != AX_OK)
		goto out;
	subs = rd_kafka_topic_partition_list_new(2);
	rd_kafka_topic_partition_list_add(subs, app.control_topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_topic_partition_list_add(subs, app.commands_topic, RD_KAFKA_PARTITION_UA);
	if (rd_kafka_subscribe(app.consumer, subs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ax_err_set(err, AX_ERR, "could not subscribe to %s and %s", app.control_topic,
		    app.commands_topic);
		goto out;
	}
	ax_log(AX_LOG_INFO, "started",
	    "instance=%s group=%s brokers=%s topics=%s,%s batch_max=%d batch_ms=%d", o->instance,
	    o->group, o->brokers, app.control_topic, app.commands_topic, o->batch_max, o->batch_ms);

	while (!*stop) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(app.consumer, 50);
		double t;

		if (m != NULL) {
			struct writer *w;

			if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
				/* the consumer is unusable: stop writing at once and exit (code 1)
				 * rather than idle forever */
				char why[512];

				rd_kafka_fatal_error(app.consumer, why, sizeof(why));
				ax_log(AX_LOG_ERROR, "consumer_fatal", "instance=%s error=\"%s\"",
				    o->instance, why);
				rd_kafka_message_destroy(m);
				stop_all_writers(&app, false);
				app.startup_failed = true;
				ax_err_set(
				    &app.startup_err, AX_ERR, "the Kafka consumer failed: %s", why);
			} else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
				ax_log(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? AX_LOG_DEBUG
				                                                  : AX_LOG_WARN,
				    "consumer_error", "error=\"%s\"", rd_kafka_message_errstr(m));
				rd_kafka_message_destroy(m);
			} else if ((w = writer_find(
			                &app, rd_kafka_topic_name(m->rkt), m->partition)) == NULL) {
				ax_log(AX_LOG_WARN, "unassigned_message",
				    "topic=%s partition=%d offset=%lld",
				    rd_kafka_topic_name(m->rkt), (int)m->partition,
				    (long long)m->offset);
				rd_kafka_message_destroy(m);
			} else {
				/* a fresh data command will wait for a control command appended
				 * after it: ask for that tick now rather than when its writer gets
				 * to it. A message that is not LogAppendTime (et -1) asks for
				 * nothing: it carries no event time (ax_batch.h, invariant 6) */
				int64_t et = ax_batch_event_time_us(m);

				if (!w->control && !o->no_ticks && et >= 0 &&
				    et >= atomic_load(&app.wm_us))
					ax_tick_request(app.tick, et + 1);
				ax_pqueue_push(w->q, m, m->len + 128);
				if (!w->paused && ax_pqueue_over_high_mark(w->q))
					set_paused(&app, w, true);
			}
		}
		resume_drained(&app);
		if (app.startup_failed)
			break;
		if (app.recheck_topics) {
			app.recheck_topics = false;
			check_topic_configs(&app);
		}
		t = ax_mono_s();
		if (o->progress_ms > 0)
			report_progress(&app, false);
		update_metrics(&app);
		if (o->until_caught_up && t - last_check >= 0.25) {
			last_check = t;
			if (!caught_up(&app))
				caught_since = 0;
			else if (caught_since == 0)
				caught_since = t;
			else if ((t - caught_since) * 1000 >= o->idle_exit_ms)
				break;
		}
	}
	report_progress(&app, true);
	rd_kafka_consumer_close(app.consumer); /* revokes: the writers stop in the callback */
	stop_all_writers(&app, false);
	if (app.startup_failed) {
		*err = app.startup_err;
		rc = err->code;
	} else if (app.failed_partitions > 0) {
		rc = ax_err_set(err, AX_ERR, "%d partition%s stopped on an error (see the log)",
		    app.failed_partitions, app.failed_partitions == 1 ? "" : "s");
	} else {
		rc = AX_OK;
	}
	ax_log(AX_LOG_INFO, "stopped", "instance=%s failed_partitions=%d", o->instance,
	    app.failed_partitions);
out:
	if (subs != NULL)
		rd_kafka_topic_partition_list_destroy(subs);
	if (app.consumer != NULL)
		rd_kafka_destroy(app.consumer);
	ax_relay_free(app.relay);
	ax_checkpoint_key_free(app.ckey);
	PQfinish(app.pg);
	if (app.admin != NULL)
		rd_kafka_destroy(app.admin);
	ax_tick_free(app.tick);
	ax_codec_free(app.codec);
	ax_metrics_free(app.metrics); /* after the writers, which feed it */
	pthread_cond_destroy(&app.wm_cv);
	pthread_mutex_destroy(&app.wm_mu);
	return rc;
}
