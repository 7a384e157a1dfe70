/*
 * ax_webauthn_cache.c - a bounded cache of parsed WebAuthn keys; see ax_webauthn.h for the
 * invariants.
 *
 * A flat array of at most capacity entries, scanned in full on each lookup: with the
 * applier's capacity (256) a scan costs a few thousand instructions, against about 270,000
 * for parsing a P-256 key and checking its point (a third of a verification; callgrind,
 * docs/benchmarks.md). The 64-bit
 * FNV-1a hash of (algorithm, format, bytes) only skips entries quickly; an entry matches only
 * when algorithm, format, length and every byte are equal. Eviction takes the entry used
 * least recently (a counter per lookup, not the clock).
 */
#include <stdlib.h>
#include <string.h>

#include "ax_webauthn.h"

#define CACHE_CAPACITY_MAX 65536

struct entry {
	uint64_t hash;
	unsigned long long last_use;
	int alg;
	enum ax_pk_format fmt;
	uint8_t *bytes; /* owned copy of the registered bytes */
	size_t len;
	struct ax_webauthn_key *key; /* owned */
};

struct ax_webauthn_key_cache {
	struct entry *e; /* capacity slots, n in use */
	size_t n, capacity;
	unsigned long long clock, hits, misses, evictions;
};

/* FNV-1a over the lookup key: a filter, never the decision. */
static uint64_t
key_hash(int alg, enum ax_pk_format fmt, const uint8_t *bytes, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t head[2] = { (uint8_t)alg, (uint8_t)fmt };
	size_t i;

	for (i = 0; i < sizeof(head); i++)
		h = (h ^ head[i]) * 0x100000001b3ULL;
	for (i = 0; i < len; i++)
		h = (h ^ bytes[i]) * 0x100000001b3ULL;
	return h;
}

static void
entry_clear(struct entry *e)
{
	ax_webauthn_key_free(e->key);
	free(e->bytes);
	memset(e, 0, sizeof(*e));
}

int
ax_webauthn_key_cache_new(struct ax_webauthn_key_cache **out, size_t capacity, struct ax_err *err)
{
	struct ax_webauthn_key_cache *c = NULL;

	*out = NULL;
	if (capacity == 0 || capacity > CACHE_CAPACITY_MAX)
		return ax_err_set(err, AX_EINVAL, "invalid key cache capacity %zu (1 to %d)",
		    capacity, CACHE_CAPACITY_MAX);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->e = calloc(capacity, sizeof(*c->e))) == NULL) {
		free(c);
		return ax_err_set(err, AX_ERR, "out of memory for a key cache");
	}
	c->capacity = capacity;
	*out = c;
	return AX_OK;
}

void
ax_webauthn_key_cache_free(struct ax_webauthn_key_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		entry_clear(&c->e[i]);
	free(c->e);
	free(c);
}

int
ax_webauthn_key_cache_get(const struct ax_webauthn_key **out, struct ax_webauthn_key_cache *c,
    int cose_alg, enum ax_pk_format fmt, const uint8_t *bytes, size_t len, struct ax_err *err)
{
	uint64_t h = key_hash(cose_alg, fmt, bytes, len);
	struct ax_webauthn_key *key = NULL;
	struct entry *slot;
	uint8_t *copy = NULL;
	size_t i, victim = 0;
	int rc;

	*out = NULL;
	for (i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];

		if (e->hash == h && e->alg == cose_alg && e->fmt == fmt && e->len == len &&
		    memcmp(e->bytes, bytes, len) == 0) {
			e->last_use = ++c->clock;
			c->hits++;
			*out = e->key;
			return AX_OK;
		}
	}
	c->misses++;
	if ((rc = ax_webauthn_key_new(&key, cose_alg, fmt, bytes, len, err)) != AX_OK)
		return rc; /* invariant 3 */
	if ((copy = malloc(len > 0 ? len : 1)) == NULL) {
		ax_webauthn_key_free(key);
		return ax_err_set(err, AX_ERR, "out of memory for a key cache entry");
	}
	memcpy(copy, bytes, len);
	if (c->n < c->capacity) {
		slot = &c->e[c->n++];
	} else { /* invariant 2: evict the least recently used */
		for (i = 1; i < c->n; i++)
			if (c->e[i].last_use < c->e[victim].last_use)
				victim = i;
		slot = &c->e[victim];
		entry_clear(slot);
		c->evictions++;
	}
	slot->hash = h;
	slot->last_use = ++c->clock;
	slot->alg = cose_alg;
	slot->fmt = fmt;
	slot->bytes = copy;
	slot->len = len;
	slot->key = key;
	*out = key;
	return AX_OK;
}

void
ax_webauthn_key_cache_stats(
    struct ax_webauthn_key_cache_stats *out, const struct ax_webauthn_key_cache *c)
{
	out->entries = c->n;
	out->capacity = c->capacity;
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
}
