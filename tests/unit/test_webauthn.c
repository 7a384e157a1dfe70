/*
 * test_webauthn.c - WebAuthn assertion verification (ax_webauthn.h) against assertions from
 * the software authenticator (ax_softauth.h): each accepted path and each refusal.
 */
#include <check.h>
#include <fido.h>
#include <fido/es256.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_b64url.h"
#include "ax_intent.h"
#include "ax_softauth.h"
#include "ax_webauthn.h"

#define RP     "axiom.example"
#define ORIGIN "https://axiom.example"

static const char *const origins[] = { ORIGIN, "https://sign.axiom.example" };

/* Everything one test needs: an authenticator, its registered credential, a verifier with
 * UV required, an intent and its hash, and one fresh assertion for it. */
struct fx {
	struct ax_softauth *sa;
	struct ax_webauthn_key *key;
	struct ax_webauthn_verifier *v;
	uint8_t cred_id[AX_SOFTAUTH_CRED_ID_LEN];
	struct ax_webauthn_cred cred;
	struct ax_intent intent;
	uint8_t challenge[32];
	struct ax_softauth_assertion sa_out;
	struct ax_webauthn_assertion a;
	struct ax_webauthn_result res;
	struct ax_err err;
};

static struct fx F;

/* Build the intent for version of lineage L-42 signed by alice for meaning approval. */
static void
make_intent(struct ax_intent *in, uint8_t hash_out[32], int64_t version, const uint8_t *nonce)
{
	uint8_t rh[32], lineage[16] = { 0x42 };
	struct ax_err err;

	memset(rh, 0x5a, sizeof(rh));
	ck_assert_int_eq(
	    ax_intent_set(in, "alice", lineage, version, rh, AX_MEANING_APPROVAL, nonce, 16, &err),
	    AX_OK);
	ck_assert_int_eq(ax_intent_hash(hash_out, in, &err), AX_OK);
}

/* Point F.a at the buffers of F.sa_out. */
static void
wire_assertion(void)
{
	F.a.cred_id = F.sa_out.cred_id;
	F.a.cred_id_len = sizeof(F.sa_out.cred_id);
	F.a.auth_data = F.sa_out.auth_data;
	F.a.auth_data_len = sizeof(F.sa_out.auth_data);
	F.a.client_data_json = F.sa_out.client_data_json;
	F.a.client_data_json_len = F.sa_out.client_data_json_len;
	F.a.sig = F.sa_out.sig;
	F.a.sig_len = F.sa_out.sig_len;
}

static void
setup(void)
{
	struct ax_webauthn_policy pol = { RP, origins, 2, true };
	uint8_t cose[AX_COSE_ES256_KEY_LEN], nonce[16];

	memset(&F, 0, sizeof(F));
	ck_assert_int_eq(ax_softauth_new(&F.sa, &F.err), AX_OK);
	ax_softauth_cose_key(F.sa, cose);
	ax_softauth_cred_id(F.sa, F.cred_id);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&F.key, AX_COSE_ALG_ES256, AX_PK_COSE, cose, sizeof(cose), &F.err),
	    AX_OK);
	ck_assert_int_eq(ax_webauthn_verifier_new(&F.v, &pol, &F.err), AX_OK);
	F.cred.id = F.cred_id;
	F.cred.id_len = sizeof(F.cred_id);
	F.cred.key = F.key;
	F.cred.owner = "alice";
	ck_assert_int_eq(ax_intent_new_nonce(nonce, sizeof(nonce), &F.err), AX_OK);
	make_intent(&F.intent, F.challenge, 7, nonce);
	ck_assert_int_eq(ax_softauth_get_assertion(F.sa, &F.sa_out, RP, ORIGIN, F.challenge, 32,
	                     AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
}

static void
teardown(void)
{
	ax_webauthn_verifier_free(F.v);
	ax_webauthn_key_free(F.key);
	ax_softauth_free(F.sa);
}

/* Run the verifier on F.a with F.challenge; returns the rc. */
static int
verify(void)
{
	return ax_webauthn_verify(&F.res, F.v, &F.cred, "alice", &F.a, F.challenge, &F.err);
}

/* Assert that F.a is refused with reason. */
static void
assert_refused(enum ax_webauthn_reason reason)
{
	char want[128];

	ck_assert_int_eq(verify(), AX_EINVAL);
	ck_assert_str_eq(ax_webauthn_reason_name(F.res.reason), ax_webauthn_reason_name(reason));
	snprintf(
	    want, sizeof(want), "webauthn assertion refused: %s", ax_webauthn_reason_name(reason));
	ck_assert_str_eq(F.err.msg, want);
	ck_assert_str_ne(F.err.detail, "");
}

/* Replace clientDataJSON with text and re-sign authData || SHA-256(text) with the
 * authenticator, as a malicious client holding the authenticator could. */
static void
resign_with_client_data(const char *text)
{
	size_t n = strlen(text);

	ck_assert_uint_le(n, sizeof(F.sa_out.client_data_json));
	memcpy(F.sa_out.client_data_json, text, n);
	F.sa_out.client_data_json_len = n;
	ck_assert_int_eq(ax_softauth_sign(F.sa, F.sa_out.sig, sizeof(F.sa_out.sig),
	                     &F.sa_out.sig_len, F.sa_out.auth_data, sizeof(F.sa_out.auth_data),
	                     F.sa_out.client_data_json, n, &F.err),
	    AX_OK);
	wire_assertion();
}

/* The clientDataJSON text of a valid assertion with one member spliced in front. */
static void
client_data_with(char *out, size_t cap, const char *type, const char *extra)
{
	char b64[64];
	struct ax_err err;

	ck_assert_int_eq(ax_b64url_encode(b64, sizeof(b64), F.challenge, 32, &err), AX_OK);
	snprintf(out, cap, "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"%s}", type, b64,
	    ORIGIN, extra);
}

