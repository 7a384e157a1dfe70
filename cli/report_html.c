/*
 * report_html.c - the HTML of `axiom report` from its JSON document, and the PDF printed
 * from that HTML by headless Chromium; see report.h for the invariants.
 *
 * Every value from the document goes through ax_sbuf_html (H() below); the only text written
 * raw is this file's own markup and CSS.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define PROFILE_PATH_MAX 512

static const char css[] =
    "*{box-sizing:border-box}"
    "body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;font-size:10.5pt;color:#111;"
    "margin:0;padding:24px 32px;max-width:1100px;line-height:1.35}"
    "header.doc{border-bottom:3px solid #1f3b5a;padding-bottom:8px;margin-bottom:14px}"
    "header.doc .sys{font-size:9pt;letter-spacing:.08em;text-transform:uppercase;color:#1f3b5a;"
    "font-weight:bold}"
    "h1{font-size:17pt;margin:4px 0 2px}"
    "h2{font-size:13pt;color:#1f3b5a;border-bottom:1px solid #9fb3c8;margin:22px 0 8px;"
    "padding-bottom:2px}"
    "h3{font-size:11.5pt;margin:0 0 6px}"
    "table{border-collapse:collapse;width:100%;margin:4px 0 10px}"
    "th,td{border:1px solid #b8c4d0;padding:3px 6px;text-align:left;vertical-align:top}"
    "th{background:#e9eef4;font-weight:bold}"
    "table.kv th{width:24%;white-space:nowrap}"
    ".name{white-space:nowrap}"
    ".mono,.hash{font-family:'DejaVu Sans Mono',monospace;font-size:8.5pt}"
    ".hash{word-break:break-all}"
    "td.differs{background:#fdecea;color:#8e0000;font-weight:bold}"
    ".status{border:2px solid;padding:8px 12px;margin:10px 0 4px;font-weight:bold}"
    ".status.ok{border-color:#2e7d32;background:#edf7ee;color:#1b5e20}"
    ".status.bad{border-color:#c62828;background:#fdecea;color:#8e0000}"
    ".status .sub{font-weight:normal;color:#111;font-size:9.5pt;margin-top:4px}"
    "section.version{border:1px solid #9fb3c8;padding:10px 12px;margin:10px 0}"
    "section.version.bad{border:2px solid #c62828}"
    ".tag{display:inline-block;padding:0 6px;border-radius:3px;font-size:9pt;font-weight:bold}"
    ".tag.ok{background:#edf7ee;color:#1b5e20;border:1px solid #2e7d32}"
    ".tag.bad{background:#fdecea;color:#8e0000;border:1px solid #c62828}"
    ".tag.rej{background:#fff4e5;color:#8a4b00;border:1px solid #e09b3d}"
    "pre{font-family:'DejaVu Sans Mono',monospace;font-size:8.5pt;background:#f7f9fb;"
    "border:1px solid #d5dde5;padding:6px 8px;margin:4px 0 8px;white-space:pre-wrap;"
    "word-break:break-all}"
    "pre .add{background:#e3f4e4;display:block}"
    "pre .del{background:#fbe3e3;display:block;text-decoration:line-through}"
    "pre .ctx{display:block;color:#555}"
    ".label{font-size:9pt;font-weight:bold;color:#1f3b5a;margin-top:6px}"
    ".note{font-size:9pt;color:#444}"
    "footer.doc{border-top:3px solid #1f3b5a;margin-top:24px;padding-top:8px;font-size:9pt}"
    "@page{size:A4;margin:14mm 12mm}"
    "@media print{body{padding:0;max-width:none;font-size:9.5pt}"
    "table.kv,.status,tr,pre{break-inside:avoid}"
    "h2,h3,.label{break-after:avoid}a{color:inherit;text-decoration:none}}";

static const char *
nz(const char *s)
{
	return s ? s : "";
}

static const char *
or_all(const char *s)
{
	return s ? s : "all";
}

/* The value of key in o as a string ("" when absent or null; numbers in decimal). */
static const char *
S(json_t *o, const char *key, char *tmp, size_t cap)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	return "";
}

/* Escape and append the value of key. */
static void
H(struct ax_sbuf *b, json_t *o, const char *key)
{
	char tmp[32];

	ax_sbuf_html_str(b, S(o, key, tmp, sizeof(tmp)));
}

/* An ISO-8601 UTC time of the document ("...T...Z") as "YYYY-MM-DD HH:MM:SS.ffffff UTC". */
static void
T(struct ax_sbuf *b, json_t *o, const char *key)
{
	const char *t = json_string_value(json_object_get(o, key));
	size_t n;

	if (t == NULL || (n = strlen(t)) < 20 || t[10] != 'T' || t[n - 1] != 'Z') {
		ax_sbuf_html_str(b, t ? t : "");
		return;
	}
	ax_sbuf_html(b, t, 10);
	ax_sbuf_puts(b, " ");
	ax_sbuf_html(b, t + 11, n - 12);
	ax_sbuf_puts(b, " UTC");
}

