#!/usr/bin/env bash
# 0508-apply-create-time-quarantined - only a LogAppendTime message carries event time
# (consumers/ax_batch.h, invariant 6; issue 12). Someone with topic-config access switches a
# topic to CreateTime, produces a message with a timestamp of their choice, and switches it
# back; `axiom topics check` is then ok again.
#
# (a) the control topic: a message stamped in the year 9999 while the topic is CreateTime.
#     While it is switched, `axiom topics check`, `axiom doctor` and the applier
#     (event=topic_config_drift) name the topic and the config. The message is quarantined
#     (not_log_append_time) at the control partition's last known event time, and the
#     control watermark stays in this century. Then a grant is revoked and its user
#     publishes a data command; the control writer is held back (a lock on the watermark
#     row) while the applier starts, so a watermark in 9999 would let the data command in
#     before the revocation. It must be refused live, and `axiom replay` into an empty
#     database must equal the live one.
# (b) a data partition: a CreateTime message (also 9999) is quarantined at the partition's
#     last known event time, and the LogAppendTime commands after it are applied at once
#     (the partition does not freeze waiting for a watermark it can never reach).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

Y9999_MS=253402300799000
KEEP_CONFIGS=(retention.ms=-1 cleanup.policy=delete)
# the broker refuses a CreateTime more than message.timestamp.after.max.ms ahead (1 hour by
# default since Kafka 4.0): whoever can switch the type can lift that too
to_create_time() {
	"$KADMIN" "$AXIOM_BROKERS" set-configs "$1" message.timestamp.type=CreateTime \
		message.timestamp.after.max.ms=9223372036854775807 "${KEEP_CONFIGS[@]}"
}
to_log_append_time() {
	"$KADMIN" "$AXIOM_BROKERS" set-configs "$1" message.timestamp.type=LogAppendTime "${KEEP_CONFIGS[@]}"
}
# raw TOPIC PREFIX FILE: the Avro bytes `axiom publish` makes of the one command in FILE,
# published on a scratch topic set of PREFIX and read back
raw_command() {
	"$AX" topics create --prefix "$2" --partitions 1 >/dev/null &&
		timeout 60 "$AX" publish "$3" --prefix "$2" >/dev/null &&
		kc admin -C -t "$2.$1" -p 0 -o 0 -c 1 -e -f '%s'
}
ledger_at() { # TOPIC PARTITION OFFSET COLUMNS
	admin "SELECT $4 FROM axiom.ledger WHERE topic = '$1' AND kafka_partition = $2 AND kafka_offset = $3"
}
year_of_watermark() { admin "SELECT extract(year FROM event_time)::int FROM axiom.control_watermark"; }

fault_setup 0508 1 3
X="$P-x"
cleanup_x() { "$KADMIN" "$AXIOM_BROKERS" delete-topics "$X.control" "$X.commands" "$X.audit" 2>/dev/null; }
trap 'cleanup_x; fault_cleanup' EXIT
apply_fg "$TMP/a0.log" --instance it0508
check "the scenario applied" 0 $?
wm_before=$(year_of_watermark)

