/*
 * ax_migrate.c - forward-only, checksummed migrations; see ax_migrate.h for the invariants.
 */
#include "ax_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_hex.h"
#include "ax_pg.h"

/* one lock key per database for "a migrator is running" */
#define MIGRATE_LOCK_KEY "7275829112"

static const char BOOTSTRAP_SQL[] =
    "CREATE SCHEMA IF NOT EXISTS axiom_meta;"
    "REVOKE ALL ON SCHEMA axiom_meta FROM PUBLIC;"
    "CREATE TABLE IF NOT EXISTS axiom_meta.migrations ("
    " number integer PRIMARY KEY,"
    " name text NOT NULL UNIQUE,"
    " sha256 bytea NOT NULL CHECK (octet_length(sha256) = 32),"
    " applied_at timestamptz NOT NULL DEFAULT statement_timestamp(),"
    " applied_by text NOT NULL DEFAULT session_user);"
    "REVOKE ALL ON axiom_meta.migrations FROM PUBLIC;"
    "CREATE TABLE IF NOT EXISTS axiom_meta.definitions ("
    " application bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " run bigint NOT NULL DEFAULT txid_current(),"
    " after_migration integer NOT NULL,"
    " name text NOT NULL,"
    " sha256 bytea NOT NULL CHECK (octet_length(sha256) = 32),"
    " applied_at timestamptz NOT NULL DEFAULT statement_timestamp(),"
    " applied_by text NOT NULL DEFAULT session_user);"
    "ALTER TABLE axiom_meta.definitions"
    " ADD COLUMN IF NOT EXISTS run bigint NOT NULL DEFAULT txid_current(),"
    " ADD COLUMN IF NOT EXISTS after_migration integer NOT NULL DEFAULT 0;"
    "REVOKE ALL ON axiom_meta.definitions FROM PUBLIC;"
    "CREATE OR REPLACE FUNCTION axiom_meta.refuse_change_of_history() RETURNS trigger"
    " LANGUAGE plpgsql SET search_path = pg_catalog AS $$ BEGIN"
    " RAISE EXCEPTION 'axiom_meta.%: the record of applied files is append-only',"
    " TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$;"
    "REVOKE ALL ON FUNCTION axiom_meta.refuse_change_of_history() FROM PUBLIC;"
    "CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
    " ON axiom_meta.definitions FOR EACH STATEMENT"
    " EXECUTE FUNCTION axiom_meta.refuse_change_of_history();"
    "ALTER TABLE axiom_meta.definitions ENABLE ALWAYS TRIGGER append_only;"
    "CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
    " ON axiom_meta.migrations FOR EACH STATEMENT"
    " EXECUTE FUNCTION axiom_meta.refuse_change_of_history();"
    "ALTER TABLE axiom_meta.migrations ENABLE ALWAYS TRIGGER append_only;";

struct mfile {
	int number;
	char name[AX_MIGRATE_NAME_MAX]; /* "0001_roles.sql" */
	uint8_t *sql;                   /* NUL-terminated contents, owned */
	size_t len;
	uint8_t sha256[32];
	int applied;
};

/*
 * Whether name is D..D_[a-z0-9_]+.sql with exactly digits leading digits (4 for migrations,
 * 2 for definition files); stores the number in *number.
 */
static int
parse_name(const char *name, size_t digits, int *number)
{
	size_t n = strlen(name), i;

	if (n < digits + 6 || n >= AX_MIGRATE_NAME_MAX || strcmp(name + n - 4, ".sql") != 0)
		return 0;
	*number = 0;
	for (i = 0; i < digits; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		*number = *number * 10 + (name[i] - '0');
	}
	if (name[digits] != '_')
		return 0;
	for (i = digits + 1; i < n - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		        name[i] == '_'))
			return 0;
	return 1;
}

static int
cmp_mfile(const void *a, const void *b)
{
	const struct mfile *x = a, *y = b;

	return (x->number > y->number) - (x->number < y->number);
}

