#!/usr/bin/env bash
# 0401-publish-cli - `axiom publish` tried as a new user would (issue 4): the examples
# publish and are all acknowledged; malformed JSON, an unknown command type, a missing
# field, a wrongly typed field, missing topics and a broker that is down each give a
# precise error naming the line and field, a documented exit code, and nothing sent.
# Uses its own topic prefix, so the stack's axiom.* topics are left alone; those topics are
# deleted on exit (kafka_admin, tests/tools), so nothing is left on a developer's stack.
set -uo pipefail
AX=${AXIOM_BIN:?AXIOM_BIN is not set (run through ctest)}
: "${AXIOM_BROKERS:?AXIOM_BROKERS is not set (run through tests/with-stack)}"
KADMIN=${AXIOM_TEST_BIN_DIR:-$(dirname "$AX")/../tests}/kafka_admin
tmp=$(mktemp -d)
prefix="it0401-$(date +%s)-$$"
cleanup() {
	if [[ ! -x $KADMIN ]]; then
		echo "# warning: $KADMIN not built: the topics $prefix.* are left behind"
	elif ! "$KADMIN" "$AXIOM_BROKERS" delete-topics "$prefix.control" "$prefix.commands" \
		"$prefix.audit" 2>"$tmp/kadmin.err"; then
		echo "# warning: could not delete the topics $prefix.*: $(cat "$tmp/kadmin.err")"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that the clean-up runs when ctest times the test out
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cli-check-lib.sh"
good='{"command_id":"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001","actor":"a","issued_at":1,"reason":"r","payload":{"Tick":{"requested_by_partition":1}}}'

"$AX" publish --example >"$tmp/examples.jsonl"
check "--example prints a command of every type" 0 '^25 commands valid \(14 control, 11 data\)' -- \
	"$AX" publish --dry-run "$tmp/examples.jsonl"
check "--help documents the format and exit codes" 0 '3 broker unreachable' -- "$AX" publish --help

printf '%s\n{"command_id": "x", \n' "$good" >"$tmp/malformed.jsonl"
check "malformed JSON names the line" 1 'malformed.jsonl:2: not valid JSON' -- \
	"$AX" publish --prefix "$prefix" "$tmp/malformed.jsonl"
check "an invalid line sends nothing" 1 '^axiom publish: 1 invalid line: nothing was sent' -- \
	"$AX" publish --prefix "$prefix" "$tmp/malformed.jsonl"
printf '%s\n' "${good/Tick/Teleport}" >"$tmp/unknown.jsonl"
check "unknown command type" 1 'unknown.jsonl:1: field payload names "Teleport", which is not a command type' -- \
	"$AX" publish "$tmp/unknown.jsonl"
printf '%s\n' "${good/\"actor\":\"a\",/}" >"$tmp/missing.jsonl"
check "missing field" 1 'missing.jsonl:1: field actor is missing' -- "$AX" publish "$tmp/missing.jsonl"
printf '%s\n' "${good/\"requested_by_partition\":1/\"requested_by_partition\":\"one\"}" >"$tmp/type.jsonl"
check "wrong field type" 1 'type.jsonl:1: field payload.Tick.requested_by_partition must be an integer in the 32-bit range' -- \
	"$AX" publish "$tmp/type.jsonl"
check "broker down: exit 3, nothing sent" 3 'could not reach the kafka broker at 127\.0\.0\.1:9' -- \
	"$AX" publish --brokers 127.0.0.1:9 "$tmp/examples.jsonl"
check "topics missing: nothing sent" 1 "topic $prefix\.control does not exist; nothing was sent" -- \
	"$AX" publish --prefix "$prefix" "$tmp/examples.jsonl"

"$AX" topics create --prefix "$prefix" --partitions 3 >/dev/null
check "examples are all acknowledged" 0 '^sent 25 commands: 25 acknowledged, 0 failed' -- \
	"$AX" publish --prefix "$prefix" "$tmp/examples.jsonl"
check "standard input works too" 0 '^sent 1 command: 1 acknowledged, 0 failed' -- \
	bash -c "printf '%s\n' '$good' | '$AX' publish --prefix '$prefix' -"

finish
