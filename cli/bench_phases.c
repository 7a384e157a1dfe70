/*
 * bench_phases.c - the measuring phases of `axiom bench` after SETUP, each a function of the
 * run's context (bench_int.h), in the order bench_run calls them: CONTROL, THROUGHPUT,
 * LATENCY, (CEILING: bench_ceiling.c), REPLAY, VERIFY, SIGNATURES. Each fills its part of
 * the result and says one or two progress lines; none judges a figure (bench.h, invariant 4).
 *
 * Threads: the caller's. The phases share the listener (its phase says to which phase a
 * commit counts: 0 warm-up, 1 throughput, 2 latency) and the children they spawn are reaped
 * before the phase returns, whatever happened.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_clock.h"
#include "ax_log.h"
#include "ax_pg.h"
#include "ax_replay.h"
#include "ax_sigbench.h"
#include "bench_int.h"

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
	return AX_OK;
}

/* ---- THROUGHPUT --------------------------------------------------------------------------- */

/* The backlog first, then `axiom apply --until-caught-up` until it has applied all of it. */
int
bench_throughput(struct bench_ctx *c, struct ax_err *err)
{
	const struct bench_opts *o = c->o;
	struct bench_result *r = c->r;
	char line[LINE_MAX_BYTES], path_err[256];
	char *const argv[] = { (char *)o->self, "apply", "--until-caught-up", "--prefix", c->prefix,
		"--group", c->group, "--instance", "bench-apply", "--dsn", c->user_db, "--brokers",
		(char *)c->cfg->brokers, "--batch", c->batch, "--batch-ms", c->batch_ms,
		"--progress", "0", NULL };
	double t, tpub, tfirst = -1, tlast = -1, pg_cpu0;
	struct rusage ru;
	pid_t pid;
	long i;
	int rc, code;

	atomic_store(&c->lis.phase, 1);
	tpub = ax_mono_s();
	for (i = 0; i < o->commands; i++)
		if ((rc = bench_publish_line(
		         &c->pb, bench_gen_data(&c->g, line, sizeof(line)), err)) != AX_OK)
			return rc;
	if ((rc = bench_publish_wait(&c->pb, err)) != AX_OK)
		return rc;
	r->publish_rate = (double)o->commands / (ax_mono_s() - tpub);
	bench_say(c->log,
	    "throughput: %ld data commands published (%.0f/s); applying with %d partitions",
	    o->commands, r->publish_rate, o->partitions);
	snprintf(path_err, sizeof(path_err), "%s/apply-throughput.log", c->workdir);
	/* the commit listener's NOTIFY serializes commits (PostgreSQL takes one lock for every
	 * notifying commit): off for this phase, which samples the stored offsets instead */
	if ((rc = ax_pg_exec(c->admin_bench,
	         "ALTER TABLE axiom.ledger DISABLE TRIGGER bench_commit",
	         "could not pause the commit listener's trigger", err)) != AX_OK)
		return rc;
	pg_cpu0 = c->pm > 0 ? bench_proc_cpu_s(c->pm) : -1;
	t = ax_mono_s();
	if ((rc = bench_spawn(&pid, argv, NULL, path_err, err)) != AX_OK)
		return rc;
	bench_reap_sampling(
	    pid, &code, &ru, c->admin_bench, c->pb.commands, o->commands, &tfirst, &tlast, &c->lis);
	r->apply_seconds = ax_mono_s() - t;
	if ((rc = ax_pg_exec(c->admin_bench,
	         "ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER bench_commit",
	         "could not resume the commit listener's trigger", err)) != AX_OK)
		return rc;
	if (code != 0) {
		rc = ax_err_set(err, AX_ERR, "the applier exited with code %d", code);
		ax_err_detail(err, "See %s.", path_err);
		return rc;
	}
	r->applier_cpu_s = bench_ru_cpu(&ru);
	r->applier_rss_kib = ru.ru_maxrss;
	ax_sleep_s(0.3); /* the postmaster reaps the applier's backends */
	if (pg_cpu0 >= 0)
		r->pg_cpu_s = bench_proc_cpu_s(c->pm) - pg_cpu0;
	if (tlast < 0)
		return ax_err_set(err, AX_ERR,
		    "the applier stopped before all %ld commands were committed", o->commands);
	r->applied = o->commands;
	r->apply_rate = tlast > tfirst ? (double)o->commands / (tlast - tfirst)
	                               : (double)o->commands / r->apply_seconds;
	bench_say(c->log,
	    "throughput: %.0f commands/s from the first to the last commit (%.1f s with the "
	    "group join and the idle tail), applier CPU %.2f s, peak RSS %.1f MiB",
	    r->apply_rate, r->apply_seconds, r->applier_cpu_s, (double)r->applier_rss_kib / 1024);
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
	char line[LINE_MAX_BYTES];
	double start = ax_mono_s();
	int rc = AX_OK;
	long i;

	for (i = 0; i < n; i++) {
		ax_sleep_s(start + (double)i / rate - ax_mono_s());
		if ((rc = bench_publish_line(
		         &c->pb, bench_gen_data(&c->g, line, sizeof(line)), err)) != AX_OK)
			break;
		ax_producer_poll(c->pb.p, 0);
	}
	if (rc == AX_OK)
		rc = bench_publish_wait(&c->pb, err);
	return rc;
}

