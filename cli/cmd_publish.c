/*
 * cmd_publish.c - `axiom publish`: commands as JSON lines in, Avro on the Kafka topics out.
 *
 * States, in order: read and encode every line (any invalid line: report each, send
 * nothing, exit 1) -> check the broker and the topics (unreachable: exit 3, nothing sent)
 * -> send all, progress on stderr -> wait for every delivery report -> summary. A command
 * is reported as sent only when the broker acknowledged it (acks=all); any that was not
 * is named by its line number, and the exit code is 1.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_kafka.h"
#include "ax_publish.h"
#include "ax_topics.h"
#include "cli.h"

#define PROGRESS_MIN_LINES 1000     /* inputs smaller than this print no progress */
#define LINES_MAX          10000000 /* commands in one run: memory is held for all of them */
#define TIMEOUT_DEFAULT_S  30       /* --timeout, seconds */
#define TIMEOUT_MAX_S      3600     /* --timeout: an hour at most */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom publish [FILE] [--dry-run] [--brokers LIST] [--prefix NAME]\n"
	    "                     [--timeout SEC] [--as ROLE]\n"
	    "       axiom publish --example\n"
	    "\n"
	    "Reads commands as JSON lines from FILE (or standard input when FILE is - or\n"
	    "missing), checks and encodes every one of them with the Avro contract\n"
	    "(schemas/avro), then publishes them with an idempotent producer (acks=all):\n"
	    "control commands to partition 0 of PREFIX.control, data commands to\n"
	    "PREFIX.commands keyed by their lineage_id. Nothing is sent unless every line is\n"
	    "valid. Every command is accounted for: the summary says how many the broker\n"
	    "acknowledged, and names the line of every one it did not. Lines are published in\n"
	    "file order; where the file switches between control and data commands, what came\n"
	    "before is acknowledged first, so a command is appended no earlier than the\n"
	    "commands before it that it may depend on (a control command governs every command\n"
	    "appended at its instant or later: write a file in dependency order).\n"
	    "\n"
	    "input format: one JSON object per line (empty lines and lines starting with #\n"
	    "are skipped):\n"
	    "  {\"command_id\": UUID, \"actor\": TEXT, \"issued_at\": MICROSECONDS, \"reason\": "
	    "TEXT,\n"
	    "   [\"lineage_id\": UUID, for data commands,] [\"source_system\": TEXT,]\n"
	    "   \"payload\": {\"CommandType\": {FIELDS}}}\n"
	    "  UUIDs are 8-4-4-4-12 hex text, times are integer microseconds since\n"
	    "  1970-01-01T00:00:00Z, bytes are hex text, enums are their symbol, an optional\n"
	    "  field is null or its value. A field with a default may be left out; any other\n"
	    "  missing or unknown field is an error. --example prints one of every type.\n"
	    "\n"
	    "options:\n"
	    "  -n, --dry-run       check and encode only; connect to nothing\n"
	    "  -e, --example       print one command of every type and exit\n"
	    "  -b, --brokers LIST  bootstrap servers (default: $AXIOM_BROKERS)\n"
	    "      --prefix NAME   topic name prefix (default: $AXIOM_TOPIC_PREFIX or axiom)\n"
	    "  -t, --timeout SEC   how long a command may wait for its acknowledgement,\n"
	    "                      1 to %d seconds (default %d)\n"
	    "      --as ROLE       the broker principal to publish as: control (may write\n"
	    "                      both topics; the default when the input holds a control\n"
	    "                      command) or upstream (data commands only; the default\n"
	    "                      otherwise); its settings: $AXIOM_KAFKA_<ROLE>_CONFIG\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "example:\n"
	    "  axiom publish --example > cmds.jsonl && axiom publish cmds.jsonl\n"
	    "\n"
	    "exit codes: 0 every command acknowledged, 1 an invalid line (nothing sent) or a\n"
	    "            command not acknowledged, 2 bad command line, 3 broker unreachable\n"
	    "            (nothing sent)\n",
	    TIMEOUT_MAX_S, TIMEOUT_DEFAULT_S);
}

/* An encoded command and the line it came from. */
struct item {
	struct ax_publish_msg m;
	uint64_t line;
};

/*
 * Read one line of fp into buf (capacity cap, NUL-terminated, newline dropped) and set
 * *len; a longer line is consumed to its end and *too_long set. false at end of input.
 */
static bool
read_line(FILE *fp, char *buf, size_t cap, size_t *len, bool *too_long)
{
	int ch;

	*len = 0;
	*too_long = false;
	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (*len + 1 < cap)
			buf[(*len)++] = (char)ch;
		else
			*too_long = true;
	}
	buf[*len] = '\0';
	return ch != EOF || *len > 0 || *too_long;
}

