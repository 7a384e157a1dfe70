#!/usr/bin/env bash
# 0506-apply-determinism - decisions depend on the log alone: the same published log
# (ops/scenario --records 1000: 2,009 data commands on 6 partitions, with its refusals and
# its change under review) is applied into two fresh databases, once by one instance with
# batches of 200, once by two instances of another group with batches of 1 (the second
# joins mid-stream, so partitions move between them and interleave differently). Then,
# per (topic, partition), the ledgers are identical entry by entry (offset, command id,
# decision, reason code, record hash, entry hash), hence identical ledger heads, and the
# records are identical (record id, version, record hash). Ticks that the second run adds
# to the control topic are applied by the first database too (a last catch-up run), so
# both end on the same log.
#
# A second file adds the cases where a batch builds on the outcome of an earlier command of
# the same batch (consumers/ax_batch.c, complete_element): a change proposed, reviewed,
# approved and applied within one batch, twice in a row; a change applied after a refused
# new version; a change proposed twice under one id; conflicting edits; a change whose
# proposal was refused. With --batch 200 they share batches, with --batch 1 they do not.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0506 6 1000
python3 - "$TMP/traps.jsonl" "$tag" <<'PY'
import json, sys, uuid
out, seed = sys.argv[1], sys.argv[2]
ns = uuid.uuid5(uuid.NAMESPACE_URL, "axiom-0506/" + seed)
n = 0
rows = []
def c(actor, lineage, payload):
    global n
    n += 1
    rows.append({"command_id": str(uuid.uuid5(ns, f"cmd/{n}")), "actor": actor,
                 "issued_at": 1_795_000_000_000_000 + n, "reason": f"trap {n}",
                 "source_system": "0506", "lineage_id": lineage, "payload": payload})
def lin(name): return str(uuid.uuid5(ns, name))
def create(l, t): c("alice", l, {"CreateRecord": {"record_type": t, "facility": "basel",
    "domain": "quality_control", "content": "{}", "title": "trap " + t}})
def change(l, cid, base, actor="alice", steps=True):
    c(actor, l, {"ProposeChange": {"change_id": cid, "base_version": base,
        "content": '{"v": %d}' % base, "title": "change on %d" % base}})
    if steps:
        c("alice", l, {"SubmitChange": {"change_id": cid}})
        c("dave", l, {"ReviewChange": {"change_id": cid, "comment": "ok"}})
        c("carol", l, {"ApproveChange": {"change_id": cid}})
def apply(l, cid): c("alice", l, {"ApplyChange": {"change_id": cid}})
def nv(l, base, actor="alice"): c(actor, l, {"NewVersion": {"base_version": base,
    "content": '{"nv": %d}' % base, "title": "edit of %d" % base}})
s1, s2, s3, s4, o1 = (lin(x) for x in ("s1", "s2", "s3", "s4", "o1"))
create(s1, "specification")                      # two changes applied back to back
for base in (1, 2):
    cid = lin(f"s1/c{base}"); change(s1, cid, base); apply(s1, cid)
