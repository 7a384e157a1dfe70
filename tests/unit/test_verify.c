/*
 * test_verify.c - the pure chain checkers of `axiom verify` (consumers/ax_verify.h): record
 * chains, ledger chains and the merge of a partition's log with its ledger, fed rows built
 * in memory with the canonical encoding; each tampering is located and reported once per
 * chain, and the next chain is checked afresh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_canon.h"
#include "ax_verify.h"

#define NV 4

/* A lineage of NV valid versions, rows pointing into the struct. */
struct lineage {
	struct ax_verify_version v[NV];
	uint8_t hash[NV][AX_HASH_LEN];
	uint8_t content[NV][8];
};

static void
make_lineage(struct lineage *l, uint8_t tag)
{
	struct ax_sha256 *h = NULL;
	struct ax_canon_record c;
	struct ax_err err;
	int i;

	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	memset(l, 0, sizeof(*l));
	for (i = 0; i < NV; i++) {
		struct ax_verify_version *v = &l->v[i];

		memset(v->id, tag, AX_UUID_LEN);
		memset(v->record_id, tag, AX_UUID_LEN);
		v->record_id[15] = (uint8_t)(i + 1);
		v->version = i + 1;
		if (i > 0) {
			v->has_previous_record_id = 1;
			memcpy(v->previous_record_id, l->v[i - 1].record_id, AX_UUID_LEN);
			v->previous_record_hash = l->hash[i - 1];
			v->previous_record_hash_len = AX_HASH_LEN;
		}
		v->record_type = "note";
		v->facility_id = "F1";
		v->domain_id = "QC";
		v->title = "title";
		memset(l->content[i], 'a' + i, sizeof(l->content[i]));
		v->content = l->content[i];
		v->content_len = sizeof(l->content[i]);
		v->created_by = "alice";
		v->created_at_us = 1767225600000000LL + i;
		memset(&c, 0, sizeof(c));
		memcpy(c.record_id, v->record_id, AX_UUID_LEN);
		memcpy(c.id, v->id, AX_UUID_LEN);
		c.version = v->version;
		c.has_previous = i > 0;
		if (i > 0) {
			memcpy(c.previous_record_id, v->previous_record_id, AX_UUID_LEN);
			memcpy(c.previous_record_hash, l->hash[i - 1], AX_HASH_LEN);
		}
		c.record_type = v->record_type;
		c.facility_id = v->facility_id;
		c.domain_id = v->domain_id;
		c.title = v->title;
		c.content = v->content;
		c.content_len = v->content_len;
		c.created_by = v->created_by;
		c.created_at_us = v->created_at_us;
		ck_assert_int_eq(ax_canon_record_hash(l->hash[i], h, &c, &err), AX_OK);
		v->record_hash = l->hash[i];
		v->record_hash_len = AX_HASH_LEN;
	}
	ax_sha256_free(h);
}

/* Feed every version of l; the number of failures reported, the last in *f. */
static int
feed_lineage(
    struct ax_verify_records *v, const struct lineage *l, int skip, struct ax_verify_failure *f)
{
	struct ax_err err;
	int i, n = 0, rc;

	for (i = 0; i < NV; i++) {
		if (i == skip)
			continue;
		rc = ax_verify_records_feed(v, &l->v[i], f, &err);
		ck_assert_msg(rc == AX_OK || rc == AX_VERIFY_BROKEN, "%s", err.msg);
		n += rc == AX_VERIFY_BROKEN;
	}
	return n;
}

START_TEST(test_valid_lineages_verify_and_are_counted)
{
	struct ax_verify_records *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct lineage a, b;

	make_lineage(&a, 0x11);
	make_lineage(&b, 0x22);
	ck_assert_int_eq(ax_verify_records_new(&v, &err), AX_OK);
	ck_assert_int_eq(feed_lineage(v, &a, -1, &f), 0);
	ck_assert_int_eq(feed_lineage(v, &b, -1, &f), 0);
	ck_assert_int_eq(ax_verify_records_counts(v).chains, 2);
	ck_assert_int_eq(ax_verify_records_counts(v).rows, 2 * NV);
	ck_assert_int_eq(ax_verify_records_counts(v).broken, 0);
	ax_verify_records_free(v);
	ax_verify_records_free(NULL);
}
END_TEST

