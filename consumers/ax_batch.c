/*
 * ax_batch.c - a partition writer's transactions; see ax_batch.h for the invariants.
 *
 * One batch is one statement, axiom_api.apply_partition_batch (db/0008_applier.sql), hence
 * one implicit transaction and one round trip: the offset compare-and-set, the commands, the
 * ledger entries, the duplicate registry, the control watermark and the new next offset
 * commit together or not at all.
 */
#include "ax_batch.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_batch_element.h"
#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_partition.h"
#include "ax_pg.h"
#include "ax_sign.h"

struct ax_batch_ctx {
	const struct ax_codec *codec;
	struct ax_decoder *dec;
	PGconn *conn;
	char *dsn;
	char instance[128];
	char topic[256];
	char partition_text[16];
	int32_t partition;
	int32_t partitions; /* of the topic (invariant 7) */
	bool control;
	struct ax_sha256 *sha;
	bool stored;                 /* a next offset is stored in PostgreSQL */
	int64_t next_offset;         /* meaningful when stored */
	char claim[24];              /* this writer's claim of the partition (db/0017) */
	int64_t wm_us;               /* the control watermark was at least this (only ever grows) */
	int64_t et_us;               /* the last known event time as committed (invariant 6) */
	ax_batch_observe_fn observe; /* each committed outcome, for the metrics */
	void *observe_arg;
	struct ax_sign_cache *sign; /* this writer's parsed FIDO2 keys (consumers/ax_sign.h) */
	struct head_slot *heads;    /* the committed heads this writer knows (invariant 8) */
	size_t heads_used;
};

/*
 * The head cache (invariant 8 of ax_batch.h): lineage -> its committed head, as a lookup
 * found it or as a batch this writer committed left it. Open addressing, linear probing;
 * emptied when three quarters full, on every (re)connection and after a batch whose commit
 * is not confirmed. A miss costs a lookup, never a decision.
 */
#define HEAD_CACHE_SLOTS 4096

struct head_slot {
	bool used;
	uint8_t lineage[AX_UUID_LEN];
	struct ax_head head; /* change_* unused */
};

/*
 * The statements of every batch, prepared once per session (ax_pg_exec_stmt): parsed and
 * planned on every call, the head lookup of one lineage took 0.39-0.42 ms, prepared 0.25 ms
 * (pgbench, one client, round trip included, generic plans as below).
 *
 * The committed head of each lineage a batch versions and the content of each change it
 * applies, as the command's actor sees them (lookup_heads; not the heads this writer knows,
 * invariant 8 of ax_batch.h, but for an apply_change). "NULL" quoted is the text NULL,
 * not SQL NULL: nullif turns it back. The filter inside the subquery is a one-time filter:
 * change_content is not called at all for the rows that need no change.
 */
static const struct ax_pg_stmt heads_stmt = { "ax_batch_heads",
	"SELECT x.i, h.record_id, h.version, encode(h.record_hash, 'hex'), h.record_type, "
	"h.facility_id, h.domain_id, c.title, encode(c.content, 'hex'), c.id IS NOT NULL "
	"FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::uuid[], "
	"  $5::text[]) AS x(i, actor, et, id, change_id) "
	"LEFT JOIN LATERAL (SELECT * FROM axiom_api.change_content(x.actor, x.et, "
	"  nullif(x.change_id, 'NULL')::uuid) WHERE x.change_id <> 'NULL' OFFSET 0) c ON true "
	"LEFT JOIN LATERAL axiom_api.lineage_head(x.actor, x.et, x.id) h ON true",
	5 };
/* The batch: one statement, one transaction (see the file's header). */
static const struct ax_pg_stmt batch_stmt = { "ax_batch_apply",
	"SELECT kafka_offset, decision, reason_code FROM axiom_api.apply_partition_batch($1, "
	"$2, $3::integer, $4::boolean, $5::bigint, $6::bigint, $7::jsonb)",
	7 };
/* The control watermark in microseconds; no row while it is -infinity. */
static const struct ax_pg_stmt watermark_stmt = { "ax_batch_watermark",
	"SELECT (extract(epoch FROM w) * 1000000)::bigint FROM axiom_api.control_watermark() w "
	"WHERE isfinite(w)",
	0 };

/* h without the change it carried (a head known or built on holds no change of its own). */
static void
drop_change(struct ax_head *h)
{
	h->change_found = false;
	h->change_title = NULL;
	h->change_content = NULL;
	h->change_content_len = 0;
}

static size_t
head_slot_of(const struct ax_batch_ctx *ctx, const uint8_t lineage[AX_UUID_LEN])
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a: the ids of tests are not random */
	size_t i;

	for (i = 0; i < AX_UUID_LEN; i++)
		h = (h ^ lineage[i]) * 1099511628211ULL;
	for (i = (size_t)(h % HEAD_CACHE_SLOTS); ctx->heads[i].used; i = (i + 1) % HEAD_CACHE_SLOTS)
		if (memcmp(ctx->heads[i].lineage, lineage, AX_UUID_LEN) == 0)
			break;
	return i;
}

