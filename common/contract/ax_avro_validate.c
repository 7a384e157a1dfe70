/*
 * ax_avro_validate.c - the bounded pre-validator; see ax_avro_validate.h for the invariants.
 *
 * One recursive walk. The walker keeps the field path as a stack of borrowed names so that a
 * refusal can say where it happened; the path is rendered only when a refusal is made.
 */
#include "ax_avro_validate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One step of the field path. */
struct seg {
	const char *name; /* field name, union branch name, or NULL for an item */
	int kind;         /* 0 field, 1 union branch, 2 item */
	uint64_t index;   /* item index */
};

struct walk {
	const uint8_t *buf;
	size_t len, pos, base;
	const struct ax_avro_limits *lim;
	size_t items, zero_items;
	int depth;
	struct seg path[AX_AVRO_DEPTH_MAX + 2];
	struct ax_err *err;
};

static const char *const reason_names[AX_AVRO_REASON_COUNT] = {
	[AX_AVRO_OK] = "ok",
	[AX_AVRO_E_TOO_LARGE] = "message_too_large",
	[AX_AVRO_E_SHORT_HEADER] = "short_header",
	[AX_AVRO_E_MAGIC] = "wrong_magic",
	[AX_AVRO_E_UNKNOWN_FINGERPRINT] = "unknown_fingerprint",
	[AX_AVRO_E_WRONG_SCHEMA] = "wrong_schema_for_topic",
	[AX_AVRO_E_TRUNCATED] = "truncated",
	[AX_AVRO_E_VARINT_TOO_LONG] = "varint_too_long",
	[AX_AVRO_E_INT_RANGE] = "int_out_of_range",
	[AX_AVRO_E_NEGATIVE_LENGTH] = "negative_length",
	[AX_AVRO_E_LENGTH_CAP] = "length_over_cap",
	[AX_AVRO_E_COUNT_CAP] = "count_over_cap",
	[AX_AVRO_E_BLOCK_SIZE] = "bad_block_size",
	[AX_AVRO_E_DEPTH] = "nesting_too_deep",
	[AX_AVRO_E_UNION_INDEX] = "union_index_out_of_range",
	[AX_AVRO_E_ENUM_INDEX] = "enum_index_out_of_range",
	[AX_AVRO_E_BOOLEAN] = "invalid_boolean",
	[AX_AVRO_E_UTF8] = "invalid_utf8",
	[AX_AVRO_E_NUL] = "embedded_nul",
	[AX_AVRO_E_TRAILING] = "trailing_bytes",
	[AX_AVRO_E_DECODE] = "decode_failed",
	[AX_AVRO_E_FIELD] = "invalid_field",
};

void
ax_avro_limits_default(struct ax_avro_limits *lim)
{
	lim->max_message = 1024 * 1024;
	lim->max_string = 256 * 1024;
	lim->max_items = 65536;
	lim->max_depth = 32;
}

const char *
ax_avro_reason_name(int reason)
{
	if (reason >= 0 && reason < AX_AVRO_REASON_COUNT)
		return reason_names[reason];
	return "unknown";
}

int
ax_avro_refuse(struct ax_err *err, int reason, size_t offset, const char *fmt, ...)
{
	va_list ap;

	ax_err_clear(err);
	err->code = AX_EINVAL;
	err->lib_code = reason;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	ax_err_detail(err, "at byte offset %zu", offset);
	return AX_EINVAL;
}

