/*
 * ax_codec_json.c - encoding JSON values as single-object Avro messages (ax_encode_json in
 * ax_codec.h): the producers' half of the contract.
 *
 * Invariants: (1) the walk follows the compiled schema, never the JSON, so every byte
 * written is one the schema allows; (2) the output buffer never grows past
 * lim->max_message, the cap the decoder applies, so nothing is produced that Axiom's
 * own applier would refuse for its size; (3) on any error the buffer is freed and
 * err names the JSON path of the first problem.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ax_codec.h"
#include "ax_hex.h"

struct enc {
	uint8_t *p;
	size_t len, cap, max;
	const struct ax_avro_limits *lim;
	char path[512];
	size_t pathlen;
	struct ax_err *err;
};

/* Refuse the JSON at the current path; returns AX_EINVAL. */
__attribute__((format(printf, 2, 3))) static int
enc_fail(struct enc *e, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ax_err_set(e->err, AX_EINVAL, "field %s %s", e->pathlen ? e->path : "(top level)", what);
	return AX_EINVAL;
}

/* Append s[0..n) to the output. */
static int
put(struct enc *e, const void *s, size_t n)
{
	if (n > e->max - e->len)
		return ax_err_set(e->err, AX_EINVAL,
		    "command is larger than the %zu bytes a message may have", e->max);
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		uint8_t *p;

		while (cap < e->len + n)
			cap *= 2;
		if (cap > e->max)
			cap = e->max;
		if ((p = realloc(e->p, cap)) == NULL)
			return ax_err_set(e->err, AX_ERR, "out of memory encoding a command");
		e->p = p;
		e->cap = cap;
	}
	if (n)
		memcpy(e->p + e->len, s, n);
	e->len += n;
	return AX_OK;
}

/* Append v as a zigzag varint. */
static int
put_long(struct enc *e, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n] = (uint8_t)(z & 0x7f);
		z >>= 7;
		if (z)
			b[n] |= 0x80;
		n++;
	} while (z);
	return put(e, b, n);
}

/* Push ".name" (or "name" at the top) onto the path; returns the old length to pop to. */
static size_t
path_push(struct enc *e, const char *sep, const char *name)
{
	size_t old = e->pathlen;
	int n = snprintf(e->path + e->pathlen, sizeof(e->path) - e->pathlen, "%s%s",
	    e->pathlen ? sep : "", name);

	if (n > 0)
		e->pathlen += (size_t)n;
	if (e->pathlen >= sizeof(e->path))
		e->pathlen = sizeof(e->path) - 1;
	return old;
}

/* Pop the path back to length old. */
static void
path_pop(struct enc *e, size_t old)
{
	e->pathlen = old;
	e->path[old] = '\0';
}

static int enc_node(struct enc *e, const struct ax_avro_node *n, const json_t *j, int depth);

/* Encode a record's default or given value: unions in defaults take their first branch. */
static int
enc_default(struct enc *e, const struct ax_avro_node *n, const json_t *j, int depth)
{
	int rc;

	if (n->type != AX_AVRO_UNION)
		return enc_node(e, n, j, depth);
	if (n->n == 0)
		return enc_fail(e, "has an empty union type");
	if ((rc = put_long(e, 0)) != AX_OK)
		return rc;
	return enc_node(e, n->branches[0], j, depth + 1);
}

/* Encode record n from JSON object j. */
static int
enc_record(struct enc *e, const struct ax_avro_node *n, const json_t *j, int depth)
{
	const char *key;
	json_t *val;
	int rc;

	if (!json_is_object(j))
		return enc_fail(e, "must be a JSON object (record %s)", n->name);
	json_object_foreach((json_t *)j, key, val)
	{
		if (ax_avro_record_field(n, key) == NULL) {
			size_t old = path_push(e, ".", key);

			rc = enc_fail(e, "is not a field of %s", n->name);
			path_pop(e, old);
			return rc;
		}
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ax_avro_field *f = &n->fields[i];
		const json_t *v = json_object_get(j, f->name);
		size_t old = path_push(e, ".", f->name);

		if (v == NULL && f->default_json == NULL)
			rc = enc_fail(e, "is missing");
		else if (v == NULL)
			rc = enc_default(e, f->type, f->default_json, depth + 1);
		else
			rc = enc_node(e, f->type, v, depth + 1);
		if (rc != AX_OK)
			return rc;
		path_pop(e, old);
	}
	return AX_OK;
}

