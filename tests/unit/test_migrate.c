/*
 * test_migrate.c - the statements digest of common/io/ax_migrate.h, by which a released
 * migration may have its comments rewritten: comments and the amount of white space do not
 * change it; a statement, a string literal, a quoted identifier or a dollar-quoted body does.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_migrate.h"

static void
digest(const char *sql, uint8_t out[32])
{
	struct ax_err err;

	ck_assert_int_eq(
	    ax_migrate_statements_sha256((const uint8_t *)sql, strlen(sql), out, &err), AX_OK);
}

static int
same(const char *a, const char *b)
{
	uint8_t x[32], y[32];

	digest(a, x);
	digest(b, y);
	return memcmp(x, y, 32) == 0;
}

static const char BASE[] = "-- header, design notes\n"
                           "CREATE TABLE t (a int); /* a block /* nested */ comment */\n"
                           "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$\n"
                           "BEGIN\n"
                           "\t-- inside the body\n"
                           "\tRETURN 'it''s -- not a comment';\n"
                           "END $body$;\n";

START_TEST(test_comments_and_white_space_do_not_change_the_statements_digest)
{
	ck_assert(same(BASE, "-- another header citing docs/architecture.md\n"
	                     "-- over two lines\n"
	                     "CREATE TABLE t (a int);\n"
	                     "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$\n"
	                     "BEGIN\n"
	                     "\t-- another comment inside the body\n"
	                     "\tRETURN 'it''s -- not a comment';\n"
	                     "END $body$;"));
	ck_assert(same("SELECT 1;", "  SELECT   1 ; -- trailing\n") == 0); /* space before ; */
	ck_assert(same("SELECT 1 ;", "  SELECT\t\n1 ; -- trailing\n"));
}
END_TEST

START_TEST(test_a_statement_a_literal_an_identifier_or_a_body_changes_the_digest)
{
	ck_assert(!same(BASE, "-- header, design notes\n"
	                      "CREATE TABLE t (a bigint);\n"
	                      "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$\n"
	                      "BEGIN\n"
	                      "\tRETURN 'it''s -- not a comment';\n"
	                      "END $body$;\n"));
	ck_assert(!same("SELECT 'a  b';", "SELECT 'a b';"));  /* literals are copied whole */
	ck_assert(!same("SELECT 'x -- y';", "SELECT 'x ';")); /* no comment in a literal */
	ck_assert(!same("SELECT \"A  b\" FROM t;", "SELECT \"A b\" FROM t;"));
	ck_assert(!same("DO $$ BEGIN PERFORM 1; END $$;", "DO $$ BEGIN PERFORM 2; END $$;"));
	ck_assert(!same("SELECT 1;", "SELECT 1; SELECT 2;"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_comments_and_white_space_do_not_change_the_statements_digest);
	tcase_add_test(tc, test_a_statement_a_literal_an_identifier_or_a_body_changes_the_digest);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
