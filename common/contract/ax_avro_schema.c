/*
 * ax_avro_schema.c - compiled Avro schemas, Parsing Canonical Form, CRC-64-AVRO; see
 * ax_avro_schema.h for the invariants.
 *
 * Compilation is one recursive walk of the JSON with the enclosing namespace carried down;
 * a named type is entered into the node list before its fields are compiled, so a record
 * may refer to itself. The PCF writer walks the compiled tree, writing a named type in full
 * the first time and as its quoted full name afterwards, which is what the specification's
 * reference implementation (Java SchemaNormalization) does.
 */
#include "ax_avro_schema.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64 /* nesting of schema JSON we compile */

struct compiler {
	struct ax_avro_schema *s;
	struct ax_err *err;
};

/* A growable text buffer with a hard cap. */
struct tbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static const char *const type_names[] = {
	[AX_AVRO_NULL] = "null",
	[AX_AVRO_BOOLEAN] = "boolean",
	[AX_AVRO_INT] = "int",
	[AX_AVRO_LONG] = "long",
	[AX_AVRO_FLOAT] = "float",
	[AX_AVRO_DOUBLE] = "double",
	[AX_AVRO_BYTES] = "bytes",
	[AX_AVRO_STRING] = "string",
	[AX_AVRO_RECORD] = "record",
	[AX_AVRO_ENUM] = "enum",
	[AX_AVRO_ARRAY] = "array",
	[AX_AVRO_MAP] = "map",
	[AX_AVRO_UNION] = "union",
	[AX_AVRO_FIXED] = "fixed",
};

const char *
ax_avro_type_name(enum ax_avro_type t)
{
	if ((size_t)t < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[t];
	return "?";
}

/* ---- CRC-64-AVRO ------------------------------------------------------------------------ */

/* Compute the byte table of CRC-64-AVRO into t. */
static void
crc64_table(uint64_t t[256])
{
	for (int i = 0; i < 256; i++) {
		uint64_t fp = (uint64_t)i;

		for (int j = 0; j < 8; j++)
			fp = (fp >> 1) ^ (AX_AVRO_CRC64_EMPTY & (0 - (fp & 1)));
		t[i] = fp;
	}
}

uint64_t
ax_avro_crc64(const uint8_t *buf, size_t len)
{
	uint64_t t[256];
	uint64_t fp = AX_AVRO_CRC64_EMPTY;

	crc64_table(t); /* 2 KiB of stack and ~2k shifts: schemas are fingerprinted at load */
	for (size_t i = 0; i < len; i++)
		fp = (fp >> 8) ^ t[(fp ^ buf[i]) & 0xff];
	return fp;
}

void
ax_avro_soe_header(uint8_t out[AX_AVRO_SOE_HEADER_LEN], uint64_t fp)
{
	out[0] = 0xc3;
	out[1] = 0x01;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(fp >> (8 * i));
}

/* ---- compiling ------------------------------------------------------------------------- */

/* Allocate a zeroed node of type t owned by c's schema; NULL when out of memory. */
static struct ax_avro_node *
node_new(struct compiler *c, enum ax_avro_type t)
{
	struct ax_avro_node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		ax_err_set(c->err, AX_ERR, "out of memory compiling an avro schema");
		return NULL;
	}
	n->type = t;
	n->next_owned = c->s->nodes;
	c->s->nodes = n;
	return n;
}

/* The primitive type called name, or -1. */
static int
primitive_type(const char *name)
{
	for (int t = AX_AVRO_NULL; t <= AX_AVRO_STRING; t++)
		if (strcmp(name, type_names[t]) == 0)
			return t;
	return -1;
}

/* Whether s is an Avro name ([A-Za-z_][A-Za-z0-9_]*), dots allowed between names if dotted. */
static bool
valid_name(const char *s, bool dotted)
{
	bool start = true;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		char ch = *s;

		if (ch == '.' && dotted && !start) {
			start = true;
			continue;
		}
		if (ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (!start && ch >= '0' && ch <= '9')) {
			start = false;
			continue;
		}
		return false;
	}
	return !start;
}

/* The named node of c's schema called fullname, or NULL. */
static struct ax_avro_node *
find_named(struct compiler *c, const char *fullname)
{
	for (struct ax_avro_node *n = c->s->nodes; n; n = n->next_owned)
		if (n->fullname && strcmp(n->fullname, fullname) == 0)
			return n;
	return NULL;
}

