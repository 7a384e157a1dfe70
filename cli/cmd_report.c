/*
 * cmd_report.c - `axiom report record LINEAGE` and `axiom report audit --from --to`: copies
 * of records and of the audit trail for reviewers and inspectors (21 CFR 11.10(b), (e);
 * EU GMP Annex 11 sections 8 and 9), as JSON (the electronic copy), HTML and PDF.
 *
 * How: one read-only REPEATABLE READ snapshot, as the auditor (default) or as an analyst
 * within row-level security; every column is named (analysts cannot read
 * signatures.proofs); the record chain of the lineage is recomputed here in C with the
 * canonical encoding v1 (common/canon/ax_canon.h), and every ledger entry that a row of the
 * lineage names is recomputed with the ledger encoding and linked to its predecessor. The
 * JSON document is built first; its bytes are the electronic copy and their SHA-256 is
 * printed in the HTML and PDF rendered from it (cli/report.h).
 *
 * Invariants:
 *  (1) nothing is written to the database (READ ONLY transaction);
 *  (2) a lineage whose content exceeds REPORT_CONTENT_MAX bytes, or a period with more
 *      entries than --limit, is refused before anything is fetched whole;
 *  (3) the integrity status is "unchanged" only when every version and every ledger entry
 *      of the lineage recomputes and links; otherwise each version or entry that does not is
 *      named, and the exit code is 1 (the report is still written);
 *  (4) every timestamp is printed in UTC and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ax_canon.h"
#include "ax_hex.h"
#include "ax_pg.h"
#include "ax_report.h"
#include "cli.h"
#include "report.h"

#define REPORT_CONTENT_MAX    (32u * 1024u * 1024u)  /* sum of a lineage's contents */
#define REPORT_COPY_MAX       (512u * 1024u * 1024u) /* the JSON copy, hard cap */
#define AUDIT_TRAIL_LIMIT_DEF 10000
#define AUDIT_TRAIL_LIMIT_MAX 1000000
#define PDF_TIMEOUT_S         120
#define TEXT_ARG_MAX          256 /* --facility, --actor, --from, --to */

/* Timestamps: ISO 8601 in UTC for people and the copy, microseconds for the encodings. */
#define ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define US(c)  "(extract(epoch FROM " c ") * 1000000)::bigint"

enum fmt { FMT_HTML, FMT_PDF, FMT_JSON };

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom report record LINEAGE_ID [--format html|pdf|json] [-o FILE] [--copy "
	    "FILE]\n"
	    "                                      [--dsn DSN]\n"
	    "       axiom report audit --from T1 --to T2 [--facility F] [--actor A] [--limit N]\n"
	    "                          [--format html|pdf|json] [-o FILE] [--copy FILE] [--dsn "
	    "DSN]\n"
	    "\n"
	    "Copies for a reviewer or an inspector (21 CFR 11.10(b), (e); EU GMP Annex 11 "
	    "sections\n"
	    "8 and 9), read in one read-only snapshot:\n"
	    "  record  every version of one record (lineage) with its fields and content; what\n"
	    "          changed from the version before, as a line difference; who, when (UTC) and\n"
	    "          why; the change-request trail (propose, submit, review, approve or reject,\n"
	    "          apply); every e-signature's manifestation (printed name, date and time,\n"
	    "          meaning, factors) next to the version it signs; every audit-trail event of\n"
	    "          the lineage, refusals included; and the integrity status at print time:\n"
	    "          the record chain recomputed (canonical encoding v1) and every ledger entry\n"
	    "          the rows name recomputed and linked, \"unchanged since original entry\" or\n"
	    "          which version is not, with the ledger references (topic, partition,\n"
	    "          offset, sequence).\n"
	    "  audit   every ledger entry of the period [T1, T2) with its audit-trail event:\n"
	    "          accepted, refused and quarantined commands (a quarantine has no event);\n"
	    "          control ticks are left out. --facility keeps the events of that facility\n"
	    "          (quarantines have none, so they drop out); --actor keeps one actor's.\n"
	    "          T1 and T2 are PostgreSQL timestamps, read as UTC unless they name a zone:\n"
	    "          '2026-12-01', '2026-12-01 08:00', '2026-12-01T08:00:00+01'.\n"
	    "\n");
	fprintf(fp,
	    "Formats:\n"
	    "  json  the electronic copy: every field, the content as stored (hex, and as text\n"
	    "        when it is UTF-8), every stored and recomputed hash, the ledger entries with\n"
	    "        what their entry hash covers: enough to re-verify offline;\n"
	    "  html  one self-contained file (inline CSS, print stylesheet, no external "
	    "resource),\n"
	    "        rendered from the JSON copy (the default);\n"
	    "  pdf   that HTML printed by headless Chromium ($AXIOM_CHROMIUM, default chromium).\n"
	    "The footer of the HTML and PDF gives the generation time, the role that generated\n"
	    "it (current_user) and the SHA-256 of the electronic copy: of the exact bytes of the\n"
	    "JSON copy of the same run. With -o, html and pdf also write that copy, to --copy\n"
	    "FILE or else to -o's name with .json appended (spec.pdf: spec.pdf.json); check\n"
	    "it with\n"
	    "  sha256sum spec.pdf.json\n"
	    "\n"
	    "As an analyst ($AXIOM_PG_ANALYTICS_DSN with --dsn) the report holds only the rows\n"
	    "the analyst's grants allow (row-level security) and no raw signature proofs; the\n"
	    "ledger is the auditor's, so its entries are then not re-verified, and the report\n"
	    "says so.\n"
	    "\n"
	    "options:\n"
	    "  -f, --format F      html, pdf or json (default html)\n"
	    "  -o, --output FILE   write there (default: standard output)\n"
	    "  -c, --copy FILE     also write the JSON electronic copy there (html, pdf)\n"
	    "  -d, --dsn DSN       connection string (default: $AXIOM_PG_AUDITOR_DSN)\n"
	    "      --from T1       audit: start of the period (inclusive)\n"
	    "      --to T2         audit: end of the period (exclusive)\n"
	    "      --facility F    audit: only events of facility F\n"
	    "      --actor A       audit: only commands of actor A\n"
	    "      --limit N       audit: refuse a period of more than N entries, 1 to %d\n"
	    "                      (default %d)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "LINEAGE_ID is axiom.records.id, shared by every version of a record (not a\n"
	    "version's record_id); list them with\n"
	    "  psql \"$AXIOM_PG_AUDITOR_DSN\" -c \"SELECT DISTINCT id, title FROM axiom.records\"\n"
	    "\n"
	    "examples:\n"
	    "  eval \"$(ops/stack env)\"\n"
	    "  build/cli/axiom report record 6f1c...e2 -o spec.html\n"
	    "  build/cli/axiom report record 6f1c...e2 --format pdf -o spec.pdf\n"
	    "  build/cli/axiom report audit --from 2026-12-01 --to 2026-12-02 --format pdf -o "
	    "day.pdf\n"
	    "  the demo's database (ops/demo):\n"
	    "  build/cli/axiom report record ID --dsn \"$AXIOM_PG_AUDITOR_DSN dbname=axiom_demo\"\n"
	    "\n"
	    "exit codes: 0 written and every integrity check passed, 1 written but a version or\n"
	    "            ledger entry is not as originally entered (or the report could not be\n"
	    "            made), 2 bad command line, 3 PostgreSQL is unreachable\n",
	    AUDIT_TRAIL_LIMIT_MAX, AUDIT_TRAIL_LIMIT_DEF);
}

/* Database helpers ------------------------------------------------------------------------ */

