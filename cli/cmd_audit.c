/*
 * cmd_audit.c - `axiom audit`: print the audit topic (outcomes, checkpoints) as JSON lines,
 * for analysts and for checks; `axiom audit --verify` checks every ledger's chain and the
 * signed checkpoints from the messages alone (consumers/ax_audit_chain.h). Reads committed
 * messages with assign() from the start of each partition up to the log end it saw when it
 * started; joins no consumer group and commits nothing.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_audit_chain.h"
#include "ax_checkpoint.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_kafka.h"
#include "ax_topics.h"
#include "cli.h"

#define AUDIT_TIMEOUT_MS 10000

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom audit [--partition N] [--brokers LIST] [--prefix NAME]\n"
	    "       axiom audit --verify [--public-key HEX] [--brokers LIST] [--prefix NAME]\n"
	    "\n"
	    "Prints every event of PREFIX.audit, oldest first per partition, as one JSON object "
	    "per\n"
	    "line on stdout: the outcome of each command (accepted, rejected with its reason "
	    "code,\n"
	    "or quarantined; its topic, partition, offset, event time, ledger sequence and "
	    "hashes;\n"
	    "kind TICK for the applier's control-watermark ticks, COMMAND for the rest)\n"
	    "and the signed checkpoints of the ledgers. It stops at the end of the log as it was\n"
	    "when it started. A message that is not a valid audit event is reported on stderr\n"
	    "with its partition and offset, and counted.\n"
	    "\n"
	    "--verify prints nothing but problems and a summary: for every ledger (topic and\n"
	    "partition of the commands) its outcomes must run seq 1, 2, 3, ... (a dropped,\n"
	    "duplicated or reordered event breaks it), each previous_entry_hash must be the\n"
	    "ledger_hash before it, each ledger_hash must be the hash of the outcome's own fields\n"
	    "(docs/canonical-encoding.md section 4: a forged or altered event breaks it), and\n"
	    "each checkpoint must name its outcome's ledger_hash and, with --public-key, carry a\n"
	    "valid signature of the applier's key. Every problem names the ledger, the seq and\n"
	    "the audit partition and offset.\n"
	    "\n"
	    "options:\n"
	    "  -v, --verify        check instead of print (exit 1 on any problem)\n"
	    "  -k, --public-key HEX  the applier's Ed25519 public key, 64 hex digits (the\n"
	    "                      applier logs it at start: event=checkpoint_key\n"
	    "                      ed25519_public_key=...); without it checkpoints are matched\n"
	    "                      with their outcomes but their signatures are not checked\n"
	    "  -p, --partition N   only this partition of the audit topic, 0 to %d\n"
	    "                      (default: every partition)\n"
	    "  -b, --brokers LIST  bootstrap servers (default: $AXIOM_BROKERS)\n"
	    "      --prefix NAME   topic prefix (default: $AXIOM_TOPIC_PREFIX or axiom)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "example (the rejections and their reasons):\n"
	    "  axiom audit | jq -r '.payload.Outcome | select(.decision == \"REJECTED\")\n"
	    "                       | [.topic, .offset, .reason_code, .reason_detail] | @tsv'\n"
	    "  axiom audit | jq -c '.payload.Outcome | select(.kind == \"COMMAND\")'   # no ticks\n"
	    "\n"
	    "exit codes: 0 read to the end (--verify: every chain holds), 1 an invalid event\n"
	    "            was found (--verify: a problem), 2 bad command line, 3 broker\n"
	    "            unreachable\n",
	    AX_PARTITIONS_MAX - 1);
}

/*
 * Print partition p of topic from its start to its current end, or hand every event to
 * chain when it is not NULL (--verify); counts invalid events.
 */
static int
dump_partition(rd_kafka_t *rk, rd_kafka_topic_t *t, const char *topic, int32_t p,
    struct ax_decoder *dec, struct ax_audit_chain *chain, int *invalid, struct ax_err *err)
{
	int64_t low, high, next;
	rd_kafka_resp_err_t e;
	int rc = AX_OK;

