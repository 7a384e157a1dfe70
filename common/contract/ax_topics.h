/*
 * ax_topics.h - the three Axiom topics and the configuration they must have (pure).
 *
 * Invariants (docs/architecture.md, "Topics"):
 *  (1) <prefix>.control has exactly one partition: the control plane is totally ordered;
 *  (2) <prefix>.commands and <prefix>.audit have the same partition count, fixed at
 *      creation: a lineage must stay on one partition and its outcomes on the same number;
 *  (3) every topic uses the broker's append time as event time (LogAppendTime), keeps its
 *      records forever (retention.ms=-1) and is never compacted (cleanup.policy=delete).
 */
#ifndef AX_TOPICS_H
#define AX_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

#include "ax_err.h"

#define AX_TOPIC_NAME_MAX     200 /* Kafka allows 249; the prefix leaves room for suffixes */
#define AX_TOPIC_PREFIX_MAX   64
#define AX_PARTITIONS_MAX     1024
#define AX_PARTITIONS_DEFAULT 6

enum ax_topic_role { AX_TOPIC_CONTROL, AX_TOPIC_COMMANDS, AX_TOPIC_AUDIT, AX_TOPIC_COUNT };

/* What a topic must look like. */
struct ax_topic_spec {
	enum ax_topic_role role;
	char name[AX_TOPIC_NAME_MAX];
	int partitions;
};

/* One topic-level configuration every Axiom topic must carry. */
struct ax_topic_config {
	const char *name;
	const char *value;
	const char *why; /* one line for the person reading doctor's report */
};

extern const struct ax_topic_config ax_topic_configs[];
extern const size_t ax_topic_configs_len;

/* What a topic looks like on the broker (filled by the Kafka adapter). */
struct ax_topic_state {
	bool exists;
	int partitions;
	/* values of ax_topic_configs[i], in the same order; "" when the broker did not say */
	char config[8][64];
};

/*
 * Fill out[] with the three topics for prefix and the partition count of the command and
 * audit topics. Returns AX_OK, or AX_EINVAL when the prefix has characters Kafka does not
 * allow in topic names or is too long, or when partitions is outside 1..AX_PARTITIONS_MAX.
 */
int ax_topics_plan(struct ax_topic_spec out[AX_TOPIC_COUNT], const char *prefix, int partitions,
    struct ax_err *err);

/*
 * Compare an existing topic with its spec. Appends one line per problem, each with what
 * to do about it, to buf (capacity cap, always NUL-terminated) and returns the number of
 * problems found (0: the topic is as it must be). A topic that does not exist is 1 problem.
 */
int ax_topic_check(
    const struct ax_topic_spec *spec, const struct ax_topic_state *st, char *buf, size_t cap);

/* Parse a partition count ("6"); AX_EINVAL with a message unless it is 1..AX_PARTITIONS_MAX. */
int ax_parse_partitions(int *out, const char *s, struct ax_err *err);

#endif
