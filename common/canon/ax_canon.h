/*
 * ax_canon.h - canonical encoding v1 of a record version and its SHA-256 (record_hash).
 *
 * The byte format is specified in docs/canonical-encoding.md and implemented twice: here and
 * in SQL (db/0003_canonical_encoding.sql); tests/data/canon-record-v1.txt holds the shared
 * test vectors. Invariants:
 *  (1) one value has exactly one encoding: fixed field order, a 1-byte type tag per field,
 *      a 4-byte big-endian length and the bytes for a non-NULL value, the tag 0x00 alone for
 *      NULL; integers and timestamps are 8-byte big-endian two's complement (timestamps in
 *      microseconds since 1970-01-01 00:00:00 UTC); text is UTF-8 without NUL;
 *  (2) text that is not valid UTF-8, and any field longer than AX_CANON_MAX_FIELD, are
 *      refused (AX_EINVAL) rather than encoded, because the database could not store them;
 *  (3) the module is pure: no I/O, no globals. The digest lives in a caller-owned
 *      struct ax_sha256 that fetches SHA-256 once (EVP_MD_fetch) and is reused per call.
 */
#ifndef AX_CANON_H
#define AX_CANON_H

#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"
#include "ax_uuid.h"

#define AX_HASH_LEN         32 /* SHA-256: record, entry and intent hashes */
#define AX_CANON_RECORD_TAG "axiom/record/v1"
#define AX_CANON_MAX_FIELD  (64u * 1024u * 1024u) /* = the database's content limit */

enum ax_canon_type {
	AX_CANON_NULL = 0x00,
	AX_CANON_TEXT = 0x01,
	AX_CANON_BYTES = 0x02,
	AX_CANON_INT64 = 0x03,
	AX_CANON_TIMESTAMP = 0x04,
	AX_CANON_UUID = 0x05
};

/* One record version, the columns that record_hash covers. Strings are borrowed. */
struct ax_canon_record {
	uint8_t record_id[AX_UUID_LEN];
	uint8_t id[AX_UUID_LEN];
	int64_t version;
	int has_previous; /* 0 for version 1: previous_record_id and _hash are NULL */
	uint8_t previous_record_id[AX_UUID_LEN];
	uint8_t previous_record_hash[AX_HASH_LEN];
	const char *record_type;
	const char *facility_id;
	const char *domain_id;
	const char *title;
	const uint8_t *content;
	size_t content_len;
	const char *created_by;
	int64_t created_at_us; /* event time, microseconds since the Unix epoch */
	int has_change_id;     /* 0: change_id is NULL */
	uint8_t change_id[AX_UUID_LEN];
};

/* A reusable SHA-256 context (the digest fetched once). */
struct ax_sha256;

/* Create a SHA-256 context in *out (free with ax_sha256_free). */
int ax_sha256_new(struct ax_sha256 **out, struct ax_err *err);

/* Free h; NULL is a no-op. */
void ax_sha256_free(struct ax_sha256 *h);

/* Write SHA-256(buf[0..len)) to out. */
int ax_sha256_digest(struct ax_sha256 *h, uint8_t out[AX_HASH_LEN], const uint8_t *buf, size_t len,
    struct ax_err *err);

/* Whether s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or > U+10FFFF). */
int ax_utf8_valid(const uint8_t *s, size_t len);

/*
 * Encode r into a new buffer *out of *out_len bytes (caller frees with free()); AX_EINVAL
 * when a text field is NULL, not UTF-8 or a field is longer than AX_CANON_MAX_FIELD.
 */
int ax_canon_record_encode(
    uint8_t **out, size_t *out_len, const struct ax_canon_record *r, struct ax_err *err);

/* record_hash of r: SHA-256 of its canonical encoding v1. */
int ax_canon_record_hash(uint8_t out[AX_HASH_LEN], struct ax_sha256 *h,
    const struct ax_canon_record *r, struct ax_err *err);

/*
 * Ledger entry v1 (docs/canonical-encoding.md section 4), the twin of axiom.canon_ledger_v1:
 * entry_hash = SHA-256 of the tag "axiom/ledger/v1", topic, partition (int64), seq, offset,
 * command_id, actor, event_time, decision, reason_code, record_hash, previous_entry_hash.
 * tests/data/canon-ledger-v1.txt holds the shared test vectors. Same field rules as a record.
 */
#define AX_CANON_LEDGER_TAG "axiom/ledger/v1"

/* One ledger entry, the columns that entry_hash covers. Strings and bytes are borrowed. */
struct ax_canon_ledger {
	const char *topic; /* required */
	int32_t partition; /* encoded as int64, as the SQL twin does */
	int64_t seq;
	int64_t offset;
	int has_command_id; /* 0: command_id is NULL */
	uint8_t command_id[AX_UUID_LEN];
	const char *actor; /* NULL encodes SQL NULL (undecodable input has no actor) */
	int64_t event_time_us;
	const char *decision;                     /* required */
	const char *reason_code;                  /* NULL encodes SQL NULL */
	const uint8_t *record_hash;               /* NULL encodes SQL NULL */
	size_t record_hash_len;                   /* any length; the ledger does not constrain it */
	uint8_t previous_entry_hash[AX_HASH_LEN]; /* 32 zero bytes for seq 1 */
};

/*
 * Encode e into a new buffer *out of *out_len bytes (caller frees with free()); AX_EINVAL
 * when topic or decision is NULL, a text field is not UTF-8, or a field is too long.
 */
int ax_canon_ledger_encode(
    uint8_t **out, size_t *out_len, const struct ax_canon_ledger *e, struct ax_err *err);

/* entry_hash of e: SHA-256 of its canonical encoding v1. */
int ax_canon_ledger_hash(uint8_t out[AX_HASH_LEN], struct ax_sha256 *h,
    const struct ax_canon_ledger *e, struct ax_err *err);

#endif
