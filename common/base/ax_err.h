/*
 * ax_err.h - the one error carrier of Axiom.
 *
 * Every fallible function returns an int: AX_OK (0) on success, or one of the few negative
 * codes below, and fills a caller-owned struct ax_err with a message a person can act on.
 * Each library's own result type (rd_kafka_resp_err_t, libpq status + SQLSTATE, avro-c,
 * FIDO_ERR_*, OpenSSL) is translated into this record in exactly one adapter.
 *
 * Wording follows PostgreSQL's: a short lower-case primary message ("could not reach the
 * kafka broker at 127.0.0.1:19092"), a factual detail, an optional hint saying what to do.
 */
#ifndef AX_ERR_H
#define AX_ERR_H

#include <stdarg.h>
#include <stdio.h>

enum ax_rc {
	AX_OK = 0,
	AX_ERR = -1,      /* anything else; the message says what */
	AX_EUNAVAIL = -2, /* a peer (broker, database) cannot be reached; may pass */
	AX_EINVAL = -3,   /* bad input or configuration; will not pass by retrying */
	AX_ECONFLICT = -4 /* the world disagrees with what was asked (existing topic, ...) */
};

struct ax_err {
	int code;         /* one of enum ax_rc */
	int lib_code;     /* the library's own code, 0 when none */
	char sqlstate[6]; /* PostgreSQL SQLSTATE, "" when none */
	char msg[256];    /* primary message */
	char detail[768]; /* facts behind it, "" when none */
	char hint[256];   /* what to do, "" when none */
};

/* Clear err to "no error". */
void ax_err_clear(struct ax_err *err);

/* Set code and primary message of err (detail and hint cleared); returns code. */
int ax_err_set(struct ax_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the detail of err, keeping the rest. */
void ax_err_detail(struct ax_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the hint of err, keeping the rest. */
void ax_err_hint(struct ax_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print err to fp as "prog: error: msg", then "DETAIL: ..." and "HINT: ..." lines. */
void ax_err_print(FILE *fp, const char *prog, const struct ax_err *err);

/* A stable lower-case name of an enum ax_rc value ("ok", "unavailable", ...). */
const char *ax_rc_name(int code);

#endif