	e = rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, AUDIT_TIMEOUT_MS);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ax_kafka_err(err, e, "could not read the audit topic's offsets");
	if (low >= high)
		return AX_OK;
	if (rd_kafka_consume_start(t, p, low) != 0)
		return ax_kafka_err(err, rd_kafka_last_error(), "could not read the audit topic");
	for (next = low; next < high && rc == AX_OK;) {
		rd_kafka_message_t *m = rd_kafka_consume(t, p, AUDIT_TIMEOUT_MS);
		struct ax_message msg;
		struct ax_err derr;
		json_t *j;

		if (m == NULL) {
			rc = ax_kafka_err(err, RD_KAFKA_RESP_ERR__TIMED_OUT,
			    "the audit topic did not deliver up to its end");
			break;
		}
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				rc = ax_kafka_err(err, m->err, "could not read the audit topic");
			rd_kafka_message_destroy(m);
			break;
		}
		next = m->offset + 1;
		if (ax_decode(dec, AX_FAMILY_AUDIT, m->payload, m->len, &msg, &derr) != AX_OK) {
			fprintf(stderr, "axiom audit: invalid event at %s/%d@%lld: %s (%s)\n",
			    topic, (int)p, (long long)m->offset, derr.msg, derr.detail);
			(*invalid)++;
		} else if (chain != NULL) {
			rc = ax_audit_chain_add(chain, p, m->offset, &msg, err);
		} else {
			/* an outcome of revision 1 or 2 has no kind: its ticks are the accepted
			 * outcomes with reason tick (schemas/avro/audit.avsc, Outcome.kind) */
			if (msg.kind == AX_KIND_OUTCOME && msg.revision < 3 &&
			    msg.u.outcome.decision == AX_AUDIT_DECISION_ACCEPTED &&
			    strcmp(msg.u.outcome.reason_code, "tick") == 0)
				msg.u.outcome.kind = AX_AUDIT_KIND_TICK;
			if ((j = ax_message_to_json(&msg)) == NULL)
				goto release;

			json_dumpf(j, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(j);
		}
	release:
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consume_stop(t, p);
	return rc;
}

/* --verify: one line per problem on stderr (arg: the audit topic's name). */
static void
on_problem(void *arg, const char *ledger_topic, int32_t ledger_partition, int64_t seq,
    int32_t audit_partition, int64_t audit_offset, const char *problem)
{
	fprintf(stderr,
	    "axiom audit: broken: ledger %s/%" PRId32 " seq %" PRId64 " (at %s/%" PRId32 "@%" PRId64
	    "): %s\n",
	    ledger_topic, ledger_partition, seq, (const char *)arg, audit_partition, audit_offset,
	    problem);
}

