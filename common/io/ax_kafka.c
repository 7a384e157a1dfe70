/*
 * ax_kafka.c - librdkafka adapter; see ax_kafka.h.
 */
#include "ax_kafka.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_clock.h"
#include "ax_log.h"

static const char *const role_names[AX_KAFKA_ROLE_COUNT] = {
	"admin",
	"applier",
	"upstream",
	"control",
	"analyst",
	"auditor",
};

const char *
ax_kafka_role_name(enum ax_kafka_role role)
{
	return (unsigned)role < AX_KAFKA_ROLE_COUNT ? role_names[role] : "unknown";
}

int
ax_kafka_role_parse(enum ax_kafka_role *out, const char *name, struct ax_err *err)
{
	int i;

	for (i = 0; i < AX_KAFKA_ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0) {
			*out = (enum ax_kafka_role)i;
			return AX_OK;
		}
	return ax_err_set(err, AX_EINVAL,
	    "unknown kafka principal role \"%s\" (admin, applier, upstream, control, analyst "
	    "or auditor)",
	    name);
}

/*
 * librdkafka's own log lines, as the project's structured lines (ax_log.h, invariant 3):
 * event=kafka_log, its syslog level mapped to ours. Called from librdkafka's threads.
 */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	char name_q[160], fac_q[64], msg_q[AX_LOG_QUOTE_MAX];
	enum ax_log_level our = level <= 3   ? AX_LOG_ERROR
	                        : level == 4 ? AX_LOG_WARN
	                        : level <= 6 ? AX_LOG_INFO
	                                     : AX_LOG_DEBUG;

	ax_log(our, "kafka_log", "client=%s facility=%s message=%s",
	    ax_log_quote(name_q, sizeof(name_q), rd_kafka_name(rk)),
	    ax_log_quote(fac_q, sizeof(fac_q), fac), ax_log_quote(msg_q, sizeof(msg_q), buf));
}

static int
conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, struct ax_err *err)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		ax_err_set(err, AX_EINVAL, "invalid kafka setting %s=%s", name, value);
		ax_err_detail(err, "%s", errstr);
		return AX_EINVAL;
	}
	return AX_OK;
}

/* Trim leading and trailing white space of s in place; returns the trimmed start. */
static char *
trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* The path of role's settings file, or NULL when AXIOM_KAFKA_<ROLE>_CONFIG is unset. */
static const char *
role_file(enum ax_kafka_role role, char *var, size_t cap)
{
	const char *path;
	size_t i;

	snprintf(var, cap, "AXIOM_KAFKA_%s_CONFIG", ax_kafka_role_name(role));
	for (i = 0; var[i] != '\0'; i++)
		var[i] = (char)toupper((unsigned char)var[i]);
	path = getenv(var);
	return (path == NULL || path[0] == '\0') ? NULL : path;
}

/*
 * Read role's settings file (AXIOM_KAFKA_<ROLE>_CONFIG): NAME=VALUE lines, blank lines and
 * lines starting with '#' ignored; each pair goes to conf (when not NULL) and, when its name
 * is want, into found (capacity cap). Unset: nothing (an open broker).
 */
static int
read_role_file(rd_kafka_conf_t *conf, enum ax_kafka_role role, const char *want, char *found,
    size_t cap, struct ax_err *err)
{
	char var[64], line[1024], *name, *eq;
	const char *path;
	unsigned long lineno = 0;
	FILE *fp;
	int rc = AX_OK;

	if ((path = role_file(role, var, sizeof(var))) == NULL)
		return AX_OK;
	if ((fp = fopen(path, "r")) == NULL) {
		ax_err_set(err, AX_EINVAL, "could not read the kafka settings of the %s principal",
		    ax_kafka_role_name(role));
		ax_err_detail(err, "%s=%s cannot be opened.", var, path);
		ax_err_hint(err, "load the local stack's settings: eval \"$(ops/stack env)\"");
		return AX_EINVAL;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		name = trim(line);
		if (name[0] == '\0' || name[0] == '#')
			continue;
		if ((eq = strchr(name, '=')) == NULL) {
			rc = ax_err_set(
			    err, AX_EINVAL, "%s line %lu is not NAME=VALUE", path, lineno);
			break;
		}
		*eq = '\0';
		name = trim(name);
		if (want != NULL && strcmp(name, want) == 0)
			snprintf(found, cap, "%s", trim(eq + 1));
		if (conf != NULL && (rc = conf_set(conf, name, trim(eq + 1), err)) != AX_OK) {
			/* the value may be a secret: name the setting only */
			ax_err_set(err, AX_EINVAL, "invalid kafka setting %s in %s", name, path);
			break;
		}
	}
	fclose(fp);
	return rc;
}