START_TEST(test_a_changed_byte_is_reported_once_at_its_version_and_the_next_lineage_is_fresh)
{
	struct ax_verify_records *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct lineage a, b;
	char line[1024];

	make_lineage(&a, 0x11);
	make_lineage(&b, 0x22);
	a.content[1][3] ^= 0x01;
	ck_assert_int_eq(ax_verify_records_new(&v, &err), AX_OK);
	ck_assert_int_eq(feed_lineage(v, &a, -1, &f), 1);
	ck_assert_int_eq(f.position, 2);
	ck_assert_str_eq(f.problem, "record_hash does not match the stored columns");
	ck_assert_str_eq(f.lineage, "11111111-1111-1111-1111-111111111111");
	ck_assert_str_eq(f.record_id, "11111111-1111-1111-1111-111111111102");
	ax_verify_failure_format(line, sizeof(line), &f);
	ck_assert_str_eq(line,
	    "axiom.records lineage 11111111-1111-1111-1111-111111111111 version 2 (record_id "
	    "11111111-1111-1111-1111-111111111102): record_hash does not match the stored columns");
	ck_assert_int_eq(feed_lineage(v, &b, -1, &f), 0);
	ck_assert_int_eq(ax_verify_records_counts(v).broken, 1);
	ax_verify_records_free(v);
}
END_TEST

START_TEST(test_a_missing_middle_or_first_version_is_named)
{
	struct ax_verify_records *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct lineage a, b;

	make_lineage(&a, 0x11);
	make_lineage(&b, 0x22);
	ck_assert_int_eq(ax_verify_records_new(&v, &err), AX_OK);
	ck_assert_int_eq(feed_lineage(v, &a, 1, &f), 1);
	ck_assert_int_eq(f.position, 2);
	ck_assert_str_eq(f.problem, "version 2 is missing (the next stored version is 3)");
	ck_assert_str_eq(f.record_id, "");
	ck_assert_int_eq(feed_lineage(v, &b, 0, &f), 1);
	ck_assert_int_eq(f.position, 1);
	ck_assert_str_eq(f.problem, "version 1 is missing (the next stored version is 2)");
	ax_verify_records_free(v);
}
END_TEST

START_TEST(test_a_relinked_forgery_breaks_the_link_of_the_next_version)
{
	struct ax_verify_records *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct lineage a;

	make_lineage(&a, 0x11);
	/* version 2 forged and re-hashed consistently: its own hash matches ... */
	a.v[1].title = "forged";
	{
		struct lineage tmp = a;
		struct ax_sha256 *h = NULL;
		struct ax_canon_record c;

		memset(&c, 0, sizeof(c));
		memcpy(c.record_id, tmp.v[1].record_id, AX_UUID_LEN);
		memcpy(c.id, tmp.v[1].id, AX_UUID_LEN);
		c.version = 2;
		c.has_previous = 1;
		memcpy(c.previous_record_id, tmp.v[0].record_id, AX_UUID_LEN);
		memcpy(c.previous_record_hash, a.hash[0], AX_HASH_LEN);
		c.record_type = "note";
		c.facility_id = "F1";
		c.domain_id = "QC";
		c.title = "forged";
		c.content = a.content[1];
		c.content_len = sizeof(a.content[1]);
		c.created_by = "alice";
		c.created_at_us = a.v[1].created_at_us;
		ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
		ck_assert_int_eq(ax_canon_record_hash(a.hash[1], h, &c, &err), AX_OK);
		ax_sha256_free(h);
	}
	/* ... but version 3 still names the old hash */
	{
		static uint8_t old[AX_HASH_LEN];
		struct lineage orig;

		make_lineage(&orig, 0x11);
		memcpy(old, orig.hash[1], AX_HASH_LEN);
		a.v[2].previous_record_hash = old;
	}
	ck_assert_int_eq(ax_verify_records_new(&v, &err), AX_OK);
	ck_assert_int_eq(feed_lineage(v, &a, -1, &f), 1);
	ck_assert_int_eq(f.position, 3);
	ck_assert_str_eq(f.problem, "previous_record_hash is not the record_hash of version 2");
	ax_verify_records_free(v);
}
END_TEST

