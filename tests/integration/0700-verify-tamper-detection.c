/*
 * 0700-verify-tamper-detection - `axiom verify --no-kafka`, run as axiom_auditor against a
 * throwaway database filled through the SQL API (apply_batch with offsets, record hashes
 * computed in C), passes with exit 0; then a superuser who gets past the triggers edits a
 * byte, deletes a middle version, swaps two ledger rows or their hashes, or drops a rejected
 * outcome: each is detected (exit 1) and located by lineage and version or by partition and
 * seq, as the SQL verifiers of db/0007 locate it. A role filtered by row-level security is
 * refused; an unreachable server is exit 3; a bad command line exit 2.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_dbtest.h"
#include "verify_fixture.h"

#define TOPIC "it0700.commands"
#define L1    "00000000-0000-4000-8000-000000070100"
#define L2    "00000000-0000-4000-8000-000000070200"
#define L3    "00000000-0000-4000-8000-000000070300"
#define L4    "00000000-0000-4000-8000-000000070400"
#define L9    "00000000-0000-4000-8000-000000070900"

static char out[65536];

/*
 * Partition 0: L1 v1, L1 v2, a rejection (offset 2), L1 v3, L2 v1..v3, a quarantined
 * message (offset 7), L3 v1, v2. Partition 1: L4 v1, v2, (gap of 2 offsets), a rejection,
 * L4 v3. 11 versions, 14 ledger entries.
 */
static void
setup(void)
{
	struct vf_batch b;

	dbt_setup("0700");
	dbt_seed();
	vf_reset();
	memset(&b, 0, sizeof(b));
	vf_version(&b, L1, "L1 one");
	vf_version(&b, L1, "L1 two");
	vf_rejected(&b, L9);
	vf_version(&b, L1, "L1 three");
	vf_version(&b, L2, "L2 one");
	vf_version(&b, L2, "L2 two");
	vf_version(&b, L2, "L2 three");
	vf_quarantine(&b);
	vf_version(&b, L3, "L3 one");
	vf_version(&b, L3, "L3 two");
	ck_assert_str_eq(vf_apply(&b, TOPIC, 0, -1),
	    "accepted,accepted,insufficient_access_level,accepted,accepted,accepted,accepted,"
	    "undecodable,accepted,accepted");
	vf_version(&b, L4, "L4 one");
	vf_version(&b, L4, "L4 two");
	vf_skip(&b, 2);
	vf_rejected(&b, L9);
	vf_version(&b, L4, "L4 three");
	ck_assert_str_eq(
	    vf_apply(&b, TOPIC, 1, -1), "accepted,accepted,insufficient_access_level,accepted");
}

static void
teardown(void)
{
	dbt_teardown();
}

/* Run superuser statements with the user triggers of table off (a tampering superuser). */
static void
tamper(const char *table, const char *sql)
{
	const char *again = strcmp(table, "records") == 0
	                        ? "ENABLE ALWAYS TRIGGER immutable_data_columns, "
	                          "ENABLE ALWAYS TRIGGER no_removal_row, "
	                          "ENABLE ALWAYS TRIGGER no_removal_truncate, "
	                          "ENABLE ALWAYS TRIGGER link_record_version, "
	                          "ENABLE ALWAYS TRIGGER check_record_links"
	                        : "ENABLE ALWAYS TRIGGER append_only_row, "
	                          "ENABLE ALWAYS TRIGGER append_only_truncate";

	dbt_exec(T.admin,
	    "BEGIN; ALTER TABLE axiom.%s DISABLE TRIGGER USER; %s; ALTER TABLE axiom.%s %s; COMMIT",
	    table, sql, table, again);
}

static int
verify(void)
{
	return vf_run(out, sizeof(out), "--dsn %s --no-kafka", vf_dsn("AXIOM_PG_AUDITOR_DSN"));
}

#define ASSERT_HAS(s) ck_assert_msg(strstr(out, (s)) != NULL, "missing \"%s\" in:\n%s", (s), out)

START_TEST(test_an_intact_database_verifies_as_the_auditor_with_exit_0)
{
	ck_assert_msg(verify() == 0, "%s", out);
	ASSERT_HAS("record chains  4 lineages, 11 versions: 0 broken");
	ASSERT_HAS("ledger chains  3 partitions, 38 entries: 0 broken");
	ASSERT_HAS("kafka log      not checked (--no-kafka)");
	ASSERT_HAS("verified as axiom_auditor: every chain is valid");
	ck_assert_msg(strstr(out, "broken:") == NULL, "%s", out);
	/* the SQL verifiers agree */
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_record_chains()"), "0");
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_ledger_chains()"), "0");
}
END_TEST

