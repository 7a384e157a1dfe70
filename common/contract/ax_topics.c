/*
 * ax_topics.c - topic plan and checks; see ax_topics.h for the invariants.
 */
#include "ax_topics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ax_topic_config ax_topic_configs[] = {
	{ "message.timestamp.type", "LogAppendTime",
	    "the broker's append time is the event time of every command" },
	{ "retention.ms", "-1",
	    "the topics are the source of every rebuild and must keep every record" },
	{ "cleanup.policy", "delete", "compaction would drop commands that a rebuild needs" },
};
const size_t ax_topic_configs_len = sizeof(ax_topic_configs) / sizeof(ax_topic_configs[0]);

static const char *const role_suffix[AX_TOPIC_COUNT] = { "control", "commands", "audit" };

static bool
prefix_is_legal(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > AX_TOPIC_PREFIX_MAX)
		return false;
	if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
		return false;
	return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int
ax_topics_plan(struct ax_topic_spec out[AX_TOPIC_COUNT], const char *prefix, int partitions,
    struct ax_err *err)
{
	int i;

	if (!prefix_is_legal(prefix)) {
		ax_err_set(err, AX_EINVAL, "invalid topic prefix \"%s\"", prefix);
		ax_err_detail(err,
		    "A prefix is 1 to %d characters of a-z, A-Z, 0-9, '.', '_' and '-'.",
		    AX_TOPIC_PREFIX_MAX);
		return AX_EINVAL;
	}
	if (partitions < 1 || partitions > AX_PARTITIONS_MAX) {
		ax_err_set(err, AX_EINVAL, "invalid partition count %d", partitions);
		ax_err_detail(err, "The command topic has 1 to %d partitions.", AX_PARTITIONS_MAX);
		return AX_EINVAL;
	}
	for (i = 0; i < AX_TOPIC_COUNT; i++) {
		out[i].role = (enum ax_topic_role)i;
		snprintf(out[i].name, sizeof(out[i].name), "%s.%s", prefix, role_suffix[i]);
		out[i].partitions = i == AX_TOPIC_CONTROL ? 1 : partitions;
	}
	return AX_OK;
}

static void
append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strnlen(buf, cap);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

int
ax_topic_check(
    const struct ax_topic_spec *spec, const struct ax_topic_state *st, char *buf, size_t cap)
{
	int problems = 0;
	size_t i;

	if (cap > 0)
		buf[0] = '\0';
	if (!st->exists) {
		append(buf, cap, "topic %s does not exist; create it: axiom topics create\n",
		    spec->name);
		return 1;
	}
	if (st->partitions != spec->partitions) {
		problems++;
		if (spec->role == AX_TOPIC_CONTROL)
			append(buf, cap,
			    "topic %s has %d partitions, not 1: the control plane must be one "
			    "ordered "
			    "log; delete and recreate it before any command is published\n",
			    spec->name, st->partitions);
		else
			append(buf, cap,
			    "topic %s has %d partitions, not %d: a partition count never changes "
			    "after "
			    "creation; use --partitions %d or recreate the topics before any "
			    "command "
			    "is published\n",
			    spec->name, st->partitions, spec->partitions, st->partitions);
	}
	for (i = 0; i < ax_topic_configs_len; i++) {
		const char *have = st->config[i];

		if (strcmp(have, ax_topic_configs[i].value) == 0)
			continue;
		problems++;
		append(buf, cap,
		    "topic %s has %s=%s, not %s (%s); fix: kafka-configs --alter --entity-type "
		    "topics --entity-name %s --add-config %s=%s\n",
		    spec->name, ax_topic_configs[i].name, have[0] ? have : "(unknown)",
		    ax_topic_configs[i].value, ax_topic_configs[i].why, spec->name,
		    ax_topic_configs[i].name, ax_topic_configs[i].value);
	}
	return problems;
}

int
ax_parse_partitions(int *out, const char *s, struct ax_err *err)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' || v < 1 ||
	    v > AX_PARTITIONS_MAX) {
		ax_err_set(err, AX_EINVAL, "invalid partition count \"%s\"", s);
		ax_err_detail(
		    err, "A partition count is a whole number from 1 to %d.", AX_PARTITIONS_MAX);
		return AX_EINVAL;
	}
	*out = (int)v;
	return AX_OK;
}