/* Run sql with text parameters; *out is a tuples result, or err is set. */
static int
query(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
    PGresult **out, struct ax_err *err)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);

	*out = NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		int rc = ax_pg_err(err, conn, res, what);

		PQclear(res);
		return rc;
	}
	*out = res;
	return AX_OK;
}

static int
command(PGconn *conn, const char *what, const char *sql, struct ax_err *err)
{
	PGresult *res = PQexec(conn, sql);
	int rc = AX_OK;

	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = ax_pg_err(err, conn, res, what);
	PQclear(res);
	return rc;
}

/* Column c of row r as a JSON string, or null for SQL NULL. */
static json_t *
jstr(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? json_null() : json_string(PQgetvalue(res, r, c));
}

/* Column c of row r as an integer (0 for NULL or junk; the database's types are integers). */
static int64_t
ival(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

static json_t *
jint(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? json_null() : json_integer(ival(res, r, c));
}

/* Parse the UUID text of column c of row r into out; false when it is not one. */
static bool
uuid_col(uint8_t out[AX_UUID_LEN], const PGresult *res, int r, int c)
{
	return ax_uuid_parse(out, PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
}

/* Ledger references ----------------------------------------------------------------------- */

struct lref {
	char topic[256];
	int32_t partition;
	int64_t seq;
	json_t *entry; /* the entry as fetched (borrowed from the document), NULL when none */
	int ok;        /* recomputed and linked */
	char problem[256];
};

struct refs {
	struct lref *v;
	size_t n, cap;
};

/*
 * The index in rs of (topic, partition, seq), added when new; -1 when out of memory. An
 * index, not a pointer: rs->v moves when it grows.
 */
static long
ref_add(struct refs *rs, const char *topic, int32_t partition, int64_t seq)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->v[i].partition == partition && rs->v[i].seq == seq &&
		    strcmp(rs->v[i].topic, topic) == 0)
			return (long)i;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct lref *v = realloc(rs->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		rs->v = v;
		rs->cap = cap;
	}
	memset(&rs->v[rs->n], 0, sizeof(rs->v[0]));
	snprintf(rs->v[rs->n].topic, sizeof(rs->v[0].topic), "%s", topic);
	rs->v[rs->n].partition = partition;
	rs->v[rs->n].seq = seq;
	return (long)rs->n++;
}

/*
 * The JSON ledger reference of the row's columns c (topic), c+1, c+2, remembered in rs
 * (its index in *out_ref); -1 in *out_ref when the row has none ('' / 0 / 0: written before
 * migration 0018) or memory ran out (then the reference is still printed, not checked).
 */
static json_t *
ledger_ref(struct refs *rs, const PGresult *res, int r, int c, long *out_ref)
{
	const char *topic = PQgetvalue(res, r, c);
	int64_t seq = ival(res, r, c + 2);
	int32_t partition = (int32_t)ival(res, r, c + 1);

	*out_ref = -1;
	if (topic[0] == '\0' || seq <= 0)
		return json_null();
	*out_ref = ref_add(rs, topic, partition, seq);
	return json_pack(
	    "{s:s, s:i, s:I}", "topic", topic, "partition", (int)partition, "seq", (json_int_t)seq);
}

/* The queries. Every column is named: analysts may not read signatures.proofs (db/0018). */
/* clang-format off */
#define LEDGER_COLUMNS \
	"l.kafka_offset, l.command_id, l.actor, " ISO("l.event_time") ", " US("l.event_time") ", " \
	"l.decision, l.reason_code, encode(l.record_hash, 'hex'), " \
	"encode(l.previous_entry_hash, 'hex'), encode(l.entry_hash, 'hex'), " \
	"encode(p.entry_hash, 'hex'), l.seq IS NOT NULL"
static const char SQL_SESSION[] =
	"SELECT current_user, " ISO("transaction_timestamp()") ", "
	"has_table_privilege('axiom.ledger', 'SELECT'), "
	"has_column_privilege('axiom.signatures', 'proofs', 'SELECT')";
static const char SQL_VERSIONS[] =
	"SELECT r.record_id, r.id, r.version, r.previous_record_id, "
	"encode(r.previous_record_hash, 'hex'), encode(r.record_hash, 'hex'), "
	"r.record_type, r.facility_id, r.domain_id, r.title, encode(r.content, 'hex'), "
	"r.created_by, " ISO("r.created_at") ", " US("r.created_at") ", r.change_id, "
	"r.status, " ISO("r.status_changed_at") ", r.status_changed_by, "
	"r.ledger_topic, r.ledger_partition, r.ledger_seq, u.printed_name "
	"FROM axiom.records r LEFT JOIN axiom.users u ON u.user_id = r.created_by "
	"WHERE r.id = $1::uuid ORDER BY r.version";
static const char SQL_SIGNATURES[] =
	"SELECT s.signature_id, s.record_id, s.version, encode(s.record_hash, 'hex'), "
	"s.signer, s.printed_name, " ISO("s.signed_at") ", s.meaning, "
	"array_to_string(s.factor_types, ' + '), encode(s.intent_hash, 'hex'), "
	"s.ledger_topic, s.ledger_partition, s.ledger_seq, "
	"s.record_hash = r.record_hash "
	"FROM axiom.signatures s LEFT JOIN axiom.records r ON r.record_id = s.record_id "
	"WHERE s.id = $1::uuid ORDER BY s.version, s.signed_at, s.signature_id";
static const char SQL_CHANGES[] =
	"SELECT c.change_id, c.base_version, encode(c.base_record_hash, 'hex'), c.title, "
	"c.author, u.printed_name, c.reason, " ISO("c.proposed_at") ", c.status, "
	ISO("c.status_changed_at") ", c.applied_record_id, c.ledger_topic, "
	"c.ledger_partition, c.ledger_seq FROM axiom.change_requests c "
	"LEFT JOIN axiom.users u ON u.user_id = c.author "
	"WHERE c.id = $1::uuid ORDER BY c.proposed_at, c.change_id";
static const char SQL_STEPS[] =
	"SELECT s.change_id, s.step_seq, s.step, s.from_status, s.to_status, s.actor, "
	"u.printed_name, " ISO("s.event_time") ", s.reason, s.ledger_topic, "
	"s.ledger_partition, s.ledger_seq FROM axiom.change_request_steps s "
	"JOIN axiom.change_requests c ON c.change_id = s.change_id "
	"LEFT JOIN axiom.users u ON u.user_id = s.actor "
	"WHERE c.id = $1::uuid ORDER BY s.event_time, s.step_seq";
/* one scan of the audit trail: session_events has no index on object_id or the record ids */
static const char SQL_EVENTS[] =
	"SELECT e.event_seq, " ISO("e.event_time") ", e.actor, u.printed_name, "
	"e.operation, e.decision, e.reason_code, e.reason, e.command_id, e.object_id, "
	"e.old_record_id, e.new_record_id, e.ledger_topic, e.ledger_partition, "
	"e.ledger_seq FROM axiom.session_events e "
	"LEFT JOIN axiom.users u ON u.user_id = e.actor "
	"WHERE e.object_id = $1::uuid "
	"OR e.object_id IN (SELECT change_id FROM axiom.change_requests WHERE id = $1::uuid) "
	"OR e.object_id IN (SELECT signature_id FROM axiom.signatures WHERE id = $1::uuid) "
	"OR e.new_record_id IN (SELECT record_id FROM axiom.records WHERE id = $1::uuid) "
	"OR e.old_record_id IN (SELECT record_id FROM axiom.records WHERE id = $1::uuid) "
	"ORDER BY e.event_time, e.event_seq";
