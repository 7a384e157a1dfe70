/*
 * cmd_migrate.c - `axiom migrate`: bring a database's schema up to the numbered migrations
 * in db/ (see common/io/ax_migrate.h for the rules it keeps).
 */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_hex.h"
#include "ax_migrate.h"
#include "ax_pg.h"
#include "cli.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom migrate [--dsn DSN] [--dir DIR] [--dry-run]\n"
	    "       axiom migrate --revision-line FILE\n"
	    "\n"
	    "Applies the migrations DIR/NNNN_name.sql that the database has not seen yet, in\n"
	    "number order, each in its own transaction, and records each one's name and SHA-256\n"
	    "in axiom_meta.migrations. Migrations are forward-only:\n"
	    "  - running it again with nothing new applies nothing;\n"
	    "  - if a migration that was already applied has changed (other SHA-256), is missing\n"
	    "    or was renamed, nothing is applied and the command fails: restore the file and\n"
	    "    put the change in a new, higher-numbered migration;\n"
	    "    only comments may be rewritten, when DIR/comment-revisions.txt lists the file\n"
	    "    (--revision-line) and its statements are unchanged;\n"
	    "  - a failed migration is rolled back whole; the error names the file and line.\n"
	    "\n"
	    "Then the definition files DIR/definitions/NN_concern.sql: the current text of every\n"
	    "function, trigger, policy and grant, one file per concern. When one of them changed\n"
	    "(or was never applied, or a migration was just applied), all of them are applied\n"
	    "again in name order, in one transaction, and each application is recorded (name,\n"
	    "SHA-256, time, login) in the append-only table axiom_meta.definitions. Change a\n"
	    "function by editing its definition file; change a table, or drop anything, with a\n"
	    "new migration.\n"
	    "\n"
	    "Each file runs as the NOLOGIN role axiom_owner (SET ROLE from the admin login),\n"
	    "except those whose first line is \"%s\" (0001 creates the\n"
	    "roles, which needs CREATEROLE). The admin login must be a superuser.\n"
	    "Roles are cluster-wide: running it on a second database of the same cluster reuses\n"
	    "them; it never sets a password.\n"
	    "\n"
	    "options:\n"
	    "  -d, --dsn DSN   admin connection string (default: $AXIOM_PG_ADMIN_DSN);\n"
	    "                  another database: --dsn \"$AXIOM_PG_ADMIN_DSN dbname=other\"\n"
	    "                  (create it first: psql \"$AXIOM_PG_ADMIN_DSN\" -c 'CREATE DATABASE "
	    "other')\n"
	    "  -D, --dir DIR   the migrations folder (default: db, relative to the current\n"
	    "                  folder: run from the project root)\n"
	    "      --revision-line FILE\n"
	    "                  print the line of DIR/comment-revisions.txt for a released\n"
	    "                  migration FILE, BEFORE rewriting its comments: databases that\n"
	    "                  applied it stay accepted as long as only comments change\n"
	    "  -n, --dry-run   check the applied migrations and list what would be applied\n"
	    "                  (migrations and definition files)\n"
	    "  -h, --help      this text\n"
	    "\n"
	    "example:\n"
	    "  eval \"$(ops/stack env)\" && build/cli/axiom migrate\n"
	    "\n"
	    "exit codes: 0 up to date, 1 a migration failed or an applied one changed,\n"
	    "            2 bad command line, 3 PostgreSQL is unreachable\n",
	    AX_MIGRATE_RUN_AS_ADMIN);
}

static void
progress(void *arg, const char *name, enum ax_migrate_state state, const uint8_t sha256[32])
{
	const char *word = state == AX_MIGRATE_APPLIED   ? "applied"
	                   : state == AX_MIGRATE_PENDING ? "pending"
	                                                 : "ok     ";
	char head[2 * 8 + 1];

	(void)arg;
	ax_hex_encode(head, sha256, 8);
	printf("%s  %-44s sha256:%s...\n", word, name, head);
}

/* --revision-line FILE: the line of AX_MIGRATE_REVISIONS for FILE as it is now. */
static int
revision_line(const char *prog, const char *path)
{
	char line[AX_MIGRATE_NAME_MAX + 2 * 65 + 8];
	struct ax_err err;

	ax_err_clear(&err);
	if (ax_migrate_revision_line(path, line, sizeof(line), &err) != AX_OK)
		return cli_fail(prog, &err);
	printf("%s\n", line);
	return EXIT_SUCCESS;
}

int
cmd_migrate(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = {
		{ "dsn", required_argument, NULL, 'd' },
		{ "dir", required_argument, NULL, 'D' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "revision-line", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = "axiom migrate";
	const char *dsn = cfg->pg_admin_dsn, *dir = "db";
	struct ax_migrate_report rep;
	struct ax_err err;
	PGconn *conn = NULL;
	int c, dry_run = 0, rc;

	ax_err_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:D:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dsn = optarg;
			break;
		case 'D':
			dir = optarg;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'R':
			return revision_line(prog, optarg);
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(prog, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (dsn == NULL) {
		ax_err_set(&err, AX_EINVAL, "no database to migrate");
		ax_err_hint(
		    &err, "Set AXIOM_PG_ADMIN_DSN (eval \"$(ops/stack env)\") or pass --dsn.");
		return cli_fail(prog, &err);
	}
	if ((rc = ax_pg_connect(&conn, dsn, "the admin login", &err)) != AX_OK)
		return cli_fail(prog, &err);
	rc = ax_migrate_run(conn, dir, dry_run, &rep, progress, NULL, &err);
	PQfinish(conn);
	if (rc != AX_OK)
		return cli_fail(prog, &err);
	if (dry_run)
		printf("%d migration%s applied, %d pending; %d definition file%s pending (dry run: "
		       "nothing changed)\n",
		    rep.already_applied, rep.already_applied == 1 ? "" : "s", rep.pending,
		    rep.definitions_pending, rep.definitions_pending == 1 ? "" : "s");
	else if (rep.applied == 0 && rep.definitions_applied == 0)
		printf("up to date: %d migration%s applied, nothing to do\n", rep.already_applied,
		    rep.already_applied == 1 ? "" : "s");
	else
		printf("applied %d migration%s (%d already applied) and %d definition file%s\n",
		    rep.applied, rep.applied == 1 ? "" : "s", rep.already_applied,
		    rep.definitions_applied, rep.definitions_applied == 1 ? "" : "s");
	return EXIT_SUCCESS;
}
