/*
 * ax_verify.c - the runner of `axiom verify`: feeds the pure checkers of ax_verify_core.c
 * from PostgreSQL and the Kafka log; see ax_verify.h.
 *
 * Invariants:
 *  (1) one snapshot: every stage reads in one REPEATABLE READ READ ONLY transaction, and
 *      the extra connections of the parallel stages (--jobs) import its snapshot
 *      (pg_export_snapshot), so a live applier cannot make a valid database look broken;
 *  (2) the bulk tables (records, ledger, session_events) are streamed unsorted with
 *      COPY ... TO STDOUT (FORMAT binary) and parsed in C (no per-row libpq result); memory
 *      holds the ledger's entries for the reference checks (40 bytes each), the versions and
 *      entries that come before the one they follow in the table's physical order (until it
 *      came), and the largest row, never the rows themselves;
 *  (3) a COPY row is parsed completely before any pointer into it is taken: the reader may
 *      move its buffer while a row is incomplete, never while a row is in use;
 *  (4) the Kafka consumer is assign()-only (it never joins its group and never commits),
 *      reads committed records only (the applier's own isolation level), and every wait is
 *      bounded by kafka_timeout_ms without progress.
 *
 * The stages run in order (stages[] below): ledger chains (first: they keep the entries the
 * reference checks need), record chains, ledger references (db/0018), signed checkpoints,
 * stored e-signatures (--signatures), the Kafka log, the audit topic (each ledger entry
 * exactly once, with its hash: issue 13).
 */
#include "ax_verify.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_checkpoint.h"
#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_kafka.h"
#include "ax_pg.h"
#include "ax_sign_reverify.h"

#define PG_EPOCH_US    INT64_C(946684800000000) /* 2000-01-01 - 1970-01-01, in us */
#define COPY_ROW_MAX   ((size_t)AX_CANON_MAX_FIELD * 2u + (1u << 20))
#define LOG_POLL_MS    200
#define MAX_LOG_TOPICS 2

/*
 * The settings of every verification transaction: a sequential scan starts at the table's
 * first block (not where another scan is, so the physical order the unordered record checker
 * relies on to keep few versions waiting holds); no parallel workers (they interleave the
 * rows and compete with the jobs for the cores); no JIT (its compilation costs more than it
 * saves on these streams).
 */
#define READ_SETTINGS                                                                              \
	"SET LOCAL synchronize_seqscans TO off; SET LOCAL max_parallel_workers_per_gather TO 0; "  \
	"SET LOCAL jit TO off"

/*
 * One ledger entry as the ledger references of the two bulk tables (records, session_events)
 * are checked against it: kept in memory from the ledger stage (40 bytes an entry).
 */
struct ref_entry {
	int64_t seq;
	int64_t event_time; /* as stored: microseconds since 2000-01-01 */
	uint8_t command_id[AX_UUID_LEN];
	uint8_t flags; /* REF_* */
};

#define REF_ACCEPTED    0x01u /* decision = 'accepted' */
#define REF_REJECTED    0x02u /* decision = 'rejected' */
#define REF_HAS_COMMAND 0x04u /* command_id is not NULL */
#define REF_TWICE       0x08u /* the ledger has this seq more than once */

/* The entries of one (topic, partition), in seq order once sealed (ref_seal). */
struct ref_part {
	char *topic;
	size_t topic_len;
	int32_t partition;
	struct ref_entry *e;
	size_t n, cap;
	bool unsorted; /* an entry came after one of a higher seq */
};

/* Every ledger entry, by (topic, partition) then seq; filled by the ledger stage. */
struct ref_index {
	struct ref_part *p;
	size_t n, cap;
	size_t last;       /* the part of the last entry added */
	int64_t time_back; /* entries whose event time is before their predecessor's */
};

/* Rows of a bulk table whose ledger reference the C check found out of line. */
struct ref_problems {
	int64_t records, session_events;
};

/* The state one run shares between its stages. */
struct run {
	const struct ax_verify_opts *o;
	PGconn *conn;
	ax_verify_report_fn report;
	void *arg;
	struct ax_verify_summary *sum;
	pthread_mutex_t mu; /* serializes report() between the jobs of the record stage */
	struct ref_index refs;
	struct ref_problems ref_problems;
	size_t wait_max; /* versions that may wait at once in a record job, 0: no bound */
	int njobs;       /* connections of the parallel stages, 0: none yet */
	PGconn *jobconn[AX_VERIFY_JOBS_MAX]; /* [0] is conn; the others are owned */
};

/* Hand f to the caller's report function, one job at a time. */
static void
report(struct run *r, const struct ax_verify_failure *f)
{
	if (r->report == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->report(r->arg, f);
	pthread_mutex_unlock(&r->mu);
}

/* Binary COPY reader ------------------------------------------------------------------------ */

struct copy_field {
	size_t off;  /* into reader.buf */
	int32_t len; /* -1: NULL */
};

struct copy_reader {
	PGconn *conn;
	uint8_t *buf; /* [0, len) holds data; [mark, len) is not yet consumed */
	size_t len, cap;
	size_t pos;  /* parse cursor */
	size_t mark; /* start of the row being parsed; bytes before it may be discarded */
	int ended;   /* PQgetCopyData said the stream is over */
	int nfields;
	struct copy_field f[24];
};

/* Make at least need bytes available at r->pos; AX_ERR when the stream ends before. */
static int
copy_fill(struct copy_reader *r, size_t need, struct ax_err *err)
{
	while (r->len - r->pos < need) {
		char *chunk = NULL;
		int n;

		if (r->ended)
			return ax_err_set(
			    err, AX_ERR, "the COPY stream ended in the middle of a row");
		n = PQgetCopyData(r->conn, &chunk, 0);
		if (n == -1) {
			r->ended = 1;
			continue;
		}
		if (n < 0) {
			PGresult *res = PQgetResult(r->conn);
			int rc = ax_pg_err(err, r->conn, res, "could not read the COPY stream");

			PQclear(res);
			return rc;
		}
		if (r->cap - r->len < (size_t)n && r->mark > 0) {
			memmove(r->buf, r->buf + r->mark, r->len - r->mark);
			r->len -= r->mark;
			r->pos -= r->mark;
			r->mark = 0;
		}
		if (r->cap - r->len < (size_t)n) {
			size_t cap = r->cap ? r->cap : 1u << 20;
			uint8_t *b;

			while (cap - r->len < (size_t)n)
				cap *= 2;
			if (cap > COPY_ROW_MAX + (1u << 20) || (b = realloc(r->buf, cap)) == NULL) {
				PQfreemem(chunk);
				return ax_err_set(
				    err, AX_ERR, "a row of the COPY stream is too large");
			}
			r->buf = b;
			r->cap = cap;
		}
		memcpy(r->buf + r->len, chunk, (size_t)n);
		r->len += (size_t)n;
		PQfreemem(chunk);
	}
	return AX_OK;
}

/* The big-endian uint32 at p. */
static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The big-endian int64 at p. */
static int64_t
be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4));
}

/* Start COPY sql on r->conn and read the binary header. */
static int
copy_start(struct copy_reader *r, PGconn *conn, const char *sql, struct ax_err *err)
{
	static const uint8_t sig[11] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0 };
	PGresult *res;
	uint32_t ext;
	int rc;

	memset(r, 0, sizeof(*r));
	r->conn = conn;
	res = PQexec(conn, sql);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = ax_pg_err(err, conn, res, "could not read the stored chains");
		if (strcmp(err->sqlstate, "42P01") == 0)
			ax_err_hint(err, "Is this an Axiom database? \"axiom migrate\" creates the "
			                 "tables.");
		PQclear(res);
		return rc;
	}
	PQclear(res);
	if ((rc = copy_fill(r, 19, err)) != AX_OK)
		return rc;
	if (memcmp(r->buf, sig, sizeof(sig)) != 0)
		return ax_err_set(err, AX_ERR, "the COPY stream has no binary header");
	ext = be32(r->buf + 15);
	r->pos = 19;
	if ((rc = copy_fill(r, ext, err)) != AX_OK)
		return rc;
	r->pos += ext;
	r->mark = r->pos;
	return AX_OK;
}

/* Parse the next row into r->f[]; 1 for a row, 0 at the trailer, < 0 (err). */
static int
copy_row(struct copy_reader *r, int nfields, struct ax_err *err)
{
	int16_t n;
	int i, rc;

	r->mark = r->pos;
	if ((rc = copy_fill(r, 2, err)) != AX_OK)
		return rc;
	n = (int16_t)(r->buf[r->pos] << 8 | r->buf[r->pos + 1]);
	r->pos += 2;
	if (n == -1)
		return 0;
	if (n != nfields)
		return ax_err_set(
		    err, AX_ERR, "the COPY stream has %d fields per row, not %d", n, nfields);
	for (i = 0; i < n; i++) {
		int32_t len;

		if ((rc = copy_fill(r, 4, err)) != AX_OK)
			return rc;
		len = (int32_t)be32(r->buf + r->pos);
		r->pos += 4;
		if (len < -1 || (len > 0 && (uint32_t)len > AX_CANON_MAX_FIELD))
			return ax_err_set(
			    err, AX_ERR, "a field of the COPY stream has length %" PRId32, len);
		r->f[i].len = len;
		r->f[i].off = r->pos - r->mark; /* stays valid when the buffer is compacted */
		if (len > 0) {
			if ((rc = copy_fill(r, (size_t)len, err)) != AX_OK)
				return rc;
			r->pos += (size_t)len;
		}
	}
	r->nfields = n;
	return 1;
}

