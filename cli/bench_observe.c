/*
 * bench_observe.c - what `axiom bench` measures with: the machine it runs on, the commit
 * listener (invariant 2: the ledger's data entries with their commit times, polled on a
 * thread of its own that owns its connection and appends the samples under mu) and the
 * children it runs (`axiom apply`, `axiom verify`), with their exit codes and resource use.
 */
/* wait4() (the resource use of one child) is a BSD/Linux call, outside POSIX */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ax_clock.h"
#include "ax_pg.h"
#include "bench_int.h"

extern char **environ;

/* ---- the machine ---------------------------------------------------------------------- */

void
bench_describe_machine(struct bench_result *r)
{
	char line[512];
	FILE *fp;

	r->nproc = (int)sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(r->machine, sizeof(r->machine), "unknown CPU");
	if ((fp = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			char *colon = strchr(line, ':');

			if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
				snprintf(r->machine, sizeof(r->machine), "%s", colon + 2);
				r->machine[strcspn(r->machine, "\n")] = '\0';
				break;
			}
		}
		fclose(fp);
	}
	if ((fp = fopen("/proc/loadavg", "r")) != NULL) {
		if (fscanf(fp, "%lf", &r->loadavg_start) != 1)
			r->loadavg_start = -1;
		fclose(fp);
	}
	if ((fp = fopen("/proc/meminfo", "r")) != NULL) {
		long kib = 0;

		while (fgets(line, sizeof(line), fp) != NULL)
			if (sscanf(line, "MemTotal: %ld kB", &kib) == 1)
				break;
		r->mem_total_mib = kib / 1024;
		fclose(fp);
	}
}

/*
 * The clock ticks of /proc/PID/stat: *own (utime + stime), *reaped (cutime + cstime) and the
 * parent's pid; false when the process is gone or the line is not as expected.
 */
static bool
proc_stat(long pid, long *ppid, unsigned long long *own, unsigned long long *reaped)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, st = 0;
	long long cut = 0, cst = 0;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return false;
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime(14) stime cutime cstime */
	if (sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", ppid,
	        &ut, &st, &cut, &cst) != 5)
		return false;
	*own = ut + st;
	*reaped = (unsigned long long)cut + (unsigned long long)cst;
	return true;
}

/*
 * CPU seconds of the whole server under the postmaster pm: its own, its reaped children's
 * and those of every child still running (backends, walwriter, checkpointer, autovacuum).
 * The difference of two readings is the server's CPU in between, whether a backend exited
 * meanwhile or not.
 */
double
bench_pg_cpu_s(long pm)
{
	unsigned long long own, reaped, total;
	struct dirent *de;
	long ppid;
	DIR *d;

	if (!proc_stat(pm, &ppid, &own, &reaped))
		return -1;
	total = own + reaped;
	if ((d = opendir("/proc")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);

			if (*end != '\0' || pid <= 0 || pid == pm)
				continue;
			if (proc_stat(pid, &ppid, &own, &reaped) && ppid == pm)
				total += own;
		}
		closedir(d);
	}
	return (double)total / (double)sysconf(_SC_CLK_TCK);
}

/* The postmaster's pid: the parent of this connection's backend (a local server only). */
long
bench_postmaster_pid(PGconn *conn)
{
	char path[64], line[256];
	long pid = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", PQbackendPID(conn));
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "PPid: %ld", &pid) == 1)
			break;
	fclose(fp);
	return pid;
}

/* ---- the commit listener (invariant 2) --------------------------------------------------- */

/* Append count samples (commit, et, ph) under l->mu; false when out of memory. */
static bool
listener_append(struct bench_listener *l, int64_t commit, int64_t et, int ph, size_t count)
{
	bool ok = true;

	pthread_mutex_lock(&l->mu);
	while (count-- > 0) {
		if (l->n == l->cap) {
			size_t ncap = l->cap ? l->cap * 2 : 65536;
			struct bench_sample *ns = realloc(l->s, ncap * sizeof(*ns));

			if (ns == NULL) {
				ok = false;
				break;
			}
			l->s = ns;
			l->cap = ncap;
		}
		l->s[l->n].commit_us = commit;
		l->s[l->n].event_us = et;
		l->s[l->n].phase = ph;
		l->n++;
		if (ph >= 0 && ph < 3)
			l->data_seen[ph]++;
	}
	pthread_mutex_unlock(&l->mu);
	return ok;
}

/* How often the listener reads the ledger: the commit times are PostgreSQL's, so this only
 * bounds how soon a wait for commits returns. */
#define POLL_S 0.025

/*
 * The data entries of the commands topic after each partition's last seq read, with their
 * commit times: the ledger of one partition is written by one transaction at a time, so its
 * seq order is its commit order, and an entry read once is never read again.
 */
static const struct ax_pg_stmt poll_stmt = { "bench_poll",
	"SELECT x.p - 1, l.seq, axiom.timestamp_us(l.event_time), "
	"       axiom.timestamp_us(pg_catalog.pg_xact_commit_timestamp(l.xmin)) "
	"  FROM unnest($2::bigint[]) WITH ORDINALITY AS x(s, p) "
	"  CROSS JOIN LATERAL (SELECT l.seq, l.event_time, l.xmin FROM axiom.ledger l "
	"                       WHERE l.topic = $1 AND l.kafka_partition = x.p - 1 "
	"                         AND l.seq > x.s ORDER BY l.seq) l",
	2 };

