/*
 * 0103-canonical-encoding-in-sql - layer 6: the SQL twin of the canonical encoding
 * (db/0003) reproduces every shared test vector byte for byte whatever the session's
 * TimeZone, DateStyle or bytea_output; the database computes record_hash itself, accepts the
 * hash the C encoder (common/canon/ax_canon.c) computes, and refuses a version whose hash differs
 * or whose previous_record_hash is not the head's, row by row within one statement too.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../canon_vectors.h"
#include "ax_canon.h"
#include "ax_dbtest.h"

#define LINEAGE "00000000-0000-4000-8000-000000000300"
#define V1      "00000000-0000-4000-8000-000000000301"
#define V2      "00000000-0000-4000-8000-000000000302"
#define T1      "2026-01-01 00:20:00.123456+00"
#define T1_US   1767226800123456LL
#define T2      "2026-01-01 00:21:00+00"
#define T2_US   1767226860000000LL

static struct canon_vector vectors[CV_MAX];
static int nvectors;

static void
setup(void)
{
	const char *root = getenv("AXIOM_ROOT");
	char path[1024];

	snprintf(path, sizeof(path), "%s/tests/data/canon-record-v1.txt", root ? root : ".");
	nvectors = canon_vectors_load(vectors, CV_MAX, path);
	ck_assert_int_ge(nvectors, 3);
	dbt_setup("0103");
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
	static const int keys[] = { CV_RECORD_ID, CV_ID, CV_VERSION, CV_PREVIOUS_RECORD_ID,
		CV_PREVIOUS_RECORD_HASH, CV_RECORD_TYPE, CV_FACILITY_ID, CV_DOMAIN_ID, CV_TITLE,
		CV_CONTENT, CV_CREATED_BY, CV_CREATED_AT_US, CV_CHANGE_ID };
	const char *params[13];
	PGresult *res;
	int i, k;

	for (i = 0; i < nvectors; i++) {
		for (k = 0; k < 13; k++)
			params[k] = vectors[i].is_null[keys[k]] ? NULL : vectors[i].raw[keys[k]];
		res = PQexecParams(conn,
		    "WITH e AS (SELECT axiom.canon_record_v1($1::uuid, $2::uuid, $3::bigint, "
		    "$4::uuid, "
		    "decode($5, 'hex'), $6, $7, $8, $9, decode($10, 'hex'), $11, "
		    "timestamptz 'epoch' + $12::bigint * interval '1 microsecond', $13::uuid) AS "
		    "b) "
		    "SELECT encode(b, 'hex'), encode(sha256(b), 'hex') FROM e",
		    13, NULL, params, NULL, NULL, 0);
		ck_assert_msg(
		    PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
		ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), vectors[i].raw[CV_ENCODING]) == 0,
		    "vector '%s': SQL encoding differs", vectors[i].name);
		ck_assert_msg(strcmp(PQgetvalue(res, 0, 1), vectors[i].raw[CV_RECORD_HASH]) == 0,
		    "vector '%s': SQL record_hash differs", vectors[i].name);
		PQclear(res);
	}
}

START_TEST(test_sql_encoding_matches_every_shared_vector_in_any_session_settings)
{
	/* as the auditor: verification needs no superuser */
	check_vectors_in_sql(T.auditor);
	dbt_exec(T.auditor, "SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'SQL, DMY';"
	                    "SET bytea_output = 'escape'; SET extra_float_digits = -15");
	check_vectors_in_sql(T.auditor);
	dbt_exec(T.auditor, "RESET ALL");
}
END_TEST

