/*
 * ax_audit_chain.c - the audit topic checked from its messages alone; see ax_audit_chain.h.
 */
#include "ax_audit_chain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_canon.h"
#include "ax_checkpoint.h"

#define PENDING_MAX 64 /* checkpoints of one ledger waiting for their outcome */

/* A checkpoint seen before the outcome of its seq (the relay publishes it just before). */
struct pending {
	int64_t seq;
	uint8_t hash[AX_HASH_LEN];
	int32_t audit_partition;
	int64_t audit_offset;
};

/* One ledger's state: the last outcome's seq and ledger_hash. */
struct ledger {
	char topic[256];
	int32_t partition;
	int64_t seq;
	uint8_t hash[AX_HASH_LEN];
	struct pending pending[PENDING_MAX];
	size_t npending;
};

struct ax_audit_chain {
	bool has_pub;
	uint8_t pub[AX_CHECKPOINT_PUB_LEN];
	uint8_t key_id[16];
	ax_audit_chain_report_fn report;
	void *arg;
	struct ax_sha256 *sha;
	struct ledger *l;
	size_t n, cap;
	struct ax_audit_chain_summary sum;
};

int
ax_audit_chain_new(struct ax_audit_chain **out, const uint8_t *pub, ax_audit_chain_report_fn report,
    void *arg, struct ax_err *err)
{
	struct ax_audit_chain *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	if ((rc = ax_sha256_new(&c->sha, err)) != AX_OK) {
		free(c);
		return rc;
	}
	if (pub != NULL) {
		c->has_pub = true;
		memcpy(c->pub, pub, AX_CHECKPOINT_PUB_LEN);
		ax_checkpoint_key_id_of(c->key_id, pub);
	}
	c->report = report;
	c->arg = arg;
	*out = c;
	return AX_OK;
}

void
ax_audit_chain_free(struct ax_audit_chain *c)
{
	if (c == NULL)
		return;
	ax_sha256_free(c->sha);
	free(c->l);
	free(c);
}

/* The state of ledger (topic, partition), made on first sight; NULL when out of memory. */
static struct ledger *
ledger_of(struct ax_audit_chain *c, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->l[i].partition == partition && strcmp(c->l[i].topic, topic) == 0)
			return &c->l[i];
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		struct ledger *g = realloc(c->l, nc * sizeof(*g));

		if (g == NULL)
			return NULL;
		c->l = g;
		c->cap = nc;
	}
	memset(&c->l[c->n], 0, sizeof(c->l[c->n]));
	snprintf(c->l[c->n].topic, sizeof(c->l[c->n].topic), "%s", topic);
	c->l[c->n].partition = partition;
	c->sum.ledgers++;
	return &c->l[c->n++];
}

