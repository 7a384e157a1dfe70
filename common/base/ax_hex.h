/*
 * ax_hex.h - lower-case hex, as the SQL API and the JSON forms carry bytes.
 * Pure; strict on input (exactly 2n hex digits of either case, nothing else: no spaces, no
 * signs, no "0x"). The one hex encoder and decoder of Axiom: UUID text (ax_uuid.h) and the
 * JSON forms (ax_json_hex in ax_codec.h) go through it.
 */
#ifndef AX_HEX_H
#define AX_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Write p[0..n) as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void ax_hex_encode(char *out, const uint8_t *p, size_t n);

/* Decode s, which must be exactly 2n hex digits, into out[0..n); 0, or -1 when it is not. */
int ax_hex_decode(uint8_t *out, const char *s, size_t n);

/*
 * Decode s, an even number of hex digits, at most 2 * cap, into out[0..*out_len); 0, or -1
 * when it is not (out and *out_len then hold nothing useful).
 */
int ax_hex_decode_upto(uint8_t *out, size_t cap, size_t *out_len, const char *s);

/*
 * Decode the hex text s[0..len) (any even length, NULL is not hex) into a new buffer *out of
 * *out_len = len / 2 bytes, owned by the caller (free()); *out is never NULL on success, even
 * for len 0. 0, or -1 with *out = NULL and *out_len = 0 when s is not hex or memory ran out.
 */
int ax_hex_decode_new(uint8_t **out, size_t *out_len, const char *s, size_t len);

#endif
