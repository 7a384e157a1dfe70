/*
 * ax_verify.h - `axiom verify`: the integrity verifier an auditor runs without superuser
 * rights (docs/verify.md).
 *
 * Three chains are re-checked from the stored columns alone, each by a pure checker fed one
 * row at a time (no I/O, no globals; unit-testable and benchmarkable without a server):
 *  - record chains (ax_verify_records_*): versions of one lineage in (id, version) order;
 *    versions gap-free from 1, previous_record_id / previous_record_hash equal to the
 *    previous version's record_id / record_hash (NULL for version 1), and record_hash equal
 *    to SHA-256 of the canonical encoding v1 recomputed in C (common/canon/ax_canon.h);
 *  - ledger chains (ax_verify_ledger_*): the entries of one (topic, partition) in seq order;
 *    seq gap-free from 1, previous_entry_hash equal to the previous entry_hash (32 zero bytes
 *    for seq 1), offsets strictly increasing, entry_hash recomputed in C;
 *  - the Kafka log (ax_verify_log_partition): the offsets present in a partition's log from
 *    its start up to the stored next offset, merged with the ledger's offsets in order;
 *    every offset has exactly one entry, no entry refers to an offset absent from the log.
 *
 * Invariants:
 *  (1) a chain reports at most one failure, its first in version / seq order: after a
 *      failure the chain is poisoned and its later rows are only counted (the ordered
 *      checkers move on at the next lineage / partition; the unordered ones, which the runner
 *      uses, keep each chain's state and report at the end);
 *  (2) nothing is written anywhere: the runner reads in one REPEATABLE READ READ ONLY
 *      transaction (one snapshot for records, ledger and stored offsets; the extra
 *      connections of a parallel record stage import it) and consumes the log with a plain
 *      assign()-based consumer that never joins a group or commits;
 *  (3) a role that row-level security would filter (neither axiom_auditor, nor BYPASSRLS, nor
 *      superuser) is refused before anything is read: a partial view would verify clean;
 *  (4) every wait on a peer is bounded (connect_timeout, kafka_timeout_ms).
 *
 * Extension point: the runner is a list of stages (ledger, records, references, ... kafka
 * log, audit topic, in that order; see ax_verify.c). Checkpoint signatures (issue 7 item 2) and
 * stored e-signatures (issue 6) are further stages with the same shape: read a table in one pass,
 * report the first failure per chain through ax_verify_report_fn, count into ax_verify_summary.
 */
#ifndef AX_VERIFY_H
#define AX_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_canon.h"
#include "ax_err.h"

/* Returned by the feed functions when the row is the first failure of its chain. */
#define AX_VERIFY_BROKEN 1

enum ax_verify_chain {
	AX_VERIFY_RECORDS,
	AX_VERIFY_LEDGER,
	AX_VERIFY_LOG,
	AX_VERIFY_CHECKPOINTS,
	AX_VERIFY_SIGNATURES,
	AX_VERIFY_REFERENCES, /* a regulated row and the ledger entry it names */
	AX_VERIFY_AUDIT       /* a ledger and its outcomes on the audit topic */
};

/* The first failure of one chain, located precisely. */
struct ax_verify_failure {
	enum ax_verify_chain chain;
	const char *table;  /* "axiom.records", "axiom.ledger" or "kafka" (static, or table_buf) */
	char table_buf[64]; /* references: the regulated table */
	char key[128];      /* references: the row's key (uuid, text key or sequence number) */
	char lineage[40];   /* records: the lineage id (uuid text) */
	char topic[256];    /* ledger and log: the topic */
	int32_t partition;  /* ledger and log: the partition; -1 for records */
	const char *at;     /* "version", "seq" or "offset" (static) */
	int64_t position;   /* the version, seq or offset the failure is at */
	char record_id[40]; /* records: the failing row's record_id, "" when no row */
	char problem[320];  /* what is wrong, lower-case, no trailing period */
};

/* Called once per broken chain with its first failure; f is valid during the call only. */
typedef void (*ax_verify_report_fn)(void *arg, const struct ax_verify_failure *f);

/* Write f as one line without newline ("axiom.records lineage ... version 2: ..."). */
void ax_verify_failure_format(char *buf, size_t cap, const struct ax_verify_failure *f);

/* Record chains ---------------------------------------------------------------------------- */

