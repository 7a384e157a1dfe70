/*
 * ax_dbtest.h - fixture of the database integration tests (0100-0199): each test program
 * creates its own throwaway database axiom_it_<name> through the admin DSN, migrates it with
 * ax_migrate_run (db/ of $AXIOM_ROOT), connects the login roles to it, and drops it at the
 * end. Test code only: header-only, Check assertions, tests run without fork so that the
 * connections are shared.
 */
#ifndef AXIOM_TESTS_DBTEST_H
#define AXIOM_TESTS_DBTEST_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_check_int.h"
#include "ax_migrate.h"
#include "ax_pg.h"

struct dbt {
	char db[64];
	PGconn *admin;     /* superuser, in the test database */
	PGconn *user;      /* axiom_user: the batch entry point and the applier's reads only */
	PGconn *api;       /* the per-command API as a batch reaches it: see dbt_setup */
	PGconn *analytics; /* axiom_analytics */
	PGconn *auditor;   /* axiom_auditor */
};

static struct dbt T;

/* The ledger of dbt_seed's control batch. */
#define DBT_SEED_TOPIC "axiom_it.seed"

static inline void
dbt_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static inline PGconn *
dbt_connect_to(const char *var, const char *db)
{
	const char *dsn = getenv(var);
	struct ax_err err;
	PGconn *conn = NULL;
	char full[2048];

	ck_assert_msg(dsn != NULL, "%s is not set (run through tests/with-stack)", var);
	snprintf(full, sizeof(full), "%s dbname=%s", dsn, db);
	ck_assert_msg(
	    ax_pg_connect(&conn, full, var, &err) == AX_OK, "%s: %s", err.msg, err.detail);
	PQsetNoticeProcessor(conn, dbt_quiet, NULL);
	return conn;
}

/* The longest statement a helper below runs; a longer one fails the test, never truncated. */
#define DBT_SQL_MAX 16384

/* Format fmt into sql (DBT_SQL_MAX bytes) and run it on conn. */
static inline PGresult *
dbt_vrun(PGconn *conn, char *sql, const char *fmt, va_list ap)
{
	int n = vsnprintf(sql, DBT_SQL_MAX, fmt, ap);

	ck_assert_msg(n >= 0 && n < DBT_SQL_MAX, "statement longer than %d bytes: %.200s...",
	    DBT_SQL_MAX, sql);
	return PQexec(conn, sql);
}

/* Run sql on conn; the SQLSTATE of its error, or "" when it succeeded. */
static inline const char *dbt_state(PGconn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline const char *
dbt_state(PGconn *conn, const char *fmt, ...)
{
	static char state[6];
	char sql[DBT_SQL_MAX];
	PGresult *res;
	va_list ap;
	const char *s;

	va_start(ap, fmt);
	res = dbt_vrun(conn, sql, fmt, ap);
	va_end(ap);
	state[0] = '\0';
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		snprintf(state, sizeof(state), "%s", s ? s : "?????");
	}
	PQclear(res);
	return state;
}

/* Run sql on conn and fail the test unless it succeeds. */
static inline void dbt_exec(PGconn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
dbt_exec(PGconn *conn, const char *fmt, ...)
{
	char sql[DBT_SQL_MAX];
	PGresult *res;
	va_list ap;

	va_start(ap, fmt);
	res = dbt_vrun(conn, sql, fmt, ap);
	va_end(ap);
	ck_assert_msg(
	    PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
	    "%s\nfailed: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

/* The first column of the first row of sql ("" for NULL, "(no row)" for none). */
static inline const char *dbt_value(PGconn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline const char *
dbt_value(PGconn *conn, const char *fmt, ...)
{
	static char out[4096];
	char sql[DBT_SQL_MAX];
	PGresult *res;
	va_list ap;

	va_start(ap, fmt);
	res = dbt_vrun(conn, sql, fmt, ap);
	va_end(ap);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s\nfailed: %s", sql,
	    PQresultErrorMessage(res));
	snprintf(out, sizeof(out), "%s",
	    PQntuples(res) == 0      ? "(no row)"
	    : PQgetisnull(res, 0, 0) ? ""
	                             : PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

/*
 * Call an API function returning axiom_api.outcome (call is "axiom_api.f(...)"); returns
 * "accepted" or the reason code.
 */
static inline const char *dbt_call(PGconn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline const char *
dbt_call(PGconn *conn, const char *fmt, ...)
{
	static const char select[] = "SELECT coalesce(reason_code, decision) FROM ";
	static char out[128];
	char format[DBT_SQL_MAX], sql[DBT_SQL_MAX];
	PGresult *res;
	va_list ap;

	ck_assert_int_lt(strlen(select) + strlen(fmt), sizeof(format));
	snprintf(format, sizeof(format), "%s%s", select, fmt);
	va_start(ap, fmt);
	res = dbt_vrun(conn, sql, format, ap);
	va_end(ap);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1,
	    "%s\nfailed: %s", sql, PQresultErrorMessage(res));
	snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

/*
 * The integer the statistics query sql gives on T.api (as the admin: axiom_definer may not
 * read them), about the open transaction of T.api: its own counters, which neither wait for a
 * statistics flush nor count another session's work. T.api is back in role axiom_definer
 * afterwards.
 */
static inline long long
dbt_xact_stat(const char *sql)
{
	long long n;

	dbt_exec(T.api, "RESET ROLE");
	n = dbt_int64(dbt_value(T.api, "%s", sql));
	dbt_exec(T.api, "SET ROLE axiom_definer");
	return n;
}

/*
 * Rows of axiom.<table> the open transaction of T.api read so far, by sequential scans and
 * through indexes (pg_stat_xact_user_tables): a test bounds what one command reads, whatever
 * the rows stored before it, without timing anything.
 */
static inline int
dbt_xact_rows_read(const char *table)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SELECT coalesce(sum(seq_tup_read + idx_tup_fetch), 0) FROM "
	    "pg_stat_xact_user_tables WHERE schemaname = 'axiom' AND relname = '%s'",
	    table);
	return (int)dbt_xact_stat(sql);
}

/*
 * Heap blocks of axiom.<table> the open transaction of T.api fetched so far, from shared
 * buffers or from disk (pg_stat_get_xact_blocks_fetched).
 */
static inline long long
dbt_xact_blocks_fetched(const char *table)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT pg_stat_get_xact_blocks_fetched('axiom.%s'::regclass)",
	    table);
	return dbt_xact_stat(sql);
}

/*
 * Entries of the indexes of axiom.<table> the open transaction of T.api read so far, dead ones
 * included (an index scan counts each entry before it checks the row's visibility).
 */
static inline long long
dbt_xact_index_entries_read(const char *table)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(indexrelid)), 0) FROM pg_index "
	    "WHERE indrelid = 'axiom.%s'::regclass",
	    table);
	return dbt_xact_stat(sql);
}

