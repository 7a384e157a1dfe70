/*
 * ax_softauth.c - software WebAuthn authenticator; see ax_softauth.h for the invariants.
 */
#include "ax_softauth.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "ax_b64url.h"

struct ax_softauth {
	EVP_PKEY *key;
	uint8_t cose[AX_COSE_ES256_KEY_LEN];
	uint8_t cred_id[AX_SOFTAUTH_CRED_ID_LEN];
	uint32_t sign_count;
};

void
ax_softauth_free(struct ax_softauth *sa)
{
	if (sa == NULL)
		return;
	EVP_PKEY_free(sa->key);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* Take ownership of key (a P-256 private key) into a new authenticator *out. */
static int
softauth_adopt(struct ax_softauth **out, EVP_PKEY *key, uint32_t sign_count, struct ax_err *err)
{
	struct ax_softauth *sa = NULL;
	char group[32] = "";
	uint8_t point[65];
	size_t plen = 0;
	int rc = AX_OK;

	*out = NULL;
	if (!EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_utf8_string_param(
	        key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		rc = ax_err_set(err, AX_EINVAL, "software authenticator key is not a P-256 key");
		goto out;
	}
	if (EVP_PKEY_get_octet_string_param(
	        key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &plen) != 1 ||
	    plen != sizeof(point) || point[0] != 0x04) {
		rc = ax_err_set(err, AX_ERR, "could not export the public key point");
		goto out;
	}
	if ((sa = calloc(1, sizeof(*sa))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory for a software authenticator");
		goto out;
	}
	ax_cose_encode_es256(sa->cose, point + 1, point + 33);
	if (EVP_Digest(sa->cose, sizeof(sa->cose), sa->cred_id, NULL, EVP_sha256(), NULL) != 1) {
		rc = ax_err_set(err, AX_ERR, "could not hash the public key");
		goto out;
	}
	sa->key = key;
	key = NULL;
	sa->sign_count = sign_count;
	*out = sa;
	sa = NULL;
out:
	EVP_PKEY_free(key);
	ax_softauth_free(sa);
	return rc;
}

int
ax_softauth_new(struct ax_softauth **out, struct ax_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	*out = NULL;
	if (key == NULL)
		return ax_err_set(err, AX_ERR, "could not generate a P-256 key");
	return softauth_adopt(out, key, 0, err);
}

/* A PEM password callback that refuses: keys are never read interactively. */
static int
softauth_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
ax_softauth_from_pem(
    struct ax_softauth **out, const char *pem, size_t len, uint32_t sign_count, struct ax_err *err)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	*out = NULL;
	if (len == 0 || len > AX_SOFTAUTH_PEM_MAX * 8)
		return ax_err_set(err, AX_EINVAL, "invalid key file: %zu bytes", len);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory reading a key");
	key = PEM_read_bio_PrivateKey(bio, NULL, softauth_no_password, NULL);
	BIO_free(bio);
	if (key == NULL) {
		ax_err_set(err, AX_EINVAL, "invalid key file: not an unencrypted PEM private key");
		ax_err_hint(err, "Create one with axiom sign --new-key.");
		return AX_EINVAL;
	}
	rc = softauth_adopt(out, key, sign_count, err);
	return rc;
}

int
ax_softauth_to_pem(
    const struct ax_softauth *sa, char *buf, size_t cap, size_t *len, struct ax_err *err)
{
	BIO *bio = NULL;
	char *data = NULL;
	long n;
	int rc = AX_OK;

	*len = 0;
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory writing a key");
		goto out;
	}
	if (PEM_write_bio_PrivateKey(bio, sa->key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0) {
		rc = ax_err_set(err, AX_ERR, "could not encode the key as PEM");
		goto out;
	}
	if ((size_t)n >= cap) {
		rc = ax_err_set(
		    err, AX_EINVAL, "PEM key needs %ld bytes, %zu available", n + 1, cap);
		goto out;
	}
	memcpy(buf, data, (size_t)n);
	buf[n] = '\0';
	*len = (size_t)n;
out:
	BIO_free(bio);
	return rc;
}

void
ax_softauth_cose_key(const struct ax_softauth *sa, uint8_t out[AX_COSE_ES256_KEY_LEN])
{
	memcpy(out, sa->cose, sizeof(sa->cose));
}

void
ax_softauth_cred_id(const struct ax_softauth *sa, uint8_t out[AX_SOFTAUTH_CRED_ID_LEN])
{
	memcpy(out, sa->cred_id, sizeof(sa->cred_id));
}

uint32_t
ax_softauth_sign_count(const struct ax_softauth *sa)
{
	return sa->sign_count;
}

int
ax_softauth_sign(const struct ax_softauth *sa, uint8_t *sig, size_t cap, size_t *sig_len,
    const uint8_t *auth_data, size_t auth_data_len, const uint8_t *client_data_json,
    size_t client_data_json_len, struct ax_err *err)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t cdh[32];
	size_t n = cap;
	int rc = AX_OK;

	*sig_len = 0;
	if (EVP_Digest(client_data_json, client_data_json_len, cdh, NULL, EVP_sha256(), NULL) !=
	        1 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, sa->key) != 1 ||
	    EVP_DigestSignUpdate(ctx, auth_data, auth_data_len) != 1 ||
	    EVP_DigestSignUpdate(ctx, cdh, sizeof(cdh)) != 1 ||
	    EVP_DigestSignFinal(ctx, sig, &n) != 1) {
		rc = ax_err_set(err, AX_ERR, "could not sign the assertion");
		goto out;
	}
	*sig_len = n;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
ax_softauth_get_assertion(struct ax_softauth *sa, struct ax_softauth_assertion *out,
    const char *rp_id, const char *origin, const uint8_t *challenge, size_t challenge_len,
    uint8_t flags, struct ax_err *err)
{
	char b64[AX_B64URL_ENCODED_LEN(64) + 1];
	json_t *cd = NULL;
	size_t n;
	uint32_t count;
	int rc;

	memset(out, 0, sizeof(*out));
	if (challenge_len == 0 || challenge_len > 64)
		return ax_err_set(err, AX_EINVAL, "invalid challenge length %zu", challenge_len);
	if (sa->sign_count == UINT32_MAX)
		return ax_err_set(err, AX_EINVAL, "the signature counter is exhausted");
	if ((rc = ax_b64url_encode(b64, sizeof(b64), challenge, challenge_len, err)) != AX_OK)
		return rc;
	cd = json_pack("{s:s, s:s, s:s, s:b}", "type", "webauthn.get", "challenge", b64, "origin",
	    origin, "crossOrigin", 0);
	if (cd == NULL) {
		rc = ax_err_set(err, AX_EINVAL, "could not build clientDataJSON");
		goto out;
	}
	n = json_dumpb(cd, (char *)out->client_data_json, sizeof(out->client_data_json),
	    JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (n == 0 || n > sizeof(out->client_data_json)) {
		rc = ax_err_set(err, AX_EINVAL, "clientDataJSON does not fit in %zu bytes",
		    sizeof(out->client_data_json));
		goto out;
	}
	out->client_data_json_len = n;
	if (EVP_Digest(rp_id, strlen(rp_id), out->auth_data, NULL, EVP_sha256(), NULL) != 1) {
		rc = ax_err_set(err, AX_ERR, "could not hash the rpId");
		goto out;
	}
	count = sa->sign_count + 1;
	out->auth_data[32] = flags;
	out->auth_data[33] = (uint8_t)(count >> 24);
	out->auth_data[34] = (uint8_t)(count >> 16);
	out->auth_data[35] = (uint8_t)(count >> 8);
	out->auth_data[36] = (uint8_t)count;
	memcpy(out->cred_id, sa->cred_id, sizeof(sa->cred_id));
	if ((rc = ax_softauth_sign(sa, out->sig, sizeof(out->sig), &out->sig_len, out->auth_data,
	         sizeof(out->auth_data), out->client_data_json, out->client_data_json_len, err)) !=
	    AX_OK)
		goto out;
	sa->sign_count = count;
out:
	json_decref(cd);
	return rc;
}