/* Read path (at most AX_MIGRATE_MAX_BYTES) into f->sql and hash it. */
static int
read_file(struct mfile *f, const char *path, struct ax_err *err)
{
	FILE *fp = NULL;
	unsigned int mdlen = 0;
	size_t n;
	int rc = AX_OK;

	if ((fp = fopen(path, "rb")) == NULL) {
		rc = ax_err_set(err, AX_EINVAL, "could not open migration %s", path);
		ax_err_detail(err, "%s", strerror(errno));
		goto out;
	}
	if ((f->sql = malloc(AX_MIGRATE_MAX_BYTES + 1)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory reading migration %s", path);
		goto out;
	}
	n = fread(f->sql, 1, AX_MIGRATE_MAX_BYTES + 1, fp);
	if (ferror(fp)) {
		rc = ax_err_set(err, AX_EINVAL, "could not read migration %s", path);
		goto out;
	}
	if (n > AX_MIGRATE_MAX_BYTES) {
		rc = ax_err_set(err, AX_EINVAL, "migration %s is larger than %d bytes", path,
		    AX_MIGRATE_MAX_BYTES);
		goto out;
	}
	if (memchr(f->sql, '\0', n) != NULL) {
		rc = ax_err_set(err, AX_EINVAL, "migration %s contains a NUL byte", path);
		goto out;
	}
	f->sql[n] = '\0';
	f->len = n;
	if (EVP_Digest(f->sql, n, f->sha256, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		rc = ax_err_set(err, AX_ERR, "could not compute the SHA-256 of %s", path);
		goto out;
	}
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}

static void
free_files(struct mfile *files, size_t n)
{
	size_t i;

	if (files == NULL)
		return;
	for (i = 0; i < n; i++)
		free(files[i].sql);
	free(files);
}

/*
 * List, read and sort the files of dir named with digits leading digits into *out (owned, *n
 * entries). A missing dir is an error unless optional (then it holds nothing).
 */
static int
load_dir(
    struct mfile **out, size_t *n, const char *dir, size_t digits, int optional, struct ax_err *err)
{
	struct mfile *files = NULL;
	struct dirent *de;
	DIR *d = NULL;
	char path[4096];
	size_t count = 0, i;
	int rc = AX_OK, number;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		if (optional && errno == ENOENT)
			goto out;
		rc = ax_err_set(err, AX_EINVAL, "could not open the migrations folder %s", dir);
		ax_err_detail(err, "%s", strerror(errno));
		ax_err_hint(err, "Run from the project root, or pass --dir.");
		goto out;
	}
	if ((files = calloc(AX_MIGRATE_MAX_FILES, sizeof(*files))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory listing %s", dir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!parse_name(de->d_name, digits, &number)) {
			size_t len = strlen(de->d_name);

			if (len >= 4 && strcmp(de->d_name + len - 4, ".sql") == 0) {
				rc = ax_err_set(err, AX_EINVAL, "%s in %s is not named %s_name.sql",
				    de->d_name, dir, digits == 4 ? "NNNN" : "NN");
				ax_err_hint(err,
				    "A file the migrator would skip is refused instead: "
				    "lower case, digits, underscores.");
				goto out;
			}
			continue;
		}
		if (count == AX_MIGRATE_MAX_FILES) {
			rc = ax_err_set(err, AX_EINVAL, "more than %d migrations in %s",
			    AX_MIGRATE_MAX_FILES, dir);
			goto out;
		}
		files[count].number = number;
		snprintf(files[count].name, sizeof(files[count].name), "%s", de->d_name);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    sizeof(path)) {
			rc = ax_err_set(
			    err, AX_EINVAL, "the path of %s in %s is too long", de->d_name, dir);
			goto out;
		}
		count++;
		if ((rc = read_file(&files[count - 1], path, err)) != AX_OK)
			goto out;
	}
	qsort(files, count, sizeof(*files), cmp_mfile);
	for (i = 1; i < count; i++) {
		if (files[i].number == files[i - 1].number) {
			rc = ax_err_set(err, AX_EINVAL, "%s and %s in %s have the same number",
			    files[i - 1].name, files[i].name, dir);
			goto out;
		}
	}
	*out = files;
	*n = count;
	files = NULL;
out:
	if (d != NULL)
		closedir(d);
	free_files(files, count);
	return rc;
}

