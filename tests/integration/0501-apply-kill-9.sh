#!/usr/bin/env bash
# 0501-apply-kill-9 - exactly once across crashes: while a backlog of 12,009 data commands
# (ops/scenario --records 6000, 6 partitions) flows, `axiom apply --batch 1` (many small
# transactions, many instants to die in) is killed with SIGKILL
# at a random instant 0.05 to 0.65 s after each run committed its first batch, and restarted
# with the same --group and --instance, until 20 kills landed while commands were being
# applied (30 kills at most); a final --until-caught-up run (default batches) finishes
# the log. Then every
# offset of every partition has exactly one ledger entry (gap-free seq, no offset twice),
# the records are those of the scenario, every chain verifies, every stored next offset is
# the log end, no command was refused as a duplicate (none was applied twice), and the
# audit topic carries each ledger entry once. Prints the apply rates. Randomness: only the
# kill instants; the verdicts do not depend on them. Each restart first waits for the group
# to expire the killed member (session timeout, about 10 s): that wait, not the applier,
# makes most of this test's duration.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
MID_KILLS=20 MAX_KILLS=30

fault_setup 0501 6 6000
total=$DATA_CMDS
applied() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$P.commands'"; }

t_start=$(now_ms)
mid=0 died=0 noassign=0 prev=0 stall_ms=0
for ((k = 1; k <= MAX_KILLS && mid < MID_KILLS; k++)); do
	log="$TMP/kill-$k.log"
	t_run=$(now_ms)
	applier_bg kill9 "$log" --batch 1
	pid=$!
	# a restart after a SIGKILL waits for the group to drop the dead member (its session
	# timeout), then each writer starts its audit relay and the data may wait for a control
	# tick: the kill comes at a random instant once this run committed its first batch
	for ((i = 0; i < 300; i++)); do
		cur=$(applied)
		((cur > prev || cur == total)) && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	((i == 300)) && noassign=$((noassign + 1))
	stall_ms=$((stall_ms + $(now_ms) - t_run))
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.05 + 0.6 * r / 32767 }')"
	if ! kill -0 "$pid" 2>/dev/null; then
		died=$((died + 1)) # exited by itself before its kill: a failure below
		echo "# run $k exited by itself: $(grep -E 'level=(error|warn)' "$log" | head -n 3 | cut -c1-300)"
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	cat "$log" >>"$TMP/kill.log"
	now=$(applied)
	# a kill "mid-stream": this run applied something and the log was not finished
	((now > prev && now < total)) && mid=$((mid + 1))
	prev=$now
	((now == total)) && break
done
kills=$((k - 1))
t_kills=$(now_ms)
echo "# $kills kills in $(((t_kills - t_start) / 1000)) s, of which $((stall_ms / 1000)) s from the starts to the first commits; $mid of them while commands were being applied; $prev of $total data commands applied before the final run"
check "no applier exited by itself before its kill -9" 0 "$died"
check "every restart committed a first batch within 30 s" 0 "$noassign"
check "no partition failed during the kills" 0 "$(grep -c 'event=partition_failed' "$TMP/kill.log")"
check_le "at least $MID_KILLS kills while commands were being applied" "$MID_KILLS" "$mid"

apply_fg "$TMP/final.log" --instance kill9
check "final --until-caught-up run exits 0" 0 $?
t_end=$(now_ms)
check "no partition failed in the final run" 0 "$(grep -c 'event=partition_failed' "$TMP/final.log")"
final_cmds=$((total - prev))
final_ms=$((t_end - t_kills))
whole_ms=$((t_end - t_start))
echo "# rates: final run $final_cmds data commands in $final_ms ms = $((final_cmds * 1000 / (final_ms > 0 ? final_ms : 1))) commands/s (includes ~2 s idle exit and start-up);" \
	"whole test $total data commands in $whole_ms ms = $((total * 1000 / (whole_ms > 0 ? whole_ms : 1))) commands/s (through $kills kills and restarts)"

exactly_once_checks
audit_checks
finish
