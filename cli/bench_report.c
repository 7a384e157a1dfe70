/*
 * bench_report.c - the three outputs of `axiom bench`: the human table, the JSON file and
 * the PNG plot of throughput and latency over the run (gnuplot), with --rate-fractions also
 * of latency against the fraction; see bench.h.
 *
 * Invariant: every figure printed is also in the JSON file, under the same meaning; the
 * plot's timeline is drawn from the samples alone (one point per second of the run), its
 * sweep panel from the paced runs' percentiles.
 */
#include <errno.h>
#include <jansson.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* Microseconds of cpu_s per command of n (0 when none). */
static double
us_per(double cpu_s, long n)
{
	return n > 0 && cpu_s >= 0 ? cpu_s * 1e6 / (double)n : 0.0;
}

/* x / y, 0 when y is 0. */
static double
ratio(double x, double y)
{
	return y > 0 ? x / y : 0.0;
}

/* One row of the table: label, value with prec decimals. */
static void
row(FILE *fp, const char *label, double value, int prec)
{
	fprintf(fp, "%-46s %14.*f\n", label, prec, value);
}

/* The two CPU rows of a phase that applied commands. */
static void
cpu_rows(FILE *fp, const struct bench_cpu *cpu)
{
	row(fp, "applier CPU per command (us)", us_per(cpu->applier_s, cpu->commands), 0);
	row(fp, "PostgreSQL CPU per command (us, whole server)", us_per(cpu->pg_s, cpu->commands),
	    0);
}

/* The index in r->sweep of the lowest fraction whose p99 is above BENCH_P99_MARK_MS, -1 when
 * none is (the sweep is in ascending order of fraction). */
static int
p99_crossing(const struct bench_result *r)
{
	for (int i = 0; i < r->nsweep; i++)
		if (r->sweep[i].p99_ms > BENCH_P99_MARK_MS)
			return i;
	return -1;
}

/* The latency sweep (--rate-fractions): a line per paced run, then the crossing. */
static void
sweep_rows(FILE *fp, const struct bench_result *r)
{
	int x = p99_crossing(r);

	fprintf(fp, "\n-- latency sweep: a paced run per fraction of the apply rate\n");
	fprintf(fp, "%8s %9s %9s %9s %9s %9s %9s %14s %14s\n", "fraction", "paced/s", "commits/s",
	    "p50 ms", "p95 ms", "p99 ms", "max ms", "applier us/cmd", "PG us/cmd");
	for (int i = 0; i < r->nsweep; i++) {
		const struct bench_latency_run *f = &r->sweep[i];

		fprintf(fp, "%8.2f %9.0f %9.0f %9.1f %9.1f %9.1f %9.1f %14.0f %14.0f\n",
		    f->fraction, f->paced_rate, f->achieved_rate, f->p50_ms, f->p95_ms, f->p99_ms,
		    f->max_ms, us_per(f->cpu.applier_s, f->cpu.commands),
		    us_per(f->cpu.pg_s, f->cpu.commands));
	}
	if (x < 0)
		fprintf(fp, "p99 above %.0f ms from fraction: none up to %.2f\n", BENCH_P99_MARK_MS,
		    r->nsweep > 0 ? r->sweep[r->nsweep - 1].fraction : 0.0);
	else
		fprintf(fp, "p99 above %.0f ms from fraction: %.2f (p99 %.1f ms)\n",
		    BENCH_P99_MARK_MS, r->sweep[x].fraction, r->sweep[x].p99_ms);
}

/* The rows of one verify run, against the synthetic reference rate. */
static void
verify_rows(FILE *fp, const struct bench_verify_fig *f, double synthetic)
{
	fprintf(fp, "%-46s %14ld  (exit %d)\n", "record versions", f->versions, f->exit);
	row(fp, "axiom verify, end to end (versions/s)", f->rate, 0);
	row(fp, "database stages (s)", f->database_s, 3);
	row(fp, "database stages (versions/s)", ratio((double)f->versions, f->database_s), 0);
	row(fp, "  of which record chains (versions/s)", ratio((double)f->versions, f->records_s),
	    0);
	row(fp, "Kafka cross-check stages (s)", f->kafka_s, 3);
	row(fp, "Kafka cross-check (offsets+outcomes/s)", ratio((double)f->kafka_items, f->kafka_s),
	    0);
	row(fp, "C checker alone, synthetic (versions/s)", synthetic, 0);
	row(fp, "database stages / synthetic",
	    ratio(ratio((double)f->versions, f->database_s), synthetic), 3);
}