int
ax_migrate_statements_sha256(const uint8_t *sql, size_t len, uint8_t out[32], struct ax_err *err)
{
	char *buf = malloc(len + 1), tag[64] = "";
	size_t i = 0, n = 0, taglen = 0;
	unsigned int mdlen = 0;
	int depth, space = 0, rc = AX_OK;

	if (buf == NULL)
		return ax_err_set(err, AX_ERR, "out of memory hashing a migration's statements");
	while (i < len) {
		uint8_t c = sql[i];

		if (c == '-' && i + 1 < len && sql[i + 1] == '-') { /* line comment */
			while (i < len && sql[i] != '\n')
				i++;
			space = 1;
			continue;
		}
		if (c == '/' && i + 1 < len && sql[i + 1] == '*') { /* block comment, nested */
			for (depth = 0; i < len;) {
				if (sql[i] == '/' && i + 1 < len && sql[i + 1] == '*') {
					depth++;
					i += 2;
				} else if (sql[i] == '*' && i + 1 < len && sql[i + 1] == '/') {
					i += 2;
					if (--depth == 0)
						break;
				} else {
					i++;
				}
			}
			space = 1;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			space = 1;
			i++;
			continue;
		}
		if (space && n > 0)
			buf[n++] = ' ';
		space = 0;
		if (c == '\'' || c == '"') { /* literal or quoted identifier, copied whole */
			buf[n++] = (char)sql[i++];
			while (i < len) {
				buf[n++] = (char)sql[i];
				if (sql[i++] == c) {
					if (i < len && sql[i] == c) { /* doubled quote */
						buf[n++] = (char)sql[i++];
						continue;
					}
					break;
				}
			}
			continue;
		}
		if (c == '$') { /* a dollar-quote tag opens or closes a body: copied as is */
			size_t j = i + 1;

			while (j < len && (sql[j] == '_' || (sql[j] >= 'a' && sql[j] <= 'z') ||
			                      (sql[j] >= 'A' && sql[j] <= 'Z') ||
			                      (j > i + 1 && sql[j] >= '0' && sql[j] <= '9')))
				j++;
			if (j < len && sql[j] == '$' && j + 1 - i < sizeof(tag)) {
				if (taglen == 0) {
					taglen = j + 1 - i;
					memcpy(tag, sql + i, taglen);
				} else if (j + 1 - i == taglen &&
				           memcmp(tag, sql + i, taglen) == 0) {
					taglen = 0;
				}
				memcpy(buf + n, sql + i, j + 1 - i);
				n += j + 1 - i;
				i = j + 1;
				continue;
			}
		}
		buf[n++] = (char)sql[i++];
	}
	if (EVP_Digest(buf, n, out, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		rc = ax_err_set(err, AX_ERR, "could not compute a SHA-256");
	free(buf);
	return rc;
}

int
ax_migrate_revision_line(const char *path, char *out, size_t cap, struct ax_err *err)
{
	struct mfile f;
	uint8_t st[32];
	char full_hex[65], st_hex[65];
	const char *base = strrchr(path, '/');
	int rc;

	memset(&f, 0, sizeof(f));
	if ((rc = read_file(&f, path, err)) == AX_OK &&
	    (rc = ax_migrate_statements_sha256(f.sql, f.len, st, err)) == AX_OK) {
		ax_hex_encode(full_hex, f.sha256, 32);
		ax_hex_encode(st_hex, st, 32);
		if ((size_t)snprintf(out, cap, "%s %s %s", base != NULL ? base + 1 : path, full_hex,
		        st_hex) >= cap)
			rc = ax_err_set(err, AX_EINVAL, "the name of %s is too long", path);
	}
	free(f.sql);
	return rc;
}

/*
 * Whether f, applied with SHA-256 applied[32], is listed in dir's AX_MIGRATE_REVISIONS as a
 * revision of its comments only, and its statements still have the listed digest. A line is
 * "NNNN_name.sql <SHA-256 applied, hex> <SHA-256 of the statements, hex>"; # starts a comment.
 */
static int
comments_revised(
    const struct mfile *f, const uint8_t applied[32], const char *dir, struct ax_err *err)
{
	char path[4096], line[512], name[AX_MIGRATE_NAME_MAX], old_hex[65], st_hex[65];
	uint8_t old[32], st[32], have[32];
	FILE *fp;
	int ok = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, AX_MIGRATE_REVISIONS) >=
	        sizeof(path) ||
	    (fp = fopen(path, "r")) == NULL)
		return 0;
	while (!ok && fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || sscanf(line, "%95s %64s %64s", name, old_hex, st_hex) != 3 ||
		    strcmp(name, f->name) != 0 || ax_hex_decode(old, old_hex, 32) != 0 ||
		    ax_hex_decode(st, st_hex, 32) != 0 || memcmp(old, applied, 32) != 0)
			continue;
		ok = ax_migrate_statements_sha256(f->sql, f->len, have, err) == AX_OK &&
		     memcmp(have, st, 32) == 0;
	}
	fclose(fp);
	return ok;
}

