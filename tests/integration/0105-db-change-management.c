/*
 * 0105-db-change-management - change management (docs/security-layers.md) through the API: draft ->
 * submitted -> (reviewed) -> approved | rejected -> applied, per the record type's review gate; the
 * author never reviews or approves their own change; approval before submission, review
 * skipped where required, and a change whose base is no longer the head are refused; every
 * step is audited with actor, event time and reason; gated records cannot be versioned
 * directly; lifecycle transitions need the manager level and a reason. An approval reads the
 * steps of its own change only, however many are stored (migration 0027).
 *
 * Cast (ax_dbtest.h): alice author, bob reviewer, carol manager, all F1/QC; spec has gate
 * review_approve, sop has gate approve.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_dbtest.h"

#define SPEC "'00000000-0000-4000-8000-000000000500'"
#define SOP  "'00000000-0000-4000-8000-000000000510'"

static void
setup(void)
{
	dbt_setup("0105");
	dbt_seed();
	ck_assert_str_eq(
	    dbt_create("alice", "2026-01-01 00:05:00+00", "00000000-0000-4000-8000-000000000501",
	        "00000000-0000-4000-8000-000000000500", "spec", "F1", "pH spec"),
	    "accepted");
	ck_assert_str_eq(
	    dbt_create("alice", "2026-01-01 00:05:00+00", "00000000-0000-4000-8000-000000000511",
	        "00000000-0000-4000-8000-000000000510", "sop", "F1", "cleaning sop"),
	    "accepted");
}

static void
teardown(void)
{
	dbt_teardown();
}

/* step ("submit", "review", ...) of change cid by actor at minute:second mmss */
static const char *
step(const char *which, const char *actor, const char *mmss, const char *cid, const char *reason)
{
	return dbt_call(T.api,
	    "axiom_api.%s_change('%s', '2026-01-01 00:%s+00', gen_random_uuid(), '%s', %s)", which,
	    actor, mmss, cid, reason);
}

static const char *
propose(const char *actor, const char *mmss, const char *cid, const char *lineage, int base)
{
	return dbt_call(T.api,
	    "axiom_api.propose_change('%s', '2026-01-01 00:%s+00', gen_random_uuid(), '%s', %s, "
	    "%d, "
	    "'revised', '\\x0102', 'tighten the limits')",
	    actor, mmss, cid, lineage, base);
}

/* apply change cid as version record id rid, with the hash the database would compute */
static const char *
apply(const char *actor, const char *mmss, const char *cid, const char *rid)
{
	char hash[80];

	snprintf(hash, sizeof(hash), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash('%s', c.id, h.version + 1, h.record_id, "
	        "h.record_hash, h.record_type, h.facility_id, h.domain_id, c.title, c.content, "
	        "'%s', "
	        "'2026-01-01 00:%s+00', c.change_id), 'hex') FROM axiom.change_requests c, LATERAL "
	        "(SELECT * FROM axiom.records r WHERE r.id = c.id ORDER BY r.version DESC LIMIT 1) "
	        "h "
	        "WHERE c.change_id = '%s'",
	        rid, actor, mmss, cid));
	return dbt_call(T.api,
	    "axiom_api.apply_change('%s', '2026-01-01 00:%s+00', gen_random_uuid(), '%s', '%s', "
	    "decode('%s', 'hex'), 'release')",
	    actor, mmss, cid, rid, hash);
}

START_TEST(test_review_gate_path_creates_the_next_version_and_audits_every_step)
{
	const char *c = "00000000-0000-4000-8000-0000000005c1";

	ck_assert_str_eq(propose("alice", "10:00", c, SPEC, 1), "accepted");
	ck_assert_str_eq(step("submit", "alice", "11:00", c, "'ready'"), "accepted");
	ck_assert_str_eq(step("review", "bob", "12:00", c, "'checked the limits'"), "accepted");
	ck_assert_str_eq(step("approve", "carol", "13:00", c, "'approved for use'"), "accepted");
	ck_assert_str_eq(
	    apply("alice", "14:00", c, "00000000-0000-4000-8000-000000000502"), "accepted");
	ck_assert_str_eq(dbt_value(T.admin,
	                     "SELECT version || ' ' || title || ' ' || "
	                     "(change_id = '%s')::text FROM axiom.records WHERE id = " SPEC
	                     " ORDER BY version DESC LIMIT 1",
	                     c),
	    "2 revised true");
	ck_assert_str_eq(
	    dbt_value(T.admin,
	        "SELECT string_agg(step || ':' || actor || ':' || "
	        "to_char(event_time AT TIME ZONE 'UTC', 'MI') || ':' || reason, ' | ' "
	        "ORDER BY step_seq) FROM axiom.change_request_steps WHERE change_id = '%s'",
	        c),
	    "propose:alice:10:tighten the limits | submit:alice:11:ready | "
	    "review:bob:12:checked the limits | approve:carol:13:approved for use | "
	    "apply:alice:14:release");
	ck_assert_str_eq(dbt_value(T.admin,
	                     "SELECT count(*) FROM axiom.session_events WHERE "
	                     "object_id = '%s' AND decision = 'accepted'",
	                     c),
	    "5");
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_record_chains()"), "0");
}
END_TEST

