/*
 * test_oidc.c - OIDC ID token verification (ax_oidc.h) with RS256 and ES256 tokens that the
 * test signs itself with OpenSSL keys it generates: each accepted path and each refusal.
 */
#include <check.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_b64url.h"
#include "ax_intent.h"
#include "ax_oidc.h"

#define ISS       "https://idp.example"
#define AUD       "axiom-signing"
#define SUB       "248289761001"
#define NOW_S     INT64_C(1764400000)
#define NOW_US    (NOW_S * 1000000)
#define TOKEN_CAP 8192

static EVP_PKEY *rsa_key, *ec_key, *rsa_other;
static char jwks[8192];
static struct ax_oidc_verifier *V;
static struct ax_intent intent;
static uint8_t ihash[32];
static struct ax_oidc_result R;
static struct ax_err E;
static const struct ax_oidc_policy policy = { 60 * 1000000LL, 300 * 1000000LL, 600 * 1000000LL };

/* base64url of bytes into out. */
static void
b64(char *out, size_t cap, const uint8_t *in, size_t len)
{
	struct ax_err err;

	ck_assert_int_eq(ax_b64url_encode(out, cap, in, len, &err), AX_OK);
}

/* base64url of a big-endian BIGNUM parameter of pk. */
static json_t *
bn_param_b64(EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	char txt[1400];
	int n;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	b64(txt, sizeof(txt), buf, (size_t)n);
	return json_string(txt);
}

/* The JWK of an EC P-256 key with kid. */
static json_t *
ec_jwk(EVP_PKEY *pk, const char *kid)
{
	uint8_t pt[65];
	size_t n = 0;
	char x[64], y[64];

	ck_assert_int_eq(EVP_PKEY_get_octet_string_param(
	                     pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n),
	    1);
	ck_assert_uint_eq(n, 65);
	b64(x, sizeof(x), pt + 1, 32);
	b64(y, sizeof(y), pt + 33, 32);
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", kid, "crv", "P-256", "x", x, "y", y);
}

/* The JWK of an RSA key with kid and (optional) alg. */
static json_t *
rsa_jwk(EVP_PKEY *pk, const char *kid, const char *alg)
{
	json_t *k = json_pack("{s:s, s:s, s:o, s:o}", "kty", "RSA", "kid", kid, "n",
	    bn_param_b64(pk, OSSL_PKEY_PARAM_RSA_N), "e", bn_param_b64(pk, OSSL_PKEY_PARAM_RSA_E));

	if (alg)
		json_object_set_new(k, "alg", json_string(alg));
	return k;
}

/* Write the JSON text of j (stolen) into out. */
static void
dump(char *out, size_t cap, json_t *j)
{
	size_t n = json_dumpb(j, out, cap - 1, JSON_COMPACT);

	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, cap);
	out[n] = '\0';
	json_decref(j);
}

static void
keys_once(void)
{
	json_t *keys;

	rsa_key = EVP_RSA_gen(2048);
	rsa_other = EVP_RSA_gen(2048);
	ec_key = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(rsa_key);
	ck_assert_ptr_nonnull(rsa_other);
	ck_assert_ptr_nonnull(ec_key);
	keys = json_pack("[o, o, {s:s, s:s, s:s}, o]", rsa_jwk(rsa_key, "rsa1", "RS256"),
	    ec_jwk(ec_key, "ec1"), "kty", "oct", "kid", "hmac1", "k", "c2VjcmV0",
	    rsa_jwk(rsa_other, "enc1", NULL));
	json_object_set_new(json_array_get(keys, 3), "use", json_string("enc"));
	dump(jwks, sizeof(jwks), json_pack("{s:o}", "keys", keys));
}

static void
keys_free(void)
{
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_other);
	EVP_PKEY_free(ec_key);
}