static const char SQL_LEDGER[] =
	"SELECT x.t, x.p, x.s, " LEDGER_COLUMNS " FROM unnest($1::text[], $2::int[], "
	"$3::bigint[]) AS x(t, p, s) LEFT JOIN axiom.ledger l ON l.topic = x.t AND "
	"l.kafka_partition = x.p AND l.seq = x.s LEFT JOIN axiom.ledger p ON "
	"p.topic = x.t AND p.kafka_partition = x.p AND p.seq = x.s - 1 "
	"ORDER BY x.t, x.p, x.s";
static const char SQL_PERIOD[] =
	"SELECT " ISO("$1::timestamptz") ", " ISO("$2::timestamptz");
static const char SQL_AUDIT_TRAIL_LEDGER[] =
	"SELECT l.topic, l.kafka_partition, l.seq, " LEDGER_COLUMNS ", e.event_seq, "
	"e.operation, e.reason, e.object_id, e.facility_id, e.domain_id, u.printed_name, "
	"e.new_record_id FROM axiom.ledger l "
	"LEFT JOIN axiom.ledger p ON p.topic = l.topic AND p.kafka_partition = "
	"l.kafka_partition AND p.seq = l.seq - 1 "
	"LEFT JOIN axiom.session_events e ON e.ledger_topic = l.topic AND "
	"e.ledger_partition = l.kafka_partition AND e.ledger_seq = l.seq "
	"LEFT JOIN axiom.users u ON u.user_id = l.actor "
	"WHERE l.event_time >= $1::timestamptz AND l.event_time < $2::timestamptz "
	"AND l.reason_code IS DISTINCT FROM 'tick' "
	"AND ($3::text IS NULL OR e.facility_id = $3) "
	"AND ($4::text IS NULL OR l.actor = $4) "
	"ORDER BY l.event_time, l.topic, l.kafka_partition, l.seq, e.event_seq "
	"LIMIT $5::bigint";
/* an analyst cannot read the ledger: the same columns from the audit trail alone */
static const char SQL_AUDIT_TRAIL_EVENTS[] =
	"SELECT e.ledger_topic, e.ledger_partition, e.ledger_seq, NULL, e.command_id, "
	"e.actor, " ISO("e.event_time") ", " US("e.event_time") ", e.decision, "
	"e.reason_code, NULL, NULL, NULL, NULL, true, e.event_seq, e.operation, "
	"e.reason, e.object_id, e.facility_id, e.domain_id, u.printed_name, "
	"e.new_record_id FROM axiom.session_events e "
	"LEFT JOIN axiom.users u ON u.user_id = e.actor "
	"WHERE e.event_time >= $1::timestamptz AND e.event_time < $2::timestamptz "
	"AND ($3::text IS NULL OR e.facility_id = $3) "
	"AND ($4::text IS NULL OR e.actor = $4) "
	"ORDER BY e.event_time, e.event_seq LIMIT $5::bigint";
/* clang-format on */

/* Columns of LEDGER_COLUMNS, from its first. */
enum {
	LC_OFFSET,
	LC_COMMAND,
	LC_ACTOR,
	LC_TIME,
	LC_US,
	LC_DECISION,
	LC_REASON,
	LC_RHASH,
	LC_PREV,
	LC_HASH,
	LC_PRED,
	LC_FOUND,
	LC_N
};

/*
 * Build the JSON of the ledger entry at row r (columns c.. as LEDGER_COLUMNS; topic,
 * partition, seq given) with its recomputed hash and checks; *ok 1 when it recomputes and
 * links to its predecessor, else problem says why.
 */
static json_t *
ledger_entry(struct ax_sha256 *sha, const PGresult *res, int r, int c, const char *topic,
    int32_t partition, int64_t seq, int *ok, char *problem, size_t pcap)
{
	static const uint8_t zero[AX_HASH_LEN];
	struct ax_canon_ledger e;
	struct ax_err err;
	uint8_t h[AX_HASH_LEN], stored[AX_HASH_LEN], pred[AX_HASH_LEN];
	uint8_t *rhash = NULL;
	size_t rhash_len = 0;
	char hex[2 * AX_HASH_LEN + 1] = "";
	json_t *o;

	*ok = 0;
	problem[0] = '\0';
	o = json_pack(
	    "{s:s, s:i, s:I}", "topic", topic, "partition", (int)partition, "seq", (json_int_t)seq);
	if (strcmp(PQgetvalue(res, r, c + LC_FOUND), "t") != 0) {
		snprintf(problem, pcap, "no such ledger entry");
		json_object_set_new(o, "problem", json_string(problem));
		json_object_set_new(o, "unchanged", json_false());
		return o;
	}
	json_object_set_new(o, "offset", jint(res, r, c + LC_OFFSET));
	json_object_set_new(o, "command_id", jstr(res, r, c + LC_COMMAND));
	json_object_set_new(o, "actor", jstr(res, r, c + LC_ACTOR));
	json_object_set_new(o, "event_time", jstr(res, r, c + LC_TIME));
	json_object_set_new(o, "event_time_us", jint(res, r, c + LC_US));
	json_object_set_new(o, "decision", jstr(res, r, c + LC_DECISION));
	json_object_set_new(o, "reason_code", jstr(res, r, c + LC_REASON));
	json_object_set_new(o, "record_hash", jstr(res, r, c + LC_RHASH));
	json_object_set_new(o, "previous_entry_hash", jstr(res, r, c + LC_PREV));
	json_object_set_new(o, "entry_hash", jstr(res, r, c + LC_HASH));
	json_object_set_new(o, "predecessor_entry_hash", jstr(res, r, c + LC_PRED));

	memset(&e, 0, sizeof(e));
	e.topic = topic;
	e.partition = partition;
	e.seq = seq;
	e.offset = ival(res, r, c + LC_OFFSET);
	e.has_command_id = !PQgetisnull(res, r, c + LC_COMMAND);
	if (e.has_command_id && !uuid_col(e.command_id, res, r, c + LC_COMMAND))
		e.has_command_id = 0;
	e.actor = PQgetisnull(res, r, c + LC_ACTOR) ? NULL : PQgetvalue(res, r, c + LC_ACTOR);
	e.event_time_us = ival(res, r, c + LC_US);
	e.decision = PQgetvalue(res, r, c + LC_DECISION);
	e.reason_code =
	    PQgetisnull(res, r, c + LC_REASON) ? NULL : PQgetvalue(res, r, c + LC_REASON);
	if (!PQgetisnull(res, r, c + LC_RHASH)) {
		if (ax_pg_get_hex(&rhash, &rhash_len, res, r, c + LC_RHASH) != 0) {
			snprintf(problem, pcap, "record_hash cannot be read");
			goto done;
		}
		e.record_hash = rhash;
		e.record_hash_len = rhash_len;
	}
	if (ax_hex_decode(e.previous_entry_hash, PQgetvalue(res, r, c + LC_PREV), AX_HASH_LEN) !=
	        0 ||
	    ax_hex_decode(stored, PQgetvalue(res, r, c + LC_HASH), AX_HASH_LEN) != 0) {
		snprintf(problem, pcap, "a stored hash is not 32 bytes");
		goto done;
	}
	ax_err_clear(&err);
	if (ax_canon_ledger_hash(h, sha, &e, &err) != AX_OK) {
		snprintf(problem, pcap, "the entry cannot be encoded: %.200s", err.msg);
		goto done;
	}
	ax_hex_encode(hex, h, AX_HASH_LEN);
	json_object_set_new(o, "recomputed_entry_hash", json_string(hex));
	if (memcmp(h, stored, AX_HASH_LEN) != 0) {
		snprintf(problem, pcap, "entry_hash does not match the entry's stored columns");
		goto done;
	}
	if (seq == 1) {
		if (memcmp(e.previous_entry_hash, zero, AX_HASH_LEN) != 0) {
			snprintf(problem, pcap, "the first entry names a predecessor");
			goto done;
		}
	} else if (PQgetisnull(res, r, c + LC_PRED) ||
	           ax_hex_decode(pred, PQgetvalue(res, r, c + LC_PRED), AX_HASH_LEN) != 0 ||
	           memcmp(pred, e.previous_entry_hash, AX_HASH_LEN) != 0) {
		snprintf(problem, pcap, "previous_entry_hash is not the entry_hash of seq %" PRId64,
		    seq - 1);
		goto done;
	}
	*ok = 1;
done:
	free(rhash);
	if (problem[0] != '\0')
		json_object_set_new(o, "problem", json_string(problem));
	json_object_set_new(o, "unchanged", json_boolean(*ok));
	return o;
}

