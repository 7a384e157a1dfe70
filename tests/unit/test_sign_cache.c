/*
 * test_sign_cache.c - a writer's signing cache (consumers/ax_sign.h, struct ax_sign_cache):
 * ax_sign_verify_cached decides exactly as ax_sign_verify, whatever the cache holds: the
 * same key again, another key registered under the same factor and credential id, another
 * origin, a key that does not parse.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_sign.h"
#include "ax_signer.h"
#include "ax_softauth.h"
#include "ax_webauthn.h"

#define ET_US 1795000000000000LL

struct fx {
	struct ax_softauth *sa;
	struct ax_sign_cache *cache;
	struct ax_sign_context ctx;
	struct ax_signer_request req;
	struct ax_sign_input in;
	uint8_t cose[AX_COSE_ES256_KEY_LEN], cred[AX_SOFTAUTH_CRED_ID_LEN];
	struct ax_softauth_assertion a;
	uint8_t hash[AX_HASH_LEN];
};

static struct fx F;

static void
setup(void)
{
	struct ax_err err;

	memset(&F, 0, sizeof(F));
	ck_assert_int_eq(ax_softauth_new(&F.sa, &err), AX_OK);
	ax_softauth_cose_key(F.sa, F.cose);
	ax_softauth_cred_id(F.sa, F.cred);
	F.ctx.watermark_us = ET_US;
	F.ctx.factor_found = true;
	snprintf(F.ctx.factor_type, sizeof(F.ctx.factor_type), "fido2");
	snprintf(F.ctx.owner, sizeof(F.ctx.owner), "alice");
	F.ctx.credential_id = malloc(sizeof(F.cred));
	memcpy(F.ctx.credential_id, F.cred, sizeof(F.cred));
	F.ctx.credential_id_len = sizeof(F.cred);
	F.ctx.public_key = malloc(sizeof(F.cose));
	memcpy(F.ctx.public_key, F.cose, sizeof(F.cose));
	F.ctx.public_key_len = sizeof(F.cose);
	F.ctx.cose_alg = AX_COSE_ALG_ES256;
	F.req.actor = "alice";
	memset(F.req.lineage_id, 0x42, sizeof(F.req.lineage_id));
	F.req.version = 3;
	memset(F.req.record_hash, 0x5a, sizeof(F.req.record_hash));
	F.req.meaning = AX_MEANING_APPROVAL;
	memset(F.req.factor_id, 0x07, sizeof(F.req.factor_id));
	F.req.origin = AX_SIGN_DEFAULT_ORIGIN;
	F.req.user_verified = true;
	ck_assert_int_eq(ax_signer_intent(F.hash, &F.req, &err), AX_OK);
	ck_assert_int_eq(
	    ax_softauth_get_assertion(F.sa, &F.a, "axiom.local", AX_SIGN_DEFAULT_ORIGIN, F.hash,
	        sizeof(F.hash), AX_WA_FLAG_UP | AX_WA_FLAG_UV, &err),
	    AX_OK);
	F.in.actor = "alice";
	memcpy(F.in.lineage_id, F.req.lineage_id, 16);
	F.in.version = 3;
	F.in.record_hash = F.req.record_hash;
	F.in.record_hash_len = 32;
	F.in.meaning = AX_CMD_MEANING_APPROVAL;
	F.in.nonce = F.req.nonce;
	F.in.nonce_len = F.req.nonce_len;
	memcpy(F.in.factor_id, F.req.factor_id, 16);
	F.in.client_data = F.a.client_data_json;
	F.in.client_data_len = F.a.client_data_json_len;
	F.in.auth_data = F.a.auth_data;
	F.in.auth_data_len = sizeof(F.a.auth_data);
	F.in.signature = F.a.sig;
	F.in.signature_len = F.a.sig_len;
	F.in.id_token = "";
	F.in.event_time_us = ET_US;
	ck_assert_int_eq(ax_sign_cache_new(&F.cache, 2, &err), AX_OK);
}

static void
teardown(void)
{
	ax_sign_cache_free(F.cache);
	ax_sign_context_clear(&F.ctx);
	ax_softauth_free(F.sa);
}

/* Decide on F.in and F.ctx without a cache and with F.cache; both decisions must be
 * equal in every field; returns the one with the cache. */