int
cmd_audit(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "partition", required_argument, NULL, 'p' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "verify", no_argument, NULL, 'v' },
		{ "public-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const kv[] = { "group.id", "axiom-audit-reader", "enable.auto.commit",
		"false", "enable.partition.eof", "true", "isolation.level", "read_committed",
		AX_KAFKA_READ_TO_END_SETTINGS, NULL };
	const char *prog = "axiom audit", *brokers = cfg->brokers, *prefix = cfg->topic_prefix;
	const struct rd_kafka_metadata *md = NULL;
	struct ax_codec *codec = NULL;
	struct ax_decoder *dec = NULL;
	struct ax_kafka_cluster cl;
	rd_kafka_topic_t *t = NULL;
	rd_kafka_t *rk = NULL;
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	struct ax_audit_chain *chain = NULL;
	struct ax_audit_chain_summary sum = { 0 };
	uint8_t pub[AX_CHECKPOINT_PUB_LEN];
	struct ax_err err;
	const char *topic;
	int c, only = -1, invalid = 0, rc, i, verify = 0, has_pub = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:b:vk:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verify = 1;
			break;
		case 'k':
			if (strlen(optarg) != 2 * AX_CHECKPOINT_PUB_LEN ||
			    ax_hex_decode(pub, optarg, sizeof(pub)) != 0)
				return cli_usage_error(prog,
				    "--public-key takes 64 hex digits (an Ed25519 public key)");
			has_pub = 1;
			break;
		case 'p':
			if (cli_parse_int(optarg, 0, AX_PARTITIONS_MAX - 1, &only) != 0)
				return cli_usage_error(
				    prog, "--partition takes 0 to %d", AX_PARTITIONS_MAX - 1);
			break;
		case 'b':
			brokers = optarg;
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(prog, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (has_pub && !verify)
		return cli_usage_error(prog, "--public-key goes with --verify");
	if (verify && only >= 0)
		return cli_usage_error(prog, "--verify reads every partition: no --partition");
	ax_err_clear(&err);
	if (brokers == NULL) {
		ax_config_require(cfg, "AXIOM_BROKERS", &err);
		return cli_fail(prog, &err);
	}
	if (ax_topics_plan(specs, prefix, 1, &err) != AX_OK)
		return cli_usage_error(prog, "%s. %s", err.msg, err.detail);
	topic = specs[AX_TOPIC_AUDIT].name;
	if ((verify && (rc = ax_audit_chain_new(&chain, has_pub ? pub : NULL, on_problem,
	                    (void *)topic, &err)) != AX_OK) ||
	    (rc = ax_codec_new(&codec, NULL, &err)) != AX_OK ||
	    (rc = ax_decoder_new(&dec, codec, &err)) != AX_OK ||
	    (rc = ax_kafka_new(&rk, RD_KAFKA_CONSUMER, brokers, AX_KAFKA_ANALYST, kv, &err)) !=
	        AX_OK ||
	    (rc = ax_kafka_probe(rk, brokers, AUDIT_TIMEOUT_MS, &cl, &err)) != AX_OK)
		goto out;
	t = rd_kafka_topic_new(rk, topic, NULL);
	if (rd_kafka_metadata(rk, 0, t, &md, AUDIT_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ax_err_set(&err, AX_ERR, "topic %s does not exist", topic);
		ax_err_hint(&err, "Create the topics with \"axiom topics create\".");
		goto out;
	}
	if (only >= md->topics[0].partition_cnt) {
		rc = ax_err_set(&err, AX_EINVAL, "partition %d does not exist", only);
		ax_err_detail(&err, "Topic %s has %d partition%s, 0 to %d.", topic,
		    md->topics[0].partition_cnt, md->topics[0].partition_cnt == 1 ? "" : "s",
		    md->topics[0].partition_cnt - 1);
		goto out;
	}
	for (i = 0; i < md->topics[0].partition_cnt && rc == AX_OK; i++)
		if (only < 0 || only == i)
			rc = dump_partition(rk, t, topic, i, dec, chain, &invalid, &err);
	if (rc == AX_OK && chain != NULL) {
		ax_audit_chain_finish(chain, &sum);
		printf("audit topic %s: %" PRId64 " ledgers, %" PRId64 " outcomes, %" PRId64
		       " checkpoints (%s): %s\n",
		    topic, sum.ledgers, sum.outcomes, sum.checkpoints,
		    has_pub ? "signatures checked" : "signatures not checked: no --public-key",
		    sum.failures == 0 && invalid == 0 ? "every chain holds" : "BROKEN");
	}
out:
	fflush(stdout);
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	if (t != NULL)
		rd_kafka_topic_destroy(t);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	ax_decoder_free(dec);
	ax_codec_free(codec);
	ax_audit_chain_free(chain);
	if (rc != AX_OK)
		return cli_fail(prog, &err);
	if (verify && sum.failures > 0) {
		fprintf(stderr, "axiom audit: %" PRId64 " problem%s on the audit topic\n",
		    sum.failures, sum.failures == 1 ? "" : "s");
		return EXIT_FAILURE;
	}
	if (invalid > 0) {
		fprintf(
		    stderr, "axiom audit: %d invalid event%s\n", invalid, invalid == 1 ? "" : "s");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