int
ax_kafka_role_setting(
    enum ax_kafka_role role, const char *name, char *out, size_t cap, struct ax_err *err)
{
	int rc;

	out[0] = '\0';
	if ((rc = read_role_file(NULL, role, name, out, cap, err)) != AX_OK)
		return rc;
	if (out[0] == '\0')
		return ax_err_set(err, AX_EINVAL, "the %s principal's settings do not set %s",
		    ax_kafka_role_name(role), name);
	return AX_OK;
}

int
ax_kafka_conf(rd_kafka_conf_t **out, const char *brokers, enum ax_kafka_role role, int log_level,
    const char *const *kv, struct ax_err *err)
{
	static const char *const defaults[] = {
		"client.id",
		"axiom",
		"socket.connection.setup.timeout.ms",
		"5000",
		"reconnect.backoff.max.ms",
		"2000",
		"topic.metadata.refresh.interval.ms",
		"10000",
		/* TCP_NODELAY: librdkafka 2.0.2 leaves Nagle on, and over TLS it writes a request
		 * as several records (send calls); the broker acknowledges the first only after its
		 * delayed-ACK timer (about 40 ms on Linux), so Nagle held the rest of each fetch
		 * and produce request that long: a 40-50 ms floor under every hop of the applier's
		 * pipeline (docs/benchmarks.md, "The 40 ms floor") */
		"socket.nagle.disable",
		"true",
		NULL,
	};
	const char *debug = getenv("AXIOM_KAFKA_DEBUG");
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char level[16];
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = conf_set(conf, "bootstrap.servers", brokers, err)) != AX_OK)
		goto fail;
	for (i = 0; defaults[i] != NULL; i += 2)
		if ((rc = conf_set(conf, defaults[i], defaults[i + 1], err)) != AX_OK)
			goto fail;
	rd_kafka_conf_set_log_cb(conf, log_cb);
	if (debug != NULL && debug[0] != '\0') {
		if ((rc = conf_set(conf, "debug", debug, err)) != AX_OK)
			goto fail;
	} else {
		snprintf(level, sizeof(level), "%d", log_level);
		if ((rc = conf_set(conf, "log_level", level, err)) != AX_OK)
			goto fail;
	}
	if ((rc = read_role_file(conf, role, NULL, NULL, 0, err)) != AX_OK)
		goto fail;
	for (i = 0; kv != NULL && kv[i] != NULL; i += 2)
		if ((rc = conf_set(conf, kv[i], kv[i + 1], err)) != AX_OK)
			goto fail;
	*out = conf;
	return AX_OK;
fail:
	rd_kafka_conf_destroy(conf);
	return rc;
}

int
ax_kafka_new(rd_kafka_t **out, rd_kafka_type_t type, const char *brokers, enum ax_kafka_role role,
    const char *const *kv, struct ax_err *err)
{
	rd_kafka_conf_t *conf;
	char errstr[512];
	int rc;

	*out = NULL;
	if ((rc = ax_kafka_conf(&conf, brokers, role, 0, kv, err)) != AX_OK)
		return rc;
	*out = rd_kafka_new(type, conf, errstr, sizeof(errstr));
	if (*out == NULL) {
		rd_kafka_conf_destroy(conf);
		ax_err_set(err, AX_EINVAL, "could not create a kafka client");
		ax_err_detail(err, "%s", errstr);
		return AX_EINVAL;
	}
	return AX_OK; /* conf is owned by the client now */
}

int
ax_kafka_err(struct ax_err *err, rd_kafka_resp_err_t e, const char *what)
{
	int code;

	switch (e) {
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
		code = AX_EUNAVAIL;
		break;
	case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
	case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
		code = AX_EINVAL;
		break;
	default:
		code = AX_ERR;
	}
	ax_err_set(err, code, "%s: %s", what, rd_kafka_err2str(e));
	err->lib_code = (int)e;
	return code;
}

