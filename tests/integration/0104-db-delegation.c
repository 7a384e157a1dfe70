/*
 * 0104-db-delegation - the delegation rules (docs/security-layers.md) through the API: each
 * valid form accepted and usable at later event times only; each violation refused with its
 * own reason; revoking a source grant revokes what was delegated from it; every step in the
 * audit trail with its reason.
 *
 * Cast (ax_dbtest.h): carol manager F1/QC (grant ...c1), bob reviewer F1/QC, alice author
 * F1/QC, dave manager F2/QC, erin reviewer F2/QC, gina author F1/MICRO.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_dbtest.h"

#define G_CAROL "'00000000-0000-4000-8000-0000000000c1'"
#define G_MICRO "'00000000-0000-4000-8000-0000000000cc'"
#define D_HORIZ "'00000000-0000-4000-8000-000000000401'"
#define D_VERT  "'00000000-0000-4000-8000-000000000402'"
#define T_DEL   "'2026-01-01 00:30:00+00'"
#define T_USE   "'2026-01-01 00:31:00+00'"
#define T_REV   "'2026-01-01 00:40:00+00'"
#define T_AFTER "'2026-01-01 00:41:00+00'"
#define EXPIRY  "'2026-02-01 00:00:00+00'"

static void
setup(void)
{
	dbt_setup("0104");
	dbt_seed();
	/* a second, expiring grant of carol's, to test expiry and revocation of a source */
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.grant_access('axiom-system', "
	                                 "'2026-01-01 00:00:02+00', NULL, " G_MICRO ", 'carol', "
	                                 "'F1', 'MICRO', 'manager', '2026-03-01 00:00:00+00', "
	                                 "'cover for micro')"),
	    "accepted");
}

static void
teardown(void)
{
	dbt_teardown();
}

/* delegate(actor, source grant, delegatee, kind, expiry, reason) at T_DEL */
static const char *
delegate(const char *actor, const char *id, const char *source, const char *to, const char *kind,
    const char *expiry, const char *reason)
{
	return dbt_call(T.api,
	    "axiom_api.delegate('%s', " T_DEL ", gen_random_uuid(), %s, %s, '%s', '%s', %s, %s)",
	    actor, id, source, to, kind, expiry, reason);
}

START_TEST(test_horizontal_and_vertical_delegations_are_accepted_and_act_from_their_instant)
{
	ck_assert_str_eq(delegate("carol", D_HORIZ, G_CAROL, "dave", "horizontal", EXPIRY,
	                     "'cover during audit at plant 1'"),
	    "accepted");
	ck_assert_str_eq(
	    delegate("carol", D_VERT, G_CAROL, "bob", "vertical", EXPIRY, "'deputy during leave'"),
	    "accepted");
	/* the delegation carries the source's facility, domain and level */
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT facility_id || '/' || domain_id || '/' || tier "
	                       "|| '/' || kind FROM axiom.grants WHERE grant_id = " D_HORIZ),
	    "F1/QC/manager/horizontal");
	/* a control event at c governs commands at c and after (db/0022), not before */
	ck_assert_str_eq(dbt_create("dave", "2026-01-01 00:29:59.999999+00",
	                     "00000000-0000-4000-8000-000000000421",
	                     "00000000-0000-4000-8000-000000000420", "note", "F1", "before c"),
	    "not_found_or_denied");
	ck_assert_str_eq(
	    dbt_create("dave", "2026-01-01 00:30:00+00", "00000000-0000-4000-8000-000000000411",
	        "00000000-0000-4000-8000-000000000410", "note", "F1", "at c"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT axiom.tier_rank_at('bob', 'F1', 'QC', " T_USE ")"), "5");
}
END_TEST

START_TEST(test_each_delegation_violation_is_refused_with_its_reason)
{
	const char *id = "gen_random_uuid()";

	ck_assert_str_eq(
	    delegate("carol", id, G_CAROL, "bob", "horizontal", EXPIRY, "'same plant'"),
	    "horizontal_same_facility");
	ck_assert_str_eq(
	    delegate("carol", id, G_CAROL, "erin", "horizontal", EXPIRY, "'lower level'"),
	    "horizontal_lower_level");
	ck_assert_str_eq(
	    delegate("carol", id, G_CAROL, "alice", "vertical", EXPIRY, "'two tiers down'"),
	    "vertical_not_one_tier_below");
	ck_assert_str_eq(delegate("bob", id, D_VERT, "alice", "vertical", EXPIRY, "'pass it on'"),
	    "redelegation_forbidden");
	ck_assert_str_eq(delegate("carol", id, G_CAROL, "bob", "vertical",
	                     "'2026-01-01 00:29:00+00'", "'already over'"),
	    "expiry_in_past");
	ck_assert_str_eq(delegate("carol", id, G_CAROL, "bob", "vertical", "NULL", "'open-ended'"),
	    "expiry_required");
	ck_assert_str_eq(delegate("carol", id, G_MICRO, "gina", "vertical",
	                     "'2026-04-01 00:00:00+00'", "'longer than mine'"),
	    "beyond_source_expiry");
	ck_assert_str_eq(
	    delegate("carol", id, G_CAROL, "bob", "vertical", EXPIRY, "''"), "reason_required");
	ck_assert_str_eq(
	    delegate("carol", id, G_CAROL, "bob", "vertical", EXPIRY, "NULL"), "reason_required");
	ck_assert_str_eq(
	    delegate("carol", id, G_CAROL, "carol", "vertical", EXPIRY, "'me'"), "self_delegation");
	/* a grant that is not the actor's is answered like one that does not exist */
	ck_assert_str_eq(delegate("alice", id, G_CAROL, "bob", "vertical", EXPIRY, "'not mine'"),
	    "not_found_or_denied");
	/* the source revoked before the delegation */
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.revoke_grant('axiom-system', "
	                                 "'2026-01-01 00:20:00+00', NULL, " G_MICRO ", 'moved')"),
	    "accepted");
	ck_assert_str_eq(delegate("carol", id, G_MICRO, "gina", "vertical", EXPIRY, "'too late'"),
	    "source_revoked");
	/* every refusal is in the audit trail with its reason */
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM axiom.session_events WHERE "
	                                    "operation = 'delegate' AND decision = 'rejected'"),
	    "12");
}
END_TEST

