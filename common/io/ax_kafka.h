/*
 * ax_kafka.h - the adapter between Axiom and librdkafka (Debian's 2.0.2).
 *
 * The only place that turns rd_kafka_resp_err_t into struct ax_err. Every call here is
 * bounded by a timeout: an unreachable broker is an AX_EUNAVAIL error, never a hang.
 *
 * Invariants:
 *  (1) every client is built by ax_kafka_conf for one principal (enum ax_kafka_role): its
 *      security settings come only from the file that AXIOM_KAFKA_<ROLE>_CONFIG names
 *      (librdkafka properties, NAME=VALUE lines; `ops/stack env` points them at
 *      $AXIOM_STACK_DIR/secrets), never from the command line or the environment itself;
 *  (2) the broker's ACLs for a topic set are the table in ax_kafka.c (ax_kafka_grant):
 *      upstream principals write PREFIX.commands; the control plane writes PREFIX.control
 *      (and may write commands); the applier reads both with any group, writes the audit
 *      topic and its ticks on the control topic; analysts read the audit topic with groups
 *      axiom-audit*; the auditor reads all three with groups axiom-verify*; every principal
 *      may describe the topics and their configs; only the admin (a super user) alters them.
 * @locality: any thread, but one rd_kafka_t is driven by one thread at a time.
 */
#ifndef AX_KAFKA_H
#define AX_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "ax_err.h"
#include "ax_topics.h"

#define AX_KAFKA_TIMEOUT_MS 10000 /* default bound of one admin or metadata call */

/*
 * Settings (key, value pairs for ax_kafka_new's kv) of a reader that reads partitions once
 * from a start to their end, one after the other (axiom verify, axiom audit, the relay's
 * tail): librdkafka's default fetch wait and backoff after the end (500 ms each) cost 0.4 to
 * 0.8 s per partition whatever its size (axiom verify: 8.6 s for 13 partitions of 71
 * messages). Short waits cost a few more fetch requests while a partition is read.
 */
#define AX_KAFKA_READ_TO_END_SETTINGS "fetch.wait.max.ms", "10", "fetch.error.backoff.ms", "10"

/* The principal a client acts as; see invariant (1) and (2). */
enum ax_kafka_role {
	AX_KAFKA_ADMIN,    /* topics, configs, ACLs: `axiom topics`, `axiom doctor` */
	AX_KAFKA_APPLIER,  /* `axiom apply`, `axiom replay`: commands in, outcomes out */
	AX_KAFKA_UPSTREAM, /* `axiom publish` of data commands */
	AX_KAFKA_CONTROL,  /* `axiom publish` of control-plane commands */
	AX_KAFKA_ANALYST,  /* `axiom audit`: reads the audit topic */
	AX_KAFKA_AUDITOR,  /* `axiom verify`: reads every topic */
	AX_KAFKA_ROLE_COUNT
};

/* "admin", "applier", ... (lower case, as in AXIOM_KAFKA_<ROLE>_CONFIG and --as). */
const char *ax_kafka_role_name(enum ax_kafka_role role);

/* Parse a role name; AX_EINVAL with a message naming the roles otherwise. */
int ax_kafka_role_parse(enum ax_kafka_role *out, const char *name, struct ax_err *err);

/*
 * The value of setting name in role's settings file into out (capacity cap): AX_OK when
 * found; AX_EINVAL with *out = "" when the file is unset, unreadable or lacks it.
 */
int ax_kafka_role_setting(
    enum ax_kafka_role role, const char *name, char *out, size_t cap, struct ax_err *err);

/* What a metadata request tells about the cluster. */
struct ax_kafka_cluster {
	int brokers;         /* brokers in the metadata */
	int controller_id;   /* -1 when unknown */
	char cluster_id[64]; /* "" when unknown */
	char first_broker[128];
};

/*
 * The configuration of a client of role for brokers, with the settings Axiom always wants
 * (client.id, loopback-friendly timeouts and backoff, TCP_NODELAY: a request written as
 * several TLS records must not wait for the broker's delayed ACK; librdkafka's own log at
 * log_level, 0 for none, unless AXIOM_KAFKA_DEBUG names librdkafka debug contexts: then
 * those, on stderr), then the role's settings file (AXIOM_KAFKA_<ROLE>_CONFIG, when set: the
 * security protocol and credentials), then kv: NULL-terminated name/value pairs applied in
 * order. For clients that need callbacks on the conf; *out is owned by the caller
 * (rd_kafka_new, or rd_kafka_conf_destroy).
 */
int ax_kafka_conf(rd_kafka_conf_t **out, const char *brokers, enum ax_kafka_role role,
    int log_level, const char *const *kv, struct ax_err *err);

/*
 * Create a client of type (RD_KAFKA_PRODUCER or RD_KAFKA_CONSUMER) from ax_kafka_conf with
 * log level 0 (connection failures are reported through our own errors, with a hint). *out
 * is owned by the caller (rd_kafka_destroy).
 */
int ax_kafka_new(rd_kafka_t **out, rd_kafka_type_t type, const char *brokers,
    enum ax_kafka_role role, const char *const *kv, struct ax_err *err);

/* Translate e into err with message "<what>: <librdkafka's words>"; returns the ax code. */
int ax_kafka_err(struct ax_err *err, rd_kafka_resp_err_t e, const char *what);

/*
 * Ask the cluster for its metadata within timeout_ms. AX_EUNAVAIL (with the broker list in
 * the message and a hint) when no broker answers in time.
 */
int ax_kafka_probe(rd_kafka_t *rk, const char *brokers, int timeout_ms,
    struct ax_kafka_cluster *out, struct ax_err *err);

/* Fill st with what the broker says of topic name: existence, partitions, configs. */
int ax_kafka_describe_topic(rd_kafka_t *rk, const char *name, int timeout_ms,
    struct ax_topic_state *st, struct ax_err *err);

/*
 * Create the topics of specs[0..n) that do not exist, with ax_topic_configs and the broker's
 * default replication factor. A topic that already exists is not an error here (the
 * caller checks it with ax_topic_check).
 */
int ax_kafka_create_topics(rd_kafka_t *rk, const struct ax_topic_spec *specs, size_t n,
    int timeout_ms, struct ax_err *err);

/*
 * Grant principal (for example "User:lims-eu") the ACLs of role on the topics of specs[0..n)
 * and role's consumer groups (invariant 2); principal NULL: the role's own principal
 * "User:axiom-<role>". Idempotent. rk must act as the admin. Returns once the broker
 * answers DescribeAcls with every binding (its authorizer enforces them: a client may write
 * at once), AX_EUNAVAIL when it does not within timeout_ms. AX_ERR with the broker's
 * reason when the broker refuses.
 */
int ax_kafka_grant(rd_kafka_t *rk, const struct ax_topic_spec *specs, size_t n,
    enum ax_kafka_role role, const char *principal, int timeout_ms, struct ax_err *err);

#endif
