/*
 * kafka_admin - the Kafka clean-up the shell tests need and kcat lacks: delete throwaway
 * consumer groups and topics (librdkafka's admin API).
 *
 *   kafka_admin BROKERS delete-groups GROUP...
 *   kafka_admin BROKERS delete-topics TOPIC...
 *
 * Exit 0 when every name was deleted or did not exist, 1 otherwise (the reason on stderr).
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#define TIMEOUT_MS 15000

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

int
main(int argc, char **argv)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	int n = argc - 3, i, bad = 0;
	size_t cnt = 0, k;

	if (argc < 4 ||
	    (strcmp(argv[2], "delete-groups") != 0 && strcmp(argv[2], "delete-topics") != 0)) {
		fprintf(stderr, "usage: kafka_admin BROKERS delete-groups|delete-topics NAME...\n");
		return 2;
	}
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)) !=
	        RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    (rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		fprintf(stderr, "kafka_admin: %s\n", errstr);
		return 1;
	}
	q = rd_kafka_queue_new(rk);
	if (strcmp(argv[2], "delete-groups") == 0) {
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
