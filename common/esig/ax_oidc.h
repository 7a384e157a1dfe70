/*
 * ax_oidc.h - verification of an OpenID Connect ID token (compact JWS) presented as a
 * re-authentication factor for a signing intent (design section 8; OIDC Core 3.1.3.7).
 *
 * A verifier is built once per registered issuer from its configuration: issuer, audience
 * (our client_id) and JWKS. At verification the token is checked, in this order, stopping at
 * the first refusal, each with its own stable reason:
 *
 *   size cap -> three base64url segments (no padding) -> header: strict JSON object, alg not
 *   "none", alg RS256 or ES256, no "crit", kid names a registered key whose type (and JWK alg,
 *   when present) matches alg -> signature (ES256: raw R||S converted to DER) -> payload:
 *   strict JSON object -> iss -> aud (a string equal to the audience, or an array holding it;
 *   with several audiences azp must be present; azp, when present, must be the audience)
 *   -> sub == the subject registered for the signer -> exp -> nbf -> iat -> nonce ==
 *   base64url(intent hash) -> auth_time within the policy window of the event time.
 *
 * Times are those of the command: the broker's event time in microseconds since the epoch,
 * passed in, never the wall clock, so a replay of the log makes the same decision. Claims
 * are integer NumericDates (seconds); fractional or out-of-range values are refused.
 * Keys are never taken from the token (jku, jwk, x5u and x5c are ignored).
 *
 * Invariants: (1) AX_OK means every check passed; (2) every refusal returns AX_EINVAL with
 * result->reason set and err->msg "oidc token refused: <reason name>"; (3) a verifier is
 * immutable after creation: @locality any thread. Replay is decided by the intent nonce
 * (ax_intent_check_nonce), which the token's nonce binds.
 */
#ifndef AX_OIDC_H
#define AX_OIDC_H

#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"
#include "ax_intent.h"

#define AX_OIDC_TOKEN_MAX     16384 /* bytes of a compact token */
#define AX_OIDC_JWKS_MAX      65536 /* bytes of a registered JWKS document */
#define AX_OIDC_JWKS_KEYS_MAX 16
#define AX_OIDC_KID_MAX       128
#define AX_OIDC_TEXT_MAX      512 /* issuer, audience, subject */

enum ax_oidc_reason {
	AX_OIDC_OK = 0,
	AX_OIDC_TOKEN_MALFORMED,  /* oidc_token_malformed */
	AX_OIDC_ALG_NONE,         /* oidc_alg_none */
	AX_OIDC_ALG_UNSUPPORTED,  /* oidc_alg_unsupported */
	AX_OIDC_UNKNOWN_KEY,      /* oidc_unknown_key */
	AX_OIDC_ALG_KEY_MISMATCH, /* oidc_alg_key_mismatch */
	AX_OIDC_BAD_SIGNATURE,    /* oidc_bad_signature */
	AX_OIDC_MISSING_CLAIM,    /* oidc_missing_claim */
	AX_OIDC_WRONG_ISSUER,     /* oidc_wrong_issuer */
	AX_OIDC_WRONG_AUDIENCE,   /* oidc_wrong_audience */
	AX_OIDC_WRONG_SUBJECT,    /* oidc_wrong_subject */
	AX_OIDC_EXPIRED,          /* oidc_expired */
	AX_OIDC_NOT_YET_VALID,    /* oidc_not_yet_valid (nbf or iat after the event time) */
	AX_OIDC_TOKEN_TOO_OLD,    /* oidc_token_too_old (iat before the policy window) */
	AX_OIDC_WRONG_NONCE,      /* oidc_wrong_nonce */
	AX_OIDC_STALE_AUTH_TIME,  /* oidc_stale_auth_time */
	AX_OIDC_AUTH_TIME_FUTURE, /* oidc_auth_time_in_future */
	AX_OIDC_REASON_COUNT
};

struct ax_oidc_issuer_config {
	const char *issuer;   /* exact "iss", e.g. "https://idp.example" */
	const char *audience; /* our client_id */
	const char *jwks;     /* the issuer's JWKS document (JSON) */
	size_t jwks_len;
};

struct ax_oidc_policy {
	int64_t skew_us;          /* tolerated clock difference, e.g. 60 s */
	int64_t max_auth_age_us;  /* auth_time no older than this before the event time */
	int64_t max_token_age_us; /* iat no older than this before the event time */
};

struct ax_oidc_result {
	enum ax_oidc_reason reason;
	int64_t auth_time; /* seconds, when read */
	int64_t iat;       /* seconds, when read */
	int64_t exp;       /* seconds, when read */
};

struct ax_oidc_verifier;

/* The stable name of reason ("oidc_expired"); "oidc_unknown_reason" if none. */
const char *ax_oidc_reason_name(enum ax_oidc_reason reason);

/* Build a verifier from an issuer's configuration and policy; AX_EINVAL if the JWKS is not
 * strict JSON, holds a duplicate kid, an RSA key under 2048 bits, an EC key off P-256, etc.
 * Keys of other types (OKP, oct) or with "use" other than "sig" are skipped. */
int ax_oidc_verifier_new(struct ax_oidc_verifier **out, const struct ax_oidc_issuer_config *cfg,
    const struct ax_oidc_policy *policy, struct ax_err *err);

/* Release v; NULL is a no-op. */
void ax_oidc_verifier_free(struct ax_oidc_verifier *v);

/* The number of usable keys the verifier holds. */
size_t ax_oidc_verifier_key_count(const struct ax_oidc_verifier *v);

/* Verify token[0..len) for subject (the sub registered for the signer) against the intent
 * hash at event_time_us; AX_OK if accepted, AX_EINVAL with result->reason if refused (or
 * with reason AX_OIDC_OK if event_time_us itself is outside 0 .. year 9999). */
int ax_oidc_verify(struct ax_oidc_result *result, const struct ax_oidc_verifier *v,
    const char *token, size_t len, const char *subject, const uint8_t intent_hash[AX_HASH_LEN],
    int64_t event_time_us, struct ax_err *err);

#endif
