#!/usr/bin/env bash
# 0521-apply-audit-fields - the audit topic says what its schema promises (issue 14, item 5;
# schemas/avro/audit.avsc revision 3, docs/producers.md section 7). After the scenario
# (accepted commands, three refusals, ticks) plus undecodable bytes on the data and the
# control topic (quarantines), the audit topic read as the analyst, read committed, has:
#  - a key per event that names its ledger entry, <topic>/<partition>/<seq>, so no two
#    events share a key, although PREFIX.control/0 and PREFIX.commands/0 share audit
#    partition 0 (before: the seq alone, which both ledgers used);
#  - ticks of kind TICK (ACCEPTED with reason tick, as their ledger entries hold them), and no
#    other outcome accepted with a reason (before: no kind, ticks counted as commands);
#  - a reason_detail on every rejection and quarantine that says what decided, empty when
#    accepted (before: empty on all of them);
#  - on every outcome the SHA-256 of the message bytes at its offset of the command topic, as
#    read from that topic (before: empty except for quarantines).
# The ledger keeps both new fields (db/0024), outside its hash: the chains verify, the audit
# topic's own check (axiom audit --verify) holds, and a replay gives the same database, the
# ledger's new columns included in its digest. axiom verify compares every entry's
# payload_hash with the SHA-256 of the message at its offset, and names one altered.
# On the code before this test (main at 3ccdc34, run with its binary and db/) it fails 14
# checks: the ledger has no payload_hash column, keys shared by two events (the seq alone),
# no key naming its ledger entry, no kind, no tick recognisable and each counted as a command
# accepted with a reason, every reason_detail empty, every payload hash but the quarantines'
# empty, access refusals and quarantines without a detail, and verify compares no payload.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
NPARTS=2
fault_setup 0521 $NPARTS 2

# undecodable bytes: quarantined wrong_magic on the control partition, then on commands/0;
# in this order the last data message comes after every control message, so the applier
# must append a tick to decide it (a data message at T waits for a control event after T)
printf 'this is not single-object encoding' >"$TMP/junk.bin"
kc control -P -t "$P.control" -p 0 "$TMP/junk.bin" || { echo "FAIL kcat produce (control)"; exit 1; }
kc upstream -P -t "$P.commands" -p 0 -k 5e0d6a8e-1111-4222-8333-000000000521 "$TMP/junk.bin" ||
	{ echo "FAIL kcat produce (commands)"; exit 1; }

apply_fg "$TMP/apply.log"
check "apply until caught up" 0 $?
DATA_CMDS=$((DATA_CMDS + 1)) REFUSALS=author_cannot_approve,insufficient_access_level,stale_previous_hash,wrong_magic \
	exactly_once_checks
check "the ledger has ticks to tell apart" 1 \
	"$(admin "SELECT (count(*) > 0)::int FROM axiom.ledger WHERE reason_code = 'tick'")"
check "the ledger keeps every message's SHA-256 and every refusal's detail" "0:0" \
	"$(admin "SELECT count(*) FILTER (WHERE payload_hash IS NULL) || ':' ||
		count(*) FILTER (WHERE decision <> 'accepted' AND coalesce(reason_detail, '') = '')
		FROM axiom.ledger")"

# the audit topic: values (axiom audit, per partition in offset order) and keys (kcat as the
# analyst, read committed, in the same order)
timeout 120 "$AX" audit --prefix "$P" >"$TMP/audit.jsonl" 2>"$TMP/audit.err"
check "axiom audit reads the topic" 0 $?
kc analyst -C -t "$P.audit" -o beginning -e -q -X isolation.level=read_committed \
	-f '%p %o %k\n' >"$TMP/keys.txt"
check "kcat reads the audit topic's keys" 0 $?

