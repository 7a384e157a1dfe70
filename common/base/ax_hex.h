/*
 * ax_hex.h - lower-case hex, as the SQL API and the JSON forms carry bytes.
 * Pure; strict on input (exactly 2n hex digits, nothing else).
 */
#ifndef AX_HEX_H
#define AX_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Write p[0..n) as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void ax_hex_encode(char *out, const uint8_t *p, size_t n);

/* Decode s, which must be exactly 2n hex digits, into out[0..n); 0, or -1 when it is not. */
int ax_hex_decode(uint8_t *out, const char *s, size_t n);

#endif
