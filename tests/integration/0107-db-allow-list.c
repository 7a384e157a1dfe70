/*
 * 0107-db-allow-list - roles layer (nothing for PUBLIC), db/0020: everything each login can
 * do in the project's database, read from the catalog (through PUBLIC as well as its own
 * grants and role memberships), is on an allow-list kept in the repository
 * (tests/data/allow-list/<login>.txt); no login other than the applier's can take a
 * lock the applier takes, or write a large object, a notification or a WAL message; and a
 * batch through the real entry point commits while both readers hold open transactions that
 * did everything they still may.
 *
 * Regenerate the lists (after a migration changes what a login holds), then review the diff:
 *   AXIOM_ALLOWLIST_WRITE=tests/data/allow-list tests/with-stack \
 *       build/tests/it_0107_db_allow_list
 * (from the repository's root; AXIOM_ROOT defaults to the current folder).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ax_dbtest.h"

#define DENIED      "42501"
#define LINE_MAX_AX 1024

static const char *const LOGINS[] = { "axiom_user", "axiom_analytics", "axiom_auditor" };

/*
 * Every privilege login $1 holds, one line each, "<kind> <privilege> <object>", sorted in C
 * collation. Run with search_path = pg_catalog, so that types of pg_catalog print bare and
 * all others schema-qualified. has_*_privilege counts PUBLIC's grants and those of the roles
 * the login inherits from; memberships are listed on their own (member-of), so a NOINHERIT
 * membership shows as well. Left out, allowed by the rules of the allow-list header:
 * EXECUTE on STABLE and IMMUTABLE functions of pg_catalog and information_schema, and
 * SELECT on their relations and columns.
 */
