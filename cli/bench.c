/*
 * bench.c - `axiom bench`; see bench.h for the invariants and the phases.
 *
 * bench_run calls the phases in order on one context (struct bench_ctx, bench_int.h): SETUP
 * here, CONTROL, THROUGHPUT, LATENCY (bench_phases.c), CEILING (bench_ceiling.c), REPLAY,
 * VERIFY, SCALE, SIGNATURES (bench_phases.c), then CLEANUP here, which undoes whatever SETUP made
 * however far the run got. The table, the JSON and the plot are bench_report.c's.
 *
 * Threads: the main thread drives the phases and publishes; one listener thread owns the
 * LISTEN connection and appends a sample per committed command (under its mu); the ceiling
 * runs its loaders on as many threads as there are partitions. Children: `axiom apply`
 * (seeding the signable records, throughput, latency, SCALE) and `axiom verify`, spawned
 * from o->self, their logs in the work folder.
 */
#include "bench.h"

#include <errno.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_kafka.h"
#include "ax_migrate.h"
#include "ax_pg.h"
#include "ax_publish.h"
#include "ax_topics.h"
#include "bench_int.h"

/* ---- small helpers ---------------------------------------------------------------------- */

/* One progress line "bench: ..." on log (NULL: none). */
void
bench_say(FILE *log, const char *fmt, ...)
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

/* ---- the throwaway objects (invariant 1) ------------------------------------------------- */