START_TEST(test_version_one_with_a_predecessor_and_a_wrong_previous_id_are_refused)
{
	struct ax_verify_records *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct lineage a, b;

	make_lineage(&a, 0x11);
	make_lineage(&b, 0x22);
	a.v[0].has_previous_record_id = 1;
	b.v[2].previous_record_id[0] ^= 1;
	ck_assert_int_eq(ax_verify_records_new(&v, &err), AX_OK);
	ck_assert_int_eq(feed_lineage(v, &a, -1, &f), 1);
	ck_assert_str_eq(f.problem, "version 1 has a previous_record_id");
	ck_assert_int_eq(feed_lineage(v, &b, -1, &f), 1);
	ck_assert_int_eq(f.position, 3);
	ck_assert_str_eq(f.problem, "previous_record_id is not the record_id of version 2");
	ax_verify_records_free(v);
}
END_TEST

/* Record chains in any order -------------------------------------------------------------- */

#define MAXROWS 6

/* The failure of the rows[0..n) of one lineage fed in that order to the ordered checker. */
static void
ordered_lines(const struct ax_verify_version *const *rows, int n, char *out, size_t cap)
{
	struct ax_verify_records *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	int i;

	out[0] = '\0';
	ck_assert_int_eq(ax_verify_records_new(&v, &err), AX_OK);
	for (i = 0; i < n; i++)
		if (ax_verify_records_feed(v, rows[i], &f, &err) == AX_VERIFY_BROKEN)
			ax_verify_failure_format(out, cap, &f);
	ax_verify_records_free(v);
}

/* Collect the reported line into arg (a buffer of 1024 bytes). */
static void
keep_line(void *arg, const struct ax_verify_failure *f)
{
	ax_verify_failure_format(arg, 1024, f);
}

/* The failure of rows[0..n) fed to the unordered checker in the order perm[]. */
static void
unordered_lines(const struct ax_verify_version *const *rows, const int *perm, int n, char *out)
{
	struct ax_verify_unordered *u = NULL;
	struct ax_err err;
	int i;

	out[0] = '\0';
	ck_assert_int_eq(ax_verify_unordered_new(&u, &err), AX_OK);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(ax_verify_unordered_feed(u, rows[perm[i]], &err), AX_OK);
	ck_assert_int_eq(ax_verify_unordered_finish(u, keep_line, out, &err), AX_OK);
	ck_assert_int_eq(ax_verify_unordered_counts(u).rows, n);
	ck_assert_int_eq(ax_verify_unordered_counts(u).chains, 1);
	ck_assert_int_eq(ax_verify_unordered_counts(u).broken, out[0] != '\0');
	ax_verify_unordered_free(u);
}

/* Every order of rows[0..n) (sorted by version) gives the unordered checker want. */
static void
every_order(const struct ax_verify_version *const *rows, int n, const char *want)
{
	int perm[MAXROWS], c[MAXROWS], i = 0, k, t, orders = 0;
	char got[1024];

	for (k = 0; k < n; k++) {
		perm[k] = k;
		c[k] = 0;
	}
	unordered_lines(rows, perm, n, got);
	ck_assert_str_eq(got, want);
	while (i < n) { /* Heap's algorithm */
		if (c[i] < i) {
			k = i % 2 == 0 ? 0 : c[i];
			t = perm[k];
			perm[k] = perm[i];
			perm[i] = t;
			unordered_lines(rows, perm, n, got);
			ck_assert_msg(strcmp(got, want) == 0, "order %d: got \"%s\", want \"%s\"",
			    orders, got, want);
			orders++;
			c[i]++;
			i = 0;
		} else {
			c[i++] = 0;
		}
	}
}

START_TEST(test_the_unordered_checker_finds_what_the_ordered_one_finds_in_any_order)
{
	const struct ax_verify_version *rows[MAXROWS];
	struct lineage a;
	char want[1024];
	int i, n, scenario;

	for (scenario = 0; scenario < 9; scenario++) {
		make_lineage(&a, 0x33);
		n = 0;
		for (i = 0; i < NV; i++)
			rows[n++] = &a.v[i];
		switch (scenario) {
		case 1: /* a changed byte */
			a.content[1][0] ^= 1;
			break;
		case 2: /* a missing middle version */
			rows[1] = rows[2];
			rows[2] = rows[3];
			n--;
			break;
		case 3: /* a missing first version */
			memmove(rows, rows + 1, 3 * sizeof(*rows));
			n--;
			break;
		case 4: /* version 1 with a predecessor */
			a.v[0].has_previous_record_id = 1;
			break;
		case 5: /* a wrong previous id */
			a.v[2].previous_record_id[0] ^= 1;
			break;
		case 6: /* version 2 twice */
			memmove(rows + 2, rows + 1, 3 * sizeof(*rows));
			n++;
			break;
		case 7: /* version 2 twice, and a changed byte in version 3 */
			memmove(rows + 2, rows + 1, 3 * sizeof(*rows));
			n++;
			a.content[2][0] ^= 1;
			break;
		case 8: /* a previous hash of another length, and a missing last version */
			a.v[2].previous_record_hash_len = 31;
			n--;
			break;
		default:
			break;
		}
		ordered_lines(rows, n, want, sizeof(want));
		ck_assert_msg(
		    (scenario == 0) == (want[0] == '\0'), "scenario %d: %s", scenario, want);
		every_order(rows, n, want);
	}
}
END_TEST

