/*
 * bench_report.c - the three outputs of `axiom bench`: the human table, the JSON file and
 * the PNG plot of throughput and latency over the run (gnuplot); see bench.h.
 *
 * Invariant: every figure printed is also in the JSON file, under the same meaning; the
 * plot is drawn from the samples alone (one point per second of the run).
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

void
bench_print(FILE *fp, const struct bench_opts *o, const struct bench_result *r)
{
	fprintf(fp,
	    "axiom bench: %ld data commands (%d%% change-request steps, the rest new "
	    "versions), %d partitions, batches of %d\n",
	    o->commands, o->change_pct, o->partitions, o->batch_max);
	fprintf(fp, "machine: %s, %d CPUs, %ld MiB, load average %.2f at the start\n\n", r->machine,
	    r->nproc, r->mem_total_mib, r->loadavg_start);
	fprintf(fp, "%-44s %14s\n", "measure", "value");
	fprintf(fp, "%-44s %14.0f\n", "publish rate (commands/s)", r->publish_rate);
	fprintf(fp, "%-44s %14.0f\n", "apply rate, all checks on (commands/s)", r->apply_rate);
	fprintf(fp, "%-44s %14.0f\n", "ceiling: raw COPY, same rows (commands/s)", r->ceiling_rate);
	fprintf(fp, "%-44s %14.4f\n", "apply / ceiling", r->ratio);
	fprintf(fp, "%-44s %14.0f\n", "latency phase: publish rate (commands/s)", r->paced_rate);
	fprintf(fp, "%-44s %14.0f\n", "latency phase: achieved commit rate (/s)", r->achieved_rate);
	fprintf(fp, "%-44s %14.1f\n", "latency append->commit p50 (ms)", r->p50_ms);
	fprintf(fp, "%-44s %14.1f\n", "latency append->commit p95 (ms)", r->p95_ms);
	fprintf(fp, "%-44s %14.1f\n", "latency append->commit p99 (ms)", r->p99_ms);
	fprintf(fp, "%-44s %14.1f\n", "latency append->commit max (ms)", r->max_ms);
	fprintf(fp, "%-44s %14.3f\n", "applier CPU s per 1,000 commands",
	    r->applied > 0 ? r->applier_cpu_s * 1000.0 / (double)r->applied : 0.0);
	fprintf(fp, "%-44s %14.3f\n", "PostgreSQL CPU s per 1,000 (whole server)",
	    r->applied > 0 ? r->pg_cpu_s * 1000.0 / (double)r->applied : 0.0);
	fprintf(
	    fp, "%-44s %14.1f\n", "applier peak RSS (MiB)", (double)r->applier_rss_kib / 1024.0);
	if (o->replay)
		fprintf(fp, "%-44s %14.0f  (%s)\n", "replay rate (messages/s)", r->replay_rate,
		    r->replay_equal ? "rebuilt = live" : "rebuilt DIFFERS from live");
	if (o->verify)
		fprintf(fp, "%-44s %14.0f  (exit %d)\n", "axiom verify (record versions/s)",
		    r->verify_rate, r->verify_exit);
	fprintf(fp, "%-44s %14.0f\n", "WebAuthn signature verifications/s", r->sig_rate);
	fprintf(
	    fp, "%-44s %14.0f\n", "raw ECDSA P-256 verifies/s (openssl speed)", r->sig_raw_rate);
	fprintf(fp, "%-44s %14.2f\n", "signatures / raw ECDSA",
	    r->sig_raw_rate > 0 ? r->sig_rate / r->sig_raw_rate : 0.0);
}

int
bench_write_json(
    const char *path, const struct bench_opts *o, const struct bench_result *r, struct ax_err *err)
{
	json_t *j = json_pack("{s:s, s:{s:s, s:i, s:I}, s:{s:I, s:I, s:i, s:i, s:i, s:i, s:f}, "
	                      "s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I}, "
	                      "s:{s:f, s:f, s:I, s:f, s:f, s:f, s:f, s:f}, "
	                      "s:{s:f, s:I, s:I, s:f}}",
	    "tag", r->tag, "machine", "cpu", r->machine, "nproc", r->nproc, "mem_total_mib",
	    (json_int_t)r->mem_total_mib, "options", "commands", (json_int_t)o->commands,
	    "latency_commands", (json_int_t)r->latency_n, "partitions", o->partitions, "batch",
	    o->batch_max, "batch_ms", o->batch_ms, "change_pct", o->change_pct, "rate_fraction",
	    o->rate_fraction, "throughput", "publish_per_s", r->publish_rate, "apply_per_s",
	    r->apply_rate, "apply_seconds_with_startup", r->apply_seconds, "applier_cpu_s",
	    r->applier_cpu_s, "applier_cpu_s_per_1000",
	    r->applied > 0 ? r->applier_cpu_s * 1000.0 / (double)r->applied : 0.0,
	    "postgres_cpu_s_per_1000",
	    r->applied > 0 ? r->pg_cpu_s * 1000.0 / (double)r->applied : 0.0,
	    "applier_peak_rss_mib", (double)r->applier_rss_kib / 1024.0, "ceiling_per_s",
	    r->ceiling_rate, "ceiling_commands", (json_int_t)r->ceiling_commands, "latency",
	    "paced_per_s", r->paced_rate, "achieved_per_s", r->achieved_rate, "n",
	    (json_int_t)r->latency_n, "p50_ms", r->p50_ms, "p95_ms", r->p95_ms, "p99_ms", r->p99_ms,
	    "max_ms", r->max_ms, "apply_to_ceiling", r->ratio, "replay_verify", "replay_per_s",
	    r->replay_rate, "replay_messages", (json_int_t)r->replay_messages, "verify_versions",
	    (json_int_t)r->verify_versions, "verify_versions_per_s", r->verify_rate);
	int rc = AX_OK;

	if (j == NULL)
		return ax_err_set(err, AX_ERR, "out of memory building the JSON report");
	json_object_set_new(json_object_get(j, "replay_verify"), "replay_equal",
	    o->replay ? json_boolean(r->replay_equal) : json_null());
	json_object_set_new(
	    json_object_get(j, "replay_verify"), "verify_exit", json_integer(r->verify_exit));
	json_object_set_new(j, "signatures",
	    json_pack("{s:f, s:f, s:f}", "webauthn_verifications_per_s", r->sig_rate,
	        "raw_ecdsa_p256_verifies_per_s", r->sig_raw_rate, "ratio",
	        r->sig_raw_rate > 0 ? r->sig_rate / r->sig_raw_rate : 0.0));
	json_object_set_new(
	    json_object_get(j, "machine"), "loadavg_start", json_real(r->loadavg_start));
	if (json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
		rc = ax_err_set(err, AX_ERR, "could not write %s: %s", path, strerror(errno));
	}
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
		if (r->samples[i].recv_us > last)
			last = r->samples[i].recv_us;
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

			if (s->phase == 0 || s->recv_us < t0 ||
			    (size_t)((s->recv_us - t0) / 1000000) != sec)
				continue; /* phase 0: the latency phase's warm-up */
			commits++;
			phase = s->phase == BENCH_COUNTED ? 1 : s->phase;
			if (s->phase != BENCH_COUNTED)
				lat[n++] = (double)(s->recv_us - s->event_us) / 1000.0;
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

int
bench_write_plot(const char *path, const struct bench_result *r, struct ax_err *err)
{
	char dat[512], gp[512];
	char *const argv[] = { "gnuplot", gp, NULL };
	FILE *fp;
	pid_t pid;
	int rc, status = 0, e;

	snprintf(dat, sizeof(dat), "%s.dat", path);
	snprintf(gp, sizeof(gp), "%s.gp", path);
	if ((rc = write_timeline(dat, r, err)) != AX_OK)
		return rc;
	if ((fp = fopen(gp, "w")) == NULL)
		return ax_err_set(err, AX_ERR, "could not write %s: %s", gp, strerror(errno));
	fprintf(fp,
	    "set terminal pngcairo size 1000,700 font ',10' noenhanced\n"
	    "set boxwidth 0.9 relative\n"
	    "set style fill solid 0.5\n"
	    "set output '%s'\n"
	    "set multiplot layout 2,1 title 'axiom bench %s (%s, %d CPUs)'\n"
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
	    "1:($5==2?$4:1/0) with linespoints title 'p99 (paced)'\n"
	    "unset multiplot\n",
	    path, r->tag, r->machine, r->nproc, dat, dat);
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
