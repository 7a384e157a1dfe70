/*
 * ax_kafka_apiv.c - ApiVersions v0 over a TCP socket, plain or TLS; see ax_kafka_apiv.h.
 */
#include "ax_kafka_apiv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ax_clock.h"

#define RESPONSE_MAX (64 * 1024) /* an ApiVersions v0 answer is well under 1 KiB */

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int
ax_kafka_apiv_parse(struct ax_kafka_apiv *out, const uint8_t *buf, size_t len,
    int32_t correlation_id, struct ax_err *err)
{
	uint32_t count, i;
	int16_t code;

	out->n = 0;
	if (len < 10)
		return ax_err_set(err, AX_EINVAL, "ApiVersions answer truncated at %zu bytes", len);
	if ((int32_t)be32(buf) != correlation_id)
		return ax_err_set(err, AX_EINVAL,
		    "ApiVersions answer has correlation id %d, not %d", (int32_t)be32(buf),
		    correlation_id);
	code = (int16_t)be16(buf + 4);
	if (code != 0)
		return ax_err_set(
		    err, AX_EINVAL, "broker refused ApiVersions with error code %d", code);
	count = be32(buf + 6);
	if (count > AX_KAFKA_APIV_MAX)
		return ax_err_set(err, AX_EINVAL,
		    "ApiVersions answer lists %u API keys (at most %d)", count, AX_KAFKA_APIV_MAX);
	if (len < 10 + (size_t)count * 6)
		return ax_err_set(err, AX_EINVAL,
		    "ApiVersions answer truncated: %u API keys need %zu bytes, got %zu", count,
		    10 + (size_t)count * 6, len);
	for (i = 0; i < count; i++) {
		const uint8_t *p = buf + 10 + (size_t)i * 6;

		out->api[i].key = (int16_t)be16(p);
		out->api[i].min = (int16_t)be16(p + 2);
		out->api[i].max = (int16_t)be16(p + 4);
		if (out->api[i].min < 0 || out->api[i].max < out->api[i].min)
			return ax_err_set(err, AX_EINVAL,
			    "ApiVersions answer has an invalid range %d..%d for API key %d",
			    out->api[i].min, out->api[i].max, out->api[i].key);
	}
	out->n = count;
	return AX_OK;
}

const struct ax_kafka_api_range *
ax_kafka_apiv_find(const struct ax_kafka_apiv *v, int16_t api)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (v->api[i].key == api)
			return &v->api[i];
	return NULL;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Wait for events on fd until deadline; 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	long left = ms_left(deadline);
	int r;

	if (left <= 0)
		return 0;
	do
		r = poll(&pfd, 1, (int)left);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
unreachable(struct ax_err *err, const char *host_port, const char *why)
{
	ax_err_set(err, AX_EUNAVAIL, "could not reach the kafka broker at %s", host_port);
	ax_err_detail(err, "ApiVersions request: %s", why);
	return AX_EUNAVAIL;
}

/* One connection: the socket, and its TLS session when there is one. */
struct conn {
	int fd;
	SSL *ssl;
};

/*
 * Wait until the TLS call that returned r may be retried: 1 retry, 0 timed out, -1 the
 * session failed.
 */
static int
tls_wait(const struct conn *c, int r, const struct timespec *deadline)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c->fd, POLLIN, deadline) > 0 ? 1 : 0;
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c->fd, POLLOUT, deadline) > 0 ? 1 : 0;
	default:
		return -1;
	}
}

