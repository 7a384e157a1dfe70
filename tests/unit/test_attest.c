/*
 * test_attest.c - password verifiers and gateway attestations (ax_attest.h): the gateway
 * path, the applier path and each refusal.
 */
#include <check.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_attest.h"
#include "ax_hex.h"
#include "ax_intent.h"

#define PW     "correct horse battery staple"
#define NOW_US (INT64_C(1764400000) * 1000000)

static struct ax_pw_verifier scrypt_v; /* made once: scrypt at OWASP cost is ~0.3 s */
static struct ax_attestor *gw;
static struct ax_attest_key reg;
static struct ax_intent intent;
static uint8_t ihash[32];
static const struct ax_attest_policy policy = { 120 * 1000000LL, 5 * 1000000LL };
static struct ax_err E;

static void
once(void)
{
	uint8_t rh[32], nonce[16], lineage[16] = { 1 };

	ck_assert_int_eq(
	    ax_pw_verifier_make(&scrypt_v, AX_PW_SCRYPT, (const uint8_t *)PW, strlen(PW), &E),
	    AX_OK);
	ck_assert_int_eq(ax_attestor_new(&gw, "gw-2026-1", &E), AX_OK);
	reg.key_id = "gw-2026-1";
	ax_attestor_public_key(gw, reg.public_key);
	memset(rh, 3, sizeof(rh));
	ck_assert_int_eq(ax_intent_new_nonce(nonce, sizeof(nonce), &E), AX_OK);
	ck_assert_int_eq(ax_intent_set(&intent, "alice", lineage, 1, rh, AX_MEANING_AUTHORSHIP,
	                     nonce, sizeof(nonce), &E),
	    AX_OK);
	ck_assert_int_eq(ax_intent_hash(ihash, &intent, &E), AX_OK);
}

static void
once_free(void)
{
	ax_attestor_free(gw);
}

/* Attest PW for alice's intent at t; asserts success. */
static void
attest_at(struct ax_attestation *att, int64_t t)
{
	enum ax_attest_reason why;

	ck_assert_int_eq(ax_attest_password(att, &why, gw, "alice", &scrypt_v, (const uint8_t *)PW,
	                     strlen(PW), &intent, t, &E),
	    AX_OK);
	ck_assert_int_eq(why, AX_ATT_OK);
}

/* Assert that att is refused at the applier with reason r. */
static void
assert_refused(const struct ax_attest_key *key, const struct ax_attestation *att,
    const uint8_t *expected, enum ax_attest_reason r)
{
	enum ax_attest_reason why;
	char want[96];

	ck_assert_int_eq(
	    ax_attest_verify(&why, key, att, expected, NOW_US, &policy, &E), AX_EINVAL);
	ck_assert_str_eq(ax_attest_reason_name(why), ax_attest_reason_name(r));
	snprintf(want, sizeof(want), "password attestation refused: %s", ax_attest_reason_name(r));
	ck_assert_str_eq(E.msg, want);
}

START_TEST(test_scrypt_verifier_uses_owasp_parameters_and_matches_only_the_password)
{
	bool match = false;

	ck_assert_int_eq(scrypt_v.kdf, AX_PW_SCRYPT);
	ck_assert_uint_eq(scrypt_v.log2_n, 17);
	ck_assert_uint_eq(scrypt_v.r, 8);
	ck_assert_uint_eq(scrypt_v.p, 1);
	ck_assert_int_eq(
	    ax_pw_verifier_check(&scrypt_v, (const uint8_t *)PW, strlen(PW), &match, &E), AX_OK);
	ck_assert(match);
	ck_assert_int_eq(
	    ax_pw_verifier_check(
	        &scrypt_v, (const uint8_t *)"Correct horse battery staple", strlen(PW), &match, &E),
	    AX_OK);
	ck_assert(!match);
}
END_TEST

