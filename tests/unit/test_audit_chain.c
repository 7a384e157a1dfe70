/*
 * test_audit_chain.c - `axiom audit --verify`'s checker (consumers/ax_audit_chain.h) on
 * outcomes built here, each with the ledger hash the database would have computed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ax_audit_chain.h"
#include "ax_canon.h"

#define N 5

static struct ax_message msgs[N];
static uint8_t hashes[N + 1][AX_HASH_LEN]; /* hashes[0]: 32 zero bytes */
static uint8_t payload[AX_HASH_LEN];
static char problems[8][400];
static int nproblems;

static void
on_problem(void *arg, const char *topic, int32_t partition, int64_t seq, int32_t ap, int64_t ao,
    const char *problem)
{
	(void)arg;
	(void)topic;
	(void)partition;
	(void)seq;
	(void)ap;
	(void)ao;
	if (nproblems < 8)
		snprintf(problems[nproblems], sizeof(problems[0]), "%s", problem);
	nproblems++;
}

/* The outcomes seq 1..N of ledger t.commands/0, chained as the database chains them. */
static void
build(void)
{
	struct ax_sha256 *h;
	struct ax_err err;
	int i;

	memset(msgs, 0, sizeof(msgs));
	memset(hashes, 0, sizeof(hashes));
	memset(payload, 0xab, sizeof(payload));
	nproblems = 0;
	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	for (i = 0; i < N; i++) {
		struct ax_audit_outcome *o = &msgs[i].u.outcome;
		struct ax_canon_ledger e;

		msgs[i].family = AX_FAMILY_AUDIT;
		msgs[i].kind = AX_KIND_OUTCOME;
		msgs[i].revision = 2;
		o->topic = "t.commands";
		o->partition = 0;
		o->offset = i;
		o->event_time = 1764403300000000 + i;
		o->command_id[0] = (uint8_t)(i + 1);
		o->decision = i == 2   ? AX_AUDIT_DECISION_REJECTED
		              : i == 3 ? AX_AUDIT_DECISION_QUARANTINED
		                       : AX_AUDIT_DECISION_ACCEPTED;
		o->reason_code = i == 2 ? "insufficient_access_level" : "";
		o->reason_detail = "";
		o->payload_hash.p = i == 3 ? payload : NULL;
		o->payload_hash.len = i == 3 ? sizeof(payload) : 0;
		o->ledger_seq = i + 1;
		o->actor = i == 3 ? NULL : "alice";
		o->previous_entry_hash.p = hashes[i];
		o->previous_entry_hash.len = AX_HASH_LEN;
		memset(&e, 0, sizeof(e));
		e.topic = o->topic;
		e.partition = 0;
		e.seq = i + 1;
		e.offset = i;
		e.has_command_id = 1;
		memcpy(e.command_id, o->command_id, AX_UUID_LEN);
		e.actor = o->actor;
		e.event_time_us = o->event_time;
		e.decision = i == 2 ? "rejected" : i == 3 ? "quarantined" : "accepted";
		e.reason_code = i == 2 ? "insufficient_access_level" : NULL;
		e.record_hash = i == 3 ? payload : NULL;
		e.record_hash_len = i == 3 ? sizeof(payload) : 0;
		memcpy(e.previous_entry_hash, hashes[i], AX_HASH_LEN);
		ck_assert_int_eq(ax_canon_ledger_hash(hashes[i + 1], h, &e, &err), AX_OK);
		o->ledger_hash.p = hashes[i + 1];
		o->ledger_hash.len = AX_HASH_LEN;
	}
	ax_sha256_free(h);
}

/* Feed msgs in the order of idx (n of them); returns the failures counted. */
static int64_t
run(const int *idx, int n)
{
	struct ax_audit_chain *c;
	struct ax_audit_chain_summary s;
	struct ax_err err;
	int i;

	ck_assert_int_eq(ax_audit_chain_new(&c, NULL, on_problem, NULL, &err), AX_OK);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(ax_audit_chain_add(c, 0, i, &msgs[idx[i]], &err), AX_OK);
	ax_audit_chain_finish(c, &s);
	ax_audit_chain_free(c);
	return s.failures;
}

START_TEST(test_an_untouched_chain_holds)
{
	static const int idx[] = { 0, 1, 2, 3, 4 };

	build();
	ck_assert_int_eq(run(idx, 5), 0);
}
END_TEST

