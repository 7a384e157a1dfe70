/*
 * cmd_apply.c - `axiom apply`: run the exactly-once applier (consumers/ax_applier.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ax_applier.h"
#include "ax_log.h"
#include "cli.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom apply [--until-caught-up] [--batch N] [--batch-ms MS] [--group NAME]\n"
	    "                   [--instance NAME] [--brokers LIST] [--dsn DSN] [--progress SEC]\n"
	    "\n"
	    "Applies the commands of PREFIX.control and PREFIX.commands to PostgreSQL, exactly\n"
	    "once and in log order per partition, and records every outcome (accepted, rejected\n"
	    "with its reason, or quarantined when undecodable) in the partition's hash-chained\n"
	    "ledger. One writer thread and one database connection per assigned partition; a\n"
	    "batch of up to N commands is one transaction that also stores the partition's next\n"
	    "offset with a compare-and-set, so a crash at any instant loses and repeats nothing.\n"
	    "A writer claims its partition when it is assigned: an instance that lost it in a\n"
	    "rebalance without noticing is refused (why=fenced) and never stops the new owner.\n"
	    "Start more instances with the same --group to spread the partitions; each instance\n"
	    "needs its own --instance name.\n"
	    "\n"
	    "Each partition's relay (a thread and a database connection of its own) publishes\n"
	    "every outcome once on PREFIX.audit, in Kafka transactions: read that topic with\n"
	    "isolation.level=read_committed (`axiom audit` does).\n"
	    "\n"
	    "A data command waits until the control plane has been applied up to its event time\n"
	    "(the broker's append time), so every decision depends only on the log; while it\n"
	    "waits, the applier asks for a tick on PREFIX.control.\n"
	    "\n"
	    "options:\n"
	    "  -u, --until-caught-up  stop once every partition of both topics is applied to its\n"
	    "                         log end, was held by this run (or is held by another\n"
	    "                         member of the group), and every ledger's entries are on\n"
	    "                         the audit topic\n"
	    "  -n, --batch N          up to N commands per transaction (default 200, max 10000)\n"
	    "  -t, --batch-ms MS      how long a partial batch may wait for more commands\n"
	    "                         (default 0: a writer takes what is queued; under load\n"
	    "                         batches grow to --batch while the previous one commits)\n"
	    "  -g, --group NAME       consumer group (default axiom-applier)\n"
	    "  -i, --instance NAME    this instance's name in logs and the offsets table\n"
	    "                         (default axiom-apply-HOSTNAME)\n"
	    "  -b, --brokers LIST     bootstrap servers (default: $AXIOM_BROKERS)\n"
	    "  -d, --dsn DSN          the runtime role's connection string (default: "
	    "$AXIOM_PG_DSN)\n"
	    "  -p, --progress SEC     a progress line per partition every SEC seconds (default "
	    "10,\n"
	    "                         0: none)\n"
	    "      --prefix NAME      topic prefix (default: $AXIOM_TOPIC_PREFIX or axiom)\n"
	    "  -k, --checkpoint-key FILE  sign checkpoints of the ledgers with this Ed25519 key\n"
	    "                         (PEM; make one: openssl genpkey -algorithm ed25519 -out F);\n"
	    "                         the public key is logged at start: give it to the parties\n"
	    "                         that keep the checkpoints published on PREFIX.audit\n"
	    "  -e, --checkpoint-every N  sign every N-th ledger entry (default 1000)\n"
	    "  -m, --metrics HOST:PORT  serve Prometheus figures at http://HOST:PORT/metrics:\n"
	    "                         per partition next offset, log end, lag, waiting for the\n"
	    "                         control watermark, audit relay backlog; commands by\n"
	    "                         decision and reason code, claims lost; histograms of\n"
	    "                         batch size, batch seconds and append -> commit seconds\n"
	    "                         (a dashboard: ops/grafana/axiom-applier.json; PORT 0\n"
	    "                         picks a free port, logged as event=metrics)\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "Logs are one line per event on stderr (ts=... level=... event=... key=value ...),\n"
	    "librdkafka's and the PostgreSQL server's messages included (event=kafka_log,\n"
	    "event=pg_notice); values that may hold spaces are quoted and escaped.\n"
	    "SIGTERM or SIGINT stop it cleanly: the batch in flight commits or rolls back whole.\n"
	    "\n"
	    "example:\n"
	    "  eval \"$(ops/stack env)\" && axiom migrate && axiom apply --until-caught-up\n"
	    "\n"
	    "exit codes: 0 stopped cleanly, 1 a partition stopped on an error (the log says "
	    "which),\n"
	    "            2 bad command line, 3 the broker or PostgreSQL is unreachable\n");
}

int
cmd_apply(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "until-caught-up", no_argument, NULL, 'u' },
		{ "batch", required_argument, NULL, 'n' },
		{ "batch-ms", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, 'g' },
		{ "instance", required_argument, NULL, 'i' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "dsn", required_argument, NULL, 'd' },
		{ "progress", required_argument, NULL, 'p' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "checkpoint-key", required_argument, NULL, 'k' },
		{ "checkpoint-every", required_argument, NULL, 'e' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom apply";
	struct ax_applier_opts o;
	struct sigaction sa;
	struct ax_err err;
	char host[64], instance[128];
	int c, seconds;

	ax_applier_defaults(&o);
	o.brokers = cfg->brokers;
	o.pg_dsn = cfg->pg_dsn;
	o.prefix = cfg->topic_prefix;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(instance, sizeof(instance), "axiom-apply-%s", host);
	o.instance = instance;
	optind = 1;
	while ((c = getopt_long(argc, argv, "un:t:g:i:b:d:p:k:e:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o.until_caught_up = true;
			break;
		case 'n':
			if (cli_parse_int(optarg, 1, 10000, &o.batch_max) != 0)
				return cli_usage_error(prog, "--batch takes 1 to 10000 commands");
			break;
		case 't':
			if (cli_parse_int(optarg, 0, 10000, &o.batch_ms) != 0)
				return cli_usage_error(
				    prog, "--batch-ms takes 0 to 10000 milliseconds");
			break;
		case 'g':
			o.group = optarg;
			break;
		case 'i':
			o.instance = optarg;
			break;
		case 'b':
			o.brokers = optarg;
			break;
		case 'd':
			o.pg_dsn = optarg;
			break;
		case 'p':
			if (cli_parse_int(optarg, 0, 86400, &seconds) != 0)
				return cli_usage_error(prog, "--progress takes 0 to 86400 seconds");
			o.progress_ms = seconds * 1000;
			break;
		case 'P':
			o.prefix = optarg;
			break;
		case 'k':
			o.checkpoint_key = optarg;
			break;
		case 'e':
			if (cli_parse_int(optarg, 1, 100000000, &o.checkpoint_every) != 0)
				return cli_usage_error(
				    prog, "--checkpoint-every takes 1 to 100000000");
			break;
		case 'm':
			o.metrics = optarg;
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
	ax_err_clear(&err);
	if (o.brokers == NULL && ax_config_require(cfg, "AXIOM_BROKERS", &err) != AX_OK)
		return cli_fail(prog, &err);
	if (o.pg_dsn == NULL && ax_config_require(cfg, "AXIOM_PG_DSN", &err) != AX_OK)
		return cli_fail(prog, &err);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (ax_applier_run(&o, &stop_requested, &err) != AX_OK)
		return cli_fail(prog, &err);
	return EXIT_SUCCESS;
}
