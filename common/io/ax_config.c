/*
 * ax_config.c - configuration from the environment; see ax_config.h.
 */
#include "ax_config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *
env_or_null(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

void
ax_config_from_env(struct ax_config *cfg)
{
	cfg->brokers = env_or_null("AXIOM_BROKERS");
	cfg->pg_admin_dsn = env_or_null("AXIOM_PG_ADMIN_DSN");
	cfg->pg_dsn = env_or_null("AXIOM_PG_DSN");
	cfg->pg_analytics_dsn = env_or_null("AXIOM_PG_ANALYTICS_DSN");
	cfg->pg_auditor_dsn = env_or_null("AXIOM_PG_AUDITOR_DSN");
	cfg->topic_prefix = env_or_null("AXIOM_TOPIC_PREFIX");
	if (cfg->topic_prefix == NULL)
		cfg->topic_prefix = "axiom";
}

int
ax_config_require(const struct ax_config *cfg, const char *var, struct ax_err *err)
{
	static const struct {
		const char *var;
		size_t off;
	} fields[] = {
		{ "AXIOM_BROKERS", offsetof(struct ax_config, brokers) },
		{ "AXIOM_PG_ADMIN_DSN", offsetof(struct ax_config, pg_admin_dsn) },
		{ "AXIOM_PG_DSN", offsetof(struct ax_config, pg_dsn) },
		{ "AXIOM_PG_ANALYTICS_DSN", offsetof(struct ax_config, pg_analytics_dsn) },
		{ "AXIOM_PG_AUDITOR_DSN", offsetof(struct ax_config, pg_auditor_dsn) },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(fields[i].var, var) != 0)
			continue;
		if (*(const char *const *)((const char *)cfg + fields[i].off) != NULL)
			return AX_OK;
		ax_err_set(err, AX_EINVAL, "%s is not set", var);
		ax_err_hint(err, "start the local stack and load its settings: ops/stack up && "
		                 "eval \"$(ops/stack env)\"");
		return AX_EINVAL;
	}
	return ax_err_set(err, AX_EINVAL, "unknown configuration variable %s", var);
}