int
ax_kafka_probe(rd_kafka_t *rk, const char *brokers, int timeout_ms, struct ax_kafka_cluster *out,
    struct ax_err *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	char *cid;

	memset(out, 0, sizeof(*out));
	out->controller_id = -1;
	e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		ax_kafka_err(err, e, "metadata request");
		ax_err_set(err, AX_EUNAVAIL, "could not reach the kafka broker at %s", brokers);
		err->lib_code = (int)e;
		ax_err_detail(err, "No answer to a metadata request within %d ms (%s).", timeout_ms,
		    rd_kafka_err2str(e));
		ax_err_hint(err,
		    "Start the local stack with \"ops/stack up\", or point AXIOM_BROKERS "
		    "at a running broker; the broker takes authenticated clients only, so load "
		    "its settings too: eval \"$(ops/stack env)\".");
		return AX_EUNAVAIL;
	}
	out->brokers = md->broker_cnt;
	if (md->broker_cnt > 0)
		snprintf(out->first_broker, sizeof(out->first_broker), "%s:%d", md->brokers[0].host,
		    md->brokers[0].port);
	rd_kafka_metadata_destroy(md);
	out->controller_id = (int)rd_kafka_controllerid(rk, timeout_ms);
	if ((cid = rd_kafka_clusterid(rk, timeout_ms)) != NULL) {
		snprintf(out->cluster_id, sizeof(out->cluster_id), "%s", cid);
		rd_kafka_mem_free(rk, cid);
	}
	return AX_OK;
}

/* Wait on q for one admin result event of type want; NULL (err filled) on timeout. */
static rd_kafka_event_t *
admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t want, int timeout_ms, const char *what,
    struct ax_err *err)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);

	if (ev == NULL) {
		ax_kafka_err(err, RD_KAFKA_RESP_ERR__TIMED_OUT, what);
		return NULL;
	}
	if (rd_kafka_event_type(ev) != want || rd_kafka_event_error(ev)) {
		rd_kafka_resp_err_t e = rd_kafka_event_error(ev);

		ax_kafka_err(err, e ? e : RD_KAFKA_RESP_ERR__FAIL, what);
		if (rd_kafka_event_error_string(ev) != NULL)
			ax_err_detail(err, "%s", rd_kafka_event_error_string(ev));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	return ev;
}

static rd_kafka_AdminOptions_t *
admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms)
{
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
	char errstr[256];

	rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, errstr, sizeof(errstr));
	if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
		rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, errstr, sizeof(errstr));
	return o;
}

static int
describe_configs(
    rd_kafka_t *rk, const char *name, int timeout_ms, struct ax_topic_state *st, struct ax_err *err)
{
	rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
	rd_kafka_AdminOptions_t *o =
	    admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	const rd_kafka_ConfigResource_t **rres;
	const rd_kafka_ConfigEntry_t **entries;
	rd_kafka_event_t *ev;
	size_t nres, nent, i, j;
	int rc = AX_OK;

	rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
	ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, timeout_ms,
	    "could not describe the topic configuration", err);
	if (ev == NULL) {
		rc = err->code;
		goto out;
	}
	rres = rd_kafka_DescribeConfigs_result_resources(
	    rd_kafka_event_DescribeConfigs_result(ev), &nres);
	if (nres != 1 || rd_kafka_ConfigResource_error(rres[0])) {
		rc = ax_kafka_err(err,
		    nres == 1 ? rd_kafka_ConfigResource_error(rres[0]) : RD_KAFKA_RESP_ERR__BAD_MSG,
		    "could not describe the topic configuration");
		goto out_ev;
	}
	entries = rd_kafka_ConfigResource_configs(rres[0], &nent);
	for (i = 0; i < nent; i++) {
		const char *n = rd_kafka_ConfigEntry_name(entries[i]);
		const char *v = rd_kafka_ConfigEntry_value(entries[i]);

		for (j = 0; j < ax_topic_configs_len && j < 8; j++)
			if (strcmp(n, ax_topic_configs[j].name) == 0)
				snprintf(st->config[j], sizeof(st->config[j]), "%s", v ? v : "");
	}
out_ev:
	rd_kafka_event_destroy(ev);
out:
	rd_kafka_queue_destroy(q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_ConfigResource_destroy(res);
	return rc;
}

