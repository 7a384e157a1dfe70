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
 *   kafka_admin BROKERS copy-audit SRC DST MODE N
 *       copy the committed events of audit topic SRC into DST, partition by partition, and
 *       forge one on the way: MODE none (an exact copy), drop (leave out the N-th outcome,
 *       counted from 0 over the partitions in order), dup (copy it twice), swap (it and
 *       the next event of its partition change places), flip (the first REJECTED outcome
 *       from the N-th on becomes ACCEPTED, its hashes kept), badsig (the last byte of the
 *       first checkpoint's signature changes); prints what it forged
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

#include "ax_codec.h"
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

/* One committed event of the source, its bytes owned here. */
struct event {
	int32_t partition;
	uint8_t *buf;
	size_t len;
	int kind; /* enum ax_kind */
	int decision;
};

/* Read every committed event of topic (partition by partition, in order) into *ev. */
static int
read_events(
    const char *brokers, const char *topic, struct ax_decoder *dec, struct event **ev, size_t *n)
{
	static const char *const kv[] = { "group.id", "axiom-kafka-admin", "enable.partition.eof",
		"true", "isolation.level", "read_committed", NULL };
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t;
	struct ax_err err;
	rd_kafka_t *rk;
	size_t cap = 0;
	int p, np, bad = 0;

	ax_err_clear(&err);
	if (ax_kafka_new(&rk, RD_KAFKA_CONSUMER, brokers, AX_KAFKA_ADMIN, kv, &err) != AX_OK) {
		fprintf(stderr, "kafka_admin: %s\n", err.msg);
		return 1;
	}
	t = rd_kafka_topic_new(rk, topic, NULL);
	if (rd_kafka_metadata(rk, 0, t, &md, TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    md->topic_cnt != 1 || md->topics[0].err) {
		fprintf(stderr, "kafka_admin: copy-audit: no topic %s\n", topic);
		bad = 1;
		goto out;
	}
	np = md->topics[0].partition_cnt;
	for (p = 0; p < np && !bad; p++) {
		int64_t low, high;

		if (rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, TIMEOUT_MS) ||
		    rd_kafka_consume_start(t, p, low) != 0) {
			bad = 1;
			break;
		}
		while (low < high) {
			rd_kafka_message_t *m = rd_kafka_consume(t, p, TIMEOUT_MS);
			struct ax_message msg;

			if (m == NULL || m->err) {
				bad = m == NULL || m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF;
				if (m != NULL)
					rd_kafka_message_destroy(m);
				break;
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 1024;
				*ev = realloc(*ev, cap * sizeof(**ev));
			}
			(*ev)[*n].partition = p;
			(*ev)[*n].len = m->len;
			(*ev)[*n].buf = malloc(m->len);
			memcpy((*ev)[*n].buf, m->payload, m->len);
			(*ev)[*n].kind = AX_KIND_NONE;
			if (ax_decode(dec, AX_FAMILY_AUDIT, m->payload, m->len, &msg, &err) ==
			    AX_OK) {
				(*ev)[*n].kind = msg.kind;
				(*ev)[*n].decision =
				    msg.kind == AX_KIND_OUTCOME ? msg.u.outcome.decision : 0;
			}
			(*n)++;
			rd_kafka_message_destroy(m);
		}
		rd_kafka_consume_stop(t, p);
	}
out:
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	rd_kafka_destroy(rk);
	return bad;
}

/* The JSON form of e with its decision ACCEPTED, re-encoded into e (hashes kept). */
static int
flip_decision(struct ax_codec *codec, struct ax_decoder *dec, struct event *e)
{
	struct ax_message msg;
	struct ax_err err;
	uint8_t *out;
	size_t len;
	json_t *j;
	int rc;

	if (ax_decode(dec, AX_FAMILY_AUDIT, e->buf, e->len, &msg, &err) != AX_OK ||
	    (j = ax_message_to_json(&msg)) == NULL)
		return 1;
	json_object_set_new(json_object_get(json_object_get(j, "payload"), "Outcome"), "decision",
	    json_string("ACCEPTED"));
	rc = ax_encode_json(ax_codec_current(codec, AX_FAMILY_AUDIT), j, NULL, &out, &len, &err);
	json_decref(j);
	if (rc != AX_OK) {
		fprintf(stderr, "kafka_admin: flip: %s\n", err.msg);
		return 1;
	}
	free(e->buf);
	e->buf = out;
	e->len = len;
	return 0;
}

static int
copy_audit(const char *brokers, const char *src, const char *dst, const char *mode, long nth)
{
	struct event *ev = NULL, tmp;
	struct ax_codec *codec = NULL;
	struct ax_decoder *dec = NULL;
	rd_kafka_conf_t *conf;
	rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR_NO_ERROR;
	struct ax_err err;
	char errstr[512];
	rd_kafka_t *rk = NULL;
	size_t n = 0, i, at = (size_t)-1;
	long outcomes = 0;
	int bad = 0;

	ax_err_clear(&err);
	if (ax_codec_new(&codec, NULL, &err) != AX_OK ||
	    ax_decoder_new(&dec, codec, &err) != AX_OK ||
	    read_events(brokers, src, dec, &ev, &n) != 0) {
		fprintf(stderr, "kafka_admin: copy-audit: could not read %s %s\n", src, err.msg);
		bad = 1;
		goto out;
	}
	for (i = 0; i < n && at == (size_t)-1 && strcmp(mode, "none") != 0; i++) {
		if (strcmp(mode, "badsig") == 0) {
			if (ev[i].kind == AX_KIND_CHECKPOINT)
				at = i;
		} else if (ev[i].kind == AX_KIND_OUTCOME && outcomes++ >= nth &&
		           (strcmp(mode, "flip") != 0 ||
		               ev[i].decision == AX_AUDIT_DECISION_REJECTED)) {
			at = i;
		}
	}
	if (strcmp(mode, "none") != 0 && at == (size_t)-1) {
		fprintf(stderr, "kafka_admin: copy-audit: nothing to %s\n", mode);
		bad = 1;
		goto out;
	}
	if (strcmp(mode, "flip") == 0 && flip_decision(codec, dec, &ev[at]) != 0) {
		bad = 1;
		goto out;
	}
	if (strcmp(mode, "badsig") == 0)
		ev[at].buf[ev[at].len - 1] ^= 0x01;
	if (strcmp(mode, "swap") == 0) {
		if (at + 1 >= n || ev[at + 1].partition != ev[at].partition) {
			fprintf(
			    stderr, "kafka_admin: copy-audit: no event after the one to swap\n");
			bad = 1;
			goto out;
		}
		tmp = ev[at];
		ev[at] = ev[at + 1];
		ev[at + 1] = tmp;
	}
	if ((conf = client_conf(brokers)) == NULL) {
		bad = 1;
		goto out;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, delivered);
	rd_kafka_conf_set_opaque(conf, &result);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "kafka_admin: %s\n", errstr);
		bad = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		int copies = i == at ? (strcmp(mode, "drop") == 0     ? 0
		                           : strcmp(mode, "dup") == 0 ? 2
		                                                      : 1)
		                     : 1;

		while (copies-- > 0)
			if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(dst),
			        RD_KAFKA_V_PARTITION(ev[i].partition),
			        RD_KAFKA_V_VALUE(ev[i].buf, ev[i].len),
			        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) != 0)
				bad = 1;
		/* one by one: the copy keeps the source's order within a partition */
		rd_kafka_flush(rk, TIMEOUT_MS);
	}
	if (bad || result != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "kafka_admin: copy-audit: could not write %s: %s\n", dst,
		    rd_kafka_err2str(result));
		bad = 1;
	} else if (at != (size_t)-1) {
		printf("%s: event %zu of %zu (partition %d)\n", mode, at, n, (int)ev[at].partition);
	}
out:
	if (rk != NULL)
		rd_kafka_destroy(rk);
	for (i = 0; i < n; i++)
		free(ev[i].buf);
	free(ev);
	ax_decoder_free(dec);
	ax_codec_free(codec);
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
	if (argc == 7 && strcmp(argv[2], "copy-audit") == 0)
		return copy_audit(argv[1], argv[3], argv[4], argv[5], strtol(argv[6], NULL, 10));
	if (argc < 4 ||
	    (strcmp(argv[2], "delete-groups") != 0 && strcmp(argv[2], "delete-topics") != 0 &&
	        (strcmp(argv[2], "set-configs") != 0 || argc < 5))) {
		fprintf(stderr,
		    "usage: kafka_admin BROKERS delete-groups|delete-topics NAME...\n"
		    "       kafka_admin BROKERS set-configs TOPIC NAME=VALUE...\n"
		    "       kafka_admin BROKERS produce TOPIC PARTITION TIMESTAMP_MS <VALUE\n"
		    "       kafka_admin BROKERS init-transactions TRANSACTIONAL_ID\n"
		    "       kafka_admin BROKERS copy-audit SRC DST none|drop|dup|swap|flip|badsig "
		    "N\n");
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
