/*
 * ax_replay.c - `axiom replay`; see ax_replay.h for the invariants and the states.
 *
 * Threads: the calling thread checks the target, starts the applier in a second thread, then
 * polls the target's stored offsets (its own auditor connection) and the broker's log ends
 * (its own Kafka handle) to draw progress, until the applier returns. The two threads share
 * only the stop flag handed to the applier and the applier's result, read after the join.
 */
#include "ax_replay.h"

#include <librdkafka/rdkafka.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ax_applier.h"
#include "ax_clock.h"
#include "ax_hex.h"
#include "ax_kafka.h"
#include "ax_log.h"
#include "ax_logend.h"
#include "ax_pg.h"
#include "ax_topics.h"

/* User plus system CPU seconds of this process so far. */
static double
cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* This process's peak resident memory in KiB. */
static long
peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

void
ax_replay_defaults(struct ax_replay_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->prefix = "axiom";
	o->batch_max = 200;
	o->batch_ms = 0;
	o->stall_s = 60;
	o->progress = 0;
}

void
ax_replay_report_free(struct ax_replay_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->parts);
	rep->parts = NULL;
	rep->nparts = 0;
}

/* Invariant 1: the target is migrated (it has the digest function) and holds no outcome. */
static int
check_target(PGconn *conn, struct ax_err *err)
{
	char v[16];
	int rc;

	if ((rc = ax_pg_query_value(conn,
	         "SELECT to_regprocedure('axiom_api.table_digests()') IS NOT NULL "
	         "AND to_regclass('axiom.ledger') IS NOT NULL",
	         v, sizeof(v), err)) != AX_OK)
		return rc;
	if (strcmp(v, "t") != 0) {
		ax_err_set(err, AX_EINVAL, "the target database is not migrated");
		ax_err_detail(err, "axiom.ledger or axiom_api.table_digests() does not exist.");
		ax_err_hint(
		    err, "Create an empty database and run \"axiom migrate --dsn ...\" on it.");
		return AX_EINVAL;
	}
	if ((rc = ax_pg_query_value(conn,
	         "SELECT (SELECT count(*) FROM (SELECT 1 FROM axiom.ledger LIMIT 1) l) + "
	         "(SELECT count(*) FROM (SELECT 1 FROM axiom.partition_offsets LIMIT 1) p)",
	         v, sizeof(v), err)) != AX_OK)
		return rc;
	if (strcmp(v, "0") != 0) {
		ax_err_set(err, AX_ECONFLICT, "the target database is not empty");
		ax_err_detail(err, "It already holds ledger entries or stored offsets; a replay "
		                   "rebuilds an empty database and never merges into one.");
		ax_err_hint(err, "Create a new database, run \"axiom migrate\" on it and replay "
		                 "into that one.");
		return AX_ECONFLICT;
	}
	return AX_OK;
}

/* The partitions of the control and command topics, with their first offsets (invariant 3). */
static int
list_partitions(
    struct ax_replay_report *rep, rd_kafka_t *rk, const char *prefix, struct ax_err *err)
{
	const char *const suffix[2] = { "control", "commands" };
	struct ax_topic_state st;
	char topic[AX_TOPIC_NAME_MAX];
	size_t k;
	int rc, p;

	for (k = 0; k < 2; k++) {
		snprintf(topic, sizeof(topic), "%s.%s", prefix, suffix[k]);
		if ((rc = ax_kafka_describe_topic(rk, topic, 10000, &st, err)) != AX_OK)
			return rc;
		if (!st.exists || st.partitions < 1) {
			ax_err_set(err, AX_EINVAL, "topic \"%s\" does not exist", topic);
			ax_err_hint(err, "Check --prefix and --brokers.");
			return AX_EINVAL;
		}
		for (p = 0; p < st.partitions; p++) {
			struct ax_replay_partition *x, *parts;
			rd_kafka_resp_err_t e;

			parts = realloc(rep->parts, (rep->nparts + 1) * sizeof(*parts));
			if (parts == NULL)
				return ax_err_set(err, AX_ERR, "out of memory");
			rep->parts = parts;
			x = &rep->parts[rep->nparts++];
			memset(x, 0, sizeof(*x));
			snprintf(x->topic, sizeof(x->topic), "%s", topic);
			x->partition = p;
			e = rd_kafka_query_watermark_offsets(
			    rk, topic, p, &x->low, &x->high, 10000);
			if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
				return ax_kafka_err(err, e, "could not read the log end offsets");
			if (x->low > 0) {
				ax_err_set(err, AX_EINVAL,
				    "the log of %s/%d starts at offset %lld, not 0", topic, p,
				    (long long)x->low);
				ax_err_detail(err,
				    "Records were deleted (retention or compaction); "
				    "a replay cannot rebuild what is not in the log.");
				ax_err_hint(err, "Command topics must keep their records forever "
				                 "(retention.ms=-1); see \"axiom doctor\".");
				return AX_EINVAL;
			}
			x->next = x->low;
		}
	}
	return AX_OK;
}