static const char *const ENUMERATE_SQL[] = {
	"WITH me AS (SELECT r.oid AS id, r.* FROM pg_roles r WHERE r.rolname = $1),"
	" sys AS (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', "
	"  'information_schema')),"
	" ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname !~ '^pg_(toast_)?temp_')"
	"SELECT line FROM ("
	/* (a) functions: every one outside the system schemas, the VOLATILE ones inside */
	" SELECT format('function EXECUTE %I.%I(%s)', ns.nspname, p.proname,"
	"        oidvectortypes(p.proargtypes)) AS line"
	"   FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace"
	"  WHERE (p.pronamespace NOT IN (SELECT oid FROM sys) OR p.provolatile = 'v')"
	"    AND has_function_privilege($1, p.oid, 'EXECUTE')"
	/* (b) tables, views, sequences; on system relations every privilege but SELECT */
	" UNION ALL"
	" SELECT format('%s %s %I.%I', CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END,"
	"        x.priv, ns.nspname, c.relname)"
	"   FROM pg_class c JOIN ns ON ns.oid = c.relnamespace,"
	"        unnest(CASE c.relkind WHEN 'S' THEN ARRAY['USAGE', 'SELECT', 'UPDATE']"
	"        ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',"
	"        'TRIGGER'] END) x(priv)"
	"  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
	"    AND NOT (c.relnamespace IN (SELECT oid FROM sys) AND x.priv = 'SELECT')"
	"    AND CASE c.relkind WHEN 'S' THEN has_sequence_privilege($1, c.oid, x.priv)"
	"        ELSE has_table_privilege($1, c.oid, x.priv) END"
	/* columns: a privilege held on a column but not on its whole relation */
	" UNION ALL"
	" SELECT format('column %s %I.%I.%I', x.priv, ns.nspname, c.relname, a.attname)"
	"   FROM pg_class c JOIN ns ON ns.oid = c.relnamespace"
	"   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped,"
	"        unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) x(priv)"
	"  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
	"    AND NOT (c.relnamespace IN (SELECT oid FROM sys) AND x.priv = 'SELECT')"
	"    AND has_column_privilege($1, c.oid, a.attnum, x.priv)"
	"    AND NOT has_table_privilege($1, c.oid, x.priv)",
	/* (c) schemas, the database, languages, types, tablespaces, foreign data */
	" UNION ALL"
	" SELECT format('schema %s %I', x.priv, ns.nspname)"
	"   FROM ns, unnest(ARRAY['USAGE', 'CREATE']) x(priv)"
	"  WHERE has_schema_privilege($1, ns.oid, x.priv)"
	" UNION ALL"
	" SELECT format('database %s (this database)', x.priv)"
	"   FROM unnest(ARRAY['CONNECT', 'CREATE', 'TEMPORARY']) x(priv)"
	"  WHERE has_database_privilege($1, current_database(), x.priv)"
	" UNION ALL"
	" SELECT format('language USAGE %I', l.lanname) FROM pg_language l"
	"  WHERE has_language_privilege($1, l.oid, 'USAGE')"
	" UNION ALL"
	" SELECT format('type USAGE %I.%I', ns.nspname, t.typname)"
	"   FROM pg_type t JOIN ns ON ns.oid = t.typnamespace"
	"   LEFT JOIN pg_class c ON c.oid = t.typrelid"
	"  WHERE t.typnamespace NOT IN (SELECT oid FROM sys) AND t.typcategory <> 'A'"
	"    AND (t.typrelid = 0 OR c.relkind = 'c')"
	"    AND has_type_privilege($1, t.oid, 'USAGE')"
	" UNION ALL"
	" SELECT format('tablespace CREATE %I', s.spcname) FROM pg_tablespace s"
	"  WHERE has_tablespace_privilege($1, s.oid, 'CREATE')"
	" UNION ALL"
	" SELECT format('foreign-data-wrapper USAGE %I', w.fdwname) FROM pg_foreign_data_wrapper w"
	"  WHERE has_foreign_data_wrapper_privilege($1, w.oid, 'USAGE')"
	" UNION ALL"
	" SELECT format('foreign-server USAGE %I', s.srvname) FROM pg_foreign_server s"
	"  WHERE has_server_privilege($1, s.oid, 'USAGE')",
	/* large objects: owned, or granted to the login or to PUBLIC */
	" UNION ALL"
	" SELECT format('large-object OWNER %s', m.oid) FROM pg_largeobject_metadata m, me"
	"  WHERE pg_has_role(me.id, m.lomowner, 'USAGE')"
	" UNION ALL"
	" SELECT format('large-object %s %s', x.privilege_type, m.oid)"
	"   FROM pg_largeobject_metadata m, aclexplode(m.lomacl) x, me"
	"  WHERE x.grantee = 0 OR pg_has_role(me.id, x.grantee, 'USAGE')"
	" UNION ALL"
	" SELECT 'setting lo_compat_privileges on'"
	"  WHERE current_setting('lo_compat_privileges')::boolean"
	/* the login's memberships (pg_* predefined roles included) and powers */
	" UNION ALL"
	" SELECT format('member-of %I', g.rolname) FROM pg_roles g, me"
	"  WHERE g.oid <> me.id AND pg_has_role(me.id, g.oid, 'MEMBER')"
	" UNION ALL"
	" SELECT 'role ' || x.attr FROM me, LATERAL (VALUES ('LOGIN', me.rolcanlogin),"
	"        ('SUPERUSER', me.rolsuper), ('CREATEDB', me.rolcreatedb),"
	"        ('CREATEROLE', me.rolcreaterole), ('REPLICATION', me.rolreplication),"
	"        ('BYPASSRLS', me.rolbypassrls)) x(attr, held)"
	"  WHERE x.held"
	/* parameters: SET on the superuser-only ones, ALTER SYSTEM on any */
	" UNION ALL"
	" SELECT format('parameter %s %s', x.priv, s.name)"
	"   FROM (SELECT name, context FROM pg_settings"
	"         UNION SELECT parname, 'superuser' FROM pg_parameter_acl) s,"
	"        unnest(ARRAY['SET', 'ALTER SYSTEM']) x(priv)"
	"  WHERE (x.priv = 'ALTER SYSTEM' OR s.context = 'superuser')"
	"    AND has_parameter_privilege($1, s.name, x.priv)"
	") l ORDER BY line COLLATE \"C\"",
};

/* The STABLE and IMMUTABLE functions of the system schemas login $1 may execute. */
static const char BY_RULE_SQL[] =
    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE n.nspname IN ('pg_catalog', 'information_schema') AND p.provolatile <> 'v'"
    "   AND has_function_privilege($1, p.oid, 'EXECUTE')";

