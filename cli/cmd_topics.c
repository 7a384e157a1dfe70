/*
 * cmd_topics.c - `axiom topics create|check`: the three topics and their invariants
 * (ax_topics.h), through the librdkafka Admin API.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_kafka.h"
#include "ax_topics.h"
#include "cli.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom topics create [--partitions N] [--prefix NAME] [--brokers LIST]\n"
	    "       axiom topics check  [--partitions N] [--prefix NAME] [--brokers LIST]\n"
	    "       axiom topics grant ROLE PRINCIPAL [--prefix NAME] [--brokers LIST]\n"
	    "\n"
	    "create  creates the topics Axiom needs, if they do not exist yet, then checks them:\n"
	    "          PREFIX.control   1 partition: the control plane (identities, grants,\n"
	    "                           delegations, signing factors, policies, ticks), in order\n"
	    "          PREFIX.commands  N partitions: data commands, keyed by record lineage\n"
	    "          PREFIX.audit     N partitions: one outcome per command, same partition\n"
	    "        Every topic is created with message.timestamp.type=LogAppendTime (the\n"
	    "        broker's append time is the event time of a command), retention.ms=-1 and\n"
	    "        cleanup.policy=delete (the log is the source of every rebuild).\n"
	    "        Running it again is safe. An existing topic with another partition count or\n"
	    "        configuration is reported as an error: a partition count never changes.\n"
	    "        Each topic comes with its ACLs for the stack's principals User:axiom-ROLE\n"
	    "        (common/io/ax_kafka.h): upstream writes commands, control writes control\n"
	    "        (and commands), the applier reads both and writes audit, the analyst reads\n"
	    "        audit.\n"
	    "check   creates nothing; reports how the existing topics differ from the above.\n"
	    "grant   gives PRINCIPAL (User:NAME, NAME the CN of its client certificate) the ACLs\n"
	    "        of ROLE (upstream, control, applier, analyst or auditor) on the topics and\n"
	    "        the role's consumer groups: a new upstream system or analyst. Idempotent.\n"
	    "\n"
	    "options:\n"
	    "  -p, --partitions N  partitions of PREFIX.commands and PREFIX.audit (default %d)\n"
	    "      --prefix NAME   topic name prefix (default: $AXIOM_TOPIC_PREFIX or axiom)\n"
	    "  -b, --brokers LIST  bootstrap servers (default: $AXIOM_BROKERS)\n"
	    "  -t, --timeout SEC   bound of each broker request (default %d)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "example:\n"
	    "  ops/stack up && eval \"$(ops/stack env)\" && axiom topics create --partitions 6\n"
	    "\n"
	    "exit codes: 0 topics as required, 1 a topic differs or could not be created,\n"
	    "            2 bad command line, 3 broker unreachable\n",
	    AX_PARTITIONS_DEFAULT, AX_KAFKA_TIMEOUT_MS / 1000);
}

/* Describe spec's topic, waiting up to timeout_ms for a just-created topic to appear. */
static int
describe_settled(rd_kafka_t *rk, const struct ax_topic_spec *spec, int timeout_ms, int wait,
    struct ax_topic_state *st, struct ax_err *err)
{
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	int rc, tries = wait ? 50 : 1;

	while ((rc = ax_kafka_describe_topic(rk, spec->name, timeout_ms, st, err)) == AX_OK &&
	       !st->exists && --tries > 0)
		nanosleep(&pause, NULL);
	return rc;
}

