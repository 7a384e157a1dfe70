/*
 * ax_report.h - the pure parts of `axiom report`: a capped text buffer, HTML escaping, a
 * line diff (longest common subsequence) and a whitespace-only layout of JSON content.
 *
 * Invariants:
 *  (1) no I/O and no globals; every function is deterministic;
 *  (2) a struct ax_sbuf never grows beyond its max; once a write would exceed it (or memory
 *      runs out) the buffer is marked failed, later writes are ignored and ax_sbuf_ok says
 *      so: the caller checks once, at the end;
 *  (3) ax_sbuf_html writes every byte of its input either as itself or as an entity: the
 *      five characters & < > " ' never reach the output unescaped, whatever the input, and
 *      control characters other than tab and newline become U+FFFD (so that a hostile title
 *      cannot open markup, close an attribute or hide text);
 *  (4) ax_diff_lines keeps within AX_DIFF_MAX_LINES lines per side and AX_DIFF_MAX_CELLS
 *      cells of the LCS table (after the common prefix and suffix are taken off); beyond,
 *      it refuses (AX_EINVAL) rather than allocate without bound;
 *  (5) ax_report_json_layout changes only whitespace outside strings: every other byte of
 *      the input reaches the output in order, so what is shown is what is stored.
 */
#ifndef AX_REPORT_H
#define AX_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#include "ax_err.h"

#define AX_DIFF_MAX_LINES 100000
#define AX_DIFF_MAX_CELLS (4u * 1024u * 1024u)

/* A growable text buffer with a hard cap. Zero-initialise, then ax_sbuf_init. */
struct ax_sbuf {
	char *p;    /* NUL-terminated once anything was written */
	size_t len; /* bytes written, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len */
	int failed; /* a write was refused (cap or memory) */
};

void ax_sbuf_init(struct ax_sbuf *b, size_t max);
void ax_sbuf_free(struct ax_sbuf *b);

/* Whether every write so far fitted; the text is complete only then. */
int ax_sbuf_ok(const struct ax_sbuf *b);

/* Append s[0..n) as is. */
void ax_sbuf_add(struct ax_sbuf *b, const char *s, size_t n);

/* Append the NUL-terminated s as is (NULL appends nothing). */
void ax_sbuf_puts(struct ax_sbuf *b, const char *s);

/* Append formatted text (printf rules). */
void ax_sbuf_printf(struct ax_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s[0..n) escaped for HTML text and attribute values (invariant 3). */
void ax_sbuf_html(struct ax_sbuf *b, const char *s, size_t n);

/* ax_sbuf_html of the NUL-terminated s; NULL writes nothing. */
void ax_sbuf_html_str(struct ax_sbuf *b, const char *s);

/* One line of a diff: ' ' in both, '-' only in the old text, '+' only in the new one. */
typedef void (*ax_diff_line_fn)(void *arg, char op, const char *line, size_t len);

/*
 * Call fn for every line of the shortest edit from old[0..old_len) to new[0..new_len)
 * (lines split at '\n'; a final '\n' does not start an empty line), in order: for each
 * change, the removed lines come before the added ones. AX_EINVAL when a side has more than
 * AX_DIFF_MAX_LINES lines or the table would exceed AX_DIFF_MAX_CELLS (fn not called);
 * AX_ERR when out of memory.
 */
int ax_diff_lines(const char *old, size_t old_len, const char *new_text, size_t new_len,
    ax_diff_line_fn fn, void *arg, struct ax_err *err);

/*
 * Lay out the JSON text s[0..n) one member or element per line, indented by two spaces per
 * level, into out; only whitespace outside strings is changed (invariant 5). The caller
 * checks that s is JSON; on other input the result is still every non-blank byte in order.
 */
void ax_report_json_layout(struct ax_sbuf *out, const char *s, size_t n);

#endif
