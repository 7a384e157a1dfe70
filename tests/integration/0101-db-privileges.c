/*
 * 0101-db-privileges - layers 1 (execute-only application role), 2 (identity only from
 * parameters) and 4 (append-only audit, triggers reserved to the owner), each on its own:
 * axiom_user may touch no table or sequence the catalog lists, only EXECUTE the API; PUBLIC
 * has nothing; axiom_definer can neither disable nor skip triggers nor change data columns
 * or the audit trail; the triggers hold even against a superuser in replica mode; no
 * configuration parameter a caller can SET changes who the API thinks is acting.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_dbtest.h"

#define DENIED "42501"

static void
setup(void)
{
	dbt_setup("0101");
	dbt_seed();
	ck_assert_str_eq(
	    dbt_create("alice", "2026-01-01 00:01:00+00", "00000000-0000-4000-8000-000000000101",
	        "00000000-0000-4000-8000-000000000100", "note", "F1", "first note"),
	    "accepted");
}

static void
teardown(void)
{
	dbt_teardown();
}

START_TEST(test_runtime_role_is_refused_every_table_and_sequence_in_the_catalog)
{
	PGresult *res;
	int i, tables = 0, sequences = 0;

	/* every relation outside the system schemas, so a table added later is covered */
	res = PQexec(T.admin,
	    "SELECT format('%I.%I', n.nspname, c.relname), c.relkind,"
	    "       (SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = c.oid"
	    "         AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = ''"
	    "         AND a.attgenerated = '' ORDER BY a.attnum LIMIT 1)"
	    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
	    "   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
	    "   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY 1");
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	for (i = 0; i < PQntuples(res); i++) {
		const char *rel = PQgetvalue(res, i, 0), *kind = PQgetvalue(res, i, 1);
		const char *col = PQgetvalue(res, i, 2);

		if (kind[0] == 'S') {
			sequences++;
			ck_assert_msg(
			    strcmp(dbt_state(T.user, "SELECT * FROM %s", rel), DENIED) == 0,
			    "SELECT on sequence %s", rel);
			ck_assert_msg(
			    strcmp(dbt_state(T.user, "SELECT nextval('%s')", rel), DENIED) == 0,
			    "nextval on %s", rel);
			ck_assert_msg(
			    strcmp(dbt_state(T.user, "SELECT setval('%s', 42)", rel), DENIED) == 0,
			    "setval on %s", rel);
			continue;
		}
		tables++;
		ck_assert_msg(strcmp(dbt_state(T.user, "SELECT * FROM %s", rel), DENIED) == 0,
		    "SELECT on %s", rel);
		ck_assert_msg(
		    strcmp(dbt_state(T.user, "INSERT INTO %s DEFAULT VALUES", rel), DENIED) == 0,
		    "INSERT on %s", rel);
		ck_assert_msg(
		    strcmp(dbt_state(T.user, "UPDATE %s SET %s = %s", rel, col, col), DENIED) == 0,
		    "UPDATE on %s", rel);
		ck_assert_msg(strcmp(dbt_state(T.user, "DELETE FROM %s", rel), DENIED) == 0,
		    "DELETE on %s", rel);
		ck_assert_msg(strcmp(dbt_state(T.user, "TRUNCATE %s", rel), DENIED) == 0,
		    "TRUNCATE on %s", rel);
	}
	PQclear(res);
	/* and not only because the schema is closed: no privilege on any relation or column */
	ck_assert_str_eq(
	    dbt_value(T.admin,
	        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
	        "c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
	        "'information_schema') AND n.nspname NOT LIKE 'pg\\_%%' AND "
	        "c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND (CASE WHEN c.relkind = "
	        "'S' THEN has_sequence_privilege('axiom_user', c.oid, "
	        "'USAGE, SELECT, UPDATE') ELSE has_table_privilege('axiom_user', c.oid, "
	        "'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') OR "
	        "has_any_column_privilege('axiom_user', c.oid, 'SELECT, INSERT, UPDATE, "
	        "REFERENCES') END)"),
	    "0");
	ck_assert_int_ge(tables, 14);
	ck_assert_int_ge(sequences, 2);
	/* the refusal is the privilege system's, not an empty table: the admin sees rows */
	ck_assert_str_ne(dbt_value(T.admin, "SELECT count(*) FROM axiom.records"), "0");
}
END_TEST

