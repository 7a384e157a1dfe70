#!/usr/bin/env bash
# 0006-cli-long-topic-prefix - topic names are never cut short: with a prefix near the
# 64-character limit, `axiom doctor` finds the topics that `axiom topics create` made (it
# used to look for names truncated to 63 bytes and report them missing), and
# `axiom audit --partition N` names a partition the topic does not have instead of printing
# nothing. Uses its own topics and deletes them afterwards.
set -uo pipefail
AX=${AXIOM_BIN:?AXIOM_BIN is not set (run through ctest)}
: "${AXIOM_BROKERS:?AXIOM_BROKERS is not set (run through tests/with-stack)}"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cli-check-lib.sh"
# 60 characters: legal (at most 64), but PREFIX.commands is longer than 63
prefix="it0006-$(date +%s)-$$-"
prefix+=$(printf 'x%.0s' $(seq $((60 - ${#prefix}))))
cleanup() {
	"$AXIOM_TEST_BIN_DIR/kafka_admin" "$AXIOM_BROKERS" delete-topics \
		"$prefix.control" "$prefix.commands" "$prefix.audit" >/dev/null
}
trap cleanup EXIT

check "topics create with a 60-character prefix" 0 "$prefix\.commands" -- \
	"$AX" topics create --prefix "$prefix" --partitions 2
check "doctor finds the command topic" 0 "ok +topic $prefix\.commands: 2 partitions" -- \
	"$AX" doctor --prefix "$prefix"
check "doctor finds the audit topic" 0 "ok +topic $prefix\.audit: 2 partitions" -- \
	"$AX" doctor --prefix "$prefix"
check "doctor reads the prefix from the environment too" 0 "ok +topic $prefix\.control" -- \
	env AXIOM_TOPIC_PREFIX="$prefix" "$AX" doctor
check "audit reads a partition that exists" 0 '' -- "$AX" audit --prefix "$prefix" --partition 1
check "audit names a partition that does not exist" 1 \
	"Topic $prefix\.audit has 2 partitions, 0 to 1" -- \
	"$AX" audit --prefix "$prefix" --partition 5

finish
