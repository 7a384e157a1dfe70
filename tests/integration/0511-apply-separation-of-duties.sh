#!/usr/bin/env bash
# 0511-apply-separation-of-duties - the rules of db/0018 that keep one person from deciding
# alone, and the create that tells nothing about hidden lineages, decided by a real applier
# from commands published on the real broker (the cast of ops/scenario: alice author,
# bob reviewer with carol's vertical delegation of manager, carol manager, dave reviewer in
# boston with bob's horizontal delegation, all in quality_control):
#   (a) bob reviews a change, then approves it                -> reviewer_cannot_approve
#       a record type whose gate lets the reviewer approve    -> accepted
#   (b) carol authors a change; bob approves it with carol's
#       delegation                                            -> delegated_by_author
#   (c) carol is deactivated; bob approves with her delegation -> insufficient_access_level
#   (d) carol delegates for 200 days (limit 90)               -> delegation_too_long
#   (e) alice creates a lineage whose id is in use: a visible one and one of a facility she
#       cannot see get the same answer                        -> not_found_or_denied, twice
# Each of these was accepted (or answered already_exists) before db/0018.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0511 3 5

python3 - "$TMP" "$tag" <<'PY'
import json, sys, time, uuid
out, seed = sys.argv[1], sys.argv[2]
ns = uuid.uuid5(uuid.NAMESPACE_URL, "axiom-0511/" + seed)
def uid(name): return str(uuid.uuid5(ns, name))
DAY_US = 86400 * 10**6
NOW_US = int(time.time()) * 10**6
files = {}
def c(f, name, actor, payload, lineage=None, reason=None):
    r = {"command_id": uid("cmd/" + name), "actor": actor, "issued_at": NOW_US,
         "reason": reason or name, "source_system": "0511", "payload": payload}
    if lineage:
        r["lineage_id"] = lineage
    files.setdefault(f, []).append(r)
S, L, E = uid("spec"), uid("labnote"), uid("erin-sop")
# control, first part
c("0-control", "enroll-erin", "axiom-system", {"UserEnroll": {"user_id": "erin", "display_name": "Erin Boston"}})
c("1-control", "grant-erin", "axiom-system", {"Grant": {"grant_id": uid("grant/erin"), "user_id": "erin",
    "facility": "boston", "domain": "quality_control", "access_level": "author",
    "expires_at": NOW_US + 365 * DAY_US}})
c("1-control", "labnote-type", "axiom-system", {"RecordTypeConfig": {"record_type": "lab_note",
    "review_required": True, "description": "Lab notes: the reviewer may approve",
    "domain": "quality_control", "gate": "review_approve_reviewer_may_approve"}})
c("1-control", "d-long-delegation", "carol", {"Delegate": {"delegation_id": uid("delegation/long"),
    "source_grant_id": str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "axiom-scenario/" + seed),
        "grant/carol/basel")),
    "delegatee": "bob", "kind": "VERTICAL", "facility": "basel", "access_level": "manager",
    "expires_at": NOW_US + 200 * DAY_US}})
def change(f, tag, lineage, author, base, reviewer="dave"):
    cid = uid("change/" + tag)
    c(f, tag + "-propose", author, {"ProposeChange": {"change_id": cid, "base_version": base,
        "content": '{"change": "%s"}' % tag, "title": "change " + tag}}, lineage)
    c(f, tag + "-submit", author, {"SubmitChange": {"change_id": cid}}, lineage)
    c(f, tag + "-review", reviewer, {"ReviewChange": {"change_id": cid, "comment": "ok"}}, lineage)
    return cid
# data, first part
c("2-data", "spec-create", "alice", {"CreateRecord": {"record_type": "specification",
    "facility": "basel", "domain": "quality_control", "content": "{}", "title": "SoD spec"}}, S)
c("2-data", "labnote-create", "alice", {"CreateRecord": {"record_type": "lab_note",
    "facility": "basel", "domain": "quality_control", "content": "{}", "title": "lab note"}}, L)
c("2-data", "erin-create", "erin", {"CreateRecord": {"record_type": "sop", "facility": "boston",
    "domain": "quality_control", "content": "{}", "title": "boston sop"}}, E)
