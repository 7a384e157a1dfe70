#!/usr/bin/env bash
# 0800-report-record-and-audit - `axiom report` looked at as a person would (issue 17): the
# scenario of ops/scenario applied by the real applier, carol's e-signature on the
# specification, an analyst mapped to a login, a record with a hostile title, a boston record
# outside the analyst's scope and a quarantined (undecodable) command; then
#   (a) the specification's report as the auditor, in JSON, HTML and PDF: the HTML is
#       rendered in headless Chromium and a screenshot kept (build/tests/report-0800/), the
#       PDF's text holds the names, meanings, reasons and hashes, the footer's SHA-256 is that
#       of the JSON copy, and an independent Python re-verifies the copy offline;
#   (b) the same report as an analyst: within row-level security, without the ledger or the
#       proofs, and refused for a record outside the analyst's grants;
#   (c) the hostile title is escaped in the HTML and no script reaches Chromium's DOM;
#   (d) the audit report of the period holds refused and quarantined commands;
#   (e) a version changed behind the API (superuser, triggers disabled) shows as changed and
#       is named; a forgery that recomputes its record_hash is caught by its ledger entry.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

OUT=${AXIOM_TEST_BIN_DIR:?run through ctest}/report-0800
rm -rf "$OUT" && mkdir -p "$OUT"
NOW_US=$(($(date +%s) * 1000000))