START_TEST(test_a_changed_content_byte_is_named_by_lineage_and_version)
{
	tamper("records", "UPDATE axiom.records SET content = set_byte(content, 0, 77) "
	                  "WHERE id = '" L1 "' AND version = 2");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("broken: axiom.records lineage " L1 " version 2 (record_id "
	           "00000000-0000-4000-8000-000000070102): record_hash does not match the stored "
	           "columns\n");
	ASSERT_HAS("record chains  4 lineages, 11 versions: 1 broken");
	ASSERT_HAS("verified as axiom_auditor: 1 chain broken");
}
END_TEST

START_TEST(test_a_deleted_middle_version_is_named)
{
	tamper("records", "DELETE FROM axiom.records WHERE id = '" L2 "' AND version = 2");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("broken: axiom.records lineage " L2
	           " version 2: version 2 is missing (the next stored version is 3)\n");
	ASSERT_HAS("4 lineages, 10 versions: 1 broken");
}
END_TEST

START_TEST(test_a_relinked_forgery_is_caught_at_the_next_version)
{
	tamper("records", "UPDATE axiom.records SET title = 'forged' WHERE id = '" L1
	                  "' AND version = 1; UPDATE axiom.records r SET record_hash = "
	                  "axiom.record_hash_v1(r) WHERE id = '" L1 "' AND version = 1");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("broken: axiom.records lineage " L1 " version 2 (record_id "
	           "00000000-0000-4000-8000-000000070102): previous_record_hash is not the "
	           "record_hash of version 1\n");
}
END_TEST

START_TEST(test_swapped_ledger_rows_and_swapped_hashes_are_located)
{
	/* partition 0: entries 3 and 4 change places (seq swapped) */
	tamper("ledger", "UPDATE axiom.ledger SET seq = 1000 WHERE topic = '" TOPIC
	                 "' AND kafka_partition = 0 AND seq = 3; "
	                 "UPDATE axiom.ledger SET seq = 3 WHERE topic = '" TOPIC
	                 "' AND kafka_partition = 0 AND seq = 4; "
	                 "UPDATE axiom.ledger SET seq = 4 WHERE topic = '" TOPIC
	                 "' AND kafka_partition = 0 AND seq = 1000");
	/* partition 1: entry_hash of entries 1 and 2 swapped */
	tamper("ledger", "UPDATE axiom.ledger l SET entry_hash = o.entry_hash FROM axiom.ledger o "
	                 "WHERE l.topic = '" TOPIC "' AND o.topic = l.topic AND "
	                 "l.kafka_partition = 1 AND o.kafka_partition = 1 AND "
	                 "l.seq IN (1, 2) AND o.seq = 3 - l.seq");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("broken: axiom.ledger " TOPIC " partition 0 seq 3: previous_entry_hash is not "
	           "the entry_hash of entry 2\n");
	ASSERT_HAS("broken: axiom.ledger " TOPIC
	           " partition 1 seq 1: entry_hash does not match the stored columns\n");
	ASSERT_HAS("ledger chains  3 partitions, 38 entries: 2 broken");
	/* the swapped rows also move the rows their commands wrote out of line (db/0018) */
	ASSERT_HAS(
	    "broken: axiom.ledger row " TOPIC "/0#4: event time 2026-01-01 00:10:03.000003+00 "
	    "is before the previous entry's 2026-01-01 00:10:04.000004+00\n");
	ASSERT_HAS("ledger refs    4 regulated rows or entries out of line with the ledger");
	ASSERT_HAS("verified as axiom_auditor: 6 chains broken");
}
END_TEST

START_TEST(test_a_dropped_rejected_outcome_is_located)
{
	ck_assert_str_eq(dbt_value(T.admin,
	                     "SELECT decision || ' ' || seq FROM axiom.ledger WHERE topic = '" TOPIC
	                     "' AND kafka_partition = 0 AND kafka_offset = 2"),
	    "rejected 3");
	tamper("ledger", "DELETE FROM axiom.ledger WHERE topic = '" TOPIC
	                 "' AND kafka_partition = 0 AND kafka_offset = 2");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("broken: axiom.ledger " TOPIC " partition 0 seq 3: entry 3 is missing (the next "
	           "stored entry is 4, offset 3)\n");
	ASSERT_HAS("record chains  4 lineages, 11 versions: 0 broken");
}
END_TEST

