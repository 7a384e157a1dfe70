/*
 * test_canon.c - canonical encoding v1 in C (common/canon/ax_canon.h) against the shared test
 * vectors of tests/data/canon-record-v1.txt, plus its limits and adversarial input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../canon_vectors.h"
#include "ax_canon.h"

static struct canon_vector vectors[CV_MAX];
static int nvectors;

static void
load(void)
{
	const char *dir = getenv("AXIOM_TEST_DATA");
	char path[1024];

	snprintf(path, sizeof(path), "%s/canon-record-v1.txt", dir ? dir : "tests/data");
	nvectors = canon_vectors_load(vectors, CV_MAX, path);
	ck_assert_msg(nvectors >= 3, "could not load %s", path);
}

START_TEST(test_encoding_matches_every_shared_vector_byte_for_byte)
{
	struct ax_err err;
	uint8_t *buf = NULL;
	size_t len;
	int i;

	load();
	for (i = 0; i < nvectors; i++) {
		ck_assert_int_eq(ax_canon_record_encode(&buf, &len, &vectors[i].rec, &err), AX_OK);
		ck_assert_msg(
		    len == vectors[i].encoding_len && memcmp(buf, vectors[i].encoding, len) == 0,
		    "vector '%s': encoding differs", vectors[i].name);
		free(buf);
		buf = NULL;
	}
}
END_TEST

START_TEST(test_record_hash_matches_every_shared_vector_with_one_reused_context)
{
	struct ax_sha256 *h = NULL;
	struct ax_err err;
	uint8_t out[AX_HASH_LEN];
	int i, round;

	load();
	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	for (round = 0; round < 2; round++)
		for (i = 0; i < nvectors; i++) {
			ck_assert_int_eq(
			    ax_canon_record_hash(out, h, &vectors[i].rec, &err), AX_OK);
			ck_assert_msg(memcmp(out, vectors[i].record_hash, AX_HASH_LEN) == 0,
			    "vector '%s': record_hash differs", vectors[i].name);
		}
	ax_sha256_free(h);
	ax_sha256_free(NULL);
}
END_TEST

START_TEST(test_chained_vector_links_to_the_previous_vectors_hash)
{
	load();
	ck_assert(vectors[1].rec.has_previous);
	ck_assert_mem_eq(vectors[1].rec.previous_record_hash, vectors[0].record_hash, AX_HASH_LEN);
}
END_TEST

START_TEST(test_null_and_empty_are_different_encodings)
{
	struct ax_canon_record r;
	struct ax_err err;
	uint8_t *a = NULL, *b = NULL;
	size_t la, lb;

	load();
	r = vectors[0].rec; /* version 1: previous NULL, change_id NULL */
	ck_assert_int_eq(ax_canon_record_encode(&a, &la, &r, &err), AX_OK);
	r.has_change_id = 1;
	memset(r.change_id, 0, sizeof(r.change_id));
	ck_assert_int_eq(ax_canon_record_encode(&b, &lb, &r, &err), AX_OK);
	ck_assert_uint_eq(lb, la + 5 + 16 - 1);
	ck_assert_int_eq(a[la - 1], AX_CANON_NULL);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_field_boundaries_cannot_be_shifted)
{
	struct ax_canon_record r1, r2;
	struct ax_sha256 *h = NULL;
	struct ax_err err;
	uint8_t h1[AX_HASH_LEN], h2[AX_HASH_LEN];

	load();
	r1 = r2 = vectors[0].rec;
	r1.facility_id = "F1";
	r1.domain_id = "QC";
	r2.facility_id = "F1Q";
	r2.domain_id = "C";
	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	ck_assert_int_eq(ax_canon_record_hash(h1, h, &r1, &err), AX_OK);
	ck_assert_int_eq(ax_canon_record_hash(h2, h, &r2, &err), AX_OK);
	ck_assert(memcmp(h1, h2, AX_HASH_LEN) != 0);
	ax_sha256_free(h);
}
END_TEST

START_TEST(test_invalid_utf8_text_is_refused_with_the_field_named)
{
	static const char *const bad[] = { "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe2\x82", "\x80", "ok\xff" };
	struct ax_canon_record r;
	struct ax_err err;
	uint8_t *buf = NULL;
	size_t len, i;

	load();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = vectors[0].rec;
		r.title = bad[i];
		ck_assert_int_eq(ax_canon_record_encode(&buf, &len, &r, &err), AX_EINVAL);
		ck_assert_ptr_null(buf);
		ck_assert_str_eq(err.msg, "record field title is not valid UTF-8");
	}
	r = vectors[0].rec;
	r.created_by = NULL;
	ck_assert_int_eq(ax_canon_record_encode(&buf, &len, &r, &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "record field created_by is missing");
}
END_TEST

START_TEST(test_utf8_validator_accepts_the_boundaries)
{
	ck_assert(ax_utf8_valid((const uint8_t *)"\x7f", 1));
	ck_assert(ax_utf8_valid((const uint8_t *)"\xc2\x80", 2));
	ck_assert(ax_utf8_valid((const uint8_t *)"\xef\xbf\xbf", 3));
	ck_assert(ax_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));
	ck_assert(!ax_utf8_valid((const uint8_t *)"a\0b", 3));
	ck_assert(!ax_utf8_valid((const uint8_t *)"\xe0\x80\x80", 3));
}
END_TEST

START_TEST(test_oversized_content_is_refused)
{
	struct ax_canon_record r;
	struct ax_err err;
	uint8_t *buf = NULL, one = 0;
	size_t len;

	load();
	r = vectors[0].rec;
	r.content = &one;
	r.content_len = (size_t)AX_CANON_MAX_FIELD + 1;
	ck_assert_int_eq(ax_canon_record_encode(&buf, &len, &r, &err), AX_EINVAL);
	ck_assert_ptr_null(buf);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("canon");
	TCase *tc = tcase_create("record-v1");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_encoding_matches_every_shared_vector_byte_for_byte);
	tcase_add_test(tc, test_record_hash_matches_every_shared_vector_with_one_reused_context);
	tcase_add_test(tc, test_chained_vector_links_to_the_previous_vectors_hash);
	tcase_add_test(tc, test_null_and_empty_are_different_encodings);
	tcase_add_test(tc, test_field_boundaries_cannot_be_shifted);
	tcase_add_test(tc, test_invalid_utf8_text_is_refused_with_the_field_named);
	tcase_add_test(tc, test_utf8_validator_accepts_the_boundaries);
	tcase_add_test(tc, test_oversized_content_is_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
