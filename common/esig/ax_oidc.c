/*
 * ax_oidc.c - OIDC ID token verification; see ax_oidc.h for the order of the checks and the
 * invariants. OpenSSL results are translated here and nowhere else in this module.
 */
#include "ax_oidc.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ax_b64url.h"

#define HEADER_MAX       2048                  /* decoded bytes of the JOSE header */
#define PAYLOAD_MAX      8192                  /* decoded bytes of the claims */
#define SIG_MAX          1024                  /* decoded bytes of the signature (RSA 8192) */
#define NUMERIC_DATE_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define WINDOW_MAX_US    (INT64_C(366) * 86400 * 1000000)

static const char *const reason_names[AX_OIDC_REASON_COUNT] = {
	[AX_OIDC_OK] = "oidc_ok",
	[AX_OIDC_TOKEN_MALFORMED] = "oidc_token_malformed",
	[AX_OIDC_ALG_NONE] = "oidc_alg_none",
	[AX_OIDC_ALG_UNSUPPORTED] = "oidc_alg_unsupported",
	[AX_OIDC_UNKNOWN_KEY] = "oidc_unknown_key",
	[AX_OIDC_ALG_KEY_MISMATCH] = "oidc_alg_key_mismatch",
	[AX_OIDC_BAD_SIGNATURE] = "oidc_bad_signature",
	[AX_OIDC_MISSING_CLAIM] = "oidc_missing_claim",
	[AX_OIDC_WRONG_ISSUER] = "oidc_wrong_issuer",
	[AX_OIDC_WRONG_AUDIENCE] = "oidc_wrong_audience",
	[AX_OIDC_WRONG_SUBJECT] = "oidc_wrong_subject",
	[AX_OIDC_EXPIRED] = "oidc_expired",
	[AX_OIDC_NOT_YET_VALID] = "oidc_not_yet_valid",
	[AX_OIDC_TOKEN_TOO_OLD] = "oidc_token_too_old",
	[AX_OIDC_WRONG_NONCE] = "oidc_wrong_nonce",
	[AX_OIDC_STALE_AUTH_TIME] = "oidc_stale_auth_time",
	[AX_OIDC_AUTH_TIME_FUTURE] = "oidc_auth_time_in_future",
};

enum jwk_kty { JWK_RSA = 1, JWK_EC = 2 };

struct jwk {
	char kid[AX_OIDC_KID_MAX + 1];
	char alg[16]; /* the JWK's "alg", "" when absent */
	enum jwk_kty kty;
	EVP_PKEY *pk;
};

struct ax_oidc_verifier {
	char issuer[AX_OIDC_TEXT_MAX + 1];
	char audience[AX_OIDC_TEXT_MAX + 1];
	struct ax_oidc_policy policy;
	struct jwk keys[AX_OIDC_JWKS_KEYS_MAX];
	size_t n_keys;
	EVP_MD *sha256; /* fetched once */
};

const char *
ax_oidc_reason_name(enum ax_oidc_reason reason)
{
	if ((int)reason < 0 || reason >= AX_OIDC_REASON_COUNT)
		return "oidc_unknown_reason";
	return reason_names[reason];
}

/* Fill err and result for a refusal with reason and a printf-style detail; returns
 * AX_EINVAL. */