START_TEST(test_the_c_verifier_names_what_the_sql_verifiers_name)
{
	PGresult *res;
	char want[512];
	int i;

	tamper("records", "UPDATE axiom.records SET content = set_byte(content, 1, 1) "
	                  "WHERE id = '" L3 "' AND version = 2; "
	                  "DELETE FROM axiom.records WHERE id = '" L4 "' AND version = 1; "
	                  "UPDATE axiom.records SET created_at = created_at + interval '1 "
	                  "microsecond' WHERE id = '" L2 "' AND version = 3");
	tamper("ledger", "UPDATE axiom.ledger SET decision = 'accepted' WHERE topic = '" TOPIC
	                 "' AND kafka_partition = 1 AND seq = 3");
	ck_assert_msg(verify() == 1, "%s", out);
	res = PQexec(T.auditor, "SELECT 'axiom.records lineage ' || id || ' version ' || version "
	                        "FROM axiom_api.verify_record_chains() UNION ALL "
	                        "SELECT 'axiom.ledger ' || topic || ' partition ' || "
	                        "kafka_partition || ' seq ' || seq "
	                        "FROM axiom_api.verify_ledger_chains()");
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(res), 4);
	for (i = 0; i < PQntuples(res); i++) {
		snprintf(want, sizeof(want), "broken: %s", PQgetvalue(res, i, 0));
		ASSERT_HAS(want);
	}
	PQclear(res);
	/* the changed event time no longer matches the entry of the command that wrote it */
	ASSERT_HAS("ledger refs    1 regulated rows or entries out of line with the ledger");
	ASSERT_HAS("verified as axiom_auditor: 5 chains broken");
}
END_TEST

/*
 * The references of the bulk tables (records, session_events) are checked in C against the
 * ledger as it streams by; what they find is named by verify_ledger_references(), whose count
 * the summary gives.
 */
/*
 * An update moves a version behind its successors in the table: they wait in memory for it;
 * with --max-waiting 1 the job reads its lineages sorted instead, and finds the same.
 */
START_TEST(test_versions_that_wait_and_the_sorted_fallback_find_the_same)
{
	static const char *const waits[] = { "", "--max-waiting 1" };
	size_t i;

	tamper("records",
	    "UPDATE axiom.records SET title = 'moved' WHERE id = '" L2 "' AND version = 1");
	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		ck_assert_int_eq(vf_run(out, sizeof(out), "--dsn %s --no-kafka --jobs 1 %s",
		                     vf_dsn("AXIOM_PG_AUDITOR_DSN"), waits[i]),
		    1);
		ASSERT_HAS("broken: axiom.records lineage " L2 " version 1 (record_id ");
		ASSERT_HAS("): record_hash does not match the stored columns\n");
		ASSERT_HAS("record chains  4 lineages, 11 versions: 1 broken");
		ASSERT_HAS("verified as axiom_auditor: 1 chain broken");
	}
}
END_TEST

START_TEST(test_a_bulk_row_out_of_line_with_the_ledger_is_named)
{
	char want[256];

	/* an audit row of another command than its ledger entry's */
	tamper("session_events",
	    "UPDATE axiom.session_events SET command_id = '00000000-0000-4000-8000-0000000709ff' "
	    "WHERE event_seq = (SELECT min(event_seq) FROM axiom.session_events "
	    "WHERE ledger_topic = '" TOPIC "')");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("broken: axiom.session_events row ");
	ASSERT_HAS("ledger refs    1 regulated rows or entries out of line with the ledger");
	/* a version naming an entry that does not exist, another naming a rejected one */
	tamper("records", "UPDATE axiom.records SET ledger_seq = 9999 WHERE id = '" L3
	                  "' AND version = 2; UPDATE axiom.records SET ledger_seq = 3 "
	                  "WHERE id = '" L2 "' AND version = 1");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("record chains  4 lineages, 11 versions: 0 broken");
	snprintf(want, sizeof(want), "broken: axiom.records row %s: names ledger entry %s",
	    dbt_value(T.admin,
	        "SELECT min(record_id::text COLLATE \"C\") FROM axiom.records WHERE id IN ('" L2
	        "', '" L3 "') AND ledger_seq IN (3, 9999)"),
	    TOPIC);
	ASSERT_HAS(want);
	ASSERT_HAS("ledger refs    3 regulated rows or entries out of line with the ledger");
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_ledger_references()"), "3");
	/* the SQL function leaves out only what it is asked to */
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_ledger_references("
	                         "'{records,session_events,ledger}')"),
	    "0");
	ck_assert_str_eq(dbt_value(T.auditor, "SELECT count(*) FROM "
	                                      "axiom_api.verify_ledger_references('{records}')"),
	    "1");
}
END_TEST