int
ax_kafka_describe_topic(
    rd_kafka_t *rk, const char *name, int timeout_ms, struct ax_topic_state *st, struct ax_err *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int i;

	memset(st, 0, sizeof(*st));
	e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ax_kafka_err(err, e, "could not read the topic list");
	for (i = 0; i < md->topic_cnt; i++) {
		if (strcmp(md->topics[i].topic, name) != 0)
			continue;
		if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			st->exists = true;
			st->partitions = md->topics[i].partition_cnt;
		}
		break;
	}
	rd_kafka_metadata_destroy(md);
	if (!st->exists)
		return AX_OK;
	return describe_configs(rk, name, timeout_ms, st, err);
}

int
ax_kafka_create_topics(
    rd_kafka_t *rk, const struct ax_topic_spec *specs, size_t n, int timeout_ms, struct ax_err *err)
{
	rd_kafka_NewTopic_t *nt[AX_TOPIC_COUNT] = { 0 };
	rd_kafka_AdminOptions_t *o = NULL;
	rd_kafka_queue_t *q = NULL;
	const rd_kafka_topic_result_t **tr;
	rd_kafka_event_t *ev;
	char errstr[512];
	size_t i, j, ntr;
	int rc = AX_OK;

	if (n > AX_TOPIC_COUNT)
		return ax_err_set(err, AX_EINVAL, "at most %d topics at once", AX_TOPIC_COUNT);
	for (i = 0; i < n; i++) {
		nt[i] = rd_kafka_NewTopic_new(
		    specs[i].name, specs[i].partitions, -1, errstr, sizeof(errstr));
		if (nt[i] == NULL) {
			rc = ax_err_set(err, AX_EINVAL, "invalid topic %s", specs[i].name);
			ax_err_detail(err, "%s", errstr);
			goto out;
		}
		for (j = 0; j < ax_topic_configs_len; j++)
			rd_kafka_NewTopic_set_config(
			    nt[i], ax_topic_configs[j].name, ax_topic_configs[j].value);
	}
	o = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms);
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, nt, n, o, q);
	ev = admin_wait(
	    q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout_ms, "could not create topics", err);
	if (ev == NULL) {
		rc = err->code;
		goto out;
	}
	tr = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &ntr);
	for (i = 0; i < ntr; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);

		if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			continue;
		rc = ax_kafka_err(err, e, "could not create a topic");
		ax_err_set(err, rc, "could not create topic %s", rd_kafka_topic_result_name(tr[i]));
		err->lib_code = (int)e;
		ax_err_detail(err, "%s",
		    rd_kafka_topic_result_error_string(tr[i])
		        ? rd_kafka_topic_result_error_string(tr[i])
		        : rd_kafka_err2str(e));
		break;
	}
	rd_kafka_event_destroy(ev);
	/* a topic comes with its ACLs (invariant 2) */
	for (i = 0; rc == AX_OK && i < AX_KAFKA_ROLE_COUNT; i++)
		if (i != AX_KAFKA_ADMIN)
			rc = ax_kafka_grant(
			    rk, specs, n, (enum ax_kafka_role)i, NULL, timeout_ms, err);
out:
	for (i = 0; i < n; i++)
		if (nt[i] != NULL)
			rd_kafka_NewTopic_destroy(nt[i]);
	if (o != NULL)
		rd_kafka_AdminOptions_destroy(o);
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	return rc;
}

/* One line of the ACL table: role may do op on the resource. */
struct acl_rule {
	enum ax_kafka_role role;
	rd_kafka_ResourceType_t type;
	int topic;        /* for RD_KAFKA_RESOURCE_TOPIC: an enum ax_topic_role, -1 every topic */
	const char *name; /* for a group: the name or prefix */
	rd_kafka_ResourcePatternType_t pattern;
	rd_kafka_AclOperation_t op;
};

/* Invariant (2). Transactional ids (axiom-relay/..., the applier's) are granted by
 * ops/stack: librdkafka 2.0.2 has no such resource type. */
