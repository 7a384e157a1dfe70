/*
 * ax_applier_relay.c - the relay thread of a partition: it publishes the ledger entries its
 * writer committed on the audit topic (ax_relay.h does the publishing), off the apply path,
 * so that a Kafka transaction per publish never holds up the next batch.
 *
 * Owns: ax_applier_relay_main (the thread), relay_once (one publish, with the connection
 * and the cursor it makes on first use and after a failure), ax_applier_relay_notify (the
 * writer's side).
 * Invariants:
 *  (1) the relay publishes only entries below relay_until, i.e. committed ones (ax_applier.h
 *      invariant 3); each at most once and in order (ax_relay.h);
 *  (2) a fenced relay (the writer was fenced, or the partition lost) publishes no more: the
 *      partition's new owner publishes from where the audit topic stopped (ax_relay.h (4));
 *  (3) when its writer stops, the relay publishes once more and ends; a failure is retried
 *      every second while the writer runs, and left to the next owner once it stopped.
 * Threads: ax_applier_relay_notify is called by the writer thread and by the main thread
 * (writer_join, writer_free); everything else runs on the relay thread. relay_until,
 * relay_stop and relay_fenced are guarded by relay_mu; relay_conn, cursor and
 * relay_failures belong to the relay thread; relay_done is atomic (read by the main
 * thread's metrics).
 */
#include <stdio.h>
#include <stdlib.h>

#include "ax_applier_int.h"
#include "ax_clock.h"
#include "ax_log.h"
#include "ax_relay.h"

/* The relay publishes at most this often per partition (one Kafka transaction each). */
#define RELAY_LINGER_MS 100

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
 * The relay thread of w: publishes what the writer committed (ax_applier_relay_notify),
 * retrying a failure every second; when the writer stops, publishes once more and ends,
 * unless the writer was fenced (the partition's new owner publishes from there, ax_relay.h (4)).
 * AXIOM_TEST_RELAY_DELAY_MS (tests only) delays every publish by that long, so that a test
 * can kill an applier between a commit and its relay (tests/integration/0512).
 */
void *
ax_applier_relay_main(void *arg)
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
void
ax_applier_relay_notify(struct writer *w, int64_t until, bool stop, bool fenced)
{
	pthread_mutex_lock(&w->relay_mu);
	w->relay_until = until;
	w->relay_stop = w->relay_stop || stop;
	w->relay_fenced = w->relay_fenced || fenced;
	pthread_cond_signal(&w->relay_cv);
	pthread_mutex_unlock(&w->relay_mu);
}