/* Read and encode every line of fp into *items; returns the number of invalid lines. */
static long
read_all(FILE *fp, const char *name, const struct ax_codec *codec, struct item **items, size_t *n,
    const char *prog)
{
	char *line = malloc(AX_PUBLISH_LINE_MAX + 1);
	size_t len, alloc = 0;
	uint64_t lineno = 0;
	bool too_long;
	long bad = 0;

	if (line == NULL) {
		fprintf(stderr, "%s: error: out of memory\n", prog);
		return 1;
	}
	while (read_line(fp, line, AX_PUBLISH_LINE_MAX + 1, &len, &too_long)) {
		struct ax_err err;
		struct item it;

		lineno++;
		if (too_long) {
			fprintf(stderr, "%s: error: %s:%llu: line is longer than %d bytes\n", prog,
			    name, (unsigned long long)lineno, AX_PUBLISH_LINE_MAX);
			bad++;
			continue;
		}
		while (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (*n >= LINES_MAX) {
			fprintf(stderr, "%s: error: %s:%llu: more than %d commands in one run\n",
			    prog, name, (unsigned long long)lineno, LINES_MAX);
			bad++;
			break;
		}
		if (ax_publish_encode_line(codec, line, len, &it.m, &err) != AX_OK) {
			fprintf(stderr, "%s: error: %s:%llu: %s\n", prog, name,
			    (unsigned long long)lineno, err.msg);
			if (err.detail[0])
				fprintf(stderr, "DETAIL: %s\n", err.detail);
			if (err.hint[0])
				fprintf(stderr, "HINT: %s\n", err.hint);
			bad++;
			continue;
		}
		it.line = lineno;
		if (*n == alloc) {
			size_t na = alloc ? alloc * 2 : 256;
			struct item *ni = realloc(*items, na * sizeof(**items));

			if (ni == NULL) {
				fprintf(stderr, "%s: error: out of memory at line %llu\n", prog,
				    (unsigned long long)lineno);
				ax_publish_msg_clear(&it.m);
				bad++;
				break;
			}
			*items = ni;
			alloc = na;
		}
		(*items)[(*n)++] = it;
	}
	if (ferror(fp)) {
		fprintf(stderr, "%s: error: could not read %s\n", prog, name);
		bad++;
	}
	free(line);
	return bad;
}

int
cmd_publish(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "example", no_argument, NULL, 'e' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "as", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom publish";
	const char *brokers = cfg->brokers, *prefix = cfg->topic_prefix, *name = "-";
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	struct ax_kafka_cluster cl;
	struct ax_codec *codec = NULL;
	struct ax_producer *prod = NULL;
	const struct ax_producer_stats *st;
	struct item *items = NULL;
	struct ax_err err;
	size_t n = 0, nall = 0, ncontrol = 0;
	int c, dry = 0, timeout_s = TIMEOUT_DEFAULT_S, rc = EXIT_FAILURE, role_given = 0;
	enum ax_kafka_role role = AX_KAFKA_UPSTREAM;
	long bad;
	FILE *fp = stdin;
	double last = 0;

	ax_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "neb:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = 1;
			break;
		case 'e':
			for (size_t i = 0; i < ax_publish_examples_len; i++)
				printf("%s\n", ax_publish_examples[i]);
			return EXIT_SUCCESS;
		case 'b':
			brokers = optarg;
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'A':
			if (ax_kafka_role_parse(&role, optarg, &err) != AX_OK)
				return cli_usage_error(prog, "%s", err.msg);
			role_given = 1;
			break;
		case 't':
			if (cli_parse_int(optarg, 1, TIMEOUT_MAX_S, &timeout_s) != 0)
				return cli_usage_error(
				    prog, "--timeout takes 1 to %d seconds", TIMEOUT_MAX_S);
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(prog, "unknown option");
		}
	}
	if (optind + 1 < argc)
		return cli_usage_error(prog, "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc && strcmp(argv[optind], "-") != 0) {
		name = argv[optind];
		if ((fp = fopen(name, "r")) == NULL) {
			ax_err_set(&err, AX_EINVAL, "could not open %s", name);
			return cli_fail(prog, &err);
		}
	}
	if (!dry && brokers == NULL) {
		struct ax_config c2 = *cfg;

		c2.brokers = NULL;
		ax_config_require(&c2, "AXIOM_BROKERS", &err);
		ax_err_hint(&err, "Set it with --brokers HOST:PORT, start the local stack "
		                  "(ops/stack up && eval \"$(ops/stack env)\"), or use --dry-run");
		goto fail;
	}
	if (ax_topics_plan(specs, prefix, 1, &err) != AX_OK) {
		rc = cli_usage_error(prog, "%s. %s", err.msg, err.detail);
		goto out;
	}
	if (ax_codec_new(&codec, NULL, &err) != AX_OK)
		goto fail;

	/* 1. every line checked and encoded before anything is sent */
	bad = read_all(fp, fp == stdin ? "<stdin>" : name, codec, &items, &n, prog);
	nall = n;
	if (bad) {
		fprintf(stderr, "%s: %ld invalid line%s: nothing was sent\n", prog, bad,
		    bad == 1 ? "" : "s");
		goto out;
	}
	nall = n;
	for (size_t i = 0; i < n; i++)
		ncontrol += items[i].m.family == AX_FAMILY_CONTROL;
	if (dry) {
		printf("%zu command%s valid (%zu control, %zu data); nothing sent (--dry-run)\n", n,
		    n == 1 ? "" : "s", ncontrol, n - ncontrol);
		rc = EXIT_SUCCESS;
		goto out;
	}
	if (n == 0) {
		printf("no commands in the input; nothing sent\n");
		rc = EXIT_SUCCESS;
		goto out;
	}

	/* 2. the broker and the topics, before the first message */
	if (!role_given)
		role = ncontrol > 0 ? AX_KAFKA_CONTROL : AX_KAFKA_UPSTREAM;
	if (ax_producer_new(&prod, brokers, role, timeout_s * 1000, &err) != AX_OK)
		goto fail;
	if (ax_kafka_probe(ax_producer_handle(prod), brokers, AX_KAFKA_TIMEOUT_MS, &cl, &err) !=
	    AX_OK) {
		ax_err_detail(&err, "nothing was sent");
		goto fail;
	}
	for (int t = 0; t <= AX_TOPIC_COMMANDS; t++) {
		struct ax_topic_state ts;

		if ((t == AX_TOPIC_CONTROL ? ncontrol : n - ncontrol) == 0)
			continue;
		if (ax_kafka_describe_topic(ax_producer_handle(prod), specs[t].name,
		        AX_KAFKA_TIMEOUT_MS, &ts, &err) != AX_OK)
			goto fail;
		if (!ts.exists) {
			ax_err_set(&err, AX_EINVAL, "topic %s does not exist; nothing was sent",
			    specs[t].name);
			ax_err_hint(
			    &err, "create the topics: axiom topics create --prefix %s", prefix);
			goto fail;
		}
	}

	/* 3. send, with progress for large inputs */
	for (size_t i = 0; i < n; i++) {
		const char *topic =
		    specs[items[i].m.family == AX_FAMILY_CONTROL ? AX_TOPIC_CONTROL
		                                                 : AX_TOPIC_COMMANDS]
		        .name;

		/* a command that goes to the other topic than the one before it is sent once
		 * everything before it is acknowledged: it gets a later (or the same) append time
		 * than what it may depend on, so a grant governs the data command after it in the
		 * file (db/0022, docs/producers.md) */
		if (i > 0 && items[i].m.family != items[i - 1].m.family)
			ax_producer_wait(prod, timeout_s * 1000 + 5000);
		if (ax_producer_send(prod, topic, &items[i].m, items[i].line, &err) != AX_OK) {
			fprintf(stderr,
			    "%s: error: line %llu: %s; lines from here on were not sent\n", prog,
			    (unsigned long long)items[i].line, err.msg);
			n = i; /* the summary covers what was handed to the producer */
			break;
		}
		if (n >= PROGRESS_MIN_LINES && ax_mono_s() - last >= 1.0) {
			const struct ax_producer_stats *s = ax_producer_stats(prod);

			fprintf(stderr, "%s: %llu/%zu queued, %llu acknowledged\n", prog,
			    (unsigned long long)s->sent, n, (unsigned long long)s->delivered);
			last = ax_mono_s();
		}
	}

	/* 4. every delivery report, then the summary */
	st = ax_producer_wait(prod, timeout_s * 1000 + 5000);
	for (size_t i = 0; i < st->nfailures; i++)
		fprintf(stderr, "%s: error: %s:%llu: not acknowledged: %s\n", prog,
		    fp == stdin ? "<stdin>" : name, (unsigned long long)st->failures[i].line,
		    st->failures[i].reason);
	if (st->failed > st->nfailures)
		fprintf(stderr, "%s: ... and %llu more not acknowledged\n", prog,
		    (unsigned long long)(st->failed - st->nfailures));
	printf("sent %llu command%s: %llu acknowledged, %llu failed (%zu to %s, %zu to %s)\n",
	    (unsigned long long)st->sent, st->sent == 1 ? "" : "s",
	    (unsigned long long)st->delivered, (unsigned long long)st->failed, ncontrol,
	    specs[AX_TOPIC_CONTROL].name, n - ncontrol, specs[AX_TOPIC_COMMANDS].name);
	rc = st->failed == 0 && st->sent == n ? EXIT_SUCCESS : EXIT_FAILURE;
	goto out;
fail:
	rc = cli_fail(prog, &err);
out:
	for (size_t i = 0; i < nall; i++)
		ax_publish_msg_clear(&items[i].m);
	free(items);
	ax_producer_free(prod);
	ax_codec_free(codec);
	if (fp != stdin)
		fclose(fp);
	return rc;
}
