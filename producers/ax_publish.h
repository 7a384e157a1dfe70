/*
 * ax_publish.h - publishing commands: one JSON line in, one keyed single-object Avro
 * message out (pure part), and an idempotent Kafka producer that accounts for every
 * delivery (adapter part).
 *
 * JSON line format (documented for users in `axiom publish --help` and
 * schemas/avro/README.md): one command per line, an object with the envelope fields of
 * schemas/avro/control.avsc or data.avsc and "payload": {"<CommandType>": {...fields}};
 * bytes as lower-case hex, UUIDs as text, times as integer microseconds since the epoch.
 * The command type decides the topic: control commands go to partition 0 of
 * <prefix>.control, data commands to <prefix>.commands keyed by their lineage_id.
 *
 * Invariants of the producer:
 *  (1) idempotent (enable.idempotence=true, acks=all): a retry never duplicates or
 *      reorders a message within a partition;
 *  (2) every message handed to ax_producer_send ends as delivered or failed, each failure
 *      with the caller's line number and the broker's reason; after ax_producer_wait,
 *      delivered + failed == sent, a message still unconfirmed counting as failed;
 *  (3) keys are partitioned with murmur2, as the Java client does, so a lineage lands on
 *      the same partition whichever language produced it.
 * @locality: one thread drives one struct ax_producer.
 */
#ifndef AX_PUBLISH_H
#define AX_PUBLISH_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "ax_codec.h"
#include "ax_err.h"
#include "ax_kafka.h"

#define AX_PUBLISH_LINE_MAX     (4 * 1024 * 1024) /* bytes of one JSON line */
#define AX_PUBLISH_FAILURES_MAX 100               /* delivery failures kept for the report */

/* One encoded command, ready to send. */
struct ax_publish_msg {
	enum ax_family family; /* AX_FAMILY_CONTROL or AX_FAMILY_DATA */
	enum ax_kind kind;
	uint8_t *buf; /* single-object Avro (owned; ax_publish_msg_clear) */
	size_t len;
	char key[37]; /* data: the lineage id in text form; control: "" */
};

/* The example lines `axiom publish --example` prints: one of every command type. */
extern const char *const ax_publish_examples[];
extern const size_t ax_publish_examples_len;

/*
 * Parse line[0..len) (one JSON command, no newline needed) and encode it with the current
 * schema of its family into *out. AX_EINVAL with a message naming the field for anything
 * wrong (not JSON, no payload, unknown command type, missing or mistyped field).
 */
int ax_publish_encode_line(const struct ax_codec *c, const char *line, size_t len,
    struct ax_publish_msg *out, struct ax_err *err);

/* Free what m holds and zero it; safe on a zeroed or cleared m. */
void ax_publish_msg_clear(struct ax_publish_msg *m);

/* One delivery failure. */
struct ax_publish_failure {
	uint64_t line;
	char reason[200];
};

/* What happened to the messages sent so far. */
struct ax_producer_stats {
	uint64_t sent, delivered, failed;
	size_t nfailures; /* kept in failures[], at most AX_PUBLISH_FAILURES_MAX */
	struct ax_publish_failure failures[AX_PUBLISH_FAILURES_MAX];
};

struct ax_producer;

/*
 * Create an idempotent producer for brokers acting as role (AX_KAFKA_UPSTREAM or
 * AX_KAFKA_CONTROL, ax_kafka.h) whose messages time out after timeout_ms (a message not
 * acknowledged by then fails). *out owned by the caller.
 */
int ax_producer_new(struct ax_producer **out, const char *brokers, enum ax_kafka_role role,
    int timeout_ms, struct ax_err *err);

/* The producer's client, for admin and metadata calls (borrowed). */
rd_kafka_t *ax_producer_handle(struct ax_producer *p);

/*
 * Queue m for topic (partition 0 and no key for control messages, the key for data
 * messages), remembering line for the report. Waits while the local queue is full.
 */
int ax_producer_send(struct ax_producer *p, const char *topic, const struct ax_publish_msg *m,
    uint64_t line, struct ax_err *err);

/* Serve delivery reports for up to timeout_ms (0: what is ready). */
void ax_producer_poll(struct ax_producer *p, int timeout_ms);

/*
 * Wait up to timeout_ms for every delivery report; messages still unconfirmed then are
 * counted as failed ("no delivery report ..."). Returns the final stats (borrowed).
 */
const struct ax_producer_stats *ax_producer_wait(struct ax_producer *p, int timeout_ms);

/* The stats so far (borrowed). */
const struct ax_producer_stats *ax_producer_stats(const struct ax_producer *p);

/* Free p (pending messages are purged, not waited for); NULL is a no-op. */
void ax_producer_free(struct ax_producer *p);

#endif
