/*
 * kafka_admin - what the shell tests need of Kafka and kcat lacks (librdkafka's admin API):
 * delete throwaway consumer groups and topics, set a topic's configuration, produce a message
 * with a timestamp of the producer's choice.
 *
 *   kafka_admin BROKERS delete-groups GROUP...
 *   kafka_admin BROKERS delete-topics TOPIC...
 *   kafka_admin BROKERS set-configs TOPIC NAME=VALUE...
 *       AlterConfigs (librdkafka 2.0.2 has no incremental form): the topic's configuration
 *       becomes exactly these NAME=VALUE pairs, every other topic-level override is removed
 *   kafka_admin BROKERS produce TOPIC PARTITION TIMESTAMP_MS
 *       one message, its value read from stdin (binary), with CreateTime TIMESTAMP_MS; the
 *       broker keeps that timestamp only if the topic is CreateTime
 *   kafka_admin BROKERS init-transactions TRANSACTIONAL_ID
 *       a transactional producer claims TRANSACTIONAL_ID (fencing its older holder)
 *
 * Exit 0 when every name was deleted or did not exist, the configuration set, the message
 * acknowledged; 1 otherwise (the reason on stderr).
 *
 * It acts as the admin principal (AXIOM_KAFKA_ADMIN_CONFIG, ax_kafka_conf), or as the role
 * that KAFKA_ADMIN_AS names (applier, upstream, ...): the broker-ACL test uses that to show
 * what the broker refuses to everyone else.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_kafka.h"

#define TIMEOUT_MS 15000
#define VALUE_MAX  (1024 * 1024)

static int
report(const char *what, const char *name, const rd_kafka_error_t *e, rd_kafka_resp_err_t code,
    const char *msg)
{
	(void)e;
	if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND ||
	    code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
		return 0;
	fprintf(stderr, "kafka_admin: could not delete %s %s: %s\n", what, name,
	    msg ? msg : rd_kafka_err2str(code));
	return 1;
}

static int
set_configs(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic, char **kv, int n)
{
	rd_kafka_ConfigResource_t *res =
	    rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	const rd_kafka_ConfigResource_t **rres;
	rd_kafka_event_t *ev;
	size_t nres = 0;
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		char name[256];
		const char *eq = strchr(kv[i], '=');

		if (eq == NULL || (size_t)(eq - kv[i]) >= sizeof(name)) {
			fprintf(
			    stderr, "kafka_admin: set-configs: \"%s\" is not NAME=VALUE\n", kv[i]);
			rd_kafka_ConfigResource_destroy(res);
			return 2;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv[i]), kv[i]);
		rd_kafka_ConfigResource_set_config(res, name, eq + 1);
	}
	rd_kafka_AlterConfigs(rk, &res, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, TIMEOUT_MS);
	if (ev == NULL || rd_kafka_event_error(ev)) {
		fprintf(stderr, "kafka_admin: set-configs: %s\n",
		    ev ? rd_kafka_event_error_string(ev) : "timed out");
		bad = 1;
	} else {
		rres = rd_kafka_AlterConfigs_result_resources(
		    rd_kafka_event_AlterConfigs_result(ev), &nres);
		if (nres != 1 || rd_kafka_ConfigResource_error(rres[0])) {
			fprintf(stderr, "kafka_admin: set-configs %s: %s\n", topic,
			    nres == 1 ? rd_kafka_ConfigResource_error_string(rres[0])
			              : "no result");
			bad = 1;
		}
	}
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	rd_kafka_ConfigResource_destroy(res);
	return bad;
}

static void
delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	*(rd_kafka_resp_err_t *)opaque = m->err;
}

/* The conf of the principal KAFKA_ADMIN_AS names (default: the admin); NULL on failure. */
static rd_kafka_conf_t *
client_conf(const char *brokers)
{
	const char *as = getenv("KAFKA_ADMIN_AS");
	enum ax_kafka_role role = AX_KAFKA_ADMIN;
	rd_kafka_conf_t *conf;
	struct ax_err err;

	ax_err_clear(&err);
	if ((as != NULL && as[0] != '\0' && ax_kafka_role_parse(&role, as, &err) != AX_OK) ||
	    ax_kafka_conf(&conf, brokers, role, 0, NULL, &err) != AX_OK) {
		fprintf(stderr, "kafka_admin: %s\n", err.msg);
		return NULL;
	}
	return conf;
}

/* A producer client of client_conf's principal; NULL (the reason on stderr) on failure. */
static rd_kafka_t *
client(const char *brokers)
{
	rd_kafka_conf_t *conf = client_conf(brokers);
	char errstr[512];
	rd_kafka_t *rk;

	if (conf == NULL)
		return NULL;
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "kafka_admin: %s\n", errstr);
	}
	return rk;
}

static int
produce(const char *brokers, const char *topic, const char *partition, const char *ts)
{
	static char value[VALUE_MAX];
	rd_kafka_resp_err_t e, result = RD_KAFKA_RESP_ERR__IN_PROGRESS;
	char errstr[512], *end = NULL;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk;
	long p = strtol(partition, &end, 10);
	long long ms;
	size_t len = fread(value, 1, sizeof(value), stdin);

	if (*end != '\0' || p < 0 || (ms = strtoll(ts, &end, 10)) < 0 || *end != '\0') {
		fprintf(stderr, "kafka_admin: produce: bad partition or timestamp\n");
		return 2;
	}
	if ((conf = client_conf(brokers)) == NULL)
		return 1;
	rd_kafka_conf_set_dr_msg_cb(conf, delivered);
	rd_kafka_conf_set_opaque(conf, &result);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "kafka_admin: %s\n", errstr);
		return 1;
	}
	e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)p),
	    RD_KAFKA_V_VALUE(value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_TIMESTAMP((int64_t)ms), RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		rd_kafka_flush(rk, TIMEOUT_MS);
	else
		result = e;
	rd_kafka_destroy(rk);
	if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "kafka_admin: produce: %s\n", rd_kafka_err2str(result));
		return 1;
	}
	return 0;
}