/* Read to the end of the COPY and check that the command succeeded. */
static int
copy_finish(struct copy_reader *r, struct ax_err *err)
{
	PGresult *res;
	char *chunk;
	int n, rc = AX_OK;

	while (!r->ended && (n = PQgetCopyData(r->conn, &chunk, 0)) != -1) {
		if (n < 0)
			break;
		PQfreemem(chunk);
	}
	while ((res = PQgetResult(r->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == AX_OK)
			rc = ax_pg_err(err, r->conn, res, "could not read the stored chains");
		PQclear(res);
	}
	return rc;
}

/* Free the reader's buffer (the connection is not the reader's). */
static void
copy_free(struct copy_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Field i of the current row, NULL for SQL NULL; valid until the next copy_row. */
static const uint8_t *
fptr(const struct copy_reader *r, int i)
{
	return r->f[i].len < 0 ? NULL : r->buf + r->mark + r->f[i].off;
}

/* The length of field i of the current row, 0 for SQL NULL. */
static size_t
flen(const struct copy_reader *r, int i)
{
	return r->f[i].len < 0 ? 0 : (size_t)r->f[i].len;
}

/* Copy fixed-size field i (uuid) into out; 1 when present, 0 when NULL, -1 wrong size. */
static int
fixed(const struct copy_reader *r, int i, uint8_t *out, size_t size)
{
	if (r->f[i].len < 0)
		return 0;
	if ((size_t)r->f[i].len != size)
		return -1;
	memcpy(out, r->buf + r->mark + r->f[i].off, size);
	return 1;
}

/* Field i as int64 (int8, or int4 widened when 4 bytes); -1 when NULL or malformed. */
static int
int_field(const struct copy_reader *r, int i, int64_t *out)
{
	const uint8_t *p = fptr(r, i);

	if (p != NULL && r->f[i].len == 8)
		*out = be64(p);
	else if (p != NULL && r->f[i].len == 4)
		*out = (int64_t)(int32_t)be32(p);
	else
		return -1;
	return 0;
}

/* Field i (timestamptz) as microseconds since the Unix epoch; -1 when NULL or malformed. */
static int
ts_field(const struct copy_reader *r, int i, int64_t *out)
{
	int64_t v;

	if (int_field(r, i, &v) != 0 || r->f[i].len != 8)
		return -1;
	/* +-infinity stay out of range of the conversion; their hash will not match */
	*out = (v > INT64_MAX - PG_EPOCH_US || v == INT64_MIN) ? v : v + PG_EPOCH_US;
	return 0;
}

/* NUL-terminated copies of a row's text fields, reset per row. */
struct scratch {
	char *buf;
	size_t len, cap;
};

/* Reserve room for the texts of a row of the reader (sum of their lengths + NULs). */
static int
scratch_reset(struct scratch *s, size_t need, struct ax_err *err)
{
	char *b;

	s->len = 0;
	if (need <= s->cap)
		return AX_OK;
	if ((b = realloc(s->buf, need)) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory reading a row");
	s->buf = b;
	s->cap = need;
	return AX_OK;
}

/* Field i as a NUL-terminated string in s (NULL for SQL NULL); room was reserved. */
static const char *
text_field(struct scratch *s, const struct copy_reader *r, int i)
{
	char *t;

	if (r->f[i].len < 0)
		return NULL;
	t = s->buf + s->len;
	memcpy(t, r->buf + r->mark + r->f[i].off, (size_t)r->f[i].len);
	t[r->f[i].len] = '\0';
	s->len += (size_t)r->f[i].len + 1;
	return t;
}

/* Reserve scratch for text fields idx[0..n) of the current row. */
static int
reserve_texts(
    struct scratch *s, const struct copy_reader *r, const int *idx, int n, struct ax_err *err)
{
	size_t need = 0;
	int i;

	for (i = 0; i < n; i++)
		need += flen(r, idx[i]) + 1;
	return scratch_reset(s, need, err);
}

/* Ledger references of the bulk tables ------------------------------------------------------ */

/* Free the index of ledger entries. */
static void
ref_index_free(struct ref_index *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->p[i].topic);
		free(x->p[i].e);
	}
	free(x->p);
	memset(x, 0, sizeof(*x));
}

/* The entries of (topic[0..len), partition), NULL when the ledger has none. */
static const struct ref_part *
ref_part_find(const struct ref_index *x, const uint8_t *topic, size_t len, int32_t partition)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		if (x->p[i].partition == partition && x->p[i].topic_len == len &&
		    memcmp(x->p[i].topic, topic, len) == 0)
			return &x->p[i];
	return NULL;
}

/* The entry seq of p, NULL when the ledger does not have it. */
static const struct ref_entry *
ref_entry_find(const struct ref_part *p, int64_t seq)
{
	size_t lo = 0, hi;

	if (p == NULL)
		return NULL;
	if (seq >= 1 && (uint64_t)seq <= p->n && p->e[seq - 1].seq == seq)
		return &p->e[seq - 1]; /* seq gap-free from 1: the entry is at its index */
	hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && p->e[lo].seq == seq ? &p->e[lo] : NULL;
}

/* Add entry e (in any order) to the index; ref_seal orders it once every entry is in. */
static int
ref_add(
    struct ref_index *x, const struct ax_verify_entry *e, int64_t event_time, struct ax_err *err)
{
	struct ref_part *p = x->n > 0 ? &x->p[x->last] : NULL;
	struct ref_entry *r;
	size_t i;

