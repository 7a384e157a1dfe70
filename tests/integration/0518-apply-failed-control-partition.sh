#!/usr/bin/env bash
# 0518-apply-failed-control-partition - a run that cannot catch up because its control
# partition failed stops at once and says why, and nothing is lost.
# The data commands wait for the control watermark (decisions depend on the log alone). When
# the control partition's writer stops on an error, that watermark no longer advances in the
# run, so the data partitions can never reach their log ends: `axiom apply --until-caught-up`
# waited forever, and `axiom replay` until its stall timeout (both seen before the fix: exit
# 124 from this test's timeouts). Now both exit 1 within seconds, naming the control
# partition. A definition of the target database is broken for that (axiom_api.define_scope
# raises an internal error, as a wrong deployment would); once it is mended, the next run
# applies the whole log exactly once.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0518 2 20
FN="axiom_api.define_scope(text,timestamp with time zone,uuid,text,text,text)"
admin "SELECT pg_get_functiondef('$FN'::regprocedure)" >"$TMP/define_scope.sql"
# break_define_scope DB: the control command define_scope raises XX000 in DB
break_define_scope() {
	admin "CREATE OR REPLACE FUNCTION axiom_api.define_scope(p_actor text,
		p_event_time timestamp with time zone, p_command_id uuid, p_kind text, p_key text,
		p_name text) RETURNS axiom_api.outcome LANGUAGE plpgsql AS \$f\$
		BEGIN RAISE EXCEPTION 'a broken definition' USING ERRCODE = 'XX000'; END \$f\$" "$1" \
		>/dev/null
}
break_define_scope "$DB"

t0=$(now_ms)
timeout 60 "$AX" apply --until-caught-up --prefix "$P" --group "$G" --progress 0 \
	--dsn "$(DSN_OF)" 2>"$TMP/broken.log"
check "apply --until-caught-up exits 1 when its control partition failed" 1 $?
check_le "... within 30 s" "$(($(now_ms) - t0))" 30000
check "the control partition failed, on the broken definition" 1 \
	"$(grep 'event=partition_failed' "$TMP/broken.log" | grep -c "topic=$P.control partition=0 .*a broken definition.*sqlstate=XX000")"
check "no data partition failed" 0 \
	"$(grep 'event=partition_failed' "$TMP/broken.log" | grep -c "topic=$P.commands")"
check "the error says the data partitions wait for the control partition" 1 \
	"$(grep -c '^DETAIL: The control partition is among them' "$TMP/broken.log")"
check "no data command has an outcome" 0 \
	"$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.commands'")"

# a replay into a database with the same broken definition: exit 1 at once, not at the stall
R="${DB}_r"
new_db "$R"
break_define_scope "$R"
t0=$(now_ms)
timeout 60 "$AX" replay --dbname "$R" --prefix "$P" --stall-seconds 120 --progress none \
	>"$TMP/replay.out" 2>"$TMP/replay.log"
check "replay exits 1 when its control partition failed" 1 $?
check_le "... within 30 s, not at the 120 s stall" "$(($(now_ms) - t0))" 30000
check "... naming the control partition" 1 "$(grep -c '^DETAIL: The control partition is among them' "$TMP/replay.log")"

# mended: the next run resumes where the failed one stood and applies the log exactly once
admin "$(cat "$TMP/define_scope.sql")" >/dev/null
apply_fg "$TMP/mended.log"
check "the run after the mend exits 0" 0 $?
check "the run after the mend logs no failed partition" 0 "$(grep -c 'event=partition_failed' "$TMP/mended.log")"
exactly_once_checks
finish
