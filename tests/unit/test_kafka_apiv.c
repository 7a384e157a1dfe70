/*
 * test_kafka_apiv.c - the bounded parser of a broker's ApiVersions answer.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_kafka_apiv.h"

#define CORR 0x41584d31

/* correlation id, error 0, 2 keys: Produce 3..12, Fetch 4..17 */
static const uint8_t good[] = { 0x41, 0x58, 0x4d, 0x31, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 12, 0, 1,
	0, 4, 0, 17 };

START_TEST(test_parse_reads_every_range)
{
	struct ax_kafka_apiv v;
	struct ax_err err;

	ck_assert_int_eq(ax_kafka_apiv_parse(&v, good, sizeof(good), CORR, &err), AX_OK);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_int_eq(ax_kafka_apiv_find(&v, AX_KAFKA_API_PRODUCE)->min, 3);
	ck_assert_int_eq(ax_kafka_apiv_find(&v, AX_KAFKA_API_FETCH)->max, 17);
	ck_assert_ptr_null(ax_kafka_apiv_find(&v, AX_KAFKA_API_JOIN_GROUP));
}
END_TEST

START_TEST(test_parse_rejects_every_truncation)
{
	struct ax_kafka_apiv v;
	struct ax_err err;
	size_t n;

	for (n = 0; n < sizeof(good); n++) {
		ck_assert_int_eq(ax_kafka_apiv_parse(&v, good, n, CORR, &err), AX_EINVAL);
		ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
		ck_assert_uint_eq(v.n, 0);
	}
}
END_TEST

START_TEST(test_parse_rejects_hostile_counts_codes_and_ranges)
{
	struct ax_kafka_apiv v;
	struct ax_err err;
	uint8_t b[sizeof(good)];

	memcpy(b, good, sizeof(b));
	b[6] = 0x7f; /* 2 billion keys */
	ck_assert_int_eq(ax_kafka_apiv_parse(&v, b, sizeof(b), CORR, &err), AX_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "API keys (at most"));

	memcpy(b, good, sizeof(b));
	b[5] = 35; /* UNSUPPORTED_VERSION */
	ck_assert_int_eq(ax_kafka_apiv_parse(&v, b, sizeof(b), CORR, &err), AX_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "error code 35"));

	ck_assert_int_eq(ax_kafka_apiv_parse(&v, good, sizeof(good), CORR + 1, &err), AX_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "correlation id"));

	memcpy(b, good, sizeof(b));
	b[13] = 20; /* min 20 > max 12 */
	ck_assert_int_eq(ax_kafka_apiv_parse(&v, b, sizeof(b), CORR, &err), AX_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "invalid range"));
}
END_TEST

START_TEST(test_fetch_from_a_closed_port_is_unavailable_not_a_hang)
{
	struct ax_kafka_apiv v;
	struct ax_err err;

	ck_assert_int_eq(ax_kafka_apiv_fetch(&v, "127.0.0.1:9", NULL, 2000, &err), AX_EUNAVAIL);
	ck_assert_ptr_nonnull(strstr(err.msg, "could not reach the kafka broker at 127.0.0.1:9"));
	ck_assert_int_eq(ax_kafka_apiv_fetch(&v, "no-port-here", NULL, 2000, &err), AX_EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("kafka_apiv");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_parse_reads_every_range);
	tcase_add_test(tc, test_parse_rejects_every_truncation);
	tcase_add_test(tc, test_parse_rejects_hostile_counts_codes_and_ranges);
	tcase_add_test(tc, test_fetch_from_a_closed_port_is_unavailable_not_a_hang);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
