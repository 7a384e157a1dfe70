/*
 * ax_applier.c - the poll loop of `axiom apply`: the consumer, the rebalance callback,
 * backpressure (pause and resume), progress lines, metrics gauges and the topics'
 * configuration checks; see ax_applier.h for the invariants and the writer state machine.
 *
 * Threads: the main thread owns the consumer (poll, rebalance callback, pause/resume,
 * progress, caught-up detection); one writer thread per assigned partition owns that
 * partition's PostgreSQL connection (struct ax_batch_ctx) and its pending messages
 * (ax_applier_writer.c), and one relay thread per partition publishes its ledger on the
 * audit topic (ax_applier_relay.c). What they share is declared in ax_applier_int.h.
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

#include "ax_applier_int.h"
#include "ax_backoff.h"
#include "ax_batch.h"
#include "ax_checkpoint.h"
#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_kafka.h"
#include "ax_log.h"
#include "ax_logend.h"
#include "ax_metrics.h"
#include "ax_pg.h"
#include "ax_pqueue.h"
#include "ax_relay.h"
#include "ax_tick.h"
#include "ax_topics.h"

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
		ax_applier_stop_writers(app, rd_kafka_assignment_lost(rk));
		rd_kafka_assign(rk, NULL);
		return;
	}
	for (i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		struct writer *w = NULL;

		for (attempt = 0; !*app->stop; attempt++) {
			if (ax_applier_writer_start(&w, app, p->topic, p->partition, &err) == AX_OK)
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

/*
 * The log end of w's partition and its lag for a read_committed reader (ax_logend.h: markers
 * and aborted records after the last applied message are no lag); end and lag -1 when the
 * broker did not answer (main thread). While messages wait in w's queue the partition lags
 * anyway: the lag is then counted from the stored next offset, without reading the log.
 * These reads block the poll loop: each is bounded by LOG_END_TIMEOUT_MS, and after one goes
 * unanswered no other is tried for LOG_END_RETRY_S, so a broker that is down costs the poll
 * loop one timeout per LOG_END_RETRY_S, not one per partition per pass.
 */
#define LOG_END_TIMEOUT_MS 1000
#define LOG_END_RETRY_S    3.0
static void
writer_log_end(struct applier *app, struct writer *w, struct ax_logend_state *st)
{
	int64_t next = atomic_load(&w->next_offset);
	struct ax_err err;

	st->low = 0;
	st->end = st->lag = -1;
	if (ax_mono_s() < app->logend_retry_at)
		return;
	if (ax_pqueue_len(w->q) > 0) {
		if (rd_kafka_query_watermark_offsets(app->consumer, w->topic, w->partition,
		        &st->low, &st->end, LOG_END_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
			st->position = next > st->low ? next : st->low;
			st->lag = st->end > st->position ? st->end - st->position : 0;
			return;
		}
	} else if (ax_logend_read(app->logend, w->topic, w->partition, next, LOG_END_TIMEOUT_MS, st,
	               &err) == AX_OK) {
		return;
	}
	st->low = 0;
	st->end = st->lag = -1;
	app->logend_retry_at = ax_mono_s() + LOG_END_RETRY_S;
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
		int64_t next = atomic_load(&w->next_offset), done = atomic_load(&w->relay_done);
		struct ax_logend_state st;

		writer_log_end(app, w, &st);
		if (next < 0)
			next = st.low;
		ax_metrics_partition(app->metrics, w->topic, w->partition, next, st.end, st.lag,
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
		int64_t next = atomic_load(&w->next_offset);
		double dt = t - w->last_report_s;
		struct ax_logend_state st;

		if (!force && dt * 1000 < app->o->progress_ms)
			continue;
		writer_log_end(app, w, &st);
		if (next < 0)
			next = st.low;
		ax_log(AX_LOG_INFO, "progress",
		    "topic=%s partition=%d state=%s next_offset=%lld log_end=%lld lag=%lld "
		    "rate_per_s=%.0f accepted=%llu rejected=%llu quarantined=%llu "
		    "duplicates=%llu%s",
		    w->topic, (int)w->partition,
		    ax_applier_writer_state_names[atomic_load(&w->state)], (long long)next,
		    (long long)st.end, (long long)st.lag,
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
	if ((rc = ax_logend_new(&app.logend, o->brokers, AX_KAFKA_APPLIER, err)) != AX_OK)
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
				ax_applier_stop_writers(&app, false);
				app.startup_failed = true;
				ax_err_set(
				    &app.startup_err, AX_ERR, "the Kafka consumer failed: %s", why);
			} else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
				ax_log(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? AX_LOG_DEBUG
				                                                  : AX_LOG_WARN,
				    "consumer_error", "error=\"%s\"", rd_kafka_message_errstr(m));
				rd_kafka_message_destroy(m);
			} else if ((w = ax_applier_writer_find(
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
			if (!ax_applier_caught_up(&app))
				caught_since = 0;
			else if (caught_since == 0)
				caught_since = t;
			else if ((t - caught_since) * 1000 >= o->idle_exit_ms)
				break;
		}
	}
	report_progress(&app, true);
	rd_kafka_consumer_close(app.consumer); /* revokes: the writers stop in the callback */
	ax_applier_stop_writers(&app, false);
	if (app.startup_failed) {
		*err = app.startup_err;
		rc = err->code;
	} else if (app.failed_partitions > 0) {
		rc = ax_err_set(err, AX_ERR, "%d partition%s stopped on an error (see the log)",
		    app.failed_partitions, app.failed_partitions == 1 ? "" : "s");
		if (app.control_failed)
			ax_err_detail(err,
			    "The control partition is among them: the data commands after the "
			    "control watermark it reached wait for it, so the data partitions "
			    "stopped where they stood (each batch commits whole with its "
			    "offsets: nothing is lost or half applied).");
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
	ax_logend_free(app.logend);
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