START_TEST(test_the_author_cannot_review_approve_or_reject_their_own_change)
{
	const char *c = "00000000-0000-4000-8000-0000000005c2",
	           *d = "00000000-0000-4000-8000-0000000005c3";

	ck_assert_str_eq(propose("alice", "20:00", c, SPEC, 2), "accepted");
	ck_assert_str_eq(step("submit", "bob", "20:30", c, "'not mine'"), "not_author");
	ck_assert_str_eq(step("submit", "alice", "21:00", c, "'ready'"), "accepted");
	ck_assert_str_eq(
	    step("review", "alice", "22:00", c, "'self review'"), "author_cannot_review");
	ck_assert_str_eq(
	    step("approve", "alice", "22:00", c, "'self approval'"), "author_cannot_approve");
	ck_assert_str_eq(
	    step("reject", "alice", "22:00", c, "'self rejection'"), "author_cannot_reject");
	/* a manager who authored a change cannot approve it either */
	ck_assert_str_eq(propose("carol", "23:00", d, SOP, 1), "accepted");
	ck_assert_str_eq(step("submit", "carol", "23:10", d, "'ready'"), "accepted");
	ck_assert_str_eq(step("approve", "carol", "23:20", d, "'mine'"), "author_cannot_approve");
	/* approval needs the manager level */
	ck_assert_str_eq(step("approve", "bob", "23:30", d, "'ok'"), "insufficient_access_level");
	ck_assert_str_eq(step("reject", "bob", "23:40", d, "'no'"), "accepted");
	ck_assert_str_eq(
	    apply("carol", "23:50", d, "00000000-0000-4000-8000-0000000005d1"), "not_approved");
}
END_TEST

START_TEST(test_steps_out_of_order_are_refused)
{
	const char *c = "00000000-0000-4000-8000-0000000005c4",
	           *d = "00000000-0000-4000-8000-0000000005c5";

	ck_assert_str_eq(propose("alice", "30:00", c, SOP, 1), "accepted");
	ck_assert_str_eq(step("approve", "carol", "30:10", c, "'early'"), "not_submitted");
	ck_assert_str_eq(step("review", "bob", "30:10", c, "'early'"), "not_submitted");
	ck_assert_str_eq(step("submit", "alice", "30:20", c, "''"), "reason_required");
	ck_assert_str_eq(step("submit", "alice", "30:30", c, "'ready'"), "accepted");
	ck_assert_str_eq(step("review", "bob", "30:40", c, "'extra'"), "review_not_required");
	ck_assert_str_eq(
	    apply("alice", "30:50", c, "00000000-0000-4000-8000-0000000005e1"), "not_approved");
	/* a review_approve type cannot skip the review */
	ck_assert_str_eq(propose("alice", "31:00", d, SPEC, 2), "accepted");
	ck_assert_str_eq(step("submit", "alice", "31:10", d, "'ready'"), "accepted");
	ck_assert_str_eq(step("approve", "carol", "31:20", d, "'skip review'"), "review_required");
}
END_TEST

START_TEST(test_a_change_based_on_an_old_head_is_refused_as_stale)
{
	const char *c = "00000000-0000-4000-8000-0000000005c6",
	           *d = "00000000-0000-4000-8000-0000000005c7";

	ck_assert_str_eq(propose("alice", "40:00", c, SOP, 1), "accepted");
	ck_assert_str_eq(propose("alice", "40:00", d, SOP, 1), "accepted");
	ck_assert_str_eq(step("submit", "alice", "40:10", c, "'ready'"), "accepted");
	ck_assert_str_eq(step("submit", "alice", "40:10", d, "'ready'"), "accepted");
	ck_assert_str_eq(step("approve", "carol", "40:20", c, "'ok'"), "accepted");
	ck_assert_str_eq(step("approve", "carol", "40:20", d, "'ok'"), "accepted");
	ck_assert_str_eq(
	    apply("alice", "40:30", c, "00000000-0000-4000-8000-0000000005f1"), "accepted");
	ck_assert_str_eq(
	    apply("alice", "40:40", d, "00000000-0000-4000-8000-0000000005f2"), "stale_base");
	ck_assert_str_eq(propose("alice", "40:50", "00000000-0000-4000-8000-0000000005c8", SOP, 1),
	    "stale_base");
	/* a gated record is never versioned directly */
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.new_version('alice', '2026-01-01 00:41:00+00', "
	                    "NULL, gen_random_uuid(), " SOP ", NULL, 't', '\\x00', NULL)"),
	    "change_control_required");
}
END_TEST

