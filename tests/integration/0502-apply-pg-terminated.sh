#!/usr/bin/env bash
# 0502-apply-pg-terminated - lost database connections: while `axiom apply
# --until-caught-up` works through a backlog of 4,009 data commands (6 partitions), every
# PostgreSQL backend of the runtime role on the test's database is terminated
# (pg_terminate_backend) several times, at random instants, so batches die before, during
# and after their commit. The applier must reconnect (re-reading the stored offsets, the
# commit's fate being unknown), finish on its own with exit 0, and leave exactly one ledger
# entry per offset, valid chains, stored offsets at the log end, no duplicate, and each
# ledger entry once on the audit topic.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
ROUNDS=6

fault_setup 0502 6 2000
total=$DATA_CMDS
applied() { admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$P.commands'"; }

t0=$(now_ms)
"$AX" apply --until-caught-up --prefix "$P" --group "$G" --instance pgterm --dsn "$(DSN_OF)" \
	--progress 0 --batch 2 2>"$TMP/apply.log" &
pid=$!
APPLIER_PIDS+=("$pid")
# wait for the first commit, so that the terminations hit a running applier
for ((i = 0; i < 300 && $(applied) == 0; i++)); do sleep 0.1; done
terminated=0 rounds=0 mid=0
for ((r = 1; r <= ROUNDS; r++)); do
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.1 + 0.4 * r / 32767 }')"
	kill -0 "$pid" 2>/dev/null || break
	before=$(applied)
	n=$(psql -X -q -t -A "$AXIOM_PG_ADMIN_DSN dbname=postgres" -c \
		"SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		  WHERE datname = '$DB' AND usename = 'axiom_user') t")
	terminated=$((terminated + n)) rounds=$((rounds + 1))
	((before < total)) && mid=$((mid + 1))
done
echo "# $rounds rounds, $terminated backends terminated, $mid rounds before the log was applied"
check_le "at least 4 rounds of terminations while commands were being applied" 4 "$mid"
check_le "backends terminated (at least one per round)" "$rounds" "$terminated"

# the applier finishes on its own (bounded)
for ((i = 0; i < 1200 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0) == 1; i++)); do sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	echo "FAIL the applier did not finish within 120 s after the terminations; log tail:"
	tail -n 20 "$TMP/apply.log"
	fails=$((fails + 1))
	kill -TERM "$pid"
fi
wait "$pid"
rc=$?
t1=$(now_ms)
check "the applier exits 0 after losing its connections" 0 "$rc"
echo "# $total data commands in $((t1 - t0)) ms = $((total * 1000 / (t1 - t0))) commands/s through the terminations"
check_le "it saw its connections break (database_unavailable lines)" 1 \
	"$(grep -c 'event=database_unavailable' "$TMP/apply.log")"
check_le "it reconnected (database_reconnected lines)" 1 \
	"$(grep -c 'event=database_reconnected' "$TMP/apply.log")"
check "no partition failed" 0 "$(grep -c 'event=partition_failed' "$TMP/apply.log")"

exactly_once_checks
audit_checks
finish
