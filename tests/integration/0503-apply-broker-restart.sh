#!/usr/bin/env bash
# 0503-apply-broker-restart - the broker goes away under a running applier: while `axiom
# apply` works through a backlog of 8,009 data commands, the stack's Kafka broker is
# stopped (`ops/stack down kafka`), kept down a few seconds, and started again (`ops/stack
# up`); the last 3,000 commands are published only then, so that part of the log surely
# comes from the restarted broker (the applier prefetches fast enough to hold all of a
# backlog this size before the stop). The same applier process must resume by itself and
# apply the log to its end within a bounded time, then stop cleanly on SIGTERM (exit 0),
# exactly once: one ledger entry per offset, valid chains, stored offsets at the log end,
# no duplicate, each ledger entry once on the audit topic. (The applier runs without
# --until-caught-up: it may apply everything published before the stop while the broker is
# down, and would then rightly stop at the log end as soon as the broker is back, before
# this test had published the rest.)
# The broker is started again whatever happens (trap), since other tests share it; under
# ctest the stack's resource lock keeps the other integration tests away meanwhile.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
DOWN_SECONDS=4

broker_up() { "$ROOT/ops/stack" up >"$TMP/stack-up.log" 2>&1; }
on_exit() {
	if ((broker_stopped)); then
		broker_up || echo "FAIL could not start the broker again: $(tail -n 5 "$TMP/stack-up.log")"
	fi
	fault_cleanup
}
broker_stopped=0
trap on_exit EXIT

HOLD_BACK=3000
fault_setup 0503 6 4000
total=$DATA_CMDS
applied() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$P.commands'"; }

t0=$(now_ms)
"$AX" apply --prefix "$P" --group "$G" --instance brokerrestart \
	--dsn "$(DSN_OF)" --progress 0 2>"$TMP/apply.log" &
pid=$!
APPLIER_PIDS+=("$pid")
for ((i = 0; i < 300 && $(applied) < 1000; i++)); do sleep 0.1; done
at_stop=$(applied)
broker_stopped=1
"$ROOT/ops/stack" down kafka >"$TMP/stack-down.log" 2>&1 || echo "# ops/stack down kafka: $(cat "$TMP/stack-down.log")"
t_down=$(now_ms)
sleep "$DOWN_SECONDS"
during=$(applied)
alive_during=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)
broker_up
check "the broker starts again" 0 $?
broker_stopped=0
t_up=$(now_ms)
publish_held
check "the held-back commands are published to the restarted broker" 0 $?
echo "# broker down at $at_stop of $total data commands applied, for $(((t_up - t_down) / 1000)) s (stop + ${DOWN_SECONDS} s + start); $during applied while it was down"
check "the applier outlives the broker's absence" yes "$alive_during"
check_le "the broker was stopped mid-stream" "$at_stop" $((total - HOLD_BACK - 1))
# what was fetched before the stop is applied meanwhile; the held-back rest exists only on the
# restarted broker, and the checks below (every offset applied once) need it applied

# the same process resumes and applies the log to its end (bounded), control partition too
control_done() { (($(admin "SELECT coalesce(max(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$P.control'") == $(log_end "$P.control" 0))); }
caught=1
if wait_caught_up 120; then
	for ((i = 0; i < 100; i++)); do control_done && { caught=0; break; }; sleep 0.1; done
fi
t1=$(now_ms)
check "the applier applies the log to its end after the restart" 0 "$caught"
((caught == 0)) || { echo "# log tail:"; tail -n 20 "$TMP/apply.log"; }
check "the applier is still running" yes "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
kill -TERM "$pid"
for ((i = 0; i < 300; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && { echo "# still running 30 s after SIGTERM: killed"; kill -KILL "$pid"; }
wait "$pid"
rc=$?
check "the applier exits 0 on SIGTERM after the restart" 0 "$rc"
((rc == 0)) || { echo "# its warnings and errors:"; grep -E 'level=(warn|error)|event=(stopped|revoked|assigned)' "$TMP/apply.log" | sort | uniq -c | sort -rn | head -n 20 | cut -c1-400; }
echo "# finished $(((t1 - t_up) / 1000)) s after the broker was back; whole run $((t1 - t0)) ms"
check "no partition failed" 0 "$(grep -c 'event=partition_failed' "$TMP/apply.log")"

exactly_once_checks
audit_checks
finish