static int
init_transactions(const char *brokers, const char *txn_id)
{
	rd_kafka_conf_t *conf = client_conf(brokers);
	rd_kafka_error_t *e;
	char errstr[512];
	rd_kafka_t *rk;
	int bad = 0;

	if (conf == NULL)
		return 1;
	if (rd_kafka_conf_set(conf, "transactional.id", txn_id, errstr, sizeof(errstr)) !=
	        RD_KAFKA_CONF_OK ||
	    (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "kafka_admin: %s\n", errstr);
		return 1;
	}
	if ((e = rd_kafka_init_transactions(rk, TIMEOUT_MS)) != NULL) {
		fprintf(stderr, "kafka_admin: init-transactions %s: %s\n", txn_id,
		    rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		bad = 1;
	}
	rd_kafka_destroy(rk);
	return bad;
}

int
main(int argc, char **argv)
{
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	int n = argc - 3, i, bad = 0;
	size_t cnt = 0, k;

	if (argc == 6 && strcmp(argv[2], "produce") == 0)
		return produce(argv[1], argv[3], argv[4], argv[5]);
	if (argc == 4 && strcmp(argv[2], "init-transactions") == 0)
		return init_transactions(argv[1], argv[3]);
	if (argc < 4 ||
	    (strcmp(argv[2], "delete-groups") != 0 && strcmp(argv[2], "delete-topics") != 0 &&
	        (strcmp(argv[2], "set-configs") != 0 || argc < 5))) {
		fprintf(stderr,
		    "usage: kafka_admin BROKERS delete-groups|delete-topics NAME...\n"
		    "       kafka_admin BROKERS set-configs TOPIC NAME=VALUE...\n"
		    "       kafka_admin BROKERS produce TOPIC PARTITION TIMESTAMP_MS <VALUE\n"
		    "       kafka_admin BROKERS init-transactions TRANSACTIONAL_ID\n");
		return 2;
	}
	if ((rk = client(argv[1])) == NULL)
		return 1;
	q = rd_kafka_queue_new(rk);
	ev = NULL;
	if (strcmp(argv[2], "set-configs") == 0) {
		bad = set_configs(rk, q, argv[3], argv + 4, argc - 4);
	} else if (strcmp(argv[2], "delete-groups") == 0) {
		rd_kafka_DeleteGroup_t *del[64];
		const rd_kafka_DeleteGroups_result_t *res;
		const rd_kafka_group_result_t **gr;

		if (n > 64)
			n = 64;
		for (i = 0; i < n; i++)
			del[i] = rd_kafka_DeleteGroup_new(argv[3 + i]);
		rd_kafka_DeleteGroups(rk, del, (size_t)n, NULL, q);
		rd_kafka_DeleteGroup_destroy_array(del, (size_t)n);
		ev = rd_kafka_queue_poll(q, TIMEOUT_MS);
		if (ev == NULL || rd_kafka_event_error(ev)) {
			fprintf(stderr, "kafka_admin: delete-groups: %s\n",
			    ev ? rd_kafka_event_error_string(ev) : "timed out");
			bad = 1;
		} else if ((res = rd_kafka_event_DeleteGroups_result(ev)) != NULL) {
			gr = rd_kafka_DeleteGroups_result_groups(res, &cnt);
			for (k = 0; k < cnt; k++) {
				const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[k]);

				bad |= report("group", rd_kafka_group_result_name(gr[k]), e,
				    e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR,
				    e ? rd_kafka_error_string(e) : NULL);
			}
		}
	} else {
		rd_kafka_DeleteTopic_t *del[64];
		const rd_kafka_DeleteTopics_result_t *res;
		const rd_kafka_topic_result_t **tr;

		if (n > 64)
			n = 64;
		for (i = 0; i < n; i++)
			del[i] = rd_kafka_DeleteTopic_new(argv[3 + i]);
		rd_kafka_DeleteTopics(rk, del, (size_t)n, NULL, q);
		rd_kafka_DeleteTopic_destroy_array(del, (size_t)n);
		ev = rd_kafka_queue_poll(q, TIMEOUT_MS);
		if (ev == NULL || rd_kafka_event_error(ev)) {
			fprintf(stderr, "kafka_admin: delete-topics: %s\n",
			    ev ? rd_kafka_event_error_string(ev) : "timed out");
			bad = 1;
		} else if ((res = rd_kafka_event_DeleteTopics_result(ev)) != NULL) {
			tr = rd_kafka_DeleteTopics_result_topics(res, &cnt);
			for (k = 0; k < cnt; k++)
				bad |= report("topic", rd_kafka_topic_result_name(tr[k]), NULL,
				    rd_kafka_topic_result_error(tr[k]),
				    rd_kafka_topic_result_error_string(tr[k]));
		}
	}
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return bad;
}