fault_setup 0800 2 2
auditor="$AXIOM_PG_AUDITOR_DSN dbname=$DB"
analyst="$AXIOM_PG_ANALYTICS_DSN dbname=$DB"
publish() { timeout 60 "$AX" publish "$1" --prefix "$P" >/dev/null || { echo "FAIL publish $1"; exit 1; }; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
chrome() { # headless Chromium in a fresh profile, bounded
	local prof rc
	prof=$(mktemp -d)
	timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-quic --user-data-dir="$prof" "$@" 2>/dev/null
	rc=$?
	rm -rf "$prof"
	return $rc
}

# the additions: an analyst login mapped to quinn, carol's security key and the policy, then
# quinn's grant (a later publish: a grant cannot name a person enrolled in the same instant)
"$AX" sign --new-key "$TMP/carol.key" >"$TMP/carol.reg" || { echo "FAIL sign --new-key"; exit 1; }
FACTOR=$(python3 -c 'import uuid; print(uuid.uuid4())')
HOSTILE=$(python3 -c 'import uuid; print(uuid.uuid4())')
BOSTON=$(python3 -c 'import uuid; print(uuid.uuid4())')
python3 - "$TMP" "$FACTOR" "$HOSTILE" "$BOSTON" "$NOW_US" <<'PY'
import json, os, sys, uuid
tmp, factor, hostile, boston, now = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
reg = json.load(open(os.path.join(tmp, "carol.reg")))
def cmd(actor, reason, payload, lineage=None):
    c = {"command_id": str(uuid.uuid4()), "actor": actor, "issued_at": now, "reason": reason}
    if lineage:
        c["lineage_id"] = lineage
    c["payload"] = payload
    return json.dumps(c)
with open(os.path.join(tmp, "5-control.jsonl"), "w") as f:
    print(cmd("axiom-system", "QA analyst, reads through axiom_analytics", {"UserEnroll": {
        "user_id": "quinn", "display_name": "Quinn Analyst", "db_role": "axiom_analytics"}}), file=f)
    print(cmd("axiom-system", "carol's security key", {"FactorRegister": {
        "factor_id": factor, "factor_type": "FIDO2_CREDENTIAL", "user_id": "carol",
        "credential_id": reg["credential_id"], "public_key": reg["public_key"],
        "cose_alg": reg["cose_alg"], "issuer": "", "jwks": ""}}), file=f)
    print(cmd("axiom-system", "approvals of specifications need a key", {"SigningPolicy": {
        "record_type": "specification", "meaning": "APPROVAL", "require_fido2": True,
        "require_oidc": False, "require_password": False}}), file=f)
with open(os.path.join(tmp, "6-control.jsonl"), "w") as f:
    print(cmd("axiom-system", "read access for QA review", {"Grant": {
        "grant_id": str(uuid.uuid4()), "user_id": "quinn", "facility": "basel",
        "domain": "quality_control", "access_level": "viewer",
        "expires_at": now + 365 * 86400 * 1000000}}), file=f)
with open(os.path.join(tmp, "7-data.jsonl"), "w") as f:
    print(cmd("alice", "a title as hostile as a title gets", {"CreateRecord": {
        "record_type": "sop", "facility": "basel", "domain": "quality_control",
        "title": "<script>document.title=\"pwned\"</script> & <b>bold</b>",
        "content": "</pre><script>alert('content')</script><img src=x onerror=alert(1)>"}}, hostile), file=f)
    print(cmd("dave", "boston procedure", {"CreateRecord": {
        "record_type": "sop", "facility": "boston", "domain": "quality_control",
        "title": "Boston SOP", "content": "{\"step\": \"weigh\"}"}}, boston), file=f)
PY
publish "$TMP/5-control.jsonl"
publish "$TMP/6-control.jsonl"
publish "$TMP/7-data.jsonl"
printf 'not an avro command' | kc upstream -P -t "$P.commands" -p 0
apply_fg "$TMP/apply.log"
check "the scenario and the additions are applied" 0 $?
read -r SPEC VERSION V2HASH < <(admin "SELECT id, version, encode(record_hash, 'hex') FROM axiom.records WHERE record_type = 'specification' ORDER BY version DESC LIMIT 1" | tr '|' ' ')
AXIOM_TOPIC_PREFIX=$P timeout 60 "$AX" sign --key "$TMP/carol.key" --actor carol --lineage "$SPEC" \
	--version "$VERSION" --record-hash "$V2HASH" --meaning approval --factor-id "$FACTOR" \
	--reason "release of the tightened pH range" --comment "approved per change request" \
	--publish >/dev/null 2>"$TMP/sign.err" || echo "# sign: $(head -c 300 "$TMP/sign.err")"
apply_fg "$TMP/apply.log"
check "carol's approval is stored" "Carol Dubois/approval" \
	"$(admin "SELECT printed_name || '/' || meaning FROM axiom.signatures WHERE id = '$SPEC'")"
check "one quarantined command in the ledger" 1 \
	"$(admin "SELECT count(*) FROM axiom.ledger WHERE decision = 'quarantined'")"

# (a) the specification as the auditor -----------------------------------------------------
"$AX" report --help >"$TMP/help.txt"
check "report --help explains the electronic copy and its hash" "0:1" \
	"$?:$(grep -c 'SHA-256 of the electronic copy' "$TMP/help.txt")"
"$AX" report record "$(admin "SELECT record_id FROM axiom.records WHERE id = '$SPEC' AND version = 1")" \
	--dsn "$auditor" --format json >/dev/null 2>"$TMP/rid.err"
check "a version's record_id for a lineage id: refused, and the lineage named" "1:1" \
	"$?:$(grep -c "is the record_id of version 1 of lineage $SPEC" "$TMP/rid.err")"
"$AX" report record not-a-uuid --dsn "$auditor" >/dev/null 2>&1
check "a lineage id that is not a UUID is a bad command line" 2 $?
"$AX" report record "$SPEC" --dsn "$auditor" --format json -o "$OUT/record.json"
check "record report (json) exits 0" 0 $?
"$AX" report record "$SPEC" --dsn "$auditor" -o "$OUT/record.html"
check "record report (html) exits 0 and writes its copy beside it" "0:yes" \
	"$?:$([[ -s $OUT/record.html.json ]] && echo yes)"
"$AX" report record "$SPEC" --dsn "$auditor" --format pdf -o "$OUT/record-print.pdf"
check "record report (pdf) exits 0" 0 $?
check "the copy says: unchanged since original entry" "unchanged" \
	"$(json "$OUT/record.json" "d['integrity']['status']")"
check "the copy holds both versions, the change steps and the signature" \
	"2:propose,submit,review,approve,apply:Carol Dubois" \
	"$(json "$OUT/record.json" "'%d:%s:%s' % (len(d['versions']), ','.join(s['step'] for s in d['change_requests'][0]['steps']), d['signatures'][0]['printed_name'])")"
check "the refused self-approval is in the record's audit trail" "author_cannot_approve" \
	"$(json "$OUT/record.json" "','.join(e['reason_code'] for e in d['events'] if e['decision'] == 'rejected')")"
check "the HTML footer prints the SHA-256 of the copy written beside it" 1 \
	"$(grep -c "$(sha256sum "$OUT/record.html.json" | cut -c1-64)" "$OUT/record.html")"
check "the HTML loads nothing from outside (no src, href, url() or @import)" 0 \
	"$(grep -Eic 'src=|href=|url\(|@import|<script|<link' "$OUT/record.html")"
check "the HTML has a print stylesheet" 1 "$(grep -c '@media print' "$OUT/record.html")"
chrome --hide-scrollbars --window-size=1100,2300 --screenshot="$OUT/record.png" \
	"file://$OUT/record.html" >/dev/null
check "Chromium renders the HTML to a screenshot (kept in $OUT)" yes \
	"$([[ $(stat -c %s "$OUT/record.png" 2>/dev/null || echo 0) -gt 20000 ]] && echo yes)"
pdftotext "$OUT/record-print.pdf" "$OUT/record-print.txt"
check "the PDF was printed from the HTML (pdftotext reads it)" 0 $?
flat=$(tr -s ' \n' '  ' <"$OUT/record-print.txt")
for want in "Buffer A specification" "Alice Martin (alice)" "Dave Okafor (dave)" \
	"Carol Dubois" "approval" "fido2" "tighten the pH range" "ready for review" \
	"reviewed under delegation from bob: matches validation report VR-7" \
	"I approve my own change" "author_cannot_approve" "UTC" "axiom_auditor" \
	"unchanged since original entry" "$P.commands" "$V2HASH" \
	"$(sha256sum "$OUT/record-print.pdf.json" | cut -c1-64)"; do
	check "the PDF's text holds: ${want:0:60}" 1 "$(grep -cF -- "$want" <<<"$flat")"
done
python3 - "$OUT/record.json" >"$TMP/offline.txt" <<'PY'
# an independent re-verification of the electronic copy (docs/canonical-encoding.md)
import hashlib, json, sys, uuid
d = json.load(open(sys.argv[1]))
def f(tag, b): return bytes([tag]) + len(b).to_bytes(4, "big") + b
def text(s): return b"\0" if s is None else f(1, s.encode())
def byt(h): return b"\0" if h is None else f(2, bytes.fromhex(h))
def i64(v): return f(3, v.to_bytes(8, "big", signed=True))
def ts(v): return f(4, v.to_bytes(8, "big", signed=True))
def uid(s): return b"\0" if s is None else f(5, uuid.UUID(s).bytes)
ok = 0
for v in d["versions"]:
    enc = (text("axiom/record/v1") + uid(v["record_id"]) + uid(d["lineage"]) + i64(v["version"])
           + uid(v["previous_record_id"]) + byt(v["previous_record_hash"]) + text(v["record_type"])
           + text(v["facility_id"]) + text(v["domain_id"]) + text(v["title"]) + byt(v["content_hex"])
           + text(v["created_by"]) + ts(v["created_at_us"]) + uid(v["change_id"]))
    ok += hashlib.sha256(enc).hexdigest() == v["record_hash"]
for e in d["ledger_entries"]:
    enc = (text("axiom/ledger/v1") + text(e["topic"]) + i64(e["partition"]) + i64(e["seq"])
           + i64(e["offset"]) + uid(e["command_id"]) + text(e["actor"]) + ts(e["event_time_us"])
           + text(e["decision"]) + text(e["reason_code"]) + byt(e["record_hash"])
           + byt(e["previous_entry_hash"]))
    ok += hashlib.sha256(enc).hexdigest() == e["entry_hash"]
print(ok, len(d["versions"]) + len(d["ledger_entries"]))
PY
read -r got total <"$TMP/offline.txt"
check "an independent Python re-verifies every version and ledger entry of the copy" "$total" "$got"

# (b) the same record as the analyst quinn ---------------------------------------------------
"$AX" report record "$SPEC" --dsn "$analyst" --format json -o "$OUT/analyst.json"
check "as an analyst within scope: exits 0" 0 $?
check "as an analyst: generated by axiom_analytics, ledger not readable, no proofs" \
	"axiom_analytics:False:False" \
	"$(json "$OUT/analyst.json" "'%s:%s:%s' % (d['generated_by'], d['ledger_readable'], d['signature_proofs_readable'])")"
check "as an analyst: the manifestation is there, and it says the ledger was not checked" \
	"Carol Dubois:approval:1" \
	"$(json "$OUT/analyst.json" "'%s:%s:%d' % (d['signatures'][0]['printed_name'], d['signatures'][0]['meaning'], 'ledger was not checked' in d['integrity']['summary'])")"
"$AX" report record "$BOSTON" --dsn "$analyst" --format json >/dev/null 2>"$TMP/scope.err"
check "as an analyst: a boston record (no grant there) is refused" "1:1" \
	"$?:$(grep -c 'is visible to role axiom_analytics' "$TMP/scope.err")"

# (c) a hostile title ----------------------------------------------------------------------
"$AX" report record "$HOSTILE" --dsn "$auditor" -o "$OUT/hostile.html"
check "hostile record report exits 0" 0 $?
check "the hostile title and content are escaped: no <script, <b>, <img in the HTML" 0 \
	"$(grep -Eic '<script|<b>|<img' "$OUT/hostile.html")"
check "the title is shown as text" yes \
	"$(grep -qF '&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;' "$OUT/hostile.html" && echo yes)"
chrome --dump-dom "file://$OUT/hostile.html" >"$TMP/hostile.dom"
check "Chromium's DOM of the page has no script, img or b element" "0:1" \
	"$(grep -Eic '<script|<img|<b>' "$TMP/hostile.dom"):$(grep -c '<title>Record report: &lt;script&gt;' "$TMP/hostile.dom")"

# (d) the audit trail of the period ---------------------------------------------------------
from=$(date -u -d '-2 hours' '+%F %T') to=$(date -u -d '+1 hour' '+%F %T')
"$AX" report audit --from "$from" --to "$to" --dsn "$auditor" --format json -o "$OUT/audit.json"
check "audit report (json) exits 0" 0 $?
check "every ledger entry of the period but ticks is in it" \
	"$(admin "SELECT count(*) FROM axiom.ledger WHERE reason_code IS DISTINCT FROM 'tick'")" \
	"$(json "$OUT/audit.json" "len(d['entries'])")"
check "refused and quarantined commands are in it (a quarantine has no event)" \
	"author_cannot_approve,insufficient_access_level,stale_previous_hash:1:1" \
	"$(json "$OUT/audit.json" "'%s:%d:%d' % (','.join(sorted(e['reason_code'] for e in d['entries'] if e['decision'] == 'rejected')), sum(e['decision'] == 'quarantined' for e in d['entries']), sum(e['decision'] == 'quarantined' and e['event'] is None for e in d['entries']))")"
"$AX" report audit --from "$from" --to "$to" --dsn "$auditor" --format pdf -o "$OUT/audit.pdf"
check "audit report (pdf) exits 0" 0 $?
pdftotext "$OUT/audit.pdf" "$OUT/audit.txt"
flat=$(tr -s ' \n' '  ' <"$OUT/audit.txt")
for want in "quarantined" "refused" "author_cannot_approve" "Mallory Viewer (mallory)" \
	"insufficient_access_level" "create_record" "$(sha256sum "$OUT/audit.pdf.json" | cut -c1-64)"; do
	check "the audit PDF's text holds: ${want:0:60}" 1 "$(grep -cF -- "$want" <<<"$flat")"
done
check "--actor keeps one actor's commands" "alice" \
	"$("$AX" report audit --from "$from" --to "$to" --actor alice --dsn "$auditor" --format json |
		python3 -c 'import json,sys; print(",".join(sorted({e["actor"] for e in json.load(sys.stdin)["entries"]})))')"
