/*
 * ax_verify_core.c - the pure chain checkers of `axiom verify`; see ax_verify.h.
 *
 * No I/O and no globals: rows come in through the feed functions, failures go out through
 * struct ax_verify_failure. Each checker holds one open chain (a lineage, or a topic and
 * partition) and moves to the next when the key of the row changes. States of a chain:
 * OPEN (first row seen) -> POISONED (a failure reported; later rows only counted) and back
 * to OPEN at the next key; both transitions are made by the feed function.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_uuid.h"
#include "ax_verify.h"

static const uint8_t zero_hash[AX_HASH_LEN];

void
ax_verify_failure_format(char *buf, size_t cap, const struct ax_verify_failure *f)
{
	switch (f->chain) {
	case AX_VERIFY_RECORDS:
		if (f->record_id[0] != '\0')
			snprintf(buf, cap, "%s lineage %s %s %" PRId64 " (record_id %s): %s",
			    f->table, f->lineage, f->at, f->position, f->record_id, f->problem);
		else
			snprintf(buf, cap, "%s lineage %s %s %" PRId64 ": %s", f->table, f->lineage,
			    f->at, f->position, f->problem);
		break;
	case AX_VERIFY_SIGNATURES:
		snprintf(buf, cap, "%s: %" PRId64 " failed to re-verify, the first: %s", f->table,
		    f->position, f->problem);
		break;
	case AX_VERIFY_REFERENCES:
		snprintf(buf, cap, "%s row %s: %s", f->table, f->key, f->problem);
		break;
	case AX_VERIFY_LEDGER:
	case AX_VERIFY_LOG:
	default:
		snprintf(buf, cap, "%s %s partition %" PRId32 " %s %" PRId64 ": %s", f->table,
		    f->topic, f->partition, f->at, f->position, f->problem);
		break;
	}
}

/* Whether a (possibly NULL) stored hash equals want[0..want_len). */
static int
same_bytes(const uint8_t *p, size_t len, const uint8_t *want, size_t want_len)
{
	return p != NULL && len == want_len && memcmp(p, want, len) == 0;
}

/* Record chains ---------------------------------------------------------------------------- */

/* The state of one lineage's chain. */
struct chain {
	uint8_t id[AX_UUID_LEN];
	int poisoned;                        /* its failure was reported (or is kept) */
	int64_t last_version;                /* version of its last row checked, 0: none */
	uint8_t last_record_id[AX_UUID_LEN]; /* record_id of that row */
	uint8_t last_hash[AX_HASH_LEN];      /* stored record_hash of that row ... */
	size_t last_hash_len;                /* ... and its length (32 unless tampered) */
};

/* What recomputing a version's record_hash found. */
enum hash_state {
	HASH_MATCHES,
	HASH_DIFFERS,
	HASH_NOT_ENCODABLE /* the stored columns cannot be encoded (message kept) */
};

/* A version reduced to what the chain checks after its hash was recomputed. */
struct link {
	uint8_t record_id[AX_UUID_LEN];
	int64_t version;
	int has_previous_record_id;
	uint8_t previous_record_id[AX_UUID_LEN];
	int has_previous_record_hash; /* 0: SQL NULL */
	uint8_t previous_record_hash[AX_HASH_LEN];
	size_t previous_record_hash_len; /* the stored length; bytes past 32 are not kept */
	int has_record_hash;
	uint8_t record_hash[AX_HASH_LEN];
	size_t record_hash_len;
	enum hash_state hash;
	char *why; /* HASH_NOT_ENCODABLE: the encoder's message (owned) */
};

struct ax_verify_records {
	struct ax_sha256 *sha; /* fetched once, reused per version */
	struct ax_verify_counts counts;
	int open; /* a lineage has been seen */
	struct chain c;
};

int
ax_verify_records_new(struct ax_verify_records **out, struct ax_err *err)
{
	struct ax_verify_records *v = NULL;
	int rc;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory creating a record chain checker");
	if ((rc = ax_sha256_new(&v->sha, err)) != AX_OK)
		goto out;
	*out = v;
	v = NULL;
out:
	ax_verify_records_free(v);
	return rc;
}

void
ax_verify_records_free(struct ax_verify_records *v)
{
	if (v == NULL)
		return;
	ax_sha256_free(v->sha);
	free(v);
}

struct ax_verify_counts
ax_verify_records_counts(const struct ax_verify_records *v)
{
	return v->counts;
}

/* Fill f for chain c at version position (record_id, NULL when no row); poison c. */
static int chain_broken(struct chain *c, const uint8_t *record_id, int64_t position,
    struct ax_verify_failure *f, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
chain_broken(struct chain *c, const uint8_t *record_id, int64_t position,
    struct ax_verify_failure *f, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->chain = AX_VERIFY_RECORDS;
	f->table = "axiom.records";
	ax_uuid_format(f->lineage, c->id);
	f->partition = -1;
	f->at = "version";
	f->position = position;
	if (record_id != NULL)
		ax_uuid_format(f->record_id, record_id);
	va_start(ap, fmt);
	vsnprintf(f->problem, sizeof(f->problem), fmt, ap);
	va_end(ap);
	c->poisoned = 1;
	return AX_VERIFY_BROKEN;
}

/* Reduce r to its link l (l->hash and l->why are the caller's). */
static void
link_of(struct link *l, const struct ax_verify_version *r)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->record_id, r->record_id, AX_UUID_LEN);
	l->version = r->version;
	if ((l->has_previous_record_id = r->has_previous_record_id))
		memcpy(l->previous_record_id, r->previous_record_id, AX_UUID_LEN);
	if ((l->has_previous_record_hash = r->previous_record_hash != NULL)) {
		l->previous_record_hash_len = r->previous_record_hash_len;
		memcpy(l->previous_record_hash, r->previous_record_hash,
		    r->previous_record_hash_len < AX_HASH_LEN ? r->previous_record_hash_len
		                                              : AX_HASH_LEN);
	}
	if ((l->has_record_hash = r->record_hash != NULL)) {
		l->record_hash_len = r->record_hash_len;
		memcpy(l->record_hash, r->record_hash,
		    r->record_hash_len < AX_HASH_LEN ? r->record_hash_len : AX_HASH_LEN);
	}
}

