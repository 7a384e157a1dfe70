/*
 * cmd_bench.c - `axiom bench`: the end-to-end benchmark on the local stack (cli/bench.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

/* The --help text. */
static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom bench [--commands N] [--latency-commands N] [--partitions P]\n"
	    "                   [--batch N] [--batch-ms MS] [--changes PCT]\n"
	    "                   [--rate-fraction F] [--rate-fractions F1,F2,...]\n"
	    "                   [--mix realistic|basic] [--signatures PCT] [--refusals PCT]\n"
	    "                   [--verify-versions N] [--json FILE] [--plot FILE.png]\n"
	    "                   [--no-replay] [--no-verify] [--keep] [--dir DIR]\n"
	    "\n"
	    "Measures Axiom end to end on the local stack, in throwaway objects (a database\n"
	    "axiom_bench_<tag>, topics bench-<tag>.*, removed at the end unless --keep):\n"
	    "  1. throughput: publishes N data commands (new versions of SOPs, change requests\n"
	    "     through propose, submit, review, approve and apply, and in the realistic mix\n"
	    "     e-signatures made with software authenticators and commands the applier must\n"
	    "     refuse: a create without a grant, a new version on a stale base), then runs\n"
	    "     `axiom apply --until-caught-up` with P partitions as a child process and\n"
	    "     reports commands per second from the first to the last commit, the accepted\n"
	    "     and rejected counts from the ledger, the applier's and PostgreSQL's CPU\n"
	    "     microseconds per command (also for the latency and replay phases), and the\n"
	    "     applier's peak RSS;\n"
	    "  2. latency: with the applier running, publishes commands at F x that rate and\n"
	    "     reports p50, p95, p99 of append -> commit: the broker's LogAppendTime (the\n"
	    "     ledger's event_time) to the commit time PostgreSQL records for it (the server\n"
	    "     needs track_commit_timestamp = on, which ops/stack sets; the bench adds no\n"
	    "     trigger or lock to the applier's transactions); with --rate-fractions, one\n"
	    "     such run per fraction, then the lowest fraction whose p99 is above 50 ms;\n"
	    "  3. ceiling: the very rows the applier wrote, COPY'd into tables of the same shape\n"
	    "     (same columns and keys; no checks, triggers or RLS), one transaction per batch\n"
	    "     of the same size on P connections; prints apply / ceiling;\n"
	    "  4. replay: `axiom replay` into a second database (messages per second, and whether\n"
	    "     the digests equal the live database's);\n"
	    "  5. verify: `axiom verify` as the auditor (record versions per second; its database\n"
	    "     and Kafka stages apart), against the C checker's rate on synthetic rows;\n"
	    "  6. scale (--verify-versions N): new versions through the applier until the\n"
	    "     database holds N record versions, then `axiom verify` at that size;\n"
	    "  7. signatures: WebAuthn verifications per second as the applier runs them, against\n"
	    "     raw ECDSA P-256 verifies in the same run.\n"
	    "The bench reports; it asserts no figure.\n");
	fprintf(fp,
	    "\n"
	    "options:\n"
	    "  -n, --commands N          data commands of the throughput phase (default 20000)\n"
	    "  -l, --latency-commands N  data commands of each paced run (default N/4, >= 200)\n"
	    "  -P, --partitions P        partitions of the command topic (default 6)\n"
	    "  -B, --batch N             commands per applier transaction and per ceiling\n"
	    "                            batch (default 200)\n"
	    "  -t, --batch-ms MS         how long the applier's partial batches wait for more\n"
	    "                            commands (default 0)\n"
	    "  -c, --changes PCT         share of change-request steps in the mix (default 20)\n"
	    "  -f, --rate-fraction F     paced rate as a fraction of the apply rate (default 0.5)\n"
	    "  -F, --rate-fractions LIST also a paced run at each fraction of the comma-\n"
	    "                            separated LIST (at most 16, each in (0, 10]), in\n"
	    "                            ascending order with F's, each with its own applier\n"
	    "                            and warm-up, to read p99 against the load: e.g.\n"
	    "                            0.1,0.2,0.3,0.4,0.5 (default: only F's run, which\n"
	    "                            gives the latency figures either way)\n"
	    "  -m, --mix MIX             realistic (default: with signatures and refusals) or\n"
	    "                            basic (the earlier mix, every command accepted)\n"
	    "  -s, --signatures PCT      share of Sign commands in the realistic mix (default 5)\n"
	    "  -r, --refusals PCT        share of commands to be refused (default 2)\n"
	    "  -v, --verify-versions N   grow the database to N record versions through the\n"
	    "                            applier, then verify it (default: no)\n"
	    "  -j, --json FILE           also write every figure as one JSON object\n"
	    "  -p, --plot FILE.png       also plot throughput and latency per second (gnuplot)\n"
	    "      --no-replay           skip the replay phase\n"
	    "      --no-verify           skip the verify phase\n"
	    "  -k, --keep                keep the databases and topics (their names are printed)\n"
	    "  -D, --dir DIR             the migrations folder (default: db)\n"
	    "  -h, --help                this text\n"
	    "\n"
	    "It reads AXIOM_BROKERS, AXIOM_PG_ADMIN_DSN (creates and drops the databases),\n"
	    "AXIOM_PG_DSN and AXIOM_PG_AUDITOR_DSN: eval \"$(ops/stack env)\" sets them.\n"
	    "\n"
	    "full-size run (docs/benchmarks.md):\n"
	    "  axiom bench --commands 100000 --partitions 6 --json bench.json --plot bench.png\n"
	    "\n"
	    "exit codes: 0 every phase ran, 1 a phase failed (the message says which),\n"
	    "            2 bad command line, 3 the broker or PostgreSQL is unreachable\n");
}

