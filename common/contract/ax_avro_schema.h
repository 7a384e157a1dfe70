/*
 * ax_avro_schema.h - Avro schemas as Axiom uses them: a compiled tree, the Parsing Canonical
 * Form, the CRC-64-AVRO fingerprint and single-object framing (pure: no I/O, no globals).
 *
 * avro-c 1.11.1 has neither Parsing Canonical Form nor fingerprints, and its own schema
 * printer drops defaults, so Axiom compiles the schema JSON (jansson) into its own tree,
 * which the pre-validator (ax_avro_validate.h) walks over untrusted bytes and the codec
 * (ax_codec.h) reads defaults from.
 *
 * Invariants:
 *  (1) a compiled schema is immutable after ax_avro_schema_new returns: any number of
 *      threads may read it at once;
 *  (2) every named type has its full name (FULLNAMES rule); a reference to a named type
 *      points at the one node that defines it, so recursive schemas are finite trees with
 *      back edges, and every node is owned by the schema's node list;
 *  (3) pcf is the Parsing Canonical Form of the specification (PRIMITIVES, FULLNAMES,
 *      STRIP, ORDER, STRINGS, INTEGERS, WHITESPACE) and fingerprint is CRC-64-AVRO of it.
 */
#ifndef AX_AVRO_SCHEMA_H
#define AX_AVRO_SCHEMA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

#define AX_AVRO_SCHEMA_MAX     (1024 * 1024) /* bytes of schema JSON we accept */
#define AX_AVRO_SOE_HEADER_LEN 10            /* C3 01 + 8-byte fingerprint */
#define AX_AVRO_CRC64_EMPTY    UINT64_C(0xc15d213aa4d7a795)

enum ax_avro_type {
	AX_AVRO_NULL,
	AX_AVRO_BOOLEAN,
	AX_AVRO_INT,
	AX_AVRO_LONG,
	AX_AVRO_FLOAT,
	AX_AVRO_DOUBLE,
	AX_AVRO_BYTES,
	AX_AVRO_STRING,
	AX_AVRO_RECORD,
	AX_AVRO_ENUM,
	AX_AVRO_ARRAY,
	AX_AVRO_MAP,
	AX_AVRO_UNION,
	AX_AVRO_FIXED
};

struct ax_avro_node;

/* One field of a record. */
struct ax_avro_field {
	const char *name;           /* borrowed from the schema's JSON */
	struct ax_avro_node *type;  /* owned by the schema's node list */
	const json_t *default_json; /* the field's "default", NULL when it has none */
};

/* One node of a compiled schema; which members are used depends on type. */
struct ax_avro_node {
	enum ax_avro_type type;
	char *fullname;                  /* record, enum, fixed: "ns.Name" (owned) */
	const char *name;                /* record, enum, fixed: the part after the last dot */
	const char *logical_type;        /* "uuid", "timestamp-micros", ... or NULL (borrowed) */
	size_t n;                        /* fields, symbols or branches; size of a fixed */
	struct ax_avro_field *fields;    /* record (owned array) */
	const char **symbols;            /* enum (owned array of borrowed strings) */
	struct ax_avro_node **branches;  /* union (owned array of borrowed nodes) */
	struct ax_avro_node *items;      /* array items, map values */
	struct ax_avro_node *next_owned; /* the schema's list of every node it owns */
	int pcf_seen;                    /* scratch of the PCF writer while compiling */
};

/* A compiled schema. */
struct ax_avro_schema {
	json_t *json;               /* the parsed JSON (owned): names, symbols, defaults */
	struct ax_avro_node *root;  /* the top-level type */
	struct ax_avro_node *nodes; /* every node, for freeing */
	char *pcf;                  /* Parsing Canonical Form, NUL-terminated (owned) */
	size_t pcf_len;
	uint64_t fingerprint; /* CRC-64-AVRO of pcf */
};

/*
 * Parse text[0..len) as an Avro schema and compile it. AX_EINVAL with the JSON position or
 * the schema path of the first problem (unknown type name, duplicate name, bad attribute).
 * *out is owned by the caller (ax_avro_schema_free).
 */
int ax_avro_schema_new(
    struct ax_avro_schema **out, const char *text, size_t len, struct ax_err *err);

/* Free s and everything it owns; NULL is a no-op. */
void ax_avro_schema_free(struct ax_avro_schema *s);

/* The CRC-64-AVRO fingerprint of buf[0..len) (specification, "Schema Fingerprints"). */
uint64_t ax_avro_crc64(const uint8_t *buf, size_t len);

/* Write the single-object header of fingerprint fp (C3 01, then fp little-endian) to out. */
void ax_avro_soe_header(uint8_t out[AX_AVRO_SOE_HEADER_LEN], uint64_t fp);

/* The record field called name in record node rec, or NULL when it has none. */
const struct ax_avro_field *ax_avro_record_field(const struct ax_avro_node *rec, const char *name);

/* The index of the branch of union node u whose type is named fullname, or -1. */
int ax_avro_union_branch(const struct ax_avro_node *u, const char *fullname);

/* A stable lower-case name of type t ("record", "long", ...). */
const char *ax_avro_type_name(enum ax_avro_type t);

#endif
