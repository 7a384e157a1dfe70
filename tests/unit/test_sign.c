/*
 * test_sign.c - the applier's e-signature decision (consumers/ax_sign.h) and the signer's
 * Sign command (common/tools/ax_signer.h), without a broker or a database: the registry context
 * is built in memory as axiom_api.signing_context would return it. A writer's signing cache
 * (struct ax_sign_cache): ax_sign_verify_cached decides exactly as ax_sign_verify, whatever
 * the cache holds: the same key again, another key under the same factor and credential id,
 * another origin, a key that does not parse.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_attest.h"
#include "ax_sign.h"
#include "ax_signer.h"
#include "ax_softauth.h"
#include "ax_webauthn.h"

#define ET_US 1795000000000000LL

struct fx {
	struct ax_softauth *sa;
	struct ax_sign_cache *cache; /* the cache tests' writer cache (capacity 2) */
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

static void
decide(struct ax_sign_decision *d)
{
	struct ax_err err;

	ck_assert_int_eq(ax_sign_verify(d, &F.in, &F.ctx, &err), AX_OK);
}

START_TEST(test_valid_fido2_assertion_is_verified_with_uv_and_counter)
{
	struct ax_sign_decision d;

	decide(&d);
	ck_assert_str_eq(d.refusal, "");
	ck_assert_uint_eq(d.verified, AX_SIGN_FIDO2);
	ck_assert(d.user_verified);
	ck_assert(d.has_sign_count);
	ck_assert_uint_eq(d.sign_count, 1);
	ck_assert_uint_eq(d.n_factor_ids, 1);
	ck_assert_mem_eq(d.intent_hash, F.hash, 32);
}
END_TEST

START_TEST(test_the_intent_is_rebuilt_with_the_actor_as_signer)
{
	struct ax_sign_decision d;

	F.in.actor = "bob"; /* the command's actor, whatever the assertion was made for */
	snprintf(F.ctx.owner, sizeof(F.ctx.owner), "bob");
	decide(&d);
	ck_assert_str_eq(d.refusal, "webauthn_wrong_challenge");
	ck_assert_uint_eq(d.verified, 0);
}
END_TEST

START_TEST(test_a_credential_of_another_person_is_not_owned)
{
	struct ax_sign_decision d;

	snprintf(F.ctx.owner, sizeof(F.ctx.owner), "carol");
	decide(&d);
	ck_assert_str_eq(d.refusal, "webauthn_credential_not_owned");
}
END_TEST

START_TEST(test_another_version_changes_the_challenge)
{
	struct ax_sign_decision d;

	F.in.version = 4;
	decide(&d);
	ck_assert_str_eq(d.refusal, "webauthn_wrong_challenge");
}
END_TEST

START_TEST(test_revoked_unknown_and_missing_factors_have_their_own_reasons)
{
	struct ax_sign_decision d;

	F.ctx.factor_revoked = true;
	decide(&d);
	ck_assert_str_eq(d.refusal, "webauthn_credential_revoked");
	F.ctx.factor_revoked = false;
	F.ctx.factor_found = false;
	decide(&d);
	ck_assert_str_eq(d.refusal, "factor_unknown");
	F.in.client_data_len = F.in.auth_data_len = F.in.signature_len = 0;
	decide(&d);
	ck_assert_str_eq(d.refusal, "factor_proof_missing");
}
END_TEST

START_TEST(test_a_token_without_registered_issuer_refuses_the_signing)
{
	struct ax_sign_decision d;

	F.in.id_token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcCJ9.AAAA";
	decide(&d);
	ck_assert_str_eq(d.refusal, "oidc_unknown_issuer");
	ck_assert_uint_eq(d.verified, 0); /* one refused proof refuses the whole signing */
}
END_TEST

START_TEST(test_token_issuer_is_read_only_from_a_well_formed_payload)
{
	char iss[64];

	ax_sign_token_issuer(iss, sizeof(iss), "e30.eyJpc3MiOiJodHRwczovL2lkcCJ9.sig");
	ck_assert_str_eq(iss, "https://idp");
	ax_sign_token_issuer(iss, sizeof(iss), "e30.!!!.sig");
	ck_assert_str_eq(iss, "");
	ax_sign_token_issuer(iss, sizeof(iss), "no dots");
	ck_assert_str_eq(iss, "");
	ax_sign_token_issuer(iss, sizeof(iss), "e30.eyJpc3MiOjEsImlzcyI6MX0.sig"); /* repeated */
	ck_assert_str_eq(iss, "");
}
END_TEST

