/*
 * 0109-db-set-based-equals-per-command - a batch of new records, new versions and applied
 * changes decided as one set (axiom.version_run and axiom.apply_version_run, db/definitions/60
 * and 80) gives
 * exactly what the per-command functions give: the same outcome for every command (decision,
 * reason code, message, object, version, record hash) and the same rows in every table (the
 * table digests), ledger included, whatever the refusals in the middle of a run; and so does a
 * batch of change steps decided as one set (axiom.step_run and axiom.apply_step_run), with
 * every refusal of change_transition inside a run, and the batch scope of a change is a row
 * policy of its own.
 *
 * The batch goes once through axiom.partition_batch (the set-based path) and once, from the
 * same state, through partition_commands' per-command path (p_trap: every command alone,
 * through create_record or new_version), each in a transaction that is rolled back. Its
 * commands cover every refusal of the two functions and the cases a set could get wrong: a
 * lineage twice in one batch (its second version chains on the first), a stale previous hash, a
 * hash mismatch, a lineage and a record id in use by rows the actor cannot see (the insert's
 * key conflict), an actor below the author level, an actor acting through a delegation, a grant
 * that expires between two commands of one run, a change-controlled and a retired lineage, a
 * blank reason, an unknown record type, a command id republished in the batch or applied in an
 * earlier batch, and a malformed command (the batch's second try); and the commands a run steps
 * over (change steps, a tick) keep their place in the log: a change proposed on a lineage
 * before a new version of it sees the version before, a change applied before a new version of
 * its lineage makes the version that one builds on, a command id reused after a stepped-over
 * command is the duplicate; the versions after a refused one on its lineage are decided by the
 * run's next try, after the refused one's own function (a lineage the run cannot see, a key
 * conflict in that try, a lineage id in capitals, the budget of such tries); an approved change
 * is applied by the run, every refusal of apply_change inside it, unless a command before it in
 * the window names its change and is not decided yet; an id in another spelling of the uuid
 * input (braces, no hyphens) is the same id to the batch; a refused member whose actor may not
 * act on its lineage or change leaves it to the functions (the batch raised). And random
 * batches, drawn from a fixed seed, of every command kind a run decides or steps over, with
 * refusals of every kind among them. Also: the set path was taken (function call counts),
 * axiom.batch_scope is empty after each batch, and no login may write it.
 *
 * Cast (ax_dbtest.h): alice author F1/QC, bob reviewer F1/QC, carol manager F1/QC, dave
 * manager F2/QC, gina author F1/MICRO.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_dbtest.h"

#define TOPIC  "it0109.commands"
#define LID(n) "00000000-0000-4000-9000-0000000001" n /* lineages */
#define RID(n) "00000000-0000-4000-9000-0000000002" n /* record ids */
#define CID(n) "00000000-0000-4000-9000-0000000003" n /* command ids */

static char batch[65536];
static size_t batch_len;
static int batch_n;
/* the partition's stored next offset before the batch ("NULL": none) */
static char expected[24];

static void
setup(void)
{
	dbt_setup("0109");
	dbt_seed();
	batch_len = 0;
	batch_n = 0;
	snprintf(expected, sizeof(expected), "NULL");
	/* counts the calls of apply_version_run (apply) */
	dbt_exec(T.api, "RESET ROLE; SET track_functions = 'all'; SET ROLE axiom_definer");
	/* data commands are decided below the control watermark */
	dbt_exec(
	    T.admin, "UPDATE axiom.control_watermark SET event_time = '2027-01-01 00:00:00+00'");
	/* lineages before the batch: alice's notes L01-L04, an SOP (change-controlled), a note
	 * to retire, dave's note in F2 (hidden from alice) */
	ck_assert_str_eq(dbt_create("alice", "2026-01-01 01:00:00+00", RID("01"), LID("01"), "note",
	                     "F1", "L01"),
	    "accepted");
	ck_assert_str_eq(dbt_create("alice", "2026-01-01 01:00:01+00", RID("02"), LID("02"), "note",
	                     "F1", "L02"),
	    "accepted");
	ck_assert_str_eq(dbt_create("alice", "2026-01-01 01:00:02+00", RID("03"), LID("03"), "note",
	                     "F1", "L03"),
	    "accepted");
	ck_assert_str_eq(dbt_create("alice", "2026-01-01 01:00:03+00", RID("04"), LID("04"), "note",
	                     "F1", "L04"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_create("alice", "2026-01-01 01:00:04+00", RID("05"), LID("05"), "sop", "F1", "SOP"),
	    "accepted");
	ck_assert_str_eq(dbt_create("alice", "2026-01-01 01:00:05+00", RID("06"), LID("06"), "note",
	                     "F1", "retired"),
	    "accepted");
	ck_assert_str_eq(dbt_create("dave", "2026-01-01 01:00:06+00", RID("07"), LID("07"), "note",
	                     "F2", "hidden"),
	    "accepted");
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.transition_record('carol', '2026-01-01 "
	                                 "01:00:07+00', NULL, '" LID("06") "', 1, 'retired', "
	                                                                   "'obsolete')"),
	    "accepted");
	/* dave (manager in F2) acts in F1 through carol's delegation; gina holds an author
	 * grant in F1/QC that expires inside the batch */
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.delegate('carol', '2026-01-01 01:00:08+00', "
	                                 "NULL, gen_random_uuid(), "
	                                 "'00000000-0000-4000-8000-0000000000c1', 'dave', "
	                                 "'horizontal', '2026-02-01 00:00:00+00', 'cover')"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.grant_access('axiom-system', '2026-01-01 "
	                    "01:00:09+00', NULL, gen_random_uuid(), 'gina', 'F1', 'QC', "
	                    "'author', '2026-01-02 00:00:14+00', 'short')"),
	    "accepted");
}

static void
teardown(void)
{
	dbt_teardown();
}

/* The event time of the batch's command number i: 2026-01-02 00:00:00 + i seconds. */
static const char *
et_of(int i)
{
	static char et[64];

	snprintf(et, sizeof(et), "2026-01-02 00:00:%02d+00", i);
	return et;
}

/* The record hash the database computes for these columns (hex), '' for no version; change,
 * the version's change id as SQL (NULL for none). */
static const char *
hash_of_change(const char *rid, const char *id, const char *version, const char *prev_id,
    const char *prev_hash, const char *type, const char *facility, const char *domain,
    const char *title, const char *actor, const char *et, const char *change)
{
	static char h[80];

	snprintf(h, sizeof(h), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash('%s', '%s', %s, %s, %s, '%s', '%s', '%s', '%s', "
	        "'\\x00'::bytea, '%s', '%s', %s), 'hex')",
	        rid, id, version, prev_id, prev_hash, type, facility, domain, title, actor, et,
	        change));
	return h;
}

/* hash_of_change for a version made by no change. */
static const char *
hash_of(const char *rid, const char *id, const char *version, const char *prev_id,
    const char *prev_hash, const char *type, const char *facility, const char *domain,
    const char *title, const char *actor, const char *et)
{
	return hash_of_change(
	    rid, id, version, prev_id, prev_hash, type, facility, domain, title, actor, et, "NULL");
}

/* Append command number batch_n (offset batch_n, event time et_of(batch_n)) to the batch. */
static void
add(const char *cmd, const char *actor, const char *op, const char *rest)
{
	char payload[72];

	snprintf(payload, sizeof(payload), "%064d", batch_n);
	batch_len += (size_t)snprintf(batch + batch_len, sizeof(batch) - batch_len,
	    "%s{\"offset\": %d, \"event_time\": \"%s\", \"command_id\": \"%s\", \"actor\": \"%s\", "
	    "\"op\": \"%s\", \"payload_sha256\": \"%s\", %s}",
	    batch_len ? ", " : "[", batch_n, et_of(batch_n), cmd, actor, op, payload, rest);
	batch_n++;
	ck_assert_int_lt(batch_len, sizeof(batch) - 2);
}

/* create_record of lineage id (record rid) as actor; hash NULL: the database's own. */
static void
create(const char *cmd, const char *actor, const char *rid, const char *id, const char *type,
    const char *facility, const char *reason, const char *hash)
{
	char rest[1024];
	const char *domain = strcmp(type, "plate") == 0 ? "MICRO" : "QC";

	if (!hash)
		hash = hash_of(rid, id, "1", "NULL", "NULL", type, facility, domain, "t", actor,
		    et_of(batch_n));
	snprintf(rest, sizeof(rest),
	    "\"record_id\": \"%s\", \"id\": \"%s\", \"record_type\": \"%s\", \"facility_id\": "
	    "\"%s\", \"title\": \"t\", \"content\": \"00\", \"record_hash\": \"%s\", \"reason\": "
	    "\"%s\"",
	    rid, id, type, facility, hash, reason);
	add(cmd, actor, "create_record", rest);
}

/* new_version of lineage id (a note of facility, domain QC) on head (head_rid, version, hash
 * hex) as actor; returns the new version's hash (hex) as the database computes it. */
static const char *
version_in(const char *facility, const char *cmd, const char *actor, const char *rid,
    const char *id, const char *head_rid, int head_version, const char *head_hash,
    const char *claimed_prev)
{
	static char h[80];
	char rest[1024], v[16], prev_id[64], prev_hash[96];

	snprintf(v, sizeof(v), "%d", head_version + 1);
	snprintf(prev_id, sizeof(prev_id), "'%s'", head_rid);
	snprintf(prev_hash, sizeof(prev_hash), "decode('%s', 'hex')", head_hash);
	snprintf(h, sizeof(h), "%s",
	    hash_of(rid, id, v, prev_id, prev_hash, "note", facility, "QC", "t", actor,
	        et_of(batch_n)));
	snprintf(rest, sizeof(rest),
	    "\"record_id\": \"%s\", \"id\": \"%s\", \"previous_record_hash\": \"%s\", \"title\": "
	    "\"t\", \"content\": \"00\", \"record_hash\": \"%s\", \"reason\": \"revise\"",
	    rid, id, claimed_prev ? claimed_prev : head_hash, h);
	add(cmd, actor, "new_version", rest);
	return h;
}

/* version_in for a note of F1. */
static const char *
version(const char *cmd, const char *actor, const char *rid, const char *id, const char *head_rid,
    int head_version, const char *head_hash, const char *claimed_prev)
{
	return version_in(
	    "F1", cmd, actor, rid, id, head_rid, head_version, head_hash, claimed_prev);
}

/* The hex hash of lineage id's head. */
static const char *
head_hash(const char *id)
{
	static char h[80];

	snprintf(h, sizeof(h), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(record_hash, 'hex') FROM axiom.records WHERE id = '%s' "
	        "ORDER BY version DESC LIMIT 1",
	        id));
	return h;
}

/* The first column of the first row of sql run on T.api with $1 = the batch (malloc'd). */
static char *
query_batch(const char *sql)
{
	const char *params[1] = { batch };
	PGresult *res = PQexecParams(T.api, sql, 1, NULL, params, NULL, NULL, 0);
	char *v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fprintf(stderr, "# %.2000s\n# failed: %.2000s\n# batch: %s\n", sql,
		    PQresultErrorMessage(res), batch);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1,
	    "%.2000s\nfailed: %.2000s", sql, PQresultErrorMessage(res));
	v = strdup(PQgetvalue(res, 0, 0));
	ck_assert_ptr_nonnull(v);
	PQclear(res);
	return v;
}

/* The calls of function f (apply_version_run, apply_step_run, user_active_at) this session
 * counted so far (track_functions). */
static int
calls_of(const char *f)
{
	return dbt_int(dbt_value(T.api,
	    "SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = "
	    "'%s'), "
	    "0)",
	    f));
}

/* The rows this transaction inserted into axiom.batch_scope so far. */
static int
scope_rows(void)
{
	return dbt_int(dbt_value(T.api, "SELECT n_tup_ins FROM pg_stat_xact_user_tables WHERE "
	                                "relid = 'axiom.batch_scope'::regclass"));
}

/* What one way of applying the batch gave: every outcome (one line each, then the reason
 * codes, "accepted" for none), the table digests, and the calls of apply_version_run (runs)
 * and apply_step_run (step_runs). */
struct result {
	char *outcomes;
	const char *reasons;
	char *digests;
	int runs;
	int step_runs;
	int trapped;      /* calls of apply_batch: the batch's second try, command by command */
	int actor_checks; /* calls of user_active_at */
	int sight_checks; /* calls of lineage_in_sight */
	int alone;        /* calls of dispatch_command: commands decided by their own function */
	int scope_rows;   /* rows inserted into batch_scope: the members of every try of a run */
};

/*
 * Apply the batch on T.api (axiom_definer) in a transaction rolled back afterwards: through
 * partition_batch when set, else through partition_commands' per-command path with the next
 * offset stored as partition_batch stores it.
 */
