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

void
ax_log(enum ax_log_level level, const char *event, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char pairs[1536], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if ((int)level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(pairs, sizeof(pairs), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ts=%s.%03ldZ level=%s event=%s%s%s\n", ts, now.tv_nsec / 1000000L,
	    names[level], event, pairs[0] ? " " : "", pairs);
}
