/*
 * ax_webauthn.h - verification of a WebAuthn assertion for a signing intent (design
 * section 8; W3C WebAuthn "verifying an authentication assertion").
 *
 * libfido2's fido_assert_verify checks only rpIdHash, the UP/UV flags it is asked for, the
 * extension set and the signature; it never parses clientDataJSON, ignores signCount and
 * accepts bytes after authenticatorData. This module does everything else, in this order,
 * and stops at the first refusal, each with its own stable reason:
 *
 *   input caps -> credential id -> owner == signer -> not revoked
 *   -> clientDataJSON: strict JSON object (duplicate keys, trailing bytes refused)
 *      -> type == "webauthn.get" -> challenge == base64url(intent hash) -> origin allowed
 *      -> crossOrigin absent or false, no topOrigin
 *   -> authenticatorData: exactly 37 bytes, AT and ED clear, BS only with BE
 *      -> rpIdHash == SHA-256(rpId) -> UP set -> UV set if the policy requires it
 *   -> signature over authenticatorData || SHA-256(clientDataJSON) with the registered key
 *      (what fido_assert_verify checks besides the flags, rpIdHash and extensions above;
 *      done with OpenSSL directly on the key parsed at registration)
 *   -> signCount: a counter that does not grow (unless both are 0) is refused last, as
 *      AX_WA_SIGN_COUNT_REGRESSED, after every other check passed, with the new count.
 *
 * Invariants: (1) AX_OK means every check above passed and result->sign_count is the value
 * to store for the credential; (2) every refusal returns AX_EINVAL with result->reason set and
 * err->msg "webauthn assertion refused: <reason name>" plus a factual detail; (3) verifiers
 * and keys are immutable after creation, so @locality: any thread, shared freely.
 * Replay is not decided here: the challenge binds the intent, and the intent nonce is consumed
 * once (ax_intent_check_nonce). Never deduplicate by signature bytes (high-S twins verify).
 */
#ifndef AX_WEBAUTHN_H
#define AX_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"
#include "ax_intent.h"

#define AX_WA_AUTH_DATA_LEN   37   /* rpIdHash(32) flags(1) signCount(4) */
#define AX_WA_AUTH_DATA_MAX   1024 /* cap on the input before any parsing */
#define AX_WA_CLIENT_DATA_MAX 4096
#define AX_WA_SIG_MAX         128
#define AX_WA_CRED_ID_MAX     1023 /* WebAuthn's own limit */
#define AX_WA_ORIGIN_MAX      512

#define AX_WA_FLAG_UP 0x01
#define AX_WA_FLAG_UV 0x04
#define AX_WA_FLAG_BE 0x08
#define AX_WA_FLAG_BS 0x10
#define AX_WA_FLAG_AT 0x40
#define AX_WA_FLAG_ED 0x80

/* Why an assertion was refused; the values and names are stable (stored with outcomes). */
enum ax_webauthn_reason {
	AX_WA_OK = 0,
	AX_WA_INPUT_TOO_LARGE,       /* webauthn_input_too_large */
	AX_WA_UNKNOWN_CREDENTIAL,    /* webauthn_unknown_credential */
	AX_WA_CREDENTIAL_NOT_OWNED,  /* webauthn_credential_not_owned */
	AX_WA_CREDENTIAL_REVOKED,    /* webauthn_credential_revoked */
	AX_WA_CLIENT_DATA_MALFORMED, /* webauthn_client_data_malformed */
	AX_WA_CLIENT_DATA_DUPLICATE, /* webauthn_client_data_duplicate_key */
	AX_WA_WRONG_TYPE,            /* webauthn_wrong_type */
	AX_WA_WRONG_CHALLENGE,       /* webauthn_wrong_challenge */
	AX_WA_WRONG_ORIGIN,          /* webauthn_wrong_origin */
	AX_WA_CROSS_ORIGIN,          /* webauthn_cross_origin */
	AX_WA_AUTH_DATA_MALFORMED,   /* webauthn_auth_data_malformed */
	AX_WA_AUTH_DATA_TRAILING,    /* webauthn_auth_data_trailing_bytes */
	AX_WA_UNEXPECTED_EXTENSIONS, /* webauthn_unexpected_extensions */
	AX_WA_WRONG_RP_ID,           /* webauthn_wrong_rp_id */
	AX_WA_USER_NOT_PRESENT,      /* webauthn_user_not_present */
	AX_WA_USER_NOT_VERIFIED,     /* webauthn_user_not_verified */
	AX_WA_BAD_SIGNATURE,         /* webauthn_bad_signature */
	AX_WA_VERIFY_FAILED,         /* webauthn_verify_failed (libfido2's other refusals; no
	                              * longer produced, the name stays reserved) */
	AX_WA_SIGN_COUNT_REGRESSED,  /* webauthn_sign_count_regressed */
	AX_WA_REASON_COUNT
};

