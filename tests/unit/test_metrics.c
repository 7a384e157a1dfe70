/*
 * test_metrics.c - the applier's Prometheus figures (consumers/ax_metrics.h), the structured
 * log's quoting (common/base/ax_log.h) and the writers' retry delays (common/base/ax_backoff.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_backoff.h"
#include "ax_log.h"
#include "ax_metrics.h"

static char *
render(struct ax_metrics *m)
{
	struct ax_err err;
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(ax_metrics_render(m, &text, &len, &err), AX_OK);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

START_TEST(test_counters_are_kept_per_partition_decision_and_reason)
{
	struct ax_metrics *m;
	struct ax_err err;
	char *t;

	ck_assert_int_eq(ax_metrics_new(&m, &err), AX_OK);
	ax_metrics_outcome(m, "axiom.commands", 3, "accepted", "", 0.02);
	ax_metrics_outcome(m, "axiom.commands", 3, "accepted", NULL, 0.03);
	ax_metrics_outcome(m, "axiom.commands", 3, "rejected", "stale_previous_hash", 0.04);
	ax_metrics_outcome(m, "axiom.commands", 3, "quarantined", "undecodable", -1);
	ax_metrics_outcome(m, "axiom.control", 0, "accepted", "tick", 0.001);
	ax_metrics_claim_lost(m, "axiom.commands", 3);
	t = render(m);
	ck_assert_ptr_nonnull(strstr(t, "# TYPE axiom_applier_commands_total counter\n"));
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_commands_total{topic=\"axiom.commands\","
	                                "partition=\"3\",decision=\"accepted\",reason=\"\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_commands_total{topic=\"axiom.commands\",partition=\"3\","
	              "decision=\"rejected\",reason=\"stale_previous_hash\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "decision=\"quarantined\",reason=\"undecodable\"} 1\n"));
	/* an accepted outcome has no reason, whatever the caller passed */
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_commands_total{topic=\"axiom.control\","
	                                "partition=\"0\",decision=\"accepted\",reason=\"\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_claims_lost_total{topic=\"axiom.commands\","
	                                "partition=\"3\"} 1\n"));
	free(t);
	ax_metrics_free(m);
}
END_TEST

START_TEST(test_histograms_are_cumulative_with_sum_and_count)
{
	struct ax_metrics *m;
	struct ax_err err;
	char *t;

	ck_assert_int_eq(ax_metrics_new(&m, &err), AX_OK);
	ax_metrics_batch(m, "t", 0, 1, 0.002);
	ax_metrics_batch(m, "t", 0, 7, 0.3);
	ax_metrics_batch(m, "t", 0, 100000, 99);
	t = render(m);
	ck_assert_ptr_nonnull(strstr(t, "# TYPE axiom_applier_batch_size histogram\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_batch_size_bucket{topic=\"t\",partition=\"0\",le=\"1\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_batch_size_bucket{topic=\"t\",partition=\"0\",le=\"5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
	    t, "axiom_applier_batch_size_bucket{topic=\"t\",partition=\"0\",le=\"10\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(
	    t, "axiom_applier_batch_size_bucket{topic=\"t\",partition=\"0\",le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_batch_size_sum{topic=\"t\",partition=\"0\"} 100008\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_batch_size_count{topic=\"t\",partition=\"0\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "axiom_applier_batch_seconds_bucket{topic=\"t\",partition=\"0\",le=\"0.0025\"} 1\n"));
	free(t);
	ax_metrics_free(m);
}
END_TEST

START_TEST(test_gauges_say_lag_and_a_label_cannot_forge_a_series)
{
	struct ax_metrics *m;
	struct ax_err err;
	char *t;

	ck_assert_int_eq(ax_metrics_new(&m, &err), AX_OK);
	ax_metrics_partition(m, "a\"b\\c\nd", 2, 40, 50, -1, true, 7);
	t = render(m);
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_lag{topic=\"a\\\"b\\\\c\\nd\",partition=\"2\"} 10\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_waiting_for_control{topic=\"a\\\"b\\\\c\\nd\","
	              "partition=\"2\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_relay_backlog{topic=\"a\\\"b\\\\c\\nd\","
	                                "partition=\"2\"} 7\n"));
	/* every line is a comment, or a name, labels and a value: no raw newline in a label */
	for (const char *line = t; *line != '\0';) {
		const char *end = strchr(line, '\n');

		ck_assert_ptr_nonnull(end); /* every line ends with a newline */
		ck_assert_msg(line[0] == '#' || strncmp(line, "axiom_applier_", 14) == 0,
		    "stray line: %.*s", (int)(end - line), line);
		line = end + 1;
	}
	free(t);
	ax_metrics_free(m);
}
END_TEST