START_TEST(test_a_large_version_streams_and_its_last_byte_is_checked)
{
	const char *big = "00000000-0000-4000-8000-000000070500";
	char hash[80];

	/* 3 MiB of content: rows larger than the reader's first buffer */
	snprintf(hash, sizeof(hash), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash('%.34s01', '%s', 1, NULL, NULL, 'note', 'F1', "
	        "'QC', 'big', decode(repeat('5a', 3145728), 'hex'), 'alice', "
	        "'2026-01-01 00:50:00+00', NULL), 'hex')",
	        big, big));
	ck_assert_str_eq(
	    dbt_value(T.api,
	        "SELECT coalesce(reason_code, decision) FROM axiom.partition_commands("
	        "'it0700.big', 0, false, NULL, 'infinity', jsonb_build_array(jsonb_build_object("
	        "'op', 'create_record', 'reason', 'big', 'offset', 0, 'actor', 'alice', "
	        "'event_time', "
	        "'2026-01-01T00:50:00Z', 'record_id', '%.34s01', 'id', '%s', 'record_type', "
	        "'note', 'facility_id', 'F1', 'title', 'big', 'content', repeat('5a', 3145728), "
	        "'record_hash', '%s')), false)",
	        big, big, hash),
	    "accepted");
	ck_assert_msg(verify() == 0, "%s", out);
	ASSERT_HAS("record chains  5 lineages, 12 versions: 0 broken");
	tamper("records", "UPDATE axiom.records SET content = set_byte(content, 3145727, 0) "
	                  "WHERE id = '00000000-0000-4000-8000-000000070500'");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("broken: axiom.records lineage 00000000-0000-4000-8000-000000070500 version 1 "
	           "(record_id 00000000-0000-4000-8000-000000070501): record_hash does not match "
	           "the stored columns\n");
}
END_TEST

START_TEST(test_every_job_count_finds_the_same_failures_across_range_bounds)
{
	static const char *const jobs[] = { "1", "2", "3", "16" };
	char first[65536], *summary;
	struct vf_batch b;
	size_t i;

	/* lineages on and around the bounds of the id ranges (first byte 0x80, 0x55, 0xff) */
	memset(&b, 0, sizeof(b));
	b.next_offset = 6; /* partition 1 is at offset 6 */
	vf_version(&b, "80000000-0000-4000-8000-000000000000", "on the bound, one");
	vf_version(&b, "80000000-0000-4000-8000-000000000000", "on the bound, two");
	vf_version(&b, "7fffffff-ffff-4fff-bfff-ffffffffff00", "below the bound");
	vf_version(&b, "55555555-5555-4555-8555-555555555500", "a third");
	vf_version(&b, "ffffffff-ffff-4fff-bfff-ffffffffff00", "the last, one");
	vf_version(&b, "ffffffff-ffff-4fff-bfff-ffffffffff00", "the last, two");
	ck_assert_str_eq(
	    vf_apply(&b, TOPIC, 1, -1), "accepted,accepted,accepted,accepted,accepted,accepted");
	tamper("records", "UPDATE axiom.records SET title = 'x' WHERE id IN "
	                  "('80000000-0000-4000-8000-000000000000', "
	                  "'ffffffff-ffff-4fff-bfff-ffffffffff00', '" L1 "') AND version = 2");
	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		ck_assert_int_eq(vf_run(out, sizeof(out), "--dsn %s --no-kafka --jobs %s",
		                     vf_dsn("AXIOM_PG_AUDITOR_DSN"), jobs[i]),
		    1);
		ASSERT_HAS("record chains  8 lineages, 17 versions: 3 broken");
		ASSERT_HAS("ledger chains  3 partitions, 44 entries: 0 broken");
		ASSERT_HAS("broken: axiom.records lineage 80000000-0000-4000-8000-000000000000 "
		           "version 2");
		ASSERT_HAS("broken: axiom.records lineage ffffffff-ffff-4fff-bfff-ffffffffff00 "
		           "version 2");
		ASSERT_HAS("broken: axiom.records lineage " L1 " version 2");
		/* the summary, minus the timings, is the same whatever the job count */
		ck_assert_ptr_nonnull(summary = strstr(out, "record chains"));
		summary[strcspn(summary, "(")] = '\0';
		if (i == 0)
			snprintf(first, sizeof(first), "%s", summary);
		else
			ck_assert_str_eq(summary, first);
	}
}
END_TEST