/* Record report --------------------------------------------------------------------------- */

struct session {
	PGconn *conn;
	struct ax_sha256 *sha;
	char role[128];
	char generated_at[64];
	int ledger_readable;
	int proofs_readable;
};

/* Connect, set UTC, open the read-only snapshot, learn the role and its privileges. */
static int
session_open(struct session *s, const char *dsn, struct ax_err *err)
{
	PGresult *res = NULL;
	int rc;

	if ((rc = ax_pg_connect(&s->conn, dsn, "the report's role", err)) != AX_OK)
		return rc;
	if ((rc = command(s->conn, "setting the time zone", "SET TIME ZONE 'UTC'", err)) != AX_OK ||
	    (rc = command(s->conn, "opening a read-only snapshot",
	         "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err)) != AX_OK)
		return rc;
	if ((rc = query(s->conn, "reading the role", SQL_SESSION, 0, NULL, &res, err)) != AX_OK) {
		if (strcmp(err->sqlstate, "3F000") == 0 || strcmp(err->sqlstate, "42P01") == 0)
			ax_err_hint(err,
			    "This database has no Axiom schema: name the right one in the "
			    "DSN (the demo's: dbname=axiom_demo), or run axiom migrate.");
		return rc;
	}
	snprintf(s->role, sizeof(s->role), "%s", PQgetvalue(res, 0, 0));
	snprintf(s->generated_at, sizeof(s->generated_at), "%s", PQgetvalue(res, 0, 1));
	s->ledger_readable = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	s->proofs_readable = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	PQclear(res);
	return ax_sha256_new(&s->sha, err);
}

static void
session_close(struct session *s)
{
	if (s->conn != NULL) {
		PGresult *res = PQexec(s->conn, "ROLLBACK");

		PQclear(res);
		PQfinish(s->conn);
	}
	ax_sha256_free(s->sha);
	memset(s, 0, sizeof(*s));
}

/* The document's head: format, generation time, role, time zone. */
static json_t *
doc_new(const struct session *s, const char *format)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "format", format, "generated_at",
	    s->generated_at, "generated_by", s->role, "time_zone", "UTC", "ledger_readable",
	    s->ledger_readable, "signature_proofs_readable", s->proofs_readable);
}

enum {
	V_RECORD_ID,
	V_ID,
	V_VERSION,
	V_PREV_ID,
	V_PREV_HASH,
	V_HASH,
	V_TYPE,
	V_FACILITY,
	V_DOMAIN,
	V_TITLE,
	V_CONTENT,
	V_CREATED_BY,
	V_CREATED_AT,
	V_CREATED_US,
	V_CHANGE_ID,
	V_STATUS,
	V_STATUS_AT,
	V_STATUS_BY,
	V_LTOPIC,
	V_LPART,
	V_LSEQ,
	V_NAME,
	V_NFIELDS
};

/* Append a problem text to the version's "problems" array. */
static void version_problem(json_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
version_problem(json_t *v, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	json_t *a = json_object_get(v, "problems");

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (a == NULL) {
		a = json_array();
		json_object_set_new(v, "problems", a);
	}
	json_array_append_new(a, json_string(buf));
}

/* The versions of the lineage, recomputed and chained; refs collected. */
static int
fetch_versions(struct session *s, const char *lineage, json_t *doc, struct refs *rs, long **vrefs,
    struct ax_err *err)
{
	const char *params[1] = { lineage };
	PGresult *res = NULL;
	json_t *arr = json_array();
	uint8_t prev_id[AX_UUID_LEN], prev_hash[AX_HASH_LEN];
	int rc, i, n, have_prev = 0;

	json_object_set_new(doc, "versions", arr);
	if ((rc = query(s->conn, "checking the size of the lineage",
	         "SELECT count(*), coalesce(sum(octet_length(content)), 0) FROM axiom.records "
	         "WHERE id = $1::uuid",
	         1, params, &res, err)) != AX_OK)
		return rc;
	if (ival(res, 0, 0) == 0) {
		PQclear(res);
		ax_err_set(
		    err, AX_EINVAL, "no record lineage %s is visible to role %s", lineage, s->role);
		if (query(s->conn, "looking the id up as a version",
		        "SELECT id, version FROM axiom.records WHERE record_id = $1::uuid", 1,
		        params, &res, &(struct ax_err){ 0 }) == AX_OK &&
		    PQntuples(res) == 1) {
			ax_err_detail(err, "%s is the record_id of version %s of lineage %s.",
			    lineage, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
			ax_err_hint(err, "Pass the lineage id: axiom report record %s",
			    PQgetvalue(res, 0, 0));
		} else {
			ax_err_hint(err,
			    "List the lineages you can see with: psql \"$DSN\" -c \"SELECT "
			    "DISTINCT id, title FROM axiom.records\" (check dbname in the "
			    "DSN: the demo's database is axiom_demo). An analyst sees only "
			    "the facilities and domains of their own grants.");
		}
		PQclear(res);
		return AX_EINVAL;
	}
	if ((uint64_t)ival(res, 0, 1) > REPORT_CONTENT_MAX) {
		ax_err_set(err, AX_EINVAL,
		    "the versions of lineage %s hold %" PRId64 " bytes of content, more than the "
		    "report's limit of %u",
		    lineage, ival(res, 0, 1), REPORT_CONTENT_MAX);
		PQclear(res);
		return AX_EINVAL;
	}
	PQclear(res);
	if ((rc = query(s->conn, "reading the versions", SQL_VERSIONS, 1, params, &res, err)) !=
	    AX_OK)
		return rc;
	n = PQntuples(res);
	if ((*vrefs = calloc((size_t)n + 1, sizeof(**vrefs))) == NULL) {
		PQclear(res);
		return ax_err_set(err, AX_ERR, "out of memory reading the versions");
	}
	for (i = 0; i < n; i++) {
		struct ax_canon_record c;
		uint8_t h[AX_HASH_LEN], stored[AX_HASH_LEN], *content = NULL;
		size_t content_len = 0;
		char hex[2 * AX_HASH_LEN + 1];
		long ref;
		json_t *v = json_object();
		struct ax_err e2;
		int64_t version = ival(res, i, V_VERSION);

		json_array_append_new(arr, v);
		json_object_set_new(v, "version", json_integer(version));
		json_object_set_new(v, "record_id", jstr(res, i, V_RECORD_ID));
		json_object_set_new(v, "title", jstr(res, i, V_TITLE));
		json_object_set_new(v, "record_type", jstr(res, i, V_TYPE));
		json_object_set_new(v, "facility_id", jstr(res, i, V_FACILITY));
		json_object_set_new(v, "domain_id", jstr(res, i, V_DOMAIN));
		json_object_set_new(v, "created_by", jstr(res, i, V_CREATED_BY));
		json_object_set_new(v, "created_by_name", jstr(res, i, V_NAME));
		json_object_set_new(v, "created_at", jstr(res, i, V_CREATED_AT));
		json_object_set_new(v, "created_at_us", jint(res, i, V_CREATED_US));
		json_object_set_new(v, "reason", json_null()); /* version_reasons fills it */
		json_object_set_new(v, "change_id", jstr(res, i, V_CHANGE_ID));
		json_object_set_new(v, "status", jstr(res, i, V_STATUS));
		json_object_set_new(v, "status_changed_at", jstr(res, i, V_STATUS_AT));
		json_object_set_new(v, "status_changed_by", jstr(res, i, V_STATUS_BY));
		json_object_set_new(v, "previous_record_id", jstr(res, i, V_PREV_ID));
		json_object_set_new(v, "previous_record_hash", jstr(res, i, V_PREV_HASH));
		json_object_set_new(v, "record_hash", jstr(res, i, V_HASH));
		json_object_set_new(v, "ledger", ledger_ref(rs, res, i, V_LTOPIC, &ref));
		(*vrefs)[i] = ref;
		if (ref < 0 && json_is_null(json_object_get(v, "ledger")))
			version_problem(v, "the row names no ledger entry");

		if (ax_pg_get_hex(&content, &content_len, res, i, V_CONTENT) != 0) {
			version_problem(v, "the content cannot be read");
			continue;
		}
		json_object_set_new(v, "content_hex", json_string(PQgetvalue(res, i, V_CONTENT)));
		if (ax_utf8_valid(content, content_len) && memchr(content, 0, content_len) == NULL)
			json_object_set_new(
			    v, "content_text", json_stringn((const char *)content, content_len));
		json_object_set_new(v, "content_bytes", json_integer((json_int_t)content_len));

		if (version != i + 1)
			version_problem(v, "version %" PRId64 " is stored where version %d belongs",
			    version, i + 1);
		memset(&c, 0, sizeof(c));
		if (!uuid_col(c.record_id, res, i, V_RECORD_ID) || !uuid_col(c.id, res, i, V_ID))
			version_problem(v, "record_id or id is not a uuid");
		c.version = version;
		c.has_previous = !PQgetisnull(res, i, V_PREV_ID);
		if (c.has_previous && (!uuid_col(c.previous_record_id, res, i, V_PREV_ID) ||
		                          PQgetisnull(res, i, V_PREV_HASH) ||
		                          ax_hex_decode(c.previous_record_hash,
		                              PQgetvalue(res, i, V_PREV_HASH), AX_HASH_LEN) != 0))
			version_problem(
			    v, "previous_record_id or previous_record_hash is malformed");
		if (have_prev &&
		    (!c.has_previous || memcmp(c.previous_record_id, prev_id, AX_UUID_LEN) != 0 ||
		        memcmp(c.previous_record_hash, prev_hash, AX_HASH_LEN) != 0))
			version_problem(v,
			    "it is not linked to version %d as stored (previous_record_id or "
			    "previous_record_hash differs)",
			    i);
		if (!have_prev && c.has_previous)
			version_problem(v, "the first version names a previous version");
		c.record_type = PQgetvalue(res, i, V_TYPE);
		c.facility_id = PQgetvalue(res, i, V_FACILITY);
		c.domain_id = PQgetvalue(res, i, V_DOMAIN);
		c.title = PQgetvalue(res, i, V_TITLE);
		c.content = content;
		c.content_len = content_len;
		c.created_by = PQgetvalue(res, i, V_CREATED_BY);
		c.created_at_us = ival(res, i, V_CREATED_US);
		c.has_change_id = !PQgetisnull(res, i, V_CHANGE_ID);
		if (c.has_change_id && !uuid_col(c.change_id, res, i, V_CHANGE_ID))
			version_problem(v, "change_id is not a uuid");
		ax_err_clear(&e2);
		if (ax_canon_record_hash(h, s->sha, &c, &e2) != AX_OK) {
			version_problem(v, "the stored columns cannot be encoded: %s", e2.msg);
		} else {
			ax_hex_encode(hex, h, AX_HASH_LEN);
			json_object_set_new(v, "recomputed_record_hash", json_string(hex));
			if (ax_hex_decode(stored, PQgetvalue(res, i, V_HASH), AX_HASH_LEN) != 0 ||
			    memcmp(stored, h, AX_HASH_LEN) != 0)
				version_problem(v, "record_hash does not match the stored columns: "
				                   "the version was changed after it was entered");
		}
		free(content);
		have_prev =
		    ax_hex_decode(prev_hash, PQgetvalue(res, i, V_HASH), AX_HASH_LEN) == 0 &&
		    uuid_col(prev_id, res, i, V_RECORD_ID);
	}
	PQclear(res);
	return AX_OK;
}

/* Signatures, named column by column (analysts cannot read proofs). */
static int
fetch_signatures(
    struct session *s, const char *lineage, json_t *doc, struct refs *rs, struct ax_err *err)
{
	const char *params[1] = { lineage };
	PGresult *res = NULL;
	json_t *arr = json_array();
	long ref;
	int rc, i;

	json_object_set_new(doc, "signatures", arr);
	if ((rc = query(s->conn, "reading the signatures", SQL_SIGNATURES, 1, params, &res, err)) !=
	    AX_OK)
		return rc;
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr,
		    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}",
		        "signature_id", jstr(res, i, 0), "record_id", jstr(res, i, 1), "version",
		        jint(res, i, 2), "record_hash", jstr(res, i, 3), "signer", jstr(res, i, 4),
		        "printed_name", jstr(res, i, 5), "signed_at", jstr(res, i, 6), "meaning",
		        jstr(res, i, 7), "factors", jstr(res, i, 8), "intent_hash", jstr(res, i, 9),
		        "signed_hash_is_stored_hash", strcmp(PQgetvalue(res, i, 13), "t") == 0,
		        "ledger", ledger_ref(rs, res, i, 10, &ref)));
	PQclear(res);
	return AX_OK;
}