static int refuse(struct ax_oidc_result *result, enum ax_oidc_reason reason, struct ax_err *err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
refuse(struct ax_oidc_result *result, enum ax_oidc_reason reason, struct ax_err *err,
    const char *fmt, ...)
{
	va_list ap;

	result->reason = reason;
	ax_err_set(err, AX_EINVAL, "oidc token refused: %s", ax_oidc_reason_name(reason));
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return AX_EINVAL;
}

/* Copy at most 80 bytes of outside text s into out for a message, each byte outside
 * printable ASCII replaced by '?', so that a refusal cannot inject lines into a log. */
static void
printable(char out[84], const char *s)
{
	size_t len = strlen(s), i, n = len < 80 ? len : 80;

	for (i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (len > n) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

void
ax_oidc_verifier_free(struct ax_oidc_verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n_keys; i++)
		EVP_PKEY_free(v->keys[i].pk);
	EVP_MD_free(v->sha256);
	free(v);
}

size_t
ax_oidc_verifier_key_count(const struct ax_oidc_verifier *v)
{
	return v->n_keys;
}

/* Decode the base64url string member name of obj into out (cap bytes); false if absent. */
static bool
member_b64(json_t *obj, const char *name, uint8_t *out, size_t cap, size_t *len)
{
	json_t *m = json_object_get(obj, name);
	struct ax_err ignored;

	if (!json_is_string(m))
		return false;
	return ax_b64url_decode(
	           out, cap, len, json_string_value(m), json_string_length(m), &ignored) == AX_OK;
}

/* Copy the string member name of obj into out (cap bytes with the NUL); false if absent,
 * not a string, empty, too long or holding a NUL. */
static bool
member_text(json_t *obj, const char *name, char *out, size_t cap)
{
	json_t *m = json_object_get(obj, name);
	size_t n;

	if (!json_is_string(m))
		return false;
	n = json_string_length(m);
	if (n == 0 || n >= cap || strlen(json_string_value(m)) != n)
		return false;
	memcpy(out, json_string_value(m), n + 1);
	return true;
}

/* Build *out from an OpenSSL parameter builder for key type name (RSA or EC). */
static int
pkey_from_params(EVP_PKEY **out, const char *name, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	EVP_PKEY_CTX *check = NULL;
	int ok = 0;

	*out = NULL;
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) == NULL ||
	    EVP_PKEY_public_check(check) != 1)
		goto out;
	ok = 1;
out:
	if (!ok) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return ok;
}

/* Parse the RSA JWK obj into k->pk; AX_EINVAL if malformed or under 2048 bits. */
static int
jwk_rsa(struct jwk *k, json_t *obj, struct ax_err *err)
{
	uint8_t n[1025], e[8];
	size_t nl, el;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = AX_OK;

	if (!member_b64(obj, "n", n, sizeof(n), &nl) || !member_b64(obj, "e", e, sizeof(e), &el) ||
	    nl == 0 || el == 0) {
		rc = ax_err_set(
		    err, AX_EINVAL, "invalid JWKS: RSA key %s has no valid n and e", k->kid);
		goto out;
	}
	if ((bn = BN_bin2bn(n, (int)nl, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)el, NULL)) == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory reading a JWKS");
		goto out;
	}
	if (BN_num_bits(bn) < 2048 || BN_num_bits(bn) > 8192 || !BN_is_odd(be) ||
	    BN_num_bits(be) < 2) {
		rc = ax_err_set(
		    err, AX_EINVAL, "invalid JWKS: RSA key %s is too weak or malformed", k->kid);
		ax_err_detail(err,
		    "The modulus has %d bits; 2048 to 8192 are accepted, with an odd "
		    "exponent of at least 3.",
		    BN_num_bits(bn));
		goto out;
	}
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    !pkey_from_params(&k->pk, "RSA", bld)) {
		rc = ax_err_set(err, AX_EINVAL, "invalid JWKS: RSA key %s is not usable", k->kid);
		goto out;
	}
	k->kty = JWK_RSA;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return rc;
}