/*
 * Re-read the log ends (they grow while upstream publishes) and where a read_committed
 * reader at each stored next offset stands (invariant 3); errors keep the old values.
 */
static void
refresh_log_ends(struct ax_replay_report *rep, struct ax_logend *le)
{
	size_t i;

	for (i = 0; i < rep->nparts; i++) {
		struct ax_replay_partition *x = &rep->parts[i];
		struct ax_logend_state st;
		struct ax_err err;

		if (ax_logend_read(le, x->topic, x->partition, x->next, 5000, &st, &err) == AX_OK) {
			x->high = st.end;
			x->position = st.position;
		}
	}
}

/* Where x's reader stands: its stored next offset, or past the markers and aborted records
 * that follow it (a position read for an earlier next offset is below a later one). */
static int64_t
passed(const struct ax_replay_partition *x)
{
	int64_t at = x->next > x->position ? x->next : x->position;

	return at < x->high ? at : x->high;
}

/* Read the target's stored next offsets into rep (invariant 4); sums them in rep->applied. */
static int
read_offsets(struct ax_replay_report *rep, PGconn *conn, struct ax_err *err)
{
	PGresult *res = PQexec(conn, "SELECT topic, kafka_partition, next_offset "
	                             "FROM axiom.partition_offsets");
	size_t i;
	int r, rc = AX_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "could not read the target's stored offsets");
		goto out;
	}
	for (r = 0; r < PQntuples(res); r++)
		for (i = 0; i < rep->nparts; i++)
			if (strcmp(rep->parts[i].topic, PQgetvalue(res, r, 0)) == 0 &&
			    rep->parts[i].partition ==
			        (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10))
				rep->parts[i].next = strtoll(PQgetvalue(res, r, 2), NULL, 10);
	rep->applied = rep->total = 0;
	for (i = 0; i < rep->nparts; i++) {
		struct ax_replay_partition *x = &rep->parts[i];

		rep->total += (uint64_t)(x->high - x->low);
		rep->applied += (uint64_t)(passed(x) - x->low);
	}
out:
	PQclear(res);
	return rc;
}

/* Count the outcomes per partition and decision from the target's ledger. */
static int
read_outcomes(struct ax_replay_report *rep, PGconn *conn, struct ax_err *err)
{
	PGresult *res = PQexec(conn, "SELECT topic, kafka_partition, decision, count(*) "
	                             "FROM axiom.ledger GROUP BY 1, 2, 3");
	size_t i;
	int r, rc = AX_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "could not count the target's outcomes");
		goto out;
	}
	rep->accepted = rep->rejected = rep->quarantined = 0;
	for (r = 0; r < PQntuples(res); r++) {
		const char *d = PQgetvalue(res, r, 2);
		uint64_t c = strtoull(PQgetvalue(res, r, 3), NULL, 10);

		for (i = 0; i < rep->nparts; i++) {
			struct ax_replay_partition *x = &rep->parts[i];

			if (strcmp(x->topic, PQgetvalue(res, r, 0)) != 0 ||
			    x->partition != (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10))
				continue;
			if (strcmp(d, "accepted") == 0)
				x->accepted += c;
			else if (strcmp(d, "quarantined") == 0)
				x->quarantined += c;
			else
				x->rejected += c;
		}
		if (strcmp(d, "accepted") == 0)
			rep->accepted += c;
		else if (strcmp(d, "quarantined") == 0)
			rep->quarantined += c;
		else
			rep->rejected += c;
	}
out:
	PQclear(res);
	return rc;
}

/* Format s seconds as M:SS or H:MM:SS into buf ("--:--" when unknown). */
static void
format_duration(char *buf, size_t cap, double s)
{
	long t = s < 0 || s > 359999 ? -1 : (long)(s + 0.5);

	if (t < 0)
		snprintf(buf, cap, "--:--");
	else if (t >= 3600)
		snprintf(
		    buf, cap, "%d:%02d:%02d", (int)(t / 3600), (int)(t / 60 % 60), (int)(t % 60));
	else
		snprintf(buf, cap, "%d:%02d", (int)(t / 60), (int)(t % 60));
}

