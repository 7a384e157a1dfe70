/*
 * ax_err.c - the error carrier; see ax_err.h.
 */
#include "ax_err.h"

#include <string.h>

void
ax_err_clear(struct ax_err *err)
{
	memset(err, 0, sizeof(*err));
}

int
ax_err_set(struct ax_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	ax_err_clear(err);
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
ax_err_detail(struct ax_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
ax_err_hint(struct ax_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void
ax_err_print(FILE *fp, const char *prog, const struct ax_err *err)
{
	fprintf(fp, "%s: error: %s\n", prog, err->msg[0] ? err->msg : ax_rc_name(err->code));
	if (err->detail[0])
		fprintf(fp, "DETAIL: %s\n", err->detail);
	if (err->hint[0])
		fprintf(fp, "HINT: %s\n", err->hint);
}

const char *
ax_rc_name(int code)
{
	switch (code) {
	case AX_OK:
		return "ok";
	case AX_EUNAVAIL:
		return "unavailable";
	case AX_EINVAL:
		return "invalid";
	case AX_ECONFLICT:
		return "conflict";
	default:
		return "error";
	}
}