static const struct acl_rule acl_rules[] = {
	{ AX_KAFKA_APPLIER, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_CONTROL, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_READ },
	{ AX_KAFKA_APPLIER, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_CONTROL, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_WRITE }, /* its ticks (consumers/ax_tick.c) */
	{ AX_KAFKA_APPLIER, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_COMMANDS, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_READ },
	{ AX_KAFKA_APPLIER, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_AUDIT, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_READ }, /* the relay's tail */
	{ AX_KAFKA_APPLIER, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_AUDIT, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_WRITE },
	{ AX_KAFKA_APPLIER, RD_KAFKA_RESOURCE_GROUP, -1, "*", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
	    RD_KAFKA_ACL_OPERATION_READ },
	{ AX_KAFKA_UPSTREAM, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_COMMANDS, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_WRITE },
	{ AX_KAFKA_CONTROL, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_CONTROL, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_WRITE },
	{ AX_KAFKA_CONTROL, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_COMMANDS, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_WRITE },
	{ AX_KAFKA_ANALYST, RD_KAFKA_RESOURCE_TOPIC, AX_TOPIC_AUDIT, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_READ },
	{ AX_KAFKA_ANALYST, RD_KAFKA_RESOURCE_GROUP, -1, "axiom-audit",
	    RD_KAFKA_RESOURCE_PATTERN_PREFIXED, RD_KAFKA_ACL_OPERATION_READ },
	{ AX_KAFKA_AUDITOR, RD_KAFKA_RESOURCE_TOPIC, -1, NULL, 0, RD_KAFKA_ACL_OPERATION_READ },
	{ AX_KAFKA_AUDITOR, RD_KAFKA_RESOURCE_GROUP, -1, "axiom-verify",
	    RD_KAFKA_RESOURCE_PATTERN_PREFIXED, RD_KAFKA_ACL_OPERATION_READ },
	/* every principal: what the topics look like (metadata, configuration) */
	{ AX_KAFKA_ROLE_COUNT, RD_KAFKA_RESOURCE_TOPIC, -1, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_DESCRIBE },
	{ AX_KAFKA_ROLE_COUNT, RD_KAFKA_RESOURCE_TOPIC, -1, NULL, 0,
	    RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS },
};

#define ACL_MAX 64

/* Whether every binding of b[0..nb) is among found[0..nf). */
static bool
acls_all_found(
    rd_kafka_AclBinding_t *const *b, size_t nb, const rd_kafka_AclBinding_t **found, size_t nf)
{
	size_t i, j;

	for (i = 0; i < nb; i++) {
		for (j = 0; j < nf; j++)
			if (rd_kafka_AclBinding_restype(found[j]) ==
			        rd_kafka_AclBinding_restype(b[i]) &&
			    rd_kafka_AclBinding_resource_pattern_type(found[j]) ==
			        rd_kafka_AclBinding_resource_pattern_type(b[i]) &&
			    rd_kafka_AclBinding_operation(found[j]) ==
			        rd_kafka_AclBinding_operation(b[i]) &&
			    strcmp(rd_kafka_AclBinding_name(found[j]),
			        rd_kafka_AclBinding_name(b[i])) == 0)
				break;
		if (j == nf)
			return false;
	}
	return true;
}

/*
 * Wait until the broker answers DescribeAcls with every binding of b[0..nb) for who. With
 * KRaft the controller commits the ACLs and the broker's authorizer applies them a moment
 * later, when it replays the metadata log: a client that writes at once could be refused
 * (TOPIC_AUTHORIZATION_FAILED, which librdkafka does not retry). The broker answers
 * DescribeAcls from that same authorizer.
 */
