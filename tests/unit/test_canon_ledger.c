/*
 * test_canon_ledger.c - canonical encoding v1 of a ledger entry in C (common/canon/ax_canon.h,
 * ax_canon_ledger_*) against the shared test vectors of tests/data/canon-ledger-v1.txt, which
 * the SQL twin axiom.canon_ledger_v1 also satisfies (integration test 0701), plus its limits
 * and adversarial input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ledger_vectors.h"
#include "ax_canon.h"

static struct ledger_vector vectors[LV_MAX];
static int nvectors;

static void
load(void)
{
	const char *dir = getenv("AXIOM_TEST_DATA");
	char path[1024];

	snprintf(path, sizeof(path), "%s/canon-ledger-v1.txt", dir ? dir : "tests/data");
	nvectors = ledger_vectors_load(vectors, LV_MAX, path);
	ck_assert_msg(nvectors >= 4, "could not load %s", path);
}

START_TEST(test_ledger_encoding_matches_every_shared_vector_byte_for_byte)
{
	struct ax_err err;
	uint8_t *buf = NULL;
	size_t len;
	int i;

	load();
	for (i = 0; i < nvectors; i++) {
		ck_assert_int_eq(
		    ax_canon_ledger_encode(&buf, &len, &vectors[i].entry, &err), AX_OK);
		ck_assert_msg(
		    len == vectors[i].encoding_len && memcmp(buf, vectors[i].encoding, len) == 0,
		    "vector '%s': encoding differs", vectors[i].name);
		free(buf);
		buf = NULL;
	}
}
END_TEST

START_TEST(test_entry_hash_matches_every_shared_vector_with_one_reused_context)
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
			    ax_canon_ledger_hash(out, h, &vectors[i].entry, &err), AX_OK);
			ck_assert_msg(memcmp(out, vectors[i].entry_hash, AX_HASH_LEN) == 0,
			    "vector '%s': entry_hash differs", vectors[i].name);
		}
	ax_sha256_free(h);
}
END_TEST

START_TEST(test_second_vector_chains_to_the_first_vectors_entry_hash)
{
	load();
	ck_assert_int_eq(vectors[1].entry.seq, 2);
	ck_assert_mem_eq(vectors[1].entry.previous_entry_hash, vectors[0].entry_hash, AX_HASH_LEN);
}
END_TEST

START_TEST(test_null_and_empty_reason_code_and_record_hash_differ)
{
	struct ax_canon_ledger e;
	struct ax_err err;
	uint8_t *a = NULL, *b = NULL, *c = NULL;
	size_t la, lb, lc;
	static const uint8_t nothing[1] = { 0 };

	load();
	e = vectors[3].entry; /* reason_code "" and record_hash empty */
	ck_assert_int_eq(ax_canon_ledger_encode(&a, &la, &e, &err), AX_OK);
	e.reason_code = NULL;
	ck_assert_int_eq(ax_canon_ledger_encode(&b, &lb, &e, &err), AX_OK);
	e.reason_code = "";
	e.record_hash = NULL;
	ck_assert_int_eq(ax_canon_ledger_encode(&c, &lc, &e, &err), AX_OK);
	ck_assert(la != lb || memcmp(a, b, la) != 0);
	ck_assert(la != lc || memcmp(a, c, la) != 0);
	free(a);
	free(b);
	free(c);
	/* an empty record hash is bytes of length 0, not NULL, even with a non-NULL pointer */
	e.record_hash = nothing;
	e.record_hash_len = 0;
	ck_assert_int_eq(ax_canon_ledger_encode(&a, &la, &e, &err), AX_OK);
	ck_assert(la == vectors[3].encoding_len && memcmp(a, vectors[3].encoding, la) == 0);
	free(a);
}
END_TEST

START_TEST(test_a_changed_partition_seq_or_offset_changes_the_hash)
{
	struct ax_sha256 *h = NULL;
	struct ax_canon_ledger e;
	struct ax_err err;
	uint8_t out[AX_HASH_LEN];

	load();
	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	e = vectors[0].entry;
	e.partition = 1;
	ck_assert_int_eq(ax_canon_ledger_hash(out, h, &e, &err), AX_OK);
	ck_assert(memcmp(out, vectors[0].entry_hash, AX_HASH_LEN) != 0);
	e = vectors[0].entry;
	e.seq = 2;
	ck_assert_int_eq(ax_canon_ledger_hash(out, h, &e, &err), AX_OK);
	ck_assert(memcmp(out, vectors[0].entry_hash, AX_HASH_LEN) != 0);
	e = vectors[0].entry;
	e.offset = 1;
	ck_assert_int_eq(ax_canon_ledger_hash(out, h, &e, &err), AX_OK);
	ck_assert(memcmp(out, vectors[0].entry_hash, AX_HASH_LEN) != 0);
	e = vectors[0].entry;
	e.previous_entry_hash[31] ^= 1;
	ck_assert_int_eq(ax_canon_ledger_hash(out, h, &e, &err), AX_OK);
	ck_assert(memcmp(out, vectors[0].entry_hash, AX_HASH_LEN) != 0);
	ax_sha256_free(h);
}
END_TEST

START_TEST(test_missing_or_invalid_text_is_refused_with_the_field_named)
{
	struct ax_canon_ledger e;
	struct ax_err err;
	uint8_t *buf = NULL;
	size_t len;

	load();
	e = vectors[0].entry;
	e.topic = NULL;
	ck_assert_int_eq(ax_canon_ledger_encode(&buf, &len, &e, &err), AX_EINVAL);
	ck_assert_ptr_null(buf);
	ck_assert_str_eq(err.msg, "ledger field topic is missing");
	e = vectors[0].entry;
	e.decision = NULL;
	ck_assert_int_eq(ax_canon_ledger_encode(&buf, &len, &e, &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "ledger field decision is missing");
	e = vectors[0].entry;
	e.actor = "\xc0\xaf";
	ck_assert_int_eq(ax_canon_ledger_encode(&buf, &len, &e, &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "ledger field actor is not valid UTF-8");
	e = vectors[0].entry;
	e.reason_code = "\xed\xa0\x80"; /* a surrogate */
	ck_assert_int_eq(ax_canon_ledger_encode(&buf, &len, &e, &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "ledger field reason_code is not valid UTF-8");
	e = vectors[0].entry;
	e.record_hash_len = (size_t)AX_CANON_MAX_FIELD + 1;
	ck_assert_int_eq(ax_canon_ledger_encode(&buf, &len, &e, &err), AX_EINVAL);
	ck_assert_ptr_null(buf);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("canon_ledger");
	TCase *tc = tcase_create("ledger-v1");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_ledger_encoding_matches_every_shared_vector_byte_for_byte);
	tcase_add_test(tc, test_entry_hash_matches_every_shared_vector_with_one_reused_context);
	tcase_add_test(tc, test_second_vector_chains_to_the_first_vectors_entry_hash);
	tcase_add_test(tc, test_null_and_empty_reason_code_and_record_hash_differ);
	tcase_add_test(tc, test_a_changed_partition_seq_or_offset_changes_the_hash);
	tcase_add_test(tc, test_missing_or_invalid_text_is_refused_with_the_field_named);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
