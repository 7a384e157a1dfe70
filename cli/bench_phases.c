/*
 * bench_phases.c - the measuring phases of `axiom bench` after SETUP, each a function of the
 * run's context (bench_int.h), in the order bench_run calls them: CONTROL, THROUGHPUT,
 * LATENCY, (CEILING: bench_ceiling.c), REPLAY, VERIFY, SCALE, SIGNATURES. Each fills its part
 * of the result and says one or two progress lines; none judges a figure (bench.h,
 * invariant 4). Every phase that applies commands measures the applier's CPU and the
 * PostgreSQL server's over the phase (struct bench_cpu).
 *
 * Threads: the caller's. The phases share the listener (its phase says to which phase a
 * commit counts: 0 warm-up, 1 throughput, 2 latency) and the children they spawn are reaped
 * before the phase returns, whatever happened.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_clock.h"
#include "ax_hex.h"
#include "ax_log.h"
#include "ax_pg.h"
#include "ax_replay.h"
#include "ax_sigbench.h"
#include "ax_verify.h"
#include "bench_int.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* The PostgreSQL server's CPU seconds so far (-1: not a local server). */
static double
pg_cpu_now(const struct bench_ctx *c)
{
	return c->pm > 0 ? bench_pg_cpu_s(c->pm) : -1;
}

/* Close the server's side of cpu opened at pg0 (the postmaster first reaps what exited). */
static void
pg_cpu_close(const struct bench_ctx *c, struct bench_cpu *cpu, double pg0)
{
	ax_sleep_s(0.3);
	if (pg0 >= 0)
		cpu->pg_s = pg_cpu_now(c) - pg0;
}

/* The commands committed on the command topic so far (the sum of its stored next offsets). */
static int
committed_offsets(struct bench_ctx *c, long *out, struct ax_err *err)
{
	const char *params[1] = { c->pb.commands };
	PGresult *res = PQexecParams(c->admin_bench,
	    "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = $1", 1,
	    NULL, params, NULL, NULL, 0);
	int rc = AX_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = ax_pg_err(err, c->admin_bench, res, "could not read the stored offsets");
	else
		*out = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* The command topic's ledger entries by decision (the rejections by reason into r when it is
 * not NULL), and the stored signatures. */
struct outcomes {
	long accepted, rejected, quarantined, signatures;
};

/* Read the outcomes of the command topic so far from the ledger (as the admin). */
static int
read_outcomes(struct bench_ctx *c, struct outcomes *out, struct bench_result *r, struct ax_err *err)
{
	const char *params[1] = { c->pb.commands };
	PGresult *res;
	int rc = AX_OK, i;

	memset(out, 0, sizeof(*out));
	res = PQexecParams(c->admin_bench,
	    "SELECT decision, coalesce(reason_code, ''), count(*), "
	    "(SELECT count(*) FROM axiom.signatures) FROM axiom.ledger WHERE topic = $1 "
	    "GROUP BY 1, 2 ORDER BY 1, 3 DESC",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, c->admin_bench, res, "could not count the outcomes");
		PQclear(res);
		return rc;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *d = PQgetvalue(res, i, 0);
		long n = strtol(PQgetvalue(res, i, 2), NULL, 10);

		out->signatures = strtol(PQgetvalue(res, i, 3), NULL, 10);
		if (strcmp(d, "accepted") == 0)
			out->accepted += n;
		else if (strcmp(d, "quarantined") == 0)
			out->quarantined += n;
		else {
			out->rejected += n;
			if (r != NULL &&
			    r->nreasons < (int)(sizeof(r->reasons) / sizeof(r->reasons[0]))) {
				snprintf(r->reasons[r->nreasons].code, sizeof(r->reasons[0].code),
				    "%s", PQgetvalue(res, i, 1));
				r->reasons[r->nreasons++].n = n;
			}
		}
	}
	PQclear(res);
	return AX_OK;
}

/*
 * `axiom apply --until-caught-up` as a child (instance instance), reaped while its commits
 * are sampled: from base committed commands up to base + want. *first and *last as
 * bench_reap_sampling; the applier's CPU and the server's into cpu. lis: the timeline, or NULL.
 */
