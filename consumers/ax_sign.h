/*
 * ax_sign.h - the applier's side of an e-signature (docs/esignatures.md): a Sign
 * command becomes a sign_record element whose factor proofs were verified here, in C, at the
 * command's event time, against the factor registry of db/0009_esign.sql.
 *
 * State machine of one Sign element (each transition named by the function that makes it):
 *   ax_sign_element       decoded command -> element with the command's fields and the raw
 *                         proofs in private "_sg_*" keys;
 *   ax_sign_complete_batch  one lookup round trip for every Sign element of a batch
 *                         (axiom_api.signing_context), then ax_sign_verify per element, then
 *                         the element's final keys: factor_ids, factor_types (verified),
 *                         user_verified, sign_count, refusal (+ detail), intent_hash, proofs.
 *
 * Invariants:
 *  (1) the intent is rebuilt from the log only: signer = the command's actor (a delegate
 *      signs as themselves, never as the delegator), lineage = the message key, version,
 *      record hash, meaning and nonce of the command; never from anything the client claims
 *      about the intent;
 *  (2) every verification uses the command's event time (broker LogAppendTime), never the
 *      wall clock, and a registry context read when the control watermark was >= that event
 *      time: a Sign element beyond the watermark the lookup saw is cut from the batch (the
 *      partition waits), so a replay reads the same registry and makes the same decision;
 *  (3) the database gets the first refusal with its stable reason (webauthn_wrong_challenge,
 *      oidc_expired, attest_stale, factor_unknown, ...) and stores it as the outcome's reason
 *      code; decisions that depend on earlier outcomes (nonce once, session, signature
 *      counter) are taken by the database in log order, never here.
 * A writer keeps a struct ax_sign_cache (its parsed WebAuthn keys, by their exact registered
 * bytes, and its verifier for the last origin) across batches; it changes no decision: a
 * verification with the cache decides exactly as one without it (test_sign_cache).
 * @locality: a writer thread; no globals; a cache belongs to one thread.
 */
#ifndef AX_SIGN_H
#define AX_SIGN_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_codec.h"
#include "ax_err.h"
#include "ax_intent.h"

#define AX_SIGN_DEFAULT_ORIGIN    "https://axiom.local" /* a FIDO2 factor without an origin */
#define AX_SIGN_SESSION_US        (15LL * 60 * 1000000) /* documented; enforced in db/0009 */
#define AX_SIGN_OIDC_SKEW_US      (60LL * 1000000)
#define AX_SIGN_OIDC_AUTH_AGE_US  (5LL * 60 * 1000000)  /* auth_time at most 5 min old */
#define AX_SIGN_OIDC_TOKEN_AGE_US (10LL * 60 * 1000000) /* iat at most 10 min old */
#define AX_SIGN_ATTEST_AGE_US     (5LL * 60 * 1000000)
#define AX_SIGN_ATTEST_SKEW_US    (60LL * 1000000)
#define AX_SIGN_ATTEST_PROOF_LEN  (8 + 64) /* be64 attested-at (us) || Ed25519 signature */
#define AX_SIGN_KEY_CACHE_CAP     256      /* parsed FIDO2 keys kept per writer */

/* Factor type bits of a decision. */
#define AX_SIGN_FIDO2    0x1u
#define AX_SIGN_OIDC     0x2u
#define AX_SIGN_PASSWORD 0x4u

/* The registry as it stood at the command's event time (axiom_api.signing_context). */
struct ax_sign_context {
	int64_t watermark_us; /* control watermark the lookup saw; INT64_MIN for none */
	bool factor_found;
	char factor_type[16]; /* "fido2", "password", "oidc" */
	char owner[AX_INTENT_TEXT_MAX + 1];
	uint8_t *credential_id, *public_key; /* owned, freed by ax_sign_context_clear */
	size_t credential_id_len, public_key_len;
	int cose_alg;
	char origin[256]; /* FIDO2: the relying-party origin; "" for the default */
	bool factor_revoked;
	bool issuer_found;
	uint8_t issuer_factor_id[AX_UUID_LEN];
	char *issuer_audience, *issuer_jwks; /* owned */
	bool issuer_revoked;
};

/* The proofs and intent fields of one Sign command (borrowed). */
struct ax_sign_input {
	const char *actor;
	uint8_t lineage_id[AX_UUID_LEN];
	int64_t version;
	const uint8_t *record_hash;
	size_t record_hash_len;
	int meaning; /* enum ax_cmd_meaning */
	const uint8_t *nonce;
	size_t nonce_len;
	uint8_t factor_id[AX_UUID_LEN];
	const uint8_t *client_data, *auth_data, *signature;
	size_t client_data_len, auth_data_len, signature_len;
	const char *id_token; /* "" when none */
	int64_t event_time_us;
};

/* What the applier verified, for sign_record. */
struct ax_sign_decision {
	unsigned verified; /* AX_SIGN_* bits */
	bool user_verified;
	bool has_sign_count;
	uint32_t sign_count;
	uint8_t intent_hash[AX_HASH_LEN];
	bool has_intent_hash;
	uint8_t factor_ids[2][AX_UUID_LEN];
	size_t n_factor_ids;
	char refusal[64]; /* "" when no proof was refused */
	char detail[256];
};

/* What a writer keeps between verifications (see above). */
struct ax_sign_cache;

/* Create a cache of at most key_capacity parsed keys. */
int ax_sign_cache_new(struct ax_sign_cache **out, size_t key_capacity, struct ax_err *err);

/* Release c; NULL is a no-op. */
void ax_sign_cache_free(struct ax_sign_cache *c);

/* Release what ctx owns and zero it; safe on a zeroed context. */
void ax_sign_context_clear(struct ax_sign_context *ctx);

/* Write into iss (cap bytes) the unverified "iss" claim of token, for the registry lookup
 * only; "" when the token is malformed (the verifier then refuses it precisely). */
void ax_sign_token_issuer(char *iss, size_t cap, const char *token);

/* Decide on the proofs of in against ctx: *d says which factor types verified and, if a
 * proof was refused, the first refusal. AX_OK in both cases; AX_ERR only on an internal
 * failure. Pure: no I/O, no clock. */
int ax_sign_verify(struct ax_sign_decision *d, const struct ax_sign_input *in,
    const struct ax_sign_context *ctx, struct ax_err *err);

/* ax_sign_verify with the keys and verifier of cache (NULL: parse everything again, as
 * ax_sign_verify does); the same decision either way. */
int ax_sign_verify_cached(struct ax_sign_decision *d, const struct ax_sign_input *in,
    const struct ax_sign_context *ctx, struct ax_sign_cache *cache, struct ax_err *err);

/* Fill element e (op sign_record) from the Sign command m at event time et_us. */
int ax_sign_element(json_t *e, const struct ax_message *m, int64_t et_us, struct ax_err *err);

/* Complete the Sign elements among els[0..n) (others untouched) with one lookup on conn;
 * *cut is the index of the first Sign element beyond the control watermark the lookup saw
 * (n when none), *cut_et_us the watermark it needs (its event time + 1 us). AX_EUNAVAIL when the
 * connection broke. */
int ax_sign_complete_batch(PGconn *conn, json_t *const *els, size_t n, size_t *cut,
    int64_t *cut_et_us, struct ax_err *err);

/* ax_sign_complete_batch verifying with cache (NULL: none), the writer's. */
int ax_sign_complete_batch_cached(PGconn *conn, struct ax_sign_cache *cache, json_t *const *els,
    size_t n, size_t *cut, int64_t *cut_et_us, struct ax_err *err);

#endif