static void
apply(int set, struct result *r)
{
	char from[256], sql[1024];
	int runs_before, step_runs_before, trapped_before, checks_before, sight_before,
	    alone_before, scope_before;

	if (set)
		snprintf(from, sizeof(from),
		    "axiom.partition_batch('it', '" TOPIC "', 0, false, %s, $1)", expected);
	else
		snprintf(from, sizeof(from),
		    "axiom.partition_commands('" TOPIC "', 0, false, %s, '2027-01-01', $1, true)",
		    expected);
	dbt_exec(T.api, "BEGIN");
	runs_before = calls_of("apply_version_run");
	step_runs_before = calls_of("apply_step_run");
	trapped_before = calls_of("apply_batch");
	checks_before = calls_of("user_active_at");
	sight_before = calls_of("lineage_in_sight");
	alone_before = calls_of("dispatch_command");
	scope_before = scope_rows();
	snprintf(sql, sizeof(sql),
	    "WITH o AS (SELECT * FROM %s) SELECT string_agg(concat_ws('|', o.ordinal, "
	    "o.kafka_offset, o.decision, coalesce(o.reason_code, '-'), o.message, "
	    "coalesce(o.object_id::text, '-'), coalesce(o.version::text, '-'), "
	    "coalesce(encode(o.record_hash, 'hex'), '-')), E'\\n' ORDER BY o.ordinal) || E'\\n' "
	    "|| string_agg(coalesce(o.reason_code, o.decision), ',' ORDER BY o.ordinal) FROM o",
	    from);
	r->outcomes = query_batch(sql);
	r->reasons = strrchr(r->outcomes, '\n') + 1;
	if (!set)
		dbt_value(T.api,
		    "SELECT decision FROM axiom_api.store_next_offset('it', '" TOPIC
		    "', 0, %s, %d)",
		    expected, batch_n);
	dbt_exec(T.api, "RESET ROLE");
	r->digests = query_batch("SELECT string_agg(table_name || ' ' || row_count || ' ' || "
	                         "coalesce(encode(digest, 'hex'), status), E'\\n' ORDER BY "
	                         "table_name) || left($1, 0) FROM axiom_api.table_digests()");
	r->runs = calls_of("apply_version_run") - runs_before;
	r->step_runs = calls_of("apply_step_run") - step_runs_before;
	r->trapped = calls_of("apply_batch") - trapped_before;
	r->actor_checks = calls_of("user_active_at") - checks_before;
	r->sight_checks = calls_of("lineage_in_sight") - sight_before;
	r->alone = calls_of("dispatch_command") - alone_before;
	r->scope_rows = scope_rows() - scope_before;
	/* no row of the batch scope outlives a batch */
	ck_assert_str_eq(dbt_value(T.api, "SELECT count(*) FROM axiom.batch_scope"), "0");
	dbt_exec(T.api, "ROLLBACK");
	dbt_exec(T.api, "SET ROLE axiom_definer");
}

static void
result_free(struct result *r)
{
	free(r->outcomes);
	free(r->digests);
}

/* The two ways gave the same outcomes and tables; the set path was taken, and only there. */
static void
assert_same(struct result *set, struct result *one)
{
	ck_assert_str_eq(set->outcomes, one->outcomes);
	ck_assert_str_eq(set->digests, one->digests);
	ck_assert_int_gt(set->runs + set->step_runs, 0);
	ck_assert_int_eq(one->runs + one->step_runs, 0);
}

/* Apply the batch both ways (set, one) and check that they agree (assert_same); the caller
 * frees both. */
static void
apply_both(struct result *set, struct result *one)
{
	apply(1, set);
	apply(0, one);
	assert_same(set, one);
}

/*
 * Apply the batch both ways and check that they agree, that the set path gave the reason codes
 * reasons, and that it made runs runs of record versions and step_runs runs of change steps.
 */
static void
expect_same(const char *reasons, int runs, int step_runs)
{
	struct result set, one;

	apply_both(&set, &one);
	ck_assert_str_eq(set.reasons, reasons);
	ck_assert_int_eq(set.runs, runs);
	ck_assert_int_eq(set.step_runs, step_runs);
	result_free(&set);
	result_free(&one);
}

/* As expect_same for a batch of new records and versions, with alone commands decided by their
 * own functions (inside the runs or after them) instead of runs of change steps, and, unless
 * negative, scope_rows rows written to the batch scope by all the runs' tries. */
static void
expect_tries(const char *reasons, int runs, int scope_rows, int alone)
{
	struct result set, one;

	apply_both(&set, &one);
	ck_assert_str_eq(set.reasons, reasons);
	ck_assert_int_eq(set.runs, runs);
	if (scope_rows >= 0)
		ck_assert_int_eq(set.scope_rows, scope_rows);
	ck_assert_int_eq(set.alone, alone);
	result_free(&set);
	result_free(&one);
}

/* expect_tries without counting the scope's rows. */
static void
expect_alone(const char *reasons, int runs, int alone)
{
	expect_tries(reasons, runs, -1, alone);
}

/* Close the batch's JSON array. */
static void
close_batch(void)
{
	batch[batch_len++] = ']';
	batch[batch_len] = '\0';
}

START_TEST(test_set_equals_per_command_with_refusals_inside_runs)
{
	char h01[80], h02[80], h04[80], v1[80];

	snprintf(h01, sizeof(h01), "%s", head_hash(LID("01")));
	snprintf(h02, sizeof(h02), "%s", head_hash(LID("02")));
	snprintf(h04, sizeof(h04), "%s", head_hash(LID("04")));
	/* 0, 1: accepted */
	snprintf(v1, sizeof(v1), "%s",
	    version(CID("00"), "alice", RID("10"), LID("01"), RID("01"), 1, h01, NULL));
	version(CID("01"), "alice", RID("11"), LID("02"), RID("02"), 1, h02, NULL);
	/* 2: a new lineage; 3: stale previous hash; 4: accepted */
	create(CID("02"), "alice", RID("12"), LID("12"), "note", "F1", "new", NULL);
	version(CID("03"), "alice", RID("13"), LID("03"), RID("03"), 1, h01, h01);
	version(CID("04"), "alice", RID("14"), LID("04"), RID("04"), 1, h04, NULL);
	/* 5: lineage id in use by dave's hidden note; 6: a version of the hidden note */
	create(CID("05"), "alice", RID("15"), LID("07"), "note", "F1", "clash", NULL);
	version(CID("06"), "alice", RID("16"), LID("07"), RID("07"), 1, h01, NULL);
	/* 7: hash mismatch; 8: frank, a technician, below the author level */
	create(CID("07"), "alice", RID("17"), LID("17"), "note", "F1", "new", h01);
	create(CID("08"), "frank", RID("18"), LID("18"), "note", "F1", "new", NULL);
	/* 9: lineage L01 again, on the version command 0 made */
	version(CID("09"), "alice", RID("19"), LID("01"), RID("10"), 2, v1, NULL);
	/* 10: change-controlled SOP; 11: blank reason; 12: dave through the delegation */
	version(CID("10"), "alice", RID("20"), LID("05"), RID("05"), 1, head_hash(LID("05")), NULL);
	create(CID("11"), "alice", RID("21"), LID("21"), "note", "F1", " ", NULL);
	create(CID("12"), "dave", RID("22"), LID("22"), "note", "F1", "delegated", NULL);
	/* 13: gina before her grant expires (00:00:14), 14: at its expiry, 15: after */
	create(CID("13"), "gina", RID("23"), LID("23"), "note", "F1", "in time", NULL);
	create(CID("14"), "gina", RID("24"), LID("24"), "note", "F1", "at expiry", NULL);
	create(CID("15"), "gina", RID("25"), LID("25"), "note", "F1", "late", NULL);
	/* 16: a record id in use (L01's first version) */
	create(CID("16"), "alice", RID("01"), LID("26"), "note", "F1", "reuse", NULL);
	/* 17: command 0's id again; 18: the retired note; 19: dave in F2 */
	create(CID("00"), "alice", RID("27"), LID("27"), "note", "F1", "again", NULL);
	version(CID("18"), "alice", RID("28"), LID("06"), RID("06"), 1, head_hash(LID("06")), NULL);
	create(CID("19"), "dave", RID("29"), LID("29"), "note", "F2", "plant 2", NULL);
	/* 20: an unknown record type; 21-23: accepted */
	create(CID("20"), "alice", RID("30"), LID("30"), "nosuch", "F1", "new", h01);
	create(CID("21"), "alice", RID("31"), LID("31"), "note", "F1", "new", NULL);
	create(CID("22"), "alice", RID("32"), LID("32"), "note", "F1", "new", NULL);
	create(CID("23"), "gina", RID("33"), LID("33"), "plate", "F1", "micro", NULL);
	close_batch();

	/* 8 runs: the key conflicts of 5 and 16 cut theirs, a run after a cut is at most twice
	 * the members decided before it, and 17's republished command id ends one */
	expect_same("accepted,accepted,accepted,stale_previous_hash,accepted,not_found_or_denied,"
	            "not_found_or_denied,hash_mismatch,insufficient_access_level,accepted,"
	            "change_control_required,reason_required,accepted,accepted,not_found_or_denied,"
	            "not_found_or_denied,not_found_or_denied,duplicate_command,record_retired,"
	            "accepted,not_found_or_denied,accepted,accepted,accepted",
	    8, 0);
}
END_TEST

/*
 * A new record on a lineage id in use gets create_record's refusal whether the actor sees the
 * lineage or not: a visible one inside the run (lineage_in_sight), a hidden one as the insert's
 * key conflict, which cuts the run before it.
 */
START_TEST(test_a_lineage_in_use_is_refused_alike_visible_or_hidden)
{
	/* 0: accepted; 1: alice's own L02, visible to her; 2, 3: accepted; 4: dave's hidden
	 * note; 5: accepted */
	create(CID("00"), "alice", RID("40"), LID("40"), "note", "F1", "new", NULL);
	create(CID("01"), "alice", RID("41"), LID("02"), "note", "F1", "visible", NULL);
	create(CID("02"), "alice", RID("42"), LID("42"), "note", "F1", "new", NULL);
	create(CID("03"), "alice", RID("43"), LID("43"), "note", "F1", "new", NULL);
	create(CID("04"), "alice", RID("44"), LID("07"), "note", "F1", "hidden", NULL);
	create(CID("05"), "alice", RID("45"), LID("45"), "note", "F1", "new", NULL);
	close_batch();
	/* runs: 0-5 (tried over 0-5, then 0-2: 1 refused inside it, 3 the cut), 4-5 (tried over
	 * both, then 4: nothing; 4 the cut), 5 */
	expect_same(
	    "accepted,not_found_or_denied,accepted,accepted,not_found_or_denied,accepted", 3, 0);
}
END_TEST

/* A run of new versions only asks for no lineage in sight: the read is a call made for new
 * records, not a sub-query every run starts. */
START_TEST(test_a_run_of_new_versions_reads_no_lineage_for_new_records)
{
	struct result set, one;

	version(CID("00"), "alice", RID("40"), LID("01"), RID("01"), 1, head_hash(LID("01")), NULL);
	version(CID("01"), "alice", RID("41"), LID("02"), RID("02"), 1, head_hash(LID("02")), NULL);
	version(CID("02"), "alice", RID("42"), LID("03"), RID("03"), 1, head_hash(LID("03")), NULL);
	close_batch();
	apply_both(&set, &one);
	ck_assert_str_eq(set.reasons, "accepted,accepted,accepted");
	ck_assert_int_eq(set.runs, 1);
	ck_assert_int_eq(set.sight_checks, 0);
	result_free(&set);
	result_free(&one);
}
END_TEST

START_TEST(test_one_run_for_a_batch_of_distinct_lineages)
{
	struct result set, one;
	char rid[64], id[64], cmd[64];
	int i;

	for (i = 0; i < 40; i++) {
		snprintf(rid, sizeof(rid), "00000000-0000-4000-9000-0000000004%02d", i);
		snprintf(id, sizeof(id), "00000000-0000-4000-9000-0000000005%02d", i);
		snprintf(cmd, sizeof(cmd), "00000000-0000-4000-9000-0000000006%02d", i);
		create(cmd, i % 2 ? "alice" : "carol", rid, id, "note", "F1", "bulk", NULL);
	}
	close_batch();
	apply_both(&set, &one);
	/* 40 commands on 40 lineages: one run, every command accepted, each member's checks made
	 * once (an inlined CTE made them twice: 80 calls), its lineage asked for once */
	ck_assert_int_eq(set.runs, 1);
	ck_assert_int_eq(set.actor_checks, 40);
	ck_assert_int_eq(set.sight_checks, 40);
	ck_assert_int_eq(set.scope_rows, 40);
	ck_assert_ptr_null(strstr(set.reasons, "_"));
	result_free(&set);
	result_free(&one);
}
END_TEST