static void
heads_forget(struct ax_batch_ctx *ctx)
{
	memset(ctx->heads, 0, HEAD_CACHE_SLOTS * sizeof(*ctx->heads));
	ctx->heads_used = 0;
}

static bool
heads_get(const struct ax_batch_ctx *ctx, const uint8_t lineage[AX_UUID_LEN], struct ax_head *out)
{
	const struct head_slot *slot = &ctx->heads[head_slot_of(ctx, lineage)];

	if (!slot->used)
		return false;
	*out = slot->head;
	return true;
}

static void
heads_put(struct ax_batch_ctx *ctx, const uint8_t lineage[AX_UUID_LEN], const struct ax_head *h)
{
	size_t i = head_slot_of(ctx, lineage);

	if (!ctx->heads[i].used && ctx->heads_used >= HEAD_CACHE_SLOTS / 4 * 3) {
		heads_forget(ctx);
		i = head_slot_of(ctx, lineage);
	}
	if (!ctx->heads[i].used)
		ctx->heads_used++;
	ctx->heads[i].used = true;
	memcpy(ctx->heads[i].lineage, lineage, AX_UUID_LEN);
	ctx->heads[i].head = *h;
	drop_change(&ctx->heads[i].head);
}

void
ax_batch_set_observer(struct ax_batch_ctx *ctx, ax_batch_observe_fn fn, void *arg)
{
	ctx->observe = fn;
	ctx->observe_arg = arg;
}

/*
 * Read the stored next offset and the last known event time (invariant 6), both in one
 * statement, hence as the same committed batch left them. With claim, first claim the
 * partition (db/0017): that waits for a batch another writer may still be committing, and
 * from then on that writer's batches are refused, so the read that follows sees what the last
 * of them left. Only a newly assigned writer claims: one that merely reconnects keeps its
 * claim, so a zombie reconnecting after a lost connection does not take the partition back.
 */