START_TEST(test_pbkdf2_verifier_uses_600000_iterations_and_fresh_salts)
{
	struct ax_pw_verifier a, b;
	bool match = false;

	ck_assert_int_eq(
	    ax_pw_verifier_make(&a, AX_PW_PBKDF2_SHA256, (const uint8_t *)PW, strlen(PW), &E),
	    AX_OK);
	ck_assert_uint_eq(a.iterations, 600000);
	ck_assert_int_eq(
	    ax_pw_verifier_check(&a, (const uint8_t *)PW, strlen(PW), &match, &E), AX_OK);
	ck_assert(match);
	ck_assert_int_eq(
	    ax_pw_verifier_check(&a, (const uint8_t *)PW, strlen(PW) - 1, &match, &E), AX_OK);
	ck_assert(!match);
	b = a;
	ck_assert_int_eq(
	    ax_pw_verifier_make(&b, AX_PW_PBKDF2_SHA256, (const uint8_t *)PW, strlen(PW), &E),
	    AX_OK);
	ck_assert_mem_ne(a.salt, b.salt, sizeof(a.salt));
	ck_assert_mem_ne(a.hash, b.hash, sizeof(a.hash));
}
END_TEST

START_TEST(test_weak_or_absurd_verifier_parameters_are_refused_before_computing)
{
	struct ax_pw_verifier w = scrypt_v;
	bool match = true;

	w.log2_n = 16; /* the old OWASP figure */
	ck_assert_int_eq(
	    ax_pw_verifier_check(&w, (const uint8_t *)PW, strlen(PW), &match, &E), AX_EINVAL);
	ck_assert(!match);
	ck_assert_ptr_nonnull(strstr(E.hint, "set the password again"));
	w.log2_n = 30; /* 128 GiB: a denial of service, not a verifier */
	ck_assert_int_eq(
	    ax_pw_verifier_check(&w, (const uint8_t *)PW, strlen(PW), &match, &E), AX_EINVAL);
	w = scrypt_v;
	w.kdf = AX_PW_PBKDF2_SHA256;
	w.iterations = 310000;
	ck_assert_int_eq(
	    ax_pw_verifier_check(&w, (const uint8_t *)PW, strlen(PW), &match, &E), AX_EINVAL);
	w.kdf = (enum ax_pw_kdf)9;
	ck_assert_int_eq(
	    ax_pw_verifier_check(&w, (const uint8_t *)PW, strlen(PW), &match, &E), AX_EINVAL);
	ck_assert_int_eq(
	    ax_pw_verifier_check(&scrypt_v, (const uint8_t *)"", 0, &match, &E), AX_EINVAL);
}
END_TEST

START_TEST(test_right_password_yields_an_attestation_the_applier_accepts)
{
	struct ax_attestation att;
	enum ax_attest_reason why;

	attest_at(&att, NOW_US - 3 * 1000000);
	ck_assert_str_eq(att.key_id, "gw-2026-1");
	ck_assert_mem_eq(att.intent_hash, ihash, 32);
	ck_assert_int_eq(ax_attest_verify(&why, &reg, &att, ihash, NOW_US, &policy, &E), AX_OK);
	ck_assert_int_eq(why, AX_ATT_OK);
}
END_TEST

START_TEST(test_the_password_never_appears_in_the_attestation)
{
	struct ax_attestation att;
	const uint8_t *p = (const uint8_t *)&att;
	size_t i;

	attest_at(&att, NOW_US);
	for (i = 0; i + 4 <= sizeof(att); i++)
		ck_assert(memcmp(p + i, PW, 4) != 0);
	for (i = 0; i + 4 <= sizeof(att); i++)
		ck_assert(
		    memcmp(p + i, scrypt_v.hash, 4) != 0 && memcmp(p + i, scrypt_v.salt, 4) != 0);
}
END_TEST

START_TEST(test_wrong_password_is_refused_and_nothing_is_signed)
{
	struct ax_attestation att;
	enum ax_attest_reason why;
	static const struct ax_attestation zero;

	memset(&att, 0xee, sizeof(att));
	ck_assert_int_eq(ax_attest_password(&att, &why, gw, "alice", &scrypt_v,
	                     (const uint8_t *)"hunter2", 7, &intent, NOW_US, &E),
	    AX_EINVAL);
	ck_assert_int_eq(why, AX_ATT_WRONG_PASSWORD);
	ck_assert_str_eq(E.msg, "password attestation refused: attest_wrong_password");
	ck_assert_mem_eq(&att, &zero, sizeof(att));
}
END_TEST

START_TEST(test_intent_of_another_signer_is_refused_at_the_gateway)
{
	struct ax_attestation att;
	enum ax_attest_reason why;

	ck_assert_int_eq(ax_attest_password(&att, &why, gw, "bob", &scrypt_v, (const uint8_t *)PW,
	                     strlen(PW), &intent, NOW_US, &E),
	    AX_EINVAL);
	ck_assert_int_eq(why, AX_ATT_WRONG_SIGNER);
}
END_TEST

