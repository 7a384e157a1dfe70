/*
 * ax_publish.c - commands from JSON lines to Kafka; see ax_publish.h for the format and
 * the producer's invariants.
 *
 * The producer is the librdkafka adapter of the publishing side: its delivery-report
 * callback needs the client's configuration, so the client is built here (with the
 * settings ax_kafka_new uses) rather than through ax_kafka_new. Delivery errors are
 * translated with rd_kafka_err2str into the failure list, per message.
 */
#include "ax_publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_kafka.h"

const char *const ax_publish_examples[] = {
#include "ax_publish_examples.inc"
};
const size_t ax_publish_examples_len = sizeof(ax_publish_examples) / sizeof(ax_publish_examples[0]);

struct ax_producer {
	rd_kafka_t *rk;
	struct ax_producer_stats st;
};

void
ax_publish_msg_clear(struct ax_publish_msg *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* The family whose current payload union has the command type name, or -1. */
static int
family_of_type(const struct ax_codec *c, const char *name)
{
	char full[160];

	snprintf(full, sizeof(full), "%s%s", strchr(name, '.') ? "" : "axiom.v1.", name);
	for (int f = 0; f < AX_FAMILY_COUNT; f++) {
		const struct ax_avro_node *root =
		    ax_codec_current(c, (enum ax_family)f)->schema->root;
		const struct ax_avro_field *pf = ax_avro_record_field(root, "payload");

		if (pf && ax_avro_union_branch(pf->type, full) >= 0)
			return f;
	}
	return -1;
}

/* Append the command type names of family f to buf (for hints). */
static void
list_types(const struct ax_codec *c, enum ax_family f, char *buf, size_t cap)
{
	const struct ax_avro_field *pf =
	    ax_avro_record_field(ax_codec_current(c, f)->schema->root, "payload");
	size_t l = strlen(buf);

	for (size_t i = 0; pf && i < pf->type->n && l < cap; i++) {
		int n =
		    snprintf(buf + l, cap - l, "%s%s", l ? ", " : "", pf->type->branches[i]->name);

		if (n > 0)
			l += (size_t)n;
	}
}

int
ax_publish_encode_line(const struct ax_codec *c, const char *line, size_t len,
    struct ax_publish_msg *out, struct ax_err *err)
{
	const json_t *payload, *lineage;
	json_error_t je;
	json_t *v = NULL;
	const char *type;
	char types[1024] = "";
	uint8_t id[AX_UUID_LEN];
	int f, rc;

	memset(out, 0, sizeof(*out));
	if (len > AX_PUBLISH_LINE_MAX)
		return ax_err_set(err, AX_EINVAL, "line is %zu bytes, more than the %d allowed",
		    len, AX_PUBLISH_LINE_MAX);
	if ((v = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		ax_err_set(err, AX_EINVAL, "not valid JSON: %s", je.text);
		ax_err_detail(err, "at column %d", je.column);
		return AX_EINVAL;
	}
	if (!json_is_object(v)) {
		rc = ax_err_set(err, AX_EINVAL, "a command must be a JSON object");
		goto out;
	}
	payload = json_object_get(v, "payload");
	if (!json_is_object(payload) || json_object_size(payload) != 1) {
		rc = ax_err_set(err, AX_EINVAL, "field payload %s",
		    payload ? "must be an object with exactly one key, the command type"
		            : "is missing");
		ax_err_hint(err, "write \"payload\": {\"CommandType\": {...}}; 'axiom publish "
		                 "--example' prints one command of every type");
		goto out;
	}
	type = json_object_iter_key(json_object_iter((json_t *)payload));
	f = family_of_type(c, type);
	if (f == AX_FAMILY_AUDIT || f < 0) {
		rc = ax_err_set(err, AX_EINVAL, "field payload names \"%s\", which is %s", type,
		    f < 0 ? "not a command type" : "an audit event, not a command");
		list_types(c, AX_FAMILY_CONTROL, types, sizeof(types));
		list_types(c, AX_FAMILY_DATA, types, sizeof(types));
		ax_err_detail(err, "command types: %s", types);
		goto out;
	}
	if ((rc = ax_encode_json(ax_codec_current(c, (enum ax_family)f), v, NULL, &out->buf,
	         &out->len, err)) != AX_OK)
		goto out;
	out->family = (enum ax_family)f;
	out->kind = AX_KIND_NONE;
	for (int k = 1; k < AX_KIND_COUNT; k++)
		if (strcmp(ax_kind_name((enum ax_kind)k),
		        strrchr(type, '.') ? strrchr(type, '.') + 1 : type) == 0)
			out->kind = (enum ax_kind)k;
	if (f == AX_FAMILY_DATA) {
		/* the encoder has checked that lineage_id is a UUID */
		lineage = json_object_get(v, "lineage_id");
		if (!ax_uuid_parse(id, json_string_value(lineage), json_string_length(lineage))) {
			rc = ax_err_set(err, AX_EINVAL, "field lineage_id must be a UUID");
			goto out;
		}
		ax_uuid_format(out->key, id);
	}
	rc = AX_OK;
out:
	if (rc != AX_OK)
		ax_publish_msg_clear(out);
	json_decref(v);
	return rc;
}

/* Delivery report: one call per message, on the thread that polls. */
static void
dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ax_producer *p = opaque;
	uint64_t line = (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		p->st.delivered++;
		return;
	}
	p->st.failed++;
	if (p->st.nfailures < AX_PUBLISH_FAILURES_MAX) {
		struct ax_publish_failure *f = &p->st.failures[p->st.nfailures++];

		f->line = line;
		if (m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
			snprintf(f->reason, sizeof(f->reason),
			    "no delivery report in time: the broker may or may not have written "
			    "it");
		else if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE)
			snprintf(
			    f->reason, sizeof(f->reason), "not sent: still queued at the deadline");
		else
			snprintf(f->reason, sizeof(f->reason), "%s", rd_kafka_err2str(m->err));
	}
}

int
ax_producer_new(struct ax_producer **out, const char *brokers, enum ax_kafka_role role,
    int timeout_ms, struct ax_err *err)
{
	char tmo[32];
	const char *const kv[] = {
		"client.id",
		"axiom-publish",
		"enable.idempotence",
		"true",
		"acks",
		"all",
		"partitioner",
		"murmur2_random",
		"linger.ms",
		"5",
		"message.timeout.ms",
		tmo,
		NULL,
	};
	struct ax_producer *p;
	rd_kafka_conf_t *conf;
	char errstr[512];
	int rc;

	*out = NULL;
	snprintf(tmo, sizeof(tmo), "%d", timeout_ms);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory creating a producer");
	if ((rc = ax_kafka_conf(&conf, brokers, role, 0, kv, err)) != AX_OK) {
		free(p);
		return rc;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
	rd_kafka_conf_set_opaque(conf, p);
	if ((p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		free(p);
		ax_err_set(err, AX_EINVAL, "could not create the kafka producer");
		ax_err_detail(err, "%s", errstr);
		return AX_EINVAL;
	}
	*out = p;
	return AX_OK; /* conf is owned by the client now */
}

rd_kafka_t *
ax_producer_handle(struct ax_producer *p)
{
	return p->rk;
}

int
ax_producer_send(struct ax_producer *p, const char *topic, const struct ax_publish_msg *m,
    uint64_t line, struct ax_err *err)
{
	/* rd_kafka_produceva, not the producev macros (GNU statement expressions) */
	rd_kafka_vu_t vu[5];
	rd_kafka_error_t *e;
	rd_kafka_resp_err_t code;
	size_t n = 0;

	memset(vu, 0, sizeof(vu));
	vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
	vu[n++].u.cstr = topic;
	if (m->family == AX_FAMILY_CONTROL) {
		vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
		vu[n++].u.i32 = 0;
	} else {
		vu[n].vtype = RD_KAFKA_VTYPE_KEY;
		vu[n].u.mem.ptr = (void *)m->key;
		vu[n++].u.mem.size = strlen(m->key);
	}
	vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
	vu[n].u.mem.ptr = m->buf;
	vu[n++].u.mem.size = m->len;
	vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
	vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
	vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
	vu[n++].u.ptr = (void *)(uintptr_t)line;
	for (;;) {
		if ((e = rd_kafka_produceva(p->rk, vu, n)) == NULL)
			break;
		code = rd_kafka_error_code(e);
		rd_kafka_error_destroy(e);
		if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return ax_kafka_err(err, code, "could not queue a message");
		rd_kafka_poll(p->rk, 100); /* let deliveries drain the local queue */
	}
	p->st.sent++;
	rd_kafka_poll(p->rk, 0);
	return AX_OK;
}

void
ax_producer_poll(struct ax_producer *p, int timeout_ms)
{
	rd_kafka_poll(p->rk, timeout_ms);
}

const struct ax_producer_stats *
ax_producer_wait(struct ax_producer *p, int timeout_ms)
{
	rd_kafka_flush(p->rk, timeout_ms);
	if (p->st.delivered + p->st.failed < p->st.sent) {
		/* purged messages get a delivery report with a purge error: counted as failed */
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		for (int i = 0; i < 50 && p->st.delivered + p->st.failed < p->st.sent; i++)
			rd_kafka_poll(p->rk, 100);
		if (p->st.delivered + p->st.failed < p->st.sent) /* never expected */
			p->st.failed = p->st.sent - p->st.delivered;
	}
	return &p->st;
}

const struct ax_producer_stats *
ax_producer_stats(const struct ax_producer *p)
{
	return &p->st;
}

void
ax_producer_free(struct ax_producer *p)
{
	if (p == NULL)
		return;
	if (p->rk) {
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(p->rk, 0);
		rd_kafka_destroy(p->rk);
	}
	free(p);
}
