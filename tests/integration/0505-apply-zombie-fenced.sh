#!/usr/bin/env bash
# 0505-apply-zombie-fenced - the offset compare-and-set refuses a stale writer.
# 1. A zombie in SQL: instance A applies part of the log and stops; then a writer that
#    still believes in an older offset calls axiom_api.apply_partition_batch as axiom_user
#    (the runtime role, as the applier does) with A's claim and that stale expected offset,
#    or with "none stored": SQLSTATE AX409 (offset_conflict), and nothing changes (ledger,
#    stored offsets, registry of command ids, records, control watermark). Claims (db/0017):
#    once a new owner claimed the partition, A's claim is refused with AX409
#    (claim_conflict) even with the right expected offset, and so is no claim at all. The
#    same call with the right expectation and the latest claim is accepted (probe topic),
#    and repeating it verbatim, now stale, is refused. A claim waits for the batch in
#    flight and returns the next offset that batch committed.
# 2. A zombie in the applier: while instance B applies the rest of the log (small batches),
#    another writer moves the stored next offset of commands/0 forward (the compare-and-set
#    of axiom_api.store_next_offset, as a new owner would). B's writer of partition 0 must
#    lose its next compare-and-set, roll back and stop with event=partition_failed
#    why=fenced sqlstate=AX409, leave the moved offset as it is, while every other
#    partition finishes; B exits 1 (a partition failed).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0505 6 2000
total=$DATA_CMDS
C="$P.commands"
applied() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$C'"; }
stored() { admin "SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$1' AND kafka_partition = $2"; }
# as the runtime role; prints the SQLSTATE of the error, or "ok:<rows>"
as_user() {
	local out
	if out=$(psql -X -q -t -A -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$(DSN_OF)" -c "$1" 2>&1); then
		echo "ok:$(grep -c . <<<"$out")"
	else
		sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' <<<"$out" | head -n 1
	fi
}
state() { # everything a refused batch must leave untouched
	admin "SELECT (SELECT count(*) FROM axiom.ledger) || '/' ||
		(SELECT string_agg(topic || ':' || kafka_partition || '=' || next_offset || ':' || updated_by, ',' ORDER BY topic, kafka_partition) FROM axiom.partition_offsets) || '/' ||
		(SELECT count(*) FROM axiom.applied_commands) || '/' || (SELECT count(*) FROM axiom.records) || '/' ||
		(SELECT event_time FROM axiom.control_watermark)"
}

# ---- 1. a stale writer calling the SQL API ----------------------------------------------
applier_bg inst-a "$TMP/a.log" --batch 50
pa=$!
for ((i = 0; i < 600 && $(applied) < total / 4; i++)); do sleep 0.1; done
kill -TERM "$pa"
wait "$pa"
check "A stops cleanly after part of the log (exit 0)" 0 $?
x=$(stored "$C" 1)
echo "# A applied $(applied) of $total data commands; stored next offset of $C/1: $x"
check_le "A left commands/1 mid-log" 1 $((x > 1 && x < $(log_end "$C" 1)))
before=$(state)
tick() { # OFFSET: a batch of one tick, the smallest well-formed batch
	printf '[{"op":"tick","offset":%d,"event_time":"2000-01-01T00:00:00Z","command_id":"%s","actor":"axiom-system"}]' \
		"$1" "$(python3 -c 'import uuid; print(uuid.uuid4())')"
}
claim_of() { # TOPIC PARTITION: the latest claim, or NULL
	local c
	c=$(admin "SELECT claim FROM axiom.partition_claims WHERE topic = '$1' AND kafka_partition = $2")
	echo "${c:-NULL}"
}
zombie() { # TOPIC PARTITION CONTROL EXPECTED OFFSET [CLAIM]: CLAIM defaults to the latest
	as_user "SELECT * FROM axiom_api.apply_partition_batch('zombie', '$1', $2, $3, $4, ${6:-$(claim_of "$1" "$2")}, '$(tick "$5")'::jsonb)"
}
claim() { # INSTANCE TOPIC PARTITION: "next_offset|claim" as the new owner gets them
	psql -X -q -t -A -v ON_ERROR_STOP=1 "$(DSN_OF)" -c "SELECT coalesce(next_offset::text, 'unset') || '|' || claim FROM axiom_api.claim_partition('$1', '$2', $3)"
}
check "a data batch expecting an older offset ($((x - 1))) is refused with AX409" AX409 "$(zombie "$C" 1 false $((x - 1)) $((x - 1)))"
check "a data batch expecting the start of the log (0) is refused with AX409" AX409 "$(zombie "$C" 1 false 0 0)"
check "a data batch expecting no stored offset is refused with AX409" AX409 "$(zombie "$C" 1 false NULL 0)"
xc=$(stored "$P.control" 0)
check "a control batch expecting an older offset is refused with AX409" AX409 "$(zombie "$P.control" 0 true $((xc - 1)) $((xc - 1)))"
check "a batch expecting an offset ahead of the stored one is refused with AX409" AX409 "$(zombie "$C" 1 false $((x + 5)) $((x + 5)))"
check "nothing changed: ledger, stored offsets, command registry, records, watermark" "$before" "$(state)"
a_claim=$(claim_of "$C" 1)
check "A claimed $C/1 when it was assigned" yes "$([[ $a_claim != NULL ]] && echo yes || echo no)"
check "a new owner's claim of $C/1 returns the stored next offset and the next claim" "$x|$((a_claim + 1))" "$(claim new-owner "$C" 1)"
check "A's claim, superseded, is refused with AX409 even with the right expected offset" AX409 "$(zombie "$C" 1 false "$x" "$x" "$a_claim")"
check "no claim at all on a claimed partition is refused with AX409" AX409 "$(zombie "$C" 1 false "$x" "$x" NULL)"
check "still nothing changed" "$before" "$(state)"
# the same call with the right expectation passes, and once it passed it is stale
probe="$P.probe"
check "the right expectation is accepted (probe topic, none stored yet, never claimed)" "ok:1" "$(zombie "$probe" 0 false NULL 0)"
check "the same call repeated, now stale, is refused with AX409" AX409 "$(zombie "$probe" 0 false NULL 0)"
check "the probe partition has exactly the one accepted entry" "1:1" \
	"$(admin "SELECT count(*) || ':' || (SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$probe') FROM axiom.ledger WHERE topic = '$probe'")"
check "a first claim of the probe partition" "1|1" "$(claim p1 "$probe" 0)"
check "the claimant's batch is accepted" "ok:1" "$(zombie "$probe" 0 false 1 1 1)"
check "a second claim" "2|2" "$(claim p2 "$probe" 0)"
check "the first claimant, now a zombie, is refused with AX409 (right expected offset)" AX409 "$(zombie "$probe" 0 false 2 2 1)"
# a batch in flight (held open by pg_sleep in its transaction) and a claim meanwhile: the
# claim must wait for it and return the offset it committed, not the one before it
psql -X -q -t -A -v ON_ERROR_STOP=1 "$(DSN_OF)" >"$TMP/inflight.out" 2>&1 <<SQL &
BEGIN;
SELECT count(*) FROM axiom_api.apply_partition_batch('p2', '$probe', 0, false, 2, 2, '$(tick 2)'::jsonb);
SELECT pg_sleep(2);
COMMIT;
SQL
inflight=$!
# until the batch holds its row lock (it sleeps after it)
for ((i = 0; i < 100; i++)); do
	(($(admin "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(2)%'") > 0)) && break
	sleep 0.05
done
t0=$(now_ms)
got=$(claim p3 "$probe" 0)
waited=$(($(now_ms) - t0))
wait "$inflight"
check "the batch in flight committed" 0 $?
check "a claim during a batch in flight returns the offset that batch committed" "3|3" "$got"
check_le "and it waited for that batch (ms)" 500 "$waited"
check "the probe partition: three entries, claims 1 to 3, the last by p3" "3:3:3:p3" \
	"$(admin "SELECT count(*) || ':' || (SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$probe') || ':' || (SELECT claim || ':' || claimed_by FROM axiom.partition_claims WHERE topic = '$probe') FROM axiom.ledger WHERE topic = '$probe'")"

# ---- 2. a stale writer inside the applier ----------------------------------------------
applier_bg inst-b "$TMP/b.log" --batch 1 --until-caught-up
pb=$!
p0_end=$(log_end "$C" 0)
p0_start=$(stored "$C" 0)
for ((i = 0; i < 300; i++)); do
	cur=$(stored "$C" 0)
	((cur > p0_start + 20)) && break
	sleep 0.1
done
moved="" tries=1
# another writer moves the stored offset forward between two of B's transactions: one UPDATE
# that waits for B's row lock and then applies to the row B just committed, so it always
# lands mid-partition (the API's compare-and-set would race B's commits)
moved=$(admin "UPDATE axiom.partition_offsets SET next_offset = next_offset + 50, updated_by = 'intruder'
	WHERE topic = '$C' AND kafka_partition = 0 AND next_offset + 50 < $p0_end RETURNING next_offset - 50")
echo "# commands/0: B started at $p0_start; the intruder moved the stored offset from ${moved:-?} to $((${moved:-0} + 50)) (log end $p0_end, $tries tries)"
check "the intruder moved commands/0 forward while B was mid-partition" yes "$([[ -n $moved ]] && echo yes || echo no)"
for ((i = 0; i < 1200; i++)); do
	kill -0 "$pb" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pb" 2>/dev/null && { echo "FAIL B still runs 120 s later"; fails=$((fails + 1)); kill -TERM "$pb"; }
wait "$pb"
check "B exits 1: a partition stopped on an error" 1 $?
check "exactly one partition failed" 1 "$(grep -c 'event=partition_failed' "$TMP/b.log")"
check "it is commands/0, fenced by the compare-and-set (AX409)" 1 \
	"$(grep 'event=partition_failed' "$TMP/b.log" | grep -c "topic=$C partition=0 .*why=fenced.*sqlstate=AX409")"
if [[ -n $moved ]]; then
	check "the moved offset stays as the intruder set it" "$((moved + 50)):intruder" \
		"$(admin "SELECT next_offset || ':' || updated_by FROM axiom.partition_offsets WHERE topic = '$C' AND kafka_partition = 0")"
	check "commands/0 has entries for offsets 0..$((moved - 1)) only (B's batch rolled back)" "$moved:$((moved - 1))" \
		"$(admin "SELECT count(*) || ':' || max(kafka_offset) FROM axiom.ledger WHERE topic = '$C' AND kafka_partition = 0")"
fi
for ((p = 1; p < NPART; p++)); do
	check "$C/$p, not fenced, is applied to its log end" "$(log_end "$C" "$p")" "$(stored "$C" "$p")"
done
check "the control partition is applied to its log end" "$(log_end "$P.control" 0)" "$(stored "$P.control" 0)"
check "no duplicate refused" 0 "$(admin "SELECT count(*) FROM axiom.ledger WHERE reason_code = 'duplicate_command'")"
check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"
check "record chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_record_chains()")"
finish