/*
 * Create version 1 of lineage id (record_id rid) as actor at event time et, the record hash
 * computed by the database's own canonical encoding (through the admin connection, as an
 * applier would with ax_canon). Returns the outcome as dbt_call does.
 */
static inline const char *
dbt_create(const char *actor, const char *et, const char *rid, const char *id, const char *type,
    const char *facility, const char *title)
{
	char hash[128];

	snprintf(hash, sizeof(hash), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash('%s', '%s', 1, NULL, NULL, '%s', '%s', "
	        "(SELECT domain_id FROM axiom.record_types WHERE record_type = '%s'), '%s', "
	        "'\\x00'::bytea, '%s', '%s', NULL), 'hex')",
	        rid, id, type, facility, type, title, actor, et));
	return dbt_call(T.api,
	    "axiom_api.create_record('%s', '%s', gen_random_uuid(), '%s', '%s', '%s', '%s', '%s', "
	    "'\\x00', decode('%s', 'hex'))",
	    actor, et, rid, id, type, facility, title, hash);
}

/*
 * The common cast of the tests, enrolled by the bootstrap administrator through the batch's
 * loop as one control batch of ledger DBT_SEED_TOPIC/0 (event times 2026-01-01 00:00:01..02
 * UTC; commands come later):
 *   F1, F2 facilities; QC, MICRO domains; record types note (QC, gate none),
 *   sop (QC, approve), spec (QC, review_approve), plate (MICRO, none);
 *   alice author F1/QC, bob reviewer F1/QC, carol manager F1/QC, dave manager F2/QC,
 *   erin reviewer F2/QC, frank technician F1/QC, gina author F1/MICRO,
 *   ana (db_role axiom_analytics) viewer F1/QC.
 * Grant ids: 000000000000-4000-8000-0000000000NN with NN per person (a1 alice ...).
 */
