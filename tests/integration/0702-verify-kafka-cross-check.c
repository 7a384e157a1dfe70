/*
 * 0702-verify-kafka-cross-check - `axiom verify` cross-checks the ledger against the Kafka
 * log: throwaway topics (a unique prefix per run, created with ax_kafka_create_topics) get
 * plain messages and transactional ones (committed, and one aborted, so the log has offsets
 * taken by commit/abort markers and an aborted record that a read_committed applier never
 * sees); ledger entries and stored next offsets written through the SQL API for exactly the
 * committed offsets verify with exit 0. A dropped entry, an entry for an offset that is not in
 * the log (a marker), an entry at or after the stored next offset and entries for a
 * partition the topic does not have are each detected (exit 1) and named by topic,
 * partition and offset; an unreachable broker is exit 3.
 */
#include <check.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ax_dbtest.h"
#include "ax_kafka.h"
#include "ax_topics.h"
#include "verify_fixture.h"

#define MAXOFF 16

static const char *brokers;
static char prefix[96], control[AX_TOPIC_NAME_MAX], commands[AX_TOPIC_NAME_MAX];
static struct ax_topic_spec specs[AX_TOPIC_COUNT];
static char out[65536];

/* The committed offsets of each partition, from delivery reports: control, p0, p1. */
static int64_t offs[3][MAXOFF];
static int noffs[3];
static int64_t aborted_offset = -1;

enum { OP_COMMITTED = 1, OP_ABORTED = 2 };

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	const char *t = rd_kafka_topic_name(m->rkt);
	int k = strcmp(t, control) == 0 ? 0 : 1 + m->partition;

	(void)rk;
	(void)opaque;
	ck_assert_msg(
	    m->err == RD_KAFKA_RESP_ERR_NO_ERROR, "delivery: %s", rd_kafka_err2str(m->err));
	if ((intptr_t)m->_private == OP_ABORTED) {
		aborted_offset = m->offset;
		return;
	}
	ck_assert_int_lt(noffs[k], MAXOFF);
	offs[k][noffs[k]++] = m->offset;
}

static rd_kafka_t *
producer(const char *txn_id)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	struct ax_err err;
	rd_kafka_t *rk;

	ck_assert_int_eq(ax_kafka_conf(&conf, brokers, AX_KAFKA_ADMIN, 0, NULL, &err), AX_OK);
	ck_assert(rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ==
	          RD_KAFKA_CONF_OK);
	ck_assert(
	    rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK);
	if (txn_id != NULL)
		ck_assert(rd_kafka_conf_set(conf, "transactional.id", txn_id, errstr,
		              sizeof(errstr)) == RD_KAFKA_CONF_OK);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	ck_assert_msg(rk != NULL, "%s", errstr);
	return rk;
}