START_TEST(test_a_malformed_command_in_a_run_takes_the_second_try)
{
	struct result set, one;
	char bad[1024];

	create(CID("40"), "alice", RID("40"), LID("40"), "note", "F1", "new", NULL);
	create(CID("41"), "alice", RID("41"), LID("41"), "note", "F1", "new", NULL);
	/* content that is not hex: a data_exception inside the set */
	snprintf(bad, sizeof(bad),
	    "\"record_id\": \"%s\", \"id\": \"%s\", \"record_type\": \"note\", \"facility_id\": "
	    "\"F1\", \"title\": \"t\", \"content\": \"zz\", \"record_hash\": \"00\", \"reason\": "
	    "\"bad\"",
	    RID("42"), LID("42"));
	add(CID("42"), "alice", "create_record", bad);
	create(CID("43"), "alice", RID("43"), LID("43"), "note", "F1", "new", NULL);
	close_batch();
	apply(1, &set);
	apply(0, &one);
	ck_assert_str_eq(set.reasons, "accepted,accepted,invalid_command,accepted");
	/* the second try is the per-command path itself: the set path ran before it raised */
	ck_assert_str_eq(set.outcomes, one.outcomes);
	ck_assert_str_eq(set.digests, one.digests);
	result_free(&set);
	result_free(&one);
}
END_TEST

/* A command the run steps over: op with the JSON fields rest. */
static void
other(const char *cmd, const char *actor, const char *op, const char *rest)
{
	add(cmd, actor, op, rest);
}

/*
 * The record hash (hex) the database computes for stored change kid applied by actor at et as
 * version rid on its lineage's stored head.
 */
static const char *
applied_hash(const char *kid, const char *rid, const char *actor, const char *et)
{
	static char h[80];

	snprintf(h, sizeof(h), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash('%s', c.id, h.version + 1, h.record_id, "
	        "h.record_hash, h.record_type, h.facility_id, h.domain_id, c.title, c.content, "
	        "'%s', '%s', c.change_id), 'hex') FROM axiom.change_requests c JOIN "
	        "axiom.records h ON h.id = c.id WHERE c.change_id = '%s' ORDER BY h.version DESC "
	        "LIMIT 1",
	        rid, actor, et, kid));
	return h;
}

/* apply_change of change kid as actor, as version rid, claiming record hash hash (hex), with
 * reason reason. */
static void
apply_claiming(const char *actor, const char *cmd, const char *kid, const char *rid,
    const char *hash, const char *reason)
{
	char rest[512];

	snprintf(rest, sizeof(rest),
	    "\"change_id\": \"%s\", \"record_id\": \"%s\", \"record_hash\": \"%s\", \"reason\": "
	    "\"%s\"",
	    kid, rid, hash, reason);
	add(cmd, actor, "apply_change", rest);
}

/*
 * apply_change of the stored change kid as actor, as version rid on its lineage's stored head,
 * with the record hash the database computes for it; returns that hash (hex).
 */
static const char *
apply_change_as(const char *actor, const char *cmd, const char *kid, const char *rid)
{
	const char *h = applied_hash(kid, rid, actor, et_of(batch_n));

	apply_claiming(actor, cmd, kid, rid, h, "apply");
	return h;
}

/* apply_change_as alice. */
static const char *
apply_change(const char *cmd, const char *kid, const char *rid)
{
	return apply_change_as("alice", cmd, kid, rid);
}

START_TEST(test_commands_a_run_steps_over_keep_their_place_in_the_log)
{
	char h02[80];

	snprintf(h02, sizeof(h02), "%s", head_hash(LID("02")));
	create(CID("50"), "alice", RID("50"), LID("50"), "note", "F1", "new", NULL);
	other(CID("51"), "alice", "propose_change",
	    "\"change_id\": \"" CID("91") "\", \"id\": \"" LID(
	        "05") "\", \"base_version\": 1, "
	              "\"title\": \"t2\", \"content\": \"01\", \"reason\": \"tighten\"");
	version(CID("52"), "alice", RID("52"), LID("01"), RID("01"), 1, head_hash(LID("01")), NULL);
	other(CID("53"), "alice", "submit_change",
	    "\"change_id\": \"" CID("91") "\", \"reason\": \"ready\"");
	create(CID("54"), "alice", RID("54"), LID("54"), "note", "F1", "new", NULL);
	other(CID("55"), "axiom-system", "tick", "\"x\": 0");
	/* a change based on L02's version 1, then a new version of L02: the change must see
	 * version 1 (the version comes after it in the log), so the run ends before that version */
	other(CID("56"), "alice", "propose_change",
	    "\"change_id\": \"" CID("92") "\", \"id\": \"" LID(
	        "02") "\", \"base_version\": 1, "
	              "\"title\": \"t3\", \"content\": \"02\", \"reason\": \"also\"");
	version(CID("57"), "alice", RID("57"), LID("02"), RID("02"), 1, h02, NULL);
	other(CID("58"), "carol", "approve_change",
	    "\"change_id\": \"" CID("91") "\", \"reason\": \"fine\"");
	/* the submit's command id again, in the next run: a duplicate (the submit came first) */
	create(CID("53"), "alice", RID("59"), LID("59"), "note", "F1", "again", NULL);
	create(CID("60"), "alice", RID("60"), LID("60"), "note", "F1", "new", NULL);
	/* a reuse inside a run's window: the duplicate again */
	other(CID("61"), "alice", "submit_change",
	    "\"change_id\": \"" CID("92") "\", \"reason\": \"ready\"");
	create(CID("61"), "alice", RID("62"), LID("62"), "note", "F1", "again", NULL);
	create(CID("63"), "alice", RID("63"), LID("63"), "note", "F1", "new", NULL);
	close_batch();
	/* runs: 0, 2, 4 (over 1, 3, 5, 6; 7 is on 6's lineage); 7 (9 reuses 3's id, applied
	 * earlier in the batch); 10 (its window ends at 12, which reuses 11's id); 13; and one
	 * run of change-request commands, 1, 3, 6 and 8 (from 11 on, too few are left) */
	expect_same("accepted,accepted,accepted,accepted,accepted,tick,accepted,accepted,accepted,"
	            "duplicate_command,accepted,accepted,duplicate_command,accepted",
	    4, 1);
}
END_TEST

START_TEST(test_a_lineage_comes_back_in_a_run_on_the_version_before)
{
	char v2[80], v3[80], v4[80], c1[80], f2[80], h01[80], h03[80];

	snprintf(h01, sizeof(h01), "%s", head_hash(LID("01")));
	snprintf(h03, sizeof(h03), "%s", head_hash(LID("03")));
	snprintf(v2, sizeof(v2), "%s",
	    version(CID("70"), "alice", RID("70"), LID("01"), RID("01"), 1, head_hash(LID("01")),
	        NULL));
	snprintf(v3, sizeof(v3), "%s",
	    version(CID("71"), "alice", RID("71"), LID("01"), RID("70"), 2, v2, NULL));
	snprintf(c1, sizeof(c1), "%s",
	    hash_of(RID("72"), LID("72"), "1", "NULL", "NULL", "note", "F1", "QC", "t", "alice",
	        et_of(batch_n)));
	create(CID("72"), "alice", RID("72"), LID("72"), "note", "F1", "new", NULL);
	version(CID("73"), "alice", RID("73"), LID("72"), RID("72"), 1, c1, NULL);
	/* another actor on the same lineage, on the version alice made in the run */
	snprintf(v4, sizeof(v4), "%s",
	    version(CID("74"), "carol", RID("74"), LID("01"), RID("71"), 3, v3, NULL));
	/* frank, a technician: refused; the run goes on past him, left to his function */
	snprintf(f2, sizeof(f2), "%s",
	    version(CID("75"), "frank", RID("75"), LID("02"), RID("02"), 1, head_hash(LID("02")),
	        NULL));
	version(CID("76"), "alice", RID("76"), LID("01"), RID("74"), 4, v4, NULL);
	/* on the version frank would have made: left to its function, the run goes on */
	version(CID("79"), "alice", RID("79"), LID("02"), RID("75"), 2, f2, NULL);
	/* a revision on a stale base, refused, then the real one on the head: deferred (it
	 * follows a refusal on its lineage) and accepted by the run's next try */
	version(CID("7a"), "alice", RID("7a"), LID("03"), RID("03"), 1, h03, h01);
	version(CID("7b"), "alice", RID("7b"), LID("03"), RID("03"), 1, h03, NULL);
	/* a lineage created again inside a run: refused */
	create(CID("77"), "alice", RID("77"), LID("77"), "note", "F1", "new", NULL);
	create(CID("78"), "alice", RID("78"), LID("77"), "note", "F1", "again", NULL);
	close_batch();
	/* 0-10 in one run (7 and 9 deferred to its second try, which refuses 7; 5, 7 and 8 left to
	 * their functions), then 11 (it creates 10's lineage again: a run of its own, which leaves
	 * it to its function) */
	expect_alone(
	    "accepted,accepted,accepted,accepted,accepted,insufficient_access_level,accepted,"
	    "stale_previous_hash,stale_previous_hash,accepted,accepted,not_found_or_denied",
	    2, 4);
}
END_TEST

/*
 * A refused version defers the later versions of its lineage to the run's next try, which
 * decides them on the head the run left: a producer's refusals do not push the versions after
 * them onto the per-command path.
 */
START_TEST(test_versions_after_a_refusal_are_decided_by_the_run)
{
	char h03[80], v[80];

	snprintf(h03, sizeof(h03), "%s", head_hash(LID("03")));
	/* 0: L01; 1: L03 on a stale base (L01's hash), refused */
	version(CID("c0"), "alice", RID("c0"), LID("01"), RID("01"), 1, head_hash(LID("01")), NULL);
	version(CID("c1"), "alice", RID("c1"), LID("03"), RID("03"), 1, h03, head_hash(LID("01")));
	/* 2-4: L03 on its head, each on the version before; 5: L02 */
	snprintf(v, sizeof(v), "%s",
	    version(CID("c2"), "carol", RID("c2"), LID("03"), RID("03"), 1, h03, NULL));
	snprintf(v, sizeof(v), "%s",
	    version(CID("c3"), "alice", RID("c3"), LID("03"), RID("c2"), 2, v, NULL));
	version(CID("c4"), "alice", RID("c4"), LID("03"), RID("c3"), 3, v, NULL);
	version(CID("c5"), "alice", RID("c5"), LID("02"), RID("02"), 1, head_hash(LID("02")), NULL);
	close_batch();
	/* one run: 1 left to its function, 2-4 decided by the run's second try */
	expect_alone("accepted,stale_previous_hash,accepted,accepted,accepted,accepted", 1, 1);
}
END_TEST

/*
 * A lineage the run cannot see (one of its commands' actors may not) hides its head from every
 * command of the run on it, so the set refuses the first, and only its function can tell
 * whether it is accepted: it decides it before the next try takes the later ones. Here dave's
 * first version is accepted by his function, so his second, on the version before, is stale; a
 * try that decided the second before that function would accept it.
 */
START_TEST(test_versions_of_a_lineage_the_run_cannot_see_follow_their_functions)
{
	char h07[80], v[80];

	snprintf(h07, sizeof(h07), "%s", head_hash(LID("07")));
	/* 0: dave's F2 note L07; 1: alice on it (she cannot see F2); 2: dave on its stored head */
	snprintf(v, sizeof(v), "%s",
	    version_in("F2", CID("d0"), "dave", RID("d0"), LID("07"), RID("07"), 1, h07, NULL));
	version_in("F2", CID("d1"), "alice", RID("d1"), LID("07"), RID("d0"), 2, v, NULL);
	version_in("F2", CID("d2"), "dave", RID("d2"), LID("07"), RID("07"), 1, h07, NULL);
	/* 3: L01, accepted by the run */
	version(CID("d3"), "alice", RID("d3"), LID("01"), RID("01"), 1, head_hash(LID("01")), NULL);
	close_batch();
	expect_alone("accepted,not_found_or_denied,stale_previous_hash,accepted", 1, 3);
}
END_TEST

/* A lineage id written in capitals is the same lineage: the version after a refusal on it is
 * deferred like any other. */
START_TEST(test_a_lineage_written_in_capitals_is_deferred_alike)
{
	char c1[80];

	snprintf(c1, sizeof(c1), "%s",
	    hash_of(RID("ab"), LID("ab"), "1", "NULL", "NULL", "note", "F1", "QC", "t", "alice",
	        et_of(batch_n)));
	/* 0: a new lineage; 1: a version of it on a stale base; 2: one on its head, its id in
	 * capitals */
	create(CID("ab"), "alice", RID("ab"), LID("ab"), "note", "F1", "new", NULL);
	version(CID("ac"), "alice", RID("ac"), LID("ab"), RID("ab"), 1, c1, head_hash(LID("01")));
	version(CID("ad"), "alice", RID("ad"), LID("AB"), RID("ab"), 1, c1, NULL);
	close_batch();
	expect_alone("accepted,stale_previous_hash,accepted", 1, 1);
}
END_TEST