/* Refuse the message at w's position (offset off in buf) for reason; returns AX_EINVAL. */
__attribute__((format(printf, 4, 5))) static int
refuse(struct walk *w, int reason, size_t off, const char *fmt, ...)
{
	char path[512];
	size_t pl = 0;
	va_list ap;

	path[0] = '\0';
	for (int i = 0; i < w->depth + 1 && i < AX_AVRO_DEPTH_MAX + 2 && pl < sizeof(path); i++) {
		const struct seg *s = &w->path[i];
		int n = 0;

		if (s->kind == 0 && s->name)
			n = snprintf(path + pl, sizeof(path) - pl, "%s%s", pl ? "." : "", s->name);
		else if (s->kind == 1 && s->name)
			n = snprintf(path + pl, sizeof(path) - pl, "<%s>", s->name);
		else if (s->kind == 2)
			n = snprintf(
			    path + pl, sizeof(path) - pl, "[%llu]", (unsigned long long)s->index);
		if (n > 0)
			pl += (size_t)n;
	}
	ax_err_clear(w->err);
	w->err->code = AX_EINVAL;
	w->err->lib_code = reason;
	va_start(ap, fmt);
	vsnprintf(w->err->msg, sizeof(w->err->msg), fmt, ap);
	va_end(ap);
	ax_err_detail(
	    w->err, "at byte offset %zu, field %s", w->base + off, path[0] ? path : "(top level)");
	return AX_EINVAL;
}

/* Read a zigzag varint into *out; refuses a truncated, overlong or >64-bit varint. */
static int
read_long(struct walk *w, int64_t *out)
{
	size_t start = w->pos;
	uint64_t v = 0;

	for (int i = 0; i < 10; i++) {
		uint8_t b;

		if (w->pos >= w->len)
			return refuse(w, AX_AVRO_E_TRUNCATED, start,
			    "invalid avro message: varint runs past the end of the message");
		b = w->buf[w->pos++];
		if (i == 9 && b > 1)
			return refuse(w, AX_AVRO_E_VARINT_TOO_LONG, start,
			    "invalid avro message: varint is longer than 10 bytes or above 64 "
			    "bits");
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return AX_OK;
		}
	}
	return AX_OK; /* not reached: i == 9 either ends or refuses */
}

/* Check s[0..n) (at buf offset off) is UTF-8 without NUL. */
static int
check_text(struct walk *w, const uint8_t *s, size_t n, size_t off)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t need;
		uint8_t lo = 0x80, hi = 0xbf;

		if (c == 0)
			return refuse(w, AX_AVRO_E_NUL, off + i,
			    "invalid avro message: string contains a NUL character at index %zu",
			    i);
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			goto bad;
		}
		if (need > n - i - 1)
			goto bad;
		if (s[i + 1] < lo || s[i + 1] > hi)
			goto bad;
		for (size_t k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				goto bad;
		i += need + 1;
	}
	return AX_OK;
bad:
	return refuse(w, AX_AVRO_E_UTF8, off + i,
	    "invalid avro message: string is not valid UTF-8 at index %zu", i);
}

/* Read a string or bytes value; text says whether to check UTF-8 and NUL. */
static int
walk_bytes(struct walk *w, bool text)
{
	size_t start = w->pos;
	int64_t n;
	int rc;

	if ((rc = read_long(w, &n)) != AX_OK)
		return rc;
	if (n < 0)
		return refuse(w, AX_AVRO_E_NEGATIVE_LENGTH, start,
		    "invalid avro message: %s length %lld is negative", text ? "string" : "bytes",
		    (long long)n);
	if ((uint64_t)n > w->lim->max_string)
		return refuse(w, AX_AVRO_E_LENGTH_CAP, start,
		    "invalid avro message: %s length %lld is above the limit of %zu bytes",
		    text ? "string" : "bytes", (long long)n, w->lim->max_string);
	if ((uint64_t)n > w->len - w->pos)
		return refuse(w, AX_AVRO_E_TRUNCATED, start,
		    "invalid avro message: %s length %lld runs past the end of the message",
		    text ? "string" : "bytes", (long long)n);
	if (text && (rc = check_text(w, w->buf + w->pos, (size_t)n, w->pos)) != AX_OK)
		return rc;
	w->pos += (size_t)n;
	return AX_OK;
}

/* Skip n raw bytes. */
static int
walk_raw(struct walk *w, size_t n, const char *what)
{
	if (n > w->len - w->pos)
		return refuse(w, AX_AVRO_E_TRUNCATED, w->pos,
		    "invalid avro message: %s runs past the end of the message", what);
	w->pos += n;
	return AX_OK;
}