/* The phase-2 samples' append -> commit latencies, sorted, into the result's percentiles. */
static int
latency_percentiles(struct bench_ctx *c, struct ax_err *err)
{
	struct bench_result *r = c->r;
	double *lat = malloc((size_t)c->latency_n * sizeof(double));
	size_t n = 0;

	if (lat == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	pthread_mutex_lock(&c->lis.mu);
	for (size_t s = 0; s < c->lis.n && n < (size_t)c->latency_n; s++)
		if (c->lis.s[s].phase == 2)
			lat[n++] = (double)(c->lis.s[s].recv_us - c->lis.s[s].event_us) / 1000.0;
	pthread_mutex_unlock(&c->lis.mu);
	qsort(lat, n, sizeof(double), cmp_double);
	r->latency_n = (long)n;
	r->p50_ms = percentile(lat, n, 0.50);
	r->p95_ms = percentile(lat, n, 0.95);
	r->p99_ms = percentile(lat, n, 0.99);
	r->max_ms = n ? lat[n - 1] : 0;
	free(lat);
	return AX_OK;
}

/*
 * The applier runs; commands arrive at a steady fraction of the apply rate, after a warm-up
 * of WARMUP_COMMANDS at the same rate (so the group has joined and every writer's session
 * has run each statement once: PostgreSQL plans a function's statements on their first call
 * in a session), so that the phase measures the steady state.
 */
int
bench_latency(struct bench_ctx *c, struct ax_err *err)
{
	const struct bench_opts *o = c->o;
	struct bench_result *r = c->r;
	char path_err[256];
	char *const argv[] = { (char *)o->self, "apply", "--prefix", c->prefix, "--group", c->group,
		"--instance", "bench-apply", "--dsn", c->user_db, "--brokers",
		(char *)c->cfg->brokers, "--batch", c->batch, "--batch-ms", c->batch_ms,
		"--progress", "0", NULL };
	double rate = o->rate_fraction * r->apply_rate, start;
	struct rusage ru;
	pid_t pid;
	int rc, code;

	snprintf(path_err, sizeof(path_err), "%s/apply-latency.log", c->workdir);
	if (rate < 10)
		rate = 10;
	r->paced_rate = rate;
	if ((rc = bench_spawn(&pid, argv, NULL, path_err, err)) != AX_OK)
		return rc;
	atomic_store(&c->lis.phase, 0);
	if ((rc = publish_paced(c, WARMUP_COMMANDS, rate, err)) != AX_OK) {
		kill(pid, SIGTERM);
		bench_reap(pid, &code, &ru);
		return rc;
	}
	if (!bench_listener_wait(&c->lis, 0, WARMUP_COMMANDS, 60)) {
		kill(pid, SIGTERM);
		bench_reap(pid, &code, &ru);
		rc = ax_err_set(err, AX_ERR, "the applier did not start within 60 s");
		ax_err_detail(err, "See %s.", path_err);
		return rc;
	}
	bench_say(c->log, "latency: %ld data commands at %.0f/s (%.2f x the apply rate)",
	    c->latency_n, rate, o->rate_fraction);
	atomic_store(&c->lis.phase, 2);
	start = ax_mono_s();
	rc = publish_paced(c, c->latency_n, rate, err);
	if (rc == AX_OK && !bench_listener_wait(&c->lis, 2, (size_t)c->latency_n,
	                       120 + 3 * (double)c->latency_n / rate))
		rc = ax_err_set(err, AX_ERR, "only %zu of %ld paced commands were committed",
		    bench_listener_seen(&c->lis, 2), c->latency_n);
	r->achieved_rate = (double)c->latency_n / (ax_mono_s() - start);
	kill(pid, SIGTERM);
	bench_reap(pid, &code, &ru);
	if (ru.ru_maxrss > r->applier_rss_kib)
		r->applier_rss_kib = ru.ru_maxrss;
	if (rc != AX_OK)
		return rc;
	if ((rc = latency_percentiles(c, err)) != AX_OK)
		return rc;
	bench_say(c->log, "latency: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (append -> commit)",
	    r->p50_ms, r->p95_ms, r->p99_ms);
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
	rc = ax_replay_run(&ro, &never, &rep, err);
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

/* `axiom verify` as the auditor, chains and the Kafka cross-check; its exit code is a figure
 * (unless --no-verify). */
int
bench_verify(struct bench_ctx *c, struct ax_err *err)
{
	struct bench_result *r = c->r;
	char *const argv[] = { (char *)c->o->self, "verify", "--dsn", c->auditor_db, "--brokers",
		(char *)c->cfg->brokers, "--prefix", c->prefix, "--json", NULL };
	char v[32], path_out[256], path_err[256];
	struct rusage ru;
	double t;
	pid_t pid;
	int rc, code;

	if (!c->o->verify)
		return AX_OK;
	snprintf(path_out, sizeof(path_out), "%s/verify.json", c->workdir);
	snprintf(path_err, sizeof(path_err), "%s/verify.log", c->workdir);
	if (ax_pg_query_value(
	        c->admin_bench, "SELECT count(*) FROM axiom.records", v, sizeof(v), err) == AX_OK)
		r->verify_versions = strtol(v, NULL, 10);
	t = ax_mono_s();
	if ((rc = bench_spawn(&pid, argv, path_out, path_err, err)) != AX_OK)
		return rc;
	bench_reap(pid, &code, &ru);
	r->verify_seconds = ax_mono_s() - t;
	r->verify_exit = code;
	r->verify_rate = r->verify_seconds > 0 ? (double)r->verify_versions / r->verify_seconds : 0;
	bench_say(c->log, "verify: exit %d, %ld record versions in %.2f s", code,
	    r->verify_versions, r->verify_seconds);
	return AX_OK;
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