START_TEST(test_valid_assertion_from_the_software_authenticator_is_accepted)
{
	ck_assert_int_eq(verify(), AX_OK);
	ck_assert_int_eq(F.res.reason, AX_WA_OK);
	ck_assert_uint_eq(F.res.sign_count, 1);
	ck_assert_uint_eq(F.res.flags, AX_WA_FLAG_UP | AX_WA_FLAG_UV);
	ck_assert_ptr_nonnull(strstr((const char *)F.sa_out.client_data_json,
	    "\"type\":\"webauthn.get\"")); /* genuine layout */
	ck_assert_ptr_nonnull(
	    strstr((const char *)F.sa_out.client_data_json, "\"crossOrigin\":false"));
}
END_TEST

START_TEST(test_second_allowed_origin_is_accepted)
{
	ck_assert_int_eq(
	    ax_softauth_get_assertion(F.sa, &F.sa_out, RP, "https://sign.axiom.example",
	        F.challenge, 32, AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
	ck_assert_int_eq(verify(), AX_OK);
}
END_TEST

START_TEST(test_wrong_challenge_is_refused)
{
	F.challenge[0] ^= 1;
	assert_refused(AX_WA_WRONG_CHALLENGE);
}
END_TEST

START_TEST(test_signature_moved_to_another_record_version_is_refused)
{
	struct ax_intent other;
	uint8_t other_hash[32];

	/* Same signer, lineage, meaning, record hash and nonce; only the version differs. */
	make_intent(&other, other_hash, 8, F.intent.nonce);
	memcpy(F.challenge, other_hash, 32);
	assert_refused(AX_WA_WRONG_CHALLENGE);
}
END_TEST

START_TEST(test_wrong_origin_is_refused)
{
	ck_assert_int_eq(ax_softauth_get_assertion(F.sa, &F.sa_out, RP, "https://evil.example",
	                     F.challenge, 32, AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
	assert_refused(AX_WA_WRONG_ORIGIN);
	ck_assert_ptr_nonnull(strstr(F.err.detail, "https://evil.example"));
}
END_TEST

START_TEST(test_origin_that_only_shares_a_prefix_is_refused)
{
	ck_assert_int_eq(
	    ax_softauth_get_assertion(F.sa, &F.sa_out, RP, "https://axiom.example.evil.example",
	        F.challenge, 32, AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
	assert_refused(AX_WA_WRONG_ORIGIN);
}
END_TEST

START_TEST(test_refusal_detail_cannot_inject_lines_into_a_log)
{
	char cdj[512], b64[64];

	ck_assert_int_eq(ax_b64url_encode(b64, sizeof(b64), F.challenge, 32, &F.err), AX_OK);
	snprintf(cdj, sizeof(cdj),
	    "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"https://x\\nLOG: ok\"}",
	    b64);
	resign_with_client_data(cdj);
	assert_refused(AX_WA_WRONG_ORIGIN);
	ck_assert_ptr_null(strchr(F.err.detail, '\n'));
	ck_assert_ptr_nonnull(strstr(F.err.detail, "https://x?LOG: ok"));
}
END_TEST

START_TEST(test_wrong_type_is_refused)
{
	char cdj[512];

	client_data_with(cdj, sizeof(cdj), "webauthn.create", "");
	resign_with_client_data(cdj);
	assert_refused(AX_WA_WRONG_TYPE);
}
END_TEST

START_TEST(test_wrong_rp_id_is_refused)
{
	ck_assert_int_eq(ax_softauth_get_assertion(F.sa, &F.sa_out, "evil.example", ORIGIN,
	                     F.challenge, 32, AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
	assert_refused(AX_WA_WRONG_RP_ID);
}
END_TEST

START_TEST(test_uv_absent_is_refused_where_the_policy_requires_it)
{
	ck_assert_int_eq(ax_softauth_get_assertion(
	                     F.sa, &F.sa_out, RP, ORIGIN, F.challenge, 32, AX_WA_FLAG_UP, &F.err),
	    AX_OK);
	wire_assertion();
	assert_refused(AX_WA_USER_NOT_VERIFIED);
}
END_TEST

START_TEST(test_uv_absent_is_accepted_where_the_policy_does_not_require_it)
{
	struct ax_webauthn_policy pol = { RP, origins, 1, false };
	struct ax_webauthn_verifier *v2 = NULL;

	ck_assert_int_eq(ax_webauthn_verifier_new(&v2, &pol, &F.err), AX_OK);
	ck_assert_int_eq(ax_softauth_get_assertion(
	                     F.sa, &F.sa_out, RP, ORIGIN, F.challenge, 32, AX_WA_FLAG_UP, &F.err),
	    AX_OK);
	wire_assertion();
	ck_assert_int_eq(
	    ax_webauthn_verify(&F.res, v2, &F.cred, "alice", &F.a, F.challenge, &F.err), AX_OK);
	ck_assert_uint_eq(F.res.flags, AX_WA_FLAG_UP);
	ax_webauthn_verifier_free(v2);
}
END_TEST

START_TEST(test_up_absent_is_refused)
{
	ck_assert_int_eq(ax_softauth_get_assertion(
	                     F.sa, &F.sa_out, RP, ORIGIN, F.challenge, 32, AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
	assert_refused(AX_WA_USER_NOT_PRESENT);
}
END_TEST

START_TEST(test_tampered_authenticator_data_is_refused)
{
	F.sa_out.auth_data[36] ^= 0x40; /* the counter, not re-signed */
	assert_refused(AX_WA_BAD_SIGNATURE);
	ck_assert_int_eq(F.err.lib_code, FIDO_ERR_INVALID_SIG);
}
END_TEST

START_TEST(test_tampered_signature_is_refused)
{
	F.sa_out.sig[F.sa_out.sig_len - 1] ^= 1;
	assert_refused(AX_WA_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_authenticator_data_with_trailing_bytes_is_refused_even_when_signed)
{
	uint8_t ad[38];
	fido_assert_t *fa = fido_assert_new();
	es256_pk_t *pk = es256_pk_new();
	uint8_t cose[AX_COSE_ES256_KEY_LEN], pt[65];

	memcpy(ad, F.sa_out.auth_data, 37);
	ad[37] = 0x00;
	ck_assert_int_eq(
	    ax_softauth_sign(F.sa, F.sa_out.sig, sizeof(F.sa_out.sig), &F.sa_out.sig_len, ad,
	        sizeof(ad), F.sa_out.client_data_json, F.sa_out.client_data_json_len, &F.err),
	    AX_OK);
	F.a.auth_data = ad;
	F.a.auth_data_len = sizeof(ad);
	F.a.sig_len = F.sa_out.sig_len;
	assert_refused(AX_WA_AUTH_DATA_TRAILING);

	/* libfido2 1.12 alone accepts it: this is why the module checks the length itself. */
	ax_softauth_cose_key(F.sa, cose);
	pt[0] = 4;
	memcpy(pt + 1, cose + 10, 32);
	memcpy(pt + 33, cose + 45, 32);
	ck_assert_int_eq(es256_pk_from_ptr(pk, pt, sizeof(pt)), FIDO_OK);
	ck_assert_int_eq(
	    fido_assert_set_clientdata(fa, F.a.client_data_json, F.a.client_data_json_len),
	    FIDO_OK);
	ck_assert_int_eq(fido_assert_set_rp(fa, RP), FIDO_OK);
	ck_assert_int_eq(fido_assert_set_count(fa, 1), FIDO_OK);
	ck_assert_int_eq(fido_assert_set_authdata_raw(fa, 0, ad, sizeof(ad)), FIDO_OK);
	ck_assert_int_eq(fido_assert_set_sig(fa, 0, F.a.sig, F.a.sig_len), FIDO_OK);
	ck_assert_int_eq(fido_assert_verify(fa, 0, COSE_ES256, pk), FIDO_OK);
	fido_assert_free(&fa);
	es256_pk_free(&pk);
}
END_TEST

START_TEST(test_short_authenticator_data_is_refused)
{
	F.a.auth_data_len = 36;
	assert_refused(AX_WA_AUTH_DATA_MALFORMED);
}
END_TEST

START_TEST(test_extension_and_attested_data_flags_are_refused)
{
	F.sa_out.auth_data[32] |= AX_WA_FLAG_ED;
	assert_refused(AX_WA_UNEXPECTED_EXTENSIONS);
	F.sa_out.auth_data[32] = AX_WA_FLAG_UP | AX_WA_FLAG_UV | AX_WA_FLAG_AT;
	assert_refused(AX_WA_AUTH_DATA_MALFORMED);
	F.sa_out.auth_data[32] = AX_WA_FLAG_UP | AX_WA_FLAG_UV | AX_WA_FLAG_BS;
	assert_refused(AX_WA_AUTH_DATA_MALFORMED);
}
END_TEST

START_TEST(test_client_data_that_is_not_strict_json_is_refused)
{
	char cdj[512], bad[600];

	resign_with_client_data("not even json");
	assert_refused(AX_WA_CLIENT_DATA_MALFORMED);
	client_data_with(cdj, sizeof(cdj), "webauthn.get", "");
	snprintf(bad, sizeof(bad), "%s x", cdj); /* trailing garbage */
	resign_with_client_data(bad);
	assert_refused(AX_WA_CLIENT_DATA_MALFORMED);
	snprintf(bad, sizeof(bad), "[%s]", cdj); /* not an object */
	resign_with_client_data(bad);
	assert_refused(AX_WA_CLIENT_DATA_MALFORMED);
	snprintf(bad, sizeof(bad), "\xef\xbb\xbf%s", cdj); /* byte order mark */
	resign_with_client_data(bad);
	assert_refused(AX_WA_CLIENT_DATA_MALFORMED);
	client_data_with(bad, sizeof(bad), "webauthn.get", ",\"x\":\"\\u0000\"");
	resign_with_client_data(bad);
	assert_refused(AX_WA_CLIENT_DATA_MALFORMED);
	client_data_with(bad, sizeof(bad), "webauthn.get", ",\"x\":\"\xff\"");
	resign_with_client_data(bad);
	assert_refused(AX_WA_CLIENT_DATA_MALFORMED);
	/* the same text, well-formed, is accepted: the refusals above are about strictness */
	resign_with_client_data(cdj);
	ck_assert_int_eq(verify(), AX_OK);
}
END_TEST

START_TEST(test_client_data_repeating_a_key_is_refused)
{
	char cdj[512], extra[128], b64[64];
	uint8_t other[32];

	/* A first, wrong challenge and a second, right one: a lenient parser keeps the last. */
	memset(other, 0xee, sizeof(other));
	ck_assert_int_eq(ax_b64url_encode(b64, sizeof(b64), other, 32, &F.err), AX_OK);
	snprintf(extra, sizeof(extra), ",\"challenge\":\"%s\"", b64);
	client_data_with(cdj, sizeof(cdj), "webauthn.get", extra);
	resign_with_client_data(cdj);
	assert_refused(AX_WA_CLIENT_DATA_DUPLICATE);
	ck_assert_ptr_nonnull(strstr(F.err.detail, "duplicate"));
}
END_TEST

START_TEST(test_challenge_with_padding_or_standard_alphabet_is_refused)
{
	char cdj[512], b64[64];
	size_t n;

	ck_assert_int_eq(ax_b64url_encode(b64, sizeof(b64), F.challenge, 32, &F.err), AX_OK);
	n = strlen(b64);
	b64[n] = '=';
	b64[n + 1] = '\0';
	snprintf(cdj, sizeof(cdj),
	    "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"%s\"}", b64, ORIGIN);
	resign_with_client_data(cdj);
	assert_refused(AX_WA_WRONG_CHALLENGE);
}
END_TEST

START_TEST(test_cross_origin_assertion_is_refused)
{
	char cdj[512];

	client_data_with(cdj, sizeof(cdj), "webauthn.get", ",\"crossOrigin\":true");
	resign_with_client_data(cdj);
	assert_refused(AX_WA_CROSS_ORIGIN);
	client_data_with(cdj, sizeof(cdj), "webauthn.get",
	    ",\"crossOrigin\":false,\"topOrigin\":\"https://evil.example\"");
	resign_with_client_data(cdj);
	assert_refused(AX_WA_CROSS_ORIGIN);
	client_data_with(cdj, sizeof(cdj), "webauthn.get", ",\"crossOrigin\":\"false\"");
	resign_with_client_data(cdj);
	assert_refused(AX_WA_CROSS_ORIGIN);
}
END_TEST

/* Turn the DER ECDSA signature sig into its high-S twin (r, n - s) in out. */
static size_t
high_s_twin(uint8_t *out, size_t cap, const uint8_t *sig, size_t len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *r, *s2 = BN_new();
	const BIGNUM *r0, *s0;
	unsigned char *q = out;
	int n;

	ck_assert_ptr_nonnull(es);
	ECDSA_SIG_get0(es, &r0, &s0);
	ck_assert_int_eq(BN_sub(s2, EC_GROUP_get0_order(g), s0), 1);
	r = BN_dup(r0);
	ck_assert_int_eq(ECDSA_SIG_set0(es, r, s2), 1);
	n = i2d_ECDSA_SIG(es, NULL);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_le((size_t)n, cap);
	ck_assert_int_eq(i2d_ECDSA_SIG(es, &q), n);
	ECDSA_SIG_free(es);
	EC_GROUP_free(g);
	return (size_t)n;
}

START_TEST(test_high_s_twin_verifies_but_is_caught_as_a_replay_by_the_intent_nonce)
{
	struct ax_nonce_set *used = NULL;
	uint8_t twin[AX_SOFTAUTH_SIG_MAX];
	size_t twin_len;

	/* A counterless authenticator (signCount 0, as synced passkeys report) so that only the
	 * intent nonce can tell the replay. */
	memset(F.sa_out.auth_data + 33, 0, 4);
	ck_assert_int_eq(ax_softauth_sign(F.sa, F.sa_out.sig, sizeof(F.sa_out.sig),
	                     &F.sa_out.sig_len, F.sa_out.auth_data, 37, F.sa_out.client_data_json,
	                     F.sa_out.client_data_json_len, &F.err),
	    AX_OK);
	wire_assertion();
	ck_assert_int_eq(ax_nonce_set_new(&used, 16, &F.err), AX_OK);

	/* First use: accepted, nonce consumed. */
	ck_assert_int_eq(verify(), AX_OK);
	ck_assert_int_eq(ax_intent_check_nonce(&F.intent, ax_nonce_set_seen, used, &F.err), AX_OK);
	ck_assert_int_eq(ax_nonce_set_add(used, F.intent.nonce, F.intent.nonce_len, &F.err), AX_OK);

	/* The twin: different signature bytes, still valid for the crypto... */
	twin_len = high_s_twin(twin, sizeof(twin), F.sa_out.sig, F.sa_out.sig_len);
	ck_assert(twin_len != F.sa_out.sig_len || memcmp(twin, F.sa_out.sig, twin_len) != 0);
	F.a.sig = twin;
	F.a.sig_len = twin_len;
	ck_assert_int_eq(verify(), AX_OK);
	/* ...and refused as a replay by the intent nonce. */
	ck_assert_int_eq(
	    ax_intent_check_nonce(&F.intent, ax_nonce_set_seen, used, &F.err), AX_ECONFLICT);
	ck_assert_str_eq(F.err.msg, "signature refused: intent_nonce_replayed");
	ax_nonce_set_free(used);
}
END_TEST

START_TEST(test_revoked_credential_is_refused)
{
	F.cred.revoked = true;
	assert_refused(AX_WA_CREDENTIAL_REVOKED);
}
END_TEST

START_TEST(test_credential_of_another_user_is_refused)
{
	F.cred.owner = "bob";
	assert_refused(AX_WA_CREDENTIAL_NOT_OWNED);
}
END_TEST

START_TEST(test_assertion_naming_another_credential_is_refused)
{
	F.sa_out.cred_id[0] ^= 1;
	assert_refused(AX_WA_UNKNOWN_CREDENTIAL);
	F.sa_out.cred_id[0] ^= 1;
	F.a.cred_id_len = 16;
	assert_refused(AX_WA_UNKNOWN_CREDENTIAL);
}
END_TEST

START_TEST(test_signature_from_another_key_is_refused)
{
	struct ax_softauth *other = NULL;

	ck_assert_int_eq(ax_softauth_new(&other, &F.err), AX_OK);
	ck_assert_int_eq(ax_softauth_sign(other, F.sa_out.sig, sizeof(F.sa_out.sig),
	                     &F.sa_out.sig_len, F.sa_out.auth_data, 37, F.sa_out.client_data_json,
	                     F.sa_out.client_data_json_len, &F.err),
	    AX_OK);
	wire_assertion();
	assert_refused(AX_WA_BAD_SIGNATURE);
	ax_softauth_free(other);
}
END_TEST

START_TEST(test_sign_count_regression_is_flagged_with_the_new_count)
{
	F.cred.sign_count = 5; /* the assertion carries 1 */
	assert_refused(AX_WA_SIGN_COUNT_REGRESSED);
	ck_assert_uint_eq(F.res.sign_count, 1);
	F.cred.sign_count = 1; /* equal is a regression too */
	assert_refused(AX_WA_SIGN_COUNT_REGRESSED);
	F.cred.sign_count = 0;
	ck_assert_int_eq(verify(), AX_OK);
}
END_TEST

START_TEST(test_counter_grows_across_assertions)
{
	ck_assert_int_eq(verify(), AX_OK);
	F.cred.sign_count = F.res.sign_count;
	ck_assert_int_eq(ax_softauth_get_assertion(F.sa, &F.sa_out, RP, ORIGIN, F.challenge, 32,
	                     AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
	ck_assert_int_eq(verify(), AX_OK);
	ck_assert_uint_eq(F.res.sign_count, 2);
	ck_assert_uint_eq(ax_softauth_sign_count(F.sa), 2);
}
END_TEST

START_TEST(test_oversized_inputs_are_refused_before_parsing)
{
	static uint8_t big[AX_WA_CLIENT_DATA_MAX + 1];

	F.a.client_data_json = big;
	F.a.client_data_json_len = sizeof(big);
	assert_refused(AX_WA_INPUT_TOO_LARGE);
	wire_assertion();
	F.a.auth_data = big;
	F.a.auth_data_len = AX_WA_AUTH_DATA_MAX + 1;
	assert_refused(AX_WA_INPUT_TOO_LARGE);
	wire_assertion();
	F.a.sig_len = AX_WA_SIG_MAX + 1;
	F.a.sig = big;
	assert_refused(AX_WA_INPUT_TOO_LARGE);
	wire_assertion();
	F.a.sig_len = 0;
	assert_refused(AX_WA_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_registered_key_is_accepted_as_raw_der_and_pem)
{
	uint8_t cose[AX_COSE_ES256_KEY_LEN], raw[65], *der = NULL;
	struct ax_webauthn_key *k = NULL;
	char pem[1024];
	EVP_PKEY *pk = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem_data;
	long pem_len;
	int der_len;

	ax_softauth_cose_key(F.sa, cose);
	raw[0] = 4;
	memcpy(raw + 1, cose + 10, 32);
	memcpy(raw + 33, cose + 45, 32);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_ES256, AX_PK_RAW, raw, 65, &F.err), AX_OK);
	F.cred.key = k;
	ck_assert_int_eq(verify(), AX_OK);
	ax_webauthn_key_free(k);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_ES256, AX_PK_RAW, raw + 1, 64, &F.err), AX_OK);
	ax_webauthn_key_free(k);

	/* DER and PEM SubjectPublicKeyInfo of the same key */
	pk = EVP_PKEY_new();
	{
		es256_pk_t *epk = es256_pk_new();

		ck_assert_int_eq(es256_pk_from_ptr(epk, raw, 65), FIDO_OK);
		EVP_PKEY_free(pk);
		pk = es256_pk_to_EVP_PKEY(epk);
		es256_pk_free(&epk);
	}
	ck_assert_ptr_nonnull(pk);
	der_len = i2d_PUBKEY(pk, &der);
	ck_assert_int_gt(der_len, 0);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_ES256, AX_PK_DER, der, (size_t)der_len, &F.err),
	    AX_OK);
	F.cred.key = k;
	ck_assert_int_eq(verify(), AX_OK);
	ax_webauthn_key_free(k);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_ES256, AX_PK_DER, der, (size_t)der_len - 1, &F.err),
	    AX_EINVAL);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pk), 1);
	pem_len = BIO_get_mem_data(bio, &pem_data);
	ck_assert_int_lt(pem_len, (long)sizeof(pem));
	memcpy(pem, pem_data, (size_t)pem_len);
	ck_assert_int_eq(ax_webauthn_key_new(&k, AX_COSE_ALG_ES256, AX_PK_PEM, (uint8_t *)pem,
	                     (size_t)pem_len, &F.err),
	    AX_OK);
	F.cred.key = k;
	ck_assert_int_eq(verify(), AX_OK);
	ax_webauthn_key_free(k);
	/* the same EC key registered as EdDSA is refused (never hand libfido2 a mismatch) */
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_EDDSA, AX_PK_DER, der, (size_t)der_len, &F.err),
	    AX_EINVAL);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_EDDSA, AX_PK_COSE, cose, sizeof(cose), &F.err),
	    AX_EINVAL);
	ck_assert_ptr_null(k);
	F.cred.key = F.key;
	OPENSSL_free(der);
	BIO_free(bio);
	EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_point_off_the_curve_is_refused_at_registration)
{
	uint8_t cose[AX_COSE_ES256_KEY_LEN];
	struct ax_webauthn_key *k = NULL;

	ax_softauth_cose_key(F.sa, cose);
	cose[76] ^= 1;
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_ES256, AX_PK_COSE, cose, sizeof(cose), &F.err),
	    AX_EINVAL);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_ES256, AX_PK_RAW, cose, 33, &F.err), AX_EINVAL);
	ck_assert_int_eq(ax_webauthn_key_new(&k, -257, AX_PK_RAW, cose, 64, &F.err), AX_EINVAL);
	ax_webauthn_key_free(NULL);
	ax_webauthn_verifier_free(NULL);
	ax_softauth_free(NULL);
}
END_TEST