/* Parse the EC JWK obj (P-256 only) into k->pk; AX_EINVAL if malformed or off the curve. */
static int
jwk_ec(struct jwk *k, json_t *obj, struct ax_err *err)
{
	uint8_t pt[65];
	char crv[16];
	size_t xl, yl;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = AX_OK;

	if (!member_text(obj, "crv", crv, sizeof(crv)) || strcmp(crv, "P-256") != 0) {
		rc = ax_err_set(err, AX_EINVAL, "invalid JWKS: EC key %s is not on P-256", k->kid);
		goto out;
	}
	pt[0] = 0x04;
	if (!member_b64(obj, "x", pt + 1, 32, &xl) || !member_b64(obj, "y", pt + 33, 32, &yl) ||
	    xl != 32 || yl != 32) {
		rc = ax_err_set(err, AX_EINVAL,
		    "invalid JWKS: EC key %s needs 32-byte x and y coordinates", k->kid);
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
	        1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1 ||
	    !pkey_from_params(&k->pk, "EC", bld)) {
		rc = ax_err_set(
		    err, AX_EINVAL, "invalid JWKS: EC key %s is not a point on P-256", k->kid);
		goto out;
	}
	k->kty = JWK_EC;
out:
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/* Parse the JWKS document into v->keys. */
static int
parse_jwks(struct ax_oidc_verifier *v, const char *jwks, size_t len, struct ax_err *err)
{
	json_error_t jerr;
	json_t *root = NULL, *keys, *obj;
	char kty[16], use[16];
	size_t i, j;
	int rc = AX_OK;

	if (len == 0 || len > AX_OIDC_JWKS_MAX)
		return ax_err_set(err, AX_EINVAL, "invalid JWKS: %zu bytes (1 to %d accepted)", len,
		    AX_OIDC_JWKS_MAX);
	root = json_loadb(jwks, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root) ||
	    !json_is_array(keys = json_object_get(root, "keys"))) {
		rc = ax_err_set(err, AX_EINVAL, "invalid JWKS: not a strict JSON object with keys");
		if (root == NULL)
			ax_err_detail(err, "%s (byte %d).", jerr.text, jerr.position);
		goto out;
	}
	if (json_array_size(keys) > AX_OIDC_JWKS_KEYS_MAX) {
		rc = ax_err_set(err, AX_EINVAL, "invalid JWKS: %zu keys (at most %d accepted)",
		    json_array_size(keys), AX_OIDC_JWKS_KEYS_MAX);
		goto out;
	}
	json_array_foreach(keys, i, obj)
	{
		struct jwk *k = &v->keys[v->n_keys];

		if (!json_is_object(obj) || !member_text(obj, "kty", kty, sizeof(kty))) {
			rc = ax_err_set(err, AX_EINVAL, "invalid JWKS: key %zu has no kty", i);
			goto out;
		}
		if (json_object_get(obj, "use") != NULL &&
		    (!member_text(obj, "use", use, sizeof(use)) || strcmp(use, "sig") != 0))
			continue; /* an encryption key: never used for signatures */
		if (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0)
			continue; /* a type Axiom does not accept for ID tokens */
		memset(k, 0, sizeof(*k));
		if (!member_text(obj, "kid", k->kid, sizeof(k->kid))) {
			rc =
			    ax_err_set(err, AX_EINVAL, "invalid JWKS: key %zu has no valid kid", i);
			goto out;
		}
		for (j = 0; j < v->n_keys; j++) {
			if (strcmp(v->keys[j].kid, k->kid) == 0) {
				rc = ax_err_set(
				    err, AX_EINVAL, "invalid JWKS: kid %s appears twice", k->kid);
				goto out;
			}
		}
		if (json_object_get(obj, "alg") != NULL &&
		    !member_text(obj, "alg", k->alg, sizeof(k->alg))) {
			rc = ax_err_set(
			    err, AX_EINVAL, "invalid JWKS: key %s has an invalid alg", k->kid);
			goto out;
		}
		if ((rc = strcmp(kty, "RSA") == 0 ? jwk_rsa(k, obj, err) : jwk_ec(k, obj, err)) !=
		    AX_OK)
			goto out;
		v->n_keys++;
	}
out:
	json_decref(root);
	return rc;
}

/* Copy the NUL-terminated text src into dst (cap bytes); AX_EINVAL if empty or too long. */
static int
copy_text(char *dst, size_t cap, const char *src, const char *what, struct ax_err *err)
{
	size_t n = src ? strnlen(src, cap) : 0;

	if (n == 0 || n >= cap)
		return ax_err_set(err, AX_EINVAL, "invalid OIDC issuer configuration: %s", what);
	memcpy(dst, src, n + 1);
	return AX_OK;
}