static int
apply_backlog(struct bench_ctx *c, const char *instance, const char *log_name, long base, long want,
    double *first, double *last, struct bench_cpu *cpu, struct rusage *ru,
    struct bench_listener *lis, struct ax_err *err)
{
	char path_err[256];
	char *const argv[] = { (char *)c->o->self, "apply", "--until-caught-up", "--prefix",
		c->prefix, "--group", c->group, "--instance", (char *)instance, "--dsn", c->user_db,
		"--brokers", (char *)c->cfg->brokers, "--batch", c->batch, "--batch-ms",
		c->batch_ms, "--progress", "0", NULL };
	int phase = atomic_exchange(&c->lis.phase, BENCH_IDLE);
	double pg0;
	pid_t pid;
	int rc, code;

	snprintf(path_err, sizeof(path_err), "%s/%s", c->workdir, log_name);
	/* the commit listener records nothing while a backlog is applied (that timeline samples
	 * the stored offsets) and reads past the backlog's entries before it records again */
	pg0 = pg_cpu_now(c);
	if ((rc = bench_spawn(&pid, argv, NULL, path_err, err)) != AX_OK) {
		atomic_store(&c->lis.phase, phase);
		return rc;
	}
	bench_reap_sampling(
	    pid, &code, ru, c->admin_bench, c->pb.commands, base, want, first, last, lis);
	pg_cpu_close(c, cpu, pg0);
	cpu->applier_s = bench_ru_cpu(ru);
	cpu->commands = want;
	if (!bench_listener_sync(&c->lis, 60))
		return ax_err_set(err, AX_ERR, "the commit listener stopped reading the ledger");
	atomic_store(&c->lis.phase, phase);
	if (code != 0) {
		rc = ax_err_set(err, AX_ERR, "the applier exited with code %d", code);
		ax_err_detail(err, "See %s.", path_err);
		return rc;
	}
	if (*last < 0)
		return ax_err_set(err, AX_ERR,
		    "the applier stopped before all %ld commands were committed", want);
	return AX_OK;
}

/*
 * The signable records (the realistic mix signs their version 1): published, applied, and
 * their record hashes read back into the generator, which may then make Sign commands.
 */
static int
seed_signable(struct bench_ctx *c, struct ax_err *err)
{
	struct bench_gen *g = &c->g;
	struct bench_cpu cpu;
	struct rusage ru;
	char line[LINE_MAX_BYTES], id[37];
	double first, last;
	int i, rc;

	for (i = 0; i < g->nsignable; i++)
		if ((rc = bench_publish_line(
		         &c->pb, bench_gen_signable(g, i, line, sizeof(line)), err)) != AX_OK)
			return rc;
	if ((rc = bench_publish_wait(&c->pb, err)) != AX_OK)
		return rc;
	bench_say(c->log, "control: %d signable records published; applying them", g->nsignable);
	memset(&cpu, 0, sizeof(cpu));
	if ((rc = apply_backlog(c, "bench-seed", "apply-seed.log", 0, g->nsignable, &first, &last,
	         &cpu, &ru, NULL, err)) != AX_OK)
		return rc;
	for (i = 0; i < g->nsignable; i++) {
		const char *params[1] = { id };
		PGresult *res;
		size_t len = 0;

		bench_gen_signable_id(id, i);
		res = PQexecParams(c->admin_bench,
		    "SELECT encode(record_hash, 'hex') FROM axiom.records WHERE id = $1 AND "
		    "version = 1",
		    1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
		    ax_hex_decode_upto(
		        g->signable_hash[i], AX_HASH_LEN, &len, PQgetvalue(res, 0, 0)) != 0 ||
		    len != AX_HASH_LEN) {
			rc = ax_err_set(err, AX_ERR, "signable record %s was not applied", id);
			ax_err_detail(err, "See %s/apply-seed.log.", c->workdir);
			PQclear(res);
			return rc;
		}
		PQclear(res);
	}
	g->signable_ready = true;
	return AX_OK;
}

/* ---- CONTROL ------------------------------------------------------------------------------ */

