/*
 * 0003-topics-create - `axiom topics create` against the real broker: creates the three
 * topics with their invariants, is safe to run again, and refuses, with a clear message
 * and exit code 1, topics that exist with the wrong partition count or timestamp type.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ax_kafka.h"

static char prefix[96];

/* Run the axiom binary with args (shell words); capture stdout+stderr; return exit code. */
static int
axiom(char *out, size_t cap, const char *args)
{
	const char *bin = getenv("AXIOM_BIN");
	char cmd[1024];
	size_t n = 0, r;
	FILE *p;
	int status;

	ck_assert_msg(bin != NULL, "AXIOM_BIN is not set (run through ctest)");
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", bin, args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (n + 1 < cap && (r = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* A new topic may take a moment to show in metadata: wait for it, bounded. */
static void
wait_for_topic(rd_kafka_t *rk, const char *name)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	struct ax_topic_state st;
	struct ax_err err;
	int i;

	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(ax_kafka_describe_topic(rk, name, 10000, &st, &err), AX_OK);
		if (st.exists)
			return;
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("topic %s did not appear in the metadata within 10 s", name);
}

static void
setup(void)
{
	snprintf(prefix, sizeof(prefix), "it0003.%ld.%ld", (long)getpid(), (long)time(NULL));
}

START_TEST(test_create_makes_three_topics_and_is_safe_to_rerun)
{
	rd_kafka_t *rk = NULL;
	struct ax_topic_state st;
	struct ax_err err;
	char out[8192], args[256], name[160];
	size_t i;

	snprintf(args, sizeof(args), "topics create --prefix %s --partitions 4", prefix);
	ck_assert_msg(axiom(out, sizeof(out), args) == 0, "first run: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "created: 4 partitions"));
	ck_assert_msg(axiom(out, sizeof(out), args) == 0, "second run: %s", out);
	ck_assert_ptr_null(strstr(out, "created"));

	/* what the broker says, independently of the CLI */
	ck_assert_int_eq(ax_kafka_new(&rk, RD_KAFKA_PRODUCER, getenv("AXIOM_BROKERS"),
	                     AX_KAFKA_ADMIN, NULL, &err),
	    AX_OK);
	snprintf(name, sizeof(name), "%s.control", prefix);
	ck_assert_int_eq(ax_kafka_describe_topic(rk, name, 10000, &st, &err), AX_OK);
	ck_assert(st.exists);
	ck_assert_int_eq(st.partitions, 1);
	snprintf(name, sizeof(name), "%s.audit", prefix);
	ck_assert_int_eq(ax_kafka_describe_topic(rk, name, 10000, &st, &err), AX_OK);
	ck_assert_int_eq(st.partitions, 4);
	for (i = 0; i < ax_topic_configs_len; i++)
		ck_assert_str_eq(st.config[i], ax_topic_configs[i].value);
	rd_kafka_destroy(rk);

	/* check agrees; another partition count is refused, naming the fix */
	snprintf(args, sizeof(args), "topics check --prefix %s --partitions 4", prefix);
	ck_assert_msg(axiom(out, sizeof(out), args) == 0, "check: %s", out);
	snprintf(args, sizeof(args), "topics create --prefix %s --partitions 5", prefix);
	ck_assert_int_eq(axiom(out, sizeof(out), args), 1);
	ck_assert_ptr_nonnull(strstr(out, "has 4 partitions, not 5"));
	ck_assert_ptr_nonnull(strstr(out, "--partitions 4"));

	/* the doctor agrees, and knows the broker generation */
	snprintf(args, sizeof(args), "doctor --timeout 10");
	setenv("AXIOM_TOPIC_PREFIX", prefix, 1);
	ck_assert_msg(axiom(out, sizeof(out), args) == 0, "doctor: %s", out);
	unsetenv("AXIOM_TOPIC_PREFIX");
	ck_assert_ptr_nonnull(strstr(out, "Kafka 4.0 or newer"));
	ck_assert_ptr_nonnull(strstr(out, "all checks passed"));
}
END_TEST

START_TEST(test_doctor_flags_an_audit_topic_whose_count_differs_from_commands)
{
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	rd_kafka_t *rk = NULL;
	struct ax_err err;
	char out[8192], yprefix[128];
	int i;

	snprintf(yprefix, sizeof(yprefix), "%s.y", prefix);
	ck_assert_int_eq(ax_topics_plan(specs, yprefix, 3, &err), AX_OK);
	specs[AX_TOPIC_AUDIT].partitions = 2;
	ck_assert_int_eq(ax_kafka_new(&rk, RD_KAFKA_PRODUCER, getenv("AXIOM_BROKERS"),
	                     AX_KAFKA_ADMIN, NULL, &err),
	    AX_OK);
	ck_assert_msg(
	    ax_kafka_create_topics(rk, specs, AX_TOPIC_COUNT, 10000, &err) == AX_OK, "%s", err.msg);
	for (i = 0; i < AX_TOPIC_COUNT; i++)
		wait_for_topic(rk, specs[i].name);
	rd_kafka_destroy(rk);
	setenv("AXIOM_TOPIC_PREFIX", yprefix, 1);
	ck_assert_int_eq(axiom(out, sizeof(out), "doctor --timeout 10"), 1);
	unsetenv("AXIOM_TOPIC_PREFIX");
	ck_assert_msg(strstr(out, ".y.audit has 2 partitions, not 3") != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "1 check failed"));
}
END_TEST

START_TEST(test_create_refuses_an_existing_topic_with_create_time)
{
	struct ax_topic_spec spec = { AX_TOPIC_CONTROL, "", 1 };
	rd_kafka_t *rk = NULL;
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	struct ax_err err;
	char out[8192], args[256], errstr[256];

	/* a control topic made by someone else, with the broker's default CreateTime */
	snprintf(spec.name, sizeof(spec.name), "%s.x.control", prefix);
	ck_assert_int_eq(ax_kafka_new(&rk, RD_KAFKA_PRODUCER, getenv("AXIOM_BROKERS"),
	                     AX_KAFKA_ADMIN, NULL, &err),
	    AX_OK);
	nt = rd_kafka_NewTopic_new(spec.name, 1, -1, errstr, sizeof(errstr));
	ck_assert_ptr_nonnull(nt);
	rd_kafka_NewTopic_set_config(nt, "message.timestamp.type", "CreateTime");
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 15000);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(rd_kafka_event_error(ev), 0);
	rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_destroy(rk);

	snprintf(args, sizeof(args), "topics create --prefix %s.x", prefix);
	ck_assert_int_eq(axiom(out, sizeof(out), args), 1);
	ck_assert_msg(
	    strstr(out, "message.timestamp.type=CreateTime, not LogAppendTime") != NULL, "%s", out);
	/* the other two were still created, correctly */
	ck_assert_ptr_nonnull(strstr(out, ".x.commands"));
	ck_assert_ptr_nonnull(strstr(out, "created: 6 partitions"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0003-topics-create");
	TCase *tc = tcase_create("broker");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create_makes_three_topics_and_is_safe_to_rerun);
	tcase_add_test(tc, test_create_refuses_an_existing_topic_with_create_time);
	tcase_add_test(tc, test_doctor_flags_an_audit_topic_whose_count_differs_from_commands);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
