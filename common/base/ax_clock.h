/*
 * ax_clock.h - the few clock readings and waits every part of Axiom needs, in one place.
 *
 * Monotonic readings measure durations and deadlines; the wall clock is only for instants
 * compared with the broker's LogAppendTime (microseconds since the epoch).
 */
#ifndef AX_CLOCK_H
#define AX_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds on the monotonic clock. */
double ax_mono_s(void);

/* Milliseconds on the monotonic clock. */
int64_t ax_mono_ms(void);

/* Microseconds since the epoch on the wall clock. */
int64_t ax_wall_us(void);

/* Sleep s seconds (nothing when s <= 0). */
void ax_sleep_s(double s);

/* *ts = now + ms on the monotonic clock (for pthread_cond_timedwait with a CLOCK_MONOTONIC
 * condition). */
void ax_deadline_after(struct timespec *ts, int ms);

#endif
