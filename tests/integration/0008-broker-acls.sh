#!/usr/bin/env bash
# 0008-broker-acls - the broker is not open (issue 13 item 1): every forbidden action below
# is refused by the broker itself (mutual TLS, the standard authorizer and the ACLs that
# `axiom topics create` grants, common/io/ax_kafka.c), and each has a positive control, so a
# refusal is the ACL's doing and not a broken client:
#   - a client without a certificate, with a self-made certificate named axiom-admin, or
#     speaking plaintext cannot even read the metadata;
#   - the upstream principal cannot write the control or the audit topic (it writes
#     commands), the analyst cannot write the audit topic nor read commands or control;
#   - nobody but the admin alters a topic's configuration (message.timestamp.type, the
#     attack of issue 12 finding 2);
#   - nobody but the applier consumes with the applier's group or claims the relay's
#     transactional id (it would fence the applier's audit producer);
#   - the upstream principal claims transactional ids axiom-upstream-... (a transactional
#     producer of commands) and no other; no other role claims those;
#   - `axiom publish --as upstream` of a control command is refused by the broker;
#   - the README's runbook for a new upstream system (`ops/stack principal NAME`, then
#     `axiom topics grant upstream User:NAME`) gives it exactly the upstream's rights.
# Throwaway topics (own prefix), deleted on exit.
set -uo pipefail
AX=${AXIOM_BIN:?run through ctest}
ROOT=${AXIOM_ROOT:?run through ctest}
: "${AXIOM_BROKERS:?run through tests/with-stack}"
: "${AXIOM_KAFKA_ADMIN_CONFIG:?run through tests/with-stack}"
KADMIN=${AXIOM_TEST_BIN_DIR:-$(dirname "$AX")/../tests}/kafka_admin
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kafka-lib.sh" # kc: kcat as a principal
P="it0007-$$-$(date +%s)"
G="g-$P"
NEWP="lims-$P" # a new upstream system's principal
SECRETS=$(dirname "$AXIOM_KAFKA_ADMIN_CONFIG")
TMP=$(mktemp -d)
fails=0 passes=0
cleanup() {
	"$KADMIN" "$AXIOM_BROKERS" delete-topics "$P.control" "$P.commands" "$P.audit" \
		>/dev/null 2>&1 || true
	rm -f "$SECRETS/kafka-$NEWP".*
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# check NAME WANT-EXIT GREP-PATTERN -- CMD...: the exit status is WANT-EXIT and the output
# (stdout and stderr) matches GREP-PATTERN (extended, case-insensitive; empty: anything)
check() {
	local name=$1 want=$2 pat=$3 rc
	shift 4
	timeout 60 bash -c '"$@"' check "$@" >"$TMP/out" 2>&1 </dev/null
	rc=$?
	if [[ $rc == "$want" ]] && { [[ -z $pat ]] || grep -Eqi -- "$pat" "$TMP/out"; }; then
		printf 'ok   %s\n' "$name"
		passes=$((passes + 1))
	else
		printf 'FAIL %s: want exit %s and /%s/, got exit %s:\n' "$name" "$want" "$pat" "$rc"
		sed 's/^/     /' "$TMP/out" | tail -n 5
		fails=$((fails + 1))
	fi
}
kadmin_as() { # ROLE CMD...: kafka_admin (tests/tools) as the principal ROLE
	local role=$1
	shift
	KAFKA_ADMIN_AS=$role "$KADMIN" "$AXIOM_BROKERS" "$@"
}
produce_as() { # ROLE TOPIC: one message "x" to partition 0 of TOPIC as ROLE
	printf 'x' | kadmin_as "$1" produce "$2" 0 0
}
export -f kc kadmin_as produce_as # check runs them under timeout
export KADMIN

"$AX" topics create --prefix "$P" --partitions 2 >"$TMP/create" 2>&1 ||
	{ cat "$TMP/create"; echo "FAIL could not create the topics"; exit 1; }
DENIED='authorization failed'

# -- who may connect at all
check "the admin reads the metadata (positive control)" 0 "$P.audit" -- kc admin -L
check "a client speaking plaintext is refused" 1 'transport failure|Disconnected' -- \
	kcat -b "$AXIOM_BROKERS" -L -m 5 -X log_level=0
check "a TLS client without a certificate is refused" 1 'transport failure|handshake|Disconnected' -- \
	kcat -b "$AXIOM_BROKERS" -L -m 5 -X log_level=0 -X security.protocol=SSL \
	-X "ssl.ca.location=$(dirname "$AXIOM_KAFKA_ADMIN_CONFIG")/kafka-ca.crt"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/fake.key" -out "$TMP/fake.crt" \
	-days 1 -subj "/CN=axiom-admin" 2>/dev/null
check "a self-made certificate named axiom-admin is refused" 1 'transport failure|handshake|Disconnected|certificate' -- \
	kcat -b "$AXIOM_BROKERS" -L -m 5 -X log_level=0 -X security.protocol=SSL \
	-X "ssl.ca.location=$(dirname "$AXIOM_KAFKA_ADMIN_CONFIG")/kafka-ca.crt" \
	-X "ssl.certificate.location=$TMP/fake.crt" -X "ssl.key.location=$TMP/fake.key"

# -- who writes what
check "upstream writes the commands topic (positive control)" 0 '' -- produce_as upstream "$P.commands"
check "the control plane writes the control topic (positive control)" 0 '' -- produce_as control "$P.control"
check "the applier writes the audit topic (positive control)" 0 '' -- produce_as applier "$P.audit"
check "upstream cannot write the control topic" 1 "$DENIED" -- produce_as upstream "$P.control"
check "upstream cannot write the audit topic" 1 "$DENIED" -- produce_as upstream "$P.audit"
check "the analyst cannot write the audit topic" 1 "$DENIED" -- produce_as analyst "$P.audit"
check "the control plane cannot write the audit topic" 1 "$DENIED" -- produce_as control "$P.audit"
check "the analyst cannot write the commands topic" 1 "$DENIED" -- produce_as analyst "$P.commands"
printf '%s\n' '{"command_id":"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0007","actor":"a","issued_at":1,"reason":"r","payload":{"Tick":{"requested_by_partition":1}}}' >"$TMP/tick.jsonl"
check "axiom publish --as upstream of a control command is refused" 1 "$DENIED" -- \
	"$AX" publish --as upstream --prefix "$P" --timeout 20 "$TMP/tick.jsonl"

# -- a new upstream system, as the README's runbook makes it
"$ROOT/ops/stack" principal "$NEWP" >/dev/null
check "a new principal has no rights before its grant" 1 "$DENIED" -- \
	env AXIOM_KAFKA_UPSTREAM_CONFIG="$SECRETS/kafka-$NEWP.conf" bash -c 'produce_as upstream "$0"' "$P.commands"
check "axiom topics grant upstream User:NAME" 0 "granted User:$NEWP" -- \
	"$AX" topics grant upstream "User:$NEWP" --prefix "$P"
check "the new upstream system writes the commands topic" 0 '' -- \
	env AXIOM_KAFKA_UPSTREAM_CONFIG="$SECRETS/kafka-$NEWP.conf" bash -c 'produce_as upstream "$0"' "$P.commands"
check "the new upstream system cannot write the control topic" 1 "$DENIED" -- \
	env AXIOM_KAFKA_UPSTREAM_CONFIG="$SECRETS/kafka-$NEWP.conf" bash -c 'produce_as upstream "$0"' "$P.control"

# -- who reads what
check "the analyst reads the audit topic (positive control)" 0 'Reached end' -- \
	kc analyst -C -t "$P.audit" -p 0 -o 0 -e
check "the analyst cannot read the commands topic" 1 "$DENIED" -- \
	kc analyst -C -t "$P.commands" -p 0 -o 0 -e
check "the analyst cannot read the control topic" 1 "$DENIED" -- \
	kc analyst -C -t "$P.control" -p 0 -o 0 -e
check "upstream cannot read the commands topic" 1 "$DENIED" -- \
	kc upstream -C -t "$P.commands" -p 0 -o 0 -e

# -- only the admin alters configurations (issue 12 finding 2: CreateTime lets producers
#    choose timestamps)
for role in applier upstream control analyst auditor; do
	check "$role cannot switch a topic to CreateTime" 1 "$DENIED" -- \
		kadmin_as "$role" set-configs "$P.control" message.timestamp.type=CreateTime
done
check "the admin may (positive control)" 0 '' -- \
	kadmin_as admin set-configs "$P.commands" message.timestamp.type=LogAppendTime retention.ms=-1 cleanup.policy=delete

# -- the applier's group and transactional ids are its own
check "the applier consumes with its group (positive control)" 0 'Reached end|Waiting' -- \
	kc applier -G "$G" -o beginning -e "$P.commands"
check "the analyst cannot consume with the applier's group" 1 "$DENIED" -- \
	kc analyst -G "$G" -o beginning -e "$P.audit"
check "upstream cannot consume with the applier's group" 1 "$DENIED" -- \
	kc upstream -G "$G" -o beginning -e "$P.commands"
check "the applier claims the relay's transactional id (positive control)" 0 '' -- \
	kadmin_as applier init-transactions "axiom-relay/$P.commands/1"
for role in upstream control analyst auditor; do
	check "$role cannot claim the relay's transactional id" 1 "$DENIED" -- \
		kadmin_as "$role" init-transactions "axiom-relay/$P.commands/0"
done
# -- an upstream system's transactional producer (docs/producers.md section 4)
check "upstream claims a transactional id axiom-upstream-... (positive control)" 0 '' -- \
	kadmin_as upstream init-transactions "axiom-upstream-$P"
for role in control analyst auditor; do
	check "$role cannot claim an upstream transactional id" 1 "$DENIED" -- \
		kadmin_as "$role" init-transactions "axiom-upstream-$P"
done
check "upstream cannot claim a transactional id outside its prefix" 1 "$DENIED" -- \
	kadmin_as upstream init-transactions "lims-$P"
"$KADMIN" "$AXIOM_BROKERS" delete-groups "$G" >/dev/null 2>&1 || true

printf '%d passed, %d failed\n' "$passes" "$fails"
((fails == 0))