/* One stored version, every column that the chain covers. Pointers are borrowed. */
struct ax_verify_version {
	uint8_t record_id[AX_UUID_LEN];
	uint8_t id[AX_UUID_LEN];
	int64_t version;
	int has_previous_record_id; /* 0: previous_record_id is NULL */
	uint8_t previous_record_id[AX_UUID_LEN];
	const uint8_t *previous_record_hash; /* NULL: SQL NULL */
	size_t previous_record_hash_len;
	const uint8_t *record_hash; /* the stored one */
	size_t record_hash_len;
	const char *record_type; /* NUL-terminated UTF-8 */
	const char *facility_id;
	const char *domain_id;
	const char *title;
	const uint8_t *content;
	size_t content_len;
	const char *created_by;
	int64_t created_at_us;
	int has_change_id; /* 0: change_id is NULL */
	uint8_t change_id[AX_UUID_LEN];
};

/* Counts of a checker, cumulative. */
struct ax_verify_counts {
	int64_t chains; /* lineages or partitions seen */
	int64_t rows;   /* versions or entries seen */
	int64_t broken; /* chains with a failure */
};

struct ax_verify_records;

/* Create a record chain checker in *out (free with ax_verify_records_free). */
int ax_verify_records_new(struct ax_verify_records **out, struct ax_err *err);

/* Free v; NULL is a no-op. */
void ax_verify_records_free(struct ax_verify_records *v);

/*
 * Check version r, the next row in (id, version) order: AX_OK, or AX_VERIFY_BROKEN with *f
 * filled when r is the first failure of its lineage, or < 0 (err) when hashing failed.
 */
int ax_verify_records_feed(struct ax_verify_records *v, const struct ax_verify_version *r,
    struct ax_verify_failure *f, struct ax_err *err);

/* The counts so far. */
struct ax_verify_counts ax_verify_records_counts(const struct ax_verify_records *v);

/*
 * Record chains, rows in any order (a sequential scan): the same checks and the same first
 * failure per lineage as ax_verify_records_feed given the rows in (id, version) order. Each
 * row's record_hash is recomputed as it comes; a version that comes before the one it follows
 * waits in memory (its link and hash result, about 150 bytes) until that one came, so memory
 * grows with the lineages and with the versions stored out of version order (a row moved by
 * an update of its lifecycle columns), not with the table. Failures are kept until
 * ax_verify_unordered_finish reports them, by lineage id.
 */
struct ax_verify_unordered;

/* Create an unordered record chain checker in *out (free with ax_verify_unordered_free). */
int ax_verify_unordered_new(struct ax_verify_unordered **out, struct ax_err *err);

/* Free u; NULL is a no-op. */
void ax_verify_unordered_free(struct ax_verify_unordered *u);

/* Check version r, the next row in any order: AX_OK, or < 0 (err) when hashing failed. */
int ax_verify_unordered_feed(
    struct ax_verify_unordered *u, const struct ax_verify_version *r, struct ax_err *err);

/*
 * After the last row: a lineage whose waiting versions never met the one before them misses
 * it; report the first failure of each broken lineage through report (NULL: none), in lineage
 * id order. AX_OK or < 0 (err).
 */
int ax_verify_unordered_finish(
    struct ax_verify_unordered *u, ax_verify_report_fn report, void *arg, struct ax_err *err);

/* The counts so far (broken: lineages with a failure found so far). */
struct ax_verify_counts ax_verify_unordered_counts(const struct ax_verify_unordered *u);

/* The most versions that waited at once. */
size_t ax_verify_unordered_early_max(const struct ax_verify_unordered *u);

/* The versions waiting now. */
size_t ax_verify_unordered_waiting(const struct ax_verify_unordered *u);

/* Ledger chains ---------------------------------------------------------------------------- */

/* One stored ledger entry, every column that the chain covers. Pointers are borrowed. */
struct ax_verify_entry {
	const char *topic; /* NUL-terminated */
	int32_t partition;
	int64_t seq;
	int64_t offset;
	int has_command_id;
	uint8_t command_id[AX_UUID_LEN];
	const char *actor; /* NULL: SQL NULL */
	int64_t event_time_us;
	const char *decision;
	const char *reason_code;    /* NULL: SQL NULL */
	const uint8_t *record_hash; /* NULL: SQL NULL */
	size_t record_hash_len;
	const uint8_t *previous_entry_hash;
	size_t previous_entry_hash_len;
	const uint8_t *entry_hash;
	size_t entry_hash_len;
};

