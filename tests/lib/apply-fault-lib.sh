# apply-fault-lib.sh - sourced by the applier's fault tests (0501-0519); not a test itself
# (ctest registers only tests/integration/[0-9]*.sh).
#
# What it gives a test:
#   fault_setup NUM PARTITIONS RECORDS  a throwaway database (migrated), throwaway topics
#                                       PREFIX.{control,commands,audit} and a group name,
#                                       the scenario of ops/scenario --records RECORDS
#                                       published (control files first, in name order)
#   applier_bg NAME LOG [ARGS]          start `axiom apply` in the background (pid in $!,
#                                       remembered for clean-up)
#   apply_fg LOG [ARGS]                 `axiom apply --until-caught-up`, bounded by timeout
#   wait_until SECONDS CONDITION        poll a shell condition until it holds (0) or time out
#   check NAME WANT GOT                 one ok / FAIL line
#   exactly_once_checks [DB]            every offset of every partition has exactly one
#                                       ledger entry, seq gap-free, records and commands as
#                                       the scenario says, chains valid, stored offsets at
#                                       the log end, no duplicate refused
#   finish                              the final "N passed, M failed" line and exit status
# Clean-up (trap EXIT): appliers this test started (SIGTERM, then SIGKILL), the databases,
# the consumer groups and the topics.
set -uo pipefail
AX=${AXIOM_BIN:?run through ctest}
ROOT=${AXIOM_ROOT:?run through ctest}
: "${AXIOM_PG_ADMIN_DSN:?run through tests/with-stack}"
: "${AXIOM_PG_DSN:?run through tests/with-stack}"
: "${AXIOM_BROKERS:?run through tests/with-stack}"
KADMIN=${AXIOM_TEST_BIN_DIR:-$(dirname "$AX")/../tests}/kafka_admin
source "$(dirname "${BASH_SOURCE[0]}")/kafka-lib.sh" # kc: kcat as a principal

fails=0 passes=0
APPLIER_PIDS=()
FAULT_DBS=()
FAULT_GROUPS=()
TMP=$(mktemp -d)

now_ms() { date +%s%3N; }

check() { # NAME WANT GOT
	if [[ "$2" == "$3" ]]; then
		printf 'ok   %s (%s)\n' "$1" "$3"
		passes=$((passes + 1))
	else
		printf 'FAIL %s: want %s, got %s\n' "$1" "$2" "$3"
		fails=$((fails + 1))
	fi
}

# check_le NAME A B: A <= B (numbers)
check_le() {
	if (($2 <= $3)); then
		printf 'ok   %s (%s <= %s)\n' "$1" "$2" "$3"
		passes=$((passes + 1))
	else
		printf 'FAIL %s: %s > %s\n' "$1" "$2" "$3"
		fails=$((fails + 1))
	fi
}

finish() {
	echo "$passes passed, $fails failed"
	((fails == 0))
	exit $?
}

# admin SQL [DB]: one query as the admin role, unaligned, tuples only
admin() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=${2:-$DB}" -c "$1"; }

