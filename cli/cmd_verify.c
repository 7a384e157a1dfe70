/*
 * cmd_verify.c - `axiom verify`: re-check the record chains, the ledger chains and the
 * Kafka log as axiom_auditor, and say precisely where the first failure of each broken chain
 * is (consumers/ax_verify.h has the rules).
 *
 * Output: one "broken: ..." line per broken chain as it is found, then a summary; with
 * --json, one JSON object instead. Exit codes: 0 every chain is valid, 1 a chain is broken or
 * a cross-check failed (or the verification could not complete), 2 bad command line,
 * 3 PostgreSQL or the broker is unreachable.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_verify.h"
#include "cli.h"

#define DEFAULT_TIMEOUT_S 15
#define TIMEOUT_MAX_S     3600 /* --timeout: an hour at most */
#define DEFAULT_JOBS      2
#define BENCH_MAX         100000000 /* --bench: ax_verify_bench_records refuses more */
#define MAX_WAITING_MAX   100000000 /* --max-waiting: about 15 GB per job */

/* Print the help text to fp. */
static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom verify [--dsn DSN] [--brokers LIST] [--prefix P] [--no-kafka] "
	    "[--signatures] [--json]\n"
	    "                    [--timeout SECONDS] [--jobs N] [--max-waiting N] [--no-audit]\n"
	    "       axiom verify --bench N\n"
	    "\n"
	    "Re-checks, from the stored columns alone, as the read-only role axiom_auditor:\n"
	    "  record chains  every lineage of axiom.records: versions gap-free from 1, each\n"
	    "                 linked to the previous one by previous_record_id and\n"
	    "                 previous_record_hash, record_hash recomputed in C (canonical\n"
	    "                 encoding v1, docs/canonical-encoding.md);\n"
	    "  ledger chains  every (topic, partition) of axiom.ledger: seq gap-free from 1, each\n"
	    "                 entry linked by previous_entry_hash, offsets increasing, entry_hash\n"
	    "                 recomputed in C;\n"
	    "  ledger refs    every regulated row (users, grants and delegations, record types,\n"
	    "                 records, change requests and their steps, signatures, factors,\n"
	    "                 policies, the audit trail) names the ledger entry of the command\n"
	    "                 that wrote it, with the same decision, command and event time;\n"
	    "                 no partition's ledger event times go back (db/0018);\n"
	    "  checkpoints    every signed checkpoint of the ledger heads, against the ledger\n"
	    "                 as it is now and the applier's registered key;\n"
	    "  signatures     with --signatures: every stored e-signature re-verified offline;\n"
	    "                 one that cannot be re-verified (no proofs) is a failure;\n"
	    "  kafka log      every partition of P.control and P.commands: each offset in the "
	    "log,\n"
	    "                 from its start up to the stored next offset, has exactly one ledger\n"
	    "                 entry, and no ledger entry names an offset that is not in the log\n"
	    "                 (committed records only; transaction markers are not offsets);\n"
	    "  audit topic    every ledger entry of P.control and P.commands is on P.audit\n"
	    "                 exactly once, with its entry hash, and P.audit has no outcome the\n"
	    "                 ledger lacks (read committed: run it once the relays caught up,\n"
	    "                 for example after axiom apply --until-caught-up).\n"
	    "Everything is read in one read-only snapshot; nothing is written. A role that\n"
	    "row-level security would filter is refused, because it would see only part.\n"
	    "\n"
	    "Each broken chain is reported once, at its first failure, with the table, the "
	    "lineage\n"
	    "and version or the topic, partition and seq or offset, and what is wrong.\n"
	    "\n"
	    "options:\n"
	    "  -d, --dsn DSN        auditor connection string (default: $AXIOM_PG_AUDITOR_DSN)\n"
	    "  -b, --brokers LIST   Kafka bootstrap servers (default: $AXIOM_BROKERS)\n"
	    "  -p, --prefix P       topic prefix (default: $AXIOM_TOPIC_PREFIX, or axiom)\n"
	    "  -n, --no-kafka       skip the cross-checks against the Kafka log and the audit "
	    "topic\n"
	    "      --no-audit       skip the audit topic cross-check only (a ledger built\n"
	    "                       without a relay, or whose audit topic lives elsewhere)\n"
	    "  -s, --signatures     also re-verify every stored e-signature offline, from its\n"
	    "                       raw proofs and the factor registry as it stood when signed\n"
	    "  -j, --json           print one JSON object (summary and failures) instead of text\n"
	    "  -t, --timeout S      longest wait for the broker without progress, 1 to %d\n"
	    "                       seconds (default %d)\n"
	    "  -J, --jobs N         stream the record chains, the ledger chains and the audit\n"
	    "                       trail on N connections in parallel, in one shared\n"
	    "                       snapshot, 1 to %d (default %d)\n",
	    TIMEOUT_MAX_S, DEFAULT_TIMEOUT_S, AX_VERIFY_JOBS_MAX, DEFAULT_JOBS);
	fprintf(fp,
	    "      --max-waiting N  record versions that may wait in memory, per job, for the\n"
	    "                       version before them (rows moved by lifecycle updates come\n"
	    "                       late in the table); beyond, the job reads its lineages\n"
	    "                       sorted, slower, in constant memory (1 to %d,\n"
	    "                       default %d)\n"
	    "      --bench N        measure the C record chain checker on N synthetic versions\n"
	    "                       (1 to %d; touches no database or broker) and print\n"
	    "                       the rate\n"
	    "  -h, --help           this text\n"
	    "\n"
	    "example:\n"
	    "  eval \"$(ops/stack env)\" && build/cli/axiom verify\n"
	    "\n"
	    "exit codes: 0 every chain is valid, 1 a chain is broken or a cross-check failed\n"
	    "            (or the verification could not complete), 2 bad command line,\n"
	    "            3 PostgreSQL or the broker is unreachable\n",
	    MAX_WAITING_MAX, AX_VERIFY_MAX_WAITING, BENCH_MAX);
}

