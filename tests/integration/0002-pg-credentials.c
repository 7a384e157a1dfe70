/*
 * 0002-pg-credentials - the stack's PostgreSQL 15 answers queries with the generated
 * credentials, refuses a login without them (scram-sha-256 over loopback TCP), and keeps
 * its secrets in files of mode 0600; and the adapter's prepared statements (ax_pg_exec_stmt)
 * are prepared once per server session, again after a reset, on a new connection, and when
 * the session lost one or its result type changed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ax_check_int.h"
#include "ax_pg.h"

static void
expect_login(const char *var, const char *user)
{
	const char *dsn = getenv(var);
	struct ax_err err;
	PGconn *conn = NULL;
	char who[128], ver[32];

	ck_assert_msg(dsn != NULL, "%s is not set (run through tests/with-stack)", var);
	ck_assert_msg(
	    ax_pg_connect(&conn, dsn, user, &err) == AX_OK, "%s: %s", err.msg, err.detail);
	ck_assert_int_eq(
	    ax_pg_query_value(conn, "SELECT current_user", who, sizeof(who), &err), AX_OK);
	ck_assert_str_eq(who, user);
	ck_assert_int_eq(
	    ax_pg_query_value(conn, "SELECT current_setting('server_version_num')::int / 10000",
	        ver, sizeof(ver), &err),
	    AX_OK);
	ck_assert_str_eq(ver, "15");
	ck_assert_int_eq(ax_pg_query_value(conn, "SELECT 40 + 2", ver, sizeof(ver), &err), AX_OK);
	ck_assert_str_eq(ver, "42");
	PQfinish(conn);
}

START_TEST(test_admin_and_runtime_logins_answer_queries)
{
	expect_login("AXIOM_PG_ADMIN_DSN", "axiom_admin");
	expect_login("AXIOM_PG_DSN", "axiom_user");
	expect_login("AXIOM_PG_ANALYTICS_DSN", "axiom_analytics");
	expect_login("AXIOM_PG_AUDITOR_DSN", "axiom_auditor");
}
END_TEST

START_TEST(test_login_without_the_password_is_refused)
{
	const char *dsn = getenv("AXIOM_PG_DSN");
	struct ax_err err;
	PGconn *conn = NULL;
	char bad[1024];

	ck_assert_ptr_nonnull(dsn);
	/* a later passfile keyword wins: /dev/null holds no password */
	snprintf(bad, sizeof(bad), "%s passfile=/dev/null", dsn);
	ck_assert_int_eq(ax_pg_connect(&conn, bad, "the runtime login", &err), AX_EINVAL);
	ck_assert_ptr_null(conn);
	ck_assert_ptr_nonnull(strstr(err.msg, "could not connect to PostgreSQL"));
	snprintf(bad, sizeof(bad), "%s password=wrong passfile=/dev/null", dsn);
	ck_assert_int_eq(ax_pg_connect(&conn, bad, "the runtime login", &err), AX_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.detail, "password authentication failed"));
}
END_TEST

START_TEST(test_secrets_are_mode_0600)
{
	static const char *const files[] = { "pgpass", "axiom_admin.password",
		"axiom_user.password", "axiom_analytics.password", "axiom_auditor.password" };
	const char *dir = getenv("AXIOM_STACK_DIR");
	struct stat st;
	char path[1024];
	size_t i;

	ck_assert_ptr_nonnull(dir);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/secrets/%s", dir, files[i]);
		ck_assert_msg(stat(path, &st) == 0, "%s is missing", path);
		ck_assert_msg(
		    (st.st_mode & 0777) == 0600, "%s has mode %o", path, st.st_mode & 0777);
	}
}
END_TEST

START_TEST(test_unreachable_server_is_a_bounded_clear_error)
{
	struct ax_err err;
	PGconn *conn = NULL;

	ck_assert_int_eq(
	    ax_pg_connect(&conn, "host=127.0.0.1 port=9 dbname=axiom user=x connect_timeout=3",
	        "the runtime login", &err),
	    AX_EUNAVAIL);
	ck_assert_ptr_nonnull(strstr(err.hint, "ops/stack up"));
}
END_TEST

