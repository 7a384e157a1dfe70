/*
 * test_intent.c - signing intent encoding and hash (ax_intent.h), strict base64url
 * (ax_b64url.h), COSE keys (ax_cose.h) and the consumed-nonce set.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_b64url.h"
#include "ax_cose.h"
#include "ax_hex.h"
#include "ax_intent.h"

/* Parse lower-case hex into out; returns the byte count. */
static size_t
unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n;

	ck_assert_int_eq(ax_hex_decode_upto(out, cap, &n, hex), 0);
	return n;
}

/* The documented vector of docs/signing-intent.md. */
static void
vector_intent(struct ax_intent *in)
{
	uint8_t hash[32], nonce[16], lineage[16];
	struct ax_err err;
	int i;

	for (i = 0; i < 32; i++)
		hash[i] = (uint8_t)i;
	for (i = 0; i < 16; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	ck_assert(ax_uuid_parse(lineage, "5f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f60", 36));
	ck_assert_int_eq(ax_intent_set(in, "u-alice", lineage, 3, hash, AX_MEANING_APPROVAL, nonce,
	                     sizeof(nonce), &err),
	    AX_OK);
}

static const char vector_hex[] =
    "010000000f6178696f6d2f696e74656e742f76310100000007752d616c69636505000000105f1c2a3e8d4b4c6f"
    "9a0e1b2c3d4e5f60030000000800000000000000030200000020000102030405060708090a0b0c0d0e0f101112"
    "131415161718191a1b1c1d1e1f0100000008617070726f76616c0200000010a0a1a2a3a4a5a6a7a8a9aaabacad"
    "aeaf";

START_TEST(test_intent_encoding_matches_the_documented_vector)
{
	struct ax_intent in;
	struct ax_err err;
	uint8_t buf[AX_INTENT_ENCODED_MAX], want[256], hash[32];
	char hex[65], b64[64];
	size_t len, wlen;

	vector_intent(&in);
	ck_assert_int_eq(ax_intent_encode(buf, sizeof(buf), &len, &in, &err), AX_OK);
	wlen = unhex(want, sizeof(want), vector_hex);
	ck_assert_uint_eq(len, 137);
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(buf, want, len);
	ck_assert_int_eq(ax_intent_hash(hash, &in, &err), AX_OK);
	ax_hex_encode(hex, hash, 32);
	ck_assert_str_eq(hex, "8ac1f42a1849448f6e76f3cfaf452fb4af13a3e121f4b9338baed2abeb15b837");
	ck_assert_int_eq(ax_b64url_encode(b64, sizeof(b64), hash, 32, &err), AX_OK);
	ck_assert_str_eq(b64, "isH0KhhJRI9udvPPr0UvtK8To-Eh9Lkzi67Sq-sVuDc");
}
END_TEST

START_TEST(test_intent_with_utf8_signer_matches_the_second_vector)
{
	struct ax_intent in;
	struct ax_err err;
	uint8_t zero[32] = { 0 }, nonce[32], hash[32], lineage[16];
	char hex[65];

	memset(nonce, 0x11, sizeof(nonce));
	ck_assert(ax_uuid_parse(lineage, "00000000-0000-4000-8000-000000000001", 36));
	ck_assert_int_eq(ax_intent_set(&in, "Jos\xc3\xa9 M\xc3\xbcller", lineage, 1, zero,
	                     AX_MEANING_AUTHORSHIP, nonce, sizeof(nonce), &err),
	    AX_OK);
	ck_assert_int_eq(ax_intent_hash(hash, &in, &err), AX_OK);
	ax_hex_encode(hex, hash, 32);
	ck_assert_str_eq(hex, "6374a81b7809eeb78697f39c50a3db90dc5004b34fb8fa167b5924908aae8ffa");
}
END_TEST

START_TEST(test_intent_decode_round_trips_and_rejects_every_truncation_and_trailing_byte)
{
	struct ax_intent in, out;
	struct ax_err err;
	uint8_t buf[AX_INTENT_ENCODED_MAX + 1], buf2[AX_INTENT_ENCODED_MAX];
	size_t len, len2, cut;

	vector_intent(&in);
	ck_assert_int_eq(ax_intent_encode(buf, sizeof(buf), &len, &in, &err), AX_OK);
	ck_assert_int_eq(ax_intent_decode(&out, buf, len, &err), AX_OK);
	ck_assert_int_eq(ax_intent_encode(buf2, sizeof(buf2), &len2, &out, &err), AX_OK);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(buf, buf2, len);
	for (cut = 0; cut < len; cut++)
		ck_assert_int_eq(ax_intent_decode(&out, buf, cut, &err), AX_EINVAL);
	buf[len] = 0;
	ck_assert_int_eq(ax_intent_decode(&out, buf, len + 1, &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "invalid signing intent encoding: trailing bytes");
}
END_TEST

START_TEST(test_intent_decode_rejects_a_wrong_tag_a_nul_in_text_and_a_wrong_type)
{
	struct ax_intent in, out;
	struct ax_err err;
	uint8_t buf[AX_INTENT_ENCODED_MAX];
	size_t len;

	vector_intent(&in);
	ck_assert_int_eq(ax_intent_encode(buf, sizeof(buf), &len, &in, &err), AX_OK);
	buf[5 + 14] = '2'; /* axiom/intent/v2 */
	ck_assert_int_eq(ax_intent_decode(&out, buf, len, &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "invalid signing intent encoding: unknown tag");
	buf[5 + 14] = '1';
	ck_assert_int_eq(ax_intent_decode(&out, buf, len, &err), AX_OK);
	buf[20 + 5 + 1] = 0; /* a NUL inside the signer */
	ck_assert_int_eq(ax_intent_decode(&out, buf, len, &err), AX_EINVAL);
	buf[20 + 5 + 1] = '-';
	buf[20] = 0x02; /* the signer typed as bytes */
	ck_assert_int_eq(ax_intent_decode(&out, buf, len, &err), AX_EINVAL);
	ck_assert_str_eq(
	    err.msg, "invalid signing intent encoding: signer has type 0x02, not 0x01");
}
END_TEST

START_TEST(test_largest_intent_fits_the_documented_maximum)
{
	struct ax_intent in, out;
	struct ax_err err;
	uint8_t buf[AX_INTENT_ENCODED_MAX], hash[32] = { 0 }, nonce[32] = { 0 }, L[16] = { 0 };
	char signer[AX_INTENT_TEXT_MAX + 1];
	size_t len;

	ck_assert_int_eq(AX_INTENT_ENCODED_MAX, 407);
	memset(signer, 'z', AX_INTENT_TEXT_MAX);
	signer[AX_INTENT_TEXT_MAX] = '\0';
	ck_assert_int_eq(ax_intent_set(&in, signer, L, INT64_MAX, hash, AX_MEANING_RESPONSIBILITY,
	                     nonce, sizeof(nonce), &err),
	    AX_OK);
	ck_assert_int_eq(ax_intent_encode(buf, sizeof(buf), &len, &in, &err), AX_OK);
	ck_assert_uint_eq(len, AX_INTENT_ENCODED_MAX);
	ck_assert_int_eq(ax_intent_decode(&out, buf, len, &err), AX_OK);
	ck_assert_int_eq(out.version, INT64_MAX);
	ck_assert_int_eq(ax_intent_encode(buf, sizeof(buf) - 1, &len, &in, &err), AX_EINVAL);
}
END_TEST

START_TEST(test_intent_refuses_invalid_fields)
{
	struct ax_intent in;
	struct ax_err err;
	uint8_t hash[32] = { 0 }, nonce[33] = { 0 }, L[16] = { 0 };
	char big[AX_INTENT_TEXT_MAX + 2];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(
	    ax_intent_set(&in, "", L, 1, hash, AX_MEANING_REVIEW, nonce, 16, &err), AX_EINVAL);
	ck_assert_int_eq(
	    ax_intent_set(&in, big, L, 1, hash, AX_MEANING_REVIEW, nonce, 16, &err), AX_EINVAL);
	ck_assert_int_eq(
	    ax_intent_set(&in, "a\xc0\xafz", L, 1, hash, AX_MEANING_REVIEW, nonce, 16, &err),
	    AX_EINVAL); /* overlong '/' */
	ck_assert_str_eq(err.msg, "invalid signing intent: signer is not valid UTF-8");
	ck_assert_int_eq(
	    ax_intent_set(&in, "a\xed\xa0\x80", L, 1, hash, AX_MEANING_REVIEW, nonce, 16, &err),
	    AX_EINVAL); /* surrogate */
	ck_assert_int_eq(
	    ax_intent_set(&in, "a", L, 0, hash, AX_MEANING_REVIEW, nonce, 16, &err), AX_EINVAL);
	ck_assert_int_eq(
	    ax_intent_set(&in, "a", L, 1, hash, (enum ax_meaning)9, nonce, 16, &err), AX_EINVAL);
	ck_assert_int_eq(
	    ax_intent_set(&in, "a", L, 1, hash, AX_MEANING_REVIEW, nonce, 15, &err), AX_EINVAL);
	ck_assert_int_eq(
	    ax_intent_set(&in, "a", L, 1, hash, AX_MEANING_REVIEW, nonce, 33, &err), AX_EINVAL);
	ck_assert_int_eq(
	    ax_intent_set(&in, "a", L, 1, hash, AX_MEANING_REVIEW, nonce, 32, &err), AX_OK);
}
END_TEST

START_TEST(test_each_field_changes_the_intent_hash)
{
	struct ax_intent base, in;
	struct ax_err err;
	uint8_t h0[32], h[32];

	vector_intent(&base);
	ck_assert_int_eq(ax_intent_hash(h0, &base, &err), AX_OK);
	in = base;
	in.version = 4;
	ck_assert_int_eq(ax_intent_hash(h, &in, &err), AX_OK);
	ck_assert_mem_ne(h, h0, 32);
	in = base;
	in.meaning = AX_MEANING_REVIEW;
	ck_assert_int_eq(ax_intent_hash(h, &in, &err), AX_OK);
	ck_assert_mem_ne(h, h0, 32);
	in = base;
	in.record_hash[31] ^= 1;
	ck_assert_int_eq(ax_intent_hash(h, &in, &err), AX_OK);
	ck_assert_mem_ne(h, h0, 32);
	in = base;
	in.nonce[0] ^= 1;
	ck_assert_int_eq(ax_intent_hash(h, &in, &err), AX_OK);
	ck_assert_mem_ne(h, h0, 32);
	in = base;
	in.lineage_id[15] ^= 1;
	ck_assert_int_eq(ax_intent_hash(h, &in, &err), AX_OK);
	ck_assert_mem_ne(h, h0, 32);
	in = base;
	in.signer[0] = 'v';
	ck_assert_int_eq(ax_intent_hash(h, &in, &err), AX_OK);
	ck_assert_mem_ne(h, h0, 32);
}
END_TEST

START_TEST(test_meaning_names_parse_back_and_unknown_names_are_refused)
{
	enum ax_meaning m;
	struct ax_err err;
	int i;

	for (i = AX_MEANING_AUTHORSHIP; i <= AX_MEANING_RESPONSIBILITY; i++) {
		ck_assert_int_eq(
		    ax_meaning_parse(&m, ax_meaning_name((enum ax_meaning)i), &err), AX_OK);
		ck_assert_int_eq(m, i);
	}
	ck_assert_ptr_null(ax_meaning_name((enum ax_meaning)0));
	ck_assert_int_eq(ax_meaning_parse(&m, "Approval", &err), AX_EINVAL);
}
END_TEST

START_TEST(test_a_nonce_is_accepted_once)
{
	struct ax_nonce_set *set = NULL;
	struct ax_intent a, b;
	struct ax_err err;
	uint8_t hash[32] = { 0 }, n1[16], n2[24], L[16] = { 0 };

	ck_assert_int_eq(ax_intent_new_nonce(n1, sizeof(n1), &err), AX_OK);
	ck_assert_int_eq(ax_intent_new_nonce(n2, sizeof(n2), &err), AX_OK);
	ck_assert_int_eq(ax_intent_new_nonce(n2, 8, &err), AX_EINVAL);
	ck_assert_int_eq(
	    ax_intent_set(&a, "u", L, 1, hash, AX_MEANING_REVIEW, n1, sizeof(n1), &err), AX_OK);
	ck_assert_int_eq(
	    ax_intent_set(&b, "u", L, 1, hash, AX_MEANING_REVIEW, n2, sizeof(n2), &err), AX_OK);
	ck_assert_int_eq(ax_nonce_set_new(&set, 2, &err), AX_OK);
	ck_assert_int_eq(ax_intent_check_nonce(&a, ax_nonce_set_seen, set, &err), AX_OK);
	ck_assert_int_eq(ax_nonce_set_add(set, a.nonce, a.nonce_len, &err), AX_OK);
	ck_assert_int_eq(ax_intent_check_nonce(&a, ax_nonce_set_seen, set, &err), AX_ECONFLICT);
	ck_assert_str_eq(err.msg, "signature refused: intent_nonce_replayed");
	ck_assert_int_eq(ax_nonce_set_add(set, a.nonce, a.nonce_len, &err), AX_ECONFLICT);
	ck_assert_int_eq(ax_intent_check_nonce(&b, ax_nonce_set_seen, set, &err), AX_OK);
	ck_assert_int_eq(ax_nonce_set_add(set, b.nonce, b.nonce_len, &err), AX_OK);
	n1[0] ^= 0xff;
	ck_assert_int_eq(ax_nonce_set_add(set, n1, sizeof(n1), &err), AX_EINVAL); /* full */
	ax_nonce_set_free(set);
	ax_nonce_set_free(NULL);
}
END_TEST

START_TEST(test_nonce_set_keeps_many_nonces_sorted)
{
	struct ax_nonce_set *set = NULL;
	struct ax_err err;
	uint8_t n[16];
	bool seen;
	unsigned i;

	ck_assert_int_eq(ax_nonce_set_new(&set, 1000, &err), AX_OK);
	memset(n, 0, sizeof(n));
	for (i = 0; i < 1000; i++) {
		n[0] = (uint8_t)((i * 7919u) % 256);
		n[1] = (uint8_t)(((i * 7919u) / 256) % 256);
		n[2] = (uint8_t)(i % 3);
		ck_assert_int_eq(ax_nonce_set_add(set, n, sizeof(n), &err), AX_OK);
	}
	for (i = 0; i < 1000; i++) {
		n[0] = (uint8_t)((i * 7919u) % 256);
		n[1] = (uint8_t)(((i * 7919u) / 256) % 256);
		n[2] = (uint8_t)(i % 3);
		ck_assert_int_eq(ax_nonce_set_seen(set, n, sizeof(n), &seen, &err), AX_OK);
		ck_assert(seen);
	}
	n[3] = 1;
	ck_assert_int_eq(ax_nonce_set_seen(set, n, sizeof(n), &seen, &err), AX_OK);
	ck_assert(!seen);
	ax_nonce_set_free(set);
}
END_TEST

START_TEST(test_b64url_round_trips_every_length_and_rejects_non_canonical_text)
{
	uint8_t in[40], out[40];
	char txt[64];
	size_t n, olen;
	struct ax_err err;

	for (n = 0; n < sizeof(in); n++)
		in[n] = (uint8_t)(n * 37 + 5);
	for (n = 0; n <= sizeof(in); n++) {
		ck_assert_int_eq(ax_b64url_encode(txt, sizeof(txt), in, n, &err), AX_OK);
		ck_assert_uint_eq(strlen(txt), AX_B64URL_ENCODED_LEN(n));
		ck_assert_int_eq(
		    ax_b64url_decode(out, sizeof(out), &olen, txt, strlen(txt), &err), AX_OK);
		ck_assert_uint_eq(olen, n);
		ck_assert_mem_eq(out, in, n);
	}
	ck_assert_int_eq(ax_b64url_decode(out, sizeof(out), &olen, "AA==", 4, &err), AX_EINVAL);
	ck_assert_int_eq(ax_b64url_decode(out, sizeof(out), &olen, "A+/A", 4, &err), AX_EINVAL);
	ck_assert_int_eq(ax_b64url_decode(out, sizeof(out), &olen, "AAAAA", 5, &err), AX_EINVAL);
	ck_assert_int_eq(ax_b64url_decode(out, sizeof(out), &olen, "AB", 2, &err), AX_EINVAL);
	ck_assert_int_eq(ax_b64url_decode(out, sizeof(out), &olen, "AAB", 3, &err), AX_EINVAL);
	ck_assert_int_eq(ax_b64url_decode(out, sizeof(out), &olen, "AA A", 4, &err), AX_EINVAL);
	ck_assert_int_eq(ax_b64url_decode(out, sizeof(out), &olen, "-_8", 3, &err), AX_OK);
	ck_assert_uint_eq(olen, 2);
	ck_assert_int_eq(ax_b64url_decode(out, 1, &olen, "AAAA", 4, &err), AX_EINVAL);
	ck_assert_int_eq(ax_b64url_encode(txt, 4, in, 3, &err), AX_EINVAL);
}
END_TEST

START_TEST(test_cose_key_round_trips_and_rejects_extra_or_repeated_labels)
{
	uint8_t x[32], y[32], buf[AX_COSE_ES256_KEY_LEN + 1], ed[AX_COSE_EDDSA_KEY_LEN];
	struct ax_cose_key k;
	struct ax_err err;

	memset(x, 0x42, sizeof(x));
	memset(y, 0x24, sizeof(y));
	ax_cose_encode_es256(buf, x, y);
	ck_assert_int_eq(ax_cose_decode(&k, buf, AX_COSE_ES256_KEY_LEN, &err), AX_OK);
	ck_assert_int_eq(k.alg, AX_COSE_ALG_ES256);
	ck_assert_mem_eq(k.x, x, 32);
	ck_assert_mem_eq(k.y, y, 32);
	buf[AX_COSE_ES256_KEY_LEN] = 0;
	ck_assert_int_eq(ax_cose_decode(&k, buf, sizeof(buf), &err), AX_EINVAL);
	buf[3] = 0x27; /* alg EdDSA with an EC2 key */
	ck_assert_int_eq(ax_cose_decode(&k, buf, AX_COSE_ES256_KEY_LEN, &err), AX_EINVAL);
	buf[3] = 0x26;
	buf[42] = 0x21; /* label -2 twice */
	ck_assert_int_eq(ax_cose_decode(&k, buf, AX_COSE_ES256_KEY_LEN, &err), AX_EINVAL);
	ax_cose_encode_eddsa(ed, x);
	ck_assert_int_eq(ax_cose_decode(&k, ed, sizeof(ed), &err), AX_OK);
	ck_assert_int_eq(k.alg, AX_COSE_ALG_EDDSA);
	ck_assert_int_eq(ax_cose_decode(&k, ed, sizeof(ed) - 1, &err), AX_EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("intent");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_intent_encoding_matches_the_documented_vector);
	tcase_add_test(tc, test_intent_with_utf8_signer_matches_the_second_vector);
	tcase_add_test(
	    tc, test_intent_decode_round_trips_and_rejects_every_truncation_and_trailing_byte);
	tcase_add_test(tc, test_intent_decode_rejects_a_wrong_tag_a_nul_in_text_and_a_wrong_type);
	tcase_add_test(tc, test_largest_intent_fits_the_documented_maximum);
	tcase_add_test(tc, test_intent_refuses_invalid_fields);
	tcase_add_test(tc, test_each_field_changes_the_intent_hash);
	tcase_add_test(tc, test_meaning_names_parse_back_and_unknown_names_are_refused);
	tcase_add_test(tc, test_a_nonce_is_accepted_once);
	tcase_add_test(tc, test_nonce_set_keeps_many_nonces_sorted);
	tcase_add_test(tc, test_b64url_round_trips_every_length_and_rejects_non_canonical_text);
	tcase_add_test(tc, test_cose_key_round_trips_and_rejects_extra_or_repeated_labels);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
