/*
 * ledger_vectors.h - reader of tests/data/canon-ledger-v1.txt, the test vectors of canonical
 * encoding v1 of a ledger entry shared by the C unit test (tests/unit/test_canon_ledger.c)
 * and the SQL integration test (tests/integration/0701-ledger-encoding-in-sql.c). Test code
 * only: header-only, fixed capacities, a malformed file fails the test. Reuses the hex and
 * UUID helpers of canon_vectors.h.
 */
#ifndef AXIOM_TESTS_LEDGER_VECTORS_H
#define AXIOM_TESTS_LEDGER_VECTORS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_canon.h"
#include "canon_vectors.h"

enum {
	LV_TOPIC,
	LV_PARTITION,
	LV_SEQ,
	LV_OFFSET,
	LV_COMMAND_ID,
	LV_ACTOR,
	LV_EVENT_TIME_US,
	LV_DECISION,
	LV_REASON_CODE,
	LV_RECORD_HASH,
	LV_PREVIOUS_ENTRY_HASH,
	LV_ENCODING,
	LV_ENTRY_HASH,
	LV_NKEYS
};

static const char *const lv_keys[LV_NKEYS] = { "topic", "partition", "seq", "offset", "command_id",
	"actor", "event_time_us", "decision", "reason_code", "record_hash", "previous_entry_hash",
	"encoding", "entry_hash" };

#define LV_MAX       16
#define LV_VALUE_MAX 1024

struct ledger_vector {
	char name[128];
	char raw[LV_NKEYS][LV_VALUE_MAX]; /* the file's values, verbatim */
	int is_null[LV_NKEYS];
	struct ax_canon_ledger entry; /* points into raw[] and the buffers below */
	uint8_t record_hash[LV_VALUE_MAX / 2];
	uint8_t encoding[LV_VALUE_MAX / 2];
	size_t encoding_len;
	uint8_t entry_hash[AX_HASH_LEN];
};

/* Parse a decimal int64 in s into *out; 0 or -1. */
static inline int
lv_int64(int64_t *out, const char *s)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* Fill v->entry and the byte fields from v->raw; 0 or -1. */
static inline int
lv_build(struct ledger_vector *v)
{
	struct ax_canon_ledger *e = &v->entry;
	int64_t partition;
	long n;

	memset(e, 0, sizeof(*e));
	e->topic = v->raw[LV_TOPIC];
	if (lv_int64(&partition, v->raw[LV_PARTITION]) || partition < 0 || partition > INT32_MAX ||
	    lv_int64(&e->seq, v->raw[LV_SEQ]) || lv_int64(&e->offset, v->raw[LV_OFFSET]) ||
	    lv_int64(&e->event_time_us, v->raw[LV_EVENT_TIME_US]))
		return -1;
	e->partition = (int32_t)partition;
	e->has_command_id = !v->is_null[LV_COMMAND_ID];
	if (e->has_command_id && cv_uuid(e->command_id, v->raw[LV_COMMAND_ID]))
		return -1;
	e->actor = v->is_null[LV_ACTOR] ? NULL : v->raw[LV_ACTOR];
	e->decision = v->raw[LV_DECISION];
	e->reason_code = v->is_null[LV_REASON_CODE] ? NULL : v->raw[LV_REASON_CODE];
	if (!v->is_null[LV_RECORD_HASH]) {
		if ((n = cv_unhex(v->record_hash, sizeof(v->record_hash), v->raw[LV_RECORD_HASH])) <
		    0)
			return -1;
		e->record_hash = v->record_hash;
		e->record_hash_len = (size_t)n;
	}
	if (cv_unhex(e->previous_entry_hash, AX_HASH_LEN, v->raw[LV_PREVIOUS_ENTRY_HASH]) !=
	    AX_HASH_LEN)
		return -1;
	if ((n = cv_unhex(v->encoding, sizeof(v->encoding), v->raw[LV_ENCODING])) < 0)
		return -1;
	v->encoding_len = (size_t)n;
	return cv_unhex(v->entry_hash, AX_HASH_LEN, v->raw[LV_ENTRY_HASH]) == AX_HASH_LEN ? 0 : -1;
}

/*
 * Load the vectors of path into v[0..max); the count, or -1 (with a line on stderr) when
 * the file is missing or malformed.
 */
static inline int
ledger_vectors_load(struct ledger_vector *v, int max, const char *path)
{
	char line[LV_VALUE_MAX + 64];
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
			if (count > 0 && lv_build(&v[count - 1]) != 0)
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
		for (k = 0; k < LV_NKEYS && strcmp(line, lv_keys[k]) != 0; k++)
			;
		if (k == LV_NKEYS || strlen(val) >= LV_VALUE_MAX)
			goto bad;
		snprintf(v[count - 1].raw[k], LV_VALUE_MAX, "%s", val);
		v[count - 1].is_null[k] = strcmp(val, "NULL") == 0;
	}
	if (count > 0 && lv_build(&v[count - 1]) != 0)
		goto bad;
	fclose(fp);
	return count;
bad:
	fprintf(stderr, "%s:%d: malformed test vector\n", path, lineno);
	fclose(fp);
	return -1;
}

#endif