/* Set *out to the full name of name in namespace ns (malloc'd); AX_OK or an error. */
static int
make_fullname(struct compiler *c, char **out, const char *name, const char *ns)
{
	size_t nl = strlen(name), sl = ns ? strlen(ns) : 0;
	char *p;

	if (strchr(name, '.') || sl == 0)
		sl = 0;
	if ((p = malloc(sl + 1 + nl + 1)) == NULL)
		return ax_err_set(c->err, AX_ERR, "out of memory compiling an avro schema");
	if (sl) {
		memcpy(p, ns, sl);
		p[sl] = '.';
		memcpy(p + sl + 1, name, nl + 1);
	} else {
		memcpy(p, name, nl + 1);
	}
	*out = p;
	return AX_OK;
}

static int compile(
    struct compiler *c, struct ax_avro_node **out, const json_t *j, const char *ns, int depth);

/* Compile the named type (record, enum, fixed) j of type t in namespace ns into *out. */
static int
compile_named(struct compiler *c, struct ax_avro_node **out, const json_t *j, enum ax_avro_type t,
    const char *ns, int depth)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const json_t *jns = json_object_get(j, "namespace");
	struct ax_avro_node *n;
	const char *dot;
	char *inner_ns = NULL;
	int rc;

	if (name == NULL || !valid_name(name, true))
		return ax_err_set(
		    c->err, AX_EINVAL, "avro %s has no valid \"name\"", type_names[t]);
	if (jns && !json_is_null(jns)) {
		if (!json_is_string(jns) ||
		    (json_string_length(jns) > 0 && !valid_name(json_string_value(jns), true)))
			return ax_err_set(c->err, AX_EINVAL,
			    "avro %s \"%s\" has an invalid \"namespace\"", type_names[t], name);
		ns = json_string_value(jns);
	}
	if ((n = node_new(c, t)) == NULL)
		return AX_ERR;
	if ((rc = make_fullname(c, &n->fullname, name, ns)) != AX_OK)
		return rc;
	dot = strrchr(n->fullname, '.');
	n->name = dot ? dot + 1 : n->fullname;
	/* the node is in the list already: look for an earlier definition behind it */
	for (struct ax_avro_node *o = n->next_owned; o; o = o->next_owned)
		if (o->fullname && strcmp(o->fullname, n->fullname) == 0)
			return ax_err_set(
			    c->err, AX_EINVAL, "avro type \"%s\" is defined twice", n->fullname);
	if (primitive_type(n->name) >= 0)
		return ax_err_set(
		    c->err, AX_EINVAL, "avro type name \"%s\" is a primitive type", n->fullname);
	*out = n;

	if (t == AX_AVRO_FIXED) {
		json_int_t size = json_integer_value(json_object_get(j, "size"));

		if (!json_is_integer(json_object_get(j, "size")) || size < 0)
			return ax_err_set(c->err, AX_EINVAL,
			    "avro fixed \"%s\" has no valid \"size\"", n->fullname);
		n->n = (size_t)size;
		return AX_OK;
	}
	if (t == AX_AVRO_ENUM) {
		const json_t *syms = json_object_get(j, "symbols");
		size_t i;

		if (!json_is_array(syms))
			return ax_err_set(c->err, AX_EINVAL,
			    "avro enum \"%s\" has no \"symbols\" array", n->fullname);
		n->n = json_array_size(syms);
		if (n->n && (n->symbols = calloc(n->n, sizeof(*n->symbols))) == NULL)
			return ax_err_set(c->err, AX_ERR, "out of memory compiling an avro schema");
		for (i = 0; i < n->n; i++) {
			n->symbols[i] = json_string_value(json_array_get(syms, i));
			if (n->symbols[i] == NULL || !valid_name(n->symbols[i], false))
				return ax_err_set(c->err, AX_EINVAL,
				    "avro enum \"%s\" has an invalid symbol at index %zu",
				    n->fullname, i);
			for (size_t k = 0; k < i; k++)
				if (strcmp(n->symbols[k], n->symbols[i]) == 0)
					return ax_err_set(c->err, AX_EINVAL,
					    "avro enum \"%s\" repeats symbol \"%s\"", n->fullname,
					    n->symbols[i]);
		}
		return AX_OK;
	}

	/* record: fields are compiled in the record's own namespace */
	{
		const json_t *fields = json_object_get(j, "fields");
		size_t i;

		if (!json_is_array(fields))
			return ax_err_set(c->err, AX_EINVAL,
			    "avro record \"%s\" has no \"fields\" array", n->fullname);
		if (dot) {
			if ((inner_ns = malloc((size_t)(dot - n->fullname) + 1)) == NULL)
				return ax_err_set(
				    c->err, AX_ERR, "out of memory compiling an avro schema");
			memcpy(inner_ns, n->fullname, (size_t)(dot - n->fullname));
			inner_ns[dot - n->fullname] = '\0';
		}
		n->n = json_array_size(fields);
		if (n->n && (n->fields = calloc(n->n, sizeof(*n->fields))) == NULL) {
			rc = ax_err_set(c->err, AX_ERR, "out of memory compiling an avro schema");
			goto out;
		}
		for (i = 0; i < n->n; i++) {
			const json_t *f = json_array_get(fields, i);
			const char *fname = json_string_value(json_object_get(f, "name"));

			if (fname == NULL || !valid_name(fname, false)) {
				rc = ax_err_set(c->err, AX_EINVAL,
				    "avro record \"%s\": field %zu has no valid \"name\"",
				    n->fullname, i);
				goto out;
			}
			for (size_t k = 0; k < i; k++)
				if (strcmp(n->fields[k].name, fname) == 0) {
					rc = ax_err_set(c->err, AX_EINVAL,
					    "avro record \"%s\" repeats field \"%s\"", n->fullname,
					    fname);
					goto out;
				}
			n->fields[i].name = fname;
			n->fields[i].default_json = json_object_get(f, "default");
			if ((rc = compile(c, &n->fields[i].type, json_object_get(f, "type"),
			         inner_ns, depth + 1)) != AX_OK) {
				ax_err_detail(
				    c->err, "in field \"%s\" of record \"%s\"", fname, n->fullname);
				goto out;
			}
		}
		rc = AX_OK;
	}