START_TEST(test_json_output_locates_the_failure)
{
	json_t *doc, *f;
	json_error_t jerr;

	tamper("records", "UPDATE axiom.records SET content = set_byte(content, 0, 77) "
	                  "WHERE id = '" L1 "' AND version = 2");
	ck_assert_int_eq(
	    vf_run(out, sizeof(out), "--dsn %s --no-kafka --json", vf_dsn("AXIOM_PG_AUDITOR_DSN")),
	    1);
	doc = json_loads(out, 0, &jerr);
	ck_assert_msg(doc != NULL, "not JSON (%s): %s", jerr.text, out);
	ck_assert(json_is_false(json_object_get(doc, "valid")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(doc, "records"), "versions")), 11);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "failures")), 1);
	f = json_array_get(json_object_get(doc, "failures"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "table")), "axiom.records");
	ck_assert_str_eq(json_string_value(json_object_get(f, "lineage")), L1);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "version")), 2);
	json_decref(doc);
}
END_TEST

START_TEST(test_a_role_filtered_by_row_level_security_is_refused)
{
	ck_assert_int_eq(
	    vf_run(out, sizeof(out), "--dsn %s --no-kafka", vf_dsn("AXIOM_PG_ANALYTICS_DSN")), 1);
	ASSERT_HAS("role \"axiom_analytics\" cannot see every row");
	ASSERT_HAS("HINT:");
}
END_TEST

START_TEST(test_an_unreachable_server_is_exit_3_and_a_bad_command_line_exit_2)
{
	ck_assert_int_eq(vf_run(out, sizeof(out),
	                     "--dsn 'host=127.0.0.1 port=1 dbname=x user=axiom_auditor "
	                     "connect_timeout=2' --no-kafka"),
	    3);
	ASSERT_HAS("could not connect to PostgreSQL");
	ck_assert_int_eq(vf_run(out, sizeof(out), "--no-such-option"), 2);
	ck_assert_int_eq(vf_run(out, sizeof(out), "--timeout 0"), 2);
	ck_assert_int_eq(vf_run(out, sizeof(out), "--help"), 0);
	ASSERT_HAS("exit codes:");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0700-verify-tamper-detection");
	TCase *tc = tcase_create("verify");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_an_intact_database_verifies_as_the_auditor_with_exit_0);
	tcase_add_test(tc, test_a_changed_content_byte_is_named_by_lineage_and_version);
	tcase_add_test(tc, test_a_deleted_middle_version_is_named);
	tcase_add_test(tc, test_a_relinked_forgery_is_caught_at_the_next_version);
	tcase_add_test(tc, test_swapped_ledger_rows_and_swapped_hashes_are_located);
	tcase_add_test(tc, test_a_dropped_rejected_outcome_is_located);
	tcase_add_test(tc, test_the_c_verifier_names_what_the_sql_verifiers_name);
	tcase_add_test(tc, test_versions_that_wait_and_the_sorted_fallback_find_the_same);
	tcase_add_test(tc, test_a_bulk_row_out_of_line_with_the_ledger_is_named);
	tcase_add_test(tc, test_a_large_version_streams_and_its_last_byte_is_checked);
	tcase_add_test(tc, test_every_job_count_finds_the_same_failures_across_range_bounds);
	tcase_add_test(tc, test_json_output_locates_the_failure);
	tcase_add_test(tc, test_a_role_filtered_by_row_level_security_is_refused);
	tcase_add_test(tc, test_an_unreachable_server_is_exit_3_and_a_bad_command_line_exit_2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