/* "Printed Name (user_id)" or "user_id" when the name is not visible to the role. */
static void
person(struct ax_sbuf *b, json_t *o, const char *id_key, const char *name_key)
{
	const char *name = json_string_value(json_object_get(o, name_key));

	if (name != NULL && name[0] != '\0') {
		ax_sbuf_html_str(b, name);
		ax_sbuf_puts(b, " (");
		H(b, o, id_key);
		ax_sbuf_puts(b, ")");
	} else {
		H(b, o, id_key);
	}
}

/* A ledger reference "topic / partition p / seq s" and, when known, "/ offset o". */
static void
ledger_ref(struct ax_sbuf *b, json_t *ref, json_t *entries)
{
	json_t *e;
	size_t i;
	char tmp[32];

	if (!json_is_object(ref)) {
		ax_sbuf_puts(b, "<span class=\"tag bad\">no ledger reference</span>");
		return;
	}
	ax_sbuf_puts(b, "<span class=\"mono\">");
	H(b, ref, "topic");
	ax_sbuf_puts(b, " &middot; partition ");
	H(b, ref, "partition");
	ax_sbuf_puts(b, " &middot; seq ");
	H(b, ref, "seq");
	json_array_foreach(entries, i, e)
	{
		if (json_integer_value(json_object_get(e, "seq")) ==
		        json_integer_value(json_object_get(ref, "seq")) &&
		    json_integer_value(json_object_get(e, "partition")) ==
		        json_integer_value(json_object_get(ref, "partition")) &&
		    strcmp(S(e, "topic", tmp, sizeof(tmp)), S(ref, "topic", tmp, sizeof(tmp))) ==
		        0 &&
		    json_object_get(e, "offset") != NULL) {
			ax_sbuf_puts(b, " &middot; offset ");
			H(b, e, "offset");
			break;
		}
	}
	ax_sbuf_puts(b, "</span>");
}