static const char HEADER[] =
    "# Everything %s may do in the project's database, one privilege a line, sorted in C\n"
    "# collation: \"<kind> <privilege> <object>\". tests/integration/0107-db-allow-list.c reads\n"
    "# it from the catalog, through PUBLIC and role membership as well as the login's own\n"
    "# grants, and fails on any privilege held that is not listed here; a listed line that is\n"
    "# no longer held fails a test of its own (the list is then out of date, not unsafe).\n"
    "#\n"
    "# Allowed by rule, not listed (the test prints how many):\n"
    "#  - EXECUTE on the STABLE and IMMUTABLE functions of pg_catalog and information_schema:\n"
    "#    PostgreSQL's volatility contract says such a function cannot modify the database,\n"
    "#    and the system's own keep it (they read; the few that lock take ACCESS SHARE on\n"
    "#    what they read, as a SELECT does). Every VOLATILE one held is listed.\n"
    "#  - SELECT on the relations and columns of pg_catalog and information_schema (what\n"
    "#    PostgreSQL shows every login); any other privilege on them is listed.\n"
    "#\n"
    "# Regenerate, from the repository's root with the stack up, and review the diff:\n"
    "#   AXIOM_ALLOWLIST_WRITE=tests/data/allow-list tests/with-stack \\\n"
    "#       build/tests/it_0107_db_allow_list\n";

struct lines {
	char **v;
	size_t n, cap;
};

static void
lines_add(struct lines *l, const char *s)
{
	size_t len = strlen(s);

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		ck_assert_ptr_nonnull(l->v);
	}
	l->v[l->n] = malloc(len + 1);
	ck_assert_ptr_nonnull(l->v[l->n]);
	memcpy(l->v[l->n], s, len + 1);
	l->n++;
}

static void
lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What login holds, sorted; *by_rule: how many functions the rule allows besides. */
static void
held_by(const char *login, struct lines *out, long *by_rule)
{
	const char *params[1] = { login };
	static char sql[16384];
	size_t used = 0, len;
	PGresult *res;
	int i;

	/* one query, kept in parts below the length a C compiler must support */
	for (i = 0; i < (int)(sizeof(ENUMERATE_SQL) / sizeof(ENUMERATE_SQL[0])); i++) {
		len = strlen(ENUMERATE_SQL[i]);
		ck_assert_uint_lt(used + len, sizeof(sql));
		memcpy(sql + used, ENUMERATE_SQL[i], len);
		used += len;
	}
	sql[used] = '\0';
	dbt_exec(T.admin, "SET search_path = pg_catalog");
	res = PQexecParams(T.admin, sql, 1, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "enumerate %s: %s", login,
	    PQresultErrorMessage(res));
	for (i = 0; i < PQntuples(res); i++)
		lines_add(out, PQgetvalue(res, i, 0));
	PQclear(res);
	res = PQexecParams(T.admin, BY_RULE_SQL, 1, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "count %s: %s", login,
	    PQresultErrorMessage(res));
	*by_rule = dbt_int(PQgetvalue(res, 0, 0));
	PQclear(res);
	dbt_exec(T.admin, "RESET search_path");
	qsort(out->v, out->n, sizeof(*out->v), cmp_line);
}

static void
list_path(char *path, size_t cap, const char *dir, const char *login)
{
	const char *root = getenv("AXIOM_ROOT");

	if (dir != NULL)
		snprintf(path, cap, "%s/%s.txt", dir, login);
	else
		snprintf(path, cap, "%s/tests/data/allow-list/%s.txt", root ? root : ".", login);
}

/* The allow-list of login (comments and blank lines skipped), sorted. */
static void
allowed_for(const char *login, struct lines *out)
{
	char path[1024], buf[LINE_MAX_AX];
	size_t len;
	FILE *fp;

	list_path(path, sizeof(path), NULL, login);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot read %s: %s", path, strerror(errno));
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		len = strlen(buf);
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		lines_add(out, buf);
	}
	fclose(fp);
	qsort(out->v, out->n, sizeof(*out->v), cmp_line);
}

static void
write_list(const char *dir, const char *login, const struct lines *l)
{
	char path[1024];
	size_t i;
	FILE *fp;

	if (mkdir(dir, 0777) != 0)
		ck_assert_msg(errno == EEXIST, "cannot create %s: %s", dir, strerror(errno));
	list_path(path, sizeof(path), dir, login);
	fp = fopen(path, "w");
	ck_assert_msg(fp != NULL, "cannot write %s: %s", path, strerror(errno));
	fprintf(fp, HEADER, login);
	for (i = 0; i < l->n; i++)
		fprintf(fp, "%s\n", l->v[i]);
	ck_assert_int_eq(fclose(fp), 0);
	printf("wrote %s (%zu lines)\n", path, l->n);
}

