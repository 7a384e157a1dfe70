/*
 * ax_backoff.c - bounded, jittered retry delays; see ax_backoff.h.
 */
#include "ax_backoff.h"

#include <assert.h>

void
ax_backoff_init(struct ax_backoff *b, int min_ms, int max_ms, uint32_t seed)
{
	assert(min_ms > 0 && min_ms <= max_ms);
	b->state = seed != 0 ? seed : 0x9e3779b9u;
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	b->prev_ms = min_ms;
}

int
ax_backoff_next(struct ax_backoff *b)
{
	int64_t hi = (int64_t)b->prev_ms * 3;
	uint32_t x = b->state;
	int d;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	b->state = x;
	if (hi > b->max_ms)
		hi = b->max_ms;
	d = b->min_ms + (int)(x % (uint32_t)(hi - b->min_ms + 1));
	b->prev_ms = d;
	return d;
}

void
ax_backoff_reset(struct ax_backoff *b)
{
	b->prev_ms = b->min_ms;
}