/*
 * The checks of l against its chain c before its hash: the next version, linked to the
 * previous one (the first, linked to none). AX_OK, or AX_VERIFY_BROKEN with *f filled.
 */
static int
link_check(struct chain *c, const struct link *l, struct ax_verify_failure *f)
{
	if (l->version != c->last_version + 1) {
		if (l->version > c->last_version + 1)
			return chain_broken(c, NULL, c->last_version + 1, f,
			    "version %" PRId64 " is missing (the next stored version is %" PRId64
			    ")",
			    c->last_version + 1, l->version);
		return chain_broken(c, l->record_id, l->version, f,
		    "version %" PRId64 " appears more than once or out of order", l->version);
	}
	if (c->last_version == 0) {
		if (l->has_previous_record_id)
			return chain_broken(
			    c, l->record_id, l->version, f, "version 1 has a previous_record_id");
		if (l->has_previous_record_hash)
			return chain_broken(
			    c, l->record_id, l->version, f, "version 1 has a previous_record_hash");
		return AX_OK;
	}
	if (!l->has_previous_record_id ||
	    memcmp(l->previous_record_id, c->last_record_id, AX_UUID_LEN) != 0)
		return chain_broken(c, l->record_id, l->version, f,
		    "previous_record_id is not the record_id of version %" PRId64, c->last_version);
	if (!l->has_previous_record_hash || l->previous_record_hash_len != c->last_hash_len ||
	    memcmp(l->previous_record_hash, c->last_hash, c->last_hash_len) != 0 ||
	    l->previous_record_hash_len != AX_HASH_LEN)
		return chain_broken(c, l->record_id, l->version, f,
		    "previous_record_hash is not the record_hash of version %" PRId64,
		    c->last_version);
	return AX_OK;
}

/*
 * The checks of l after link_check passed: its columns could be encoded, and its stored
 * record_hash is the recomputed one; l becomes the last version of c either way.
 */
static int
link_hash(struct chain *c, const struct link *l, struct ax_verify_failure *f)
{
	if (l->hash == HASH_NOT_ENCODABLE)
		return chain_broken(c, l->record_id, l->version, f,
		    "the stored columns cannot be encoded: %s", l->why != NULL ? l->why : "");
	c->last_version = l->version;
	memcpy(c->last_record_id, l->record_id, AX_UUID_LEN);
	c->last_hash_len = l->record_hash_len < AX_HASH_LEN ? l->record_hash_len : AX_HASH_LEN;
	if (l->has_record_hash)
		memcpy(c->last_hash, l->record_hash, c->last_hash_len);
	else
		c->last_hash_len = 0;
	if (l->hash != HASH_MATCHES)
		return chain_broken(c, l->record_id, l->version, f,
		    "record_hash does not match the stored columns");
	return AX_OK;
}

/*
 * Recompute the record_hash of r as its chain would when r follows version r->version - 1
 * (with r's own previous_record_id and previous_record_hash for any version but 1) into
 * l->hash (l->why for HASH_NOT_ENCODABLE); < 0 (err) when hashing failed. A version whose
 * link cannot pass link_check (no previous id, a previous hash not 32 bytes) is left
 * HASH_DIFFERS: link_check reports it first.
 */
static int
link_rehash(
    struct ax_sha256 *sha, struct link *l, const struct ax_verify_version *r, struct ax_err *err)
{
	struct ax_canon_record c;
	uint8_t h[AX_HASH_LEN];
	int rc;

	l->hash = HASH_DIFFERS;
	memset(&c, 0, sizeof(c));
	memcpy(c.record_id, r->record_id, AX_UUID_LEN);
	memcpy(c.id, r->id, AX_UUID_LEN);
	c.version = r->version;
	if ((c.has_previous = r->version != 1)) {
		if (!r->has_previous_record_id || r->previous_record_hash == NULL ||
		    r->previous_record_hash_len != AX_HASH_LEN)
			return AX_OK;
		memcpy(c.previous_record_id, r->previous_record_id, AX_UUID_LEN);
		memcpy(c.previous_record_hash, r->previous_record_hash, AX_HASH_LEN);
	}
	c.record_type = r->record_type;
	c.facility_id = r->facility_id;
	c.domain_id = r->domain_id;
	c.title = r->title;
	c.content = r->content;
	c.content_len = r->content_len;
	c.created_by = r->created_by;
	c.created_at_us = r->created_at_us;
	if ((c.has_change_id = r->has_change_id))
		memcpy(c.change_id, r->change_id, AX_UUID_LEN);
	rc = ax_canon_record_hash(h, sha, &c, err);
	if (rc == AX_EINVAL) {
		l->hash = HASH_NOT_ENCODABLE;
		if ((l->why = strdup(err->msg)) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory checking a record chain");
		ax_err_clear(err);
		return AX_OK;
	}
	if (rc != AX_OK)
		return rc;
	if (r->record_hash != NULL && r->record_hash_len == AX_HASH_LEN &&
	    memcmp(r->record_hash, h, AX_HASH_LEN) == 0)
		l->hash = HASH_MATCHES;
	return AX_OK;
}

int
ax_verify_records_feed(struct ax_verify_records *v, const struct ax_verify_version *r,
    struct ax_verify_failure *f, struct ax_err *err)
{
	struct link l;
	int rc;