/*
 * A deferred try that hits a key conflict (a record id in use by a row the actor cannot see)
 * leaves its members to their functions; what the run decided before stays.
 */
START_TEST(test_a_key_conflict_in_a_deferred_try_leaves_its_members_to_their_functions)
{
	char h03[80];

	snprintf(h03, sizeof(h03), "%s", head_hash(LID("03")));
	/* 0: L01; 1: L03 on a stale base; 2: L03 on its head, as dave's hidden record id */
	version(CID("f0"), "alice", RID("f0"), LID("01"), RID("01"), 1, head_hash(LID("01")), NULL);
	version(CID("f1"), "alice", RID("f1"), LID("03"), RID("03"), 1, h03, head_hash(LID("01")));
	version(CID("f2"), "alice", RID("07"), LID("03"), RID("03"), 1, h03, NULL);
	close_batch();
	/* tries: 0-2, then 2 (deferred, rolled back) */
	expect_tries("accepted,stale_previous_hash,not_found_or_denied", 1, 3 + 1, 2);
}
END_TEST

/*
 * The deferred tries of a run take at most as many members as its first try: a producer whose
 * versions of one lineage are all refused costs one more try, then their functions, not a try
 * per refusal.
 */
START_TEST(test_deferred_tries_take_at_most_the_members_of_the_first)
{
	char stale[80], rid[64], cmd[64];
	int i;

	snprintf(stale, sizeof(stale), "%s", head_hash(LID("02")));
	/* 0-5: L01, each on a stale base; 6: L03 */
	for (i = 0; i < 6; i++) {
		snprintf(rid, sizeof(rid), RID("e%d"), i);
		snprintf(cmd, sizeof(cmd), CID("e%d"), i);
		version(cmd, "alice", rid, LID("01"), RID("01"), 1, head_hash(LID("01")), stale);
	}
	version(CID("e6"), "alice", RID("e6"), LID("03"), RID("03"), 1, head_hash(LID("03")), NULL);
	close_batch();
	/* tries: 0-6; 1-5 deferred (0 decided by its function), which refuses 1 and would defer
	 * four more, beyond the two the first try left: 1-5 go to their functions */
	expect_tries("stale_previous_hash,stale_previous_hash,stale_previous_hash,"
	             "stale_previous_hash,stale_previous_hash,stale_previous_hash,accepted",
	    1, 7 + 5, 6);
}
END_TEST

START_TEST(test_an_applied_change_keeps_its_lineage_out_of_the_run)
{
	char applied[80];

	/* committed before the batch: alice's change of L04, submitted and approved */
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.propose_change('alice', '2026-01-01 02:00:00+00', NULL, "
	                     "'%s', '%s', 1, 't', '\\x00', 'fix')",
	                     CID("93"), LID("04")),
	    "accepted");
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.submit_change('alice', '2026-01-01 02:00:01+00', NULL, "
	                     "'%s', 'ready')",
	                     CID("93")),
	    "accepted");
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.approve_change('carol', '2026-01-01 02:00:02+00', NULL, "
	                     "'%s', 'fine')",
	                     CID("93")),
	    "accepted");
	create(CID("a0"), "alice", RID("a0"), LID("a0"), "note", "F1", "new", NULL);
	/* the change applied as L04's version 2: the run steps over it, and L04 leaves the run */
	snprintf(applied, sizeof(applied), "%s", apply_change(CID("a1"), CID("93"), RID("a1")));
	create(CID("a2"), "alice", RID("a2"), LID("a2"), "note", "F1", "new", NULL);
	/* a change no one proposed: stepped over too (not_found_or_denied in any order) */
	apply_claiming("alice", CID("a3"), CID("94"), RID("a3"), "00", "apply");
	create(CID("a4"), "alice", RID("a4"), LID("a4"), "note", "F1", "new", NULL);
	/* new versions of L04: on version 1, stale once the change is applied (a set that let
	 * it in before the change would accept it), then on the version the change made */
	version(CID("a5"), "alice", RID("a5"), LID("04"), RID("04"), 1, head_hash(LID("04")), NULL);
	version(CID("a6"), "alice", RID("a6"), LID("04"), RID("a1"), 2, applied, NULL);
	create(CID("a7"), "alice", RID("a7"), LID("a7"), "note", "F1", "new", NULL);
	close_batch();
	/* runs: 0, 2, 4 (over 1 and 3; 5 is on 1's lineage), then 5-7 (6 left to its function
	 * after 5's refusal) */
	expect_same("accepted,accepted,accepted,not_found_or_denied,accepted,stale_previous_hash,"
	            "accepted,accepted",
	    2, 0);
}
END_TEST

/*
 * A refused member's function decides it in log order around what the run accepted, after the
 * later versions of its lineage the run's next try accepted, a republished command id of an
 * accepted member included.
 */
START_TEST(test_versions_after_a_refusal_on_their_lineage_keep_the_log_order)
{
	char h01[80], h02[80], v0[80], v2[80];

	snprintf(h01, sizeof(h01), "%s", head_hash(LID("01")));
	snprintf(h02, sizeof(h02), "%s", head_hash(LID("02")));
	/* 0: L01 on its head; 1: L01 on a stale base; 2: L01 on 0's version */
	snprintf(v0, sizeof(v0), "%s",
	    version(CID("b0"), "alice", RID("b0"), LID("01"), RID("01"), 1, h01, NULL));
	version(CID("b1"), "alice", RID("b1"), LID("01"), RID("01"), 1, h01, h01);
	snprintf(v2, sizeof(v2), "%s",
	    version(CID("b2"), "alice", RID("b2"), LID("01"), RID("b0"), 2, v0, NULL));
	/* 3: L02, decided by the first run; 4: 3's command id again */
	version(CID("b3"), "alice", RID("b3"), LID("02"), RID("02"), 1, h02, NULL);
	create(CID("b3"), "alice", RID("b4"), LID("b4"), "note", "F1", "again", NULL);
	/* 5: L01 on 2's version; 6: a new lineage */
	version(CID("b5"), "alice", RID("b5"), LID("01"), RID("b2"), 3, v2, NULL);
	create(CID("b6"), "alice", RID("b6"), LID("b6"), "note", "F1", "new", NULL);
	close_batch();
	/* runs: 0-3 (ends before 4's republished id; 1 refused, left to its function, 2 after it
	 * on L01 decided by the run's second try), 5-6 */
	expect_alone(
	    "accepted,stale_previous_hash,accepted,accepted,duplicate_command,accepted,accepted", 2,
	    1);
}
END_TEST

START_TEST(test_a_command_id_applied_in_an_earlier_batch_ends_a_run)
{
	char *first;

	/* an earlier batch, committed: two new notes */
	create(CID("80"), "alice", RID("80"), LID("80"), "note", "F1", "first", NULL);
	create(CID("81"), "alice", RID("81"), LID("81"), "note", "F1", "first", NULL);
	close_batch();
	first = query_batch(
	    "SELECT string_agg(coalesce(b.reason_code, b.decision), ',' ORDER BY "
	    "b.ordinal) FROM axiom.partition_batch('it', '" TOPIC "', 0, false, NULL, $1) b");
	ck_assert_str_eq(first, "accepted,accepted");
	free(first);
	snprintf(expected, sizeof(expected), "%d", batch_n);
	batch_len = 0;
	/* this batch: a run whose second member republishes 80's command id */
	create(CID("82"), "alice", RID("82"), LID("82"), "note", "F1", "new", NULL);
	create(CID("80"), "alice", RID("83"), LID("83"), "note", "F1", "again", NULL);
	create(CID("84"), "alice", RID("84"), LID("84"), "note", "F1", "new", NULL);
	create(CID("85"), "carol", RID("85"), LID("85"), "note", "F1", "new", NULL);
	close_batch();
	/* runs: 0 (ends before the republished id), 2 */
	expect_same("accepted,duplicate_command,accepted,accepted", 2, 0);
}
END_TEST

#define KID(n) "00000000-0000-4000-9000-0000000007" n /* changes */
/* a record hash no version has */
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* A change step (submit_change, review_change, approve_change, reject_change) of change kid. */
static void
step(const char *cmd, const char *actor, const char *op, const char *kid, const char *reason)
{
	char rest[256];

	snprintf(rest, sizeof(rest), "\"change_id\": \"%s\", \"reason\": \"%s\"", kid, reason);
	add(cmd, actor, op, rest);
}

/* Commit change kid of lineage id (version 1) proposed by actor at et, then the steps of
 * "submit" (by actor) and "review" (by bob or reviewer) up to status to. */
static void
change(const char *kid, const char *id, const char *actor, const char *et, const char *to,
    const char *reviewer)
{
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.propose_change('%s', '%s', NULL, '%s', '%s', 1, 't', "
	                     "'\\x00', 'fix')",
	                     actor, et, kid, id),
	    "accepted");
	if (strcmp(to, "draft") == 0)
		return;
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.submit_change('%s', '%s'::timestamptz + interval '1 s', "
	                     "NULL, '%s', 'ready')",
	                     actor, et, kid),
	    "accepted");
	if (strcmp(to, "reviewed") == 0)
		ck_assert_str_eq(dbt_call(T.api,
		                     "axiom_api.review_change('%s', '%s'::timestamptz + interval "
		                     "'2 s', NULL, '%s', 'checked')",
		                     reviewer, et, kid),
		    "accepted");
}

/*
 * Change steps decided as one set give what change_transition gives one by one: every refusal
 * of it inside a run, a change coming back in the run on the status the step before makes (and
 * left to its function after a refusal), a change the actor may not see, a change proposed or
 * applied inside the window (stepped over, decided in log order), a republished command id.
 */
START_TEST(test_change_steps_as_one_set_equal_change_transition)
{

	ck_assert_str_eq(dbt_create("alice", "2026-01-01 02:00:00+00", RID("c0"), LID("c0"), "spec",
	                     "F1", "SPEC"),
	    "accepted");
	/* committed before the batch: specs under review_approve, but 04 (an SOP, approve), 05 (a
	 * note, no gate) and 08 (dave's note in F2) */
	change(KID("01"), LID("c0"), "alice", "2026-01-01 02:01:00+00", "draft", NULL);
	change(KID("02"), LID("c0"), "alice", "2026-01-01 02:02:00+00", "draft", NULL);
	change(KID("03"), LID("c0"), "alice", "2026-01-01 02:03:00+00", "submitted", NULL);
	change(KID("04"), LID("05"), "alice", "2026-01-01 02:04:00+00", "submitted", NULL);
	change(KID("05"), LID("01"), "alice", "2026-01-01 02:05:00+00", "submitted", NULL);
	change(KID("06"), LID("c0"), "carol", "2026-01-01 02:06:00+00", "submitted", NULL);
	change(KID("07"), LID("c0"), "alice", "2026-01-01 02:07:00+00", "reviewed", "carol");
	change(KID("08"), LID("07"), "dave", "2026-01-01 02:08:00+00", "submitted", NULL);
	change(KID("09"), LID("c0"), "alice", "2026-01-01 02:09:00+00", "draft", NULL);

	/* 0-2: one change submitted, reviewed and approved in the run */
	step(CID("c0"), "alice", "submit_change", KID("01"), "ready");
	step(CID("c1"), "bob", "review_change", KID("01"), "checked");
	step(CID("c2"), "carol", "approve_change", KID("01"), "fine");
	/* 3: not the author; 4, 5: after it on its change (left to the function) */
	step(CID("c3"), "bob", "submit_change", KID("02"), "ready");
	step(CID("c4"), "alice", "submit_change", KID("02"), "ready");
	step(CID("c5"), "alice", "review_change", KID("02"), "mine");
	/* 6-10: the author reviews, a second submission, approval before review, a technician,
	 * a blank reason */
	step(CID("c6"), "alice", "review_change", KID("03"), "mine");
	step(CID("c7"), "alice", "submit_change", KID("03"), "again");
	step(CID("c8"), "carol", "approve_change", KID("03"), "fine");
	step(CID("c9"), "frank", "review_change", KID("03"), "checked");
	step(CID("ca"), "bob", "review_change", KID("03"), " ");
	/* 11: a note has no review step; 12: an SOP approved; 13: through the author's own
	 * delegation (carol's to dave); 14: the reviewer approving; 15: a change in F2, hidden
	 * from alice; 16: no such change */
	step(CID("cb"), "bob", "review_change", KID("05"), "checked");
	step(CID("cc"), "carol", "approve_change", KID("04"), "fine");
	step(CID("cd"), "dave", "review_change", KID("06"), "checked");
	step(CID("ce"), "carol", "approve_change", KID("07"), "fine");
	step(CID("cf"), "alice", "submit_change", KID("08"), "ready");
	step(CID("d0"), "alice", "submit_change", KID("0f"), "ready");
	/* 17, 18: after refusals on their change; 19: not submitted; 20: approved already */
	step(CID("d1"), "bob", "review_change", KID("03"), "checked");
	step(CID("d2"), "carol", "reject_change", KID("03"), "no");
	step(CID("d3"), "carol", "approve_change", KID("09"), "fine");
	step(CID("d4"), "carol", "approve_change", KID("01"), "again");
	/* 21: command 0's id again: ends the first run */
	step(CID("c0"), "bob", "review_change", KID("09"), "checked");
	/* 22-25: the second run, with a change proposed in it and its submission; 26, 27: the
	 * SOP change applied, then approved again (stepped over) */
	step(CID("d6"), "alice", "submit_change", KID("09"), "ready");
	step(CID("d7"), "bob", "reject_change", KID("09"), "no");
	other(CID("d8"), "alice", "propose_change",
	    "\"change_id\": \"" KID("10") "\", \"id\": \"" LID(
	        "c0") "\", \"base_version\": 1, "
	              "\"title\": \"t\", \"content\": \"00\", \"reason\": \"more\"");
	step(CID("d9"), "alice", "submit_change", KID("10"), "ready");
	apply_change(CID("da"), KID("04"), RID("da"));
	step(CID("db"), "carol", "approve_change", KID("04"), "again");
	close_batch();
	expect_same("accepted,accepted,accepted,not_author,accepted,author_cannot_review,"
	            "author_cannot_review,invalid_state,review_required,insufficient_access_level,"
	            "reason_required,review_not_required,accepted,delegated_by_author,"
	            "reviewer_cannot_approve,not_found_or_denied,not_found_or_denied,accepted,"
	            "accepted,not_submitted,invalid_state,duplicate_command,accepted,accepted,"
	            "accepted,accepted,accepted,invalid_state",
	    0, 2);
}
END_TEST