/* One poll: record what the ledger committed since the last one; false on a database error. */
static bool
listener_poll(struct bench_listener *l)
{
	struct ax_pg_array seqs = { 0 };
	const char *params[2] = { l->topic, NULL };
	char num[24];
	PGresult *res;
	int i, ph = atomic_load(&l->phase);
	bool ok = true;

	for (i = 0; ok && i < l->partitions; i++) {
		snprintf(num, sizeof(num), "%lld", l->seq[i]);
		ok = ax_pg_array_add(&seqs, num) == 0;
	}
	if (!ok || (params[1] = ax_pg_array_text(&seqs)) == NULL) {
		ax_pg_array_free(&seqs);
		return false;
	}
	res = ax_pg_exec_stmt(l->conn, &poll_stmt, params);
	ax_pg_array_free(&seqs);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	for (i = 0; ok && i < PQntuples(res); i++) {
		int p = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
		long long seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		if (p < 0 || p >= l->partitions)
			continue;
		if (seq > l->seq[p])
			l->seq[p] = seq;
		/* a commit time is NULL only without track_commit_timestamp (setup checks it) */
		if ((ph == 0 || ph == 2) && !PQgetisnull(res, i, 3))
			listener_append(l, strtoll(PQgetvalue(res, i, 3), NULL, 10),
			    strtoll(PQgetvalue(res, i, 2), NULL, 10), ph, 1);
	}
	PQclear(res);
	return ok;
}

/* The listener thread: read the ledger's new data entries with their commit times every
 * POLL_S (prepared once: planned anew, each poll cost 0.85 ms), recording them in phases 0
 * and 2, until stop. */
void *
bench_listener_main(void *arg)
{
	struct bench_listener *l = arg;

	while (!atomic_load(&l->stop)) {
		if (!listener_poll(l) && PQstatus(l->conn) != CONNECTION_OK)
			break;
		atomic_fetch_add(&l->polls, 1);
		ax_sleep_s(POLL_S);
	}
	return NULL;
}

/* Return once the listener read the ledger as it is now (two more polls); false after
 * timeout_s. */
bool
bench_listener_sync(struct bench_listener *l, double timeout_s)
{
	unsigned from = atomic_load(&l->polls);
	double end = ax_mono_s() + timeout_s;

	while (atomic_load(&l->polls) - from < 2) {
		if (ax_mono_s() > end)
			return false;
		ax_sleep_s(0.005);
	}
	return true;
}

/* How many data commands of phase were seen committed so far. */
size_t
bench_listener_seen(struct bench_listener *l, int phase)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->data_seen[phase];
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* Wait until want data commands of phase were seen, at most timeout_s; true when they were. */
bool
bench_listener_wait(struct bench_listener *l, int phase, size_t want, double timeout_s)
{
	double end = ax_mono_s() + timeout_s;

	while (bench_listener_seen(l, phase) < want) {
		if (ax_mono_s() > end)
			return false;
		ax_sleep_s(0.01);
	}
	return true;
}

/* ---- children ----------------------------------------------------------------------------- */

/* Spawn argv with stdout to out_path (or /dev/null) and stderr to err_path. */
int
bench_spawn(
    pid_t *pid, char *const argv[], const char *out_path, const char *err_path, struct ax_err *err)
{
	posix_spawn_file_actions_t fa;
	int e;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(
	    &fa, 1, out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	e = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		ax_err_set(err, AX_ERR, "could not start %s: %s", argv[0], strerror(e));
		return AX_ERR;
	}
	return AX_OK;
}

/* Wait for pid; its exit code (or 128+signal) in *code and its resource use in *ru. */
void
bench_reap(pid_t pid, int *code, struct rusage *ru)
{
	int status = 0;

	memset(ru, 0, sizeof(*ru));
	while (wait4(pid, &status, 0, ru) < 0 && errno == EINTR)
		;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Like bench_reap, while sampling every 50 ms how many data commands are committed (the stored next
 * offsets of the command topic, less base, those committed before): the times the first and
 * the last of want were seen go to *first and *last (negative when never). No trigger and no
 * listener load the database; the samples go to lis's timeline unless lis is NULL.
 */
void
bench_reap_sampling(pid_t pid, int *code, struct rusage *ru, PGconn *conn,
    const char *commands_topic, long base, long want, double *first, double *last,
    struct bench_listener *lis)
{
	const char *params[1] = { commands_topic };
	long seen = 0;
	int status = 0;
	pid_t got;

	*first = *last = -1;
	memset(ru, 0, sizeof(*ru));
	for (;;) {
		PGresult *res;

		while ((got = wait4(pid, &status, WNOHANG, ru)) < 0 && errno == EINTR)
			;
		if (got == pid)
			break;
		res = PQexecParams(conn,
		    "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets "
		    "WHERE topic = $1",
		    1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			long n = strtol(PQgetvalue(res, 0, 0), NULL, 10) - base;

			if (n > 0 && *first < 0)
				*first = ax_mono_s();
			if (n >= want && *last < 0)
				*last = ax_mono_s();
			if (n > seen && lis != NULL) /* the timeline's commits per second */
				listener_append(
				    lis, ax_wall_us(), 0, BENCH_COUNTED, (size_t)(n - seen));
			seen = n > seen ? n : seen;
		}
		PQclear(res);
		ax_sleep_s(0.05);
	}
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* User plus system CPU seconds of ru. */
double
bench_ru_cpu(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}