int
ax_oidc_verifier_new(struct ax_oidc_verifier **out, const struct ax_oidc_issuer_config *cfg,
    const struct ax_oidc_policy *policy, struct ax_err *err)
{
	struct ax_oidc_verifier *v = NULL;
	int rc = AX_OK;

	*out = NULL;
	if (policy->skew_us < 0 || policy->max_auth_age_us <= 0 || policy->max_token_age_us <= 0 ||
	    policy->skew_us > WINDOW_MAX_US || policy->max_auth_age_us > WINDOW_MAX_US ||
	    policy->max_token_age_us > WINDOW_MAX_US)
		return ax_err_set(err, AX_EINVAL,
		    "invalid OIDC policy: each window is positive and at most a year");
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory for an OIDC verifier");
		goto out;
	}
	if ((rc = copy_text(v->issuer, sizeof(v->issuer), cfg->issuer, "issuer", err)) != AX_OK ||
	    (rc = copy_text(v->audience, sizeof(v->audience), cfg->audience, "audience", err)) !=
	        AX_OK)
		goto out;
	v->policy = *policy;
	if ((v->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "could not fetch SHA-256 from OpenSSL");
		goto out;
	}
	if ((rc = parse_jwks(v, cfg->jwks, cfg->jwks_len, err)) != AX_OK)
		goto out;
	*out = v;
	v = NULL;
out:
	ax_oidc_verifier_free(v);
	return rc;
}

/* Decode segment s[0..len) and parse it as a strict JSON object into *out (owned). */
static int
decode_json_segment(json_t **out, const char *s, size_t len, size_t cap, const char *what,
    struct ax_oidc_result *result, struct ax_err *err)
{
	uint8_t *buf = NULL;
	size_t n;
	json_error_t jerr;
	struct ax_err berr;
	char shown[84];
	int rc = AX_OK;

	*out = NULL;
	if ((buf = malloc(cap)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory decoding a token");
		goto out;
	}
	if (ax_b64url_decode(buf, cap, &n, s, len, &berr) != AX_OK) {
		rc = refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
		    "The %s is not strict base64url: %s", what, berr.msg);
		goto out;
	}
	*out = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL || !json_is_object(*out)) {
		printable(shown, *out ? "" : jerr.text);
		rc = refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
		    "The %s is not a strict JSON object%s%s.", what, *out ? "" : ": ", shown);
		json_decref(*out);
		*out = NULL;
	}
out:
	free(buf);
	return rc;
}

/* Verify the JWS signature sig over input with key k for alg (RS256 or ES256). */
static int
check_signature(const struct ax_oidc_verifier *v, const struct jwk *k, bool es256,
    const uint8_t *sig, size_t sig_len, const char *input, size_t input_len,
    struct ax_oidc_result *result, struct ax_err *err)
{
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const uint8_t *vsig = sig;
	size_t vlen = sig_len;
	int n, rc = AX_OK;