START_TEST(test_eddsa_assertion_is_accepted)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t pub[32], cose[AX_COSE_EDDSA_KEY_LEN], msg[69], sig[64];
	size_t plen = sizeof(pub), slen = sizeof(sig);
	struct ax_webauthn_key *k = NULL;

	ck_assert_ptr_nonnull(ed);
	ck_assert_int_eq(EVP_PKEY_get_raw_public_key(ed, pub, &plen), 1);
	ax_cose_encode_eddsa(cose, pub);
	ck_assert_int_eq(
	    ax_webauthn_key_new(&k, AX_COSE_ALG_EDDSA, AX_PK_COSE, cose, sizeof(cose), &F.err),
	    AX_OK);
	ck_assert_int_eq(ax_webauthn_key_alg(k), AX_COSE_ALG_EDDSA);
	memcpy(msg, F.sa_out.auth_data, 37);
	ck_assert_int_eq(EVP_Digest(F.sa_out.client_data_json, F.sa_out.client_data_json_len,
	                     msg + 37, NULL, EVP_sha256(), NULL),
	    1);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, NULL, NULL, ed), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &slen, msg, sizeof(msg)), 1);
	F.cred.key = k;
	F.a.sig = sig;
	F.a.sig_len = slen;
	ck_assert_int_eq(verify(), AX_OK);
	sig[0] ^= 1;
	assert_refused(AX_WA_BAD_SIGNATURE);
	F.cred.key = F.key;
	ax_webauthn_key_free(k);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(ed);
}
END_TEST