check "--facility boston keeps boston's events only (its definition, dave's record)" "boston:axiom-system,dave" \
	"$("$AX" report audit --from "$from" --to "$to" --facility boston --dsn "$auditor" --format json |
		python3 -c 'import json,sys; e=json.load(sys.stdin)["entries"]; print(",".join(sorted({x["event"]["facility_id"] for x in e})) + ":" + ",".join(sorted({x["actor"] for x in e})))')"
check "as an analyst: the audit trail of basel alone, the ledger said to be unchecked" "basel:False" \
	"$("$AX" report audit --from "$from" --to "$to" --dsn "$analyst" --format json |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(",".join(sorted({x["event"]["facility_id"] for x in d["entries"]})) + ":" + str(d["integrity"]["ledger_checked"]))')"
"$AX" report record "$SPEC" --dsn "$auditor" --format pdf >"$OUT/stdout.pdf"
rc=$?
pdftotext "$OUT/stdout.pdf" "$TMP/stdout.txt"
check "a PDF to standard output (not a terminal) is a PDF" "0:yes" \
	"$rc:$(grep -qF 'Buffer A specification' "$TMP/stdout.txt" && echo yes)"
"$AX" report audit --from "not a time" --to "$to" --dsn "$auditor" --format json >/dev/null 2>&1
check "a --from that is not a timestamp is a bad command line" 2 $?

