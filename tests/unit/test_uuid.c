/*
 * test_uuid.c - UUID text (ax_uuid.h): strict parsing in either case, lower-case formatting.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_uuid.h"

START_TEST(test_uuid_parses_in_either_case_and_formats_lower_case)
{
	uint8_t u[AX_UUID_LEN], w[AX_UUID_LEN];
	char s[37];

	ck_assert(ax_uuid_parse(u, "5F1C2A3E-8D4B-4C6F-9A0E-1B2C3D4E5F60", 36));
	ck_assert(ax_uuid_parse(w, "5f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f60", 36));
	ck_assert_mem_eq(u, w, AX_UUID_LEN);
	ck_assert_uint_eq(u[0], 0x5f);
	ck_assert_uint_eq(u[15], 0x60);
	ax_uuid_format(s, u);
	ck_assert_str_eq(s, "5f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f60");
	ck_assert(ax_uuid_parse(u, "0B6C1C52-8a3e-4d59-9d0c-3f7f2c1a0001", 36));
	ax_uuid_format(s, u);
	ck_assert_str_eq(s, "0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001");
}
END_TEST

START_TEST(test_uuid_parse_accepts_only_the_canonical_text_form)
{
	static const char *const bad[] = {
		"5f1c2a3e8d4b4c6f9a0e1b2c3d4e5f60",      /* no dashes */
		"5f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f6g",  /* not hex */
		"5f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f600", /* too long */
		"5f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f6",   /* too short */
		"{f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f60",  /* a brace */
		"0b6c1c52+8a3e-4d59-9d0c-3f7f2c1a0001",  /* not a dash */
		"0b6c1c5-28a3e-4d59-9d0c-3f7f2c1a0001",  /* a dash out of place */
		" b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001",  /* no spaces */
		"+b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001",  /* no signs */
	};
	uint8_t u[AX_UUID_LEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!ax_uuid_parse(u, bad[i], strlen(bad[i])), "%s", bad[i]);
	/* the length is what the caller says: a NUL inside is not a digit */
	ck_assert(!ax_uuid_parse(u, "0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a000\0", 36));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("uuid");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_uuid_parses_in_either_case_and_formats_lower_case);
	tcase_add_test(tc, test_uuid_parse_accepts_only_the_canonical_text_form);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
