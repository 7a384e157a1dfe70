/*
 * ax_attest.c - password verifiers and gateway attestations; see ax_attest.h for the
 * invariants and the signed message layout.
 */
#include "ax_attest.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SCRYPT_LOG2_N_MAX 20
#define SCRYPT_R_MAX      32
#define SCRYPT_P_MAX      16
#define PBKDF2_ITER_MAX   10000000u
#define TIME_MAX_US       (INT64_C(253402300799) * 1000000) /* 9999-12-31T23:59:59Z */
#define WINDOW_MAX_US     (INT64_C(366) * 86400 * 1000000)
#define MSG_MAX           (4 * 5 + 15 + AX_ATTEST_KEY_ID_MAX + AX_HASH_LEN + 8)

static const char *const reason_names[AX_ATT_REASON_COUNT] = {
	[AX_ATT_OK] = "attest_ok",
	[AX_ATT_WRONG_PASSWORD] = "attest_wrong_password",
	[AX_ATT_WRONG_SIGNER] = "attest_wrong_signer",
	[AX_ATT_UNKNOWN_KEY] = "attest_unknown_key",
	[AX_ATT_KEY_REVOKED] = "attest_key_revoked",
	[AX_ATT_BAD_SIGNATURE] = "attest_bad_signature",
	[AX_ATT_WRONG_INTENT] = "attest_wrong_intent",
	[AX_ATT_STALE] = "attest_stale",
	[AX_ATT_IN_FUTURE] = "attest_in_future",
};

struct ax_attestor {
	char key_id[AX_ATTEST_KEY_ID_MAX + 1];
	EVP_PKEY *key; /* Ed25519 private key */
	uint8_t pub[AX_ATTEST_PUB_LEN];
};

const char *
ax_attest_reason_name(enum ax_attest_reason reason)
{
	if ((int)reason < 0 || reason >= AX_ATT_REASON_COUNT)
		return "attest_unknown_reason";
	return reason_names[reason];
}