create(s2, "specification")                      # a refused edit before a change
nv(s2, 1)                                        # change_control_required
cid = lin("s2/c"); change(s2, cid, 1); apply(s2, cid)
create(s3, "specification")                      # one change id proposed twice
cid = lin("s3/c"); change(s3, cid, 1); change(s3, cid, 1, steps=False); apply(s3, cid)
create(s4, "specification")                      # a proposal by someone without access
cid = lin("s4/c"); change(s4, cid, 1, actor="mallory", steps=False); apply(s4, cid)
create(o1, "sop")                                # conflicting edits
nv(o1, 1); nv(o1, 1); nv(o1, 2); nv(o1, 2, actor="mallory"); nv(o1, 3)
with open(out, "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
print(len(rows))
PY
TRAPS=$(wc -l <"$TMP/traps.jsonl")
timeout 120 "$AX" publish "$TMP/traps.jsonl" --prefix "$P" >/dev/null 2>"$TMP/publish.err" ||
	{ echo "FAIL publish traps"; cat "$TMP/publish.err"; exit 1; }
DATA_CMDS=$((DATA_CMDS + TRAPS))
EXTRA_RECORDS=12 # s1: 3 versions, s2: 2, s3: 2, s4: 1, o1: 4
REFUSALS=author_cannot_approve,change_control_required,insufficient_access_level,insufficient_access_level
REFUSALS+=,insufficient_access_level,not_found_or_denied,not_found_or_denied,stale_previous_hash
REFUSALS+=,stale_previous_hash
DB1=$DB DB2="${DB}_b"
new_db "$DB2"
G1=$G G2="$G-b"
FAULT_GROUPS+=("$G2")

t0=$(now_ms)
apply_fg "$TMP/one.log" --instance solo --batch 200
check "run 1 (one instance, --batch 200) exits 0" 0 $?
t1=$(now_ms)

# run 2: two instances, --batch 1, the second joining mid-stream
G=$G2 DB=$DB2
applied2() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$P.commands'" "$DB2"; }
timeout 180 "$AX" apply --until-caught-up --prefix "$P" --group "$G2" --instance duo-a --batch 1 \
	--progress 0 --dsn "$(DSN_OF "$DB2")" 2>"$TMP/duo-a.log" &
pa=$!
APPLIER_PIDS+=("$pa")
for ((i = 0; i < 600 && $(applied2) < DATA_CMDS / 5; i++)); do sleep 0.1; done
timeout 180 "$AX" apply --until-caught-up --prefix "$P" --group "$G2" --instance duo-b --batch 1 \
	--progress 0 --dsn "$(DSN_OF "$DB2")" 2>"$TMP/duo-b.log" &
pb=$!
APPLIER_PIDS+=("$pb")
wait "$pa"
ra=$?
wait "$pb"
rb=$?
t2=$(now_ms)
check "run 2, instance a (--batch 1) exits 0" 0 "$ra"
check "run 2, instance b (--batch 1, joined mid-stream) exits 0" 0 "$rb"
check "run 2: b got data partitions" 1 "$(grep -q "event=assigned topic=$P.commands" "$TMP/duo-b.log" && echo 1 || echo 0)"
check "run 2: a was revoked when b joined" 1 "$(grep -q 'event=revoked' "$TMP/duo-a.log" && echo 1 || echo 0)"
# whatever remains (a partition b had when a stopped, ticks appended meanwhile): finish it
apply_fg "$TMP/duo-c.log" --instance duo-a --batch 1
check "run 2, final catch-up exits 0" 0 $?
echo "# run 1: $DATA_CMDS data commands in $((t1 - t0)) ms (--batch 200); run 2: $((t2 - t1)) ms (--batch 1, two instances)"

# run 1's database also applies the ticks run 2 appended to the control topic
G=$G1 DB=$DB1
apply_fg "$TMP/one-b.log" --instance solo --batch 200
check "run 1, last catch-up exits 0" 0 $?

for db in "$DB1" "$DB2"; do
	echo "# checks of $db"
	exactly_once_checks "$db"
done

ledger_q="SELECT topic || '/' || kafka_partition || '/' || seq || '/' || kafka_offset || '/' ||
	coalesce(command_id::text, '-') || '/' || decision || '/' || coalesce(reason_code, '-') || '/' ||
	coalesce(encode(record_hash, 'hex'), '-') || '/' || encode(entry_hash, 'hex')
	FROM axiom.ledger ORDER BY topic, kafka_partition, seq"
heads_q="SELECT DISTINCT ON (topic, kafka_partition) topic || '/' || kafka_partition || '/' || seq || '/' ||
	encode(entry_hash, 'hex') FROM axiom.ledger ORDER BY topic, kafka_partition, seq DESC"
records_q="SELECT record_id || '/' || version || '/' || encode(record_hash, 'hex') FROM axiom.records ORDER BY 1"
admin "$ledger_q" "$DB1" >"$TMP/ledger1"
admin "$ledger_q" "$DB2" >"$TMP/ledger2"
admin "$heads_q" "$DB1" >"$TMP/heads1"
admin "$heads_q" "$DB2" >"$TMP/heads2"
admin "$records_q" "$DB1" >"$TMP/records1"
admin "$records_q" "$DB2" >"$TMP/records2"
check "same ledger heads per (topic, partition)" "$(wc -l <"$TMP/heads1") heads, 0 different" \
	"$(wc -l <"$TMP/heads2") heads, $(diff "$TMP/heads1" "$TMP/heads2" | grep -c '^[<>]') different"
check "same ledgers entry by entry (decision, reason, hashes)" "$(wc -l <"$TMP/ledger1") entries, 0 different" \
	"$(wc -l <"$TMP/ledger2") entries, $(diff "$TMP/ledger1" "$TMP/ledger2" | grep -c '^[<>]') different"
check "same records (id, version, record hash)" "$(wc -l <"$TMP/records1") records, 0 different" \
	"$(wc -l <"$TMP/records2") records, $(diff "$TMP/records1" "$TMP/records2" | grep -c '^[<>]') different"
# the traps decided as the rules say, in both databases (in publish order)
ids=$(python3 -c 'import json,sys; print(",".join(json.loads(l)["command_id"] for l in open(sys.argv[1])))' "$TMP/traps.jsonl")
trap_q="SELECT string_agg(coalesce(l.reason_code, l.decision), ' '
	ORDER BY array_position('{$ids}'::uuid[], l.command_id))
	FROM axiom.ledger l WHERE l.command_id = ANY ('{$ids}'::uuid[])"
for db in "$DB1" "$DB2"; do
	check "traps decided as expected ($db)" \
		"$(printf 'accepted %.0s' {1..12})change_control_required $(printf 'accepted %.0s' {1..10})not_found_or_denied accepted accepted insufficient_access_level not_found_or_denied accepted accepted stale_previous_hash accepted insufficient_access_level accepted" \
		"$(admin "$trap_q" "$db")"
done
if ! diff -q "$TMP/ledger1" "$TMP/ledger2" >/dev/null; then
	echo "# first ledger differences (< one instance, > two instances):"
	diff "$TMP/ledger1" "$TMP/ledger2" | head -n 10 | cut -c1-300
fi
finish
