/*
 * test_hex.c - lower-case hex (ax_hex.h): encoding, and strict decoding.
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

int
main(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_encode_writes_lower_case_and_a_nul);
	tcase_add_test(tc, test_decode_takes_exactly_2n_hex_digits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
