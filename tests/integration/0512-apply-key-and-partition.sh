#!/usr/bin/env bash
# 0512-apply-key-and-partition - the applier enforces the key and the partitioner of the data
# topic (docs/producers.md section 3, consumers/ax_batch.h invariant 7): after the scenario,
# a CreateRecord whose key is its lineage id in upper case is quarantined key_not_lineage, one
# with the right key on another partition than murmur2 gives is quarantined wrong_partition,
# each with a reason_detail that says what was wrong (db/0024), and the second, published
# again correctly with the same command id, is accepted (a quarantine does not use the
# command id up). A replay into an empty database gives the same ledger (the check depends
# on the log alone).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
CODEC=${AXIOM_TEST_BIN_DIR:?run through ctest}/codec/codec_tool
NPARTS=3
fault_setup 0512 $NPARTS 2

# two valid commands by alice (author at basel), on new lineages
mk() { # LINEAGE COMMAND_ID
	printf '{"command_id":"%s","actor":"alice","issued_at":1,"reason":"routing test","lineage_id":"%s","payload":{"CreateRecord":{"record_type":"sop","facility":"basel","domain":"quality_control","content":"{\\"step\\":\\"x\\"}","title":"routed"}}}\n' "$2" "$1"
}
L1=5e0d6a8e-1111-4222-8333-0000000005a1 C1=0b6c1c52-8a3e-4d59-9d0c-0000000005a1
L2=5e0d6a8e-1111-4222-8333-0000000005a2 C2=0b6c1c52-8a3e-4d59-9d0c-0000000005a2
mkdir -p "$TMP/enc1" "$TMP/enc2"
mk "$L1" "$C1" | "$CODEC" encode "$TMP/enc1" >/dev/null || { echo "FAIL encode"; exit 1; }
mk "$L2" "$C2" | "$CODEC" encode "$TMP/enc2" >/dev/null || { echo "FAIL encode"; exit 1; }
part_of() { # KEY: murmur2 partition, from the Python reference (producers/python)
	python3 -c 'import runpy, sys
m = runpy.run_path(sys.argv[1])
print(m["partition_for"](sys.argv[2].encode(), int(sys.argv[3])))' \
		"$ROOT/producers/python/axiom_client/partition.py" "$1" $NPARTS
}
p1=$(part_of "$L1") p2=$(part_of "$L2")
[[ $p1 =~ ^[0-9]+$ && $p2 =~ ^[0-9]+$ ]] || { echo "FAIL the partitions of the keys: '$p1' '$p2'"; exit 1; }
wrong=$(((p2 + 1) % NPARTS))
produce() { # FILE PARTITION KEY
	kc upstream -P -t "$P.commands" -p "$2" -k "$3" "$1" ||
		{ echo "FAIL kcat produce"; exit 1; }
}
produce "$(ls "$TMP"/enc1/*.bin)" "$p1" "${L1^^}"
produce "$(ls "$TMP"/enc2/*.bin)" "$wrong" "$L2"
apply_fg "$TMP/apply1.log"
check "apply with the misrouted commands" 0 $?
q() { admin "SELECT decision || ':' || coalesce(reason_code, '') FROM axiom.ledger WHERE topic = '$P.commands' AND kafka_partition = $1 ORDER BY seq DESC LIMIT 1"; }
check "a key in upper case is quarantined key_not_lineage" "quarantined:key_not_lineage" "$(q "$p1")"
check "a message on another partition than murmur2 of its key is quarantined wrong_partition" \
	"quarantined:wrong_partition" "$(q "$wrong")"
d() { admin "SELECT reason_detail FROM axiom.ledger WHERE topic = '$P.commands' AND kafka_partition = $1 ORDER BY seq DESC LIMIT 1"; }
check "... its reason_detail names the lineage id the key should be" 1 \
	"$(d "$p1" | grep -c "the message key is not the lineage id $L1 as 36-character lower-case text")"
check "... and the other's names both partitions" 1 \
	"$(d "$wrong" | grep -c "murmur2 of the key gives partition $p2 of $NPARTS; the message is on partition $wrong")"
check "no record for either" 0 \
	"$(admin "SELECT count(*) FROM axiom.records WHERE id IN ('$L1', '$L2')")"

produce "$(ls "$TMP"/enc2/*.bin)" "$p2" "$L2"
apply_fg "$TMP/apply2.log"
check "the same command id published again, correctly routed, is accepted" "accepted:" "$(q "$p2")"
check "its record exists" 1 "$(admin "SELECT count(*) FROM axiom.records WHERE id = '$L2'")"

# replay equals live: a second database rebuilt from the same log
new_db "${DB}_r"
FAULT_GROUPS+=("r-$P")
timeout 180 "$AX" replay --dbname "${DB}_r" --prefix "$P" --group "r-$P" --progress none \
	--compare-dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" >"$TMP/replay.out" 2>"$TMP/replay.log"
check "a replay gives the same database (axiom replay --compare-dsn)" 0 $?
grep -i different "$TMP/replay.out" | head -n 5
finish
