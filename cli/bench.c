/*
 * bench.c - `axiom bench`; see bench.h for the invariants and the phases.
 *
 * Threads: the main thread drives the phases and publishes; one listener thread owns the
 * LISTEN connection and appends a sample per committed command (under samples_mu); the
 * ceiling runs its loaders on as many threads as there are partitions. Children: `axiom
 * apply` (twice) and `axiom verify`, spawned from o->self, their logs in the work folder.
 */
/* wait4() (the resource use of one child) is a BSD/Linux call, outside POSIX */
#define _DEFAULT_SOURCE

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_kafka.h"
#include "ax_log.h"
#include "ax_migrate.h"
#include "ax_pg.h"
#include "ax_publish.h"
#include "ax_replay.h"
#include "ax_sigbench.h"
#include "ax_topics.h"

extern char **environ;

#define LINE_MAX_BYTES 1024
#define DAY_US         86400000000LL
/* commands of the latency phase's warm-up, not measured */
#define WARMUP_COMMANDS 60

/* ---- clocks and small helpers ------------------------------------------------------- */

static void say(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One progress line "bench: ..." on log (NULL: none). */
static void
say(FILE *log, const char *fmt, ...)
{
	va_list ap;

	if (log == NULL)
		return;
	fprintf(log, "bench: ");
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
	fflush(log);
}

/* Run sql on conn; AX_OK or the adapter's code with what in the message. */
static int
exec_ok(PGconn *conn, const char *sql, const char *what, struct ax_err *err)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = AX_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = ax_pg_err(err, conn, res, what);
	PQclear(res);
	return rc;
}

/* ---- the machine ---------------------------------------------------------------------- */

static void
describe_machine(struct bench_result *r)
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

/* CPU seconds of process pid and of its reaped children (the postmaster reaps backends). */
static double
proc_cpu_s(long pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, st = 0;
	long long cut = 0, cst = 0;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime(14) stime cutime cstime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ut,
	        &st, &cut, &cst) != 4)
		return -1;
	return (double)(ut + st + (unsigned long long)cut + (unsigned long long)cst) /
	       (double)sysconf(_SC_CLK_TCK);
}

/* The postmaster's pid: the parent of this connection's backend (a local server only). */
static long
postmaster_pid(PGconn *conn)
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

/* ---- the command mix ------------------------------------------------------------------ */

/*
 * Deterministic data commands, all of which the applier accepts: SOP lineages created then
 * versioned directly (gate none), and specification lineages changed through propose ->
 * submit -> review -> approve -> apply (gate review_approve), interleaved. Per lineage the
 * commands come in order, and a lineage stays on one partition, so every base version holds.
 */
struct gen {
	long seq;        /* command ids */
	int change_pct;  /* share of change steps */
	long acc;        /* Bresenham accumulator of the mix */
	int nsop, nspec; /* lineages */
	long *sop_ver;   /* current version of each SOP lineage, 0: not created */
	long *spec_ver;  /* current version of each specification lineage */
	int *spec_step;  /* next step of the change in flight: 0 propose .. 4 apply */
	long *spec_change;
	int next_sop, next_spec;
	long changes;
	int64_t expires_us;
};

/* Set up the generator for partitions partitions and the mix; -1 when out of memory. */
static int
gen_init(struct gen *g, int partitions, int change_pct)
{
	memset(g, 0, sizeof(*g));
	g->change_pct = change_pct;
	g->nsop = partitions * 16;
	g->nspec = partitions * 8;
	g->sop_ver = calloc((size_t)g->nsop, sizeof(long));
	g->spec_ver = calloc((size_t)g->nspec, sizeof(long));
	g->spec_step = calloc((size_t)g->nspec, sizeof(int));
	g->spec_change = calloc((size_t)g->nspec, sizeof(long));
	g->expires_us = ax_wall_us() + 365 * DAY_US;
	return g->sop_ver && g->spec_ver && g->spec_step && g->spec_change ? 0 : -1;
}

/* Release what g holds. */
static void
gen_free(struct gen *g)
{
	free(g->sop_ver);
	free(g->spec_ver);
	free(g->spec_step);
	free(g->spec_change);
}

/* The envelope's start: command id, actor, issued_at, reason. */
static int
envelope(char *buf, size_t cap, struct gen *g, const char *actor, const char *reason)
{
	long n = g->seq++;

	return snprintf(buf, cap,
	    "{\"command_id\":\"%08lx-0000-4000-8000-%012lx\",\"actor\":\"%s\","
	    "\"issued_at\":%lld,\"reason\":\"%s\",\"source_system\":\"axiom-bench\"",
	    (unsigned long)(n >> 48), (unsigned long)(n & 0xffffffffffffL), actor,
	    (long long)ax_wall_us(), reason);
}

