/*
 * ax_uuid.h - UUIDs in their text form (8-4-4-4-12 hex digits), as the JSON forms, the SQL
 * API and the command line carry them; 16 bytes in network order in memory.
 * Pure; strict on input (either case, dashes exactly where they belong, nothing else).
 */
#ifndef AX_UUID_H
#define AX_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AX_UUID_LEN 16

/* Parse s[0..len) into out; false unless it is exactly 36 characters 8-4-4-4-12 hex. */
bool ax_uuid_parse(uint8_t out[AX_UUID_LEN], const char *s, size_t len);

/* Write u as 36 lower-case characters 8-4-4-4-12 and a NUL into out. */
void ax_uuid_format(char out[37], const uint8_t u[AX_UUID_LEN]);

#endif