START_TEST(test_runtime_role_may_only_execute_the_api)
{
	/*
	 * EXECUTE on the batch entry point and the applier's operational functions around it,
	 * on nothing else (db/0018): every per-command API function is internal
	 */
	ck_assert_str_eq(dbt_value(T.admin,
	                     "SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p "
	                     "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname "
	                     "LIKE 'axiom%%' AND has_function_privilege('axiom_user', p.oid, "
	                     "'EXECUTE')"),
	    "apply_partition_batch,change_content,claim_partition,control_watermark,"
	    "ledger_entries,lineage_head,next_offset,partition_event_time,signing_context,"
	    "store_checkpoint");
	static const char *const internal[] = {
		"axiom_api.create_record('alice', now(), NULL, gen_random_uuid(), "
		"gen_random_uuid(), "
		"'note', 'F1', 't', '\\x00', '\\x00')",
		"axiom_api.enroll_user('axiom-system', now(), NULL, 'mallory', 'M', true, NULL, "
		"'x')",
		"axiom_api.grant_access('axiom-system', now(), NULL, gen_random_uuid(), 'alice', "
		"'F1', "
		"'QC', 'manager', NULL, 'x')",
		"axiom_api.transition_record('carol', now(), NULL, gen_random_uuid(), 1, "
		"'retired', 'x')",
		"axiom_api.sign_record('carol', now(), NULL, gen_random_uuid(), gen_random_uuid(), "
		"'approval', '\\x00', ARRAY['fido2'], '\\x00')",
		"axiom_api.append_ledger_entry('carol', now(), 't', 0, 0, NULL, 'accepted', NULL, "
		"NULL)",
		"axiom_api.store_next_offset('i', 't', 0, NULL, 5)",
		"axiom_api.apply_batch('t', 0, '[]')",
	};
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		ck_assert_msg(
		    strcmp(dbt_state(T.user, "SELECT * FROM %s", internal[i]), DENIED) == 0,
		    "axiom_user may call %s", internal[i]);
	ck_assert_str_ne(
	    dbt_value(T.admin, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
	                       "p.pronamespace WHERE n.nspname = 'axiom_api' AND p.prosecdef"),
	    "0");
	/* every SECURITY DEFINER function is owned by axiom_definer and pins search_path */
	ck_assert_str_eq(dbt_value(T.admin,
	                     "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
	                     "p.pronamespace WHERE n.nspname LIKE 'axiom%%' AND p.prosecdef AND "
	                     "(p.proowner <> 'axiom_definer'::regrole OR NOT coalesce(p.proconfig "
	                     "@> ARRAY['search_path=pg_catalog, pg_temp'], false))"),
	    "0");
	ck_assert_str_eq(
	    dbt_state(T.user, "SELECT axiom.tier_rank_at('carol', 'F1', 'QC', now())"), DENIED);
	ck_assert_str_eq(
	    dbt_state(T.user, "SELECT * FROM axiom_api.verify_record_chains()"), DENIED);
	/* member of no role, so SET ROLE cannot reach the definer or the owner */
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM pg_auth_members WHERE member = "
	                                    "'axiom_user'::regrole"),
	    "0");
	ck_assert_str_eq(dbt_state(T.user, "SET ROLE axiom_definer"), DENIED);
	ck_assert_str_eq(dbt_state(T.user, "SET ROLE axiom_owner"), DENIED);
	ck_assert_str_eq(dbt_state(T.user, "CREATE TEMP TABLE x (a int)"), DENIED);
	ck_assert_str_eq(dbt_state(T.user, "CREATE TABLE public.x (a int)"), DENIED);
	ck_assert_str_eq(dbt_state(T.user, "DO $$BEGIN NULL; END$$"), DENIED);
	/* and EXECUTE does work */
	ck_assert_str_eq(
	    dbt_create("alice", "2026-01-01 00:02:00+00", "00000000-0000-4000-8000-000000000111",
	        "00000000-0000-4000-8000-000000000110", "note", "F1", "second"),
	    "accepted");
}
END_TEST

START_TEST(test_public_is_granted_nothing)
{
	static const char *const checks[] = {
		"SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, "
		"aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
		"WHERE n.nspname LIKE 'axiom%' AND a.grantee = 0",
		"SELECT count(*) FROM pg_namespace n, "
		"aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a "
		"WHERE (n.nspname LIKE 'axiom%' OR n.nspname = 'public') AND a.grantee = 0",
		"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
		"aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a "
		"WHERE n.nspname LIKE 'axiom%' AND a.grantee = 0",
		"SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace, "
		"aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a "
		"WHERE n.nspname LIKE 'axiom%' AND t.typtype = 'c' AND t.typrelid = 0 AND "
		"a.grantee = 0",
		"SELECT count(*) FROM pg_database d, "
		"aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
		"WHERE d.datname = current_database() AND a.grantee = 0",
		"SELECT count(*) FROM pg_language l, "
		"aclexplode(coalesce(l.lanacl, acldefault('l', l.lanowner))) a "
		"WHERE l.lanname = 'plpgsql' AND a.grantee = 0",
		/* default privileges: later functions and types of either owner don't leak */
		"SELECT 2 - count(*) FROM pg_default_acl d WHERE d.defaclobjtype = 'f' AND "
		"d.defaclnamespace = 0 AND d.defaclrole IN ('axiom_owner'::regrole, "
		"'axiom_definer'::regrole) AND NOT EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) a "
		"WHERE a.grantee = 0)",
	};
	size_t i;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		ck_assert_msg(strcmp(dbt_value(T.admin, "%s", checks[i]), "0") == 0,
		    "PUBLIC holds a privilege: %s", checks[i]);
	/* only DBAs bypass RLS or are superusers; the Axiom roles never */
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM pg_roles WHERE rolname LIKE "
	                                    "'axiom\\_%%' AND rolname <> 'axiom_admin' AND "
	                                    "(rolsuper OR rolbypassrls OR rolcreaterole)"),
	    "0");
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM pg_roles WHERE rolname IN "
	                                    "('axiom_owner', 'axiom_definer') AND rolcanlogin"),
	    "0");
}
END_TEST