/*
 * Lines of a not in b (both sorted), appended to report (at most cap bytes); their count.
 */
static size_t
missing_from(
    const struct lines *a, const struct lines *b, const char *login, char *report, size_t cap)
{
	size_t i = 0, j = 0, n = 0, used = strlen(report);
	int c;

	while (i < a->n) {
		c = j < b->n ? strcmp(a->v[i], b->v[j]) : -1;
		if (c == 0) {
			i++;
			j++;
		} else if (c > 0) {
			j++;
		} else {
			if (used + 1 < cap)
				used += (size_t)snprintf(
				    report + used, cap - used, "  %s: %s\n", login, a->v[i]);
			if (used >= cap)
				used = cap - 1;
			n++;
			i++;
		}
	}
	return n;
}

static void
setup(void)
{
	dbt_setup("0107");
	dbt_seed();
}

static void
teardown(void)
{
	dbt_teardown();
}

START_TEST(test_each_login_holds_nothing_beyond_its_allow_list)
{
	static char report[65536];
	const char *dir = getenv("AXIOM_ALLOWLIST_WRITE");
	struct lines held, allowed;
	size_t i, extra = 0;
	long by_rule;

	report[0] = '\0';
	for (i = 0; i < sizeof(LOGINS) / sizeof(LOGINS[0]); i++) {
		memset(&held, 0, sizeof(held));
		memset(&allowed, 0, sizeof(allowed));
		held_by(LOGINS[i], &held, &by_rule);
		printf("%s: %zu privileges held and listed by kind; EXECUTE on %ld STABLE or "
		       "IMMUTABLE system functions allowed by rule\n",
		    LOGINS[i], held.n, by_rule);
		/* the readers' lists can never be empty: a broken query must not pass */
		ck_assert_uint_gt(held.n, 0);
		if (dir != NULL && dir[0] != '\0') {
			write_list(dir, LOGINS[i], &held);
		} else {
			allowed_for(LOGINS[i], &allowed);
			extra += missing_from(&held, &allowed, LOGINS[i], report, sizeof(report));
		}
		lines_free(&held);
		lines_free(&allowed);
	}
	/* the list goes to stdout: Check's messages are limited to a few kilobytes */
	if (extra > 0)
		printf("held but not on the allow-list (tests/data/allow-list/):\n%s", report);
	ck_assert_msg(extra == 0,
	    "%zu privileges held but not on the allow-list (listed above); if a migration meant "
	    "to grant them, regenerate the lists (header of the list files) and have the diff "
	    "reviewed",
	    extra);
}
END_TEST

START_TEST(test_every_listed_privilege_is_still_held)
{
	static char report[65536];
	struct lines held, allowed;
	size_t i, stale = 0;
	long by_rule;

	if (getenv("AXIOM_ALLOWLIST_WRITE") != NULL)
		return; /* the lists were just written from what is held */
	report[0] = '\0';
	for (i = 0; i < sizeof(LOGINS) / sizeof(LOGINS[0]); i++) {
		memset(&held, 0, sizeof(held));
		memset(&allowed, 0, sizeof(allowed));
		held_by(LOGINS[i], &held, &by_rule);
		allowed_for(LOGINS[i], &allowed);
		stale += missing_from(&allowed, &held, LOGINS[i], report, sizeof(report));
		lines_free(&held);
		lines_free(&allowed);
	}
	/* not a hole, but a list that allows more than is held would hide a later re-grant */
	if (stale > 0)
		printf("on the allow-list but no longer held:\n%s", report);
	ck_assert_msg(stale == 0,
	    "%zu allow-list lines are no longer held (listed above): the list is out of date, "
	    "regenerate it (header of the list files)",
	    stale);
}
END_TEST

/*
 * Run sql on conn, which must be refused with want; on a mismatch append a line to report.
 * Whatever happened, conn is left outside a transaction.
 */
static int
refused(PGconn *conn, const char *who, const char *want, const char *sql, char *report, size_t cap)
{
	char got[8];
	size_t used = strlen(report);

	snprintf(got, sizeof(got), "%s", dbt_state(conn, "%s", sql));
	PQclear(PQexec(conn, "ROLLBACK"));
	if (strcmp(got, want) == 0)
		return 0;
	if (used + 1 < cap)
		snprintf(report + used, cap - used, "  %s: %s -> %s\n", who, sql,
		    got[0] ? got : "succeeded");
	return 1;
}