static void fail(struct ax_audit_chain *c, const struct ledger *l, int64_t seq, int32_t ap,
    int64_t ao, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Report one broken place (invariants 1-4). */
static void
fail(struct ax_audit_chain *c, const struct ledger *l, int64_t seq, int32_t ap, int64_t ao,
    const char *fmt, ...)
{
	char problem[400];
	va_list va;

	va_start(va, fmt);
	vsnprintf(problem, sizeof(problem), fmt, va);
	va_end(va);
	c->sum.failures++;
	if (c->report != NULL)
		c->report(c->arg, l->topic, l->partition, seq, ap, ao, problem);
}

/* The ledger's decision column, by enum ax_audit_decision. */
static const char *const decisions[] = { "accepted", "rejected", "quarantined" };

/* ledger_hash recomputed from the outcome's fields (invariant 2); AX_EINVAL if it cannot be. */
static int
recompute(struct ax_audit_chain *c, const struct ax_audit_outcome *o, uint8_t out[AX_HASH_LEN],
    struct ax_err *err)
{
	static const uint8_t zero_id[AX_UUID_LEN];
	struct ax_canon_ledger e;
	bool quarantined = o->decision == AX_AUDIT_DECISION_QUARANTINED;

	memset(&e, 0, sizeof(e));
	e.topic = o->topic;
	e.partition = o->partition;
	e.seq = o->ledger_seq;
	e.offset = o->offset;
	/* the relay writes the all-zero UUID for a ledger entry without a command id */
	e.has_command_id = memcmp(o->command_id, zero_id, AX_UUID_LEN) != 0;
	memcpy(e.command_id, o->command_id, AX_UUID_LEN);
	e.actor = o->actor;
	e.event_time_us = o->event_time;
	if (o->decision < AX_AUDIT_DECISION_ACCEPTED || o->decision > AX_AUDIT_DECISION_QUARANTINED)
		return ax_err_set(err, AX_EINVAL, "unknown decision %d", o->decision);
	e.decision = decisions[o->decision];
	e.reason_code = o->reason_code[0] != '\0' ? o->reason_code : NULL;
	/* a quarantined entry's hash column holds the payload's SHA-256 (db/0016) */
	if (quarantined && o->payload_hash.len > 0) {
		e.record_hash = o->payload_hash.p;
		e.record_hash_len = o->payload_hash.len;
	} else if (!quarantined && o->has_record_hash) {
		e.record_hash = o->record_hash.p;
		e.record_hash_len = o->record_hash.len;
	}
	memcpy(e.previous_entry_hash, o->previous_entry_hash.p, AX_HASH_LEN);
	return ax_canon_ledger_hash(out, c->sha, &e, err);
}

/* Match the checkpoints of l waiting for seq with the outcome's hash (invariant 3). */
static void
settle_pending(struct ax_audit_chain *c, struct ledger *l, int64_t seq, const uint8_t *hash)
{
	size_t i = 0;

	while (i < l->npending) {
		struct pending *p = &l->pending[i];

		if (p->seq > seq) {
			i++;
			continue;
		}
		if (p->seq < seq)
			fail(c, l, p->seq, p->audit_partition, p->audit_offset,
			    "checkpoint of seq %" PRId64 " has no outcome before seq %" PRId64,
			    p->seq, seq);
		else if (memcmp(p->hash, hash, AX_HASH_LEN) != 0)
			fail(c, l, p->seq, p->audit_partition, p->audit_offset,
			    "checkpoint of seq %" PRId64
			    " names another ledger_hash than its outcome",
			    p->seq);
		l->pending[i] = l->pending[--l->npending];
	}
}

static int
add_outcome(struct ax_audit_chain *c, int32_t ap, int64_t ao, const struct ax_message *m,
    struct ax_err *err)
{
	static const uint8_t zero[AX_HASH_LEN];
	const struct ax_audit_outcome *o = &m->u.outcome;
	struct ledger *l = ledger_of(c, o->topic, o->partition);
	uint8_t want[AX_HASH_LEN];
	struct ax_err herr;
	int64_t seq = o->ledger_seq;

	if (l == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	c->sum.outcomes++;
	if (seq != l->seq + 1) {
		if (seq > l->seq + 1)
			fail(c, l, seq, ap, ao,
			    "seq %" PRId64 " follows seq %" PRId64 ": %" PRId64
			    " outcome(s) missing (dropped)",
			    seq, l->seq, seq - l->seq - 1);
		else
			fail(c, l, seq, ap, ao,
			    "seq %" PRId64 " follows seq %" PRId64
			    ": published twice or out of order",
			    seq, l->seq);
	}
	if (m->revision < 2 || o->previous_entry_hash.len != AX_HASH_LEN ||
	    o->ledger_hash.len != AX_HASH_LEN) {
		fail(c, l, seq, ap, ao,
		    "the outcome (schema revision %d) lacks what its ledger_hash covers: it cannot "
		    "be verified",
		    m->revision);
	} else {
		if (seq == l->seq + 1 && memcmp(o->previous_entry_hash.p,
		                             l->seq == 0 ? zero : l->hash, AX_HASH_LEN) != 0)
			fail(c, l, seq, ap, ao,
			    "previous_entry_hash is not the ledger_hash of seq %" PRId64, l->seq);
		ax_err_clear(&herr);
		if (recompute(c, o, want, &herr) != AX_OK)
			fail(c, l, seq, ap, ao, "its fields cannot be encoded: %s", herr.msg);
		else if (memcmp(want, o->ledger_hash.p, AX_HASH_LEN) != 0)
			fail(c, l, seq, ap, ao,
			    "ledger_hash is not the hash of the outcome's fields (forged or "
			    "altered)");
	}
	/* go on from this message, so that one broken place is reported once */
	l->seq = seq;
	if (o->ledger_hash.len == AX_HASH_LEN)
		memcpy(l->hash, o->ledger_hash.p, AX_HASH_LEN);
	else
		memset(l->hash, 0xff, AX_HASH_LEN);
	settle_pending(c, l, seq, l->hash);
	return AX_OK;
}

static int
add_checkpoint(struct ax_audit_chain *c, int32_t ap, int64_t ao, const struct ax_message *m,
    struct ax_err *err)
{
	const struct ax_audit_checkpoint *k = &m->u.checkpoint;
	struct ledger *l = ledger_of(c, k->topic, k->partition);
	uint8_t st[AX_CHECKPOINT_STATEMENT_MAX];
	size_t len;

	if (l == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	c->sum.checkpoints++;
	if (k->ledger_hash.len != AX_HASH_LEN) {
		fail(c, l, k->ledger_seq, ap, ao, "checkpoint ledger_hash is not 32 bytes");
		return AX_OK;
	}
	if (c->has_pub) {
		c->sum.signatures_checked++;
		len = ax_checkpoint_statement(st, sizeof(st), k->topic, k->partition, k->ledger_seq,
		    k->ledger_hash.p, k->signed_at);
		if (memcmp(k->key_id, c->key_id, sizeof(c->key_id)) != 0)
			fail(c, l, k->ledger_seq, ap, ao,
			    "checkpoint signed with another key than the applier's");
		else if (len == 0 || k->signature.len != AX_CHECKPOINT_SIG_LEN ||
		         !ax_checkpoint_valid(c->pub, st, len, k->signature.p))
			fail(c, l, k->ledger_seq, ap, ao, "checkpoint signature is not valid");
	}
	if (k->ledger_seq <= l->seq) { /* its outcome came first (a repeated checkpoint) */
		fail(c, l, k->ledger_seq, ap, ao,
		    "checkpoint of seq %" PRId64 " after its outcome (seq %" PRId64 " seen)",
		    k->ledger_seq, l->seq);
		return AX_OK;
	}
	if (l->npending == PENDING_MAX) {
		fail(c, l, k->ledger_seq, ap, ao, "too many checkpoints without their outcome");
		return AX_OK;
	}
	l->pending[l->npending].seq = k->ledger_seq;
	memcpy(l->pending[l->npending].hash, k->ledger_hash.p, AX_HASH_LEN);
	l->pending[l->npending].audit_partition = ap;
	l->pending[l->npending].audit_offset = ao;
	l->npending++;
	return AX_OK;
}

int
ax_audit_chain_add(struct ax_audit_chain *c, int32_t audit_partition, int64_t audit_offset,
    const struct ax_message *m, struct ax_err *err)
{
	if (m->kind == AX_KIND_OUTCOME)
		return add_outcome(c, audit_partition, audit_offset, m, err);
	if (m->kind == AX_KIND_CHECKPOINT)
		return add_checkpoint(c, audit_partition, audit_offset, m, err);
	return AX_OK;
}

void
ax_audit_chain_finish(struct ax_audit_chain *c, struct ax_audit_chain_summary *s)
{
	size_t i, j;

	for (i = 0; i < c->n; i++)
		for (j = 0; j < c->l[i].npending; j++)
			fail(c, &c->l[i], c->l[i].pending[j].seq,
			    c->l[i].pending[j].audit_partition, c->l[i].pending[j].audit_offset,
			    "checkpoint of seq %" PRId64 " has no outcome on the audit topic",
			    c->l[i].pending[j].seq);
	*s = c->sum;
}
