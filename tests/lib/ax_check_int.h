/*
 * ax_check_int.h - the integers a test reads from query results (text), checked: base 10 and
 * nothing else, or the test fails. Test code only, header-only, Check assertions; ax_dbtest.h
 * includes it, and tests without that fixture include it alone.
 */
#ifndef AXIOM_TESTS_CHECK_INT_H
#define AXIOM_TESTS_CHECK_INT_H

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/* text, an integer a query returned (base 10, nothing else); the test fails on anything else. */
static inline long long
dbt_int64(const char *text)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(text, &end, 10);
	ck_assert_msg(errno == 0 && end != text && *end == '\0', "not an integer: '%s'", text);
	return n;
}

/* text as a non-negative int (dbt_int64); the test fails on anything else. */
static inline int
dbt_int(const char *text)
{
	long long n = dbt_int64(text);

	ck_assert_msg(n >= 0 && n <= INT_MAX, "not a non-negative int: '%s'", text);
	return (int)n;
}

#endif