static int walk_node(struct walk *w, const struct ax_avro_node *n);

/* Whether a value of n can take zero bytes on the wire (null, fixed 0, such records). */
static bool
zero_size(const struct ax_avro_node *n, int depth)
{
	if (depth > AX_AVRO_DEPTH_MAX)
		return false;
	switch (n->type) {
	case AX_AVRO_NULL:
		return true;
	case AX_AVRO_FIXED:
		return n->n == 0;
	case AX_AVRO_RECORD:
		for (size_t i = 0; i < n->n; i++)
			if (!zero_size(n->fields[i].type, depth + 1))
				return false;
		return true;
	default:
		return false;
	}
}

/* Walk the blocks of an array (map == false) or map. */
static int
walk_blocks(struct walk *w, const struct ax_avro_node *n, bool map)
{
	struct seg *seg = &w->path[w->depth];
	uint64_t index = 0;
	int rc;

	seg->kind = 2;
	seg->name = NULL;
	for (;;) {
		size_t start = w->pos, body;
		int64_t count, bsize = -1;

		if ((rc = read_long(w, &count)) != AX_OK)
			return rc;
		if (count == 0)
			return AX_OK;
		if (count < 0) {
			size_t bstart = w->pos;

			if (count == INT64_MIN)
				return refuse(w, AX_AVRO_E_COUNT_CAP, start,
				    "invalid avro message: %s block count is out of range",
				    map ? "map" : "array");
			count = -count;
			if ((rc = read_long(w, &bsize)) != AX_OK)
				return rc;
			if (bsize < 0)
				return refuse(w, AX_AVRO_E_NEGATIVE_LENGTH, bstart,
				    "invalid avro message: %s block byte size %lld is negative",
				    map ? "map" : "array", (long long)bsize);
		}
		if ((uint64_t)count > w->lim->max_items - w->items)
			return refuse(w, AX_AVRO_E_COUNT_CAP, start,
			    "invalid avro message: %s block of %lld items goes above the limit of "
			    "%zu items per message",
			    map ? "map" : "array", (long long)count, w->lim->max_items);
		/* items that take no bytes would let a few bytes make avro-c allocate for many */
		if (!map && zero_size(n->items, 0) &&
		    (uint64_t)count > AX_AVRO_ZERO_SIZE_ITEMS_MAX - w->zero_items)
			return refuse(w, AX_AVRO_E_COUNT_CAP, start,
			    "invalid avro message: array block of %lld zero-byte items goes above "
			    "the "
			    "limit of %d such items per message",
			    (long long)count, AX_AVRO_ZERO_SIZE_ITEMS_MAX);
		if (!map && zero_size(n->items, 0))
			w->zero_items += (size_t)count;
		w->items += (size_t)count;
		body = w->pos;
		for (int64_t i = 0; i < count; i++) {
			seg->index = index++;
			if (map && (rc = walk_bytes(w, true)) != AX_OK)
				return rc;
			if ((rc = walk_node(w, n->items)) != AX_OK)
				return rc;
		}
		if (bsize >= 0 && (uint64_t)bsize != w->pos - body)
			return refuse(w, AX_AVRO_E_BLOCK_SIZE, start,
			    "invalid avro message: %s block declares %lld bytes but its items take "
			    "%zu",
			    map ? "map" : "array", (long long)bsize, w->pos - body);
	}
}