START_TEST(test_the_unordered_checker_keeps_lineages_apart_and_reports_them_by_id)
{
	struct ax_verify_unordered *u = NULL;
	struct lineage a, b;
	struct ax_err err;
	char got[1024];
	int i;

	make_lineage(&a, 0x44);
	make_lineage(&b, 0x22);
	b.content[3][0] ^= 1;
	ck_assert_int_eq(ax_verify_unordered_new(&u, &err), AX_OK);
	for (i = NV - 1; i >= 0; i--) { /* newest first: every version waits */
		ck_assert_int_eq(ax_verify_unordered_feed(u, &a.v[i], &err), AX_OK);
		ck_assert_int_eq(ax_verify_unordered_feed(u, &b.v[i], &err), AX_OK);
	}
	ck_assert_uint_eq(ax_verify_unordered_early_max(u), 2 * (NV - 1));
	ck_assert_int_eq(ax_verify_unordered_finish(u, keep_line, got, &err), AX_OK);
	ck_assert_str_eq(got,
	    "axiom.records lineage 22222222-2222-2222-2222-222222222222 version 4 (record_id "
	    "22222222-2222-2222-2222-222222222204): record_hash does not match the stored columns");
	ck_assert_int_eq(ax_verify_unordered_counts(u).chains, 2);
	ck_assert_int_eq(ax_verify_unordered_counts(u).rows, 2 * NV);
	ck_assert_int_eq(ax_verify_unordered_counts(u).broken, 1);
	ax_verify_unordered_free(u);
	ax_verify_unordered_free(NULL);
}
END_TEST

/* Ledger ---------------------------------------------------------------------------------- */

#define NE 5

struct chain {
	struct ax_verify_entry e[NE];
	uint8_t hash[NE][AX_HASH_LEN];
	uint8_t prev[NE][AX_HASH_LEN];
};

static void
make_chain(struct chain *c, const char *topic, int32_t partition, const int64_t *offsets)
{
	struct ax_sha256 *h = NULL;
	struct ax_canon_ledger l;
	struct ax_err err;
	int i;

	ck_assert_int_eq(ax_sha256_new(&h, &err), AX_OK);
	memset(c, 0, sizeof(*c));
	for (i = 0; i < NE; i++) {
		struct ax_verify_entry *e = &c->e[i];

		e->topic = topic;
		e->partition = partition;
		e->seq = i + 1;
		e->offset = offsets[i];
		e->actor = i == 2 ? NULL : "alice";
		e->event_time_us = 1767225600000000LL + i;
		e->decision = i == 1 ? "rejected" : "accepted";
		e->reason_code = i == 1 ? "insufficient_access_level" : NULL;
		if (i > 0)
			memcpy(c->prev[i], c->hash[i - 1], AX_HASH_LEN);
		e->previous_entry_hash = c->prev[i];
		e->previous_entry_hash_len = AX_HASH_LEN;
		memset(&l, 0, sizeof(l));
		l.topic = topic;
		l.partition = partition;
		l.seq = e->seq;
		l.offset = e->offset;
		l.actor = e->actor;
		l.event_time_us = e->event_time_us;
		l.decision = e->decision;
		l.reason_code = e->reason_code;
		memcpy(l.previous_entry_hash, c->prev[i], AX_HASH_LEN);
		ck_assert_int_eq(ax_canon_ledger_hash(c->hash[i], h, &l, &err), AX_OK);
		e->entry_hash = c->hash[i];
		e->entry_hash_len = AX_HASH_LEN;
	}
	ax_sha256_free(h);
}

static int
feed_chain(struct ax_verify_ledger *v, const struct ax_verify_entry *const *rows, int n,
    struct ax_verify_failure *f)
{
	struct ax_err err;
	int i, broken = 0, rc;