START_TEST(test_lifecycle_transitions_need_a_manager_and_a_reason)
{
#define TRANSITION                                                                                 \
	"axiom_api.transition_record('%s', '2026-01-01 00:50:00+00', NULL, " SPEC ", 2, '%s', %s)"

	ck_assert_str_eq(dbt_call(T.api, TRANSITION, "alice", "effective", "'release'"),
	    "insufficient_access_level");
	ck_assert_str_eq(
	    dbt_call(T.api, TRANSITION, "carol", "effective", "NULL"), "reason_required");
	ck_assert_str_eq(
	    dbt_call(T.api, TRANSITION, "carol", "effective", "'release'"), "accepted");
	ck_assert_str_eq(
	    dbt_call(T.api, TRANSITION, "carol", "draft", "'back'"), "invalid_transition");
	ck_assert_str_eq(
	    dbt_call(T.api,
	        "axiom_api.transition_record('carol', '2026-01-01 00:50:00+00', NULL, " SPEC
	        ", 1, 'retired', 'old')"),
	    "not_head");
	ck_assert_str_eq(dbt_value(T.admin, "SELECT status || ' ' || status_changed_by FROM "
	                                    "axiom.records WHERE id = " SPEC " AND version = 2"),
	    "effective carol");
}
END_TEST

START_TEST(test_a_signature_is_the_actors_own_with_its_manifestation)
{
#define SIGN(actor, meaning, intent)                                                               \
	dbt_call(T.api, "axiom_api.sign_record('" actor                                            \
	                "', '2026-01-01 00:55:00+00', NULL, gen_random_uuid(), "                   \
	                "'00000000-0000-4000-8000-000000000501', '" meaning "', " intent           \
	                ", '{fido2,oidc}', '\\x01020304')")
	ck_assert_str_eq(SIGN("alice", "authorship", "sha256('intent')"), "accepted");
	ck_assert_str_eq(
	    SIGN("alice", "approval", "sha256('intent')"), "insufficient_access_level");
	ck_assert_str_eq(SIGN("carol", "approval", "'\\x0102'"), "invalid_command");
	ck_assert_str_eq(SIGN("carol", "endorsement", "sha256('intent')"), "invalid_command");
	ck_assert_str_eq(SIGN("dave", "approval", "sha256('intent')"), "not_found_or_denied");
	ck_assert_str_eq(SIGN("carol", "approval", "sha256('intent')"), "accepted");
#undef SIGN
	ck_assert_str_eq(
	    dbt_value(T.admin, "SELECT string_agg(signer || '/' || printed_name || '/' "
	                       "|| meaning || '/' || array_to_string(factor_types, '+'), "
	                       "' ' ORDER BY meaning) FROM axiom.signatures"),
	    "carol/Person carol/approval/fido2+oidc alice/Person alice/authorship/fido2+oidc");
	ck_assert_str_eq(
	    dbt_state(T.admin, "UPDATE axiom.signatures SET meaning = 'review'"), "42501");
}
END_TEST

START_TEST(test_an_approval_reads_only_its_changes_steps)
{
	const char *c = "00000000-0000-4000-8000-0000000005d1";
	const char *other = "00000000-0000-4000-8000-0000000005d2";
	int read;

	/* the last test: SPEC's head is whatever the tests before left */
	int head =
	    dbt_int(dbt_value(T.admin, "SELECT max(version) FROM axiom.records WHERE id = " SPEC));

	ck_assert_str_eq(propose("alice", "56:00", c, SPEC, head), "accepted");
	ck_assert_str_eq(step("submit", "alice", "57:00", c, "'ready'"), "accepted");
	ck_assert_str_eq(step("review", "bob", "58:00", c, "'checked'"), "accepted");
	/* 10,000 steps of another change stored before */
	ck_assert_str_eq(propose("alice", "56:30", other, SPEC, head), "accepted");
	dbt_exec(T.admin,
	    "INSERT INTO axiom.change_request_steps (change_id, step, from_status, to_status, "
	    "actor, event_time, reason, facility_id, domain_id, ledger_topic, ledger_partition, "
	    "ledger_seq) SELECT '%s', 'review', 'submitted', 'reviewed', 'bob', "
	    "'2026-01-01 00:56:30+00', 'x', 'F1', 'QC', 't', 0, n FROM generate_series(1, 10000) "
	    "n",
	    other);
	dbt_exec(T.api, "BEGIN");
	read = dbt_xact_rows_read("change_request_steps");
	/* the check that carol, who approves it, did not review it reads its steps only */
	ck_assert_str_eq(step("approve", "carol", "59:00", c, "'approved'"), "accepted");
	read = dbt_xact_rows_read("change_request_steps") - read;
	dbt_exec(T.api, "ROLLBACK");
	ck_assert_msg(read < 100, "the approval read %d steps", read);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0105-db-change-management");
	TCase *tc = tcase_create("change-management");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_review_gate_path_creates_the_next_version_and_audits_every_step);
	tcase_add_test(tc, test_the_author_cannot_review_approve_or_reject_their_own_change);
	tcase_add_test(tc, test_steps_out_of_order_are_refused);
	tcase_add_test(tc, test_a_change_based_on_an_old_head_is_refused_as_stale);
	tcase_add_test(tc, test_lifecycle_transitions_need_a_manager_and_a_reason);
	tcase_add_test(tc, test_a_signature_is_the_actors_own_with_its_manifestation);
	tcase_add_test(tc, test_an_approval_reads_only_its_changes_steps); /* last: 10,000 rows */
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