START_TEST(test_readers_cannot_lock_write_large_objects_notify_or_emit_wal)
{
	static const char *const calls[] = {
		/* the applier's keys: the control partition, a data partition, the migrator's */
		"SELECT pg_advisory_lock(hashtextextended('axiom.control/0', 7))",
		"SELECT pg_advisory_xact_lock(hashtextextended('axiom.control/0', 7))",
		"SELECT pg_try_advisory_lock(hashtextextended('axiom.commands/3', 7))",
		"SELECT pg_advisory_lock_shared(hashtextextended('axiom.commands/3', 7))",
		"SELECT pg_try_advisory_xact_lock_shared(hashtextextended('axiom.commands/3', 7))",
		"SELECT pg_advisory_lock(7275829112)",
		"SELECT pg_advisory_lock(1, 2)",
		"SELECT pg_advisory_unlock_all()",
		"SELECT lo_from_bytea(0, '\\x00')",
		"SELECT lo_create(0)",
		"SELECT lo_creat(-1)",
		"SELECT lo_put(1, 0, '\\x00')",
		"SELECT lo_unlink(1)",
		"SELECT pg_notify('axiom', 'x')",
		"SELECT pg_logical_emit_message(false, 'axiom', 'x')",
		/* not functions: row locks need UPDATE, stronger table locks a write privilege */
		"BEGIN; SELECT 1 FROM axiom.records FOR KEY SHARE",
		"BEGIN; LOCK TABLE axiom.records IN ROW SHARE MODE",
		"BEGIN; LOCK TABLE axiom.session_events IN ROW EXCLUSIVE MODE",
		"CREATE TEMP TABLE t (a int)",
	};
	static const char *const auditor_only[] = {
		"BEGIN; SELECT 1 FROM axiom.partition_claims FOR SHARE",
		"BEGIN; SELECT 1 FROM axiom.control_watermark FOR KEY SHARE",
		"BEGIN; LOCK TABLE axiom.partition_offsets IN SHARE MODE",
	};
	static char report[16384];
	PGconn *conns[2] = { T.analytics, T.auditor };
	const char *names[2] = { "axiom_analytics", "axiom_auditor" };
	size_t i, k;
	int bad = 0;

	report[0] = '\0';
	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
			bad +=
			    refused(conns[k], names[k], DENIED, calls[i], report, sizeof(report));
		for (i = 0; k == 1 && i < sizeof(auditor_only) / sizeof(auditor_only[0]); i++)
			bad += refused(
			    conns[k], names[k], DENIED, auditor_only[i], report, sizeof(report));
		/* nothing a call above may have taken outlives this test (old migrations) */
		PQclear(PQexec(conns[k], "SELECT pg_advisory_unlock_all()"));
		/* no prepared transaction can outlive its session: the stack allows none */
		bad += refused(conns[k], names[k], "55000", "BEGIN; PREPARE TRANSACTION 'ax0107'",
		    report, sizeof(report));
	}
	if (bad > 0)
		printf("not refused as they should be:\n%s", report);
	ck_assert_msg(bad == 0, "%d calls were not refused as they should be (listed above)", bad);
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM pg_largeobject_metadata"), "0");
	ck_assert_str_eq(dbt_value(T.admin, "SHOW max_prepared_transactions"), "0");
}
END_TEST