out:
	free(inner_ns);
	return rc;
}

/* Compile schema JSON j in namespace ns into *out (a node owned by c's schema). */
static int
compile(struct compiler *c, struct ax_avro_node **out, const json_t *j, const char *ns, int depth)
{
	struct ax_avro_node *n;
	const char *tname;
	int prim;

	if (depth > DEPTH_MAX)
		return ax_err_set(c->err, AX_EINVAL, "avro schema nests deeper than %d", DEPTH_MAX);
	if (j == NULL)
		return ax_err_set(c->err, AX_EINVAL, "avro schema has a missing \"type\"");

	if (json_is_array(j)) {
		size_t i;

		if ((n = node_new(c, AX_AVRO_UNION)) == NULL)
			return AX_ERR;
		n->n = json_array_size(j);
		if (n->n && (n->branches = calloc(n->n, sizeof(*n->branches))) == NULL)
			return ax_err_set(c->err, AX_ERR, "out of memory compiling an avro schema");
		for (i = 0; i < n->n; i++) {
			int rc = compile(c, &n->branches[i], json_array_get(j, i), ns, depth + 1);

			if (rc != AX_OK)
				return rc;
			if (n->branches[i]->type == AX_AVRO_UNION)
				return ax_err_set(c->err, AX_EINVAL,
				    "avro union contains a union at index %zu", i);
		}
		*out = n;
		return AX_OK;
	}

	if (json_is_string(j)) {
		char *full = NULL;
		struct ax_avro_node *named;
		int rc;

		tname = json_string_value(j);
		if ((prim = primitive_type(tname)) >= 0) {
			if ((n = node_new(c, (enum ax_avro_type)prim)) == NULL)
				return AX_ERR;
			*out = n;
			return AX_OK;
		}
		if ((rc = make_fullname(c, &full, tname, ns)) != AX_OK)
			return rc;
		named = find_named(c, full);
		if (named == NULL && strcmp(full, tname) != 0)
			named = find_named(c, tname); /* a name in the null namespace */
		if (named == NULL) {
			rc = ax_err_set(
			    c->err, AX_EINVAL, "avro schema names unknown type \"%s\"", full);
			free(full);
			return rc;
		}
		free(full);
		*out = named;
		return AX_OK;
	}

	if (!json_is_object(j))
		return ax_err_set(c->err, AX_EINVAL,
		    "avro schema is neither a string, an object "
		    "nor an array");
	{
		const json_t *jt = json_object_get(j, "type");

		if (!json_is_string(jt)) /* {"type": {...}} or {"type": [...]}: the inner schema */
			return compile(c, out, jt, ns, depth + 1);
		tname = json_string_value(jt);
	}
	if ((prim = primitive_type(tname)) >= 0) {
		if ((n = node_new(c, (enum ax_avro_type)prim)) == NULL)
			return AX_ERR;
		n->logical_type = json_string_value(json_object_get(j, "logicalType"));
		*out = n;
		return AX_OK;
	}
	if (strcmp(tname, "record") == 0 || strcmp(tname, "error") == 0)
		return compile_named(c, out, j, AX_AVRO_RECORD, ns, depth);
	if (strcmp(tname, "enum") == 0)
		return compile_named(c, out, j, AX_AVRO_ENUM, ns, depth);
	if (strcmp(tname, "fixed") == 0) {
		int rc = compile_named(c, out, j, AX_AVRO_FIXED, ns, depth);

		if (rc == AX_OK)
			(*out)->logical_type = json_string_value(json_object_get(j, "logicalType"));
		return rc;
	}
	if (strcmp(tname, "array") == 0 || strcmp(tname, "map") == 0) {
		bool arr = tname[0] == 'a';

		if ((n = node_new(c, arr ? AX_AVRO_ARRAY : AX_AVRO_MAP)) == NULL)
			return AX_ERR;
		*out = n;
		return compile(
		    c, &n->items, json_object_get(j, arr ? "items" : "values"), ns, depth + 1);
	}
	{
		/* a reference written as {"type": "Name"} */
		return compile(c, out, json_object_get(j, "type"), ns, depth + 1);
	}
}

