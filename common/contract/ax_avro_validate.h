/*
 * ax_avro_validate.h - the bounded pre-validator: walks a writer schema over untrusted Avro
 * binary before avro-c is allowed to see the bytes (pure: no I/O, no globals, no allocation).
 *
 * Why: avro-c 1.11.1 allocates a declared string length before checking it against the
 * input, leaks on truncated input, grows arrays of zero-byte items without consuming bytes,
 * accepts trailing bytes, embedded NUL and invalid UTF-8 (README, "Pinned versions": measured
 * limits). Bytes that pass ax_avro_validate decode with avro-c in time and memory bounded by their
 * size.
 *
 * Invariants:
 *  (1) the walk reads only buf[0..len) and never allocates: its stack is bounded by
 *      limits->max_depth (itself at most AX_AVRO_DEPTH_MAX);
 *  (2) the total work is bounded by len + max_items times the size of the schema, and
 *      what avro-c then allocates by a small multiple of len: items that take no bytes
 *      on the wire (null, empty records) are capped at AX_AVRO_ZERO_SIZE_ITEMS_MAX;
 *  (3) every refusal is AX_EINVAL with err->lib_code set to one enum ax_avro_reason value,
 *      err->msg naming the problem and err->detail the byte offset and the field path
 *      (for example "payload<UserEnroll>.user_id"); no message ever comes from avro_strerror.
 */
#ifndef AX_AVRO_VALIDATE_H
#define AX_AVRO_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "ax_avro_schema.h"
#include "ax_err.h"

#define AX_AVRO_DEPTH_MAX           64
#define AX_AVRO_ZERO_SIZE_ITEMS_MAX 1024 /* array items that take no bytes, per message */

/* Why a message was refused: the stable reason codes of quarantine outcomes. */
enum ax_avro_reason {
	AX_AVRO_OK = 0,
	AX_AVRO_E_TOO_LARGE,           /* message longer than max_message */
	AX_AVRO_E_SHORT_HEADER,        /* shorter than the 10-byte single-object header */
	AX_AVRO_E_MAGIC,               /* does not start with C3 01 */
	AX_AVRO_E_UNKNOWN_FINGERPRINT, /* no known writer schema has this fingerprint */
	AX_AVRO_E_WRONG_SCHEMA,        /* a known schema, but not one of this topic */
	AX_AVRO_E_TRUNCATED,           /* a value runs past the end of the message */
	AX_AVRO_E_VARINT_TOO_LONG,     /* a varint longer than 10 bytes or above 64 bits */
	AX_AVRO_E_INT_RANGE,           /* an int outside the 32-bit range */
	AX_AVRO_E_NEGATIVE_LENGTH,     /* a string, bytes or block byte length below 0 */
	AX_AVRO_E_LENGTH_CAP,          /* a string or bytes longer than max_string */
	AX_AVRO_E_COUNT_CAP,           /* more array or map items than max_items */
	AX_AVRO_E_BLOCK_SIZE,          /* a block's byte size disagrees with its items */
	AX_AVRO_E_DEPTH,               /* nesting deeper than max_depth */
	AX_AVRO_E_UNION_INDEX,         /* a union branch index out of range */
	AX_AVRO_E_ENUM_INDEX,          /* an enum symbol index out of range */
	AX_AVRO_E_BOOLEAN,             /* a boolean byte other than 0 or 1 */
	AX_AVRO_E_UTF8,                /* a string that is not valid UTF-8 */
	AX_AVRO_E_NUL,                 /* a string with an embedded NUL */
	AX_AVRO_E_TRAILING,            /* bytes left after the value */
	AX_AVRO_E_DECODE,              /* avro-c refused bytes the pre-validator passed */
	AX_AVRO_E_FIELD,               /* valid Avro, but a field is not a valid command */
	AX_AVRO_REASON_COUNT
};

/* The caps applied to one message. */
struct ax_avro_limits {
	size_t max_message; /* bytes of one framed message */
	size_t max_string;  /* bytes of one string or bytes value */
	size_t max_items;   /* array and map items in one message, all blocks together */
	int max_depth;      /* nesting of records, unions, arrays and maps; <= AX_AVRO_DEPTH_MAX */
};

/* Fill lim with Axiom's defaults: 1 MiB message, 256 KiB string, 65536 items, depth 32. */
void ax_avro_limits_default(struct ax_avro_limits *lim);

/* A stable snake_case name of reason ("negative_length", ...), for outcomes and logs. */
const char *ax_avro_reason_name(int reason);

/*
 * Check that buf[0..len) is exactly one value of schema root within lim. Offsets in the
 * error detail are buf offsets plus base_offset (the header length when buf is a body).
 * AX_OK, or AX_EINVAL with err->lib_code an enum ax_avro_reason.
 */
int ax_avro_validate(const struct ax_avro_node *root, const uint8_t *buf, size_t len,
    size_t base_offset, const struct ax_avro_limits *lim, struct ax_err *err);

/* Set err for a refusal of reason at offset (used by the codec for framing errors). */
int ax_avro_refuse(struct ax_err *err, int reason, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