	for (i = 0; i < n; i++) {
		rc = ax_verify_ledger_feed(v, rows[i], f, &err);
		ck_assert_msg(rc == AX_OK || rc == AX_VERIFY_BROKEN, "%s", err.msg);
		broken += rc == AX_VERIFY_BROKEN;
	}
	return broken;
}

static const int64_t offsets_ok[NE] = { 0, 1, 3, 4, 7 };

START_TEST(test_a_valid_ledger_chain_verifies)
{
	struct ax_verify_ledger *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct chain a, b;
	const struct ax_verify_entry *rows[2 * NE];
	int i;

	make_chain(&a, "t.commands", 0, offsets_ok);
	make_chain(&b, "t.commands", 1, offsets_ok);
	for (i = 0; i < NE; i++) {
		rows[i] = &a.e[i];
		rows[NE + i] = &b.e[i];
	}
	ck_assert_int_eq(ax_verify_ledger_new(&v, &err), AX_OK);
	ck_assert_int_eq(feed_chain(v, rows, 2 * NE, &f), 0);
	ck_assert_int_eq(ax_verify_ledger_counts(v).chains, 2);
	ck_assert_int_eq(ax_verify_ledger_counts(v).rows, 2 * NE);
	ax_verify_ledger_free(v);
	ax_verify_ledger_free(NULL);
}
END_TEST

START_TEST(test_swapped_rows_a_dropped_rejection_and_a_swapped_hash_are_located)
{
	struct ax_verify_ledger *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct chain a, b, c;
	const struct ax_verify_entry *rows[NE];
	char line[1024];
	int64_t s;

	make_chain(&a, "t.commands", 0, offsets_ok);
	make_chain(&b, "t.commands", 1, offsets_ok);
	make_chain(&c, "t.commands", 2, offsets_ok);
	ck_assert_int_eq(ax_verify_ledger_new(&v, &err), AX_OK);
	/* partition 0: seq of entries 2 and 3 swapped */
	s = a.e[1].seq;
	a.e[1].seq = a.e[2].seq;
	a.e[2].seq = s;
	rows[0] = &a.e[0];
	rows[1] = &a.e[2];
	rows[2] = &a.e[1];
	rows[3] = &a.e[3];
	rows[4] = &a.e[4];
	ck_assert_int_eq(feed_chain(v, rows, NE, &f), 1);
	ck_assert_int_eq(f.position, 2);
	ck_assert_str_eq(f.problem, "previous_entry_hash is not the entry_hash of entry 1");
	ax_verify_failure_format(line, sizeof(line), &f);
	ck_assert_str_eq(line, "axiom.ledger t.commands partition 0 seq 2: previous_entry_hash is "
	                       "not the entry_hash of entry 1");
	/* partition 1: the rejection (seq 2) dropped */
	rows[0] = &b.e[0];
	rows[1] = &b.e[2];
	rows[2] = &b.e[3];
	ck_assert_int_eq(feed_chain(v, rows, 3, &f), 1);
	ck_assert_int_eq(f.partition, 1);
	ck_assert_int_eq(f.position, 2);
	ck_assert_str_eq(f.problem, "entry 2 is missing (the next stored entry is 3, offset 3)");
	/* partition 2: entry_hash of seq 4 replaced by seq 5's */
	c.e[3].entry_hash = c.hash[4];
	for (s = 0; s < NE; s++)
		rows[s] = &c.e[s];
	ck_assert_int_eq(feed_chain(v, rows, NE, &f), 1);
	ck_assert_int_eq(f.position, 4);
	ck_assert_str_eq(f.problem, "entry_hash does not match the stored columns");
	ck_assert_int_eq(ax_verify_ledger_counts(v).broken, 3);
	ax_verify_ledger_free(v);
}
END_TEST

/* The failure of rows[0..n) (in seq order) fed to the ordered ledger checker, as a line. */
static void
ledger_ordered_line(const struct ax_verify_entry *const *rows, int n, char *out)
{
	struct ax_verify_ledger *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	int i;

	out[0] = '\0';
	ck_assert_int_eq(ax_verify_ledger_new(&v, &err), AX_OK);
	for (i = 0; i < n; i++)
		if (ax_verify_ledger_feed(v, rows[i], &f, &err) == AX_VERIFY_BROKEN)
			ax_verify_failure_format(out, 1024, &f);
	ax_verify_ledger_free(v);
}