START_TEST(test_definer_cannot_disable_or_skip_triggers)
{
	dbt_exec(T.admin, "SET ROLE axiom_definer");
	ck_assert_str_eq(
	    dbt_state(T.admin, "ALTER TABLE axiom.session_events DISABLE TRIGGER append_only_row"),
	    DENIED);
	ck_assert_str_eq(
	    dbt_state(T.admin, "ALTER TABLE axiom.records DISABLE TRIGGER ALL"), DENIED);
	ck_assert_str_eq(
	    dbt_state(T.admin, "ALTER TABLE axiom.records NO FORCE ROW LEVEL SECURITY"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "SET session_replication_role = replica"), DENIED);
	dbt_exec(T.admin, "RESET ROLE");
	ck_assert_str_eq(dbt_value(T.admin, "SELECT has_parameter_privilege('axiom_definer', "
	                                    "'session_replication_role', 'SET')"),
	    "f");
	/* every trigger on the Axiom tables fires ALWAYS */
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON "
	                                    "c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = "
	                                    "c.relnamespace WHERE n.nspname = 'axiom' AND NOT "
	                                    "t.tgisinternal AND t.tgenabled <> 'A'"),
	    "0");
}
END_TEST

START_TEST(test_definer_cannot_change_data_columns_or_the_audit_trail)
{
	dbt_exec(T.admin, "SET ROLE axiom_definer");
	ck_assert_str_eq(dbt_state(T.admin, "UPDATE axiom.records SET title = 'forged'"), DENIED);
	ck_assert_str_eq(
	    dbt_state(T.admin, "UPDATE axiom.records SET record_hash = record_hash"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "DELETE FROM axiom.records"), DENIED);
	ck_assert_str_eq(
	    dbt_state(T.admin, "UPDATE axiom.session_events SET reason = 'x'"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "DELETE FROM axiom.session_events"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "TRUNCATE axiom.session_events"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "UPDATE axiom.grants SET tier = 'manager'"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "TRUNCATE axiom.ledger"), DENIED);
	dbt_exec(T.admin, "RESET ROLE");
}
END_TEST

START_TEST(test_triggers_hold_against_a_superuser_in_replica_mode)
{
	dbt_exec(T.admin, "SET session_replication_role = replica");
	ck_assert_str_eq(dbt_state(T.admin, "UPDATE axiom.records SET title = 'forged'"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "DELETE FROM axiom.records"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "TRUNCATE axiom.records CASCADE"), DENIED);
	ck_assert_str_eq(
	    dbt_state(T.admin, "UPDATE axiom.session_events SET reason = 'x'"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "DELETE FROM axiom.session_events"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "TRUNCATE axiom.session_events"), DENIED);
	ck_assert_str_eq(dbt_state(T.admin, "UPDATE axiom.grants SET tier = 'manager'"), DENIED);
	ck_assert_str_eq(
	    dbt_state(T.admin, "UPDATE axiom.users SET printed_name = 'forged'"), DENIED);
	dbt_exec(T.admin, "RESET session_replication_role");
	ck_assert_str_ne(dbt_value(T.admin, "SELECT count(*) FROM axiom.session_events"), "0");
}
END_TEST

/*
 * Each table's immutable_data_columns trigger compares every column but its lifecycle ones
 * (its function is generated from the catalog, db/definitions/30_integrity_triggers.sql): the
 * columns no trigger function compares are exactly these.
 */