/* Where the failures go: printed as they come, or gathered into a JSON array. */
struct sink {
	json_t *failures; /* NULL: print lines */
};

/* The JSON name of chain c. */
static const char *
chain_name(enum ax_verify_chain c)
{
	switch (c) {
	case AX_VERIFY_RECORDS:
		return "records";
	case AX_VERIFY_LEDGER:
		return "ledger";
	case AX_VERIFY_REFERENCES:
		return "references";
	case AX_VERIFY_CHECKPOINTS:
		return "checkpoints";
	case AX_VERIFY_SIGNATURES:
		return "signatures";
	case AX_VERIFY_AUDIT:
		return "audit";
	case AX_VERIFY_LOG:
	default:
		return "kafka";
	}
}

/* The report function: print the failure line, or append it to the JSON array. */
static void
on_failure(void *arg, const struct ax_verify_failure *f)
{
	struct sink *s = arg;
	char line[1024];
	json_t *o;

	ax_verify_failure_format(line, sizeof(line), f);
	if (s->failures == NULL) {
		printf("broken: %s\n", line);
		fflush(stdout);
		return;
	}
	o = json_object();
	json_object_set_new(o, "chain", json_string(chain_name(f->chain)));
	json_object_set_new(o, "table", json_string(f->table));
	if (f->chain == AX_VERIFY_REFERENCES) {
		json_object_set_new(o, "key", json_string(f->key));
	} else if (f->chain == AX_VERIFY_RECORDS) {
		json_object_set_new(o, "lineage", json_string(f->lineage));
		if (f->record_id[0] != '\0')
			json_object_set_new(o, "record_id", json_string(f->record_id));
	} else {
		json_object_set_new(o, "topic", json_string(f->topic));
		json_object_set_new(o, "partition", json_integer(f->partition));
	}
	json_object_set_new(o, f->at, json_integer(f->position));
	json_object_set_new(o, "problem", json_string(f->problem));
	json_object_set_new(o, "message", json_string(line));
	json_array_append_new(s->failures, o);
}