struct ax_verify_ledger;

/* Create a ledger chain checker in *out (free with ax_verify_ledger_free). */
int ax_verify_ledger_new(struct ax_verify_ledger **out, struct ax_err *err);

/* Free v; NULL is a no-op. */
void ax_verify_ledger_free(struct ax_verify_ledger *v);

/*
 * Check entry e, the next row in (topic, partition, seq) order: AX_OK, or AX_VERIFY_BROKEN
 * with *f filled when e is the first failure of its partition, or < 0 (err).
 */
int ax_verify_ledger_feed(struct ax_verify_ledger *v, const struct ax_verify_entry *e,
    struct ax_verify_failure *f, struct ax_err *err);

/* The counts so far. */
struct ax_verify_counts ax_verify_ledger_counts(const struct ax_verify_ledger *v);

/*
 * Ledger chains, entries in any order (a sequential scan): the same checks and the same
 * first failure per (topic, partition) as ax_verify_ledger_feed given the entries in
 * (topic, partition, seq) order; an entry that comes before the one it follows waits in
 * memory until that one came (the ledger is append-only: in a sequential scan its entries
 * come in seq order, unless someone moved rows). Failures are kept until
 * ax_verify_ledger_unordered_finish reports them, by topic and partition.
 */
struct ax_verify_ledger_unordered;

/* Create an unordered ledger checker in *out (free with ax_verify_ledger_unordered_free). */
int ax_verify_ledger_unordered_new(struct ax_verify_ledger_unordered **out, struct ax_err *err);

/* Free u; NULL is a no-op. */
void ax_verify_ledger_unordered_free(struct ax_verify_ledger_unordered *u);

/* Check entry e, the next row in any order: AX_OK, or < 0 (err). */
int ax_verify_ledger_unordered_feed(
    struct ax_verify_ledger_unordered *u, const struct ax_verify_entry *e, struct ax_err *err);

/*
 * After the last entry: a partition whose waiting entries never met the one before them
 * misses it; report the first failure of each broken partition through report (NULL: none),
 * by topic and partition. AX_OK or < 0 (err).
 */
int ax_verify_ledger_unordered_finish(struct ax_verify_ledger_unordered *u,
    ax_verify_report_fn report, void *arg, struct ax_err *err);

/* The counts so far (broken: partitions with a failure found so far). */
struct ax_verify_counts ax_verify_ledger_unordered_counts(
    const struct ax_verify_ledger_unordered *u);

/* The most entries that waited at once. */
size_t ax_verify_ledger_unordered_early_max(const struct ax_verify_ledger_unordered *u);

/* The Kafka log of one partition ------------------------------------------------------------ */

/*
 * A pull source of offsets in increasing order: returns 1 with *offset (and *seq for the
 * ledger side, 0 for the log) set, 0 at the end, < 0 (err) when the peer failed.
 * payload_hash (may be NULL): the SHA-256 that goes with the offset next last returned (the
 * ledger's payload_hash, or the hash of the log's message bytes), borrowed until the next
 * call of next; NULL when unknown (a ledger entry written before db/0024).
 */
struct ax_verify_source {
	int (*next)(void *arg, int64_t *offset, int64_t *seq, struct ax_err *err);
	void *arg;
	const uint8_t *(*payload_hash)(void *arg);
};

/* What the merge of one partition found. */
struct ax_verify_log_result {
	int64_t log_offsets;     /* offsets read from the log, below the stored next offset */
	int64_t matched;         /* offsets with exactly one ledger entry */
	int64_t missing_entries; /* log offsets without a ledger entry */
	int64_t stray_entries;   /* ledger entries whose offset is not in the log (or twice) */
	int64_t payload_checked; /* matched offsets whose payload hashes both sides gave */
	int64_t payload_differs; /* of those, the ledger's payload_hash is not the message's */
	bool broken;             /* a failure was reported */
};

/*
 * Merge the ledger entries of (topic, partition) (by offset) with the offsets in its log
 * (from log_start, below next_offset; log_end is where the log ended, -1 if not reached) and
 * report the first failure through report. Where both sources give a payload hash for a matched
 * offset, they must be equal (the ledger's payload_hash is the SHA-256 of the message at its
 * offset). next_offset < 0 means none is stored. AX_OK
 * (failures are in *out), or < 0 when a source failed.
 */
