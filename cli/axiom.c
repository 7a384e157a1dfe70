/*
 * axiom.c - entry point of the `axiom` binary: global options, then one subcommand.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef AXIOM_VERSION
#define AXIOM_VERSION "dev"
#endif

static const struct ax_cmd commands[] = {
	{ "topics", "create and check the Kafka topics (axiom.control, .commands, .audit)",
	    cmd_topics },
	{ "doctor",
	    "check the broker, PostgreSQL and the topics; say what is wrong and how to fix it",
	    cmd_doctor },
	{ "migrate", "apply the database migrations in db/ (forward-only, checksummed)",
	    cmd_migrate },
	{ "apply", "apply the commands exactly once to PostgreSQL (the applier)", cmd_apply },
	{ "audit", "print the audit topic (every outcome, every checkpoint) as JSON lines",
	    cmd_audit },
	{ "publish", "publish commands given as JSON lines (checked, Avro-encoded, acks=all)",
	    cmd_publish },
	{ "verify", "re-check record chains, ledger chains and the Kafka log as the auditor",
	    cmd_verify },
	{ "replay", "rebuild an empty database from the topics; compare it with the live one",
	    cmd_replay },
	{ "bench", "measure apply rate, latency, the raw-insert ceiling, replay and verify",
	    cmd_bench },
	{ "sign", "sign a record version (WebAuthn intent, software key or FIDO2 device)",
	    cmd_sign },
	{ "report",
	    "print a record or the audit trail of a period for inspection (HTML, PDF, JSON)",
	    cmd_report },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: axiom [--version] [--help] COMMAND [ARGS]\n"
	    "\n"
	    "Axiom applies regulated-record commands (FDA 21 CFR Part 11, EU GMP Annex 11) from\n"
	    "Apache Kafka into PostgreSQL, exactly once, with hash chains and an audit trail.\n"
	    "\n"
	    "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp,
	    "\n"
	    "'axiom COMMAND --help' explains a command and its options.\n"
	    "\n"
	    "Where Axiom connects is read from the environment; the local stack prints it:\n"
	    "  ops/stack up && eval \"$(ops/stack env)\"\n"
	    "  AXIOM_BROKERS           Kafka bootstrap servers, host:port[,host:port]\n"
	    "  AXIOM_KAFKA_<ROLE>_CONFIG  the Kafka principal's settings file (librdkafka\n"
	    "                          properties: TLS files or SASL credentials) for ROLE\n"
	    "                          ADMIN (topics, doctor), APPLIER (apply, replay),\n"
	    "                          UPSTREAM and CONTROL (publish, sign), ANALYST (audit),\n"
	    "                          AUDITOR (verify)\n"
	    "  AXIOM_PG_ADMIN_DSN      PostgreSQL connection string for migrations and checks\n"
	    "  AXIOM_PG_DSN            ... for the applier's runtime role (axiom_user)\n"
	    "  AXIOM_PG_AUDITOR_DSN    ... for the read-only auditor (verify, report)\n"
	    "  AXIOM_TOPIC_PREFIX      topic name prefix (default: axiom)\n"
	    "  AXIOM_KAFKA_DEBUG       librdkafka debug contexts to log, e.g. broker,cgrp\n"
	    "\n"
	    "exit codes: 0 done, 1 something is wrong, 2 bad command line, 3 a peer is "
	    "unreachable\n");
}

int
cli_fail(const char *prog, const struct ax_err *err)
{
	ax_err_print(stderr, prog, err);
	switch (err->code) {
	case AX_EUNAVAIL:
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_FAILURE;
	}
}

int
cli_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
cli_parse_int(const char *s, int lo, int hi, int *out)
{
	long v;

	if (cli_parse_long(s, lo, hi, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int
cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct ax_config cfg;
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("axiom %s (librdkafka %s, libpq %d)\n", AXIOM_VERSION,
		    rd_kafka_version_str(), PQlibVersion());
		return EXIT_SUCCESS;
	}
	ax_config_from_env(&cfg);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1, &cfg);
	fprintf(stderr, "axiom: '%s' is not an axiom command.\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
