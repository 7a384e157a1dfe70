/*
 * ax_config.h - where Axiom finds its broker and databases.
 *
 * Read from the environment that `eval "$(ops/stack env)"` sets; command-line options
 * override single fields. Strings are borrowed from the environment or argv.
 */
#ifndef AX_CONFIG_H
#define AX_CONFIG_H

#include "ax_err.h"

struct ax_config {
	const char *brokers;          /* AXIOM_BROKERS, "host:port[,host:port]" */
	const char *pg_admin_dsn;     /* AXIOM_PG_ADMIN_DSN: migrations, doctor */
	const char *pg_dsn;           /* AXIOM_PG_DSN: the applier's runtime role */
	const char *pg_analytics_dsn; /* AXIOM_PG_ANALYTICS_DSN */
	const char *pg_auditor_dsn;   /* AXIOM_PG_AUDITOR_DSN */
	const char *topic_prefix;     /* AXIOM_TOPIC_PREFIX, default "axiom" */
};

/* Fill cfg from the environment; unset variables become NULL (prefix: "axiom"). */
void ax_config_from_env(struct ax_config *cfg);

/*
 * Check that the field named by var (for example "AXIOM_BROKERS") is set in cfg; returns
 * AX_OK or AX_EINVAL with a message that says how to set it.
 */
int ax_config_require(const struct ax_config *cfg, const char *var, struct ax_err *err);

#endif
