#!/usr/bin/env bash
# 0500-apply-scenario - the applier end to end against the real broker and PostgreSQL: the
# realistic scenario of ops/scenario (facilities, people, grants, a vertical and a horizontal
# delegation, SOPs versioned, a specification changed through review and approval, and three
# commands that must be refused) is applied exactly once with the right decisions; running
# the applier again changes nothing; a republished command id is an audited duplicate; bytes
# that are no command are quarantined; every chain verifies and every stored offset is the
# log end; and the audit topic carries every ledger entry exactly once (0501 does the same
# under kill -9).
# Clean-up (apply-fault-lib.sh, trap EXIT): the database, the consumer group and the topics.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh" # check, admin, new_db, clean-up
tag="$$-$(date +%s)"
P="it0500-$tag"
DB="axiom_it_0500_${tag//-/_}"
FAULT_GROUPS+=("g-$P")
apply() {
	timeout 180 "$AX" apply --until-caught-up --prefix "$P" --group "g-$P" --instance it0500 \
		--dsn "$AXIOM_PG_DSN dbname=$DB" --progress 0 --batch-ms 5 2>"$TMP/apply.log"
}

new_db "$DB"
"$AX" topics create --prefix "$P" --partitions 3 >/dev/null || { echo "FAIL topics"; exit 1; }
"$ROOT/ops/scenario" "$TMP/sc" --records 20 --seed "$tag" >/dev/null || exit 1
for f in "$TMP"/sc/*.jsonl; do
	"$AX" publish "$f" --prefix "$P" >/dev/null || { echo "FAIL publish $f"; exit 1; }
done

apply
check "first run exits 0" 0 $?
check "no partition failed" 0 "$(grep -c 'event=partition_failed' "$TMP/apply.log")"
check "versions stored (20 SOPs x 2 + specification x 2)" 42 "$(admin "SELECT count(*) FROM axiom.records")"
check "control commands accepted" 17 "$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.control' AND decision = 'accepted' AND reason_code IS DISTINCT FROM 'tick'")"
check "control commands rejected" 0 "$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.control' AND decision <> 'accepted'")"
check "data commands with an outcome" 49 "$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.commands'")"
check "the refusals, with their reasons" \
	"author_cannot_approve,insufficient_access_level,stale_previous_hash" \
	"$(admin "SELECT string_agg(reason_code, ',' ORDER BY reason_code) FROM axiom.ledger WHERE topic = '$P.commands' AND decision = 'rejected'")"
check "the review under a horizontal delegation is accepted" "dave:accepted" \
	"$(admin "SELECT actor || ':' || decision FROM axiom.session_events WHERE operation = 'review_change'")"
check "the approved change is version 2 of the specification" "2:applied" \
	"$(admin "SELECT r.version || ':' || c.status FROM axiom.change_requests c JOIN axiom.records r ON r.record_id = c.applied_record_id")"
check "record chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_record_chains()")"
check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"
before=$(admin "SELECT count(*) FROM axiom.ledger WHERE reason_code IS DISTINCT FROM 'tick'")

apply
check "second run exits 0" 0 $?
check "second run applies nothing new" "$before" "$(admin "SELECT count(*) FROM axiom.ledger WHERE reason_code IS DISTINCT FROM 'tick'")"

# the audit topic holds each ledger entry exactly once, decision and hash as in the ledger
audit_check() { # NAME
	"$AX" audit --prefix "$P" >"$TMP/audit.jsonl" 2>"$TMP/audit.err" || echo "axiom audit failed: $(cat "$TMP/audit.err")"
	admin "SELECT topic || '/' || kafka_partition || '/' || seq || '/' || upper(decision) || '/' || encode(entry_hash, 'hex') FROM axiom.ledger ORDER BY 1" >"$TMP/ledger.txt"
	python3 - "$TMP/audit.jsonl" >"$TMP/audit.txt" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)["payload"].get("Outcome")
    if o:
        print(f'{o["topic"]}/{o["partition"]}/{o["ledger_seq"]}/{o["decision"]}/{o["ledger_hash"]}')
PY
	check "$1: every ledger entry is on the audit topic" "$(wc -l <"$TMP/ledger.txt")" "$(sort -u "$TMP/audit.txt" | comm -12 - "$TMP/ledger.txt" | wc -l)"
	check "$1: no outcome published twice" "$(wc -l <"$TMP/audit.txt")" "$(sort -u "$TMP/audit.txt" | wc -l)"
	check "$1: nothing on the audit topic that the ledger lacks" 0 "$(sort -u "$TMP/audit.txt" | comm -23 - "$TMP/ledger.txt" | wc -l)"
	"$AX" audit --verify --prefix "$P" >"$TMP/audit-verify.out" 2>&1
	check "$1: axiom audit --verify recomputes every entry (quarantined and duplicates too)" 0 $?
	grep -m 3 broken "$TMP/audit-verify.out" | sed 's/^/# /'
}
audit_check "after two runs"

# a republished command (same command id) and bytes that are no command
head -n 1 "$TMP/sc/4-data.jsonl" >"$TMP/dup.jsonl"
"$AX" publish "$TMP/dup.jsonl" --prefix "$P" >/dev/null || echo "FAIL republish"
printf 'not an avro command' | kc upstream -P -t "$P.commands" -p 0
apply
check "third run exits 0" 0 $?
check "the republished command is an audited duplicate" 1 "$(admin "SELECT count(*) FROM axiom.ledger WHERE reason_code = 'duplicate_command'")"
check "it created no second version" 42 "$(admin "SELECT count(*) FROM axiom.records")"
check "the stray bytes are quarantined with their reason" "quarantined:wrong_magic" \
	"$(admin "SELECT decision || ':' || reason_code FROM axiom.ledger WHERE decision = 'quarantined'")"
check "ledger chains still verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"

audit_check "after the third run"

# every stored next offset is the log end of its partition
for p in 0 1 2; do
	end=$(kc admin -Q -t "$P.commands:$p:-1" 2>/dev/null | awk '{print $NF}')
	check "stored next offset of $P.commands/$p is the log end" "$end" \
		"$(admin "SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$P.commands' AND kafka_partition = $p")"
done
finish