int ax_verify_log_partition(const char *topic, int32_t partition, int64_t log_start,
    int64_t next_offset, struct ax_verify_source *ledger, struct ax_verify_source *log,
    const int64_t *log_end, ax_verify_report_fn report, void *arg, struct ax_verify_log_result *out,
    struct ax_err *err);

/* The runner ------------------------------------------------------------------------------- */

struct ax_verify_opts {
	const char *dsn;      /* libpq connection string, the auditor's */
	const char *brokers;  /* Kafka bootstrap servers; unused when !kafka */
	const char *prefix;   /* topic prefix: PREFIX.control and PREFIX.commands are checked */
	bool kafka;           /* cross-check the ledger against the Kafka log */
	bool audit;           /* with kafka: cross-check the ledger against the audit topic */
	int kafka_timeout_ms; /* longest wait for the broker without progress */
	int jobs;             /* connections streaming the record chains in parallel, 1..16 */
	bool signatures;      /* re-verify every stored e-signature from its proofs */
	size_t max_waiting;   /* record versions that may wait in memory per job for the one
	                         before them; beyond, the job reads its lineages sorted. 0: the
	                         default, AX_VERIFY_MAX_WAITING */
};

#define AX_VERIFY_MAX_WAITING 500000 /* about 75-150 MB per job */

#define AX_VERIFY_JOBS_MAX 16

/* What a run checked. Seconds are wall-clock time of each stage. */
struct ax_verify_summary {
	struct ax_verify_counts records;
	double records_seconds;
	struct ax_verify_counts ledger;
	double ledger_seconds;
	bool kafka_checked;
	int64_t log_partitions;   /* partitions cross-checked */
	int64_t log_offsets;      /* offsets read from the log */
	int64_t log_payloads;     /* of those, payload hashes compared with the ledger's */
	int64_t log_broken;       /* partitions whose cross-check failed */
	int log_topics_absent;    /* of PREFIX.control and PREFIX.commands, not in the broker */
	int64_t log_topics_other; /* ledger topics other than those two: not cross-checked */
	double kafka_seconds;
	int64_t checkpoints;        /* signed checkpoints verified */
	int64_t checkpoints_broken; /* 0 or 1: the stage stops at the first */
	bool signatures_checked;    /* --signatures */
	int64_t signatures, signatures_verified, signatures_failed, signatures_unverifiable;
	int64_t references_broken; /* rows naming no matching ledger entry, entries going back */
	bool audit_checked;        /* the audit topic cross-check ran (not with --no-kafka) */
	int64_t audit_ledgers;     /* ledgers cross-checked against the audit topic */
	int64_t audit_outcomes;    /* outcomes of those ledgers read from the audit topic */
	int64_t audit_broken;      /* ledgers whose outcomes are not each entry exactly once */
	double audit_seconds;
	double
	    database_seconds; /* every stage that reads PostgreSQL only (records .. signatures) */
	double kafka_part_seconds; /* the stages that read the broker (kafka log, audit topic) */
	char role[64];             /* the database role the run used */
};

/*
 * The number of broken chains and failed cross-checks in s: a signature that cannot be
 * re-verified, and a row that names no matching ledger entry, count as failures.
 */
int64_t ax_verify_summary_failures(const struct ax_verify_summary *s);

/*
 * Run every stage with o, reporting the first failure of each broken chain through report,
 * and fill *out. AX_OK when every stage ran (look at the summary for failures); AX_EUNAVAIL
 * when PostgreSQL or the broker cannot be reached; AX_EINVAL when the role cannot see every
 * row or lacks a privilege; AX_ERR otherwise.
 */
int ax_verify_run(const struct ax_verify_opts *o, ax_verify_report_fn report, void *arg,
    struct ax_verify_summary *out, struct ax_err *err);

/*
 * Measure the C record chain checker on n synthetic versions (lineages of 10 versions,
 * content_len bytes of content each): fills *rate with versions per second and *seconds.
 * Pure: builds the rows in memory, touches no peer.
 */
int ax_verify_bench_records(
    int64_t n, size_t content_len, double *rate, double *seconds, struct ax_err *err);

#endif