# the command topics' bytes, per partition: offsets and lengths, then the values one after
# the other (read committed: the same messages in the same order)
for tp in "$P.control:0" $(for ((p = 0; p < NPARTS; p++)); do echo "$P.commands:$p"; done); do
	t=${tp%:*} p=${tp##*:}
	kc auditor -C -t "$t" -p "$p" -o beginning -e -q -X isolation.level=read_committed \
		-f '%o %S\n' >"$TMP/msg-$t-$p.idx"
	kc auditor -C -t "$t" -p "$p" -o beginning -e -q -X isolation.level=read_committed \
		-f '%s' >"$TMP/msg-$t-$p.bin"
done

python3 - "$TMP" "$P" >"$TMP/checks.txt" <<'PY'
import collections, hashlib, json, os, sys
tmp, prefix = sys.argv[1], sys.argv[2]
# sha256 of every command message, by (topic, partition, offset)
digest = {}
for name in os.listdir(tmp):
    if not name.startswith("msg-") or not name.endswith(".idx"):
        continue
    topic, part = name[4:-4].rsplit("-", 1)
    blob = open(os.path.join(tmp, name[:-4] + ".bin"), "rb").read()
    pos = 0
    for line in open(os.path.join(tmp, name)):
        off, size = line.split()
        size = max(int(size), 0)
        digest[(topic, int(part), int(off))] = hashlib.sha256(blob[pos:pos + size]).hexdigest()
        pos += size
    if pos != len(blob):
        print("problem bytes of %s/%s: %d read, %d indexed" % (topic, part, len(blob), pos))
events = collections.defaultdict(list)  # audit partition -> events in offset order
for line in open(os.path.join(tmp, "audit.jsonl")):
    (kind, ev), = json.loads(line)["payload"].items()
    events[ev["partition"]].append((kind, ev))
keys = collections.defaultdict(list)
for line in open(os.path.join(tmp, "keys.txt")):
    p, off, key = (line.rstrip("\n").split(" ", 2) + [""])[:3]
    keys[int(p)].append(key)
outcomes = [ev for evs in events.values() for kind, ev in evs if kind == "Outcome"]
print("n_outcomes=%d" % len(outcomes))
print("n_keys=%d" % sum(len(k) for k in keys.values()))
print("n_events=%d" % sum(len(e) for e in events.values()))
allkeys = [k for ks in keys.values() for k in ks]
print("dup_keys=%d" % (len(allkeys) - len(set(allkeys))))
wrong = 0
for p, evs in events.items():
    for (kind, ev), key in zip(evs, keys[p]):
        want = "%s/%d/%d" % (ev["topic"], ev["partition"], ev["ledger_seq"])
        if kind == "Checkpoint":
            want += "/checkpoint"
        if key != want:
            wrong += 1
            if wrong <= 3:
                print("# key %r where %r was expected" % (key, want))
print("wrong_keys=%d" % wrong)
shared = {(ev["topic"], ev["ledger_seq"]) for ev in outcomes if ev["partition"] == 0}
seqs = collections.Counter(s for _, s in shared)
print("shared_seqs=%s" % (
    "some" if any(n > 1 for n in seqs.values()) else "none"))
ticks = [ev for ev in outcomes if ev.get("kind") == "TICK"]
print("ticks=%s" % ("some" if ticks else "none"))
print("bad_ticks=%d" % sum(
    1 for ev in ticks if (ev["decision"], ev["reason_code"], ev["topic"])
    != ("ACCEPTED", "tick", prefix + ".control")))
print("accepted_with_reason=%d" % sum(
    1 for ev in outcomes if ev.get("kind") != "TICK" and ev["decision"] == "ACCEPTED"
    and ev["reason_code"] != ""))
print("no_kind=%d" % sum(1 for ev in outcomes if "kind" not in ev))
refusals = [ev for ev in outcomes if ev["decision"] != "ACCEPTED"]
print("refusals=%d" % len(refusals))
print("refusals_no_detail=%d" % sum(1 for ev in refusals if not ev["reason_detail"]))
print("accepted_with_detail=%d" % sum(
    1 for ev in outcomes if ev["decision"] == "ACCEPTED" and ev["reason_detail"]))
for ev in refusals:
    print("# %s %s: %s" % (ev["decision"], ev["reason_code"], ev["reason_detail"]))
bad = [ev for ev in outcomes
       if ev["payload_hash"] != digest.get((ev["topic"], ev["partition"], ev["offset"]))]
print("bad_payload=%d" % len(bad))
for ev in bad[:3]:
    print("# %s/%d@%d: %r" % (ev["topic"], ev["partition"], ev["offset"], ev["payload_hash"]))
PY
grep '^#\|^problem' "$TMP/checks.txt"
got() { sed -n "s/^$1=//p" "$TMP/checks.txt"; }
n=$(admin "SELECT count(*) FROM axiom.ledger")
check "every ledger entry is an outcome on the audit topic" "$n" "$(got n_outcomes)"
check "every audit event has a key" "$(got n_events)" "$(got n_keys)"
check "the two ledgers of audit partition 0 share sequence numbers (the case at stake)" some \
	"$(got shared_seqs)"
check "no two audit events share a key" 0 "$(got dup_keys)"
check "every key is <topic>/<partition>/<seq> of its outcome" 0 "$(got wrong_keys)"
check "every outcome has a kind" 0 "$(got no_kind)"
check "ticks are recognisable (kind TICK)" some "$(got ticks)"
check "ticks as many as the ledger's" \
	"$(admin "SELECT count(*) FROM axiom.ledger WHERE decision = 'accepted' AND reason_code = 'tick'")" \
	"$(grep -c '"kind":"TICK"' "$TMP/audit.jsonl")"
check "every tick is ACCEPTED with reason tick on the control ledger" 0 \
	"$(got bad_ticks)"
check "no command is ACCEPTED with a reason" 0 "$(got accepted_with_reason)"
check "refusals on the audit topic (3 rejected, 2 quarantined)" 5 "$(got refusals)"
check "every rejection and quarantine says what decided (reason_detail)" 0 \
	"$(got refusals_no_detail)"
check "no accepted outcome has a reason_detail" 0 "$(got accepted_with_detail)"
check "every payload_hash is the SHA-256 of its message's bytes" 0 \
	"$(got bad_payload)"
check "an access refusal's detail names the tier needed and the tier held" 1 \
	"$(grep -cE '^# REJECTED insufficient_access_level: .* requires the [a-z]+ level; [a-z0-9._@-]+ holds [a-z]+ in facility ' "$TMP/checks.txt")"
check "a quarantine's detail names the refusal and where" 2 \
	"$(grep -c '^# QUARANTINED wrong_magic: .*byte offset' "$TMP/checks.txt")"

# the ledger's hash is unchanged (v1): the database's chains and the topic's own check hold
check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"
timeout 120 "$AX" audit --verify --prefix "$P" >"$TMP/audit-verify.out" 2>&1
check "axiom audit --verify holds every chain" 0 $?
grep -m 3 'broken' "$TMP/audit-verify.out" | sed 's/^/# /'

# replay equals live, the new ledger columns included in the ledger's digest
new_db "${DB}_r"
FAULT_GROUPS+=("r-$P")
timeout 180 "$AX" replay --dbname "${DB}_r" --prefix "$P" --group "r-$P" --progress none \
	--compare-dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" >"$TMP/replay.out" 2>"$TMP/replay.log"
check "a replay gives the same database (axiom replay --compare-dsn)" 0 $?
grep -i different "$TMP/replay.out" | head -n 5
check "the replay keeps the same payload hashes and details" \
	"$(admin "SELECT md5(string_agg(encode(payload_hash, 'hex') || coalesce(reason_detail, ''), ',' ORDER BY topic, kafka_partition, seq)) FROM axiom.ledger")" \
	"$(admin "SELECT md5(string_agg(encode(payload_hash, 'hex') || coalesce(reason_detail, ''), ',' ORDER BY topic, kafka_partition, seq)) FROM axiom.ledger" "${DB}_r")"

# axiom verify (as the auditor) compares every ledger entry's payload_hash with the SHA-256 of
# the message at its offset, and names an entry whose hash was altered
verify() {
	timeout 120 "$AX" verify --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" --prefix "$P" \
		>"$TMP/verify.out" 2>&1
}
verify
check "axiom verify passes" 0 $?
check "axiom verify compares the payload hash of every ledger entry" "$n" \
	"$(sed -n 's/^kafka log .*, \([0-9]*\) payload hashes compared.*/\1/p' "$TMP/verify.out")"
# the data ledger entry with the highest seq (the scenario's partitioning depends on its seed)
read -r tp ts to <<<"$(admin "SELECT kafka_partition || ' ' || seq || ' ' || kafka_offset
	FROM axiom.ledger WHERE topic = '$P.commands' ORDER BY seq DESC, kafka_partition LIMIT 1")"
admin "BEGIN; ALTER TABLE axiom.ledger DISABLE TRIGGER USER;
	UPDATE axiom.ledger SET payload_hash = sha256('forged'::bytea)
	 WHERE topic = '$P.commands' AND kafka_partition = $tp AND seq = $ts;
	ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER append_only_row,
	    ENABLE ALWAYS TRIGGER append_only_truncate; COMMIT" >/dev/null
verify
check "axiom verify fails on an altered payload hash" 1 $?
check "... and names the entry" 1 "$(grep -c "$P.commands partition $tp offset $to: ledger entry $ts has a payload_hash that is not the SHA-256 of the message at offset $to" "$TMP/verify.out")"
grep -m 2 'payload_hash' "$TMP/verify.out" | sed 's/^/# /'
finish