/* The control commands of phase k (1: scopes, types, people; 2: grants); NULL at the end. */
static const char *
gen_control(struct gen *g, int phase, int i, char *buf, size_t cap)
{
	static const char *const p1[] = {
		"\"payload\":{\"ScopeDefine\":{\"kind\":\"FACILITY\",\"key\":\"basel\",\"name\":"
		"\"Basel plant\"}}}",
		"\"payload\":{\"ScopeDefine\":{\"kind\":\"DOMAIN\",\"key\":\"quality_control\","
		"\"name\":\"Quality control\"}}}",
		"\"payload\":{\"RecordTypeConfig\":{\"record_type\":\"sop\",\"review_required\":"
		"false,"
		"\"description\":\"Standard operating "
		"procedure\",\"domain\":\"quality_control\",\"gate\":\"none\"}}}",
		"\"payload\":{\"RecordTypeConfig\":{\"record_type\":\"specification\",\"review_"
		"required\":true,"
		"\"description\":\"Product "
		"specification\",\"domain\":\"quality_control\",\"gate\":\"review_approve\"}}}",
		"\"payload\":{\"UserEnroll\":{\"user_id\":\"alice\",\"display_name\":\"Alice "
		"Martin\"}}}",
		"\"payload\":{\"UserEnroll\":{\"user_id\":\"bob\",\"display_name\":\"Bob "
		"Keller\"}}}",
		"\"payload\":{\"UserEnroll\":{\"user_id\":\"carol\",\"display_name\":\"Carol "
		"Dubois\"}}}",
	};
	static const char *const who[] = { "alice", "bob", "carol" };
	static const char *const level[] = { "author", "reviewer", "manager" };
	int n;

	if (phase == 1) {
		if (i >= (int)(sizeof(p1) / sizeof(p1[0])))
			return NULL;
		n = envelope(buf, cap, g, "axiom-system", "bench setup");
		snprintf(buf + n, cap - (size_t)n, ",%s", p1[i]);
		return buf;
	}
	if (i >= 3)
		return NULL;
	n = envelope(buf, cap, g, "axiom-system", "bench setup");
	snprintf(buf + n, cap - (size_t)n,
	    ",\"payload\":{\"Grant\":{\"grant_id\":\"%08x-0000-4000-9000-000000000000\","
	    "\"user_id\":\"%s\",\"facility\":\"basel\",\"domain\":\"quality_control\","
	    "\"access_level\":\"%s\",\"expires_at\":%lld}}}",
	    i + 1, who[i], level[i], (long long)g->expires_us);
	return buf;
}

/* The next data command as a JSON line in buf. */
static const char *
gen_data(struct gen *g, char *buf, size_t cap)
{
	bool change;
	int n, j;

	g->acc += g->change_pct;
	change = g->acc >= 100;
	if (change)
		g->acc -= 100;
	if (!change) {
		j = g->next_sop;
		g->next_sop = (g->next_sop + 1) % g->nsop;
		n = envelope(buf, cap, g, "alice", g->sop_ver[j] == 0 ? "release" : "revision");
		n += snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-a000-000000000000\"", j + 1);
		if (g->sop_ver[j] == 0)
			snprintf(buf + n, cap - (size_t)n,
			    ",\"payload\":{\"CreateRecord\":{\"record_type\":\"sop\",\"facility\":"
			    "\"basel\",\"domain\":\"quality_control\",\"content\":\"{\\\"sop\\\":%"
			    "d,"
			    "\\\"v\\\":1}\",\"title\":\"SOP-%05d\"}}}",
			    j, j);
		else
			snprintf(buf + n, cap - (size_t)n,
			    ",\"payload\":{\"NewVersion\":{\"base_version\":%ld,\"content\":"
			    "\"{\\\"sop\\\":%d,\\\"v\\\":%ld}\",\"title\":\"SOP-%05d\"}}}",
			    g->sop_ver[j], j, g->sop_ver[j] + 1, j);
		g->sop_ver[j]++;
		return buf;
	}
	j = g->next_spec;
	g->next_spec = (g->next_spec + 1) % g->nspec;
	if (g->spec_ver[j] == 0) {
		n = envelope(buf, cap, g, "alice", "first specification");
		snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-b000-000000000000\",\"payload\":{"
		    "\"CreateRecord\":{\"record_type\":\"specification\",\"facility\":\"basel\","
		    "\"domain\":\"quality_control\",\"content\":\"{\\\"spec\\\":%d,\\\"v\\\":1}\","
		    "\"title\":\"SPEC-%05d\"}}}",
		    j + 1, j, j);
		g->spec_ver[j] = 1;
		return buf;
	}
	switch (g->spec_step[j]) {
	case 0:
		g->spec_change[j] = ++g->changes;
		n = envelope(buf, cap, g, "alice", "tighten the limits");
		snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-b000-000000000000\",\"payload\":{"
		    "\"ProposeChange\":{\"change_id\":\"%08lx-0000-4000-c000-000000000000\","
		    "\"base_version\":%ld,\"content\":\"{\\\"spec\\\":%d,\\\"v\\\":%ld}\","
		    "\"title\":\"SPEC-%05d\"}}}",
		    j + 1, (unsigned long)g->spec_change[j], g->spec_ver[j], j, g->spec_ver[j] + 1,
		    j);
		break;
	case 1:
	case 2:
	case 3:
	case 4: {
		static const char *const step[] = { "", "SubmitChange", "ReviewChange",
			"ApproveChange", "ApplyChange" };
		static const char *const actor[] = { "", "alice", "bob", "carol", "alice" };

		n = envelope(buf, cap, g, actor[g->spec_step[j]], "change step");
		snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-b000-000000000000\",\"payload\":{\"%s\":{"
		    "\"change_id\":\"%08lx-0000-4000-c000-000000000000\"%s}}}",
		    j + 1, step[g->spec_step[j]], (unsigned long)g->spec_change[j],
		    g->spec_step[j] == 2 ? ",\"comment\":\"checked\"" : "");
		break;
	}
	}
	if (++g->spec_step[j] == 5) {
		g->spec_step[j] = 0;
		g->spec_ver[j]++;
	}
	return buf;
}

/* ---- publishing ------------------------------------------------------------------------- */

struct pub {
	struct ax_producer *p;
	const struct ax_codec *codec;
	char control[AX_TOPIC_NAME_MAX + 16], commands[AX_TOPIC_NAME_MAX + 16];
	uint64_t line;
};

/* Encode one JSON command line and queue it on its topic. */
static int
publish_line(struct pub *pb, const char *line, struct ax_err *err)
{
	struct ax_publish_msg m;
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = ax_publish_encode_line(pb->codec, line, strlen(line), &m, err)) != AX_OK) {
		ax_err_detail(err, "bench line: %s", line);
		return rc;
	}
	rc = ax_producer_send(
	    pb->p, m.family == AX_FAMILY_CONTROL ? pb->control : pb->commands, &m, ++pb->line, err);
	ax_publish_msg_clear(&m);
	return rc;
}

