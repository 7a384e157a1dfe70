/*
 * ax_hex.c - lower-case hex; see ax_hex.h.
 */
#include "ax_hex.h"

#include <stdlib.h>
#include <string.h>

void
ax_hex_encode(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the 2n characters s[0..2n) into out[0..n); 0, or -1 at the first non-digit. */
static int
decode(uint8_t *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
ax_hex_decode(uint8_t *out, const char *s, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	return decode(out, s, n);
}

int
ax_hex_decode_upto(uint8_t *out, size_t cap, size_t *out_len, const char *s)
{
	size_t n = strnlen(s, 2 * cap + 1);

	*out_len = 0;
	if (n % 2 != 0 || n / 2 > cap || decode(out, s, n / 2) != 0)
		return -1;
	*out_len = n / 2;
	return 0;
}

int
ax_hex_decode_new(uint8_t **out, size_t *out_len, const char *s, size_t len)
{
	*out = NULL;
	*out_len = 0;
	if (s == NULL || len % 2 != 0 || (*out = malloc(len / 2 + 1)) == NULL)
		return -1;
	if (decode(*out, s, len / 2) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*out_len = len / 2;
	return 0;
}