/* One progress line: bar, percent of all log messages, rate, ETA. */
static void
draw_progress(int mode, const struct ax_replay_report *rep, double elapsed, double rate)
{
	double frac = rep->total > 0 ? (double)rep->applied / (double)rep->total : 1.0;
	char bar[31], eta[32];
	int i, fill = (int)(frac * 30);

	for (i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	format_duration(
	    eta, sizeof(eta), rate > 0 ? (double)(rep->total - rep->applied) / rate : -1);
	fprintf(stderr,
	    "%sreplay [%s] %5.1f%%  %llu/%llu messages  %.0f/s  elapsed %.1f s  ETA %s%s",
	    mode == 1 ? "\r" : "", bar, frac * 100, (unsigned long long)rep->applied,
	    (unsigned long long)rep->total, rate, elapsed, eta, mode == 1 ? "\033[K" : "\n");
	fflush(stderr);
}

struct applier_thread {
	struct ax_applier_opts ao;
	volatile sig_atomic_t stop;
	int rc;
	struct ax_err err;
	_Atomic int done;
};

/* The applier thread: runs ax_applier_run until caught up or stopped, then marks done. */
static void *
applier_main(void *arg)
{
	struct applier_thread *t = arg;

	t->rc = ax_applier_run(&t->ao, &t->stop, &t->err);
	atomic_store(&t->done, 1);
	return NULL;
}

int
ax_replay_run(const struct ax_replay_opts *o, volatile sig_atomic_t *stop,
    struct ax_replay_report *rep, struct ax_err *err)
{
	struct applier_thread *t = NULL;
	pthread_t thread;
	PGconn *conn = NULL;
	rd_kafka_t *rk = NULL;
	struct ax_logend *le = NULL;
	uint8_t rnd[6];
	char rnd_hex[2 * sizeof(rnd) + 1];
	char group[96];
	double t0, cpu0, last_change, last_draw = 0, last_ends, rate = 0, first_change = 0;
	uint64_t last_applied = 0;
	bool started = false, stalled = false;
	const struct ax_replay_partition *behind = NULL; /* the first not at its end */
	size_t i;
	int rc;

	memset(rep, 0, sizeof(*rep));
	/* CHECKING */
	if ((rc = ax_pg_connect(&conn, o->auditor_dsn, "the auditor (target)", err)) != AX_OK)
		goto out;
	if ((rc = check_target(conn, err)) != AX_OK)
		goto out;
	if ((rc = ax_kafka_new(&rk, RD_KAFKA_PRODUCER, o->brokers, AX_KAFKA_APPLIER, NULL, err)) !=
	    AX_OK)
		goto out;
	if ((rc = list_partitions(rep, rk, o->prefix, err)) != AX_OK)
		goto out;
	if ((rc = ax_logend_new(&le, o->brokers, AX_KAFKA_APPLIER, err)) != AX_OK)
		goto out;
	if (o->group != NULL) {
		snprintf(group, sizeof(group), "%s", o->group);
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			rc = ax_err_set(err, AX_ERR, "could not draw a random consumer group name");
			goto out;
		}
		ax_hex_encode(rnd_hex, rnd, sizeof(rnd));
		snprintf(group, sizeof(group), "axiom-replay-%s", rnd_hex);
	}
	snprintf(rep->group, sizeof(rep->group), "%s", group);

	/* APPLYING: the applier in its own thread, exactly as `axiom apply -u` runs it */
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	ax_applier_defaults(&t->ao);
	t->ao.brokers = o->brokers;
	t->ao.pg_dsn = o->pg_dsn;
	t->ao.prefix = o->prefix;
	t->ao.group = rep->group;
	t->ao.instance = o->instance ? o->instance : "axiom-replay";
	t->ao.batch_max = o->batch_max;
	t->ao.batch_ms = o->batch_ms;
	t->ao.progress_ms = 0;
	t->ao.until_caught_up = true;
	t->ao.idle_exit_ms = 500;
	t->ao.no_ticks = true; /* invariant 2 */
	t->ao.no_relay = true; /* invariant 2 */
	t->ao.checkpoint_key = o->checkpoint_key;
	if (o->checkpoint_every > 0)
		t->ao.checkpoint_every = o->checkpoint_every;
	atomic_init(&t->done, 0);
	t0 = ax_mono_s();
	cpu0 = cpu_s();
	if (pthread_create(&thread, NULL, applier_main, t) != 0) {
		rc = ax_err_set(err, AX_ERR, "could not start the applier thread");
		goto out;
	}
	started = true;
	last_change = last_ends = t0;
	while (!atomic_load(&t->done)) {
		double now;

		ax_sleep_s(0.2);
		now = ax_mono_s();
		if (*stop)
			t->stop = 1;
		if (now - last_ends >= 2.0) {
			refresh_log_ends(rep, le);
			last_ends = now;
		}
		if (read_offsets(rep, conn, err) != AX_OK) {
			/* a transient error of the observer is not the replay's: retry */
			if (PQstatus(conn) != CONNECTION_OK)
				PQreset(conn);
			continue;
		}
		if (rep->applied != last_applied) {
			double dt = now - last_change;

			if (first_change == 0)
				first_change = now;
			if (dt > 0 && last_applied > 0)
				rate = rate == 0
				           ? (double)(rep->applied - last_applied) / dt
				           : 0.7 * rate +
				                 0.3 * (double)(rep->applied - last_applied) / dt;
			last_applied = rep->applied;
			last_change = now;
		} else if (rep->applied < rep->total && now - last_change >= o->stall_s &&
		           !stalled) {
			stalled = true;
			t->stop = 1;
		}
		if (o->progress == 1 && now - last_draw >= 0.2) {
			draw_progress(1, rep, now - t0, rate);
			last_draw = now;
		} else if (o->progress == 2 && now - last_draw >= 2.0) {
			draw_progress(2, rep, now - t0, rate);
			last_draw = now;
		}
	}
	rep->seconds = ax_mono_s() - t0;
	/* progress is sampled every 200 ms: the first sample already holds some work */
	rep->active_seconds = first_change > 0 ? last_change - first_change + 0.2 : 0;
	pthread_join(thread, NULL);
	started = false;
	rep->cpu_s = cpu_s() - cpu0;
	rep->peak_rss_kib = peak_rss_kib();

	/* REPORTING: the final next offsets, where a reader at them stands, then the sums */
	if ((rc = read_offsets(rep, conn, err)) != AX_OK)
		goto out;
	refresh_log_ends(rep, le);
	if ((rc = read_offsets(rep, conn, err)) != AX_OK)
		goto out;
	if ((rc = read_outcomes(rep, conn, err)) != AX_OK)
		goto out;
	if (o->progress != 0)
		draw_progress(o->progress, rep, rep->seconds,
		    rep->seconds > 0 ? (double)rep->applied / rep->seconds : 0);
	if (o->progress == 1)
		fputc('\n', stderr);
	rep->complete = true;
	for (i = 0; i < rep->nparts; i++)
		if (passed(&rep->parts[i]) < rep->parts[i].high) {
			if (rep->complete)
				behind = &rep->parts[i];
			rep->complete = false;
		}
	if (t->rc != AX_OK) {
		*err = t->err;
		rc = t->rc;
	} else if (stalled) {
		rc = ax_err_set(
		    err, AX_ERR, "the replay stalled: nothing was applied for %d s", o->stall_s);
		ax_err_detail(err,
		    "Passed %llu of %llu log offsets; %s/%d stands at offset %lld of %lld.%s",
		    (unsigned long long)rep->applied, (unsigned long long)rep->total,
		    behind ? behind->topic : "?", behind ? (int)behind->partition : -1,
		    behind ? (long long)passed(behind) : -1LL,
		    behind ? (long long)behind->high : -1LL,
		    behind != NULL && behind != &rep->parts[0] &&
		            passed(&rep->parts[0]) >= rep->parts[0].high
		        ? " The control partition is at its end, so that data partition waits for "
		          "the control watermark beyond it: the live applier has not decided those "
		          "commands either."
		        : "");
		ax_err_hint(err, "Let the live applier catch up (it produces the ticks), then "
		                 "replay again into a new database.");
	} else if (!rep->complete) {
		rc = ax_err_set(err, AX_ERR, "the replay stopped before the log end");
		ax_err_detail(err,
		    "Passed %llu of %llu log offsets; %s/%d stands at offset %lld of %lld.",
		    (unsigned long long)rep->applied, (unsigned long long)rep->total, behind->topic,
		    (int)behind->partition, (long long)passed(behind), (long long)behind->high);
	} else {
		rc = AX_OK;
	}
out:
	if (started) /* only when the loop above was left early: never, kept for safety */
		pthread_join(thread, NULL);
	ax_logend_free(le);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	PQfinish(conn);
	free(t);
	return rc;
}