static int
load_offset(struct ax_batch_ctx *ctx, bool claim, struct ax_err *err)
{
	const char *params[3] = { ctx->topic, ctx->partition_text, ctx->instance };
	PGresult *res = NULL;
	int rc = AX_OK;

	if (claim) {
		res = PQexecParams(ctx->conn,
		    "SELECT claim FROM axiom_api.claim_partition($3, $1, $2::integer)", 3, NULL,
		    params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			rc = ax_pg_err(err, ctx->conn, res, "could not claim the partition");
			goto out;
		}
		snprintf(ctx->claim, sizeof(ctx->claim), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	res = PQexecParams(ctx->conn,
	    "SELECT axiom_api.next_offset($1, $2::integer), (extract(epoch FROM "
	    "axiom_api.partition_event_time($1, $2::integer)) * 1000000)::bigint",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rc = ax_pg_err(err, ctx->conn, res,
		    "could not read the stored next offset and last event time");
		goto out;
	}
	ctx->stored = !PQgetisnull(res, 0, 0);
	ctx->next_offset = ctx->stored ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	ctx->et_us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
out:
	PQclear(res);
	return rc;
}

/*
 * (Re)connect the writer's session and read the stored next offset. JIT compilation is off
 * for the session: a batch's head lookup calls a set-returning function per command, whose
 * planner estimate (1,000 rows each) crossed jit_above_cost from about ten lookups and
 * jit_optimize_above_cost from about twenty, and compiling then cost 30 to 140 ms per batch
 * for a statement that runs in a few milliseconds. The session's statements, its PL/pgSQL
 * functions' and its own prepared ones (heads_stmt and the others above), keep their generic
 * plans (plan_cache_mode): with the default, PostgreSQL planned a custom plan for many of
 * them on every execution, 10 % of the server's CPU samples in the bench's throughput phase
 * (4 % with generic plans: the rest is re-planning after invalidations). A plan choice
 * changes no decision: the functions' lookups that take one row of several order them first
 * (ORDER BY ... LIMIT 1).
 */
static int
connect_session(struct ax_batch_ctx *ctx, bool claim, struct ax_err *err)
{
	PGresult *res;
	int rc;

	PQfinish(ctx->conn);
	ctx->conn = NULL;
	heads_forget(ctx); /* whatever the last batch did, it is read again */
	if ((rc = ax_pg_connect(&ctx->conn, ctx->dsn, "the runtime role", err)) != AX_OK)
		return rc;
	res = PQexec(ctx->conn, "SET jit = off; SET plan_cache_mode = force_generic_plan");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = ax_pg_err(err, ctx->conn, res, "could not set up the session");
		PQclear(res);
		return rc;
	}
	PQclear(res);
	return load_offset(ctx, claim, err);
}

int
ax_batch_ctx_new(struct ax_batch_ctx **out, const struct ax_codec *codec, const char *dsn,
    const char *instance, const char *topic, int32_t partition, int32_t partitions, bool control,
    struct ax_err *err)
{
	struct ax_batch_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	*out = NULL;
	if (ctx == NULL || (ctx->dsn = strdup(dsn)) == NULL) {
		free(ctx);
		return ax_err_set(err, AX_ERR, "out of memory");
	}
	ctx->codec = codec;
	snprintf(ctx->instance, sizeof(ctx->instance), "%s", instance);
	snprintf(ctx->topic, sizeof(ctx->topic), "%s", topic);
	snprintf(ctx->partition_text, sizeof(ctx->partition_text), "%d", (int)partition);
	ctx->partition = partition;
	ctx->partitions = partitions;
	ctx->control = control;
	ctx->wm_us = INT64_MIN;
	ctx->et_us = AX_EVENT_TIME_ORIGIN_US;
	if ((rc = ax_decoder_new(&ctx->dec, codec, err)) != AX_OK)
		goto fail;
	if ((rc = ax_sha256_new(&ctx->sha, err)) != AX_OK)
		goto fail;
	if ((rc = ax_sign_cache_new(&ctx->sign, AX_SIGN_KEY_CACHE_CAP, err)) != AX_OK)
		goto fail;
	if ((ctx->heads = calloc(HEAD_CACHE_SLOTS, sizeof(*ctx->heads))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto fail;
	}
	if ((rc = connect_session(ctx, true, err)) != AX_OK)
		goto fail;
	*out = ctx;
	return AX_OK;
fail:
	ax_batch_ctx_free(ctx);
	return rc;
}

void
ax_batch_ctx_free(struct ax_batch_ctx *ctx)
{
	if (ctx == NULL)
		return;
	PQfinish(ctx->conn);
	ax_decoder_free(ctx->dec);
	ax_sha256_free(ctx->sha);
	ax_sign_cache_free(ctx->sign);
	free(ctx->heads);
	free(ctx->dsn);
	free(ctx);
}

int64_t
ax_batch_next_offset(const struct ax_batch_ctx *ctx)
{
	return ctx->stored ? ctx->next_offset : RD_KAFKA_OFFSET_BEGINNING;
}

int
ax_batch_watermark(struct ax_batch_ctx *ctx, int64_t *us, struct ax_err *err)
{
	PGresult *res = ax_pg_exec_stmt(ctx->conn, &watermark_stmt, NULL);
	int rc = AX_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, ctx->conn, res, "could not read the control watermark");
	} else {
		*us = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : INT64_MIN;
		ax_batch_learn_watermark(ctx, *us);
	}
	PQclear(res);
	return rc;
}

void
ax_batch_learn_watermark(struct ax_batch_ctx *ctx, int64_t us)
{
	if (us > ctx->wm_us)
		ctx->wm_us = us;
}

int64_t
ax_batch_known_watermark(const struct ax_batch_ctx *ctx)
{
	return ctx->wm_us;
}

int
ax_batch_reconnect(struct ax_batch_ctx *ctx, struct ax_err *err)
{
	return connect_session(ctx, false, err);
}

int64_t
ax_batch_event_time_us(const rd_kafka_message_t *m)
{
	rd_kafka_timestamp_type_t type;
	int64_t ms = rd_kafka_message_timestamp(m, &type);

	return type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME && ms >= 0 && ms <= INT64_MAX / 1000
	           ? ms * 1000
	           : -1;
}

int64_t
ax_event_time_next(int64_t last_us, rd_kafka_timestamp_type_t type, int64_t ms, bool *log_append)
{
	*log_append =
	    type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME && ms >= 0 && ms <= INT64_MAX / 1000;
	if (!*log_append)
		return last_us;
	return ms * 1000 > last_us ? ms * 1000 : last_us;
}

/* The event times of msgs[0..n) (invariant 6), from the last known one as committed. */
static void
event_times(const struct ax_batch_ctx *ctx, rd_kafka_message_t **msgs, size_t n, int64_t *et)
{
	int64_t last = ctx->et_us;
	size_t i;

	for (i = 0; i < n; i++) {
		rd_kafka_timestamp_type_t type;
		int64_t ms = rd_kafka_message_timestamp(msgs[i], &type);
		bool log_append;

		et[i] = last = ax_event_time_next(last, type, ms, &log_append);
	}
}

/*
 * The first of et[first..n) not yet decidable, or n: a data command at T is decided once the
 * watermark is beyond T (db/0022: control events at T govern it too, and only a control
 * message after T proves that all of them were applied).
 */
static size_t
beyond_watermark(const struct ax_batch_ctx *ctx, const int64_t *et, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < n; i++)
		if (et[i] >= ctx->wm_us)
			break;
	return i;
}

