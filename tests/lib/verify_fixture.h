/*
 * verify_fixture.h - helpers of the `axiom verify` integration tests (0700-0799), on top of
 * ax_dbtest.h: build batches of record commands whose record hashes are computed in C
 * (common/canon/ax_canon.h, as the applier does), apply them through axiom_api.apply_batch with
 * Kafka offsets so that the ledger is written by the database, and run the `axiom` binary
 * ($AXIOM_BIN) capturing its output and exit code. Test code only: header-only, fixed
 * capacities, Check assertions.
 */
#ifndef AXIOM_TESTS_VERIFY_FIXTURE_H
#define AXIOM_TESTS_VERIFY_FIXTURE_H

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ax_canon.h"
#include "ax_dbtest.h"
#include "ax_hex.h"
#include "ax_uuid.h"

#define VF_BASE_US      INT64_C(1767226200000000) /* 2026-01-01 00:10:00 UTC */
#define VF_MAX_LINEAGES 16

/* The head of a lineage as the batch builder knows it. */
struct vf_lineage {
	char id[40];
	int64_t version;
	char record_id[40];
	uint8_t hash[AX_HASH_LEN];
};

/* A batch of commands for one partition, as a JSON array. */
struct vf_batch {
	char json[65536];
	size_t len;
	int n;
	int64_t next_offset; /* offset of the next command */
};

static struct vf_lineage vf_lineages[VF_MAX_LINEAGES];
static int vf_nlineages;
static int64_t vf_tick; /* event time counter, microseconds after VF_BASE_US */

static inline void
vf_reset(void)
{
	memset(vf_lineages, 0, sizeof(vf_lineages));
	vf_nlineages = 0;
	vf_tick = 0;
}

/* ISO 8601 text of VF_BASE_US + us. */
static inline void
vf_time(char out[40], int64_t us)
{
	snprintf(out, 40, "2026-01-01T00:%02d:%02d.%06d+00:00", (int)(10 + us / 60000000),
	    (int)(us / 1000000 % 60), (int)(us % 1000000));
}

static inline void vf_append(struct vf_batch *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
vf_append(struct vf_batch *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len == 0)
		b->json[b->len++] = '[';
	else
		b->json[b->len - 1] = ','; /* replace the closing bracket */
	va_start(ap, fmt);
	n = vsnprintf(b->json + b->len, sizeof(b->json) - b->len, fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n + 2 < sizeof(b->json) - b->len);
	b->len += (size_t)n;
	b->json[b->len++] = ']';
	b->json[b->len] = '\0';
	b->n++;
	b->next_offset++;
}

/*
 * Append the next version of lineage id (version 1 when new) by alice, note type, content
 * "<title>", its record hash computed in C; returns the record_id.
 */
static inline const char *
vf_version(struct vf_batch *b, const char *id, const char *title)
{
	struct vf_lineage *l = NULL;
	struct ax_canon_record r;
	struct ax_sha256 *h = NULL;
	struct ax_err err;
	char et[40], hash[65], prev[65], content[256];
	uint8_t digest[AX_HASH_LEN];
	int i;

	for (i = 0; i < vf_nlineages; i++)
		if (strcmp(vf_lineages[i].id, id) == 0)
			l = &vf_lineages[i];
	if (l == NULL) {
		ck_assert_int_lt(vf_nlineages, VF_MAX_LINEAGES);
		l = &vf_lineages[vf_nlineages++];
		snprintf(l->id, sizeof(l->id), "%s", id);
	}
	vf_tick += 1000001;
	vf_time(et, vf_tick);
	memset(&r, 0, sizeof(r));
	ck_assert(ax_uuid_parse(r.id, id, strlen(id)));
	r.version = l->version + 1;
	if (l->version > 0) {
		r.has_previous = 1;
		ck_assert(ax_uuid_parse(r.previous_record_id, l->record_id, strlen(l->record_id)));
		memcpy(r.previous_record_hash, l->hash, AX_HASH_LEN);
		ax_hex_encode(prev, l->hash, AX_HASH_LEN);
	}
	/* record_id: the lineage id with the version in its last two hex digits */
	snprintf(l->record_id, sizeof(l->record_id), "%.34s%02x", id, (unsigned)r.version);
	ck_assert(ax_uuid_parse(r.record_id, l->record_id, strlen(l->record_id)));
	r.record_type = "note";
	r.facility_id = "F1";
	r.domain_id = "QC";
	r.title = title;
	r.content = (const uint8_t *)title;
	r.content_len = strlen(title);
	r.created_by = "alice";
	r.created_at_us = VF_BASE_US + vf_tick;
	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	ck_assert_int_eq(ax_canon_record_hash(digest, h, &r, &err), AX_OK);
	ax_sha256_free(h);
	ax_hex_encode(hash, digest, AX_HASH_LEN);
	ax_hex_encode(content, (const uint8_t *)title, strlen(title));
	if (l->version == 0)
		vf_append(b,
		    "{\"op\":\"create_record\",\"reason\":\"r\",\"actor\":\"alice\",\"event_time\":"
		    "\"%s\","
		    "\"command_id\":\"%.30s%06d\",\"offset\":%" PRId64 ",\"record_id\":\"%s\","
		    "\"id\":\"%s\",\"record_type\":\"note\",\"facility_id\":\"F1\","
		    "\"title\":\"%s\",\"content\":\"%s\",\"record_hash\":\"%s\"}",
		    et, "00000000-0000-4000-8000-00000c", (int)vf_tick % 1000000, b->next_offset,
		    l->record_id, id, title, content, hash);
	else
		vf_append(b,
		    "{\"op\":\"new_version\",\"reason\":\"r\",\"actor\":\"alice\",\"event_time\":"
		    "\"%s\","
		    "\"command_id\":\"%.30s%06d\",\"offset\":%" PRId64 ",\"record_id\":\"%s\","
		    "\"id\":\"%s\",\"previous_record_hash\":\"%s\",\"title\":\"%s\","
		    "\"content\":\"%s\",\"record_hash\":\"%s\"}",
		    et, "00000000-0000-4000-8000-00000c", (int)vf_tick % 1000000, b->next_offset,
		    l->record_id, id, prev, title, content, hash);
	l->version = r.version;
	memcpy(l->hash, digest, AX_HASH_LEN);
	return l->record_id;
}

