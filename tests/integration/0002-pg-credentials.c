/*
 * 0002-pg-credentials - the stack's PostgreSQL 15 answers queries with the generated
 * credentials, refuses a login without them (scram-sha-256 over loopback TCP), and keeps
 * its secrets in files of mode 0600.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