fault_cleanup() {
	local pid i db
	for pid in "${APPLIER_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${APPLIER_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for db in "${FAULT_DBS[@]}"; do
		psql -X -q "$AXIOM_PG_ADMIN_DSN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
	if [[ ! -x $KADMIN ]]; then
		echo "# warning: $KADMIN not built: consumer groups and topics of $P are left behind"
	elif ((${#FAULT_GROUPS[@]} > 0)); then
		# a member killed by SIGKILL stays in its group until its session times out (10 s)
		for ((i = 0; i < 15; i++)); do
			"$KADMIN" "$AXIOM_BROKERS" delete-groups "${FAULT_GROUPS[@]}" 2>"$TMP/kadmin.err" && break
			sleep 1
		done
		((i == 15)) && echo "# warning: could not delete consumer groups: $(cat "$TMP/kadmin.err")"
	fi
	[[ -n ${P:-} && -x $KADMIN ]] && "$KADMIN" "$AXIOM_BROKERS" delete-topics "$P.control" "$P.commands" \
		"$P.audit" 2>/dev/null
	# AXIOM_FAULT_KEEP=DIR keeps the applier logs for a post-mortem
	[[ -n ${AXIOM_FAULT_KEEP:-} ]] && mkdir -p "$AXIOM_FAULT_KEEP" && cp "$TMP"/*.log "$AXIOM_FAULT_KEEP"/ 2>/dev/null
	rm -rf "$TMP"
}
trap fault_cleanup EXIT
trap 'exit 143' TERM INT # so that the clean-up runs when ctest times the test out

# new_db NAME: create and migrate a throwaway database
new_db() {
	FAULT_DBS+=("$1")
	psql -X -q "$AXIOM_PG_ADMIN_DSN" -c "CREATE DATABASE $1" || { echo "FAIL create database $1"; exit 1; }
	(cd "$ROOT" && "$AX" migrate --dsn "$AXIOM_PG_ADMIN_DSN dbname=$1" >/dev/null) ||
		{ echo "FAIL migrate $1"; exit 1; }
}

# fault_setup NUM PARTITIONS RECORDS
fault_setup() {
	local f t0
	NUM=$1 NPART=$2 RECORDS=$3
	tag="$$-$(date +%s)"
	P="it$NUM-$tag"
	G="g-$P"
	DB="axiom_it_${NUM}_${tag//-/_}"
	FAULT_GROUPS+=("$G")
	new_db "$DB"
	"$AX" topics create --prefix "$P" --partitions "$NPART" >/dev/null || { echo "FAIL topics create"; exit 1; }
	"$ROOT/ops/scenario" "$TMP/sc" --records "$RECORDS" --seed "$tag" >/dev/null || { echo "FAIL scenario"; exit 1; }
	DATA_CMDS=$((2 * RECORDS + 9))
	# HOLD_BACK=N: the last N data commands are not published here but kept in
	# $TMP/held.jsonl for the test to publish later (publish_held), so that some of the log
	# surely arrives after a fault, however fast the applier is
	if ((${HOLD_BACK:-0} > 0)); then
		tail -n "$HOLD_BACK" "$TMP/sc/4-data.jsonl" >"$TMP/held.jsonl"
		head -n "-$HOLD_BACK" "$TMP/sc/4-data.jsonl" >"$TMP/sc/4-data.part"
		mv "$TMP/sc/4-data.part" "$TMP/sc/4-data.jsonl"
	fi
	t0=$(now_ms)
	for f in "$TMP"/sc/*.jsonl; do
		timeout 120 "$AX" publish "$f" --prefix "$P" >/dev/null 2>"$TMP/publish.err" || { echo "FAIL publish $f"; exit 1; }
	done
	echo "# published 17 control and $((DATA_CMDS - ${HOLD_BACK:-0})) of $DATA_CMDS data commands on $NPART partitions in $(($(now_ms) - t0)) ms"
}

# publish_held [FILE]: the data commands fault_setup held back (HOLD_BACK), or part of them
# in FILE; 0 when published
publish_held() {
	timeout 120 "$AX" publish "${1:-$TMP/held.jsonl}" --prefix "$P" >/dev/null 2>"$TMP/publish-held.err"
}

DSN_OF() { echo "$AXIOM_PG_DSN dbname=${1:-$DB}"; }

# applier_bg INSTANCE LOG [ARGS...]: a long-running applier in the background
applier_bg() {
	local inst=$1 log=$2
	shift 2
	"$AX" apply --prefix "$P" --group "$G" --instance "$inst" --dsn "$(DSN_OF)" --progress 0 \
		"$@" 2>>"$log" &
	APPLIER_PIDS+=($!)
}

# apply_fg LOG [ARGS...]: until caught up, bounded; returns the exit code
apply_fg() {
	local log=$1
	shift
	timeout 180 "$AX" apply --until-caught-up --prefix "$P" --group "$G" --progress 0 \
		--dsn "$(DSN_OF)" "$@" 2>>"$log"
}

# publish_file FILE: publish FILE's JSON lines to the scenario's topics; the test stops on an
# error, printing it
publish_file() {
	"$AX" publish "$1" --prefix "$P" >/dev/null 2>"$1.err" || { echo "FAIL publish $1"; cat "$1.err"; exit 1; }
}

# decision_of COMMAND_ID: "decision:reason_code" of its ledger entry (reason code empty when
# accepted)
decision_of() {
	admin "SELECT decision || ':' || coalesce(reason_code, '') FROM axiom.ledger WHERE command_id = '$1'"
}

log_end() { # TOPIC PARTITION
	kc admin -Q -t "$1:$2:-1" 2>/dev/null | awk '{print $NF}'
}

# wait_caught_up SECONDS [DB]: until every stored next offset of the commands topic is the
# log end (an applier runs elsewhere); 0 when it happened in time
wait_caught_up() {
	local deadline=$((SECONDS + $1)) p want got
	want=0
	for ((p = 0; p < NPART; p++)); do want=$((want + $(log_end "$P.commands" "$p"))); done
	while ((SECONDS < deadline)); do
		got=$(admin "SELECT coalesce(sum(next_offset), 0) FROM axiom.partition_offsets WHERE topic = '$P.commands'" "${2:-$DB}")
		((got == want)) && return 0
		sleep 0.5
	done
	return 1
}

# wait_until SECONDS CONDITION...: poll a shell condition (eval'd) every 0.2 s; 0 when it
# held in time
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until eval "$@"; do
		((SECONDS >= deadline)) && return 1
		sleep 0.2
	done
}

# exactly_once_checks [DB]
exactly_once_checks() {
	local db=${1:-$DB} t p end n want stored parts=()
	parts+=("$P.control:0")
	for ((p = 0; p < NPART; p++)); do parts+=("$P.commands:$p"); done
	for tp in "${parts[@]}"; do
		t=${tp%:*} p=${tp##*:}
		end=$(log_end "$t" "$p")
		# count, distinct offsets, offsets 0..end-1, seq 1..count; a partition the scenario's
		# lineages never hashed to has no entry and no stored offset
		want="$end:$end:0:$((end - 1)):1:$end" stored=$end
		((end == 0)) && want="0:0:-:-:-:-" stored=""
		check "$t/$p: one ledger entry per offset 0..end-1, seq 1..n gap-free" "$want" \
			"$(admin "SELECT count(*) || ':' || count(DISTINCT kafka_offset) || ':' ||
				coalesce(min(kafka_offset)::text, '-') || ':' || coalesce(max(kafka_offset)::text, '-') || ':' ||
				coalesce(min(seq)::text, '-') || ':' || coalesce(max(seq)::text, '-')
				FROM axiom.ledger WHERE topic = '$t' AND kafka_partition = $p" "$db")"
		check "$t/$p: stored next offset is the log end" "$stored" \
			"$(admin "SELECT next_offset FROM axiom.partition_offsets WHERE topic = '$t' AND kafka_partition = $p" "$db")"
	done
	check "data commands with an outcome" "$DATA_CMDS" \
		"$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.commands'" "$db")"
	check "control commands accepted (ticks aside)" 17 \
		"$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.control' AND decision = 'accepted' AND reason_code IS DISTINCT FROM 'tick'" "$db")"
	check "records stored (${RECORDS} SOPs x 2 + specification x 2 + ${EXTRA_RECORDS:-0})" \
		$((2 * RECORDS + 2 + ${EXTRA_RECORDS:-0})) \
		"$(admin "SELECT count(*) FROM axiom.records" "$db")"
	check "the refusals of the scenario, no other" \
		"${REFUSALS:-author_cannot_approve,insufficient_access_level,stale_previous_hash}" \
		"$(admin "SELECT string_agg(reason_code, ',' ORDER BY reason_code) FROM axiom.ledger WHERE topic = '$P.commands' AND decision <> 'accepted'" "$db")"
	check "no duplicate refused" 0 \
		"$(admin "SELECT count(*) FROM axiom.ledger WHERE reason_code = 'duplicate_command'" "$db")"
	n=$(admin "SELECT count(*) || ':' || count(DISTINCT command_id) FROM axiom.ledger WHERE command_id IS NOT NULL" "$db")
	check "every command id in the ledger once and registered once" "$n" \
		"$(admin "SELECT count(*) || ':' || count(DISTINCT command_id) FROM axiom.applied_commands" "$db")"
	check "record chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_record_chains()" "$db")"
	check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()" "$db")"
}

# audit_checks [DB]: the audit topic carries every ledger entry exactly once (the relay)
audit_checks() {
	local db=${1:-$DB}
	timeout 120 "$AX" audit --prefix "$P" >"$TMP/audit.jsonl" 2>"$TMP/audit.err" ||
		echo "# axiom audit failed: $(head -c 500 "$TMP/audit.err")"
	admin "SELECT topic || '/' || kafka_partition || '/' || seq || '/' || upper(decision) || '/' || encode(entry_hash, 'hex') FROM axiom.ledger ORDER BY 1" "$db" |
		LC_ALL=C sort >"$TMP/ledger.txt"
	python3 - "$TMP/audit.jsonl" <<'PY' | LC_ALL=C sort >"$TMP/audit.txt"
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)["payload"].get("Outcome")
    if o:
        print(f'{o["topic"]}/{o["partition"]}/{o["ledger_seq"]}/{o["decision"]}/{o["ledger_hash"]}')
PY
	check "audit topic: every ledger entry published" "$(wc -l <"$TMP/ledger.txt")" \
		"$(LC_ALL=C sort -u "$TMP/audit.txt" | LC_ALL=C comm -12 - "$TMP/ledger.txt" | wc -l)"
	check "audit topic: no outcome published twice" "$(wc -l <"$TMP/audit.txt")" \
		"$(LC_ALL=C sort -u "$TMP/audit.txt" | wc -l)"
	LC_ALL=C uniq -d "$TMP/audit.txt" | head -n 5 | sed 's/^/# twice: /'
	check "audit topic: nothing the ledger lacks" 0 \
		"$(LC_ALL=C sort -u "$TMP/audit.txt" | LC_ALL=C comm -23 - "$TMP/ledger.txt" | wc -l)"
	# the reader's own check: every chain from the messages alone (consumers/ax_audit_chain.h)
	timeout 120 "$AX" audit --verify --prefix "$P" >"$TMP/audit-verify.out" 2>&1
	check "audit topic: axiom audit --verify holds every chain" 0 $?
	grep -m 3 'broken' "$TMP/audit-verify.out" | sed 's/^/# /'
}
