/*
 * test_pqueue.c - the hand-over queue between the poll thread and a partition writer.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "ax_pqueue.h"

static int destroyed;

static void
count_destroy(void *item)
{
	(void)item;
	destroyed++;
}

START_TEST(test_pop_returns_items_in_order_and_at_most_max)
{
	struct ax_pqueue *q;
	struct ax_err err;
	void *out[8];
	uintptr_t i;

	ck_assert_int_eq(ax_pqueue_new(&q, 1000, 1 << 20, &err), AX_OK);
	for (i = 1; i <= 300; i++) /* beyond the initial ring: it must grow, keeping order */
		ax_pqueue_push(q, (void *)i, 10);
	ck_assert_uint_eq(ax_pqueue_len(q), 300);
	for (i = 1; i <= 300;) {
		size_t n = ax_pqueue_pop(q, out, 8, 10, 0), k;

		ck_assert_uint_ge(n, 1);
		ck_assert_uint_le(n, 8);
		for (k = 0; k < n; k++, i++)
			ck_assert_ptr_eq(out[k], (void *)i);
	}
	ck_assert_uint_eq(ax_pqueue_len(q), 0);
	ax_pqueue_free(q, NULL);
}
END_TEST

START_TEST(test_marks_follow_items_and_bytes)
{
	struct ax_pqueue *q;
	struct ax_err err;
	void *out[16];
	uintptr_t i;

	ck_assert_int_eq(ax_pqueue_new(&q, 10, 1000, &err), AX_OK);
	ck_assert(!ax_pqueue_over_high_mark(q));
	ck_assert(ax_pqueue_below_low_mark(q));
	for (i = 1; i <= 11; i++)
		ax_pqueue_push(q, (void *)i, 1);
	ck_assert(ax_pqueue_over_high_mark(q));
	ck_assert(!ax_pqueue_below_low_mark(q));
	ck_assert_uint_eq(ax_pqueue_pop(q, out, 16, 1, 0), 11);
	ck_assert(ax_pqueue_below_low_mark(q));
	ax_pqueue_push(q, (void *)1, 1001); /* one huge message is over the byte mark */
	ck_assert(ax_pqueue_over_high_mark(q));
	ax_pqueue_free(q, NULL);
}
END_TEST

static long
ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

START_TEST(test_pop_waits_no_longer_than_its_delays)
{
	struct ax_pqueue *q;
	struct ax_err err;
	struct timespec a;
	void *out[4];
	long ms;

	ck_assert_int_eq(ax_pqueue_new(&q, 10, 1000, &err), AX_OK);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_uint_eq(ax_pqueue_pop(q, out, 4, 50, 0), 0); /* idle: nothing came */
	ms = ms_since(&a);
	ck_assert_int_ge(ms, 45);
	ck_assert_int_lt(ms, 2000);
	ax_pqueue_push(q, (void *)1, 1); /* a partial batch lingers for companions */
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_uint_eq(ax_pqueue_pop(q, out, 4, 5000, 40), 1);
	ms = ms_since(&a);
	ck_assert_int_ge(ms, 35);
	ck_assert_int_lt(ms, 2000);
	ax_pqueue_free(q, NULL);
}
END_TEST

START_TEST(test_pop_without_linger_takes_what_is_queued_at_once)
{
	struct ax_pqueue *q;
	struct ax_err err;
	struct timespec a;
	void *out[4];

	ck_assert_int_eq(ax_pqueue_new(&q, 10, 1000, &err), AX_OK);
	ax_pqueue_push(q, (void *)1, 1);
	ax_pqueue_push(q, (void *)2, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_uint_eq(ax_pqueue_pop(q, out, 4, 60000, 0), 2); /* neither wait applies */
	ck_assert_int_lt(ms_since(&a), 1000);
	ck_assert_ptr_eq(out[0], (void *)1);
	ck_assert_ptr_eq(out[1], (void *)2);
	ax_pqueue_free(q, NULL);
}
END_TEST

static void *
waker(void *arg)
{
	struct timespec ts = { 0, 30 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	ax_pqueue_wake(arg);
	return NULL;
}

START_TEST(test_wake_releases_a_blocked_writer)
{
	struct ax_pqueue *q;
	struct ax_err err;
	pthread_t t;
	void *out[4];

	ck_assert_int_eq(ax_pqueue_new(&q, 10, 1000, &err), AX_OK);
	ck_assert_int_eq(pthread_create(&t, NULL, waker, q), 0);
	ck_assert_uint_eq(ax_pqueue_pop(q, out, 4, 60000, 0), 0); /* would wait a minute */
	pthread_join(t, NULL);
	ax_pqueue_free(q, NULL);
}
END_TEST

struct producer_arg {
	struct ax_pqueue *q;
	uintptr_t n;
};

static void *
producer(void *arg)
{
	struct producer_arg *p = arg;
	uintptr_t i;

	for (i = 1; i <= p->n; i++)
		ax_pqueue_push(p->q, (void *)i, 1);
	return NULL;
}

START_TEST(test_concurrent_push_and_pop_lose_and_reorder_nothing)
{
	struct producer_arg pa;
	struct ax_pqueue *q;
	struct ax_err err;
	pthread_t t;
	void *out[64];
	uintptr_t next = 1;

	ck_assert_int_eq(ax_pqueue_new(&q, 100, 1 << 20, &err), AX_OK);
	pa.q = q;
	pa.n = 200000;
	ck_assert_int_eq(pthread_create(&t, NULL, producer, &pa), 0);
	while (next <= pa.n) {
		size_t n = ax_pqueue_pop(q, out, 64, 5, 0), k;

		for (k = 0; k < n; k++)
			ck_assert_ptr_eq(out[k], (void *)next++);
	}
	pthread_join(t, NULL);
	destroyed = 0;
	ax_pqueue_push(q, (void *)1, 1);
	ax_pqueue_push(q, (void *)2, 1);
	ax_pqueue_free(q, count_destroy); /* what is left is destroyed, exactly once */
	ck_assert_int_eq(destroyed, 2);
	ax_pqueue_free(NULL, count_destroy);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pqueue");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_pop_returns_items_in_order_and_at_most_max);
	tcase_add_test(tc, test_marks_follow_items_and_bytes);
	tcase_add_test(tc, test_pop_waits_no_longer_than_its_delays);
	tcase_add_test(tc, test_pop_without_linger_takes_what_is_queued_at_once);
	tcase_add_test(tc, test_wake_releases_a_blocked_writer);
	tcase_add_test(tc, test_concurrent_push_and_pop_lose_and_reorder_nothing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
