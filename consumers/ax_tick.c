/*
 * ax_tick.c - ticks on demand; see ax_tick.h.
 */
#include "ax_tick.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ax_clock.h"
#include "ax_codec.h"
#include "ax_kafka.h"
#include "ax_log.h"

struct ax_tick {
	const struct ax_codec *codec;
	rd_kafka_t *producer;
	char topic[256];
	char instance[128];
	_Atomic int64_t last_ms;      /* monotonic time of the last tick sent */
	_Atomic int64_t last_wall_us; /* its wall time: it covers event times up to here */
	_Atomic uint64_t sent;
};

int
ax_tick_new(struct ax_tick **out, const struct ax_codec *codec, const char *brokers,
    const char *control_topic, const char *instance, struct ax_err *err)
{
	static const char *const kv[] = { "enable.idempotence", "true", "linger.ms", "0", NULL };
	struct ax_tick *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (t == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	t->codec = codec;
	snprintf(t->topic, sizeof(t->topic), "%s", control_topic);
	snprintf(t->instance, sizeof(t->instance), "%s", instance);
	atomic_init(&t->last_ms, 0);
	atomic_init(&t->last_wall_us, INT64_MIN);
	if ((rc = ax_kafka_new(
	         &t->producer, RD_KAFKA_PRODUCER, brokers, AX_KAFKA_APPLIER, kv, err)) != AX_OK) {
		free(t);
		return rc;
	}
	*out = t;
	return AX_OK;
}

void
ax_tick_request(struct ax_tick *t, int64_t needed_us)
{
	int64_t now = ax_mono_ms(), last = atomic_load(&t->last_ms);
	uint8_t id[AX_UUID_LEN];
	char uuid[37];
	int64_t wall_us;
	struct ax_err err;
	uint8_t *buf = NULL;
	size_t len = 0;
	json_t *cmd;
	rd_kafka_resp_err_t e;

	if (needed_us <= atomic_load(&t->last_wall_us) && now - last < AX_TICK_RESEND_MS)
		return; /* invariant 3 */
	if (now - last < AX_TICK_MIN_INTERVAL_MS ||
	    !atomic_compare_exchange_strong(&t->last_ms, &last, now))
		return;
	if (RAND_bytes(id, sizeof(id)) != 1)
		return;
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	ax_uuid_format(uuid, id);
	wall_us = ax_wall_us();
	cmd = json_pack("{s:s, s:s, s:I, s:s, s:{s:{s:i}}}", "command_id", uuid, "actor",
	    "axiom-system", "issued_at", (json_int_t)wall_us, "reason", "control watermark tick",
	    "payload", "Tick", "requested_by_partition", -1);
	if (cmd == NULL || ax_encode_json(ax_codec_current(t->codec, AX_FAMILY_CONTROL), cmd, NULL,
	                       &buf, &len, &err) != AX_OK) {
		ax_log(
		    AX_LOG_ERROR, "tick_failed", "error=\"%s\"", cmd ? err.msg : "out of memory");
		goto out;
	}
	e = rd_kafka_producev(t->producer, RD_KAFKA_V_TOPIC(t->topic), RD_KAFKA_V_PARTITION(0),
	    RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		ax_log(AX_LOG_WARN, "tick_failed", "error=\"%s\"", rd_kafka_err2str(e));
		goto out;
	}
	buf = NULL; /* owned by librdkafka now */
	atomic_store(&t->last_wall_us, wall_us);
	atomic_fetch_add(&t->sent, 1);
	rd_kafka_poll(t->producer, 0);
out:
	free(buf);
	json_decref(cmd);
}

void
ax_tick_free(struct ax_tick *t)
{
	if (t == NULL)
		return;
	rd_kafka_flush(t->producer, 2000);
	rd_kafka_destroy(t->producer);
	free(t);
}
