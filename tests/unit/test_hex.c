/*
 * test_hex.c - lower-case hex (ax_hex.h): encoding, and strict decoding into a fixed buffer,
 * a bounded one and a new one.
 */
#include <check.h>
#include <stdlib.h>

#include "ax_hex.h"

START_TEST(test_encode_writes_lower_case_and_a_nul)
{
	static const uint8_t b[] = { 0x00, 0x7f, 0xab, 0xff };
	char out[9];

	ax_hex_encode(out, b, sizeof(b));
	ck_assert_str_eq(out, "007fabff");
	ax_hex_encode(out, b, 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_decode_takes_exactly_2n_hex_digits)
{
	uint8_t out[4] = { 0 };

	ck_assert_int_eq(ax_hex_decode(out, "007fABff", 4), 0);
	ck_assert_uint_eq(out[2], 0xab);
	ck_assert_uint_eq(out[3], 0xff);
	ck_assert_int_eq(ax_hex_decode(out, "007fab", 4), -1);     /* short */
	ck_assert_int_eq(ax_hex_decode(out, "007fabff00", 4), -1); /* long */
	ck_assert_int_eq(ax_hex_decode(out, "007fabfg", 4), -1);   /* not hex */
	ck_assert_int_eq(ax_hex_decode(out, " 07fabff", 4), -1);   /* no spaces, no signs */
	ck_assert_int_eq(ax_hex_decode(out, "", 0), 0);
}
END_TEST

START_TEST(test_decode_upto_takes_any_even_count_of_digits_up_to_the_cap)
{
	uint8_t out[4];
	size_t n = 99;

	ck_assert_int_eq(ax_hex_decode_upto(out, sizeof(out), &n, "00ff"), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[1], 0xff);
	ck_assert_int_eq(ax_hex_decode_upto(out, sizeof(out), &n, ""), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ax_hex_decode_upto(out, sizeof(out), &n, "0011223344"), -1); /* > cap */
	ck_assert_int_eq(ax_hex_decode_upto(out, sizeof(out), &n, "001"), -1);        /* odd */
	ck_assert_int_eq(ax_hex_decode_upto(out, sizeof(out), &n, "+1"), -1);         /* sign */
}
END_TEST

START_TEST(test_decode_new_allocates_and_refuses_junk_without_leaking)
{
	uint8_t *p = NULL;
	size_t n = 99;

	ck_assert_int_eq(ax_hex_decode_new(&p, &n, "c301ABcd", 8), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(p[0], 0xc3);
	ck_assert_uint_eq(p[3], 0xcd);
	free(p);
	ck_assert_int_eq(ax_hex_decode_new(&p, &n, "c301", 2), 0); /* the length is the caller's */
	ck_assert_uint_eq(n, 1);
	free(p);
	ck_assert_int_eq(ax_hex_decode_new(&p, &n, "", 0), 0); /* no bytes, still a buffer */
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(n, 0);
	free(p);
	ck_assert_int_eq(ax_hex_decode_new(&p, &n, "c30", 3), -1);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ax_hex_decode_new(&p, &n, "c3 1", 4), -1);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(ax_hex_decode_new(&p, &n, NULL, 0), -1);
	ck_assert_ptr_null(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_encode_writes_lower_case_and_a_nul);
	tcase_add_test(tc, test_decode_takes_exactly_2n_hex_digits);
	tcase_add_test(tc, test_decode_upto_takes_any_even_count_of_digits_up_to_the_cap);
	tcase_add_test(tc, test_decode_new_allocates_and_refuses_junk_without_leaking);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