/* The failure of rows[0..n) fed to the unordered ledger checker in the order perm[]. */
static void
ledger_unordered_line(const struct ax_verify_entry *const *rows, const int *perm, int n, char *out)
{
	struct ax_verify_ledger_unordered *u = NULL;
	struct ax_err err;
	int i;

	out[0] = '\0';
	ck_assert_int_eq(ax_verify_ledger_unordered_new(&u, &err), AX_OK);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(ax_verify_ledger_unordered_feed(u, rows[perm[i]], &err), AX_OK);
	ck_assert_int_eq(ax_verify_ledger_unordered_finish(u, keep_line, out, &err), AX_OK);
	ck_assert_int_eq(ax_verify_ledger_unordered_counts(u).rows, n);
	ck_assert_int_eq(ax_verify_ledger_unordered_counts(u).broken, out[0] != '\0');
	ax_verify_ledger_unordered_free(u);
}

START_TEST(test_the_unordered_ledger_checker_finds_what_the_ordered_one_finds_in_any_order)
{
	const struct ax_verify_entry *rows[NE + 1];
	int perm[NE + 1], c[NE + 1], i, k, t, n, scenario;
	char want[1024], got[1024];
	struct chain a;
	int64_t s;

	for (scenario = 0; scenario < 8; scenario++) {
		make_chain(&a, "t.commands", 0, offsets_ok);
		for (n = 0; n < NE; n++)
			rows[n] = &a.e[n];
		switch (scenario) {
		case 1: /* entries 2 and 3 swap their seq */
			s = a.e[1].seq;
			a.e[1].seq = a.e[2].seq;
			a.e[2].seq = s;
			rows[1] = &a.e[2];
			rows[2] = &a.e[1];
			break;
		case 2: /* the rejection (seq 2) dropped */
			memmove(rows + 1, rows + 2, 3 * sizeof(*rows));
			n--;
			break;
		case 3: /* entry_hash of seq 4 replaced by seq 5's */
			a.e[3].entry_hash = a.hash[4];
			break;
		case 4: /* an offset that does not increase, hashes recomputed would not help */
			a.e[3].offset = a.e[2].offset;
			break;
		case 5: /* entry 3 twice */
			memmove(rows + 3, rows + 2, 3 * sizeof(*rows));
			n++;
			break;
		case 6: /* the first entry names a predecessor */
			a.prev[0][0] = 1;
			break;
		case 7: /* the first entry dropped */
			memmove(rows, rows + 1, 4 * sizeof(*rows));
			n--;
			break;
		default:
			break;
		}
		ledger_ordered_line(rows, n, want);
		ck_assert_msg(
		    (scenario == 0) == (want[0] == '\0'), "scenario %d: %s", scenario, want);
		for (k = 0; k < n; k++) {
			perm[k] = k;
			c[k] = 0;
		}
		ledger_unordered_line(rows, perm, n, got);
		ck_assert_str_eq(got, want);
		for (i = 0; i < n;) { /* every other order (Heap's algorithm) */
			if (c[i] < i) {
				k = i % 2 == 0 ? 0 : c[i];
				t = perm[k];
				perm[k] = perm[i];
				perm[i] = t;
				ledger_unordered_line(rows, perm, n, got);
				ck_assert_msg(strcmp(got, want) == 0,
				    "scenario %d: got \"%s\", want \"%s\"", scenario, got, want);
				c[i]++;
				i = 0;
			} else {
				c[i++] = 0;
			}
		}
	}
}
END_TEST

START_TEST(test_offsets_that_do_not_increase_are_refused_even_with_valid_hashes)
{
	static const int64_t bad[NE] = { 0, 5, 5, 6, 7 };
	struct ax_verify_ledger *v = NULL;
	struct ax_verify_failure f;
	struct ax_err err;
	struct chain a;
	const struct ax_verify_entry *rows[NE];
	int i;

	make_chain(&a, "t.control", 0, bad);
	for (i = 0; i < NE; i++)
		rows[i] = &a.e[i];
	ck_assert_int_eq(ax_verify_ledger_new(&v, &err), AX_OK);
	ck_assert_int_eq(feed_chain(v, rows, NE, &f), 1);
	ck_assert_int_eq(f.position, 3);
	ck_assert_str_eq(f.problem, "offset 5 is not after offset 5 of entry 2");
	ax_verify_ledger_free(v);
}
END_TEST

/* Log merge ------------------------------------------------------------------------------- */