/* Wait for every delivery; AX_ERR when one failed. */
static int
publish_wait(struct pub *pb, struct ax_err *err)
{
	const struct ax_producer_stats *st = ax_producer_wait(pb->p, 60000);

	if (st->failed > 0) {
		ax_err_set(err, AX_ERR, "%llu of %llu commands were not acknowledged by the broker",
		    (unsigned long long)st->failed, (unsigned long long)st->sent);
		if (st->nfailures > 0)
			ax_err_detail(err, "%s", st->failures[0].reason);
		return AX_ERR;
	}
	return AX_OK;
}

/* ---- the commit listener (invariant 2) --------------------------------------------------- */

struct listener {
	PGconn *conn;
	pthread_t thread;
	pthread_mutex_t mu;
	struct bench_sample *s;
	size_t n, cap;
	size_t data_seen[3]; /* data commands seen per phase */
	_Atomic int phase, stop;
};

/* Append count samples (recv, et, ph) under l->mu; false when out of memory. */
static bool
listener_append(struct listener *l, int64_t recv, int64_t et, int ph, size_t count)
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
		l->s[l->n].recv_us = recv;
		l->s[l->n].event_us = et;
		l->s[l->n].phase = ph;
		l->n++;
		if (ph >= 0 && ph < 3)
			l->data_seen[ph]++;
	}
	pthread_mutex_unlock(&l->mu);
	return ok;
}

/* Record one notification received at recv (data commands only). */
static void
listener_add(struct listener *l, int64_t recv, const char *payload)
{
	long long et = 0;
	int control = 0;

	if (sscanf(payload, "%d %*d %*d %lld", &control, &et) != 2 || control)
		return;
	listener_append(l, recv, (int64_t)et, atomic_load(&l->phase), 1);
}

/* The listener thread: wait on the LISTEN socket, record every notification, until stop. */
static void *
listener_main(void *arg)
{
	struct listener *l = arg;
	int fd = PQsocket(l->conn);

	while (!atomic_load(&l->stop)) {
		struct timeval tv = { 0, 100000 };
		PGnotify *nt;
		fd_set rd;

		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		if (select(fd + 1, &rd, NULL, NULL, &tv) < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(l->conn))
			break;
		while ((nt = PQnotifies(l->conn)) != NULL) {
			listener_add(l, ax_wall_us(), nt->extra);
			PQfreemem(nt);
		}
	}
	return NULL;
}

/* How many data commands of phase were seen committed so far. */
static size_t
listener_seen(struct listener *l, int phase)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->data_seen[phase];
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* Wait until want data commands of phase were seen, at most timeout_s; true when they were. */
static bool
listener_wait(struct listener *l, int phase, size_t want, double timeout_s)
{
	double end = ax_mono_s() + timeout_s;

	while (listener_seen(l, phase) < want) {
		if (ax_mono_s() > end)
			return false;
		ax_sleep_s(0.01);
	}
	return true;
}

/* ---- children ----------------------------------------------------------------------------- */

