/*
 * ax_log.h - structured log lines: one line per notable event, key=value pairs.
 *
 *   ts=2026-11-29T13:40:35.123Z level=info event=assigned topic=axiom.commands partition=3
 *
 * The caller writes the pairs after the event name; a value that may hold spaces, quotes or
 * control characters (an error message, anything from a peer) goes through ax_log_quote.
 * Invariants: (1) one fprintf per line, so lines from several threads never mix; (2) a line
 * never holds a raw control character: ax_log escapes any that reach it, so a line is one
 * line and a tab is never a separator; (3) what libpq and librdkafka print goes through here
 * too (ax_pg.c, ax_kafka.c), as events pg_notice and kafka_log.
 * @locality: any thread.
 */
#ifndef AX_LOG_H
#define AX_LOG_H

#include <stddef.h>

enum ax_log_level { AX_LOG_DEBUG, AX_LOG_INFO, AX_LOG_WARN, AX_LOG_ERROR };

/* Lines below level are dropped (default AX_LOG_INFO). */
void ax_log_set_level(enum ax_log_level level);

/* Write one line: ts, level, event, then the formatted pairs. */
void ax_log(enum ax_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * s as one quoted log value in buf (at most cap bytes, cut short with "..." inside the
 * quotes when it does not fit): "..." with \" \\ \t \n \r and \xNN for other control bytes;
 * a NULL s is "". Returns buf.
 */
const char *ax_log_quote(char *buf, size_t cap, const char *s);

/* The size of a buffer ax_log_quote needs for an error message and its detail. */
#define AX_LOG_QUOTE_MAX 1100

#endif