	if (!v->open || memcmp(v->c.id, r->id, AX_UUID_LEN) != 0) {
		v->open = 1;
		memset(&v->c, 0, sizeof(v->c));
		memcpy(v->c.id, r->id, AX_UUID_LEN);
		v->counts.chains++;
	}
	v->counts.rows++;
	if (v->c.poisoned)
		return AX_OK;
	link_of(&l, r);
	if (link_check(&v->c, &l, f) == AX_VERIFY_BROKEN) {
		v->counts.broken++;
		return AX_VERIFY_BROKEN;
	}
	if ((rc = link_rehash(v->sha, &l, r, err)) != AX_OK)
		return rc;
	rc = link_hash(&v->c, &l, f);
	free(l.why);
	if (rc == AX_VERIFY_BROKEN)
		v->counts.broken++;
	return rc;
}

/* Rows that came early ------------------------------------------------------------------- */

/*
 * The rows of one chain that came before the row they follow (a version, a ledger entry),
 * waiting: a min-heap by the int64_t key each holds at key_off (its version, its seq); the
 * elements are size bytes, copied in and out, and own the message at why_off. One mechanism
 * for both unordered checkers; it runs only for rows out of order.
 */
struct early {
	unsigned char *e;
	size_t n, cap;
	size_t size, key_off, why_off;
};

#define EARLY_OF(type, key, why)                                                                   \
	{                                                                                          \
		NULL, 0, 0, sizeof(type), offsetof(type, key), offsetof(type, why)                 \
	}

static int64_t
early_key(const struct early *h, size_t i)
{
	int64_t k;

	memcpy(&k, h->e + i * h->size + h->key_off, sizeof(k));
	return k;
}

/* The lowest waiting key; h->n > 0. */
static int64_t
early_min(const struct early *h)
{
	return early_key(h, 0);
}

/* Keep x (size bytes, its message owned from here on) among the waiting rows. */
static int
early_push(struct early *h, const void *x, struct ax_err *err)
{
	int64_t k;
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		unsigned char *e = realloc(h->e, cap * h->size);

		if (e == NULL)
			return ax_err_set(err, AX_ERR, "out of memory checking a chain");
		h->e = e;
		h->cap = cap;
	}
	memcpy(&k, (const unsigned char *)x + h->key_off, sizeof(k));
	for (i = h->n++; i > 0 && early_key(h, (i - 1) / 2) > k; i = (i - 1) / 2)
		memcpy(h->e + i * h->size, h->e + (i - 1) / 2 * h->size, h->size);
	memcpy(h->e + i * h->size, x, h->size);
	return AX_OK;
}

/* Take the lowest waiting row into out (size bytes); h->n > 0. */
static void
early_pop(struct early *h, void *out)
{
	size_t i = 0, n;

	memcpy(out, h->e, h->size);
	n = --h->n;
	while (2 * i + 1 < n) { /* sift the last one down from the root */
		size_t c = 2 * i + 1;

		if (c + 1 < n && early_key(h, c + 1) < early_key(h, c))
			c++;
		if (early_key(h, n) <= early_key(h, c))
			break;
		memcpy(h->e + i * h->size, h->e + c * h->size, h->size);
		i = c;
	}
	if (n > 0)
		memcpy(h->e + i * h->size, h->e + n * h->size, h->size);
}

/* The lowest waiting row, without its message (the caller owns nothing); h->n > 0. */
static void
early_peek(const struct early *h, void *out)
{
	char *none = NULL;

	memcpy(out, h->e, h->size);
	memcpy((unsigned char *)out + h->why_off, &none, sizeof(none));
}

/* Drop every waiting row (and its message); returns how many there were. */
static size_t
early_drop(struct early *h)
{
	size_t i, n = h->n;

	for (i = 0; i < n; i++) {
		char *why;

		memcpy(&why, h->e + i * h->size + h->why_off, sizeof(why));
		free(why);
	}
	h->n = 0;
	return n;
}

/* Record chains, rows in any order ---------------------------------------------------------- */

/* One lineage of the unordered checker: its chain, the versions that came early, its failure. */
struct lineage {
	struct chain c;
	struct early early;                /* versions above last_version + 1 */
	struct ax_verify_failure *failure; /* the first failure in version order, or NULL */
};

struct ax_verify_unordered {
	struct ax_sha256 *sha;
	struct ax_verify_counts counts;
	struct lineage **slot; /* open addressing by lineage id, NULL: free */
	size_t nslot;          /* a power of two */
	size_t nlineage;
	size_t early; /* versions waiting for an earlier one, now */
	size_t early_max;
};

int
ax_verify_unordered_new(struct ax_verify_unordered **out, struct ax_err *err)
{
	struct ax_verify_unordered *u;
	int rc;

	*out = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->slot = calloc(1024, sizeof(*u->slot))) == NULL) {
		free(u);
		return ax_err_set(err, AX_ERR, "out of memory creating a record chain checker");
	}
	u->nslot = 1024;
	if ((rc = ax_sha256_new(&u->sha, err)) != AX_OK) {
		ax_verify_unordered_free(u);
		return rc;
	}
	*out = u;
	return AX_OK;
}

/* Free the versions still waiting in g. */
static void
lineage_drop_early(struct ax_verify_unordered *u, struct lineage *g)
{
	u->early -= early_drop(&g->early);
}

void
ax_verify_unordered_free(struct ax_verify_unordered *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; u->slot != NULL && i < u->nslot; i++) {
		struct lineage *g = u->slot[i];

		if (g == NULL)
			continue;
		lineage_drop_early(u, g);
		free(g->early.e);
		free(g->failure);
		free(g);
	}
	free(u->slot);
	ax_sha256_free(u->sha);
	free(u);
}

struct ax_verify_counts
ax_verify_unordered_counts(const struct ax_verify_unordered *u)
{
	return u->counts;
}

size_t
ax_verify_unordered_early_max(const struct ax_verify_unordered *u)
{
	return u->early_max;
}

size_t
ax_verify_unordered_waiting(const struct ax_verify_unordered *u)
{
	return u->early;
}

