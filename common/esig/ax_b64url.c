/*
 * ax_b64url.c - strict base64url without padding; see ax_b64url.h for the invariants.
 */
#include "ax_b64url.h"

static const char alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of base64url character c, or -1 when c is outside the alphabet. */
static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
ax_b64url_encode(char *out, size_t out_cap, const uint8_t *in, size_t len, struct ax_err *err)
{
	size_t need, i, o = 0;
	uint32_t v;

	if (len > (SIZE_MAX / 4) - 4)
		return ax_err_set(err, AX_EINVAL, "could not encode %zu bytes as base64url", len);
	need = AX_B64URL_ENCODED_LEN(len);
	if (out_cap < need + 1) {
		ax_err_set(err, AX_EINVAL, "base64url output does not fit");
		ax_err_detail(err, "Encoding %zu bytes needs %zu characters; %zu are available.",
		    len, need + 1, out_cap);
		return AX_EINVAL;
	}
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return AX_OK;
}

int
ax_b64url_decode(
    uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t len, struct ax_err *err)
{
	size_t i, o = 0, rem = len % 4, need;
	uint32_t v;
	int c[4];
	int k;

	*out_len = 0;
	if (rem == 1)
		return ax_err_set(err, AX_EINVAL,
		    "invalid base64url text: length %zu is not a possible encoding", len);
	need = (len / 4) * 3 + (rem ? rem - 1 : 0);
	if (need > out_cap) {
		ax_err_set(err, AX_EINVAL, "base64url text is too long");
		ax_err_detail(
		    err, "It decodes to %zu bytes; at most %zu are accepted.", need, out_cap);
		return AX_EINVAL;
	}
	for (i = 0; i < len; i += 4) {
		size_t n = len - i < 4 ? len - i : 4;

		v = 0;
		for (k = 0; k < 4; k++) {
			c[k] = 0;
			if ((size_t)k < n && (c[k] = b64url_value(in[i + k])) < 0) {
				ax_err_set(err, AX_EINVAL, "invalid base64url text");
				ax_err_detail(err,
				    "Character %zu is not in the base64url alphabet (padding and "
				    "whitespace are not accepted).",
				    i + (size_t)k);
				return AX_EINVAL;
			}
			v = v << 6 | (uint32_t)c[k];
		}
		out[o++] = (uint8_t)(v >> 16);
		if (n >= 3)
			out[o++] = (uint8_t)(v >> 8);
		if (n == 4)
			out[o++] = (uint8_t)v;
		if ((n == 2 && (v & 0xffff) != 0) || (n == 3 && (v & 0xff) != 0)) {
			ax_err_set(err, AX_EINVAL, "invalid base64url text");
			ax_err_detail(err, "The unused bits of the last character are not zero "
			                   "(a non-canonical encoding).");
			return AX_EINVAL;
		}
	}
	*out_len = o;
	return AX_OK;
}