void
bench_print(FILE *fp, const struct bench_opts *o, const struct bench_result *r)
{
	if (o->sign_pct > 0 || o->refuse_pct > 0)
		fprintf(fp,
		    "axiom bench: %ld data commands (realistic mix: %d%% e-signatures, %d%% to be "
		    "refused; of the rest %d%% change-request steps, the rest new versions), %d "
		    "partitions, batches of %d\n",
		    o->commands, o->sign_pct, o->refuse_pct, o->change_pct, o->partitions,
		    o->batch_max);
	else
		fprintf(fp,
		    "axiom bench: %ld data commands (basic mix: %d%% change-request steps, the "
		    "rest "
		    "new versions), %d partitions, batches of %d\n",
		    o->commands, o->change_pct, o->partitions, o->batch_max);
	fprintf(fp, "machine: %s, %d CPUs, %ld MiB, load average %.2f at the start\n", r->machine,
	    r->nproc, r->mem_total_mib, r->loadavg_start);

	fprintf(fp, "\n-- throughput: a backlog, axiom apply --until-caught-up\n");
	row(fp, "publish rate (commands/s)", r->publish_rate, 0);
	row(fp, "apply rate, all checks on (commands/s)", r->apply_rate, 0);
	fprintf(
	    fp, "%-46s %6ld / %6ld\n", "accepted / rejected (ledger)", r->accepted, r->rejected);
	if (r->quarantined > 0)
		fprintf(fp, "%-46s %14ld\n", "quarantined (ledger)", r->quarantined);
	fprintf(fp, "%-46s %14ld\n", "refusals the mix meant", r->mix_refusals);
	for (int i = 0; i < r->nreasons; i++)
		fprintf(fp, "  rejected: %-35s %14ld\n", r->reasons[i].code, r->reasons[i].n);
	fprintf(fp, "%-46s %6ld / %6ld\n", "e-signatures stored / published", r->signatures_stored,
	    r->mix_signs);
	cpu_rows(fp, &r->cpu_throughput);
	row(fp, "applier peak RSS (MiB)", (double)r->applier_rss_kib / 1024.0, 1);

	fprintf(fp, "\n-- latency: paced publishing, the applier running\n");
	row(fp, "latency phase: publish rate (commands/s)", r->paced_rate, 0);
	row(fp, "latency phase: achieved commit rate (/s)", r->achieved_rate, 0);
	row(fp, "latency append->commit p50 (ms)", r->p50_ms, 1);
	row(fp, "latency append->commit p95 (ms)", r->p95_ms, 1);
	row(fp, "latency append->commit p99 (ms)", r->p99_ms, 1);
	row(fp, "latency append->commit max (ms)", r->max_ms, 1);
	cpu_rows(fp, &r->cpu_latency);
	row(fp, "applier peak RSS (MiB)", (double)r->latency_rss_kib / 1024.0, 1);
	if (o->nfractions > 0)
		sweep_rows(fp, r);

	fprintf(fp, "\n-- ceiling: the same rows, raw COPY\n");
	row(fp, "ceiling: raw COPY, same rows (commands/s)", r->ceiling_rate, 0);
	row(fp, "apply / ceiling", r->ratio, 4);

	if (o->replay) {
		fprintf(fp, "\n-- replay: axiom replay into an empty database\n");
		fprintf(fp, "%-46s %14.0f  (%s)\n", "replay rate (messages/s)", r->replay_rate,
		    r->replay_equal ? "rebuilt = live" : "rebuilt DIFFERS from live");
		cpu_rows(fp, &r->cpu_replay);
	}
	if (o->verify) {
		fprintf(fp, "\n-- verify: axiom verify as the auditor\n");
		verify_rows(fp, &r->verify, r->synthetic_rate);
	}
	if (o->verify_versions > 0) {
		fprintf(fp, "\n-- scale: the database grown to %ld versions, then verified\n",
		    o->verify_versions);
		fprintf(fp, "%-46s %14ld\n", "new versions applied", r->scale_commands);
		row(fp, "apply rate (commands/s)", r->scale_apply_rate, 0);
		cpu_rows(fp, &r->cpu_scale);
		verify_rows(fp, &r->scale_verify, r->synthetic_rate);
	}

	fprintf(fp, "\n-- signatures: in this process, one thread\n");
	row(fp, "WebAuthn signature verifications/s", r->sig_rate, 0);
	row(fp, "raw ECDSA P-256 verifies/s (openssl speed)", r->sig_raw_rate, 0);
	row(fp, "signatures / raw ECDSA", ratio(r->sig_rate, r->sig_raw_rate), 2);
}

