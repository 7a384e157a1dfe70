/*
 * 0102-db-rls - layer 3 (row-level security with FORCE) on its own: a SECURITY DEFINER
 * function that forgets every filter still returns only the rows of its actor's grants;
 * axiom_analytics sees only the facilities and domains of the analyst's own grants; the
 * auditor reads everything and writes nothing; probing for rows the caller cannot see
 * (unique keys, foreign keys) yields the same generic refusal as a row that does not exist;
 * the definer's actor scope checks every row of a statement against the identity whose MAC
 * it verified, delegations included, and nothing else.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_dbtest.h"

#define LINEAGE_F1_QC    "00000000-0000-4000-8000-0000000002a0"
#define LINEAGE_F2_QC    "00000000-0000-4000-8000-0000000002b0"
#define LINEAGE_F1_MICRO "00000000-0000-4000-8000-0000000002c0"
#define RECORD_F2_QC     "00000000-0000-4000-8000-0000000002b1"
#define NOWHERE          "00000000-0000-4000-8000-00000000dead"
#define T1               "2026-01-01 00:10:00+00"
#define G_CAROL          "00000000-0000-4000-8000-0000000000c1"
#define T_DELEGATED      "2026-01-01 00:20:00+00"
#define T_BEFORE         "2026-01-01 00:30:00+00"
#define T_GONE           "2026-01-01 00:40:00+00"
#define T_AFTER          "2026-01-01 00:41:00+00"

static void
setup(void)
{
	dbt_setup("0102");
	dbt_seed();
	ck_assert_str_eq(
	    dbt_create("alice", "2026-01-01 00:01:00+00", "00000000-0000-4000-8000-0000000002a1",
	        LINEAGE_F1_QC, "note", "F1", "F1 quality note"),
	    "accepted");
	ck_assert_str_eq(dbt_create("dave", "2026-01-01 00:01:00+00", RECORD_F2_QC, LINEAGE_F2_QC,
	                     "note", "F2", "F2 quality note"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_create("gina", "2026-01-01 00:01:00+00", "00000000-0000-4000-8000-0000000002c1",
	        LINEAGE_F1_MICRO, "plate", "F1", "F1 micro plate"),
	    "accepted");
	/* a function owned by axiom_definer that deliberately filters nothing */
	dbt_exec(T.admin,
	    "CREATE FUNCTION axiom_api.test_unfiltered_titles(p_actor text, p_event_time "
	    "timestamptz) RETURNS text LANGUAGE plpgsql SECURITY DEFINER "
	    "SET search_path = pg_catalog, pg_temp AS $$ BEGIN "
	    "PERFORM axiom.begin_command(p_actor, p_event_time); "
	    "RETURN (SELECT coalesce(string_agg(title, '|' ORDER BY title), '') FROM "
	    "axiom.records);"
	    " END $$");
	dbt_exec(T.admin, "CREATE FUNCTION axiom_api.test_unfiltered_count() RETURNS bigint "
	                  "LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS "
	                  "$$ SELECT count(*) FROM axiom.records $$");
	dbt_exec(T.admin,
	    "REVOKE ALL ON FUNCTION axiom_api.test_unfiltered_titles(text, timestamptz), "
	    "axiom_api.test_unfiltered_count() FROM PUBLIC;"
	    "GRANT EXECUTE ON FUNCTION axiom_api.test_unfiltered_titles(text, timestamptz), "
	    "axiom_api.test_unfiltered_count() TO axiom_user;"
	    "ALTER FUNCTION axiom_api.test_unfiltered_titles(text, timestamptz) OWNER TO "
	    "axiom_definer;"
	    "ALTER FUNCTION axiom_api.test_unfiltered_count() OWNER TO axiom_definer");
}

static void
teardown(void)
{
	dbt_teardown();
}

