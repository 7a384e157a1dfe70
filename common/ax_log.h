/*
 * ax_log.h - structured log lines: one line per notable event, key=value pairs.
 *
 *   ts=2026-11-29T13:40:35.123Z level=info event=assigned topic=axiom.commands partition=3
 *
 * The caller writes the pairs after the event name (values with spaces are quoted by the
 * caller with %s="..."); one fprintf per line, so lines from several threads never mix.
 * @locality: any thread.
 */
#ifndef AX_LOG_H
#define AX_LOG_H

enum ax_log_level { AX_LOG_DEBUG, AX_LOG_INFO, AX_LOG_WARN, AX_LOG_ERROR };

/* Lines below level are dropped (default AX_LOG_INFO). */
void ax_log_set_level(enum ax_log_level level);

/* Write one line: ts, level, event, then the formatted pairs. */
void ax_log(enum ax_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
