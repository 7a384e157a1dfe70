#!/usr/bin/env python3
"""python_client_scenario.py - the Python side of 0402-python-client (not a test by itself).

usage: python_client_scenario.py publish BROKERS PREFIX STATE.json
       python_client_scenario.py murmur2 BROKERS PREFIX
       python_client_scenario.py audit BROKERS PREFIX STATE.json
Prints one "ok NAME (value)" or "FAIL NAME: ..." line per check; exit 1 on any FAIL.
"""
import json
import os
import sys
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from axiom_client import (AuditReader, AxiomProducer, Contract, ContractError, PublishError,
                          is_tick, key_of, murmur2, partition_for, verify)

fails = 0


def check(name, want, got):
    global fails
    if want == got:
        print("ok   %s (%s)" % (name, got))
    else:
        print("FAIL %s: want %r, got %r" % (name, want, got))
        fails += 1


def now_us():
    return int(time.time() * 1e6)


def principal(role, **extra):
    """The confluent-kafka settings of the stack's principal ROLE: the librdkafka properties
    file that `ops/stack env` names in AXIOM_KAFKA_<ROLE>_CONFIG (mutual TLS), plus extra."""
    conf = {}
    with open(os.environ["AXIOM_KAFKA_%s_CONFIG" % role.upper()]) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    conf.update(extra)
    return conf


def cmd(actor, reason, payload, lineage=None):
    c = {"command_id": str(uuid.uuid4()), "actor": actor, "issued_at": now_us(),
         "reason": reason, "payload": payload, "source_system": "python-client-test"}
    if lineage is not None:
        c["lineage_id"] = lineage
    return c


def publish(brokers, prefix, state_path):
    # the control plane's principal writes the control topic, an upstream system's the
    # commands topic (broker ACLs, README "Broker credentials")
    pc = AxiomProducer(brokers, prefix=prefix,
                       config=principal("control", **{"client.id": "it0402-control"}))
    p = AxiomProducer(brokers, prefix=prefix,
                      config=principal("upstream", **{"client.id": "it0402"}))
    sop, spec, change = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    # the control plane in dependency order: each group is published once the one before was
    # acknowledged (docs/producers.md, tie rules)
    groups = [
        [cmd("axiom-system", "site", ("ScopeDefine", {"kind": "FACILITY", "key": "basel",
                                                      "name": "Basel plant"})),
         cmd("axiom-system", "domain", ("ScopeDefine", {"kind": "DOMAIN", "key": "qc",
                                                        "name": "Quality control"})),
         cmd("axiom-system", "author", ("UserEnroll", {"user_id": "alice",
                                                       "display_name": "Alice Martin"})),
         cmd("axiom-system", "manager", ("UserEnroll", {"user_id": "carol",
                                                        "display_name": "Carol Chen"}))],
        [cmd("axiom-system", "QC author", ("Grant", {
            "grant_id": str(uuid.uuid4()), "user_id": "alice", "facility": "basel",
            "domain": "qc", "access_level": "author", "expires_at": None})),
         cmd("axiom-system", "QC manager", ("Grant", {
             "grant_id": str(uuid.uuid4()), "user_id": "carol", "facility": "basel",
             "domain": "qc", "access_level": "manager", "expires_at": None})),
         cmd("axiom-system", "SOPs version directly", ("RecordTypeConfig", {
             "record_type": "sop", "review_required": False, "description": "SOP",
             "domain": "qc", "gate": "none"})),
         cmd("axiom-system", "specifications through approval", ("RecordTypeConfig", {
             "record_type": "specification", "review_required": False,
             "description": "Specification", "domain": "qc", "gate": "approve"}))],
    ]
    deliveries = []
    for g in groups:
        d = pc.publish(g)
        deliveries += d
    pc.close()
    check("control commands acknowledged on partition 0", [0] * 8,
          [d.partition for d in deliveries])
    data = [
        cmd("alice", "initial release", ("CreateRecord", {
            "record_type": "sop", "facility": "basel", "domain": "qc",
            "content": json.dumps({"step": "clean the balance"}), "title": "SOP-1"}), sop),
        cmd("alice", "add drying step", ("NewVersion", {
            "base_version": 1, "content": json.dumps({"step": "clean and dry"}),
            "title": "SOP-1"}), sop),
        cmd("carol", "released for use", ("LifecycleTransition", {
            "version": 2, "from_state": "draft", "to_state": "effective"}), sop),
        cmd("alice", "initial specification", ("CreateRecord", {
            "record_type": "specification", "facility": "basel", "domain": "qc",
            "content": json.dumps({"min": 6.8, "max": 7.2}), "title": "pH"}), spec),
        cmd("alice", "tighten the range", ("ProposeChange", {
            "change_id": change, "base_version": 1,
            "content": json.dumps({"min": 6.9, "max": 7.1}), "title": "pH"}), spec),
        cmd("alice", "ready for approval", ("SubmitChange", {"change_id": change}), spec),
        # the author approving her own change: refused, and audited as an approval
        cmd("alice", "self approval", ("ApproveChange", {"change_id": change}), spec),
        cmd("carol", "approved", ("ApproveChange", {"change_id": change}), spec),
        cmd("alice", "apply the approved change", ("ApplyChange", {"change_id": change}), spec),
    ]
    # item 4: a dict payload never reaches the encoder, and the branch is the one named
    try:
        Contract().encode(dict(data[7], payload={"change_id": change}))
        check("a dict payload is refused", "ContractError", "encoded")
    except ContractError:
        check("a dict payload is refused", "ContractError", "ContractError")
    _, raw = Contract().encode(data[7])
    check("ApproveChange decodes as ApproveChange", "axiom.v1.ApproveChange",
          Contract().decode(raw)[1]["payload"][0])
    d = p.publish(data)
    n = p.partitions()
    check("every data command on murmur2(lineage) % partitions",
          [partition_for(key_of(c["lineage_id"]), n) for c in data], [x.partition for x in d])
    try:
        p.publish([cmd("alice", "x", ("NoSuchCommand", {}), sop)])
        check("an unknown branch is refused before sending", "ContractError", "sent")
    except ContractError:
        check("an unknown branch is refused before sending", "ContractError", "ContractError")
    p.close()
    json.dump({"control": 8, "data": len(data),
               "data_ids": [c["command_id"] for c in data]}, open(state_path, "w"))
    # a broker that cannot be reached: publish raises, it does not return
    q = AxiomProducer("127.0.0.1:1", prefix=prefix, timeout_s=3.0)
    q._partitions = n
    try:
        q.publish([cmd("alice", "x", ("SubmitChange", {"change_id": change}), spec)])
        check("publish raises when nothing is acknowledged", "PublishError", "returned")
    except PublishError:
        check("publish raises when nothing is acknowledged", "PublishError", "PublishError")