START_TEST(test_password_attestation_is_verified_and_its_age_checked)
{
	struct ax_attestor *gw = NULL;
	struct ax_attestation att;
	struct ax_pw_verifier v;
	struct ax_sign_decision d;
	enum ax_attest_reason reason;
	struct ax_intent intent;
	struct ax_err err;
	uint8_t proof[AX_SIGN_ATTEST_PROOF_LEN];
	char kid[37];
	int i;

	ax_uuid_format(kid, F.in.factor_id);
	ck_assert_int_eq(ax_attestor_new(&gw, kid, &err), AX_OK);
	ck_assert_int_eq(
	    ax_pw_verifier_make(&v, AX_PW_PBKDF2_SHA256, (const uint8_t *)"pw", 2, &err), AX_OK);
	ck_assert_int_eq(ax_intent_set(&intent, "alice", F.req.lineage_id, 3, F.req.record_hash,
	                     AX_MEANING_APPROVAL, F.req.nonce, F.req.nonce_len, &err),
	    AX_OK);
	ck_assert_int_eq(ax_attest_password(&att, &reason, gw, "alice", &v, (const uint8_t *)"pw",
	                     2, &intent, ET_US - 1000000, &err),
	    AX_OK);
	for (i = 0; i < 8; i++)
		proof[i] = (uint8_t)((uint64_t)att.attested_at_us >> (56 - 8 * i));
	memcpy(proof + 8, att.sig, 64);
	snprintf(F.ctx.factor_type, sizeof(F.ctx.factor_type), "password");
	free(F.ctx.public_key);
	F.ctx.public_key = malloc(32);
	ax_attestor_public_key(gw, F.ctx.public_key);
	F.ctx.public_key_len = 32;
	F.in.client_data_len = F.in.auth_data_len = 0;
	F.in.signature = proof;
	F.in.signature_len = sizeof(proof);
	decide(&d);
	ck_assert_str_eq(d.refusal, "");
	ck_assert_uint_eq(d.verified, AX_SIGN_PASSWORD);
	F.in.event_time_us = ET_US + AX_SIGN_ATTEST_AGE_US + 10000000;
	decide(&d);
	ck_assert_str_eq(d.refusal, "attest_stale");
	ax_attestor_free(gw);
}
END_TEST

START_TEST(test_the_signer_line_is_a_sign_command_of_the_contract)
{
	char line[AX_SIGNER_LINE_MAX];
	struct ax_err err;
	json_t *j, *s;

	ck_assert_int_eq(ax_signer_softauth_line(line, sizeof(line), &F.req, F.sa, &err), AX_OK);
	ck_assert_ptr_nonnull(j = json_loads(line, JSON_REJECT_DUPLICATES, NULL));
	ck_assert_str_eq(json_string_value(json_object_get(j, "actor")), "alice");
	s = json_object_get(json_object_get(j, "payload"), "Sign");
	ck_assert_str_eq(json_string_value(json_object_get(s, "meaning")), "APPROVAL");
	ck_assert_int_eq(json_integer_value(json_object_get(s, "version")), 3);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(s, "authenticator_data"))), 74);
	json_decref(j);
}
END_TEST

START_TEST(test_the_rp_id_is_the_host_of_an_https_origin_and_nothing_else)
{
	char rp[16];
	struct ax_err err;

	ck_assert_int_eq(ax_signer_rp_id(rp, sizeof(rp), "https://axiom.local", &err), AX_OK);
	ck_assert_str_eq(rp, "axiom.local");
	ck_assert_int_eq(
	    ax_signer_rp_id(rp, sizeof(rp), "https://axiom.local:8443/x", &err), AX_OK);
	ck_assert_str_eq(rp, "axiom.local");
	ck_assert_int_eq(ax_signer_rp_id(rp, sizeof(rp), "http://axiom.local", &err), AX_EINVAL);
	ck_assert_int_eq(ax_signer_rp_id(rp, sizeof(rp), "https://", &err), AX_EINVAL);
	ck_assert_int_eq(ax_signer_rp_id(rp, sizeof(rp), "https://:443", &err), AX_EINVAL);
	ck_assert_int_eq(ax_signer_rp_id(rp, sizeof(rp), "https", &err), AX_EINVAL);
	ck_assert_int_eq(ax_signer_rp_id(rp, sizeof(rp), NULL, &err), AX_EINVAL);
	/* a host that does not fit is refused, never cut */
	ck_assert_int_eq(
	    ax_signer_rp_id(rp, sizeof(rp), "https://a-host-of-sixteen", &err), AX_EINVAL);
}
END_TEST

START_TEST(test_verifications_per_second_are_reported)
{
	struct ax_sign_decision d;
	struct timespec t0, t1;
	double secs;
	int n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		decide(&d);
		ck_assert_str_eq(d.refusal, "");
		n++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	} while (secs < 1.0);
	printf("ax_sign_verify (FIDO2, key parse + verifier per command): %.0f verifications/s\n",
	    n / secs);
}
END_TEST

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
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_valid_fido2_assertion_is_verified_with_uv_and_counter);
	tcase_add_test(tc, test_the_intent_is_rebuilt_with_the_actor_as_signer);
	tcase_add_test(tc, test_a_credential_of_another_person_is_not_owned);
	tcase_add_test(tc, test_another_version_changes_the_challenge);
	tcase_add_test(tc, test_revoked_unknown_and_missing_factors_have_their_own_reasons);
	tcase_add_test(tc, test_a_token_without_registered_issuer_refuses_the_signing);
	tcase_add_test(tc, test_token_issuer_is_read_only_from_a_well_formed_payload);
	tcase_add_test(tc, test_password_attestation_is_verified_and_its_age_checked);
	tcase_add_test(tc, test_the_signer_line_is_a_sign_command_of_the_contract);
	tcase_add_test(tc, test_the_rp_id_is_the_host_of_an_https_origin_and_nothing_else);
	tcase_add_test(tc, test_the_cached_decision_is_the_uncached_one_again_and_again);
	tcase_add_test(
	    tc, test_a_replaced_key_under_the_same_credential_is_not_served_from_the_cache);
	tcase_add_test(tc, test_another_origin_gets_its_own_verifier);
	tcase_add_test(tc, test_a_key_that_does_not_parse_is_refused_with_or_without_the_cache);
	tcase_add_test(tc, test_verifications_per_second_are_reported);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
