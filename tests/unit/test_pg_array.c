/*
 * test_pg_array.c - PostgreSQL array literals built element by element (ax_pg.h): quoting,
 * the empty array, growth, and adding after the literal was read.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_pg.h"

START_TEST(test_empty_array_is_braces)
{
	struct ax_pg_array a = { NULL, 0, 0 };

	ck_assert_str_eq(ax_pg_array_text(&a), "{}");
	ax_pg_array_free(&a);
	ck_assert_ptr_null(a.buf);
}
END_TEST

START_TEST(test_elements_are_quoted_and_escaped)
{
	struct ax_pg_array a = { NULL, 0, 0 };

	ck_assert_int_eq(ax_pg_array_add(&a, "plain"), 0);
	ck_assert_int_eq(ax_pg_array_add(&a, ""), 0);
	ck_assert_int_eq(ax_pg_array_add(&a, "a \"quote\", a \\ and {braces}"), 0);
	ck_assert_int_eq(ax_pg_array_add(&a, "NULL"), 0); /* quoted: the text NULL */
	ck_assert_str_eq(ax_pg_array_text(&a),
	    "{\"plain\",\"\",\"a \\\"quote\\\", a \\\\ and {braces}\",\"NULL\"}");
	ax_pg_array_free(&a);
}
END_TEST

START_TEST(test_adding_after_reading_continues_the_array)
{
	struct ax_pg_array a = { NULL, 0, 0 };
	char big[3000];
	size_t i;

	ck_assert_int_eq(ax_pg_array_add(&a, "1"), 0);
	ck_assert_str_eq(ax_pg_array_text(&a), "{\"1\"}");
	memset(big, '"', sizeof(big) - 1); /* worst case: every byte escaped */
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(ax_pg_array_add(&a, big), 0);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(ax_pg_array_add(&a, "x"), 0);
	ck_assert_uint_eq(strlen(ax_pg_array_text(&a)),
	    strlen("{\"1\"") + 1 + 2 + 2 * (sizeof(big) - 1) + 100 * 4 + 1);
	ck_assert_int_eq(strncmp(ax_pg_array_text(&a), "{\"1\",\"\\\"\\\"", 10), 0);
	ck_assert_int_eq(a.buf[strlen(a.buf) - 1], '}');
	ax_pg_array_free(&a);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pg_array");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_empty_array_is_braces);
	tcase_add_test(tc, test_elements_are_quoted_and_escaped);
	tcase_add_test(tc, test_adding_after_reading_continues_the_array);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
