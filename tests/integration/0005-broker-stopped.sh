#!/usr/bin/env bash
# 0005-broker-stopped - the worst case for a client: the broker's process is frozen
# (SIGSTOP), so connections are accepted but nothing answers. The integration test and the
# CLI must still fail within a bounded time, saying the broker is unreachable; after SIGCONT
# the broker serves again.
set -uo pipefail
: "${AXIOM_STACK_DIR:?run through tests/with-stack}"
pid=$(head -n1 "$AXIOM_STACK_DIR/kafka/pid")
[[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q kafka.Kafka ||
	{ echo "FAIL: no running broker of the stack (pid file $AXIOM_STACK_DIR/kafka/pid)"; exit 1; }
fails=0 passes=0
trap 'kill -CONT "$pid" 2>/dev/null' EXIT
kill -STOP "$pid"

run_bounded() { # NAME WANT_RC PATTERN MAX_S -- CMD...
	local name=$1 want=$2 pat=$3 max=$4 out rc t0 t1
	shift 5
	t0=$(date +%s)
	out=$(timeout 120 "$@" 2>&1)
	rc=$?
	t1=$(date +%s)
	if [[ $rc -ne $want ]] || ! grep -qE -- "$pat" <<<"$out" || ((t1 - t0 > max)); then
		printf 'FAIL %s: rc=%s (want %s) after %ss (bound %ss); output:\n%s\n' "$name" "$rc" \
			"$want" "$((t1 - t0))" "$max" "$out"
		fails=$((fails + 1))
	else
		printf 'ok   %s (rc=%s, %ss)\n' "$name" "$rc" "$((t1 - t0))"
		passes=$((passes + 1))
	fi
}
run_bounded "group test with a frozen broker" 1 'kafka broker unreachable' 60 -- \
	"$AXIOM_TEST_BIN_DIR/it_0001_kafka_group_consume"
run_bounded "doctor with a frozen broker" 3 'could not reach the kafka broker' 30 -- \
	"$AXIOM_BIN" doctor --timeout 5

kill -CONT "$pid"
trap - EXIT
run_bounded "the broker serves a group again after SIGCONT" 0 'Checks: 1, Failures: 0' 90 -- \
	"$AXIOM_TEST_BIN_DIR/it_0001_kafka_group_consume"
echo "$passes passed, $fails failed"
((fails == 0))