struct arr {
	const int64_t *v;
	const int64_t *seq;
	int n, i;
	const uint8_t (*hash)[AX_HASH_LEN]; /* per item, NULL: none; an all-zero one: unknown */
};

static int
arr_next(void *arg, int64_t *offset, int64_t *seq, struct ax_err *err)
{
	struct arr *a = arg;

	(void)err;
	if (a->i >= a->n)
		return 0;
	*offset = a->v[a->i];
	*seq = a->seq ? a->seq[a->i] : 0;
	a->i++;
	return 1;
}

/* The payload hash of the item arr_next returned last. */
static const uint8_t *
arr_hash(void *arg)
{
	static const uint8_t unknown[AX_HASH_LEN];
	struct arr *a = arg;

	if (a->hash == NULL || a->i == 0 || memcmp(a->hash[a->i - 1], unknown, AX_HASH_LEN) == 0)
		return NULL;
	return a->hash[a->i - 1];
}

static struct ax_verify_failure last;
static int reports;

static void
collect(void *arg, const struct ax_verify_failure *f)
{
	(void)arg;
	last = *f;
	reports++;
}

/* Merge ledger offsets l[0..nl) with log offsets k[0..nk); returns the result. */
static struct ax_verify_log_result
merge(const int64_t *l, int nl, const int64_t *k, int nk, int64_t start, int64_t next, int64_t end)
{
	static const int64_t seqs[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	struct arr la = { l, seqs, nl, 0, NULL }, ka = { k, NULL, nk, 0, NULL };
	struct ax_verify_source ls = { arr_next, &la, NULL }, ks = { arr_next, &ka, NULL };
	struct ax_verify_log_result res;
	struct ax_err err;

	reports = 0;
	memset(&last, 0, sizeof(last));
	ck_assert_int_eq(ax_verify_log_partition("t.commands", 0, start, next, &ls, &ks, &end,
	                     collect, NULL, &res, &err),
	    AX_OK);
	ck_assert_int_eq(reports, res.broken ? 1 : 0);
	return res;
}

START_TEST(test_log_offsets_with_transaction_gaps_match_their_ledger_entries)
{
	static const int64_t log[] = { 0, 1, 3, 4, 6 }; /* 2 and 5 are commit markers */
	struct ax_verify_log_result r = merge(log, 5, log, 5, 0, 7, 7);

	ck_assert(!r.broken);
	ck_assert_int_eq(r.matched, 5);
	ck_assert_int_eq(r.log_offsets, 5);
}
END_TEST

START_TEST(test_a_payload_hash_that_is_not_the_message_hash_is_named)
{
	static const int64_t offs[] = { 0, 1, 3 }, seqs[] = { 1, 2, 3 };
	/* entry 1 predates db/0024 (unknown), entry 2 agrees, entry 3 differs */
	static const uint8_t lh[3][AX_HASH_LEN] = { { 0 }, { 7, 7 }, { 9 } },
	                     kh[3][AX_HASH_LEN] = { { 5 }, { 7, 7 }, { 8 } };
	struct arr la = { offs, seqs, 3, 0, lh }, ka = { offs, NULL, 3, 0, kh };
	struct ax_verify_source ls = { arr_next, &la, arr_hash }, ks = { arr_next, &ka, arr_hash };
	struct ax_verify_log_result res;
	int64_t end = 4;
	struct ax_err err;

	reports = 0;
	ck_assert_int_eq(ax_verify_log_partition(
	                     "t.commands", 0, 0, 4, &ls, &ks, &end, collect, NULL, &res, &err),
	    AX_OK);
	ck_assert(res.broken);
	ck_assert_int_eq(reports, 1);
	ck_assert_int_eq(res.matched, 3);
	ck_assert_int_eq(res.payload_checked, 2);
	ck_assert_int_eq(res.payload_differs, 1);
	ck_assert_int_eq(last.position, 3);
	ck_assert_str_eq(last.problem,
	    "ledger entry 3 has a payload_hash that is not the SHA-256 of the message at offset 3");
}
END_TEST

START_TEST(test_a_log_offset_without_entry_and_an_entry_without_offset_are_named)
{
	static const int64_t log[] = { 0, 1, 3, 4, 6 };
	static const int64_t missing[] = { 0, 1, 4, 6 };
	static const int64_t marker[] = { 0, 1, 2, 3, 4, 6 };
	static const int64_t beyond[] = { 0, 1, 3, 4, 6, 9 };
	static const int64_t twice[] = { 0, 1, 1, 3, 4, 6 };
	static const int64_t below[] = { 0, 1, 3, 4, 6 };
	struct ax_verify_log_result r;

	r = merge(missing, 4, log, 5, 0, 7, 7);
	ck_assert(r.broken);
	ck_assert_int_eq(r.missing_entries, 1);
	ck_assert_int_eq(last.position, 3);
	ck_assert_str_eq(last.problem, "offset 3 is in the log but has no ledger entry");

	r = merge(marker, 6, log, 5, 0, 7, 7);
	ck_assert_int_eq(r.stray_entries, 1);
	ck_assert_int_eq(last.position, 2);
	ck_assert_str_eq(
	    last.problem, "ledger entry 3 refers to offset 2, which is not in the log");

	r = merge(beyond, 6, log, 5, 0, 7, 7);
	ck_assert_str_eq(last.problem,
	    "ledger entry 6 refers to offset 9, at or after the stored next offset 7");

	r = merge(twice, 6, log, 5, 0, 7, 7);
	ck_assert_int_eq(last.position, 1);
	ck_assert_str_eq(last.problem, "offset 1 has more than one ledger entry (seq 2 and 3)");

	r = merge(below, 5, log + 2, 3, 3, 7, 7); /* the log starts at 3 */
	ck_assert_int_eq(last.position, 0);
	ck_assert_str_eq(
	    last.problem, "ledger entry 1 refers to offset 0, below the log start offset 3");
	ck_assert_int_eq(r.stray_entries, 2);

	r = merge(log, 5, log, 5, 0, 12, 7); /* stored next offset past the log end */
	ck_assert(r.broken);
	ck_assert_int_eq(last.position, 12);
	ck_assert_str_eq(
	    last.problem, "the stored next offset 12 is beyond the end of the log (offset 7)");

	r = merge(log, 2, NULL, 0, 0, -1, 7); /* entries but no stored next offset */
	ck_assert_str_eq(last.problem,
	    "ledger entry 1 refers to offset 0, but no next offset is stored for the partition");
}
END_TEST

START_TEST(test_the_synthetic_benchmark_verifies_its_own_chain)
{
	struct ax_err err;
	double rate, seconds;

	ck_assert_int_eq(ax_verify_bench_records(2000, 64, &rate, &seconds, &err), AX_OK);
	ck_assert(rate > 0);
	ck_assert_int_eq(ax_verify_bench_records(0, 64, &rate, &seconds, &err), AX_EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("verify");
	TCase *tr = tcase_create("records"), *tl = tcase_create("ledger"),
	      *tk = tcase_create("log");
	SRunner *sr;
	int failed;

	tcase_add_test(tr, test_valid_lineages_verify_and_are_counted);
	tcase_add_test(
	    tr, test_a_changed_byte_is_reported_once_at_its_version_and_the_next_lineage_is_fresh);
	tcase_add_test(tr, test_a_missing_middle_or_first_version_is_named);
	tcase_add_test(tr, test_a_relinked_forgery_breaks_the_link_of_the_next_version);
	tcase_add_test(tr, test_version_one_with_a_predecessor_and_a_wrong_previous_id_are_refused);
	tcase_add_test(
	    tr, test_the_unordered_checker_finds_what_the_ordered_one_finds_in_any_order);
	tcase_add_test(tr, test_the_unordered_checker_keeps_lineages_apart_and_reports_them_by_id);
	tcase_add_test(tr, test_the_synthetic_benchmark_verifies_its_own_chain);
	tcase_add_test(tl, test_a_valid_ledger_chain_verifies);
	tcase_add_test(
	    tl, test_the_unordered_ledger_checker_finds_what_the_ordered_one_finds_in_any_order);
	tcase_add_test(tl, test_swapped_rows_a_dropped_rejection_and_a_swapped_hash_are_located);
	tcase_add_test(tl, test_offsets_that_do_not_increase_are_refused_even_with_valid_hashes);
	tcase_add_test(tk, test_log_offsets_with_transaction_gaps_match_their_ledger_entries);
	tcase_add_test(tk, test_a_log_offset_without_entry_and_an_entry_without_offset_are_named);
	tcase_add_test(tk, test_a_payload_hash_that_is_not_the_message_hash_is_named);
	suite_add_tcase(s, tr);
	suite_add_tcase(s, tl);
	suite_add_tcase(s, tk);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