/* Everything a reader may still do, in one transaction it leaves open. */
static void
hold_all_a_reader_may(PGconn *conn, const char *login, char *report, size_t cap)
{
	static const char *const attempts[] = {
		"pg_advisory_lock(hashtextextended('axiom.control/0', 7))",
		"pg_advisory_xact_lock(hashtextextended('axiom.control/0', 7))",
		"pg_advisory_lock_shared(hashtextextended('axiom.commands/3', 7))",
		"pg_advisory_xact_lock(hashtextextended('axiom.commands/3', 7))",
		"pg_advisory_lock(7275829112)",
	};
	PGresult *res;
	size_t i, used;
	int n;

	res = PQexecParams(T.admin,
	    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
	    "ON n.oid = c.relnamespace WHERE n.nspname LIKE 'axiom%' AND c.relkind IN ('r', "
	    "'p', 'v', 'm') AND has_table_privilege($1, c.oid, 'SELECT') ORDER BY 1",
	    1, NULL, &login, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	n = PQntuples(res);
	ck_assert_int_gt(n, 0);
	dbt_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	/* on old migrations one reader's lock would make the other wait here for ever */
	dbt_exec(conn, "SET LOCAL lock_timeout = '1s'");
	for (i = 0; i < (size_t)n; i++) {
		dbt_exec(conn, "SELECT count(*) FROM %s", PQgetvalue(res, (int)i, 0));
		dbt_exec(conn, "LOCK TABLE %s IN ACCESS SHARE MODE", PQgetvalue(res, (int)i, 0));
	}
	PQclear(res);
	/* what it may no longer do, tried inside the same transaction (kept where it works) */
	for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		dbt_exec(conn, "SAVEPOINT a");
		if (dbt_state(conn, "SELECT %s", attempts[i])[0] == '\0') {
			used = strlen(report);
			snprintf(report + used, cap - used, "  %s took %s\n", login, attempts[i]);
			dbt_exec(conn, "RELEASE SAVEPOINT a");
		} else {
			dbt_exec(conn, "ROLLBACK TO SAVEPOINT a");
		}
	}
	printf("%s holds ACCESS SHARE on %d relations in an open transaction\n", login, n);
}

START_TEST(test_a_batch_commits_while_readers_hold_all_they_may)
{
	static char taken[4096];
	char claim[32], sql[2048];
	PGresult *res;
	int ok;

	taken[0] = '\0';
	hold_all_a_reader_may(T.analytics, "axiom_analytics", taken, sizeof(taken));
	hold_all_a_reader_may(T.auditor, "axiom_auditor", taken, sizeof(taken));
	/* the applier's login, as the applier runs a partition: claim it, then a batch; a
	 * wait for a reader's lock ends in lock_timeout instead of a hung test */
	dbt_exec(T.user, "SET lock_timeout = '5s'");
	res = PQexec(T.user, "SELECT claim FROM axiom_api.claim_partition('t0107', "
	                     "'axiom.control', 0)");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	snprintf(claim, sizeof(claim), "%s", ok ? PQgetvalue(res, 0, 0) : "");
	ck_assert_msg(ok,
	    "claiming the control partition failed while the readers held "
	    "their transactions: %s(readers' locks: %s)",
	    PQresultErrorMessage(res), taken[0] ? taken : "none");
	PQclear(res);
	snprintf(sql, sizeof(sql),
	    "SELECT string_agg(coalesce(reason_code, decision), ' ') FROM "
	    "axiom_api.apply_partition_batch('t0107', 'axiom.control', 0, true, NULL, %s, '["
	    "{\"op\": \"tick\", \"offset\": 0, \"actor\": \"axiom-system\", "
	    "\"event_time\": \"2026-01-01T00:50:00Z\"},"
	    "{\"op\": \"tick\", \"offset\": 1, \"actor\": \"axiom-system\", "
	    "\"event_time\": \"2026-01-01T00:50:01Z\"}]'::jsonb)",
	    claim);
	res = PQexec(T.user, sql);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	ck_assert_msg(ok,
	    "the batch did not commit while the readers held their transactions: "
	    "%s(readers' locks: %s)",
	    PQresultErrorMessage(res), taken[0] ? taken : "none");
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "tick tick");
	PQclear(res);
	dbt_exec(T.user, "RESET lock_timeout");
	/* the readers' transactions were open all along; the batch is visible after them */
	ck_assert_int_eq(PQtransactionStatus(T.analytics), PQTRANS_INTRANS);
	ck_assert_int_eq(PQtransactionStatus(T.auditor), PQTRANS_INTRANS);
	dbt_exec(T.analytics, "COMMIT");
	dbt_exec(T.auditor, "COMMIT");
	ck_assert_str_eq(dbt_value(T.auditor, "SELECT count(*) FROM axiom.ledger WHERE topic = "
	                                      "'axiom.control' AND kafka_partition = 0"),
	    "2");
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT axiom_api.next_offset('axiom.control', 0)"), "2");
	ck_assert_msg(taken[0] == '\0', "readers took the applier's locks:\n%s", taken);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0107-db-allow-list");
	TCase *tc = tcase_create("roles");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_each_login_holds_nothing_beyond_its_allow_list);
	tcase_add_test(tc, test_every_listed_privilege_is_still_held);
	tcase_add_test(tc, test_readers_cannot_lock_write_large_objects_notify_or_emit_wal);
	tcase_add_test(tc, test_a_batch_commits_while_readers_hold_all_they_may);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
