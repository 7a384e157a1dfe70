#!/usr/bin/env bash
# 0516-apply-transactional-producers - an upstream system may publish with a transactional
# producer (docs/producers.md section 4, "Transactions"). Interleaved with the scenario,
# published by the idempotent producer, the upstream principal publishes (tests/tools/
# txn_produce, transactional ids axiom-upstream-..., which the broker's ACLs allow) two
# committed transactions and two aborted ones, the last aborted one at the very end of the
# log. Its commit and abort markers and its aborted records take offsets that a
# read_committed reader never receives, so the stored next offsets stay below the log ends
# for good. The test proves that:
#   - `axiom apply --until-caught-up` returns (bounded by a timeout, so a hang fails);
#   - aborted commands are in neither the ledger nor the database, and a command id first
#     seen in an aborted transaction and then committed is accepted, not a duplicate;
#   - committed commands are applied exactly once, the stored next offset of every partition
#     is the offset after its last applied message (what exactly-once resumes from);
#   - the metrics gauge axiom_applier_lag reaches 0 on a running applier, also after one
#     more aborted and one more committed transaction arrive while it runs, and its
#     progress lines say lag=0 where next_offset stays below log_end;
#   - `axiom replay` rebuilds a database equal to the live one, and `axiom verify` (the
#     Kafka cross-check: every committed message has its ledger entry) passes.
# Before the fix (issue 14, item 2) the applier measured caught-up and lag against the log
# end, and this test failed 4 checks: `axiom apply --until-caught-up` ran into the timeout
# (exit 124 after 60 s), the lag gauges of the three command partitions stayed at 3, 1 and
# 2 (then 3, 3 and 1) for good, and `axiom replay` stopped with "the replay stalled: nothing
# was applied for 60 s", blaming a control watermark beyond the end of the control log.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
TXN=${AXIOM_TEST_BIN_DIR:?run through ctest}/txn_produce
HOLD_BACK=3
fault_setup 0516 3 2

mk() { # LINEAGE COMMAND_ID TITLE: a CreateRecord by alice (author at basel)
	printf '{"command_id":"%s","actor":"alice","issued_at":1,"reason":"transactional producer","lineage_id":"%s","payload":{"CreateRecord":{"record_type":"sop","facility":"basel","domain":"quality_control","content":"{\\"step\\":\\"%s\\"}","title":"%s"}}}\n' "$2" "$1" "$3" "$3"
}
lin() { printf '5e0d6a8e-1111-4222-8333-%012d' "$1"; }
cid() { printf '0b6c1c52-8a3e-4d59-9d0c-%012d' "$1"; }
# committed: 1-3 (first transaction), 4 and 11 (third), 7 (the one sent while an applier
# runs); aborted: 11-13 (second), 14-15 (fourth, at the end of the log), 16 (while it runs).
# Command 11 is aborted first, then committed with the same command id and lineage.
COMMITTED="1 2 3 4 11 7" ABORTED="12 13 14 15 16"
for n in 1 2 3; do mk "$(lin $n)" "$(cid $n)" "c$n"; done >"$TMP/t1.jsonl"
for n in 11 12 13; do mk "$(lin $n)" "$(cid $n)" "a$n"; done >"$TMP/t2.jsonl"
for n in 4 11; do mk "$(lin $n)" "$(cid $n)" "c$n"; done >"$TMP/t3.jsonl"
for n in 14 15; do mk "$(lin $n)" "$(cid $n)" "a$n"; done >"$TMP/t4.jsonl"
mk "$(lin 16)" "$(cid 16)" a16 >"$TMP/t5.jsonl"
mk "$(lin 7)" "$(cid 7)" c7 >"$TMP/t6.jsonl"

txn() { # ID commit|abort FILE
	timeout 60 "$TXN" "$AXIOM_BROKERS" "$P.commands" "axiom-upstream-$P-$1" "$2" "$3" \
		>>"$TMP/txn.out" 2>&1 || { echo "FAIL txn_produce $*"; cat "$TMP/txn.out"; exit 1; }
}
txn a commit "$TMP/t1.jsonl"
txn a abort "$TMP/t2.jsonl"
publish_held || { echo "FAIL publish the held-back commands"; exit 1; }
txn b commit "$TMP/t3.jsonl"
txn b abort "$TMP/t4.jsonl"
check "the upstream principal may not claim another prefix's transactional id" 1 \
	"$(timeout 60 "$TXN" "$AXIOM_BROKERS" "$P.commands" "axiom-relay/$P.commands/0" commit \
		"$TMP/t6.jsonl" >/dev/null 2>&1; echo $?)"

# the markers and the aborted records lie beyond the stored next offsets: at least one
# partition ends with them
t0=$(now_ms)
timeout 60 "$AX" apply --until-caught-up --prefix "$P" --group "$G" --progress 0 \
	--dsn "$(DSN_OF)" 2>>"$TMP/apply1.log"
check "axiom apply --until-caught-up returns, exit 0 (124: it hung)" 0 $?
echo "# caught up in $(($(now_ms) - t0)) ms"