/* How many statements named name the session of conn holds prepared. */
static int
prepared_count(PGconn *conn, const char *name)
{
	const char *params[1] = { name };
	PGresult *res =
	    PQexecParams(conn, "SELECT count(*) FROM pg_prepared_statements WHERE name = $1", 1,
	        NULL, params, NULL, NULL, 0);
	int n;

	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	n = dbt_int(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* Run s with one parameter and expect one row whose first column is want. */
static void
expect_stmt(PGconn *conn, const struct ax_pg_stmt *s, const char *param, const char *want)
{
	const char *params[1] = { param };
	PGresult *res = ax_pg_exec_stmt(conn, s, params);

	ck_assert_msg(
	    PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", s->name, PQresultErrorMessage(res));
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), want);
	PQclear(res);
}

START_TEST(test_a_statement_is_prepared_once_per_session)
{
	static const struct ax_pg_stmt twice = { "ax_test_twice", "SELECT $1::integer * 2", 1 };
	static const struct ax_pg_stmt upper = { "ax_test_upper", "SELECT upper($1)", 1 };
	static const struct ax_pg_stmt broken = { "ax_test_broken", "SELEC $1", 1 };
	struct ax_err err;
	PGconn *conn = NULL, *other = NULL;
	PGresult *res;
	const char *params[1] = { "x" };

	ck_assert_int_eq(
	    ax_pg_connect(&conn, getenv("AXIOM_PG_DSN"), "the runtime role", &err), AX_OK);
	ck_assert_int_eq(prepared_count(conn, "ax_test_twice"), 0);
	expect_stmt(conn, &twice, "21", "42");
	ck_assert_int_eq(prepared_count(conn, "ax_test_twice"), 1);
	/* run again: not prepared a second time (that would fail: the name exists) */
	expect_stmt(conn, &twice, "5", "10");
	expect_stmt(conn, &upper, "abc", "ABC");
	expect_stmt(conn, &twice, "7", "14");
	ck_assert_int_eq(prepared_count(conn, "ax_test_twice"), 1);
	ck_assert_int_eq(prepared_count(conn, "ax_test_upper"), 1);

	/* a statement that does not parse: its error is the result, every time (it is not
	 * remembered as prepared), and the others go on */
	res = ax_pg_exec_stmt(conn, &broken, params);
	ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42601");
	PQclear(res);
	res = ax_pg_exec_stmt(conn, &broken, params);
	ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42601");
	PQclear(res);
	expect_stmt(conn, &twice, "8", "16");

	/* a reset connection is a new server session: the statements are prepared again */
	PQreset(conn);
	ck_assert_int_eq(PQstatus(conn), CONNECTION_OK);
	ck_assert_int_eq(prepared_count(conn, "ax_test_twice"), 0);
	expect_stmt(conn, &twice, "9", "18");
	expect_stmt(conn, &upper, "d", "D");
	ck_assert_int_eq(prepared_count(conn, "ax_test_twice"), 1);

	/* another connection prepares its own */
	ck_assert_int_eq(
	    ax_pg_connect(&other, getenv("AXIOM_PG_DSN"), "the runtime role", &err), AX_OK);
	expect_stmt(other, &twice, "1", "2");
	ck_assert_int_eq(prepared_count(other, "ax_test_twice"), 1);
	PQfinish(other);
	expect_stmt(conn, &twice, "2", "4");
	PQfinish(conn);
}
END_TEST

/* Run sql on conn for its effect and expect success. */
static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	ck_assert_msg(
	    PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

START_TEST(test_a_statement_the_session_lost_or_outgrew_is_prepared_again)
{
	static const struct ax_pg_stmt twice = { "ax_test_twice", "SELECT $1::integer * 2", 1 };
	static const struct ax_pg_stmt col = { "ax_test_col",
		"SELECT a FROM pg_temp.t WHERE $1 = $1", 1 };
	struct ax_err err;
	PGconn *conn = NULL;
	PGresult *res;
	const char *params[1] = { "3" };

	ck_assert_int_eq(
	    ax_pg_connect(&conn, getenv("AXIOM_PG_ADMIN_DSN"), "the admin role", &err), AX_OK);
	/* prepared on the session behind the adapter's back: taken as prepared */
	res = PQprepare(conn, "ax_test_twice", "SELECT $1::integer * 2", 1, NULL);
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	expect_stmt(conn, &twice, "4", "8");
	ck_assert_int_eq(prepared_count(conn, "ax_test_twice"), 1);

	/* deallocated behind its back: prepared again, the call answered */
	exec_ok(conn, "DEALLOCATE ax_test_twice");
	expect_stmt(conn, &twice, "6", "12");
	expect_stmt(conn, &twice, "7", "14");

	/* inside a transaction block the error is the answer (the block is aborted), and the
	 * next call outside it prepares again (DEALLOCATE is not undone by the rollback) */
	exec_ok(conn, "BEGIN");
	exec_ok(conn, "DEALLOCATE ax_test_twice");
	res = ax_pg_exec_stmt(conn, &twice, params);
	ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "26000");
	PQclear(res);
	exec_ok(conn, "ROLLBACK");
	expect_stmt(conn, &twice, "3", "6");

	/* the result type of the statement changed under it (what a migration may do) */
	exec_ok(conn, "CREATE TEMP TABLE t (a integer)");
	exec_ok(conn, "INSERT INTO t VALUES (42)");
	expect_stmt(conn, &col, "x", "42");
	exec_ok(conn, "ALTER TABLE t ALTER a TYPE text USING 'forty-two'");
	expect_stmt(conn, &col, "x", "forty-two");
	ck_assert_int_eq(prepared_count(conn, "ax_test_col"), 1);
	PQfinish(conn);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0002-pg-credentials");
	TCase *tc = tcase_create("server");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_admin_and_runtime_logins_answer_queries);
	tcase_add_test(tc, test_login_without_the_password_is_refused);
	tcase_add_test(tc, test_secrets_are_mode_0600);
	tcase_add_test(tc, test_unreachable_server_is_a_bounded_clear_error);
	tcase_add_test(tc, test_a_statement_is_prepared_once_per_session);
	tcase_add_test(tc, test_a_statement_the_session_lost_or_outgrew_is_prepared_again);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
