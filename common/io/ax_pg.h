/*
 * ax_pg.h - the adapter between Axiom and libpq.
 *
 * The only place that turns libpq statuses and SQLSTATEs into struct ax_err. Connections
 * are bounded by connect_timeout (the stack's DSNs carry 5 s; 10 s when a DSN has none).
 */
#ifndef AX_PG_H
#define AX_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

/*
 * Connect with dsn (a libpq connection string); who names the connection in messages
 * ("the runtime role"). AX_EUNAVAIL when the server cannot be reached, AX_EINVAL when it
 * refuses the credentials or the DSN is malformed. *out is owned by the caller (PQfinish).
 */
int ax_pg_connect(PGconn **out, const char *dsn, const char *who, struct ax_err *err);

/*
 * The project's own SQLSTATEs, raised by db/ (RAISE ... USING ERRCODE), each mapped to one ax
 * code by ax_pg_err. AX409: claim_conflict or offset_conflict
 * (db/definitions/80_batch_entry_point.sql), a writer that lost its partition or found the
 * stored next offset moved: it must stop (fenced).
 */
#define AX_PG_SQLSTATE_FENCED "AX409"

/*
 * Translate a failed result (NULL means "no result": the connection is gone) into err,
 * with SQLSTATE, primary message, detail and hint from the server. Returns the ax code:
 * AX_EUNAVAIL for connection classes (08, 57P0x) and whenever conn is no longer
 * CONNECTION_OK (callers need not check it again), AX_ECONFLICT for AX_PG_SQLSTATE_FENCED,
 * AX_EINVAL for 22/23/42 classes and authorization (28), AX_ERR otherwise.
 */
int ax_pg_err(struct ax_err *err, PGconn *conn, const PGresult *res, const char *what);

/*
 * A statement prepared once per connection instead of parsed and analysed on every call: the
 * applier's per-batch statements (the head lookup, the batch itself, the watermark, the
 * signing contexts, the relay's ledger read), which small batches pay for on every call. A
 * session with plan_cache_mode = force_generic_plan (the writer's) also plans it once. One
 * struct per name (the connection remembers names), and it must outlive every connection that
 * ran it: define each as a static const.
 */
struct ax_pg_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/*
 * Run s on conn with its nparams text parameters (NULL for SQL NULL), text results, like
 * PQexecParams: the result (NULL when memory ran out or the connection is gone), the caller
 * checks its status and PQclear()s it. The first call of s on a connection prepares it
 * (PQprepare; one the session holds already counts as prepared); the connection remembers
 * which statements it prepared until it is closed or reset (libpq event data), so a
 * reconnected session prepares them again. A failed prepare is returned as the result. Outside
 * a transaction block, a call that finds its statement gone (26000) or its result type changed
 * (0A000, after a migration) prepares it again and runs it once more: the failed call changed
 * nothing. When the connection cannot remember (out of memory), s runs as PQexecParams would.
 * One connection, one thread at a time (libpq's rule).
 */
PGresult *ax_pg_exec_stmt(PGconn *conn, const struct ax_pg_stmt *s, const char *const *params);

/*
 * Run sql (no parameters) for its effect: AX_OK when the server reports success, with or
 * without rows; otherwise ax_pg_err's code, the message starting with what.
 */
int ax_pg_exec(PGconn *conn, const char *sql, const char *what, struct ax_err *err);

/*
 * Run sql (no parameters) and copy the first column of its first row into out (capacity
 * cap, NUL-terminated, "" for NULL). AX_ERR with a message when the query returns no row.
 */
int ax_pg_query_value(PGconn *conn, const char *sql, char *out, size_t cap, struct ax_err *err);

/*
 * Decode column col of row of res, the hex text of a bytea (encode(..., 'hex'); a NULL reads
 * as no bytes), into a new buffer *out of *out_len bytes owned by the caller (free()). 0, or
 * -1 with *out = NULL when the text is not hex or memory ran out.
 */
int ax_pg_get_hex(uint8_t **out, size_t *out_len, const PGresult *res, int row, int col);

/*
 * A PostgreSQL array literal ({"a","b"}) built element by element, for the batch queries
 * that pass one array per column and unnest them (one round trip for a whole batch).
 * Zero-initialise; free with ax_pg_array_free.
 */
struct ax_pg_array {
	char *buf;
	size_t len, cap;
};

/* Append s as one element, quoted (" and \ escaped); -1 when out of memory. */
int ax_pg_array_add(struct ax_pg_array *a, const char *s);

/* The literal so far, closed ("{}" when empty); NULL when out of memory. Valid until the
 * next ax_pg_array_add or ax_pg_array_free. */
const char *ax_pg_array_text(struct ax_pg_array *a);

void ax_pg_array_free(struct ax_pg_array *a);

#endif
