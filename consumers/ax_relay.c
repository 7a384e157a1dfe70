/*
 * ax_relay.c - ledger entries to the audit topic, once per sequence; see ax_relay.h.
 */
#include "ax_relay.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_checkpoint.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_kafka.h"
#include "ax_log.h"
#include "ax_pg.h"

#define TAIL_WINDOW     512  /* audit messages read per step when scanning back */
#define PUBLISH_CHUNK   1000 /* ledger entries read per query */
#define TAIL_TIMEOUT_MS 10000
#define AX_STR_(x)      #x
#define AX_STR(x)       AX_STR_(x)

struct ax_relay {
	const struct ax_codec *codec;
	const struct ax_checkpoint_key *key; /* NULL: no checkpoints */
	int every;
	char instance[128];
	rd_kafka_t *producer;
	rd_kafka_topic_t *audit;
	char brokers[512];
	char audit_topic[256];
};

struct ax_relay_cursor {
	struct ax_relay *r;
	struct ax_decoder *dec;
	char topic[256];
	char partition_text[16];
	int32_t partition;
	int64_t seq;        /* last sequence published (or found on the audit topic) */
	_Atomic int resync; /* a delivery failed: re-read the tail before publishing */
};

/* Delivery reports: a failed one marks its cursor for a resync (invariant 3). */
static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ax_relay_cursor *c = m->_private;

	(void)rk;
	(void)opaque;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || c == NULL)
		return;
	atomic_store(&c->resync, 1);
	ax_log(AX_LOG_WARN, "audit_delivery_failed", "topic=%s partition=%d error=\"%s\"", c->topic,
	    (int)c->partition, rd_kafka_err2str(m->err));
}

int
ax_relay_new(struct ax_relay **out, const struct ax_codec *codec, const char *brokers,
    const char *audit_topic, const struct ax_checkpoint_key *key, int every, const char *instance,
    struct ax_err *err)
{
	static const char *const kv[] = { "enable.idempotence", "true", "linger.ms", "5",
		"message.timeout.ms", "60000", NULL };
	struct ax_relay *r = calloc(1, sizeof(*r));
	rd_kafka_conf_t *conf;
	char errstr[512];
	int rc;