/* The record_hash the C encoder computes for a version of LINEAGE, as lowercase hex. */
static void
c_hash(char out[65], const char *rid, int64_t version, const char *prev_rid,
    const uint8_t *prev_hash, const char *title, int64_t at_us)
{
	static const uint8_t content[] = { 0x00 };
	struct ax_canon_record r;
	struct ax_sha256 *h = NULL;
	struct ax_err err;
	uint8_t digest[AX_HASH_LEN];

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(cv_uuid(r.record_id, rid), 0);
	ck_assert_int_eq(cv_uuid(r.id, LINEAGE), 0);
	r.version = version;
	if (prev_rid != NULL) {
		r.has_previous = 1;
		ck_assert_int_eq(cv_uuid(r.previous_record_id, prev_rid), 0);
		memcpy(r.previous_record_hash, prev_hash, AX_HASH_LEN);
	}
	r.record_type = "note";
	r.facility_id = "F1";
	r.domain_id = "QC";
	r.title = title;
	r.content = content;
	r.content_len = sizeof(content);
	r.created_by = "alice";
	r.created_at_us = at_us;
	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	ck_assert_int_eq(ax_canon_record_hash(digest, h, &r, &err), AX_OK);
	ax_sha256_free(h);
	ax_hex_encode(out, digest, AX_HASH_LEN);
}

START_TEST(test_database_accepts_the_hash_the_c_encoder_computes)
{
	char h1[65], h2[65], wrong[65];
	uint8_t h1b[AX_HASH_LEN];

	c_hash(h1, V1, 1, NULL, NULL, "pH título ✓", T1_US);
	/* a hash over other content is refused, and nothing is stored */
	c_hash(wrong, V1, 1, NULL, NULL, "pH titulo", T1_US);
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.create_record('alice', '" T1 "', NULL, '" V1 "', '" LINEAGE
	                     "', 'note', 'F1', 'pH título ✓', '\\x00', decode('%s', 'hex'))",
	                     wrong),
	    "hash_mismatch");
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM axiom.records"), "0");
	ck_assert_str_eq(
	    dbt_value(T.api,
	        "SELECT encode(record_hash, 'hex') FROM axiom_api.create_record('alice', "
	        "'" T1 "', NULL, '" V1 "', '" LINEAGE "', 'note', 'F1', 'pH título ✓', "
	        "'\\x00', decode('%s', 'hex'))",
	        h1),
	    h1);
	ck_assert_str_eq(dbt_value(T.admin, "SELECT encode(record_hash, 'hex') FROM axiom.records "
	                                    "WHERE record_id = '" V1 "'"),
	    h1);
	ck_assert_int_eq(cv_unhex(h1b, sizeof(h1b), h1), AX_HASH_LEN);

	/* version 2 must name the head's hash as its previous_record_hash */
	c_hash(h2, V2, 2, V1, h1b, "second", T2_US);
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.new_version('alice', '" T2 "', NULL, '" V2 "', '" LINEAGE
	                     "', sha256('not the head'), 'second', '\\x00', decode('%s', 'hex'))",
	                     h2),
	    "stale_previous_hash");
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.new_version('alice', '" T2 "', NULL, '" V2 "', '" LINEAGE
	                     "', decode('%s', 'hex'), 'second', '\\x00', decode('%s', 'hex'))",
	                     h1, wrong),
	    "hash_mismatch");
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.new_version('alice', '" T2 "', NULL, '" V2 "', '" LINEAGE
	                     "', decode('%s', 'hex'), 'second', '\\x00', decode('%s', 'hex'))",
	                     h1, h2),
	    "accepted");
	ck_assert_str_eq(dbt_value(T.admin, "SELECT encode(record_hash, 'hex') FROM axiom.records "
	                                    "WHERE record_id = '" V2 "'"),
	    h2);
}
END_TEST