/* Change requests and their steps. */
static int
fetch_changes(
    struct session *s, const char *lineage, json_t *doc, struct refs *rs, struct ax_err *err)
{
	const char *params[1] = { lineage };
	PGresult *res = NULL, *steps = NULL;
	json_t *arr = json_array();
	long ref;
	int rc, i, j;

	json_object_set_new(doc, "change_requests", arr);
	if ((rc = query(s->conn, "reading the change requests", SQL_CHANGES, 1, params, &res,
	         err)) != AX_OK)
		return rc;
	if ((rc = query(s->conn, "reading the change request steps", SQL_STEPS, 1, params, &steps,
	         err)) != AX_OK)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		json_t *st = json_array();

		for (j = 0; j < PQntuples(steps); j++)
			if (strcmp(PQgetvalue(steps, j, 0), PQgetvalue(res, i, 0)) == 0)
				json_array_append_new(st,
				    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
				        "step_seq", jint(steps, j, 1), "step", jstr(steps, j, 2),
				        "from_status", jstr(steps, j, 3), "to_status",
				        jstr(steps, j, 4), "actor", jstr(steps, j, 5), "actor_name",
				        jstr(steps, j, 6), "event_time", jstr(steps, j, 7),
				        "reason", jstr(steps, j, 8), "ledger",
				        ledger_ref(rs, steps, j, 9, &ref)));
		json_array_append_new(arr,
		    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		        "change_id", jstr(res, i, 0), "base_version", jint(res, i, 1),
		        "base_record_hash", jstr(res, i, 2), "title", jstr(res, i, 3), "author",
		        jstr(res, i, 4), "author_name", jstr(res, i, 5), "reason", jstr(res, i, 6),
		        "proposed_at", jstr(res, i, 7), "status", jstr(res, i, 8),
		        "status_changed_at", jstr(res, i, 9), "applied_record_id", jstr(res, i, 10),
		        "ledger", ledger_ref(rs, res, i, 11, &ref), "steps", st));
	}
