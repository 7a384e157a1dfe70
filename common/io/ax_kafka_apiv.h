/*
 * ax_kafka_apiv.h - ask a Kafka broker which protocol versions it speaks (ApiVersions v0),
 * over plain TCP or TLS with a client certificate (the local stack's broker, ops/stack).
 *
 * librdkafka negotiates these internally but does not expose them; `axiom doctor` needs them
 * to tell which broker generation it talks to (Kafka 4.0 removed old protocol versions,
 * KIP-896: a broker whose lowest Fetch version is 4 is 4.x or newer; 4.x still advertises
 * Produce v0 for old clients, so Produce tells nothing).
 * The parser is pure and bounded: it reads at most len bytes and never trusts a count.
 */
#ifndef AX_KAFKA_APIV_H
#define AX_KAFKA_APIV_H

#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

#define AX_KAFKA_APIV_MAX 128 /* more API keys than any broker has */

enum {
	AX_KAFKA_API_PRODUCE = 0,
	AX_KAFKA_API_FETCH = 1,
	AX_KAFKA_API_METADATA = 3,
	AX_KAFKA_API_OFFSET_COMMIT = 8,
	AX_KAFKA_API_JOIN_GROUP = 11,
	AX_KAFKA_API_VERSIONS = 18,
	AX_KAFKA_API_CREATE_TOPICS = 19,
};

struct ax_kafka_api_range {
	int16_t key, min, max;
};

struct ax_kafka_apiv {
	size_t n;
	struct ax_kafka_api_range api[AX_KAFKA_APIV_MAX];
};

/*
 * Parse an ApiVersions v0 response body (after the 4-byte length: correlation id, error
 * code, array) of len bytes into out. AX_EINVAL for a truncated or inconsistent body, an
 * error code from the broker, a wrong correlation id, or more than AX_KAFKA_APIV_MAX keys.
 */
int ax_kafka_apiv_parse(struct ax_kafka_apiv *out, const uint8_t *buf, size_t len,
    int32_t correlation_id, struct ax_err *err);

/* The range of api in v, or NULL when the broker does not offer it. */
const struct ax_kafka_api_range *ax_kafka_apiv_find(const struct ax_kafka_apiv *v, int16_t api);

/* A TLS client's files (PEM): the CA that signed the broker, our certificate and key. */
struct ax_kafka_tls {
	const char *ca, *cert, *key;
};

/*
 * Connect to host_port ("host:port", the first of a bootstrap list is fine), over TLS when
 * tls is not NULL (the broker's certificate verified against tls->ca and the host), send an
 * ApiVersions v0 request and parse the answer, all within timeout_ms. AX_EUNAVAIL when
 * the broker cannot be reached, refuses the handshake or does not answer in time.
 */
int ax_kafka_apiv_fetch(struct ax_kafka_apiv *out, const char *host_port,
    const struct ax_kafka_tls *tls, int timeout_ms, struct ax_err *err);

#endif