/* Create db and migrate it from dir. */
int
bench_create_database(
    PGconn *admin, const char *db, const char *admin_dsn, const char *dir, struct ax_err *err)
{
	struct ax_migrate_report rep;
	PGconn *conn = NULL;
	char sql[256], dsn[1024];
	int rc;

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if ((rc = ax_pg_exec(admin, sql, "could not create the benchmark database", err)) != AX_OK)
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
	(void)ax_pg_exec(admin, sql, "could not drop a benchmark database", &err);
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

/* ---- SETUP and CLEANUP -------------------------------------------------------------------- */

/* The names of the run's throwaway objects and its children's options (invariant 1). */
static void
name_objects(struct bench_ctx *c)
{
	const struct ax_config *cfg = c->cfg;
	struct bench_result *r = c->r;

	snprintf(r->tag, sizeof(r->tag), "%ld_%ld", (long)getpid(), (long)time(NULL));
	snprintf(c->db, sizeof(c->db), "axiom_bench_%s", r->tag);
	snprintf(c->db2, sizeof(c->db2), "axiom_bench_%s_replay", r->tag);
	snprintf(c->prefix, sizeof(c->prefix), "bench-%s", r->tag);
	snprintf(c->group, sizeof(c->group), "bench-%s-apply", r->tag);
	snprintf(c->rgroup, sizeof(c->rgroup), "bench-%s-replay", r->tag);
	snprintf(c->workdir, sizeof(c->workdir), "%s/axiom-bench-%s",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", r->tag);
	snprintf(c->admin_db, sizeof(c->admin_db), "%s dbname=%s", cfg->pg_admin_dsn, c->db);
	snprintf(c->user_db, sizeof(c->user_db), "%s dbname=%s", cfg->pg_dsn, c->db);
	snprintf(c->auditor_db, sizeof(c->auditor_db), "%s dbname=%s", cfg->pg_auditor_dsn, c->db);
	snprintf(c->user_db2, sizeof(c->user_db2), "%s dbname=%s", cfg->pg_dsn, c->db2);
	snprintf(
	    c->auditor_db2, sizeof(c->auditor_db2), "%s dbname=%s", cfg->pg_auditor_dsn, c->db2);
	snprintf(c->batch, sizeof(c->batch), "%d", c->o->batch_max);
	snprintf(c->batch_ms, sizeof(c->batch_ms), "%d", c->o->batch_ms);
	c->latency_n = c->o->latency_commands > 0
	                   ? c->o->latency_commands
	                   : (c->o->commands / 4 > 200 ? c->o->commands / 4 : 200);
}

/*
 * SETUP: the bench database, migrated, and the commit listener's thread (invariant 2); the
 * topics; the producer; the command mix. Each step sets the flag or handle that tells cleanup
 * what to undo.
 */
static int
setup(struct bench_ctx *c, struct ax_err *err)
{
	const struct ax_config *cfg = c->cfg;
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	char on[8];
	int rc;

	bench_say(c->log, "setup: database %s, topics %s.*, %d partitions, work folder %s", c->db,
	    c->prefix, c->o->partitions, c->workdir);
	if ((rc = ax_pg_connect(&c->admin, cfg->pg_admin_dsn, "the admin", err)) != AX_OK)
		return rc;
	if ((rc = bench_create_database(c->admin, c->db, cfg->pg_admin_dsn, c->o->db_dir, err)) !=
	    AX_OK)
		return rc;
	c->db_made = true;
	if ((rc = ax_pg_connect(&c->admin_bench, c->admin_db, "the admin", err)) != AX_OK)
		return rc;
	c->pm = bench_postmaster_pid(c->admin_bench);
	/* invariant 2: the commit listener reads the commit times PostgreSQL records */
	if ((rc = ax_pg_connect(&c->lis.conn, c->admin_db, "the admin (listener)", err)) != AX_OK)
		return rc;
	if ((rc = ax_pg_query_value(
	         c->lis.conn, "SHOW track_commit_timestamp", on, sizeof(on), err)) != AX_OK)
		return rc;
	if (strcmp(on, "on") != 0) {
		rc = ax_err_set(err, AX_EINVAL,
		    "the bench reads commit times: the server needs track_commit_timestamp = on");
		ax_err_detail(err,
		    "ops/stack sets it when it creates the cluster; on an older one: "
		    "ALTER SYSTEM SET track_commit_timestamp = on, then restart.");
		return rc;
	}
	snprintf(c->lis.topic, sizeof(c->lis.topic), "%s.commands", c->prefix);
	c->lis.partitions = c->o->partitions;
	if ((c->lis.seq = calloc((size_t)c->o->partitions, sizeof(*c->lis.seq))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	if (pthread_create(&c->lis.thread, NULL, bench_listener_main, &c->lis) != 0)
		return ax_err_set(err, AX_ERR, "could not start the listener thread");
	c->lis_started = true;
	if ((rc = ax_codec_new(&c->codec, NULL, err)) != AX_OK)
		return rc;
	c->pb.codec = c->codec;
	snprintf(c->pb.control, sizeof(c->pb.control), "%s.control", c->prefix);
	snprintf(c->pb.commands, sizeof(c->pb.commands), "%s.commands", c->prefix);
	/* the throwaway topics and groups are the admin's to create and delete */
	if ((rc = ax_kafka_new(
	         &c->kadmin, RD_KAFKA_PRODUCER, cfg->brokers, AX_KAFKA_ADMIN, NULL, err)) != AX_OK)
		return rc;
	if ((rc = ax_topics_plan(specs, c->prefix, c->o->partitions, err)) != AX_OK)
		return rc;
	if ((rc = ax_kafka_create_topics(c->kadmin, specs, AX_TOPIC_COUNT, 30000, err)) != AX_OK)
		return rc;
	c->topics_made = true;
	/* the producer after the topics: their ACLs (granted with them) are what lets the
	 * control principal's idempotent producer get its producer id on a fresh broker */
	if ((rc = ax_producer_new(&c->pb.p, cfg->brokers, AX_KAFKA_CONTROL, 60000, err)) != AX_OK)
		return rc;
	if (bench_gen_init(
	        &c->g, c->o->partitions, c->o->change_pct, c->o->sign_pct, c->o->refuse_pct) != 0)
		return ax_err_set(err, AX_ERR, "could not set up the command mix (out of memory?)");
	c->gen_made = true;
	return AX_OK;
}

/*
 * CLEANUP: stop the listener and hand its samples to the result, then remove the throwaway
 * objects SETUP made (unless kept) and free the rest, whatever phase the run reached.
 */
static void
cleanup(struct bench_ctx *c)
{
	const struct bench_opts *o = c->o;

	if (c->lis_started) {
		atomic_store(&c->lis.stop, 1);
		pthread_join(c->lis.thread, NULL);
	}
	pthread_mutex_lock(&c->lis.mu);
	c->r->samples = c->lis.s;
	c->r->nsamples = c->lis.n;
	c->lis.s = NULL;
	pthread_mutex_unlock(&c->lis.mu);
	PQfinish(c->lis.conn);
	free(c->lis.seq);
	PQfinish(c->admin_bench);
	if (!o->keep && c->admin != NULL) {
		if (c->db_made)
			drop_database(c->admin, c->db);
		if (c->db2_made)
			drop_database(c->admin, c->db2);
	}
	if (!o->keep && c->topics_made && c->kadmin != NULL) {
		const char *const groups[] = { c->group, c->rgroup };

		delete_kafka(c->kadmin, c->prefix, groups, 2);
	}
	if (c->kadmin != NULL)
		rd_kafka_destroy(c->kadmin);
	if (o->keep)
		bench_say(c->log, "kept: databases %s and %s, topics %s.*, logs in %s", c->db,
		    c->db2, c->prefix, c->workdir);
	else
		bench_say(c->log, "logs of the children in %s", c->workdir);
	PQfinish(c->admin);
	ax_producer_free(c->pb.p);
	ax_codec_free(c->codec);
	if (c->gen_made)
		bench_gen_free(&c->g);
	pthread_mutex_destroy(&c->lis.mu);
}

/* ---- the run ------------------------------------------------------------------------------ */

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
	o->sign_pct = 5;
	o->refuse_pct = 2;
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
	/* the phases in order (bench.h); the first that fails ends the run, CLEANUP follows */
	static int (*const phases[])(struct bench_ctx *, struct ax_err *) = { setup,
		bench_seed_control, bench_throughput, bench_latency, bench_ceiling, bench_replay,
		bench_verify, bench_scale, bench_signatures };
	struct bench_ctx *c = calloc(1, sizeof(*c));
	size_t i;
	int rc = AX_OK;

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	c->o = o;
	c->cfg = o->cfg;
	c->r = r;
	c->log = log;
	c->pm = -1;
	pthread_mutex_init(&c->lis.mu, NULL);
	bench_describe_machine(r);
	name_objects(c);
	if (mkdir(c->workdir, 0700) != 0) {
		rc = ax_err_set(
		    err, AX_ERR, "could not create the folder %s: %s", c->workdir, strerror(errno));
		pthread_mutex_destroy(&c->lis.mu);
		free(c);
		return rc;
	}
	for (i = 0; i < sizeof(phases) / sizeof(phases[0]) && rc == AX_OK; i++)
		rc = phases[i](c, err);
	cleanup(c);
	free(c);
	return rc;
}
