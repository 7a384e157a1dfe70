/*
 * ax_schemas.h - the Avro schema texts built into axiom_contract.
 *
 * The build (cmake/AxiomSchemas.cmake) embeds every schemas/avro/<family>.avsc (the current
 * revision of each topic's schema) and schemas/avro/history/<family>.v<N>.avsc (every earlier
 * revision) byte for byte, so that the codec knows every writer schema it may meet without
 * reading files at run time.
 */
#ifndef AX_SCHEMAS_H
#define AX_SCHEMAS_H

#include <stddef.h>
#include <stdint.h>

/* One embedded schema file. */
struct ax_schema_source {
	const char *file;    /* "control.avsc", "history/control.v1.avsc" */
	const char *family;  /* "control", "data" or "audit" */
	int revision;        /* N of history files; 0 for the current file */
	const uint8_t *text; /* the file's bytes (not NUL-terminated) */
	size_t len;
};

extern const struct ax_schema_source ax_schema_sources[];
extern const size_t ax_schema_sources_len;

#endif