START_TEST(test_the_insert_trigger_computes_and_links_whoever_inserts)
{
	/*
	 * even a superuser's direct INSERT gets the computed hash and must extend the head (it
	 * must also name a ledger entry, db/0018; verify_ledger_references would name this one)
	 */
	dbt_exec(T.admin, "SET axiom.ledger_topic = 'test'; SET axiom.ledger_partition = '0'; "
	                  "SET axiom.ledger_seq = '1'");
	dbt_exec(T.admin,
	    "INSERT INTO axiom.records (record_id, id, version, record_type, "
	    "facility_id, domain_id, title, content, created_by, created_at) VALUES "
	    "('00000000-0000-4000-8000-000000000311', "
	    "'00000000-0000-4000-8000-000000000310', 1, 'note', 'F1', 'QC', 'direct', "
	    "'\\x', 'alice', '" T1 "')");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT record_hash = axiom.record_hash_v1(r) FROM axiom.records r "
	                       "WHERE record_id = '00000000-0000-4000-8000-000000000311'"),
	    "t");
	ck_assert_str_eq(dbt_state(T.admin,
	                     "INSERT INTO axiom.records (record_id, id, version, record_type, "
	                     "facility_id, domain_id, title, content, created_by, created_at, "
	                     "record_hash) VALUES ('00000000-0000-4000-8000-000000000321', "
	                     "'00000000-0000-4000-8000-000000000320', 1, 'note', 'F1', 'QC', 'x', "
	                     "'\\x', 'alice', '" T1 "', sha256('forged'))"),
	    "23000");
	ck_assert_str_eq(
	    dbt_state(T.admin,
	        "INSERT INTO axiom.records (record_id, id, version, previous_record_id, "
	        "previous_record_hash, record_type, facility_id, domain_id, title, "
	        "content, created_by, created_at) SELECT gen_random_uuid(), id, 3, "
	        "record_id, record_hash, 'note', 'F1', 'QC', 'gap', '\\x', 'alice', "
	        "'" T2 "' FROM axiom.records WHERE version = 1 AND id = "
	        "'00000000-0000-4000-8000-000000000310'"),
	    "23000");
}
END_TEST

/*
 * A superuser's INSERT into records of the rows x(r, i, v, pr, ph, f, t) that follows it
 * (record_id, id, version, previous_record_id, previous_record_hash, facility_id, title), type
 * note, domain QC, created by alice at T2; A_ID and B_ID are its two lineages; HEAD_OF gives
 * the record id and hash of a stored version, as previous_record_id and previous_record_hash.
 */
#define LINK_INSERT                                                                                \
	"INSERT INTO axiom.records (record_id, id, version, previous_record_id, "                  \
	"previous_record_hash, record_type, facility_id, domain_id, title, content, created_by, "  \
	"created_at) SELECT r, i, v, pr, ph, 'note', f, 'QC', t, '\\x', 'alice', '" T2 "' FROM "
#define A_ID "'00000000-0000-4000-8000-000000000410'::uuid"
#define B_ID "'00000000-0000-4000-8000-000000000420'::uuid"
#define HEAD_OF(lineage, v)                                                                        \
	"(SELECT record_id FROM axiom.records WHERE id = " lineage " AND version = " #v "), "      \
	"(SELECT record_hash FROM axiom.records WHERE id = " lineage " AND version = " #v ")"

