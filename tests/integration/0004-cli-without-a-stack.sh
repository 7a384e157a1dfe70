#!/usr/bin/env bash
# 0004-cli-without-a-stack - what a new user sees with nothing running or nothing set:
# help that teaches (exit 0), precise errors with a hint and documented exit codes, and
# every failure within a bounded time.
set -uo pipefail
AX=${AXIOM_BIN:?AXIOM_BIN is not set (run through ctest)}
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cli-check-lib.sh"
CHECK_TIMEOUT_S=60 CHECK_MAX_S=45 # each refusal comes quickly, without a stack
dead=(env -u AXIOM_PG_ADMIN_DSN -u AXIOM_PG_DSN AXIOM_BROKERS=127.0.0.1:9
	AXIOM_PG_ADMIN_DSN="host=127.0.0.1 port=9 dbname=axiom user=axiom_admin connect_timeout=3"
	AXIOM_PG_DSN="host=127.0.0.1 port=9 dbname=axiom user=axiom_user connect_timeout=3")
unset_all=(env -u AXIOM_BROKERS -u AXIOM_PG_ADMIN_DSN -u AXIOM_PG_DSN)

check "axiom --help teaches" 0 'axiom COMMAND --help' -- "$AX" --help
check "axiom with no command is a usage error" 2 'usage: axiom' -- "$AX"
check "unknown command" 2 "'frobnicate' is not an axiom command" -- "$AX" frobnicate
check "axiom --version" 0 'librdkafka 2\.' -- "$AX" --version
check "topics create --help" 0 'LogAppendTime' -- "$AX" topics create --help
check "topics --help names the exit codes" 0 '3 broker unreachable' -- "$AX" topics --help
check "topics bad partition count" 2 'invalid partition count "0"' -- "$AX" topics create --partitions 0
check "topics bad prefix" 2 'invalid topic prefix' -- "$AX" topics create --prefix 'a/b' --brokers 127.0.0.1:9
check "topics unknown option" 2 'Try .axiom topics --help' -- "$AX" topics create --bogus
check "topics without AXIOM_BROKERS" 1 'AXIOM_BROKERS is not set' -- "${unset_all[@]}" "$AX" topics create
check "topics with the broker down" 3 'could not reach the kafka broker at 127\.0\.0\.1:9' -- "${dead[@]}" "$AX" topics create --timeout 5
check "doctor --help" 0 'Nothing is created or changed' -- "$AX" doctor --help
check "doctor with nothing set" 1 'AXIOM_PG_ADMIN_DSN is not set' -- "${unset_all[@]}" "$AX" doctor
check "doctor with nothing set says how to fix" 1 'ops/stack up' -- "${unset_all[@]}" "$AX" doctor
check "doctor with everything down" 3 'could not connect to PostgreSQL as the admin login' -- "${dead[@]}" "$AX" doctor --timeout 5
check "doctor with everything down names the broker" 3 'could not reach the kafka broker' -- "${dead[@]}" "$AX" doctor --timeout 5
# integer options: junk, trailing characters, values past the range and past 32 bits
# (4294967326 wrapped to 30 before) are refused with the option and its range
check "publish --timeout junk" 2 '--timeout takes 1 to 3600 seconds' -- "$AX" publish --dry-run --timeout abc
check "publish --timeout trailing" 2 '--timeout takes 1 to 3600 seconds' -- "$AX" publish --dry-run --timeout 5x
check "publish --timeout past 32 bits" 2 '--timeout takes 1 to 3600 seconds' -- "$AX" publish --dry-run --timeout 4294967326
check "publish --timeout negative" 2 '--timeout takes 1 to 3600 seconds' -- "$AX" publish --dry-run --timeout -1
check "publish --help states the timeout range" 0 '1 to 3600 seconds \(default 30\)' -- "$AX" publish --help
check "audit --partition past 32 bits" 2 '--partition takes 0 to 1023' -- "$AX" audit --partition 4294967296 --brokers 127.0.0.1:9
check "audit --partition too large" 2 '--partition takes 0 to 1023' -- "$AX" audit --partition 1024 --brokers 127.0.0.1:9
check "audit --prefix too long" 2 'invalid topic prefix' -- "$AX" audit --prefix "$(printf 'q%.0s' {1..210})" --brokers 127.0.0.1:9
check "verify --timeout trailing" 2 "--timeout takes 1 to 3600 seconds, not '5x'" -- "$AX" verify --timeout 5x
check "verify --jobs too many" 2 "--jobs takes 1 to 16 connections, not '17'" -- "$AX" verify --jobs 17
check "verify --bench junk" 2 "--bench takes 1 to 100000000 versions, not '1e6'" -- "$AX" verify --bench 1e6
check "sign --version zero" 2 '--version takes 1 to 9223372036854775807' -- "$AX" sign --version 0
check "sign --version past 64 bits" 2 '--version takes 1 to 9223372036854775807' -- "$AX" sign --version 18446744073709551617
check "doctor --timeout too long" 2 '--timeout takes 1 to 600 seconds' -- "$AX" doctor --timeout 601
check "doctor --prefix too long" 2 'invalid topic prefix' -- "$AX" doctor --prefix "$(printf 'p%.0s' {1..70})"
# a signature counter file that is not a number is refused, not read as 0 (a regression)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$AX" sign --new-key "$tmp/k.pem" >/dev/null
echo abc >"$tmp/k.pem.count"
check "sign refuses a junk counter file" 1 'invalid signature counter in .*k\.pem\.count' -- \
	"$AX" sign --key "$tmp/k.pem" --actor alice --lineage 0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001 \
	--version 1 --record-hash "$(printf 'ab%.0s' {1..32})" --meaning approval \
	--factor-id 0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0002
check "the group test fails fast and clearly without a broker" 1 'kafka broker unreachable' -- \
	env AXIOM_BROKERS=127.0.0.1:9 CK_DEFAULT_TIMEOUT=60 "$AXIOM_TEST_BIN_DIR/it_0001_kafka_group_consume"

finish
