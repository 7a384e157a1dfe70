/*
 * ax_tick.h - ticks on demand: a data partition that waits for the control watermark asks
 * for a Tick command on the control topic, whose broker append time then advances the
 * watermark (docs/architecture.md, "Why decisions depend on the log alone"). Nothing is produced
 * while no partition waits, so the control log stays small.
 *
 * Invariants: (1) at most one tick per AX_TICK_MIN_INTERVAL_MS per process, whatever the
 * number of waiting partitions; (2) a tick carries no authority: applying it only moves the
 * watermark to its own append time, so anyone may produce one; (3) a request for an event
 * time at or before the last tick's send time sends nothing (that tick, appended after it
 * was sent, covers it) unless that tick is older than AX_TICK_RESEND_MS (it may be lost).
 * @locality: ax_tick_request from any writer thread.
 */
#ifndef AX_TICK_H
#define AX_TICK_H

#include <stdint.h>

#include "ax_err.h"

/* Every tick releases one batch per waiting data partition: a shorter interval cuts the wait
 * but multiplies small batches (measured with axiom bench on 2 cores: p99 append -> commit at
 * 0.2 x the backlog rate 146 ms with 10 ms, 46 ms with 25 ms; 40 ms gained nothing more). */
#define AX_TICK_MIN_INTERVAL_MS 25
#define AX_TICK_RESEND_MS       1000

struct ax_codec;
struct ax_tick;

/* A tick producer for control_topic; *out owned by the caller (ax_tick_free). */
int ax_tick_new(struct ax_tick **out, const struct ax_codec *codec, const char *brokers,
    const char *control_topic, const char *instance, struct ax_err *err);

/* Ask for a tick because a command at needed_us (wall clock) waits or will; never blocks. */
void ax_tick_request(struct ax_tick *t, int64_t needed_us);

/* Flush (bounded) and free; NULL is a no-op. */
void ax_tick_free(struct ax_tick *t);

#endif
