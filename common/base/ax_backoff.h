/*
 * ax_backoff.h - bounded, jittered retry delays ("decorrelated jitter"): each delay is drawn
 * between the minimum and three times the previous one, never above the maximum.
 *
 * Why: writers that lost PostgreSQL together must not retry in step (a thundering herd when
 * it comes back), and none may sleep long once it is back: with max_ms = 1000 a writer
 * reconnects at most about a second after the server accepts logins again.
 * Invariants: (1) min_ms <= every delay <= max_ms; (2) the sequence is a function of the
 * seed alone (the tests replay it). Pure; one struct per retrying thread.
 */
#ifndef AX_BACKOFF_H
#define AX_BACKOFF_H

#include <stdint.h>

struct ax_backoff {
	uint32_t state; /* xorshift32, never 0 */
	int min_ms, max_ms, prev_ms;
};

/* Start b with delays in [min_ms, max_ms] (0 < min_ms <= max_ms), drawn from seed. */
void ax_backoff_init(struct ax_backoff *b, int min_ms, int max_ms, uint32_t seed);

/* The delay to wait before the next try, in milliseconds. */
int ax_backoff_next(struct ax_backoff *b);

/* A try succeeded: the next failure starts again from the minimum. */
void ax_backoff_reset(struct ax_backoff *b);

#endif