	if (p == NULL || p->partition != e->partition || strcmp(p->topic, e->topic) != 0) {
		for (i = 0, p = NULL; i < x->n && p == NULL; i++)
			if (x->p[i].partition == e->partition &&
			    strcmp(x->p[i].topic, e->topic) == 0)
				p = &x->p[x->last = i];
	}
	if (p == NULL) {
		if (x->n == x->cap) {
			size_t cap = x->cap ? x->cap * 2 : 8;
			struct ref_part *g = realloc(x->p, cap * sizeof(*g));

			if (g == NULL)
				return ax_err_set(err, AX_ERR, "out of memory reading the ledger");
			x->p = g;
			x->cap = cap;
		}
		p = &x->p[x->n];
		memset(p, 0, sizeof(*p));
		if ((p->topic = strdup(e->topic)) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory reading the ledger");
		p->topic_len = strlen(p->topic);
		p->partition = e->partition;
		x->last = x->n++;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct ref_entry *g = realloc(p->e, cap * sizeof(*g));

		if (g == NULL)
			return ax_err_set(err, AX_ERR, "out of memory reading the ledger");
		p->e = g;
		p->cap = cap;
	}
	if (p->n > 0 && p->e[p->n - 1].seq > e->seq)
		p->unsorted = true;
	r = &p->e[p->n++];
	memset(r, 0, sizeof(*r));
	r->seq = e->seq;
	r->event_time = event_time;
	if (strcmp(e->decision, "accepted") == 0)
		r->flags |= REF_ACCEPTED;
	else if (strcmp(e->decision, "rejected") == 0)
		r->flags |= REF_REJECTED;
	if (e->has_command_id) {
		r->flags |= REF_HAS_COMMAND;
		memcpy(r->command_id, e->command_id, AX_UUID_LEN);
	}
	return AX_OK;
}

/* Order of the entries of a part: by seq. */
static int
ref_entry_cmp(const void *a, const void *b)
{
	const struct ref_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Once every entry of x is in: order each part by seq; count in x->time_back the entries
 * whose event time is before that of the entry before them (verify_ledger_references'
 * event-time order check); keep one entry per seq, marked REF_TWICE when the ledger has it
 * more than once.
 */
static void
ref_seal(struct ref_index *x)
{
	size_t i, k, w;

	for (i = 0; i < x->n; i++) {
		struct ref_part *p = &x->p[i];

		if (p->unsorted)
			qsort(p->e, p->n, sizeof(*p->e), ref_entry_cmp);
		p->unsorted = false;
		for (k = 1; k < p->n; k++)
			if (p->e[k].event_time < p->e[k - 1].event_time)
				x->time_back++;
		for (k = 1, w = p->n > 0 ? 1 : 0; k < p->n; k++) {
			if (p->e[k].seq == p->e[w - 1].seq)
				p->e[w - 1].flags |= REF_TWICE; /* a join would find either row */
			else
				p->e[w++] = p->e[k];
		}
		p->n = w;
	}
}

/* Move the parts of from (a job's, disjoint from x's) into x. */
static int
ref_merge(struct ref_index *x, struct ref_index *from, struct ax_err *err)
{
	size_t i;

	for (i = 0; i < from->n; i++) {
		if (x->n == x->cap) {
			size_t cap = x->cap ? x->cap * 2 : 8;
			struct ref_part *g = realloc(x->p, cap * sizeof(*g));

			if (g == NULL)
				return ax_err_set(err, AX_ERR, "out of memory reading the ledger");
			x->p = g;
			x->cap = cap;
		}
		x->p[x->n++] = from->p[i];
	}
	x->time_back += from->time_back;
	free(from->p);
	memset(from, 0, sizeof(*from));
	return AX_OK;
}

/*
 * Whether the ledger reference in fields t, t + 1, t + 2 (ledger_topic, ledger_partition,
 * ledger_seq) of the current row of r is out of line, as verify_ledger_references() judges it:
 * no reference (an empty topic), no such entry, a decision not in allowed (REF_*), another
 * event time than the row's (time: the stored timestamptz, NULL: not compared), or, when
 * command is not NULL, another command. An entry stored twice counts as out of line, so that
 * the SQL function, which sees both, decides.
 */
static bool
ref_out_of_line(const struct ref_index *x, const struct copy_reader *r, int t, unsigned allowed,
    const int64_t *time, const uint8_t *command)
{
	const struct ref_entry *e;
	int64_t partition, seq;

	if (r->f[t].len <= 0 || int_field(r, t + 1, &partition) != 0 ||
	    int_field(r, t + 2, &seq) != 0)
		return true; /* no reference, or one that names nothing */
	e = ref_entry_find(ref_part_find(x, fptr(r, t), flen(r, t), (int32_t)partition), seq);
	if (e == NULL || (e->flags & REF_TWICE) != 0 || (e->flags & allowed) == 0)
		return true;
	if (time != NULL && *time != e->event_time)
		return true;
	return command != NULL && ((e->flags & REF_HAS_COMMAND) == 0 ||
	                              memcmp(command, e->command_id, AX_UUID_LEN) != 0);
}

/* Stage: record chains ------------------------------------------------------------------ */

enum {
	R_ID,
	R_VERSION,
	R_RECORD_ID,
	R_PREVIOUS_RECORD_ID,
	R_PREVIOUS_RECORD_HASH,
	R_RECORD_HASH,
	R_RECORD_TYPE,
	R_FACILITY_ID,
	R_DOMAIN_ID,
	R_TITLE,
	R_CONTENT,
	R_CREATED_BY,
	R_CREATED_AT,
	R_CHANGE_ID,
	R_LEDGER_TOPIC, /* the ledger reference (db/0018), checked against run->refs */
	R_LEDGER_PARTITION,
	R_LEDGER_SEQ,
	R_NFIELDS
};

/* Hand a record chain failure to the run's report function (arg: the run). */
static void
report_record(void *arg, const struct ax_verify_failure *f)
{
	report(arg, f);
}

/* records_range: more versions waited than run->wait_max; the job reads its rows sorted. */
#define TOO_MANY_WAITING 2

/* Add the counts c (a job's, or one pass of a range) to *sum. */
static void
counts_add(struct ax_verify_counts *sum, const struct ax_verify_counts *c)
{
	sum->chains += c->chains;
	sum->rows += c->rows;
	sum->broken += c->broken;
}

/*
 * Check the lineages whose id hashes to job of jobs (uuid_hash(id) mod jobs; every lineage
 * when jobs is 1) on conn, adding to *counts, and count into *ref_problems the versions whose
 * ledger reference is out of line with the ledger read by the ledger stage. A lineage belongs
 * to one job, so jobs are checked independently. Unless sorted, the rows come in the table's
 * physical order (a sequential scan from its first block: synchronize_seqscans off) and the
 * unordered checker puts each lineage's versions in order (ax_verify.h); when more than
 * run->wait_max versions wait at once (rows moved by updates of the lifecycle columns), the
 * rest of the stream is read past and TOO_MANY_WAITING returned, nothing reported or
 * counted. sorted: the rows come ORDER BY id, version to the ordered checker, which needs
 * no memory per row and reports each failure as it is found.
 */
static int
records_range(struct run *run, PGconn *conn, int job, int jobs, bool sorted,
    struct ax_verify_counts *counts, int64_t *ref_problems, struct ax_err *err)
{
	static const int texts[] = { R_RECORD_TYPE, R_FACILITY_ID, R_DOMAIN_ID, R_TITLE,
		R_CREATED_BY };
	struct ax_verify_unordered *v = NULL;
	struct ax_verify_records *o = NULL;
	struct ax_verify_failure f;
	struct copy_reader r;
	struct scratch s = { NULL, 0, 0 };
	struct ax_verify_version row;
	char sql[768], where[160] = "";
	int64_t problems = 0;
	int rc, got;

	memset(&r, 0, sizeof(r));
	if (jobs > 1)
		snprintf(where, sizeof(where),
		    "WHERE (pg_catalog.uuid_hash(id)::bigint & 4294967295) %% %d = %d", jobs, job);
	snprintf(sql, sizeof(sql),
	    "COPY (SELECT id, version, record_id, previous_record_id, previous_record_hash, "
	    "record_hash, record_type, facility_id, domain_id, title, content, created_by, "
	    "created_at, change_id, ledger_topic, ledger_partition, ledger_seq FROM axiom.records "
	    "%s%s) TO STDOUT (FORMAT binary)",
	    where, sorted ? " ORDER BY id, version" : "");
	if ((rc = sorted ? ax_verify_records_new(&o, err) : ax_verify_unordered_new(&v, err)) !=
	    AX_OK)
		goto out;
	if ((rc = copy_start(&r, conn, sql, err)) != AX_OK)
		goto out;
	while ((got = copy_row(&r, R_NFIELDS, err)) == 1) {
		int64_t created_at;

		memset(&row, 0, sizeof(row));
		if (fixed(&r, R_ID, row.id, AX_UUID_LEN) != 1 ||
		    int_field(&r, R_VERSION, &row.version) != 0 ||
		    fixed(&r, R_RECORD_ID, row.record_id, AX_UUID_LEN) != 1 ||
		    (row.has_previous_record_id = fixed(
		         &r, R_PREVIOUS_RECORD_ID, row.previous_record_id, AX_UUID_LEN)) < 0 ||
		    (row.has_change_id = fixed(&r, R_CHANGE_ID, row.change_id, AX_UUID_LEN)) < 0 ||
		    ts_field(&r, R_CREATED_AT, &row.created_at_us) != 0 ||
		    int_field(&r, R_CREATED_AT, &created_at) != 0) {
			rc = ax_err_set(
			    err, AX_ERR, "a row of axiom.records has an unexpected shape");
			goto out;
		}
		if (ref_out_of_line(
		        &run->refs, &r, R_LEDGER_TOPIC, REF_ACCEPTED, &created_at, NULL))
			problems++;
		if ((rc = reserve_texts(&s, &r, texts, 5, err)) != AX_OK)
			goto out;
		row.previous_record_hash = fptr(&r, R_PREVIOUS_RECORD_HASH);
		row.previous_record_hash_len = flen(&r, R_PREVIOUS_RECORD_HASH);
		row.record_hash = fptr(&r, R_RECORD_HASH);
		row.record_hash_len = flen(&r, R_RECORD_HASH);
		row.record_type = text_field(&s, &r, R_RECORD_TYPE);
		row.facility_id = text_field(&s, &r, R_FACILITY_ID);
		row.domain_id = text_field(&s, &r, R_DOMAIN_ID);
		row.title = text_field(&s, &r, R_TITLE);
		row.content = fptr(&r, R_CONTENT);
		row.content_len = flen(&r, R_CONTENT);
		row.created_by = text_field(&s, &r, R_CREATED_BY);
		if (o != NULL) {
			if ((rc = ax_verify_records_feed(o, &row, &f, err)) == AX_VERIFY_BROKEN)
				report(run, &f);
			else if (rc != AX_OK)
				goto out;
			continue;
		}
		if ((rc = ax_verify_unordered_feed(v, &row, err)) != AX_OK)
			goto out;
		if (run->wait_max > 0 && ax_verify_unordered_waiting(v) > run->wait_max) {
			rc = TOO_MANY_WAITING;
			goto out;
		}
	}
	if (got < 0) {
		rc = got;
		goto out;
	}
	if ((rc = copy_finish(&r, err)) != AX_OK)
		goto out;
	if (v != NULL)
		rc = ax_verify_unordered_finish(v, report_record, run, err);
out:
	if (rc != AX_OK && r.conn != NULL)
		(void)copy_finish(&r, &(struct ax_err){ 0 }); /* reads the rest of the stream */
	if (rc != TOO_MANY_WAITING) {
		struct ax_verify_counts c = v != NULL   ? ax_verify_unordered_counts(v)
		                            : o != NULL ? ax_verify_records_counts(o)
		                                        : (struct ax_verify_counts){ 0, 0, 0 };

		counts_add(counts, &c);
		*ref_problems += problems;
	}
	copy_free(&r);
	free(s.buf);
	ax_verify_unordered_free(v);
	ax_verify_records_free(o);
	return rc;
}

/* One job of a parallel stage: its share of a table, on its own connection. */
struct job {
	struct run *run;
	PGconn *conn;
	int job, jobs;
	int (*body)(struct job *j, struct ax_err *err);
	struct ax_verify_counts counts;
	int64_t ref_problems;  /* record stage: versions whose ledger reference is out of line */
	struct ref_index refs; /* ledger stage: the entries of the job's partitions */
	int rc;
	struct ax_err err;
};

/* Thread body of a job: run its stage's body, keep rc and err in the job. */
static void *
job_main(void *arg)
{
	struct job *j = arg;

	j->rc = j->body(j, &j->err);
	return NULL;
}

/* Connect the job connections once (jobs - 1 besides run->conn) in the run's snapshot. */
static int
jobs_connect(struct run *run, struct ax_err *err)
{
	char snapshot[64] = "", sql[128];
	int n = run->o->jobs > 1 ? run->o->jobs : 1, i, rc;

	if (run->njobs > 0)
		return AX_OK;
	run->jobconn[0] = run->conn;
	if (n > 1 && (rc = ax_pg_query_value(run->conn, "SELECT pg_catalog.pg_export_snapshot()",
	                  snapshot, sizeof(snapshot), err)) != AX_OK)
		return rc;
	snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", snapshot);
	for (i = 1; i < n; i++) {
		if ((rc = ax_pg_connect(&run->jobconn[i], run->o->dsn, "the auditor role", err)) !=
		    AX_OK)
			return rc;
		if (PQsetClientEncoding(run->jobconn[i], "UTF8") != 0)
			return ax_pg_err(
			    err, run->jobconn[i], NULL, "could not set the client encoding");
		if ((rc = ax_pg_exec(run->jobconn[i],
		         "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		         "could not start a read-only transaction", err)) != AX_OK ||
		    (rc = ax_pg_exec(run->jobconn[i], sql,
		         "could not share the verification snapshot", err)) != AX_OK ||
		    (rc = ax_pg_exec(run->jobconn[i], READ_SETTINGS,
		         "could not set up the read-only transaction", err)) != AX_OK)
			return rc;
	}
	run->njobs = n;
	return AX_OK;
}

/*
 * Run body on every job connection at once (job 0 on this thread), each in the run's
 * snapshot; jobs[0..run->njobs) keep what each did. AX_OK, or the first job's error.
 */
static int
run_jobs(struct run *run, struct job *jobs, int (*body)(struct job *j, struct ax_err *err),
    struct ax_err *err)
{
	pthread_t threads[AX_VERIFY_JOBS_MAX];
	int i, started = 0, rc;

	if ((rc = jobs_connect(run, err)) != AX_OK)
		return rc;
	for (i = 0; i < run->njobs; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].run = run;
		jobs[i].conn = run->jobconn[i];
		jobs[i].job = i;
		jobs[i].jobs = run->njobs;
		jobs[i].body = body;
	}
	for (i = 1; i < run->njobs; i++, started++)
		if (pthread_create(&threads[i], NULL, job_main, &jobs[i]) != 0) {
			rc = ax_err_set(err, AX_ERR, "could not start a verification thread");
			break;
		}
	if (rc == AX_OK)
		job_main(&jobs[0]);
	for (i = 1; i <= started; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; rc == AX_OK && i < run->njobs; i++)
		if (jobs[i].rc != AX_OK) {
			rc = jobs[i].rc;
			*err = jobs[i].err;
		}
	return rc;
}

/* Body of a record job: the lineages whose id hashes to the job. */
static int
records_job(struct job *j, struct ax_err *err)
{
	int rc = records_range(
	    j->run, j->conn, j->job, j->jobs, false, &j->counts, &j->ref_problems, err);

	if (rc == TOO_MANY_WAITING)
		rc = records_range(
		    j->run, j->conn, j->job, j->jobs, true, &j->counts, &j->ref_problems, err);
	return rc;
}

/*
 * Stage: record chains. With jobs > 1 the lineages are split into jobs sets by a hash of
 * their id, each streamed on its own connection in the main transaction's snapshot
 * (pg_export_snapshot), so every job sees the same rows.
 */
static int
stage_records(struct run *run, struct ax_err *err)
{
	struct job jobs[AX_VERIFY_JOBS_MAX];
	double t0 = ax_mono_s();
	int i, rc;

	rc = run_jobs(run, jobs, records_job, err);
	for (i = 0; i < run->njobs; i++) {
		counts_add(&run->sum->records, &jobs[i].counts);
		run->ref_problems.records += jobs[i].ref_problems;
	}
	run->sum->records_seconds = ax_mono_s() - t0;
	return rc;
}

/* Stage: ledger chains ------------------------------------------------------------------ */

enum {
	L_TOPIC,
	L_PARTITION,
	L_SEQ,
	L_OFFSET,
	L_COMMAND_ID,
	L_ACTOR,
	L_EVENT_TIME,
	L_DECISION,
	L_REASON_CODE,
	L_RECORD_HASH,
	L_PREVIOUS_ENTRY_HASH,
	L_ENTRY_HASH,
	L_NFIELDS
};

/*
 * Body of a ledger job: the chains whose (topic, partition) hashes to the job (every chain
 * when there is one job), streamed in the table's physical order and put in seq order by the
 * unordered ledger checker; each entry's decision, event time and command go to j->refs.
 * A row whose topic or partition is NULL falls to job 0, which refuses its shape.
 */
static int
ledger_job(struct job *j, struct ax_err *err)
{
	static const int texts[] = { L_TOPIC, L_ACTOR, L_DECISION, L_REASON_CODE };
	struct ax_verify_ledger_unordered *v = NULL;
	struct copy_reader r;
	struct scratch s = { NULL, 0, 0 };
	struct ax_verify_entry e;
	char sql[640], where[200] = "";
	int64_t partition, event_time;
	int rc, got;

	memset(&r, 0, sizeof(r));
	if (j->jobs > 1)
		snprintf(where, sizeof(where),
		    "WHERE coalesce(((pg_catalog.hashtext(topic)::bigint + kafka_partition) & "
		    "4294967295) %% %d, 0) = %d",
		    j->jobs, j->job);
	snprintf(sql, sizeof(sql),
	    "COPY (SELECT topic, kafka_partition, seq, kafka_offset, command_id, actor, "
	    "event_time, decision, reason_code, record_hash, previous_entry_hash, entry_hash "
	    "FROM axiom.ledger %s) TO STDOUT (FORMAT binary)",
	    where);
	if ((rc = ax_verify_ledger_unordered_new(&v, err)) != AX_OK ||
	    (rc = copy_start(&r, j->conn, sql, err)) != AX_OK)
		goto out;
	while ((got = copy_row(&r, L_NFIELDS, err)) == 1) {
		memset(&e, 0, sizeof(e));
		if (r.f[L_TOPIC].len < 0 || int_field(&r, L_PARTITION, &partition) != 0 ||
		    int_field(&r, L_SEQ, &e.seq) != 0 || int_field(&r, L_OFFSET, &e.offset) != 0 ||
		    (e.has_command_id = fixed(&r, L_COMMAND_ID, e.command_id, AX_UUID_LEN)) < 0 ||
		    ts_field(&r, L_EVENT_TIME, &e.event_time_us) != 0 ||
		    int_field(&r, L_EVENT_TIME, &event_time) != 0 || r.f[L_DECISION].len < 0) {
			rc = ax_err_set(
			    err, AX_ERR, "a row of axiom.ledger has an unexpected shape");
			goto out;
		}
		if ((rc = reserve_texts(&s, &r, texts, 4, err)) != AX_OK)
			goto out;
		e.partition = (int32_t)partition;
		e.topic = text_field(&s, &r, L_TOPIC);
		e.actor = text_field(&s, &r, L_ACTOR);
		e.decision = text_field(&s, &r, L_DECISION);
		e.reason_code = text_field(&s, &r, L_REASON_CODE);
		e.record_hash = fptr(&r, L_RECORD_HASH);
		e.record_hash_len = flen(&r, L_RECORD_HASH);
		e.previous_entry_hash = fptr(&r, L_PREVIOUS_ENTRY_HASH);
		e.previous_entry_hash_len = flen(&r, L_PREVIOUS_ENTRY_HASH);
		e.entry_hash = fptr(&r, L_ENTRY_HASH);
		e.entry_hash_len = flen(&r, L_ENTRY_HASH);
		if ((rc = ref_add(&j->refs, &e, event_time, err)) != AX_OK ||
		    (rc = ax_verify_ledger_unordered_feed(v, &e, err)) != AX_OK)
			goto out;
	}
	if (got < 0) {
		rc = got;
		goto out;
	}
	if ((rc = copy_finish(&r, err)) != AX_OK)
		goto out;
	ref_seal(&j->refs);
	rc = ax_verify_ledger_unordered_finish(v, report_record, j->run, err);
out:
	if (rc != AX_OK && r.conn != NULL)
		(void)copy_finish(&r, &(struct ax_err){ 0 });
	if (v != NULL)
		j->counts = ax_verify_ledger_unordered_counts(v);
	copy_free(&r);
	free(s.buf);
	ax_verify_ledger_unordered_free(v);
	return rc;
}

/*
 * Stage: every ledger chain, the (topic, partition) chains split between the jobs by a hash;
 * keeps each entry's decision, event time and command in run->refs for the ledger references
 * of the bulk tables (the record stage and the references stage), and counts the entries
 * whose event time is before their predecessor's.
 */
static int
stage_ledger(struct run *run, struct ax_err *err)
{
	struct job jobs[AX_VERIFY_JOBS_MAX];
	double t0 = ax_mono_s();
	int i, rc;

	rc = run_jobs(run, jobs, ledger_job, err);
	for (i = 0; i < run->njobs; i++) {
		counts_add(&run->sum->ledger, &jobs[i].counts);
		if (rc == AX_OK)
			rc = ref_merge(&run->refs, &jobs[i].refs, err);
		ref_index_free(&jobs[i].refs);
	}
	run->sum->ledger_seconds = ax_mono_s() - t0;
	return rc;
}

/* Stage: the Kafka log ------------------------------------------------------------------ */

/* The ledger's offsets of one partition, streamed in offset order (single-row mode). */
struct ledger_src {
	PGconn *conn;
	int active; /* a query is running */
	bool has_hash;
	uint8_t hash[AX_HASH_LEN]; /* the payload hash of the entry last returned */
};

/* Start streaming the ledger offsets of (topic, partition) on conn, row by row. */
static int
ledger_src_start(
    struct ledger_src *l, PGconn *conn, const char *topic, int32_t partition, struct ax_err *err)
{
	char p[16];
	const char *params[2] = { topic, p };

	l->conn = conn;
	l->active = 0;
	snprintf(p, sizeof(p), "%" PRId32, partition);
	if (!PQsendQueryParams(conn,
	        /* before db/0024 only a quarantine kept it, as its record_hash */
	        "SELECT seq, kafka_offset, encode(coalesce(payload_hash, CASE WHEN decision = "
	        "'quarantined' THEN record_hash END), 'hex') FROM axiom.ledger WHERE topic = $1 "
	        "AND kafka_partition = $2::integer ORDER BY kafka_offset, seq",
	        2, NULL, params, NULL, NULL, 0))
		return ax_pg_err(err, conn, NULL, "could not read the ledger");
	l->active = 1; /* from here on the results must be drained (ledger_src_drain) */
	if (!PQsetSingleRowMode(conn))
		return ax_err_set(err, AX_ERR, "could not stream the ledger row by row");
	return AX_OK;
}

/* Read whatever the running query still has; idempotent. */
static void
ledger_src_drain(struct ledger_src *l)
{
	PGresult *res;

	if (!l->active)
		return;
	while ((res = PQgetResult(l->conn)) != NULL)
		PQclear(res);
	l->active = 0;
}

/* The ax_verify_source of the ledger side: the next (offset, seq), 0 at the end. */
static int
ledger_src_next(void *arg, int64_t *offset, int64_t *seq, struct ax_err *err)
{
	struct ledger_src *l = arg;
	PGresult *res;
	char *end;
	int rc;

	if (!l->active)
		return 0;
	res = PQgetResult(l->conn);
	if (res != NULL && PQresultStatus(res) == PGRES_SINGLE_TUPLE) {
		*seq = strtoll(PQgetvalue(res, 0, 0), &end, 10);
		*offset = strtoll(PQgetvalue(res, 0, 1), &end, 10);
		l->has_hash = !PQgetisnull(res, 0, 2) &&
		              ax_hex_decode(l->hash, PQgetvalue(res, 0, 2), AX_HASH_LEN) == 0;
		PQclear(res);
		return 1;
	}
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(res);
		ledger_src_drain(l);
		return 0;
	}
	rc = ax_pg_err(err, l->conn, res, "could not read the ledger");
	PQclear(res);
	ledger_src_drain(l);
	return rc;
}

/* The ax_verify_source payload hash of the ledger side. */
static const uint8_t *
ledger_src_hash(void *arg)
{
	struct ledger_src *l = arg;

	return l->has_hash ? l->hash : NULL;
}

/* The offsets present in one partition's log, from its start, below the stored next offset. */
struct log_src {
	rd_kafka_t *rk;
	const char *topic;
	const char *brokers;
	int32_t partition;
	int64_t next_offset;
	int64_t log_end; /* where the log ended (EOF), -1 while unknown */
	int timeout_ms;
	int done;
	struct ax_sha256 *sha;
	bool has_hash;
	uint8_t hash[AX_HASH_LEN]; /* the SHA-256 of the message last returned */
};

/* The ax_verify_source payload hash of the log side. */
static const uint8_t *
log_src_hash(void *arg)
{
	struct log_src *l = arg;

	return l->has_hash ? l->hash : NULL;
}

/* The ax_verify_source of the log side: the next offset below the stored next offset. */
static int
log_src_next(void *arg, int64_t *offset, int64_t *seq, struct ax_err *err)
{
	struct log_src *l = arg;
	double last = ax_mono_s();
	struct ax_err herr; /* a hash that fails is only not compared */

	*seq = 0;
	while (!l->done) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(l->rk, LOG_POLL_MS);
		rd_kafka_resp_err_t e;
		int64_t off;

		if (m == NULL) {
			if ((ax_mono_s() - last) * 1000.0 > (double)l->timeout_ms) {
				ax_err_set(err, AX_EUNAVAIL,
				    "could not read partition %" PRId32 " of topic %s within %d ms",
				    l->partition, l->topic, l->timeout_ms);
				ax_err_detail(err, "The broker at %s sent nothing.", l->brokers);
				ax_err_hint(err, "Check the broker, or raise --timeout.");
				return AX_EUNAVAIL;
			}
			continue;
		}
		e = m->err;
		off = m->offset;
		if (m->rkt != NULL && (m->partition != l->partition ||
		                          strcmp(rd_kafka_topic_name(m->rkt), l->topic) != 0)) {
			rd_kafka_message_destroy(m); /* left over from the previous assignment */
			continue;
		}
		if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			l->log_end = off;
			l->done = 1;
			return 0;
		}
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			char what[320];

			snprintf(what, sizeof(what),
			    "could not read partition %" PRId32 " of topic %.200s", l->partition,
			    l->topic);
			rd_kafka_message_destroy(m);
			return ax_kafka_err(err, e, what);
		}
		l->has_hash =
		    l->sha != NULL &&
		    ax_sha256_digest(l->sha, l->hash,
		        m->payload != NULL ? m->payload : (const void *)"", m->len, &herr) == AX_OK;
		rd_kafka_message_destroy(m);
		last = ax_mono_s();
		if (off >= l->next_offset) {
			l->done = 1;
			return 0;
		}
		if (off == l->next_offset - 1)
			l->done = 1; /* the last one we need: do not wait for the end of the log */
		*offset = off;
		return 1;
	}
	return 0;
}