/* One element under construction. */
struct elem {
	json_t *json;
	enum ax_kind kind;
	struct ax_head_need need;
	struct ax_head head; /* the committed head, when looked up */
	bool want_lookup;    /* look the committed head of need.lineage (and the change) up */
	bool moves_head;     /* creates the next version of lineage (if accepted) */
	bool proposes;       /* proposes change change_id of lineage (see prop_from) */
	uint8_t lineage[AX_UUID_LEN];
	uint8_t change_id[AX_UUID_LEN]; /* propose_change: the change it proposes */
	long spec_from;         /* the earlier element whose head this one builds on, or -1 */
	long prop_from;         /* apply_change: the earlier element proposing its change, or -1 */
	struct ax_head running; /* the lineage's head after this element (see below) */
	/* the element whose head lookup found no head, as its actor saw the lineage at its event
	 * time, that running rests on, or -1 */
	long running_unseen_from;
};

static void
elem_clear(struct elem *e)
{
	json_decref(e->json);
	free(e->head.change_title);
	free(e->head.change_content);
	memset(e, 0, sizeof(*e));
}

/*
 * Invariant 7: why data message m, of lineage lineage, is not where the contract puts it, or
 * NULL when it is.
 */
static const char *
misrouted(
    const struct ax_batch_ctx *ctx, const rd_kafka_message_t *m, const uint8_t lineage[AX_UUID_LEN])
{
	char id[37];

	ax_uuid_format(id, lineage);
	if (m->key == NULL || m->key_len != 36 || memcmp(m->key, id, 36) != 0)
		return "key_not_lineage";
	if (ctx->partitions > 0 &&
	    ax_partition_of_key(m->key, m->key_len, ctx->partitions) != ctx->partition)
		return "wrong_partition";
	return NULL;
}

/* What decided the quarantine of data message m for reason bad (invariant 7), in words. */
static void
misrouted_detail(char *out, size_t cap, const struct ax_batch_ctx *ctx, const rd_kafka_message_t *m,
    const uint8_t lineage[AX_UUID_LEN], const char *bad)
{
	char id[37];

	ax_uuid_format(id, lineage);
	if (strcmp(bad, "key_not_lineage") == 0)
		snprintf(out, cap,
		    "the message key is not the lineage id %s as 36-character lower-case text", id);
	else
		snprintf(out, cap,
		    "murmur2 of the key gives partition %d of %d; the message is on partition %d",
		    (int)ax_partition_of_key(m->key, m->key_len, ctx->partitions),
		    (int)ctx->partitions, (int)ctx->partition);
}

/*
 * The element for one message at event time et_us (invariant 6): its command, or a quarantine
 * with the reason and, in words, what decided it (invariant 3). Either carries the SHA-256 of
 * the message bytes (payload_sha256), which the ledger keeps (db/0024).
 */
static int
element(struct ax_batch_ctx *ctx, const rd_kafka_message_t *m, int64_t et_us, struct elem *el,
    struct ax_err *err)
{
	enum ax_family fam = ctx->control ? AX_FAMILY_CONTROL : AX_FAMILY_DATA;
	struct ax_message msg;
	struct ax_err derr;
	uint8_t digest[AX_HASH_LEN];
	char hex[2 * AX_HASH_LEN + 1], reason[64], iso[AX_ISO_TIME_LEN];
	char detail[sizeof(derr.msg) + sizeof(derr.detail) + 4];

