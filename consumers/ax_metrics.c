/*
 * ax_metrics.c - the applier's Prometheus figures and their HTTP endpoint; see ax_metrics.h.
 */
#include "ax_metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_topics.h"

#define HIST_MAX 14

/* A histogram's upper bounds (the +Inf bucket is implicit). */
struct bounds {
	const char *name, *help;
	size_t n;
	double le[HIST_MAX];
};

static const struct bounds BATCH_SIZE = { "axiom_applier_batch_size",
	"Commands per committed batch.", 11, { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000 } };
static const struct bounds BATCH_SECONDS = { "axiom_applier_batch_seconds",
	"Seconds of one batch statement, commit included.", 12,
	{ 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10 } };
static const struct bounds LATENCY = { "axiom_applier_append_to_commit_seconds",
	"Seconds from a command's append to the broker (its event time) to the commit that "
	"applied it.",
	14, { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300 } };

struct hist {
	uint64_t bucket[HIST_MAX + 1]; /* the last one is +Inf */
	uint64_t count;
	double sum;
};

struct reason {
	char decision[16];
	char code[48];
	uint64_t n;
};

struct series {
	char topic[AX_TOPIC_NAME_MAX];
	int32_t partition;
	int64_t next_offset, log_end, lag, relay_backlog; /* lag < 0: log_end - next_offset */
	bool waiting, gauges_known;
	uint64_t claims_lost;
	struct reason reasons[AX_METRICS_REASONS_MAX];
	size_t nreasons;
	struct hist batch_size, batch_seconds, latency;
};

struct ax_metrics {
	pthread_mutex_t mu; /* invariant 1: everything below */
	struct series *s[AX_METRICS_PARTITIONS_MAX];
	size_t ns;
	struct MHD_Daemon *daemon;
	int port;
};