void
ax_replay_report_print(FILE *fp, const struct ax_replay_report *rep)
{
	char dur[32];
	size_t i;

	fprintf(fp, "%-32s %10s %10s %10s %11s\n", "partition", "commands", "accepted", "rejected",
	    "quarantined");
	for (i = 0; i < rep->nparts; i++) {
		const struct ax_replay_partition *x = &rep->parts[i];
		char name[240];

		snprintf(name, sizeof(name), "%s/%d", x->topic, (int)x->partition);
		fprintf(fp, "%-32s %10lld %10llu %10llu %11llu\n", name,
		    (long long)(x->next - x->low), (unsigned long long)x->accepted,
		    (unsigned long long)x->rejected, (unsigned long long)x->quarantined);
	}
	fprintf(fp, "%-32s %10llu %10llu %10llu %11llu\n", "total",
	    (unsigned long long)rep->applied, (unsigned long long)rep->accepted,
	    (unsigned long long)rep->rejected, (unsigned long long)rep->quarantined);
	format_duration(dur, sizeof(dur), rep->seconds);
	fprintf(fp,
	    "duration %.2f s (%s; applying %.2f s), %.0f commands/s, CPU %.2f s (%.3f s per 1,000 "
	    "commands), "
	    "peak RSS %.1f MiB, consumer group %s, %s\n",
	    rep->seconds, dur, rep->active_seconds,
	    rep->active_seconds > 0 ? (double)rep->applied / rep->active_seconds : 0.0, rep->cpu_s,
	    rep->applied > 0 ? rep->cpu_s * 1000.0 / (double)rep->applied : 0.0,
	    (double)rep->peak_rss_kib / 1024.0, rep->group,
	    rep->complete ? "complete (every partition at its log end)" : "INCOMPLETE");
}