START_TEST(test_a_dropped_outcome_is_a_gap)
{
	static const int idx[] = { 0, 1, 3, 4 };

	build();
	ck_assert_int_eq(run(idx, 4), 1); /* one place: the gap (its links are not compared) */
	ck_assert_ptr_nonnull(strstr(problems[0], "missing (dropped)"));
}
END_TEST

START_TEST(test_a_duplicated_outcome_is_named)
{
	static const int idx[] = { 0, 1, 1, 2, 3, 4 };

	build();
	ck_assert_int_ge(run(idx, 6), 1);
	ck_assert_ptr_nonnull(strstr(problems[0], "published twice or out of order"));
}
END_TEST

START_TEST(test_two_swapped_outcomes_are_named)
{
	static const int idx[] = { 0, 2, 1, 3, 4 };

	build();
	ck_assert_int_ge(run(idx, 5), 2);
}
END_TEST

START_TEST(test_a_flipped_decision_no_longer_matches_its_hash)
{
	static const int idx[] = { 0, 1, 2, 3, 4 };

	build();
	msgs[2].u.outcome.decision = AX_AUDIT_DECISION_ACCEPTED;
	ck_assert_int_eq(run(idx, 5), 1);
	ck_assert_ptr_nonnull(strstr(problems[0], "not the hash of the outcome's fields"));
}
END_TEST

START_TEST(test_a_forged_hash_breaks_the_next_link)
{
	static const int idx[] = { 0, 1, 2, 3, 4 };
	uint8_t forged[AX_HASH_LEN];

	build();
	memcpy(forged, hashes[2], AX_HASH_LEN);
	forged[0] ^= 1;
	msgs[1].u.outcome.ledger_hash.p = forged;
	ck_assert_int_eq(run(idx, 5), 2); /* its own hash, then seq 3's previous hash */
}
END_TEST

START_TEST(test_a_revision_1_outcome_cannot_be_verified)
{
	static const int idx[] = { 0, 1, 2, 3, 4 };

	build();
	msgs[4].revision = 1;
	msgs[4].u.outcome.previous_entry_hash.len = 0;
	ck_assert_int_eq(run(idx, 5), 1);
	ck_assert_ptr_nonnull(strstr(problems[0], "cannot be verified"));
}
END_TEST

START_TEST(test_a_checkpoint_must_name_its_outcomes_hash)
{
	struct ax_audit_chain *c;
	struct ax_audit_chain_summary s;
	struct ax_message k;
	struct ax_err err;
	int i;

	build();
	memset(&k, 0, sizeof(k));
	k.kind = AX_KIND_CHECKPOINT;
	k.u.checkpoint.topic = "t.commands";
	k.u.checkpoint.ledger_seq = 3;
	k.u.checkpoint.ledger_hash.p = hashes[2]; /* seq 2's hash, not seq 3's */
	k.u.checkpoint.ledger_hash.len = AX_HASH_LEN;
	ck_assert_int_eq(ax_audit_chain_new(&c, NULL, on_problem, NULL, &err), AX_OK);
	for (i = 0; i < N; i++) {
		if (i == 2)
			ck_assert_int_eq(ax_audit_chain_add(c, 0, 100, &k, &err), AX_OK);
		ck_assert_int_eq(ax_audit_chain_add(c, 0, i, &msgs[i], &err), AX_OK);
	}
	k.u.checkpoint.ledger_seq = 9; /* one whose outcome never comes */
	ck_assert_int_eq(ax_audit_chain_add(c, 0, 101, &k, &err), AX_OK);
	ax_audit_chain_finish(c, &s);
	ax_audit_chain_free(c);
	ck_assert_int_eq(s.checkpoints, 2);
	ck_assert_int_eq(s.failures, 2);
	ck_assert_ptr_nonnull(strstr(problems[0], "names another ledger_hash"));
	ck_assert_ptr_nonnull(strstr(problems[1], "has no outcome on the audit topic"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("audit_chain");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_an_untouched_chain_holds);
	tcase_add_test(tc, test_a_dropped_outcome_is_a_gap);
	tcase_add_test(tc, test_a_duplicated_outcome_is_named);
	tcase_add_test(tc, test_two_swapped_outcomes_are_named);
	tcase_add_test(tc, test_a_flipped_decision_no_longer_matches_its_hash);
	tcase_add_test(tc, test_a_forged_hash_breaks_the_next_link);
	tcase_add_test(tc, test_a_revision_1_outcome_cannot_be_verified);
	tcase_add_test(tc, test_a_checkpoint_must_name_its_outcomes_hash);
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