/* n per second over s seconds, 0 when no time passed. */
static double
per_s(int64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

/* Print the human summary of s. */
static void
print_text(const struct ax_verify_summary *s)
{
	int64_t failures = ax_verify_summary_failures(s);

	printf("record chains  %" PRId64 " lineages, %" PRId64 " versions: %" PRId64
	       " broken (%.3f s, %.0f versions/s)\n",
	    s->records.chains, s->records.rows, s->records.broken, s->records_seconds,
	    per_s(s->records.rows, s->records_seconds));
	printf("ledger chains  %" PRId64 " partitions, %" PRId64 " entries: %" PRId64
	       " broken (%.3f s, %.0f entries/s)\n",
	    s->ledger.chains, s->ledger.rows, s->ledger.broken, s->ledger_seconds,
	    per_s(s->ledger.rows, s->ledger_seconds));
	printf("ledger refs    %" PRId64 " regulated rows or entries out of line with the "
	       "ledger\n",
	    s->references_broken);
	printf("checkpoints    %" PRId64 " signed checkpoints: %" PRId64 " broken\n",
	    s->checkpoints, s->checkpoints_broken);
	if (s->signatures_checked)
		printf("signatures     %" PRId64 " stored: %" PRId64 " re-verified, %" PRId64
		       " failed, %" PRId64 " unverifiable (recorded without proofs)\n",
		    s->signatures, s->signatures_verified, s->signatures_failed,
		    s->signatures_unverifiable);
	if (s->kafka_checked)
		printf("kafka log      %" PRId64 " partitions, %" PRId64 " offsets: %" PRId64
		       " broken (%.3f s), %" PRId64 " payload hashes compared%s\n",
		    s->log_partitions, s->log_offsets, s->log_broken, s->kafka_seconds,
		    s->log_payloads,
		    s->log_topics_absent == 0 ? ""
		    : s->log_topics_absent == 1
		        ? "; one of the two topics does not exist in the broker"
		        : "; neither topic exists in the broker (check --prefix)");
	else
		printf("kafka log      not checked (--no-kafka)\n");
	if (s->audit_checked)
		printf("audit topic    %" PRId64 " ledgers, %" PRId64 " outcomes: %" PRId64
		       " not carrying each entry exactly once (%.3f s)\n",
		    s->audit_ledgers, s->audit_outcomes, s->audit_broken, s->audit_seconds);
	else
		printf("audit topic    not checked (--no-kafka or --no-audit)\n");
	printf("stages         database %.3f s (%.0f versions/s), Kafka %.3f s (%.0f offsets and "
	       "outcomes/s)\n",
	    s->database_seconds, per_s(s->records.rows, s->database_seconds), s->kafka_part_seconds,
	    per_s(s->log_offsets + s->audit_outcomes, s->kafka_part_seconds));
	if (s->kafka_checked && s->log_topics_other > 0)
		printf("               the ledger also has %" PRId64 " topic%s outside the prefix, "
		       "not cross-checked (their chains were checked)\n",
		    s->log_topics_other, s->log_topics_other == 1 ? "" : "s");
	if (failures == 0)
		printf("verified as %s: every chain is valid\n", s->role);
	else
		printf("verified as %s: %" PRId64 " chain%s broken\n", s->role, failures,
		    failures == 1 ? "" : "s");
}

/* Print s and failures as one JSON object. */
static void
print_json(const struct ax_verify_summary *s, json_t *failures)
{
	json_t *o = json_object();
	char *text;

	json_object_set_new(o, "valid", json_boolean(ax_verify_summary_failures(s) == 0));
	json_object_set_new(o, "role", json_string(s->role));
	if (s->signatures_checked)
		json_object_set_new(o, "signatures",
		    json_pack("{s:I, s:I, s:I, s:I}", "stored", (json_int_t)s->signatures,
		        "verified", (json_int_t)s->signatures_verified, "failed",
		        (json_int_t)s->signatures_failed, "unverifiable",
		        (json_int_t)s->signatures_unverifiable));
	json_object_set_new(
	    o, "references", json_pack("{s:I}", "broken", (json_int_t)s->references_broken));
	json_object_set_new(o, "checkpoints",
	    json_pack("{s:I, s:I}", "verified", (json_int_t)s->checkpoints, "broken",
	        (json_int_t)s->checkpoints_broken));
	json_object_set_new(o, "records",
	    json_pack("{s:I, s:I, s:I, s:f, s:f}", "lineages", (json_int_t)s->records.chains,
	        "versions", (json_int_t)s->records.rows, "broken", (json_int_t)s->records.broken,
	        "seconds", s->records_seconds, "versions_per_second",
	        per_s(s->records.rows, s->records_seconds)));
	json_object_set_new(o, "ledger",
	    json_pack("{s:I, s:I, s:I, s:f}", "partitions", (json_int_t)s->ledger.chains, "entries",
	        (json_int_t)s->ledger.rows, "broken", (json_int_t)s->ledger.broken, "seconds",
	        s->ledger_seconds));
	json_object_set_new(o, "kafka",
	    json_pack("{s:b, s:I, s:I, s:I, s:I, s:i, s:I, s:f}", "checked", s->kafka_checked,
	        "partitions", (json_int_t)s->log_partitions, "offsets", (json_int_t)s->log_offsets,
	        "payload_hashes", (json_int_t)s->log_payloads, "broken", (json_int_t)s->log_broken,
	        "absent_topics", s->log_topics_absent, "other_topics",
	        (json_int_t)s->log_topics_other, "seconds", s->kafka_seconds));
	json_object_set_new(o, "audit",
	    json_pack("{s:b, s:I, s:I, s:I, s:f}", "checked", s->audit_checked, "ledgers",
	        (json_int_t)s->audit_ledgers, "outcomes", (json_int_t)s->audit_outcomes, "broken",
	        (json_int_t)s->audit_broken, "seconds", s->audit_seconds));
	json_object_set_new(o, "stages",
	    json_pack("{s:f, s:f, s:f, s:f}", "database_seconds", s->database_seconds,
	        "database_versions_per_second", per_s(s->records.rows, s->database_seconds),
	        "kafka_seconds", s->kafka_part_seconds, "kafka_offsets_per_second",
	        per_s(s->log_offsets + s->audit_outcomes, s->kafka_part_seconds)));
	json_object_set(o, "failures", failures);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

/* Run the synthetic benchmark of n versions and print its rate. */
static int
run_bench(const char *prog, int64_t n)
{
	struct ax_err err;
	double rate, seconds;

	ax_err_clear(&err);
	if (ax_verify_bench_records(n, 256, &rate, &seconds, &err) != AX_OK)
		return cli_fail(prog, &err);
	printf("verified %" PRId64 " synthetic record versions (256-byte content, lineages of "
	       "10) in %.3f s: %.0f versions/s on one core\n",
	    n, seconds, rate);
	return EXIT_SUCCESS;
}

int
cmd_verify(int argc, char **argv, const struct ax_config *cfg)
{
	enum { OPT_BENCH = 1000, OPT_NO_AUDIT, OPT_MAX_WAITING };
	static const struct option opts[] = {
		{ "dsn", required_argument, NULL, 'd' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "no-kafka", no_argument, NULL, 'n' },
		{ "signatures", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "bench", required_argument, NULL, OPT_BENCH },
		{ "no-audit", no_argument, NULL, OPT_NO_AUDIT },
		{ "max-waiting", required_argument, NULL, OPT_MAX_WAITING },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom verify";
	struct ax_verify_opts o;
	struct ax_verify_summary sum;
	struct sink sink = { NULL };
	struct ax_err err;
	int timeout_s = DEFAULT_TIMEOUT_S, bench = 0, jobs = DEFAULT_JOBS,
	    max_waiting = AX_VERIFY_MAX_WAITING;
	int c, json = 0, rc;

	ax_err_clear(&err);
	memset(&o, 0, sizeof(o));
	o.dsn = cfg->pg_auditor_dsn;
	o.brokers = cfg->brokers;
	o.prefix = cfg->topic_prefix ? cfg->topic_prefix : "axiom";
	o.kafka = true;
	o.audit = true;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:b:p:nsjt:J:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dsn = optarg;
			break;
		case 'b':
			o.brokers = optarg;
			break;
		case 'p':
			o.prefix = optarg;
			break;
		case 'n':
			o.kafka = false;
			break;
		case OPT_NO_AUDIT:
			o.audit = false;
			break;
		case 's':
			o.signatures = true;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if (cli_parse_int(optarg, 1, TIMEOUT_MAX_S, &timeout_s) != 0)
				return cli_usage_error(prog,
				    "--timeout takes 1 to %d seconds, not '%s'", TIMEOUT_MAX_S,
				    optarg);
			break;
		case 'J':
			if (cli_parse_int(optarg, 1, AX_VERIFY_JOBS_MAX, &jobs) != 0)
				return cli_usage_error(prog,
				    "--jobs takes 1 to %d connections, not '%s'",
				    AX_VERIFY_JOBS_MAX, optarg);
			break;
		case OPT_MAX_WAITING:
			if (cli_parse_int(optarg, 1, MAX_WAITING_MAX, &max_waiting) != 0)
				return cli_usage_error(prog,
				    "--max-waiting takes 1 to %d versions, not '%s'",
				    MAX_WAITING_MAX, optarg);
			break;
		case OPT_BENCH:
			if (cli_parse_int(optarg, 1, BENCH_MAX, &bench) != 0)
				return cli_usage_error(prog,
				    "--bench takes 1 to %d versions, not '%s'", BENCH_MAX, optarg);
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
	if (bench > 0)
		return run_bench(prog, bench);
	o.kafka_timeout_ms = timeout_s * 1000;
	o.jobs = jobs;
	o.max_waiting = (size_t)max_waiting;
	if (o.prefix[0] == '\0')
		return cli_usage_error(prog, "--prefix must not be empty");
	if (o.dsn == NULL) {
		ax_err_set(&err, AX_EINVAL, "no database to verify");
		ax_err_hint(
		    &err, "Set AXIOM_PG_AUDITOR_DSN (eval \"$(ops/stack env)\") or pass --dsn.");
		return cli_fail(prog, &err);
	}
	if (json)
		sink.failures = json_array();
	rc = ax_verify_run(&o, on_failure, &sink, &sum, &err);
	if (rc != AX_OK) {
		json_decref(sink.failures);
		return cli_fail(prog, &err);
	}
	if (json)
		print_json(&sum, sink.failures);
	else
		print_text(&sum);
	json_decref(sink.failures);
	return ax_verify_summary_failures(&sum) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
