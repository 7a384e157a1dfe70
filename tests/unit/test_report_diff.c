/*
 * test_report_diff.c - the line diff of `axiom report` (ax_diff_lines in ax_report.h): the
 * shortest edit in order, removals before additions, and its hard caps.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_report.h"

/* Collects the diff as "op|line" entries joined by newlines. */
static void
collect(void *arg, char op, const char *line, size_t len)
{
	struct ax_sbuf *b = arg;

	ax_sbuf_add(b, &op, 1);
	ax_sbuf_puts(b, "|");
	ax_sbuf_add(b, line, len);
	ax_sbuf_puts(b, "\n");
}

/* The diff of a and b as collected text (the caller frees). */
static char *
diff(const char *a, const char *b, int *rc)
{
	struct ax_sbuf out;
	struct ax_err err;
	char *s;

	ax_sbuf_init(&out, 1 << 20);
	ax_sbuf_puts(&out, "");
	*rc = ax_diff_lines(a, strlen(a), b, strlen(b), collect, &out, &err);
	s = strdup(out.p ? out.p : "");
	ax_sbuf_free(&out);
	return s;
}

START_TEST(test_identical_texts_are_all_context)
{
	int rc;
	char *d = diff("a\nb\nc\n", "a\nb\nc\n", &rc);

	ck_assert_int_eq(rc, AX_OK);
	ck_assert_str_eq(d, " |a\n |b\n |c\n");
	free(d);
}
END_TEST

START_TEST(test_a_line_inserted_in_the_middle_shows_as_one_added_line)
{
	int rc;
	char *d = diff("a\nb\nc", "a\nb\nnew\nc", &rc);

	ck_assert_int_eq(rc, AX_OK);
	ck_assert_str_eq(d, " |a\n |b\n+|new\n |c\n");
	free(d);
}
END_TEST

START_TEST(test_a_changed_line_shows_the_removal_before_the_addition)
{
	int rc;
	char *d = diff(
	    "{\n  \"min\": 6.8,\n  \"max\": 7.2\n}", "{\n  \"min\": 6.9,\n  \"max\": 7.2\n}", &rc);

	ck_assert_int_eq(rc, AX_OK);
	ck_assert_str_eq(d, " |{\n-|  \"min\": 6.8,\n+|  \"min\": 6.9,\n |  \"max\": 7.2\n |}\n");
	free(d);
}
END_TEST

START_TEST(test_the_diff_is_a_longest_common_subsequence_not_a_naive_scan)
{
	int rc;
	/* a scan that pairs "x" first would lose b, c, d */
	char *d = diff("b\nc\nd\nx", "x\nb\nc\nd", &rc);

	ck_assert_int_eq(rc, AX_OK);
	ck_assert_str_eq(d, "+|x\n |b\n |c\n |d\n-|x\n");
	free(d);
}
END_TEST

START_TEST(test_empty_old_text_is_all_additions_and_empty_new_text_all_removals)
{
	int rc;
	char *d = diff("", "a\nb", &rc);

	ck_assert_int_eq(rc, AX_OK);
	ck_assert_str_eq(d, "+|a\n+|b\n");
	free(d);
	d = diff("a\nb\n", "", &rc);
	ck_assert_str_eq(d, "-|a\n-|b\n");
	free(d);
}
END_TEST

START_TEST(test_a_text_with_too_many_lines_is_refused_not_compared)
{
	size_t n = (size_t)AX_DIFF_MAX_LINES + 1, i;
	char *big = malloc(2 * n + 1);
	struct ax_sbuf out;
	struct ax_err err;

	ck_assert_ptr_nonnull(big);
	for (i = 0; i < n; i++) {
		big[2 * i] = 'x';
		big[2 * i + 1] = '\n';
	}
	big[2 * n] = '\0';
	ax_sbuf_init(&out, 1024);
	ck_assert_int_eq(ax_diff_lines(big, 2 * n, "x", 1, collect, &out, &err), AX_EINVAL);
	ck_assert_uint_eq(out.len, 0);
	ax_sbuf_free(&out);
	free(big);
}
END_TEST

START_TEST(test_a_change_too_large_for_the_table_is_refused_after_prefix_and_suffix)
{
	/* 3000 distinct lines on each side: 9 M cells > AX_DIFF_MAX_CELLS */
	struct ax_sbuf a, b, out;
	struct ax_err err;
	int i;

	ax_sbuf_init(&a, 1 << 20);
	ax_sbuf_init(&b, 1 << 20);
	ax_sbuf_init(&out, 1 << 20);
	for (i = 0; i < 3000; i++) {
		ax_sbuf_printf(&a, "old %d\n", i);
		ax_sbuf_printf(&b, "new %d\n", i);
	}
	ck_assert_int_eq(ax_diff_lines(a.p, a.len, b.p, b.len, collect, &out, &err), AX_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "too large"));
	/* the same texts with a long common prefix and suffix only are compared */
	ck_assert_int_eq(ax_diff_lines(a.p, a.len, a.p, a.len, collect, &out, &err), AX_OK);
	ax_sbuf_free(&a);
	ax_sbuf_free(&b);
	ax_sbuf_free(&out);
}
END_TEST

START_TEST(test_json_layout_changes_only_whitespace_outside_strings)
{
	static const char in[] = "{\"a\":[1,2.50,{}],\"s\":\"x, {y}: \\\"z\\\"\",\"e\":[ ]}";
	struct ax_sbuf out;
	size_t i, j = 0;

	ax_sbuf_init(&out, 4096);
	ax_report_json_layout(&out, in, strlen(in));
	ck_assert(ax_sbuf_ok(&out));
	ck_assert_str_eq(out.p, "{\n  \"a\": [\n    1,\n    2.50,\n    {}\n  ],\n  \"s\": "
	                        "\"x, {y}: \\\"z\\\"\",\n  \"e\": []\n}");
	/* every non-blank byte of the input, in order (2.50 is not rewritten as 2.5) */
	for (i = 0; i < out.len; i++)
		if (out.p[i] != ' ' && out.p[i] != '\n') {
			while (in[j] == ' ')
				j++;
			ck_assert_int_eq(out.p[i], in[j]);
			j++;
		}
	ax_sbuf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("report_diff");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_identical_texts_are_all_context);
	tcase_add_test(tc, test_a_line_inserted_in_the_middle_shows_as_one_added_line);
	tcase_add_test(tc, test_a_changed_line_shows_the_removal_before_the_addition);
	tcase_add_test(tc, test_the_diff_is_a_longest_common_subsequence_not_a_naive_scan);
	tcase_add_test(tc, test_empty_old_text_is_all_additions_and_empty_new_text_all_removals);
	tcase_add_test(tc, test_a_text_with_too_many_lines_is_refused_not_compared);
	tcase_add_test(
	    tc, test_a_change_too_large_for_the_table_is_refused_after_prefix_and_suffix);
	tcase_add_test(tc, test_json_layout_changes_only_whitespace_outside_strings);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