	memset(el, 0, sizeof(*el));
	el->spec_from = -1;
	el->prop_from = -1;
	el->running_unseen_from = -1;
	if (ax_sha256_digest(
	        ctx->sha, digest, m->payload ? m->payload : (const void *)"", m->len, err) != AX_OK)
		return err->code;
	ax_hex_encode(hex, digest, AX_HASH_LEN);
	if (ax_batch_event_time_us(m) >= 0) {
		int drc = ax_decode(ctx->dec, fam, m->payload, m->len, &msg, &derr);
		const char *bad =
		    drc == AX_OK && !ctx->control ? misrouted(ctx, m, msg.lineage_id) : NULL;

		if (bad != NULL) { /* invariant 7 */
			snprintf(reason, sizeof(reason), "%s", bad);
			misrouted_detail(detail, sizeof(detail), ctx, m, msg.lineage_id, bad);
			goto quarantine;
		}
		if (drc == AX_OK && ax_batch_element_build(&el->json, &el->need, &msg, et_us,
		                        ctx->sha, &derr) == AX_OK) {
			el->kind = msg.kind;
			memcpy(el->lineage, msg.lineage_id, AX_UUID_LEN);
			el->moves_head = msg.kind == AX_KIND_CREATE_RECORD ||
			                 msg.kind == AX_KIND_NEW_VERSION ||
			                 msg.kind == AX_KIND_APPLY_CHANGE;
			if (msg.kind == AX_KIND_PROPOSE_CHANGE) {
				el->proposes = true;
				memcpy(el->change_id, msg.u.propose_change.change_id, AX_UUID_LEN);
			}
			goto stamp;
		}
		if (derr.code == AX_ERR) /* out of memory: not the message's fault */
			return ax_err_set(err, AX_ERR, "%s", derr.msg);
		snprintf(reason, sizeof(reason), "%s", ax_batch_element_quarantine_reason(&derr));
		snprintf(detail, sizeof(detail), derr.detail[0] ? "%s (%s)" : "%s%s", derr.msg,
		    derr.detail);
	} else {
		/* its timestamp is whatever its producer (or a topic switched to CreateTime) chose:
		 * it keeps the partition's last known event time (invariant 6) */
		snprintf(reason, sizeof(reason), "not_log_append_time");
		snprintf(detail, sizeof(detail),
		    "the message's timestamp is not the broker's LogAppendTime");
	}
quarantine:
	/* quarantined with the size and SHA-256 of its bytes (invariant 3), and what decided */
	el->json = json_pack("{s:s, s:s, s:s, s:I}", "op", "quarantine", "reason_code", reason,
	    "payload_sha256", hex, "size", (json_int_t)m->len);
	/* a detail that is not UTF-8 (bytes of the message quoted) is left out */
	if (el->json != NULL)
		json_object_set_new(el->json, "detail", json_string(detail));
stamp:
	if (el->json == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	json_object_set_new(el->json, "payload_sha256", json_string(hex));
	ax_iso_time(iso, et_us);
	json_object_set_new(el->json, "offset", json_integer((json_int_t)m->offset));
	json_object_set_new(el->json, "event_time", json_string(iso));
	return AX_OK;
}

/*
 * Read, in one round trip, the committed head of every lineage that els[0..n) create the
 * next version of (and the changes they apply), as each command's actor sees it then.
 */
static int
lookup_heads(struct ax_batch_ctx *ctx, struct elem *els, size_t n, struct ax_err *err)
{
	struct ax_pg_array arr[5] = { { NULL, 0, 0 } };
	size_t i, k, asked = 0;
	const char *params[5];
	PGresult *res = NULL;
	int rc = AX_OK, r;

	for (i = 0; i < n; i++) {
		char num[24], id[37], cid[37];

		if (!els[i].want_lookup)
			continue;
		if (!els[i].need.is_change && heads_get(ctx, els[i].lineage, &els[i].head))
			continue; /* known committed: the change's content is always read */
		snprintf(num, sizeof(num), "%zu", i);
		ax_uuid_format(id, els[i].lineage);
		ax_uuid_format(cid, els[i].need.change_id);
		if (ax_pg_array_add(&arr[0], num) ||
		    ax_pg_array_add(
		        &arr[1], json_string_value(json_object_get(els[i].json, "actor"))) ||
		    ax_pg_array_add(
		        &arr[2], json_string_value(json_object_get(els[i].json, "event_time"))) ||
		    ax_pg_array_add(&arr[3], id) ||
		    ax_pg_array_add(&arr[4], els[i].need.is_change ? cid : "NULL")) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
		asked++;
	}
	if (asked == 0)
		goto out;
	for (k = 0; k < 5; k++)
		if ((params[k] = ax_pg_array_text(&arr[k])) == NULL) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
	res = ax_pg_exec_stmt(ctx->conn, &heads_stmt, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(
		    err, ctx->conn, res, "could not read the heads of the batch's lineages");
		goto out;
	}
	for (r = 0; r < PQntuples(res); r++) {
		struct ax_head *h;

		i = (size_t)strtoul(PQgetvalue(res, r, 0), NULL, 10);
		if (i >= n)
			continue;
		h = &els[i].head;
		if (!PQgetisnull(res, r, 1)) {
			h->found =
			    ax_uuid_parse(h->record_id, PQgetvalue(res, r, 1), 36) &&
			    ax_hex_decode(h->record_hash, PQgetvalue(res, r, 3), AX_HASH_LEN) == 0;
			h->version = strtoll(PQgetvalue(res, r, 2), NULL, 10);
			snprintf(
			    h->record_type, sizeof(h->record_type), "%s", PQgetvalue(res, r, 4));
			snprintf(
			    h->facility_id, sizeof(h->facility_id), "%s", PQgetvalue(res, r, 5));
			snprintf(h->domain_id, sizeof(h->domain_id), "%s", PQgetvalue(res, r, 6));
			if (h->found)
				heads_put(ctx, els[i].lineage, h);
		}
		if (strcmp(PQgetvalue(res, r, 9), "t") == 0) {
			const char *hex = PQgetvalue(res, r, 8);

			h->change_found = true;
			h->change_title = strdup(PQgetvalue(res, r, 7));
			h->change_content_len = strlen(hex) / 2;
			h->change_content = malloc(h->change_content_len + 1);
			if (h->change_title == NULL || h->change_content == NULL) {
				rc = ax_err_set(err, AX_ERR, "out of memory");
				goto out;
			}
			if (ax_hex_decode(h->change_content, hex, h->change_content_len) != 0) {
				rc = ax_err_set(err, AX_ERR,
				    "the database sent a change content that is not hex");
				goto out;
			}
		}
	}
out:
	PQclear(res);
	for (k = 0; k < 5; k++)
		ax_pg_array_free(&arr[k]);
	return rc;
}

/*
 * Complete els[i] (ax_batch_element_complete) on the head it builds on, and record the head it
 * leaves. *exact is false when the claimed hash could depend on how an earlier command of
 * the batch is decided; the caller then cuts the batch before els[i].
 *
 * Why building on a speculative head is exact (invariant 1 of ax_batch_element.h): a
 * lineage's versions only grow, so the real head's version equals the version the
 * speculation gives only when every earlier speculated command was accepted, and then the
 * heads are equal. The database uses a head only when its version is the one the command
 * names: new_version compares previous_record_hash (its base), apply_change the change's
 * base version and hash (stale_base). So a command whose base is the speculative head's
 * version gets the right hash whenever the database looks at it, and one whose base differs
 * is refused (or accepted with the committed head) only if the speculation was wrong: cut.
 * apply_change takes the change's title, content and base from a propose_change of the
 * batch, unless the change exists already (then that propose is refused and the committed
 * change is the one applied: its base is not known here, cut) or the head is committed.
 * A head lookup answers as its command's actor sees the lineage at its event time: a lineage
 * out of that actor's sight then looks like one with no version yet. So "versions only grow"
 * holds from a head someone found; a speculative head that rests on a lookup that found none
 * is exact only for a command of the same actor at the same event time (which sees what the
 * lookup saw), and any other built on it is cut (looked up on its own in the next batch).
 * Without that cut, a command the database refuses because its actor may not see the lineage
 * made a later one of another actor, built on it in the same batch, stale, while it is
 * accepted when it comes alone (test 0517).
 * The rule itself is ax_batch_speculation, a pure function (tests/unit/test_batch_speculation).
 */
enum ax_speculation_verdict
ax_batch_speculation(const struct ax_speculation *s)
{
	int64_t base = s->base_version;

	if (s->on_speculative_head && s->head_not_found_by_another_lookup)
		return AX_SPECULATION_CUT_HEAD_NOT_FOUND_BY_ANOTHER_LOOKUP;
	if (s->is_change && s->change_proposed_in_batch) {
		if (s->change_committed)
			return AX_SPECULATION_CUT_CHANGE_COMMITTED;
		if (!s->proposal_has_content)
			return AX_SPECULATION_CUT_PROPOSAL_WITHOUT_CONTENT;
		base = s->proposal_base_version;
	} else if (s->is_change && s->on_speculative_head && s->change_committed) {
		return AX_SPECULATION_CUT_COMMITTED_CHANGE_ON_SPECULATIVE_HEAD;
	}
	if (s->on_speculative_head && s->head_found && s->head_version != base)
		return AX_SPECULATION_CUT_BASE_NOT_HEAD;
	return AX_SPECULATION_EXACT;
}

/* Whether elements a and b see a lineage alike: the same actor at the same event time. */
static bool
same_sight(const struct elem *a, const struct elem *b)
{
	const char *x = json_string_value(json_object_get(a->json, "actor"));
	const char *y = json_string_value(json_object_get(b->json, "actor"));

	return x != NULL && y != NULL && strcmp(x, y) == 0 &&
	       json_integer_value(json_object_get(a->json, "_et_us")) ==
	           json_integer_value(json_object_get(b->json, "_et_us"));
}

static int
complete_element(
    struct ax_batch_ctx *ctx, struct elem *els, size_t i, bool *exact, struct ax_err *err)
{
	struct elem *el = &els[i];
	const struct elem *from = el->spec_from >= 0 ? &els[el->spec_from] : NULL;
	long unseen_here = el->head.found ? -1 : (long)i;
	struct ax_speculation s;
	enum ax_speculation_verdict verdict;
	struct ax_head in;
	json_t *p = NULL; /* the propose_change of the batch that proposes el's change */
	const char *hex = NULL;
	uint8_t *content = NULL;
	int rc;