START_TEST(test_unfiltered_definer_function_returns_only_the_actors_rows)
{
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM axiom.records"), "3");
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT axiom_api.test_unfiltered_titles('alice', '" T1 "')"),
	    "F1 quality note");
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT axiom_api.test_unfiltered_titles('dave', '" T1 "')"),
	    "F2 quality note");
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT axiom_api.test_unfiltered_titles('gina', '" T1 "')"),
	    "F1 micro plate");
	/* an actor without grants, and a time before the grants, see nothing */
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT axiom_api.test_unfiltered_titles('axiom-system', '" T1 "')"),
	    "");
	ck_assert_str_eq(dbt_value(T.user, "SELECT axiom_api.test_unfiltered_titles('alice', "
	                                   "'2026-01-01 00:00:01+00')"),
	    "");
	/* without an identity set by the API the definer sees nothing, whatever the caller SETs */
	ck_assert_str_eq(dbt_value(T.user, "SELECT axiom_api.test_unfiltered_count()"), "0");
	dbt_exec(T.user, "SET axiom.actor = 'carol'; SET axiom.event_time_us = '1767226200000000'");
	ck_assert_str_eq(dbt_value(T.user, "SELECT axiom_api.test_unfiltered_count()"), "0");
	dbt_exec(T.user, "RESET ALL");
	/* an API call leaves no identity behind that a later call in the transaction could use */
	dbt_exec(T.user, "BEGIN");
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.new_version('alice', '" T1 "', NULL, "
	                                 "gen_random_uuid(), '" LINEAGE_F1_QC "', '\\x00', 't', "
	                                 "'\\x00', '\\x00')"),
	    "stale_previous_hash");
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT coalesce(current_setting('axiom.context_mac', true), '')"),
	    "");
	ck_assert_str_eq(dbt_value(T.user, "SELECT axiom_api.test_unfiltered_count()"), "0");
	dbt_exec(T.user, "COMMIT");
	/* the MAC key is the definer's alone */
	ck_assert_str_eq(dbt_state(T.auditor, "SELECT * FROM axiom.context_key"), "42501");
	/* every table in the schema has RLS enabled and forced */
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM pg_class c JOIN pg_namespace n "
	                                    "ON n.oid = c.relnamespace WHERE n.nspname = 'axiom' "
	                                    "AND c.relkind = 'r' AND NOT (c.relrowsecurity AND "
	                                    "c.relforcerowsecurity)"),
	    "0");
}
END_TEST

START_TEST(test_analytics_sees_only_its_own_grants_facilities_and_domains)
{
	ck_assert_str_eq(dbt_value(T.analytics, "SELECT string_agg(title, '|') FROM axiom.records"),
	    "F1 quality note");
	ck_assert_str_eq(
	    dbt_value(T.analytics, "SELECT string_agg(facility_id, '|') FROM axiom.facilities"),
	    "F1");
	ck_assert_str_eq(
	    dbt_value(T.analytics, "SELECT string_agg(domain_id, '|') FROM axiom.domains"), "QC");
	ck_assert_str_eq(
	    dbt_value(T.analytics, "SELECT string_agg(user_id, '|') FROM axiom.grants"), "ana");
	ck_assert_str_eq(dbt_value(T.analytics, "SELECT count(*) FROM axiom.session_events WHERE "
	                                        "facility_id <> 'F1' OR domain_id <> 'QC'"),
	    "0");
	ck_assert_str_ne(dbt_value(T.analytics, "SELECT count(*) FROM axiom.session_events"), "0");
	ck_assert_str_eq(dbt_state(T.analytics, "SELECT * FROM axiom.ledger"), "42501");
	ck_assert_str_eq(dbt_state(T.analytics, "INSERT INTO axiom.facilities VALUES ('F9', 'x', "
	                                        "now(), 'ana')"),
	    "42501");
	ck_assert_str_eq(
	    dbt_state(T.analytics, "UPDATE axiom.records SET status = 'retired'"), "42501");
}
END_TEST

START_TEST(test_auditor_reads_everything_and_writes_nothing)
{
	ck_assert_str_eq(dbt_value(T.auditor, "SELECT count(*) FROM axiom.records"), "3");
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_record_chains()"), "0");
	ck_assert_str_eq(dbt_state(T.auditor, "DELETE FROM axiom.session_events"), "42501");
	ck_assert_str_eq(
	    dbt_state(T.auditor, "UPDATE axiom.records SET status = 'retired'"), "42501");
	ck_assert_str_eq(dbt_state(T.auditor, "SELECT axiom_api.test_unfiltered_count()"), "42501");
}
END_TEST

/* The reason code and message of an API call, as a batch makes it. */
static const char *
answer(const char *call)
{
	return dbt_value(T.api, "SELECT reason_code || ': ' || message FROM %s", call);
}

