/*
 * txn_produce - an upstream system that publishes with a transactional producer, for the
 * tests of docs/producers.md section 4 ("Transactions"): the data commands of a JSON-lines
 * file (the format of `axiom publish`) in one Kafka transaction, committed or aborted.
 *
 *   txn_produce BROKERS TOPIC TRANSACTIONAL_ID commit|abort FILE
 *
 * Each line is encoded by the publishing side's own encoder (producers/ax_publish.h) and
 * keyed by its lineage id, partitioned with murmur2 as every producer must; control
 * commands are refused (the control plane is not an upstream system). The producer acts as
 * the upstream principal (AXIOM_KAFKA_UPSTREAM_CONFIG, ax_kafka_conf), so the broker's ACLs
 * on transactional ids (ops/stack) are part of what a test of it proves.
 *
 * Exit 0 when the transaction was committed (commit) or aborted after every message was
 * written to the log (abort: the records and the abort marker take offsets, which is the
 * point); 1 otherwise, the reason on stderr; 2 on a bad command line.
 */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_codec.h"
#include "ax_kafka.h"
#include "ax_publish.h"

#define TIMEOUT_MS 30000
#define LINES_MAX  1000

/* A transaction call's error, reported and freed; 1 when there was one. */
static int
failed(const char *what, rd_kafka_error_t *e)
{
	if (e == NULL)
		return 0;
	fprintf(stderr, "txn_produce: %s: %s\n", what, rd_kafka_error_string(e));
	rd_kafka_error_destroy(e);
	return 1;
}

static void
delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	int *bad = opaque;

	(void)rk;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "txn_produce: not delivered: %s\n", rd_kafka_err2str(m->err));
		*bad = 1;
	}
}

/* Queue every data command of file f in the open transaction of rk; 0 when all were. */
static int
produce_file(rd_kafka_t *rk, const struct ax_codec *codec, const char *topic, FILE *f, int *n)
{
	static char line[AX_PUBLISH_LINE_MAX];
	struct ax_publish_msg m;
	struct ax_err err;
	rd_kafka_vu_t vu[4];
	rd_kafka_error_t *e;

	memset(&m, 0, sizeof(m));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n");

		if (len == 0)
			continue;
		if (*n >= LINES_MAX) {
			fprintf(stderr, "txn_produce: more than %d commands\n", LINES_MAX);
			return 1;
		}
		if (ax_publish_encode_line(codec, line, len, &m, &err) != AX_OK) {
			fprintf(stderr, "txn_produce: line %d: %s\n", *n + 1, err.msg);
			return 1;
		}
		if (m.family != AX_FAMILY_DATA) {
			fprintf(stderr, "txn_produce: line %d: not a data command\n", *n + 1);
			ax_publish_msg_clear(&m);
			return 1;
		}
		/* rd_kafka_produceva, not the producev macros (GNU statement expressions) */
		memset(vu, 0, sizeof(vu));
		vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
		vu[0].u.cstr = topic;
		vu[1].vtype = RD_KAFKA_VTYPE_KEY;
		vu[1].u.mem.ptr = m.key;
		vu[1].u.mem.size = strlen(m.key);
		vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
		vu[2].u.mem.ptr = m.buf;
		vu[2].u.mem.size = m.len;
		vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
		vu[3].u.i = RD_KAFKA_MSG_F_COPY;
		e = rd_kafka_produceva(rk, vu, 4);
		ax_publish_msg_clear(&m);
		if (e != NULL) {
			fprintf(stderr, "txn_produce: line %d: could not queue: %s\n", *n + 1,
			    rd_kafka_error_string(e));
			rd_kafka_error_destroy(e);
			return 1;
		}
		(*n)++;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *const kv[] = { "transactional.id", argc == 6 ? argv[3] : "", "acks", "all",
		"partitioner", "murmur2_random", NULL };
	struct ax_codec *codec = NULL;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	struct ax_err err;
	char errstr[512];
	FILE *f = NULL;
	bool commit;
	int n = 0, bad = 0;

	if (argc != 6 || (strcmp(argv[4], "commit") != 0 && strcmp(argv[4], "abort") != 0)) {
		fprintf(stderr,
		    "usage: txn_produce BROKERS TOPIC TRANSACTIONAL_ID commit|abort FILE\n");
		return 2;
	}
	commit = strcmp(argv[4], "commit") == 0;
	if ((f = fopen(argv[5], "r")) == NULL) {
		perror(argv[5]);
		return 1;
	}
	if (ax_codec_new(&codec, NULL, &err) != AX_OK ||
	    ax_kafka_conf(&conf, argv[1], AX_KAFKA_UPSTREAM, 0, kv, &err) != AX_OK) {
		fprintf(stderr, "txn_produce: %s\n", err.msg);
		bad = 1;
		goto out;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, delivered);
	rd_kafka_conf_set_opaque(conf, &bad);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		fprintf(stderr, "txn_produce: %s\n", errstr);
		bad = 1;
		goto out;
	}
	conf = NULL; /* owned by rk */
	if (failed("init_transactions", rd_kafka_init_transactions(rk, TIMEOUT_MS)) ||
	    failed("begin_transaction", rd_kafka_begin_transaction(rk))) {
		bad = 1;
		goto out;
	}
	if (produce_file(rk, codec, argv[2], f, &n) != 0) {
		bad = 1;
		goto out;
	}
	/* abort after the messages are in the log, so that they take offsets */
	if (!commit && rd_kafka_flush(rk, TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "txn_produce: could not flush before the abort\n");
		bad = 1;
		goto out;
	}
	if (bad)
		goto out;
	if (commit ? failed("commit_transaction", rd_kafka_commit_transaction(rk, TIMEOUT_MS))
	           : failed("abort_transaction", rd_kafka_abort_transaction(rk, TIMEOUT_MS)))
		bad = 1;
	else
		printf("%s %d commands in transaction %s\n", commit ? "committed" : "aborted", n,
		    argv[3]);
out:
	if (rk != NULL)
		rd_kafka_destroy(rk);
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	ax_codec_free(codec);
	fclose(f);
	return bad;
}