static void
setup(void)
{
	struct ax_oidc_issuer_config cfg = { ISS, AUD, jwks, strlen(jwks) };
	uint8_t rh[32], nonce[16], lineage[16] = { 9 };

	memset(rh, 7, sizeof(rh));
	ck_assert_int_eq(ax_intent_new_nonce(nonce, sizeof(nonce), &E), AX_OK);
	ck_assert_int_eq(ax_intent_set(&intent, "alice", lineage, 2, rh, AX_MEANING_REVIEW, nonce,
	                     sizeof(nonce), &E),
	    AX_OK);
	ck_assert_int_eq(ax_intent_hash(ihash, &intent, &E), AX_OK);
	ck_assert_int_eq(ax_oidc_verifier_new(&V, &cfg, &policy, &E), AX_OK);
}

static void
teardown(void)
{
	ax_oidc_verifier_free(V);
	V = NULL;
}

/* Claims of a good token for the intent hash h. */
static json_t *
claims_for(const uint8_t h[32])
{
	char nonce[64];

	b64(nonce, sizeof(nonce), h, 32);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", ISS, "aud", AUD, "sub", SUB,
	    "exp", (json_int_t)(NOW_S + 300), "iat", (json_int_t)(NOW_S - 10), "auth_time",
	    (json_int_t)(NOW_S - 20), "nonce", nonce);
}

/* Sign input with key for alg into the base64url text sig_b64. */
static void
sign_jws(char *sig_b64, size_t cap, const char *input, EVP_PKEY *key, int es256)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[600], raw[64];
	size_t dl = sizeof(der);

	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, der, &dl, (const uint8_t *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	if (es256) {
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
		const BIGNUM *r, *s;

		ck_assert_ptr_nonnull(es);
		ECDSA_SIG_get0(es, &r, &s);
		ck_assert_int_eq(BN_bn2binpad(r, raw, 32), 32);
		ck_assert_int_eq(BN_bn2binpad(s, raw + 32, 32), 32);
		ECDSA_SIG_free(es);
		b64(sig_b64, cap, raw, 64);
	} else {
		b64(sig_b64, cap, der, dl);
	}
}

/* Build a compact token: header {alg, kid (if any)}, claims (stolen), signed with key (none
 * when NULL: an empty signature). */
static void
make_token(char *out, size_t cap, const char *alg, const char *kid, json_t *claims, EVP_PKEY *key)
{
	char hjson[512], cjson[2048], hb[800], cb[3000], sb[1400] = "";
	json_t *h = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");

	if (kid)
		json_object_set_new(h, "kid", json_string(kid));
	dump(hjson, sizeof(hjson), h);
	dump(cjson, sizeof(cjson), claims);
	b64(hb, sizeof(hb), (const uint8_t *)hjson, strlen(hjson));
	b64(cb, sizeof(cb), (const uint8_t *)cjson, strlen(cjson));
	snprintf(out, cap, "%s.%s", hb, cb);
	if (key)
		sign_jws(sb, sizeof(sb), out, key, strcmp(alg, "ES256") == 0);
	ck_assert_uint_lt(strlen(out) + 1 + strlen(sb), cap);
	memcpy(out + strlen(out), ".", 2);
	memcpy(out + strlen(out), sb, strlen(sb) + 1);
}

/* Verify token for SUB at NOW_US. */
static int
verify(const char *token)
{
	return ax_oidc_verify(&R, V, token, strlen(token), SUB, ihash, NOW_US, &E);
}

/* Assert that token is refused with reason. */
static void
assert_refused(const char *token, enum ax_oidc_reason reason)
{
	char want[96];

	ck_assert_int_eq(verify(token), AX_EINVAL);
	ck_assert_str_eq(ax_oidc_reason_name(R.reason), ax_oidc_reason_name(reason));
	snprintf(want, sizeof(want), "oidc token refused: %s", ax_oidc_reason_name(reason));
	ck_assert_str_eq(E.msg, want);
	ck_assert_str_ne(E.detail, "");
}

/* Build, sign with rsa1 and check a token whose claims were altered by set (a JSON object
 * merged over the good claims) for reason. */
