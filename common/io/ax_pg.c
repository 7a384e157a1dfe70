/*
 * ax_pg.c - libpq adapter; see ax_pg.h.
 */
#include "ax_pg.h"

#include <libpq-events.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_hex.h"
#include "ax_log.h"

/* libpq ends its messages with a newline; messages here are single lines. */
static void
chomp_into(char *dst, size_t cap, const char *src)
{
	size_t n;

	snprintf(dst, cap, "%s", src ? src : "");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
		dst[--n] = '\0';
	for (char *p = dst; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

/*
 * What the server says outside a result (a NOTICE or WARNING, or the FATAL of a connection
 * the server is closing), as the project's structured lines (ax_log.h, invariant 3):
 * event=pg_notice with its severity, instead of libpq's bare line on stderr.
 */
static void
notice_cb(void *arg, const char *message)
{
	static const struct {
		const char *prefix;
		enum ax_log_level level;
	} sev[] = { { "PANIC:", AX_LOG_ERROR }, { "FATAL:", AX_LOG_ERROR },
		{ "ERROR:", AX_LOG_ERROR }, { "WARNING:", AX_LOG_WARN }, { "NOTICE:", AX_LOG_INFO },
		{ "INFO:", AX_LOG_INFO }, { "LOG:", AX_LOG_INFO }, { "DEBUG", AX_LOG_DEBUG } };
	char line[1024], q[AX_LOG_QUOTE_MAX], sq[32];
	const char *text = line, *severity = "";
	enum ax_log_level level = AX_LOG_INFO;
	size_t i, n;

	(void)arg;
	chomp_into(line, sizeof(line), message);
	for (i = 0; i < sizeof(sev) / sizeof(sev[0]); i++) {
		n = strlen(sev[i].prefix);
		if (strncmp(line, sev[i].prefix, n) == 0) {
			level = sev[i].level;
			severity = sev[i].prefix;
			text = line + n;
			while (*text == ' ')
				text++;
			break;
		}
	}
	snprintf(
	    sq, sizeof(sq), "%.*s", (int)(strlen(severity) ? strlen(severity) - 1 : 0), severity);
	ax_log(level, "pg_notice", "severity=%s message=%s", sq[0] ? sq : "unknown",
	    ax_log_quote(q, sizeof(q), text));
}

int
ax_pg_connect(PGconn **out, const char *dsn, const char *who, struct ax_err *err)
{
	/* in order: a connect_timeout inside dsn (expanded from "dbname") overrides ours */
	static const char *const keys[] = { "connect_timeout", "dbname",
		"fallback_application_name", NULL };
	const char *const vals[] = { "10", dsn, "axiom", NULL };
	char why[512];
	PGconn *conn;
	int code;

	*out = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL)
		return ax_err_set(err, AX_ERR, "out of memory connecting to PostgreSQL");
	if (PQstatus(conn) == CONNECTION_OK) {
		PQsetNoticeProcessor(conn, notice_cb, NULL);
		*out = conn;
		return AX_OK;
	}
	chomp_into(why, sizeof(why), PQerrorMessage(conn));
	if (strstr(why, "password authentication failed") != NULL ||
	    strstr(why, "does not exist") != NULL || strstr(why, "invalid ") != NULL ||
	    strstr(why, "no password supplied") != NULL || strstr(why, "not permitted") != NULL)
		code = AX_EINVAL;
	else
		code = AX_EUNAVAIL;
	ax_err_set(err, code, "could not connect to PostgreSQL as %s", who);
	ax_err_detail(err, "%s", why);
	if (code == AX_EUNAVAIL)
		ax_err_hint(err,
		    "Start the local stack with \"ops/stack up\", or point the DSN at a "
		    "running server.");
	else
		ax_err_hint(err, "Check the user and passfile in the DSN (\"ops/stack env\" prints "
		                 "the stack's).");
	PQfinish(conn);
	return code;
}

int
ax_pg_err(struct ax_err *err, PGconn *conn, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char msg[256];
	int code = AX_ERR;

	if (state == NULL || strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
	    (conn != NULL && PQstatus(conn) != CONNECTION_OK))
		code = AX_EUNAVAIL;
	else if (strcmp(state, AX_PG_SQLSTATE_FENCED) == 0)
		code = AX_ECONFLICT;
	else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
	         strncmp(state, "42", 2) == 0 || strncmp(state, "28", 2) == 0)
		code = AX_EINVAL;
	chomp_into(msg, sizeof(msg), primary ? primary : PQerrorMessage(conn));
	ax_err_set(err, code, "%s: %s", what, msg);
	if (state != NULL)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	if (detail != NULL)
		chomp_into(err->detail, sizeof(err->detail), detail);
	if (hint != NULL)
		chomp_into(err->hint, sizeof(err->hint), hint);
	return code;
}

/* The statements a connection prepared (its libpq event data), by name: a few entries. */
struct prepared {
	const char *name; /* the ax_pg_stmt's, which outlives the connection */
	struct prepared *next;
};

static void
prepared_free(struct prepared *p)
{
	while (p != NULL) {
		struct prepared *next = p->next;

		free(p);
		p = next;
	}
}

/* libpq's events of a connection that ran ax_pg_exec_stmt: a reset starts a new server
 * session (nothing prepared any more), a destroyed connection frees the list. */
static int
prepared_events(PGEventId id, void *info, void *pass)
{
	PGconn *conn = NULL;

	(void)pass;
	if (id == PGEVT_CONNRESET)
		conn = ((PGEventConnReset *)info)->conn;
	else if (id == PGEVT_CONNDESTROY)
		conn = ((PGEventConnDestroy *)info)->conn;
	if (conn != NULL) {
		prepared_free(PQinstanceData(conn, prepared_events));
		PQsetInstanceData(conn, prepared_events, NULL);
	}
	return 1;
}