	if (es256) {
		/* JWS ES256 is raw R||S (RFC 7518 3.4); OpenSSL wants a DER ECDSA-Sig-Value. */
		if (sig_len != 64) {
			rc = refuse(result, AX_OIDC_BAD_SIGNATURE, err,
			    "An ES256 signature has 64 bytes (R||S); this one has %zu.", sig_len);
			goto out;
		}
		if ((es = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL) {
			rc = ax_err_set(err, AX_ERR, "out of memory checking a signature");
			goto out;
		}
		if (ECDSA_SIG_set0(es, r, s) != 1) {
			rc = ax_err_set(err, AX_ERR, "could not build an ECDSA signature");
			goto out;
		}
		r = s = NULL;
		if ((n = i2d_ECDSA_SIG(es, &der)) <= 0) {
			rc = ax_err_set(err, AX_ERR, "could not encode an ECDSA signature");
			goto out;
		}
		vsig = der;
		vlen = (size_t)n;
	} else if (sig_len != (size_t)EVP_PKEY_get_size(k->pk)) {
		rc = refuse(result, AX_OIDC_BAD_SIGNATURE, err,
		    "An RS256 signature has as many bytes as the modulus (%d); this one has %zu.",
		    EVP_PKEY_get_size(k->pk), sig_len);
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory checking a signature");
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, v->sha256, NULL, k->pk) != 1 ||
	    EVP_DigestVerify(ctx, vsig, vlen, (const unsigned char *)input, input_len) != 1)
		rc = refuse(result, AX_OIDC_BAD_SIGNATURE, err,
		    "The %s signature does not verify with key %s of the issuer.",
		    es256 ? "ES256" : "RS256", k->kid);
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

/* Read the integer NumericDate claim name of claims into *out (seconds). */
static bool
claim_time(json_t *claims, const char *name, int64_t *out)
{
	json_t *m = json_object_get(claims, name);
	json_int_t t;

	if (!json_is_integer(m))
		return false;
	t = json_integer_value(m);
	if (t < 0 || t > NUMERIC_DATE_MAX)
		return false;
	*out = (int64_t)t;
	return true;
}

/* Check the aud and azp claims against the audience. */
static int
check_audience(const struct ax_oidc_verifier *v, json_t *claims, struct ax_oidc_result *result,
    struct ax_err *err)
{
	json_t *aud = json_object_get(claims, "aud"), *azp = json_object_get(claims, "azp"), *e;
	size_t i, n = 0;
	bool found = false;

	if (json_is_string(aud)) {
		n = 1;
		found = strcmp(json_string_value(aud), v->audience) == 0;
	} else if (json_is_array(aud) && json_array_size(aud) <= 16) {
		json_array_foreach(aud, i, e)
		{
			if (!json_is_string(e))
				return refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
				    "The aud array holds a value that is not a string.");
			found = found || strcmp(json_string_value(e), v->audience) == 0;
			n++;
		}
	} else {
		return refuse(result, AX_OIDC_MISSING_CLAIM, err,
		    "The token has no aud claim (a string or an array of at most 16).");
	}
	if (!found)
		return refuse(result, AX_OIDC_WRONG_AUDIENCE, err,
		    "The token is not issued for audience %s.", v->audience);
	if (azp != NULL &&
	    (!json_is_string(azp) || strcmp(json_string_value(azp), v->audience) != 0))
		return refuse(result, AX_OIDC_WRONG_AUDIENCE, err,
		    "The azp claim is not the audience %s.", v->audience);
	if (n > 1 && azp == NULL)
		return refuse(result, AX_OIDC_WRONG_AUDIENCE, err,
		    "The token has %zu audiences and no azp claim naming %s.", n, v->audience);
	return AX_OK;
}

/* Check the claims other than aud: iss, sub, exp, nbf, iat, nonce, auth_time. */
static int
check_claims(const struct ax_oidc_verifier *v, json_t *claims, const char *subject,
    const uint8_t intent_hash[AX_HASH_LEN], int64_t now_us, struct ax_oidc_result *result,
    struct ax_err *err)
{
	const struct ax_oidc_policy *p = &v->policy;
	char expect_nonce[AX_B64URL_ENCODED_LEN(AX_HASH_LEN) + 1];
	char shown[84];
	json_t *m;
	int64_t nbf;
	int rc;