/* Scopes, types and people, then grants (a later event time). */
int
bench_seed_control(struct bench_ctx *c, struct ax_err *err)
{
	char line[LINE_MAX_BYTES];
	int i, k, rc;

	c->r->t0_us = (double)ax_wall_us();
	for (k = 1; k <= 2; k++) {
		for (i = 0; bench_gen_control(&c->g, k, i, line, sizeof(line)) != NULL; i++)
			if ((rc = bench_publish_line(&c->pb, line, err)) != AX_OK)
				return rc;
		if ((rc = bench_publish_wait(&c->pb, err)) != AX_OK)
			return rc;
		ax_sleep_s(0.02);
	}
	return c->g.nsignable > 0 ? seed_signable(c, err) : AX_OK;
}

/* ---- THROUGHPUT --------------------------------------------------------------------------- */

/* The backlog first, then `axiom apply --until-caught-up` until it has applied all of it;
 * then the outcomes from the ledger. */
int
bench_throughput(struct bench_ctx *c, struct ax_err *err)
{
	const struct bench_opts *o = c->o;
	struct bench_result *r = c->r;
	struct outcomes before, after;
	double t, tpub, tfirst = -1, tlast = -1;
	long i, base = 0, signs = c->g.signs, refusals = c->g.refusals;
	struct rusage ru;
	int rc;

	if ((rc = committed_offsets(c, &base, err)) != AX_OK ||
	    (rc = read_outcomes(c, &before, NULL, err)) != AX_OK)
		return rc;
	atomic_store(&c->lis.phase, 1);
	tpub = ax_mono_s();
	for (i = 0; i < o->commands; i++)
		if ((rc = bench_publish_data(&c->g, &c->pb, err)) != AX_OK)
			return rc;
	if ((rc = bench_publish_wait(&c->pb, err)) != AX_OK)
		return rc;
	r->publish_rate = (double)o->commands / (ax_mono_s() - tpub);
	r->mix_signs = c->g.signs - signs;
	r->mix_refusals = c->g.refusals - refusals;
	bench_say(c->log,
	    "throughput: %ld data commands published (%.0f/s; %ld signatures, %ld to be "
	    "refused); applying with %d partitions",
	    o->commands, r->publish_rate, r->mix_signs, r->mix_refusals, o->partitions);
	t = ax_mono_s();
	if ((rc = apply_backlog(c, "bench-apply", "apply-throughput.log", base, o->commands,
	         &tfirst, &tlast, &r->cpu_throughput, &ru, &c->lis, err)) != AX_OK)
		return rc;
	r->apply_seconds = ax_mono_s() - t;
	r->applier_cpu_s = r->cpu_throughput.applier_s;
	r->pg_cpu_s = r->cpu_throughput.pg_s;
	r->applier_rss_kib = ru.ru_maxrss;
	r->applied = o->commands;
	r->apply_rate = tlast > tfirst ? (double)o->commands / (tlast - tfirst)
	                               : (double)o->commands / r->apply_seconds;
	if ((rc = read_outcomes(c, &after, r, err)) != AX_OK)
		return rc;
	r->accepted = after.accepted - before.accepted;
	r->rejected = after.rejected - before.rejected;
	r->quarantined = after.quarantined - before.quarantined;
	r->signatures_stored = after.signatures - before.signatures;
	bench_say(c->log,
	    "throughput: %.0f commands/s from the first to the last commit (%.1f s with the "
	    "group join and the idle tail), applier CPU %.2f s, peak RSS %.1f MiB; %ld accepted "
	    "(%ld signatures stored), %ld rejected",
	    r->apply_rate, r->apply_seconds, r->applier_cpu_s, (double)r->applier_rss_kib / 1024,
	    r->accepted, r->signatures_stored, r->rejected);
	return AX_OK;
}

/* ---- LATENCY ------------------------------------------------------------------------------ */

/* qsort order of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The p-quantile (0..1) of sorted[0..n), nearest rank. */
static double
percentile(const double *sorted, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}
/*
 * Publish n data commands at rate per second from now on, flushing as it goes, then wait for
 * every delivery.
 */
static int
publish_paced(struct bench_ctx *c, long n, double rate, struct ax_err *err)
{
	double start = ax_mono_s();
	int rc = AX_OK;
	long i;

	for (i = 0; i < n; i++) {
		ax_sleep_s(start + (double)i / rate - ax_mono_s());
		if ((rc = bench_publish_data(&c->g, &c->pb, err)) != AX_OK)
			break;
		ax_producer_poll(c->pb.p, 0);
	}
	if (rc == AX_OK)
		rc = bench_publish_wait(&c->pb, err);
	return rc;
}