int
ax_metrics_new(struct ax_metrics **out, struct ax_err *err)
{
	struct ax_metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (m == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	pthread_mutex_init(&m->mu, NULL);
	*out = m;
	return AX_OK;
}

void
ax_metrics_free(struct ax_metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->daemon != NULL)
		MHD_stop_daemon(m->daemon);
	for (i = 0; i < m->ns; i++)
		free(m->s[i]);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* The series of (topic, partition), made on first use; NULL beyond the cap (invariant 4). */
static struct series *
series_of(struct ax_metrics *m, const char *topic, int32_t partition)
{
	struct series *s;
	size_t i;

	for (i = 0; i < m->ns; i++)
		if (m->s[i]->partition == partition && strcmp(m->s[i]->topic, topic) == 0)
			return m->s[i];
	if (m->ns == AX_METRICS_PARTITIONS_MAX || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	s->partition = partition;
	s->log_end = -1;
	s->lag = -1;
	m->s[m->ns++] = s;
	return s;
}

static void
observe(struct hist *h, const struct bounds *b, double v)
{
	size_t i;

	for (i = 0; i < b->n && v > b->le[i]; i++)
		;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

void
ax_metrics_outcome(struct ax_metrics *m, const char *topic, int32_t partition, const char *decision,
    const char *reason, double latency_s)
{
	struct series *s;
	struct reason *r = NULL;
	size_t i;

	if (m == NULL)
		return;
	if (strcmp(decision, "accepted") == 0 || reason == NULL)
		reason = "";
	pthread_mutex_lock(&m->mu);
	if ((s = series_of(m, topic, partition)) == NULL)
		goto out;
	for (i = 0; i < s->nreasons && r == NULL; i++)
		if (strcmp(s->reasons[i].decision, decision) == 0 &&
		    strcmp(s->reasons[i].code, reason) == 0)
			r = &s->reasons[i];
	if (r == NULL) {
		/* invariant 4: the last slot, once taken, is "other" for whatever comes after */
		r = &s->reasons[s->nreasons < AX_METRICS_REASONS_MAX ? s->nreasons++
		                                                     : AX_METRICS_REASONS_MAX - 1];
		if (r->n == 0) {
			snprintf(r->decision, sizeof(r->decision), "%s", decision);
			snprintf(r->code, sizeof(r->code), "%s",
			    s->nreasons == AX_METRICS_REASONS_MAX ? "other" : reason);
		}
	}
	r->n++;
	if (latency_s >= 0)
		observe(&s->latency, &LATENCY, latency_s);
out:
	pthread_mutex_unlock(&m->mu);
}

void
ax_metrics_batch(
    struct ax_metrics *m, const char *topic, int32_t partition, size_t commands, double seconds)
{
	struct series *s;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	if ((s = series_of(m, topic, partition)) != NULL) {
		observe(&s->batch_size, &BATCH_SIZE, (double)commands);
		observe(&s->batch_seconds, &BATCH_SECONDS, seconds);
	}
	pthread_mutex_unlock(&m->mu);
}

void
ax_metrics_partition(struct ax_metrics *m, const char *topic, int32_t partition,
    int64_t next_offset, int64_t log_end, int64_t lag, bool waiting, int64_t relay_backlog)
{
	struct series *s;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	if ((s = series_of(m, topic, partition)) != NULL) {
		s->next_offset = next_offset;
		if (log_end >= 0) {
			s->log_end = log_end;
			s->lag = lag;
		}
		s->waiting = waiting;
		s->relay_backlog = relay_backlog;
		s->gauges_known = true;
	}
	pthread_mutex_unlock(&m->mu);
}

void
ax_metrics_claim_lost(struct ax_metrics *m, const char *topic, int32_t partition)
{
	struct series *s;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	if ((s = series_of(m, topic, partition)) != NULL)
		s->claims_lost++;
	pthread_mutex_unlock(&m->mu);
}

/* v as a label value (invariant 3): \\, \" and \n escaped. */
static void
put_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* The labels of s: {topic="...",partition="N" then extra (no braces) and "}". */
static void
put_labels(FILE *f, const struct series *s, const char *extra)
{
	fputs("{topic=\"", f);
	put_label(f, s->topic);
	fprintf(f, "\",partition=\"%d\"%s%s}", (int)s->partition, extra[0] ? "," : "", extra);
}

static void
put_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One gauge family: the value of each series with known gauges, chosen by which. */
static void
put_gauges(FILE *f, struct ax_metrics *m, const char *name, const char *help, int which)
{
	size_t i;

	put_header(f, name, "gauge", help);
	for (i = 0; i < m->ns; i++) {
		const struct series *s = m->s[i];
		int64_t v;

		if (!s->gauges_known || (which == 1 && s->log_end < 0))
			continue;
		v = which == 0   ? s->next_offset
		    : which == 1 ? s->log_end
		    : which == 2 ? (s->lag >= 0                      ? s->lag
		                       : s->log_end > s->next_offset ? s->log_end - s->next_offset
		                                                     : 0)
		    : which == 3 ? (int64_t)s->waiting
		                 : s->relay_backlog;
		fputs(name, f);
		put_labels(f, s, "");
		fprintf(f, " %lld\n", (long long)v);
	}
}

static void
put_histograms(FILE *f, struct ax_metrics *m, const struct bounds *b, size_t offset)
{
	size_t i, k;
	char le[48];

	put_header(f, b->name, "histogram", b->help);
	for (i = 0; i < m->ns; i++) {
		const struct series *s = m->s[i];
		const struct hist *h = (const struct hist *)((const char *)s + offset);
		uint64_t cum = 0;

		for (k = 0; k <= b->n; k++) {
			cum += h->bucket[k];
			if (k < b->n)
				snprintf(le, sizeof(le), "le=\"%g\"", b->le[k]);
			else
				snprintf(le, sizeof(le), "le=\"+Inf\"");
			fprintf(f, "%s_bucket", b->name);
			put_labels(f, s, le);
			fprintf(f, " %llu\n", (unsigned long long)cum);
		}
		fprintf(f, "%s_sum", b->name);
		put_labels(f, s, "");
		fprintf(f, " %.9g\n%s_count", h->sum, b->name);
		put_labels(f, s, "");
		fprintf(f, " %llu\n", (unsigned long long)h->count);
	}
}

int
ax_metrics_render(struct ax_metrics *m, char **out, size_t *len, struct ax_err *err)
{
	FILE *f;
	size_t i, k;
	char extra[160];

	*out = NULL;
	*len = 0;
	if ((f = open_memstream(out, len)) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	pthread_mutex_lock(&m->mu);
	put_gauges(f, m, "axiom_applier_next_offset",
	    "The next offset to apply: committed up to here (exclusive).", 0);
	put_gauges(f, m, "axiom_applier_log_end",
	    "The partition's log end offset for a read_committed reader (the last stable offset), "
	    "last seen.",
	    1);
	put_gauges(f, m, "axiom_applier_lag",
	    "Offsets in the log not applied yet, from the first one a read_committed reader still "
	    "receives: transaction markers and aborted records after the last applied message do "
	    "not count.",
	    2);
	put_gauges(f, m, "axiom_applier_waiting_for_control",
	    "1 while the partition waits for the control watermark to reach its next command.", 3);
	put_gauges(f, m, "axiom_applier_relay_backlog",
	    "Offsets committed but not yet published on the audit topic.", 4);
	put_header(f, "axiom_applier_commands_total", "counter",
	    "Commands applied, by decision and reason code (empty when accepted).");
	for (i = 0; i < m->ns; i++)
		for (k = 0; k < m->s[i]->nreasons; k++) {
			const struct reason *r = &m->s[i]->reasons[k];

			snprintf(extra, sizeof(extra), "decision=\"%s\",reason=\"%s\"", r->decision,
			    r->code); /* decision and reason codes are [a-z_] (ax_batch.c) */
			fputs("axiom_applier_commands_total", f);
			put_labels(f, m->s[i], extra);
			fprintf(f, " %llu\n", (unsigned long long)r->n);
		}
	put_header(f, "axiom_applier_claims_lost_total", "counter",
	    "Times another writer claimed the partition from this one (it stopped as fenced).");
	for (i = 0; i < m->ns; i++) {
		fputs("axiom_applier_claims_lost_total", f);
		put_labels(f, m->s[i], "");
		fprintf(f, " %llu\n", (unsigned long long)m->s[i]->claims_lost);
	}
	put_histograms(f, m, &BATCH_SIZE, offsetof(struct series, batch_size));
	put_histograms(f, m, &BATCH_SECONDS, offsetof(struct series, batch_seconds));
	put_histograms(f, m, &LATENCY, offsetof(struct series, latency));
	pthread_mutex_unlock(&m->mu);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return ax_err_set(err, AX_ERR, "out of memory");
	}
	return AX_OK;
}

/* libmicrohttpd's request handler: GET /metrics, nothing else. */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct ax_metrics *m = cls;
	struct MHD_Response *r;
	struct ax_err err;
	unsigned code = MHD_HTTP_OK;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;

	(void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		text = strdup("only GET\n");
	} else if (strcmp(url, "/metrics") != 0) {
		code = MHD_HTTP_NOT_FOUND;
		text = strdup("the figures are at /metrics\n");
	} else if (ax_metrics_render(m, &text, &len, &err) != AX_OK) {
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		text = strdup("out of memory\n");
	}
	if (text == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type",
	    code == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

int
ax_metrics_serve(struct ax_metrics *m, const char *host_port, struct ax_err *err)
{
	struct addrinfo hints, *ai = NULL;
	const union MHD_DaemonInfo *info;
	char host[256];
	const char *colon = strrchr(host_port, ':');
	int rc;

	if (colon == NULL || colon == host_port || colon[1] == '\0' ||
	    (size_t)(colon - host_port) >= sizeof(host)) {
		ax_err_set(err, AX_EINVAL, "invalid metrics address \"%s\"", host_port);
		ax_err_hint(err, "Give HOST:PORT, for example 127.0.0.1:9464.");
		return AX_EINVAL;
	}
	memcpy(host, host_port, (size_t)(colon - host_port));
	host[colon - host_port] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
		ax_err_set(err, AX_EINVAL, "invalid metrics address \"%s\"", host_port);
		ax_err_detail(err, "%s", gai_strerror(rc));
		return AX_EINVAL;
	}
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, answer, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (m->daemon == NULL) {
		ax_err_set(err, AX_EUNAVAIL, "could not serve metrics on %s", host_port);
		ax_err_hint(err, "Is the port in use? Choose another with --metrics HOST:PORT.");
		return AX_EUNAVAIL;
	}
	info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info != NULL ? (int)info->port : 0;
	return AX_OK;
}

int
ax_metrics_port(const struct ax_metrics *m)
{
	return m != NULL ? m->port : 0;
}