	m = json_object_get(claims, "iss");
	if (!json_is_string(m))
		return refuse(result, AX_OIDC_MISSING_CLAIM, err, "The token has no iss claim.");
	if (strcmp(json_string_value(m), v->issuer) != 0) {
		printable(shown, json_string_value(m));
		return refuse(result, AX_OIDC_WRONG_ISSUER, err,
		    "The token is issued by %s, not by %s.", shown, v->issuer);
	}
	if ((rc = check_audience(v, claims, result, err)) != AX_OK)
		return rc;
	m = json_object_get(claims, "sub");
	if (!json_is_string(m))
		return refuse(result, AX_OIDC_MISSING_CLAIM, err, "The token has no sub claim.");
	if (strcmp(json_string_value(m), subject) != 0)
		return refuse(result, AX_OIDC_WRONG_SUBJECT, err,
		    "The token's subject is not the one registered for the signer.");
	if (!claim_time(claims, "exp", &result->exp))
		return refuse(
		    result, AX_OIDC_MISSING_CLAIM, err, "The token has no integer exp claim.");
	if (now_us >= result->exp * 1000000 + p->skew_us)
		return refuse(result, AX_OIDC_EXPIRED, err,
		    "The token expired at %lld, before the event time %lld (seconds).",
		    (long long)result->exp, (long long)(now_us / 1000000));
	if (json_object_get(claims, "nbf") != NULL) {
		if (!claim_time(claims, "nbf", &nbf))
			return refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
			    "The nbf claim is not an integer NumericDate.");
		if (nbf * 1000000 > now_us + p->skew_us)
			return refuse(result, AX_OIDC_NOT_YET_VALID, err,
			    "The token is valid only from %lld, after the event time.",
			    (long long)nbf);
	}
	if (!claim_time(claims, "iat", &result->iat))
		return refuse(
		    result, AX_OIDC_MISSING_CLAIM, err, "The token has no integer iat claim.");
	if (result->iat * 1000000 > now_us + p->skew_us)
		return refuse(result, AX_OIDC_NOT_YET_VALID, err,
		    "The token was issued at %lld, after the event time %lld.",
		    (long long)result->iat, (long long)(now_us / 1000000));
	if (now_us - result->iat * 1000000 > p->max_token_age_us)
		return refuse(result, AX_OIDC_TOKEN_TOO_OLD, err,
		    "The token was issued %lld s before the event time; at most %lld s are "
		    "accepted.",
		    (long long)((now_us - result->iat * 1000000) / 1000000),
		    (long long)(p->max_token_age_us / 1000000));
	m = json_object_get(claims, "nonce");
	if (!json_is_string(m))
		return refuse(result, AX_OIDC_MISSING_CLAIM, err, "The token has no nonce claim.");
	if ((rc = ax_b64url_encode(
	         expect_nonce, sizeof(expect_nonce), intent_hash, AX_HASH_LEN, err)) != AX_OK)
		return rc;
	if (json_string_length(m) != strlen(expect_nonce) ||
	    CRYPTO_memcmp(json_string_value(m), expect_nonce, strlen(expect_nonce)) != 0)
		return refuse(result, AX_OIDC_WRONG_NONCE, err,
		    "The nonce is not the base64url hash of this signing intent.");
	if (!claim_time(claims, "auth_time", &result->auth_time))
		return refuse(result, AX_OIDC_MISSING_CLAIM, err,
		    "The token has no integer auth_time claim (request it with max_age=0).");
	if (result->auth_time * 1000000 > now_us + p->skew_us)
		return refuse(result, AX_OIDC_AUTH_TIME_FUTURE, err,
		    "The authentication time %lld is after the event time %lld.",
		    (long long)result->auth_time, (long long)(now_us / 1000000));
	if (now_us - result->auth_time * 1000000 > p->max_auth_age_us)
		return refuse(result, AX_OIDC_STALE_AUTH_TIME, err,
		    "The user authenticated %lld s before the event time; a signature needs a "
		    "fresh login within %lld s.",
		    (long long)((now_us - result->auth_time * 1000000) / 1000000),
		    (long long)(p->max_auth_age_us / 1000000));
	return AX_OK;
}

int
ax_oidc_verify(struct ax_oidc_result *result, const struct ax_oidc_verifier *v, const char *token,
    size_t len, const char *subject, const uint8_t intent_hash[AX_HASH_LEN], int64_t event_time_us,
    struct ax_err *err)
{
	json_t *header = NULL, *claims = NULL;
	const char *d1, *d2, *alg;
	const struct jwk *k = NULL;
	char kid[AX_OIDC_KID_MAX + 1], shown[84];
	uint8_t *sig = NULL;
	size_t sig_len, i;
	struct ax_err berr;
	bool es256;
	int rc = AX_OK;