/* Start TLS on c->fd as a client with tls's files, verifying the broker as host. */
static int
tls_start(struct conn *c, SSL_CTX **ctxp, const char *host, const struct ax_kafka_tls *tls,
    const char *host_port, const struct timespec *deadline, struct ax_err *err)
{
	unsigned char ip[16];
	SSL_CTX *ctx;
	int r, w;

	if ((*ctxp = ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(ctx, tls->ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, tls->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM) != 1) {
		ax_err_set(err, AX_EINVAL, "could not load the kafka client certificate");
		ax_err_detail(err, "%s, %s, %s: %s", tls->ca, tls->cert, tls->key,
		    ERR_reason_error_string(ERR_get_error()));
		return AX_EINVAL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return unreachable(err, host_port, "could not start TLS");
	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host);
	else
		SSL_set1_host(c->ssl, host);
	while ((r = SSL_connect(c->ssl)) != 1)
		if ((w = tls_wait(c, r, deadline)) <= 0)
			return unreachable(err, host_port,
			    w == 0 ? "TLS handshake timed out" : "the TLS handshake failed");
	return AX_OK;
}

/* Send all of buf; 1 sent, 0 timed out, -1 error. */
static int
conn_send(const struct conn *c, const uint8_t *buf, size_t n, const struct timespec *deadline)
{
	int r, w;

	if (c->ssl == NULL)
		return send(c->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 1 : -1;
	while ((r = SSL_write(c->ssl, buf, (int)n)) <= 0)
		if ((w = tls_wait(c, r, deadline)) <= 0)
			return w;
	return r == (int)n ? 1 : -1;
}

/* Receive up to n bytes: > 0 received, 0 closed, -1 error, -2 timed out. */
static ssize_t
conn_recv(const struct conn *c, uint8_t *buf, size_t n, const struct timespec *deadline)
{
	int r, w;

	if (c->ssl == NULL) {
		if (wait_fd(c->fd, POLLIN, deadline) <= 0)
			return -2;
		return recv(c->fd, buf, n, 0);
	}
	while ((r = SSL_read(c->ssl, buf, (int)n)) <= 0) {
		if (SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN)
			return 0;
		if ((w = tls_wait(c, r, deadline)) <= 0)
			return w == 0 ? -2 : -1;
	}
	return r;
}

int
ax_kafka_apiv_fetch(struct ax_kafka_apiv *out, const char *host_port,
    const struct ax_kafka_tls *tls, int timeout_ms, struct ax_err *err)
{
	static const int32_t corr = 0x41584d31; /* "AXM1" */
	struct addrinfo hints, *ai = NULL;
	struct timespec deadline;
	uint8_t req[32], hdr[4], *body = NULL;
	char host[256], port[16];
	const char *colon, *comma;
	size_t hlen, got = 0, want;
	ssize_t r;
	struct conn c = { -1, NULL };
	SSL_CTX *ctx = NULL;
	int rc;

	comma = strchr(host_port, ',');
	hlen = comma ? (size_t)(comma - host_port) : strlen(host_port);
	for (colon = host_port + hlen; colon > host_port && colon[-1] != ':'; colon--)
		;
	colon = colon > host_port ? colon - 1 : NULL;
	if (colon == NULL || (size_t)(colon - host_port) >= sizeof(host) ||
	    hlen - (size_t)(colon - host_port) - 1 >= sizeof(port))
		return ax_err_set(err, AX_EINVAL,
		    "invalid broker address \"%.*s\" (want host:port)", (int)hlen, host_port);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - host_port), host_port);
	snprintf(
	    port, sizeof(port), "%.*s", (int)(hlen - (size_t)(colon - host_port) - 1), colon + 1);

	ax_deadline_after(&deadline, timeout_ms);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		rc = unreachable(err, host_port, "cannot resolve the host");
		goto out;
	}
	c.fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (c.fd < 0) {
		rc = unreachable(err, host_port, strerror(errno));
		goto out;
	}
	if (connect(c.fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		rc = unreachable(err, host_port, strerror(errno));
		goto out;
	}
	if (wait_fd(c.fd, POLLOUT, &deadline) <= 0) {
		rc = unreachable(err, host_port, "connection timed out");
		goto out;
	}
	{
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			rc = unreachable(err, host_port, strerror(soerr ? soerr : errno));
			goto out;
		}
	}
	if (tls != NULL &&
	    (rc = tls_start(&c, &ctx, host, tls, host_port, &deadline, err)) != AX_OK)
		goto out;
	/* size, api key 18, version 0, correlation id, client id "axiom" */
	memcpy(req,
	    (const uint8_t[]){
	        0, 0, 0, 15, 0, 18, 0, 0, 0x41, 0x58, 0x4d, 0x31, 0, 5, 'a', 'x', 'i', 'o', 'm' },
	    19);
	if (conn_send(&c, req, 19, &deadline) != 1) {
		rc = unreachable(err, host_port, "could not send the request");
		goto out;
	}
	/* the answer: 4-byte length, then the body */
	want = sizeof(hdr);
	while (got < want) {
		r = conn_recv(&c, body ? body + got - 4 : hdr + got, want - got, &deadline);
		if (r == -2) {
			rc = unreachable(err, host_port, "no answer in time");
			goto out;
		}
		if (r <= 0) {
			rc = unreachable(
			    err, host_port, r == 0 ? "connection closed" : strerror(errno));
			goto out;
		}
		got += (size_t)r;
		if (body == NULL && got == 4) {
			uint32_t n = be32(hdr);

			if (n < 10 || n > RESPONSE_MAX) {
				rc = ax_err_set(err, AX_EINVAL,
				    "ApiVersions answer of %u bytes is out of bounds", n);
				goto out;
			}
			if ((body = malloc(n)) == NULL) {
				rc = ax_err_set(err, AX_ERR, "out of memory");
				goto out;
			}
			want = 4 + n;
		}
	}
	rc = ax_kafka_apiv_parse(out, body, want - 4, corr, err);
out:
	free(body);
	if (c.ssl != NULL)
		SSL_free(c.ssl);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	if (c.fd >= 0)
		close(c.fd);
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}
