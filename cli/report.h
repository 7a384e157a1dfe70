/*
 * report.h - rendering of `axiom report` (cmd_report.c gathers and verifies; report_html.c
 * renders): the JSON electronic copy is the one source, HTML is rendered from it and PDF is
 * printed from that HTML by headless Chromium.
 *
 * Invariants:
 *  (1) every value taken from the database reaches the HTML through ax_sbuf_html (names,
 *      reasons, titles and content are hostile input);
 *  (2) the HTML is one self-contained file: inline CSS, no scripts, no external resources;
 *  (3) the SHA-256 printed in the HTML (and so in the PDF) is the hash of the exact bytes of
 *      the JSON electronic copy the same run wrote or could write (ax_report_copy_bytes).
 */
#ifndef AXIOM_REPORT_H
#define AXIOM_REPORT_H

#include <jansson.h>

#include "ax_err.h"
#include "ax_report.h"

#define REPORT_HTML_MAX   (256u * 1024u * 1024u) /* the HTML text, hard cap */
#define REPORT_DIFF_SHOWN 2000                   /* diff lines shown per version */

/* The HTML of a record report (doc from cmd_report.c) into out; sha256_hex of its copy. */
void report_html_record(
    struct ax_sbuf *out, json_t *doc, const char *sha256_hex, const char *copy_name);

/* The HTML of an audit-trail report. */
void report_html_audit_trail(
    struct ax_sbuf *out, json_t *doc, const char *sha256_hex, const char *copy_name);

/*
 * Print html (a complete document) to PDF with headless Chromium ($AXIOM_CHROMIUM, default
 * "chromium") in a fresh private directory (profile, page and PDF), bounded by timeout_s
 * seconds, then copy the PDF to pdf_path (standard output for NULL): an existing pdf_path is
 * replaced only once the PDF was printed.
 */
int report_print_pdf(
    const char *html, size_t html_len, const char *pdf_path, int timeout_s, struct ax_err *err);

#endif
