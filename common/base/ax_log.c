/*
 * ax_log.c - structured log lines; see ax_log.h.
 */
#include "ax_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static volatile int min_level = AX_LOG_INFO;

void
ax_log_set_level(enum ax_log_level level)
{
	min_level = (int)level;
}

/* The escape of control byte c into out (at least 5 bytes): its length. */
static size_t
escape_control(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\t':
		out[0] = '\\', out[1] = 't';
		return 2;
	case '\n':
		out[0] = '\\', out[1] = 'n';
		return 2;
	case '\r':
		out[0] = '\\', out[1] = 'r';
		return 2;
	default:
		out[0] = '\\', out[1] = 'x', out[2] = hex[c >> 4], out[3] = hex[c & 15];
		return 4;
	}
}

const char *
ax_log_quote(char *buf, size_t cap, const char *s)
{
	size_t n = 0, k;
	char e[5];

	if (cap < 6) {
		if (cap > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[n++] = '"';
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			e[0] = '\\', e[1] = (char)c, k = 2;
		else if (c < 0x20 || c == 0x7f)
			k = escape_control(e, c);
		else
			e[0] = (char)c, k = 1;
		if (n + k + 2 > cap) { /* room for the closing quote and the NUL */
			n = n > cap - 6 ? cap - 6 : n;
			buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
			break;
		}
		for (size_t i = 0; i < k; i++)
			buf[n++] = e[i];
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

void
ax_log(enum ax_log_level level, const char *event, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char pairs[1536], clean[sizeof(pairs) * 2], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	size_t i, n = 0;

	if ((int)level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(pairs, sizeof(pairs), fmt, ap);
	va_end(ap);
	/* invariant 2: whatever a caller passed unquoted, the line stays one line */
	for (i = 0; pairs[i] != '\0' && n + 5 < sizeof(clean); i++) {
		unsigned char c = (unsigned char)pairs[i];

		if (c < 0x20 || c == 0x7f)
			n += escape_control(clean + n, c);
		else
			clean[n++] = (char)c;
	}
	clean[n] = '\0';
	fprintf(stderr, "ts=%s.%03ldZ level=%s event=%s%s%s\n", ts, now.tv_nsec / 1000000L,
	    names[level], event, clean[0] ? " " : "", clean);
}
