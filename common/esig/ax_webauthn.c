/*
 * ax_webauthn.c - WebAuthn assertion verification; see ax_webauthn.h for the order of the
 * checks and the invariants.
 *
 * A registered key is parsed once into an OpenSSL key of the provider's own kind (a named
 * P-256 curve or Ed25519) and the signature is checked with it directly. libfido2's
 * fido_assert_verify rebuilt a legacy EC_KEY from the key's coordinates on every call, which
 * OpenSSL 3 then exported to its provider again: a third of the cost of a verification
 * (docs/benchmarks.md, "E-signature verification"). Every check it made is made here.
 */
#include "ax_webauthn.h"

#include <fido.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ax_b64url.h"
#include "ax_cose.h"

static const char *const reason_names[AX_WA_REASON_COUNT] = {
	[AX_WA_OK] = "webauthn_ok",
	[AX_WA_INPUT_TOO_LARGE] = "webauthn_input_too_large",
	[AX_WA_UNKNOWN_CREDENTIAL] = "webauthn_unknown_credential",
	[AX_WA_CREDENTIAL_NOT_OWNED] = "webauthn_credential_not_owned",
	[AX_WA_CREDENTIAL_REVOKED] = "webauthn_credential_revoked",
	[AX_WA_CLIENT_DATA_MALFORMED] = "webauthn_client_data_malformed",
	[AX_WA_CLIENT_DATA_DUPLICATE] = "webauthn_client_data_duplicate_key",
	[AX_WA_WRONG_TYPE] = "webauthn_wrong_type",
	[AX_WA_WRONG_CHALLENGE] = "webauthn_wrong_challenge",
	[AX_WA_WRONG_ORIGIN] = "webauthn_wrong_origin",
	[AX_WA_CROSS_ORIGIN] = "webauthn_cross_origin",
	[AX_WA_AUTH_DATA_MALFORMED] = "webauthn_auth_data_malformed",
	[AX_WA_AUTH_DATA_TRAILING] = "webauthn_auth_data_trailing_bytes",
	[AX_WA_UNEXPECTED_EXTENSIONS] = "webauthn_unexpected_extensions",
	[AX_WA_WRONG_RP_ID] = "webauthn_wrong_rp_id",
	[AX_WA_USER_NOT_PRESENT] = "webauthn_user_not_present",
	[AX_WA_USER_NOT_VERIFIED] = "webauthn_user_not_verified",
	[AX_WA_BAD_SIGNATURE] = "webauthn_bad_signature",
	[AX_WA_VERIFY_FAILED] = "webauthn_verify_failed",
	[AX_WA_SIGN_COUNT_REGRESSED] = "webauthn_sign_count_regressed",
};

struct ax_webauthn_key {
	int alg;        /* AX_COSE_ALG_ES256 or AX_COSE_ALG_EDDSA */
	EVP_PKEY *pkey; /* P-256 (named curve, point checked) or Ed25519; read-only */
};

struct ax_webauthn_verifier {
	EVP_MD *sha256; /* fetched once (OpenSSL 3: an implicit fetch per digest otherwise) */
	char rp_id[256];
	uint8_t rp_id_hash[32];
	char **origins; /* n_origins owned copies */
	size_t n_origins;
	bool require_uv;
};

const char *
ax_webauthn_reason_name(enum ax_webauthn_reason reason)
{
	if ((int)reason < 0 || reason >= AX_WA_REASON_COUNT)
		return "webauthn_unknown_reason";
	return reason_names[reason];
}

/* Fill err and result for a refusal with reason and a printf-style detail; returns
 * AX_EINVAL. */