/* Compare the applied rows with the files; mark files[].applied. */
static int
check_applied(PGconn *conn, struct mfile *files, size_t n, const char *dir, struct ax_err *err)
{
	PGresult *res = NULL;
	char want[65], have[65];
	int rc = AX_OK, row, number, last_applied = -1;
	size_t i;

	res = PQexecParams(conn,
	    "SELECT number, name, sha256 FROM axiom_meta.migrations ORDER BY number", 0, NULL, NULL,
	    NULL, NULL, 1);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "could not read the applied migrations");
		goto out;
	}
	for (row = 0; row < PQntuples(res); row++) {
		const uint8_t *num = (const uint8_t *)PQgetvalue(res, row, 0);
		const char *name = PQgetvalue(res, row, 1);
		const uint8_t *sha = (const uint8_t *)PQgetvalue(res, row, 2);

		number = (int)((uint32_t)num[0] << 24 | (uint32_t)num[1] << 16 |
		               (uint32_t)num[2] << 8 | (uint32_t)num[3]);
		for (i = 0; i < n && files[i].number != number; i++)
			;
		if (i == n) {
			rc = ax_err_set(err, AX_ECONFLICT,
			    "applied migration %.*s is missing from %s", PQgetlength(res, row, 1),
			    name, dir);
			ax_err_hint(err, "Migrations are forward-only: restore the file.");
			goto out;
		}
		if (strcmp(files[i].name, name) != 0) {
			rc = ax_err_set(err, AX_ECONFLICT,
			    "migration %04d was applied as %s but the file is now %s", number, name,
			    files[i].name);
			ax_err_hint(err, "Migrations are forward-only: restore the file's name.");
			goto out;
		}
		if (PQgetlength(res, row, 2) != 32 ||
		    (memcmp(sha, files[i].sha256, 32) != 0 &&
		        !comments_revised(&files[i], sha, dir, err))) {
			ax_hex_encode(
			    want, PQgetlength(res, row, 2) == 32 ? sha : files[i].sha256, 32);
			ax_hex_encode(have, files[i].sha256, 32);
			rc = ax_err_set(err, AX_ECONFLICT,
			    "migration %s was changed after it was applied", files[i].name);
			ax_err_detail(err, "applied SHA-256 %s, the file's is now %s", want, have);
			ax_err_hint(err,
			    "Migrations are forward-only: restore the file and put the "
			    "change in a new migration.");
			goto out;
		}
		files[i].applied = 1;
		if (number > last_applied)
			last_applied = number;
	}
	for (i = 0; i < n; i++) {
		if (!files[i].applied && files[i].number < last_applied) {
			rc = ax_err_set(err, AX_ECONFLICT,
			    "migration %s is numbered below the last applied migration %04d",
			    files[i].name, last_applied);
			ax_err_hint(err, "Migrations are forward-only: renumber it after %04d.",
			    last_applied);
			goto out;
		}
	}