	*exact = true;
	if (el->kind == AX_KIND_CREATE_RECORD && el->want_lookup) {
		/* a lineage that exists already makes the creation fail for sure */
		el->running = el->head.found ? el->head : el->need.produces;
		el->running_unseen_from = unseen_here;
	}
	if (!el->need.needed)
		return AX_OK;
	in = from != NULL ? from->running : el->head;
	in.change_found = el->head.change_found;
	in.change_title = el->head.change_title;
	in.change_content = el->head.change_content;
	in.change_content_len = el->head.change_content_len;
	memset(&s, 0, sizeof(s));
	s.on_speculative_head = from != NULL;
	s.head_not_found_by_another_lookup = from != NULL && from->running_unseen_from >= 0 &&
	                                     !same_sight(el, &els[from->running_unseen_from]);
	s.head_found = in.found;
	s.head_version = in.version;
	s.base_version = el->need.base_version;
	s.is_change = el->need.is_change;
	s.change_committed = el->head.change_found;
	if (el->need.is_change && el->prop_from >= 0) {
		p = els[el->prop_from].json;
		hex = json_string_value(json_object_get(p, "content"));
		s.change_proposed_in_batch = true;
		s.proposal_has_content = hex != NULL;
		s.proposal_base_version =
		    (int64_t)json_integer_value(json_object_get(p, "base_version"));
	}
	verdict = ax_batch_speculation(&s);
	if (verdict != AX_SPECULATION_EXACT && verdict != AX_SPECULATION_CUT_BASE_NOT_HEAD) {
		*exact = false;
		return AX_OK;
	}
	if (p != NULL) {
		in.change_found = true;
		in.change_title = (char *)json_string_value(json_object_get(p, "title"));
		in.change_content_len = strlen(hex) / 2;
		if ((content = malloc(in.change_content_len + 1)) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory");
		if (ax_hex_decode(content, hex, in.change_content_len) != 0) {
			free(content);
			return ax_err_set(
			    err, AX_ERR, "a propose_change element without hex content");
		}
		in.change_content = content;
	}
	if (verdict != AX_SPECULATION_EXACT) {
		free(content);
		*exact = false;
		return AX_OK;
	}
	rc = ax_batch_element_complete(el->json, &el->need, &in, ctx->sha, err);
	free(content);
	if (rc != AX_OK)
		return rc;
	/* refused for sure when no hash could be claimed: the head stays */
	el->running = el->need.produces_valid ? el->need.produces : in;
	el->running_unseen_from = from != NULL ? from->running_unseen_from : unseen_here;
	drop_change(&el->running);
	return AX_OK;
}

int
ax_batch_apply(struct ax_batch_ctx *ctx, rd_kafka_message_t **msgs, size_t n,
    struct ax_batch_result *res, struct ax_err *err)
{
	const char *params[7];
	char expected[32];
	struct elem *els = NULL;
	int64_t *et = NULL; /* et[i]: the event time of msgs[i] (invariant 6) */
	json_t *arr = NULL;
	char *text = NULL;
	PGresult *pr = NULL;
	size_t first, sent = 0, i, rows;
	bool sign_wait = false; /* a Sign element waits for the control watermark */
	int64_t sign_wait_us = 0, now_us;
	double t0;
	int rc = AX_OK;