START_TEST(test_attestation_for_another_intent_is_refused)
{
	struct ax_attestation att;
	uint8_t other[32];

	attest_at(&att, NOW_US);
	memcpy(other, ihash, 32);
	other[5] ^= 0x80;
	assert_refused(&reg, &att, other, AX_ATT_WRONG_INTENT);
}
END_TEST

START_TEST(test_attestation_with_a_rewritten_intent_or_time_is_refused)
{
	struct ax_attestation att, t;

	attest_at(&att, NOW_US);
	t = att;
	t.intent_hash[0] ^= 1; /* pointed at another intent: the signature breaks first */
	assert_refused(&reg, &t, t.intent_hash, AX_ATT_BAD_SIGNATURE);
	t = att;
	t.attested_at_us += 1;
	assert_refused(&reg, &t, ihash, AX_ATT_BAD_SIGNATURE);
	t = att;
	t.sig[63] ^= 1;
	assert_refused(&reg, &t, ihash, AX_ATT_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_unknown_or_revoked_attestor_key_is_refused)
{
	struct ax_attestation att;
	struct ax_attest_key other = reg;
	struct ax_attestor *rogue = NULL;
	enum ax_attest_reason why;

	attest_at(&att, NOW_US);
	other.key_id = "gw-2025-9";
	assert_refused(&other, &att, ihash, AX_ATT_UNKNOWN_KEY);
	other = reg;
	other.revoked = true;
	assert_refused(&other, &att, ihash, AX_ATT_KEY_REVOKED);
	/* a rogue gateway using a registered key id with its own key */
	ck_assert_int_eq(ax_attestor_new(&rogue, "gw-2026-1", &E), AX_OK);
	ck_assert_int_eq(ax_attest_password(&att, &why, rogue, "alice", &scrypt_v,
	                     (const uint8_t *)PW, strlen(PW), &intent, NOW_US, &E),
	    AX_OK);
	assert_refused(&reg, &att, ihash, AX_ATT_BAD_SIGNATURE);
	ax_attestor_free(rogue);
}
END_TEST

START_TEST(test_stale_or_future_attestation_is_refused)
{
	struct ax_attestation att;
	enum ax_attest_reason why;

	attest_at(&att, NOW_US - 121 * 1000000LL);
	assert_refused(&reg, &att, ihash, AX_ATT_STALE);
	attest_at(&att, NOW_US - 120 * 1000000LL); /* the edge of the window is fresh */
	ck_assert_int_eq(ax_attest_verify(&why, &reg, &att, ihash, NOW_US, &policy, &E), AX_OK);
	attest_at(&att, NOW_US + 6 * 1000000LL);
	assert_refused(&reg, &att, ihash, AX_ATT_IN_FUTURE);
	attest_at(&att, NOW_US + 5 * 1000000LL); /* within the skew */
	ck_assert_int_eq(ax_attest_verify(&why, &reg, &att, ihash, NOW_US, &policy, &E), AX_OK);
}
END_TEST

START_TEST(test_attestor_key_survives_a_pem_round_trip)
{
	struct ax_attestor *back = NULL;
	char pem[AX_ATTEST_PEM_MAX];
	uint8_t pub[32];
	size_t len;

	ck_assert_int_eq(ax_attestor_to_pem(gw, pem, sizeof(pem), &len, &E), AX_OK);
	ck_assert_int_eq(ax_attestor_from_pem(&back, "gw-2026-1", pem, len, &E), AX_OK);
	ax_attestor_public_key(back, pub);
	ck_assert_mem_eq(pub, reg.public_key, 32);
	ax_attestor_free(back);
	ck_assert_int_eq(ax_attestor_from_pem(&back, "bad id", pem, len, &E), AX_EINVAL);
	ck_assert_int_eq(ax_attestor_from_pem(&back, "x", "nope", 4, &E), AX_EINVAL);
	ck_assert_ptr_null(back);
	ax_attestor_free(NULL);
	OPENSSL_cleanse(pem, sizeof(pem));
}
END_TEST

START_TEST(test_out_of_range_times_are_refused_without_overflow)
{
	struct ax_attestation att;
	enum ax_attest_reason why;
	struct ax_attest_policy huge = { INT64_MAX, 0 };

	attest_at(&att, NOW_US);
	ck_assert_int_eq(ax_attest_verify(&why, &reg, &att, ihash, -1, &policy, &E), AX_EINVAL);
	ck_assert_int_eq(ax_attest_verify(&why, &reg, &att, ihash, NOW_US, &huge, &E), AX_EINVAL);
	ck_assert_int_eq(ax_attest_password(&att, &why, gw, "alice", &scrypt_v, (const uint8_t *)PW,
	                     strlen(PW), &intent, INT64_MIN, &E),
	    AX_EINVAL);
}
END_TEST

/* The vector of docs/signing-intent.md section 4, from an independent implementation
 * (Python cryptography): Ed25519 key from the seed 00 01 .. 1f, key id gw-2026-1, the intent
 * of vector 1, attested at 1764400000 s. */
START_TEST(test_attestation_matches_the_documented_vector)
{
	static const char pem[] =
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
	    "-----END PRIVATE KEY-----\n";
	static const char want_sig[] =
	    "6c60b749a655c60289908ffc0d9aac70a516cbea470f0be37c61dde86fd5279721fd0a1f6232bbbd844c"
	    "0ce9bea013ea44c2141d726406ebae6a1c3f534b8f0a";
	struct ax_attestor *a = NULL;
	struct ax_attestation att;
	struct ax_intent vi;
	enum ax_attest_reason why;
	uint8_t hash[32], nonce[16], lineage[16], pub[32];
	char hex[129];
	int i;

	for (i = 0; i < 32; i++)
		hash[i] = (uint8_t)i;
	for (i = 0; i < 16; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	ck_assert(ax_uuid_parse(lineage, "5f1c2a3e-8d4b-4c6f-9a0e-1b2c3d4e5f60", 36));
	ck_assert_int_eq(ax_intent_set(&vi, "u-alice", lineage, 3, hash, AX_MEANING_APPROVAL, nonce,
	                     sizeof(nonce), &E),
	    AX_OK);
	ck_assert_int_eq(ax_attestor_from_pem(&a, "gw-2026-1", pem, strlen(pem), &E), AX_OK);
	ax_attestor_public_key(a, pub);
	ax_hex_encode(hex, pub, 32);
	ck_assert_str_eq(hex, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
	ck_assert_int_eq(ax_attest_password(&att, &why, a, "u-alice", &scrypt_v,
	                     (const uint8_t *)PW, strlen(PW), &vi, NOW_US, &E),
	    AX_OK);
	ax_hex_encode(hex, att.sig, 64);
	ck_assert_str_eq(hex, want_sig);
	ax_attestor_free(a);
}
END_TEST

START_TEST(test_every_reason_has_a_distinct_stable_name)
{
	int i, j;

	for (i = 0; i < AX_ATT_REASON_COUNT; i++) {
		ck_assert_int_eq(
		    strncmp(ax_attest_reason_name((enum ax_attest_reason)i), "attest_", 7), 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ax_attest_reason_name((enum ax_attest_reason)i),
			    ax_attest_reason_name((enum ax_attest_reason)j));
	}
	ck_assert_str_eq(ax_attest_reason_name(AX_ATT_REASON_COUNT), "attest_unknown_reason");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("attest");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, once, once_free);
	tcase_add_test(
	    tc, test_scrypt_verifier_uses_owasp_parameters_and_matches_only_the_password);
	tcase_add_test(tc, test_pbkdf2_verifier_uses_600000_iterations_and_fresh_salts);
	tcase_add_test(tc, test_weak_or_absurd_verifier_parameters_are_refused_before_computing);
	tcase_add_test(tc, test_right_password_yields_an_attestation_the_applier_accepts);
	tcase_add_test(tc, test_the_password_never_appears_in_the_attestation);
	tcase_add_test(tc, test_wrong_password_is_refused_and_nothing_is_signed);
	tcase_add_test(tc, test_intent_of_another_signer_is_refused_at_the_gateway);
	tcase_add_test(tc, test_attestation_for_another_intent_is_refused);
	tcase_add_test(tc, test_attestation_with_a_rewritten_intent_or_time_is_refused);
	tcase_add_test(tc, test_unknown_or_revoked_attestor_key_is_refused);
	tcase_add_test(tc, test_stale_or_future_attestation_is_refused);
	tcase_add_test(tc, test_attestor_key_survives_a_pem_round_trip);
	tcase_add_test(tc, test_out_of_range_times_are_refused_without_overflow);
	tcase_add_test(tc, test_attestation_matches_the_documented_vector);
	tcase_add_test(tc, test_every_reason_has_a_distinct_stable_name);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