out:
	PQclear(res);
	return rc;
}

/* The 1-based line of byte offset pos (1-based, as PostgreSQL reports it) in sql. */
static int
line_of(const uint8_t *sql, size_t len, long pos)
{
	int line = 1;
	size_t i;

	for (i = 0; i + 1 < (size_t)pos && i < len; i++)
		if (sql[i] == '\n')
			line++;
	return line;
}

/*
 * Run one file inside the caller's transaction: as axiom_owner unless its first line is
 * AX_MIGRATE_RUN_AS_ADMIN; kind ("migration", "definition file") names it in errors.
 */
static int
run_file(PGconn *conn, const struct mfile *f, const char *kind, struct ax_err *err)
{
	size_t mark = strlen(AX_MIGRATE_RUN_AS_ADMIN);
	PGresult *res = NULL;
	char what[192];
	const char *pos;
	int rc, as_admin;

	as_admin = strncmp((const char *)f->sql, AX_MIGRATE_RUN_AS_ADMIN, mark) == 0 &&
	           (f->sql[mark] == '\n' || f->sql[mark] == '\r');
	if (!as_admin && (rc = ax_pg_exec(conn, "SET LOCAL ROLE axiom_owner",
	                      "could not become axiom_owner", err)) != AX_OK) {
		ax_err_hint(err, "The admin login must be a superuser, and migration 0001 must "
		                 "create axiom_owner.");
		return rc;
	}
	res = PQexec(conn, (const char *)f->sql);
	if (res == NULL ||
	    (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
	        PQresultStatus(res) != PGRES_EMPTY_QUERY)) {
		pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
		if (pos != NULL)
			snprintf(what, sizeof(what), "%s %s failed at line %d", kind, f->name,
			    line_of(f->sql, f->len, strtol(pos, NULL, 10)));
		else
			snprintf(what, sizeof(what), "%s %s failed", kind, f->name);
		rc = ax_pg_err(err, conn, res, what);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		rc = ax_err_set(err, AX_EINVAL, "%s %s ended its transaction", kind, f->name);
		ax_err_hint(err, "Remove BEGIN, COMMIT and ROLLBACK from the file: it runs in the "
		                 "transaction the migrator opens.");
		return rc;
	}
	return ax_pg_exec(conn, "RESET ROLE", "could not reset the role", err);
}

/*
 * Record f: in axiom_meta.migrations with its number (with_number), or in
 * axiom_meta.definitions as applied after migration number f_after.
 */
static int
record_file(PGconn *conn, const struct mfile *f, int with_number, int after, struct ax_err *err)
{
	const char *params[3];
	int lengths[3] = { 0, 0, 32 }, formats[3] = { 0, 0, 1 };
	PGresult *res;
	char number[16], what[192];
	int rc = AX_OK;

	snprintf(number, sizeof(number), "%d", with_number ? f->number : after);
	params[0] = number;
	params[1] = f->name;
	params[2] = (const char *)f->sha256;
	res = with_number
	          ? PQexecParams(conn,
	                "INSERT INTO axiom_meta.migrations (number, name, sha256) "
	                "VALUES ($1, $2, $3)",
	                3, NULL, params, lengths, formats, 0)
	          : PQexecParams(conn,
	                "INSERT INTO axiom_meta.definitions (after_migration, name, sha256) "
	                "VALUES ($1, $2, $3)",
	                3, NULL, params, lengths, formats, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(what, sizeof(what), "could not record %s", f->name);
		rc = ax_pg_err(err, conn, res, what);
	}
	PQclear(res);
	return rc;
}

