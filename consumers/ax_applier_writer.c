/*
 * ax_applier_writer.c - the writer thread of a partition and its lifecycle: start (connect,
 * claim, load the stored offset, start the relay and writer threads), the batch loop, the
 * wait for the control watermark, and stop; see ax_applier.h for the invariants and the
 * writer state machine (STARTING -> RUNNING -> (STOPPING -> STOPPED) | FAILED).
 *
 * Owns: the writer's ax_batch_ctx (its PostgreSQL connection) and the messages it took from
 * its queue until they are released (applied and committed, or re-deliveries); the control
 * watermark announcements between this instance's control writer and its data writers.
 * Invariants:
 *  (1) a message is destroyed only once its batch committed (res.released), or when the
 *      writer stops with it unapplied (the next owner reads it again from the stored offset);
 *  (2) the relay is told of a commit only after it (ax_applier_relay_notify with the next
 *      offset), and the control watermark is announced before the relay is told;
 *  (3) FAILED is entered only here (writer_fail) and never left.
 * Threads: writer_main and what it calls run on the writer thread; ax_applier_writer_start,
 * ax_applier_writer_find, writer_join, writer_stop and ax_applier_stop_writers on the main
 * thread (the poll loop, the rebalance callback). They share the writer's state, counters
 * and next_offset (atomic) and its queue (ax_pqueue.h); announce_watermark and
 * announced_watermark share wm_us under wm_mu.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_applier_int.h"
#include "ax_backoff.h"
#include "ax_batch.h"
#include "ax_clock.h"
#include "ax_log.h"
#include "ax_metrics.h"
#include "ax_pqueue.h"
#include "ax_relay.h"
#include "ax_tick.h"

/* Memory is bounded whatever the backlog (issue target: 256 MiB with 6 partitions): each
 * writer's hand-over queue pauses its partition past QUEUE_BYTES_MAX (the poll loop pauses
 * it), librdkafka's own prefetch is capped by queued.max.messages.kbytes and fetch.max.bytes
 * (consumer_new in ax_applier.c). */
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

const char *const ax_applier_writer_state_names[] = { "starting", "running", "stopping", "stopped",
	"failed" };

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
				ax_applier_relay_notify(
				    w, ax_batch_next_offset(w->ctx), true, true);
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
			ax_applier_relay_notify(w, ax_batch_next_offset(w->ctx), false, false);
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
		ax_applier_relay_notify(w, ax_batch_next_offset(w->ctx), true, lost);
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

int
ax_applier_writer_start(struct writer **out, struct applier *app, const char *topic,
    int32_t partition, struct ax_err *err)
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
		if (pthread_create(&w->relay_thread, NULL, ax_applier_relay_main, w) != 0) {
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
		ax_applier_relay_notify(w, ax_batch_next_offset(w->ctx), true, lost);
}

/* Stop a writer (revocation, shutdown) and free it once its relay's last round is done. */
static void
writer_stop(struct writer *w, bool lost)
{
	writer_join(w, lost);
	ax_log(AX_LOG_INFO, "writer_stopped",
	    "topic=%s partition=%d state=%s next_offset=%lld accepted=%llu rejected=%llu "
	    "quarantined=%llu duplicates=%llu",
	    w->topic, (int)w->partition, ax_applier_writer_state_names[atomic_load(&w->state)],
	    (long long)atomic_load(&w->next_offset), (unsigned long long)atomic_load(&w->accepted),
	    (unsigned long long)atomic_load(&w->rejected),
	    (unsigned long long)atomic_load(&w->quarantined),
	    (unsigned long long)atomic_load(&w->duplicates));
	writer_free(w, lost);
}

struct writer *
ax_applier_writer_find(struct applier *app, const char *topic, int32_t partition)
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
void
ax_applier_stop_writers(struct applier *app, bool lost)
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
		if (atomic_load(&app->w[i]->state) == W_FAILED) {
			app->failed_partitions++;
			app->control_failed |= app->w[i]->control;
		}
		writer_stop(app->w[i], lost);
	}
	app->nw = 0;
}