out:
	PQclear(res);
	PQclear(steps);
	return rc;
}

/* Every audit-trail event of the lineage: of its versions, changes and signatures. */
static int
fetch_events(
    struct session *s, const char *lineage, json_t *doc, struct refs *rs, struct ax_err *err)
{
	const char *params[1] = { lineage };
	PGresult *res = NULL;
	json_t *arr = json_array();
	long ref;
	int rc, i;

	json_object_set_new(doc, "events", arr);
	if ((rc = query(s->conn, "reading the audit trail of the lineage", SQL_EVENTS, 1, params,
	         &res, err)) != AX_OK)
		return rc;
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr,
		    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		        "event_seq", jint(res, i, 0), "event_time", jstr(res, i, 1), "actor",
		        jstr(res, i, 2), "actor_name", jstr(res, i, 3), "operation",
		        jstr(res, i, 4), "decision", jstr(res, i, 5), "reason_code",
		        jstr(res, i, 6), "reason", jstr(res, i, 7), "command_id", jstr(res, i, 8),
		        "object_id", jstr(res, i, 9), "old_record_id", jstr(res, i, 10),
		        "new_record_id", jstr(res, i, 11), "ledger",
		        ledger_ref(rs, res, i, 12, &ref)));
	PQclear(res);
	return AX_OK;
}

/* The ledger entries the rows name, recomputed and linked to their predecessors. */
static int
fetch_ledger(struct session *s, json_t *doc, struct refs *rs, struct ax_err *err)
{
	struct ax_pg_array at = { 0 }, ap = { 0 }, as = { 0 };
	PGresult *res = NULL;
	const char *params[3];
	json_t *arr = json_array();
	size_t k;
	int rc = AX_OK, i;

	json_object_set_new(doc, "ledger_entries", arr);
	for (k = 0; k < rs->n; k++) {
		char p[24], q[24];

		snprintf(p, sizeof(p), "%" PRId32, rs->v[k].partition);
		snprintf(q, sizeof(q), "%" PRId64, rs->v[k].seq);
		if (ax_pg_array_add(&at, rs->v[k].topic) != 0 || ax_pg_array_add(&ap, p) != 0 ||
		    ax_pg_array_add(&as, q) != 0) {
			rc = ax_err_set(err, AX_ERR, "out of memory listing ledger references");
			goto out;
		}
	}
	params[0] = ax_pg_array_text(&at);
	params[1] = ax_pg_array_text(&ap);
	params[2] = ax_pg_array_text(&as);
	if (params[0] == NULL || params[1] == NULL || params[2] == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory listing ledger references");
		goto out;
	}
	if ((rc = query(s->conn, "reading the ledger entries", SQL_LEDGER, 3, params, &res, err)) !=
	    AX_OK)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		long idx =
		    ref_add(rs, PQgetvalue(res, i, 0), (int32_t)ival(res, i, 1), ival(res, i, 2));
		struct lref *ref;
		json_t *o;

		if (idx < 0) {
			rc = ax_err_set(err, AX_ERR, "out of memory reading the ledger");
			goto out;
		}
		ref = &rs->v[idx]; /* no ref is added after this one in this loop */
		o = ledger_entry(s->sha, res, i, 3, ref->topic, ref->partition, ref->seq, &ref->ok,
		    ref->problem, sizeof(ref->problem));
		ref->entry = o;
		json_array_append_new(arr, o);
	}
out:
	PQclear(res);
	ax_pg_array_free(&at);
	ax_pg_array_free(&ap);
	ax_pg_array_free(&as);
	return rc;
}

/*
 * Each version's reason: that of the accepted event that created it (new_record_id), taken
 * from the events already read rather than by one lookup per version.
 */
static void
version_reasons(json_t *doc)
{
	json_t *v, *e;
	size_t i, j;

	json_array_foreach(json_object_get(doc, "versions"), i, v)
	    json_array_foreach(json_object_get(doc, "events"), j, e)
	{
		const char *d = json_string_value(json_object_get(e, "decision"));

		if (d != NULL && strcmp(d, "accepted") == 0 &&
		    json_equal(
		        json_object_get(e, "new_record_id"), json_object_get(v, "record_id"))) {
			json_object_set(v, "reason", json_object_get(e, "reason"));
			break;
		}
	}
}

/* The integrity verdict of a record report, from the versions and the entries. */
static int
record_integrity(const struct session *s, json_t *doc, struct refs *rs, const long *vrefs)
{
	json_t *versions = json_object_get(doc, "versions"), *v, *changed = json_array();
	json_t *entries = json_object_get(doc, "ledger_entries"), *e;
	size_t i;
	int64_t bad_entries = 0;
	char summary[1024];

	json_array_foreach(versions, i, v)
	{
		struct lref *ref = vrefs[i] >= 0 ? &rs->v[vrefs[i]] : NULL;

		if (s->ledger_readable && ref != NULL) {
			const char *rh =
			    json_string_value(json_object_get(ref->entry, "record_hash"));
			const char *mine = json_string_value(json_object_get(v, "record_hash"));
			const char *dec =
			    json_string_value(json_object_get(ref->entry, "decision"));

			if (!ref->ok)
				version_problem(v,
				    "its ledger entry (%s/%" PRId32 "/%" PRId64 ") %s", ref->topic,
				    ref->partition, ref->seq, ref->problem);
			else if (dec == NULL || strcmp(dec, "accepted") != 0)
				version_problem(v, "its ledger entry records no accepted command");
			else if (rh != NULL && (mine == NULL || strcmp(rh, mine) != 0))
				version_problem(v, "the ledger entry of the command that wrote it "
				                   "recorded another record_hash");
		}
		json_object_set_new(
		    v, "unchanged", json_boolean(json_object_get(v, "problems") == NULL));
		if (json_object_get(v, "problems") != NULL)
			json_array_append_new(changed,
			    json_integer(json_integer_value(json_object_get(v, "version"))));
	}
	json_array_foreach(entries, i, e) if (!json_is_true(json_object_get(e, "unchanged")))
	    bad_entries++;
	if (json_array_size(changed) == 0 && bad_entries == 0)
		snprintf(summary, sizeof(summary),
		    "unchanged since original entry: %zu version%s recomputed and chained%s",
		    json_array_size(versions), json_array_size(versions) == 1 ? "" : "s",
		    s->ledger_readable ? ", and every ledger entry of the lineage recomputed and "
		                         "linked to its predecessor"
		                       : "; the ledger was not checked (role cannot read it)");
	else {
		size_t n = 0;
		json_t *x;

		n += (size_t)snprintf(summary, sizeof(summary), "CHANGED since original entry:");
		json_array_foreach(changed, i, x) if (n < sizeof(summary)) n +=
		    (size_t)snprintf(summary + n, sizeof(summary) - n, "%s version %" PRId64,
		        i == 0 ? "" : ",", (int64_t)json_integer_value(x));
		if (bad_entries > 0 && n < sizeof(summary))
			snprintf(summary + n, sizeof(summary) - n, "%s %" PRId64 " ledger entr%s",
			    json_array_size(changed) ? ";" : "", bad_entries,
			    bad_entries == 1 ? "y" : "ies");
	}
	json_object_set_new(doc, "integrity",
	    json_pack("{s:s, s:s, s:o, s:I, s:b}", "status",
	        json_array_size(changed) == 0 && bad_entries == 0 ? "unchanged" : "changed",
	        "summary", summary, "changed_versions", changed, "ledger_entries_not_verified",
	        (json_int_t)bad_entries, "ledger_checked", s->ledger_readable));
	return json_array_size(changed) == 0 && bad_entries == 0;
}

