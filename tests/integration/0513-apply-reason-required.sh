#!/usr/bin/env bash
# 0513-apply-reason-required - every change needs a reason, kept in the audit trail (issue
# 14, item 6; db/0021): through the applier, a CreateRecord and a NewVersion with a blank
# reason are rejected reason_required and change nothing; every accepted create and new
# version of the scenario has its command's reason in session_events.reason, beside the
# version it made (new_record_id); a LifecycleTransition with a blank reason is refused too;
# a record type without a domain is refused with its own reason (db/0023).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
fault_setup 0513 3 2
apply_fg "$TMP/apply1.log"
check "apply the scenario" 0 $?
check "every accepted create and new version keeps its reason" 0 \
	"$(admin "SELECT count(*) FROM axiom.session_events WHERE operation IN ('create_record', 'new_version')
		AND decision = 'accepted' AND coalesce(btrim(reason), '') = ''")"
check "the reason of a version is its command's (SOP new versions: 'clarified step 3')" 2 \
	"$(admin "SELECT count(*) FROM axiom.session_events e JOIN axiom.records r ON r.record_id = e.new_record_id
		WHERE e.operation = 'new_version' AND e.reason = 'clarified step 3' AND r.version = 2")"

read -r sop ver < <(admin "SELECT id || ' ' || version FROM axiom.records WHERE record_type = 'sop' ORDER BY id, version DESC LIMIT 1" | tr -d '\r')
N=5e0d6a8e-1111-4222-8333-0000000005b1
cmd() { # ID REASON LINEAGE PAYLOAD
	printf '{"command_id":"0b6c1c52-8a3e-4d59-9d0c-0000000005%s","actor":"%s","issued_at":1,"reason":"%s","lineage_id":"%s","payload":%s}\n' "$1" "$2" "$3" "$4" "$5"
}
{
	cmd b1 alice "" "$N" '{"CreateRecord":{"record_type":"sop","facility":"basel","domain":"quality_control","content":"{}","title":"no reason"}}'
	cmd b2 alice "   " "$sop" "{\"NewVersion\":{\"base_version\":$ver,\"content\":\"{}\",\"title\":\"no reason\"}}"
	cmd b3 carol "" "$sop" "{\"LifecycleTransition\":{\"version\":$ver,\"from_state\":\"draft\",\"to_state\":\"effective\"}}"
} >"$TMP/blank.jsonl"
publish_file "$TMP/blank.jsonl"
apply_fg "$TMP/apply2.log"
check "apply the commands without a reason" 0 $?
dec() { decision_of "0b6c1c52-8a3e-4d59-9d0c-0000000005$1"; }
check "CreateRecord with an empty reason: rejected reason_required" "rejected:reason_required" "$(dec b1)"
check "NewVersion with a blank reason: rejected reason_required" "rejected:reason_required" "$(dec b2)"
check "LifecycleTransition with an empty reason: rejected reason_required" "rejected:reason_required" "$(dec b3)"
check "nothing created or changed" "0:$ver" \
	"$(admin "SELECT (SELECT count(*) FROM axiom.records WHERE id = '$N') || ':' || (SELECT max(version) FROM axiom.records WHERE id = '$sop')")"
check "the refusals are in the audit trail" 3 \
	"$(admin "SELECT count(*) FROM axiom.session_events WHERE reason_code = 'reason_required'")"

# a record type written as revision 1 or 2 of the control schema had (has) no domain: the
# refusal says so (db/0023), where it used to be not_found_or_denied
printf '{"command_id":"0b6c1c52-8a3e-4d59-9d0c-0000000005c1","actor":"axiom-system","issued_at":1,"reason":"old producer","payload":{"RecordTypeConfig":{"record_type":"lab_method","review_required":false,"description":"no domain"}}}\n' >"$TMP/nodomain.jsonl"
publish_file "$TMP/nodomain.jsonl"
apply_fg "$TMP/apply3.log"
check "a RecordTypeConfig without a domain: rejected domain_required" "rejected:domain_required" "$(dec c1)"
check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"
finish