/* The slot of lineage id in u (its lineage, or the free slot where it goes). */
static size_t
slot_of(const struct ax_verify_unordered *u, const uint8_t id[AX_UUID_LEN])
{
	uint64_t h;
	size_t i;

	memcpy(&h, id + AX_UUID_LEN - 8, sizeof(h)); /* the random end of a UUID */
	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 32;
	for (i = (size_t)h & (u->nslot - 1);
	     u->slot[i] != NULL && memcmp(u->slot[i]->c.id, id, AX_UUID_LEN) != 0;
	     i = (i + 1) & (u->nslot - 1))
		;
	return i;
}

/* The lineage id of u, created when new. */
static int
lineage_get(struct ax_verify_unordered *u, const uint8_t id[AX_UUID_LEN], struct lineage **out,
    struct ax_err *err)
{
	size_t i = slot_of(u, id);

	if (u->slot[i] == NULL) {
		if ((u->nlineage + 1) * 2 > u->nslot) {
			struct lineage **old = u->slot;
			size_t nold = u->nslot, k;

			if ((u->slot = calloc(nold * 2, sizeof(*u->slot))) == NULL) {
				u->slot = old;
				return ax_err_set(
				    err, AX_ERR, "out of memory checking the record chains");
			}
			u->nslot = nold * 2;
			for (k = 0; k < nold; k++)
				if (old[k] != NULL)
					u->slot[slot_of(u, old[k]->c.id)] = old[k];
			free(old);
			i = slot_of(u, id);
		}
		if ((u->slot[i] = calloc(1, sizeof(**u->slot))) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory checking the record chains");
		u->slot[i]->early = (struct early)EARLY_OF(struct link, version, why);
		memcpy(u->slot[i]->c.id, id, AX_UUID_LEN);
		u->nlineage++;
		u->counts.chains++;
	}
	*out = u->slot[i];
	return AX_OK;
}

/* Keep failure f as g's, unless g has one at a lower version. */
static int
lineage_fail(struct ax_verify_unordered *u, struct lineage *g, const struct ax_verify_failure *f,
    struct ax_err *err)
{
	if (g->failure == NULL) {
		if ((g->failure = malloc(sizeof(*g->failure))) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory checking the record chains");
		u->counts.broken++;
	} else if (g->failure->position <= f->position) {
		return AX_OK;
	}
	*g->failure = *f;
	lineage_drop_early(u, g);
	return AX_OK;
}

/* Check l (owned from here on), the next version of g, then every early one that follows. */
static int
lineage_advance(
    struct ax_verify_unordered *u, struct lineage *g, struct link *l, struct ax_err *err)
{
	struct ax_verify_failure f;
	struct link cur = *l;
	int rc = AX_OK;

	for (;;) {
		int broken = link_check(&g->c, &cur, &f) == AX_VERIFY_BROKEN ||
		             link_hash(&g->c, &cur, &f) == AX_VERIFY_BROKEN;

		free(cur.why); /* f has its text; lineage_fail frees the others */
		if (broken)
			rc = lineage_fail(u, g, &f, err);
		if (rc != AX_OK || g->c.poisoned || g->early.n == 0 ||
		    early_min(&g->early) > g->c.last_version + 1)
			break;
		early_pop(&g->early, &cur); /* the next one, or a second copy of the last one */
		u->early--;
	}
	if (g->c.poisoned)
		lineage_drop_early(u, g);
	return rc;
}

/* Keep l among the early versions of g. */
static int
lineage_wait(
    struct ax_verify_unordered *u, struct lineage *g, const struct link *l, struct ax_err *err)
{
	int rc = early_push(&g->early, l, err);

	if (rc == AX_OK && ++u->early > u->early_max)
		u->early_max = u->early;
	return rc;
}

int
ax_verify_unordered_feed(
    struct ax_verify_unordered *u, const struct ax_verify_version *r, struct ax_err *err)
{
	struct ax_verify_failure f;
	struct lineage *g = NULL;
	struct link l;
	int rc;

	if ((rc = lineage_get(u, r->id, &g, err)) != AX_OK)
		return rc;
	u->counts.rows++;
	if (g->c.poisoned) {
		/* a second copy of a version below the failure: the ordered check met it first */
		if (g->failure != NULL && r->version <= g->c.last_version &&
		    r->version < g->failure->position) {
			link_of(&l, r);
			(void)link_check(&g->c, &l, &f);
			return lineage_fail(u, g, &f, err);
		}
		return AX_OK;
	}
	link_of(&l, r);
	if (r->version > g->c.last_version + 1) {
		if ((rc = link_rehash(u->sha, &l, r, err)) != AX_OK ||
		    (rc = lineage_wait(u, g, &l, err)) != AX_OK)
			free(l.why);
		return rc;
	}
	if (r->version == g->c.last_version + 1 && (rc = link_rehash(u->sha, &l, r, err)) != AX_OK)
		return rc;
	return lineage_advance(u, g, &l, err);
}

/* Order of broken lineages in the report: by lineage id. */
static int
lineage_cmp(const void *a, const void *b)
{
	const struct lineage *x = *(const struct lineage *const *)a,
	                     *y = *(const struct lineage *const *)b;

	return memcmp(x->c.id, y->c.id, AX_UUID_LEN);
}

int
ax_verify_unordered_finish(
    struct ax_verify_unordered *u, ax_verify_report_fn report, void *arg, struct ax_err *err)
{
	struct lineage **broken;
	struct ax_verify_failure f;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < u->nslot; i++) {
		struct lineage *g = u->slot[i];

