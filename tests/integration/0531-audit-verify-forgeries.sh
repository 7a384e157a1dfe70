#!/usr/bin/env bash
# 0531-audit-verify-forgeries - the audit topic is verifiable by its readers (issue 13
# item 1, second part): a real applier (ops/scenario --records 30, 2 partitions, Ed25519
# checkpoints every 5 entries) fills the audit topic; `axiom audit --verify` (as the analyst,
# with the applier's public key from its log) passes on it. Then the admin (the only
# principal that may write the audit topic besides the applier, 0008-broker-acls) copies it
# into fresh topics, forging one event each time (tests/tools/kafka_admin copy-audit): a
# REJECTED outcome flipped to ACCEPTED with its hashes kept, a dropped outcome, two events
# swapped, a duplicated outcome, a checkpoint whose signature changed. `axiom audit
# --verify` passes on the untouched copy and fails (exit 1) on each forgery, naming the
# ledger, the seq and the problem; finally a duplicate appended to the real audit topic
# itself is found too.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh" # check, admin, new_db, clean-up
tag="$$-$(date +%s)"
P="it0531-$tag"
DB="axiom_it_0531_${tag//-/_}"
FAULT_GROUPS+=("g-$P")
COPIES=()
cleanup_copies() {
	local q
	for q in "${COPIES[@]}"; do
		"$KADMIN" "$AXIOM_BROKERS" delete-topics "$q.control" "$q.commands" "$q.audit" >/dev/null 2>&1
	done
	fault_cleanup
}
trap cleanup_copies EXIT

new_db "$DB"
"$AX" topics create --prefix "$P" --partitions 2 >/dev/null || { echo "FAIL topics"; exit 1; }
"$ROOT/ops/scenario" "$TMP/sc" --records 30 --seed "$tag" >/dev/null || exit 1
for f in "$TMP"/sc/*.jsonl; do "$AX" publish "$f" --prefix "$P" >/dev/null || exit 1; done
openssl genpkey -algorithm ed25519 -out "$TMP/key.pem" 2>/dev/null || { echo "FAIL keygen"; exit 1; }
timeout 180 "$AX" apply --until-caught-up --prefix "$P" --group "g-$P" --instance it0531 \
	--dsn "$AXIOM_PG_DSN dbname=$DB" --progress 0 --checkpoint-key "$TMP/key.pem" \
	--checkpoint-every 5 2>"$TMP/apply.log"
check "apply exits 0" 0 $?
PUB=$(sed -n 's/.*event=checkpoint_key .*ed25519_public_key=\([0-9a-f]*\).*/\1/p' "$TMP/apply.log" | head -n1)
check "the applier logged its public key" 64 "${#PUB}"
entries=$(admin "SELECT count(*) FROM axiom.ledger")
check_le "a real ledger to check (at least 86 entries)" 86 "$entries"
# with a wrong key nothing else changes
WRONG=$(openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -outform DER 2>/dev/null | tail -c 32 | od -An -tx1 | tr -d ' \n')

verify() { # PREFIX [ARGS...]: axiom audit --verify as the analyst; output in $TMP/v.out
	local q=$1
	shift
	timeout 120 "$AX" audit --verify --prefix "$q" "$@" >"$TMP/v.out" 2>&1
}
check_verify() { # NAME WANT-EXIT PATTERN PREFIX [ARGS...]
	local name=$1 want=$2 pat=$3 rc
	shift 3
	verify "$@"
	rc=$?
	check "$name: exit" "$want" "$rc"
	if grep -Eq -- "$pat" "$TMP/v.out"; then
		check "$name: says so" 1 1
	else
		check "$name: says so (/$pat/)" 1 0
		sed 's/^/#   /' "$TMP/v.out" | head -n 5
	fi
}

check_verify "the real audit topic verifies" 0 "$entries outcomes, [0-9]+ checkpoints \(signatures checked\): every chain holds" \
	"$P" --public-key "$PUB"
check_verify "another key's signatures do not verify" 1 "checkpoint signed with another key" \
	"$P" --public-key "$WRONG"

n=0
copy() { # MODE N: a copy of the audit topic with one forgery; its prefix in $Q
	n=$((n + 1))
	Q="$P-c$n"
	COPIES+=("$Q")
	"$AX" topics create --prefix "$Q" --partitions 2 >/dev/null || { echo "FAIL topics $Q"; exit 1; }
	"$KADMIN" "$AXIOM_BROKERS" copy-audit "$P.audit" "$Q.audit" "$1" "$2" >"$TMP/copy.out" 2>&1 ||
		{ echo "FAIL copy-audit $1: $(cat "$TMP/copy.out")"; }
	sed 's/^/# forged: /' "$TMP/copy.out"
}

copy none 0
check_verify "an exact copy verifies" 0 "every chain holds" "$Q" --public-key "$PUB"
copy flip 3
# the issue's finding: printing the topic, as before --verify existed, accepts the forgery
timeout 120 "$AX" audit --prefix "$Q" >"$TMP/printed.jsonl" 2>&1
check "axiom audit without --verify prints the flipped outcome and exits 0 (what readers had)" 0 $?
check_verify "a REJECTED outcome flipped to ACCEPTED fails" 1 "ledger_hash is not the hash of the outcome's fields" \
	"$Q" --public-key "$PUB"
copy drop 7
check_verify "a dropped outcome fails" 1 "outcome\(s\) missing \(dropped\)" "$Q" --public-key "$PUB"
copy swap 9
check_verify "two events swapped fail" 1 "published twice or out of order|missing \(dropped\)|no outcome before" \
	"$Q" --public-key "$PUB"
copy dup 11
check_verify "a duplicated outcome fails" 1 "published twice or out of order" "$Q" --public-key "$PUB"
copy badsig 0
check_verify "a checkpoint with a changed signature fails" 1 "checkpoint signature is not valid" \
	"$Q" --public-key "$PUB"
check_verify "... and still matches its outcome without the key" 0 "signatures not checked" "$Q"

# the real audit topic itself: the admin appends a copy of an outcome at its end
kc admin -C -t "$P.audit" -p 1 -o 2 -c 1 -e -f '%s' >"$TMP/one.bin" 2>/dev/null
kc admin -P -t "$P.audit" -p 1 "$TMP/one.bin" # a file is one message
check_verify "a duplicate appended to the real audit topic fails" 1 "published twice or out of order|checkpoint" \
	"$P" --public-key "$PUB"
finish