a = change("2-data", "a", S, "alice", 1, reviewer="bob")
c("2-data", "a-approve-by-reviewer", "bob", {"ApproveChange": {"change_id": a}}, S)
c("2-data", "a-approve-by-third", "carol", {"ApproveChange": {"change_id": a}}, S)
c("2-data", "a-apply", "alice", {"ApplyChange": {"change_id": a}}, S)
ln = change("2-data", "ln", L, "alice", 1, reviewer="bob")
c("2-data", "ln-approve-by-reviewer", "bob", {"ApproveChange": {"change_id": ln}}, L)
b = change("2-data", "b", S, "carol", 2)
c("2-data", "b-approve-with-authors-delegation", "bob", {"ApproveChange": {"change_id": b}}, S)
c("2-data", "e-visible-id", "alice", {"CreateRecord": {"record_type": "specification",
    "facility": "basel", "domain": "quality_control", "content": "{}", "title": "again"}}, S)
c("2-data", "e-hidden-id", "alice", {"CreateRecord": {"record_type": "sop",
    "facility": "basel", "domain": "quality_control", "content": "{}", "title": "probe"}}, E)
# control, second part: carol leaves
c("3-control", "carol-leaves", "axiom-system", {"UserDeactivate": {"user_id": "carol"}})
# data, second part
cc = change("4-data", "c", S, "alice", 2)
c("4-data", "c-approve-with-ended-delegation", "bob", {"ApproveChange": {"change_id": cc}}, S)
for f, rows in files.items():
    with open(f"{out}/sod-{f}.jsonl", "w") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
PY
grep -q 'grant/{user}/{facility}' "$ROOT/ops/scenario" ||
	{ echo "FAIL ops/scenario no longer names grants grant/USER/FACILITY (carol's is used here)"; exit 1; }

reason() { # NAME: the decision (or reason code) of the command named NAME
	admin "SELECT coalesce(reason_code, decision) FROM axiom.ledger l
	       WHERE l.command_id = '$(python3 -c "import uuid,sys; print(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, 'axiom-0511/$tag'), 'cmd/$1'))")'"
}

step=0
# erin is enrolled one publish before her grant: a control command governs only what the
# broker appended after it, and one publish shares one append time
for f in 0-control 1-control 2-data 3-control 4-data; do
	timeout 120 "$AX" publish "$TMP/sod-$f.jsonl" --prefix "$P" >/dev/null 2>"$TMP/publish.err" ||
		{ echo "FAIL publish $f: $(cat "$TMP/publish.err")"; exit 1; }
	step=$((step + 1))
	apply_fg "$TMP/apply-$step.log" --instance "i$step"
	check "apply after $f exits 0" 0 $?
done

check "(a) the reviewer cannot approve" reviewer_cannot_approve "$(reason a-approve-by-reviewer)"
check "(a) a third person approves" accepted "$(reason a-approve-by-third)"
check "(a) the approved change applies" accepted "$(reason a-apply)"
check "(a) the explicit gate is accepted" accepted "$(reason labnote-type)"
check "(a) ... and lets the reviewer approve" accepted "$(reason ln-approve-by-reviewer)"
check "(a) the explicit gate is in the audit trail" "gate review_approve_reviewer_may_approve" \
	"$(admin "SELECT reason FROM axiom.session_events WHERE operation = 'configure_record_type' AND reason LIKE '%reviewer_may%'")"
check "(b) no approval through the author's delegation" delegated_by_author \
	"$(reason b-approve-with-authors-delegation)"
check "(c) a delegation ends with its delegator" insufficient_access_level \
	"$(reason c-approve-with-ended-delegation)"
check "(c) carol was deactivated" accepted "$(reason carol-leaves)"
check "(d) a delegation beyond the limit is refused" delegation_too_long "$(reason d-long-delegation)"
check "(e) a visible lineage id in use" not_found_or_denied "$(reason e-visible-id)"
check "(e) a hidden lineage id in use: the same answer" not_found_or_denied "$(reason e-hidden-id)"
check "the refusals are in the audit trail with their reasons" 4 \
	"$(admin "SELECT count(*) FROM axiom.session_events WHERE reason_code IN
	          ('reviewer_cannot_approve', 'delegated_by_author', 'delegation_too_long')
	          OR (reason_code = 'insufficient_access_level' AND actor = 'bob')")"
check "no partition failed" 0 "$(cat "$TMP"/apply-*.log | grep -c 'event=partition_failed')"
check "verify: every row names its ledger entry" 0 \
	"$(admin "SELECT count(*) FROM axiom_api.verify_ledger_references()")"
finish