/* Markers and aborted records after the last applied message are not lag (ax_logend.h): the
 * measured lag is shown, not log_end - next_offset; an unknown log end keeps both. */
START_TEST(test_measured_lag_wins_over_the_offset_difference)
{
	struct ax_metrics *m;
	struct ax_err err;
	char *t;

	ck_assert_int_eq(ax_metrics_new(&m, &err), AX_OK);
	ax_metrics_partition(m, "t", 0, 40, 42, 0, false, 0);
	t = render(m);
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_lag{topic=\"t\",partition=\"0\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_log_end{topic=\"t\",partition=\"0\"} 42\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "axiom_applier_next_offset{topic=\"t\",partition=\"0\"} 40\n"));
	free(t);
	ax_metrics_partition(m, "t", 0, 40, 50, 7, false, 0);
	ax_metrics_partition(m, "t", 0, 41, -1, -1, false, 0);
	t = render(m);
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_lag{topic=\"t\",partition=\"0\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(t, "axiom_applier_log_end{topic=\"t\",partition=\"0\"} 50\n"));
	free(t);
	ax_metrics_free(m);
}
END_TEST

START_TEST(test_reasons_beyond_the_cap_fall_into_other)
{
	struct ax_metrics *m;
	struct ax_err err;
	char reason[32], *t;
	int i;

	ck_assert_int_eq(ax_metrics_new(&m, &err), AX_OK);
	for (i = 0; i < AX_METRICS_REASONS_MAX + 10; i++) {
		snprintf(reason, sizeof(reason), "r%d", i);
		ax_metrics_outcome(m, "t", 0, "rejected", reason, -1);
	}
	t = render(m);
	ck_assert_ptr_nonnull(strstr(t, "reason=\"r0\"} 1\n"));
	ck_assert_ptr_null(strstr(t, "reason=\"r70\""));
	ck_assert_ptr_nonnull(strstr(t, "reason=\"other\"} 11\n"));
	free(t);
	ax_metrics_free(m);
}
END_TEST

START_TEST(test_log_quote_escapes_quotes_backslashes_and_control_bytes)
{
	char q[64];

	ck_assert_str_eq(ax_log_quote(q, sizeof(q), "a \"b\"\\\tc\nd\r\x01"),
	    "\"a \\\"b\\\"\\\\\\tc\\nd\\r\\x01\"");
	ck_assert_str_eq(ax_log_quote(q, sizeof(q), NULL), "\"\"");
	ck_assert_str_eq(ax_log_quote(q, 12, "0123456789abcdef"), "\"01234...\"");
	ck_assert_uint_le(strlen(ax_log_quote(q, 12, "\t\t\t\t\t\t\t\t")), 11);
}
END_TEST

START_TEST(test_backoff_stays_within_bounds_and_resets)
{
	struct ax_backoff a, b;
	int i, d, top = 0;

	ax_backoff_init(&a, 50, 1000, 42);
	ax_backoff_init(&b, 50, 1000, 42);
	for (i = 0; i < 1000; i++) {
		d = ax_backoff_next(&a);
		ck_assert_int_ge(d, 50);
		ck_assert_int_le(d, 1000);
		ck_assert_int_eq(d, ax_backoff_next(&b)); /* a function of the seed */
		top = d > top ? d : top;
	}
	ck_assert_int_gt(top, 500); /* it does grow towards the cap */
	ax_backoff_reset(&a);
	ck_assert_int_le(ax_backoff_next(&a), 150); /* at most 3 x the minimum again */
	ax_backoff_init(&b, 50, 1000, 43);
	for (i = 0, d = 0; i < 20; i++)
		d += ax_backoff_next(&a) != ax_backoff_next(&b);
	ck_assert_int_gt(d, 0); /* two writers do not retry in step */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_counters_are_kept_per_partition_decision_and_reason);
	tcase_add_test(tc, test_histograms_are_cumulative_with_sum_and_count);
	tcase_add_test(tc, test_gauges_say_lag_and_a_label_cannot_forge_a_series);
	tcase_add_test(tc, test_measured_lag_wins_over_the_offset_difference);
	tcase_add_test(tc, test_reasons_beyond_the_cap_fall_into_other);
	tcase_add_test(tc, test_log_quote_escapes_quotes_backslashes_and_control_bytes);
	tcase_add_test(tc, test_backoff_stays_within_bounds_and_resets);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