START_TEST(test_revoking_the_source_revokes_its_delegations)
{
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.revoke_grant('axiom-system', " T_REV
	                                 ", NULL, " G_CAROL ", 'left the company')"),
	    "accepted");
	ck_assert_str_eq(dbt_value(T.admin, "SELECT string_agg(kind || ':' || (revoked_at = " T_REV
	                                    ")::text, ',' ORDER BY kind) FROM axiom.grants WHERE "
	                                    "grant_id IN (" G_CAROL ", " D_HORIZ ", " D_VERT ")"),
	    "direct:true,horizontal:true,vertical:true");
	/* the delegates' authority ends with the source's, as of the event time */
	ck_assert_str_eq(
	    dbt_create("dave", "2026-01-01 00:41:00+00", "00000000-0000-4000-8000-000000000421",
	        "00000000-0000-4000-8000-000000000420", "note", "F1", "after revocation"),
	    "not_found_or_denied");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT axiom.tier_rank_at('bob', 'F1', 'QC', " T_AFTER ")"), "4");
	/* and a decision about the past still sees the past */
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT axiom.tier_rank_at('bob', 'F1', 'QC', " T_USE ")"), "5");
}
END_TEST

START_TEST(test_only_the_delegator_revokes_a_delegation_and_says_why)
{
	const char *d = "'00000000-0000-4000-8000-000000000403'";

	ck_assert_str_eq(delegate("dave", d, "'00000000-0000-4000-8000-0000000000d2'", "erin",
	                     "vertical", EXPIRY, "'deputy at plant 2'"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_call(T.api,
	        "axiom_api.revoke_delegation('erin', " T_USE ", NULL, %s, 'not mine to revoke')",
	        d),
	    "not_found_or_denied");
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.revoke_delegation('dave', " T_USE ", NULL, %s, '')", d),
	    "reason_required");
	ck_assert_str_eq(
	    dbt_call(
	        T.api, "axiom_api.revoke_delegation('dave', " T_USE ", NULL, %s, 'back early')", d),
	    "accepted");
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.revoke_delegation('dave', " T_USE ", NULL, %s, 'again')", d),
	    "already_revoked");
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT actor || ' ' || reason FROM axiom.session_events "
	                       "WHERE operation = 'revoke_delegation' AND decision = "
	                       "'accepted'"),
	    "dave back early");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0104-db-delegation");
	TCase *tc = tcase_create("delegation");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, test_horizontal_and_vertical_delegations_are_accepted_and_act_from_their_instant);
	tcase_add_test(tc, test_each_delegation_violation_is_refused_with_its_reason);
	tcase_add_test(tc, test_revoking_the_source_revokes_its_delegations);
	tcase_add_test(tc, test_only_the_delegator_revokes_a_delegation_and_says_why);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
