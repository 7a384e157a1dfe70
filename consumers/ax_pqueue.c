/*
 * ax_pqueue.c - bounded-by-signal FIFO between the poll thread and a writer; see ax_pqueue.h.
 * A ring buffer that grows by doubling (push never blocks); items carry their byte size.
 */
#include "ax_pqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "ax_clock.h"

struct slot {
	void *item;
	size_t bytes;
};

struct ax_pqueue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot *ring;
	size_t cap, head, len, bytes;
	size_t max_items, max_bytes;
	bool woken;
};

int
ax_pqueue_new(struct ax_pqueue **out, size_t max_items, size_t max_bytes, struct ax_err *err)
{
	struct ax_pqueue *q;
	pthread_condattr_t ca;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->ring = calloc(64, sizeof(*q->ring))) == NULL) {
		free(q);
		return ax_err_set(err, AX_ERR, "out of memory");
	}
	q->cap = 64;
	q->max_items = max_items ? max_items : 1;
	q->max_bytes = max_bytes ? max_bytes : 1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = q;
	return AX_OK;
}

void
ax_pqueue_free(struct ax_pqueue *q, void (*destroy)(void *item))
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; destroy != NULL && i < q->len; i++)
		destroy(q->ring[(q->head + i) % q->cap].item);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q);
}

void
ax_pqueue_push(struct ax_pqueue *q, void *item, size_t bytes)
{
	pthread_mutex_lock(&q->mu);
	if (q->len == q->cap) {
		struct slot *bigger = calloc(q->cap * 2, sizeof(*bigger));
		size_t i;

		if (bigger == NULL)
			abort(); /* the message is already polled: dropping it would lose a command
			          */
		for (i = 0; i < q->len; i++)
			bigger[i] = q->ring[(q->head + i) % q->cap];
		free(q->ring);
		q->ring = bigger;
		q->head = 0;
		q->cap *= 2;
	}
	q->ring[(q->head + q->len) % q->cap] = (struct slot){ item, bytes };
	q->len++;
	q->bytes += bytes;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

bool
ax_pqueue_over_high_mark(struct ax_pqueue *q)
{
	bool over;

	pthread_mutex_lock(&q->mu);
	over = q->len > q->max_items || q->bytes > q->max_bytes;
	pthread_mutex_unlock(&q->mu);
	return over;
}

bool
ax_pqueue_below_low_mark(struct ax_pqueue *q)
{
	bool below;

	pthread_mutex_lock(&q->mu);
	below = q->len < q->max_items / 2 + 1 && q->bytes < q->max_bytes / 2 + 1;
	pthread_mutex_unlock(&q->mu);
	return below;
}

size_t
ax_pqueue_pop(struct ax_pqueue *q, void **items, size_t max, int idle_ms, int linger_ms)
{
	struct timespec deadline;
	size_t n = 0;
	int rc = 0;

	ax_deadline_after(&deadline, idle_ms);
	pthread_mutex_lock(&q->mu);
	while (!q->woken && q->len == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&q->cv, &q->mu, &deadline);
	if (q->len > 0 && q->len < max && linger_ms > 0) {
		ax_deadline_after(&deadline, linger_ms);
		rc = 0;
		while (!q->woken && q->len < max && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&q->cv, &q->mu, &deadline);
	}
	q->woken = false;
	while (n < max && q->len > 0) {
		struct slot *s = &q->ring[q->head];

		items[n++] = s->item;
		q->bytes -= s->bytes;
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

void
ax_pqueue_wake(struct ax_pqueue *q)
{
	pthread_mutex_lock(&q->mu);
	q->woken = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

size_t
ax_pqueue_len(struct ax_pqueue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}