/* What the database stored for one topic: next offsets and ledger partitions. */
struct topic_db {
	char name[AX_TOPIC_NAME_MAX];
	int npart;         /* partitions in the broker; -1: topic absent */
	PGresult *offsets; /* kafka_partition, next_offset */
	PGresult *ledger;  /* kafka_partition, count, min(seq) */
};

/* The stored next offset of partition of t, -1 when none is stored. */
static int64_t
stored_next_offset(const struct topic_db *t, int32_t partition)
{
	int i;

	for (i = 0; i < PQntuples(t->offsets); i++)
		if (strtol(PQgetvalue(t->offsets, i, 0), NULL, 10) == partition)
			return strtoll(PQgetvalue(t->offsets, i, 1), NULL, 10);
	return -1;
}

/* Read what the database stored for topic t: next offsets and ledger partitions. */
static int
query_topic(struct run *run, struct topic_db *t, struct ax_err *err)
{
	const char *params[1] = { t->name };
	int rc = AX_OK;

	t->offsets = PQexecParams(run->conn,
	    "SELECT kafka_partition, next_offset FROM axiom.partition_offsets WHERE topic = $1 "
	    "ORDER BY kafka_partition",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(t->offsets) != PGRES_TUPLES_OK)
		return ax_pg_err(err, run->conn, t->offsets, "could not read the stored offsets");
	t->ledger = PQexecParams(run->conn,
	    "SELECT kafka_partition, count(*), min(seq) FROM axiom.ledger WHERE topic = $1 "
	    "GROUP BY kafka_partition ORDER BY kafka_partition",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(t->ledger) != PGRES_TUPLES_OK)
		rc = ax_pg_err(err, run->conn, t->ledger, "could not read the ledger");
	return rc;
}