	memset(res, 0, sizeof(*res));
	/* re-deliveries below the stored offset are released untouched (exactly once) */
	for (first = 0; first < n && ctx->stored && msgs[first]->offset < ctx->next_offset; first++)
		res->duplicates++;
	res->released = first;
	if (first == n)
		return AX_OK;
	if ((et = calloc(n, sizeof(*et))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	event_times(ctx, msgs + first, n - first, et + first);
	/* a data command beyond the watermark known here waits without a round trip: the
	 * database would stop there too (invariant 2 of db/0008), this only saves the work */
	if (!ctx->control) {
		size_t limit = beyond_watermark(ctx, et, first, n);

		if (limit == first) {
			int64_t wm;

			if ((rc = ax_batch_watermark(ctx, &wm, err)) != AX_OK)
				goto out;
			limit = beyond_watermark(ctx, et, first, n);
		}
		if (limit == first) {
			res->waiting = true;
			res->wait_for_us = et[first] + 1;
			goto out;
		}
		n = limit;
	}
	if ((els = calloc(n - first, sizeof(*els))) == NULL || (arr = json_array()) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	for (i = first; i < n; i++) {
		struct elem *el = &els[sent];
		bool cut = false;

		if ((rc = element(ctx, msgs[i], et[i], el, err)) != AX_OK)
			goto out;
		/* a command that creates the next version builds on the head the last earlier
		 * command of the batch that moves the same lineage would leave (or on the
		 * committed head); apply_change also on the change an earlier propose_change of
		 * the batch makes. Whether that is exact is decided once the committed heads are
		 * known (complete_element); the batch is cut where it is not. */
		if (el->need.needed) {
			long k;

			for (k = (long)sent - 1; k >= 0; k--)
				if (els[k].moves_head &&
				    memcmp(els[k].lineage, el->lineage, AX_UUID_LEN) == 0)
					break;
			el->spec_from = k;
			el->want_lookup = k < 0 || el->need.is_change;
			if (k >= 0 && els[k].kind == AX_KIND_CREATE_RECORD)
				els[k].want_lookup = true;
			for (k = (long)sent - 1; el->need.is_change && k >= 0; k--) {
				if (!els[k].proposes ||
				    memcmp(els[k].change_id, el->need.change_id, AX_UUID_LEN) != 0)
					continue;
				if (el->prop_from >= 0) {
					cut =
					    true; /* proposed twice: which one holds is not known */
					break;
				}
				el->prop_from = k;
			}
		}
		if (cut) {
			elem_clear(el);
			break;
		}
		sent++;
	}
	/* e-signatures (consumers/ax_sign.h): verify every Sign element against the registry
	 * as of its event time; one beyond the watermark the lookup saw waits with the rest */
	if (sent > 0) {
		json_t **js = calloc(sent, sizeof(*js));
		size_t cut;

		if (js == NULL) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
		for (i = 0; i < sent; i++)
			js[i] = els[i].json;
		rc = ax_sign_complete_batch_cached(
		    ctx->conn, ctx->sign, js, sent, &cut, &sign_wait_us, err);
		free(js);
		if (rc != AX_OK)
			goto out;
		if (cut < sent) {
			sent = cut;
			sign_wait = true;
		}
	}
	if ((rc = lookup_heads(ctx, els, sent, err)) != AX_OK)
		goto out;
	for (i = 0; i < sent; i++) {
		struct elem *el = &els[i];
		bool exact = true;

		if ((rc = complete_element(ctx, els, i, &exact, err)) != AX_OK)
			goto out;
		if (!exact) { /* this one and the rest wait for the next batch */
			sent = i;
			sign_wait = false;
			break;
		}
		ax_batch_element_strip(el->json);
		if (json_array_append(arr, el->json) != 0) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
	}
	if ((text = json_dumps(arr, JSON_COMPACT)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	snprintf(expected, sizeof(expected), "%lld", (long long)ctx->next_offset);
	params[0] = ctx->instance;
	params[1] = ctx->topic;
	params[2] = ctx->partition_text;
	params[3] = ctx->control ? "true" : "false";
	params[4] = ctx->stored ? expected : NULL;
	params[5] = ctx->claim;
	params[6] = text;
	t0 = ax_mono_s();
	pr = ax_pg_exec_stmt(ctx->conn, &batch_stmt, params);
	res->statement_s = ax_mono_s() - t0;
	if (PQresultStatus(pr) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, ctx->conn, pr, "could not apply a batch");
		/* AX_EUNAVAIL stays: the commit's fate is re-read on reconnect; AX_ECONFLICT
		 * (AX409, ax_pg.h) stays: fenced */
		if (rc != AX_EUNAVAIL && rc != AX_ECONFLICT)
			rc = err->code = AX_ERR;
		goto out;
	}
	rows = (size_t)PQntuples(pr);
	if (rows > sent) {
		rc = ax_err_set(
		    err, AX_ERR, "the database returned %zu outcomes for %zu commands", rows, sent);
		goto out;
	}
	now_us = ax_wall_us(); /* the statement committed: the batch is applied */
	for (i = 0; i < rows; i++) {
		const char *d = PQgetvalue(pr, (int)i, 1);

		if (strcmp(d, "accepted") == 0) {
			res->accepted++;
			/* the head it leaves: the hash the database compared binds every field */
			if (els[i].moves_head && els[i].need.produces_valid)
				heads_put(ctx, els[i].lineage, &els[i].need.produces);
		} else if (strcmp(d, "quarantined") == 0)
			res->quarantined++;
		else
			res->rejected++;
		if (ctx->observe != NULL)
			ctx->observe(ctx->observe_arg, d, PQgetvalue(pr, (int)i, 2),
			    ax_batch_event_time_us(msgs[first + i]) >= 0
			        ? (double)(now_us - ax_batch_event_time_us(msgs[first + i])) / 1e6
			        : -1);
	}
	for (i = 0; ctx->control && i < rows; i++)
		ax_batch_learn_watermark(ctx, et[first + i]);
	if (rows > 0) {
		ctx->stored = true;
		ctx->next_offset = strtoll(PQgetvalue(pr, (int)rows - 1, 0), NULL, 10) + 1;
		ctx->et_us = et[first + rows - 1];
	}
	res->released += rows;
	if (rows < sent) {
		res->waiting = true;
		res->wait_for_us = et[first + rows] + 1;
	} else if (sign_wait) {
		res->waiting = true;
		res->wait_for_us = sign_wait_us;
	}
out:
	if (rc != AX_OK) /* a batch that failed may have committed: read the heads again */
		heads_forget(ctx);
	PQclear(pr);
	free(text);
	json_decref(arr);
	for (i = 0; els != NULL && i < n - first; i++)
		elem_clear(&els[i]);
	free(els);
	free(et);
	return rc;
}
