/*
 * ax_pqueue.h - the hand-over queue between the consumer's poll thread and one partition's
 * writer thread.
 *
 * Invariants:
 *  (1) FIFO: items leave in the order they entered (the log order of one partition);
 *  (2) one producer thread (the poll loop) and one consumer thread (the writer);
 *  (3) push never blocks and never drops: the poll loop cannot hand a message back, so the
 *      queue reports when it is over its high mark and the poll loop pauses the partition
 *      in librdkafka; it resumes the partition once ax_pqueue_below_low_mark() says so;
 *  (4) the queue owns the items it holds; ax_pqueue_free destroys what is left.
 * @locality: push and over/below queries from the poll thread; pop from the writer thread.
 */
#ifndef AX_PQUEUE_H
#define AX_PQUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "ax_err.h"

struct ax_pqueue;

/* Create a queue whose high mark is max_items items or max_bytes bytes, whichever first. */
int ax_pqueue_new(struct ax_pqueue **out, size_t max_items, size_t max_bytes, struct ax_err *err);

/* Destroy the queue and, with destroy (may be NULL), every item still in it. NULL: no-op. */
void ax_pqueue_free(struct ax_pqueue *q, void (*destroy)(void *item));

/* Append item (bytes long, for the byte mark); wakes the writer. Never blocks. */
void ax_pqueue_push(struct ax_pqueue *q, void *item, size_t bytes);

/* True when the queue holds more than its high mark (pause the partition). */
bool ax_pqueue_over_high_mark(struct ax_pqueue *q);

/* True when the queue holds less than half its high mark (resume the partition). */
bool ax_pqueue_below_low_mark(struct ax_pqueue *q);

/*
 * Move up to max items into items[]: waits up to idle_ms for a first item, then up to
 * linger_ms more for the batch to fill to max (0: take what is queued and go: under load the
 * queue fills while the previous batch is applied, so batches grow by themselves); either
 * wait ends early on ax_pqueue_wake. Returns the number moved (0 when woken or idle).
 */
size_t ax_pqueue_pop(struct ax_pqueue *q, void **items, size_t max, int idle_ms, int linger_ms);

/* Wake a writer blocked in ax_pqueue_pop (shutdown, revocation). */
void ax_pqueue_wake(struct ax_pqueue *q);

/* Items currently queued. */
size_t ax_pqueue_len(struct ax_pqueue *q);

#endif
