/*
 * test_event_time.c - only a LogAppendTime message carries event time (ax_batch.h, invariant
 * 6): the running event time of a partition, as ax_event_time_next derives it.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "ax_batch.h"

#define T0_MS    INT64_C(1795000000000) /* 2026-11-18 */
#define Y9999_MS INT64_C(253402300799000)

START_TEST(test_log_append_time_is_the_event_time)
{
	bool la = false;

	ck_assert_int_eq(ax_event_time_next(AX_EVENT_TIME_ORIGIN_US,
	                     RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME, T0_MS, &la),
	    T0_MS * 1000);
	ck_assert(la);
}
END_TEST

START_TEST(test_create_time_keeps_the_last_known_event_time)
{
	bool la = true;

	/* a CreateTime far in the future moves nothing */
	ck_assert_int_eq(
	    ax_event_time_next(T0_MS * 1000, RD_KAFKA_TIMESTAMP_CREATE_TIME, Y9999_MS, &la),
	    T0_MS * 1000);
	ck_assert(!la);
	/* nor one in the past, nor a message without a timestamp */
	la = true;
	ck_assert_int_eq(
	    ax_event_time_next(T0_MS * 1000, RD_KAFKA_TIMESTAMP_CREATE_TIME, 5, &la), T0_MS * 1000);
	ck_assert(!la);
	la = true;
	ck_assert_int_eq(
	    ax_event_time_next(T0_MS * 1000, RD_KAFKA_TIMESTAMP_NOT_AVAILABLE, -1, &la),
	    T0_MS * 1000);
	ck_assert(!la);
	/* on a partition without a ledger entry: the epoch */
	ck_assert_int_eq(ax_event_time_next(AX_EVENT_TIME_ORIGIN_US, RD_KAFKA_TIMESTAMP_CREATE_TIME,
	                     Y9999_MS, &la),
	    0);
}
END_TEST

START_TEST(test_event_time_never_goes_backwards)
{
	bool la = false;

	/* a broker clock that stepped back: the partition keeps its last known time */
	ck_assert_int_eq(ax_event_time_next(T0_MS * 1000 + 7, RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME,
	                     T0_MS - 1000, &la),
	    T0_MS * 1000 + 7);
	ck_assert(la);
}
END_TEST

START_TEST(test_unusable_log_append_times_are_quarantined)
{
	bool la = true;

	ck_assert_int_eq(ax_event_time_next(42, RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME, -1, &la), 42);
	ck_assert(!la);
	la = true;
	ck_assert_int_eq(
	    ax_event_time_next(42, RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME, INT64_MAX / 1000 + 1, &la),
	    42);
	ck_assert(!la);
}
END_TEST

/* A sequence: what a replay from the same start derives is what the live run derived. */
START_TEST(test_a_run_is_a_function_of_the_log)
{
	static const struct {
		rd_kafka_timestamp_type_t type;
		int64_t ms;
		int64_t want_us;
		bool la;
	} log[] = {
		{ RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME, T0_MS, T0_MS * 1000, true },
		{ RD_KAFKA_TIMESTAMP_CREATE_TIME, Y9999_MS, T0_MS * 1000, false },
		{ RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME, T0_MS + 5, (T0_MS + 5) * 1000, true },
		{ RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME, T0_MS + 3, (T0_MS + 5) * 1000, true },
		{ RD_KAFKA_TIMESTAMP_CREATE_TIME, 1, (T0_MS + 5) * 1000, false },
		{ RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME, T0_MS + 9, (T0_MS + 9) * 1000, true },
	};
	int64_t last = AX_EVENT_TIME_ORIGIN_US;
	size_t i;

	for (i = 0; i < sizeof(log) / sizeof(log[0]); i++) {
		bool la;

		last = ax_event_time_next(last, log[i].type, log[i].ms, &la);
		ck_assert_int_eq(last, log[i].want_us);
		ck_assert_int_eq(la, log[i].la);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("event_time");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_log_append_time_is_the_event_time);
	tcase_add_test(tc, test_create_time_keeps_the_last_known_event_time);
	tcase_add_test(tc, test_event_time_never_goes_backwards);
	tcase_add_test(tc, test_unusable_log_append_times_are_quarantined);
	tcase_add_test(tc, test_a_run_is_a_function_of_the_log);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