	memset(result, 0, sizeof(*result));
	ax_err_clear(err);
	if (event_time_us < 0 || event_time_us > NUMERIC_DATE_MAX * 1000000)
		return ax_err_set(
		    err, AX_EINVAL, "invalid event time %lld", (long long)event_time_us);
	if (len == 0 || len > AX_OIDC_TOKEN_MAX || memchr(token, '\0', len) != NULL) {
		rc = refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
		    "A token has 1 to %d bytes of text; this one has %zu.", AX_OIDC_TOKEN_MAX, len);
		goto out;
	}
	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
		rc = refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
		    "A compact JWS has exactly three dot-separated segments.");
		goto out;
	}
	if ((rc = decode_json_segment(
	         &header, token, (size_t)(d1 - token), HEADER_MAX, "header", result, err)) != AX_OK)
		goto out;
	alg = json_string_value(json_object_get(header, "alg"));
	if (alg == NULL) {
		rc = refuse(result, AX_OIDC_TOKEN_MALFORMED, err, "The header has no alg.");
		goto out;
	}
	if (strlen(alg) == 4 && (alg[0] | 0x20) == 'n' && (alg[1] | 0x20) == 'o' &&
	    (alg[2] | 0x20) == 'n' && (alg[3] | 0x20) == 'e') {
		rc = refuse(result, AX_OIDC_ALG_NONE, err,
		    "The token is unsigned (alg \"none\"); an ID token must be signed.");
		goto out;
	}
	es256 = strcmp(alg, "ES256") == 0;
	if (!es256 && strcmp(alg, "RS256") != 0) {
		printable(shown, alg);
		rc = refuse(result, AX_OIDC_ALG_UNSUPPORTED, err,
		    "The token's alg is \"%s\"; only RS256 and ES256 are accepted.", shown);
		goto out;
	}
	if (json_object_get(header, "crit") != NULL) {
		rc = refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
		    "The header has critical extensions (crit), which are not understood.");
		goto out;
	}
	if (!member_text(header, "kid", kid, sizeof(kid))) {
		rc = refuse(result, AX_OIDC_UNKNOWN_KEY, err,
		    "The header names no key (kid) of the issuer.");
		goto out;
	}
	for (i = 0; i < v->n_keys && k == NULL; i++)
		if (strcmp(v->keys[i].kid, kid) == 0)
			k = &v->keys[i];
	if (k == NULL) {
		printable(shown, kid);
		rc = refuse(result, AX_OIDC_UNKNOWN_KEY, err,
		    "Key %s is not in the registered JWKS of %s.", shown, v->issuer);
		goto out;
	}
	if ((es256 ? k->kty != JWK_EC : k->kty != JWK_RSA) || (k->alg[0] && strcmp(k->alg, alg))) {
		rc = refuse(result, AX_OIDC_ALG_KEY_MISMATCH, err,
		    "Key %s is %s%s%s; the token's alg is %s.", k->kid,
		    k->kty == JWK_EC ? "an EC key" : "an RSA key", k->alg[0] ? " for " : "", k->alg,
		    alg);
		goto out;
	}
	if ((sig = malloc(SIG_MAX)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory decoding a token");
		goto out;
	}
	if (ax_b64url_decode(
	        sig, SIG_MAX, &sig_len, d2 + 1, len - (size_t)(d2 + 1 - token), &berr) != AX_OK) {
		rc = refuse(result, AX_OIDC_TOKEN_MALFORMED, err,
		    "The signature is not strict base64url: %s", berr.msg);
		goto out;
	}
	if ((rc = check_signature(
	         v, k, es256, sig, sig_len, token, (size_t)(d2 - token), result, err)) != AX_OK)
		goto out;
	if ((rc = decode_json_segment(&claims, d1 + 1, (size_t)(d2 - d1 - 1), PAYLOAD_MAX,
	         "payload", result, err)) != AX_OK)
		goto out;
	rc = check_claims(v, claims, subject, intent_hash, event_time_us, result, err);
out:
	free(sig);
	json_decref(header);
	json_decref(claims);
	return rc;
}
