/*
 * ax_signer.h - the signer's side of an e-signature (issue 6, `axiom sign`): build the
 * signing intent for a record version and a meaning, obtain the WebAuthn assertion over its
 * hash, and write the Sign command as one JSON line of `axiom publish`.
 *
 * Invariants: (1) the intent's signer is the command's actor, so what is signed is exactly
 * what the applier rebuilds from the log (consumers/ax_sign.h invariant 1); (2) the
 * challenge is SHA-256 of the intent's canonical encoding (docs/signing-intent.md) and the
 * OIDC nonce, when a token is attached, must be its base64url text; (3) pure apart from the
 * CSPRNG (nonce, command id) and the authenticator's counter: no I/O.
 * @locality: one thread.
 */
#ifndef AX_SIGNER_H
#define AX_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"
#include "ax_intent.h"
#include "ax_softauth.h"

#define AX_SIGNER_LINE_MAX 32768

struct ax_signer_request {
	const char *actor;               /* the signer's user id */
	uint8_t lineage_id[AX_UUID_LEN]; /* the record */
	int64_t version;
	uint8_t record_hash[AX_HASH_LEN];
	enum ax_meaning meaning;
	uint8_t nonce[AX_INTENT_NONCE_MAX]; /* nonce_len 0: a fresh one is drawn */
	size_t nonce_len;
	uint8_t factor_id[AX_UUID_LEN];
	const char *origin;   /* relying-party origin, e.g. "https://axiom.local" */
	bool user_verified;   /* UV in the assertion (the device checked a PIN or biometric) */
	const char *id_token; /* OIDC ID token or NULL */
	const char *comment;  /* or NULL */
	const char *reason;
	int64_t issued_at_us; /* client time, informational */
};

/* Compute the intent of req (drawing a nonce into req when it has none) and its hash. */
int ax_signer_intent(uint8_t hash[AX_HASH_LEN], struct ax_signer_request *req, struct ax_err *err);

/* The WebAuthn relying party id of origin, its host, into rp (cap bytes); AX_EINVAL unless
 * origin is https://host[:port]. */
int ax_signer_rp_id(char *rp, size_t cap, const char *origin, struct ax_err *err);

/* Sign req's intent with the software authenticator sa and write the Sign command as one
 * JSON line (NUL-terminated, no newline) into line (cap bytes). */
int ax_signer_softauth_line(char *line, size_t cap, struct ax_signer_request *req,
    struct ax_softauth *sa, struct ax_err *err);

/* Write the Sign command for req with the given WebAuthn structures (from any
 * authenticator) as one JSON line into line (cap bytes). */
int ax_signer_line(char *line, size_t cap, const struct ax_signer_request *req,
    const uint8_t *client_data, size_t client_data_len, const uint8_t *auth_data,
    size_t auth_data_len, const uint8_t *sig, size_t sig_len, struct ax_err *err);

#endif
