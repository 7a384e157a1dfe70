/*
 * ax_softauth.h - a software WebAuthn authenticator: a P-256 key that produces genuine
 * assertion structures (authenticatorData, clientDataJSON, DER ECDSA signature), byte for
 * byte what a browser and a FIDO2 authenticator return, for tests, the demo and `axiom sign`.
 *
 * Invariants: (1) every assertion is signed over authenticatorData || SHA-256(clientDataJSON)
 * with ECDSA P-256 / SHA-256 (COSE ES256) and a DER ECDSA-Sig-Value; (2) the signature
 * counter grows by one before each assertion, so a sequence of assertions never regresses;
 * (3) the credential id is SHA-256 of the COSE public key, so it is stable across save/load.
 * No I/O: keys are saved to and loaded from memory (the caller writes the file, mode 0600).
 * @locality: one thread per authenticator (the counter changes).
 */
#ifndef AX_SOFTAUTH_H
#define AX_SOFTAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "ax_cose.h"
#include "ax_err.h"

#define AX_SOFTAUTH_CRED_ID_LEN 32
#define AX_SOFTAUTH_CDJ_MAX     1024
#define AX_SOFTAUTH_SIG_MAX     80
#define AX_SOFTAUTH_PEM_MAX     1024

struct ax_softauth;

struct ax_softauth_assertion {
	uint8_t cred_id[AX_SOFTAUTH_CRED_ID_LEN];
	uint8_t auth_data[37];
	uint8_t client_data_json[AX_SOFTAUTH_CDJ_MAX];
	size_t client_data_json_len;
	uint8_t sig[AX_SOFTAUTH_SIG_MAX];
	size_t sig_len;
};

/* Create an authenticator with a fresh P-256 key and a zero counter. */
int ax_softauth_new(struct ax_softauth **out, struct ax_err *err);

/* Create an authenticator from a PKCS#8 PEM P-256 private key and a starting counter. */
int ax_softauth_from_pem(
    struct ax_softauth **out, const char *pem, size_t len, uint32_t sign_count, struct ax_err *err);

/* Write the private key as unencrypted PKCS#8 PEM into buf (cap bytes, NUL-terminated);
 * the caller wipes buf with OPENSSL_cleanse when done. */
int ax_softauth_to_pem(
    const struct ax_softauth *sa, char *buf, size_t cap, size_t *len, struct ax_err *err);

/* Release sa, wiping the key; NULL is a no-op. */
void ax_softauth_free(struct ax_softauth *sa);

/* Copy the COSE_Key of the public key (what registration stores) into out. */
void ax_softauth_cose_key(const struct ax_softauth *sa, uint8_t out[AX_COSE_ES256_KEY_LEN]);

/* Copy the credential id into out. */
void ax_softauth_cred_id(const struct ax_softauth *sa, uint8_t out[AX_SOFTAUTH_CRED_ID_LEN]);

/* The current signature counter. */
uint32_t ax_softauth_sign_count(const struct ax_softauth *sa);

/* Produce an assertion for challenge (challenge_len bytes) at rp_id and origin with
 * authenticatorData flags (AX_WA_FLAG_UP | AX_WA_FLAG_UV for a normal gesture). */
int ax_softauth_get_assertion(struct ax_softauth *sa, struct ax_softauth_assertion *out,
    const char *rp_id, const char *origin, const uint8_t *challenge, size_t challenge_len,
    uint8_t flags, struct ax_err *err);

/* Sign auth_data || SHA-256(client_data_json) into sig (cap bytes, DER) as an authenticator
 * does; lets tests re-sign structures they altered. */
int ax_softauth_sign(const struct ax_softauth *sa, uint8_t *sig, size_t cap, size_t *sig_len,
    const uint8_t *auth_data, size_t auth_data_len, const uint8_t *client_data_json,
    size_t client_data_json_len, struct ax_err *err);

#endif
