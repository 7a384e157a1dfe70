/*
 * cmd_replay.c - `axiom replay`: rebuild an empty database from the topics and compare it
 * with the live one, table by table (consumers/ax_replay.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ax_log.h"
#include "ax_pg.h"
#include "ax_replay.h"
#include "cli.h"

static volatile sig_atomic_t stop_requested;

/* SIGINT, SIGTERM: ask the replay to stop (the batch in flight commits or rolls back). */
static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* The --help text. */
static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom replay [--dbname NAME] [--dsn DSN] [--auditor-dsn DSN]\n"
	    "                    [--compare-dsn DSN] [--compare-only] [--prefix NAME]\n"
	    "                    [--brokers LIST] [--batch N] [--batch-ms MS] [--group NAME]\n"
	    "                    [--instance NAME] [--stall-seconds S] [--progress MODE]\n"
	    "                    [--checkpoint-key FILE] [--checkpoint-every N]\n"
	    "\n"
	    "Rebuilds a database from the Kafka log: every message of PREFIX.control and\n"
	    "PREFIX.commands, from offset 0 to the log end, is applied by the applier itself\n"
	    "(the code of `axiom apply`) into an EMPTY, migrated database, under a fresh consumer\n"
	    "group. Decisions depend only on the log (event time = the broker's append time), so\n"
	    "the rebuilt database must equal the live one: a rebuild is itself a verification.\n"
	    "The replay appends nothing to any topic (it produces no control ticks).\n"
	    "\n"
	    "A progress bar on stderr shows the share of log messages applied, the rate and the\n"
	    "ETA; a report on stdout gives the commands and outcomes per partition, the duration,\n"
	    "the rate, the CPU time and the peak memory.\n"
	    "\n"
	    "With --compare-dsn, the deterministic per-table digests (axiom_api.table_digests(),\n"
	    "db/definitions/85_digests_and_verification.sql: SHA-256 over every row in\n"
	    "natural-key order, canonical binary encoding, no setting-dependent text) of the\n"
	    "rebuilt and the live database are compared and printed table by table: equal or\n"
	    "DIFFERENT. Compare while the live applier is stopped or caught up at the same\n"
	    "offsets, or the newer rows differ.\n"
	    "\n"
	    "options:\n"
	    "  -D, --dbname NAME       the target database's name, appended to --dsn and\n"
	    "                          --auditor-dsn (dbname=NAME)\n"
	    "  -d, --dsn DSN           the runtime role (axiom_user) into the target\n"
	    "                          (default: $AXIOM_PG_DSN)\n"
	    "  -a, --auditor-dsn DSN   the auditor into the target: emptiness check, progress,\n"
	    "                          report, digests (default: $AXIOM_PG_AUDITOR_DSN)\n"
	    "  -c, --compare-dsn DSN   the auditor into the LIVE database; compare digests\n"
	    "  -C, --compare-only      do not rebuild; only compare the target with --compare-dsn\n"
	    "      --prefix NAME       topic prefix (default: $AXIOM_TOPIC_PREFIX or axiom)\n"
	    "  -b, --brokers LIST      bootstrap servers (default: $AXIOM_BROKERS)\n"
	    "  -n, --batch N           up to N commands per transaction (default 200, max 10000)\n"
	    "  -t, --batch-ms MS       how long a partial batch may wait for more commands\n"
	    "                          (default 0: take what is queued)\n"
	    "  -g, --group NAME        consumer group (default axiom-replay-<random>)\n"
	    "  -i, --instance NAME     applier instance name (default axiom-replay)\n"
	    "  -s, --stall-seconds S   give up when nothing is applied for S seconds (default 60)\n"
	    "  -p, --progress MODE     bar (redrawn; the default on a terminal), lines (one every\n"
	    "                          2 s; the default otherwise) or none\n"
	    "  -k, --checkpoint-key FILE  passed to the applier; but a replay signs no checkpoint\n"
	    "                          (the relay signs the entries it publishes, and a replay\n"
	    "                          finds every outcome already on the audit topic), so the\n"
	    "                          checkpoints table of a live run that used a key differs\n"
	    "  -e, --checkpoint-every N  as `axiom apply --checkpoint-every` (default 1000)\n"
	    "  -h, --help              this text\n"
	    "\n"
	    "example (the test 0720 does the same):\n"
	    "  psql \"$AXIOM_PG_ADMIN_DSN\" -c 'CREATE DATABASE axiom_rebuilt'\n"
	    "  axiom migrate --dsn \"$AXIOM_PG_ADMIN_DSN dbname=axiom_rebuilt\"\n"
	    "  axiom replay --dbname axiom_rebuilt --compare-dsn \"$AXIOM_PG_AUDITOR_DSN\"\n"
	    "\n"
	    "exit codes: 0 rebuilt (and, with --compare-dsn, every table equal)\n"
	    "            1 a table differs, the target is not empty or not migrated, a partition\n"
	    "              failed, the log was truncated, or the replay stalled or was stopped\n"
	    "            2 bad command line\n"
	    "            3 the broker or PostgreSQL is unreachable\n");
}

