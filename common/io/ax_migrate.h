/*
 * ax_migrate.h - forward-only, checksummed schema migrations: the files NNNN_name.sql of one
 * folder, applied to one database over an admin connection; then the current definitions of
 * functions, triggers, policies and privileges, the files NN_concern.sql of its subfolder
 * definitions/, applied again whenever they changed.
 *
 * Migrations hold history: tables, types, data changes, each applied once. Definition files
 * hold the present: what each function, trigger, policy and grant is today, one file per
 * concern, each statement idempotent (CREATE OR REPLACE, DROP ... IF EXISTS then CREATE,
 * REVOKE then GRANT), so a reader finds a function in one place.
 *
 * Invariants:
 *  (1) files apply in ascending number order, each in its own transaction together with its
 *      row in axiom_meta.migrations (number, name, SHA-256 of the file, when, by whom);
 *  (2) before anything is applied, every applied migration is checked against its file: a
 *      changed file (other SHA-256), a missing file, a renamed file, a duplicate number or a
 *      pending file numbered below the last applied one stops the run (nothing is applied);
 *      One exception, for comments only: a released migration whose comments were rewritten
 *      (a file's comments must cite the project's own files) is accepted when
 *      AX_MIGRATE_REVISIONS lists it with the SHA-256 it was applied with and the SHA-256 of
 *      its statements (ax_migrate_statements_sha256), and the file's statements still have
 *      that digest: what ran is provably what the file says, only its comments changed;
 *  (3) re-running with nothing pending applies nothing and changes nothing;
 *  (4) a file runs as axiom_owner (SET LOCAL ROLE) unless its first line is exactly
 *      AX_MIGRATE_RUN_AS_ADMIN; a file must not end or open transactions itself;
 *  (5) one migrator at a time per database (a session advisory lock);
 *  (6) after the migrations, the definition files are applied again, all of them, in name
 *      order, in one transaction, unless the last recorded run applied exactly these files
 *      (names and SHA-256) after the last migration: so a changed, added or removed file, a
 *      migration applied since, or a run whose definitions step failed after its migrations
 *      committed all lead to a new application, and a table a migration recreated gets its
 *      triggers, policies and grants back. Each application is recorded in
 *      axiom_meta.definitions (run, after_migration, name, SHA-256, when, by whom); that table
 *      and axiom_meta.migrations refuse UPDATE, DELETE and TRUNCATE (ENABLE ALWAYS: also
 *      under session_replication_role = replica), a guard against accidents, not against the
 *      superuser that owns them. A file that drops an object needs a migration instead (the
 *      files only define). The definitions step waits at most 30 s for a table lock.
 *      A *.sql file whose name does not follow the pattern is refused, never skipped.
 *      Rule (4) applies to definition files too; they declare run-as=admin because they
 *      replace functions owned by axiom_definer.
 * The state machine of one file: pending -> (BEGIN, SET ROLE, run, RESET ROLE, record,
 * COMMIT) -> applied, or -> rolled back with the server's message and the file's line.
 */
#ifndef AX_MIGRATE_H
#define AX_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

#define AX_MIGRATE_RUN_AS_ADMIN    "-- axiom-migrate: run-as=admin"
#define AX_MIGRATE_MAX_FILES       1000
#define AX_MIGRATE_MAX_BYTES       (4 * 1024 * 1024) /* per file */
#define AX_MIGRATE_NAME_MAX        96
#define AX_MIGRATE_DEFINITIONS_DIR "definitions"           /* subfolder of the migrations folder */
#define AX_MIGRATE_REVISIONS       "comment-revisions.txt" /* in the migrations folder */

/* What happened to one file; passed to the progress callback. */
enum ax_migrate_state {
	AX_MIGRATE_ALREADY_APPLIED, /* applied before, checksum unchanged */
	AX_MIGRATE_PENDING,         /* would be applied (dry run) */
	AX_MIGRATE_APPLIED          /* applied by this run */
};

struct ax_migrate_report {
	int already_applied;     /* files found applied with an unchanged checksum */
	int applied;             /* files applied by this run */
	int pending;             /* files a dry run would apply */
	int definitions_applied; /* definition files applied by this run */
	int definitions_current; /* definition files whose last application is unchanged */
	int definitions_pending; /* definition files a dry run would apply */
};

/*
 * Called once per file, in order (migrations, then definition files named
 * "definitions/NN_name.sql"); name is borrowed for the call only.
 */
typedef void (*ax_migrate_progress_fn)(
    void *arg, const char *name, enum ax_migrate_state state, const uint8_t sha256[32]);

/*
 * The SHA-256 of sql's statements: the text without its comments (-- to the end of the line,
 * and nested block comments, also inside dollar-quoted bodies), every run of white space
 * outside string literals and quoted identifiers made one space, leading and trailing space
 * dropped. Two files with the same statements digest run the same SQL (whitespace inside a
 * dollar-quoted body aside). AX_ERR only when out of memory.
 */
int ax_migrate_statements_sha256(
    const uint8_t *sql, size_t len, uint8_t out[32], struct ax_err *err);

/*
 * The line of AX_MIGRATE_REVISIONS for the migration at path as it is now (name, SHA-256,
 * statements SHA-256), into out (cap bytes); written before its comments are rewritten.
 */
int ax_migrate_revision_line(const char *path, char *out, size_t cap, struct ax_err *err);

/*
 * Bring the database behind conn (an admin connection) up to the files in dir; with
 * dry_run, only check and report what would be applied. AX_ECONFLICT when an applied
 * migration's file changed or went missing, AX_EINVAL for a malformed folder, the adapter's
 * code for a failed statement (the message names the file and line). progress may be NULL.
 */
int ax_migrate_run(PGconn *conn, const char *dir, int dry_run, struct ax_migrate_report *rep,
    ax_migrate_progress_fn progress, void *arg, struct ax_err *err);

#endif
