/*
 * cli.h - the `axiom` command line: one binary, git-style subcommands.
 *
 * Exit codes, the same for every subcommand:
 *   0  done, or every check passed
 *   1  the command ran and something is wrong (a failed check, a conflict, an error)
 *   2  the command line itself is wrong (unknown option, bad value)
 *   3  a peer (Kafka broker, PostgreSQL) could not be reached
 */
#ifndef AXIOM_CLI_H
#define AXIOM_CLI_H

#include "ax_config.h"
#include "ax_err.h"

enum { EXIT_USAGE = 2, EXIT_UNAVAILABLE = 3 };

struct ax_cmd {
	const char *name;
	const char *summary; /* one line for `axiom --help` */
	int (*run)(int argc, char **argv, const struct ax_config *cfg);
};

int cmd_topics(int argc, char **argv, const struct ax_config *cfg);
int cmd_doctor(int argc, char **argv, const struct ax_config *cfg);
int cmd_migrate(int argc, char **argv, const struct ax_config *cfg);
int cmd_apply(int argc, char **argv, const struct ax_config *cfg);
int cmd_audit(int argc, char **argv, const struct ax_config *cfg);
int cmd_publish(int argc, char **argv, const struct ax_config *cfg);
int cmd_verify(int argc, char **argv, const struct ax_config *cfg);
int cmd_replay(int argc, char **argv, const struct ax_config *cfg);
int cmd_bench(int argc, char **argv, const struct ax_config *cfg);
int cmd_sign(int argc, char **argv, const struct ax_config *cfg);
int cmd_report(int argc, char **argv, const struct ax_config *cfg);

/* Print err for subcommand prog and return the exit code that goes with its code. */
int cli_fail(const char *prog, const struct ax_err *err);

/* Parse s as a whole number in lo..hi into *out; -1 (and *out untouched) when it is not one. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
int cli_parse_int(const char *s, int lo, int hi, int *out);

/* Print "prog: msg" and a pointer to --help; return EXIT_USAGE. */
int cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