static struct ax_sign_decision
decide_both(void)
{
	struct ax_sign_decision plain, cached;
	struct ax_err err;

	ck_assert_int_eq(ax_sign_verify(&plain, &F.in, &F.ctx, &err), AX_OK);
	ck_assert_int_eq(ax_sign_verify_cached(&cached, &F.in, &F.ctx, F.cache, &err), AX_OK);
	ck_assert_str_eq(cached.refusal, plain.refusal);
	ck_assert_str_eq(cached.detail, plain.detail);
	ck_assert_uint_eq(cached.verified, plain.verified);
	ck_assert_int_eq(cached.user_verified, plain.user_verified);
	ck_assert_int_eq(cached.has_sign_count, plain.has_sign_count);
	ck_assert_uint_eq(cached.sign_count, plain.sign_count);
	ck_assert_uint_eq(cached.n_factor_ids, plain.n_factor_ids);
	ck_assert_mem_eq(cached.intent_hash, plain.intent_hash, AX_HASH_LEN);
	return cached;
}

/* Register the key of authenticator sa for F's factor and credential id (a key replaced in
 * the registry). */
static void
register_key_of(struct ax_softauth *sa)
{
	ax_softauth_cose_key(sa, F.cose);
	memcpy(F.ctx.public_key, F.cose, sizeof(F.cose));
}

START_TEST(test_the_cached_decision_is_the_uncached_one_again_and_again)
{
	struct ax_sign_decision d;
	int i;

	for (i = 0; i < 3; i++) {
		d = decide_both();
		ck_assert_str_eq(d.refusal, "");
		ck_assert_uint_eq(d.verified, AX_SIGN_FIDO2);
	}
	F.a.sig[F.a.sig_len - 1] ^= 1;
	d = decide_both();
	ck_assert_str_eq(d.refusal, "webauthn_bad_signature");
}
END_TEST

START_TEST(test_a_replaced_key_under_the_same_credential_is_not_served_from_the_cache)
{
	struct ax_softauth *other = NULL;
	struct ax_sign_decision d;
	struct ax_err err;

	d = decide_both(); /* A's key cached, A's assertion accepted */
	ck_assert_str_eq(d.refusal, "");
	ck_assert_int_eq(ax_softauth_new(&other, &err), AX_OK);
	register_key_of(other); /* same factor, same credential id, key B */
	d = decide_both();      /* A's assertion against B */
	ck_assert_str_eq(d.refusal, "webauthn_bad_signature");
	ck_assert_uint_eq(d.verified, 0);
	/* B signs; A's key comes back: refused against A, accepted against B */
	ck_assert_int_eq(
	    ax_softauth_sign(other, F.a.sig, sizeof(F.a.sig), &F.a.sig_len, F.a.auth_data,
	        sizeof(F.a.auth_data), F.a.client_data_json, F.a.client_data_json_len, &err),
	    AX_OK);
	F.in.signature_len = F.a.sig_len;
	d = decide_both();
	ck_assert_str_eq(d.refusal, "");
	register_key_of(F.sa);
	d = decide_both();
	ck_assert_str_eq(d.refusal, "webauthn_bad_signature");
	ax_softauth_free(other);
}
END_TEST

START_TEST(test_another_origin_gets_its_own_verifier)
{
	struct ax_sign_decision d;

	d = decide_both(); /* the default origin's verifier kept */
	ck_assert_str_eq(d.refusal, "");
	snprintf(F.ctx.origin, sizeof(F.ctx.origin), "https://other.example");
	d = decide_both();
	ck_assert_str_eq(d.refusal, "webauthn_wrong_origin");
	F.ctx.origin[0] = '\0';
	d = decide_both();
	ck_assert_str_eq(d.refusal, "");
	snprintf(F.ctx.origin, sizeof(F.ctx.origin), "http://axiom.local");
	d = decide_both();
	ck_assert_str_eq(d.refusal, "factor_key_invalid");
}
END_TEST

START_TEST(test_a_key_that_does_not_parse_is_refused_with_or_without_the_cache)
{
	struct ax_sign_decision d;

	F.ctx.public_key[76] ^= 1; /* off the curve */
	d = decide_both();
	ck_assert_str_eq(d.refusal, "factor_key_invalid");
	F.ctx.public_key[76] ^= 1;
	d = decide_both();
	ck_assert_str_eq(d.refusal, "");
	ax_sign_cache_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sign_cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_the_cached_decision_is_the_uncached_one_again_and_again);
	tcase_add_test(
	    tc, test_a_replaced_key_under_the_same_credential_is_not_served_from_the_cache);
	tcase_add_test(tc, test_another_origin_gets_its_own_verifier);
	tcase_add_test(tc, test_a_key_that_does_not_parse_is_refused_with_or_without_the_cache);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
