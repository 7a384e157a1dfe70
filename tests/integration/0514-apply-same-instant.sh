#!/usr/bin/env bash
# 0514-apply-same-instant - commands that share the broker's append instant (one produce
# batch, one millisecond) are decided as a reader of the file expects (db/0022: a control
# event at c governs every command at T >= c; within the control partition, offset order
# breaks ties). One `axiom publish` of one file, in dependency order:
#   the bootstrap administrator enrolls pub-admin (an administrator); pub-admin enrolls
#   pub-user and grants pub-user author; pub-user creates a record (a data command right after
#   the grant, in the same file)
# Every command is accepted, and a replay into an empty database makes the same decisions.
# Before db/0022 the control commands after the first were refused not_found_or_denied (they
# shared the first one's instant), and so was the record.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0514 3 3
python3 - "$TMP/same-instant.jsonl" "$tag" <<'PY'
import json, sys, uuid
out, seed = sys.argv[1], sys.argv[2]
ns = uuid.uuid5(uuid.NAMESPACE_URL, "axiom-0514/" + seed)
u = lambda s: str(uuid.uuid5(ns, s))
rows = [
    {"command_id": u("c1"), "actor": "axiom-system", "issued_at": 1, "reason": "publisher admin",
     "payload": {"UserEnroll": {"user_id": "pub-admin", "display_name": "Pub Admin",
                                "administrator": True}}},
    {"command_id": u("c2"), "actor": "pub-admin", "issued_at": 2, "reason": "new author",
     "payload": {"UserEnroll": {"user_id": "pub-user", "display_name": "Pub User"}}},
    {"command_id": u("c3"), "actor": "pub-admin", "issued_at": 3, "reason": "author role",
     "payload": {"Grant": {"grant_id": u("g"), "user_id": "pub-user", "facility": "basel",
                           "domain": "quality_control", "access_level": "author",
                           "expires_at": 4102444800000000}}},
    {"command_id": u("d1"), "actor": "pub-user", "issued_at": 4, "reason": "first SOP",
     "lineage_id": u("lineage"), "payload": {"CreateRecord": {"record_type": "sop",
         "facility": "basel", "domain": "quality_control", "content": "{}",
         "title": "written right after the grant"}}},
]
with open(out, "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
PY
timeout 120 "$AX" publish "$TMP/same-instant.jsonl" --prefix "$P" >/dev/null 2>"$TMP/publish.err" ||
	{ echo "FAIL publish: $(cat "$TMP/publish.err")"; exit 1; }
apply_fg "$TMP/apply.log" --instance it0514
check "apply exits 0" 0 $?

ids=$(python3 -c "
import uuid; ns = uuid.uuid5(uuid.NAMESPACE_URL, 'axiom-0514/$tag')
print(','.join(\"'%s'\" % uuid.uuid5(ns, c) for c in ('c1', 'c2', 'c3', 'd1')))")
decisions() { # DB
	admin "SELECT string_agg(coalesce(reason_code, decision), ' ' ORDER BY topic DESC, seq)
	       FROM axiom.ledger WHERE command_id IN ($ids)" "$1"
}
check "the control commands shared one instant" 1 \
	"$(admin "SELECT count(DISTINCT event_time) FROM axiom.ledger WHERE command_id IN ($ids)
	          AND topic = '$P.control'")"
check "each command is accepted, in file order" "accepted accepted accepted accepted" "$(decisions "$DB")"
check "the record was created by pub-user" 1 \
	"$(admin "SELECT count(*) FROM axiom.records WHERE created_by = 'pub-user'")"

DB2="${DB}_r"
new_db "$DB2"
FAULT_GROUPS+=("r-$G")
timeout 180 "$AX" replay --dbname "$DB2" --prefix "$P" --group "r-$G" --progress none \
	--compare-dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" >"$TMP/replay.out" 2>"$TMP/replay.err"
rc=$?
check "replay --compare-dsn exits 0 (the rebuilt database equals the live one)" 0 "$rc"
((rc == 0)) || { grep -v 'equal$' "$TMP/replay.out"; tail -n 5 "$TMP/replay.err"; }
check "replay: the same decisions" "$(decisions "$DB")" "$(decisions "$DB2")"
finish
