/*
 * canon_vectors.h - reader of tests/data/canon-record-v1.txt, the test vectors of canonical
 * encoding v1 shared by the C unit test (tests/unit/test_canon.c) and the SQL integration
 * test (tests/integration/0103-canonical-encoding-in-sql.c). Test code only: header-only,
 * fixed capacities, a malformed file fails the test.
 */
#ifndef AXIOM_TESTS_CANON_VECTORS_H
#define AXIOM_TESTS_CANON_VECTORS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_canon.h"
#include "ax_hex.h"
#include "ax_uuid.h"

enum {
	CV_RECORD_ID,
	CV_ID,
	CV_VERSION,
	CV_PREVIOUS_RECORD_ID,
	CV_PREVIOUS_RECORD_HASH,
	CV_RECORD_TYPE,
	CV_FACILITY_ID,
	CV_DOMAIN_ID,
	CV_TITLE,
	CV_CONTENT,
	CV_CREATED_BY,
	CV_CREATED_AT_US,
	CV_CHANGE_ID,
	CV_ENCODING,
	CV_RECORD_HASH,
	CV_NKEYS
};

static const char *const cv_keys[CV_NKEYS] = { "record_id", "id", "version", "previous_record_id",
	"previous_record_hash", "record_type", "facility_id", "domain_id", "title", "content",
	"created_by", "created_at_us", "change_id", "encoding", "record_hash" };

#define CV_MAX       16
#define CV_VALUE_MAX 2048

struct canon_vector {
	char name[128];
	char raw[CV_NKEYS][CV_VALUE_MAX]; /* the file's values, verbatim */
	int is_null[CV_NKEYS];
	struct ax_canon_record rec; /* points into raw[] and the buffers below */
	uint8_t content[CV_VALUE_MAX / 2];
	uint8_t encoding[CV_VALUE_MAX / 2];
	size_t encoding_len;
	uint8_t record_hash[AX_HASH_LEN];
};

/* Decode hex s into out (capacity cap); the byte count, or -1. */
static inline long
cv_unhex(uint8_t *out, size_t cap, const char *s)
{
	size_t n;

	return ax_hex_decode_upto(out, cap, &n, s) == 0 ? (long)n : -1;
}

/* Parse a UUID's 36-character text form into 16 bytes; 0 or -1. */
static inline int
cv_uuid(uint8_t out[16], const char *s)
{
	return ax_uuid_parse(out, s, strlen(s)) ? 0 : -1;
}

/* Fill v->rec and the byte fields from v->raw; 0 or -1. */
static inline int
cv_build(struct canon_vector *v)
{
	struct ax_canon_record *r = &v->rec;
	long n;
	char *end;

	memset(r, 0, sizeof(*r));
	if (cv_uuid(r->record_id, v->raw[CV_RECORD_ID]) || cv_uuid(r->id, v->raw[CV_ID]))
		return -1;
	r->version = strtoll(v->raw[CV_VERSION], &end, 10);
	if (*end != '\0')
		return -1;
	r->has_previous = !v->is_null[CV_PREVIOUS_RECORD_ID];
	if (r->has_previous &&
	    (cv_uuid(r->previous_record_id, v->raw[CV_PREVIOUS_RECORD_ID]) ||
	        cv_unhex(r->previous_record_hash, 32, v->raw[CV_PREVIOUS_RECORD_HASH]) != 32))
		return -1;
	r->record_type = v->raw[CV_RECORD_TYPE];
	r->facility_id = v->raw[CV_FACILITY_ID];
	r->domain_id = v->raw[CV_DOMAIN_ID];
	r->title = v->raw[CV_TITLE];
	if ((n = cv_unhex(v->content, sizeof(v->content), v->raw[CV_CONTENT])) < 0)
		return -1;
	r->content = v->content;
	r->content_len = (size_t)n;
	r->created_by = v->raw[CV_CREATED_BY];
	r->created_at_us = strtoll(v->raw[CV_CREATED_AT_US], &end, 10);
	if (*end != '\0')
		return -1;
	r->has_change_id = !v->is_null[CV_CHANGE_ID];
	if (r->has_change_id && cv_uuid(r->change_id, v->raw[CV_CHANGE_ID]))
		return -1;
	if ((n = cv_unhex(v->encoding, sizeof(v->encoding), v->raw[CV_ENCODING])) < 0)
		return -1;
	v->encoding_len = (size_t)n;
	return cv_unhex(v->record_hash, 32, v->raw[CV_RECORD_HASH]) == 32 ? 0 : -1;
}

/*
 * Load the vectors of path into v[0..max); the count, or -1 (with a line on stderr) when
 * the file is missing or malformed.
 */
static inline int
canon_vectors_load(struct canon_vector *v, int max, const char *path)
{
	char line[CV_VALUE_MAX + 64];
	FILE *fp = fopen(path, "r");
	int count = 0, k, lineno = 0;

	if (fp == NULL) {
		fprintf(stderr, "could not open %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t n = strlen(line);
		char *eq, *val;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '[') {
			if (count > 0 && cv_build(&v[count - 1]) != 0)
				goto bad;
			if (count == max)
				goto bad;
			memset(&v[count], 0, sizeof(v[count]));
			snprintf(
			    v[count].name, sizeof(v[count].name), "%.*s", (int)(n - 2), line + 1);
			count++;
			continue;
		}
		if (count == 0 || (eq = strstr(line, " =")) == NULL)
			goto bad;
		*eq = '\0';
		val = eq + 2;
		if (*val == ' ')
			val++;
		for (k = 0; k < CV_NKEYS && strcmp(line, cv_keys[k]) != 0; k++)
			;
		if (k == CV_NKEYS || strlen(val) >= CV_VALUE_MAX)
			goto bad;
		snprintf(v[count - 1].raw[k], CV_VALUE_MAX, "%s", val);
		v[count - 1].is_null[k] = strcmp(val, "NULL") == 0;
	}
	if (count > 0 && cv_build(&v[count - 1]) != 0)
		goto bad;
	fclose(fp);
	return count;
bad:
	fprintf(stderr, "%s:%d: malformed test vector\n", path, lineno);
	fclose(fp);
	return -1;
}

#endif