def murmur2_check(brokers, prefix):
    # the Java client's own test values (org.apache.kafka.common.utils.UtilsTest)
    vectors = {"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
               "a-little-bit-longer-string": -1486304829,
               "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
               "abc": 479470107}
    check("murmur2 gives the Java client's test values", vectors,
          {k: murmur2(k.encode()) for k in vectors})
    # and librdkafka's murmur2 partitioner puts 300 lineage keys where partition_for says
    topic = prefix + ".murmur2"
    admin = AdminClient(principal("admin", **{"bootstrap.servers": brokers}))
    admin.create_topics([NewTopic(topic, num_partitions=7, replication_factor=1)])[topic].result()
    try:
        prod = Producer(principal("admin", **{"bootstrap.servers": brokers,
                                              "partitioner": "murmur2", "linger.ms": 5}))
        keys = [key_of(uuid.uuid4()) for _ in range(300)]
        got = {}
        for k in keys:
            prod.produce(topic, key=k, value=b"x",
                         on_delivery=lambda e, m: got.__setitem__(m.key(), m.partition()))
        prod.flush(30)
        want = {k: partition_for(k, 7) for k in keys}
        check("librdkafka's murmur2 partitioner agrees on 300 keys (7 partitions)",
              [], [(k, want[k], got.get(k)) for k in keys if want[k] != got.get(k)])
        check("the 300 keys reach every partition", 7, len(set(got.values())))
    finally:
        admin.delete_topics([topic])


def audit(brokers, prefix, state_path):
    st = json.load(open(state_path))
    r = AuditReader(brokers, prefix=prefix, config=principal("analyst"))
    events = r.read()
    r.close()
    chains = verify(events)
    outcomes = [o for ch in chains.values() for o in ch]
    data = [o for o in outcomes if o["topic"] == prefix + ".commands"]
    by_id = {o["command_id"]: o for o in data}
    check("every data command has one outcome", sorted(st["data_ids"]), sorted(by_id))
    decisions = [(by_id[i]["decision"], by_id[i]["reason_code"]) for i in st["data_ids"]]
    want = [("ACCEPTED", "")] * 6 + [("REJECTED", "author_cannot_approve")] + \
        [("ACCEPTED", "")] * 2
    check("the decisions read from the audit topic", want, decisions)
    control = [o for o in outcomes if o["topic"] == prefix + ".control"
               and o["kind"] == "COMMAND"]
    check("control commands accepted", [("ACCEPTED", "")] * st["control"],
          [(o["decision"], o["reason_code"]) for o in control])
    ticks = [o for o in outcomes if is_tick(o)]
    check("ticks are read as kind TICK, accepted with reason tick, on the control ledger",
          [("TICK", "ACCEPTED", "tick", prefix + ".control")] * len(ticks),
          [(o["kind"], o["decision"], o["reason_code"], o["topic"]) for o in ticks])
    check("no outcome of kind COMMAND is accepted with a reason", [],
          [o["ledger_seq"] for o in outcomes if o["kind"] == "COMMAND"
           and o["decision"] == "ACCEPTED" and o["reason_code"] != ""])
    check("every rejection says what decided (reason_detail)", [],
          [o["ledger_seq"] for o in outcomes if o["decision"] != "ACCEPTED"
           and not o["reason_detail"]])
    check("every outcome carries the SHA-256 of its message (payload_hash)", [],
          [o["ledger_seq"] for o in outcomes if len(o["payload_hash"]) != 32])
    for (t, p), ch in sorted(chains.items()):
        print("# %s/%d: %d outcomes, head %s" % (t, p, len(ch), ch[-1]["ledger_hash"].hex()))
        print("LEDGER %s/%d/%d/%s" % (t, p, len(ch), ch[-1]["ledger_hash"].hex()))


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "publish":
        publish(*sys.argv[2:5])
    elif what == "murmur2":
        murmur2_check(*sys.argv[2:4])
    elif what == "audit":
        audit(*sys.argv[2:5])
    sys.exit(1 if fails else 0)