START_TEST(test_probing_hidden_rows_answers_like_a_missing_row)
{
	char missing[512], hidden[512];

	/* next version of a lineage alice cannot see vs of one that does not exist */
	snprintf(missing, sizeof(missing), "%s",
	    answer("axiom_api.new_version('alice', '" T1 "', NULL, gen_random_uuid(), '" NOWHERE
	           "', '\\x00', 't', '\\x00', '\\x00')"));
	snprintf(hidden, sizeof(hidden), "%s",
	    answer(
	        "axiom_api.new_version('alice', '" T1 "', NULL, gen_random_uuid(), '" LINEAGE_F2_QC
	        "', '\\x00', 't', '\\x00', '\\x00')"));
	ck_assert_str_eq(
	    missing, "not_found_or_denied: no such object, or the actor may not use it");
	ck_assert_str_eq(hidden, missing);
	/* unique key: creating a lineage whose id, or a version whose record_id, is taken in a
	 * facility alice cannot see */
	ck_assert_str_eq(dbt_create("alice", T1, "00000000-0000-4000-8000-0000000002d1",
	                     LINEAGE_F2_QC, "note", "F1", "probe"),
	    "not_found_or_denied");
	ck_assert_str_eq(dbt_create("alice", T1, RECORD_F2_QC,
	                     "00000000-0000-4000-8000-0000000002e0", "note", "F1", "probe"),
	    "not_found_or_denied");
	ck_assert_str_eq(dbt_create("alice", T1, "00000000-0000-4000-8000-0000000002f1",
	                     "00000000-0000-4000-8000-0000000002f0", "no_such_type", "F1", "probe"),
	    "not_found_or_denied");
	/* foreign keys: signing or changing a version alice cannot see */
	snprintf(hidden, sizeof(hidden), "%s",
	    answer(
	        "axiom_api.sign_record('alice', '" T1 "', NULL, gen_random_uuid(), '" RECORD_F2_QC
	        "', 'review', sha256('x'), '{fido2}', '\\x01')"));
	ck_assert_str_eq(hidden, missing);
	snprintf(hidden, sizeof(hidden), "%s",
	    answer("axiom_api.sign_record('alice', '" T1 "', NULL, gen_random_uuid(), '" NOWHERE
	           "', 'review', sha256('x'), '{fido2}', '\\x01')"));
	ck_assert_str_eq(hidden, missing);
	snprintf(hidden, sizeof(hidden), "%s",
	    answer("axiom_api.propose_change('alice', '" T1
	           "', NULL, gen_random_uuid(), '" LINEAGE_F2_QC "', 1, 't', '\\x00', 'probe')"));
	ck_assert_str_eq(hidden, missing);
	/* and nothing was written by the probes */
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM axiom.records"), "3");
}
END_TEST

/* The titles test_unfiltered_titles returns for actor at et: one statement over every row. */
static const char *
titles(const char *actor, const char *et)
{
	return dbt_value(T.user, "SELECT axiom_api.test_unfiltered_titles('%s', '%s')", actor, et);
}

/* The rows the definer sees with whatever identity the transaction holds. */
static const char *
unfiltered_count(void)
{
	return dbt_value(T.user, "SELECT axiom_api.test_unfiltered_count()");
}