/* Apply one migration in its own transaction and record it. */
static int
apply_one(PGconn *conn, const struct mfile *f, struct ax_err *err)
{
	char what[192];
	int rc;

	if ((rc = ax_pg_exec(conn, "BEGIN", "could not begin a transaction", err)) != AX_OK)
		return rc;
	if ((rc = run_file(conn, f, "migration", err)) != AX_OK ||
	    (rc = record_file(conn, f, 1, 0, err)) != AX_OK) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return rc;
	}
	snprintf(what, sizeof(what), "could not commit migration %s", f->name);
	return ax_pg_exec(conn, "COMMIT", what, err);
}

/*
 * Whether the definition files must be applied again (*stale): unless the last recorded run
 * applied exactly these files (names and SHA-256) after the last migration, last_migration.
 * A run that failed recorded nothing, so the files are applied again by the next run even when
 * none of them changed (a migration committed before them may have dropped what they define).
 */
static int
check_definitions(PGconn *conn, const struct mfile *defs, size_t n, int last_migration, int *stale,
    struct ax_err *err)
{
	PGresult *res;
	size_t i;
	int row, rc = AX_OK, found;

	*stale = 1;
	res = PQexecParams(conn,
	    "SELECT name, sha256, after_migration FROM axiom_meta.definitions "
	    "WHERE run = (SELECT run FROM axiom_meta.definitions ORDER BY application DESC LIMIT "
	    "1)",
	    0, NULL, NULL, NULL, NULL, 1);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "could not read the applied definition files");
		goto out;
	}
	if ((size_t)PQntuples(res) != n)
		goto out;
	for (i = 0; i < n; i++) {
		found = 0;
		for (row = 0; row < PQntuples(res) && !found; row++) {
			const uint8_t *a = (const uint8_t *)PQgetvalue(res, row, 2);

			found = strcmp(PQgetvalue(res, row, 0), defs[i].name) == 0 &&
			        PQgetlength(res, row, 1) == 32 &&
			        memcmp(PQgetvalue(res, row, 1), defs[i].sha256, 32) == 0 &&
			        PQgetlength(res, row, 2) == 4 &&
			        (int)((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
			              (uint32_t)a[2] << 8 | (uint32_t)a[3]) == last_migration;
		}
		if (!found)
			goto out;
	}
	*stale = 0;
out:
	PQclear(res);
	return rc;
}

/*
 * Apply every definition file in order in one transaction, recording each application. The
 * files take table locks (ownership, RLS flags): a bounded wait names what holds them rather
 * than queueing a running applier behind the migrator.
 */
static int
apply_definitions(
    PGconn *conn, const struct mfile *defs, size_t n, int last_migration, struct ax_err *err)
{
	size_t i;
	int rc;

	if ((rc = ax_pg_exec(conn, "BEGIN", "could not begin a transaction", err)) != AX_OK)
		return rc;
	if ((rc = ax_pg_exec(conn, "SET LOCAL lock_timeout = '30s'",
	         "could not bound the lock wait", err)) != AX_OK) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return rc;
	}
	for (i = 0; i < n; i++) {
		if ((rc = run_file(conn, &defs[i], "definition file", err)) != AX_OK ||
		    (rc = record_file(conn, &defs[i], 0, last_migration, err)) != AX_OK) {
			if (strcmp(err->sqlstate, "55P03") == 0) /* lock_not_available */
				ax_err_hint(err, "Stop the appliers of this database, then migrate "
				                 "again: the definition files lock every table.");
			PQclear(PQexec(conn, "ROLLBACK"));
			return rc;
		}
	}
	return ax_pg_exec(conn, "COMMIT", "could not commit the definition files", err);
}