static void
assert_claims_refused(json_t *set, enum ax_oidc_reason reason)
{
	static char tok[TOKEN_CAP];
	json_t *c = claims_for(ihash);

	ck_assert_int_eq(json_object_update(c, set), 0);
	json_decref(set);
	make_token(tok, sizeof(tok), "RS256", "rsa1", c, rsa_key);
	assert_refused(tok, reason);
}

START_TEST(test_rs256_token_is_accepted)
{
	static char tok[TOKEN_CAP];

	ck_assert_uint_eq(ax_oidc_verifier_key_count(V), 2); /* oct and enc keys skipped */
	make_token(tok, sizeof(tok), "RS256", "rsa1", claims_for(ihash), rsa_key);
	ck_assert_int_eq(verify(tok), AX_OK);
	ck_assert_int_eq(R.reason, AX_OIDC_OK);
	ck_assert_int_eq(R.auth_time, NOW_S - 20);
}
END_TEST

START_TEST(test_es256_token_with_raw_r_s_signature_is_accepted)
{
	static char tok[TOKEN_CAP];

	make_token(tok, sizeof(tok), "ES256", "ec1", claims_for(ihash), ec_key);
	ck_assert_int_eq(verify(tok), AX_OK);
}
END_TEST

START_TEST(test_audience_array_with_azp_is_accepted)
{
	static char tok[TOKEN_CAP];
	json_t *c = claims_for(ihash);

	json_object_set_new(c, "aud", json_pack("[s, s]", "other-app", AUD));
	json_object_set_new(c, "azp", json_string(AUD));
	make_token(tok, sizeof(tok), "RS256", "rsa1", c, rsa_key);
	ck_assert_int_eq(verify(tok), AX_OK);
}
END_TEST

START_TEST(test_expired_token_is_refused)
{
	assert_claims_refused(json_pack("{s:I}", "exp", (json_int_t)(NOW_S - 61)), AX_OIDC_EXPIRED);
	/* within the skew it passes */
	{
		static char tok[TOKEN_CAP];
		json_t *c = claims_for(ihash);

		json_object_set_new(c, "exp", json_integer(NOW_S - 30));
		make_token(tok, sizeof(tok), "RS256", "rsa1", c, rsa_key);
		ck_assert_int_eq(verify(tok), AX_OK);
	}
}
END_TEST

START_TEST(test_stale_auth_time_is_refused)
{
	assert_claims_refused(
	    json_pack("{s:I}", "auth_time", (json_int_t)(NOW_S - 301)), AX_OIDC_STALE_AUTH_TIME);
	ck_assert_ptr_nonnull(strstr(E.detail, "fresh login"));
}
END_TEST

START_TEST(test_auth_time_after_the_event_is_refused)
{
	assert_claims_refused(
	    json_pack("{s:I}", "auth_time", (json_int_t)(NOW_S + 120)), AX_OIDC_AUTH_TIME_FUTURE);
}
END_TEST

START_TEST(test_missing_auth_time_is_refused)
{
	static char tok[TOKEN_CAP];
	json_t *c = claims_for(ihash);

	json_object_del(c, "auth_time");
	make_token(tok, sizeof(tok), "RS256", "rsa1", c, rsa_key);
	assert_refused(tok, AX_OIDC_MISSING_CLAIM);
	ck_assert_ptr_nonnull(strstr(E.detail, "auth_time"));
}
END_TEST

START_TEST(test_fractional_or_string_times_are_refused)
{
	assert_claims_refused(
	    json_pack("{s:f}", "exp", (double)NOW_S + 300.5), AX_OIDC_MISSING_CLAIM);
	assert_claims_refused(json_pack("{s:s}", "iat", "1764400000"), AX_OIDC_MISSING_CLAIM);
	assert_claims_refused(
	    json_pack("{s:I}", "exp", (json_int_t)INT64_MAX), AX_OIDC_MISSING_CLAIM);
}
END_TEST

