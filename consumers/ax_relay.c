/*
 * ax_relay.c - ledger entries to the audit topic, once per sequence; see ax_relay.h.
 */
#include "ax_relay.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
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
#define TXN_ID_MAX      320  /* axiom-relay/<topic>/<partition> */
#define KEY_MAX         320  /* <topic>/<partition>/<seq>[/checkpoint] */
#define TXN_ENTRIES_MAX 2000 /* ledger entries per audit transaction */
/* a stale producer's open transaction is aborted by the coordinator after this long, which
 * bounds how long it can hold back the audit partition's last stable offset */
#define TXN_TIMEOUT_MS "30000"
#define AX_STR_(x)     #x
#define AX_STR(x)      AX_STR_(x)

struct ax_relay {
	const struct ax_codec *codec;
	const struct ax_checkpoint_key *key; /* NULL: no checkpoints */
	int every;
	char instance[128];
	char brokers[512];
	char audit_topic[256];
};

struct ax_relay_cursor {
	struct ax_relay *r;
	struct ax_decoder *dec;
	rd_kafka_t *producer; /* transactional, id axiom-relay/<topic>/<partition> */
	rd_kafka_topic_t *audit;
	char topic[256];
	char partition_text[16];
	int32_t partition;
	int64_t seq; /* last sequence published (or found on the audit topic) */
	bool resync; /* a transaction failed: re-read the tail before publishing */
	bool broken; /* the producer hit a fatal error: make a new one first */
	bool fenced; /* a newer producer took this ledger's transactional id */
};

int
ax_relay_new(struct ax_relay **out, const struct ax_codec *codec, const char *brokers,
    const char *audit_topic, const struct ax_checkpoint_key *key, int every, const char *instance,
    struct ax_err *err)
{
	struct ax_relay *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	r->codec = codec;
	r->key = key;
	r->every = every > 0 ? every : AX_CHECKPOINT_EVERY;
	snprintf(r->instance, sizeof(r->instance), "%s", instance);
	snprintf(r->brokers, sizeof(r->brokers), "%s", brokers);
	snprintf(r->audit_topic, sizeof(r->audit_topic), "%s", audit_topic);
	*out = r;
	return AX_OK;
}

void
ax_relay_free(struct ax_relay *r)
{
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
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			/* read committed: the end is the last stable offset, held back while the
			 * other ledger that shares this audit partition has a transaction open;
			 * wait for it to end (invariant 2) */
			if (m->offset > next)
				next = m->offset;
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
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
		"axiom-relay-tail", "enable.auto.commit", "false", "isolation.level",
		"read_committed", AX_KAFKA_READ_TO_END_SETTINGS, NULL };
	/* the end of the log itself: a read-committed client would be told the last stable
	 * offset, which the other ledger's open transaction may hold below our own last
	 * outcomes */
	static const char *const kv_end[] = { "isolation.level", "read_uncommitted", NULL };
	rd_kafka_t *rk = NULL, *rk_end = NULL;
	rd_kafka_topic_t *t = NULL;
	int64_t low = 0, high = 0, to, from, best = 0;
	rd_kafka_resp_err_t e;
	int rc;

	if ((rc = ax_kafka_new(&rk_end, RD_KAFKA_CONSUMER, c->r->brokers, AX_KAFKA_APPLIER, kv_end,
	         err)) != AX_OK)
		return rc;
	e = rd_kafka_query_watermark_offsets(
	    rk_end, c->r->audit_topic, c->partition, &low, &high, TAIL_TIMEOUT_MS);
	rd_kafka_destroy(rk_end);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ax_kafka_err(err, e, "could not read the audit topic's offsets");
	if ((rc = ax_kafka_new(&rk, RD_KAFKA_CONSUMER, c->r->brokers, AX_KAFKA_APPLIER, kv, err)) !=
	    AX_OK)
		return rc;
	if ((t = rd_kafka_topic_new(rk, c->r->audit_topic, NULL)) == NULL) {
		rc = ax_kafka_err(err, rd_kafka_last_error(), "could not read the audit topic");
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
ax_relay_tail(
    struct ax_relay *r, const char *topic, int32_t partition, int64_t *seq, struct ax_err *err)
{
	struct ax_relay_cursor c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.partition = partition;
	snprintf(c.topic, sizeof(c.topic), "%s", topic);
	if ((rc = ax_decoder_new(&c.dec, r->codec, err)) != AX_OK)
		return rc;
	if ((rc = read_tail(&c, err)) == AX_OK)
		*seq = c.seq;
	ax_decoder_free(c.dec);
	return rc;
}

static bool
is_fenced(rd_kafka_resp_err_t code)
{
	return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
	       code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

/* A producer error outside the transaction calls (code): when the producer has hit a fatal
 * error, c is fenced or broken accordingly. */
static int
fatal_err(struct ax_relay_cursor *c, rd_kafka_resp_err_t code, const char *what, struct ax_err *err)
{
	char errstr[256];
	rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(c->producer, errstr, sizeof(errstr));

	if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR && is_fenced(fatal)) {
		c->fenced = true;
		return ax_err_set(err, AX_ECONFLICT, "%s: another writer publishes %s/%d now", what,
		    c->topic, (int)c->partition);
	}
	if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR)
		c->broken = true;
	return ax_kafka_err(err, fatal != RD_KAFKA_RESP_ERR_NO_ERROR ? fatal : code, what);
}