/* Count the ledger's topics other than a and b into the summary (they are not checked). */
static int
count_other_topics(struct run *run, const char *a, const char *b, struct ax_err *err)
{
	const char *params[2] = { a, b };
	PGresult *res = PQexecParams(run->conn,
	    "SELECT count(DISTINCT topic) FROM axiom.ledger WHERE topic <> $1 AND topic <> $2", 2,
	    NULL, params, NULL, NULL, 0);
	int rc = AX_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = ax_pg_err(err, run->conn, res, "could not read the ledger");
	else
		run->sum->log_topics_other = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* The partition count of topic in the broker's metadata; -1 when the topic does not exist. */
static int
topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, int *out, struct ax_err *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t e;
	int rc = AX_OK;

	*out = -1;
	if (rkt == NULL)
		return ax_kafka_err(err, rd_kafka_last_error(), "could not look up a topic");
	e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ax_kafka_err(err, e, "could not read the topic metadata");
		goto out;
	}
	if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
		*out = md->topics[0].partition_cnt;
	else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
		rc = ax_kafka_err(err,
		    md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__FAIL,
		    "could not read the topic metadata");
out:
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return rc;
}

/* Cross-check one partition: bounds from the broker, then the merge. */
static int
check_partition(struct run *run, rd_kafka_t *rk, const struct topic_db *t, int32_t partition,
    struct ax_err *err)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	struct ledger_src ls = { NULL, 0, false, { 0 } };
	struct log_src lg;
	struct ax_verify_source lsrc = { ledger_src_next, &ls, ledger_src_hash },
	                        gsrc = { log_src_next, &lg, log_src_hash };
	struct ax_verify_log_result res;
	int64_t low = 0, high = 0, next = stored_next_offset(t, partition);
	rd_kafka_resp_err_t e;
	int rc, assigned = 0;

	e = rd_kafka_query_watermark_offsets(
	    rk, t->name, partition, &low, &high, run->o->kafka_timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		char what[320];

		snprintf(what, sizeof(what),
		    "could not read the offsets of partition %" PRId32 " of topic %.200s",
		    partition, t->name);
		return ax_kafka_err(err, e, what);
	}
	memset(&lg, 0, sizeof(lg));
	lg.rk = rk;
	lg.topic = t->name;
	lg.brokers = run->o->brokers;
	lg.partition = partition;
	lg.next_offset = next;
	lg.timeout_ms = run->o->kafka_timeout_ms;
	lg.log_end = -1;
	if ((rc = ax_sha256_new(&lg.sha, err)) != AX_OK)
		goto out;
	if (next <= low || high <= low) {
		lg.done = 1;
		lg.log_end = high;
	} else {
		parts = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(parts, t->name, partition)->offset = low;
		if ((e = rd_kafka_assign(rk, parts)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			rc = ax_kafka_err(err, e, "could not assign a partition to read");
			goto out;
		}
		assigned = 1;
	}
	if ((rc = ledger_src_start(&ls, run->conn, t->name, partition, err)) != AX_OK)
		goto out;
	rc = ax_verify_log_partition(t->name, partition, low, next, &lsrc, &gsrc, &lg.log_end,
	    run->report, run->arg, &res, err);
	if (rc != AX_OK)
		goto out;
	run->sum->log_partitions++;
	run->sum->log_offsets += res.log_offsets;
	run->sum->log_payloads += res.payload_checked;
	if (res.broken)
		run->sum->log_broken++;
out:
	ledger_src_drain(&ls);
	ax_sha256_free(lg.sha);
	if (assigned)
		rd_kafka_assign(rk, NULL);
	if (parts != NULL)
		rd_kafka_topic_partition_list_destroy(parts);
	return rc;
}