START_TEST(test_actor_scope_checks_each_row_against_the_verified_identity)
{
	char mac[128], us[32], other_us[32];

	/* carol (manager F1/QC) delegates her grant to dave (manager F2/QC), then leaves */
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.delegate('carol', '" T_DELEGATED
	                                 "', gen_random_uuid(), gen_random_uuid(), '" G_CAROL
	                                 "', 'dave', 'horizontal', '2026-02-01 00:00:00+00', "
	                                 "'cover at plant 1')"),
	    "accepted");
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.deactivate_user('axiom-system', '" T_GONE
	                                 "', gen_random_uuid(), 'carol', 'left')"),
	    "accepted");
	/*
	 * one statement reads rows of F1/QC (dave's by delegation), F2/QC (his own grant) and
	 * F1/MICRO (none): each row is checked on its own facility and domain
	 */
	ck_assert_str_eq(titles("dave", T_BEFORE), "F1 quality note|F2 quality note");
	ck_assert_str_eq(titles("dave", T1), "F2 quality note"); /* before the delegation */
	/* from the delegator's deactivation on, her delegation counts no more */
	ck_assert_str_eq(titles("dave", T_AFTER), "F2 quality note");
	/* the actor must be active at the event time too */
	ck_assert_str_eq(titles("carol", T_BEFORE), "F1 quality note");
	ck_assert_str_eq(titles("carol", T_AFTER), "");

	/*
	 * the identity counts only as its MAC covers it: begin_command leaves dave's in this
	 * transaction; every setting the caller changes after it is no identity
	 */
	dbt_exec(T.user, "BEGIN");
	ck_assert_str_eq(titles("dave", T_BEFORE), "F1 quality note|F2 quality note");
	ck_assert_str_eq(unfiltered_count(), "2");
	snprintf(mac, sizeof(mac), "%s",
	    dbt_value(T.user, "SELECT current_setting('axiom.context_mac')"));
	snprintf(us, sizeof(us), "%s",
	    dbt_value(T.user, "SELECT current_setting('axiom.event_time_us')"));
	ck_assert_int_eq((int)strlen(mac), 64);
	snprintf(other_us, sizeof(other_us), "%lld", dbt_int64(us) + 1);
	dbt_exec(T.user, "SET LOCAL axiom.actor = 'carol'");
	ck_assert_str_eq(unfiltered_count(), "0");
	dbt_exec(T.user, "SET LOCAL axiom.actor = 'dave'");
	ck_assert_str_eq(unfiltered_count(), "2");
	dbt_exec(T.user, "SET LOCAL axiom.event_time_us = '%s'", other_us);
	ck_assert_str_eq(unfiltered_count(), "0");
	dbt_exec(T.user, "SET LOCAL axiom.event_time_us = '%s'", us);
	ck_assert_str_eq(unfiltered_count(), "2");
	dbt_exec(T.user, "SET LOCAL axiom.context_mac = '%064d'", 0);
	ck_assert_str_eq(unfiltered_count(), "0");
	dbt_exec(T.user, "ROLLBACK");
	/* the same three values SET in another transaction are no identity either */
	dbt_exec(T.user,
	    "SET axiom.actor = 'dave'; SET axiom.event_time_us = '%s'; SET axiom.context_mac = "
	    "'%s'",
	    us, mac);
	ck_assert_str_eq(unfiltered_count(), "0");
	dbt_exec(T.user, "RESET ALL");
}
END_TEST

/*
 * start_command (the first step of every per-command function) leaves no identity a caller
 * set before it: a refusal clears it (no actor, no event time, an actor not active at the
 * event time, an unknown actor), an accepted start replaces it with the command's own; the
 * definer's row policy reads records under whichever is left
 */
START_TEST(test_start_command_leaves_only_its_own_identity)
{
	static const char *const refused[] = { "NULL, '" T_BEFORE "'", "'dave', NULL",
		"'carol', '" T_AFTER "'", "'nobody', '" T_BEFORE "'" };
	static const char *const identity =
	    "SELECT coalesce(string_agg(actor, ','), '') FROM axiom.context_identity()";
	static const char *const visible = "SELECT count(*) FROM axiom.records";

	dbt_exec(T.admin, "BEGIN");
	dbt_exec(T.admin, "SET LOCAL ROLE axiom_definer");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		dbt_exec(T.admin, "SELECT axiom.begin_command('dave', '" T_BEFORE "')");
		ck_assert_str_eq(dbt_value(T.admin, identity), "dave");
		ck_assert_str_eq(dbt_value(T.admin, visible), "2");
		ck_assert_str_eq(
		    dbt_value(T.admin, "SELECT (axiom.start_command(%s)).decision", refused[i]),
		    "rejected");
		ck_assert_msg(strcmp(dbt_value(T.admin, identity), "") == 0,
		    "start_command(%s) left an identity", refused[i]);
		ck_assert_str_eq(dbt_value(T.admin, visible), "0");
	}
	dbt_exec(T.admin, "SELECT axiom.begin_command('dave', '" T_BEFORE "')");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT axiom.start_command('carol', '" T_BEFORE "') IS NULL"), "t");
	ck_assert_str_eq(dbt_value(T.admin, identity), "carol");
	ck_assert_str_eq(dbt_value(T.admin, visible), "1");
	dbt_exec(T.admin, "ROLLBACK");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0102-db-rls");
	TCase *tc = tcase_create("layer-3");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_unfiltered_definer_function_returns_only_the_actors_rows);
	tcase_add_test(tc, test_analytics_sees_only_its_own_grants_facilities_and_domains);
	tcase_add_test(tc, test_auditor_reads_everything_and_writes_nothing);
	tcase_add_test(tc, test_probing_hidden_rows_answers_like_a_missing_row);
	tcase_add_test(tc, test_actor_scope_checks_each_row_against_the_verified_identity);
	tcase_add_test(tc, test_start_command_leaves_only_its_own_identity);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