START_TEST(test_the_link_trigger_checks_every_row_of_a_statement)
{
	/*
	 * the link checks run once per statement (check_record_links): a chain of two new
	 * versions in one statement lands; one bad row among good ones refuses the statement,
	 * whichever check it breaks: a predecessor of another lineage with the right version, a
	 * wrong previous hash, a moved facility, a predecessor that is not the head's version
	 */
	dbt_exec(T.admin, "SET axiom.ledger_topic = 'test'; SET axiom.ledger_partition = '0'; "
	                  "SET axiom.ledger_seq = '1'");
	dbt_exec(T.admin,
	    LINK_INSERT "(VALUES ('00000000-0000-4000-8000-000000000411'::uuid, " A_ID ", 1, "
	                "NULL::uuid, NULL::bytea, 'F1', 'a1'), "
	                "('00000000-0000-4000-8000-000000000421'::uuid, " B_ID ", 1, NULL, NULL, "
	                "'F1', 'b1')) AS x(r, i, v, pr, ph, f, t)");
	dbt_exec(T.admin,
	    "WITH a1 AS (SELECT record_id, record_hash FROM axiom.records WHERE id = " A_ID
	    " AND version = 1), "
	    "h2 AS (SELECT a1.*, axiom.expected_hash('00000000-0000-4000-8000-000000000412', " A_ID
	    ", 2, a1.record_id, a1.record_hash, 'note', 'F1', 'QC', 'a2', '\\x', 'alice', "
	    "'" T2 "', NULL) AS h FROM a1) " LINK_INSERT
	    "(SELECT '00000000-0000-4000-8000-000000000412'::uuid, " A_ID ", 2, record_id, "
	    "record_hash, 'F1', 'a2' FROM h2 UNION ALL "
	    "SELECT '00000000-0000-4000-8000-000000000413'::uuid, " A_ID ", 3, "
	    "'00000000-0000-4000-8000-000000000412'::uuid, h, 'F1', 'a3' FROM h2) "
	    "AS x(r, i, v, pr, ph, f, t)");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT count(*) FROM axiom.records WHERE id = " A_ID), "3");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT count(*) FROM axiom_api.verify_record_chains()"), "0");

	/* B's v2 linked to A's v1 (version 1, its hash): another lineage */
	ck_assert_str_eq(dbt_state(T.admin,
	                     LINK_INSERT "(VALUES (gen_random_uuid(), " A_ID ", 4, " HEAD_OF(A_ID,
	                         3) ", 'F1', 'a4'), (gen_random_uuid(), " B_ID ", 2, " HEAD_OF(A_ID,
	                         1) ", 'F1', 'b2')) AS x(r, i, v, pr, ph, f, t)"),
	    "23000");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT count(*) FROM axiom.records WHERE id = " A_ID), "3");
	/* B's own v1, another hash */
	ck_assert_str_eq(dbt_state(T.admin, LINK_INSERT
	                     "(VALUES (gen_random_uuid(), " B_ID ", 2, (SELECT record_id "
	                     "FROM axiom.records WHERE id = " B_ID "), sha256('x'), 'F1', "
	                     "'b2')) AS x(r, i, v, pr, ph, f, t)"),
	    "23000");
	/* B's v1 in another facility */
	ck_assert_str_eq(dbt_state(T.admin, LINK_INSERT
	                     "(VALUES (gen_random_uuid(), " B_ID
	                     ", 2, " HEAD_OF(B_ID, 1) ", 'F2', 'b2')) AS x(r, i, v, pr, ph, f, t)"),
	    "23000");
	/* A's v2 as the predecessor of a v4 */
	ck_assert_str_eq(dbt_state(T.admin, LINK_INSERT
	                     "(VALUES (gen_random_uuid(), " A_ID
	                     ", 4, " HEAD_OF(A_ID, 2) ", 'F1', 'a4')) AS x(r, i, v, pr, ph, f, t)"),
	    "23000");
	/* and the right ones still land */
	dbt_exec(T.admin, LINK_INSERT "(VALUES (gen_random_uuid(), " A_ID ", 4, " HEAD_OF(A_ID,
	                      3) ", 'F1', 'a4'), (gen_random_uuid(), " B_ID ", 2, " HEAD_OF(B_ID,
	                      1) ", 'F1', 'b2')) AS x(r, i, v, pr, ph, f, t)");
	ck_assert_str_eq(dbt_value(T.admin,
	                     "SELECT count(*) FROM axiom.records WHERE id IN (" A_ID ", " B_ID ")"),
	    "6");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT count(*) FROM axiom_api.verify_record_chains()"), "0");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0103-canonical-encoding-in-sql");
	TCase *tc = tcase_create("layer-6");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sql_encoding_matches_every_shared_vector_in_any_session_settings);
	tcase_add_test(tc, test_database_accepts_the_hash_the_c_encoder_computes);
	tcase_add_test(tc, test_the_insert_trigger_computes_and_links_whoever_inserts);
	tcase_add_test(tc, test_the_link_trigger_checks_every_row_of_a_statement);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
