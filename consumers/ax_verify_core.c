/*
 * ax_verify_core.c - the pure chain checkers of `axiom verify`; see ax_verify.h.
 *
 * No I/O and no globals: rows come in through the feed functions, failures go out through
 * struct ax_verify_failure. Each checker holds one open chain (a lineage, or a topic and
 * partition) and moves to the next when the key of the row changes. States of a chain:
 * OPEN (first row seen) -> POISONED (a failure reported; later rows only counted) and back
 * to OPEN at the next key; both transitions are made by the feed function.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_uuid.h"
#include "ax_verify.h"

static const uint8_t zero_hash[AX_HASH_LEN];

void
ax_verify_failure_format(char *buf, size_t cap, const struct ax_verify_failure *f)
{
	switch (f->chain) {
	case AX_VERIFY_RECORDS:
		if (f->record_id[0] != '\0')
			snprintf(buf, cap, "%s lineage %s %s %" PRId64 " (record_id %s): %s",
			    f->table, f->lineage, f->at, f->position, f->record_id, f->problem);
		else
			snprintf(buf, cap, "%s lineage %s %s %" PRId64 ": %s", f->table, f->lineage,
			    f->at, f->position, f->problem);
		break;
	case AX_VERIFY_SIGNATURES:
		snprintf(buf, cap, "%s: %" PRId64 " failed to re-verify, the first: %s", f->table,
		    f->position, f->problem);
		break;
	case AX_VERIFY_REFERENCES:
		snprintf(buf, cap, "%s row %s: %s", f->table, f->key, f->problem);
		break;
	case AX_VERIFY_LEDGER:
	case AX_VERIFY_LOG:
	default:
		snprintf(buf, cap, "%s %s partition %" PRId32 " %s %" PRId64 ": %s", f->table,
		    f->topic, f->partition, f->at, f->position, f->problem);
		break;
	}
}

/* Whether a (possibly NULL) stored hash equals want[0..want_len). */
static int
same_bytes(const uint8_t *p, size_t len, const uint8_t *want, size_t want_len)
{
	return p != NULL && len == want_len && memcmp(p, want, len) == 0;
}

/* Record chains ---------------------------------------------------------------------------- */

struct ax_verify_records {
	struct ax_sha256 *sha; /* fetched once, reused per version */
	struct ax_verify_counts counts;
	int open;                            /* a lineage has been seen */
	int poisoned;                        /* its failure was reported */
	uint8_t id[AX_UUID_LEN];             /* the open lineage */
	int64_t last_version;                /* version of its last row */
	uint8_t last_record_id[AX_UUID_LEN]; /* record_id of its last row */
	uint8_t last_hash[AX_HASH_LEN];      /* stored record_hash of its last row ... */
	size_t last_hash_len;                /* ... and its length (32 unless tampered) */
};

int
ax_verify_records_new(struct ax_verify_records **out, struct ax_err *err)
{
	struct ax_verify_records *v = NULL;
	int rc;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory creating a record chain checker");
	if ((rc = ax_sha256_new(&v->sha, err)) != AX_OK)
		goto out;
	*out = v;
	v = NULL;
out:
	ax_verify_records_free(v);
	return rc;
}

void
ax_verify_records_free(struct ax_verify_records *v)
{
	if (v == NULL)
		return;
	ax_sha256_free(v->sha);
	free(v);
}

struct ax_verify_counts
ax_verify_records_counts(const struct ax_verify_records *v)
{
	return v->counts;
}