START_TEST(test_softauth_key_survives_a_pem_round_trip)
{
	struct ax_softauth *back = NULL;
	char pem[AX_SOFTAUTH_PEM_MAX];
	uint8_t id2[AX_SOFTAUTH_CRED_ID_LEN];
	size_t len;

	ck_assert_int_eq(ax_softauth_to_pem(F.sa, pem, sizeof(pem), &len, &F.err), AX_OK);
	ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	ck_assert_int_eq(ax_softauth_from_pem(&back, pem, len, 10, &F.err), AX_OK);
	ax_softauth_cred_id(back, id2);
	ck_assert_mem_eq(id2, F.cred_id, sizeof(id2));
	F.cred.sign_count = 10;
	ck_assert_int_eq(ax_softauth_get_assertion(back, &F.sa_out, RP, ORIGIN, F.challenge, 32,
	                     AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
	    AX_OK);
	wire_assertion();
	ck_assert_int_eq(verify(), AX_OK);
	ck_assert_uint_eq(F.res.sign_count, 11);
	ax_softauth_free(back);
	ck_assert_int_eq(ax_softauth_from_pem(&back, "garbage", 7, 0, &F.err), AX_EINVAL);
	ck_assert_ptr_null(back);
	OPENSSL_cleanse(pem, sizeof(pem));
}
END_TEST

START_TEST(test_policy_without_origins_or_rp_id_is_refused)
{
	struct ax_webauthn_policy pol = { RP, origins, 0, true };
	struct ax_webauthn_verifier *v2 = NULL;

	ck_assert_int_eq(ax_webauthn_verifier_new(&v2, &pol, &F.err), AX_EINVAL);
	pol.n_origins = 1;
	pol.rp_id = "";
	ck_assert_int_eq(ax_webauthn_verifier_new(&v2, &pol, &F.err), AX_EINVAL);
	ck_assert_ptr_null(v2);
}
END_TEST

START_TEST(test_every_single_bit_flip_of_a_valid_assertion_is_refused)
{
	uint8_t *fields[3] = { F.sa_out.auth_data, F.sa_out.client_data_json, F.sa_out.sig };
	size_t lens[3] = { sizeof(F.sa_out.auth_data), F.sa_out.client_data_json_len,
		F.sa_out.sig_len };
	size_t f, i;
	int bit;

	ck_assert_int_eq(verify(), AX_OK);
	for (f = 0; f < 3; f++) {
		for (i = 0; i < lens[f]; i++) {
			for (bit = 0; bit < 8; bit++) {
				fields[f][i] ^= (uint8_t)(1u << bit);
				ck_assert_int_eq(verify(), AX_EINVAL);
				ck_assert_int_ne(F.res.reason, AX_WA_OK);
				fields[f][i] ^= (uint8_t)(1u << bit);
			}
		}
	}
	ck_assert_int_eq(verify(), AX_OK);
}
END_TEST

START_TEST(test_every_truncation_of_a_valid_assertion_is_refused)
{
	struct ax_webauthn_assertion full = F.a;
	size_t n;

	for (n = 0; n < full.auth_data_len; n++) {
		F.a.auth_data_len = n;
		ck_assert_int_eq(verify(), AX_EINVAL);
	}
	F.a = full;
	for (n = 0; n < full.client_data_json_len; n++) {
		F.a.client_data_json_len = n;
		ck_assert_int_eq(verify(), AX_EINVAL);
	}
	F.a = full;
	for (n = 0; n < full.sig_len; n++) {
		F.a.sig_len = n;
		ck_assert_int_eq(verify(), AX_EINVAL);
	}
}
END_TEST

START_TEST(test_every_reason_has_a_distinct_stable_name)
{
	int i, j;

	ck_assert_str_eq(
	    ax_webauthn_reason_name(AX_WA_WRONG_CHALLENGE), "webauthn_wrong_challenge");
	for (i = 0; i < AX_WA_REASON_COUNT; i++) {
		ck_assert_ptr_nonnull(ax_webauthn_reason_name((enum ax_webauthn_reason)i));
		ck_assert_int_eq(
		    strncmp(ax_webauthn_reason_name((enum ax_webauthn_reason)i), "webauthn_", 9),
		    0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ax_webauthn_reason_name((enum ax_webauthn_reason)i),
			    ax_webauthn_reason_name((enum ax_webauthn_reason)j));
	}
	ck_assert_str_eq(ax_webauthn_reason_name(AX_WA_REASON_COUNT), "webauthn_unknown_reason");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("webauthn");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_valid_assertion_from_the_software_authenticator_is_accepted);
	tcase_add_test(tc, test_second_allowed_origin_is_accepted);
	tcase_add_test(tc, test_wrong_challenge_is_refused);
	tcase_add_test(tc, test_signature_moved_to_another_record_version_is_refused);
	tcase_add_test(tc, test_wrong_origin_is_refused);
	tcase_add_test(tc, test_origin_that_only_shares_a_prefix_is_refused);
	tcase_add_test(tc, test_refusal_detail_cannot_inject_lines_into_a_log);
	tcase_add_test(tc, test_wrong_type_is_refused);
	tcase_add_test(tc, test_wrong_rp_id_is_refused);
	tcase_add_test(tc, test_uv_absent_is_refused_where_the_policy_requires_it);
	tcase_add_test(tc, test_uv_absent_is_accepted_where_the_policy_does_not_require_it);
	tcase_add_test(tc, test_up_absent_is_refused);
	tcase_add_test(tc, test_tampered_authenticator_data_is_refused);
	tcase_add_test(tc, test_tampered_signature_is_refused);
	tcase_add_test(tc, test_authenticator_data_with_trailing_bytes_is_refused_even_when_signed);
	tcase_add_test(tc, test_short_authenticator_data_is_refused);
	tcase_add_test(tc, test_extension_and_attested_data_flags_are_refused);
	tcase_add_test(tc, test_client_data_that_is_not_strict_json_is_refused);
	tcase_add_test(tc, test_client_data_repeating_a_key_is_refused);
	tcase_add_test(tc, test_challenge_with_padding_or_standard_alphabet_is_refused);
	tcase_add_test(tc, test_cross_origin_assertion_is_refused);
	tcase_add_test(tc, test_high_s_twin_verifies_but_is_caught_as_a_replay_by_the_intent_nonce);
	tcase_add_test(tc, test_revoked_credential_is_refused);
	tcase_add_test(tc, test_credential_of_another_user_is_refused);
	tcase_add_test(tc, test_assertion_naming_another_credential_is_refused);
	tcase_add_test(tc, test_signature_from_another_key_is_refused);
	tcase_add_test(tc, test_sign_count_regression_is_flagged_with_the_new_count);
	tcase_add_test(tc, test_counter_grows_across_assertions);
	tcase_add_test(tc, test_oversized_inputs_are_refused_before_parsing);
	tcase_add_test(tc, test_registered_key_is_accepted_as_raw_der_and_pem);
	tcase_add_test(tc, test_point_off_the_curve_is_refused_at_registration);
	tcase_add_test(tc, test_eddsa_assertion_is_accepted);
	tcase_add_test(tc, test_softauth_key_survives_a_pem_round_trip);
	tcase_add_test(tc, test_policy_without_origins_or_rp_id_is_refused);
	tcase_add_test(tc, test_every_single_bit_flip_of_a_valid_assertion_is_refused);
	tcase_add_test(tc, test_every_truncation_of_a_valid_assertion_is_refused);
	tcase_add_test(tc, test_every_reason_has_a_distinct_stable_name);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