# (e) changed behind the API ------------------------------------------------------------------
admin "ALTER TABLE axiom.records DISABLE TRIGGER USER;
	UPDATE axiom.records SET content = convert_to('{\"parameter\": \"pH\", \"min\": 5.0, \"max\": 9.0}', 'UTF8')
	 WHERE id = '$SPEC' AND version = 1" >/dev/null
"$AX" report record "$SPEC" --dsn "$auditor" --format pdf -o "$OUT/tampered.pdf" 2>"$TMP/tampered.err"
check "the report of a changed record exits 1 and says why" "1:1" \
	"$?:$(grep -c 'CHANGED since original entry: version 1' "$TMP/tampered.err")"
check "the copy names version 1, and only it" "changed:[1]" \
	"$(json "$OUT/tampered.pdf.json" "'%s:%s' % (d['integrity']['status'], d['integrity']['changed_versions'])")"
pdftotext "$OUT/tampered.pdf" "$OUT/tampered.txt"
flat=$(tr -s ' \n' '  ' <"$OUT/tampered.txt")
check "the PDF says the record changed and names version 1" "1:1:1" \
	"$(grep -c 'CHANGED since original entry: version 1' <<<"$flat"):$(grep -c 'Version 1 (record_id [0-9a-f-]*) is not as it was entered' <<<"$flat"):$(grep -c 'record_hash does not match the stored columns' <<<"$flat")"
"$AX" report record "$SPEC" --dsn "$auditor" -o "$OUT/tampered.html" 2>/dev/null
chrome --hide-scrollbars --window-size=1100,1500 --screenshot="$OUT/tampered.png" \
	"file://$OUT/tampered.html" >/dev/null
# a forgery that recomputes its hash passes the record chain; its ledger entry does not agree
read -r SOP < <(admin "SELECT id FROM axiom.records WHERE record_type = 'sop' AND version = 2 ORDER BY id LIMIT 1")
admin "UPDATE axiom.records SET title = 'forged' WHERE id = '$SOP' AND version = 2;
	UPDATE axiom.records r SET record_hash = axiom.record_hash_v1(r) WHERE id = '$SOP' AND version = 2" >/dev/null
"$AX" report record "$SOP" --dsn "$auditor" --format json -o "$OUT/forged.json" 2>/dev/null
check "a forgery with a recomputed hash is named by its ledger entry" "1:[2]:1" \
	"$?:$(json "$OUT/forged.json" "'%s:%d' % (d['integrity']['changed_versions'], any('recorded another record_hash' in p for p in d['versions'][1].get('problems', [])))")"
echo "# kept: $(cd "$OUT" && ls | tr '\n' ' ')"
finish