START_TEST(test_wrong_audience_is_refused)
{
	assert_claims_refused(json_pack("{s:s}", "aud", "another-client"), AX_OIDC_WRONG_AUDIENCE);
	assert_claims_refused(json_pack("{s:[s,s]}", "aud", "a", "b"), AX_OIDC_WRONG_AUDIENCE);
	/* several audiences without azp */
	assert_claims_refused(json_pack("{s:[s,s]}", "aud", AUD, "other"), AX_OIDC_WRONG_AUDIENCE);
	/* azp naming another party */
	assert_claims_refused(json_pack("{s:s}", "azp", "other"), AX_OIDC_WRONG_AUDIENCE);
}
END_TEST

START_TEST(test_wrong_issuer_is_refused)
{
	assert_claims_refused(
	    json_pack("{s:s}", "iss", "https://idp.example/"), AX_OIDC_WRONG_ISSUER);
}
END_TEST

START_TEST(test_token_of_another_subject_is_refused)
{
	assert_claims_refused(json_pack("{s:s}", "sub", "mallory"), AX_OIDC_WRONG_SUBJECT);
}
END_TEST

START_TEST(test_iat_after_the_event_or_too_old_is_refused)
{
	assert_claims_refused(
	    json_pack("{s:I}", "iat", (json_int_t)(NOW_S + 61)), AX_OIDC_NOT_YET_VALID);
	assert_claims_refused(
	    json_pack("{s:I}", "iat", (json_int_t)(NOW_S - 601)), AX_OIDC_TOKEN_TOO_OLD);
	assert_claims_refused(
	    json_pack("{s:I}", "nbf", (json_int_t)(NOW_S + 100)), AX_OIDC_NOT_YET_VALID);
}
END_TEST

START_TEST(test_token_for_another_intent_is_refused_by_its_nonce)
{
	static char tok[TOKEN_CAP];
	uint8_t other[32];

	memcpy(other, ihash, 32);
	other[0] ^= 1;
	make_token(tok, sizeof(tok), "RS256", "rsa1", claims_for(other), rsa_key);
	assert_refused(tok, AX_OIDC_WRONG_NONCE);
}
END_TEST

START_TEST(test_replayed_nonce_is_refused_by_the_intent_nonce_set)
{
	static char tok[TOKEN_CAP];
	struct ax_nonce_set *used = NULL;

	ck_assert_int_eq(ax_nonce_set_new(&used, 8, &E), AX_OK);
	make_token(tok, sizeof(tok), "ES256", "ec1", claims_for(ihash), ec_key);
	ck_assert_int_eq(verify(tok), AX_OK);
	ck_assert_int_eq(ax_intent_check_nonce(&intent, ax_nonce_set_seen, used, &E), AX_OK);
	ck_assert_int_eq(ax_nonce_set_add(used, intent.nonce, intent.nonce_len, &E), AX_OK);
	/* the same token again: still a valid token, refused as a replayed intent nonce */
	ck_assert_int_eq(verify(tok), AX_OK);
	ck_assert_int_eq(ax_intent_check_nonce(&intent, ax_nonce_set_seen, used, &E), AX_ECONFLICT);
	ck_assert_str_eq(E.msg, "signature refused: intent_nonce_replayed");
	ax_nonce_set_free(used);
}
END_TEST

START_TEST(test_unknown_issuer_key_is_refused)
{
	static char tok[TOKEN_CAP];

	make_token(tok, sizeof(tok), "RS256", "rsa-rotated", claims_for(ihash), rsa_key);
	assert_refused(tok, AX_OIDC_UNKNOWN_KEY);
	make_token(tok, sizeof(tok), "RS256", NULL, claims_for(ihash), rsa_key);
	assert_refused(tok, AX_OIDC_UNKNOWN_KEY);
	/* a key of the JWKS that is not for signatures */
	make_token(tok, sizeof(tok), "RS256", "enc1", claims_for(ihash), rsa_other);
	assert_refused(tok, AX_OIDC_UNKNOWN_KEY);
}
END_TEST