static void
produce(rd_kafka_t *rk, const char *topic, int partition, int n, intptr_t kind)
{
	rd_kafka_resp_err_t e;
	int i;

	for (i = 0; i < n; i++) {
		e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
		    RD_KAFKA_V_VALUE("payload", 7), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_OPAQUE((void *)kind), RD_KAFKA_V_END);
		ck_assert_msg(e == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(e));
	}
	ck_assert(rd_kafka_flush(rk, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void
txn_ok(rd_kafka_error_t *e)
{
	ck_assert_msg(e == NULL, "transaction: %s", e ? rd_kafka_error_string(e) : "");
}

/*
 * Topics PREFIX.{control,commands,audit}; control: 3 plain messages (0, 1, 2); commands
 * partition 1: 3 plain messages (0, 1, 2); commands partition 0, transactional: 2 committed
 * (0, 1; marker 2), 1 aborted (3; marker 4), 2 committed (5, 6; marker 7).
 */
static void
setup_topics(void)
{
	struct ax_err err;
	rd_kafka_t *admin = NULL, *plain, *txn;
	char txn_id[160];

	brokers = getenv("AXIOM_BROKERS");
	ck_assert_msg(brokers != NULL, "AXIOM_BROKERS is not set (run through tests/with-stack)");
	snprintf(prefix, sizeof(prefix), "it0702.%ld.%ld", (long)getpid(), (long)time(NULL));
	ck_assert_int_eq(ax_topics_plan(specs, prefix, 2, &err), AX_OK);
	snprintf(control, sizeof(control), "%s", specs[AX_TOPIC_CONTROL].name);
	snprintf(commands, sizeof(commands), "%s", specs[AX_TOPIC_COMMANDS].name);
	ck_assert_int_eq(
	    ax_kafka_new(&admin, RD_KAFKA_PRODUCER, brokers, AX_KAFKA_ADMIN, NULL, &err), AX_OK);
	ck_assert_msg(ax_kafka_create_topics(admin, specs, AX_TOPIC_COUNT, 15000, &err) == AX_OK,
	    "%s: %s", err.msg, err.detail);
	rd_kafka_destroy(admin);

	plain = producer(NULL);
	produce(plain, control, 0, 3, OP_COMMITTED);
	produce(plain, commands, 1, 3, OP_COMMITTED);
	rd_kafka_destroy(plain);

	snprintf(txn_id, sizeof(txn_id), "%s.txn", prefix);
	txn = producer(txn_id);
	txn_ok(rd_kafka_init_transactions(txn, 30000));
	txn_ok(rd_kafka_begin_transaction(txn));
	produce(txn, commands, 0, 2, OP_COMMITTED);
	txn_ok(rd_kafka_commit_transaction(txn, 30000));
	txn_ok(rd_kafka_begin_transaction(txn));
	produce(txn, commands, 0, 1, OP_ABORTED);
	txn_ok(rd_kafka_abort_transaction(txn, 30000));
	txn_ok(rd_kafka_begin_transaction(txn));
	produce(txn, commands, 0, 2, OP_COMMITTED);
	txn_ok(rd_kafka_commit_transaction(txn, 30000));
	rd_kafka_destroy(txn);

	ck_assert_int_eq(noffs[0], 3);
	ck_assert_int_eq(noffs[1], 4);
	ck_assert_int_eq(noffs[2], 3);
	/* the markers take offsets: the committed ones are not contiguous */
	ck_assert_int_eq(offs[1][0], 0);
	ck_assert_int_eq(offs[1][1], 1);
	ck_assert_int_eq(aborted_offset, 3);
	ck_assert_int_eq(offs[1][2], 5);
	ck_assert_int_eq(offs[1][3], 6);
}

static void
teardown_topics(void)
{
	rd_kafka_DeleteTopic_t *del[AX_TOPIC_COUNT];
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	struct ax_err err;
	rd_kafka_t *admin = NULL;
	int i;

	if (ax_kafka_new(&admin, RD_KAFKA_PRODUCER, brokers, AX_KAFKA_ADMIN, NULL, &err) != AX_OK)
		return;
	for (i = 0; i < AX_TOPIC_COUNT; i++)
		del[i] = rd_kafka_DeleteTopic_new(specs[i].name);
	q = rd_kafka_queue_new(admin);
	rd_kafka_DeleteTopics(admin, del, AX_TOPIC_COUNT, NULL, q);
	ev = rd_kafka_queue_poll(q, 15000); /* best effort: throwaway topics */
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	rd_kafka_DeleteTopic_destroy_array(del, AX_TOPIC_COUNT);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(admin);
}

/* Append a ledger entry through the API; "accepted" or the reason code. */
static const char *
entry(const char *topic, int partition, int64_t offset, const char *decision)
{
	return dbt_call(T.api,
	    "axiom_api.append_ledger_entry('alice', '2026-01-01 00:10:00+00', '%s', %d, %" PRId64
	    ", gen_random_uuid(), '%s', %s, %s)",
	    topic, partition, offset, decision,
	    strcmp(decision, "rejected") == 0 ? "'insufficient_access_level'" : "NULL",
	    strcmp(decision, "rejected") == 0 ? "NULL" : "sha256('x')");
}

static void
store(const char *topic, int partition, int64_t next)
{
	ck_assert_str_eq(
	    dbt_call(T.api,
	        "axiom_api.store_next_offset('it-applier', '%s', %d, NULL, %" PRId64 ")", topic,
	        partition, next),
	    "accepted");
}

/* One ledger entry per committed offset, and the next offsets an applier would store. */
static void
setup(void)
{
	int k, i;

	dbt_setup("0702");
	dbt_seed();
	for (k = 0; k < 3; k++)
		for (i = 0; i < noffs[k]; i++)
			ck_assert_str_eq(entry(k == 0 ? control : commands, k == 0 ? 0 : k - 1,
			                     offs[k][i], i == 1 ? "rejected" : "accepted"),
			    "accepted");
	store(control, 0, 3);
	store(commands, 0, 7);
	store(commands, 1, 3);
}

static void
teardown(void)
{
	dbt_teardown();
}

static int
verify(void)
{
	/* --no-audit: these ledgers are built through the API, without a relay (the audit topic
	 * cross-check is 0512's) */
	return vf_run(out, sizeof(out), "--dsn %s --brokers %s --prefix %s --timeout 20 --no-audit",
	    vf_dsn("AXIOM_PG_AUDITOR_DSN"), brokers, prefix);
}

#define ASSERT_HAS(s) ck_assert_msg(strstr(out, (s)) != NULL, "missing \"%s\" in:\n%s", (s), out)

static void expect(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Assert that the output holds the line fmt formats. */
static void
expect(const char *fmt, ...)
{
	char want[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ASSERT_HAS(want);
}

START_TEST(test_a_ledger_that_matches_the_log_verifies_with_exit_0)
{
	ck_assert_msg(verify() == 0, "%s", out);
	ASSERT_HAS("ledger chains  4 partitions, 34 entries: 0 broken");
	ASSERT_HAS("kafka log      3 partitions, 10 offsets: 0 broken");
	ASSERT_HAS("every chain is valid");
}
END_TEST

START_TEST(test_a_dropped_ledger_entry_is_named_by_partition_and_offset)
{
	dbt_exec(T.admin,
	    "BEGIN; ALTER TABLE axiom.ledger DISABLE TRIGGER USER; "
	    "DELETE FROM axiom.ledger WHERE topic = '%s' AND kafka_partition = 1 "
	    "AND kafka_offset = 2; "
	    "ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER append_only_row, "
	    "ENABLE ALWAYS TRIGGER append_only_truncate; COMMIT",
	    commands);
	ck_assert_msg(verify() == 1, "%s", out);
	/* the last entry: the chain itself still verifies, only the log tells */
	ASSERT_HAS("ledger chains  4 partitions, 33 entries: 0 broken");
	expect("broken: kafka %s partition 1 offset 2: offset 2 is in the log but has no ledger "
	       "entry\n",
	    commands);
	ASSERT_HAS("kafka log      3 partitions, 10 offsets: 1 broken");
}
END_TEST

START_TEST(test_entries_for_offsets_absent_from_the_log_are_named)
{
	/* partition 0 of commands: an entry for the commit marker at offset 2 ... */
	dbt_exec(T.admin,
	    "BEGIN; ALTER TABLE axiom.ledger DISABLE TRIGGER USER; "
	    "DELETE FROM axiom.ledger WHERE topic = '%s' AND kafka_partition = 0; "
	    "ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER append_only_row, "
	    "ENABLE ALWAYS TRIGGER append_only_truncate; COMMIT",
	    commands);
	ck_assert_str_eq(entry(commands, 0, 0, "accepted"), "accepted");
	ck_assert_str_eq(entry(commands, 0, 1, "accepted"), "accepted");
	ck_assert_str_eq(entry(commands, 0, 2, "accepted"), "accepted");
	ck_assert_str_eq(entry(commands, 0, 5, "accepted"), "accepted");
	ck_assert_str_eq(entry(commands, 0, 6, "accepted"), "accepted");
	/* ... control: an entry past the stored next offset ... */
	ck_assert_str_eq(entry(control, 0, 9, "rejected"), "accepted");
	/* ... and a partition the topic does not have */
	ck_assert_str_eq(entry(commands, 5, 0, "accepted"), "accepted");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("ledger chains  5 partitions, 37 entries: 0 broken");
	expect("broken: kafka %s partition 0 offset 2: ledger entry 3 refers to offset 2, which is "
	       "not in the log\n",
	    commands);
	expect("broken: kafka %s partition 0 offset 9: ledger entry 4 refers to offset 9, at or "
	       "after the stored next offset 3\n",
	    control);
	expect("broken: kafka %s partition 5 seq 1: the ledger has 1 entries for this partition, "
	       "but the topic has 2 partitions\n",
	    commands);
	ASSERT_HAS("verified as axiom_auditor: 3 chains broken");
}
END_TEST

START_TEST(test_the_aborted_record_needs_no_entry_but_an_entry_for_it_is_stray)
{
	/* an applier reading uncommitted records would have ledgered offset 3 */
	dbt_exec(T.admin,
	    "BEGIN; ALTER TABLE axiom.ledger DISABLE TRIGGER USER; "
	    "DELETE FROM axiom.ledger WHERE topic = '%s' AND kafka_partition = 0 AND seq > 2; "
	    "ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER append_only_row, "
	    "ENABLE ALWAYS TRIGGER append_only_truncate; COMMIT",
	    commands);
	ck_assert_str_eq(entry(commands, 0, 3, "accepted"), "accepted");
	ck_assert_str_eq(entry(commands, 0, 5, "accepted"), "accepted");
	ck_assert_str_eq(entry(commands, 0, 6, "accepted"), "accepted");
	/*
	 * a topic outside the prefix (and the seed's, ax_dbtest.h): its chain is checked, the
	 * log cross-check says it skipped it
	 */
	ck_assert_str_eq(entry("it0702.elsewhere", 0, 0, "accepted"), "accepted");
	ck_assert_msg(verify() == 1, "%s", out);
	ASSERT_HAS("ledger chains  5 partitions, 36 entries: 0 broken");
	ASSERT_HAS("the ledger also has 2 topics outside the prefix, not cross-checked");
	expect("broken: kafka %s partition 0 offset 3: ledger entry 3 refers to offset 3, which is "
	       "not in the log\n",
	    commands);
}
END_TEST

START_TEST(test_an_unreachable_broker_is_exit_3)
{
	ck_assert_int_eq(
	    vf_run(out, sizeof(out), "--dsn %s --brokers 127.0.0.1:1 --prefix %s --timeout 3",
	        vf_dsn("AXIOM_PG_AUDITOR_DSN"), prefix),
	    3);
	ASSERT_HAS("could not reach the kafka broker at 127.0.0.1:1");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0702-verify-kafka-cross-check");
	TCase *tc = tcase_create("kafka");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup_topics, teardown_topics);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_a_ledger_that_matches_the_log_verifies_with_exit_0);
	tcase_add_test(tc, test_a_dropped_ledger_entry_is_named_by_partition_and_offset);
	tcase_add_test(tc, test_entries_for_offsets_absent_from_the_log_are_named);
	tcase_add_test(tc, test_the_aborted_record_needs_no_entry_but_an_entry_for_it_is_stray);
	tcase_add_test(tc, test_an_unreachable_broker_is_exit_3);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
