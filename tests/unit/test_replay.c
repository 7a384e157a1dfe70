/*
 * test_replay.c - the table-by-table digest comparison of `axiom replay --compare-dsn`
 * (ax_digests_compare, ax_replay.h): equal only when every table is covered, present on both
 * sides and has the same digest; every other case is counted and named.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_replay.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static struct ax_digest
d(const char *table, long long rows, const char *hex)
{
	struct ax_digest x;

	memset(&x, 0, sizeof(x));
	snprintf(x.table, sizeof(x.table), "%s", table);
	x.rows = hex ? rows : -1;
	snprintf(x.hex, sizeof(x.hex), "%s", hex ? hex : "");
	x.covered = hex != NULL;
	return x;
}

/* Run the comparison into a memory buffer; the number of tables that are not equal. */
static size_t
compare(const struct ax_digest *a, size_t na, const struct ax_digest *b, size_t nb, char *out,
    size_t cap)
{
	FILE *fp = fmemopen(out, cap, "w");
	size_t bad;

	ck_assert_ptr_nonnull(fp);
	bad = ax_digests_compare(fp, a, na, b, nb);
	fclose(fp);
	return bad;
}

START_TEST(test_equal_digests_compare_equal)
{
	struct ax_digest a[2] = { d("ledger", 3, H1), d("records", 2, H2) };
	struct ax_digest b[2] = { d("ledger", 3, H1), d("records", 2, H2) };
	char out[4096];

	ck_assert_uint_eq(compare(a, 2, b, 2, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "ledger"));
	ck_assert_ptr_null(strstr(out, "DIFFERENT"));
}
END_TEST

START_TEST(test_one_changed_digest_is_named_different)
{
	struct ax_digest a[2] = { d("ledger", 3, H1), d("records", 2, H1) };
	struct ax_digest b[2] = { d("ledger", 3, H1), d("records", 2, H2) };
	char out[4096], *line;

	ck_assert_uint_eq(compare(a, 2, b, 2, out, sizeof(out)), 1);
	line = strstr(out, "\nrecords");
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "DIFFERENT"));
}
END_TEST

START_TEST(test_a_table_missing_on_either_side_is_counted)
{
	struct ax_digest a[2] = { d("ledger", 3, H1), d("records", 2, H1) };
	struct ax_digest b[2] = { d("ledger", 3, H1), d("signatures", 0, H2) };
	char out[4096];

	ck_assert_uint_eq(compare(a, 2, b, 2, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "MISSING in the live database"));
	ck_assert_ptr_nonnull(strstr(out, "MISSING in the rebuilt database"));
}
END_TEST

START_TEST(test_a_table_without_digest_never_passes)
{
	/* equal "nothing" on both sides must not count as equal */
	struct ax_digest a[1] = { d("checkpoints", 0, NULL) };
	struct ax_digest b[1] = { d("checkpoints", 0, NULL) };
	char out[4096];

	ck_assert_uint_eq(compare(a, 1, b, 1, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "NOT COVERED"));
}
END_TEST

START_TEST(test_no_tables_at_all_compare_equal_but_empty)
{
	char out[4096];

	ck_assert_uint_eq(compare(NULL, 0, NULL, 0, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "table"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("digests");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_equal_digests_compare_equal);
	tcase_add_test(tc, test_one_changed_digest_is_named_different);
	tcase_add_test(tc, test_a_table_missing_on_either_side_is_counted);
	tcase_add_test(tc, test_a_table_without_digest_never_passes);
	tcase_add_test(tc, test_no_tables_at_all_compare_equal_but_empty);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