/* Build the record report of lineage into *out; *intact 1 when every check passed. */
static int
build_record(struct session *s, const char *lineage, json_t **out, int *intact, struct ax_err *err)
{
	struct refs rs = { NULL, 0, 0 };
	long *vrefs = NULL;
	json_t *doc = doc_new(s, "axiom/report/record/v1");
	int rc;

	*out = NULL;
	json_object_set_new(doc, "lineage", json_string(lineage));
	if ((rc = fetch_versions(s, lineage, doc, &rs, &vrefs, err)) != AX_OK ||
	    (rc = fetch_changes(s, lineage, doc, &rs, err)) != AX_OK ||
	    (rc = fetch_signatures(s, lineage, doc, &rs, err)) != AX_OK ||
	    (rc = fetch_events(s, lineage, doc, &rs, err)) != AX_OK)
		goto out;
	version_reasons(doc);
	if (s->ledger_readable) {
		if ((rc = fetch_ledger(s, doc, &rs, err)) != AX_OK)
			goto out;
	} else {
		json_object_set_new(doc, "ledger_entries", json_array());
	}
	*intact = record_integrity(s, doc, &rs, vrefs);
	*out = doc;
	doc = NULL;
out:
	json_decref(doc);
	free(vrefs);
	free(rs.v);
	return rc;
}

/* Audit-trail report (axiom report audit) ------------------------------------------------- */

struct audit_trail_args {
	const char *from, *to, *facility, *actor;
	int limit;
};

static int
build_audit_trail(struct session *s, const struct audit_trail_args *a, json_t **out, int *intact,
    struct ax_err *err)
{
	char lim[24];
	const char *params[5] = { a->from, a->to, a->facility, a->actor, lim };
	PGresult *res = NULL;
	json_t *doc = doc_new(s, "axiom/report/audit/v1"), *arr = json_array();
	int rc, i, n, bad = 0, quarantined = 0, rejected = 0;
	char summary[512];

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", a->limit + 1);
	json_object_set_new(doc, "period", json_pack("{s:s, s:s}", "from", a->from, "to", a->to));
	json_object_set_new(
	    doc, "filters", json_pack("{s:s?, s:s?}", "facility", a->facility, "actor", a->actor));
	json_object_set_new(doc, "entries", arr);
	if ((rc = query(s->conn, "reading the period", SQL_PERIOD, 2, params, &res, err)) !=
	    AX_OK) {
		rc = AX_EINVAL;
		goto out;
	}
	json_object_set_new(doc, "period_utc",
	    json_pack("{s:o, s:o}", "from", jstr(res, 0, 0), "to", jstr(res, 0, 1)));
	PQclear(res);
	res = NULL;
	if (s->ledger_readable)
		rc = query(s->conn, "reading the audit trail", SQL_AUDIT_TRAIL_LEDGER, 5, params,
		    &res, err);
	else
		rc = query(s->conn, "reading the audit trail", SQL_AUDIT_TRAIL_EVENTS, 5, params,
		    &res, err);
	if (rc != AX_OK)
		goto out;
	n = PQntuples(res);
	if (n > a->limit) {
		rc = ax_err_set(err, AX_EINVAL, "the period holds more than %d entries", a->limit);
		ax_err_hint(err, "Narrow --from/--to, filter with --facility or --actor, or raise "
		                 "--limit.");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const int ev = 3 + LC_N;
		json_t *o;
		const char *dec = PQgetvalue(res, i, 3 + LC_DECISION);
		int ok = 1;
		char problem[256] = "";

		if (s->ledger_readable) {
			o = ledger_entry(s->sha, res, i, 3, PQgetvalue(res, i, 0),
			    (int32_t)ival(res, i, 1), ival(res, i, 2), &ok, problem,
			    sizeof(problem));
		} else {
			o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "topic",
			    jstr(res, i, 0), "partition", jint(res, i, 1), "seq", jint(res, i, 2),
			    "command_id", jstr(res, i, 3 + LC_COMMAND), "actor",
			    jstr(res, i, 3 + LC_ACTOR), "event_time", jstr(res, i, 3 + LC_TIME),
			    "decision", jstr(res, i, 3 + LC_DECISION));
			json_object_set_new(o, "reason_code", jstr(res, i, 3 + LC_REASON));
		}
		json_object_set_new(o, "actor_name", jstr(res, i, ev + 6));
		if (!PQgetisnull(res, i, ev))
			json_object_set_new(o, "event",
			    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "event_seq",
			        jint(res, i, ev), "operation", jstr(res, i, ev + 1), "reason",
			        jstr(res, i, ev + 2), "object_id", jstr(res, i, ev + 3),
			        "facility_id", jstr(res, i, ev + 4), "domain_id",
			        jstr(res, i, ev + 5), "new_record_id", jstr(res, i, ev + 7)));
		else
			json_object_set_new(o, "event", json_null());
		if (!ok)
			bad++;
		if (strcmp(dec, "quarantined") == 0)
			quarantined++;
		else if (strcmp(dec, "rejected") == 0)
			rejected++;
		json_array_append_new(arr, o);
	}
	if (bad == 0)
		snprintf(summary, sizeof(summary),
		    "%d entries: %d accepted, %d refused, %d quarantined; %s", n,
		    n - rejected - quarantined, rejected, quarantined,
		    s->ledger_readable ? "every entry hash recomputed and linked to its predecessor"
		                       : "the ledger was not checked (role cannot read it)");
	else
		snprintf(summary, sizeof(summary),
		    "CHANGED since original entry: %d of %d ledger entries do not recompute or "
		    "link",
		    bad, n);
	json_object_set_new(doc, "integrity",
	    json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:b}", "status",
	        bad == 0 ? "unchanged" : "changed", "summary", summary, "entries", n, "refused",
	        rejected, "quarantined", quarantined, "entries_not_verified", bad, "ledger_checked",
	        s->ledger_readable));
	*intact = bad == 0;
	*out = doc;
	doc = NULL;
out:
	PQclear(res);
	json_decref(doc);
	return rc;
}

/* Output ---------------------------------------------------------------------------------- */

/* Write buf[0..n) to path (or standard output for NULL), whole or not at all. */
static int
write_file(const char *path, const char *buf, size_t n, struct ax_err *err)
{
	FILE *fp = path ? fopen(path, "wb") : stdout;

	if (fp == NULL)
		return ax_err_set(
		    err, AX_EINVAL, "could not open \"%s\" for writing: %s", path, strerror(errno));
	if (fwrite(buf, 1, n, fp) != n || fflush(fp) != 0) {
		ax_err_set(err, AX_ERR, "could not write \"%s\": %s",
		    path ? path : "standard output", strerror(errno));
		if (path)
			fclose(fp);
		return AX_ERR;
	}
	if (path && fclose(fp) != 0)
		return ax_err_set(err, AX_ERR, "could not write \"%s\": %s", path, strerror(errno));
	return AX_OK;
}

/* -o's name with ".json" appended (spec.pdf -> spec.pdf.json), into out. */
static void
copy_name_for(char *out, size_t cap, const char *output)
{
	snprintf(out, cap, "%s.json", output);
}