int
ax_digests_fetch(
    struct ax_digest **out, size_t *n, PGconn *conn, const char *who, struct ax_err *err)
{
	PGresult *res = PQexec(conn, "SELECT table_name, coalesce(row_count, -1), "
	                             "coalesce(encode(digest, 'hex'), ''), status = 'covered' "
	                             "FROM axiom_api.table_digests()");
	struct ax_digest *d = NULL;
	int r, rc = AX_OK;
	char what[128];

	*out = NULL;
	*n = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(what, sizeof(what), "could not compute the table digests of %s", who);
		rc = ax_pg_err(err, conn, res, what);
		if (strcmp(err->sqlstate, "42883") == 0)
			ax_err_hint(err, "Migrate that database with \"axiom migrate\".");
		goto out;
	}
	if ((d = calloc((size_t)PQntuples(res) + 1, sizeof(*d))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	for (r = 0; r < PQntuples(res); r++) {
		snprintf(d[r].table, sizeof(d[r].table), "%s", PQgetvalue(res, r, 0));
		d[r].rows = strtoll(PQgetvalue(res, r, 1), NULL, 10);
		snprintf(d[r].hex, sizeof(d[r].hex), "%s", PQgetvalue(res, r, 2));
		d[r].covered = strcmp(PQgetvalue(res, r, 3), "t") == 0;
	}
	*out = d;
	*n = (size_t)PQntuples(res);
	d = NULL;
out:
	free(d);
	PQclear(res);
	return rc;
}

/* The digest of table in d[0..n), or NULL. */
static const struct ax_digest *
digest_find(const struct ax_digest *d, size_t n, const char *table)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(d[i].table, table) == 0)
			return &d[i];
	return NULL;
}

/* Print the verdict of one table (x rebuilt, y live; either may be NULL) and count it when not
 * equal. */
static void
compare_one(
    FILE *fp, const char *table, const struct ax_digest *x, const struct ax_digest *y, size_t *bad)
{
	const char *verdict;

	if (x == NULL || y == NULL)
		verdict =
		    x == NULL ? "MISSING in the rebuilt database" : "MISSING in the live database";
	else if (!x->covered || !y->covered)
		verdict = "NOT COVERED by axiom_api.table_digests()";
	else if (strcmp(x->hex, y->hex) == 0)
		verdict = "equal";
	else
		verdict = "DIFFERENT";
	if (strcmp(verdict, "equal") != 0)
		(*bad)++;
	fprintf(fp, "%-24s %12lld %12lld  %-10.16s  %s\n", table, x ? x->rows : -1LL,
	    y ? y->rows : -1LL, x && x->covered ? x->hex : "-", verdict);
}

size_t
ax_digests_compare(
    FILE *fp, const struct ax_digest *a, size_t na, const struct ax_digest *b, size_t nb)
{
	size_t i, bad = 0;

	fprintf(fp, "%-24s %12s %12s  %-16s  %s\n", "table", "rows rebuilt", "rows live",
	    "digest (rebuilt)", "result");
	for (i = 0; i < na; i++)
		compare_one(fp, a[i].table, &a[i], digest_find(b, nb, a[i].table), &bad);
	for (i = 0; i < nb; i++)
		if (digest_find(a, na, b[i].table) == NULL)
			compare_one(fp, b[i].table, NULL, &b[i], &bad);
	return bad;
}
