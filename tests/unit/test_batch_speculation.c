/*
 * test_batch_speculation.c - the batch's speculation rule (ax_batch.h, invariant 4): a
 * version built on the head an earlier command of the same batch would leave is sent only
 * when its hash cannot depend on how that earlier command is decided; otherwise the batch is
 * cut before it. ax_batch_speculation is the pure core of complete_element (ax_batch.c, where
 * the argument for the rule is written out); each cut case and each case that is not cut.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "ax_batch.h"

/* new_version of a lineage whose head (speculative or committed) is at version head. */
static struct ax_speculation
new_version(bool speculative, int64_t head, int64_t base)
{
	struct ax_speculation s = { 0 };

	s.on_speculative_head = speculative;
	s.head_found = true;
	s.head_version = head;
	s.base_version = base;
	return s;
}

/* apply_change of a change proposed earlier in the same batch, on base proposal_base. */
static struct ax_speculation
change_proposed_in_batch(bool speculative, int64_t head, int64_t proposal_base)
{
	struct ax_speculation s = new_version(speculative, head, 0);

	s.is_change = true;
	s.change_proposed_in_batch = true;
	s.proposal_has_content = true;
	s.proposal_base_version = proposal_base;
	return s;
}

START_TEST(test_new_version_on_a_speculative_head_at_its_base_is_not_cut)
{
	struct ax_speculation s = new_version(true, 3, 3);

	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
}
END_TEST

START_TEST(test_new_version_on_a_speculative_head_at_another_version_than_its_base_is_cut)
{
	/* the command edits version 2, the batch would have moved the lineage to 3: if the
	 * earlier command is refused the database uses version 2 and another hash */
	struct ax_speculation s = new_version(true, 3, 2);

	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_BASE_NOT_HEAD);
	s = new_version(true, 3, 4);
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_BASE_NOT_HEAD);
}
END_TEST

START_TEST(test_new_version_on_the_committed_head_is_never_cut_whatever_its_base)
{
	/* the committed head does not depend on the batch: a wrong base is the database's
	 * refusal (stale_base), decided alike by a replay */
	struct ax_speculation s = new_version(false, 3, 3);

	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
	s = new_version(false, 3, 1);
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
}
END_TEST

START_TEST(test_new_version_on_a_speculative_head_that_does_not_exist_is_not_cut)
{
	/* no head, no hash claimed: the database refuses it as not_found_or_denied either way */
	struct ax_speculation s = new_version(true, 0, 5);

	s.head_found = false;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
}
END_TEST

START_TEST(test_a_head_another_lookup_did_not_find_is_cut)
{
	/* an earlier command's lookup (its actor, its event time) found no head: the lineage may
	 * exist out of that lookup's sight, so no command of another actor or event time is built
	 * on what it saw, found or not (a create speculated on it), at its base or not */
	struct ax_speculation s = new_version(true, 1, 1);

	s.head_not_found_by_another_lookup = true;
	ck_assert_int_eq(
	    ax_batch_speculation(&s), AX_SPECULATION_CUT_HEAD_NOT_FOUND_BY_ANOTHER_LOOKUP);
	s.head_found = false;
	ck_assert_int_eq(
	    ax_batch_speculation(&s), AX_SPECULATION_CUT_HEAD_NOT_FOUND_BY_ANOTHER_LOOKUP);
	s = change_proposed_in_batch(true, 1, 1);
	s.head_not_found_by_another_lookup = true;
	ck_assert_int_eq(
	    ax_batch_speculation(&s), AX_SPECULATION_CUT_HEAD_NOT_FOUND_BY_ANOTHER_LOOKUP);
	/* the committed head is looked up as the command's own actor: never cut for this */
	s = new_version(false, 1, 1);
	s.head_not_found_by_another_lookup = true;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
}
END_TEST

START_TEST(test_change_proposed_in_the_batch_is_checked_against_the_proposal_base)
{
	struct ax_speculation s = change_proposed_in_batch(true, 4, 4);

	s.base_version = 1; /* the apply_change's own base plays no part */
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
	s = change_proposed_in_batch(true, 4, 3);
	s.base_version = 4;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_BASE_NOT_HEAD);
}
END_TEST

START_TEST(test_change_proposed_in_the_batch_on_the_committed_head_is_not_cut)
{
	struct ax_speculation s = change_proposed_in_batch(false, 4, 2);

	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
}
END_TEST

START_TEST(test_change_proposed_in_the_batch_that_is_already_committed_is_cut)
{
	/* the batch's propose_change will be refused and the committed change applied, whose
	 * base is not known here: cut, on a speculative head or on the committed one */
	struct ax_speculation s = change_proposed_in_batch(true, 4, 4);

	s.change_committed = true;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_CHANGE_COMMITTED);
	s = change_proposed_in_batch(false, 4, 4);
	s.change_committed = true;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_CHANGE_COMMITTED);
}
END_TEST