/* The CPU keys of a phase that applied commands, into its object o. */
static void
json_cpu(json_t *o, const struct bench_cpu *cpu)
{
	json_object_set_new(o, "applied_commands", json_integer(cpu->commands));
	json_object_set_new(
	    o, "applier_cpu_us_per_command", json_real(us_per(cpu->applier_s, cpu->commands)));
	json_object_set_new(
	    o, "postgres_cpu_us_per_command", json_real(us_per(cpu->pg_s, cpu->commands)));
}

/* The paced runs as a JSON array, in ascending order of fraction. */
static json_t *
json_sweep(const struct bench_result *r)
{
	json_t *a = json_array();

	for (int i = 0; i < r->nsweep; i++) {
		const struct bench_latency_run *f = &r->sweep[i];
		json_t *e = json_pack("{s:f, s:f, s:f, s:I, s:f, s:f, s:f, s:f, s:f}", "fraction",
		    f->fraction, "paced_per_s", f->paced_rate, "achieved_per_s", f->achieved_rate,
		    "n", (json_int_t)f->n, "p50_ms", f->p50_ms, "p95_ms", f->p95_ms, "p99_ms",
		    f->p99_ms, "max_ms", f->max_ms, "applier_peak_rss_mib",
		    (double)f->rss_kib / 1024.0);

		json_cpu(e, &f->cpu);
		json_array_append_new(a, e);
	}
	return a;
}

/* One verify run as a JSON object. */
static json_t *
json_verify(const struct bench_verify_fig *f, double synthetic)
{
	double db_rate = ratio((double)f->versions, f->database_s);

	return json_pack("{s:I, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:f, s:f}", "versions",
	    (json_int_t)f->versions, "exit", f->exit, "seconds", f->seconds, "versions_per_s",
	    f->rate, "database_seconds", f->database_s, "database_versions_per_s", db_rate,
	    "record_chains_seconds", f->records_s, "kafka_seconds", f->kafka_s, "kafka_items_per_s",
	    ratio((double)f->kafka_items, f->kafka_s), "kafka_items", (json_int_t)f->kafka_items,
	    "synthetic_versions_per_s", synthetic, "database_to_synthetic",
	    ratio(db_rate, synthetic));
}

