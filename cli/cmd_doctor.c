/*
 * cmd_doctor.c - `axiom doctor`: check every peer Axiom depends on and say, in plain
 * words, what is wrong and how to fix it. Read-only: it creates and changes nothing.
 */
#include <getopt.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_kafka.h"
#include "ax_kafka_apiv.h"
#include "ax_pg.h"
#include "ax_topics.h"
#include "cli.h"

#define TIMEOUT_DEFAULT_S 5
#define TIMEOUT_MAX_S     600

struct report {
	int failed;
	int unreachable;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom doctor [--brokers LIST] [--prefix NAME] [--timeout SEC]\n"
	    "\n"
	    "Checks, and reports each with ok or FAIL and what to do about a failure:\n"
	    "  - the settings: AXIOM_BROKERS, AXIOM_PG_ADMIN_DSN, AXIOM_PG_DSN\n"
	    "  - the Kafka broker: reachable, cluster id, broker count\n"
	    "  - the topics: PREFIX.control (1 partition), PREFIX.commands and PREFIX.audit (same\n"
	    "    partition count), each with LogAppendTime, retention.ms=-1, no compaction\n"
	    "  - PostgreSQL: reachable, version 15, the admin login and the runtime login\n"
	    "Nothing is created or changed.\n"
	    "\n"
	    "options:\n"
	    "  -b, --brokers LIST  bootstrap servers (default: $AXIOM_BROKERS)\n"
	    "      --prefix NAME   topic name prefix, 1 to %d characters (default:\n"
	    "                      $AXIOM_TOPIC_PREFIX or axiom)\n"
	    "  -t, --timeout SEC   bound of each check, 1 to %d seconds (default %d)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "exit codes: 0 all checks passed, 1 a check failed, 2 bad command line,\n"
	    "            3 the broker or PostgreSQL is unreachable\n",
	    AX_TOPIC_PREFIX_MAX, TIMEOUT_MAX_S, TIMEOUT_DEFAULT_S);
}

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
ok(const char *fmt, ...)
{
	va_list ap;

	printf("ok    ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void
fail(struct report *r, const struct ax_err *err)
{
	r->failed++;
	if (err->code == AX_EUNAVAIL)
		r->unreachable++;
	printf("FAIL  %s\n", err->msg);
	if (err->detail[0])
		printf("      %s\n", err->detail);
	if (err->hint[0])
		printf("      fix: %s\n", err->hint);
}

static void
check_topics(struct report *r, rd_kafka_t *rk, const char *prefix, int timeout_ms)
{
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	struct ax_topic_state st[AX_TOPIC_COUNT];
	struct ax_err err;
	char problems[2048], line[64];
	int i, partitions = AX_PARTITIONS_DEFAULT;

	ax_err_clear(&err);
	/* the names come from the plan, which refuses a prefix too long for them */
	if (ax_topics_plan(specs, prefix, partitions, &err) != AX_OK) {
		fail(r, &err);
		return;
	}
	for (i = 0; i < AX_TOPIC_COUNT; i++) {
		if (ax_kafka_describe_topic(rk, specs[i].name, timeout_ms, &st[i], &err) != AX_OK) {
			fail(r, &err);
			return;
		}
	}
	/* the command topic's count, whatever it is, is the one the audit topic must have */
	if (st[AX_TOPIC_COMMANDS].exists && st[AX_TOPIC_COMMANDS].partitions > 0)
		partitions = st[AX_TOPIC_COMMANDS].partitions;
	if (ax_topics_plan(specs, prefix, partitions, &err) != AX_OK) {
		fail(r, &err);
		return;
	}
	for (i = 0; i < AX_TOPIC_COUNT; i++) {
		if (ax_topic_check(&specs[i], &st[i], problems, sizeof(problems)) == 0) {
			snprintf(line, sizeof(line), "%d partition%s", specs[i].partitions,
			    specs[i].partitions == 1 ? "" : "s");
			ok("topic %s: %s, LogAppendTime, kept forever, not compacted",
			    specs[i].name, line);
			continue;
		}
		r->failed++;
		for (const char *row = problems; *row != '\0';) {
			size_t n = strcspn(row, "\n");

			printf("FAIL  %.*s\n", (int)n, row);
			row += n + (row[n] == '\n');
		}
	}
}

/* Which protocol versions the broker speaks tells its generation (KIP-896, Kafka 4.0). */
static void
check_protocol(struct report *r, const char *brokers, int timeout_ms)
{
	static const struct {
		int16_t key;
		const char *name;
	} shown[] = {
		{ AX_KAFKA_API_PRODUCE, "Produce" },
		{ AX_KAFKA_API_FETCH, "Fetch" },
		{ AX_KAFKA_API_JOIN_GROUP, "JoinGroup" },
		{ AX_KAFKA_API_OFFSET_COMMIT, "OffsetCommit" },
	};
	const struct ax_kafka_api_range *fetch;
	char proto[32], ca[512], cert[512], key[512];
	struct ax_kafka_tls tls = { ca, cert, key }, *tlsp = NULL;
	struct ax_kafka_apiv v;
	struct ax_err err;
	char ranges[256] = "";
	size_t i, len = 0;

	ax_err_clear(&err);
	/* the admin's own TLS files when its settings say SSL (the local stack: mutual TLS) */
	if (ax_kafka_role_setting(
	        AX_KAFKA_ADMIN, "security.protocol", proto, sizeof(proto), &err) == AX_OK &&
	    strstr(proto, "SSL") != NULL) {
		if (ax_kafka_role_setting(
		        AX_KAFKA_ADMIN, "ssl.ca.location", ca, sizeof(ca), &err) != AX_OK ||
		    ax_kafka_role_setting(AX_KAFKA_ADMIN, "ssl.certificate.location", cert,
		        sizeof(cert), &err) != AX_OK ||
		    ax_kafka_role_setting(
		        AX_KAFKA_ADMIN, "ssl.key.location", key, sizeof(key), &err) != AX_OK) {
			fail(r, &err);
			return;
		}
		tlsp = &tls;
	}
	ax_err_clear(&err);
	if (ax_kafka_apiv_fetch(&v, brokers, tlsp, timeout_ms, &err) != AX_OK) {
		fail(r, &err);
		return;
	}
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		const struct ax_kafka_api_range *a = ax_kafka_apiv_find(&v, shown[i].key);

		if (a != NULL && len < sizeof(ranges))
			len += (size_t)snprintf(ranges + len, sizeof(ranges) - len, "%s%s v%d-v%d",
			    len ? ", " : "", shown[i].name, a->min, a->max);
	}
	/* 4.0 removed Fetch v0-v3 for good (it kept advertising Produce v0 for old clients) */
	if ((fetch = ax_kafka_apiv_find(&v, AX_KAFKA_API_FETCH)) == NULL) {
		ax_err_set(&err, AX_EINVAL, "the broker does not offer the Fetch API");
		fail(r, &err);
		return;
	}
	ok("kafka protocol: %s (%s)",
	    fetch->min >= 4 ? "Kafka 4.0 or newer, old versions removed (KIP-896)"
	                    : "Kafka 3.x or older; Axiom is tested against 4.x",
	    ranges);
}

static void
check_kafka(struct report *r, const char *brokers, const char *prefix, int timeout_ms)
{
	struct ax_kafka_cluster cl;
	struct ax_err err;
	rd_kafka_t *rk = NULL;
	char facts[160];

	ax_err_clear(&err);
	if (ax_kafka_new(&rk, RD_KAFKA_PRODUCER, brokers, AX_KAFKA_ADMIN, NULL, &err) != AX_OK) {
		fail(r, &err);
		return;
	}
	if (ax_kafka_probe(rk, brokers, timeout_ms, &cl, &err) != AX_OK) {
		fail(r, &err);
		printf("      (topics not checked: no broker)\n");
		goto out;
	}
	snprintf(facts, sizeof(facts), "cluster %s, %d broker%s, controller %d, librdkafka %s",
	    cl.cluster_id[0] ? cl.cluster_id : "(unknown id)", cl.brokers,
	    cl.brokers == 1 ? "" : "s", cl.controller_id, rd_kafka_version_str());
	ok("kafka broker %s answers: %s", brokers, facts);
	check_protocol(r, brokers, timeout_ms);
	check_topics(r, rk, prefix, timeout_ms);
out:
	rd_kafka_destroy(rk);
}

static void
check_pg(struct report *r, const char *dsn, const char *who, int want_version)
{
	struct ax_err err;
	PGconn *conn = NULL;
	char user[128], facts[256];
	int v;

	ax_err_clear(&err);
	if (ax_pg_connect(&conn, dsn, who, &err) != AX_OK) {
		fail(r, &err);
		return;
	}
	if (ax_pg_query_value(conn, "SELECT current_user", user, sizeof(user), &err) != AX_OK) {
		fail(r, &err);
		goto out;
	}
	v = PQserverVersion(conn);
	snprintf(facts, sizeof(facts), "logged in as %s, server %d.%d", user, v / 10000, v % 10000);
	if (want_version && v / 10000 != 15) {
		ax_err_set(&err, AX_EINVAL,
		    "PostgreSQL %d.%d is not the version Axiom is built for", v / 10000, v % 10000);
		ax_err_hint(&err, "Use PostgreSQL 15 (ops/stack up starts one).");
		fail(r, &err);
		goto out;
	}
	ok("postgresql (%s): %s", who, facts);
out:
	PQfinish(conn);
}

static void
check_set(struct report *r, const struct ax_config *cfg, const char *var, const char **value)
{
	struct ax_err err;

	ax_err_clear(&err);
	if (*value != NULL)
		return;
	ax_config_require(cfg, var, &err);
	fail(r, &err);
}

int
cmd_doctor(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom doctor";
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	struct ax_config c2 = *cfg;
	struct report r = { 0, 0 };
	struct ax_err err;
	int c, seconds, timeout_ms = TIMEOUT_DEFAULT_S * 1000;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			c2.brokers = optarg;
			break;
		case 'P':
			if (ax_topics_plan(specs, optarg, 1, &err) != AX_OK)
				return cli_usage_error(prog, "%s. %s", err.msg, err.detail);
			c2.topic_prefix = optarg;
			break;
		case 't':
			if (cli_parse_int(optarg, 1, TIMEOUT_MAX_S, &seconds) != 0)
				return cli_usage_error(
				    prog, "--timeout takes 1 to %d seconds", TIMEOUT_MAX_S);
			timeout_ms = seconds * 1000;
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

	check_set(&r, &c2, "AXIOM_BROKERS", &c2.brokers);
	check_set(&r, &c2, "AXIOM_PG_ADMIN_DSN", &c2.pg_admin_dsn);
	check_set(&r, &c2, "AXIOM_PG_DSN", &c2.pg_dsn);
	if (c2.brokers != NULL)
		check_kafka(&r, c2.brokers, c2.topic_prefix, timeout_ms);
	if (c2.pg_admin_dsn != NULL)
		check_pg(&r, c2.pg_admin_dsn, "the admin login", 1);
	if (c2.pg_dsn != NULL)
		check_pg(&r, c2.pg_dsn, "the runtime login", 0);

	if (r.failed == 0) {
		printf("\nall checks passed\n");
		return EXIT_SUCCESS;
	}
	printf("\n%d check%s failed\n", r.failed, r.failed == 1 ? "" : "s");
	fflush(stdout);
	return r.unreachable ? EXIT_UNAVAILABLE : EXIT_FAILURE;
}
