/*
 * ax_attest.h - the password factor: a signing gateway verifies the account password against
 * a memory-hard verifier and, on a match, signs an attestation over the signing intent with
 * its own Ed25519 key; the applier verifies that attestation (design section 8).
 *
 * The password, anything derived from it, and the verifier stay in the gateway: the
 * attestation holds only (attestor key id, intent hash, attested-at time, signature), so
 * nothing an offline dictionary attack could use ever enters Kafka.
 *
 * Verifiers: scrypt N=2^17, r=8, p=1, or PBKDF2-HMAC-SHA256 with 600,000 iterations (OWASP
 * Password Storage Cheat Sheet; OpenSSL 3.0 has no Argon2), 16-byte random salt, 32-byte
 * output, compared in constant time. Stored parameters below those floors, or above hard caps
 * (scrypt N 2^20, r 32, p 16; PBKDF2 10^7), are refused rather than computed.
 *
 * Signed message v1, in the field encoding of docs/canonical-encoding.md section 1 (type tag,
 * 4-byte big-endian length, bytes): text "axiom/attest/v1" | text attestor key id | bytes
 * intent hash (32) | timestamp attested-at (int64 microseconds since the epoch). Ed25519
 * (pure, RFC 8032) over it.
 *
 * Invariants: (1) ax_attest_password fills the attestation only when the password matches
 * the verifier and the intent's signer is the verifier's user; otherwise the output is
 * zeroed; (2) every derived key and password copy is wiped with OPENSSL_cleanse; (3) every
 * refusal returns AX_EINVAL with *reason set and err->msg "password attestation refused:
 * <reason name>". @locality: any thread; an attestor is immutable after creation.
 */
#ifndef AX_ATTEST_H
#define AX_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"
#include "ax_intent.h"

#define AX_ATTEST_TAG        "axiom/attest/v1"
#define AX_ATTEST_KEY_ID_MAX 64
#define AX_ATTEST_SIG_LEN    64
#define AX_ATTEST_PUB_LEN    32
#define AX_ATTEST_PEM_MAX    512
#define AX_PW_MAX            1024 /* bytes of a password */
#define AX_PW_SALT_LEN       16
#define AX_PW_HASH_LEN       32
#define AX_PW_SCRYPT_LOG2_N  17
#define AX_PW_SCRYPT_R       8
#define AX_PW_SCRYPT_P       1
#define AX_PW_PBKDF2_ITER    600000

enum ax_pw_kdf { AX_PW_SCRYPT = 1, AX_PW_PBKDF2_SHA256 = 2 };

struct ax_pw_verifier {
	enum ax_pw_kdf kdf;
	uint32_t log2_n, r, p; /* scrypt */
	uint32_t iterations;   /* PBKDF2 */
	uint8_t salt[AX_PW_SALT_LEN];
	uint8_t hash[AX_PW_HASH_LEN];
};

enum ax_attest_reason {
	AX_ATT_OK = 0,
	AX_ATT_WRONG_PASSWORD, /* attest_wrong_password */
	AX_ATT_WRONG_SIGNER,   /* attest_wrong_signer */
	AX_ATT_UNKNOWN_KEY,    /* attest_unknown_key */
	AX_ATT_KEY_REVOKED,    /* attest_key_revoked */
	AX_ATT_BAD_SIGNATURE,  /* attest_bad_signature */
	AX_ATT_WRONG_INTENT,   /* attest_wrong_intent */
	AX_ATT_STALE,          /* attest_stale */
	AX_ATT_IN_FUTURE,      /* attest_in_future */
	AX_ATT_REASON_COUNT
};

struct ax_attestation {
	char key_id[AX_ATTEST_KEY_ID_MAX + 1];
	uint8_t intent_hash[AX_HASH_LEN];
	int64_t attested_at_us;
	uint8_t sig[AX_ATTEST_SIG_LEN];
};

/* A registered attestor key, as the control plane holds it. */
struct ax_attest_key {
	const char *key_id;
	uint8_t public_key[AX_ATTEST_PUB_LEN]; /* raw Ed25519 */
	bool revoked;
};

struct ax_attest_policy {
	int64_t max_age_us; /* attested-at no older than this before the event time */
	int64_t skew_us;    /* attested-at no later than this after the event time */
};

/* The gateway's signing key. */
struct ax_attestor;

/* The stable name of reason ("attest_wrong_intent"); "attest_unknown_reason" if none. */
const char *ax_attest_reason_name(enum ax_attest_reason reason);

/* Make a verifier for password pw (pw_len bytes) with kdf at the OWASP parameters and a
 * fresh random salt. */
int ax_pw_verifier_make(struct ax_pw_verifier *out, enum ax_pw_kdf kdf, const uint8_t *pw,
    size_t pw_len, struct ax_err *err);

/* Set *match to whether pw matches v (constant-time comparison); AX_EINVAL if v's parameters
 * are outside the floors and caps. */
int ax_pw_verifier_check(const struct ax_pw_verifier *v, const uint8_t *pw, size_t pw_len,
    bool *match, struct ax_err *err);

/* Create an attestor with a fresh Ed25519 key named key_id (1..64 printable ASCII bytes). */
int ax_attestor_new(struct ax_attestor **out, const char *key_id, struct ax_err *err);

/* Create an attestor named key_id from an unencrypted PKCS#8 PEM Ed25519 private key. */
int ax_attestor_from_pem(
    struct ax_attestor **out, const char *key_id, const char *pem, size_t len, struct ax_err *err);

/* Write the attestor's private key as PKCS#8 PEM into buf (cap bytes, NUL-terminated); the
 * caller wipes buf with OPENSSL_cleanse. */
int ax_attestor_to_pem(
    const struct ax_attestor *a, char *buf, size_t cap, size_t *len, struct ax_err *err);

/* Release a, wiping the key; NULL is a no-op. */
void ax_attestor_free(struct ax_attestor *a);

/* Copy the raw Ed25519 public key (what the control plane registers) into out. */
void ax_attestor_public_key(const struct ax_attestor *a, uint8_t out[AX_ATTEST_PUB_LEN]);

/* Gateway: if pw matches v, the verifier of user, and intent->signer is user, sign an
 * attestation over the intent hash at now_us into *out; AX_EINVAL with *reason otherwise. */
int ax_attest_password(struct ax_attestation *out, enum ax_attest_reason *reason,
    const struct ax_attestor *a, const char *user, const struct ax_pw_verifier *v,
    const uint8_t *pw, size_t pw_len, const struct ax_intent *intent, int64_t now_us,
    struct ax_err *err);

/* Applier: verify att with the registered key for the expected intent hash at event_time_us;
 * AX_OK if accepted, AX_EINVAL with *reason if refused. */
int ax_attest_verify(enum ax_attest_reason *reason, const struct ax_attest_key *key,
    const struct ax_attestation *att, const uint8_t expected_intent[AX_HASH_LEN],
    int64_t event_time_us, const struct ax_attest_policy *policy, struct ax_err *err);

#endif