/* Set *reason and err for a refusal with a printf-style detail; returns AX_EINVAL. */
static int refuse(enum ax_attest_reason *reason, enum ax_attest_reason r, struct ax_err *err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
refuse(enum ax_attest_reason *reason, enum ax_attest_reason r, struct ax_err *err, const char *fmt,
    ...)
{
	va_list ap;

	*reason = r;
	ax_err_set(err, AX_EINVAL, "password attestation refused: %s", ax_attest_reason_name(r));
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return AX_EINVAL;
}

/* Derive the verifier hash of pw under v's kdf, salt and parameters into out. */
static int
pw_derive(uint8_t out[AX_PW_HASH_LEN], const struct ax_pw_verifier *v, const uint8_t *pw,
    size_t pw_len, struct ax_err *err)
{
	uint64_t n, maxmem;

	if (pw_len == 0 || pw_len > AX_PW_MAX)
		return ax_err_set(err, AX_EINVAL, "a password has 1 to %d bytes", AX_PW_MAX);
	if (v->kdf == AX_PW_SCRYPT) {
		if (v->log2_n < AX_PW_SCRYPT_LOG2_N || v->log2_n > SCRYPT_LOG2_N_MAX ||
		    v->r < AX_PW_SCRYPT_R || v->r > SCRYPT_R_MAX || v->p < AX_PW_SCRYPT_P ||
		    v->p > SCRYPT_P_MAX) {
			ax_err_set(
			    err, AX_EINVAL, "password verifier parameters are out of bounds");
			ax_err_detail(err,
			    "scrypt needs N from 2^%d to 2^%d, r from %d to %d, p from "
			    "%d to %d; this verifier has 2^%u, %u, %u.",
			    AX_PW_SCRYPT_LOG2_N, SCRYPT_LOG2_N_MAX, AX_PW_SCRYPT_R, SCRYPT_R_MAX,
			    AX_PW_SCRYPT_P, SCRYPT_P_MAX, v->log2_n, v->r, v->p);
			ax_err_hint(err, "Have the user set the password again to upgrade it.");
			return AX_EINVAL;
		}
		n = UINT64_C(1) << v->log2_n;
		/* scrypt needs about 128 * r * (N + p) bytes; OpenSSL's default cap is 32 MiB. */
		maxmem = 128 * (uint64_t)v->r * (n + v->p) + (UINT64_C(1) << 20);
		if (EVP_PBE_scrypt((const char *)pw, pw_len, v->salt, sizeof(v->salt), n, v->r,
		        v->p, maxmem, out, AX_PW_HASH_LEN) != 1)
			return ax_err_set(err, AX_ERR, "could not compute scrypt");
		return AX_OK;
	}
	if (v->kdf == AX_PW_PBKDF2_SHA256) {
		if (v->iterations < AX_PW_PBKDF2_ITER || v->iterations > PBKDF2_ITER_MAX) {
			ax_err_set(
			    err, AX_EINVAL, "password verifier parameters are out of bounds");
			ax_err_detail(err,
			    "PBKDF2-HMAC-SHA256 needs %d to %u iterations; this "
			    "verifier has %u.",
			    AX_PW_PBKDF2_ITER, PBKDF2_ITER_MAX, v->iterations);
			ax_err_hint(err, "Have the user set the password again to upgrade it.");
			return AX_EINVAL;
		}
		if (PKCS5_PBKDF2_HMAC((const char *)pw, (int)pw_len, v->salt, sizeof(v->salt),
		        (int)v->iterations, EVP_sha256(), AX_PW_HASH_LEN, out) != 1)
			return ax_err_set(err, AX_ERR, "could not compute PBKDF2");
		return AX_OK;
	}
	return ax_err_set(err, AX_EINVAL, "unknown password verifier kind %d", (int)v->kdf);
}

int
ax_pw_verifier_make(struct ax_pw_verifier *out, enum ax_pw_kdf kdf, const uint8_t *pw,
    size_t pw_len, struct ax_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->kdf = kdf;
	if (kdf == AX_PW_SCRYPT) {
		out->log2_n = AX_PW_SCRYPT_LOG2_N;
		out->r = AX_PW_SCRYPT_R;
		out->p = AX_PW_SCRYPT_P;
	} else {
		out->iterations = AX_PW_PBKDF2_ITER;
	}
	if (RAND_bytes(out->salt, sizeof(out->salt)) != 1) {
		memset(out, 0, sizeof(*out));
		return ax_err_set(err, AX_ERR, "could not draw a random salt");
	}
	if ((rc = pw_derive(out->hash, out, pw, pw_len, err)) != AX_OK)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

int
ax_pw_verifier_check(const struct ax_pw_verifier *v, const uint8_t *pw, size_t pw_len, bool *match,
    struct ax_err *err)
{
	uint8_t got[AX_PW_HASH_LEN];
	int rc;

	*match = false;
	if ((rc = pw_derive(got, v, pw, pw_len, err)) == AX_OK)
		*match = CRYPTO_memcmp(got, v->hash, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}

/* Check that key_id is 1..AX_ATTEST_KEY_ID_MAX printable ASCII bytes. */
static int
check_key_id(const char *key_id, struct ax_err *err)
{
	size_t n = strnlen(key_id, AX_ATTEST_KEY_ID_MAX + 1), i;

	if (n == 0 || n > AX_ATTEST_KEY_ID_MAX)
		return ax_err_set(
		    err, AX_EINVAL, "an attestor key id has 1 to %d bytes", AX_ATTEST_KEY_ID_MAX);
	for (i = 0; i < n; i++)
		if (key_id[i] < 0x21 || key_id[i] > 0x7e)
			return ax_err_set(
			    err, AX_EINVAL, "an attestor key id is printable ASCII without spaces");
	return AX_OK;
}

void
ax_attestor_free(struct ax_attestor *a)
{
	if (a == NULL)
		return;
	EVP_PKEY_free(a->key);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* Take ownership of the Ed25519 private key into a new attestor named key_id. */
static int
attestor_adopt(struct ax_attestor **out, const char *key_id, EVP_PKEY *key, struct ax_err *err)
{
	struct ax_attestor *a = NULL;
	size_t pl = AX_ATTEST_PUB_LEN;
	int rc = AX_OK;

	*out = NULL;
	if ((rc = check_key_id(key_id, err)) != AX_OK)
		goto out;
	if (!EVP_PKEY_is_a(key, "ED25519")) {
		rc = ax_err_set(err, AX_EINVAL, "an attestor key must be an Ed25519 key");
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory for an attestor");
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(key, a->pub, &pl) != 1 || pl != AX_ATTEST_PUB_LEN) {
		rc = ax_err_set(err, AX_ERR, "could not export the attestor public key");
		goto out;
	}
	memcpy(a->key_id, key_id, strlen(key_id) + 1);
	a->key = key;
	key = NULL;
	*out = a;
	a = NULL;
out:
	EVP_PKEY_free(key);
	ax_attestor_free(a);
	return rc;
}

int
ax_attestor_new(struct ax_attestor **out, const char *key_id, struct ax_err *err)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	*out = NULL;
	if (key == NULL)
		return ax_err_set(err, AX_ERR, "could not generate an Ed25519 key");
	return attestor_adopt(out, key_id, key, err);
}

/* A PEM password callback that refuses: keys are never read interactively. */
static int
attest_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
ax_attestor_from_pem(
    struct ax_attestor **out, const char *key_id, const char *pem, size_t len, struct ax_err *err)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;

	*out = NULL;
	if (len == 0 || len > AX_ATTEST_PEM_MAX * 8)
		return ax_err_set(err, AX_EINVAL, "invalid attestor key: %zu bytes", len);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory reading a key");
	key = PEM_read_bio_PrivateKey(bio, NULL, attest_no_password, NULL);
	BIO_free(bio);
	if (key == NULL)
		return ax_err_set(
		    err, AX_EINVAL, "invalid attestor key: not an unencrypted PEM private key");
	return attestor_adopt(out, key_id, key, err);
}

int
ax_attestor_to_pem(
    const struct ax_attestor *a, char *buf, size_t cap, size_t *len, struct ax_err *err)
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
	if (PEM_write_bio_PrivateKey(bio, a->key, NULL, NULL, 0, NULL, NULL) != 1 ||
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
ax_attestor_public_key(const struct ax_attestor *a, uint8_t out[AX_ATTEST_PUB_LEN])
{
	memcpy(out, a->pub, AX_ATTEST_PUB_LEN);
}

/* Append a field: type, big-endian u32 length, len bytes; the caller checked the room. */
static void
put_field(uint8_t *buf, size_t *off, uint8_t type, const void *bytes, size_t len)
{
	buf[*off] = type;
	buf[*off + 1] = (uint8_t)(len >> 24);
	buf[*off + 2] = (uint8_t)(len >> 16);
	buf[*off + 3] = (uint8_t)(len >> 8);
	buf[*off + 4] = (uint8_t)len;
	memcpy(buf + *off + 5, bytes, len);
	*off += 5 + len;
}

/* Write the signed message of (key_id, intent hash, time) into buf; returns its length. */
static size_t
attest_message(
    uint8_t buf[MSG_MAX], const char *key_id, const uint8_t hash[AX_HASH_LEN], int64_t at_us)
{
	size_t off = 0;
	uint8_t t[8];
	int i;

	for (i = 0; i < 8; i++)
		t[i] = (uint8_t)((uint64_t)at_us >> (56 - 8 * i));
	put_field(buf, &off, 0x01, AX_ATTEST_TAG, strlen(AX_ATTEST_TAG));
	put_field(buf, &off, 0x01, key_id, strnlen(key_id, AX_ATTEST_KEY_ID_MAX));
	put_field(buf, &off, 0x02, hash, AX_HASH_LEN);
	put_field(buf, &off, 0x04, t, sizeof(t));
	return off;
}

int
ax_attest_password(struct ax_attestation *out, enum ax_attest_reason *reason,
    const struct ax_attestor *a, const char *user, const struct ax_pw_verifier *v,
    const uint8_t *pw, size_t pw_len, const struct ax_intent *intent, int64_t now_us,
    struct ax_err *err)
{
	uint8_t msg[MSG_MAX], hash[AX_HASH_LEN];
	EVP_MD_CTX *ctx = NULL;
	size_t mlen, slen = AX_ATTEST_SIG_LEN;
	bool match = false;
	int rc;

	memset(out, 0, sizeof(*out));
	*reason = AX_ATT_OK;
	ax_err_clear(err);
	if (now_us < 0 || now_us > TIME_MAX_US)
		return ax_err_set(
		    err, AX_EINVAL, "invalid attestation time %lld", (long long)now_us);
	if (strcmp(intent->signer, user) != 0) {
		rc = refuse(reason, AX_ATT_WRONG_SIGNER, err,
		    "The intent is signed by %s; this password belongs to another user.",
		    intent->signer);
		goto out;
	}
	if ((rc = ax_pw_verifier_check(v, pw, pw_len, &match, err)) != AX_OK)
		goto out;
	if (!match) {
		rc = refuse(reason, AX_ATT_WRONG_PASSWORD, err,
		    "The password does not match the verifier of %s.", user);
		goto out;
	}
	if ((rc = ax_intent_hash(hash, intent, err)) != AX_OK)
		goto out;
	mlen = attest_message(msg, a->key_id, hash, now_us);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, a->key) != 1 ||
	    EVP_DigestSign(ctx, out->sig, &slen, msg, mlen) != 1 || slen != AX_ATTEST_SIG_LEN) {
		rc = ax_err_set(err, AX_ERR, "could not sign the attestation");
		goto out;
	}
	memcpy(out->key_id, a->key_id, strlen(a->key_id) + 1);
	memcpy(out->intent_hash, hash, sizeof(hash));
	out->attested_at_us = now_us;
out:
	if (rc != AX_OK)
		memset(out, 0, sizeof(*out));
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
ax_attest_verify(enum ax_attest_reason *reason, const struct ax_attest_key *key,
    const struct ax_attestation *att, const uint8_t expected_intent[AX_HASH_LEN],
    int64_t event_time_us, const struct ax_attest_policy *policy, struct ax_err *err)
{
	uint8_t msg[MSG_MAX];
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t mlen, kl;
	int rc = AX_OK;

	*reason = AX_ATT_OK;
	ax_err_clear(err);
	if (event_time_us < 0 || event_time_us > TIME_MAX_US || policy->max_age_us < 0 ||
	    policy->max_age_us > WINDOW_MAX_US || policy->skew_us < 0 ||
	    policy->skew_us > WINDOW_MAX_US)
		return ax_err_set(err, AX_EINVAL,
		    "invalid attestation check: event time or policy window out of range");
	kl = strnlen(att->key_id, sizeof(att->key_id));
	if (kl == 0 || kl > AX_ATTEST_KEY_ID_MAX || strcmp(att->key_id, key->key_id) != 0) {
		rc = refuse(reason, AX_ATT_UNKNOWN_KEY, err,
		    "The attestation names attestor key %.64s, not the registered %s.",
		    kl <= AX_ATTEST_KEY_ID_MAX ? att->key_id : "(unterminated)", key->key_id);
		goto out;
	}
	if (key->revoked) {
		rc = refuse(
		    reason, AX_ATT_KEY_REVOKED, err, "Attestor key %s was revoked.", key->key_id);
		goto out;
	}
	mlen = attest_message(msg, att->key_id, att->intent_hash, att->attested_at_us);
	if ((pk = EVP_PKEY_new_raw_public_key(
	         EVP_PKEY_ED25519, NULL, key->public_key, AX_ATTEST_PUB_LEN)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1) {
		rc = ax_err_set(err, AX_ERR, "could not load attestor key %s", key->key_id);
		goto out;
	}
	if (EVP_DigestVerify(ctx, att->sig, AX_ATTEST_SIG_LEN, msg, mlen) != 1) {
		rc = refuse(reason, AX_ATT_BAD_SIGNATURE, err,
		    "The attestation signature does not verify with attestor key %s.", key->key_id);
		goto out;
	}
	if (CRYPTO_memcmp(att->intent_hash, expected_intent, AX_HASH_LEN) != 0) {
		rc = refuse(reason, AX_ATT_WRONG_INTENT, err,
		    "The attestation is for another signing intent (record, version, meaning or "
		    "nonce).");
		goto out;
	}
	if (att->attested_at_us < 0) {
		rc = refuse(reason, AX_ATT_STALE, err, "The attestation time is before 1970.");
		goto out;
	}
	/* Both times are within 0 .. TIME_MAX_US here: the differences cannot overflow. */
	if (att->attested_at_us > TIME_MAX_US ||
	    att->attested_at_us - event_time_us > policy->skew_us) {
		rc = refuse(reason, AX_ATT_IN_FUTURE, err,
		    "The password was attested %lld ms after the event time.",
		    (long long)((att->attested_at_us - event_time_us) / 1000));
		goto out;
	}
	if (event_time_us - att->attested_at_us > policy->max_age_us) {
		rc = refuse(reason, AX_ATT_STALE, err,
		    "The password was attested %lld s before the event time; at most %lld s are "
		    "accepted.",
		    (long long)((event_time_us - att->attested_at_us) / 1000000),
		    (long long)(policy->max_age_us / 1000000));
		goto out;
	}
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rc;
}
