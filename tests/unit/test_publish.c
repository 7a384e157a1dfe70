/*
 * test_publish.c - the pure half of publishing (ax_publish.h): the built-in examples, and
 * one JSON line to one keyed message with precise errors. The Kafka half is tested by
 * tests/integration/0401-publish-cli.sh against the real broker.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_publish.h"

static struct ax_codec *codec;

static void
setup(void)
{
	struct ax_err err;

	ck_assert_int_eq(ax_codec_new(&codec, NULL, &err), AX_OK);
}

static void
teardown(void)
{
	ax_codec_free(codec);
	codec = NULL;
}

START_TEST(test_examples_cover_every_command_type_and_encode)
{
	int seen[AX_KIND_COUNT] = { 0 };
	struct ax_decoder *d = NULL;
	struct ax_err err;

	ck_assert_int_eq(ax_decoder_new(&d, codec, &err), AX_OK);
	for (size_t i = 0; i < ax_publish_examples_len; i++) {
		struct ax_publish_msg m;
		struct ax_message msg;
		const char *ex = ax_publish_examples[i];

		ck_assert_msg(ax_publish_encode_line(codec, ex, strlen(ex), &m, &err) == AX_OK,
		    "example %zu: %s", i, err.msg);
		ck_assert_int_eq(ax_decode(d, m.family, m.buf, m.len, &msg, &err), AX_OK);
		ck_assert_int_eq(msg.kind, m.kind);
		seen[m.kind]++;
		if (m.family == AX_FAMILY_DATA)
			ck_assert_uint_eq(strlen(m.key), 36); /* the lineage id */
		else
			ck_assert_str_eq(m.key, "");
		ax_publish_msg_clear(&m);
	}
	for (int k = AX_KIND_USER_ENROLL; k <= AX_KIND_SIGN; k++)
		ck_assert_msg(seen[k] >= 1, "%s: %d examples", ax_kind_name(k), seen[k]);
	ck_assert_int_ge(seen[AX_KIND_SCOPE_DEFINE], 1);
	ax_decoder_free(d);
}
END_TEST

START_TEST(test_examples_are_the_command_lines_of_the_test_data)
{
	const char *dir = getenv("AXIOM_TEST_DATA");
	char path[4096], line[8192];
	size_t i = 0;
	FILE *fp;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/avro/examples.jsonl", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (strstr(line, "\"Outcome\"") || strstr(line, "\"Checkpoint\""))
			continue;
		ck_assert_uint_lt(i, ax_publish_examples_len);
		ck_assert_str_eq(ax_publish_examples[i], line);
		i++;
	}
	fclose(fp);
	ck_assert_uint_eq(i, ax_publish_examples_len);
}
END_TEST

START_TEST(test_publish_line_errors_name_the_problem)
{
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "{\"actor\":", "not valid JSON: unexpected token near end of file" },
		{ "[]", "a command must be a JSON object" },
		{ "{\"a\":1,\"a\":2}", "not valid JSON: duplicate object key" },
		{ "{\"actor\":\"a\"}", "field payload is missing" },
		{ "{\"payload\":{\"A\":{},\"B\":{}}}",
		    "field payload must be an object with exactly one key, the command type" },
		{ "{\"payload\":{\"Outcome\":{}}}",
		    "field payload names \"Outcome\", which is an audit event, not a command" },
		{ "{\"payload\":{\"Sign\":{}}}", "field command_id is missing" },
		{ "{\"command_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001\",\"actor\":\"a\","
		  "\"issued_at\":1,\"reason\":\"r\",\"lineage_id\":\"nope\",\"payload\":{"
		  "\"SubmitChange\":"
		  "{\"change_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001\"}}}",
		    "field lineage_id must be a UUID (8-4-4-4-12 hex digits)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ax_publish_msg m;
		struct ax_err err;

		ck_assert_int_eq(
		    ax_publish_encode_line(codec, cases[i].line, strlen(cases[i].line), &m, &err),
		    AX_EINVAL);
		ck_assert_msg(strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
		    "case %zu: %s", i, err.msg);
		ck_assert_ptr_null(m.buf);
	}
}
END_TEST

START_TEST(test_producer_accounts_for_every_message_when_the_broker_is_gone)
{
	struct ax_producer *p = NULL;
	const struct ax_producer_stats *st;
	struct ax_publish_msg m[3];
	struct ax_err err;

	/*
	 * nothing listens on port 9: every message must end as failed, with its line. An open
	 * broker's settings: a shell that loaded a stack's (eval "$(ops/stack env)") names its
	 * TLS files, which a stopped and purged stack no longer has
	 */
	unsetenv("AXIOM_KAFKA_UPSTREAM_CONFIG");
	ck_assert_int_eq(ax_producer_new(&p, "127.0.0.1:9", AX_KAFKA_UPSTREAM, 1500, &err), AX_OK);
	for (int i = 0; i < 3; i++) {
		const char *ex = ax_publish_examples[i * 10]; /* control, data, data */

		ck_assert_int_eq(ax_publish_encode_line(codec, ex, strlen(ex), &m[i], &err), AX_OK);
		ck_assert_int_eq(
		    ax_producer_send(p, "it-nowhere", &m[i], (uint64_t)(100 + i), &err), AX_OK);
	}
	st = ax_producer_wait(p, 5000);
	ck_assert_uint_eq(st->sent, 3);
	ck_assert_uint_eq(st->delivered, 0);
	ck_assert_uint_eq(st->failed, 3);
	ck_assert_uint_eq(st->nfailures, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_ge(st->failures[i].line, 100);
		ck_assert_uint_le(st->failures[i].line, 102);
		ck_assert_str_ne(st->failures[i].reason, "");
	}
	for (int i = 0; i < 3; i++)
		ax_publish_msg_clear(&m[i]);
	ax_producer_free(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("publish");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_examples_cover_every_command_type_and_encode);
	tcase_add_test(tc, test_examples_are_the_command_lines_of_the_test_data);
	tcase_add_test(tc, test_publish_line_errors_name_the_problem);
	tcase_add_test(tc, test_producer_accounts_for_every_message_when_the_broker_is_gone);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