/* Encode union n from j: null, the value of a two-branch optional, or {"Branch": value}. */
static int
enc_union(struct enc *e, const struct ax_avro_node *n, const json_t *j, int depth)
{
	int null_branch = -1, other = -1, others = 0;
	const char *key;
	json_t *val;
	int rc;

	for (size_t i = 0; i < n->n; i++) {
		if (n->branches[i]->type == AX_AVRO_NULL)
			null_branch = (int)i;
		else {
			other = (int)i;
			others++;
		}
	}
	if (json_is_null(j)) {
		if (null_branch < 0)
			return enc_fail(e, "cannot be null");
		return put_long(e, null_branch);
	}
	if (others == 1) {
		if ((rc = put_long(e, other)) != AX_OK)
			return rc;
		return enc_node(e, n->branches[other], j, depth + 1);
	}
	if (!json_is_object(j) || json_object_size(j) != 1)
		return enc_fail(
		    e, "must be an object with exactly one key naming the union branch");
	json_object_foreach((json_t *)j, key, val)
	{
		for (size_t i = 0; i < n->n; i++) {
			const struct ax_avro_node *b = n->branches[i];
			const char *full = b->fullname ? b->fullname : ax_avro_type_name(b->type);
			const char *shrt = b->fullname ? b->name : full;

			if (strcmp(key, full) == 0 || strcmp(key, shrt) == 0) {
				size_t old = path_push(e, ".", shrt);

				if ((rc = put_long(e, (int64_t)i)) == AX_OK)
					rc = enc_node(e, b, val, depth + 1);
				if (rc == AX_OK)
					path_pop(e, old);
				return rc;
			}
		}
		return enc_fail(e, "names \"%s\", which is not one of its %zu types", key, n->n);
	}
	return AX_OK;
}