		if (g != NULL && !g->c.poisoned && g->early.n > 0) {
			/* the versions that came early still wait: the one before them is missing
			 */
			struct link next;

			early_peek(&g->early, &next);
			(void)link_check(&g->c, &next, &f);
			if ((rc = lineage_fail(u, g, &f, err)) != AX_OK)
				return rc;
		}
	}
	if ((broken = calloc(
	         u->counts.broken > 0 ? (size_t)u->counts.broken : 1, sizeof(*broken))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory reporting the record chains");
	for (i = 0; i < u->nslot; i++)
		if (u->slot[i] != NULL && u->slot[i]->failure != NULL)
			broken[n++] = u->slot[i];
	qsort(broken, n, sizeof(*broken), lineage_cmp);
	for (i = 0; report != NULL && i < n; i++)
		report(arg, broken[i]->failure);
	free(broken);
	return AX_OK;
}

/* Ledger chains ---------------------------------------------------------------------------- */

struct ax_verify_ledger {
	struct ax_sha256 *sha;
	struct ax_verify_counts counts;
	int open;
	int poisoned;
	char *topic; /* the open chain's topic (owned) */
	size_t topic_cap;
	int32_t partition;
	int64_t last_seq; /* 0 before the first entry */
	int64_t last_offset;
	uint8_t last_hash[AX_HASH_LEN];
	size_t last_hash_len;
};

int
ax_verify_ledger_new(struct ax_verify_ledger **out, struct ax_err *err)
{
	struct ax_verify_ledger *v = NULL;
	int rc;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory creating a ledger chain checker");
	if ((rc = ax_sha256_new(&v->sha, err)) != AX_OK)
		goto out;
	*out = v;
	v = NULL;
out:
	ax_verify_ledger_free(v);
	return rc;
}

void
ax_verify_ledger_free(struct ax_verify_ledger *v)
{
	if (v == NULL)
		return;
	ax_sha256_free(v->sha);
	free(v->topic);
	free(v);
}

struct ax_verify_counts
ax_verify_ledger_counts(const struct ax_verify_ledger *v)
{
	return v->counts;
}

/* Fill f for the open partition at seq position; poison it. */
static int ledger_broken(struct ax_verify_ledger *v, int64_t position, struct ax_verify_failure *f,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ledger_broken(
    struct ax_verify_ledger *v, int64_t position, struct ax_verify_failure *f, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->chain = AX_VERIFY_LEDGER;
	f->table = "axiom.ledger";
	snprintf(f->topic, sizeof(f->topic), "%s", v->topic);
	f->partition = v->partition;
	f->at = "seq";
	f->position = position;
	va_start(ap, fmt);
	vsnprintf(f->problem, sizeof(f->problem), fmt, ap);
	va_end(ap);
	v->poisoned = 1;
	v->counts.broken++;
	return AX_VERIFY_BROKEN;
}

/* Open the chain of (topic, partition) unless it is the open one. */
static int
ledger_key(struct ax_verify_ledger *v, const char *topic, int32_t partition, struct ax_err *err)
{
	size_t n = strlen(topic);
	char *t;

	if (v->open && v->partition == partition && strcmp(v->topic, topic) == 0)
		return AX_OK;
	if (n + 1 > v->topic_cap) {
		if ((t = realloc(v->topic, n + 1)) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory reading the ledger");
		v->topic = t;
		v->topic_cap = n + 1;
	}
	memcpy(v->topic, topic, n + 1);
	v->partition = partition;
	v->open = 1;
	v->poisoned = 0;
	v->last_seq = 0;
	v->last_offset = -1;
	memcpy(v->last_hash, zero_hash, AX_HASH_LEN);
	v->last_hash_len = AX_HASH_LEN;
	v->counts.chains++;
	return AX_OK;
}

int
ax_verify_ledger_feed(struct ax_verify_ledger *v, const struct ax_verify_entry *e,
    struct ax_verify_failure *f, struct ax_err *err)
{
	struct ax_canon_ledger c;
	uint8_t h[AX_HASH_LEN];
	int rc;

	if ((rc = ledger_key(v, e->topic, e->partition, err)) != AX_OK)
		return rc;
	v->counts.rows++;
	if (v->poisoned)
		return AX_OK;
	if (e->seq != v->last_seq + 1) {
		if (e->seq > v->last_seq + 1)
			return ledger_broken(v, v->last_seq + 1, f,
			    "entry %" PRId64 " is missing (the next stored entry is %" PRId64
			    ", offset %" PRId64 ")",
			    v->last_seq + 1, e->seq, e->offset);
		return ledger_broken(v, e->seq, f,
		    "entry %" PRId64 " appears more than once or out of order", e->seq);
	}
	if (!same_bytes(e->previous_entry_hash, e->previous_entry_hash_len, v->last_hash,
	        v->last_hash_len)) {
		if (v->last_seq == 0)
			return ledger_broken(v, e->seq, f,
			    "previous_entry_hash of the first entry is not 32 zero bytes");
		return ledger_broken(v, e->seq, f,
		    "previous_entry_hash is not the entry_hash of entry %" PRId64, v->last_seq);
	}
	memset(&c, 0, sizeof(c));
	c.topic = e->topic;
	c.partition = e->partition;
	c.seq = e->seq;
	c.offset = e->offset;
	if ((c.has_command_id = e->has_command_id))
		memcpy(c.command_id, e->command_id, AX_UUID_LEN);
	c.actor = e->actor;
	c.event_time_us = e->event_time_us;
	c.decision = e->decision;
	c.reason_code = e->reason_code;
	c.record_hash = e->record_hash;
	c.record_hash_len = e->record_hash_len;
	memcpy(c.previous_entry_hash, e->previous_entry_hash, AX_HASH_LEN);
	rc = ax_canon_ledger_hash(h, v->sha, &c, err);
	if (rc == AX_EINVAL)
		return ledger_broken(
		    v, e->seq, f, "the stored columns cannot be encoded: %s", err->msg);
	if (rc != AX_OK)
		return rc;
	v->last_seq = e->seq;
	v->last_hash_len = e->entry_hash_len < AX_HASH_LEN ? e->entry_hash_len : AX_HASH_LEN;
	if (e->entry_hash != NULL)
		memcpy(v->last_hash, e->entry_hash, v->last_hash_len);
	if (!same_bytes(e->entry_hash, e->entry_hash_len, h, AX_HASH_LEN))
		return ledger_broken(v, e->seq, f, "entry_hash does not match the stored columns");
	if (e->offset <= v->last_offset)
		return ledger_broken(v, e->seq, f,
		    "offset %" PRId64 " is not after offset %" PRId64 " of entry %" PRId64,
		    e->offset, v->last_offset, e->seq - 1);
	v->last_offset = e->offset;
	return AX_OK;
}

/* Ledger chains, entries in any order ------------------------------------------------------ */

/* An entry reduced to what the chain checks after its entry_hash was recomputed. */
struct entry_link {
	int64_t seq;
	int64_t offset;
	int has_previous_entry_hash;
	uint8_t previous_entry_hash[AX_HASH_LEN];
	size_t previous_entry_hash_len; /* the stored length; bytes past 32 are not kept */
	int has_entry_hash;
	uint8_t entry_hash[AX_HASH_LEN];
	size_t entry_hash_len;
	enum hash_state hash;
	char *why; /* HASH_NOT_ENCODABLE: the encoder's message (owned) */
};

/* One (topic, partition) of the unordered ledger checker. */
struct partition_chain {
	char *topic;
	int32_t partition;
	int poisoned;
	int64_t last_seq; /* 0 before the first entry */
	int64_t last_offset;
	uint8_t last_hash[AX_HASH_LEN];
	size_t last_hash_len;
	struct early early;                /* entries above last_seq + 1 */
	struct ax_verify_failure *failure; /* the first failure in seq order, or NULL */
};

struct ax_verify_ledger_unordered {
	struct ax_sha256 *sha;
	struct ax_verify_counts counts;
	struct partition_chain **p;
	size_t n, cap;
	size_t last; /* the partition of the last entry (most entries follow their predecessor) */
	size_t early, early_max;
};

int
ax_verify_ledger_unordered_new(struct ax_verify_ledger_unordered **out, struct ax_err *err)
{
	struct ax_verify_ledger_unordered *u;
	int rc;

	*out = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory creating a ledger chain checker");
	if ((rc = ax_sha256_new(&u->sha, err)) != AX_OK) {
		free(u);
		return rc;
	}
	*out = u;
	return AX_OK;
}

/* Free the entries still waiting in p. */
static void
partition_drop_early(struct ax_verify_ledger_unordered *u, struct partition_chain *p)
{
	u->early -= early_drop(&p->early);
}

void
ax_verify_ledger_unordered_free(struct ax_verify_ledger_unordered *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++) {
		partition_drop_early(u, u->p[i]);
		free(u->p[i]->early.e);
		free(u->p[i]->failure);
		free(u->p[i]->topic);
		free(u->p[i]);
	}
	free(u->p);
	ax_sha256_free(u->sha);
	free(u);
}

struct ax_verify_counts
ax_verify_ledger_unordered_counts(const struct ax_verify_ledger_unordered *u)
{
	return u->counts;
}

size_t
ax_verify_ledger_unordered_early_max(const struct ax_verify_ledger_unordered *u)
{
	return u->early_max;
}

/* The chain of (topic, partition) in u, created when new. */
static int
partition_get(struct ax_verify_ledger_unordered *u, const char *topic, int32_t partition,
    struct partition_chain **out, struct ax_err *err)
{
	struct partition_chain *p;
	size_t i;

	if (u->n > 0 && u->p[u->last]->partition == partition &&
	    strcmp(u->p[u->last]->topic, topic) == 0) {
		*out = u->p[u->last];
		return AX_OK;
	}
	for (i = 0; i < u->n; i++)
		if (u->p[i]->partition == partition && strcmp(u->p[i]->topic, topic) == 0) {
			u->last = i;
			*out = u->p[i];
			return AX_OK;
		}
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;
		struct partition_chain **g = realloc(u->p, cap * sizeof(*g));

		if (g == NULL)
			return ax_err_set(err, AX_ERR, "out of memory checking the ledger chains");
		u->p = g;
		u->cap = cap;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->topic = strdup(topic)) == NULL) {
		free(p);
		return ax_err_set(err, AX_ERR, "out of memory checking the ledger chains");
	}
	p->partition = partition;
	p->early = (struct early)EARLY_OF(struct entry_link, seq, why);
	p->last_offset = -1;
	p->last_hash_len = AX_HASH_LEN; /* 32 zero bytes before the first entry */
	u->p[u->n] = p;
	u->last = u->n++;
	u->counts.chains++;
	*out = p;
	return AX_OK;
}

/* Fill f for chain p at seq position; poison p. */
static int partition_broken(struct partition_chain *p, int64_t position,
    struct ax_verify_failure *f, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
partition_broken(
    struct partition_chain *p, int64_t position, struct ax_verify_failure *f, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->chain = AX_VERIFY_LEDGER;
	f->table = "axiom.ledger";
	snprintf(f->topic, sizeof(f->topic), "%s", p->topic);
	f->partition = p->partition;
	f->at = "seq";
	f->position = position;
	va_start(ap, fmt);
	vsnprintf(f->problem, sizeof(f->problem), fmt, ap);
	va_end(ap);
	p->poisoned = 1;
	return AX_VERIFY_BROKEN;
}

/* The checks of ax_verify_ledger_feed, in its order, of l against its chain p. */
static int
entry_check(struct partition_chain *p, const struct entry_link *l, struct ax_verify_failure *f)
{
	if (l->seq != p->last_seq + 1) {
		if (l->seq > p->last_seq + 1)
			return partition_broken(p, p->last_seq + 1, f,
			    "entry %" PRId64 " is missing (the next stored entry is %" PRId64
			    ", offset %" PRId64 ")",
			    p->last_seq + 1, l->seq, l->offset);
		return partition_broken(p, l->seq, f,
		    "entry %" PRId64 " appears more than once or out of order", l->seq);
	}
	if (!l->has_previous_entry_hash || l->previous_entry_hash_len != p->last_hash_len ||
	    memcmp(l->previous_entry_hash, p->last_hash, p->last_hash_len) != 0) {
		if (p->last_seq == 0)
			return partition_broken(p, l->seq, f,
			    "previous_entry_hash of the first entry is not 32 zero bytes");
		return partition_broken(p, l->seq, f,
		    "previous_entry_hash is not the entry_hash of entry %" PRId64, p->last_seq);
	}
	if (l->hash == HASH_NOT_ENCODABLE)
		return partition_broken(p, l->seq, f, "the stored columns cannot be encoded: %s",
		    l->why != NULL ? l->why : "");
	p->last_seq = l->seq;
	p->last_hash_len = l->entry_hash_len < AX_HASH_LEN ? l->entry_hash_len : AX_HASH_LEN;
	if (l->has_entry_hash)
		memcpy(p->last_hash, l->entry_hash, p->last_hash_len);
	else
		p->last_hash_len = 0;
	if (l->hash != HASH_MATCHES)
		return partition_broken(
		    p, l->seq, f, "entry_hash does not match the stored columns");
	if (l->offset <= p->last_offset)
		return partition_broken(p, l->seq, f,
		    "offset %" PRId64 " is not after offset %" PRId64 " of entry %" PRId64,
		    l->offset, p->last_offset, l->seq - 1);
	p->last_offset = l->offset;
	return AX_OK;
}

/* Reduce e to its link l and recompute its entry_hash (with its own previous_entry_hash). */
static int
entry_link_of(struct ax_sha256 *sha, struct entry_link *l, const struct ax_verify_entry *e,
    struct ax_err *err)
{
	struct ax_canon_ledger c;
	uint8_t h[AX_HASH_LEN];
	int rc;

	memset(l, 0, sizeof(*l));
	l->seq = e->seq;
	l->offset = e->offset;
	if ((l->has_previous_entry_hash = e->previous_entry_hash != NULL)) {
		l->previous_entry_hash_len = e->previous_entry_hash_len;
		memcpy(l->previous_entry_hash, e->previous_entry_hash,
		    e->previous_entry_hash_len < AX_HASH_LEN ? e->previous_entry_hash_len
		                                             : AX_HASH_LEN);
	}
	if ((l->has_entry_hash = e->entry_hash != NULL)) {
		l->entry_hash_len = e->entry_hash_len;
		memcpy(l->entry_hash, e->entry_hash,
		    e->entry_hash_len < AX_HASH_LEN ? e->entry_hash_len : AX_HASH_LEN);
	}
	l->hash = HASH_DIFFERS;
	memset(&c, 0, sizeof(c));
	c.topic = e->topic;
	c.partition = e->partition;
	c.seq = e->seq;
	c.offset = e->offset;
	if ((c.has_command_id = e->has_command_id))
		memcpy(c.command_id, e->command_id, AX_UUID_LEN);
	c.actor = e->actor;
	c.event_time_us = e->event_time_us;
	c.decision = e->decision;
	c.reason_code = e->reason_code;
	c.record_hash = e->record_hash;
	c.record_hash_len = e->record_hash_len;
	memcpy(c.previous_entry_hash, l->previous_entry_hash, AX_HASH_LEN);
	rc = ax_canon_ledger_hash(h, sha, &c, err);
	if (rc == AX_EINVAL) {
		l->hash = HASH_NOT_ENCODABLE;
		if ((l->why = strdup(err->msg)) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory checking a ledger chain");
		ax_err_clear(err);
		return AX_OK;
	}
	if (rc != AX_OK)
		return rc;
	if (e->entry_hash != NULL && e->entry_hash_len == AX_HASH_LEN &&
	    memcmp(e->entry_hash, h, AX_HASH_LEN) == 0)
		l->hash = HASH_MATCHES;
	return AX_OK;
}

/* Keep failure f as p's, unless p has one at a lower seq. */
static int
partition_fail(struct ax_verify_ledger_unordered *u, struct partition_chain *p,
    const struct ax_verify_failure *f, struct ax_err *err)
{
	if (p->failure == NULL) {
		if ((p->failure = malloc(sizeof(*p->failure))) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory checking the ledger chains");
		u->counts.broken++;
	} else if (p->failure->position <= f->position) {
		return AX_OK;
	}
	*p->failure = *f;
	partition_drop_early(u, p);
	return AX_OK;
}

int
ax_verify_ledger_unordered_feed(
    struct ax_verify_ledger_unordered *u, const struct ax_verify_entry *e, struct ax_err *err)
{
	struct ax_verify_failure f;
	struct partition_chain *p = NULL;
	struct entry_link l, cur;
	int rc;

	if ((rc = partition_get(u, e->topic, e->partition, &p, err)) != AX_OK)
		return rc;
	u->counts.rows++;
	if (p->poisoned) {
		/* a second copy of an entry below the failure: the ordered check met it first */
		if (p->failure != NULL && e->seq <= p->last_seq && e->seq < p->failure->position) {
			memset(&l, 0, sizeof(l));
			l.seq = e->seq;
			(void)entry_check(p, &l, &f);
			return partition_fail(u, p, &f, err);
		}
		return AX_OK;
	}
	if ((rc = entry_link_of(u->sha, &l, e, err)) != AX_OK)
		return rc;
	if (e->seq > p->last_seq + 1) { /* it waits for the entries before it */
		if ((rc = early_push(&p->early, &l, err)) != AX_OK) {
			free(l.why);
			return rc;
		}
		if (++u->early > u->early_max)
			u->early_max = u->early;
		return AX_OK;
	}
	for (cur = l;;) {
		int broken = entry_check(p, &cur, &f) == AX_VERIFY_BROKEN;

		free(cur.why); /* f has its text; partition_fail frees the others */
		if (broken)
			rc = partition_fail(u, p, &f, err);
		if (rc != AX_OK || p->poisoned || p->early.n == 0 ||
		    early_min(&p->early) > p->last_seq + 1)
			break;
		early_pop(&p->early, &cur); /* the next one, or a second copy of the last one */
		u->early--;
	}
	if (p->poisoned)
		partition_drop_early(u, p);
	return rc;
}

/* Order of broken partitions in the report: topic (bytes), then partition. */
static int
partition_cmp(const void *a, const void *b)
{
	const struct partition_chain *x = *(const struct partition_chain *const *)a,
	                             *y = *(const struct partition_chain *const *)b;
	int c = strcmp(x->topic, y->topic);

	if (c != 0)
		return c;
	return x->partition < y->partition ? -1 : x->partition > y->partition;
}

int
ax_verify_ledger_unordered_finish(
    struct ax_verify_ledger_unordered *u, ax_verify_report_fn report, void *arg, struct ax_err *err)
{
	struct ax_verify_failure f;
	size_t i;
	int rc;

	for (i = 0; i < u->n; i++) {
		struct partition_chain *p = u->p[i];

		if (!p->poisoned && p->early.n > 0) {
			/* the entries that came early still wait: the one before them is missing */
			struct entry_link next;

			early_peek(&p->early, &next);
			(void)entry_check(p, &next, &f);
			if ((rc = partition_fail(u, p, &f, err)) != AX_OK)
				return rc;
		}
	}
	qsort(u->p, u->n, sizeof(*u->p), partition_cmp);
	u->last = 0;
	for (i = 0; report != NULL && i < u->n; i++)
		if (u->p[i]->failure != NULL)
			report(arg, u->p[i]->failure);
	return AX_OK;
}

/* The Kafka log of one partition ------------------------------------------------------------ */

/* Report the first failure of a partition's cross-check (later ones are only counted). */
static void log_broken(struct ax_verify_log_result *out, const char *topic, int32_t partition,
    int64_t offset, ax_verify_report_fn report, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void
log_broken(struct ax_verify_log_result *out, const char *topic, int32_t partition, int64_t offset,
    ax_verify_report_fn report, void *arg, const char *fmt, ...)
{
	struct ax_verify_failure f;
	va_list ap;

	if (out->broken)
		return;
	out->broken = true;
	memset(&f, 0, sizeof(f));
	f.chain = AX_VERIFY_LOG;
	f.table = "kafka";
	snprintf(f.topic, sizeof(f.topic), "%s", topic);
	f.partition = partition;
	f.at = "offset";
	f.position = offset;
	va_start(ap, fmt);
	vsnprintf(f.problem, sizeof(f.problem), fmt, ap);
	va_end(ap);
	if (report != NULL)
		report(arg, &f);
}

int
ax_verify_log_partition(const char *topic, int32_t partition, int64_t log_start,
    int64_t next_offset, struct ax_verify_source *ledger, struct ax_verify_source *log,
    const int64_t *log_end, ax_verify_report_fn report, void *arg, struct ax_verify_log_result *out,
    struct ax_err *err)
{
	int64_t lo = 0, ls = 0, ko = 0, unused, last_matched = -1, last_seq = 0;
	int have_l, have_k;

	memset(out, 0, sizeof(*out));
	if ((have_l = ledger->next(ledger->arg, &lo, &ls, err)) < 0)
		return have_l;
	if ((have_k = log->next(log->arg, &ko, &unused, err)) < 0)
		return have_k;
	out->log_offsets += have_k;
	while (have_l || have_k) {
		if (have_l && have_k && lo == ko) {
			const uint8_t *lh =
			    ledger->payload_hash ? ledger->payload_hash(ledger->arg) : NULL;
			const uint8_t *kh = log->payload_hash ? log->payload_hash(log->arg) : NULL;

			out->matched++;
			if (lh != NULL && kh != NULL) {
				out->payload_checked++;
				if (memcmp(lh, kh, AX_HASH_LEN) != 0) {
					out->payload_differs++;
					log_broken(out, topic, partition, lo, report, arg,
					    "ledger entry %" PRId64
					    " has a payload_hash that is not "
					    "the SHA-256 of the message at offset %" PRId64,
					    ls, lo);
				}
			}
			last_matched = lo;
			last_seq = ls;
			if ((have_l = ledger->next(ledger->arg, &lo, &ls, err)) < 0 ||
			    (have_k = log->next(log->arg, &ko, &unused, err)) < 0)
				return have_l < 0 ? have_l : have_k;
			out->log_offsets += have_k;
		} else if (have_l && (!have_k || lo < ko)) {
			out->stray_entries++;
			if (lo == last_matched)
				log_broken(out, topic, partition, lo, report, arg,
				    "offset %" PRId64
				    " has more than one ledger entry (seq %" PRId64 " and %" PRId64
				    ")",
				    lo, last_seq, ls);
			else if (next_offset < 0)
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", but no next offset is stored for the partition",
				    ls, lo);
			else if (lo >= next_offset)
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", at or after the stored next offset %" PRId64,
				    ls, lo, next_offset);
			else if (lo < log_start)
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", below the log start offset %" PRId64,
				    ls, lo, log_start);
			else
				log_broken(out, topic, partition, lo, report, arg,
				    "ledger entry %" PRId64 " refers to offset %" PRId64
				    ", which is not in the log",
				    ls, lo);
			if ((have_l = ledger->next(ledger->arg, &lo, &ls, err)) < 0)
				return have_l;
		} else {
			out->missing_entries++;
			log_broken(out, topic, partition, ko, report, arg,
			    "offset %" PRId64 " is in the log but has no ledger entry", ko);
			if ((have_k = log->next(log->arg, &ko, &unused, err)) < 0)
				return have_k;
			out->log_offsets += have_k;
		}
	}
	if (next_offset > 0 && log_end != NULL && *log_end >= 0 && *log_end < next_offset)
		log_broken(out, topic, partition, next_offset, report, arg,
		    "the stored next offset %" PRId64
		    " is beyond the end of the log (offset %" PRId64 ")",
		    next_offset, *log_end);
	return AX_OK;
}