/* Report ledger partitions the broker does not have (absent topic or partition). */
static void
check_absent(struct run *run, const struct topic_db *t)
{
	struct ax_verify_failure f;
	int i;

	for (i = 0; i < PQntuples(t->ledger); i++) {
		int32_t p = (int32_t)strtol(PQgetvalue(t->ledger, i, 0), NULL, 10);

		if (t->npart >= 0 && p < t->npart)
			continue;
		memset(&f, 0, sizeof(f));
		f.chain = AX_VERIFY_LOG;
		f.table = "kafka";
		snprintf(f.topic, sizeof(f.topic), "%.200s", t->name);
		f.partition = p;
		f.at = "seq";
		f.position = strtoll(PQgetvalue(t->ledger, i, 2), NULL, 10);
		if (t->npart < 0)
			snprintf(f.problem, sizeof(f.problem),
			    "the ledger has %s entries for this partition, but the topic does not "
			    "exist in the broker",
			    PQgetvalue(t->ledger, i, 1));
		else
			snprintf(f.problem, sizeof(f.problem),
			    "the ledger has %s entries for this partition, but the topic has %d "
			    "partitions",
			    PQgetvalue(t->ledger, i, 1), t->npart);
		report(run, &f);
		run->sum->log_partitions++;
		run->sum->log_broken++;
	}
}

/* Stage: cross-check the ledger against every partition of PREFIX.control and PREFIX.commands. */
static int
stage_kafka(struct run *run, struct ax_err *err)
{
	static const char *const suffixes[MAX_LOG_TOPICS] = { "control", "commands" };
	static const char *const kv[] = { "group.id", "axiom-verify", "enable.auto.commit", "false",
		"enable.auto.offset.store", "false", "enable.partition.eof", "true",
		"isolation.level", "read_committed", "auto.offset.reset", "error",
		"allow.auto.create.topics", "false", "client.id", "axiom-verify",
		AX_KAFKA_READ_TO_END_SETTINGS, NULL };
	struct topic_db topics[MAX_LOG_TOPICS];
	struct ax_kafka_cluster cl;
	rd_kafka_t *rk = NULL;
	double t0 = ax_mono_s();
	int i, p, rc;

	memset(topics, 0, sizeof(topics));
	if (!run->o->kafka)
		return AX_OK;
	run->sum->kafka_checked = true;
	if (run->o->brokers == NULL || run->o->brokers[0] == '\0') {
		rc =
		    ax_err_set(err, AX_EINVAL, "no kafka broker to cross-check the ledger against");
		ax_err_hint(err, "Set AXIOM_BROKERS, pass --brokers, or skip the cross-check with "
		                 "--no-kafka.");
		goto out;
	}
	for (i = 0; i < MAX_LOG_TOPICS; i++) {
		if ((size_t)snprintf(topics[i].name, sizeof(topics[i].name), "%s.%s",
		        run->o->prefix, suffixes[i]) >= sizeof(topics[i].name)) {
			rc = ax_err_set(
			    err, AX_EINVAL, "the topic prefix \"%s\" is too long", run->o->prefix);
			goto out;
		}
		if ((rc = query_topic(run, &topics[i], err)) != AX_OK)
			goto out;
	}
	if ((rc = count_other_topics(run, topics[0].name, topics[1].name, err)) != AX_OK)
		goto out;
	if ((rc = ax_kafka_new(
	         &rk, RD_KAFKA_CONSUMER, run->o->brokers, AX_KAFKA_AUDITOR, kv, err)) != AX_OK ||
	    (rc = ax_kafka_probe(rk, run->o->brokers, run->o->kafka_timeout_ms, &cl, err)) != AX_OK)
		goto out;
	for (i = 0; i < MAX_LOG_TOPICS; i++) {
		if ((rc = topic_partitions(rk, topics[i].name, run->o->kafka_timeout_ms,
		         &topics[i].npart, err)) != AX_OK)
			goto out;
		if (topics[i].npart < 0)
			run->sum->log_topics_absent++;
		for (p = 0; p < topics[i].npart; p++)
			if ((rc = check_partition(run, rk, &topics[i], p, err)) != AX_OK)
				goto out;
		check_absent(run, &topics[i]);
	}
	rc = AX_OK;
out:
	for (i = 0; i < MAX_LOG_TOPICS; i++) {
		PQclear(topics[i].offsets);
		PQclear(topics[i].ledger);
	}
	if (rk != NULL) {
		rd_kafka_consumer_close(rk);
		rd_kafka_destroy(rk);
	}
	run->sum->kafka_seconds = ax_mono_s() - t0;
	return rc;
}

/* The audit topic ---------------------------------------------------------------------------- */

/* One outcome read from the audit topic: its ledger, sequence and entry hash. */
struct audit_seen {
	int topic; /* 0 PREFIX.commands, 1 PREFIX.control (the ledger query's order) */
	int32_t partition;
	int64_t seq;
	uint8_t hash[32];
	size_t hash_len;
};

static int
audit_seen_cmp(const void *a, const void *b)
{
	const struct audit_seen *x = a, *y = b;

	if (x->topic != y->topic)
		return x->topic < y->topic ? -1 : 1;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append one outcome to *seen (growing it); AX_OK or out of memory. */
static int
audit_seen_add(struct audit_seen **seen, size_t *n, size_t *cap, int topic,
    const struct ax_audit_outcome *o, struct ax_err *err)
{
	struct audit_seen *s;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4096;
		struct audit_seen *g = realloc(*seen, nc * sizeof(**seen));

		if (g == NULL)
			return ax_err_set(err, AX_ERR, "out of memory");
		*seen = g;
		*cap = nc;
	}
	s = &(*seen)[(*n)++];
	s->topic = topic;
	s->partition = o->partition;
	s->seq = o->ledger_seq;
	s->hash_len = o->ledger_hash.len < sizeof(s->hash) ? o->ledger_hash.len : sizeof(s->hash);
	memcpy(s->hash, o->ledger_hash.p, s->hash_len);
	return AX_OK;
}

/*
 * Append to *seen every outcome of a ledger of names[0..2) found on partition p of the
 * audit topic, reading committed messages from the start to the end (enable.partition.eof).
 */
static int
read_audit_partition(struct run *run, rd_kafka_t *rk, struct ax_decoder *dec, const char *audit,
    int32_t p, const char *const names[2], struct audit_seen **seen, size_t *n, size_t *cap,
    struct ax_err *err)
{
	rd_kafka_topic_partition_list_t *parts;
	int64_t low = 0, high = 0;
	double last = ax_mono_s();
	rd_kafka_resp_err_t e;
	int rc = AX_OK;

	e = rd_kafka_query_watermark_offsets(rk, audit, p, &low, &high, run->o->kafka_timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ax_kafka_err(err, e, "could not read the offsets of the audit topic");
	if (high <= low)
		return AX_OK;
	parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, audit, p)->offset = low;
	e = rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ax_kafka_err(err, e, "could not assign a partition to read");
	while (rc == AX_OK) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, LOG_POLL_MS);
		struct ax_message msg;
		struct ax_err derr;
		int t;

		if (m == NULL) {
			if ((ax_mono_s() - last) * 1000 > run->o->kafka_timeout_ms)
				rc = ax_kafka_err(err, RD_KAFKA_RESP_ERR__TIMED_OUT,
				    "could not read the audit topic");
			continue;
		}
		last = ax_mono_s();
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
			rc = ax_kafka_err(err, m->err, "could not read the audit topic");
		else if (ax_decode(dec, AX_FAMILY_AUDIT, m->payload, m->len, &msg, &derr) ==
		             AX_OK &&
		         msg.kind == AX_KIND_OUTCOME) {
			for (t = 0; t < 2 && strcmp(msg.u.outcome.topic, names[t]) != 0; t++)
				;
			if (t < 2)
				rc = audit_seen_add(seen, n, cap, t, &msg.u.outcome, err);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_assign(rk, NULL);
	return rc;
}

/* Report one ledger whose outcomes on the audit topic are not each entry exactly once. */
static void
report_audit(
    struct run *run, const char *topic, int32_t partition, int64_t first, const int64_t count[5])
{
	struct ax_verify_failure f;

