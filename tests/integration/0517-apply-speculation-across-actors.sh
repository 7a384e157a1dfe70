#!/usr/bin/env bash
# 0517-apply-speculation-across-actors - a batch's speculation (consumers/ax_batch.h,
# invariant 4) never builds one actor's version on what another actor's head lookup did not
# find: a head lookup answers as its command's actor sees the lineage, so "no head" may mean
# "not visible to that actor", not "no version yet". Two batches, each a command the database
# refuses because its actor (zed, never enrolled) sees no head, then alice's NewVersion of the
# same lineage on its real head: alice's is accepted, as it is when it comes alone (and in a
# replay, batched otherwise); before, it was refused stale_previous_hash, built on zed's view.
# The batch is cut before alice's, whose head is then looked up as alice sees it, or taken
# from what the writer knows committed (consumers/ax_batch.h, invariant 8: a refused command
# leaves its lineage's head as it was; putting the refused ones' heads there fails (1) and
# (2)): (1) zed's NewVersion of an SOP before alice's; (2) zed's CreateRecord of a lineage
# that exists (version 1) before alice's NewVersion of it; (3) the same actor before and
# after its grant.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
fault_setup 0517 1 2
apply_fg "$TMP/apply1.log"
check "apply the scenario" 0 $?

cmd() { # ID ACTOR LINEAGE PAYLOAD
	printf '{"command_id":"0b6c1c52-8a3e-4d59-9d0c-0000000517%s","actor":"%s","issued_at":1,"reason":"r","lineage_id":"%s","payload":%s}\n' "$1" "$2" "$3" "$4"
}
dec() { decision_of "0b6c1c52-8a3e-4d59-9d0c-0000000517$1"; }
publish_apply() { # FILE LOG
	publish_file "$1"
	apply_fg "$2"
}
# ID1 ID2: the transactions that decided them and the distance of their ledger entries; "2:1"
# once the batch that held both (published together, read together) is cut between them
batches() {
	admin "SELECT count(DISTINCT xmin::text) || ':' || (max(seq) - min(seq)) FROM axiom.ledger
		WHERE command_id IN ('0b6c1c52-8a3e-4d59-9d0c-0000000517$1', '0b6c1c52-8a3e-4d59-9d0c-0000000517$2')"
}

# (1) an SOP at its head version
read -r sop ver < <(admin "SELECT id || ' ' || version FROM axiom.records WHERE record_type = 'sop' ORDER BY id, version DESC LIMIT 1" | tr -d '\r')
{
	cmd a1 zed "$sop" "{\"NewVersion\":{\"base_version\":$ver,\"content\":\"{}\",\"title\":\"by zed\"}}"
	cmd a2 alice "$sop" "{\"NewVersion\":{\"base_version\":$ver,\"content\":\"{}\",\"title\":\"by alice\"}}"
} >"$TMP/one.jsonl"
publish_apply "$TMP/one.jsonl" "$TMP/apply2.log"
check "apply (1)" 0 $?
check "(1) the batch is cut before alice's (before the fix: 1:1)" "2:1" "$(batches a1 a2)"
check "(1) zed's NewVersion: refused" "rejected:not_found_or_denied" "$(dec a1)"
check "(1) alice's NewVersion on the head zed does not see: accepted" "accepted:" "$(dec a2)"
check "(1) the SOP's head is alice's" "$((ver + 1)):alice" \
	"$(admin "SELECT version || ':' || created_by FROM axiom.records WHERE id = '$sop' ORDER BY version DESC LIMIT 1")"

# (2) a lineage at version 1, created by alice in a batch of its own
M=5e0d6a8e-1111-4222-8333-000000051702
cmd b1 alice "$M" '{"CreateRecord":{"record_type":"sop","facility":"basel","domain":"quality_control","content":"{}","title":"M"}}' >"$TMP/create.jsonl"
publish_apply "$TMP/create.jsonl" "$TMP/apply3.log"
check "(2) alice's CreateRecord" "accepted:" "$(dec b1)"
{
	cmd b2 zed "$M" '{"CreateRecord":{"record_type":"sop","facility":"basel","domain":"quality_control","content":"{}","title":"M by zed"}}'
	cmd b3 alice "$M" '{"NewVersion":{"base_version":1,"content":"{}","title":"M v2"}}'
} >"$TMP/two.jsonl"
publish_apply "$TMP/two.jsonl" "$TMP/apply4.log"
check "apply (2)" 0 $?
check "(2) the batch is cut before alice's (before the fix: 1:1)" "2:1" "$(batches b2 b3)"
check "(2) zed's CreateRecord of a lineage it does not see: refused" "rejected:not_found_or_denied" "$(dec b2)"
check "(2) alice's NewVersion of version 1: accepted" "accepted:" "$(dec b3)"
# (3) one actor, two event times: erin (enrolled, no grant) versions the SOP, is granted the
# author level, versions it again; the first is refused, the second, at an instant the grant
# governs, accepted (as alone), not built on what erin could not see before the grant
ctl() { # ID PAYLOAD
	printf '{"command_id":"0b6c1c52-8a3e-4d59-9d0c-0000000517%s","actor":"axiom-system","issued_at":1,"reason":"r","payload":%s}\n' "$1" "$2"
}
ctl c1 '{"UserEnroll":{"user_id":"erin","display_name":"Erin Test"}}' >"$TMP/erin.jsonl"
publish_apply "$TMP/erin.jsonl" "$TMP/apply5.log"
check "(3) erin enrolled" "accepted:" "$(dec c1)"
read -r sop ver < <(admin "SELECT id || ' ' || version FROM axiom.records WHERE id = '$sop' ORDER BY version DESC LIMIT 1" | tr -d '\r')
{
	cmd c2 erin "$sop" "{\"NewVersion\":{\"base_version\":$ver,\"content\":\"{}\",\"title\":\"by erin\"}}"
	ctl c3 '{"Grant":{"grant_id":"5e0d6a8e-1111-4222-8333-000000051703","user_id":"erin","facility":"basel","domain":"quality_control","access_level":"author","expires_at":4102444800000000}}'
	cmd c4 erin "$sop" "{\"NewVersion\":{\"base_version\":$ver,\"content\":\"{}\",\"title\":\"by erin, granted\"}}"
	# a control command after both moves the watermark past the second (data waits for it)
	ctl c5 '{"UserEnroll":{"user_id":"fred","display_name":"Fred Test"}}'
} >"$TMP/three.jsonl"
publish_apply "$TMP/three.jsonl" "$TMP/apply6.log"
check "apply (3)" 0 $?
check "(3) the grant" "accepted:" "$(dec c3)"
check "(3) erin's NewVersion before the grant: refused" "rejected:not_found_or_denied" "$(dec c2)"
check "(3) erin's NewVersion after the grant: accepted" "accepted:" "$(dec c4)"
check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"
finish