int
cmd_topics(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "partitions", required_argument, NULL, 'p' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom topics";
	enum ax_kafka_role role = AX_KAFKA_UPSTREAM;
	const char *principal = NULL;
	const char *brokers = cfg->brokers, *prefix = cfg->topic_prefix;
	struct ax_topic_spec specs[AX_TOPIC_COUNT], missing[AX_TOPIC_COUNT];
	struct ax_topic_state st[AX_TOPIC_COUNT];
	struct ax_kafka_cluster cl;
	struct ax_err err;
	rd_kafka_t *rk = NULL;
	char problems[2048];
	int partitions = AX_PARTITIONS_DEFAULT, timeout_ms = AX_KAFKA_TIMEOUT_MS;
	int c, i, rc, create, nmissing = 0, nproblems = 0, seconds;

	ax_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:b:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (ax_parse_partitions(&partitions, optarg, &err) != AX_OK)
				return cli_usage_error(prog, "%s", err.msg);
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'b':
			brokers = optarg;
			break;
		case 't':
			if (cli_parse_int(optarg, 1, 600, &seconds) != 0)
				return cli_usage_error(prog, "--timeout takes 1 to 600 seconds");
			timeout_ms = seconds * 1000;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(prog, "unknown option");
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "create") == 0)
		create = 1;
	else if (strcmp(argv[optind], "check") == 0)
		create = 0;
	else if (strcmp(argv[optind], "grant") == 0)
		create = -1;
	else
		return cli_usage_error(
		    prog, "unknown subcommand '%s' (create, check or grant)", argv[optind]);
	if (create == -1) {
		if (optind + 3 != argc)
			return cli_usage_error(prog, "grant takes ROLE and PRINCIPAL");
		if (ax_kafka_role_parse(&role, argv[optind + 1], &err) != AX_OK ||
		    role == AX_KAFKA_ADMIN)
			return cli_usage_error(prog,
			    "grant takes upstream, control, applier, analyst or auditor, not '%s'",
			    argv[optind + 1]);
		principal = argv[optind + 2];
		if (strncmp(principal, "User:", 5) != 0 || principal[5] == '\0')
			return cli_usage_error(
			    prog, "a principal is User:NAME, not '%s'", principal);
	} else if (optind + 1 < argc)
		return cli_usage_error(prog, "unexpected argument '%s'", argv[optind + 1]);
	if (brokers == NULL) {
		struct ax_config c2 = *cfg;

		c2.brokers = NULL;
		ax_config_require(&c2, "AXIOM_BROKERS", &err);
		ax_err_hint(&err, "Set it with --brokers HOST:PORT, or start the local stack: "
		                  "ops/stack up && eval \"$(ops/stack env)\"");
		return cli_fail(prog, &err);
	}
	if (ax_topics_plan(specs, prefix, partitions, &err) != AX_OK)
		return cli_usage_error(prog, "%s. %s", err.msg, err.detail);

	if ((rc = ax_kafka_new(&rk, RD_KAFKA_PRODUCER, brokers, AX_KAFKA_ADMIN, NULL, &err)) !=
	    AX_OK)
		goto fail;
	if ((rc = ax_kafka_probe(rk, brokers, timeout_ms, &cl, &err)) != AX_OK)
		goto fail;
	if (create == -1) {
		if ((rc = ax_kafka_grant(
		         rk, specs, AX_TOPIC_COUNT, role, principal, timeout_ms, &err)) != AX_OK)
			goto fail;
		printf("granted %s the acls of the %s role on %s.*\n", principal,
		    ax_kafka_role_name(role), prefix);
		rd_kafka_destroy(rk);
		return EXIT_SUCCESS;
	}
	for (i = 0; i < AX_TOPIC_COUNT; i++) {
		if ((rc = ax_kafka_describe_topic(rk, specs[i].name, timeout_ms, &st[i], &err)) !=
		    AX_OK)
			goto fail;
		if (!st[i].exists)
			missing[nmissing++] = specs[i];
	}
	if (create && nmissing > 0) {
		if ((rc = ax_kafka_create_topics(
		         rk, missing, (size_t)nmissing, timeout_ms, &err)) != AX_OK)
			goto fail;
	}
	for (i = 0; i < AX_TOPIC_COUNT; i++) {
		int was_missing = !st[i].exists;

		if (create && was_missing &&
		    (rc = describe_settled(rk, &specs[i], timeout_ms, 1, &st[i], &err)) != AX_OK)
			goto fail;
		if (ax_topic_check(&specs[i], &st[i], problems, sizeof(problems)) > 0) {
			nproblems++;
			fprintf(stderr, "%s: error: %s", prog, problems);
			continue;
		}
		printf("topic %-24s %s: %d partition%s, LogAppendTime, kept forever\n",
		    specs[i].name, create && was_missing ? "created" : "ok", specs[i].partitions,
		    specs[i].partitions == 1 ? "" : "s");
	}
	rd_kafka_destroy(rk);
	return nproblems ? EXIT_FAILURE : EXIT_SUCCESS;
fail:
	if (rk != NULL)
		rd_kafka_destroy(rk);
	return cli_fail(prog, &err);
}
