/*
 * ax_intent.h - the signing intent: what an e-signature is over (design section 8).
 *
 * An intent names the signer, the record (lineage id, version, record hash), the meaning of
 * the signature (21 CFR 11.50(a)(3)) and a random nonce. Its canonical encoding v1
 * (docs/signing-intent.md) uses the field encoding of the record hash (docs/canonical-
 * encoding.md section 1: a 1-byte type tag, a 4-byte big-endian length, the bytes) in a fixed
 * order after the domain-separation tag "axiom/intent/v1". The intent hash SHA-256(encoding)
 * is the WebAuthn challenge, the OIDC nonce (base64url) and the subject of a password
 * attestation, so a signature cannot be moved to another record, version or meaning (11.70).
 *
 * Invariants: (1) a struct ax_intent that ax_intent_set or ax_intent_decode returned AX_OK
 * for holds only valid fields: a signer of 1..AX_INTENT_TEXT_MAX bytes of UTF-8 without NUL,
 * a lineage UUID, version >= 1, a known meaning, a nonce of AX_INTENT_NONCE_MIN..
 * AX_INTENT_NONCE_MAX bytes; (2) encode(decode(b)) == b for every accepted b, and decode
 * rejects any other type tag, length or trailing byte, so one intent has exactly one
 * encoding; (3) a nonce is accepted once: the applier asks ax_intent_check_nonce against the
 * set of consumed nonces (in memory for tests, in the database for the applier) and never
 * deduplicates by signature bytes (ECDSA signatures are malleable). Pure: no I/O and no
 * globals, except ax_intent_new_nonce which reads the CSPRNG.
 */
#ifndef AX_INTENT_H
#define AX_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_canon.h" /* AX_HASH_LEN */
#include "ax_err.h"
#include "ax_uuid.h"

#define AX_INTENT_TEXT_MAX  255 /* bytes of a signer id, without the NUL */
#define AX_INTENT_NONCE_MIN 16
#define AX_INTENT_NONCE_MAX 32
#define AX_INTENT_TAG       "axiom/intent/v1"
/* Bytes of the largest encoding: seven fields of 1-byte type and 4-byte length, then the tag,
 * signer, lineage, version, record hash, meaning ("responsibility") and nonce. */
#define AX_INTENT_ENCODED_MAX                                                                      \
	(7 * 5 + 15 + AX_INTENT_TEXT_MAX + AX_UUID_LEN + 8 + AX_HASH_LEN + 14 + AX_INTENT_NONCE_MAX)

/* The meaning of a signature (11.50(a)(3)); the values are stable. */
enum ax_meaning {
	AX_MEANING_AUTHORSHIP = 1,
	AX_MEANING_REVIEW = 2,
	AX_MEANING_APPROVAL = 3,
	AX_MEANING_RESPONSIBILITY = 4
};

struct ax_intent {
	char signer[AX_INTENT_TEXT_MAX + 1]; /* user id of the person who signs */
	uint8_t lineage_id[AX_UUID_LEN];     /* record lineage id, UUID in network order */
	int64_t version;                     /* record version, >= 1 */
	uint8_t record_hash[AX_HASH_LEN];    /* record_hash of that version */
	enum ax_meaning meaning;
	uint8_t nonce[AX_INTENT_NONCE_MAX];
	size_t nonce_len;
};

/* The stable lower-case name of meaning ("approval"), or NULL if it is not a meaning. */
const char *ax_meaning_name(enum ax_meaning meaning);

/* Parse the name of a meaning into *out; AX_EINVAL for any other text. */
int ax_meaning_parse(enum ax_meaning *out, const char *name, struct ax_err *err);

/* Fill nonce[0..len) from the CSPRNG; AX_EINVAL if len is outside the nonce bounds. */
int ax_intent_new_nonce(uint8_t *nonce, size_t len, struct ax_err *err);

/* Validate the fields and copy them into *out; AX_EINVAL names the first bad field. */
int ax_intent_set(struct ax_intent *out, const char *signer, const uint8_t lineage_id[AX_UUID_LEN],
    int64_t version, const uint8_t record_hash[AX_HASH_LEN], enum ax_meaning meaning,
    const uint8_t *nonce, size_t nonce_len, struct ax_err *err);

/* Write the canonical v1 encoding of in into buf (cap bytes) and its length into *len. */
int ax_intent_encode(
    uint8_t *buf, size_t cap, size_t *len, const struct ax_intent *in, struct ax_err *err);

/* Parse a canonical v1 encoding into *out; AX_EINVAL on any deviation or trailing byte. */
int ax_intent_decode(struct ax_intent *out, const uint8_t *buf, size_t len, struct ax_err *err);

/* Compute the intent hash SHA-256(canonical encoding of in) into out. */
int ax_intent_hash(uint8_t out[AX_HASH_LEN], const struct ax_intent *in, struct ax_err *err);

/*
 * Consumed nonces. The applier decides "accepted once" with ax_intent_check_nonce over a
 * lookup it provides: an ax_nonce_seen_fn answers whether nonce[0..len) was consumed before.
 * The database adapter implements it later; struct ax_nonce_set is a bounded in-memory set
 * (tests, offline verification of one batch). @locality: a set is used by one thread.
 */
typedef int (*ax_nonce_seen_fn)(
    void *ctx, const uint8_t *nonce, size_t len, bool *seen, struct ax_err *err);

/* AX_OK if the nonce of in was never consumed, AX_ECONFLICT ("intent_nonce_replayed") if it
 * was, or the lookup's own error. */
int ax_intent_check_nonce(
    const struct ax_intent *in, ax_nonce_seen_fn seen, void *ctx, struct ax_err *err);

struct ax_nonce_set;

/* Create an empty set that holds at most cap nonces. */
int ax_nonce_set_new(struct ax_nonce_set **out, size_t cap, struct ax_err *err);

/* Release set; NULL is a no-op. */
void ax_nonce_set_free(struct ax_nonce_set *set);

/* The ax_nonce_seen_fn of an in-memory set (ctx is the struct ax_nonce_set). */
int ax_nonce_set_seen(void *ctx, const uint8_t *nonce, size_t len, bool *seen, struct ax_err *err);

/* Record nonce as consumed; AX_ECONFLICT if it already was, AX_EINVAL if the set is full. */
int ax_nonce_set_add(
    struct ax_nonce_set *set, const uint8_t *nonce, size_t len, struct ax_err *err);

#endif
