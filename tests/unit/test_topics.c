/*
 * test_topics.c - the topic plan and the checks of existing topics (ax_topics.h).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_topics.h"

static void
state_as_required(struct ax_topic_state *st, int partitions)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->exists = true;
	st->partitions = partitions;
	for (i = 0; i < ax_topic_configs_len; i++)
		strcpy(st->config[i], ax_topic_configs[i].value); /* NOLINT: fixed short literal */
}

START_TEST(test_plan_names_three_topics_with_one_control_partition)
{
	struct ax_topic_spec s[AX_TOPIC_COUNT];
	struct ax_err err;

	ck_assert_int_eq(ax_topics_plan(s, "axiom", 6, &err), AX_OK);
	ck_assert_str_eq(s[AX_TOPIC_CONTROL].name, "axiom.control");
	ck_assert_str_eq(s[AX_TOPIC_COMMANDS].name, "axiom.commands");
	ck_assert_str_eq(s[AX_TOPIC_AUDIT].name, "axiom.audit");
	ck_assert_int_eq(s[AX_TOPIC_CONTROL].partitions, 1);
	ck_assert_int_eq(s[AX_TOPIC_COMMANDS].partitions, 6);
	ck_assert_int_eq(s[AX_TOPIC_AUDIT].partitions, 6);
}
END_TEST

START_TEST(test_plan_rejects_illegal_prefixes_and_partition_counts)
{
	static const char *const bad[] = { "", "a b", "x/y", "..", ".", "tab\t", "ü",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	struct ax_topic_spec s[AX_TOPIC_COUNT];
	struct ax_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(ax_topics_plan(s, bad[i], 6, &err), AX_EINVAL);
		ck_assert_ptr_nonnull(strstr(err.msg, "invalid topic prefix"));
	}
	ck_assert_int_eq(ax_topics_plan(s, "ok.prefix-1_x", 6, &err), AX_OK);
	ck_assert_int_eq(ax_topics_plan(s, "axiom", 0, &err), AX_EINVAL);
	ck_assert_int_eq(ax_topics_plan(s, "axiom", AX_PARTITIONS_MAX + 1, &err), AX_EINVAL);
	ck_assert_int_eq(ax_topics_plan(s, "axiom", AX_PARTITIONS_MAX, &err), AX_OK);
}
END_TEST

START_TEST(test_check_accepts_a_topic_as_required)
{
	struct ax_topic_spec s[AX_TOPIC_COUNT];
	struct ax_topic_state st;
	struct ax_err err;
	char buf[1024];

	ck_assert_int_eq(ax_topics_plan(s, "axiom", 3, &err), AX_OK);
	state_as_required(&st, 3);
	ck_assert_int_eq(ax_topic_check(&s[AX_TOPIC_COMMANDS], &st, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_check_reports_missing_topic_with_the_command_that_creates_it)
{
	struct ax_topic_spec s[AX_TOPIC_COUNT];
	struct ax_topic_state st;
	struct ax_err err;
	char buf[1024];

	ck_assert_int_eq(ax_topics_plan(s, "axiom", 3, &err), AX_OK);
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(ax_topic_check(&s[AX_TOPIC_AUDIT], &st, buf, sizeof(buf)), 1);
	ck_assert_ptr_nonnull(strstr(buf, "axiom.audit does not exist"));
	ck_assert_ptr_nonnull(strstr(buf, "axiom topics create"));
}
END_TEST

START_TEST(test_check_reports_wrong_partition_count_and_every_wrong_config)
{
	struct ax_topic_spec s[AX_TOPIC_COUNT];
	struct ax_topic_state st;
	struct ax_err err;
	char buf[2048];

	ck_assert_int_eq(ax_topics_plan(s, "axiom", 6, &err), AX_OK);
	state_as_required(&st, 4);
	strcpy(st.config[0], "CreateTime");
	strcpy(st.config[1], "604800000");
	strcpy(st.config[2], "compact");
	ck_assert_int_eq(ax_topic_check(&s[AX_TOPIC_COMMANDS], &st, buf, sizeof(buf)), 4);
	ck_assert_ptr_nonnull(strstr(buf, "has 4 partitions, not 6"));
	ck_assert_ptr_nonnull(strstr(buf, "--partitions 4"));
	ck_assert_ptr_nonnull(strstr(buf, "message.timestamp.type=CreateTime, not LogAppendTime"));
	ck_assert_ptr_nonnull(strstr(buf, "retention.ms=604800000, not -1"));
	ck_assert_ptr_nonnull(strstr(buf, "cleanup.policy=compact, not delete"));
}
END_TEST

START_TEST(test_check_never_overflows_a_small_buffer)
{
	struct ax_topic_spec s[AX_TOPIC_COUNT];
	struct ax_topic_state st;
	struct ax_err err;
	char buf[16];

	ck_assert_int_eq(ax_topics_plan(s, "axiom", 6, &err), AX_OK);
	state_as_required(&st, 2);
	strcpy(st.config[0], "CreateTime");
	ck_assert_int_eq(ax_topic_check(&s[AX_TOPIC_CONTROL], &st, buf, sizeof(buf)), 2);
	ck_assert_uint_lt(strlen(buf), sizeof(buf));
}
END_TEST

START_TEST(test_parse_partitions_takes_only_whole_numbers_in_range)
{
	static const char *const bad[] = { "", "0", "-1", "1025", "6x", "x6", " 6", "6 ",
		"99999999999999999999", "0x10" };
	struct ax_err err;
	size_t i;
	int n = -7;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(ax_parse_partitions(&n, bad[i], &err), AX_EINVAL);
		ck_assert_int_eq(n, -7);
	}
	ck_assert_int_eq(ax_parse_partitions(&n, "12", &err), AX_OK);
	ck_assert_int_eq(n, 12);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("topics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_plan_names_three_topics_with_one_control_partition);
	tcase_add_test(tc, test_plan_rejects_illegal_prefixes_and_partition_counts);
	tcase_add_test(tc, test_check_accepts_a_topic_as_required);
	tcase_add_test(tc, test_check_reports_missing_topic_with_the_command_that_creates_it);
	tcase_add_test(tc, test_check_reports_wrong_partition_count_and_every_wrong_config);
	tcase_add_test(tc, test_check_never_overflows_a_small_buffer);
	tcase_add_test(tc, test_parse_partitions_takes_only_whole_numbers_in_range);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
