/*
 * 0701-ledger-encoding-in-sql - layer 6: the SQL encoding of a ledger entry
 * (axiom.canon_ledger_v1, db/0003) reproduces every shared test vector of
 * tests/data/canon-ledger-v1.txt byte for byte, as axiom_auditor and whatever the session's
 * TimeZone, DateStyle or bytea_output; the C twin (ax_canon_ledger_hash, checked against the
 * same vectors by unit.test_canon_ledger) recomputes the entry_hash that
 * axiom_api.append_ledger_entry stored for real entries, NULL actor and reason included.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ledger_vectors.h"
#include "ax_canon.h"
#include "ax_dbtest.h"

static struct ledger_vector vectors[LV_MAX];
static int nvectors;

static void
setup(void)
{
	const char *root = getenv("AXIOM_ROOT");
	char path[1024];

	snprintf(path, sizeof(path), "%s/tests/data/canon-ledger-v1.txt", root ? root : ".");
	nvectors = ledger_vectors_load(vectors, LV_MAX, path);
	ck_assert_int_ge(nvectors, 4);
	dbt_setup("0701");
	dbt_seed();
}

static void
teardown(void)
{
	dbt_teardown();
}

static void
check_vectors_in_sql(PGconn *conn)
{
	static const int keys[] = { LV_TOPIC, LV_PARTITION, LV_SEQ, LV_OFFSET, LV_COMMAND_ID,
		LV_ACTOR, LV_EVENT_TIME_US, LV_DECISION, LV_REASON_CODE, LV_RECORD_HASH,
		LV_PREVIOUS_ENTRY_HASH };
	const char *params[11];
	PGresult *res;
	int i, k;

	for (i = 0; i < nvectors; i++) {
		for (k = 0; k < 11; k++)
			params[k] = vectors[i].is_null[keys[k]] ? NULL : vectors[i].raw[keys[k]];
		res = PQexecParams(conn,
		    "WITH e AS (SELECT axiom.canon_ledger_v1($1, $2::integer, $3::bigint, "
		    "$4::bigint, $5::uuid, $6, "
		    "timestamptz 'epoch' + $7::bigint * interval '1 microsecond', $8, $9, "
		    "decode($10, 'hex'), decode($11, 'hex')) AS b) "
		    "SELECT encode(b, 'hex'), encode(sha256(b), 'hex') FROM e",
		    11, NULL, params, NULL, NULL, 0);
		ck_assert_msg(
		    PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
		ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), vectors[i].raw[LV_ENCODING]) == 0,
		    "vector '%s': SQL encoding differs:\n%s\n%s", vectors[i].name,
		    PQgetvalue(res, 0, 0), vectors[i].raw[LV_ENCODING]);
		ck_assert_msg(strcmp(PQgetvalue(res, 0, 1), vectors[i].raw[LV_ENTRY_HASH]) == 0,
		    "vector '%s': SQL entry_hash differs", vectors[i].name);
		PQclear(res);
	}
}

START_TEST(test_sql_ledger_encoding_matches_every_shared_vector_in_any_session_settings)
{
	check_vectors_in_sql(T.auditor);
	dbt_exec(T.auditor, "SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'SQL, DMY';"
	                    "SET bytea_output = 'escape'; SET extra_float_digits = -15");
	check_vectors_in_sql(T.auditor);
	dbt_exec(T.auditor, "RESET ALL");
}
END_TEST

/* Decode lowercase hex s into out (cap bytes); the length. */
static size_t
unhex(uint8_t *out, size_t cap, const char *s)
{
	long n = cv_unhex(out, cap, s);

	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

START_TEST(test_c_recomputes_the_entry_hash_the_database_stored)
{
	struct ax_sha256 *h = NULL;
	struct ax_canon_ledger e;
	struct ax_err err;
	PGresult *res;
	uint8_t rh[64], prev[AX_HASH_LEN], stored[AX_HASH_LEN], mine[AX_HASH_LEN];
	int i;

	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.append_ledger_entry('alice', '2026-01-01 00:10:00.5+00', "
	                    "'it0701.commands', 4, 10, gen_random_uuid(), 'accepted', NULL, "
	                    "sha256('v1'))"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.append_ledger_entry('frank', '2026-01-01 00:10:01+00', "
	                    "'it0701.commands', 4, 12, NULL, 'rejected', "
	                    "'insufficient_access_level', NULL)"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.append_ledger_entry(NULL, '1969-12-31 23:59:59.999999+00', "
	                    "'it0701.control', 0, 0, NULL, 'quarantined', 'undecodable', "
	                    "sha256('\\xff'::bytea))"),
	    "accepted");
	res = PQexec(T.auditor,
	    "SELECT topic, kafka_partition, seq, kafka_offset, command_id, actor, "
	    "axiom.timestamp_us(event_time), decision, reason_code, encode(record_hash, 'hex'), "
	    "encode(previous_entry_hash, 'hex'), encode(entry_hash, 'hex') FROM axiom.ledger "
	    "WHERE topic LIKE 'it0701.%' ORDER BY topic, kafka_partition, seq");
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(res), 3);
	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	for (i = 0; i < PQntuples(res); i++) {
		memset(&e, 0, sizeof(e));
		e.topic = PQgetvalue(res, i, 0);
		e.partition = (int32_t)dbt_int(PQgetvalue(res, i, 1));
		e.seq = dbt_int64(PQgetvalue(res, i, 2));
		e.offset = dbt_int64(PQgetvalue(res, i, 3));
		if ((e.has_command_id = !PQgetisnull(res, i, 4)))
			ck_assert_int_eq(cv_uuid(e.command_id, PQgetvalue(res, i, 4)), 0);
		e.actor = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
		e.event_time_us = dbt_int64(PQgetvalue(res, i, 6));
		e.decision = PQgetvalue(res, i, 7);
		e.reason_code = PQgetisnull(res, i, 8) ? NULL : PQgetvalue(res, i, 8);
		if (!PQgetisnull(res, i, 9)) {
			e.record_hash = rh;
			e.record_hash_len = unhex(rh, sizeof(rh), PQgetvalue(res, i, 9));
		}
		ck_assert_int_eq(unhex(prev, sizeof(prev), PQgetvalue(res, i, 10)), AX_HASH_LEN);
		memcpy(e.previous_entry_hash, prev, AX_HASH_LEN);
		ck_assert_int_eq(
		    unhex(stored, sizeof(stored), PQgetvalue(res, i, 11)), AX_HASH_LEN);
		ck_assert_int_eq(ax_canon_ledger_hash(mine, h, &e, &err), AX_OK);
		ck_assert_msg(memcmp(mine, stored, AX_HASH_LEN) == 0,
		    "entry %s/%d seq %lld: C and SQL entry_hash differ", e.topic, (int)e.partition,
		    (long long)e.seq);
	}
	ax_sha256_free(h);
	PQclear(res);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0701-ledger-encoding-in-sql");
	TCase *tc = tcase_create("layer-6");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, test_sql_ledger_encoding_matches_every_shared_vector_in_any_session_settings);
	tcase_add_test(tc, test_c_recomputes_the_entry_hash_the_database_stored);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
