/*
 * ax_b64url.h - strict base64url (RFC 4648 section 5) without padding.
 *
 * Invariants: (1) the encoder never writes '=' and always NUL-terminates;
 * (2) the decoder accepts exactly the strings the encoder can produce: alphabet A-Z a-z 0-9
 * '-' '_', no padding, no whitespace, length % 4 != 1, and zero unused bits in the last
 * character, so every byte string has one and only one accepted text form;
 * (3) neither function writes past the capacity it is given. Pure: no I/O, no globals.
 */
#ifndef AX_B64URL_H
#define AX_B64URL_H

#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

/* Characters (without the NUL) that encoding n bytes produces. */
#define AX_B64URL_ENCODED_LEN(n) (((n) / 3) * 4 + (((n) % 3) ? ((n) % 3) + 1 : 0))

/* Largest byte count that a text of n characters can decode to. */
#define AX_B64URL_DECODED_MAX(n) (((n) / 4) * 3 + 2)

/* Encode in[0..len) into out as NUL-terminated base64url text; AX_EINVAL if out_cap is short. */
int ax_b64url_encode(char *out, size_t out_cap, const uint8_t *in, size_t len, struct ax_err *err);

/* Decode the len characters at in into out (out_cap bytes), setting *out_len; AX_EINVAL on
 * any character, length or padding-bit the strict form forbids, or if out_cap is short. */
int ax_b64url_decode(
    uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t len, struct ax_err *err);

#endif