	memset(&f, 0, sizeof(f));
	f.chain = AX_VERIFY_AUDIT;
	f.table = "kafka";
	snprintf(f.topic, sizeof(f.topic), "%.200s", topic);
	f.partition = partition;
	f.at = "seq";
	f.position = first;
	snprintf(f.problem, sizeof(f.problem),
	    "the audit topic does not carry each of the ledger's %" PRId64
	    " entries exactly once: %" PRId64 " missing, %" PRId64 " twice, %" PRId64
	    " with another entry hash, %" PRId64 " that the ledger lacks (the first at this seq)",
	    count[0], count[1], count[2], count[3], count[4]);
	report(run, &f);
	run->sum->audit_broken++;
}

#define ROW_TOPIC(res, i) ((int)be32((const uint8_t *)PQgetvalue(res, i, 0)))
#define ROW_PART(res, i)  ((int32_t)be32((const uint8_t *)PQgetvalue(res, i, 1)))
#define ROW_SEQ(res, i)   be64((const uint8_t *)PQgetvalue(res, i, 2))

/*
 * Merge the ledger rows of res (binary: int4 topic index, int4 partition, int8 seq, bytea
 * entry hash; sorted) with the sorted outcomes seen[0..n), one ledger at a time, and report
 * each ledger whose entries are not each on the audit topic exactly once with their hash.
 */
static void
merge_audit(struct run *run, PGresult *res, const struct audit_seen *seen, size_t n,
    const char names[2][AX_TOPIC_NAME_MAX])
{
	int rows = PQntuples(res), i = 0;
	size_t k = 0;

	while (i < rows || k < n) {
		/* count: entries, missing, twice, other hash, not in the ledger */
		int64_t count[5] = { 0, 0, 0, 0, 0 }, first = -1;
		int t = k < n ? seen[k].topic : ROW_TOPIC(res, i);
		int32_t p = k < n ? seen[k].partition : ROW_PART(res, i);

		if (i < rows && (k >= n || ROW_TOPIC(res, i) < t ||
		                    (ROW_TOPIC(res, i) == t && ROW_PART(res, i) < p))) {
			t = ROW_TOPIC(res, i);
			p = ROW_PART(res, i);
		}
		for (;;) {
			bool lin = i < rows && ROW_TOPIC(res, i) == t && ROW_PART(res, i) == p;
			bool ain = k < n && seen[k].topic == t && seen[k].partition == p;
			int64_t ls = lin ? ROW_SEQ(res, i) : INT64_MAX;
			int c = -1;

			if (!lin && !ain)
				break;
			if (ain && k > 0 && seen[k - 1].topic == t && seen[k - 1].partition == p &&
			    seen[k - 1].seq == seen[k].seq) {
				c = 2;
				first = first < 0 ? seen[k].seq : first;
				k++;
			} else if (ain && seen[k].seq < ls) {
				c = 4;
				first = first < 0 ? seen[k].seq : first;
				k++;
			} else if (!ain || seen[k].seq > ls) {
				c = 1;
				count[0]++;
				first = first < 0 ? ls : first;
				i++;
			} else {
				if ((size_t)PQgetlength(res, i, 3) != seen[k].hash_len ||
				    memcmp(PQgetvalue(res, i, 3), seen[k].hash, seen[k].hash_len) !=
				        0) {
					c = 3;
					first = first < 0 ? ls : first;
				}
				count[0]++;
				i++;
				k++;
			}
			if (c > 0)
				count[c]++;
		}
		run->sum->audit_ledgers++;
		if (first >= 0)
			report_audit(run, names[t], p, first, count);
	}
}

/*
 * Stage: every entry of the ledgers of PREFIX.control and PREFIX.commands is on the audit
 * topic exactly once, with its entry hash, and the audit topic has no outcome of those
 * ledgers that the ledger lacks (read committed: run it once the relays have caught up, for
 * example after `axiom apply --until-caught-up`). Skipped with --no-kafka and --no-audit.
 */
static int
stage_audit(struct run *run, struct ax_err *err)
{
	static const char *const kv[] = { "group.id", "axiom-verify", "enable.auto.commit", "false",
		"enable.auto.offset.store", "false", "enable.partition.eof", "true",
		"isolation.level", "read_committed", "allow.auto.create.topics", "false",
		"client.id", "axiom-verify", AX_KAFKA_READ_TO_END_SETTINGS, NULL };
	char names[2][AX_TOPIC_NAME_MAX], audit[AX_TOPIC_NAME_MAX];
	const char *const np[2] = { names[0], names[1] };
	const char *params[2] = { names[0], names[1] };
	struct audit_seen *seen = NULL;
	struct ax_codec *codec = NULL;
	struct ax_decoder *dec = NULL;
	PGresult *res = NULL;
	rd_kafka_t *rk = NULL;
	size_t n = 0, cap = 0;
	double t0 = ax_mono_s();
	int npart = -1, rc;
	int32_t p;

	if (!run->o->kafka || !run->o->audit || run->o->brokers == NULL ||
	    run->o->brokers[0] == '\0')
		return AX_OK; /* --no-kafka, --no-audit; or the kafka log stage said what is missing
		               */
	run->sum->audit_checked = true;
	/* commands sorts before control: the order of the ledger query below */
	snprintf(names[0], sizeof(names[0]), "%.150s.commands", run->o->prefix);
	snprintf(names[1], sizeof(names[1]), "%.150s.control", run->o->prefix);
	snprintf(audit, sizeof(audit), "%.150s.audit", run->o->prefix);
	res = PQexecParams(run->conn,
	    "SELECT CASE WHEN topic = $1 THEN 0 ELSE 1 END, kafka_partition, seq, entry_hash "
	    "FROM axiom.ledger WHERE topic IN ($1, $2) ORDER BY 1, kafka_partition, seq",
	    2, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, run->conn, res, "could not read the ledger");
		goto out;
	}
	if ((rc = ax_codec_new(&codec, NULL, err)) != AX_OK ||
	    (rc = ax_decoder_new(&dec, codec, err)) != AX_OK ||
	    (rc = ax_kafka_new(
	         &rk, RD_KAFKA_CONSUMER, run->o->brokers, AX_KAFKA_AUDITOR, kv, err)) != AX_OK ||
	    (rc = topic_partitions(rk, audit, run->o->kafka_timeout_ms, &npart, err)) != AX_OK)
		goto out;
	for (p = 0; p < npart; p++)
		if ((rc = read_audit_partition(run, rk, dec, audit, p, np, &seen, &n, &cap, err)) !=
		    AX_OK)
			goto out;
	if (n > 0)
		qsort(seen, n, sizeof(*seen), audit_seen_cmp);
	run->sum->audit_outcomes = (int64_t)n;
	merge_audit(run, res, seen, n, (const char(*)[AX_TOPIC_NAME_MAX])names);
	rc = AX_OK;
out:
	PQclear(res);
	free(seen);
	if (rk != NULL) {
		rd_kafka_consumer_close(rk);
		rd_kafka_destroy(rk);
	}
	ax_decoder_free(dec);
	ax_codec_free(codec);
	run->sum->audit_seconds = ax_mono_s() - t0;
	return rc;
}

/* The runner ------------------------------------------------------------------------------- */

/* Refuse a role that row-level security would filter (invariant 3 of ax_verify.h). */
static int
check_role(struct run *run, struct ax_err *err)
{
	PGresult *res =
	    PQexec(run->conn, "SELECT current_user, r.rolsuper OR r.rolbypassrls OR "
	                      "pg_catalog.pg_has_role(current_user, 'axiom_auditor', 'USAGE') "
	                      "FROM pg_catalog.pg_roles r WHERE r.rolname = current_user");
	int rc = AX_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rc = ax_pg_err(err, run->conn, res, "could not check the database role");
		goto out;
	}
	snprintf(run->sum->role, sizeof(run->sum->role), "%s", PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		rc = ax_err_set(err, AX_EINVAL, "role \"%s\" cannot see every row", run->sum->role);
		ax_err_detail(err, "Row-level security shows this role only part of the tables, so "
		                   "a verification would be incomplete.");
		ax_err_hint(err, "Connect as axiom_auditor (AXIOM_PG_AUDITOR_DSN).");
	}
out:
	PQclear(res);
	return rc;
}

int64_t
ax_verify_summary_failures(const struct ax_verify_summary *s)
{
	return s->records.broken + s->ledger.broken + s->log_broken + s->checkpoints_broken +
	       s->signatures_failed + s->signatures_unverifiable + s->references_broken +
	       s->audit_broken;
}

/* Signed checkpoints (consumers/ax_checkpoint.h): each against the ledger as it is now. */
static int
stage_checkpoints(struct run *run, struct ax_err *err)
{
	struct ax_checkpoint_failure where;
	struct ax_verify_failure f;
	long n = 0;
	int rc = ax_checkpoint_verify_all(run->conn, &n, &where, err);

	run->sum->checkpoints = n;
	if (rc != AX_ECONFLICT)
		return rc;
	memset(&f, 0, sizeof(f));
	f.chain = AX_VERIFY_CHECKPOINTS;
	f.table = "axiom.checkpoints";
	snprintf(f.topic, sizeof(f.topic), "%s", where.topic);
	f.partition = where.partition;
	f.at = "seq";
	f.position = where.seq;
	snprintf(f.problem, sizeof(f.problem), "%.300s", err->msg);
	run->sum->checkpoints_broken = 1;
	report(run, &f);
	ax_err_clear(err);
	return AX_OK;
}