/* Parse s as a rate fraction, a number in (0, 10], into *out; -1 when it is not one. */
static int
parse_fraction(const char *s, double *out)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v > 0 && v <= 10))
		return -1;
	*out = v;
	return 0;
}

/* Parse the comma-separated fractions of list into o (at most BENCH_MAX_FRACTIONS, each
 * once); -1 with a message in msg when list is not one. */
static int
parse_fractions(const char *list, struct bench_opts *o, char *msg, size_t cap)
{
	char buf[512], *save = NULL, *tok;
	double v;

	if (strlen(list) >= sizeof(buf)) {
		snprintf(msg, cap, "--rate-fractions is too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	o->nfractions = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int i;

		if (parse_fraction(tok, &v) != 0) {
			snprintf(msg, cap,
			    "--rate-fractions takes numbers in (0, 10] separated by commas, not "
			    "'%s'",
			    tok);
			return -1;
		}
		for (i = 0; i < o->nfractions && o->rate_fractions[i] != v; i++)
			;
		if (i < o->nfractions)
			continue;
		if (o->nfractions == BENCH_MAX_FRACTIONS) {
			snprintf(msg, cap, "--rate-fractions takes at most %d fractions",
			    BENCH_MAX_FRACTIONS);
			return -1;
		}
		o->rate_fractions[o->nfractions++] = v;
	}
	if (o->nfractions == 0) {
		snprintf(
		    msg, cap, "--rate-fractions takes at least one fraction, e.g. 0.1,0.3,0.5");
		return -1;
	}
	return 0;
}

int
cmd_bench(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "commands", required_argument, NULL, 'n' },
		{ "latency-commands", required_argument, NULL, 'l' },
		{ "partitions", required_argument, NULL, 'P' },
		{ "batch", required_argument, NULL, 'B' },
		{ "batch-ms", required_argument, NULL, 't' },
		{ "changes", required_argument, NULL, 'c' },
		{ "rate-fraction", required_argument, NULL, 'f' },
		{ "rate-fractions", required_argument, NULL, 'F' },
		{ "mix", required_argument, NULL, 'm' },
		{ "signatures", required_argument, NULL, 's' },
		{ "refusals", required_argument, NULL, 'r' },
		{ "verify-versions", required_argument, NULL, 'v' },
		{ "json", required_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' },
		{ "no-replay", no_argument, NULL, 'R' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "keep", no_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom bench";
	static const char *const need[] = { "AXIOM_BROKERS", "AXIOM_PG_ADMIN_DSN", "AXIOM_PG_DSN",
		"AXIOM_PG_AUDITOR_DSN" };
	struct bench_opts o;
	struct bench_result r;
	struct ax_err err;
	char self[4096], msg[160];
	ssize_t n;
	long v;
	size_t i;
	bool basic = false;
	int c, rc;

	bench_defaults(&o);
	o.cfg = cfg;
	optind = 1;
	while (
	    (c = getopt_long(argc, argv, "n:l:P:B:t:c:f:F:m:s:r:v:j:p:kD:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_long(optarg, 1, 10000000, &o.commands) != 0)
				return cli_usage_error(prog, "--commands takes 1 to 10000000");
			break;
		case 'l':
			if (cli_parse_long(optarg, 1, 10000000, &o.latency_commands) != 0)
				return cli_usage_error(
				    prog, "--latency-commands takes 1 to 10000000");
			break;
		case 'P':
			if (cli_parse_long(optarg, 1, 64, &v) != 0)
				return cli_usage_error(prog, "--partitions takes 1 to 64");
			o.partitions = (int)v;
			break;
		case 'B':
			if (cli_parse_long(optarg, 1, 10000, &v) != 0)
				return cli_usage_error(prog, "--batch takes 1 to 10000 commands");
			o.batch_max = (int)v;
			break;
		case 't':
			if (cli_parse_long(optarg, 0, 10000, &v) != 0)
				return cli_usage_error(
				    prog, "--batch-ms takes 0 to 10000 milliseconds");
			o.batch_ms = (int)v;
			break;
		case 'c':
			if (cli_parse_long(optarg, 0, 100, &v) != 0)
				return cli_usage_error(
				    prog, "--changes takes a percentage, 0 to 100");
			o.change_pct = (int)v;
			break;
		case 'f':
			if (parse_fraction(optarg, &o.rate_fraction) != 0)
				return cli_usage_error(
				    prog, "--rate-fraction takes a number in (0, 10]");
			break;
		case 'F':
			if (parse_fractions(optarg, &o, msg, sizeof(msg)) != 0)
				return cli_usage_error(prog, "%s", msg);
			break;
		case 'm':
			if (strcmp(optarg, "basic") != 0 && strcmp(optarg, "realistic") != 0)
				return cli_usage_error(prog, "--mix takes realistic or basic");
			basic = strcmp(optarg, "basic") == 0;
			break;
		case 's':
			if (cli_parse_long(optarg, 0, 50, &v) != 0)
				return cli_usage_error(
				    prog, "--signatures takes a percentage, 0 to 50");
			o.sign_pct = (int)v;
			break;
		case 'r':
			if (cli_parse_long(optarg, 0, 50, &v) != 0)
				return cli_usage_error(
				    prog, "--refusals takes a percentage, 0 to 50");
			o.refuse_pct = (int)v;
			break;
		case 'v':
			if (cli_parse_long(optarg, 1, 100000000, &o.verify_versions) != 0)
				return cli_usage_error(
				    prog, "--verify-versions takes 1 to 100000000");
			break;
		case 'j':
			o.json_path = optarg;
			break;
		case 'p':
			o.plot_path = optarg;
			break;
		case 'R':
			o.replay = false;
			break;
		case 'V':
			o.verify = false;
			break;
		case 'k':
			o.keep = true;
			break;
		case 'D':
			o.db_dir = optarg;
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
	if (basic)
		o.sign_pct = o.refuse_pct = 0;
	ax_err_clear(&err);
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (ax_config_require(cfg, need[i], &err) != AX_OK)
			return cli_fail(prog, &err);
	/* the children (apply, verify) are this very binary */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		ax_err_set(&err, AX_ERR, "could not find the path of the axiom binary");
		return cli_fail(prog, &err);
	}
	self[n] = '\0';
	o.self = self;

	rc = bench_run(&o, &r, stderr, &err);
	if (rc == AX_OK) {
		printf("\n");
		bench_print(stdout, &o, &r);
		if (o.json_path != NULL &&
		    (rc = bench_write_json(o.json_path, &o, &r, &err)) == AX_OK)
			printf("\nJSON: %s\n", o.json_path);
		if (rc == AX_OK && o.plot_path != NULL &&
		    (rc = bench_write_plot(o.plot_path, &r, &err)) == AX_OK)
			printf("plot: %s (data %s.dat)\n", o.plot_path, o.plot_path);
	}
	bench_result_free(&r);
	if (rc != AX_OK)
		return cli_fail(prog, &err);
	return EXIT_SUCCESS;
}
