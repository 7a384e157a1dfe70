/*
 * 0001-kafka-group-consume - Debian's librdkafka 2.0.2 against the pinned Kafka 4.x broker
 * (KIP-896 removed old protocol versions): a consumer group joins with the eager range
 * assignor, gets its assignment, consumes every message a producer sent, commits, and the
 * committed offsets read back equal the log end of every partition.
 *
 * With no broker (or a stopped one) it fails within a bounded time, saying so.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ax_kafka.h"

#define PARTITIONS 3
#define MESSAGES   300
#define DEADLINE_S 60

static const char *brokers;
static char topic[128], group[128];
static int assigned_partitions;
static int rebalances;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
rebalance_cb(
    rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	(void)opaque;
	rebalances++;
	if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		assigned_partitions = parts->cnt;
		rd_kafka_assign(rk, parts);
	} else {
		assigned_partitions = 0;
		rd_kafka_assign(rk, NULL);
	}
}

static void
setup(void)
{
	brokers = getenv("AXIOM_BROKERS");
	ck_assert_msg(brokers != NULL, "AXIOM_BROKERS is not set (run through tests/with-stack)");
	snprintf(topic, sizeof(topic), "it.0001.%ld.%ld", (long)getpid(), (long)time(NULL));
	snprintf(group, sizeof(group), "it-0001-%ld-%ld", (long)getpid(), (long)time(NULL));
}

START_TEST(test_group_joins_consumes_everything_and_commits)
{
	static const char *const consumer_kv[] = {
		"group.id",
		group,
		"enable.auto.commit",
		"false",
		"enable.auto.offset.store",
		"false",
		"auto.offset.reset",
		"earliest",
		"partition.assignment.strategy",
		"range",
		"session.timeout.ms",
		"10000",
		NULL,
	};
	static const char *const producer_kv[] = { "enable.idempotence", "true", "linger.ms", "5",
		NULL };
	struct ax_topic_spec spec = { AX_TOPIC_COMMANDS, "", PARTITIONS };
	struct ax_kafka_cluster cl;
	struct ax_err err;
	rd_kafka_t *admin = NULL, *prod = NULL, *cons = NULL;
	rd_kafka_topic_partition_list_t *subs, *committed;
	int64_t next[PARTITIONS] = { 0 }, low, high;
	int consumed = 0, i;
	double t0 = now_s();

	ax_err_clear(&err);
	snprintf(spec.name, sizeof(spec.name), "%s", topic);

	/* a bounded probe first: a missing broker is a clear failure, never a hang */
	ck_assert_int_eq(
	    ax_kafka_new(&admin, RD_KAFKA_PRODUCER, brokers, AX_KAFKA_ADMIN, producer_kv, &err),
	    AX_OK);
	ck_assert_msg(ax_kafka_probe(admin, brokers, 10000, &cl, &err) == AX_OK,
	    "kafka broker unreachable: %s (%s)", err.msg, err.detail);
	ck_assert_msg(ax_kafka_create_topics(admin, &spec, 1, 10000, &err) == AX_OK, "%s: %s",
	    err.msg, err.detail);
	prod = admin;
	admin = NULL;

	for (i = 0; i < MESSAGES; i++) {
		char key[32], val[64];
		rd_kafka_resp_err_t e;

		snprintf(key, sizeof(key), "lineage-%d", i % 17);
		snprintf(val, sizeof(val), "message %d", i);
		do {
			e = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic),
			    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(prod, 100);
		} while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		ck_assert_msg(e == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(e));
	}
	ck_assert_msg(rd_kafka_flush(prod, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR,
	    "producer could not deliver within 30 s");
	ck_assert_int_eq(rd_kafka_outq_len(prod), 0);

	{
		rd_kafka_conf_t *conf;
		char errstr[256];
		size_t k;

		/* the rebalance callback must be set on the conf */
		ck_assert_int_eq(
		    ax_kafka_conf(&conf, brokers, AX_KAFKA_ADMIN, 0, NULL, &err), AX_OK);
		for (k = 0; consumer_kv[k] != NULL; k += 2)
			ck_assert_msg(rd_kafka_conf_set(conf, consumer_kv[k], consumer_kv[k + 1],
			                  errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK,
			    "%s", errstr);
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
		cons = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
		ck_assert_msg(cons != NULL, "%s", errstr);
	}
	rd_kafka_poll_set_consumer(cons);
	subs = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
	ck_assert(rd_kafka_subscribe(cons, subs) == RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(subs);

	while (consumed < MESSAGES && now_s() - t0 < DEADLINE_S) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 500);

		if (m == NULL)
			continue;
		ck_assert_msg(m->err == RD_KAFKA_RESP_ERR_NO_ERROR, "consume: %s",
		    rd_kafka_message_errstr(m));
		ck_assert_int_lt(m->partition, PARTITIONS);
		ck_assert_int_eq(m->offset, next[m->partition]); /* in order, no gap */
		next[m->partition] = m->offset + 1;
		consumed++;
		rd_kafka_message_destroy(m);
	}
	ck_assert_msg(consumed == MESSAGES, "consumed %d of %d messages within %d s", consumed,
	    MESSAGES, DEADLINE_S);
	ck_assert_int_ge(rebalances, 1);
	ck_assert_int_eq(assigned_partitions, PARTITIONS);

	/* commit what was consumed, synchronously, then read the commits back */
	committed = rd_kafka_topic_partition_list_new(PARTITIONS);
	for (i = 0; i < PARTITIONS; i++)
		rd_kafka_topic_partition_list_add(committed, topic, i)->offset = next[i];
	ck_assert(rd_kafka_commit(cons, committed, 0) == RD_KAFKA_RESP_ERR_NO_ERROR);
	for (i = 0; i < PARTITIONS; i++)
		committed->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
	ck_assert(rd_kafka_committed(cons, committed, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
	for (i = 0; i < PARTITIONS; i++) {
		ck_assert(rd_kafka_query_watermark_offsets(cons, topic, i, &low, &high, 10000) ==
		          RD_KAFKA_RESP_ERR_NO_ERROR);
		ck_assert_int_eq(committed->elems[i].err, RD_KAFKA_RESP_ERR_NO_ERROR);
		ck_assert_int_eq(committed->elems[i].offset, high);
		ck_assert_int_eq(next[i], high);
	}
	rd_kafka_topic_partition_list_destroy(committed);
	ck_assert(rd_kafka_consumer_close(cons) == RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_destroy(cons);
	rd_kafka_destroy(prod);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0001-kafka-group-consume");
	TCase *tc = tcase_create("broker");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_group_joins_consumes_everything_and_commits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
