#!/usr/bin/env bash
# 0507-apply-stale-owner - a writer that lost its partitions without noticing (a zombie) is
# refused by the partition's claim, and the new owner carries on (db/0017).
# Instance A applies part of the log in small batches and is frozen (SIGSTOP) with commands
# fetched but not applied. The test then holds the row locks of the command topic's stored
# offsets (an open admin transaction), so that no batch of that topic can commit meanwhile.
# Instance B joins the group; once A's session has expired (10 s), B is assigned every
# partition and claims each one, and its first batches wait for the row locks. A is woken
# (SIGCONT): its writers still believe they own their partitions and send the batches they
# had pending, and each must be refused at once by the claim check (partition_failed
# why=fenced, claim_conflict, AX409), before it reaches the offset rows. The locks are
# released, A is stopped, the rest of the log published: B finishes the log with no failed
# partition, its name on every stored offset, every command exactly once, chains valid,
# every ledger entry on the audit topic, none of B's twice (a stale writer may repeat
# outcomes it committed itself before the new owner read the audit tail: ax_relay.h (4)).
# Without claims, A's batches would wait for the same row locks as B's, with the same
# expected offsets, and whichever was granted first would fence the other: B, as often as
# not, and its partition would then stand still until B was restarted.
source "$(dirname "${BASH_SOURCE[0]}")/apply-fault-lib.sh"

HOLD_BACK=600
fault_setup 0507 3 1500
total=$DATA_CMDS
C="$P.commands"
applied() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$C'"; }
claimed_by() { admin "SELECT count(*) FROM axiom.partition_claims WHERE claimed_by = '$1'"; }
wait_until() { # SECONDS CONDITION...: poll a shell condition, 0 when it held in time
	local deadline=$((SECONDS + $1))
	shift
	until eval "$@"; do
		((SECONDS >= deadline)) && return 1
		sleep 0.2
	done
}

applier_bg inst-a "$TMP/a.log" --batch 5
pa=$!
wait_until 60 '(( $(applied) >= (total - HOLD_BACK) / 4 ))'
check "A applies part of the log" 0 $?
kill -STOP "$pa"
frozen_at=$(applied)

# hold the offset rows of the command topic: no batch of it commits until COMMIT below
mkfifo "$TMP/locks"
psql -X -q -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=$DB" <"$TMP/locks" >"$TMP/locks.log" 2>&1 &
locker=$!
exec 3>"$TMP/locks"
echo "BEGIN; SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$C' FOR UPDATE;" >&3
wait_until 10 '(( $(admin "SELECT count(*) FROM pg_stat_activity WHERE datname = '\''$DB'\'' AND state = '\''idle in transaction'\''") >= 1 ))'
check "the offset rows of $C are locked" 0 $?
sleep 1 # A's control batch in flight, if any, commits server-side
# what A committed before it was frozen: the only outcomes that may reach the audit topic
# twice (ax_relay.h, invariant 4)
admin "SELECT topic || '/' || kafka_partition || ' ' || next_offset FROM axiom.partition_offsets" >"$TMP/frozen.txt"

applier_bg inst-b "$TMP/b.log" --batch 50 3>&- # B must not hold the lock script open
pb=$!
# A's session expires, B gets every partition and claims it (3 command partitions, control)
wait_until 60 '(( $(claimed_by inst-b) == NPART + 1 ))'
check "B claims every partition once A's session expired" 0 $?
check "no batch of $C committed while A was frozen" "$frozen_at" "$(applied)"

kill -CONT "$pa"
wait_until 20 '(( $(grep -c "event=partition_failed" "$TMP/a.log") >= 1 ))'
check "A, woken, has writers that stop" 0 $?
sleep 2 # the rest of A's writers, if they had batches pending
a_failed=$(grep -c 'event=partition_failed' "$TMP/a.log")
check_le "A's pending batches were refused by the claim (claim_conflict, AX409)" 1 \
	"$(grep 'event=partition_failed' "$TMP/a.log" | grep -c 'why=fenced.*claim_conflict.*sqlstate=AX409')"
check "every failure of A is a claim conflict" "$a_failed" \
	"$(grep 'event=partition_failed' "$TMP/a.log" | grep -c 'claim_conflict')"
echo "COMMIT;" >&3
exec 3>&-
wait "$locker"
check "the lock holder commits" 0 $?
kill -TERM "$pa"
wait_until 60 '! kill -0 "$pa" 2>/dev/null'
check "A stops on SIGTERM" 0 $?
echo "# A applied $frozen_at of $total data commands before it was frozen; $a_failed of its writers were refused"
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
# the audit topic: every ledger entry, nothing else; an outcome twice only if A had committed
# it before it was frozen (ax_relay.h, invariant 4), never one of B's
timeout 120 "$AX" audit --prefix "$P" >"$TMP/audit.jsonl" 2>"$TMP/audit.err" ||
	echo "# axiom audit failed: $(head -c 500 "$TMP/audit.err")"
admin "SELECT topic || '/' || kafka_partition || '/' || seq || '/' || kafka_offset FROM axiom.ledger" >"$TMP/ledger.txt"
python3 - "$TMP/audit.jsonl" "$TMP/ledger.txt" "$TMP/frozen.txt" >"$TMP/audit-check.txt" <<'PY'
import collections, json, sys
seen = collections.Counter()
for line in open(sys.argv[1]):
    o = json.loads(line)["payload"].get("Outcome")
    if o:
        seen[(o["topic"], o["partition"], o["ledger_seq"])] += 1
ledger = {}
for line in open(sys.argv[2]):
    t, p, seq, off = line.strip().rsplit("/", 3)
    ledger[(t, int(p), int(seq))] = int(off)
frozen = {}
for line in open(sys.argv[3]):
    tp, off = line.split()
    t, p = tp.rsplit("/", 1)
    frozen[(t, int(p))] = int(off)
repeats = [k for k, n in seen.items() if n > 1]
print(len(set(ledger) - set(seen)), len(set(seen) - set(ledger)), len(repeats),
      sum(1 for k in repeats if k in ledger and ledger[k] >= frozen.get(k[:2], 0)))
PY
read -r missing extra repeats repeats_of_b <"$TMP/audit-check.txt"
check "audit topic: every ledger entry published" 0 "$missing"
check "audit topic: nothing the ledger lacks" 0 "$extra"
check "audit topic: no outcome of B's published twice" 0 "$repeats_of_b"
echo "# audit topic: $repeats outcomes A committed before it was frozen were published twice"
finish
