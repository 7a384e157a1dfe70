#!/usr/bin/env bash
# 0510-apply-one-command-id-on-two-topics - a duplicate decision depends on the partition's
# own log, never on the order in which the applier reaches partitions (db/0018: duplicates
# per ledger). Command id X is published on the data topic, applied, then published again on
# the control topic and applied: live, the data command came first. Command id Y goes the
# other way (control first, then data). A replay applies the whole control log before any
# data command waits for it, so it meets X in the opposite order. Live and replay must make
# the same decisions (each command accepted once in its own ledger) and equal digests.
# Before db/0018, X's control command was a duplicate live and accepted in the replay, and
# its data command the opposite: the rebuilt database lacked the record.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0510 3 3

python3 - "$TMP" "$tag" <<'PY'
import json, sys, uuid
out, seed = sys.argv[1], sys.argv[2]
ns = uuid.uuid5(uuid.NAMESPACE_URL, "axiom-0510/" + seed)
X, Y = str(uuid.uuid5(ns, "x")), str(uuid.uuid5(ns, "y"))
def data(cid, name):
    return {"command_id": cid, "actor": "alice", "issued_at": 1, "reason": "record " + name,
            "lineage_id": str(uuid.uuid5(ns, "lineage/" + name)), "payload": {"CreateRecord": {
                "record_type": "sop", "facility": "basel", "domain": "quality_control",
                "content": "{}", "title": "record " + name}}}
def control(cid, key):
    return {"command_id": cid, "actor": "axiom-system", "issued_at": 1, "reason": "site " + key,
            "payload": {"ScopeDefine": {"kind": "FACILITY", "key": key, "name": key}}}
steps = [data(X, "x"), control(X, "zurich-" + seed[-6:]), control(Y, "lyon-" + seed[-6:]),
         data(Y, "y")]
for i, s in enumerate(steps, 1):
    with open(f"{out}/step{i}.jsonl", "w") as f:
        f.write(json.dumps(s) + "\n")
PY

for i in 1 2 3 4; do
	timeout 120 "$AX" publish "$TMP/step$i.jsonl" --prefix "$P" >/dev/null 2>"$TMP/publish.err" ||
		{ echo "FAIL publish step $i: $(cat "$TMP/publish.err")"; exit 1; }
	apply_fg "$TMP/apply-$i.log" --instance "live$i"
	check "live apply after step $i exits 0" 0 $?
done

decisions() { # DB: topic kind and decision of X and Y, in a fixed order
	admin "SELECT string_agg(split_part(topic, '.', 2) || ':' || coalesce(reason_code, decision),
	       ' ' ORDER BY topic, command_id) FROM axiom.ledger WHERE command_id IN (
	       SELECT command_id FROM axiom.ledger GROUP BY command_id HAVING count(*) = 2)" "$1"
}
check "live: X and Y accepted once in each ledger" \
	"commands:accepted commands:accepted control:accepted control:accepted" "$(decisions "$DB")"

DB2="${DB}_r"
new_db "$DB2"
FAULT_GROUPS+=("r-$G")
timeout 180 "$AX" replay --dbname "$DB2" --prefix "$P" --group "r-$G" --progress none \
	--compare-dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" >"$TMP/replay.out" 2>"$TMP/replay.err"
rc=$?
check "replay --compare-dsn exits 0 (the rebuilt database equals the live one)" 0 "$rc"
((rc == 0)) || { grep -v "equal$" "$TMP/replay.out"; tail -n 5 "$TMP/replay.err"; }
check "replay: the same decisions" "$(decisions "$DB")" "$(decisions "$DB2")"
check "replay: both records rebuilt" 2 \
	"$(admin "SELECT count(*) FROM axiom.records WHERE title IN ('record x', 'record y')" "$DB2")"
finish