	*out = NULL;
	if (r == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	r->codec = codec;
	r->key = key;
	r->every = every > 0 ? every : AX_CHECKPOINT_EVERY;
	snprintf(r->instance, sizeof(r->instance), "%s", instance);
	snprintf(r->brokers, sizeof(r->brokers), "%s", brokers);
	snprintf(r->audit_topic, sizeof(r->audit_topic), "%s", audit_topic);
	/* the delivery callback must be on the conf; librdkafka's errors are logged (level 3) */
	if ((rc = ax_kafka_conf(&conf, brokers, 3, kv, err)) != AX_OK) {
		free(r);
		return rc;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	if ((r->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		free(r);
		ax_err_set(err, AX_EINVAL, "could not create the audit producer");
		ax_err_detail(err, "%s", errstr);
		return AX_EINVAL;
	}
	r->audit = rd_kafka_topic_new(r->producer, audit_topic, NULL);
	*out = r;
	return AX_OK;
}

void
ax_relay_free(struct ax_relay *r)
{
	if (r == NULL)
		return;
	if (rd_kafka_flush(r->producer, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		ax_log(AX_LOG_WARN, "audit_flush_incomplete", "in_flight=%d",
		    rd_kafka_outq_len(r->producer));
	rd_kafka_topic_destroy(r->audit);
	rd_kafka_destroy(r->producer);
	free(r);
}

/*
 * The highest ledger sequence of c's (topic, partition) among the audit messages of
 * [from, to) of the audit partition; 0 when none. Reads with a short-lived simple consumer.
 */
static int
scan_range(struct ax_relay_cursor *c, rd_kafka_t *rk, rd_kafka_topic_t *t, int64_t from, int64_t to,
    int64_t *best, struct ax_err *err)
{
	int64_t next = from;
	int rc = AX_OK;

	if (rd_kafka_consume_start(t, c->partition, from) != 0)
		return ax_kafka_err(err, rd_kafka_last_error(), "could not read the audit topic");
	while (next < to) {
		rd_kafka_message_t *m = rd_kafka_consume(t, c->partition, TAIL_TIMEOUT_MS);
		struct ax_message msg;
		struct ax_err derr;

		if (m == NULL) {
			rc = ax_kafka_err(err, RD_KAFKA_RESP_ERR__TIMED_OUT,
			    "could not read the tail of the audit topic");
			break;
		}
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				rc = ax_kafka_err(err, m->err, "could not read the audit topic");
			rd_kafka_message_destroy(m);
			break;
		}
		next = m->offset + 1;
		if (ax_decode(c->dec, AX_FAMILY_AUDIT, m->payload, m->len, &msg, &derr) == AX_OK &&
		    msg.kind == AX_KIND_OUTCOME && msg.u.outcome.partition == c->partition &&
		    strcmp(msg.u.outcome.topic, c->topic) == 0 && msg.u.outcome.ledger_seq > *best)
			*best = msg.u.outcome.ledger_seq;
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consume_stop(t, c->partition);
	(void)rk;
	return rc;
}

/* Learn the last sequence of c's ledger already on the audit partition (invariant 2). */
static int
read_tail(struct ax_relay_cursor *c, struct ax_err *err)
{
	static const char *const kv[] = { "enable.partition.eof", "true", "group.id",
		"axiom-relay-tail", "enable.auto.commit", "false", NULL };
	rd_kafka_t *rk = NULL;
	rd_kafka_topic_t *t = NULL;
	int64_t low = 0, high = 0, to, from, best = 0;
	rd_kafka_resp_err_t e;
	int rc;

	if ((rc = ax_kafka_new(&rk, RD_KAFKA_CONSUMER, c->r->brokers, kv, err)) != AX_OK)
		return rc;
	t = rd_kafka_topic_new(rk, c->r->audit_topic, NULL);
	e = rd_kafka_query_watermark_offsets(
	    rk, c->r->audit_topic, c->partition, &low, &high, TAIL_TIMEOUT_MS);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ax_kafka_err(err, e, "could not read the audit topic's offsets");
		goto out;
	}
	/* scan back window by window until an outcome of this ledger is found */
	for (to = high; to > low && best == 0; to = from) {
		from = to - TAIL_WINDOW > low ? to - TAIL_WINDOW : low;
		if ((rc = scan_range(c, rk, t, from, to, &best, err)) != AX_OK)
			goto out;
	}
	c->seq = best;
	rc = AX_OK;
out:
	if (t != NULL)
		rd_kafka_topic_destroy(t);
	rd_kafka_destroy(rk);
	return rc;
}

int
ax_relay_cursor_new(struct ax_relay_cursor **out, struct ax_relay *r, const char *topic,
    int32_t partition, struct ax_err *err)
{
	struct ax_relay_cursor *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	c->r = r;
	snprintf(c->topic, sizeof(c->topic), "%s", topic);
	snprintf(c->partition_text, sizeof(c->partition_text), "%d", (int)partition);
	c->partition = partition;
	atomic_init(&c->resync, 0);
	if ((rc = ax_decoder_new(&c->dec, r->codec, err)) != AX_OK ||
	    (rc = read_tail(c, err)) != AX_OK) {
		ax_relay_cursor_free(c);
		return rc == AX_OK ? AX_ERR : rc;
	}
	*out = c;
	return AX_OK;
}

void
ax_relay_cursor_free(struct ax_relay_cursor *c)
{
	if (c == NULL)
		return;
	/* deliveries still in flight point at c: wait for them (bounded) */
	rd_kafka_flush(c->r->producer, 10000);
	ax_decoder_free(c->dec);
	free(c);
}

int64_t
ax_relay_cursor_seq(const struct ax_relay_cursor *c)
{
	return c->seq;
}

/* The audit Outcome (JSON form of ax_encode_json) of one ledger row. */
static json_t *
outcome_json(const struct ax_relay_cursor *c, PGresult *res, int row)
{
	const char *decision = PQgetvalue(res, row, 4);
	const char *upper = strcmp(decision, "accepted") == 0      ? "ACCEPTED"
	                    : strcmp(decision, "quarantined") == 0 ? "QUARANTINED"
	                                                           : "REJECTED";
	bool quarantined = upper[0] == 'Q';
	json_t *o;

	o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:o, s:s, s:I, s:s}", "command_id",
	    PQgetisnull(res, row, 2) ? "00000000-0000-0000-0000-000000000000"
	                             : PQgetvalue(res, row, 2),
	    "topic", c->topic, "partition", (int)c->partition, "offset",
	    (json_int_t)strtoll(PQgetvalue(res, row, 1), NULL, 10), "event_time",
	    (json_int_t)strtoll(PQgetvalue(res, row, 3), NULL, 10), "decision", upper,
	    "reason_code", PQgetvalue(res, row, 5), "reason_detail", "", "record_hash",
	    PQgetisnull(res, row, 6) || quarantined ? json_null()
	                                            : json_string(PQgetvalue(res, row, 6)),
	    "payload_hash", quarantined ? PQgetvalue(res, row, 6) : "", "ledger_seq",
	    (json_int_t)strtoll(PQgetvalue(res, row, 0), NULL, 10), "ledger_hash",
	    PQgetvalue(res, row, 7));
	return o == NULL ? NULL : json_pack("{s:{s:o}}", "payload", "Outcome", o);
}

/* Queue one framed audit event for c's partition (the relay owns buf from here on). */
static int
produce(struct ax_relay_cursor *c, uint8_t *buf, size_t len, const char *key, struct ax_err *err)
{
	while (rd_kafka_produce(c->r->audit, c->partition, RD_KAFKA_MSG_F_FREE, buf, len, key,
	           strlen(key), c) != 0) {
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			free(buf);
			atomic_store(&c->resync, 1);
			return ax_kafka_err(err, rd_kafka_last_error(),
			    "could not queue an event for the audit topic");
		}
		rd_kafka_poll(c->r->producer, 100);
	}
	return AX_OK;
}

/*
 * Sign, store and publish the checkpoint of ledger row `row` of res (the columns of
 * ax_relay_publish's query); the database copy is made first, so it is never missing.
 */
static int
checkpoint(struct ax_relay_cursor *c, PGconn *conn, PGresult *res, int row, struct ax_err *err)
{
	const struct ax_codec_schema *cs = ax_codec_current(c->r->codec, AX_FAMILY_AUDIT);
	const char *seq = PQgetvalue(res, row, 0), *hash_hex = PQgetvalue(res, row, 7);
	int64_t signed_at = strtoll(PQgetvalue(res, row, 3), NULL, 10);
	uint8_t hash[32], st[AX_CHECKPOINT_STATEMENT_MAX], sig[AX_CHECKPOINT_SIG_LEN], *buf = NULL;
	char id[37], pub_hex[2 * AX_CHECKPOINT_PUB_LEN + 1], sig_hex[2 * AX_CHECKPOINT_SIG_LEN + 1];
	char pub_lit[2 * AX_CHECKPOINT_PUB_LEN + 3], sig_lit[2 * AX_CHECKPOINT_SIG_LEN + 3];
	const char *params[7];
	PGresult *pr;
	json_t *j;
	size_t len;
	int rc;

	if (ax_hex_decode(hash, hash_hex, sizeof(hash)) != 0)
		return ax_err_set(
		    err, AX_ERR, "ledger entry %s of %s has no entry hash", seq, c->topic);
	len = ax_checkpoint_statement(
	    st, sizeof(st), c->topic, c->partition, strtoll(seq, NULL, 10), hash, signed_at);
	if (len == 0)
		return ax_err_set(
		    err, AX_ERR, "a checkpoint statement of %s is too long", c->topic);
	if ((rc = ax_checkpoint_sign(sig, c->r->key, st, len, err)) != AX_OK)
		return rc;
	ax_uuid_format(id, ax_checkpoint_key_id(c->r->key));
	ax_hex_encode(pub_hex, ax_checkpoint_key_public(c->r->key), AX_CHECKPOINT_PUB_LEN);
	ax_hex_encode(sig_hex, sig, AX_CHECKPOINT_SIG_LEN);
	snprintf(pub_lit, sizeof(pub_lit), "\\x%s", pub_hex);
	snprintf(sig_lit, sizeof(sig_lit), "\\x%s", sig_hex);
	params[0] = c->r->instance;
	params[1] = c->topic;
	params[2] = c->partition_text;
	params[3] = seq;
	params[4] = id;
	params[5] = pub_lit;
	params[6] = sig_lit;
	pr = PQexecParams(conn,
	    "SELECT axiom_api.store_checkpoint($1, $2, $3::integer, $4::bigint, $5::uuid, "
	    "$6::bytea, $7::bytea)",
	    7, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(pr) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, pr, "could not store a checkpoint");
		PQclear(pr);
		return rc;
	}
	PQclear(pr);
	j = json_pack("{s:{s:{s:s, s:i, s:I, s:s, s:I, s:s, s:s}}}", "payload", "Checkpoint",
	    "topic", c->topic, "partition", (int)c->partition, "ledger_seq",
	    (json_int_t)strtoll(seq, NULL, 10), "ledger_hash", hash_hex, "signed_at",
	    (json_int_t)signed_at, "key_id", id, "signature", sig_hex);
	rc = j == NULL ? ax_err_set(err, AX_ERR, "out of memory")
	               : ax_encode_json(cs, j, NULL, &buf, &len, err);
	json_decref(j);
	if (rc != AX_OK)
		return rc;
	return produce(c, buf, len, seq, err);
}

