/*
 * ax_uuid.c - UUID text; see ax_uuid.h. The hex digits go through ax_hex.
 */
#include "ax_uuid.h"

#include <string.h>

#include "ax_hex.h"

/* Whether text position i of a UUID holds a dash. */
static bool
dash_at(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

bool
ax_uuid_parse(uint8_t out[AX_UUID_LEN], const char *s, size_t len)
{
	char digits[2 * AX_UUID_LEN + 1];
	size_t i, k = 0;

	if (len != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (dash_at(i) != (s[i] == '-'))
			return false;
		if (!dash_at(i))
			digits[k++] = s[i];
	}
	digits[k] = '\0';
	return ax_hex_decode(out, digits, AX_UUID_LEN) == 0;
}

void
ax_uuid_format(char out[37], const uint8_t u[AX_UUID_LEN])
{
	char digits[2 * AX_UUID_LEN + 1];
	size_t i, k = 0;

	ax_hex_encode(digits, u, AX_UUID_LEN);
	for (i = 0; i < 36; i++)
		out[i] = dash_at(i) ? '-' : digits[k++];
	out[36] = '\0';
}