/* Fill f for the open lineage at version position (row r, NULL when no row); poison it. */
static int records_broken(struct ax_verify_records *v, const struct ax_verify_version *r,
    int64_t position, struct ax_verify_failure *f, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
records_broken(struct ax_verify_records *v, const struct ax_verify_version *r, int64_t position,
    struct ax_verify_failure *f, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->chain = AX_VERIFY_RECORDS;
	f->table = "axiom.records";
	ax_uuid_format(f->lineage, v->id);
	f->partition = -1;
	f->at = "version";
	f->position = position;
	if (r != NULL)
		ax_uuid_format(f->record_id, r->record_id);
	va_start(ap, fmt);
	vsnprintf(f->problem, sizeof(f->problem), fmt, ap);
	va_end(ap);
	v->poisoned = 1;
	v->counts.broken++;
	return AX_VERIFY_BROKEN;
}

int
ax_verify_records_feed(struct ax_verify_records *v, const struct ax_verify_version *r,
    struct ax_verify_failure *f, struct ax_err *err)
{
	struct ax_canon_record c;
	uint8_t h[AX_HASH_LEN];
	int first, rc;

	if (!v->open || memcmp(v->id, r->id, AX_UUID_LEN) != 0) {
		v->open = 1;
		v->poisoned = 0;
		memcpy(v->id, r->id, AX_UUID_LEN);
		v->last_version = 0;
		v->counts.chains++;
	}
	v->counts.rows++;
	if (v->poisoned)
		return AX_OK;
	first = v->last_version == 0;
	if (r->version != v->last_version + 1) {
		if (r->version > v->last_version + 1)
			return records_broken(v, NULL, v->last_version + 1, f,
			    "version %" PRId64 " is missing (the next stored version is %" PRId64
			    ")",
			    v->last_version + 1, r->version);
		return records_broken(v, r, r->version, f,
		    "version %" PRId64 " appears more than once or out of order", r->version);
	}
	if (first) {
		if (r->has_previous_record_id)
			return records_broken(
			    v, r, r->version, f, "version 1 has a previous_record_id");
		if (r->previous_record_hash != NULL)
			return records_broken(
			    v, r, r->version, f, "version 1 has a previous_record_hash");
	} else {
		if (!r->has_previous_record_id ||
		    memcmp(r->previous_record_id, v->last_record_id, AX_UUID_LEN) != 0)
			return records_broken(v, r, r->version, f,
			    "previous_record_id is not the record_id of version %" PRId64,
			    v->last_version);
		if (!same_bytes(r->previous_record_hash, r->previous_record_hash_len, v->last_hash,
		        v->last_hash_len) ||
		    r->previous_record_hash_len != AX_HASH_LEN)
			return records_broken(v, r, r->version, f,
			    "previous_record_hash is not the record_hash of version %" PRId64,
			    v->last_version);
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.record_id, r->record_id, AX_UUID_LEN);
	memcpy(c.id, r->id, AX_UUID_LEN);
	c.version = r->version;
	if ((c.has_previous = !first)) {
		memcpy(c.previous_record_id, r->previous_record_id, AX_UUID_LEN);
		memcpy(c.previous_record_hash, r->previous_record_hash, AX_HASH_LEN);
	}
	c.record_type = r->record_type;
	c.facility_id = r->facility_id;
	c.domain_id = r->domain_id;
	c.title = r->title;
	c.content = r->content;
	c.content_len = r->content_len;
	c.created_by = r->created_by;
	c.created_at_us = r->created_at_us;
	if ((c.has_change_id = r->has_change_id))
		memcpy(c.change_id, r->change_id, AX_UUID_LEN);
	rc = ax_canon_record_hash(h, v->sha, &c, err);
	if (rc == AX_EINVAL)
		return records_broken(
		    v, r, r->version, f, "the stored columns cannot be encoded: %s", err->msg);
	if (rc != AX_OK)
		return rc;
	v->last_version = r->version;
	memcpy(v->last_record_id, r->record_id, AX_UUID_LEN);
	v->last_hash_len = r->record_hash_len < AX_HASH_LEN ? r->record_hash_len : AX_HASH_LEN;
	if (r->record_hash != NULL)
		memcpy(v->last_hash, r->record_hash, v->last_hash_len);
	if (!same_bytes(r->record_hash, r->record_hash_len, h, AX_HASH_LEN))
		return records_broken(
		    v, r, r->version, f, "record_hash does not match the stored columns");
	return AX_OK;
}

/* Ledger chains ---------------------------------------------------------------------------- */

struct ax_verify_ledger {
	struct ax_sha256 *sha;
	struct ax_verify_counts counts;
	int open;
	int poisoned;
	char *topic; /* the open chain's topic (owned) */
	size_t topic_cap;
	int32_t partition;
	int64_t last_seq; /* 0 before the first entry */
	int64_t last_offset;
	uint8_t last_hash[AX_HASH_LEN];
	size_t last_hash_len;
};

int
ax_verify_ledger_new(struct ax_verify_ledger **out, struct ax_err *err)
{
	struct ax_verify_ledger *v = NULL;
	int rc;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory creating a ledger chain checker");
	if ((rc = ax_sha256_new(&v->sha, err)) != AX_OK)
		goto out;
	*out = v;
	v = NULL;
out:
	ax_verify_ledger_free(v);
	return rc;
}

void
ax_verify_ledger_free(struct ax_verify_ledger *v)
{
	if (v == NULL)
		return;
	ax_sha256_free(v->sha);
	free(v->topic);
	free(v);
}

struct ax_verify_counts
ax_verify_ledger_counts(const struct ax_verify_ledger *v)
{
	return v->counts;
}

/* Fill f for the open partition at seq position; poison it. */
static int ledger_broken(struct ax_verify_ledger *v, int64_t position, struct ax_verify_failure *f,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ledger_broken(
    struct ax_verify_ledger *v, int64_t position, struct ax_verify_failure *f, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->chain = AX_VERIFY_LEDGER;
	f->table = "axiom.ledger";
	snprintf(f->topic, sizeof(f->topic), "%s", v->topic);
	f->partition = v->partition;
	f->at = "seq";
	f->position = position;
	va_start(ap, fmt);
	vsnprintf(f->problem, sizeof(f->problem), fmt, ap);
	va_end(ap);
	v->poisoned = 1;
	v->counts.broken++;
	return AX_VERIFY_BROKEN;
}

/* Open the chain of (topic, partition) unless it is the open one. */
static int
ledger_key(struct ax_verify_ledger *v, const char *topic, int32_t partition, struct ax_err *err)
{
	size_t n = strlen(topic);
	char *t;

	if (v->open && v->partition == partition && strcmp(v->topic, topic) == 0)
		return AX_OK;
	if (n + 1 > v->topic_cap) {
		if ((t = realloc(v->topic, n + 1)) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory reading the ledger");
		v->topic = t;
		v->topic_cap = n + 1;
	}
	memcpy(v->topic, topic, n + 1);
	v->partition = partition;
	v->open = 1;
	v->poisoned = 0;
	v->last_seq = 0;
	v->last_offset = -1;
	memcpy(v->last_hash, zero_hash, AX_HASH_LEN);
	v->last_hash_len = AX_HASH_LEN;
	v->counts.chains++;
	return AX_OK;
}

int
ax_verify_ledger_feed(struct ax_verify_ledger *v, const struct ax_verify_entry *e,
    struct ax_verify_failure *f, struct ax_err *err)
{
	struct ax_canon_ledger c;
	uint8_t h[AX_HASH_LEN];
	int rc;

	if ((rc = ledger_key(v, e->topic, e->partition, err)) != AX_OK)
		return rc;
	v->counts.rows++;
	if (v->poisoned)
		return AX_OK;
	if (e->seq != v->last_seq + 1) {
		if (e->seq > v->last_seq + 1)
			return ledger_broken(v, v->last_seq + 1, f,
			    "entry %" PRId64 " is missing (the next stored entry is %" PRId64
			    ", offset %" PRId64 ")",
			    v->last_seq + 1, e->seq, e->offset);
		return ledger_broken(v, e->seq, f,
		    "entry %" PRId64 " appears more than once or out of order", e->seq);
	}
	if (!same_bytes(e->previous_entry_hash, e->previous_entry_hash_len, v->last_hash,
	        v->last_hash_len)) {
		if (v->last_seq == 0)
			return ledger_broken(v, e->seq, f,
			    "previous_entry_hash of the first entry is not 32 zero bytes");
		return ledger_broken(v, e->seq, f,
		    "previous_entry_hash is not the entry_hash of entry %" PRId64, v->last_seq);
	}
	memset(&c, 0, sizeof(c));
	c.topic = e->topic;
	c.partition = e->partition;
	c.seq = e->seq;
	c.offset = e->offset;
	if ((c.has_command_id = e->has_command_id))
		memcpy(c.command_id, e->command_id, AX_UUID_LEN);
	c.actor = e->actor;
	c.event_time_us = e->event_time_us;
	c.decision = e->decision;
	c.reason_code = e->reason_code;
	c.record_hash = e->record_hash;
	c.record_hash_len = e->record_hash_len;
	memcpy(c.previous_entry_hash, e->previous_entry_hash, AX_HASH_LEN);
	rc = ax_canon_ledger_hash(h, v->sha, &c, err);
	if (rc == AX_EINVAL)
		return ledger_broken(
		    v, e->seq, f, "the stored columns cannot be encoded: %s", err->msg);
	if (rc != AX_OK)
		return rc;
	v->last_seq = e->seq;
	v->last_hash_len = e->entry_hash_len < AX_HASH_LEN ? e->entry_hash_len : AX_HASH_LEN;
	if (e->entry_hash != NULL)
		memcpy(v->last_hash, e->entry_hash, v->last_hash_len);
	if (!same_bytes(e->entry_hash, e->entry_hash_len, h, AX_HASH_LEN))
		return ledger_broken(v, e->seq, f, "entry_hash does not match the stored columns");
	if (e->offset <= v->last_offset)
		return ledger_broken(v, e->seq, f,
		    "offset %" PRId64 " is not after offset %" PRId64 " of entry %" PRId64,
		    e->offset, v->last_offset, e->seq - 1);
	v->last_offset = e->offset;
	return AX_OK;
}

/* The Kafka log of one partition ------------------------------------------------------------ */

/* Report the first failure of a partition's cross-check (later ones are only counted). */
static void log_broken(struct ax_verify_log_result *out, const char *topic, int32_t partition,
    int64_t offset, ax_verify_report_fn report, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void
log_broken(struct ax_verify_log_result *out, const char *topic, int32_t partition, int64_t offset,
    ax_verify_report_fn report, void *arg, const char *fmt, ...)
{
	struct ax_verify_failure f;
	va_list ap;

	if (out->broken)
		return;
	out->broken = true;
	memset(&f, 0, sizeof(f));
	f.chain = AX_VERIFY_LOG;
	f.table = "kafka";
	snprintf(f.topic, sizeof(f.topic), "%s", topic);
	f.partition = partition;
	f.at = "offset";
	f.position = offset;
	va_start(ap, fmt);
	vsnprintf(f.problem, sizeof(f.problem), fmt, ap);
	va_end(ap);
	if (report != NULL)
		report(arg, &f);
}

int
ax_verify_log_partition(const char *topic, int32_t partition, int64_t log_start,
    int64_t next_offset, struct ax_verify_source *ledger, struct ax_verify_source *log,
    const int64_t *log_end, ax_verify_report_fn report, void *arg, struct ax_verify_log_result *out,
    struct ax_err *err)
{
	int64_t lo = 0, ls = 0, ko = 0, unused, last_matched = -1, last_seq = 0;
	int have_l, have_k;

	memset(out, 0, sizeof(*out));
	if ((have_l = ledger->next(ledger->arg, &lo, &ls, err)) < 0)
		return have_l;
	if ((have_k = log->next(log->arg, &ko, &unused, err)) < 0)
		return have_k;
	out->log_offsets += have_k;
	while (have_l || have_k) {
		if (have_l && have_k && lo == ko) {
			const uint8_t *lh =
			    ledger->payload_hash ? ledger->payload_hash(ledger->arg) : NULL;
			const uint8_t *kh = log->payload_hash ? log->payload_hash(log->arg) : NULL;

			out->matched++;
			if (lh != NULL && kh != NULL) {
				out->payload_checked++;
				if (memcmp(lh, kh, AX_HASH_LEN) != 0) {
					out->payload_differs++;
					log_broken(out, topic, partition, lo, report, arg,
					    "ledger entry %" PRId64
					    " has a payload_hash that is not "
					    "the SHA-256 of the message at offset %" PRId64,
					    ls, lo);
				}
			}
			last_matched = lo;
			last_seq = ls;
			if ((have_l = ledger->next(ledger->arg, &lo, &ls, err)) < 0 ||
			    (have_k = log->next(log->arg, &ko, &unused, err)) < 0)
				return have_l < 0 ? have_l : have_k;
			out->log_offsets += have_k;
		} else if (have_l && (!have_k || lo < ko)) {
			out->stray_entries++;
			if (lo == last_matched)
				log_broken(out, topic, partition, lo, report, arg,
				    "offset %" PRId64
				    " has more than one ledger entry (seq %" PRId64 " and %" PRId64
				    ")",
				    lo, last_seq, ls);
			else if (next_offset < 0)
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", but no next offset is stored for the partition",
				    ls, lo);
			else if (lo >= next_offset)
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", at or after the stored next offset %" PRId64,
				    ls, lo, next_offset);
			else if (lo < log_start)
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", below the log start offset %" PRId64,
				    ls, lo, log_start);
			else
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", which is not in the log",
				    ls, lo);
			if ((have_l = ledger->next(ledger->arg, &lo, &ls, err)) < 0)
				return have_l;
		} else {
			out->missing_entries++;
			log_broken(out, topic, partition, ko, report, arg,
			    "offset %" PRId64 " is in the log but has no ledger entry", ko);
			if ((have_k = log->next(log->arg, &ko, &unused, err)) < 0)
				return have_k;
			out->log_offsets += have_k;
		}
	}
	if (next_offset > 0 && log_end != NULL && *log_end >= 0 && *log_end < next_offset)
		log_broken(out, topic, partition, next_offset, report, arg,
		    "the stored next offset %" PRId64
		    " is beyond the end of the log (offset %" PRId64 ")",
		    next_offset, *log_end);
	return AX_OK;
}