START_TEST(test_change_proposed_in_the_batch_without_content_is_cut)
{
	struct ax_speculation s = change_proposed_in_batch(false, 4, 4);

	s.proposal_has_content = false;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_PROPOSAL_WITHOUT_CONTENT);
	/* a committed change is named first: it is the reason the content would not be used */
	s.change_committed = true;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_CHANGE_COMMITTED);
}
END_TEST

START_TEST(test_committed_change_applied_on_a_speculative_head_is_cut)
{
	struct ax_speculation s = new_version(true, 4, 4);

	s.is_change = true;
	s.change_committed = true;
	ck_assert_int_eq(
	    ax_batch_speculation(&s), AX_SPECULATION_CUT_COMMITTED_CHANGE_ON_SPECULATIVE_HEAD);
}
END_TEST

START_TEST(test_committed_change_applied_on_the_committed_head_is_not_cut)
{
	struct ax_speculation s = new_version(false, 4, 1);

	s.is_change = true;
	s.change_committed = true;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
}
END_TEST

START_TEST(test_change_found_nowhere_on_a_speculative_head_follows_the_base_rule)
{
	/* neither proposed in the batch nor committed: no hash for the change, the head's
	 * version against the command's own base decides alone */
	struct ax_speculation s = new_version(true, 4, 4);

	s.is_change = true;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_EXACT);
	s.base_version = 3;
	ck_assert_int_eq(ax_batch_speculation(&s), AX_SPECULATION_CUT_BASE_NOT_HEAD);
}
END_TEST

/*
 * The rule stated another way, and checked against every combination: a command is sent
 * exactly when whatever it builds on is known regardless of the batch's earlier outcomes.
 * The head is known when it is the committed one, or when the speculative head rests on
 * no other lookup that found nothing (another actor, another event time) and there is none
 * or it is at the command's effective base; the change is known when the command
 * is not a change, or when it is proposed in this batch (with content, and not committed
 * already), or when it is committed and the head is the committed one, or found nowhere.
 */
START_TEST(test_every_combination_is_cut_exactly_when_the_rule_says)
{
	unsigned bits;

	for (bits = 0; bits < 128; bits++) {
		int64_t head, base, pbase;

		for (head = 1; head <= 3; head++)
			for (base = 1; base <= 3; base++)
				for (pbase = 1; pbase <= 3; pbase++) {
					struct ax_speculation s = { 0 };
					bool change_known, head_known;
					int64_t eff;

					s.on_speculative_head = bits & 1;
					s.head_found = bits & 2;
					s.is_change = bits & 4;
					s.change_proposed_in_batch = (bits & 8) && s.is_change;
					s.proposal_has_content = bits & 16;
					s.change_committed = bits & 32;
					s.head_not_found_by_another_lookup = bits & 64;
					s.head_version = head;
					s.base_version = base;
					s.proposal_base_version = pbase;
					eff = s.change_proposed_in_batch ? pbase : base;
					change_known =
					    !s.is_change ||
					    (s.change_proposed_in_batch
					            ? s.proposal_has_content && !s.change_committed
					            : !(s.change_committed &&
					                  s.on_speculative_head));
					head_known = !s.on_speculative_head ||
					             (!s.head_not_found_by_another_lookup &&
					                 (!s.head_found || head == eff));
					ck_assert_msg(
					    (ax_batch_speculation(&s) == AX_SPECULATION_EXACT) ==
					        (change_known && head_known),
					    "bits %u head %lld base %lld proposal base %lld", bits,
					    (long long)head, (long long)base, (long long)pbase);
				}
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("batch_speculation");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_new_version_on_a_speculative_head_at_its_base_is_not_cut);
	tcase_add_test(
	    tc, test_new_version_on_a_speculative_head_at_another_version_than_its_base_is_cut);
	tcase_add_test(tc, test_new_version_on_the_committed_head_is_never_cut_whatever_its_base);
	tcase_add_test(tc, test_new_version_on_a_speculative_head_that_does_not_exist_is_not_cut);
	tcase_add_test(tc, test_a_head_another_lookup_did_not_find_is_cut);
	tcase_add_test(tc, test_change_proposed_in_the_batch_is_checked_against_the_proposal_base);
	tcase_add_test(tc, test_change_proposed_in_the_batch_on_the_committed_head_is_not_cut);
	tcase_add_test(tc, test_change_proposed_in_the_batch_that_is_already_committed_is_cut);
	tcase_add_test(tc, test_change_proposed_in_the_batch_without_content_is_cut);
	tcase_add_test(tc, test_committed_change_applied_on_a_speculative_head_is_cut);
	tcase_add_test(tc, test_committed_change_applied_on_the_committed_head_is_not_cut);
	tcase_add_test(tc, test_change_found_nowhere_on_a_speculative_head_follows_the_base_rule);
	tcase_add_test(tc, test_every_combination_is_cut_exactly_when_the_rule_says);
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
