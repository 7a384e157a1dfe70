#!/usr/bin/env bash
# 0504-apply-two-instances - rebalances mid-stream: instance A applies a backlog of 6,009
# data commands alone; instance B (same --group, another --instance) joins once about a
# fifth is applied, so the eager rebalance revokes everything and splits the partitions;
# once B has applied commands of its own, B leaves (SIGTERM, clean stop) and A takes its
# partitions back. A finishes the log alone. The log is published in three parts, so that
# each step has work however fast the applier is: 2,009 commands before A starts, 2,000
# once B has partitions (both apply), 2,000 after B left (A applies in B's former
# partitions, from the offsets B stored). No command is applied twice (no duplicate
# refused, one ledger entry per offset), none is lost (every offset has its entry, stored
# offsets at the log end), chains valid, each ledger entry once on the audit topic.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

HOLD_BACK=4000
fault_setup 0504 6 3000
total=$DATA_CMDS
head -n 2000 "$TMP/held.jsonl" >"$TMP/held-1.jsonl"
tail -n 2000 "$TMP/held.jsonl" >"$TMP/held-2.jsonl"
applied() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$P.commands'"; }
by() { admin "SELECT count(*) FROM axiom.partition_offsets WHERE topic = '$P.commands' AND updated_by = '$1'"; }

t0=$(now_ms)
applier_bg inst-a "$TMP/a.log" --batch 50
pa=$!
wait_until 60 '(( $(applied) >= total / 5 ))' || echo "# A did not reach a fifth of the log in 60 s"
at_join=$(applied)
applier_bg inst-b "$TMP/b.log" --batch 50
pb=$!
# B gets partitions and applies some commands of its own
wait_until 60 'grep -q "event=assigned topic=$P.commands" "$TMP/b.log" 2>/dev/null'
check "B gets partitions of the commands topic when it joins" 0 $?
b_first=$(applied)
publish_held "$TMP/held-1.jsonl"
check "the second part of the log is published while both run" 0 $?
# B's first commit can come after A's next 500 (B's writers first wait for a control tick
# that A's control writer applies): wait for both
wait_until 60 '(( $(applied) >= b_first + 500 && $(by inst-b) >= 1 ))'
check "commands flow while both instances run, B's among them" 0 $?
at_leave=$(applied)
b_parts=$(by inst-b)
kill -TERM "$pb"
wait_until 30 '! kill -0 "$pb" 2>/dev/null'
wait "$pb"
check "B stops cleanly on SIGTERM (exit 0)" 0 $?
echo "# B joined at $at_join, left at $at_leave of $total data commands"
# B leaves mid-stream by construction: the last part of the log is published only now
publish_held "$TMP/held-2.jsonl"
check "the last part of the log is published after B left" 0 $?
check_le "B applied some partitions (its name on their stored offsets when it left)" 1 "$b_parts"

wait_caught_up 120
check "A alone finishes the log after B left" 0 $?
t1=$(now_ms)
revokes=$(grep -c 'event=revoked' "$TMP/a.log")
kill -TERM "$pa"
wait_until 30 '! kill -0 "$pa" 2>/dev/null'
wait "$pa"
check "A stops cleanly on SIGTERM (exit 0)" 0 $?
echo "# $total data commands in $((t1 - t0)) ms with one join and one leave"
check_le "A was revoked and re-assigned at B's join and at B's leave" 2 "$revokes"
check "no partition failed in A" 0 "$(grep -c 'event=partition_failed' "$TMP/a.log")"
check "no partition failed in B" 0 "$(grep -c 'event=partition_failed' "$TMP/b.log")"
check "no offset conflict anywhere" 0 "$(cat "$TMP/a.log" "$TMP/b.log" | grep -c 'AX409')"

exactly_once_checks
audit_checks
finish