START_TEST(test_alg_none_is_refused)
{
	static char tok[TOKEN_CAP];

	make_token(tok, sizeof(tok), "none", "rsa1", claims_for(ihash), NULL);
	assert_refused(tok, AX_OIDC_ALG_NONE);
	make_token(tok, sizeof(tok), "nOnE", NULL, claims_for(ihash), NULL);
	assert_refused(tok, AX_OIDC_ALG_NONE);
}
END_TEST

START_TEST(test_hmac_and_other_algorithms_are_refused)
{
	static char tok[TOKEN_CAP];

	make_token(tok, sizeof(tok), "HS256", "rsa1", claims_for(ihash), NULL);
	assert_refused(tok, AX_OIDC_ALG_UNSUPPORTED);
	make_token(tok, sizeof(tok), "PS256", "rsa1", claims_for(ihash), NULL);
	assert_refused(tok, AX_OIDC_ALG_UNSUPPORTED);
}
END_TEST

START_TEST(test_alg_that_does_not_match_the_key_type_is_refused)
{
	static char tok[TOKEN_CAP];

	make_token(tok, sizeof(tok), "ES256", "rsa1", claims_for(ihash), ec_key);
	assert_refused(tok, AX_OIDC_ALG_KEY_MISMATCH);
	make_token(tok, sizeof(tok), "RS256", "ec1", claims_for(ihash), rsa_key);
	assert_refused(tok, AX_OIDC_ALG_KEY_MISMATCH);
}
END_TEST

START_TEST(test_tampered_payload_or_foreign_signature_is_refused)
{
	static char tok[TOKEN_CAP], tok2[TOKEN_CAP];
	char *d1, *d2;

	make_token(tok, sizeof(tok), "RS256", "rsa1", claims_for(ihash), rsa_other);
	assert_refused(tok, AX_OIDC_BAD_SIGNATURE);
	make_token(tok, sizeof(tok), "ES256", "ec1", claims_for(ihash), ec_key);
	/* splice this token's signature onto another payload */
	{
		json_t *c = claims_for(ihash);

		json_object_set_new(c, "sub", json_string(SUB));
		json_object_set_new(c, "exp", json_integer(NOW_S + 299));
		make_token(tok2, sizeof(tok2), "ES256", "ec1", c, ec_key);
	}
	d1 = strrchr(tok, '.');
	d2 = strrchr(tok2, '.');
	memcpy(d2, d1, strlen(d1) + 1);
	assert_refused(tok2, AX_OIDC_BAD_SIGNATURE);
	/* a DER signature where raw R||S is expected */
	make_token(tok, sizeof(tok), "ES256", "ec1", claims_for(ihash), NULL);
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		uint8_t der[80];
		size_t dl = sizeof(der);
		char *dot = strrchr(tok, '.');

		*dot = '\0';
		ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec_key), 1);
		ck_assert_int_eq(
		    EVP_DigestSign(ctx, der, &dl, (const uint8_t *)tok, strlen(tok)), 1);
		EVP_MD_CTX_free(ctx);
		*dot = '.';
		b64(dot + 1, 200, der, dl);
	}
	assert_refused(tok, AX_OIDC_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_malformed_tokens_are_refused)
{
	static char tok[TOKEN_CAP], bad[TOKEN_CAP + 8];
	static char big[AX_OIDC_TOKEN_MAX + 2];
	size_t n;

	make_token(tok, sizeof(tok), "RS256", "rsa1", claims_for(ihash), rsa_key);
	snprintf(bad, sizeof(bad), "%s.", tok); /* four segments */
	assert_refused(bad, AX_OIDC_TOKEN_MALFORMED);
	snprintf(bad, sizeof(bad), "%s=", tok); /* padding */
	assert_refused(bad, AX_OIDC_TOKEN_MALFORMED);
	snprintf(bad, sizeof(bad), " %s", tok); /* whitespace */
	assert_refused(bad, AX_OIDC_TOKEN_MALFORMED);
	assert_refused("abc", AX_OIDC_TOKEN_MALFORMED);
	assert_refused("..", AX_OIDC_TOKEN_MALFORMED);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_refused(big, AX_OIDC_TOKEN_MALFORMED);
	/* header that is JSON but not an object, and one with crit */
	{
		char h[64], payload[16];

		b64(h, sizeof(h), (const uint8_t *)"[\"RS256\"]", 9);
		b64(payload, sizeof(payload), (const uint8_t *)"{}", 2);
		snprintf(bad, sizeof(bad), "%s.%s.AAAA", h, payload);
		assert_refused(bad, AX_OIDC_TOKEN_MALFORMED);
		n = (size_t)snprintf(
		    bad, sizeof(bad), "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"x\"]}");
		b64(h, sizeof(h), (const uint8_t *)bad, n);
		snprintf(bad, sizeof(bad), "%s.%s.AAAA", h, payload);
		assert_refused(bad, AX_OIDC_TOKEN_MALFORMED);
	}
}
END_TEST