/* Map a transaction error of c's producer into err (and c's state); destroys e. */
static int
txn_err(struct ax_relay_cursor *c, rd_kafka_error_t *e, const char *what, struct ax_err *err)
{
	rd_kafka_resp_err_t code = rd_kafka_error_code(e);
	int rc;

	if (is_fenced(code)) {
		c->fenced = true;
		rc = ax_err_set(err, AX_ECONFLICT, "%s: another writer publishes %s/%d now", what,
		    c->topic, (int)c->partition);
	} else {
		rc = ax_err_set(err, rd_kafka_error_is_retriable(e) ? AX_EUNAVAIL : AX_ERR,
		    "%s: %s", what, rd_kafka_error_string(e));
		if (rd_kafka_error_is_fatal(e))
			c->broken = true;
	}
	err->lib_code = (int)code;
	rd_kafka_error_destroy(e);
	return rc;
}

/* Drop c's producer, if any: what it has not committed is aborted by the next one. */
static void
stop_producer(struct ax_relay_cursor *c)
{
	if (c->audit != NULL)
		rd_kafka_topic_destroy(c->audit);
	if (c->producer != NULL)
		rd_kafka_destroy(c->producer);
	c->audit = NULL;
	c->producer = NULL;
}

/*
 * Start c's transactional producer. Its transactional id belongs to the ledger (not to the
 * instance), so initialising it fences every older producer of the same ledger and aborts
 * its open transaction: a stale writer's outcomes that are not committed never appear to
 * a read-committed reader (invariant 4). Then learn the tail.
 */