static int refuse(struct ax_webauthn_result *result, enum ax_webauthn_reason reason,
    struct ax_err *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
refuse(struct ax_webauthn_result *result, enum ax_webauthn_reason reason, struct ax_err *err,
    const char *fmt, ...)
{
	va_list ap;

	result->reason = reason;
	ax_err_set(
	    err, AX_EINVAL, "webauthn assertion refused: %s", ax_webauthn_reason_name(reason));
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return AX_EINVAL;
}

void
ax_webauthn_key_free(struct ax_webauthn_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

int
ax_webauthn_key_alg(const struct ax_webauthn_key *key)
{
	return key->alg;
}

/*
 * Whether OpenSSL's error queue says it ran out of memory rather than refused the bytes it was
 * given; clears the queue. Such a failure must fail the batch (retried), never become a stored
 * refusal that a replay would not reproduce. Only that reason counts: a reason some input can
 * provoke (unsupported, fetch failed for an unknown key type) would make a hostile key fail
 * its partition's batches for ever instead of being refused.
 */
static bool
openssl_failed_itself(void)
{
	unsigned long e;
	bool itself = false;

	while ((e = ERR_get_error()) != 0) {
		int reason = ERR_GET_REASON(e);

		if (reason == ERR_GET_REASON(ERR_R_MALLOC_FAILURE))
			itself = true;
	}
	return itself;
}

/* Parse a DER or PEM SubjectPublicKeyInfo into *out (owned); AX_EINVAL if malformed. */
static int
key_parse_spki(
    EVP_PKEY **out, enum ax_pk_format fmt, const uint8_t *bytes, size_t len, struct ax_err *err)
{
	const unsigned char *p = bytes;
	BIO *bio = NULL;
	int rc = AX_OK;

	*out = NULL;
	if (len > 8192 || len > (size_t)INT32_MAX)
		return ax_err_set(err, AX_EINVAL, "public key is too large (%zu bytes)", len);
	if (fmt == AX_PK_DER) {
		*out = d2i_PUBKEY(NULL, &p, (long)len);
		if (*out != NULL && p != bytes + len) {
			EVP_PKEY_free(*out);
			*out = NULL;
		}
	} else {
		if ((bio = BIO_new_mem_buf(bytes, (int)len)) == NULL) {
			rc = ax_err_set(err, AX_ERR, "out of memory reading a public key");
			goto out;
		}
		*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	if (*out == NULL && openssl_failed_itself())
		rc = ax_err_set(err, AX_ERR, "could not read a public key: OpenSSL failed");
	else if (*out == NULL)
		rc = ax_err_set(err, AX_EINVAL, "invalid public key: not a %s SubjectPublicKeyInfo",
		    fmt == AX_PK_DER ? "DER" : "PEM");
out:
	BIO_free(bio);
	return rc;
}

/* An ES256 key from the uncompressed point 04||x||y into *out; AX_EINVAL when the point is
 * not on P-256 (EVP_PKEY_fromdata refuses it) or is the point at infinity. P-256 has
 * cofactor 1, so that is the whole check: the full one (EVP_PKEY_public_check) also
 * multiplies the point by the group order, which tells nothing more on this curve and
 * triples the cost of a registration (about 650,000 instructions, callgrind). */
static int
key_from_point(EVP_PKEY **out, const uint8_t point[65])
{
	EVP_PKEY_CTX *kctx = NULL, *cctx = NULL;
	OSSL_PARAM params[3];
	int rc = AX_EINVAL;

	*out = NULL;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, 65);
	params[2] = OSSL_PARAM_construct_end();
	/* whatever the point, these fail only when OpenSSL cannot work (memory, no provider) */
	if ((kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(kctx) != 1) {
		rc = AX_ERR;
		goto out;
	}
	if (EVP_PKEY_fromdata(kctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(cctx) != 1)
		goto out;
	rc = AX_OK;
out:
	if (rc != AX_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(kctx);
	return rc;
}

/* The uncompressed point of P-256 key pk (from a SubjectPublicKeyInfo) into point; AX_EINVAL
 * when pk is not an EC key on the named curve P-256. */
static int
spki_point(uint8_t point[65], const EVP_PKEY *pk)
{
	char group[32];
	BIGNUM *x = NULL, *y = NULL;
	int rc = AX_EINVAL;

	if (!EVP_PKEY_is_a(pk, "EC") ||
	    EVP_PKEY_get_utf8_string_param(
	        pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2binpad(x, point + 1, 32) != 32 || BN_bn2binpad(y, point + 33, 32) != 32)
		goto out;
	point[0] = 0x04;
	rc = AX_OK;
out:
	BN_free(x);
	BN_free(y);
	return rc;
}

/* An Ed25519 key from its 32 raw bytes into *out. */
static int
key_from_ed25519(EVP_PKEY **out, const uint8_t pub[32])
{
	*out = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, 32);
	return *out != NULL ? AX_OK : AX_EINVAL;
}

int
ax_webauthn_key_new(struct ax_webauthn_key **out, int cose_alg, enum ax_pk_format fmt,
    const uint8_t *bytes, size_t len, struct ax_err *err)
{
	struct ax_webauthn_key *key = NULL;
	struct ax_cose_key ck;
	EVP_PKEY *pk = NULL;
	uint8_t point[65], pub[32];
	size_t pub_len = sizeof(pub);
	int rc = AX_OK, r = AX_EINVAL;

	*out = NULL;
	ERR_clear_error(); /* only this parse's reasons decide refusal or failure */
	if (cose_alg != AX_COSE_ALG_ES256 && cose_alg != AX_COSE_ALG_EDDSA)
		return ax_err_set(err, AX_EINVAL, "unsupported COSE algorithm %d", cose_alg);
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory for a public key");
		goto out;
	}
	key->alg = cose_alg;
	switch (fmt) {
	case AX_PK_COSE:
		if ((rc = ax_cose_decode(&ck, bytes, len, err)) != AX_OK)
			goto out;
		if (ck.alg != cose_alg) {
			rc = ax_err_set(err, AX_EINVAL,
			    "public key algorithm %d does not match the registered algorithm %d",
			    ck.alg, cose_alg);
			goto out;
		}
		if (cose_alg == AX_COSE_ALG_ES256) {
			point[0] = 0x04;
			memcpy(point + 1, ck.x, 32);
			memcpy(point + 33, ck.y, 32);
			r = key_from_point(&key->pkey, point);
		} else {
			r = key_from_ed25519(&key->pkey, ck.x);
		}
		break;
	case AX_PK_RAW:
		if (cose_alg == AX_COSE_ALG_ES256 && (len == 64 || (len == 65 && bytes[0] == 4))) {
			point[0] = 0x04;
			memcpy(point + 1, bytes + (len - 64), 64);
			r = key_from_point(&key->pkey, point);
		} else if (cose_alg == AX_COSE_ALG_EDDSA && len == 32) {
			r = key_from_ed25519(&key->pkey, bytes);
		}
		break;
	case AX_PK_DER:
	case AX_PK_PEM:
		if ((rc = key_parse_spki(&pk, fmt, bytes, len, err)) != AX_OK)
			goto out;
		/* rebuilt from the point (or the raw key): no explicit curve parameters and no
		 * other key type survive registration */
		if (cose_alg == AX_COSE_ALG_ES256) {
			if ((r = spki_point(point, pk)) == AX_OK)
				r = key_from_point(&key->pkey, point);
		} else if (EVP_PKEY_is_a(pk, "ED25519") &&
		           EVP_PKEY_get_raw_public_key(pk, pub, &pub_len) == 1 && pub_len == 32) {
			r = key_from_ed25519(&key->pkey, pub);
		}
		break;
	default:
		rc = ax_err_set(err, AX_EINVAL, "unknown public key format %d", (int)fmt);
		goto out;
	}
	if (r == AX_ERR || (r != AX_OK && openssl_failed_itself())) {
		rc = ax_err_set(err, AX_ERR, "could not parse a public key: OpenSSL failed");
		goto out;
	}
	if (r != AX_OK) {
		rc = ax_err_set(err, AX_EINVAL, "invalid %s public key",
		    cose_alg == AX_COSE_ALG_ES256 ? "ES256 (P-256)" : "EdDSA (Ed25519)");
		ax_err_detail(err, "The key is malformed, not on the curve, or of another type.");
		goto out;
	}
	*out = key;
	key = NULL;
out:
	EVP_PKEY_free(pk);
	ax_webauthn_key_free(key);
	return rc;
}

void
ax_webauthn_verifier_free(struct ax_webauthn_verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n_origins; i++)
		free(v->origins[i]);
	free(v->origins);
	EVP_MD_free(v->sha256);
	free(v);
}

int
ax_webauthn_verifier_new(
    struct ax_webauthn_verifier **out, const struct ax_webauthn_policy *policy, struct ax_err *err)
{
	struct ax_webauthn_verifier *v = NULL;
	size_t i, n;
	int rc = AX_OK;

	*out = NULL;
	n = policy->rp_id ? strnlen(policy->rp_id, sizeof(v->rp_id)) : 0;
	if (n == 0 || n >= sizeof(v->rp_id))
		return ax_err_set(err, AX_EINVAL, "invalid webauthn policy: rpId has %zu bytes", n);
	if (policy->n_origins == 0 || policy->n_origins > 64)
		return ax_err_set(err, AX_EINVAL,
		    "invalid webauthn policy: %zu origins (1 to 64 are accepted)",
		    policy->n_origins);
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->origins = calloc(policy->n_origins, sizeof(*v->origins))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory for a webauthn verifier");
		goto out;
	}
	memcpy(v->rp_id, policy->rp_id, n);
	if ((v->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    EVP_Digest(v->rp_id, n, v->rp_id_hash, NULL, v->sha256, NULL) != 1) {
		rc = ax_err_set(err, AX_ERR, "could not hash the rpId");
		goto out;
	}
	for (i = 0; i < policy->n_origins; i++) {
		size_t ol = strnlen(policy->origins[i], AX_WA_ORIGIN_MAX + 1);

		if (ol == 0 || ol > AX_WA_ORIGIN_MAX) {
			rc = ax_err_set(err, AX_EINVAL,
			    "invalid webauthn policy: origin %zu has %zu bytes", i, ol);
			goto out;
		}
		if ((v->origins[i] = malloc(ol + 1)) == NULL) {
			rc = ax_err_set(err, AX_ERR, "out of memory for a webauthn verifier");
			goto out;
		}
		memcpy(v->origins[i], policy->origins[i], ol + 1);
		v->n_origins++;
	}
	v->require_uv = policy->require_uv;
	*out = v;
	v = NULL;
out:
	ax_webauthn_verifier_free(v);
	return rc;
}

/* Copy at most 80 bytes of outside text s[0..len) into out for a message, each byte outside
 * printable ASCII replaced by '?', so that a refusal cannot inject lines into a log. */
static void
printable(char out[84], const char *s, size_t len)
{
	size_t i, n = len < 80 ? len : 80;

	for (i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (len > n) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* The string member name of obj as (text, len), or NULL if absent or not a string. */
static const char *
json_member_string(json_t *obj, const char *name, size_t *len)
{
	json_t *m = json_object_get(obj, name);

	if (!json_is_string(m))
		return NULL;
	*len = json_string_length(m);
	return json_string_value(m);
}

/* Check clientDataJSON: strict JSON object, type, challenge, origin, crossOrigin. */
static int
check_client_data(struct ax_webauthn_result *result, const struct ax_webauthn_verifier *v,
    const struct ax_webauthn_assertion *a, const uint8_t challenge[AX_HASH_LEN], struct ax_err *err)
{
	json_error_t jerr;
	json_t *root = NULL, *co;
	const char *s;
	size_t len = 0, i = 0, got_len = 0;
	uint8_t got[AX_B64URL_DECODED_MAX(64)];
	char shown[84];
	struct ax_err berr;
	int rc = AX_OK;

	root = json_loadb((const char *)a->client_data_json, a->client_data_json_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		printable(shown, jerr.text, strlen(jerr.text));
		rc = refuse(result,
		    json_error_code(&jerr) == json_error_duplicate_key
		        ? AX_WA_CLIENT_DATA_DUPLICATE
		        : AX_WA_CLIENT_DATA_MALFORMED,
		    err, "clientDataJSON is not strict JSON: %s (byte %d).", shown, jerr.position);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = refuse(result, AX_WA_CLIENT_DATA_MALFORMED, err,
		    "clientDataJSON is not a JSON object.");
		goto out;
	}
	s = json_member_string(root, "type", &len);
	if (s == NULL || len != strlen("webauthn.get") || memcmp(s, "webauthn.get", len) != 0) {
		if (s != NULL)
			printable(shown, s, len);
		rc = refuse(result, AX_WA_WRONG_TYPE, err,
		    "clientDataJSON type is %s%s%s, not \"webauthn.get\".", s ? "\"" : "",
		    s ? shown : "missing", s ? "\"" : "");
		goto out;
	}
	s = json_member_string(root, "challenge", &len);
	if (s == NULL || len > 64 || ax_b64url_decode(got, sizeof(got), &got_len, s, len, &berr) ||
	    got_len != AX_HASH_LEN || CRYPTO_memcmp(got, challenge, got_len) != 0) {
		rc = refuse(result, AX_WA_WRONG_CHALLENGE, err,
		    "The challenge in clientDataJSON is not the base64url hash of this signing "
		    "intent (a signature over another record, version or meaning, or another "
		    "nonce).");
		goto out;
	}
	s = json_member_string(root, "origin", &len);
	if (s != NULL && len <= AX_WA_ORIGIN_MAX) {
		for (i = 0; i < v->n_origins; i++)
			if (strlen(v->origins[i]) == len && memcmp(v->origins[i], s, len) == 0)
				break;
	}
	if (s == NULL || len > AX_WA_ORIGIN_MAX || i == v->n_origins) {
		if (s != NULL)
			printable(shown, s, len);
		rc = refuse(result, AX_WA_WRONG_ORIGIN, err,
		    "clientDataJSON origin %s%s%s is not in the allow-list.", s ? "\"" : "",
		    s ? shown : "missing", s ? "\"" : "");
		goto out;
	}
	co = json_object_get(root, "crossOrigin");
	if ((co != NULL && !json_is_false(co)) || json_object_get(root, "topOrigin") != NULL) {
		rc = refuse(result, AX_WA_CROSS_ORIGIN, err,
		    "The assertion was made in a cross-origin frame (crossOrigin is not false or "
		    "topOrigin is present).");
		goto out;
	}
out:
	json_decref(root);
	return rc;
}

/* Check the authenticatorData layout, rpIdHash and flags; fills result flags and count. */
static int
check_auth_data(struct ax_webauthn_result *result, const struct ax_webauthn_verifier *v,
    const struct ax_webauthn_assertion *a, struct ax_err *err)
{
	const uint8_t *ad = a->auth_data;
	uint8_t flags;

	if (a->auth_data_len < AX_WA_AUTH_DATA_LEN)
		return refuse(result, AX_WA_AUTH_DATA_MALFORMED, err,
		    "authenticatorData has %zu bytes; an assertion's has %d.", a->auth_data_len,
		    AX_WA_AUTH_DATA_LEN);
	flags = ad[32];
	result->flags = flags;
	result->sign_count =
	    (uint32_t)ad[33] << 24 | (uint32_t)ad[34] << 16 | (uint32_t)ad[35] << 8 | ad[36];
	if (flags & AX_WA_FLAG_AT)
		return refuse(result, AX_WA_AUTH_DATA_MALFORMED, err,
		    "authenticatorData has the AT flag (attested credential data), which an "
		    "assertion never carries.");
	if (flags & AX_WA_FLAG_ED)
		return refuse(result, AX_WA_UNEXPECTED_EXTENSIONS, err,
		    "authenticatorData carries extensions (ED flag) that were not requested.");
	if (a->auth_data_len != AX_WA_AUTH_DATA_LEN)
		return refuse(result, AX_WA_AUTH_DATA_TRAILING, err,
		    "authenticatorData has %zu bytes after its %d-byte body.",
		    a->auth_data_len - AX_WA_AUTH_DATA_LEN, AX_WA_AUTH_DATA_LEN);
	if ((flags & AX_WA_FLAG_BS) && !(flags & AX_WA_FLAG_BE))
		return refuse(result, AX_WA_AUTH_DATA_MALFORMED, err,
		    "authenticatorData has BS (backed up) without BE (backup eligible).");
	if (CRYPTO_memcmp(ad, v->rp_id_hash, 32) != 0)
		return refuse(result, AX_WA_WRONG_RP_ID, err,
		    "rpIdHash in authenticatorData is not SHA-256(\"%s\").", v->rp_id);
	if (!(flags & AX_WA_FLAG_UP))
		return refuse(
		    result, AX_WA_USER_NOT_PRESENT, err, "The UP (user present) flag is not set.");
	if (v->require_uv && !(flags & AX_WA_FLAG_UV))
		return refuse(result, AX_WA_USER_NOT_VERIFIED, err,
		    "The policy requires user verification and the UV flag is not set.");
	return AX_OK;
}

/*
 * Verify the signature over authenticatorData || SHA-256(clientDataJSON) with the registered
 * key: ES256 as ECDSA P-256 with SHA-256 over those 69 bytes, EdDSA as Ed25519 over them, as
 * fido_assert_verify does. check_auth_data ran first: authenticatorData is exactly 37 bytes.
 * Any verdict other than "valid" (a wrong signature, a malformed DER) is a bad signature,
 * as in libfido2, whose code for it (FIDO_ERR_INVALID_SIG) stays in err->lib_code.
 */
static int
check_signature(struct ax_webauthn_result *result, const struct ax_webauthn_verifier *v,
    const struct ax_webauthn_key *key, const struct ax_webauthn_assertion *a, struct ax_err *err)
{
	uint8_t msg[AX_WA_AUTH_DATA_LEN + 32];
	EVP_MD_CTX *ctx = NULL;
	int r, rc = AX_OK;

	/* check 12 admits exactly 37 bytes; should it ever admit extensions, the signed message
	 * must grow with them: refuse here rather than sign over a prefix */
	if (a->auth_data_len != AX_WA_AUTH_DATA_LEN)
		return ax_err_set(err, AX_ERR,
		    "authenticatorData of %zu bytes reached the signature "
		    "check",
		    (size_t)a->auth_data_len);
	ERR_clear_error(); /* only this verification's reasons decide refusal or failure */
	memcpy(msg, a->auth_data, AX_WA_AUTH_DATA_LEN);
	if (EVP_Digest(a->client_data_json, a->client_data_json_len, msg + AX_WA_AUTH_DATA_LEN,
	        NULL, v->sha256, NULL) != 1) {
		rc = ax_err_set(err, AX_ERR, "could not hash clientDataJSON");
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, key->alg == AX_COSE_ALG_ES256 ? v->sha256 : NULL, NULL,
	        key->pkey) != 1) {
		rc = ax_err_set(err, AX_ERR, "could not set up a signature verification");
		goto out;
	}
	r = EVP_DigestVerify(ctx, a->sig, a->sig_len, msg, sizeof(msg));
	if (r != 1 && openssl_failed_itself()) {
		rc = ax_err_set(err, AX_ERR, "could not verify a signature: OpenSSL failed");
		goto out;
	}
	if (r != 1) {
		rc = refuse(result, AX_WA_BAD_SIGNATURE, err,
		    "The signature does not verify over authenticatorData and the clientDataJSON "
		    "hash with the registered key.");
		err->lib_code = FIDO_ERR_INVALID_SIG;
	}
out:
	ERR_clear_error(); /* a refused signature leaves OpenSSL's reasons behind */
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
ax_webauthn_verify(struct ax_webauthn_result *result, const struct ax_webauthn_verifier *v,
    const struct ax_webauthn_cred *cred, const char *signer, const struct ax_webauthn_assertion *a,
    const uint8_t challenge[AX_HASH_LEN], struct ax_err *err)
{
	int rc;

	memset(result, 0, sizeof(*result));
	ax_err_clear(err);
	if (a->auth_data_len > AX_WA_AUTH_DATA_MAX ||
	    a->client_data_json_len > AX_WA_CLIENT_DATA_MAX || a->sig_len > AX_WA_SIG_MAX ||
	    a->cred_id_len > AX_WA_CRED_ID_MAX)
		return refuse(result, AX_WA_INPUT_TOO_LARGE, err,
		    "An assertion field exceeds its cap (authenticatorData %d, clientDataJSON %d, "
		    "signature %d, credential id %d bytes).",
		    AX_WA_AUTH_DATA_MAX, AX_WA_CLIENT_DATA_MAX, AX_WA_SIG_MAX, AX_WA_CRED_ID_MAX);
	if (a->cred_id_len == 0 || a->cred_id_len != cred->id_len ||
	    CRYPTO_memcmp(a->cred_id, cred->id, cred->id_len) != 0)
		return refuse(result, AX_WA_UNKNOWN_CREDENTIAL, err,
		    "The assertion names another credential than the registered one.");
	if (cred->owner == NULL || strcmp(cred->owner, signer) != 0)
		return refuse(result, AX_WA_CREDENTIAL_NOT_OWNED, err,
		    "The credential is registered to %s, not to the signer %s.",
		    cred->owner ? cred->owner : "nobody", signer);
	if (cred->revoked)
		return refuse(result, AX_WA_CREDENTIAL_REVOKED, err,
		    "The credential was revoked and cannot sign.");
	if (a->client_data_json_len == 0 || a->sig_len == 0)
		return refuse(result,
		    a->sig_len == 0 ? AX_WA_BAD_SIGNATURE : AX_WA_CLIENT_DATA_MALFORMED, err,
		    "The %s is empty.", a->sig_len == 0 ? "signature" : "clientDataJSON");
	if ((rc = check_client_data(result, v, a, challenge, err)) != AX_OK)
		return rc;
	if ((rc = check_auth_data(result, v, a, err)) != AX_OK)
		return rc;
	if ((rc = check_signature(result, v, cred->key, a, err)) != AX_OK)
		return rc;
	if ((cred->sign_count != 0 || result->sign_count != 0) &&
	    result->sign_count <= cred->sign_count)
		return refuse(result, AX_WA_SIGN_COUNT_REGRESSED, err,
		    "The signature counter went from %u to %u: the authenticator may have been "
		    "cloned.",
		    cred->sign_count, result->sign_count);
	return AX_OK;
}