# the commands of the test ------------------------------------------------------------------
alice_grant=$(python3 -c 'import json,sys
for f in sys.argv[1:]:
    for l in open(f):
        g = json.loads(l)["payload"].get("Grant")
        if g and g["user_id"] == "alice": print(g["grant_id"])' "$TMP"/sc/*-control.jsonl | head -n 1)
python3 - "$TMP" "$tag" "$alice_grant" <<'PY'
import json, sys, uuid
tmp, tag, grant = sys.argv[1:4]
ns = uuid.uuid5(uuid.NAMESPACE_URL, "axiom-0508/" + tag)
def cmd(n, actor, payload, lineage=None):
    c = {"command_id": str(uuid.uuid5(ns, n)), "actor": actor,
         "issued_at": 1_795_000_000_000_000, "reason": "0508 " + n,
         "source_system": "0508", "payload": payload}
    if lineage:
        c["lineage_id"] = str(uuid.uuid5(ns, lineage))
    return json.dumps(c) + "\n"
create = lambda n, l: cmd(n, "alice", {"CreateRecord": {"record_type": "sop", "facility": "basel",
    "domain": "quality_control", "content": "{}", "title": "0508 " + n}}, l)
open(f"{tmp}/forged.jsonl", "w").write(cmd("forged", "axiom-system",
    {"ScopeDefine": {"kind": "FACILITY", "key": "nowhere", "name": "forged in 9999"}}))
open(f"{tmp}/revoke.jsonl", "w").write(cmd("revoke", "axiom-system",
    {"GrantRevoke": {"grant_id": grant}}))
open(f"{tmp}/after-revoke.jsonl", "w").write(create("after-revoke", "l-after"))
open(f"{tmp}/forged-data.jsonl", "w").write(create("forged-data", "l-forged"))
open(f"{tmp}/later.jsonl", "w").write(cmd("later", "carol", {"CreateRecord": {"record_type": "sop",
    "facility": "basel", "domain": "quality_control", "content": "{}", "title": "0508 later"}},
    "l-later") + cmd("later-2", "carol", {"CreateRecord": {"record_type": "sop",
    "facility": "basel", "domain": "quality_control", "content": "{}", "title": "0508 later 2"}},
    "l-later-2"))
PY

# (b) ---------------------------------------------------------------------------------------
echo "# (b) a data partition: a CreateTime message of the year 9999, then LogAppendTime ones"
raw_command commands "$X" "$TMP/forged-data.jsonl" >"$TMP/forged-data.avro" || { echo "FAIL forge a data message"; exit 1; }
data_off=$(log_end "$P.commands" 0)
to_create_time "$P.commands" || { echo "FAIL switch $P.commands to CreateTime"; exit 1; }
"$KADMIN" "$AXIOM_BROKERS" produce "$P.commands" 0 "$Y9999_MS" <"$TMP/forged-data.avro"
check "a message of the year 9999 produced on $P.commands" 0 $?
to_log_append_time "$P.commands" || { echo "FAIL switch $P.commands back"; exit 1; }
timeout 60 "$AX" publish "$TMP/later.jsonl" --prefix "$P" >/dev/null || { echo "FAIL publish later"; exit 1; }
t0=$(now_ms)
timeout 60 "$AX" apply --until-caught-up --prefix "$P" --group "$G" --progress 0 --instance it0508 \
	--dsn "$(DSN_OF)" 2>>"$TMP/a3.log"
check "apply --until-caught-up returns (the partition does not freeze)" 0 $?
echo "# caught up in $(($(now_ms) - t0)) ms"
check "the forged data message is quarantined not_log_append_time" "quarantined/not_log_append_time" \
	"$(ledger_at "$P.commands" 0 "$data_off" "decision || '/' || reason_code")"
check "... at the partition's last known event time" t \
	"$(ledger_at "$P.commands" 0 "$data_off" "event_time = (SELECT event_time FROM axiom.ledger
		WHERE topic = '$P.commands' AND kafka_partition = 0 AND kafka_offset < $data_off ORDER BY seq DESC LIMIT 1)")"
check "the LogAppendTime commands after it are accepted" "accepted accepted" \
	"$(admin "SELECT string_agg(decision, ' ' ORDER BY kafka_offset) FROM axiom.ledger
		WHERE topic = '$P.commands' AND kafka_partition = 0 AND kafka_offset > $data_off")"
check "no partition waited for event_time_us=-1" 0 "$(cat "$TMP"/a*.log | grep -c 'event_time_us=-1')"
check "event times never go backwards on a partition" 0 \
	"$(admin "SELECT count(*) FROM (SELECT event_time < lag(event_time) OVER (PARTITION BY topic,
		kafka_partition ORDER BY seq) AS back FROM axiom.ledger) x WHERE back")"
check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"

# (a) ---------------------------------------------------------------------------------------
echo "# (a) the control topic switched to CreateTime, a message of the year 9999, switched back"
raw_command control "$X" "$TMP/forged.jsonl" >"$TMP/forged.avro" || { echo "FAIL forge a control message"; exit 1; }
forged_off=$(log_end "$P.control" 0)
to_create_time "$P.control" || { echo "FAIL switch $P.control to CreateTime"; exit 1; }
"$KADMIN" "$AXIOM_BROKERS" produce "$P.control" 0 "$Y9999_MS" <"$TMP/forged.avro"
check "a message of the year 9999 produced on $P.control" 0 $?
"$AX" topics check --prefix "$P" --partitions 1 >"$TMP/check.out" 2>&1
check "topics check exits 1 while $P.control is CreateTime" 1 $?
check "topics check names the topic, the config, what it found and what it wants" 1 \
	"$(grep -c "topic $P.control has message.timestamp.type=CreateTime, not LogAppendTime" "$TMP/check.out")"
timeout 60 "$AX" doctor --prefix "$P" >"$TMP/doctor.out" 2>&1
check "doctor exits 1 while $P.control is CreateTime" 1 $?
check "doctor names the topic and says how to fix it" 1 \
	"$(grep -c "^FAIL  topic $P.control has message.timestamp.type=CreateTime, not LogAppendTime .*fix: kafka-configs" "$TMP/doctor.out")"
# the applier applies the forged message while the topic is still switched
apply_fg "$TMP/a1.log" --instance it0508
check "apply (topic still CreateTime) exits 0" 0 $?
check "the applier logs the drift (at start and at assignment)" 1 \
	"$(($(grep -c "event=topic_config_drift topic=$P.control config=message.timestamp.type expected=LogAppendTime found=CreateTime" "$TMP/a1.log") >= 1))"
to_log_append_time "$P.control" || { echo "FAIL switch $P.control back"; exit 1; }
"$AX" topics check --prefix "$P" --partitions 1 >/dev/null 2>&1
check "topics check is ok again once switched back" 0 $?
check "the forged control message is quarantined not_log_append_time" "quarantined/not_log_append_time" \
	"$(ledger_at "$P.control" 0 "$forged_off" "decision || '/' || reason_code")"
check "... at the control partition's last known event time" t \
	"$(ledger_at "$P.control" 0 "$forged_off" "event_time = (SELECT event_time FROM axiom.ledger
		WHERE topic = '$P.control' AND kafka_partition = 0 AND kafka_offset < $forged_off ORDER BY seq DESC LIMIT 1)")"
check "the control watermark stayed in this century" "$wm_before" "$(year_of_watermark)"

# the revocation, then a data command of alice's; the control writer waits for a lock on the
# watermark row while the applier starts, the data writer does not (it reads without one)
timeout 60 "$AX" publish "$TMP/revoke.jsonl" --prefix "$P" >/dev/null || { echo "FAIL publish revoke"; exit 1; }
sleep 0.2
timeout 60 "$AX" publish "$TMP/after-revoke.jsonl" --prefix "$P" >/dev/null || { echo "FAIL publish"; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=$DB" \
	-c "BEGIN; SELECT 1 FROM axiom.control_watermark FOR UPDATE; SELECT pg_sleep(4) AS held_0508; COMMIT;" \
	>/dev/null 2>&1 &
locker=$!
locker_up() {
	[[ $(admin "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%held_0508%' AND pid <> pg_backend_pid()") == 1 ]]
}
wait_until 20 locker_up || echo "# the lock holder did not show up"
apply_fg "$TMP/a2.log" --instance it0508
check "apply after the revocation exits 0" 0 $?
wait "$locker"
cmd_after=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["command_id"])' "$TMP/after-revoke.jsonl")
check "alice's command after the revocation is refused live" rejected \
	"$(admin "SELECT decision FROM axiom.ledger WHERE command_id = '$cmd_after'")"
check "the control watermark is not in the year 9999" "$wm_before" "$(year_of_watermark)"

# replay -------------------------------------------------------------------------------------
echo "# replay into an empty database, compared with the live one"
# a tick the last run flushed as it stopped is applied live first: both then read one log
apply_fg "$TMP/a4.log" --instance it0508
check "last live catch-up exits 0" 0 $?
R="${DB}_r"
new_db "$R"
FAULT_GROUPS+=("r-$P")
timeout 180 "$AX" replay --dbname "$R" --prefix "$P" --group "r-$P" --progress lines \
	--compare-dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" >"$TMP/replay.out" 2>"$TMP/replay.err"
rc=$?
check "replay --compare-dsn exits 0" 0 "$rc"
check "the rebuilt database equals the live one" 1 \
	"$(grep -c '^result: the rebuilt database equals the live one' "$TMP/replay.out")"
((rc == 0)) || { cat "$TMP/replay.out"; tail -n 20 "$TMP/replay.err"; }
check "replay: alice's command after the revocation is refused" rejected \
	"$(admin "SELECT decision FROM axiom.ledger WHERE command_id = '$cmd_after'" "$R")"
check "replay: the same event times" \
	"$(admin "SELECT md5(string_agg(topic || kafka_partition || seq || event_time, ',' ORDER BY topic, kafka_partition, seq)) FROM axiom.ledger")" \
	"$(admin "SELECT md5(string_agg(topic || kafka_partition || seq || event_time, ',' ORDER BY topic, kafka_partition, seq)) FROM axiom.ledger" "$R")"
finish