/* Encode one value of node n from JSON j. */
static int
enc_node(struct enc *e, const struct ax_avro_node *n, const json_t *j, int depth)
{
	uint8_t *bytes = NULL;
	size_t blen = 0;
	int rc;

	if (depth > e->lim->max_depth)
		return enc_fail(e, "nests deeper than %d levels", e->lim->max_depth);
	switch (n->type) {
	case AX_AVRO_NULL:
		return json_is_null(j) ? AX_OK : enc_fail(e, "must be null");
	case AX_AVRO_BOOLEAN: {
		uint8_t b = json_is_true(j);

		if (!json_is_boolean(j))
			return enc_fail(e, "must be true or false");
		return put(e, &b, 1);
	}
	case AX_AVRO_INT:
		if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
		    json_integer_value(j) > INT32_MAX)
			return enc_fail(e, "must be an integer in the 32-bit range");
		return put_long(e, json_integer_value(j));
	case AX_AVRO_LONG:
		if (!json_is_integer(j))
			return enc_fail(e, "must be an integer%s",
			    n->logical_type && strcmp(n->logical_type, "timestamp-micros") == 0
			        ? " (microseconds since 1970-01-01T00:00:00Z)"
			        : "");
		return put_long(e, json_integer_value(j));
	case AX_AVRO_FLOAT:
	case AX_AVRO_DOUBLE: {
		uint8_t b[8];
		uint64_t u = 0;
		size_t sz = n->type == AX_AVRO_FLOAT ? 4 : 8;

		if (!json_is_number(j) || !isfinite(json_number_value(j)))
			return enc_fail(e, "must be a finite number");
		if (sz == 4) {
			float f = (float)json_number_value(j);
			uint32_t u32;

			memcpy(&u32, &f, 4);
			u = u32;
		} else {
			double d = json_number_value(j);

			memcpy(&u, &d, 8);
		}
		for (size_t i = 0; i < sz; i++)
			b[i] = (uint8_t)(u >> (8 * i));
		return put(e, b, sz);
	}
	case AX_AVRO_STRING: {
		uint8_t uuid[AX_UUID_LEN];

		if (!json_is_string(j))
			return enc_fail(e, "must be a string");
		if (json_string_length(j) > e->lim->max_string)
			return enc_fail(e, "is longer than %zu bytes", e->lim->max_string);
		if (memchr(json_string_value(j), 0, json_string_length(j)))
			return enc_fail(e, "contains a NUL character");
		if (n->logical_type && strcmp(n->logical_type, "uuid") == 0 &&
		    !ax_uuid_parse(uuid, json_string_value(j), json_string_length(j)))
			return enc_fail(e, "must be a UUID (8-4-4-4-12 hex digits)");
		if ((rc = put_long(e, (int64_t)json_string_length(j))) != AX_OK)
			return rc;
		return put(e, json_string_value(j), json_string_length(j));
	}
	case AX_AVRO_BYTES:
	case AX_AVRO_FIXED:
		if (ax_hex_decode_new(&bytes, &blen, json_string_value(j), json_string_length(j)) !=
		    0)
			return enc_fail(e, "must be a string of hex digit pairs");
		if (n->type == AX_AVRO_FIXED && blen != n->n)
			rc = enc_fail(e, "must be exactly %zu bytes", n->n);
		else if (blen > e->lim->max_string)
			rc = enc_fail(e, "is longer than %zu bytes", e->lim->max_string);
		else if (n->type == AX_AVRO_BYTES && (rc = put_long(e, (int64_t)blen)) != AX_OK)
			;
		else
			rc = put(e, bytes, blen);
		free(bytes);
		return rc;
	case AX_AVRO_ENUM:
		if (json_is_string(j))
			for (size_t i = 0; i < n->n; i++)
				if (strcmp(n->symbols[i], json_string_value(j)) == 0)
					return put_long(e, (int64_t)i);
		{
			char list[256];
			size_t l = 0;

			list[0] = '\0';
			for (size_t i = 0; i < n->n && l < sizeof(list); i++) {
				int k = snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "",
				    n->symbols[i]);

				if (k > 0)
					l += (size_t)k;
			}
			return enc_fail(e, "must be one of %s", list);
		}
	case AX_AVRO_ARRAY:
	case AX_AVRO_MAP: {
		size_t cnt = n->type == AX_AVRO_ARRAY ? json_array_size(j) : json_object_size(j);

		if (n->type == AX_AVRO_ARRAY ? !json_is_array(j) : !json_is_object(j))
			return enc_fail(
			    e, "must be a JSON %s", n->type == AX_AVRO_ARRAY ? "array" : "object");
		if (cnt > e->lim->max_items)
			return enc_fail(e, "has more than %zu items", e->lim->max_items);
		if (cnt && (rc = put_long(e, (int64_t)cnt)) != AX_OK)
			return rc;
		if (n->type == AX_AVRO_ARRAY) {
			for (size_t i = 0; i < cnt; i++) {
				char idx[24];
				size_t old;

				snprintf(idx, sizeof(idx), "[%zu]", i);
				old = path_push(e, "", idx);
				if ((rc = enc_node(e, n->items, json_array_get(j, i), depth + 1)) !=
				    AX_OK)
					return rc;
				path_pop(e, old);
			}
		} else {
			const char *key;
			json_t *val;

			json_object_foreach((json_t *)j, key, val)
			{
				size_t old = path_push(e, ".", key), kl = strlen(key);

				if ((rc = put_long(e, (int64_t)kl)) != AX_OK ||
				    (rc = put(e, key, kl)) != AX_OK ||
				    (rc = enc_node(e, n->items, val, depth + 1)) != AX_OK)
					return rc;
				path_pop(e, old);
			}
		}
		return put_long(e, 0);
	}
	case AX_AVRO_RECORD:
		return enc_record(e, n, j, depth);
	case AX_AVRO_UNION:
		return enc_union(e, n, j, depth);
	}
	return enc_fail(e, "has an unsupported type");
}

int
ax_encode_json(const struct ax_codec_schema *cs, const json_t *v, const struct ax_avro_limits *lim,
    uint8_t **out, size_t *out_len, struct ax_err *err)
{
	struct ax_avro_limits def;
	uint8_t hdr[AX_AVRO_SOE_HEADER_LEN];
	struct enc e;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (lim == NULL) {
		ax_avro_limits_default(&def);
		lim = &def;
	}
	memset(&e, 0, sizeof(e));
	e.max = lim->max_message;
	e.lim = lim;
	e.err = err;
	ax_avro_soe_header(hdr, cs->schema->fingerprint);
	if ((rc = put(&e, hdr, sizeof(hdr))) != AX_OK)
		goto out;
	if ((rc = enc_node(&e, cs->schema->root, v, 0)) != AX_OK)
		goto out;
	*out = e.p;
	*out_len = e.len;
	e.p = NULL;
out:
	free(e.p);
	return rc;
}

json_t *
ax_json_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	ax_hex_encode(s, p, n);
	j = json_stringn(s, 2 * n);
	free(s);
	return j;
}