static int
acls_wait_visible(rd_kafka_t *rk, rd_kafka_AclBinding_t *const *b, size_t nb, const char *who,
    int timeout_ms, struct ax_err *err)
{
	double end = ax_mono_s() + timeout_ms / 1e3;
	char errstr[512];
	int rc = AX_OK;

	for (;;) {
		rd_kafka_AclBindingFilter_t *f =
		    rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_ANY, NULL,
		        RD_KAFKA_RESOURCE_PATTERN_ANY, who, NULL, RD_KAFKA_ACL_OPERATION_ANY,
		        RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr, sizeof(errstr));
		rd_kafka_AdminOptions_t *o;
		rd_kafka_queue_t *q;
		rd_kafka_event_t *ev;
		const rd_kafka_AclBinding_t **found;
		size_t nf;
		bool done;

		if (f == NULL) {
			rc = ax_err_set(err, AX_EINVAL, "invalid acl filter for %s", who);
			ax_err_detail(err, "%s", errstr);
			return rc;
		}
		o = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBEACLS, timeout_ms);
		q = rd_kafka_queue_new(rk);
		rd_kafka_DescribeAcls(rk, f, o, q);
		ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBEACLS_RESULT, timeout_ms,
		    "could not read back the acls", err);
		rd_kafka_AclBinding_destroy(f);
		rd_kafka_AdminOptions_destroy(o);
		rd_kafka_queue_destroy(q);
		if (ev == NULL)
			return err->code;
		found =
		    rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev), &nf);
		done = acls_all_found(b, nb, found, nf);
		rd_kafka_event_destroy(ev);
		if (done)
			return AX_OK;
		if (ax_mono_s() > end) {
			rc = ax_err_set(err, AX_EUNAVAIL,
			    "the broker does not enforce the acls of %s yet", who);
			ax_err_detail(err, "Created, but not visible after %d ms.", timeout_ms);
			return rc;
		}
		ax_sleep_s(0.01);
	}
}

int
ax_kafka_grant(rd_kafka_t *rk, const struct ax_topic_spec *specs, size_t n, enum ax_kafka_role role,
    const char *principal, int timeout_ms, struct ax_err *err)
{
	rd_kafka_AclBinding_t *b[ACL_MAX];
	rd_kafka_AdminOptions_t *o = NULL;
	rd_kafka_queue_t *q = NULL;
	const rd_kafka_acl_result_t **res;
	rd_kafka_event_t *ev;
	char who[256], errstr[512];
	size_t i, j, nb = 0, nres;
	int rc = AX_OK;

	if (principal != NULL)
		snprintf(who, sizeof(who), "%s", principal);
	else
		snprintf(who, sizeof(who), "User:axiom-%s", ax_kafka_role_name(role));
	for (i = 0; i < sizeof(acl_rules) / sizeof(acl_rules[0]); i++) {
		const struct acl_rule *r = &acl_rules[i];

		if (r->role != role && r->role != AX_KAFKA_ROLE_COUNT)
			continue;
		for (j = 0; j < (r->type == RD_KAFKA_RESOURCE_TOPIC ? n : 1); j++) {
			const char *name = r->name;
			rd_kafka_ResourcePatternType_t pat = r->pattern;

			if (r->type == RD_KAFKA_RESOURCE_TOPIC) {
				if (r->topic >= 0 && (int)specs[j].role != r->topic)
					continue;
				name = specs[j].name;
				pat = RD_KAFKA_RESOURCE_PATTERN_LITERAL;
			}
			if (nb == ACL_MAX) {
				rc = ax_err_set(err, AX_ERR, "too many acls at once");
				goto out;
			}
			b[nb] = rd_kafka_AclBinding_new(r->type, name, pat, who, "*", r->op,
			    RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr, sizeof(errstr));
			if (b[nb] == NULL) {
				rc = ax_err_set(err, AX_EINVAL, "invalid acl for %s", who);
				ax_err_detail(err, "%s", errstr);
				goto out;
			}
			nb++;
		}
	}
	if (nb == 0)
		goto out;
	o = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATEACLS, timeout_ms);
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateAcls(rk, b, nb, o, q);
	if ((ev = admin_wait(q, RD_KAFKA_EVENT_CREATEACLS_RESULT, timeout_ms,
	         "could not grant the acls", err)) == NULL) {
		rc = err->code;
		goto out;
	}
	res = rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev), &nres);
	for (i = 0; i < nres; i++) {
		const rd_kafka_error_t *e = rd_kafka_acl_result_error(res[i]);

		if (e == NULL)
			continue;
		rc = ax_kafka_err(err, rd_kafka_error_code(e), "could not grant the acls");
		ax_err_set(
		    err, rc, "could not grant the acls of %s (%s)", who, ax_kafka_role_name(role));
		ax_err_detail(err, "%s", rd_kafka_error_string(e));
		break;
	}
	rd_kafka_event_destroy(ev);
	if (rc == AX_OK)
		rc = acls_wait_visible(rk, b, nb, who, timeout_ms, err);
out:
	for (i = 0; i < nb; i++)
		rd_kafka_AclBinding_destroy(b[i]);
	if (o != NULL)
		rd_kafka_AdminOptions_destroy(o);
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	return rc;
}