/* Spawn argv with stdout to out_path (or /dev/null) and stderr to err_path. */
static int
spawn(
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
static void
reap(pid_t pid, int *code, struct rusage *ru)
{
	int status = 0;

	memset(ru, 0, sizeof(*ru));
	while (wait4(pid, &status, 0, ru) < 0 && errno == EINTR)
		;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Like reap, while sampling every 50 ms how many data commands are committed (the stored next
 * offsets of the command topic): the times the first and the last of want were seen go to
 * *first and *last (negative when never). No trigger and no listener load the database.
 */
static void
reap_sampling(pid_t pid, int *code, struct rusage *ru, PGconn *conn, const char *commands_topic,
    long want, double *first, double *last, struct listener *lis)
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
			long n = strtol(PQgetvalue(res, 0, 0), NULL, 10);

			if (n > 0 && *first < 0)
				*first = ax_mono_s();
			if (n >= want && *last < 0)
				*last = ax_mono_s();
			if (n > seen) /* the timeline's commits per second of this phase */
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
static double
ru_cpu(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

/* ---- the ceiling (invariant 3) --------------------------------------------------------- */

static const char *const ceiling_tables[] = { "records", "change_requests", "change_request_steps",
	"session_events", "ledger", "applied_commands" };
#define NCEIL (sizeof(ceiling_tables) / sizeof(ceiling_tables[0]))

struct rows {
	char **line;
	size_t *len;
	size_t n, cap;
};

struct ceiling {
	const char *dsn;
	struct rows t[NCEIL];
	size_t nbatches;
	int workers;
	_Atomic int failed;
	struct ax_err err;
	pthread_mutex_t mu;
};

struct ceiling_worker {
	struct ceiling *c;
	int index;
	pthread_t thread;
};

/* Copy every row of axiom.<table> out in COPY text form (as a superuser: no RLS). */
static int
copy_out(PGconn *conn, const char *table, struct rows *r, struct ax_err *err)
{
	char sql[256], *buf = NULL;
	PGresult *res;
	int len, rc = AX_OK;

	snprintf(sql, sizeof(sql), "COPY axiom.%s TO STDOUT", table);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = ax_pg_err(err, conn, res, "could not copy the applied rows out");
		PQclear(res);
		return rc;
	}
	PQclear(res);
	while ((len = PQgetCopyData(conn, &buf, 0)) > 0) {
		if (r->n == r->cap) {
			size_t ncap = r->cap ? r->cap * 2 : 4096;
			char **nl = realloc(r->line, ncap * sizeof(*nl));
			size_t *nn = nl ? realloc(r->len, ncap * sizeof(*nn)) : NULL;

			if (nl != NULL)
				r->line = nl;
			if (nn == NULL) {
				PQfreemem(buf);
				rc = ax_err_set(err, AX_ERR, "out of memory");
				break;
			}
			r->len = nn;
			r->cap = ncap;
		}
		r->line[r->n] = buf;
		r->len[r->n] = (size_t)len;
		r->n++;
		buf = NULL;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (rc == AX_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = ax_pg_err(err, conn, res, "could not copy the applied rows out");
		PQclear(res);
	}
	return rc;
}

/* Release the copied rows of r. */
static void
rows_free(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		PQfreemem(r->line[i]);
	free(r->line);
	free(r->len);
	memset(r, 0, sizeof(*r));
}

/* One batch: BEGIN, a COPY per table with this batch's share of its rows, offset, COMMIT. */
static int
ceiling_batch(PGconn *conn, struct ceiling *c, size_t b, int part, struct ax_err *err)
{
	char sql[256];
	PGresult *res;
	size_t k, i;
	int rc;

	if ((rc = exec_ok(conn, "BEGIN", "could not begin a ceiling batch", err)) != AX_OK)
		return rc;
	for (k = 0; k < NCEIL; k++) {
		const struct rows *r = &c->t[k];
		size_t lo = r->n * b / c->nbatches, hi = r->n * (b + 1) / c->nbatches;

		if (lo == hi)
			continue;
		snprintf(sql, sizeof(sql), "COPY bench_ceiling.%s FROM STDIN", ceiling_tables[k]);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_COPY_IN) {
			rc = ax_pg_err(err, conn, res, "could not start a ceiling COPY");
			PQclear(res);
			return rc;
		}
		PQclear(res);
		for (i = lo; i < hi; i++)
			if (PQputCopyData(conn, r->line[i], (int)r->len[i]) != 1)
				return ax_pg_err(err, conn, NULL, "could not send ceiling rows");
		if (PQputCopyEnd(conn, NULL) != 1)
			return ax_pg_err(err, conn, NULL, "could not end a ceiling COPY");
		while ((res = PQgetResult(conn)) != NULL) {
			if (rc == AX_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
				rc = ax_pg_err(err, conn, res, "a ceiling COPY failed");
			PQclear(res);
		}
		if (rc != AX_OK)
			return rc;
	}
	snprintf(sql, sizeof(sql),
	    "INSERT INTO bench_ceiling.partition_offsets VALUES ('ceiling', %d, %zu, 'bench') "
	    "ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset",
	    part, b + 1);
	if ((rc = exec_ok(conn, sql, "could not store a ceiling offset", err)) != AX_OK)
		return rc;
	return exec_ok(conn, "COMMIT", "could not commit a ceiling batch", err);
}

/* A ceiling loader thread: its share of the batches on its own connection. */
static void *
ceiling_main(void *arg)
{
	struct ceiling_worker *w = arg;
	struct ceiling *c = w->c;
	struct ax_err err;
	PGconn *conn = NULL;
	size_t b;

	if (ax_pg_connect(&conn, c->dsn, "the admin (ceiling)", &err) != AX_OK)
		goto fail;
	for (b = (size_t)w->index; b < c->nbatches; b += (size_t)c->workers)
		if (ceiling_batch(conn, c, b, w->index, &err) != AX_OK)
			goto fail;
	PQfinish(conn);
	return NULL;
fail:
	PQfinish(conn);
	pthread_mutex_lock(&c->mu);
	if (!atomic_exchange(&c->failed, 1))
		c->err = err;
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The CEILING phase: copy the applied rows out, then load them raw and time it. */
static int
run_ceiling(const struct bench_opts *o, PGconn *admin, const char *admin_dsn,
    struct bench_result *r, FILE *log, struct ax_err *err)
{
	struct ceiling c;
	struct ceiling_worker *w = NULL;
	char sql[512];
	double t0;
	size_t k;
	int i, rc = AX_OK, started = 0;

	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.mu, NULL);
	c.dsn = admin_dsn;
	c.workers = o->partitions;
	if ((rc = exec_ok(admin, "CREATE SCHEMA bench_ceiling",
	         "could not create the ceiling schema", err)) != AX_OK)
		goto out;
	for (k = 0; k < NCEIL; k++) {
		snprintf(sql, sizeof(sql),
		    "CREATE TABLE bench_ceiling.%s (LIKE axiom.%s INCLUDING DEFAULTS INCLUDING "
		    "INDEXES)",
		    ceiling_tables[k], ceiling_tables[k]);
		if ((rc = exec_ok(admin, sql, "could not create a ceiling table", err)) != AX_OK)
			goto out;
		if ((rc = copy_out(admin, ceiling_tables[k], &c.t[k], err)) != AX_OK)
			goto out;
		r->ceiling_rows += (long)c.t[k].n;
	}
	if ((rc = exec_ok(admin,
	         "CREATE TABLE bench_ceiling.partition_offsets (LIKE axiom.partition_offsets "
	         "INCLUDING DEFAULTS INCLUDING INDEXES)",
	         "could not create a ceiling table", err)) != AX_OK)
		goto out;
	r->ceiling_commands = (long)c.t[4].n; /* one ledger entry per command */
	c.nbatches = (c.t[4].n + (size_t)o->batch_max - 1) / (size_t)o->batch_max;
	if (c.nbatches == 0)
		goto out;
	say(log,
	    "ceiling: %ld rows of %ld commands in %zu batches of %d commands, COPY on %d "
	    "connections",
	    r->ceiling_rows, r->ceiling_commands, c.nbatches, o->batch_max, c.workers);
	if ((w = calloc((size_t)c.workers, sizeof(*w))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	t0 = ax_mono_s();
	for (i = 0; i < c.workers; i++) {
		w[i].c = &c;
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, ceiling_main, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	r->ceiling_seconds = ax_mono_s() - t0;
	if (atomic_load(&c.failed)) {
		*err = c.err;
		rc = err->code ? err->code : AX_ERR;
		goto out;
	}
	r->ceiling_rate =
	    r->ceiling_seconds > 0 ? (double)r->ceiling_commands / r->ceiling_seconds : 0;
	r->ratio = r->ceiling_rate > 0 ? r->apply_rate / r->ceiling_rate : 0;
out:
	for (k = 0; k < NCEIL; k++)
		rows_free(&c.t[k]);
	free(w);
	pthread_mutex_destroy(&c.mu);
	return rc;
}

/* ---- setup and clean-up ------------------------------------------------------------------ */

static int
create_database(
    PGconn *admin, const char *db, const char *admin_dsn, const char *dir, struct ax_err *err)
{
	struct ax_migrate_report rep;
	PGconn *conn = NULL;
	char sql[256], dsn[1024];
	int rc;

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if ((rc = exec_ok(admin, sql, "could not create the benchmark database", err)) != AX_OK)
		return rc;
	snprintf(dsn, sizeof(dsn), "%s dbname=%s", admin_dsn, db);
	if ((rc = ax_pg_connect(&conn, dsn, "the admin", err)) != AX_OK)
		return rc;
	rc = ax_migrate_run(conn, dir, 0, &rep, NULL, NULL, err);
	PQfinish(conn);
	return rc;
}

/* Drop db (best effort: the bench is ending). */
static void
drop_database(PGconn *admin, const char *db)
{
	char sql[256];
	struct ax_err err;

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	(void)exec_ok(admin, sql, "could not drop a benchmark database", &err);
}

/* Delete the throwaway topics and consumer groups (best effort, bounded). */
static void
delete_kafka(rd_kafka_t *rk, const char *prefix, const char *const groups[], size_t ngroups)
{
	const char *const sfx[3] = { "control", "commands", "audit" };
	rd_kafka_DeleteTopic_t *dt[3];
	rd_kafka_DeleteGroup_t *dg[4];
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_event_t *ev;
	char name[AX_TOPIC_NAME_MAX + 16];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s.%s", prefix, sfx[i]);
		dt[i] = rd_kafka_DeleteTopic_new(name);
	}
	rd_kafka_DeleteTopics(rk, dt, 3, NULL, q);
	rd_kafka_DeleteTopic_destroy_array(dt, 3);
	if ((ev = rd_kafka_queue_poll(q, 15000)) != NULL)
		rd_kafka_event_destroy(ev);
	for (i = 0; i < ngroups && i < 4; i++)
		dg[i] = rd_kafka_DeleteGroup_new(groups[i]);
	rd_kafka_DeleteGroups(rk, dg, i, NULL, q);
	rd_kafka_DeleteGroup_destroy_array(dg, i);
	if ((ev = rd_kafka_queue_poll(q, 15000)) != NULL)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
}

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

/* ---- the run ----------------------------------------------------------------------------- */

void
bench_defaults(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->db_dir = "db";
	o->commands = 20000;
	o->latency_commands = 0; /* 0: a quarter of commands, at least 200 */
	o->partitions = 6;
	o->batch_max = 200;
	o->batch_ms = 0;
	o->change_pct = 20;
	o->rate_fraction = 0.5;
	o->replay = true;
	o->verify = true;
}

void
bench_result_free(struct bench_result *r)
{
	free(r->samples);
	r->samples = NULL;
	r->nsamples = 0;
}

int
bench_run(const struct bench_opts *o, struct bench_result *r, FILE *log, struct ax_err *err)
{
	const struct ax_config *cfg = o->cfg;
	char db[96], db2[96], prefix[64], group[96], rgroup[96], workdir[128];
	char admin_db[1024], user_db[1024], auditor_db[1024], auditor_db2[1024], user_db2[1024];
	char line[LINE_MAX_BYTES], path_out[256], path_err[256], batch[16], batch_ms[16];
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	struct ax_codec *codec = NULL;
	struct listener lis;
	struct pub pb;
	rd_kafka_t *kadmin = NULL;
	struct gen g;
	PGconn *admin = NULL, *admin_bench = NULL;
	struct rusage ru;
	bool db_made = false, db2_made = false, topics_made = false, lis_started = false;
	bool gen_made = false;
	double t, tpub, tfirst = -1, tlast = -1;
	long pm = -1, i, latency_n;
	double pg_cpu0 = -1;
	pid_t pid;
	int rc, code, k;

	memset(r, 0, sizeof(*r));
	memset(&lis, 0, sizeof(lis));
	memset(&pb, 0, sizeof(pb));
	pthread_mutex_init(&lis.mu, NULL);
	describe_machine(r);
	snprintf(r->tag, sizeof(r->tag), "%ld_%ld", (long)getpid(), (long)time(NULL));
	snprintf(db, sizeof(db), "axiom_bench_%s", r->tag);
	snprintf(db2, sizeof(db2), "axiom_bench_%s_replay", r->tag);
	snprintf(prefix, sizeof(prefix), "bench-%s", r->tag);
	snprintf(group, sizeof(group), "bench-%s-apply", r->tag);
	snprintf(rgroup, sizeof(rgroup), "bench-%s-replay", r->tag);
	snprintf(workdir, sizeof(workdir), "%s/axiom-bench-%s",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", r->tag);
	snprintf(admin_db, sizeof(admin_db), "%s dbname=%s", cfg->pg_admin_dsn, db);
	snprintf(user_db, sizeof(user_db), "%s dbname=%s", cfg->pg_dsn, db);
	snprintf(auditor_db, sizeof(auditor_db), "%s dbname=%s", cfg->pg_auditor_dsn, db);
	snprintf(user_db2, sizeof(user_db2), "%s dbname=%s", cfg->pg_dsn, db2);
	snprintf(auditor_db2, sizeof(auditor_db2), "%s dbname=%s", cfg->pg_auditor_dsn, db2);
	snprintf(batch, sizeof(batch), "%d", o->batch_max);
	snprintf(batch_ms, sizeof(batch_ms), "%d", o->batch_ms);
	latency_n = o->latency_commands > 0 ? o->latency_commands
	                                    : (o->commands / 4 > 200 ? o->commands / 4 : 200);
	if (mkdir(workdir, 0700) != 0) {
		rc = ax_err_set(
		    err, AX_ERR, "could not create the folder %s: %s", workdir, strerror(errno));
		return rc;
	}

	/* SETUP */
	say(log, "setup: database %s, topics %s.*, %d partitions, work folder %s", db, prefix,
	    o->partitions, workdir);
	if ((rc = ax_pg_connect(&admin, cfg->pg_admin_dsn, "the admin", err)) != AX_OK)
		goto out;
	if ((rc = create_database(admin, db, cfg->pg_admin_dsn, o->db_dir, err)) != AX_OK)
		goto out;
	db_made = true;
	if ((rc = ax_pg_connect(&admin_bench, admin_db, "the admin", err)) != AX_OK)
		goto out;
	pm = postmaster_pid(admin_bench);
	/* invariant 2: the commit listener's trigger, in this throwaway database only; it runs
	 * as the admin who installs it (SECURITY DEFINER), because the definer that inserts the
	 * ledger rows may not execute pg_notify (db/0020) */
	if ((rc = exec_ok(admin_bench,
	         "CREATE SCHEMA axiom_bench;"
	         "CREATE FUNCTION axiom_bench.notify_commit() RETURNS trigger LANGUAGE plpgsql "
	         "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS "
	         "$f$"
	         "BEGIN PERFORM pg_catalog.pg_notify('axiom_bench', "
	         "(NEW.topic LIKE '%.control')::int || ' ' || NEW.kafka_partition || ' ' || "
	         "NEW.kafka_offset || ' ' || axiom.timestamp_us(NEW.event_time)); RETURN NULL; END"
	         "$f$;"
	         "CREATE TRIGGER bench_commit AFTER INSERT ON axiom.ledger FOR EACH ROW "
	         "EXECUTE FUNCTION axiom_bench.notify_commit();"
	         "ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER bench_commit;",
	         "could not install the commit listener's trigger", err)) != AX_OK)
		goto out;
	if ((rc = ax_pg_connect(&lis.conn, admin_db, "the admin (listener)", err)) != AX_OK)
		goto out;
	if ((rc = exec_ok(lis.conn, "LISTEN axiom_bench", "could not listen", err)) != AX_OK)
		goto out;
	if (pthread_create(&lis.thread, NULL, listener_main, &lis) != 0) {
		rc = ax_err_set(err, AX_ERR, "could not start the listener thread");
		goto out;
	}
	lis_started = true;
	if ((rc = ax_codec_new(&codec, NULL, err)) != AX_OK)
		goto out;
	pb.codec = codec;
	snprintf(pb.control, sizeof(pb.control), "%s.control", prefix);
	snprintf(pb.commands, sizeof(pb.commands), "%s.commands", prefix);
	/* the throwaway topics and groups are the admin's to create and delete */
	if ((rc = ax_kafka_new(
	         &kadmin, RD_KAFKA_PRODUCER, cfg->brokers, AX_KAFKA_ADMIN, NULL, err)) != AX_OK)
		goto out;
	if ((rc = ax_topics_plan(specs, prefix, o->partitions, err)) != AX_OK)
		goto out;
	if ((rc = ax_kafka_create_topics(kadmin, specs, AX_TOPIC_COUNT, 30000, err)) != AX_OK)
		goto out;
	topics_made = true;
	/* the producer after the topics: their ACLs (granted with them) are what lets the
	 * control principal's idempotent producer get its producer id on a fresh broker */
	if ((rc = ax_producer_new(&pb.p, cfg->brokers, AX_KAFKA_CONTROL, 60000, err)) != AX_OK)
		goto out;
	if (gen_init(&g, o->partitions, o->change_pct) != 0) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	gen_made = true;

	/* CONTROL: scopes, types and people, then grants (a later event time) */
	r->t0_us = (double)ax_wall_us();
	for (k = 1; k <= 2; k++) {
		for (i = 0; gen_control(&g, k, (int)i, line, sizeof(line)) != NULL; i++)
			if ((rc = publish_line(&pb, line, err)) != AX_OK)
				goto out;
		if ((rc = publish_wait(&pb, err)) != AX_OK)
			goto out;
		ax_sleep_s(0.02);
	}

	/* THROUGHPUT: the backlog first, then the applier until caught up */
	atomic_store(&lis.phase, 1);
	tpub = ax_mono_s();
	for (i = 0; i < o->commands; i++)
		if ((rc = publish_line(&pb, gen_data(&g, line, sizeof(line)), err)) != AX_OK)
			goto out;
	if ((rc = publish_wait(&pb, err)) != AX_OK)
		goto out;
	r->publish_rate = (double)o->commands / (ax_mono_s() - tpub);
	say(log, "throughput: %ld data commands published (%.0f/s); applying with %d partitions",
	    o->commands, r->publish_rate, o->partitions);
	snprintf(path_err, sizeof(path_err), "%s/apply-throughput.log", workdir);
	{
		char *const argv[] = { (char *)o->self, "apply", "--until-caught-up", "--prefix",
			prefix, "--group", group, "--instance", "bench-apply", "--dsn", user_db,
			"--brokers", (char *)cfg->brokers, "--batch", batch, "--batch-ms", batch_ms,
			"--progress", "0", NULL };

		/* the commit listener's NOTIFY serializes commits (PostgreSQL takes one lock
		 * for every notifying commit): off for this phase, which samples the stored
		 * offsets instead */
		if ((rc = exec_ok(admin_bench,
		         "ALTER TABLE axiom.ledger DISABLE TRIGGER bench_commit",
		         "could not pause the commit listener's trigger", err)) != AX_OK)
			goto out;
		pg_cpu0 = pm > 0 ? proc_cpu_s(pm) : -1;
		t = ax_mono_s();
		if ((rc = spawn(&pid, argv, NULL, path_err, err)) != AX_OK)
			goto out;
		reap_sampling(
		    pid, &code, &ru, admin_bench, pb.commands, o->commands, &tfirst, &tlast, &lis);
		r->apply_seconds = ax_mono_s() - t;
		if ((rc = exec_ok(admin_bench,
		         "ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER bench_commit",
		         "could not resume the commit listener's trigger", err)) != AX_OK)
			goto out;
	}
	if (code != 0) {
		rc = ax_err_set(err, AX_ERR, "the applier exited with code %d", code);
		ax_err_detail(err, "See %s.", path_err);
		goto out;
	}
	r->applier_cpu_s = ru_cpu(&ru);
	r->applier_rss_kib = ru.ru_maxrss;
	ax_sleep_s(0.3); /* the postmaster reaps the applier's backends */
	if (pg_cpu0 >= 0)
		r->pg_cpu_s = proc_cpu_s(pm) - pg_cpu0;
	if (tlast < 0) {
		rc = ax_err_set(err, AX_ERR,
		    "the applier stopped before all %ld commands were committed", o->commands);
		goto out;
	}
	r->applied = o->commands;
	r->apply_rate = tlast > tfirst ? (double)o->commands / (tlast - tfirst)
	                               : (double)o->commands / r->apply_seconds;
	say(log,
	    "throughput: %.0f commands/s from the first to the last commit (%.1f s with the "
	    "group join and the idle tail), applier CPU %.2f s, peak RSS %.1f MiB",
	    r->apply_rate, r->apply_seconds, r->applier_cpu_s, (double)r->applier_rss_kib / 1024);

	/* LATENCY: the applier runs; commands arrive at a steady fraction of that rate */
	snprintf(path_err, sizeof(path_err), "%s/apply-latency.log", workdir);
	{
		char *const argv[] = { (char *)o->self, "apply", "--prefix", prefix, "--group",
			group, "--instance", "bench-apply", "--dsn", user_db, "--brokers",
			(char *)cfg->brokers, "--batch", batch, "--batch-ms", batch_ms,
			"--progress", "0", NULL };
		double rate = o->rate_fraction * r->apply_rate, start;

		if (rate < 10)
			rate = 10;
		r->paced_rate = rate;
		if ((rc = spawn(&pid, argv, NULL, path_err, err)) != AX_OK)
			goto out;
		/* warm-up: WARMUP_COMMANDS through at the paced rate, so the group has joined and
		 * every writer's session has run each statement once (PostgreSQL plans a
		 * function's statements on their first call in a session): the phase measures the
		 * steady state */
		atomic_store(&lis.phase, 0);
		start = ax_mono_s();
		for (i = 0; i < WARMUP_COMMANDS && rc == AX_OK; i++) {
			ax_sleep_s(start + (double)i / rate - ax_mono_s());
			rc = publish_line(&pb, gen_data(&g, line, sizeof(line)), err);
			ax_producer_poll(pb.p, 0);
		}
		if (rc == AX_OK)
			rc = publish_wait(&pb, err);
		if (rc != AX_OK) {
			kill(pid, SIGTERM);
			reap(pid, &code, &ru);
			goto out;
		}
		if (!listener_wait(&lis, 0, WARMUP_COMMANDS, 60)) {
			kill(pid, SIGTERM);
			reap(pid, &code, &ru);
			rc = ax_err_set(err, AX_ERR, "the applier did not start within 60 s");
			ax_err_detail(err, "See %s.", path_err);
			goto out;
		}
		say(log, "latency: %ld data commands at %.0f/s (%.2f x the apply rate)", latency_n,
		    rate, o->rate_fraction);
		atomic_store(&lis.phase, 2);
		start = ax_mono_s();
		for (i = 0; i < latency_n; i++) {
			ax_sleep_s(start + (double)i / rate - ax_mono_s());
			if ((rc = publish_line(&pb, gen_data(&g, line, sizeof(line)), err)) !=
			    AX_OK)
				break;
			ax_producer_poll(pb.p, 0);
		}
		if (rc == AX_OK)
			rc = publish_wait(&pb, err);
		if (rc == AX_OK &&
		    !listener_wait(&lis, 2, (size_t)latency_n, 120 + 3 * (double)latency_n / rate))
			rc =
			    ax_err_set(err, AX_ERR, "only %zu of %ld paced commands were committed",
			        listener_seen(&lis, 2), latency_n);
		r->achieved_rate = (double)latency_n / (ax_mono_s() - start);
		kill(pid, SIGTERM);
		reap(pid, &code, &ru);
		if (ru.ru_maxrss > r->applier_rss_kib)
			r->applier_rss_kib = ru.ru_maxrss;
		if (rc != AX_OK)
			goto out;
	}
	{
		double *lat = malloc((size_t)latency_n * sizeof(double));
		size_t n = 0;

		if (lat == NULL) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
		pthread_mutex_lock(&lis.mu);
		for (size_t s = 0; s < lis.n && n < (size_t)latency_n; s++)
			if (lis.s[s].phase == 2)
				lat[n++] = (double)(lis.s[s].recv_us - lis.s[s].event_us) / 1000.0;
		pthread_mutex_unlock(&lis.mu);
		qsort(lat, n, sizeof(double), cmp_double);
		r->latency_n = (long)n;
		r->p50_ms = percentile(lat, n, 0.50);
		r->p95_ms = percentile(lat, n, 0.95);
		r->p99_ms = percentile(lat, n, 0.99);
		r->max_ms = n ? lat[n - 1] : 0;
		free(lat);
	}
	say(log, "latency: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (append -> commit)", r->p50_ms,
	    r->p95_ms, r->p99_ms);

	/* CEILING */
	if ((rc = run_ceiling(o, admin_bench, admin_db, r, log, err)) != AX_OK)
		goto out;
	say(log, "ceiling: %.0f commands/s (%.2f s); apply/ceiling %.2f", r->ceiling_rate,
	    r->ceiling_seconds, r->ratio);

	/* REPLAY */
	if (o->replay) {
		struct ax_replay_opts ro;
		struct ax_replay_report rep;
		volatile sig_atomic_t never = 0;

		if ((rc = create_database(admin, db2, cfg->pg_admin_dsn, o->db_dir, err)) != AX_OK)
			goto out;
		db2_made = true;
		ax_replay_defaults(&ro);
		ro.brokers = cfg->brokers;
		ro.prefix = prefix;
		ro.pg_dsn = user_db2;
		ro.auditor_dsn = auditor_db2;
		ro.group = rgroup;
		ro.instance = "bench-replay";
		ro.batch_max = o->batch_max;
		ro.batch_ms = o->batch_ms;
		say(log, "replay: rebuilding %s from %s.*", db2, prefix);
		ax_log_set_level(AX_LOG_WARN); /* the applier runs in this process here */
		rc = ax_replay_run(&ro, &never, &rep, err);
		ax_log_set_level(AX_LOG_INFO);
		r->replay_messages = (long)rep.applied;
		r->replay_seconds = rep.active_seconds > 0 ? rep.active_seconds : rep.seconds;
		r->replay_rate =
		    r->replay_seconds > 0 ? (double)rep.applied / r->replay_seconds : 0;
		ax_replay_report_free(&rep);
		if (rc != AX_OK)
			goto out;
		{
			struct ax_digest *a = NULL, *b = NULL;
			size_t na = 0, nb = 0;
			PGconn *ca = NULL, *cb = NULL;
			FILE *devnull = fopen("/dev/null", "w");

			/* the bench database carries the listener's trigger, not a table: equal */
			if (devnull != NULL &&
			    ax_pg_connect(&ca, auditor_db2, "the auditor", err) == AX_OK &&
			    ax_pg_connect(&cb, auditor_db, "the auditor", err) == AX_OK &&
			    ax_digests_fetch(&a, &na, ca, "the replay", err) == AX_OK &&
			    ax_digests_fetch(&b, &nb, cb, "the bench database", err) == AX_OK)
				r->replay_equal = ax_digests_compare(devnull, a, na, b, nb) == 0;
			if (devnull != NULL)
				fclose(devnull);
			free(a);
			free(b);
			PQfinish(ca);
			PQfinish(cb);
		}
		say(log, "replay: %ld messages, %.0f/s, %s the live database", r->replay_messages,
		    r->replay_rate, r->replay_equal ? "equal to" : "DIFFERENT from");
	}

	/* VERIFY: `axiom verify` as the auditor, chains and the Kafka cross-check */
	if (o->verify) {
		char *const argv[] = { (char *)o->self, "verify", "--dsn", auditor_db, "--brokers",
			(char *)cfg->brokers, "--prefix", prefix, "--json", NULL };
		char v[32];

		snprintf(path_out, sizeof(path_out), "%s/verify.json", workdir);
		snprintf(path_err, sizeof(path_err), "%s/verify.log", workdir);
		if (ax_pg_query_value(admin_bench, "SELECT count(*) FROM axiom.records", v,
		        sizeof(v), err) == AX_OK)
			r->verify_versions = strtol(v, NULL, 10);
		t = ax_mono_s();
		if ((rc = spawn(&pid, argv, path_out, path_err, err)) != AX_OK)
			goto out;
		reap(pid, &code, &ru);
		r->verify_seconds = ax_mono_s() - t;
		r->verify_exit = code;
		r->verify_rate =
		    r->verify_seconds > 0 ? (double)r->verify_versions / r->verify_seconds : 0;
		say(log, "verify: exit %d, %ld record versions in %.2f s", code, r->verify_versions,
		    r->verify_seconds);
	}
	/* e-signatures: the applier verifies each with ax_webauthn_verify; compared with what
	 * `openssl speed ecdsap256` measures, in the same run */
	if ((rc = ax_sigbench_run(2.0, &r->sig_rate, &r->sig_raw_rate, err)) != AX_OK)
		goto out;
	say(log, "signatures: %.0f WebAuthn verifications/s, %.0f raw ECDSA P-256 verifies/s",
	    r->sig_rate, r->sig_raw_rate);
	rc = AX_OK;
out:
	if (lis_started) {
		atomic_store(&lis.stop, 1);
		pthread_join(lis.thread, NULL);
	}
	pthread_mutex_lock(&lis.mu);
	r->samples = lis.s;
	r->nsamples = lis.n;
	lis.s = NULL;
	pthread_mutex_unlock(&lis.mu);
	PQfinish(lis.conn);
	PQfinish(admin_bench);
	if (!o->keep && admin != NULL) {
		if (db_made)
			drop_database(admin, db);
		if (db2_made)
			drop_database(admin, db2);
	}
	if (!o->keep && topics_made && kadmin != NULL) {
		const char *const groups[] = { group, rgroup };

		delete_kafka(kadmin, prefix, groups, 2);
	}
	if (kadmin != NULL)
		rd_kafka_destroy(kadmin);
	if (o->keep)
		say(log, "kept: databases %s and %s, topics %s.*, logs in %s", db, db2, prefix,
		    workdir);
	else
		say(log, "logs of the children in %s", workdir);
	PQfinish(admin);
	ax_producer_free(pb.p);
	ax_codec_free(codec);
	if (gen_made)
		gen_free(&g);
	pthread_mutex_destroy(&lis.mu);
	return rc;
}