/* ---- Parsing Canonical Form ------------------------------------------------------------ */

/* Append s[0..n) to b, remembering overflow of the hard cap. */
static void
tbuf_put(struct tbuf *b, const char *s, size_t n)
{
	if (b->overflow)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > 4 * AX_AVRO_SCHEMA_MAX || (p = realloc(b->p, cap)) == NULL) {
			b->overflow = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append the NUL-terminated s. */
static void
tbuf_puts(struct tbuf *b, const char *s)
{
	tbuf_put(b, s, strlen(s));
}

/* Append s as a JSON string literal: UTF-8 as is (STRINGS), only '"', '\\' and controls escaped. */
static void
tbuf_quoted(struct tbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	tbuf_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };

			tbuf_put(b, e, 2);
		} else if (ch < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };

			tbuf_put(b, e, 6);
		} else {
			tbuf_put(b, s, 1);
		}
	}
	tbuf_put(b, "\"", 1);
}

/* Append the PCF of node n to b. */
static void
pcf_write(struct tbuf *b, struct ax_avro_node *n)
{
	char num[32];
	size_t i;

	switch (n->type) {
	case AX_AVRO_NULL:
	case AX_AVRO_BOOLEAN:
	case AX_AVRO_INT:
	case AX_AVRO_LONG:
	case AX_AVRO_FLOAT:
	case AX_AVRO_DOUBLE:
	case AX_AVRO_BYTES:
	case AX_AVRO_STRING:
		tbuf_quoted(b, type_names[n->type]);
		return;
	case AX_AVRO_UNION:
		tbuf_puts(b, "[");
		for (i = 0; i < n->n; i++) {
			if (i)
				tbuf_puts(b, ",");
			pcf_write(b, n->branches[i]);
		}
		tbuf_puts(b, "]");
		return;
	case AX_AVRO_ARRAY:
	case AX_AVRO_MAP:
		tbuf_puts(b, n->type == AX_AVRO_ARRAY ? "{\"type\":\"array\",\"items\":"
		                                      : "{\"type\":\"map\",\"values\":");
		pcf_write(b, n->items);
		tbuf_puts(b, "}");
		return;
	case AX_AVRO_RECORD:
	case AX_AVRO_ENUM:
	case AX_AVRO_FIXED:
		break;
	}
	if (n->pcf_seen) {
		tbuf_quoted(b, n->fullname);
		return;
	}
	n->pcf_seen = 1;
	tbuf_puts(b, "{\"name\":");
	tbuf_quoted(b, n->fullname);
	tbuf_puts(b, ",\"type\":");
	tbuf_quoted(b, type_names[n->type]);
	if (n->type == AX_AVRO_RECORD) {
		tbuf_puts(b, ",\"fields\":[");
		for (i = 0; i < n->n; i++) {
			tbuf_puts(b, i ? ",{\"name\":" : "{\"name\":");
			tbuf_quoted(b, n->fields[i].name);
			tbuf_puts(b, ",\"type\":");
			pcf_write(b, n->fields[i].type);
			tbuf_puts(b, "}");
		}
		tbuf_puts(b, "]}");
	} else if (n->type == AX_AVRO_ENUM) {
		tbuf_puts(b, ",\"symbols\":[");
		for (i = 0; i < n->n; i++) {
			if (i)
				tbuf_puts(b, ",");
			tbuf_quoted(b, n->symbols[i]);
		}
		tbuf_puts(b, "]}");
	} else {
		snprintf(num, sizeof(num), ",\"size\":%zu}", n->n);
		tbuf_puts(b, num);
	}
}

