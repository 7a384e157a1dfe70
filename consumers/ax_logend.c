/*
 * ax_logend.c - where a partition's log ends for a read_committed reader; see ax_logend.h
 * for the measures and the invariants.
 */
#include "ax_logend.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ax_clock.h"
#include "ax_topics.h"

/* What the last read of one partition found (invariant 2). */
struct seen {
	char topic[AX_TOPIC_NAME_MAX];
	int32_t partition;
	int64_t from; /* the next offset the read started for */
	int64_t at;   /* the first message at or after from (message), else the end it saw */
	bool message;
};

struct ax_logend {
	rd_kafka_t *rk; /* a simple consumer, read_committed, no group (invariant 1) */
	struct seen *seen;
	size_t nseen, cap;
};

int
ax_logend_new(
    struct ax_logend **out, const char *brokers, enum ax_kafka_role role, struct ax_err *err)
{
	/* small, prompt fetches: a read wants the first message after an offset, or the end.
	 * Not queued.min.messages=1: librdkafka 2.0.2 then backs a partition's fetcher off for a
	 * second whenever its queue holds a message, and the next read of that partition waits
	 * for it (measured). auto.offset.reset=error: an offset retention removed between the
	 * offsets query and the fetch must fail the read, never reset it silently to the end and
	 * report a false end of partition */
	static const char *const kv[] = { "isolation.level", "read_committed",
		"enable.partition.eof", "true", "enable.auto.commit", "false", "fetch.wait.max.ms",
		"1", "fetch.message.max.bytes", "65536", "fetch.error.backoff.ms", "10",
		"auto.offset.reset", "error", NULL };
	struct ax_logend *le;
	int rc;

	*out = NULL;
	if ((le = calloc(1, sizeof(*le))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	if ((rc = ax_kafka_new(&le->rk, RD_KAFKA_CONSUMER, brokers, role, kv, err)) != AX_OK) {
		free(le);
		return rc;
	}
	*out = le;
	return AX_OK;
}

void
ax_logend_free(struct ax_logend *le)
{
	if (le == NULL)
		return;
	if (le->rk != NULL)
		rd_kafka_destroy(le->rk);
	free(le->seen);
	free(le);
}

/* The entry of topic/partition, added empty (from -1) when new; NULL when out of memory. */
static struct seen *
seen_of(struct ax_logend *le, const char *topic, int32_t partition)
{
	struct seen *s;
	size_t i;

	for (i = 0; i < le->nseen; i++)
		if (le->seen[i].partition == partition && strcmp(le->seen[i].topic, topic) == 0)
			return &le->seen[i];
	if (le->nseen == le->cap) {
		size_t cap = le->cap ? 2 * le->cap : 8;

		if ((s = realloc(le->seen, cap * sizeof(*s))) == NULL)
			return NULL;
		le->seen = s;
		le->cap = cap;
	}
	s = &le->seen[le->nseen++];
	memset(s, 0, sizeof(*s));
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	s->partition = partition;
	s->from = -1;
	return s;
}

/*
 * Read topic/partition from offset `from` as a read_committed reader: *at is the offset of
 * the first message it receives (*message true) or the offset of its end-of-partition event
 * (*message false).
 */
static int
read_from(struct ax_logend *le, const char *topic, int32_t partition, int64_t from, int timeout_ms,
    int64_t *at, bool *message, struct ax_err *err)
{
	rd_kafka_topic_t *t;
	double deadline = ax_mono_s() + timeout_ms / 1000.0;
	int rc = AX_OK;

	if ((t = rd_kafka_topic_new(le->rk, topic, NULL)) == NULL)
		return ax_kafka_err(err, rd_kafka_last_error(), "could not read a partition");
	if (rd_kafka_consume_start(t, partition, from) != 0) {
		rc = ax_kafka_err(err, rd_kafka_last_error(), "could not read a partition");
		goto out;
	}
	for (;;) {
		double left = deadline - ax_mono_s();
		rd_kafka_message_t *m =
		    left > 0 ? rd_kafka_consume(t, partition, (int)(left * 1000) + 1) : NULL;

		if (m == NULL) {
			rc = ax_kafka_err(err, RD_KAFKA_RESP_ERR__TIMED_OUT,
			    "could not read up to the end of a partition");
			ax_err_detail(err, "%s/%d from offset %lld: nothing within %d ms.", topic,
			    (int)partition, (long long)from, timeout_ms);
			break;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
		    m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			*at = m->offset;
			*message = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
			rd_kafka_message_destroy(m);
			break;
		}
		rc = ax_kafka_err(err, m->err, "could not read a partition");
		rd_kafka_message_destroy(m);
		break;
	}
	rd_kafka_consume_stop(t, partition);
out:
	rd_kafka_topic_destroy(t);
	return rc;
}

int
ax_logend_read(struct ax_logend *le, const char *topic, int32_t partition, int64_t next,
    int timeout_ms, struct ax_logend_state *out, struct ax_err *err)
{
	struct seen *s;
	rd_kafka_resp_err_t e;
	int64_t low = 0, end = 0, from, at = -1;
	bool message = false;
	int rc;

	e = rd_kafka_query_watermark_offsets(le->rk, topic, partition, &low, &end, timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ax_kafka_err(err, e, "could not read the end of a partition");
	out->low = low;
	out->end = end;
	from = next < low ? low : next; /* invariant 3 */
	out->position = from;
	out->lag = 0;
	if (from >= end) /* invariant 2: nothing to read */
		return AX_OK;
	if ((s = seen_of(le, topic, partition)) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	if (s->from != from) { /* a new next offset: read from it */
		s->from = from;
		s->at = from;
		s->message = false;
	}
	if (!s->message && s->at < end) {
		/* nothing to receive in [from, s->at): read on from there */
		if ((rc = read_from(le, topic, partition, s->at, timeout_ms, &at, &message, err)) !=
		    AX_OK) {
			s->from = -1;
			return rc;
		}
		if (at >= s->at) { /* an end-of-partition event never moves backwards */
			s->at = at;
			s->message = message;
		}
	}
	out->position = s->at;
	out->lag = end > s->at ? end - s->at : 0;
	return AX_OK;
}