static void
doc_head(struct ax_sbuf *b, const char *title, int landscape)
{
	ax_sbuf_puts(b,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'\"><title>");
	ax_sbuf_html_str(b, title);
	ax_sbuf_puts(b, "</title><style>");
	ax_sbuf_puts(b, css);
	if (landscape) /* the audit trail is a wide table */
		ax_sbuf_puts(b, "@page{size:A4 landscape;margin:10mm}body{max-width:none}"
		                "table.wide td,table.wide th{font-size:8.5pt;padding:2px 4px}"
		                "table.wide .hash{font-size:7.5pt}");
	ax_sbuf_puts(b, "</style></head><body>\n");
}

static void
status_box(struct ax_sbuf *b, json_t *integrity, const char *what)
{
	int ok =
	    strcmp(nz(json_string_value(json_object_get(integrity, "status"))), "unchanged") == 0;

	ax_sbuf_printf(b, "<div class=\"status %s\">Integrity at print time: ", ok ? "ok" : "bad");
	H(b, integrity, "summary");
	ax_sbuf_puts(b, "<div class=\"sub\">");
	ax_sbuf_puts(b, what);
	ax_sbuf_puts(b, "</div></div>\n");
}

static void
doc_footer(struct ax_sbuf *b, json_t *doc, const char *sha256_hex, const char *copy_name)
{
	ax_sbuf_puts(b, "<footer class=\"doc\"><table class=\"kv\"><tr><th>Generated at</th><td>");
	T(b, doc, "generated_at");
	ax_sbuf_puts(b,
	    " (all times in this report are UTC)</td></tr><tr><th>Generated by role</th>"
	    "<td class=\"mono\">");
	H(b, doc, "generated_by");
	ax_sbuf_puts(b, "</td></tr><tr><th>SHA-256 of the electronic copy</th><td><span "
	                "class=\"hash\">");
	ax_sbuf_html_str(b, sha256_hex);
	ax_sbuf_puts(b, "</span><div class=\"note\">The electronic copy is the JSON document ");
	if (copy_name != NULL) {
		ax_sbuf_puts(b, "<span class=\"mono\">");
		ax_sbuf_html_str(b, copy_name);
		ax_sbuf_puts(b, "</span> ");
	}
	ax_sbuf_puts(b, "written by the same run (<span class=\"mono\">axiom report ... --format "
	                "json</span> layout, format <span class=\"mono\">");
	H(b, doc, "format");
	ax_sbuf_puts(b,
	    "</span>); this hash is SHA-256 over its exact bytes, final newline "
	    "included (<span class=\"mono\">sha256sum</span>). It holds every field and "
	    "every stored and recomputed hash needed to re-verify this report offline."
	    "</div></td></tr></table></footer>\n</body></html>\n");
}

/* Record report ----------------------------------------------------------------------------- */

/* The content of v as shown: JSON laid out one member per line, other text as is. */
static void
display_text(struct ax_sbuf *out, json_t *v)
{
	const char *t = json_string_value(json_object_get(v, "content_text"));
	json_t *parsed;

	if (t == NULL)
		return;
	parsed = json_loads(t, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (parsed != NULL && (json_is_object(parsed) || json_is_array(parsed)))
		ax_report_json_layout(out, t, strlen(t));
	else
		ax_sbuf_puts(out, t);
	json_decref(parsed);
}

struct diff_out {
	struct ax_sbuf *b;
	int shown, changed;
};

static void
diff_line(void *arg, char op, const char *line, size_t len)
{
	struct diff_out *d = arg;

	if (op != ' ')
		d->changed++;
	if (d->shown++ >= REPORT_DIFF_SHOWN)
		return;
	ax_sbuf_puts(d->b, op == '+'   ? "<span class=\"add\">+ "
	                   : op == '-' ? "<span class=\"del\">- "
	                               : "<span class=\"ctx\">  ");
	ax_sbuf_html(d->b, line, len);
	ax_sbuf_puts(d->b, "</span>");
}

static void
version_diff(struct ax_sbuf *b, json_t *prev, json_t *v)
{
	struct ax_sbuf old, cur;
	struct diff_out d = { b, 0, 0 };
	struct ax_err err;
	char tmp[32];
	const char *t0 = S(prev, "title", tmp, sizeof(tmp));

	ax_sbuf_printf(b,
	    "<div class=\"label\">Changes from version %" JSON_INTEGER_FORMAT
	    " (removed lines struck through, added lines marked +)</div>",
	    json_integer_value(json_object_get(prev, "version")));
	if (strcmp(t0, S(v, "title", tmp, sizeof(tmp))) != 0) {
		ax_sbuf_puts(b, "<p>Title: <del>");
		H(b, prev, "title");
		ax_sbuf_puts(b, "</del> &rarr; <ins>");
		H(b, v, "title");
		ax_sbuf_puts(b, "</ins></p>");
	}
	if (json_object_get(prev, "content_text") == NULL ||
	    json_object_get(v, "content_text") == NULL) {
		ax_sbuf_printf(b, "<p class=\"note\">Binary content: %s.</p>",
		    json_equal(
		        json_object_get(prev, "content_hex"), json_object_get(v, "content_hex"))
		        ? "unchanged"
		        : "changed (see the hex in the electronic copy)");
		return;
	}
	ax_sbuf_init(&old, REPORT_HTML_MAX);
	ax_sbuf_init(&cur, REPORT_HTML_MAX);
	display_text(&old, prev);
	display_text(&cur, v);
	ax_err_clear(&err);
	if (!ax_sbuf_ok(&old) || !ax_sbuf_ok(&cur)) {
		ax_sbuf_puts(b, "<p class=\"note\">The content is too large to compare here.</p>");
	} else {
		ax_sbuf_puts(b, "<pre>");
		if (ax_diff_lines(old.p ? old.p : "", old.len, cur.p ? cur.p : "", cur.len,
		        diff_line, &d, &err) != AX_OK) {
			ax_sbuf_puts(b, "</pre><p class=\"note\">Not compared line by line: ");
			ax_sbuf_html_str(b, err.msg);
			ax_sbuf_puts(b, ".</p>");
		} else {
			if (d.shown > REPORT_DIFF_SHOWN)
				ax_sbuf_printf(b,
				    "<span class=\"ctx\">... %d more lines (the electronic "
				    "copy holds both versions whole)</span>",
				    d.shown - REPORT_DIFF_SHOWN);
			ax_sbuf_puts(b, "</pre>");
			if (d.changed == 0)
				ax_sbuf_puts(b,
				    "<p class=\"note\">The content is the same as in the "
				    "previous version.</p>");
		}
	}
	ax_sbuf_free(&old);
	ax_sbuf_free(&cur);
}

static void
version_signatures(struct ax_sbuf *b, json_t *doc, json_t *v)
{
	json_t *sigs = json_object_get(doc, "signatures"), *s;
	json_t *entries = json_object_get(doc, "ledger_entries");
	size_t i;
	int n = 0;

	json_array_foreach(sigs, i, s)
	{
		if (!json_equal(json_object_get(s, "record_id"), json_object_get(v, "record_id")))
			continue;
		if (n++ == 0)
			ax_sbuf_puts(b,
			    "<div class=\"label\">Electronic signatures on this version "
			    "(21 CFR 11.50 manifestation)</div><table><tr><th>Printed name"
			    "</th><th>Signed at</th><th>Meaning</th><th>Factors</th><th>Binds "
			    "this version</th><th>Intent hash, ledger</th></tr>");
		ax_sbuf_puts(b, "<tr><td class=\"name\"><b>");
		H(b, s, "printed_name");
		ax_sbuf_puts(b, "</b><br><span class=\"mono\">");
		H(b, s, "signer");
		ax_sbuf_puts(b, "</span></td><td>");
		T(b, s, "signed_at");
		ax_sbuf_puts(b, "</td><td><b>");
		H(b, s, "meaning");
		ax_sbuf_puts(b, "</b></td><td>");
		H(b, s, "factors");
		ax_sbuf_puts(b, "</td><td>");
		if (json_is_true(json_object_get(s, "signed_hash_is_stored_hash")) &&
		    json_is_true(json_object_get(v, "unchanged")))
			ax_sbuf_puts(b, "<span class=\"tag ok\">yes</span>");
		else
			ax_sbuf_puts(b,
			    "<span class=\"tag bad\">NO: the signed hash is not the hash of "
			    "this version as it is now</span>");
		ax_sbuf_puts(b, "<br><span class=\"hash\">");
		H(b, s, "record_hash");
		ax_sbuf_puts(b, "</span></td><td><span class=\"hash\">");
		H(b, s, "intent_hash");
		ax_sbuf_puts(b, "</span><br>");
		ledger_ref(b, json_object_get(s, "ledger"), entries);
		ax_sbuf_puts(b, "</td></tr>");
	}
	if (n > 0)
		ax_sbuf_puts(b, "</table>");
	else
		ax_sbuf_puts(b, "<p class=\"note\">No electronic signature on this version.</p>");
}

/* "; change request: REASON (proposed by ...)" for a version made by a change request. */
static void
change_reason(struct ax_sbuf *b, json_t *doc, json_t *v)
{
	json_t *c;
	size_t i;

	if (!json_is_string(json_object_get(v, "change_id")))
		return;
	json_array_foreach(json_object_get(doc, "change_requests"), i, c)
	{
		if (!json_equal(json_object_get(c, "change_id"), json_object_get(v, "change_id")))
			continue;
		ax_sbuf_puts(b, "<br>Change request: &ldquo;");
		H(b, c, "reason");
		ax_sbuf_puts(b, "&rdquo;, proposed by ");
		person(b, c, "author", "author_name");
		ax_sbuf_puts(b, " (section 2)");
	}
}

static void
version_section(struct ax_sbuf *b, json_t *doc, json_t *prev, json_t *v)
{
	json_t *entries = json_object_get(doc, "ledger_entries"), *p;
	int ok = json_is_true(json_object_get(v, "unchanged"));
	struct ax_sbuf shown;
	size_t i;

	ax_sbuf_printf(b, "<section class=\"version%s\"><h3>Version %" JSON_INTEGER_FORMAT " ",
	    ok ? "" : " bad", json_integer_value(json_object_get(v, "version")));
	ax_sbuf_puts(b, ok ? "<span class=\"tag ok\">unchanged since original entry</span>"
	                   : "<span class=\"tag bad\">CHANGED since original entry</span>");
	ax_sbuf_puts(b, "</h3>");
	if (!ok) {
		ax_sbuf_puts(b, "<div class=\"status bad\">Version ");
		H(b, v, "version");
		ax_sbuf_puts(b, " (record_id ");
		H(b, v, "record_id");
		ax_sbuf_puts(b, ") is not as it was entered:<div class=\"sub\"><ul>");
		json_array_foreach(json_object_get(v, "problems"), i, p)
		{
			ax_sbuf_puts(b, "<li>");
			ax_sbuf_html_str(b, json_string_value(p));
			ax_sbuf_puts(b, "</li>");
		}
		ax_sbuf_puts(b, "</ul></div></div>");
	}
	ax_sbuf_puts(b, "<table class=\"kv\"><tr><th>Title</th><td>");
	H(b, v, "title");
	ax_sbuf_puts(b, "</td></tr><tr><th>Entered by</th><td>");
	person(b, v, "created_by", "created_by_name");
	ax_sbuf_puts(b, "</td></tr><tr><th>Entered at</th><td>");
	T(b, v, "created_at");
	ax_sbuf_puts(b, "</td></tr><tr><th>Reason</th><td>");
	if (json_is_string(json_object_get(v, "reason")))
		H(b, v, "reason");
	else
		ax_sbuf_puts(b, "<i>not recorded: the database keeps no reason for this operation "
		                "(docs/compliance.md, Annex 11 section 9)</i>");
	change_reason(b, doc, v);
	ax_sbuf_puts(b, "</td></tr><tr><th>Status</th><td>");
	H(b, v, "status");
	if (json_is_string(json_object_get(v, "status_changed_at"))) {
		ax_sbuf_puts(b, " (since ");
		T(b, v, "status_changed_at");
		ax_sbuf_puts(b, ", by ");
		H(b, v, "status_changed_by");
		ax_sbuf_puts(b, ")");
	}
	ax_sbuf_puts(b, "</td></tr>");
	if (json_is_string(json_object_get(v, "change_id"))) {
		ax_sbuf_puts(b, "<tr><th>Change request</th><td class=\"mono\">");
		H(b, v, "change_id");
		ax_sbuf_puts(b, "</td></tr>");
	}
	ax_sbuf_puts(b, "<tr><th>Type, facility, domain</th><td>");
	H(b, v, "record_type");
	ax_sbuf_puts(b, ", ");
	H(b, v, "facility_id");
	ax_sbuf_puts(b, ", ");
	H(b, v, "domain_id");
	ax_sbuf_puts(b, "</td></tr><tr><th>record_id</th><td class=\"mono\">");
	H(b, v, "record_id");
	ax_sbuf_puts(b, "</td></tr><tr><th>record_hash (stored)</th><td class=\"hash\">");
	H(b, v, "record_hash");
	ax_sbuf_printf(b, "</td></tr><tr><th>record_hash (recomputed)</th><td class=\"hash%s\">",
	    json_equal(
	        json_object_get(v, "record_hash"), json_object_get(v, "recomputed_record_hash"))
	        ? ""
	        : " differs");
	H(b, v, "recomputed_record_hash");
	ax_sbuf_puts(b, "</td></tr>");
	if (json_is_string(json_object_get(v, "previous_record_hash"))) {
		ax_sbuf_puts(b, "<tr><th>previous_record_hash</th><td class=\"hash\">");
		H(b, v, "previous_record_hash");
		ax_sbuf_puts(b, "</td></tr>");
	}
	ax_sbuf_puts(b, "<tr><th>Ledger</th><td>");
	ledger_ref(b, json_object_get(v, "ledger"), entries);
	ax_sbuf_puts(b, "</td></tr></table>");

	ax_sbuf_puts(b, "<div class=\"label\">Content</div>");
	ax_sbuf_init(&shown, REPORT_HTML_MAX);
	display_text(&shown, v);
	if (json_object_get(v, "content_text") == NULL) {
		ax_sbuf_puts(b, "<p class=\"note\">Binary content, ");
		H(b, v, "content_bytes");
		ax_sbuf_puts(b, " bytes (hex in the electronic copy).</p>");
	} else {
		ax_sbuf_puts(b, "<pre>");
		if (ax_sbuf_ok(&shown) && shown.p != NULL)
			ax_sbuf_html(b, shown.p, shown.len);
		ax_sbuf_puts(b, "</pre>");
	}
	ax_sbuf_free(&shown);
	if (prev != NULL)
		version_diff(b, prev, v);
	version_signatures(b, doc, v);
	ax_sbuf_puts(b, "</section>\n");
}

static void
changes_section(struct ax_sbuf *b, json_t *doc)
{
	json_t *changes = json_object_get(doc, "change_requests"), *c, *s;
	json_t *entries = json_object_get(doc, "ledger_entries");
	size_t i, j;

	ax_sbuf_puts(b, "<h2>2. Change requests</h2>");
	if (json_array_size(changes) == 0)
		ax_sbuf_puts(b, "<p class=\"note\">None: every version was entered directly.</p>");
	json_array_foreach(changes, i, c)
	{
		ax_sbuf_puts(
		    b, "<table class=\"kv\"><tr><th>Change request</th><td class=\"mono\">");
		H(b, c, "change_id");
		ax_sbuf_puts(b, "</td></tr><tr><th>Proposed by</th><td>");
		person(b, c, "author", "author_name");
		ax_sbuf_puts(b, ", ");
		T(b, c, "proposed_at");
		ax_sbuf_puts(b, "</td></tr><tr><th>Reason</th><td>");
		H(b, c, "reason");
		ax_sbuf_puts(b, "</td></tr><tr><th>Based on version</th><td>");
		H(b, c, "base_version");
		ax_sbuf_puts(b, " <span class=\"hash\">");
		H(b, c, "base_record_hash");
		ax_sbuf_puts(b, "</span></td></tr><tr><th>Status</th><td><b>");
		H(b, c, "status");
		ax_sbuf_puts(b, "</b> (");
		T(b, c, "status_changed_at");
		ax_sbuf_puts(b, ")</td></tr></table><table><tr><th>Step</th><th>Transition</th>"
		                "<th>Who</th><th>When</th><th>Reason</th><th>Ledger</th></tr>");
		json_array_foreach(json_object_get(c, "steps"), j, s)
		{
			ax_sbuf_puts(b, "<tr><td><b>");
			H(b, s, "step");
			ax_sbuf_puts(b, "</b></td><td>");
			H(b, s, "from_status");
			ax_sbuf_puts(b, " &rarr; ");
			H(b, s, "to_status");
			ax_sbuf_puts(b, "</td><td>");
			person(b, s, "actor", "actor_name");
			ax_sbuf_puts(b, "</td><td>");
			T(b, s, "event_time");
			ax_sbuf_puts(b, "</td><td>");
			H(b, s, "reason");
			ax_sbuf_puts(b, "</td><td>");
			ledger_ref(b, json_object_get(s, "ledger"), entries);
			ax_sbuf_puts(b, "</td></tr>");
		}
		ax_sbuf_puts(b, "</table>\n");
	}
}

static void
decision_tag(struct ax_sbuf *b, json_t *o)
{
	char tmp[32];
	const char *d = S(o, "decision", tmp, sizeof(tmp));

	ax_sbuf_printf(b, "<span class=\"tag %s\">",
	    strcmp(d, "accepted") == 0   ? "ok"
	    : strcmp(d, "rejected") == 0 ? "rej"
	                                 : "bad");
	ax_sbuf_html_str(b, strcmp(d, "rejected") == 0 ? "refused" : d);
	ax_sbuf_puts(b, "</span>");
}

static void
events_section(struct ax_sbuf *b, json_t *doc)
{
	json_t *events = json_object_get(doc, "events"), *e;
	json_t *entries = json_object_get(doc, "ledger_entries");
	size_t i;

	ax_sbuf_puts(b, "<h2>3. Audit trail of this record</h2><p class=\"note\">Every operation "
	                "on the record, its change requests and its signatures, accepted or "
	                "refused (axiom.session_events).</p><table><tr><th>When</th><th>Who</th>"
	                "<th>Operation</th><th>Decision</th><th>Reason given</th><th>Ledger</th>"
	                "</tr>");
	json_array_foreach(events, i, e)
	{
		ax_sbuf_puts(b, "<tr><td>");
		T(b, e, "event_time");
		ax_sbuf_puts(b, "</td><td>");
		person(b, e, "actor", "actor_name");
		ax_sbuf_puts(b, "</td><td>");
		H(b, e, "operation");
		ax_sbuf_puts(b, "</td><td>");
		decision_tag(b, e);
		if (json_is_string(json_object_get(e, "reason_code"))) {
			ax_sbuf_puts(b, "<br><span class=\"mono\">");
			H(b, e, "reason_code");
			ax_sbuf_puts(b, "</span>");
		}
		ax_sbuf_puts(b, "</td><td>");
		H(b, e, "reason");
		ax_sbuf_puts(b, "</td><td>");
		ledger_ref(b, json_object_get(e, "ledger"), entries);
		ax_sbuf_puts(b, "</td></tr>");
	}
	ax_sbuf_puts(b, "</table>\n");
}

static void
ledger_table(struct ax_sbuf *b, json_t *entries, int with_event)
{
	json_t *e, *ev;
	size_t i;

	ax_sbuf_printf(b,
	    "<table class=\"wide\"><tr><th>Topic &middot; partition &middot; seq</th><th>Offset"
	    "</th><th>When</th><th>Actor</th>%s<th>Decision</th><th>Entry hash "
	    "(stored)</th><th>Verified</th></tr>",
	    with_event ? "<th>Operation, reason</th>" : "");
	json_array_foreach(entries, i, e)
	{
		ax_sbuf_puts(b, "<tr><td class=\"mono\">");
		H(b, e, "topic");
		ax_sbuf_puts(b, " &middot; ");
		H(b, e, "partition");
		ax_sbuf_puts(b, " &middot; ");
		H(b, e, "seq");
		ax_sbuf_puts(b, "</td><td class=\"mono\">");
		H(b, e, "offset");
		ax_sbuf_puts(b, "</td><td>");
		T(b, e, "event_time");
		ax_sbuf_puts(b, "</td><td>");
		person(b, e, "actor", "actor_name");
		ax_sbuf_puts(b, "</td>");
		if (with_event) {
			ax_sbuf_puts(b, "<td>");
			ev = json_object_get(e, "event");
			if (json_is_object(ev)) {
				H(b, ev, "operation");
				ax_sbuf_puts(b, "<br>");
				if (json_is_string(json_object_get(ev, "reason")))
					H(b, ev, "reason");
				else
					ax_sbuf_puts(b, "<i>no reason recorded</i>");
			} else {
				ax_sbuf_puts(b, "<i>no audit-trail event (the command could not be "
				                "read or authorised: quarantined)</i>");
			}
			ax_sbuf_puts(b, "</td>");
		}
		ax_sbuf_puts(b, "<td>");
		decision_tag(b, e);
		if (json_is_string(json_object_get(e, "reason_code"))) {
			ax_sbuf_puts(b, "<br><span class=\"mono\">");
			H(b, e, "reason_code");
			ax_sbuf_puts(b, "</span>");
		}
		ax_sbuf_puts(b, "</td><td class=\"hash\">");
		H(b, e, "entry_hash");
		ax_sbuf_puts(b, "</td><td>");
		if (json_object_get(e, "unchanged") == NULL)
			ax_sbuf_puts(b, "<span class=\"note\">not checked</span>");
		else if (json_is_true(json_object_get(e, "unchanged")))
			ax_sbuf_puts(b, "<span class=\"tag ok\">unchanged</span>");
		else {
			ax_sbuf_puts(b, "<span class=\"tag bad\">CHANGED</span> ");
			H(b, e, "problem");
		}
		ax_sbuf_puts(b, "</td></tr>");
	}
	ax_sbuf_puts(b, "</table>\n");
}

void
report_html_record(struct ax_sbuf *b, json_t *doc, const char *sha256_hex, const char *copy_name)
{
	json_t *versions = json_object_get(doc, "versions"), *v, *prev = NULL, *last;
	size_t i, n = json_array_size(versions);
	char title[512];

	last = json_array_get(versions, n - 1);
	snprintf(title, sizeof(title), "Record report: %s",
	    nz(json_string_value(json_object_get(last, "title"))));
	doc_head(b, title, 0);
	ax_sbuf_puts(b, "<header class=\"doc\"><div class=\"sys\">Axiom &middot; controlled record "
	                "report &middot; electronic copy in human-readable form</div><h1>");
	H(b, last, "title");
	ax_sbuf_puts(b, "</h1></header><table class=\"kv\"><tr><th>Record (lineage)</th>"
	                "<td class=\"mono\">");
	H(b, doc, "lineage");
	ax_sbuf_puts(b, "</td></tr><tr><th>Record type</th><td>");
	H(b, last, "record_type");
	ax_sbuf_puts(b, "</td></tr><tr><th>Facility, domain</th><td>");
	H(b, last, "facility_id");
	ax_sbuf_puts(b, ", ");
	H(b, last, "domain_id");
	ax_sbuf_printf(b, "</td></tr><tr><th>Versions</th><td>%zu; current: version ", n);
	H(b, last, "version");
	ax_sbuf_puts(b, " (");
	H(b, last, "status");
	ax_sbuf_puts(b, ")</td></tr><tr><th>Printed</th><td>");
	T(b, doc, "generated_at");
	ax_sbuf_puts(b, " by role <span class=\"mono\">");
	H(b, doc, "generated_by");
	ax_sbuf_puts(b, "</span></td></tr></table>\n");
	status_box(b, json_object_get(doc, "integrity"),
	    json_is_true(json_object_get(doc, "ledger_readable"))
	        ? "Each version's record_hash was recomputed from its stored columns (canonical "
	          "encoding v1) and checked against the hash stored and the one the previous "
	          "version links to; each ledger entry named by a row of this record was "
	          "recomputed (ledger encoding v1) and checked against its predecessor's hash."
	        : "Each version's record_hash was recomputed from its stored columns (canonical "
	          "encoding v1) and checked against the chain. The ledger is readable by the "
	          "auditor only: its entries were not re-verified in this report; an auditor's "
	          "report covers them.");
	ax_sbuf_puts(b, "<h2>1. Versions</h2>");
	json_array_foreach(versions, i, v)
	{
		version_section(b, doc, prev, v);
		prev = v;
	}
	changes_section(b, doc);
	events_section(b, doc);
	ax_sbuf_puts(b, "<h2>4. Ledger entries of this record</h2>");
	if (json_is_true(json_object_get(doc, "ledger_readable")))
		ledger_table(b, json_object_get(doc, "ledger_entries"), 0);
	else
		ax_sbuf_puts(b, "<p class=\"note\">Not readable by this role (axiom.ledger is the "
		                "auditor's); the references above name the entries.</p>");
	doc_footer(b, doc, sha256_hex, copy_name);
}

void
report_html_audit_trail(
    struct ax_sbuf *b, json_t *doc, const char *sha256_hex, const char *copy_name)
{
	json_t *period = json_object_get(doc, "period_utc");
	json_t *filters = json_object_get(doc, "filters");

	doc_head(b, "Audit trail report", 1);
	ax_sbuf_puts(b, "<header class=\"doc\"><div class=\"sys\">Axiom &middot; audit trail "
	                "report (EU GMP Annex 11 section 9)</div><h1>Audit trail from ");
	T(b, period, "from");
	ax_sbuf_puts(b, " to ");
	T(b, period, "to");
	ax_sbuf_puts(b, "</h1></header><table class=\"kv\"><tr><th>Period</th><td>from ");
	T(b, period, "from");
	ax_sbuf_puts(b, " (inclusive) to ");
	T(b, period, "to");
	ax_sbuf_puts(b, " (exclusive)</td></tr><tr><th>Facility</th><td>");
	ax_sbuf_html_str(b, or_all(json_string_value(json_object_get(filters, "facility"))));
	ax_sbuf_puts(b, "</td></tr><tr><th>Actor</th><td>");
	ax_sbuf_html_str(b, or_all(json_string_value(json_object_get(filters, "actor"))));
	ax_sbuf_puts(b, "</td></tr><tr><th>Printed</th><td>");
	T(b, doc, "generated_at");
	ax_sbuf_puts(b, " by role <span class=\"mono\">");
	H(b, doc, "generated_by");
	ax_sbuf_puts(b, "</span></td></tr></table>\n");
	status_box(b, json_object_get(doc, "integrity"),
	    "Every command the applier decided in the period: accepted, refused and quarantined "
	    "(a quarantined command could not be read or authorised and has no audit-trail "
	    "event); control ticks are left out. Each ledger entry was recomputed (ledger "
	    "encoding v1) and checked against its predecessor's hash.");
	ax_sbuf_puts(b, "<h2>Entries</h2>");
	ledger_table(b, json_object_get(doc, "entries"), 1);
	doc_footer(b, doc, sha256_hex, copy_name);
}

/* PDF ----------------------------------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Copy the file at from to the file to (standard output for NULL), whole or with an error. */
static int
copy_out(const char *from, const char *to, struct ax_err *err)
{
	FILE *in = fopen(from, "rb"), *out = NULL;
	char buf[65536];
	size_t n;
	int rc = AX_OK;

	if (in == NULL)
		return ax_err_set(
		    err, AX_ERR, "could not read the printed PDF: %s", strerror(errno));
	if ((out = to ? fopen(to, "wb") : stdout) == NULL) {
		rc = ax_err_set(
		    err, AX_EINVAL, "could not open \"%s\" for writing: %s", to, strerror(errno));
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			rc =
			    ax_err_set(err, AX_ERR, "could not write the PDF: %s", strerror(errno));
			goto out;
		}
	if (ferror(in) || fflush(out) != 0)
		rc = ax_err_set(err, AX_ERR, "could not copy the PDF: %s", strerror(errno));
out:
	fclose(in);
	if (to != NULL && out != NULL && fclose(out) != 0 && rc == AX_OK)
		rc = ax_err_set(err, AX_ERR, "could not write \"%s\": %s", to, strerror(errno));
	return rc;
}

int
report_print_pdf(
    const char *html, size_t html_len, const char *pdf_path, int timeout_s, struct ax_err *err)
{
	char dir[] = "/tmp/axiom-report-XXXXXX";
	char page[PROFILE_PATH_MAX], profile[PROFILE_PATH_MAX], log[PROFILE_PATH_MAX];
	char pdf[PROFILE_PATH_MAX];
	char url[PROFILE_PATH_MAX + 16], out_arg[PROFILE_PATH_MAX + 32],
	    prof_arg[PROFILE_PATH_MAX + 32];
	const char *chromium = getenv("AXIOM_CHROMIUM");
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	struct stat st;
	FILE *fp;
	pid_t pid;
	int status = 0, rc = AX_OK, waited = 0, fd;

	if (chromium == NULL || chromium[0] == '\0')
		chromium = "chromium";
	if (mkdtemp(dir) == NULL)
		return ax_err_set(
		    err, AX_ERR, "could not create a temporary directory: %s", strerror(errno));
	snprintf(page, sizeof(page), "%s/report.html", dir);
	snprintf(profile, sizeof(profile), "%s/profile", dir);
	snprintf(log, sizeof(log), "%s/chromium.log", dir);
	snprintf(pdf, sizeof(pdf), "%s/report.pdf", dir);
	snprintf(url, sizeof(url), "file://%s", page);
	snprintf(out_arg, sizeof(out_arg), "--print-to-pdf=%s", pdf);
	snprintf(prof_arg, sizeof(prof_arg), "--user-data-dir=%s", profile);
	if ((fp = fopen(page, "wb")) == NULL || fwrite(html, 1, html_len, fp) != html_len ||
	    fclose(fp) != 0) {
		rc = ax_err_set(err, AX_ERR, "could not write the HTML for printing");
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rc = ax_err_set(err, AX_ERR, "could not start chromium: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		char *const args[] = { (char *)chromium, "--headless", "--no-sandbox",
			"--disable-gpu", "--no-first-run", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--disable-quic",
			"--disable-extensions", prof_arg, "--no-pdf-header-footer", out_arg, url,
			NULL };

		setpgid(0, 0);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execvp(chromium, args);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			rc = ax_err_set(err, AX_ERR, "lost track of chromium: %s", strerror(errno));
			goto out;
		}
		if (waited++ >= timeout_s * 10) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			rc = ax_err_set(
			    err, AX_ERR, "chromium did not print the PDF within %d s", timeout_s);
			goto out;
		}
		nanosleep(&tick, NULL);
	}
	kill(-pid, SIGKILL); /* helpers of its own process group that outlived it */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(pdf, &st) != 0 ||
	    st.st_size == 0) {
		char tail[512] = "";

		if ((fp = fopen(log, "rb")) != NULL) {
			size_t n;

			if (fseek(fp, -(long)(sizeof(tail) - 1), SEEK_END) != 0)
				rewind(fp);
			n = fread(tail, 1, sizeof(tail) - 1, fp);
			tail[n] = '\0';
			fclose(fp);
		}
		rc = ax_err_set(err, AX_ERR, "chromium could not print the PDF");
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			ax_err_hint(err,
			    "Install Debian's package chromium (ops/stack deps), or set "
			    "AXIOM_CHROMIUM to its path.");
		else
			ax_err_detail(err, "%s", tail);
		goto out;
	}
	rc = copy_out(pdf, pdf_path, err);
out:
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