START_TEST(test_payload_repeating_a_claim_is_refused)
{
	static char tok[TOKEN_CAP];
	char h[256], p[4096], s[1400], json[2048], input[4400], nonce[64];
	const char *hjson = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";

	b64(nonce, sizeof(nonce), ihash, 32);
	/* "sub" twice: a lenient parser would keep the last, the registered one */
	snprintf(json, sizeof(json),
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"mallory\",\"sub\":\"%s\",\"exp\":%lld,"
	    "\"iat\":%lld,\"auth_time\":%lld,\"nonce\":\"%s\"}",
	    ISS, AUD, SUB, (long long)(NOW_S + 300), (long long)(NOW_S - 10),
	    (long long)(NOW_S - 20), nonce);
	b64(h, sizeof(h), (const uint8_t *)hjson, strlen(hjson));
	b64(p, sizeof(p), (const uint8_t *)json, strlen(json));
	snprintf(input, sizeof(input), "%s.%s", h, p);
	sign_jws(s, sizeof(s), input, rsa_key, 0);
	snprintf(tok, sizeof(tok), "%s.%s", input, s);
	assert_refused(tok, AX_OIDC_TOKEN_MALFORMED);
	ck_assert_ptr_nonnull(strstr(E.detail, "duplicate"));
}
END_TEST

START_TEST(test_jwks_with_duplicate_kid_weak_rsa_or_off_curve_point_is_refused)
{
	struct ax_oidc_verifier *v = NULL;
	struct ax_oidc_issuer_config cfg = { ISS, AUD, NULL, 0 };
	char doc[8192];
	EVP_PKEY *weak = EVP_RSA_gen(1024);
	json_t *k;
	const char *x;

	dump(doc, sizeof(doc),
	    json_pack("{s:[o,o]}", "keys", ec_jwk(ec_key, "k"), ec_jwk(ec_key, "k")));
	cfg.jwks = doc;
	cfg.jwks_len = strlen(doc);
	ck_assert_int_eq(ax_oidc_verifier_new(&v, &cfg, &policy, &E), AX_EINVAL);
	ck_assert_str_eq(E.msg, "invalid JWKS: kid k appears twice");
	dump(doc, sizeof(doc), json_pack("{s:[o]}", "keys", rsa_jwk(weak, "w", NULL)));
	cfg.jwks_len = strlen(doc);
	ck_assert_int_eq(ax_oidc_verifier_new(&v, &cfg, &policy, &E), AX_EINVAL);
	k = ec_jwk(ec_key, "k");
	x = json_string_value(json_object_get(k, "x"));
	{
		char y[64];

		memcpy(y, x, strlen(x) + 1); /* y := x: almost surely off the curve */
		json_object_set_new(k, "y", json_string(y));
	}
	dump(doc, sizeof(doc), json_pack("{s:[o]}", "keys", k));
	cfg.jwks_len = strlen(doc);
	ck_assert_int_eq(ax_oidc_verifier_new(&v, &cfg, &policy, &E), AX_EINVAL);
	memcpy(doc, "{\"keys\":[],\"keys\":[]}", 22);
	cfg.jwks_len = strlen(doc);
	ck_assert_int_eq(ax_oidc_verifier_new(&v, &cfg, &policy, &E), AX_EINVAL);
	ck_assert_ptr_null(v);
	ax_oidc_verifier_free(NULL);
	EVP_PKEY_free(weak);
}
END_TEST