/* Render doc in format f to output (NULL: stdout), with the copy written where asked. */
static int
emit(json_t *doc, int record, enum fmt f, const char *output, const char *copy, struct ax_err *err)
{
	struct ax_sbuf html;
	char *json = NULL, sha_hex[2 * AX_HASH_LEN + 1], copy_auto[4096];
	uint8_t sha[AX_HASH_LEN];
	struct ax_sha256 *h = NULL;
	size_t json_len;
	int rc;

	ax_sbuf_init(&html, REPORT_HTML_MAX);
	json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (json == NULL)
		return ax_err_set(err, AX_ERR, "out of memory writing the electronic copy");
	json_len = strlen(json);
	if (json_len + 1 > REPORT_COPY_MAX) {
		rc = ax_err_set(
		    err, AX_EINVAL, "the electronic copy would exceed %u bytes", REPORT_COPY_MAX);
		goto out;
	}
	json[json_len++] = '\n'; /* the copy ends with a newline; the hash covers it */
	if ((rc = ax_sha256_new(&h, err)) != AX_OK ||
	    (rc = ax_sha256_digest(h, sha, (const uint8_t *)json, json_len, err)) != AX_OK)
		goto out;
	ax_hex_encode(sha_hex, sha, AX_HASH_LEN);
	if (f == FMT_JSON) {
		rc = write_file(output, json, json_len, err);
		goto out;
	}
	if (copy == NULL && output != NULL) {
		copy_name_for(copy_auto, sizeof(copy_auto), output);
		copy = copy_auto;
	}
	if (copy != NULL && (rc = write_file(copy, json, json_len, err)) != AX_OK)
		goto out;
	{
		const char *base = copy ? strrchr(copy, '/') : NULL;
		const char *name = copy ? (base ? base + 1 : copy) : NULL;

		if (record)
			report_html_record(&html, doc, sha_hex, name);
		else
			report_html_audit_trail(&html, doc, sha_hex, name);
	}
	if (!ax_sbuf_ok(&html)) {
		rc = ax_err_set(err, AX_EINVAL, "the HTML would exceed %u bytes", REPORT_HTML_MAX);
		goto out;
	}
	if (f == FMT_HTML) {
		rc = write_file(output, html.p, html.len, err);
	} else {
		rc = report_print_pdf(html.p, html.len, output, PDF_TIMEOUT_S, err);
	}
out:
	ax_sha256_free(h);
	ax_sbuf_free(&html);
	free(json);
	return rc;
}

int
cmd_report(int argc, char **argv, const struct ax_config *cfg)
{
	enum { OPT_FROM = 1000, OPT_TO, OPT_FACILITY, OPT_ACTOR, OPT_LIMIT };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "copy", required_argument, NULL, 'c' },
		{ "dsn", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "facility", required_argument, NULL, OPT_FACILITY },
		{ "actor", required_argument, NULL, OPT_ACTOR },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom report", *dsn = cfg->pg_auditor_dsn, *output = NULL;
	const char *copy = NULL, *kind, *lineage = NULL;
	struct audit_trail_args a = { NULL, NULL, NULL, NULL, AUDIT_TRAIL_LIMIT_DEF };
	struct session s;
	struct ax_err err;
	enum fmt f = FMT_HTML;
	json_t *doc = NULL;
	uint8_t u[AX_UUID_LEN];
	int c, rc, intact = 0, record;

	ax_err_clear(&err);
	memset(&s, 0, sizeof(s));
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (argc < 2 || (strcmp(argv[1], "record") != 0 && strcmp(argv[1], "audit") != 0))
		return cli_usage_error(prog, "say which report: record LINEAGE_ID, or audit");
	kind = argv[1];
	record = strcmp(kind, "record") == 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "f:o:c:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "html") == 0)
				f = FMT_HTML;
			else if (strcmp(optarg, "pdf") == 0)
				f = FMT_PDF;
			else if (strcmp(optarg, "json") == 0)
				f = FMT_JSON;
			else
				return cli_usage_error(
				    prog, "--format takes html, pdf or json, not '%s'", optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case 'c':
			copy = optarg;
			break;
		case 'd':
			dsn = optarg;
			break;
		case OPT_FROM:
		case OPT_TO:
		case OPT_FACILITY:
		case OPT_ACTOR:
			if (strlen(optarg) == 0 || strlen(optarg) > TEXT_ARG_MAX)
				return cli_usage_error(prog, "%s takes 1 to %d characters",
				    opts[c - OPT_FROM + 4].name, TEXT_ARG_MAX);
			if (c == OPT_FROM)
				a.from = optarg;
			else if (c == OPT_TO)
				a.to = optarg;
			else if (c == OPT_FACILITY)
				a.facility = optarg;
			else
				a.actor = optarg;
			break;
		case OPT_LIMIT:
			if (cli_parse_int(optarg, 1, AUDIT_TRAIL_LIMIT_MAX, &a.limit) != 0)
				return cli_usage_error(prog,
				    "--limit takes 1 to %d entries, not '%s'",
				    AUDIT_TRAIL_LIMIT_MAX, optarg);
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(prog, "unknown option");
		}
	}
	if (record) {
		if (optind + 1 >= argc)
			return cli_usage_error(prog, "report record needs a LINEAGE_ID");
		lineage = argv[optind + 1];
		if (!ax_uuid_parse(u, lineage, strlen(lineage)))
			return cli_usage_error(prog,
			    "'%s' is not a lineage id (a UUID such as "
			    "3f2a6c1e-8b4d-5e7f-9a0b-1c2d3e4f5a6b)",
			    lineage);
		if (optind + 2 < argc)
			return cli_usage_error(prog, "unexpected argument '%s'", argv[optind + 2]);
		if (a.from || a.to || a.facility || a.actor)
			return cli_usage_error(
			    prog, "--from, --to, --facility and --actor belong to report audit");
	} else {
		if (optind + 1 < argc)
			return cli_usage_error(prog, "unexpected argument '%s'", argv[optind + 1]);
		if (a.from == NULL || a.to == NULL)
			return cli_usage_error(prog, "report audit needs --from and --to");
	}
	if (copy != NULL && f == FMT_JSON)
		return cli_usage_error(prog, "--copy goes with html or pdf; json is the copy");
	if (f == FMT_PDF && output == NULL && isatty(STDOUT_FILENO))
		return cli_usage_error(prog, "a PDF goes to a file: pass -o FILE");
	if (dsn == NULL) {
		ax_err_set(&err, AX_EINVAL, "no database to report from");
		ax_err_hint(&err, "Set AXIOM_PG_AUDITOR_DSN (eval \"$(ops/stack env)\") or pass "
		                  "--dsn (an analyst: --dsn \"$AXIOM_PG_ANALYTICS_DSN\").");
		return cli_fail(prog, &err);
	}
	if ((rc = session_open(&s, dsn, &err)) != AX_OK)
		goto out;
	if (record)
		rc = build_record(&s, lineage, &doc, &intact, &err);
	else
		rc = build_audit_trail(&s, &a, &doc, &intact, &err);
	session_close(&s);
	if (rc != AX_OK)
		goto out;
	rc = emit(doc, record, f, output, copy, &err);
out:
	session_close(&s);
	if (rc == AX_OK && !intact)
		fprintf(stderr, "%s: %s\n", prog,
		    json_string_value(
		        json_object_get(json_object_get(doc, "integrity"), "summary")));
	json_decref(doc);
	if (rc != AX_OK && !record && strncmp(err.sqlstate, "22", 2) == 0) {
		ax_err_print(stderr, prog, &err); /* --from or --to is not a timestamp */
		return EXIT_USAGE;
	}
	if (rc != AX_OK)
		return cli_fail(prog, &err);
	return intact ? EXIT_SUCCESS : EXIT_FAILURE;
}