/* Parse s as an int in lo..hi into *out; -1 when it is not one. */
/* Compare the digests of the target (auditor_dsn) with the live database (compare_dsn). */
static int
compare(const char *prog, const char *auditor_dsn, const char *compare_dsn)
{
	struct ax_digest *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, bad;
	PGconn *ca = NULL, *cb = NULL;
	struct ax_err err;
	int rc;

	if ((rc = ax_pg_connect(&ca, auditor_dsn, "the auditor (rebuilt database)", &err)) !=
	        AX_OK ||
	    (rc = ax_digests_fetch(&a, &na, ca, "the rebuilt database", &err)) != AX_OK ||
	    (rc = ax_pg_connect(&cb, compare_dsn, "the auditor (live database)", &err)) != AX_OK ||
	    (rc = ax_digests_fetch(&b, &nb, cb, "the live database", &err)) != AX_OK) {
		rc = cli_fail(prog, &err);
		goto out;
	}
	printf("\n");
	bad = ax_digests_compare(stdout, a, na, b, nb);
	if (bad == 0) {
		printf("result: the rebuilt database equals the live one in all %zu tables\n", na);
		rc = EXIT_SUCCESS;
	} else {
		printf("result: %zu of %zu tables differ (or are missing or not covered)\n", bad,
		    na > nb ? na : nb);
		rc = EXIT_FAILURE;
	}
out:
	free(a);
	free(b);
	PQfinish(ca);
	PQfinish(cb);
	return rc;
}

/* dsn followed by " dbname=NAME" (libpq: the last keyword wins), in buf. */
static const char *
with_dbname(char *buf, size_t cap, const char *dsn, const char *dbname)
{
	if (dsn == NULL || dbname == NULL)
		return dsn;
	snprintf(buf, cap, "%s dbname=%s", dsn, dbname);
	return buf;
}

int
cmd_replay(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "dbname", required_argument, NULL, 'D' },
		{ "dsn", required_argument, NULL, 'd' },
		{ "auditor-dsn", required_argument, NULL, 'a' },
		{ "compare-dsn", required_argument, NULL, 'c' },
		{ "compare-only", no_argument, NULL, 'C' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "batch", required_argument, NULL, 'n' },
		{ "batch-ms", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, 'g' },
		{ "instance", required_argument, NULL, 'i' },
		{ "stall-seconds", required_argument, NULL, 's' },
		{ "progress", required_argument, NULL, 'p' },
		{ "checkpoint-key", required_argument, NULL, 'k' },
		{ "checkpoint-every", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom replay", *dbname = NULL, *compare_dsn = NULL;
	char dsn_buf[1024], aud_buf[1024];
	struct ax_replay_opts o;
	struct ax_replay_report rep;
	struct sigaction sa;
	struct ax_err err;
	bool compare_only = false;
	int c, rc;

	ax_replay_defaults(&o);
	o.brokers = cfg->brokers;
	o.pg_dsn = cfg->pg_dsn;
	o.auditor_dsn = cfg->pg_auditor_dsn;
	o.prefix = cfg->topic_prefix;
	o.progress = isatty(STDERR_FILENO) ? 1 : 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "D:d:a:c:Cb:n:t:g:i:s:p:k:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			dbname = optarg;
			break;
		case 'd':
			o.pg_dsn = optarg;
			break;
		case 'a':
			o.auditor_dsn = optarg;
			break;
		case 'c':
			compare_dsn = optarg;
			break;
		case 'C':
			compare_only = true;
			break;
		case 'P':
			o.prefix = optarg;
			break;
		case 'b':
			o.brokers = optarg;
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
		case 's':
			if (cli_parse_int(optarg, 1, 86400, &o.stall_s) != 0)
				return cli_usage_error(
				    prog, "--stall-seconds takes 1 to 86400 seconds");
			break;
		case 'p':
			if (strcmp(optarg, "bar") == 0)
				o.progress = 1;
			else if (strcmp(optarg, "lines") == 0)
				o.progress = 2;
			else if (strcmp(optarg, "none") == 0)
				o.progress = 0;
			else
				return cli_usage_error(prog, "--progress takes bar, lines or none");
			break;
		case 'k':
			o.checkpoint_key = optarg;
			break;
		case 'e':
			if (cli_parse_int(optarg, 1, 100000000, &o.checkpoint_every) != 0)
				return cli_usage_error(
				    prog, "--checkpoint-every takes 1 to 100000000");
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
	if (compare_only && compare_dsn == NULL)
		return cli_usage_error(prog, "--compare-only needs --compare-dsn");
	ax_err_clear(&err);
	if (o.auditor_dsn == NULL && ax_config_require(cfg, "AXIOM_PG_AUDITOR_DSN", &err) != AX_OK)
		return cli_fail(prog, &err);
	o.auditor_dsn = with_dbname(aud_buf, sizeof(aud_buf), o.auditor_dsn, dbname);
	if (compare_only)
		return compare(prog, o.auditor_dsn, compare_dsn);
	if (o.brokers == NULL && ax_config_require(cfg, "AXIOM_BROKERS", &err) != AX_OK)
		return cli_fail(prog, &err);
	if (o.pg_dsn == NULL && ax_config_require(cfg, "AXIOM_PG_DSN", &err) != AX_OK)
		return cli_fail(prog, &err);
	o.pg_dsn = with_dbname(dsn_buf, sizeof(dsn_buf), o.pg_dsn, dbname);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ax_log_set_level(AX_LOG_WARN); /* the applier's info lines would break the bar */
	rc = ax_replay_run(&o, &stop_requested, &rep, &err);
	if (rep.nparts > 0 && (rc == AX_OK || rc == AX_ERR))
		ax_replay_report_print(stdout, &rep);
	ax_replay_report_free(&rep);
	if (rc != AX_OK)
		return cli_fail(prog, &err);
	if (compare_dsn != NULL)
		return compare(prog, o.auditor_dsn, compare_dsn);
	return EXIT_SUCCESS;
}
