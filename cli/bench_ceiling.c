/*
 * bench_ceiling.c - the CEILING phase of `axiom bench` (bench.h, invariant 3): the very rows
 * the applier wrote, copied out, then loaded with COPY into tables of the same shape and no
 * checks, one transaction per batch of the applier's size, on as many connections (one
 * loader thread each) as the applier had partitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_clock.h"
#include "ax_pg.h"
#include "bench_int.h"

/* ---- the ceiling (invariant 3) --------------------------------------------------------- */

static const char *const ceiling_tables[] = { "records", "change_requests", "change_request_steps",
	"session_events", "signatures", "signing_nonces", "signature_evidence", "ledger",
	"applied_commands" };
#define LEDGER 7 /* ceiling_tables[LEDGER]: one row per command */
#define NCEIL  (sizeof(ceiling_tables) / sizeof(ceiling_tables[0]))

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

	if ((rc = ax_pg_exec(conn, "BEGIN", "could not begin a ceiling batch", err)) != AX_OK)
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
	if ((rc = ax_pg_exec(conn, sql, "could not store a ceiling offset", err)) != AX_OK)
		return rc;
	return ax_pg_exec(conn, "COMMIT", "could not commit a ceiling batch", err);
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

/* Copy the applied rows out of the database admin is on (admin_dsn), then load them raw on
 * o->partitions connections and time it, into r. */
static int
load_ceiling(const struct bench_opts *o, PGconn *admin, const char *admin_dsn,
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
	if ((rc = ax_pg_exec(admin, "CREATE SCHEMA bench_ceiling",
	         "could not create the ceiling schema", err)) != AX_OK)
		goto out;
	for (k = 0; k < NCEIL; k++) {
		snprintf(sql, sizeof(sql),
		    "CREATE TABLE bench_ceiling.%s (LIKE axiom.%s INCLUDING DEFAULTS INCLUDING "
		    "INDEXES)",
		    ceiling_tables[k], ceiling_tables[k]);
		if ((rc = ax_pg_exec(admin, sql, "could not create a ceiling table", err)) != AX_OK)
			goto out;
		if ((rc = copy_out(admin, ceiling_tables[k], &c.t[k], err)) != AX_OK)
			goto out;
		r->ceiling_rows += (long)c.t[k].n;
	}
	if ((rc = ax_pg_exec(admin,
	         "CREATE TABLE bench_ceiling.partition_offsets (LIKE axiom.partition_offsets "
	         "INCLUDING DEFAULTS INCLUDING INDEXES)",
	         "could not create a ceiling table", err)) != AX_OK)
		goto out;
	r->ceiling_commands = (long)c.t[LEDGER].n; /* one ledger entry per command */
	c.nbatches = (c.t[LEDGER].n + (size_t)o->batch_max - 1) / (size_t)o->batch_max;
	if (c.nbatches == 0)
		goto out;
	bench_say(log,
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

/* The CEILING phase, on the bench database (invariant 3). */
int
bench_ceiling(struct bench_ctx *ctx, struct ax_err *err)
{
	struct bench_result *r = ctx->r;
	int rc;

	if ((rc = load_ceiling(ctx->o, ctx->admin_bench, ctx->admin_db, r, ctx->log, err)) != AX_OK)
		return rc;
	bench_say(ctx->log, "ceiling: %.0f commands/s (%.2f s); apply/ceiling %.2f",
	    r->ceiling_rate, r->ceiling_seconds, r->ratio);
	return AX_OK;
}
