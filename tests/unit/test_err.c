/*
 * test_err.c - the error carrier (ax_err.h) and configuration from the environment.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_config.h"
#include "ax_err.h"

START_TEST(test_set_clears_detail_and_hint_and_returns_the_code)
{
	struct ax_err err;

	ax_err_clear(&err);
	ax_err_detail(&err, "old detail");
	ax_err_hint(&err, "old hint");
	ck_assert_int_eq(ax_err_set(&err, AX_EUNAVAIL, "could not reach %s", "x"), AX_EUNAVAIL);
	ck_assert_str_eq(err.msg, "could not reach x");
	ck_assert_str_eq(err.detail, "");
	ck_assert_str_eq(err.hint, "");
	ck_assert_int_eq(err.code, AX_EUNAVAIL);
}
END_TEST

START_TEST(test_long_messages_are_truncated_not_overflowed)
{
	struct ax_err err;
	char big[4096];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ax_err_set(&err, AX_ERR, "%s", big);
	ax_err_detail(&err, "%s", big);
	ax_err_hint(&err, "%s", big);
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
	ck_assert_uint_eq(strlen(err.detail), sizeof(err.detail) - 1);
	ck_assert_uint_eq(strlen(err.hint), sizeof(err.hint) - 1);
}
END_TEST

START_TEST(test_print_shows_detail_and_hint_lines)
{
	struct ax_err err;
	char out[1024] = "";
	FILE *fp = fmemopen(out, sizeof(out), "w");

	ax_err_set(&err, AX_EINVAL, "bad thing");
	ax_err_detail(&err, "the facts");
	ax_err_hint(&err, "do this");
	ax_err_print(fp, "axiom x", &err);
	fclose(fp);
	ck_assert_str_eq(out, "axiom x: error: bad thing\nDETAIL: the facts\nHINT: do this\n");
}
END_TEST

START_TEST(test_config_reads_environment_and_requires_with_a_hint)
{
	struct ax_config cfg;
	struct ax_err err;

	unsetenv("AXIOM_BROKERS");
	setenv("AXIOM_PG_DSN", "host=127.0.0.1", 1);
	setenv("AXIOM_TOPIC_PREFIX", "", 1);
	ax_config_from_env(&cfg);
	ck_assert_ptr_null(cfg.brokers);
	ck_assert_str_eq(cfg.pg_dsn, "host=127.0.0.1");
	ck_assert_str_eq(cfg.topic_prefix, "axiom");
	ck_assert_int_eq(ax_config_require(&cfg, "AXIOM_PG_DSN", &err), AX_OK);
	ck_assert_int_eq(ax_config_require(&cfg, "AXIOM_BROKERS", &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "AXIOM_BROKERS is not set");
	ck_assert_ptr_nonnull(strstr(err.hint, "ops/stack env"));
	ck_assert_int_eq(ax_config_require(&cfg, "NOPE", &err), AX_EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_set_clears_detail_and_hint_and_returns_the_code);
	tcase_add_test(tc, test_long_messages_are_truncated_not_overflowed);
	tcase_add_test(tc, test_print_shows_detail_and_hint_lines);
	tcase_add_test(tc, test_config_reads_environment_and_requires_with_a_hint);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
