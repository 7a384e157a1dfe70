/*
 * test_report_html.c - HTML escaping of `axiom report` (ax_sbuf_html in ax_report.h) and the
 * hard cap of its text buffer: hostile titles, names and content cannot open markup.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_report.h"

/* ax_sbuf_html of s, as a new string (the caller frees). */
static char *
esc(const char *s, size_t n)
{
	struct ax_sbuf b;
	char *r;

	ax_sbuf_init(&b, 1 << 16);
	ax_sbuf_puts(&b, "");
	ax_sbuf_html(&b, s, n);
	ck_assert(ax_sbuf_ok(&b));
	r = strdup(b.p);
	ax_sbuf_free(&b);
	return r;
}

START_TEST(test_a_script_tag_in_a_title_becomes_text)
{
	const char *t = "<script>alert(1)</script>";
	char *r = esc(t, strlen(t));

	ck_assert_str_eq(r, "&lt;script&gt;alert(1)&lt;/script&gt;");
	free(r);
}
END_TEST

START_TEST(test_quotes_and_ampersands_cannot_close_an_attribute_or_forge_an_entity)
{
	const char *t = "\" onload='x' &amp;";
	char *r = esc(t, strlen(t));

	ck_assert_str_eq(r, "&quot; onload=&#39;x&#39; &amp;amp;");
	free(r);
}
END_TEST

START_TEST(test_no_markup_character_survives_escaping_whatever_the_bytes)
{
	char in[256];
	char *r;
	int i;

	for (i = 0; i < 256; i++)
		in[i] = (char)i;
	r = esc(in, sizeof(in));
	ck_assert_ptr_null(strchr(r, '<'));
	ck_assert_ptr_null(strchr(r, '>'));
	ck_assert_ptr_null(strchr(r, '"'));
	ck_assert_ptr_null(strchr(r, '\''));
	/* the only & are the ones that start the entities written */
	for (char *p = strchr(r, '&'); p != NULL; p = strchr(p + 1, '&'))
		ck_assert(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
		          strncmp(p, "&gt;", 4) == 0 || strncmp(p, "&quot;", 6) == 0 ||
		          strncmp(p, "&#39;", 5) == 0);
	free(r);
}
END_TEST

START_TEST(test_control_characters_become_replacement_characters_but_tab_and_newline_stay)
{
	const char t[] = "a\x01"
	                 "b\tc\nd\x7f";
	char *r = esc(t, sizeof(t) - 1);

	ck_assert_str_eq(r, "a\xef\xbf\xbd"
	                    "b\tc\nd\xef\xbf\xbd");
	free(r);
}
END_TEST

START_TEST(test_utf8_text_passes_unchanged)
{
	const char *t = "Carol Dubois \xc3\xa9 \xe2\x82\xac";
	char *r = esc(t, strlen(t));

	ck_assert_str_eq(r, t);
	free(r);
}
END_TEST

START_TEST(test_a_buffer_refuses_to_grow_past_its_cap_and_says_so)
{
	struct ax_sbuf b;

	ax_sbuf_init(&b, 8);
	ax_sbuf_puts(&b, "12345678");
	ck_assert(ax_sbuf_ok(&b));
	ax_sbuf_puts(&b, "9");
	ck_assert(!ax_sbuf_ok(&b));
	ck_assert_uint_eq(b.len, 8);
	ax_sbuf_html(&b, "<", 1); /* ignored once failed */
	ck_assert_str_eq(b.p, "12345678");
	ax_sbuf_free(&b);
}
END_TEST

START_TEST(test_escaping_that_would_pass_the_cap_fails_rather_than_truncates_silently)
{
	struct ax_sbuf b;

	ax_sbuf_init(&b, 6);
	ax_sbuf_html(&b, "<<", 2); /* 8 bytes escaped */
	ck_assert(!ax_sbuf_ok(&b));
	ax_sbuf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("report_html");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_a_script_tag_in_a_title_becomes_text);
	tcase_add_test(tc, test_quotes_and_ampersands_cannot_close_an_attribute_or_forge_an_entity);
	tcase_add_test(tc, test_no_markup_character_survives_escaping_whatever_the_bytes);
	tcase_add_test(
	    tc, test_control_characters_become_replacement_characters_but_tab_and_newline_stay);
	tcase_add_test(tc, test_utf8_text_passes_unchanged);
	tcase_add_test(tc, test_a_buffer_refuses_to_grow_past_its_cap_and_says_so);
	tcase_add_test(
	    tc, test_escaping_that_would_pass_the_cap_fails_rather_than_truncates_silently);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