static int
start_producer(struct ax_relay_cursor *c, struct ax_err *err)
{
	char id[TXN_ID_MAX], errstr[512];
	const char *const kv[] = { "transactional.id", id, "transaction.timeout.ms", TXN_TIMEOUT_MS,
		"linger.ms", "5", NULL };
	rd_kafka_conf_t *conf;
	rd_kafka_error_t *e;
	int rc;

	stop_producer(c);
	c->broken = true; /* until it is started */
	snprintf(id, sizeof(id), "axiom-relay/%s/%d", c->topic, (int)c->partition);
	if ((rc = ax_kafka_conf(&conf, c->r->brokers, AX_KAFKA_APPLIER, 3, kv, err)) != AX_OK)
		return rc;
	if ((c->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL) {
		rd_kafka_conf_destroy(conf);
		ax_err_set(err, AX_EINVAL, "could not create the audit producer");
		ax_err_detail(err, "%s", errstr);
		return AX_EINVAL;
	}
	if ((c->audit = rd_kafka_topic_new(c->producer, c->r->audit_topic, NULL)) == NULL) {
		rc =
		    ax_kafka_err(err, rd_kafka_last_error(), "could not create the audit producer");
		stop_producer(c);
		return rc;
	}
	if ((e = rd_kafka_init_transactions(c->producer, TAIL_TIMEOUT_MS)) != NULL) {
		rc = txn_err(c, e, "could not start the audit producer's transactions", err);
		stop_producer(c);
		return rc;
	}
	if ((rc = read_tail(c, err)) != AX_OK) {
		stop_producer(c);
		return rc;
	}
	c->broken = false;
	c->resync = false;
	return AX_OK;
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
	if ((rc = ax_decoder_new(&c->dec, r->codec, err)) != AX_OK ||
	    (rc = start_producer(c, err)) != AX_OK) {
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
	stop_producer(c); /* every publish ends committed or aborted: nothing is in flight */
	ax_decoder_free(c->dec);
	free(c);
}

int64_t
ax_relay_cursor_seq(const struct ax_relay_cursor *c)
{
	return c->seq;
}

/*
 * The audit Outcome (JSON form of ax_encode_json) of one ledger row (the columns of
 * ax_relay_publish's query). A tick is the ledger's accepted entry with reason tick (db/0018):
 * kind TICK, its reason_code kept as the ledger hash covers it.
 */
static json_t *
outcome_json(const struct ax_relay_cursor *c, PGresult *res, int row)
{
	const char *decision = PQgetvalue(res, row, 4), *reason = PQgetvalue(res, row, 5);
	const char *upper = strcmp(decision, "accepted") == 0      ? "ACCEPTED"
	                    : strcmp(decision, "quarantined") == 0 ? "QUARANTINED"
	                                                           : "REJECTED";
	bool quarantined = upper[0] == 'Q';
	bool tick = upper[0] == 'A' && strcmp(reason, "tick") == 0;
	/* NULL before db/0024: a quarantine's record_hash is its payload hash */
	const char *payload = !PQgetisnull(res, row, 10) ? PQgetvalue(res, row, 10)
	                      : quarantined              ? PQgetvalue(res, row, 6)
	                                                 : "";
	json_t *o;

	o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:o, s:s, s:I, s:s}", "command_id",
	    PQgetisnull(res, row, 2) ? "00000000-0000-0000-0000-000000000000"
	                             : PQgetvalue(res, row, 2),
	    "topic", c->topic, "partition", (int)c->partition, "offset",
	    (json_int_t)strtoll(PQgetvalue(res, row, 1), NULL, 10), "event_time",
	    (json_int_t)strtoll(PQgetvalue(res, row, 3), NULL, 10), "decision", upper,
	    "reason_code", reason, "reason_detail", PQgetvalue(res, row, 11), "record_hash",
	    PQgetisnull(res, row, 6) || quarantined ? json_null()
	                                            : json_string(PQgetvalue(res, row, 6)),
	    "payload_hash", payload, "ledger_seq",
	    (json_int_t)strtoll(PQgetvalue(res, row, 0), NULL, 10), "ledger_hash",
	    PQgetvalue(res, row, 7));
	/* revision 2 (schemas/avro/README.md): what a reader needs to recompute ledger_hash;
	 * revision 3: the kind */
	if (o != NULL &&
	    (json_object_set_new(o, "actor",
	         PQgetisnull(res, row, 8) ? json_null() : json_string(PQgetvalue(res, row, 8))) !=
	            0 ||
	        json_object_set_new(
	            o, "previous_entry_hash", json_string(PQgetvalue(res, row, 9))) != 0 ||
	        json_object_set_new(o, "kind", json_string(tick ? "TICK" : "COMMAND")) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o == NULL ? NULL : json_pack("{s:{s:o}}", "payload", "Outcome", o);
}

/*
 * The message key of the audit event of c's ledger entry seq: "<topic>/<partition>/<seq>",
 * then "/checkpoint" for its checkpoint (suffix NULL otherwise). Unique on the audit topic,
 * where the ledgers PREFIX.control/0 and PREFIX.commands/0 share partition 0.
 */
static void
event_key(
    char *key, size_t cap, const struct ax_relay_cursor *c, const char *seq, const char *suffix)
{
	snprintf(
	    key, cap, "%s/%d/%s%s", c->topic, (int)c->partition, seq, suffix != NULL ? suffix : "");
}

/* Queue one framed audit event for c's partition (the relay owns buf from here on). */
static int
produce(struct ax_relay_cursor *c, uint8_t *buf, size_t len, const char *key, struct ax_err *err)
{
	while (rd_kafka_produce(c->audit, c->partition, RD_KAFKA_MSG_F_FREE, buf, len, key,
	           strlen(key), NULL) != 0) {
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			free(buf);
			return fatal_err(c, rd_kafka_last_error(),
			    "could not queue an event for the audit topic", err);
		}
		rd_kafka_poll(c->producer, 100);
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
	char key[KEY_MAX];
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
	event_key(key, sizeof(key), c, seq, "/checkpoint");
	return produce(c, buf, len, key, err);
}

/* After a failure inside an open transaction: abort it and re-learn the tail next time. */
static void
abandon(struct ax_relay_cursor *c)
{
	rd_kafka_error_t *e = rd_kafka_abort_transaction(c->producer, TAIL_TIMEOUT_MS);

	if (e != NULL) {
		if (is_fenced(rd_kafka_error_code(e)))
			c->fenced = true;
		else
			c->broken = true; /* a new producer aborts it instead */
		rd_kafka_error_destroy(e);
	}
	c->resync = true;
}

/* Publish ledger row i of res in c's open transaction (checkpoint first when one is due). */
static int
publish_row(struct ax_relay_cursor *c, PGconn *conn, PGresult *res, int i, struct ax_err *err)
{
	const struct ax_codec_schema *cs = ax_codec_current(c->r->codec, AX_FAMILY_AUDIT);
	const char *seq = PQgetvalue(res, i, 0);
	json_t *o = outcome_json(c, res, i);
	char key[KEY_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = o == NULL ? ax_err_set(err, AX_ERR, "out of memory")
	               : ax_encode_json(cs, o, NULL, &buf, &len, err);
	json_decref(o);
	if (rc != AX_OK)
		return rc;
	if (c->r->key != NULL && strtoll(seq, NULL, 10) % c->r->every == 0 &&
	    (rc = checkpoint(c, conn, res, i, err)) != AX_OK) {
		free(buf);
		return rc;
	}
	event_key(key, sizeof(key), c, seq, NULL);
	return produce(c, buf, len, key, err);
}

/* Commit c's open transaction; on failure, leave c ready to resync or restart. */
static int
commit(struct ax_relay_cursor *c, struct ax_err *err)
{
	rd_kafka_error_t *e = rd_kafka_commit_transaction(c->producer, TAIL_TIMEOUT_MS);
	bool abortable;
	int rc, tries;

	/* a commit that timed out is to be called again, not aborted */
	for (tries = 1; e != NULL && rd_kafka_error_is_retriable(e) && tries < 3; tries++) {
		rd_kafka_error_destroy(e);
		e = rd_kafka_commit_transaction(c->producer, TAIL_TIMEOUT_MS);
	}
	if (e == NULL)
		return AX_OK;
	abortable = rd_kafka_error_txn_requires_abort(e);
	rc = txn_err(c, e, "could not commit an audit transaction", err);
	if (!c->fenced && !c->broken && (abortable || rc == AX_EUNAVAIL))
		abandon(c);
	else if (!c->fenced)
		c->broken = true;
	return rc;
}

/* The ledger entries after $3 of partition $2 of topic $1, PUBLISH_CHUNK at most, in seq order
 * (ax_relay_publish); prepared once per connection. */
static const struct ax_pg_stmt entries_stmt = { "ax_relay_entries",
	"SELECT seq, kafka_offset, command_id, "
	"  (extract(epoch FROM event_time) * 1000000)::bigint, decision, "
	"  coalesce(reason_code, ''), encode(record_hash, 'hex'), encode(entry_hash, 'hex'), "
	"  actor, encode(previous_entry_hash, 'hex'), encode(payload_hash, 'hex'), "
	"  coalesce(reason_detail, '') "
	"FROM axiom_api.ledger_entries($1, $2::integer, $3::bigint, " AX_STR(PUBLISH_CHUNK) ")",
	3 };

int
ax_relay_publish(struct ax_relay_cursor *c, PGconn *conn, int64_t until, struct ax_err *err)
{
	char after[32];
	const char *params[3] = { c->topic, c->partition_text, after };
	int64_t last = c->seq;
	bool more = true;
	size_t in_txn = 0; /* entries in the open transaction; 0: none open */
	rd_kafka_error_t *e;
	int rows, i, rc = AX_OK;

	if (c->fenced)
		return ax_err_set(err, AX_ECONFLICT, "another writer publishes %s/%d now", c->topic,
		    (int)c->partition);
	if (c->broken && (rc = start_producer(c, err)) != AX_OK)
		return rc;
	if (c->resync) {
		if ((rc = read_tail(c, err)) != AX_OK)
			return rc;
		c->resync = false;
		last = c->seq;
		ax_log(AX_LOG_INFO, "audit_resynced", "topic=%s partition=%d seq=%lld", c->topic,
		    (int)c->partition, (long long)c->seq);
	}
	while (more && rc == AX_OK) {
		PGresult *res;

		snprintf(after, sizeof(after), "%lld", (long long)last);
		res = ax_pg_exec_stmt(conn, &entries_stmt, params);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = ax_pg_err(
			    err, conn, res, "could not read the ledger for the audit topic");
			PQclear(res);
			break;
		}
		rows = PQntuples(res);
		more = rows == PUBLISH_CHUNK;
		for (i = 0; i < rows && rc == AX_OK; i++) {
			if (strtoll(PQgetvalue(res, i, 1), NULL, 10) >= until) { /* invariant 4 */
				more = false;
				break;
			}
			if (in_txn == 0 && (e = rd_kafka_begin_transaction(c->producer)) != NULL) {
				rc = txn_err(c, e, "could not begin an audit transaction", err);
				c->broken = !c->fenced; /* start over with a new producer */
				break;
			}
			in_txn++;
			if ((rc = publish_row(c, conn, res, i, err)) != AX_OK)
				break;
			last = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			if (in_txn == TXN_ENTRIES_MAX) {
				if ((rc = commit(c, err)) == AX_OK)
					c->seq = last;
				in_txn = 0;
			}
		}
		PQclear(res);
	}
	if (in_txn == 0)
		return rc;
	if (rc != AX_OK) {
		abandon(c);
		return rc;
	}
	if ((rc = commit(c, err)) == AX_OK)
		c->seq = last;
	return rc;
}