START_TEST(test_every_data_column_is_compared_on_update)
{
	ck_assert_str_eq(
	    dbt_value(T.admin,
	        "SELECT string_agg(c.relname || '.' || a.attname, ' ' ORDER BY c.relname, "
	        "a.attnum) "
	        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = "
	        "t.tgfoid JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT "
	        "a.attisdropped WHERE t.tgname = 'immutable_data_columns' AND position(format("
	        "'OLD.%%1$I IS DISTINCT FROM NEW.%%1$I', a.attname) IN p.prosrc) = 0"),
	    "change_requests.status change_requests.status_changed_at "
	    "change_requests.applied_record_id control_watermark.event_time "
	    "control_watermark.updated_by grants.revoked_at grants.revoked_by grants.revoke_reason "
	    "partition_claims.claim partition_claims.claimed_by partition_claims.claimed_at "
	    "partition_offsets.next_offset partition_offsets.updated_by record_types.gate "
	    "record_types.configured_at record_types.configured_by records.status "
	    "records.status_changed_at records.status_changed_by signing_factors.revoked_at "
	    "signing_factors.revoked_by users.deactivated_at");
	/* and every table with lifecycle columns has the trigger */
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM pg_trigger WHERE tgname = "
	                                    "'immutable_data_columns' AND tgenabled = 'A'"),
	    "9");
}
END_TEST

START_TEST(test_identity_cannot_be_spoofed_by_setting_parameters)
{
	char before[32];

	/* a caller may SET any custom parameter; the API takes identity only from its arguments */
	dbt_exec(T.user, "SET axiom.actor = 'carol'");
	dbt_exec(T.user, "SET axiom.event_time_us = '1767225900000000'");
	dbt_exec(T.user, "SET application_name = 'carol'");
	dbt_exec(T.user, "SET search_path = pg_temp, public, axiom");
	ck_assert_str_eq(
	    dbt_create("frank", "2026-01-01 00:03:00+00", "00000000-0000-4000-8000-000000000121",
	        "00000000-0000-4000-8000-000000000120", "note", "F1", "by frank"),
	    "insufficient_access_level");
	ck_assert_str_eq(
	    dbt_create("mallory", "2026-01-01 00:03:00+00", "00000000-0000-4000-8000-000000000131",
	        "00000000-0000-4000-8000-000000000130", "note", "F1", "by nobody"),
	    "not_found_or_denied");
	ck_assert_str_eq(dbt_value(T.admin, "SELECT actor FROM axiom.session_events ORDER BY "
	                                    "event_seq DESC LIMIT 1 OFFSET 1"),
	    "frank");
	ck_assert_str_eq(dbt_state(T.user, "SET ROLE axiom_definer"), DENIED);
	ck_assert_str_eq(dbt_state(T.user, "SET SESSION AUTHORIZATION axiom_admin"), DENIED);
	ck_assert_str_eq(dbt_state(T.user, "SET session_replication_role = replica"), DENIED);
	dbt_exec(T.user, "RESET ALL");
	/* a reader's view does not follow the parameters either */
	snprintf(before, sizeof(before), "%s",
	    dbt_value(T.analytics, "SELECT count(*) FROM axiom.grants"));
	ck_assert_str_eq(before, "1"); /* ana's own grant */
	dbt_exec(T.analytics, "SET axiom.actor = 'carol'");
	dbt_exec(T.analytics, "SET axiom.event_time_us = '1767225900000000'");
	dbt_exec(T.analytics, "SET application_name = 'axiom_auditor'");
	ck_assert_str_eq(dbt_value(T.analytics, "SELECT count(*) FROM axiom.grants"), before);
	ck_assert_str_eq(dbt_state(T.analytics, "SET ROLE axiom_auditor"), DENIED);
	dbt_exec(T.analytics, "RESET ALL");
	/*
	 * only the functions that implement it read or write the identity settings
	 * (begin_command sets them, context_identity reads them under their MAC for the row
	 * policy; actor_in_scope, which no policy calls any more, read them the same way); the
	 * batch's loop writes the ledger reference settings (db/0018), which identify no one, and
	 * so does a version run for the refused member it has its function decide
	 */
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc "
	                       "p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname "
	                       "LIKE 'axiom%%' AND (p.prosrc LIKE '%%current_setting%%' OR "
	                       "p.prosrc LIKE '%%set_config%%')"),
	    "actor_in_scope,apply_version_run,begin_command,context_identity,partition_commands");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0101-db-privileges");
	TCase *tc = tcase_create("layers-1-2-4");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_runtime_role_is_refused_every_table_and_sequence_in_the_catalog);
	tcase_add_test(tc, test_runtime_role_may_only_execute_the_api);
	tcase_add_test(tc, test_public_is_granted_nothing);
	tcase_add_test(tc, test_definer_cannot_disable_or_skip_triggers);
	tcase_add_test(tc, test_definer_cannot_change_data_columns_or_the_audit_trail);
	tcase_add_test(tc, test_triggers_hold_against_a_superuser_in_replica_mode);
	tcase_add_test(tc, test_every_data_column_is_compared_on_update);
	tcase_add_test(tc, test_identity_cannot_be_spoofed_by_setting_parameters);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