static inline void
dbt_seed(void)
{
	static const char *const people[][5] = {
		/* user, facility, domain, tier, grant suffix */
		{ "alice", "F1", "QC", "author", "a1" },
		{ "bob", "F1", "QC", "reviewer", "b1" },
		{ "carol", "F1", "QC", "manager", "c1" },
		{ "dave", "F2", "QC", "manager", "d2" },
		{ "erin", "F2", "QC", "reviewer", "e2" },
		{ "frank", "F1", "QC", "technician", "f1" },
		{ "gina", "F1", "MICRO", "author", "a9" },
		{ "ana", "F1", "QC", "viewer", "aa" },
	};
	static const char *const scopes[][3] = {
		{ "facility", "F1", "Plant 1" },
		{ "facility", "F2", "Plant 2" },
		{ "domain", "QC", "Quality" },
		{ "domain", "MICRO", "Micro" },
	};
	static const char *const types[][3] = {
		{ "note", "QC", "none" },
		{ "sop", "QC", "approve" },
		{ "spec", "QC", "review_approve" },
		{ "plate", "MICRO", "none" },
	};
	static const char head[] = "{\"offset\": %d, \"actor\": \"axiom-system\", "
	                           "\"event_time\": \"2026-01-01T00:00:0%dZ\", ";
	char batch[8192], h[160];
	size_t i, len = 0;
	int off = 0;

#define SEED_ADD(...) len += (size_t)snprintf(batch + len, sizeof(batch) - len, __VA_ARGS__)
	SEED_ADD("[");
	for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++, off++) {
		snprintf(h, sizeof(h), head, off, 1);
		SEED_ADD("%s%s\"op\": \"define_scope\", \"kind\": \"%s\", \"key\": \"%s\", "
		         "\"name\": \"%s\"}",
		    off ? ", " : "", h, scopes[i][0], scopes[i][1], scopes[i][2]);
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++, off++) {
		snprintf(h, sizeof(h), head, off, 1);
		SEED_ADD(", %s\"op\": \"configure_record_type\", \"record_type\": \"%s\", "
		         "\"domain_id\": \"%s\", \"gate\": \"%s\"}",
		    h, types[i][0], types[i][1], types[i][2]);
	}
	for (i = 0; i < sizeof(people) / sizeof(people[0]); i++, off++) {
		snprintf(h, sizeof(h), head, off, 1);
		SEED_ADD(", %s\"op\": \"enroll_user\", \"user_id\": \"%s\", "
		         "\"printed_name\": \"Person %s\", \"db_role\": %s, \"reason\": \"hired\"}",
		    h, people[i][0], people[i][0],
		    strcmp(people[i][0], "ana") == 0 ? "\"axiom_analytics\"" : "null");
	}
	for (i = 0; i < sizeof(people) / sizeof(people[0]); i++, off++) {
		snprintf(h, sizeof(h), head, off, 2);
		SEED_ADD(
		    ", %s\"op\": \"grant_access\", "
		    "\"grant_id\": \"00000000-0000-4000-8000-0000000000%s\", \"user_id\": \"%s\", "
		    "\"facility_id\": \"%s\", \"domain_id\": \"%s\", \"tier\": \"%s\", "
		    "\"reason\": \"job\"}",
		    h, people[i][4], people[i][0], people[i][1], people[i][2], people[i][3]);
	}
	SEED_ADD("]");
#undef SEED_ADD
	ck_assert_int_lt(len, sizeof(batch));
	/* through the batch's loop, so that every seeded row names its ledger entry */
	ck_assert_str_eq(dbt_value(T.api,
	                     "SELECT string_agg(DISTINCT coalesce(reason_code, decision), ',') "
	                     "FROM axiom.partition_commands('" DBT_SEED_TOPIC "', 0, true, NULL, "
	                     "'infinity', '%s'::jsonb, false)",
	                     batch),
	    "accepted");
}

/* Create, migrate and connect to database axiom_it_<name>. */
static inline void
dbt_setup(const char *name)
{
	const char *root = getenv("AXIOM_ROOT");
	struct ax_migrate_report rep;
	struct ax_err err;
	PGconn *admin;
	char dir[1024];

	memset(&T, 0, sizeof(T));
	snprintf(T.db, sizeof(T.db), "axiom_it_%s", name);
	snprintf(dir, sizeof(dir), "%s/db", root ? root : ".");
	admin = dbt_connect_to("AXIOM_PG_ADMIN_DSN", "postgres");
	dbt_exec(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)", T.db);
	dbt_exec(admin, "CREATE DATABASE %s", T.db);
	PQfinish(admin);
	T.admin = dbt_connect_to("AXIOM_PG_ADMIN_DSN", T.db);
	ck_assert_msg(ax_migrate_run(T.admin, dir, 0, &rep, NULL, NULL, &err) == AX_OK,
	    "migrate: %s | %s", err.msg, err.detail);
	T.user = dbt_connect_to("AXIOM_PG_DSN", T.db);
	/*
	 * The per-command API is internal since db/0018: the batch calls it as axiom_definer,
	 * with the ledger entry of each command in three settings. The tests of layers 2 to 6
	 * call it the same way, with a ledger reference no entry has (test/0#1): verify's ledger
	 * references check (0108) would name those rows, which no test of this kind runs.
	 */
	T.api = dbt_connect_to("AXIOM_PG_ADMIN_DSN", T.db);
	dbt_exec(T.api, "SET ROLE axiom_definer; SET axiom.ledger_topic = 'test'; "
	                "SET axiom.ledger_partition = '0'; SET axiom.ledger_seq = '1'");
	T.analytics = dbt_connect_to("AXIOM_PG_ANALYTICS_DSN", T.db);
	T.auditor = dbt_connect_to("AXIOM_PG_AUDITOR_DSN", T.db);
}

/* Disconnect and drop the test database. */
static inline void
dbt_teardown(void)
{
	PGconn *admin;

	PQfinish(T.user);
	PQfinish(T.api);
	PQfinish(T.analytics);
	PQfinish(T.auditor);
	PQfinish(T.admin);
	admin = dbt_connect_to("AXIOM_PG_ADMIN_DSN", "postgres");
	dbt_exec(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)", T.db);
	PQfinish(admin);
	memset(&T, 0, sizeof(T));
}

#endif
