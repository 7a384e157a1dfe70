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
source "$(dirname "${BASH_SOURCE[0]}")/apply-fault-lib.sh"

fault_setup 0506 6 1000
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
if ! diff -q "$TMP/ledger1" "$TMP/ledger2" >/dev/null; then
	echo "# first ledger differences (< one instance, > two instances):"
	diff "$TMP/ledger1" "$TMP/ledger2" | head -n 10 | cut -c1-300
fi
finish