/*
 * The append -> commit latencies of the phase-2 samples from index from of the listener's
 * samples on (at most f->n of them), sorted, into f's percentiles; f->n becomes the count.
 */
static int
latency_percentiles(
    struct bench_ctx *c, size_t from, struct bench_latency_run *f, struct ax_err *err)
{
	double *lat = malloc((size_t)(f->n > 0 ? f->n : 1) * sizeof(double));
	size_t n = 0;

	if (lat == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	pthread_mutex_lock(&c->lis.mu);
	for (size_t s = from; s < c->lis.n && n < (size_t)f->n; s++)
		if (c->lis.s[s].phase == 2)
			lat[n++] = (double)(c->lis.s[s].commit_us - c->lis.s[s].event_us) / 1000.0;
	pthread_mutex_unlock(&c->lis.mu);
	qsort(lat, n, sizeof(double), cmp_double);
	f->n = (long)n;
	f->p50_ms = percentile(lat, n, 0.50);
	f->p95_ms = percentile(lat, n, 0.95);
	f->p99_ms = percentile(lat, n, 0.99);
	f->max_ms = n ? lat[n - 1] : 0;
	free(lat);
	return AX_OK;
}

/*
 * One paced run at fraction x the apply rate into f: a fresh applier child; commands arrive
 * at that steady rate, after a warm-up of WARMUP_COMMANDS at the same rate (so the group has
 * joined and every writer's session has run each statement once: PostgreSQL plans a
 * function's statements on their first call in a session), so that the run measures the
 * steady state. The listener's counts of phases 0 and 2 grow over the runs: each run waits
 * for its own share above what it found, and reads the samples it appended.
 */
static int
latency_run(struct bench_ctx *c, double fraction, struct bench_latency_run *f, struct ax_err *err)
{
	const struct bench_opts *o = c->o;
	char path_err[256], name[64];
	char *const argv[] = { (char *)o->self, "apply", "--prefix", c->prefix, "--group", c->group,
		"--instance", "bench-apply", "--dsn", c->user_db, "--brokers",
		(char *)c->cfg->brokers, "--batch", c->batch, "--batch-ms", c->batch_ms,
		"--progress", "0", NULL };
	double rate = fraction * c->r->apply_rate, start, pg0;
	size_t seen0, seen2, from;
	struct rusage ru;
	pid_t pid;
	int rc, code;

	/* apply-latency.log for the run at --rate-fraction, as without a sweep */
	if (fraction == o->rate_fraction)
		snprintf(name, sizeof(name), "apply-latency.log");
	else
		snprintf(name, sizeof(name), "apply-latency-%.3g.log", fraction);
	snprintf(path_err, sizeof(path_err), "%s/%s", c->workdir, name);
	memset(f, 0, sizeof(*f));
	f->fraction = fraction;
	if (rate < 10)
		rate = 10;
	f->paced_rate = rate;
	f->n = c->latency_n;
	seen0 = bench_listener_seen(&c->lis, 0);
	seen2 = bench_listener_seen(&c->lis, 2);
	pg0 = pg_cpu_now(c);
	if ((rc = bench_spawn(&pid, argv, NULL, path_err, err)) != AX_OK)
		return rc;
	atomic_store(&c->lis.phase, 0);
	if ((rc = publish_paced(c, WARMUP_COMMANDS, rate, err)) != AX_OK) {
		kill(pid, SIGTERM);
		bench_reap(pid, &code, &ru);
		return rc;
	}
	if (!bench_listener_wait(&c->lis, 0, seen0 + WARMUP_COMMANDS, 60)) {
		kill(pid, SIGTERM);
		bench_reap(pid, &code, &ru);
		rc = ax_err_set(err, AX_ERR, "the applier did not start within 60 s");
		ax_err_detail(err, "See %s.", path_err);
		return rc;
	}
	bench_say(c->log, "latency: %ld data commands at %.0f/s (%.2f x the apply rate)",
	    c->latency_n, rate, fraction);
	pthread_mutex_lock(&c->lis.mu);
	from = c->lis.n; /* the warm-up's commits are all in: what follows is this run's */
	pthread_mutex_unlock(&c->lis.mu);
	atomic_store(&c->lis.phase, 2);
	start = ax_mono_s();
	rc = publish_paced(c, c->latency_n, rate, err);
	if (rc == AX_OK && !bench_listener_wait(&c->lis, 2, seen2 + (size_t)c->latency_n,
	                       120 + 3 * (double)c->latency_n / rate)) {
		rc = ax_err_set(err, AX_ERR,
		    "only %zu of %ld paced commands were committed at %.2f x the apply rate",
		    bench_listener_seen(&c->lis, 2) - seen2, c->latency_n, fraction);
		ax_err_detail(err, "See %s.", path_err);
	}
	f->achieved_rate = (double)c->latency_n / (ax_mono_s() - start);
	kill(pid, SIGTERM);
	bench_reap(pid, &code, &ru);
	pg_cpu_close(c, &f->cpu, pg0);
	f->cpu.applier_s = bench_ru_cpu(&ru);
	f->cpu.commands = WARMUP_COMMANDS + c->latency_n;
	f->rss_kib = ru.ru_maxrss;
	if (rc != AX_OK)
		return rc;
	if ((rc = latency_percentiles(c, from, f, err)) != AX_OK)
		return rc;
	bench_say(c->log, "latency: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (append -> commit)",
	    f->p50_ms, f->p95_ms, f->p99_ms);
	return AX_OK;
}

/*
 * One paced run (latency_run) per fraction: o->rate_fraction and, with --rate-fractions,
 * each of o->rate_fractions, each once, in ascending order, into r->sweep; the run at
 * o->rate_fraction also fills the phase's figures of r (paced_rate .. max_ms, cpu_latency,
 * latency_rss_kib).
 */
int
bench_latency(struct bench_ctx *c, struct ax_err *err)
{
	const struct bench_opts *o = c->o;
	struct bench_result *r = c->r;
	double fr[BENCH_MAX_FRACTIONS + 1];
	int nfr = 0, i, j, rc;

	fr[nfr++] = o->rate_fraction;
	for (i = 0; i < o->nfractions && i < BENCH_MAX_FRACTIONS; i++) {
		for (j = 0; j < nfr && fr[j] != o->rate_fractions[i]; j++)
			;
		if (j == nfr)
			fr[nfr++] = o->rate_fractions[i];
	}
	qsort(fr, (size_t)nfr, sizeof(double), cmp_double);
	if (nfr > 1)
		bench_say(c->log, "latency: %d paced runs, %.2f to %.2f x the apply rate", nfr,
		    fr[0], fr[nfr - 1]);
	for (i = 0; i < nfr; i++) {
		struct bench_latency_run *f = &r->sweep[i];

		if ((rc = latency_run(c, fr[i], f, err)) != AX_OK)
			return rc;
		r->nsweep = i + 1;
		if (fr[i] != o->rate_fraction)
			continue;
		r->paced_rate = f->paced_rate;
		r->achieved_rate = f->achieved_rate;
		r->latency_n = f->n;
		r->p50_ms = f->p50_ms;
		r->p95_ms = f->p95_ms;
		r->p99_ms = f->p99_ms;
		r->max_ms = f->max_ms;
		r->cpu_latency = f->cpu;
		r->latency_rss_kib = f->rss_kib;
	}
	return AX_OK;
}

/* ---- REPLAY ------------------------------------------------------------------------------- */

/* Whether the replayed database's digests equal the bench database's (as the auditor). */
static bool
replay_equals_live(struct bench_ctx *c, struct ax_err *err)
{
	struct ax_digest *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	PGconn *ca = NULL, *cb = NULL;
	FILE *devnull = fopen("/dev/null", "w");
	bool equal = false;

	/* the bench database carries the listener's trigger, not a table: equal */
	if (devnull != NULL && ax_pg_connect(&ca, c->auditor_db2, "the auditor", err) == AX_OK &&
	    ax_pg_connect(&cb, c->auditor_db, "the auditor", err) == AX_OK &&
	    ax_digests_fetch(&a, &na, ca, "the replay", err) == AX_OK &&
	    ax_digests_fetch(&b, &nb, cb, "the bench database", err) == AX_OK)
		equal = ax_digests_compare(devnull, a, na, b, nb) == 0;
	if (devnull != NULL)
		fclose(devnull);
	free(a);
	free(b);
	PQfinish(ca);
	PQfinish(cb);
	return equal;
}

/* `axiom replay` into a second database, in this process, then its digests against live
 * (unless --no-replay). */
int
bench_replay(struct bench_ctx *c, struct ax_err *err)
{
	const struct bench_opts *o = c->o;
	struct bench_result *r = c->r;
	struct ax_replay_opts ro;
	struct ax_replay_report rep;
	volatile sig_atomic_t never = 0;
	struct rusage ru0, ru1;
	double pg0;
	int rc;

	if (!o->replay)
		return AX_OK;
	if ((rc = bench_create_database(c->admin, c->db2, c->cfg->pg_admin_dsn, o->db_dir, err)) !=
	    AX_OK)
		return rc;
	c->db2_made = true;
	ax_replay_defaults(&ro);
	ro.brokers = c->cfg->brokers;
	ro.prefix = c->prefix;
	ro.pg_dsn = c->user_db2;
	ro.auditor_dsn = c->auditor_db2;
	ro.group = c->rgroup;
	ro.instance = "bench-replay";
	ro.batch_max = o->batch_max;
	ro.batch_ms = o->batch_ms;
	bench_say(c->log, "replay: rebuilding %s from %s.*", c->db2, c->prefix);
	ax_log_set_level(AX_LOG_WARN); /* the applier runs in this process here */
	pg0 = pg_cpu_now(c);
	getrusage(RUSAGE_SELF, &ru0);
	rc = ax_replay_run(&ro, &never, &rep, err);
	getrusage(RUSAGE_SELF, &ru1);
	pg_cpu_close(c, &r->cpu_replay, pg0);
	r->cpu_replay.applier_s = bench_ru_cpu(&ru1) - bench_ru_cpu(&ru0);
	r->cpu_replay.commands = (long)rep.applied;
	ax_log_set_level(AX_LOG_INFO);
	r->replay_messages = (long)rep.applied;
	r->replay_seconds = rep.active_seconds > 0 ? rep.active_seconds : rep.seconds;
	r->replay_rate = r->replay_seconds > 0 ? (double)rep.applied / r->replay_seconds : 0;
	ax_replay_report_free(&rep);
	if (rc != AX_OK)
		return rc;
	r->replay_equal = replay_equals_live(c, err);
	bench_say(c->log, "replay: %ld messages, %.0f/s, %s the live database", r->replay_messages,
	    r->replay_rate, r->replay_equal ? "equal to" : "DIFFERENT from");
	return AX_OK;
}

/* ---- VERIFY ------------------------------------------------------------------------------- */

/* A number of the JSON object o at key.sub (0 when absent). */
static double
json_num(json_t *o, const char *key, const char *sub)
{
	return json_number_value(json_object_get(json_object_get(o, key), sub));
}

/*
 * `axiom verify --json` as the auditor, chains and the Kafka cross-check, as a child: its
 * wall time and exit code, and from its JSON the time of its database and Kafka stages. name
 * names its output files in the work folder.
 */
static int
run_verify(struct bench_ctx *c, const char *name, struct bench_verify_fig *f, struct ax_err *err)
{
	char *const argv[] = { (char *)c->o->self, "verify", "--dsn", c->auditor_db, "--brokers",
		(char *)c->cfg->brokers, "--prefix", c->prefix, "--json", NULL };
	char v[32], path_out[256], path_err[256];
	struct rusage ru;
	json_error_t jerr;
	json_t *j;
	double t;
	pid_t pid;
	int rc;

	snprintf(path_out, sizeof(path_out), "%s/%s.json", c->workdir, name);
	snprintf(path_err, sizeof(path_err), "%s/%s.log", c->workdir, name);
	memset(f, 0, sizeof(*f));
	if (ax_pg_query_value(
	        c->admin_bench, "SELECT count(*) FROM axiom.records", v, sizeof(v), err) == AX_OK)
		f->versions = strtol(v, NULL, 10);
	t = ax_mono_s();
	if ((rc = bench_spawn(&pid, argv, path_out, path_err, err)) != AX_OK)
		return rc;
	bench_reap(pid, &f->exit, &ru);
	f->seconds = ax_mono_s() - t;
	f->rate = f->seconds > 0 ? (double)f->versions / f->seconds : 0;
	if ((j = json_load_file(path_out, 0, &jerr)) != NULL) {
		f->records_s = json_num(j, "records", "seconds");
		f->database_s = json_num(j, "stages", "database_seconds");
		f->kafka_s = json_num(j, "stages", "kafka_seconds");
		f->kafka_items =
		    (long)(json_num(j, "kafka", "offsets") + json_num(j, "audit", "outcomes"));
		json_decref(j);
	}
	bench_say(c->log,
	    "verify: exit %d, %ld record versions in %.2f s (database stages %.2f s, Kafka "
	    "stages %.2f s)",
	    f->exit, f->versions, f->seconds, f->database_s, f->kafka_s);
	return AX_OK;
}

/* The verifier at the bench's size, and the C checker's synthetic rate as the reference
 * (unless --no-verify). */
int
bench_verify(struct bench_ctx *c, struct ax_err *err)
{
	double seconds;
	int rc;

	if (!c->o->verify)
		return AX_OK;
	if ((rc = ax_verify_bench_records(1000000, 256, &c->r->synthetic_rate, &seconds, err)) !=
	    AX_OK)
		return rc;
	bench_say(c->log, "verify: the C checker alone, synthetic rows: %.0f versions/s",
	    c->r->synthetic_rate);
	return run_verify(c, "verify", &c->r->verify, err);
}

/* ---- SCALE -------------------------------------------------------------------------------- */

/*
 * --verify-versions N: new versions of the SOP lineages (long lineages), through the
 * applier, until the database holds at least N record versions, then `axiom verify` at that
 * size.
 */
int
bench_scale(struct bench_ctx *c, struct ax_err *err)
{
	struct bench_result *r = c->r;
	double tfirst = -1, tlast = -1;
	char v[32];
	long have = 0, base = 0, i;
	struct rusage ru;
	int rc;

	if (c->o->verify_versions <= 0)
		return AX_OK;
	if ((rc = ax_pg_query_value(
	         c->admin_bench, "SELECT count(*) FROM axiom.records", v, sizeof(v), err)) != AX_OK)
		return rc;
	have = strtol(v, NULL, 10);
	r->scale_commands = c->o->verify_versions > have ? c->o->verify_versions - have : 0;
	if ((rc = committed_offsets(c, &base, err)) != AX_OK)
		return rc;
	bench_say(c->log, "scale: %ld record versions; publishing %ld new versions", have,
	    r->scale_commands);
	for (i = 0; i < r->scale_commands; i++)
		if ((rc = bench_publish_version(&c->g, &c->pb, err)) != AX_OK)
			return rc;
	if ((rc = bench_publish_wait(&c->pb, err)) != AX_OK)
		return rc;
	if (r->scale_commands > 0) {
		if ((rc = apply_backlog(c, "bench-scale", "apply-scale.log", base,
		         r->scale_commands, &tfirst, &tlast, &r->cpu_scale, &ru, NULL, err)) !=
		    AX_OK)
			return rc;
		r->scale_apply_rate =
		    tlast > tfirst ? (double)r->scale_commands / (tlast - tfirst) : 0;
		bench_say(c->log, "scale: applied at %.0f commands/s", r->scale_apply_rate);
	}
	return run_verify(c, "verify-scale", &r->scale_verify, err);
}

/* ---- SIGNATURES --------------------------------------------------------------------------- */

/*
 * E-signatures: the applier verifies each with ax_webauthn_verify; compared with what
 * `openssl speed ecdsap256` measures, in the same run.
 */
int
bench_signatures(struct bench_ctx *c, struct ax_err *err)
{
	int rc;

	if ((rc = ax_sigbench_run(2.0, &c->r->sig_rate, &c->r->sig_raw_rate, err)) != AX_OK)
		return rc;
	bench_say(c->log,
	    "signatures: %.0f WebAuthn verifications/s, %.0f raw ECDSA P-256 verifies/s",
	    c->r->sig_rate, c->r->sig_raw_rate);
	return AX_OK;
}