/* progress() for a definition file, named "definitions/NN_name.sql" */
static void
progress_definition(
    ax_migrate_progress_fn progress, void *arg, const struct mfile *f, enum ax_migrate_state state)
{
	char label[AX_MIGRATE_NAME_MAX + 16];

	if (progress == NULL)
		return;
	snprintf(label, sizeof(label), "%s/%s", AX_MIGRATE_DEFINITIONS_DIR, f->name);
	progress(arg, label, state, f->sha256);
}

/* Swallow the server's NOTICEs ("schema already exists, skipping") during a run. */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int
ax_migrate_run(PGconn *conn, const char *dir, int dry_run, struct ax_migrate_report *rep,
    ax_migrate_progress_fn progress, void *arg, struct ax_err *err)
{
	PQnoticeProcessor saved;
	struct mfile *files = NULL, *defs = NULL;
	char ddir[4096];
	size_t n = 0, ndefs = 0, i;
	int rc, locked = 0, stale = 0;

	memset(rep, 0, sizeof(*rep));
	saved = PQsetNoticeProcessor(conn, quiet, NULL);
	if ((rc = load_dir(&files, &n, dir, 4, 0, err)) != AX_OK)
		goto out;
	if (n == 0) {
		rc = ax_err_set(err, AX_EINVAL, "no migrations (NNNN_name.sql) in %s", dir);
		goto out;
	}
	if ((size_t)snprintf(ddir, sizeof(ddir), "%s/%s", dir, AX_MIGRATE_DEFINITIONS_DIR) >=
	    sizeof(ddir)) {
		rc =
		    ax_err_set(err, AX_EINVAL, "the migrations folder's path is too long: %s", dir);
		goto out;
	}
	if ((rc = load_dir(&defs, &ndefs, ddir, 2, 1, err)) != AX_OK)
		goto out;
	if ((rc = ax_pg_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
	         "could not take the migration lock", err)) != AX_OK)
		goto out;
	locked = 1;
	if ((rc = ax_pg_exec(conn, BOOTSTRAP_SQL, "could not create axiom_meta.migrations", err)) !=
	    AX_OK)
		goto out;
	if ((rc = check_applied(conn, files, n, dir, err)) != AX_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (files[i].applied) {
			rep->already_applied++;
			if (progress != NULL)
				progress(arg, files[i].name, AX_MIGRATE_ALREADY_APPLIED,
				    files[i].sha256);
			continue;
		}
		if (dry_run) {
			rep->pending++;
			if (progress != NULL)
				progress(arg, files[i].name, AX_MIGRATE_PENDING, files[i].sha256);
			continue;
		}
		if ((rc = apply_one(conn, &files[i], err)) != AX_OK)
			goto out;
		rep->applied++;
		if (progress != NULL)
			progress(arg, files[i].name, AX_MIGRATE_APPLIED, files[i].sha256);
	}
	if (ndefs == 0)
		goto out;
	if ((rc = check_definitions(conn, defs, ndefs, files[n - 1].number, &stale, err)) != AX_OK)
		goto out;
	/* invariant (6): all of them again when one changed or a migration ran */
	stale = stale || rep->applied > 0 || rep->pending > 0;
	if (stale && !dry_run &&
	    (rc = apply_definitions(conn, defs, ndefs, files[n - 1].number, err)) != AX_OK)
		goto out;
	for (i = 0; i < ndefs; i++) {
		enum ax_migrate_state st = !stale    ? AX_MIGRATE_ALREADY_APPLIED
		                           : dry_run ? AX_MIGRATE_PENDING
		                                     : AX_MIGRATE_APPLIED;

		if (st == AX_MIGRATE_ALREADY_APPLIED)
			rep->definitions_current++;
		else if (st == AX_MIGRATE_PENDING)
			rep->definitions_pending++;
		else
			rep->definitions_applied++;
		progress_definition(progress, arg, &defs[i], st);
	}
out:
	if (locked)
		PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
	free_files(files, n);
	free_files(defs, ndefs);
	PQsetNoticeProcessor(conn, saved, NULL); /* libpq's default takes no argument */
	return rc;
}
