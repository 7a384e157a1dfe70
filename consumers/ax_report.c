/*
 * ax_report.c - the pure parts of `axiom report`; see ax_report.h for the invariants.
 */
#include "ax_report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ax_sbuf_init(struct ax_sbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
ax_sbuf_free(struct ax_sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
ax_sbuf_ok(const struct ax_sbuf *b)
{
	return !b->failed;
}

/* Make room for n more bytes and the NUL; 0, or -1 (and failed set) when it cannot. */
static int
reserve(struct ax_sbuf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (b->failed)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->failed = 1;
		return -1;
	}
	want = b->len + n + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
ax_sbuf_add(struct ax_sbuf *b, const char *s, size_t n)
{
	if (reserve(b, n) != 0)
		return;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
ax_sbuf_puts(struct ax_sbuf *b, const char *s)
{
	if (s != NULL)
		ax_sbuf_add(b, s, strlen(s));
}

void
ax_sbuf_printf(struct ax_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if (reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
ax_sbuf_html(struct ax_sbuf *b, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		const unsigned char c = (unsigned char)s[i];
		const char *rep;

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? "\xef\xbf\xbd"
			                                                        : NULL;
			break;
		}
		if (rep == NULL)
			continue;
		ax_sbuf_add(b, s + start, i - start);
		ax_sbuf_puts(b, rep);
		start = i + 1;
	}
	ax_sbuf_add(b, s + start, n - start);
}

void
ax_sbuf_html_str(struct ax_sbuf *b, const char *s)
{
	if (s != NULL)
		ax_sbuf_html(b, s, strlen(s));
}

/* Lines ------------------------------------------------------------------------------------ */

struct line {
	const char *p;
	size_t len;
};

/* Split s[0..n) at '\n' into *out (caller frees); -1 when over max lines or out of memory. */
static int
split_lines(const char *s, size_t n, struct line **out, size_t *count, size_t max)
{
	struct line *v = NULL;
	size_t i, k = 0, start = 0, cap = 0;

	*out = NULL;
	*count = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (i == n && start == n)
			break; /* a final newline does not start an empty line */
		if (k == max) {
			free(v);
			return -1;
		}
		if (k == cap) {
			struct line *nv;

			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				return -2;
			}
			v = nv;
		}
		v[k].p = s + start;
		v[k].len = i - start;
		k++;
		start = i + 1;
	}
	*out = v;
	*count = k;
	return 0;
}

static int
same_line(const struct line *a, const struct line *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

int
ax_diff_lines(const char *old, size_t old_len, const char *new_text, size_t new_len,
    ax_diff_line_fn fn, void *arg, struct ax_err *err)
{
	struct line *a = NULL, *b = NULL;
	uint32_t *t = NULL;
	size_t na, nb, pre = 0, suf = 0, n, m, i, j, w;
	int rc = AX_OK, s;

	if ((s = split_lines(old, old_len, &a, &na, AX_DIFF_MAX_LINES)) != 0 ||
	    (s = split_lines(new_text, new_len, &b, &nb, AX_DIFF_MAX_LINES)) != 0) {
		rc = s == -1 ? ax_err_set(err, AX_EINVAL,
		                   "a text has more than %d lines to compare", AX_DIFF_MAX_LINES)
		             : ax_err_set(err, AX_ERR, "out of memory comparing two texts");
		goto out;
	}
	while (pre < na && pre < nb && same_line(&a[pre], &b[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && same_line(&a[na - 1 - suf], &b[nb - 1 - suf]))
		suf++;
	n = na - pre - suf;
	m = nb - pre - suf;
	w = m + 1;
	if ((n + 1) > AX_DIFF_MAX_CELLS / w) {
		rc = ax_err_set(err, AX_EINVAL,
		    "the changed part is too large to compare line by line (%zu x %zu lines)", n,
		    m);
		goto out;
	}
	/* t[i][j]: length of the LCS of old lines pre+i.. and new lines pre+j.. (the middle) */
	if ((t = calloc((n + 1) * w, sizeof(*t))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory comparing two texts");
		goto out;
	}
	for (i = n; i-- > 0;)
		for (j = m; j-- > 0;)
			t[i * w + j] =
			    same_line(&a[pre + i], &b[pre + j])
			        ? t[(i + 1) * w + j + 1] + 1
			        : (t[(i + 1) * w + j] >= t[i * w + j + 1] ? t[(i + 1) * w + j]
			                                                  : t[i * w + j + 1]);
	for (i = 0; i < pre; i++)
		fn(arg, ' ', a[i].p, a[i].len);
	i = 0;
	j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && same_line(&a[pre + i], &b[pre + j])) {
			fn(arg, ' ', a[pre + i].p, a[pre + i].len);
			i++;
			j++;
		} else if (i < n && (j == m || t[(i + 1) * w + j] >= t[i * w + j + 1])) {
			fn(arg, '-', a[pre + i].p, a[pre + i].len);
			i++;
		} else {
			fn(arg, '+', b[pre + j].p, b[pre + j].len);
			j++;
		}
	}
	for (i = na - suf; i < na; i++)
		fn(arg, ' ', a[i].p, a[i].len);
out:
	free(t);
	free(a);
	free(b);
	return rc;
}

/* JSON layout ------------------------------------------------------------------------------ */

static void
newline_indent(struct ax_sbuf *out, int depth)
{
	int i;

	ax_sbuf_add(out, "\n", 1);
	for (i = 0; i < depth; i++)
		ax_sbuf_add(out, "  ", 2);
}

void
ax_report_json_layout(struct ax_sbuf *out, const char *s, size_t n)
{
	size_t i;
	int depth = 0, in_string = 0, escaped = 0;

	for (i = 0; i < n; i++) {
		const char c = s[i];

		if (in_string) {
			ax_sbuf_add(out, &c, 1);
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		switch (c) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			break;
		case '"':
			in_string = 1;
			ax_sbuf_add(out, &c, 1);
			break;
		case '{':
		case '[': {
			size_t k = i + 1;

			ax_sbuf_add(out, &c, 1);
			while (
			    k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r'))
				k++;
			if (k < n && (s[k] == '}' || s[k] == ']')) {
				ax_sbuf_add(out, &s[k], 1); /* {} and [] stay on one line */
				i = k;
				break;
			}
			depth++;
			newline_indent(out, depth);
			break;
		}
		case '}':
		case ']':
			depth = depth > 0 ? depth - 1 : 0;
			newline_indent(out, depth);
			ax_sbuf_add(out, &c, 1);
			break;
		case ',':
			ax_sbuf_add(out, &c, 1);
			newline_indent(out, depth);
			break;
		case ':':
			ax_sbuf_add(out, ": ", 2);
			break;
		default:
			ax_sbuf_add(out, &c, 1);
			break;
		}
	}
}