/* Append a command the database rejects: frank (technician) creating a record. */
static inline void
vf_rejected(struct vf_batch *b, const char *id)
{
	char et[40];

	vf_tick += 1000001;
	vf_time(et, vf_tick);
	vf_append(b,
	    "{\"op\":\"create_record\",\"reason\":\"r\",\"actor\":\"frank\",\"event_time\":\"%s\","
	    "\"command_id\":null,\"offset\":%" PRId64 ",\"record_id\":\"%.34sff\",\"id\":\"%s\","
	    "\"record_type\":\"note\",\"facility_id\":\"F1\",\"title\":\"no\",\"content\":\"00\","
	    "\"record_hash\":\"00\"}",
	    et, b->next_offset, id, id);
}

/* Append an undecodable message (quarantined outcome). */
static inline void
vf_quarantine(struct vf_batch *b)
{
	char et[40];

	vf_tick += 1000001;
	vf_time(et, vf_tick);
	vf_append(b,
	    "{\"op\":\"quarantine\",\"event_time\":\"%s\",\"offset\":%" PRId64 ","
	    "\"reason_code\":\"undecodable\",\"payload_sha256\":"
	    "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}",
	    et, b->next_offset);
}

/* Skip offsets (a transaction marker, say): the next command gets offset + n. */
static inline void
vf_skip(struct vf_batch *b, int64_t n)
{
	b->next_offset += n;
}

/*
 * Apply b to (topic, partition) as the batch entry point does (axiom.partition_commands, the
 * loop that sets each command's ledger reference and extends the ledger, db/0018), without
 * its control watermark wait, and store next_offset (the batch's next offset when < 0) with
 * the compare-and-set; the decisions joined by ",".
 */
static inline const char *
vf_apply(struct vf_batch *b, const char *topic, int partition, int64_t next_offset)
{
	static char out[4096];
	const char *params[4];
	char p[16], expected[32];
	PGresult *res;
	size_t len = 0;
	int i;

	snprintf(p, sizeof(p), "%d", partition);
	snprintf(expected, sizeof(expected), "%s",
	    dbt_value(T.user, "SELECT coalesce(axiom_api.next_offset('%s', %d)::text, 'NULL')",
	        topic, partition));
	params[0] = topic;
	params[1] = p;
	params[2] = b->json;
	params[3] = strcmp(expected, "NULL") == 0 ? NULL : expected;
	res = PQexecParams(T.api,
	    "SELECT coalesce(reason_code, decision) FROM axiom.partition_commands($1, "
	    "$2::integer, $1 LIKE '%.control', $4::bigint, 'infinity', $3::jsonb, true) "
	    "ORDER BY ordinal",
	    4, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "partition_commands: %s",
	    PQresultErrorMessage(res));
	out[0] = '\0';
	for (i = 0; i < PQntuples(res); i++)
		len += (size_t)snprintf(
		    out + len, sizeof(out) - len, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
	PQclear(res);
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.store_next_offset('it-applier', '%s', %d, %s, %" PRId64 ")",
	        topic, partition, expected, next_offset < 0 ? b->next_offset : next_offset),
	    "accepted");
	memset(b, 0, sizeof(*b));
	return out;
}

/* Run "$AXIOM_BIN verify ARGS" (stdout and stderr into out); its exit code. */
static inline int vf_run(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int
vf_run(char *out, size_t cap, const char *fmt, ...)
{
	const char *bin = getenv("AXIOM_BIN");
	char args[4096], cmd[8192];
	size_t len = 0, n;
	va_list ap;
	FILE *fp;
	int st;

	ck_assert_msg(bin != NULL, "AXIOM_BIN is not set");
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' verify %s 2>&1", bin, args);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	while (len + 1 < cap && (n = fread(out + len, 1, cap - len - 1, fp)) > 0)
		len += n;
	out[len] = '\0';
	st = pclose(fp);
	ck_assert_msg(WIFEXITED(st), "axiom verify did not exit normally");
	return WEXITSTATUS(st);
}

/* The libpq DSN of env var var for the test database, single-quoted for the shell. */
static inline const char *
vf_dsn(const char *var)
{
	static char out[2][2048];
	static int k;
	const char *dsn = getenv(var);

	ck_assert_msg(dsn != NULL && strchr(dsn, '\'') == NULL, "%s is unusable", var);
	k = !k;
	snprintf(out[k], sizeof(out[k]), "'%s dbname=%s'", dsn, T.db);
	return out[k];
}

#endif
