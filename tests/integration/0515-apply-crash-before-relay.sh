#!/usr/bin/env bash
# 0515-apply-crash-before-relay - a caught-up that means caught up (issue 13 finding 2):
# run A applies the whole log but its relays publish nothing (AXIOM_TEST_RELAY_DELAY_MS holds
# every publish back for ten minutes, the window between a commit and its relay made wide),
# and is killed with SIGKILL once every command is committed. At once, before the group drops
# the dead member (session timeout, about 10 s), `axiom apply --until-caught-up` runs B with
# the same group. The stored offsets are already at the log ends, so the old caught-up check
# let B exit 0 without ever being assigned a partition, with every outcome of A missing from
# the audit topic. Now B must hold the partitions (once the group drops A), relay A's
# entries, and only then exit 0: the audit topic carries every ledger entry exactly once,
# and `axiom verify` (its audit cross-check stage) agrees; before B ran, verify named the
# gap.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0512 3 300
ledger_count() { admin "SELECT count(*) FROM axiom.ledger"; }
audit_count() { # outcomes and checkpoints on the audit topic, read committed
	kc admin -C -t "$P.audit" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l
}

AXIOM_TEST_RELAY_DELAY_MS=600000 applier_bg crash-a "$TMP/a.log"
pid=$!
wait_caught_up 120
check "run A committed every data command" 0 $?
wait_until 60 '[[ $(admin "SELECT count(*) FROM axiom.partition_offsets WHERE topic = '"'$P.control'"'") == 1 ]]'
check "run A committed the control partition" 0 $?
check "run A published nothing on the audit topic (its relays are held back)" 0 "$(audit_count)"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
entries=$(ledger_count)
echo "# run A killed with $entries ledger entries committed and none relayed"

# the gap is visible to the auditor
timeout 120 "$AX" verify --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" --prefix "$P" >"$TMP/verify-gap.out" 2>&1
check "axiom verify fails while the audit topic lacks entries" 1 $?
check "axiom verify names the missing entries" 1 \
	"$(grep -qE 'audit topic.*(missing|lacks)' "$TMP/verify-gap.out" && echo 1 || echo 0)"

t0=$(now_ms)
apply_fg "$TMP/b.log" --instance crash-b
rc=$?
echo "# run B exited $rc after $(($(now_ms) - t0)) ms"
check "run B (--until-caught-up, started before the group dropped A) exits 0" 0 "$rc"
check "run B held the partitions before it exited" 1 \
	"$(grep -q "event=assigned topic=$P.commands" "$TMP/b.log" && echo 1 || echo 0)"
audit_checks
exactly_once_checks
timeout 120 "$AX" verify --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" --prefix "$P" >"$TMP/verify.out" 2>&1
check "axiom verify passes once B relayed everything" 0 $?
grep -E '^(FAIL|error)' "$TMP/verify.out" | head -n 5 | sed 's/^/# /'
finish