/* A proposal of change kid on lineage id, based on version base, as actor; fields: more JSON
 * fields, the title and reason included. */
static void
propose(const char *cmd, const char *actor, const char *kid, const char *id, int base,
    const char *fields)
{
	char rest[512];

	snprintf(rest, sizeof(rest),
	    "\"change_id\": \"%s\", \"id\": \"%s\", \"base_version\": %d, \"content\": \"00\", %s",
	    kid, id, base, fields);
	add(cmd, actor, "propose_change", rest);
}

/*
 * Proposals decided in a run of change-request commands give what propose_change gives: every
 * refusal of it inside a run; a proposal after a command that writes its lineage (a new
 * version, an applied change) or after a command on its change sees them, in log order; a
 * change id in use, visible (12: left to propose_change by the window rule; inside a run in the
 * next test) or hidden (the run tried again without its proposals).
 */
START_TEST(test_proposals_in_a_run_see_their_lineage_in_log_order)
{
	/* committed before the batch: dave's change of his F2 note (hidden from alice), an
	 * approved change of the SOP */
	change(KID("08"), LID("07"), "dave", "2026-01-01 02:08:00+00", "submitted", NULL);
	change(KID("0a"), LID("05"), "alice", "2026-01-01 02:10:00+00", "submitted", NULL);
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.approve_change('carol', '2026-01-01 02:11:00+00', "
	                    "NULL, '" KID("0a") "', 'fine')"),
	    "accepted");
	/* 0, 1: a proposal and its submission in the run */
	propose(CID("e0"), "alice", KID("e0"), LID("01"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	step(CID("e1"), "alice", "submit_change", KID("e0"), "ready");
	/* 2-7: a technician, a retired record, a hidden lineage, a stale base, a blank reason, no
	 * title */
	propose(CID("e2"), "frank", KID("e2"), LID("02"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	propose(CID("e3"), "alice", KID("e3"), LID("06"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	propose(CID("e4"), "alice", KID("e4"), LID("07"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	propose(CID("e5"), "alice", KID("e5"), LID("03"), 2, "\"title\": \"t\", \"reason\": \"r\"");
	propose(CID("e6"), "alice", KID("e6"), LID("03"), 1, "\"title\": \"t\", \"reason\": \" \"");
	propose(CID("e7"), "alice", KID("e7"), LID("04"), 1, "\"reason\": \"r\"");
	/* 8, 9: a new version of L02, then a proposal on its version 1: stale (a set that took
	 * the proposal before the version would accept it) */
	version(CID("e8"), "alice", RID("e8"), LID("02"), RID("02"), 1, head_hash(LID("02")), NULL);
	propose(CID("e9"), "alice", KID("e9"), LID("02"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	/* 10, 11: a submission before its change's proposal, then the proposal; 12: a change id
	 * in use (0's) */
	step(CID("ea"), "alice", "submit_change", KID("ea"), "early");
	propose(CID("eb"), "alice", KID("ea"), LID("04"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	propose(CID("ec"), "alice", KID("e0"), LID("01"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	/* 13, 14: the SOP change applied as version 2, then a proposal on version 1: stale */
	apply_change(CID("ed"), KID("0a"), RID("ed"));
	propose(CID("ee"), "alice", KID("ee"), LID("05"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	/* 15: command 0's id again: ends the first run; 16-19: the second run, whose first
	 * proposal takes the id of dave's hidden change (tried again without proposals) */
	step(CID("e0"), "alice", "submit_change", KID("e5"), "again");
	propose(CID("f0"), "alice", KID("08"), LID("01"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	propose(CID("f1"), "alice", KID("f1"), LID("04"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	step(CID("f2"), "alice", "submit_change", KID("f1"), "ready");
	step(CID("f3"), "bob", "reject_change", KID("f1"), "no");
	close_batch();
	/* step runs: 0-14 (9 and 11-14 stepped over; from 9 on, 9 and 12 alone: no run), 16-19
	 * (all four left to their functions) */
	expect_same(
	    "accepted,accepted,insufficient_access_level,record_retired,not_found_or_denied,"
	    "stale_base,reason_required,invalid_command,accepted,stale_base,"
	    "not_found_or_denied,accepted,not_found_or_denied,accepted,stale_base,"
	    "duplicate_command,not_found_or_denied,accepted,accepted,accepted",
	    1, 2);
}
END_TEST

/*
 * An applied change versions its stored change's lineage, whatever a proposal of the same
 * change id in the window names: a later proposal on that lineage is decided after it. In the
 * same run: a proposal of a change id in use by a visible change, and a step carrying a field
 * its function does not read, malformed (no second try for the batch).
 */
START_TEST(test_an_applied_change_keeps_its_stored_lineage_from_later_proposals)
{
	struct result set, one;

	change(KID("0b"), LID("05"), "alice", "2026-01-01 02:10:00+00", "submitted", NULL);
	change(KID("0c"), LID("04"), "alice", "2026-01-01 02:11:00+00", "draft", NULL);
	/* 0: the SOP change approved; 1: its change id proposed again, on L01 (refused); 2: the
	 * change applied, as L05's version 2 */
	step(CID("b0"), "carol", "approve_change", KID("0b"), "fine");
	propose(CID("b1"), "alice", KID("0b"), LID("01"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	apply_change(CID("b2"), KID("0b"), RID("b2"));
	/* 3, 4: a proposal on L05's version 1, stale after 2, and its submission */
	propose(CID("b3"), "alice", KID("b3"), LID("05"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	step(CID("b4"), "alice", "submit_change", KID("b3"), "ready");
	/* 5-8: members of the run, 6 with a malformed field no step reads */
	propose(CID("b5"), "alice", KID("b5"), LID("02"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	add(CID("b6"), "alice", "submit_change",
	    "\"change_id\": \"" KID("b5") "\", \"reason\": \"ready\", \"content\": \"zz\", "
	                                  "\"base_version\": \"x\", \"id\": \"y\"");
	propose(CID("b7"), "alice", KID("b7"), LID("03"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	step(CID("b8"), "alice", "submit_change", KID("b7"), "ready");
	/* 9: the id of alice's stored draft proposed again: refused */
	propose(CID("b9"), "alice", KID("0c"), LID("01"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	close_batch();
	apply_both(&set, &one);
	ck_assert_str_eq(set.reasons, "accepted,not_found_or_denied,accepted,stale_base,"
	                              "not_found_or_denied,accepted,accepted,accepted,accepted,"
	                              "not_found_or_denied");
	/* one run: 0 and 5-9; no second try */
	ck_assert_int_eq(set.step_runs, 1);
	ck_assert_int_eq(set.trapped, 0);
	result_free(&set);
	result_free(&one);
}
END_TEST

/* Commit change kid of lineage id (version 1) proposed by alice at et, submitted, and approved
 * by carol. */
static void
approved(const char *kid, const char *id, const char *et)
{
	change(kid, id, "alice", et, "submitted", NULL);
	ck_assert_str_eq(
	    dbt_call(T.api,
	        "axiom_api.approve_change('carol', '%s'::timestamptz + interval '2 s', "
	        "NULL, '%s', 'fine')",
	        et, kid),
	    "accepted");
}

/*
 * An approved change is applied by a run of versions, as the only member on its lineage: it
 * gets what apply_change gives, and every refusal of apply_change inside the run leaves the
 * member to that function (a hash mismatch, a change not approved or applied already, a stale
 * base, an actor below the author level, a blank reason, a record id in use by a row the actor
 * cannot see); an apply_change whose change a command before it in the window names, or that
 * its actor cannot see, is stepped over.
 */
START_TEST(test_approved_changes_are_applied_by_the_run)
{

	approved(KID("a1"), LID("01"), "2026-01-01 02:00:00+00");
	approved(KID("a2"), LID("02"), "2026-01-01 02:01:00+00");
	change(KID("a3"), LID("03"), "alice", "2026-01-01 02:02:00+00", "submitted", NULL);
	approved(KID("a4"), LID("04"), "2026-01-01 02:03:00+00");
	approved(KID("a5"), LID("04"), "2026-01-01 02:04:00+00");
	approved(KID("a6"), LID("05"), "2026-01-01 02:05:00+00");
	change(KID("a7"), LID("07"), "dave", "2026-01-01 02:06:00+00", "submitted", NULL);
	ck_assert_str_eq(dbt_create("alice", "2026-01-01 02:07:00+00", RID("a9"), LID("a9"), "note",
	                     "F1", "L09"),
	    "accepted");
	approved(KID("a8"), LID("a9"), "2026-01-01 02:08:00+00");
	/* committed before the batch: a4 applied, so a5's base (L04 version 1) is stale */
	ck_assert_str_eq(
	    dbt_call(T.api,
	        "axiom_api.apply_change('alice', '2026-01-01 03:00:00+00', NULL, '" KID(
	            "a4") "', '" RID("a4") "', decode('%s', 'hex'), 'apply')",
	        applied_hash(KID("a4"), RID("a4"), "alice", "2026-01-01 03:00:00+00")),
	    "accepted");
	/* 0-2: a new note, a1 applied, a new note */
	create(CID("f0"), "alice", RID("f0"), LID("f0"), "note", "F1", "new", NULL);
	apply_change(CID("f1"), KID("a1"), RID("f1"));
	create(CID("f2"), "alice", RID("f2"), LID("f2"), "note", "F1", "new", NULL);
	/* 3: a2 with a hash the database does not compute; 4: a3, only submitted; 5: a5, on a
	 * stale base; 6: a6 by frank, a technician; 7: a8 with a blank reason */
	apply_claiming("alice", CID("f3"), KID("a2"), RID("f3"), ZERO_HASH, "apply");
	apply_change(CID("f4"), KID("a3"), RID("f4"));
	apply_change(CID("f5"), KID("a5"), RID("f5"));
	apply_change_as("frank", CID("f6"), KID("a6"), RID("f6"));
	apply_claiming("alice", CID("fc"), KID("a8"), RID("fc"), ZERO_HASH, " ");
	/* 8: a1 again, named before in the window (stepped over): the change is applied */
	apply_change(CID("f7"), KID("a1"), RID("f7"));
	/* 9: dave's change, hidden from alice (stepped over); 10: carol approves a3, then 11
	 * applies it (stepped over: the approval is not decided when the run starts) */
	apply_change(CID("f8"), KID("a7"), RID("f8"));
	step(CID("f9"), "carol", "approve_change", KID("a3"), "fine");
	apply_change(CID("fa"), KID("a3"), RID("fa"));
	create(CID("fb"), "alice", RID("fb"), LID("fb"), "note", "F1", "new", NULL);
	close_batch();
	/* one run: 0-7 and 12 members (8, 9, 11 stepped over); 3-7 left to their functions, and
	 * 8-11 decided alone */
	expect_alone("accepted,accepted,accepted,hash_mismatch,not_approved,stale_base,"
	             "insufficient_access_level,reason_required,not_approved,not_found_or_denied,"
	             "accepted,accepted,accepted",
	    1, 5 + 4);
}
END_TEST

/*
 * A change approved inside the window by a command decided already (a member of a run of change
 * steps, stored) is applied by the run of versions all the same; an applied change whose record
 * id is in use by a row its actor cannot see is the run's cut (the insert's key conflict).
 */
START_TEST(test_a_change_approved_by_an_earlier_run_is_applied_by_the_run)
{
	change(KID("b1"), LID("01"), "alice", "2026-01-01 02:00:00+00", "draft", NULL);
	change(KID("b2"), LID("02"), "alice", "2026-01-01 02:01:00+00", "draft", NULL);
	/* 0, 2-4: a run of change steps (1 stepped over) */
	step(CID("e0"), "alice", "submit_change", KID("b1"), "ready");
	create(CID("e1"), "alice", RID("e1"), LID("e1"), "note", "F1", "new", NULL);
	step(CID("e2"), "carol", "approve_change", KID("b1"), "fine");
	step(CID("e3"), "alice", "submit_change", KID("b2"), "ready");
	step(CID("e4"), "carol", "approve_change", KID("b2"), "fine");
	/* 5: b1 applied; 6: b2 applied as dave's hidden record id; 7: a new note */
	apply_change(CID("e5"), KID("b1"), RID("e5"));
	apply_change(CID("e6"), KID("b2"), RID("07"));
	create(CID("e7"), "alice", RID("e7"), LID("e7"), "note", "F1", "new", NULL);
	close_batch();
	/* runs of versions: 1, 5-7 (6 conflicts: tried again over 1 and 5, 6 is the cut, decided
	 * alone), then 7 */
	expect_alone("accepted,accepted,accepted,accepted,accepted,accepted,not_found_or_denied,"
	             "accepted",
	    2, 1);
}
END_TEST

/*
 * An id in another spelling PostgreSQL's uuid input takes (in braces, without hyphens) is the
 * same id to the batch as to the functions: a change applied under its id in braces keeps a
 * later application of the same change out of the run (which would otherwise take it before the
 * first), and a command id without hyphens republished in the canonical form is a duplicate.
 */
START_TEST(test_an_id_in_another_spelling_is_the_same_id)
{
	approved(KID("e1"), LID("01"), "2026-01-01 02:00:00+00");
	/* 0: a new note; 1: e1 applied under its id in braces; 2: e1 applied again */
	create(CID("e0"), "alice", RID("e0"), LID("e0"), "note", "F1", "new", NULL);
	apply_change(CID("e1"), "{" KID("e1") "}", RID("e1"));
	apply_change(CID("e2"), KID("e1"), RID("e2"));
	/* 3: a new note under CID("e3") without hyphens; 4: CID("e3") again */
	create("000000000000400090000000000003e3", "alice", RID("e3"), LID("e3"), "note", "F1",
	    "new", NULL);
	create(CID("e3"), "alice", RID("e4"), LID("e4"), "note", "F1", "again", NULL);
	close_batch();
	/* one run: 0, 1, 3 (2 is stepped over, 4 ends the window); 2 alone */
	expect_alone("accepted,accepted,not_approved,accepted,duplicate_command", 1, 1);
}
END_TEST

/*
 * The batch scope of a change (definer_batch_scope on change_requests and change_request_steps)
 * is a layer of its own: without an entry the definer sees no change; an entry shows the change
 * only while every entry on it names an actor with a grant there; a change is written only with
 * an entry's event time, a new one only by an entry's actor as proposed at that entry's event
 * time, and a step only as an entry's actor at its event time.
 */
/* A review step row of change 01 by actor at et, and a new change request 0d proposed by
 * author at proposed whose status time is et, as the definer would insert them. */
#define STEP_ROW(actor, et)                                                                        \
	"INSERT INTO axiom.change_request_steps (change_id, step, from_status, to_status, actor, " \
	"event_time, reason, facility_id, domain_id) VALUES ('" KID(                               \
	    "01") "', 'review', "                                                                  \
	          "'submitted', 'reviewed', '" actor "', '" et "', 'x', 'F1', 'QC')"
#define NEW_CHANGE_AS(author, proposed, et)                                                        \
	"INSERT INTO axiom.change_requests (change_id, id, base_version, base_record_hash, "       \
	"record_type, facility_id, domain_id, title, content, author, reason, proposed_at, "       \
	"status, status_changed_at) VALUES ('" KID("0d") "', '" LID(                               \
	    "01") "', 1, '\\x00', "                                                                \
	          "'note', 'F1', 'QC', 't', '\\x00', '" author "', 'r', '" proposed                \
	          "', 'draft', '" et "')"
#define NEW_CHANGE(et) NEW_CHANGE_AS("bob", et, et)

/* sql, run inside T.api's open transaction, is refused by row security (42501). */
static void
refused_in_scope(const char *sql)
{
	PGresult *res;

	dbt_exec(T.api, "SAVEPOINT s");
	res = PQexec(T.api, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR, "%s\nwas not refused", sql);
	ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501");
	PQclear(res);
	dbt_exec(T.api, "ROLLBACK TO SAVEPOINT s");
}

START_TEST(test_the_batch_scope_of_a_change_is_each_commands_own)
{
	static const char count[] =
	    "SELECT count(*) FROM axiom.change_requests WHERE change_id = '" KID("01") "'";

	change(KID("01"), LID("01"), "alice", "2026-01-01 02:01:00+00", "submitted", NULL);
	dbt_exec(T.api, "BEGIN");
	ck_assert_str_eq(dbt_value(T.api, count), "0");
	dbt_exec(T.api,
	    "INSERT INTO axiom.batch_scope VALUES ('" KID("01") "', 'bob', "
	                                                        "'2026-01-02 00:00:00+00')");
	ck_assert_str_eq(dbt_value(T.api, count), "1");
	/* erin holds no grant in F1: the change is hidden from the whole set */
	dbt_exec(T.api,
	    "INSERT INTO axiom.batch_scope VALUES ('" KID("01") "', 'erin', "
	                                                        "'2026-01-02 00:00:01+00')");
	ck_assert_str_eq(dbt_value(T.api, count), "0");
	dbt_exec(T.api, "DELETE FROM axiom.batch_scope WHERE actor = 'erin'");
	/* a status time no entry has, a step by someone else or at another time, a new change
	 * request whose status time no entry has: refused */
	refused_in_scope(
	    "UPDATE axiom.change_requests SET status = 'reviewed', status_changed_at = "
	    "'2026-01-02 00:00:05+00' WHERE change_id = '" KID("01") "'");
	refused_in_scope(STEP_ROW("carol", "2026-01-02 00:00:00+00"));
	refused_in_scope(STEP_ROW("bob", "2026-01-02 00:00:09+00"));
	dbt_exec(T.api, "INSERT INTO axiom.batch_scope VALUES ('" KID(
	                    "0d") "', 'bob', '2026-01-02 00:00:00+00')");
	refused_in_scope(NEW_CHANGE("2026-01-02 00:00:05+00"));
	/* a new change request by another author, or proposed at another time, than an entry
	 * names, though its status time is an entry's: refused (definer_batch_scope_author) */
	refused_in_scope(
	    NEW_CHANGE_AS("carol", "2026-01-02 00:00:00+00", "2026-01-02 00:00:00+00"));
	refused_in_scope(NEW_CHANGE_AS("bob", "2026-01-01 23:59:59+00", "2026-01-02 00:00:00+00"));
	/* as the entries say: accepted */
	dbt_exec(T.api, "UPDATE axiom.change_requests SET status = 'reviewed', status_changed_at = "
	                "'2026-01-02 00:00:00+00' WHERE change_id = '" KID("01") "'");
	dbt_exec(T.api, STEP_ROW("bob", "2026-01-02 00:00:00+00"));
	dbt_exec(T.api, NEW_CHANGE("2026-01-02 00:00:00+00"));
	dbt_exec(T.api, "ROLLBACK");
}
END_TEST

/*
 * A member the set refuses, whose actor may not act on its lineage (no grant in its facility
 * and domain, not enrolled), leaves that lineage to the functions, and the run goes on with
 * the others. Its entry in the batch scope hides the lineage from the run's statement (the rule
 * reads a lineage only as every command of the run on it may), so the statement could not read
 * a version it inserted beside the next one: check_record_links raised "has no predecessor",
 * the batch raised, and the applier stopped the partition. Three commands from any producer
 * did it (found by test_random_batches_give_the_same_both_ways).
 */
START_TEST(test_a_member_whose_actor_may_not_act_leaves_its_lineage_to_the_functions)
{
	char h1[80], h2[80], h01[80];

	snprintf(h01, sizeof(h01), "%s", head_hash(LID("01")));
	/* 0, 1: alice creates L40 and versions it; 2: erin, with no grant in F1, a version 3 of
	 * it; 3: unknown to the database, another; 4: alice versions L01 in the same run */
	create(CID("c0"), "alice", RID("c0"), LID("40"), "note", "F1", "new", NULL);
	snprintf(h1, sizeof(h1), "%s",
	    hash_of(RID("c0"), LID("40"), "1", "NULL", "NULL", "note", "F1", "QC", "t", "alice",
	        et_of(0)));
	snprintf(h2, sizeof(h2), "%s",
	    version(CID("c1"), "alice", RID("c1"), LID("40"), RID("c0"), 1, h1, NULL));
	version(CID("c2"), "erin", RID("c2"), LID("40"), RID("c1"), 2, h2, NULL);
	version(CID("c3"), "nobody", RID("c3"), LID("40"), RID("c1"), 2, h2, NULL);
	version(CID("c4"), "alice", RID("c4"), LID("01"), RID("01"), 1, h01, NULL);
	close_batch();
	expect_alone("accepted,accepted,not_found_or_denied,not_found_or_denied,accepted", 1, 4);
}
END_TEST

/*
 * The same for a run of change steps: a step the set refuses, whose actor may not act on the
 * change, on a change proposed in the run, leaves the change to the functions. Its entry hid
 * the change, so the insert of the proposal and its step row failed the row policy: the batch
 * raised "new row violates row-level security policy".
 */
START_TEST(test_a_step_whose_actor_may_not_act_leaves_its_change_to_the_functions)
{
	change(KID("c5"), LID("04"), "alice", "2026-01-01 02:00:00+00", "submitted", NULL);
	/* 0: alice proposes g0 on L03; 1: erin (no grant in F1) submits it; 2: nobody (unknown)
	 * too; 3: carol approves g5 in the same run; 4: bob reviews g5 (not required: refused) */
	propose(CID("c0"), "alice", KID("c0"), LID("03"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	step(CID("c1"), "erin", "submit_change", KID("c0"), "ready");
	step(CID("c2"), "nobody", "submit_change", KID("c0"), "ready");
	step(CID("c3"), "carol", "approve_change", KID("c5"), "fine");
	step(CID("c4"), "bob", "review_change", KID("c5"), "late");
	close_batch();
	expect_same(
	    "accepted,not_found_or_denied,not_found_or_denied,accepted,review_not_required", 0, 1);
}
END_TEST

/*
 * The batch scope's ids are not typed: a proposal's lineage entry is also an entry on a change
 * whose id is that lineage's. A change proposed with such an id, in a run where the lineage's
 * proposal came from an actor who may not act there, had its rows refused by the row policy and
 * the batch raised; such a change is now left to the functions.
 */
START_TEST(test_a_change_id_that_is_a_proposals_lineage_is_left_to_the_functions)
{
	/* 0: erin (no grant in F1) proposes c0 on L03; 1: alice proposes a change whose id is
	 * L03, on L04; 2: she submits it; 3: she proposes c3 on L02 */
	propose(CID("c0"), "erin", KID("c0"), LID("03"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	propose(CID("c1"), "alice", LID("03"), LID("04"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	step(CID("c2"), "alice", "submit_change", LID("03"), "ready");
	propose(CID("c3"), "alice", KID("c3"), LID("02"), 1, "\"title\": \"t\", \"reason\": \"r\"");
	close_batch();
	expect_same("not_found_or_denied,accepted,accepted,accepted", 0, 1);
}
END_TEST

START_TEST(test_no_login_writes_the_batch_scope)
{
	static const char *const logins[] = { "user", "analytics", "auditor" };
	PGconn *conns[3] = { T.user, T.analytics, T.auditor };
	int i;

	for (i = 0; i < 3; i++) {
		PGresult *res = PQexec(conns[i], "INSERT INTO axiom.batch_scope VALUES ('" LID(
		                                     "07") "', 'alice', '2026-01-02 00:00:00+00')");

		ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR,
		    "%s could write axiom.batch_scope", logins[i]);
		PQclear(res);
	}
	/* nor does axiom_definer scope another transaction than its own (db/0028) */
	ck_assert_str_eq(dbt_state(T.api, "INSERT INTO axiom.batch_scope VALUES ('" LID(
	                                      "07") "', 'alice', '2026-01-02 00:00:00+00', '1')"),
	    "42501");
	dbt_exec(T.api, "BEGIN");
	dbt_exec(T.api, "INSERT INTO axiom.batch_scope VALUES ('" LID(
	                    "07") "', 'alice', '2026-01-02 00:00:00+00')");
	ck_assert_str_eq(
	    dbt_value(
	        T.api, "SELECT count(*) FROM axiom.batch_scope WHERE xact = pg_current_xact_id()"),
	    "1");
	dbt_exec(T.api, "ROLLBACK");
}
END_TEST

/*
 * A run reads and removes its own entries of axiom.batch_scope only, however many dead entries
 * other runs left: the table is shared by every writer's runs, and while any transaction of
 * the database holds a snapshot older than those runs (an analyst's open report), no vacuum
 * may remove their entries and no scan may mark them dead in the index. A DELETE of the whole
 * table read every page of it, twice a run; a row policy's probe of a lineage read every dead
 * entry earlier runs left on that lineage, once per row it checked (db/0028). The blocks are
 * counted by the run's own transaction: the shared statistics wait for each session's next
 * flush, which may come between the two readings, and a count of them once took in the dead
 * entries' insert.
 */
START_TEST(test_a_run_reads_its_own_batch_scope_entries_only)
{
	char rid[64], id[64], cmd[64];
	long long before, read, entries;
	int i, runs;

	/* an analyst's report, open across the other writers' runs */
	dbt_exec(T.analytics, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	dbt_value(T.analytics, "SELECT count(*) FROM axiom.records");
	/* what other writers' runs leave: entries inserted and deleted by committed transactions,
	 * on other lineages and on the 16 this run creates (500 on each, four times) */
	dbt_exec(T.admin, "ALTER TABLE axiom.batch_scope SET (autovacuum_enabled = false)");
	for (i = 0; i < 4; i++) {
		dbt_exec(T.admin, "BEGIN");
		dbt_exec(T.admin, "INSERT INTO axiom.batch_scope (id, actor, event_time) SELECT "
		                  "gen_random_uuid(), 'x', '2026-01-01 00:00:00+00' FROM "
		                  "generate_series(1, 50000)");
		dbt_exec(T.admin,
		    "INSERT INTO axiom.batch_scope (id, actor, event_time) SELECT "
		    "('00000000-0000-4000-9000-0000000005' || lpad(k::text, 2, '0'))::uuid, "
		    "'alice', '2026-01-01 00:00:00+00' FROM generate_series(0, 15) AS k, "
		    "generate_series(1, 500)");
		dbt_exec(T.admin, "DELETE FROM axiom.batch_scope");
		dbt_exec(T.admin, "COMMIT");
	}
	for (i = 0; i < 16; i++) {
		snprintf(rid, sizeof(rid), "00000000-0000-4000-9000-0000000004%02d", i);
		snprintf(id, sizeof(id), "00000000-0000-4000-9000-0000000005%02d", i);
		snprintf(cmd, sizeof(cmd), "00000000-0000-4000-9000-0000000006%02d", i);
		create(cmd, "alice", rid, id, "note", "F1", "bulk", NULL);
	}
	close_batch();
	dbt_exec(T.api, "BEGIN");
	before = dbt_xact_blocks_fetched("batch_scope");
	entries = dbt_xact_index_entries_read("batch_scope");
	runs = calls_of("apply_version_run");
	free(query_batch(
	    "SELECT count(*) FROM axiom.partition_batch('it', '" TOPIC "', 0, false, NULL, $1)"));
	runs = calls_of("apply_version_run") - runs;
	read = dbt_xact_blocks_fetched("batch_scope") - before;
	entries = dbt_xact_index_entries_read("batch_scope") - entries;
	dbt_exec(T.api, "ROLLBACK");
	dbt_exec(T.admin, "ALTER TABLE axiom.batch_scope RESET (autovacuum_enabled)");
	dbt_exec(T.analytics, "ROLLBACK");
	ck_assert_int_eq(runs, 1);
	/* about 1,700 pages, 232,000 dead entries, 2,000 on each lineage of the run */
	ck_assert_msg(read < 500, "a run of 16 read %lld blocks of batch_scope", read);
	ck_assert_msg(
	    entries < 1000, "a run of 16 read %lld entries of batch_scope's index", entries);
}
END_TEST

/*
 * Random batches: the cases above are the ones thought of; these are drawn. Each batch mixes
 * new records, new versions, applied changes, proposals, change steps, lifecycle transitions,
 * ticks and republished command ids over the lineages of the setup and the batch's own, and
 * perturbs some of them (another actor, a stale previous hash or base, a wrong record hash, a
 * blank reason, a record, lineage or change id in use, a change id that is a lineage's and the
 * reverse, an id in capitals or braces, an unknown record type, a malformed field). The generator
 * follows a lineage as if every command it wrote were accepted, so a refusal makes the commands
 * after it on that lineage stale: the deferred tries and the cuts are drawn too. Every batch must
 * give the same outcomes and tables both ways. FUZZ_BATCHES batches from seed FUZZ_SEED;
 * AXIOM_0109_SEED and AXIOM_0109_BATCHES draw others (a failure names the seed of its batch).
 */
#define FUZZ_SEED     0x0109
#define FUZZ_BATCHES  40
#define FUZZ_LINEAGES 64
#define FUZZ_CHANGES  32

static uint64_t fuzz_state;

/* A number in [0, n) (xorshift64). */
static unsigned
fuzz(unsigned n)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return (unsigned)(fuzz_state % n);
}

/* A lineage as the generator believes it stands: its head's record id, version and hash. */
struct fuzz_lineage {
	char id[40], rid[40], hash[80], type[8], facility[4], domain[8];
	int version;
	int live; /* a new version of it may be accepted, as far as the generator knows */
};

/* A change as the generator believes it stands. */
struct fuzz_change {
	char kid[40], proposer[8];
	int lineage;
	int status; /* 0 draft, 1 submitted, 2 reviewed, 3 approved, 4 applied or rejected */
};

static struct fuzz_lineage lineages[FUZZ_LINEAGES];
static struct fuzz_change changes[FUZZ_CHANGES];
static int nlineages, nchanges, nids;
static char cmd_ids[64][40];

/* A new uuid of kind k (1 lineage, 2 record, 3 command, 4 change, 5 signature), unique in the
 * batch. */
static const char *
fuzz_uuid(int k)
{
	static char u[4][40];
	static int which;

	which = (which + 1) % 4;
	snprintf(u[which], sizeof(u[which]), "00000000-0000-4000-b00%d-%012d", k, ++nids);
	return u[which];
}

/* id as written by a command: mostly canonical, at times in capitals or braces (two buffers:
 * a command may spell two ids in one call). */
static const char *
fuzz_spelling(const char *id)
{
	static char ring[2][48];
	static int which;
	char *s = ring[which = !which];
	size_t i;

	switch (fuzz(20)) {
	case 0:
		for (i = 0; id[i] && i < sizeof(ring[0]) - 1; i++)
			s[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
		s[i] = '\0';
		return s;
	case 1:
		snprintf(s, sizeof(ring[0]), "{%s}", id);
		return s;
	default:
		return id;
	}
}

/* An actor for a command that needs the author level: mostly one who has it. */
static const char *
fuzz_actor(void)
{
	static const char *const actors[] = { "alice", "alice", "alice", "alice", "alice", "alice",
		"alice", "alice", "alice", "alice", "carol", "carol", "gina", "dave", "bob",
		"frank", "erin", "nobody" };

	return actors[fuzz(sizeof(actors) / sizeof(actors[0]))];
}

/* A command id: a fresh one, or at times one the batch used already (a duplicate). */
static const char *
fuzz_cmd(void)
{
	if (batch_n > 0 && fuzz(25) == 0)
		return cmd_ids[fuzz((unsigned)batch_n)];
	return fuzz_uuid(3);
}

/* The changes stored before the batches (fuzz_store): their lineage and status. */
static const struct {
	const char *kid;
	int lineage, status;
} stored[] = { { KID("f0"), 0, 3 }, { KID("f1"), 1, 1 }, { KID("f2"), 2, 3 } };

/* Store the changes of stored, proposed by alice: approved by carol, or submitted (after
 * fuzz_load, which names their lineages). */
static void
fuzz_store(void)
{
	size_t i;

	for (i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
		change(stored[i].kid, lineages[stored[i].lineage].id, "alice",
		    "2026-01-01 03:00:00+00", "submitted", NULL);
		if (stored[i].status == 3)
			ck_assert_str_eq(
			    dbt_call(T.api,
			        "axiom_api.approve_change('carol', '2026-01-01 03:00:05+00', "
			        "NULL, '%s', 'ok')",
			        stored[i].kid),
			    "accepted");
	}
}

/* The lineages of the setup as they stand, and the changes stored. */
static void
fuzz_load(void)
{
	static const char *const ids[] = { LID("01"), LID("02"), LID("03"), LID("04"), LID("05"),
		LID("06"), LID("07") };
	size_t i;

	nlineages = nchanges = nids = 0;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++, nlineages++) {
		struct fuzz_lineage *l = &lineages[nlineages];
		char *v = strdup(dbt_value(T.admin,
		    "SELECT record_id || ' ' || version || ' ' || encode(record_hash, 'hex') || ' "
		    "' "
		    "|| record_type || ' ' || facility_id || ' ' || domain_id FROM axiom.records "
		    "WHERE id = '%s' ORDER BY version DESC LIMIT 1",
		    ids[i]));

		ck_assert_int_eq(sscanf(v, "%39s %d %79s %7s %3s %7s", l->rid, &l->version, l->hash,
		                     l->type, l->facility, l->domain),
		    6);
		snprintf(l->id, sizeof(l->id), "%s", ids[i]);
		l->live = i < 4; /* the SOP is change-controlled, L06 retired, L07 hidden */
		free(v);
	}
	for (i = 0; i < sizeof(stored) / sizeof(stored[0]); i++, nchanges++) {
		snprintf(changes[i].kid, sizeof(changes[i].kid), "%s", stored[i].kid);
		snprintf(changes[i].proposer, sizeof(changes[i].proposer), "alice");
		changes[i].lineage = stored[i].lineage;
		changes[i].status = stored[i].status;
	}
}

/* A lineage to write on: mostly one that may take a new version. */
static struct fuzz_lineage *
fuzz_lineage(void)
{
	int i, live[FUZZ_LINEAGES], n = 0;

	for (i = 0; i < nlineages; i++)
		if (lineages[i].live)
			live[n++] = i;
	return &lineages[n > 0 && fuzz(5) ? live[fuzz((unsigned)n)]
	                                  : (int)fuzz((unsigned)nlineages)];
}

/* The hash (hex) the database computes for version v of lineage l made by actor now. */
static const char *
fuzz_hash(const struct fuzz_lineage *l, const char *rid, int v, const char *actor, const char *kid)
{
	char version[16], prev_id[48], prev_hash[96], change[48];

	snprintf(version, sizeof(version), "%d", v);
	snprintf(prev_id, sizeof(prev_id), v > 1 ? "'%s'" : "NULL", l->rid);
	snprintf(prev_hash, sizeof(prev_hash), v > 1 ? "decode('%s', 'hex')" : "NULL", l->hash);
	snprintf(change, sizeof(change), kid ? "'%s'" : "NULL", kid);
	return hash_of_change(rid, l->id, version, prev_id, prev_hash, l->type, l->facility,
	    l->domain, "t", actor, et_of(batch_n), change);
}

/* A reason: mostly one, at times blank. */
static const char *
fuzz_reason(void)
{
	return fuzz(25) == 0 ? " " : "r";
}

/* Append a random command to the batch (see above). */
static void
fuzz_command(void)
{
	char rest[1024], rid[40], hash[80], cmd[40], fields[64];
	const char *actor = fuzz_actor();
	unsigned r = fuzz(100);
	struct fuzz_lineage *l = fuzz_lineage();
	struct fuzz_change *c = nchanges > 0 ? &changes[fuzz((unsigned)nchanges)] : NULL;
	int good = fuzz(16) != 0, in_use;

	snprintf(cmd, sizeof(cmd), "%s", fuzz_cmd());
	snprintf(cmd_ids[batch_n], sizeof(cmd_ids[batch_n]), "%s", cmd);
	snprintf(rid, sizeof(rid), "%s", fuzz(30) == 0 ? lineages[6].rid : fuzz_uuid(2));
	if (r < 12 && c != NULL && c->status == 3) {
		/* the approved change applied */
		l = &lineages[c->lineage];
		snprintf(hash, sizeof(hash), "%s",
		    good ? fuzz_hash(l, rid, l->version + 1, actor, c->kid) : ZERO_HASH);
		apply_claiming(actor, cmd, fuzz_spelling(c->kid), rid, hash, fuzz_reason());
		c->status = 4;
		if (good) {
			l->version++;
			snprintf(l->rid, sizeof(l->rid), "%s", rid);
			snprintf(l->hash, sizeof(l->hash), "%s", hash);
		}
	} else if (r < 40) {
		/* a new version of a lineage, on its head as the generator believes it */
		const char *prev = good || fuzz(2) ? l->hash : ZERO_HASH;

		snprintf(hash, sizeof(hash), "%s",
		    good || fuzz(2) ? fuzz_hash(l, rid, l->version + 1, actor, NULL) : ZERO_HASH);
		snprintf(rest, sizeof(rest),
		    "\"record_id\": \"%s\", \"id\": \"%s\", \"previous_record_hash\": \"%s\", "
		    "\"title\": \"t\", \"content\": \"00\", \"record_hash\": \"%s\", \"reason\": "
		    "\"%s\"",
		    fuzz_spelling(rid), fuzz_spelling(l->id), prev, hash, fuzz_reason());
		add(cmd, actor, "new_version", rest);
		if (good) {
			l->version++;
			snprintf(l->rid, sizeof(l->rid), "%s", rid);
			snprintf(l->hash, sizeof(l->hash), "%s", hash);
		}
	} else if (r < 55 && nlineages < FUZZ_LINEAGES) {
		/* a new record: a new lineage, or at times one in use */
		static const char *const types[] = { "note", "note", "note", "note", "note", "note",
			"note", "note", "note", "note", "note", "note", "note", "note", "note",
			"note", "sop", "spec", "plate", "nope" };

		l = &lineages[nlineages];
		/* at times a lineage id in use, or one that is a change's id */
		r = fuzz(30);
		in_use = r == 0;
		snprintf(l->id, sizeof(l->id), "%s",
		    in_use                   ? lineages[fuzz(7)].id
		    : r == 1 && nchanges > 0 ? changes[fuzz((unsigned)nchanges)].kid
		                             : fuzz_uuid(1));
		snprintf(l->type, sizeof(l->type), "%s", types[fuzz(20)]);
		snprintf(l->facility, sizeof(l->facility), "%s", fuzz(10) == 0 ? "F2" : "F1");
		snprintf(l->domain, sizeof(l->domain), "%s",
		    strcmp(l->type, "plate") == 0 ? "MICRO" : "QC");
		l->version = 1;
		l->live = good && !in_use && strcmp(l->type, "note") == 0 &&
		          strcmp(l->facility, "F1") == 0 && strstr("alice carol", actor) != NULL;
		snprintf(
		    hash, sizeof(hash), "%s", good ? fuzz_hash(l, rid, 1, actor, NULL) : ZERO_HASH);
		snprintf(l->rid, sizeof(l->rid), "%s", rid);
		snprintf(l->hash, sizeof(l->hash), "%s", hash);
		snprintf(rest, sizeof(rest),
		    "\"record_id\": \"%s\", \"id\": \"%s\", \"record_type\": \"%s\", "
		    "\"facility_id\": "
		    "\"%s\", \"title\": \"t\", \"content\": \"00\", \"record_hash\": \"%s\", "
		    "\"reason\": \"%s\"",
		    fuzz_spelling(rid), fuzz_spelling(l->id), l->type, l->facility, hash,
		    fuzz_reason());
		add(cmd, actor, "create_record", rest);
		nlineages++;
	} else if (r < 64 && nchanges < FUZZ_CHANGES) {
		/* a proposal on a lineage's head, or at times on a stale base */
		c = &changes[nchanges++];
		/* at times a change id in use, or one that is a lineage's id */
		r = fuzz(30);
		snprintf(c->kid, sizeof(c->kid), "%s",
		    r == 0 && nchanges > 1 ? changes[0].kid
		    : r == 1               ? lineages[fuzz((unsigned)nlineages)].id
		                           : fuzz_uuid(4));
		snprintf(c->proposer, sizeof(c->proposer), "%s", actor);
		c->lineage = (int)(l - lineages);
		c->status = 0;
		snprintf(
		    fields, sizeof(fields), "\"title\": \"t\", \"reason\": \"%s\"", fuzz_reason());
		propose(cmd, actor, fuzz_spelling(c->kid), fuzz_spelling(l->id),
		    good ? l->version : l->version - 1, fields);
	} else if (r < 80 && c != NULL && c->status < 3) {
		/* a change's next step, mostly by whom it needs */
		static const char *const ops[] = { "submit_change", "review_change",
			"approve_change" };
		const char *op =
		    c->status == 2 || (c->status == 1 && fuzz(2)) ? ops[2] : ops[c->status];
		const char *by = strcmp(op, "submit_change") == 0   ? c->proposer
		                 : strcmp(op, "review_change") == 0 ? "bob"
		                                                    : "carol";

		if (fuzz(12) == 0)
			op = "reject_change";
		step(cmd, good ? by : actor, op, fuzz_spelling(c->kid), fuzz_reason());
		c->status = strcmp(op, "reject_change") == 0    ? 4
		            : strcmp(op, "approve_change") == 0 ? 3
		                                                : c->status + 1;
	} else if (r < 85) {
		/* a lifecycle transition of a lineage's head */
		static const char *const to[] = { "effective", "effective", "retired", "draft" };
		const char *status = to[fuzz(4)];

		snprintf(rest, sizeof(rest),
		    "\"id\": \"%s\", \"version\": %d, \"to_status\": \"%s\", \"reason\": \"%s\"",
		    fuzz_spelling(l->id), l->version, status, fuzz_reason());
		add(cmd, fuzz(3) ? "carol" : actor, "transition_record", rest);
		l->live = l->live && strcmp(status, "retired") != 0;
	} else if (r < 91) {
		/* a signature of a lineage's head (its proofs verified, as the applier says) */
		snprintf(rest, sizeof(rest),
		    "\"signature_id\": \"%s\", \"id\": \"%s\", \"version\": %d, \"meaning\": "
		    "\"%s\", \"nonce\": \"%032d\", \"intent_hash\": \"%064d\", \"factor_ids\": [], "
		    "\"factor_types\": [\"password\"], \"user_verified\": true, \"proofs\": \"00\"",
		    fuzz_uuid(5), fuzz_spelling(l->id), l->version, fuzz(3) ? "review" : "approval",
		    fuzz(10) ? batch_n : 0, batch_n);
		add(cmd, actor, "sign_record", rest);
	} else if (r < 94) {
		other(cmd, "axiom-system", "tick", "\"x\": 0");
	} else if (r < 96) {
		other(cmd, "nobody", "quarantine", "\"reason_code\": \"undecodable\"");
	} else {
		/* a new version on no lineage the setup or the batch has */
		snprintf(rest, sizeof(rest),
		    "\"record_id\": \"%s\", \"id\": \"%s\", \"previous_record_hash\": \"" ZERO_HASH
		    "\", \"title\": \"t\", \"content\": \"00\", \"record_hash\": \"" ZERO_HASH
		    "\", \"reason\": \"r\"",
		    rid, fuzz_uuid(1));
		add(cmd, actor, "new_version", rest);
	}
}

START_TEST(test_random_batches_give_the_same_both_ways)
{
	const char *env_seed = getenv("AXIOM_0109_SEED"), *env_n = getenv("AXIOM_0109_BATCHES");
	uint64_t seed = env_seed ? (uint64_t)dbt_int64(env_seed) : FUZZ_SEED;
	int batches = env_n ? dbt_int(env_n) : FUZZ_BATCHES;
	int b, i, runs = 0, step_runs = 0, alone = 0, accepted = 0, refused = 0;

	fuzz_load(); /* names the lineages of the stored changes */
	fuzz_store();
	for (b = 0; b < batches; b++) {
		struct result set, one;
		int n;
		const char *p;
		char *m;

		fuzz_state = (seed + (uint64_t)b) * 0x9E3779B97F4A7C15ull | 1;
		batch_len = 0;
		batch_n = 0;
		fuzz_load();
		n = 20 + (int)fuzz(39);
		for (i = 0; i < n; i++)
			fuzz_command();
		/* at times a malformed field: the batch's second try, command by command */
		if (fuzz(10) == 0 && (m = strstr(batch, "\"record_id\": \"")) != NULL)
			memcpy(m + 15, "zz", 2);
		close_batch();
		apply(1, &set);
		apply(0, &one);
		if (strcmp(set.outcomes, one.outcomes) != 0 ||
		    strcmp(set.digests, one.digests) != 0)
			fprintf(stderr,
			    "# batch: %s\n# set:\n%s\n# per command:\n%s\n# digests, set:\n%s\n# "
			    "per command:\n%s\n",
			    batch, set.outcomes, one.outcomes, set.digests, one.digests);
		ck_assert_msg(strcmp(set.outcomes, one.outcomes) == 0 &&
		                  strcmp(set.digests, one.digests) == 0,
		    "the batch of seed %llu differs (it is above; AXIOM_0109_SEED=%llu "
		    "AXIOM_0109_BATCHES=1 draws it alone)",
		    (unsigned long long)(seed + (uint64_t)b),
		    (unsigned long long)(seed + (uint64_t)b));
		runs += set.runs;
		step_runs += set.step_runs;
		alone += set.alone;
		for (p = set.reasons; *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
			if (strncmp(p, "accepted", 8) == 0)
				accepted++;
			else
				refused++;
		result_free(&set);
		result_free(&one);
	}
	fprintf(stderr,
	    "# %d random batches: %d runs of versions, %d of change steps, %d commands alone, %d "
	    "accepted, %d refused\n",
	    batches, runs, step_runs, alone, accepted, refused);
	/* the batches drew what they are for: set runs of both kinds, acceptances and refusals */
	if (batches >= FUZZ_BATCHES) {
		ck_assert_int_ge(runs, batches);
		ck_assert_int_gt(step_runs, 0);
		ck_assert_int_gt(accepted, 10 * batches);
		ck_assert_int_gt(refused, 3 * batches);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("0109-db-set-based-equals-per-command");
	TCase *tc = tcase_create("set");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_set_equals_per_command_with_refusals_inside_runs);
	tcase_add_test(tc, test_a_lineage_in_use_is_refused_alike_visible_or_hidden);
	tcase_add_test(tc, test_a_run_of_new_versions_reads_no_lineage_for_new_records);
	tcase_add_test(tc, test_one_run_for_a_batch_of_distinct_lineages);
	tcase_add_test(tc, test_a_malformed_command_in_a_run_takes_the_second_try);
	tcase_add_test(tc, test_commands_a_run_steps_over_keep_their_place_in_the_log);
	tcase_add_test(tc, test_a_lineage_comes_back_in_a_run_on_the_version_before);
	tcase_add_test(tc, test_versions_after_a_refusal_are_decided_by_the_run);
	tcase_add_test(tc, test_versions_of_a_lineage_the_run_cannot_see_follow_their_functions);
	tcase_add_test(tc, test_deferred_tries_take_at_most_the_members_of_the_first);
	tcase_add_test(tc, test_a_lineage_written_in_capitals_is_deferred_alike);
	tcase_add_test(
	    tc, test_a_key_conflict_in_a_deferred_try_leaves_its_members_to_their_functions);
	tcase_add_test(tc, test_an_applied_change_keeps_its_lineage_out_of_the_run);
	tcase_add_test(tc, test_versions_after_a_refusal_on_their_lineage_keep_the_log_order);
	tcase_add_test(tc, test_a_command_id_applied_in_an_earlier_batch_ends_a_run);
	tcase_add_test(tc, test_change_steps_as_one_set_equal_change_transition);
	tcase_add_test(tc, test_proposals_in_a_run_see_their_lineage_in_log_order);
	tcase_add_test(tc, test_an_applied_change_keeps_its_stored_lineage_from_later_proposals);
	tcase_add_test(tc, test_approved_changes_are_applied_by_the_run);
	tcase_add_test(tc, test_a_change_approved_by_an_earlier_run_is_applied_by_the_run);
	tcase_add_test(tc, test_an_id_in_another_spelling_is_the_same_id);
	tcase_add_test(tc, test_the_batch_scope_of_a_change_is_each_commands_own);
	tcase_add_test(tc, test_no_login_writes_the_batch_scope);
	tcase_add_test(tc, test_a_run_reads_its_own_batch_scope_entries_only);
	tcase_add_test(
	    tc, test_a_member_whose_actor_may_not_act_leaves_its_lineage_to_the_functions);
	tcase_add_test(tc, test_a_step_whose_actor_may_not_act_leaves_its_change_to_the_functions);
	tcase_add_test(tc, test_a_change_id_that_is_a_proposals_lineage_is_left_to_the_functions);
	tcase_add_test(tc, test_random_batches_give_the_same_both_ways);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