START_TEST(test_every_character_change_or_truncation_of_a_valid_token_is_refused)
{
	static char tok[TOKEN_CAP];
	static const char alphabet[] = "A_-.0=";
	size_t i, n, k;
	char saved;

	make_token(tok, sizeof(tok), "ES256", "ec1", claims_for(ihash), ec_key);
	ck_assert_int_eq(verify(tok), AX_OK);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		saved = tok[i];
		for (k = 0; k < sizeof(alphabet) - 1; k++) {
			if (alphabet[k] == saved)
				continue;
			tok[i] = alphabet[k];
			ck_assert_int_eq(verify(tok), AX_EINVAL);
			ck_assert_int_ne(R.reason, AX_OIDC_OK);
		}
		tok[i] = saved;
	}
	for (i = 0; i < n; i++)
		ck_assert_int_eq(ax_oidc_verify(&R, V, tok, i, SUB, ihash, NOW_US, &E), AX_EINVAL);
	ck_assert_int_eq(verify(tok), AX_OK);
}
END_TEST

START_TEST(test_every_reason_has_a_distinct_stable_name)
{
	int i, j;

	ck_assert_str_eq(ax_oidc_reason_name(AX_OIDC_EXPIRED), "oidc_expired");
	for (i = 0; i < AX_OIDC_REASON_COUNT; i++) {
		ck_assert_int_eq(
		    strncmp(ax_oidc_reason_name((enum ax_oidc_reason)i), "oidc_", 5), 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ax_oidc_reason_name((enum ax_oidc_reason)i),
			    ax_oidc_reason_name((enum ax_oidc_reason)j));
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("oidc");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, keys_once, keys_free);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rs256_token_is_accepted);
	tcase_add_test(tc, test_es256_token_with_raw_r_s_signature_is_accepted);
	tcase_add_test(tc, test_audience_array_with_azp_is_accepted);
	tcase_add_test(tc, test_expired_token_is_refused);
	tcase_add_test(tc, test_stale_auth_time_is_refused);
	tcase_add_test(tc, test_auth_time_after_the_event_is_refused);
	tcase_add_test(tc, test_missing_auth_time_is_refused);
	tcase_add_test(tc, test_fractional_or_string_times_are_refused);
	tcase_add_test(tc, test_wrong_audience_is_refused);
	tcase_add_test(tc, test_wrong_issuer_is_refused);
	tcase_add_test(tc, test_token_of_another_subject_is_refused);
	tcase_add_test(tc, test_iat_after_the_event_or_too_old_is_refused);
	tcase_add_test(tc, test_token_for_another_intent_is_refused_by_its_nonce);
	tcase_add_test(tc, test_replayed_nonce_is_refused_by_the_intent_nonce_set);
	tcase_add_test(tc, test_unknown_issuer_key_is_refused);
	tcase_add_test(tc, test_alg_none_is_refused);
	tcase_add_test(tc, test_hmac_and_other_algorithms_are_refused);
	tcase_add_test(tc, test_alg_that_does_not_match_the_key_type_is_refused);
	tcase_add_test(tc, test_tampered_payload_or_foreign_signature_is_refused);
	tcase_add_test(tc, test_malformed_tokens_are_refused);
	tcase_add_test(tc, test_payload_repeating_a_claim_is_refused);
	tcase_add_test(tc, test_jwks_with_duplicate_kid_weak_rsa_or_off_curve_point_is_refused);
	tcase_add_test(tc, test_every_character_change_or_truncation_of_a_valid_token_is_refused);
	tcase_add_test(tc, test_every_reason_has_a_distinct_stable_name);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