# ids NUMBERS...: the quoted command ids, comma-separated, for SQL
ids() { local n s=; for n in "$@"; do s+="${s:+,}'$(cid "$n")'"; done; echo "$s"; }
lins() { local n s=; for n in "$@"; do s+="${s:+,}'$(lin "$n")'"; done; echo "$s"; }
committed_checks() { # WHEN COMMITTED-NUMBERS...
	local when=$1
	shift
	check "$when: committed commands applied exactly once, accepted" "$#:$#:$#" \
		"$(admin "SELECT count(*) || ':' || count(DISTINCT command_id) || ':' ||
			count(*) FILTER (WHERE decision = 'accepted') FROM axiom.ledger
			WHERE command_id IN ($(ids "$@"))")"
	check "$when: their records exist, version 1 each" "$#:$#" \
		"$(admin "SELECT count(DISTINCT id) || ':' || count(*) FROM axiom.records
			WHERE id IN ($(lins "$@"))")"
	check "$when: aborted commands in no ledger entry" 0 \
		"$(admin "SELECT count(*) FROM axiom.ledger WHERE command_id IN ($(ids $ABORTED))")"
	check "$when: aborted commands registered nowhere" 0 \
		"$(admin "SELECT count(*) FROM axiom.applied_commands WHERE command_id IN ($(ids $ABORTED))")"
	check "$when: aborted commands wrote no record" 0 \
		"$(admin "SELECT count(*) FROM axiom.records WHERE id IN ($(lins $ABORTED))")"
	check "$when: no duplicate refused" 0 \
		"$(admin "SELECT count(*) FROM axiom.ledger WHERE reason_code = 'duplicate_command'")"
	check "$when: the scenario's data commands and the committed ones, each with an outcome" \
		$((DATA_CMDS + $#)) \
		"$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.commands'")"
	# exactly-once resumes from the stored next offset: the one after the last applied
	check "$when: every stored next offset is the one after its last ledger entry" 0 \
		"$(admin "SELECT count(*) FROM axiom.partition_offsets o WHERE o.topic LIKE '$P.%'
			AND o.next_offset <> (SELECT max(kafka_offset) + 1 FROM axiom.ledger l
				WHERE l.topic = o.topic AND l.kafka_partition = o.kafka_partition)")"
	check "$when: record chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_record_chains()")"
	check "$when: ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"
}
committed_checks "after apply" 1 2 3 4 11

# the scenario is what it claims: markers and aborted records beyond the stored offsets
beyond=0
for ((p = 0; p < NPART; p++)); do
	end=$(log_end "$P.commands" "$p")
	next=$(admin "SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$P.commands' AND kafka_partition = $p")
	beyond=$((beyond + end - ${next:-0}))
done
echo "# offsets beyond the stored next offsets (markers, aborted records): $beyond"
check "the log ends hold offsets no read_committed reader receives" 1 "$((beyond >= 3))"

# a running applier: the lag gauge reaches 0, also after more transactions arrive
applier_bg it0516 "$TMP/apply2.log" --metrics 127.0.0.1:0 --progress 1
wait_until 30 'grep -qs "event=metrics" "$TMP/apply2.log"' || { echo "FAIL no event=metrics line"; exit 1; }
port=$(grep -o 'event=metrics .*port=[0-9]*' "$TMP/apply2.log" | head -n 1 | sed 's/.*port=//')
scrape() {
	python3 - "http://127.0.0.1:$port/metrics" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    sys.stdout.write(r.read().decode())
PY
}
lag_is_zero() { # every partition's lag gauge present (4 partitions) and 0
	scrape >"$TMP/metrics.txt" 2>/dev/null &&
		[[ $(awk '/^axiom_applier_lag\{/ {n++; s += $2} END {printf "%d:%d\n", n, s}' "$TMP/metrics.txt") == 4:0 ]]
}
wait_until 30 lag_is_zero
check "metrics: every partition's lag reaches 0" 0 $?
grep '^axiom_applier_lag{' "$TMP/metrics.txt" | sed 's/^/# /'
txn c abort "$TMP/t5.jsonl"
txn c commit "$TMP/t6.jsonl"
wait_until 30 "[[ \$(admin \"SELECT count(*) FROM axiom.ledger WHERE command_id = '$(cid 7)'\") == 1 ]]"
check "the commands committed while it runs are applied" 0 $?
wait_until 30 lag_is_zero
check "metrics: the lag returns to 0 after an aborted and a committed transaction" 0 $?
grep '^axiom_applier_lag{' "$TMP/metrics.txt" | sed 's/^/# /'
kill -TERM "${APPLIER_PIDS[0]}" && wait "${APPLIER_PIDS[0]}"
check "the running applier stops cleanly" 0 $?
# its last progress lines (written at the stop) say the same as the gauge
grep 'event=progress' "$TMP/apply2.log" | tail -n 4 >"$TMP/progress.txt"
check "progress: the last line of each partition says lag=0" 4 "$(grep -c ' lag=0 ' "$TMP/progress.txt")"
check "progress: and next_offset is below log_end on some (markers, aborted records)" 1 \
	"$(awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
		if (v["next_offset"] + 0 < v["log_end"] + 0) n++} END {print (n > 0)}' "$TMP/progress.txt")"
committed_checks "at the end" $COMMITTED
audit_checks

timeout 120 "$AX" verify --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" --prefix "$P" >"$TMP/verify.out" 2>&1
check "axiom verify passes (the Kafka cross-check included)" 0 $?
grep -iE 'broken|fail|error' "$TMP/verify.out" | head -n 5 | sed 's/^/# /'

# replay equals live: a second database rebuilt from the same log
new_db "${DB}_r"
FAULT_GROUPS+=("r-$P")
timeout 120 "$AX" replay --dbname "${DB}_r" --prefix "$P" --group "r-$P" --progress none \
	--compare-dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" >"$TMP/replay.out" 2>"$TMP/replay.log"
check "a replay gives the same database (axiom replay --compare-dsn)" 0 $?
grep -iE 'different|error|stalled|stopped' "$TMP/replay.out" "$TMP/replay.log" | head -n 5 | sed 's/^/# /'
finish