int
ax_relay_publish(struct ax_relay_cursor *c, PGconn *conn, int64_t until, struct ax_err *err)
{
	const struct ax_codec_schema *cs = ax_codec_current(c->r->codec, AX_FAMILY_AUDIT);
	char after[32];
	const char *params[3] = { c->topic, c->partition_text, after };
	int rows, i, rc;

	if (atomic_exchange(&c->resync, 0)) {
		rd_kafka_flush(c->r->producer, 10000);
		if ((rc = read_tail(c, err)) != AX_OK) {
			atomic_store(&c->resync, 1);
			return rc;
		}
		ax_log(AX_LOG_INFO, "audit_resynced", "topic=%s partition=%d seq=%lld", c->topic,
		    (int)c->partition, (long long)c->seq);
	}
	do {
		PGresult *res;

		snprintf(after, sizeof(after), "%lld", (long long)c->seq);
		res = PQexecParams(conn,
		    "SELECT seq, kafka_offset, command_id, "
		    "  (extract(epoch FROM event_time) * 1000000)::bigint, decision, "
		    "  coalesce(reason_code, ''), encode(record_hash, 'hex'), encode(entry_hash, "
		    "'hex') "
		    "FROM axiom_api.ledger_entries($1, $2::integer, $3::bigint, " AX_STR(
		        PUBLISH_CHUNK) ")",
		    3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = ax_pg_err(
			    err, conn, res, "could not read the ledger for the audit topic");
			PQclear(res);
			return rc;
		}
		rows = PQntuples(res);
		for (i = 0; i < rows; i++) {
			json_t *o;

			if (strtoll(PQgetvalue(res, i, 1), NULL, 10) >= until) { /* invariant 4 */
				rows = 0;
				break;
			}
			o = outcome_json(c, res, i);
			uint8_t *buf = NULL;
			const char *key;
			size_t len = 0;

			rc = o == NULL ? ax_err_set(err, AX_ERR, "out of memory")
			               : ax_encode_json(cs, o, NULL, &buf, &len, err);
			json_decref(o);
			if (rc != AX_OK) {
				PQclear(res);
				return rc;
			}
			key = PQgetvalue(res, i, 0); /* the ledger seq as key text */
			if (c->r->key != NULL && strtoll(key, NULL, 10) % c->r->every == 0 &&
			    (rc = checkpoint(c, conn, res, i, err)) != AX_OK) {
				free(buf);
				PQclear(res);
				return rc;
			}
			if ((rc = produce(c, buf, len, key, err)) != AX_OK) {
				PQclear(res);
				return rc;
			}
			c->seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		}
		PQclear(res);
		rd_kafka_poll(c->r->producer, 0);
	} while (rows == PUBLISH_CHUNK);
	return AX_OK;
}
