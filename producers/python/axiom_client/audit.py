"""Reading PREFIX.audit: every outcome the applier decided, decoded and its chain checked.

Invariants:
  - read with isolation.level=read_committed: the relay writes the audit topic in Kafka
    transactions, and an aborted attempt (a fenced or crashed relay) must never be read;
  - an outcome belongs to the ledger (topic, partition) it names, not to the audit
    partition it was read from (PREFIX.control/0 and PREFIX.commands/0 both use audit
    partition 0);
  - verify() checks, per ledger: sequence numbers 1..n without a gap or a conflict, and,
    when the audit schema carries it (an audit revision after 1), that each outcome's
    previous-entry hash is the ledger_hash of the outcome before it; every checkpoint names
    a ledger_hash that its outcome carries;
  - every Outcome read has a kind: TICK for the applier's control-watermark ticks (ACCEPTED
    with reason_code "tick"), COMMAND for everything else; outcomes written with audit
    revision 1 or 2 have no kind field and get it here from those two fields.
Threads: one AuditReader per thread.
"""
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from .contract import Contract

# Names under which an audit revision may carry the hash of the previous ledger entry.
PREVIOUS_HASH_FIELDS = ("previous_ledger_hash", "previous_entry_hash", "previous_hash")


class ChainError(Exception):
    """The audit topic's outcomes do not form gap-free, linked ledgers; problems lists why."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("%d problem(s): %s" % (len(problems), "; ".join(problems[:5])))


class AuditReader:
    """Reads PREFIX.audit from the beginning to its end. config: further confluent-kafka
    settings (for example SASL credentials)."""

    def __init__(self, bootstrap_servers, prefix="axiom", config=None, schema_dir=None,
                 timeout_s=30.0):
        self.contract = Contract(schema_dir)
        self.topic = prefix + ".audit"
        self.timeout_s = timeout_s
        conf = {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "axiom-audit-reader-%s" % uuid.uuid4(),  # assign() only, no commits
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
        conf.update(config or {})
        if conf["isolation.level"] != "read_committed":
            raise ValueError("the audit topic must be read with isolation.level=read_committed")
        self._c = Consumer(conf)

    def read(self):
        """Every event on the audit topic, as (kind, fields) with kind Outcome or Checkpoint;
        bytes fields are bytes. Raises on an undecodable message."""
        md = self._c.list_topics(self.topic, timeout=self.timeout_s)
        t = md.topics.get(self.topic)
        if t is None or t.error is not None:
            raise RuntimeError("topic %s does not exist" % self.topic)
        parts = sorted(t.partitions)
        self._c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in parts])
        left = set(parts)
        events = []
        idle = 0.0
        while left:
            m = self._c.poll(0.5)
            if m is None:
                idle += 0.5
                if idle > self.timeout_s:
                    raise TimeoutError("partitions %s of %s did not reach their end"
                                       % (sorted(left), self.topic))
                continue
            idle = 0.0
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    left.discard(m.partition())
                    continue
                raise RuntimeError(str(m.error()))
            _, value = self.contract.decode(m.value())
            name, fields = value["payload"]
            name = name.rsplit(".", 1)[-1]
            if name == "Outcome" and "kind" not in fields:
                fields["kind"] = "TICK" if is_tick(fields) else "COMMAND"
            events.append((name, fields))
        return events

    def close(self):
        self._c.close()


def is_tick(outcome):
    """True for the outcome of a tick (the applier's own control message that moves the
    control watermark): count ticks apart from commands."""
    if "kind" in outcome:
        return outcome["kind"] == "TICK"
    return outcome["decision"] == "ACCEPTED" and outcome["reason_code"] == "tick"


def previous_hash(outcome):
    for k in PREVIOUS_HASH_FIELDS:
        if k in outcome:
            return outcome[k]
    return None


def verify(events):
    """Check the ledgers that the outcomes of events form; returns {(topic, partition):
    [outcome by seq]}; raises ChainError listing every problem."""
    problems = []
    ledgers = {}
    for kind, o in events:
        if kind != "Outcome":
            continue
        seqs = ledgers.setdefault((o["topic"], o["partition"]), {})
        seen = seqs.get(o["ledger_seq"])
        if seen is not None and seen["ledger_hash"] != o["ledger_hash"]:
            problems.append("%s/%d seq %d: two outcomes with different hashes"
                            % (o["topic"], o["partition"], o["ledger_seq"]))
        seqs[o["ledger_seq"]] = o
    chains = {}
    for (topic, part), seqs in sorted(ledgers.items()):
        chain = [seqs[s] for s in sorted(seqs)]
        for i, o in enumerate(chain):
            if o["ledger_seq"] != i + 1:
                problems.append("%s/%d: seq %d where %d was expected (a gap)"
                                % (topic, part, o["ledger_seq"], i + 1))
                break
            prev = previous_hash(o)
            want = chain[i - 1]["ledger_hash"] if i > 0 else bytes(32)
            if prev is not None and prev != want:
                problems.append("%s/%d seq %d: previous hash %s is not the hash %s before it"
                                % (topic, part, o["ledger_seq"], prev.hex(), want.hex()))
        chains[(topic, part)] = chain
    for kind, c in events:
        if kind != "Checkpoint":
            continue
        o = ledgers.get((c["topic"], c["partition"]), {}).get(c["ledger_seq"])
        if o is not None and o["ledger_hash"] != c["ledger_hash"]:
            problems.append("%s/%d: checkpoint at seq %d names another hash than its outcome"
                            % (c["topic"], c["partition"], c["ledger_seq"]))
    if problems:
        raise ChainError(problems)
    return chains
