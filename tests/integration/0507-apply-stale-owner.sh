#!/usr/bin/env bash
# 0507-apply-stale-owner - a writer that lost its partitions without noticing (a zombie) is
# refused by the partition's claim, and the new owner carries on (db/0017).
# Instance A applies part of the log in small batches and is frozen (SIGSTOP) with commands
# fetched but not applied. The test then holds the row locks of the command topic's stored
# offsets (an open admin transaction), so that no batch of that topic can commit meanwhile.
# Instance B joins the group; once A's session has expired (10 s), B is assigned every
# partition and claims each one, and its first batches wait for the row locks. A is woken
# (SIGCONT): a writer of A that sends the batch it had pending before A's poll thread
# learns it left the group must be refused at once by the claim check (partition_failed
# why=fenced, claim_conflict, AX409), before it reaches the offset rows; nothing of A
# commits. (Which of the two comes first is a race; 0505 checks the refusal itself
# deterministically, in SQL.) The locks are
# released, A is stopped, the rest of the log published: B finishes the log with no failed
# partition, its name on every stored offset, every command exactly once, chains valid,
# every ledger entry exactly once on the audit topic (B's relay fences A's transactional
# producer: what A had not committed there is aborted, and A publishes nothing more).
# Without claims, A's batches would wait for the same row locks as B's, with the same
# expected offsets, and whichever was granted first would fence the other: B, as often as
# not, and its partition would then stand still until B was restarted. Without one
# transactional id per ledger on the relay, outcomes A had handed to its producer before
# the freeze would reach the audit topic twice (both seen with the mechanism removed).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

HOLD_BACK=600
fault_setup 0507 3 1500
total=$DATA_CMDS
C="$P.commands"
applied() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$C'"; }
claimed_by() { admin "SELECT count(*) FROM axiom.partition_claims WHERE claimed_by = '$1'"; }

applier_bg inst-a "$TMP/a.log" --batch 5
pa=$!
wait_until 60 '(( $(applied) >= (total - HOLD_BACK) / 4 ))'
check "A applies part of the log" 0 $?
kill -STOP "$pa"

# hold the offset rows of the command topic: no batch of it commits until COMMIT below
mkfifo "$TMP/locks"
psql -X -q -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=$DB" <"$TMP/locks" >"$TMP/locks.log" 2>&1 &
locker=$!
exec 3>"$TMP/locks"
echo "BEGIN; SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$C' FOR UPDATE;" >&3
wait_until 10 '(( $(admin "SELECT count(*) FROM pg_stat_activity WHERE datname = '\''$DB'\'' AND state = '\''idle in transaction'\''") >= 1 ))'
check "the offset rows of $C are locked" 0 $?
frozen_at=$(applied) # a batch A had in flight has committed: the lock waited for it
applier_bg inst-b "$TMP/b.log" --batch 50 3>&- # B must not hold the lock script open
pb=$!
# A's session expires, B gets every partition and claims it (3 command partitions, control)
wait_until 60 '(( $(claimed_by inst-b) == NPART + 1 ))'
check "B claims every partition once A's session expired" 0 $?
check "no batch of $C committed while A was frozen" "$frozen_at" "$(applied)"

kill -CONT "$pa"
# A's writers race its own poll thread: a writer that sends its pending batch first is
# refused by the claim; one that the poll thread stops first (A learns that it left the
# group) sends nothing. Either way A commits nothing more: the rows stay locked meanwhile.
wait_until 20 'grep -q "event=partition_failed\|event=revoked" "$TMP/a.log"'
check "A, woken, notices (writers refused, or its partitions revoked)" 0 $?
sleep 2 # the rest of A's writers, if they had batches pending
a_failed=$(grep -c 'event=partition_failed' "$TMP/a.log")
check "every failure of A is a claim conflict (AX409)" "$a_failed" \
	"$(grep 'event=partition_failed' "$TMP/a.log" | grep -c 'why=fenced.*claim_conflict.*sqlstate=AX409')"
check "nothing of $C committed while the rows were locked" "$frozen_at" "$(applied)"
echo "COMMIT;" >&3
exec 3>&-
wait "$locker"
check "the lock holder commits" 0 $?
kill -TERM "$pa"
wait_until 60 '! kill -0 "$pa" 2>/dev/null'
check "A stops on SIGTERM" 0 $?
echo "# A applied $frozen_at of $total data commands before it was frozen; $a_failed of its writers were refused by the claim, the others stopped by the revocation"
publish_held
check "the rest of the log is published" 0 $?
wait_caught_up 120
check "B finishes the log" 0 $?
kill -TERM "$pb"
wait_until 30 '! kill -0 "$pb" 2>/dev/null'
wait "$pb"
check "B stops cleanly (exit 0: no partition failed)" 0 $?
check "B logged no failed partition" 0 "$(grep -c 'event=partition_failed' "$TMP/b.log")"
check "B's name is on every stored offset" $((NPART + 1)) \
	"$(admin "SELECT count(*) FROM axiom.partition_offsets WHERE updated_by = 'inst-b'")"
exactly_once_checks
audit_checks
finish