/* ---- public ---------------------------------------------------------------------------- */

int
ax_avro_schema_new(struct ax_avro_schema **out, const char *text, size_t len, struct ax_err *err)
{
	struct ax_avro_schema *s = NULL;
	struct compiler c;
	struct tbuf b = { 0 };
	json_error_t jerr;
	int rc;

	*out = NULL;
	if (len > AX_AVRO_SCHEMA_MAX)
		return ax_err_set(err, AX_EINVAL,
		    "avro schema is %zu bytes, more than the %d allowed", len, AX_AVRO_SCHEMA_MAX);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory compiling an avro schema");
	s->json = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (s->json == NULL) {
		rc = ax_err_set(err, AX_EINVAL, "avro schema is not valid JSON");
		ax_err_detail(err, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		goto out;
	}
	c.s = s;
	c.err = err;
	if ((rc = compile(&c, &s->root, s->json, NULL, 0)) != AX_OK)
		goto out;
	pcf_write(&b, s->root);
	for (struct ax_avro_node *n = s->nodes; n; n = n->next_owned)
		n->pcf_seen = 0;
	if (b.overflow || b.p == NULL) {
		rc =
		    ax_err_set(err, AX_ERR, "could not build the canonical form of an avro schema");
		goto out;
	}
	s->pcf = b.p;
	s->pcf_len = b.len;
	b.p = NULL;
	s->fingerprint = ax_avro_crc64((const uint8_t *)s->pcf, s->pcf_len);
	*out = s;
	s = NULL;
	rc = AX_OK;
out:
	free(b.p);
	ax_avro_schema_free(s);
	return rc;
}

void
ax_avro_schema_free(struct ax_avro_schema *s)
{
	struct ax_avro_node *n, *next;

	if (s == NULL)
		return;
	for (n = s->nodes; n; n = next) {
		next = n->next_owned;
		free(n->fullname);
		free(n->fields);
		free(n->symbols);
		free(n->branches);
		free(n);
	}
	free(s->pcf);
	json_decref(s->json);
	free(s);
}

const struct ax_avro_field *
ax_avro_record_field(const struct ax_avro_node *rec, const char *name)
{
	if (rec->type != AX_AVRO_RECORD)
		return NULL;
	for (size_t i = 0; i < rec->n; i++)
		if (strcmp(rec->fields[i].name, name) == 0)
			return &rec->fields[i];
	return NULL;
}

int
ax_avro_union_branch(const struct ax_avro_node *u, const char *fullname)
{
	if (u->type != AX_AVRO_UNION)
		return -1;
	for (size_t i = 0; i < u->n; i++) {
		const struct ax_avro_node *b = u->branches[i];
		const char *bn = b->fullname ? b->fullname : type_names[b->type];

		if (strcmp(bn, fullname) == 0)
			return (int)i;
	}
	return -1;
}