/* Walk one value of node n at w->pos. */
static int
walk_node(struct walk *w, const struct ax_avro_node *n)
{
	size_t start = w->pos;
	int64_t v;
	int rc = AX_OK;

	switch (n->type) {
	case AX_AVRO_NULL:
		return AX_OK;
	case AX_AVRO_BOOLEAN:
		if (w->pos >= w->len)
			return refuse(w, AX_AVRO_E_TRUNCATED, start,
			    "invalid avro message: boolean runs past the end of the message");
		if (w->buf[w->pos] > 1)
			return refuse(w, AX_AVRO_E_BOOLEAN, start,
			    "invalid avro message: boolean byte is 0x%02x, not 0 or 1",
			    w->buf[w->pos]);
		w->pos++;
		return AX_OK;
	case AX_AVRO_INT:
		if ((rc = read_long(w, &v)) != AX_OK)
			return rc;
		if (v < INT32_MIN || v > INT32_MAX)
			return refuse(w, AX_AVRO_E_INT_RANGE, start,
			    "invalid avro message: int value %lld is outside the 32-bit range",
			    (long long)v);
		return AX_OK;
	case AX_AVRO_LONG:
		return read_long(w, &v);
	case AX_AVRO_FLOAT:
		return walk_raw(w, 4, "float");
	case AX_AVRO_DOUBLE:
		return walk_raw(w, 8, "double");
	case AX_AVRO_BYTES:
		return walk_bytes(w, false);
	case AX_AVRO_STRING:
		return walk_bytes(w, true);
	case AX_AVRO_FIXED:
		return walk_raw(w, n->n, "fixed");
	case AX_AVRO_ENUM:
		if ((rc = read_long(w, &v)) != AX_OK)
			return rc;
		if (v < 0 || (uint64_t)v >= n->n)
			return refuse(w, AX_AVRO_E_ENUM_INDEX, start,
			    "invalid avro message: enum %s has no symbol index %lld", n->fullname,
			    (long long)v);
		return AX_OK;
	case AX_AVRO_RECORD:
	case AX_AVRO_UNION:
	case AX_AVRO_ARRAY:
	case AX_AVRO_MAP:
		break;
	}

	if (w->depth >= w->lim->max_depth || w->depth >= AX_AVRO_DEPTH_MAX)
		return refuse(w, AX_AVRO_E_DEPTH, start,
		    "invalid avro message: values nest deeper than %d levels", w->lim->max_depth);
	w->depth++;
	switch (n->type) {
	case AX_AVRO_RECORD:
		w->path[w->depth].kind = 0;
		for (size_t i = 0; i < n->n && rc == AX_OK; i++) {
			w->path[w->depth].name = n->fields[i].name;
			rc = walk_node(w, n->fields[i].type);
		}
		break;
	case AX_AVRO_UNION:
		w->path[w->depth].kind = 1;
		w->path[w->depth].name = NULL;
		if ((rc = read_long(w, &v)) != AX_OK)
			break;
		if (v < 0 || (uint64_t)v >= n->n) {
			rc = refuse(w, AX_AVRO_E_UNION_INDEX, start,
			    "invalid avro message: union branch index %lld is out of range 0..%zu",
			    (long long)v, n->n ? n->n - 1 : 0);
			break;
		}
		w->path[w->depth].name = n->branches[v]->fullname
		                             ? n->branches[v]->name
		                             : ax_avro_type_name(n->branches[v]->type);
		rc = walk_node(w, n->branches[v]);
		break;
	default:
		rc = walk_blocks(w, n, n->type == AX_AVRO_MAP);
		break;
	}
	w->depth--;
	return rc;
}

int
ax_avro_validate(const struct ax_avro_node *root, const uint8_t *buf, size_t len,
    size_t base_offset, const struct ax_avro_limits *lim, struct ax_err *err)
{
	struct walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.buf = buf;
	w.len = len;
	w.base = base_offset;
	w.lim = lim;
	w.err = err;
	if (len + base_offset > lim->max_message)
		return refuse(&w, AX_AVRO_E_TOO_LARGE, 0,
		    "invalid avro message: %zu bytes is above the limit of %zu", len + base_offset,
		    lim->max_message);
	if ((rc = walk_node(&w, root)) != AX_OK)
		return rc;
	if (w.pos != len)
		return refuse(&w, AX_AVRO_E_TRAILING, w.pos,
		    "invalid avro message: %zu bytes are left after the value", len - w.pos);
	return AX_OK;
}