/* Public-key encodings a credential can be registered with. */
enum ax_pk_format {
	AX_PK_COSE = 1, /* COSE_Key (WebAuthn credentialPublicKey) */
	AX_PK_RAW,      /* ES256: 64-byte x||y or 65-byte 04||x||y; EdDSA: 32 bytes */
	AX_PK_DER,      /* SubjectPublicKeyInfo */
	AX_PK_PEM       /* "-----BEGIN PUBLIC KEY-----" */
};

/* A registered public key, parsed once, bound to its COSE algorithm. */
struct ax_webauthn_key;

struct ax_webauthn_cred {
	const uint8_t *id; /* credential id as registered */
	size_t id_len;
	const struct ax_webauthn_key *key; /* borrowed */
	const char *owner;                 /* user id of the owner */
	bool revoked;
	uint32_t sign_count; /* last accepted counter; 0 when none was seen */
};

struct ax_webauthn_policy {
	const char *rp_id;          /* e.g. "axiom.example" */
	const char *const *origins; /* allow-list, exact match, e.g. "https://axiom.example" */
	size_t n_origins;
	bool require_uv; /* UV needed (two components in one gesture, 11.200) */
};

struct ax_webauthn_assertion {
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *auth_data; /* raw authenticatorData as the browser returns it */
	size_t auth_data_len;
	const uint8_t *client_data_json;
	size_t client_data_json_len;
	const uint8_t *sig; /* ES256: DER ECDSA-Sig-Value; EdDSA: 64 bytes */
	size_t sig_len;
};

struct ax_webauthn_result {
	enum ax_webauthn_reason reason;
	uint8_t flags;       /* authenticatorData flags, when they were read */
	uint32_t sign_count; /* counter in the assertion, when it was read */
};

struct ax_webauthn_verifier;

/* The stable name of reason ("webauthn_wrong_challenge"); "webauthn_unknown_reason" if none. */
const char *ax_webauthn_reason_name(enum ax_webauthn_reason reason);

/* Parse a registered public key of COSE algorithm cose_alg (AX_COSE_ALG_ES256 or
 * AX_COSE_ALG_EDDSA) in format fmt; AX_EINVAL if it is malformed, off the curve, or of
 * another type than cose_alg. */
int ax_webauthn_key_new(struct ax_webauthn_key **out, int cose_alg, enum ax_pk_format fmt,
    const uint8_t *bytes, size_t len, struct ax_err *err);

/* Release key; NULL is a no-op. */
void ax_webauthn_key_free(struct ax_webauthn_key *key);

/* The COSE algorithm key was registered with. */
int ax_webauthn_key_alg(const struct ax_webauthn_key *key);

/*
 * A bounded cache of parsed keys (ax_webauthn_cache.c), so that a verifier that sees the
 * same registered key again does not parse and check it again.
 * Invariants: (1) an entry is served only for the very bytes it was parsed from: the same
 * COSE algorithm, format, length and every byte (compared in full; the hash only filters),
 * so a credential id whose key changed gets its new key, never the old one; (2) it holds at
 * most capacity keys; a new key beyond that evicts the least recently used; (3) a key that
 * does not parse is not cached (each lookup refuses it again, with the same error).
 * @locality: the thread that owns the cache (the applier: one per writer thread); no lock.
 */
struct ax_webauthn_key_cache;

struct ax_webauthn_key_cache_stats {
	size_t entries, capacity;
	unsigned long long hits, misses, evictions;
};

/* Create an empty cache for at most capacity (1 to 65536) keys. */
int ax_webauthn_key_cache_new(
    struct ax_webauthn_key_cache **out, size_t capacity, struct ax_err *err);

/* Release c and every key in it; NULL is a no-op. */
void ax_webauthn_key_cache_free(struct ax_webauthn_key_cache *c);

/* The key of (cose_alg, fmt, bytes) as ax_webauthn_key_new parses it, from c or parsed and
 * added to c. *out is borrowed from c: valid until the next call on c or its release. Errors
 * are those of ax_webauthn_key_new. */
int ax_webauthn_key_cache_get(const struct ax_webauthn_key **out, struct ax_webauthn_key_cache *c,
    int cose_alg, enum ax_pk_format fmt, const uint8_t *bytes, size_t len, struct ax_err *err);

/* The counters of c. */
void ax_webauthn_key_cache_stats(
    struct ax_webauthn_key_cache_stats *out, const struct ax_webauthn_key_cache *c);

/* Create a verifier for policy (copied: rpId, its hash and the origin allow-list). */
int ax_webauthn_verifier_new(
    struct ax_webauthn_verifier **out, const struct ax_webauthn_policy *policy, struct ax_err *err);

/* Release v; NULL is a no-op. */
void ax_webauthn_verifier_free(struct ax_webauthn_verifier *v);

/* Verify assertion a by credential cred for signer against the expected challenge (the
 * intent hash); AX_OK if accepted, AX_EINVAL with result->reason if refused, AX_ERR on an
 * internal failure. */
int ax_webauthn_verify(struct ax_webauthn_result *result, const struct ax_webauthn_verifier *v,
    const struct ax_webauthn_cred *cred, const char *signer, const struct ax_webauthn_assertion *a,
    const uint8_t challenge[AX_HASH_LEN], struct ax_err *err);

#endif