static bool
is_prepared(PGconn *conn, const char *name)
{
	struct prepared *p;

	for (p = PQinstanceData(conn, prepared_events); p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			return true;
	return false;
}

/* Remember name as prepared on conn; false when it cannot (out of memory, or libpq did not
 * take the event procedure). Registering twice fails harmlessly: the procedure is the same. */
static bool
remember(PGconn *conn, const char *name)
{
	struct prepared *list = PQinstanceData(conn, prepared_events), *p;

	if (list == NULL) {
		(void)PQregisterEventProc(conn, prepared_events, "axiom prepared statements", NULL);
		if (!PQsetInstanceData(conn, prepared_events, NULL))
			return false;
	}
	if ((p = malloc(sizeof(*p))) == NULL)
		return false;
	p->name = name;
	p->next = list;
	PQsetInstanceData(conn, prepared_events, p);
	return true;
}

static void
forget(PGconn *conn, const char *name)
{
	struct prepared *p = PQinstanceData(conn, prepared_events), *prev = NULL;

	for (; p != NULL && strcmp(p->name, name) != 0; prev = p, p = p->next)
		;
	if (p == NULL)
		return;
	if (prev == NULL)
		PQsetInstanceData(conn, prepared_events, p->next);
	else
		prev->next = p->next;
	free(p);
}

static void
deallocate(PGconn *conn, const char *name)
{
	char *id = PQescapeIdentifier(conn, name, strlen(name));
	char sql[160];

	if (id != NULL && snprintf(sql, sizeof(sql), "DEALLOCATE %s", id) < (int)sizeof(sql))
		PQclear(PQexec(conn, sql));
	PQfreemem(id);
}

static bool
sqlstate_is(const PGresult *res, const char *code)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return state != NULL && strcmp(state, code) == 0;
}

PGresult *
ax_pg_exec_stmt(PGconn *conn, const struct ax_pg_stmt *s, const char *const *params)
{
	PGresult *res;
	bool retried = false;

	for (;;) {
		if (!is_prepared(conn, s->name)) {
			res = PQprepare(conn, s->name, s->sql, s->nparams, NULL);
			/* 42P05: the session has it (a prepare whose answer was lost, or one the
			 * connection could not remember) */
			if (PQresultStatus(res) != PGRES_COMMAND_OK && !sqlstate_is(res, "42P05"))
				return res;
			PQclear(res);
			if (!remember(conn, s->name)) /* parsed and planned for this call only */
				return PQexecParams(
				    conn, s->sql, s->nparams, NULL, params, NULL, NULL, 0);
		}
		res = PQexecPrepared(conn, s->name, s->nparams, params, NULL, NULL, 0);
		/* once, outside a transaction block (the failed call changed nothing): the session
		 * lost the statement (26000: DEALLOCATE, DISCARD ALL), or its result type changed
		 * under it (0A000, "cached plan must not change result type": a migration) */
		if (retried || PQtransactionStatus(conn) != PQTRANS_IDLE ||
		    !(sqlstate_is(res, "26000") || sqlstate_is(res, "0A000")))
			return res;
		if (sqlstate_is(res, "0A000"))
			deallocate(conn, s->name); /* it is still there, with its old result type */
		PQclear(res);
		retried = true;
		forget(conn, s->name);
	}
}

int
ax_pg_exec(PGconn *conn, const char *sql, const char *what, struct ax_err *err)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = AX_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = ax_pg_err(err, conn, res, what);
	PQclear(res);
	return rc;
}

int
ax_pg_query_value(PGconn *conn, const char *sql, char *out, size_t cap, struct ax_err *err)
{
	PGresult *res = PQexec(conn, sql);
	int rc = AX_OK;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "query failed");
		goto out;
	}
	if (PQntuples(res) < 1 || PQnfields(res) < 1) {
		rc = ax_err_set(err, AX_ERR, "query returned no row");
		goto out;
	}
	snprintf(out, cap, "%s", PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return rc;
}

int
ax_pg_get_hex(uint8_t **out, size_t *out_len, const PGresult *res, int row, int col)
{
	return ax_hex_decode_new(
	    out, out_len, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

/* Make room for need bytes in a's buffer; -1 when out of memory. */
static int
array_reserve(struct ax_pg_array *a, size_t need)
{
	char *p;

	if (need <= a->cap)
		return 0;
	if ((p = realloc(a->buf, need * 2)) == NULL)
		return -1;
	a->buf = p;
	a->cap = need * 2;
	return 0;
}

int
ax_pg_array_add(struct ax_pg_array *a, const char *s)
{
	char *p;

	/* separator, two quotes, every byte escaped at worst, then room for "}" and NUL */
	if (array_reserve(a, a->len + 2 * strlen(s) + 5) != 0)
		return -1;
	p = a->buf + a->len;
	*p++ = a->len == 0 ? '{' : ',';
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	a->len = (size_t)(p - a->buf);
	return 0;
}

const char *
ax_pg_array_text(struct ax_pg_array *a)
{
	if (array_reserve(a, a->len + 3) != 0)
		return NULL;
	if (a->len == 0)
		memcpy(a->buf, "{}", 3);
	else
		memcpy(a->buf + a->len, "}", 2);
	return a->buf;
}

void
ax_pg_array_free(struct ax_pg_array *a)
{
	free(a->buf);
	a->buf = NULL;
	a->len = a->cap = 0;
}