/* Stored e-signatures, re-verified offline from their proofs (consumers/ax_sign_reverify.h). */
static int
stage_signatures(struct run *run, struct ax_err *err)
{
	struct ax_sign_reverify_report rep;
	struct ax_verify_failure f;
	int rc;

	if (!run->o->signatures)
		return AX_OK;
	memset(&rep, 0, sizeof(rep));
	if ((rc = ax_sign_reverify(run->conn, &rep, err)) != AX_OK)
		return rc;
	run->sum->signatures_checked = true;
	run->sum->signatures = (int64_t)rep.checked;
	run->sum->signatures_verified = (int64_t)rep.verified;
	run->sum->signatures_failed = (int64_t)rep.failed;
	run->sum->signatures_unverifiable = (int64_t)rep.unverifiable;
	if (rep.failed == 0 && rep.unverifiable == 0)
		return AX_OK;
	memset(&f, 0, sizeof(f));
	f.chain = AX_VERIFY_SIGNATURES;
	f.table = "axiom.signatures";
	f.partition = -1;
	f.at = "signature";
	f.position = (int64_t)rep.failed;
	if (rep.failed > 0)
		snprintf(f.problem, sizeof(f.problem), "%.300s", rep.first_problem);
	else
		snprintf(f.problem, sizeof(f.problem),
		    "%zu recorded without the proofs that would let anyone re-verify them",
		    rep.unverifiable);
	report(run, &f);
	return AX_OK;
}

/* The columns of axiom.session_events the ledger reference check reads. */
enum { S_LEDGER_TOPIC, S_LEDGER_PARTITION, S_LEDGER_SEQ, S_EVENT_TIME, S_COMMAND_ID, S_NFIELDS };

/*
 * Body of a session_events job: count into j->ref_problems the rows of axiom.session_events
 * (the audit trail, one row per command) whose event_seq falls to the job and whose ledger
 * reference is out of line with the ledger read by the ledger stage: an entry accepted or
 * rejected, of the row's event time and command. Unordered: each row is judged alone.
 */
static int
refs_session_events(struct job *j, struct ax_err *err)
{
	struct run *run = j->run;
	struct copy_reader r;
	char sql[320], where[96] = "";
	int rc, got;

	memset(&r, 0, sizeof(r));
	if (j->jobs > 1)
		snprintf(where, sizeof(where), "WHERE coalesce(event_seq %% %d, 0) = %d", j->jobs,
		    j->job);
	snprintf(sql, sizeof(sql),
	    "COPY (SELECT ledger_topic, ledger_partition, ledger_seq, event_time, command_id "
	    "FROM axiom.session_events %s) TO STDOUT (FORMAT binary)",
	    where);
	if ((rc = copy_start(&r, j->conn, sql, err)) != AX_OK)
		goto out;
	while ((got = copy_row(&r, S_NFIELDS, err)) == 1) {
		uint8_t command[AX_UUID_LEN];
		int64_t t;
		int has_time = int_field(&r, S_EVENT_TIME, &t) == 0, has_command;

		if ((has_command = fixed(&r, S_COMMAND_ID, command, AX_UUID_LEN)) < 0) {
			rc = ax_err_set(
			    err, AX_ERR, "a row of axiom.session_events has an unexpected shape");
			goto out;
		}
		if (ref_out_of_line(&run->refs, &r, S_LEDGER_TOPIC, REF_ACCEPTED | REF_REJECTED,
		        has_time ? &t : NULL, has_command ? command : NULL))
			j->ref_problems++;
	}
	if (got < 0) {
		rc = got;
		goto out;
	}
	rc = copy_finish(&r, err);
out:
	if (rc != AX_OK && r.conn != NULL)
		(void)copy_finish(&r, &(struct ax_err){ 0 });
	copy_free(&r);
	return rc;
}

/*
 * Ledger references (db/0018): every regulated row names the ledger entry of the command
 * that inserted it, of the same decision, command and event time; ledger event times never
 * go back within a partition. Counts every problem, reports the first of each table.
 *
 * The bulk tables are checked in C: records by the record stage, the ledger's event-time
 * order by the ledger stage, session_events here, each against the entries the ledger stage
 * kept; verify_ledger_references(p_skip) checks the other tables. When the C checks find a
 * problem, every check of verify_ledger_references() runs instead, and its rows (the same
 * messages and count as without the C checks) are what is reported.
 */
static int
stage_references(struct run *run, struct ax_err *err)
{
	PGresult *res = NULL;
	struct ax_verify_failure f;
	const char *last = "";
	struct job jobs[AX_VERIFY_JOBS_MAX];
	int64_t c_problems;
	int i, rc;

	rc = run_jobs(run, jobs, refs_session_events, err);
	for (i = 0; i < run->njobs; i++)
		run->ref_problems.session_events += jobs[i].ref_problems;
	if (rc != AX_OK)
		return rc;
	c_problems =
	    run->ref_problems.records + run->ref_problems.session_events + run->refs.time_back;
	res = PQexec(
	    run->conn, c_problems == 0
	                   ? "SELECT table_name, row_key, problem FROM "
	                     "axiom_api.verify_ledger_references('{records,session_events,ledger}')"
	                   : "SELECT table_name, row_key, problem "
	                     "FROM axiom_api.verify_ledger_references()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, run->conn, res, "could not check the ledger references");
		goto out;
	}
	run->sum->references_broken = PQntuples(res);
	for (i = 0; i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 0), last) == 0)
			continue;
		last = PQgetvalue(res, i, 0);
		memset(&f, 0, sizeof(f));
		f.chain = AX_VERIFY_REFERENCES;
		snprintf(f.table_buf, sizeof(f.table_buf), "axiom.%s", last);
		f.table = f.table_buf;
		f.partition = -1;
		f.at = "row";
		snprintf(f.key, sizeof(f.key), "%s", PQgetvalue(res, i, 1));
		snprintf(f.problem, sizeof(f.problem), "%.300s", PQgetvalue(res, i, 2));
		report(run, &f);
	}
	if (c_problems > 0 && PQntuples(res) == 0) {
		/* the C checks and the SQL function disagree: the C finding still fails the run */
		memset(&f, 0, sizeof(f));
		f.chain = AX_VERIFY_REFERENCES;
		f.table = "axiom.ledger";
		f.partition = -1;
		f.at = "row";
		snprintf(f.key, sizeof(f.key), "-");
		snprintf(f.problem, sizeof(f.problem),
		    "%" PRId64 " records, %" PRId64 " session_events and %" PRId64
		    " ledger entries are out of line with the ledger, which "
		    "verify_ledger_references() does not name",
		    run->ref_problems.records, run->ref_problems.session_events,
		    run->refs.time_back);
		report(run, &f);
		run->sum->references_broken = c_problems;
	}
out:
	PQclear(res);
	return rc;
}

/* The stages, in order; each reads its tables once in the run's snapshot. kafka: the stage
 * reads the broker (its time goes to the summary's kafka_part_seconds, the others' to
 * database_seconds). */
static const struct {
	const char *name;
	int (*run)(struct run *run, struct ax_err *err);
	bool kafka;
} stages[] = {
	{ "ledger chains", stage_ledger, false }, /* first: the record stage needs its entries */
	{ "record chains", stage_records, false },
	{ "ledger references", stage_references, false },
	{ "checkpoints", stage_checkpoints, false },
	{ "signatures", stage_signatures, false },
	{ "kafka log", stage_kafka, true },
	{ "audit topic", stage_audit, true },
};

int
ax_verify_run(const struct ax_verify_opts *o, ax_verify_report_fn report_fn, void *arg,
    struct ax_verify_summary *out, struct ax_err *err)
{
	struct run run = { .o = o,
		.report = report_fn,
		.arg = arg,
		.sum = out,
		.mu = PTHREAD_MUTEX_INITIALIZER,
		.wait_max = o->max_waiting > 0 ? o->max_waiting : AX_VERIFY_MAX_WAITING };
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (o->jobs > AX_VERIFY_JOBS_MAX)
		return ax_err_set(err, AX_EINVAL, "at most %d jobs", AX_VERIFY_JOBS_MAX);
	if ((rc = ax_pg_connect(&run.conn, o->dsn, "the auditor role", err)) != AX_OK)
		goto out;
	if (PQsetClientEncoding(run.conn, "UTF8") != 0) {
		rc = ax_pg_err(err, run.conn, NULL, "could not set the client encoding");
		goto out;
	}
	if ((rc = check_role(&run, err)) != AX_OK ||
	    (rc = ax_pg_exec(run.conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	         "could not start a read-only transaction", err)) != AX_OK ||
	    (rc = ax_pg_exec(run.conn, READ_SETTINGS, "could not set up the read-only transaction",
	         err)) != AX_OK)
		goto out;
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		double t0 = ax_mono_s();

		/* the Kafka stages' queries are planned as before READ_SETTINGS */
		if (stages[i].kafka && !stages[i - 1].kafka &&
		    (rc = ax_pg_exec(run.conn,
		         "SET LOCAL max_parallel_workers_per_gather TO DEFAULT; "
		         "SET LOCAL jit TO DEFAULT",
		         "could not set up the read-only transaction", err)) != AX_OK)
			goto out;
		rc = stages[i].run(&run, err);
		*(stages[i].kafka ? &out->kafka_part_seconds : &out->database_seconds) +=
		    ax_mono_s() - t0;
		if (rc != AX_OK)
			goto out;
	}
	rc = ax_pg_exec(run.conn, "COMMIT", "could not end the read-only transaction", err);
out:
	for (i = 1; i < AX_VERIFY_JOBS_MAX; i++)
		PQfinish(run.jobconn[i]);
	PQfinish(run.conn);
	ref_index_free(&run.refs);
	pthread_mutex_destroy(&run.mu);
	return rc;
}