int
bench_write_json(
    const char *path, const struct bench_opts *o, const struct bench_result *r, struct ax_err *err)
{
	json_t *j = json_object(), *t, *l, *reasons, *fractions;
	int rc = AX_OK, x;

	if (j == NULL)
		return ax_err_set(err, AX_ERR, "out of memory building the JSON report");
	reasons = json_object();
	for (int i = 0; i < r->nreasons; i++)
		json_object_set_new(reasons, r->reasons[i].code, json_integer(r->reasons[i].n));
	fractions = json_array();
	for (int i = 0; i < r->nsweep; i++)
		json_array_append_new(fractions, json_real(r->sweep[i].fraction));
	json_object_set_new(j, "tag", json_string(r->tag));
	json_object_set_new(j, "machine",
	    json_pack("{s:s, s:i, s:I, s:f}", "cpu", r->machine, "nproc", r->nproc, "mem_total_mib",
	        (json_int_t)r->mem_total_mib, "loadavg_start", r->loadavg_start));
	json_object_set_new(j, "options",
	    json_pack("{s:s, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:I}", "mix",
	        o->sign_pct > 0 || o->refuse_pct > 0 ? "realistic" : "basic", "commands",
	        (json_int_t)o->commands, "latency_commands", (json_int_t)r->latency_n, "partitions",
	        o->partitions, "batch", o->batch_max, "batch_ms", o->batch_ms, "change_pct",
	        o->change_pct, "signature_pct", o->sign_pct, "refusal_pct", o->refuse_pct,
	        "rate_fraction", o->rate_fraction, "verify_versions",
	        (json_int_t)o->verify_versions));
	json_object_set_new(json_object_get(j, "options"), "rate_fractions", fractions);
	t = json_pack("{s:f, s:f, s:f, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:f, s:f}",
	    "publish_per_s", r->publish_rate, "apply_per_s", r->apply_rate,
	    "apply_seconds_with_startup", r->apply_seconds, "accepted", (json_int_t)r->accepted,
	    "rejected", (json_int_t)r->rejected, "quarantined", (json_int_t)r->quarantined,
	    "rejected_by_reason", reasons, "mix_refusals", (json_int_t)r->mix_refusals,
	    "mix_signatures", (json_int_t)r->mix_signs, "signatures_stored",
	    (json_int_t)r->signatures_stored, "applier_cpu_s", r->applier_cpu_s,
	    "applier_peak_rss_mib", (double)r->applier_rss_kib / 1024.0);
	json_cpu(t, &r->cpu_throughput);
	json_object_set_new(j, "throughput", t);
	l = json_pack("{s:f, s:f, s:I, s:f, s:f, s:f, s:f, s:f}", "paced_per_s", r->paced_rate,
	    "achieved_per_s", r->achieved_rate, "n", (json_int_t)r->latency_n, "p50_ms", r->p50_ms,
	    "p95_ms", r->p95_ms, "p99_ms", r->p99_ms, "max_ms", r->max_ms, "applier_peak_rss_mib",
	    (double)r->latency_rss_kib / 1024.0);
	json_cpu(l, &r->cpu_latency);
	json_object_set_new(l, "latency_sweep", json_sweep(r));
	x = p99_crossing(r);
	json_object_set_new(l, "p99_crosses_50ms_at_fraction",
	    x < 0 ? json_null() : json_real(r->sweep[x].fraction));
	json_object_set_new(j, "latency", l);
	json_object_set_new(j, "ceiling",
	    json_pack("{s:f, s:I, s:I, s:f, s:f}", "per_s", r->ceiling_rate, "commands",
	        (json_int_t)r->ceiling_commands, "rows", (json_int_t)r->ceiling_rows, "seconds",
	        r->ceiling_seconds, "apply_to_ceiling", r->ratio));
	if (o->replay) {
		json_t *rp = json_pack("{s:f, s:I, s:b}", "per_s", r->replay_rate, "messages",
		    (json_int_t)r->replay_messages, "equal", r->replay_equal);

		json_cpu(rp, &r->cpu_replay);
		json_object_set_new(j, "replay", rp);
	} else
		json_object_set_new(j, "replay", json_null());
	json_object_set_new(
	    j, "verify", o->verify ? json_verify(&r->verify, r->synthetic_rate) : json_null());
	if (o->verify_versions > 0) {
		json_t *sc = json_pack("{s:I, s:I, s:f}", "target_versions",
		    (json_int_t)o->verify_versions, "new_versions", (json_int_t)r->scale_commands,
		    "apply_per_s", r->scale_apply_rate);

		json_cpu(sc, &r->cpu_scale);
		json_object_set_new(sc, "verify", json_verify(&r->scale_verify, r->synthetic_rate));
		json_object_set_new(j, "scale", sc);
	} else
		json_object_set_new(j, "scale", json_null());
	json_object_set_new(j, "signatures",
	    json_pack("{s:f, s:f, s:f}", "webauthn_verifications_per_s", r->sig_rate,
	        "raw_ecdsa_p256_verifies_per_s", r->sig_raw_rate, "ratio",
	        ratio(r->sig_rate, r->sig_raw_rate)));
	if (json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
		rc = ax_err_set(err, AX_ERR, "could not write %s: %s", path, strerror(errno));
	json_decref(j);
	return rc;
}

/* qsort order of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Per second of the run: commits, p50 and p99 latency of the commits of that second. */
static int
write_timeline(const char *path, const struct bench_result *r, struct ax_err *err)
{
	int64_t t0 = (int64_t)r->t0_us, last = 0;
	double *lat = NULL;
	size_t i, sec, nsec, n;
	FILE *fp;
	int rc = AX_OK;

	for (i = 0; i < r->nsamples; i++)
		if (r->samples[i].commit_us > last)
			last = r->samples[i].commit_us;
	nsec = last > t0 ? (size_t)((last - t0) / 1000000) + 1 : 1;
	if ((fp = fopen(path, "w")) == NULL)
		return ax_err_set(err, AX_ERR, "could not write %s: %s", path, strerror(errno));
	if ((lat = malloc((r->nsamples + 1) * sizeof(double))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	fprintf(fp, "# second commits_per_s p50_ms p99_ms phase\n");
	for (sec = 0; sec < nsec; sec++) {
		size_t commits = 0;
		int phase = 0;

		n = 0;
		for (i = 0; i < r->nsamples; i++) {
			const struct bench_sample *s = &r->samples[i];

			if (s->phase == 0 || s->commit_us < t0 ||
			    (size_t)((s->commit_us - t0) / 1000000) != sec)
				continue; /* phase 0: the latency phase's warm-up */
			commits++;
			phase = s->phase == BENCH_COUNTED ? 1 : s->phase;
			if (s->phase != BENCH_COUNTED)
				lat[n++] = (double)(s->commit_us - s->event_us) / 1000.0;
		}
		if (n == 0) {
			fprintf(fp, "%zu %zu NaN NaN %d\n", sec, commits, phase);
			continue;
		}
		qsort(lat, n, sizeof(double), cmp_double);
		fprintf(fp, "%zu %zu %.2f %.2f %d\n", sec, commits,
		    lat[(size_t)(0.5 * (double)(n - 1))], lat[(size_t)(0.99 * (double)(n - 1))],
		    phase);
	}
out:
	free(lat);
	if (fclose(fp) != 0 && rc == AX_OK)
		rc = ax_err_set(err, AX_ERR, "could not write %s: %s", path, strerror(errno));
	return rc;
}

/* The latency sweep, a line per paced run: fraction p50_ms p95_ms p99_ms. */
static int
write_sweep(const char *path, const struct bench_result *r, struct ax_err *err)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return ax_err_set(err, AX_ERR, "could not write %s: %s", path, strerror(errno));
	fprintf(fp, "# fraction p50_ms p95_ms p99_ms\n");
	for (int i = 0; i < r->nsweep; i++)
		fprintf(fp, "%.3f %.2f %.2f %.2f\n", r->sweep[i].fraction, r->sweep[i].p50_ms,
		    r->sweep[i].p95_ms, r->sweep[i].p99_ms);
	if (fclose(fp) != 0)
		return ax_err_set(err, AX_ERR, "could not write %s: %s", path, strerror(errno));
	return AX_OK;
}

int
bench_write_plot(const char *path, const struct bench_result *r, struct ax_err *err)
{
	char dat[512], sdat[512], gp[512];
	char *const argv[] = { "gnuplot", gp, NULL };
	bool sweep = r->nsweep > 1; /* a third panel: latency against the fraction */
	FILE *fp;
	pid_t pid;
	int rc, status = 0, e;

	snprintf(dat, sizeof(dat), "%s.dat", path);
	snprintf(sdat, sizeof(sdat), "%s.sweep.dat", path);
	snprintf(gp, sizeof(gp), "%s.gp", path);
	if ((rc = write_timeline(dat, r, err)) != AX_OK)
		return rc;
	if (sweep && (rc = write_sweep(sdat, r, err)) != AX_OK)
		return rc;
	if ((fp = fopen(gp, "w")) == NULL)
		return ax_err_set(err, AX_ERR, "could not write %s: %s", gp, strerror(errno));
	fprintf(fp,
	    "set terminal pngcairo size 1000,%d font ',10' noenhanced\n"
	    "set boxwidth 0.9 relative\n"
	    "set style fill solid 0.5\n"
	    "set output '%s'\n"
	    "set multiplot layout %d,1 title 'axiom bench %s (%s, %d CPUs)'\n"
	    "set grid\n"
	    "set xlabel 'seconds since the first publish'\n"
	    "set ylabel 'commits per second'\n"
	    "set yrange [0:*]\n"
	    "set key top left\n"
	    "plot '%s' using 1:($5==1?$2:1/0) with boxes fill solid 0.5 title 'throughput phase "
	    "(backlog)', '' using 1:($5==2?$2:1/0) with boxes fill solid 0.5 title 'paced "
	    "phase'\n"
	    "set ylabel 'append -> commit (ms)'\n"
	    "set yrange [*:*]\n"
	    "set logscale y\n"
	    "plot '%s' using 1:($5==2?$3:1/0) with linespoints title 'p50 (paced)', '' using "
	    "1:($5==2?$4:1/0) with linespoints title 'p99 (paced)'\n",
	    sweep ? 1050 : 700, path, sweep ? 3 : 2, r->tag, r->machine, r->nproc, dat, dat);
	if (sweep)
		fprintf(fp,
		    "set xlabel 'paced rate / apply rate (one run each)'\n"
		    "set xrange [0:*]\n"
		    "plot '%s' using 1:2 with linespoints title 'p50', '' using 1:3 with "
		    "linespoints title 'p95', '' using 1:4 with linespoints title 'p99', %g with "
		    "lines dashtype 2 title '%.0f ms'\n",
		    sdat, BENCH_P99_MARK_MS, BENCH_P99_MARK_MS);
	fprintf(fp, "unset multiplot\n");
	if (fclose(fp) != 0)
		return ax_err_set(err, AX_ERR, "could not write %s: %s", gp, strerror(errno));
	if ((e = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ)) != 0) {
		ax_err_set(err, AX_ERR, "could not run gnuplot: %s", strerror(e));
		ax_err_hint(
		    err, "Install it: apt-get install gnuplot-nox (\"ops/stack deps\" does).");
		return AX_ERR;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ax_err_set(err, AX_ERR, "gnuplot could not draw %s", path);
		ax_err_detail(err, "Its script is %s.", gp);
		return AX_ERR;
	}
	return AX_OK;
}
