"""Publishing commands to Axiom (docs/producers.md).

Invariants:
  - a control command goes to PREFIX.control partition 0, with no key;
  - a data command goes to PREFIX.commands with key = its lineage id as 36-character
    lower-case text, on partition (murmur2(key) & 0x7fffffff) % partitions, passed
    explicitly to produce(), so no partitioner setting can put it elsewhere;
  - the producer is idempotent with acks=all, so a retry neither duplicates nor reorders
    messages within a partition; publish() returns only when every message was acknowledged
    and raises PublishError otherwise (the caller may then publish the same commands again:
    the command id makes a repeat a rejected duplicate_command, never a second change).
Threads: one AxiomProducer per thread (confluent-kafka's Producer is thread-safe, but the
delivery bookkeeping of publish() is not).
"""
import time

from confluent_kafka import KafkaException, Producer

from .contract import Contract
from .partition import key_of, partition_for

# Settings the contract depends on: refused if the caller's config changes them.
REQUIRED = {"enable.idempotence": True, "acks": "all"}


class PublishError(Exception):
    """Some commands were not acknowledged; failures lists (index, command_id, error)."""

    def __init__(self, failures):
        self.failures = failures
        super().__init__("%d command(s) not acknowledged: %s" % (
            len(failures), "; ".join("#%d %s: %s" % f for f in failures[:5])))


class Delivery:
    """Where a command was appended: topic, partition, offset and the broker's append time
    (LogAppendTime, milliseconds: the command's event time, docs/producers.md)."""

    def __init__(self, topic, partition, offset, log_append_time_ms):
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.log_append_time_ms = log_append_time_ms

    def __repr__(self):
        return "Delivery(%s/%d@%d, t=%d)" % (self.topic, self.partition, self.offset,
                                              self.log_append_time_ms)


class AxiomProducer:
    """Publishes commands (dicts whose payload is (branch, fields)) to PREFIX.control and
    PREFIX.commands. config: any further confluent-kafka settings (for example
    security.protocol, sasl.mechanism, sasl.username, sasl.password)."""

    def __init__(self, bootstrap_servers, prefix="axiom", config=None, schema_dir=None,
                 timeout_s=30.0):
        self.contract = Contract(schema_dir)
        self.topics = {"control": prefix + ".control", "data": prefix + ".commands"}
        self.timeout_s = timeout_s
        conf = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            # not consulted (every data message names its partition), but the same as the
            # Java client's, should a message ever be produced without one
            "partitioner": "murmur2_random",
            "linger.ms": 5,
            "message.timeout.ms": int(timeout_s * 1000),
        }
        for k, v in (config or {}).items():
            if k in REQUIRED and str(v).lower() != str(REQUIRED[k]).lower():
                raise ValueError("%s=%s would break the producer contract (docs/producers.md)"
                                 % (k, v))
            conf[k] = v
        self._p = Producer(conf)
        self._partitions = None

    def partitions(self):
        """The partition count of PREFIX.commands (fixed when the topics are created)."""
        if self._partitions is None:
            md = self._p.list_topics(self.topics["data"], timeout=self.timeout_s)
            t = md.topics.get(self.topics["data"])
            if t is None or t.error is not None or not t.partitions:
                raise KafkaException("topic %s does not exist (axiom topics create)"
                                     % self.topics["data"])
            self._partitions = len(t.partitions)
        return self._partitions

    def route(self, command):
        """(family, topic, partition, key, framed value) of one command, nothing sent."""
        family, value = self.contract.encode(command)
        if family == "control":
            return family, self.topics["control"], 0, None, value
        key = key_of(command["lineage_id"])
        return family, self.topics["data"], partition_for(key, self.partitions()), key, value

    def publish(self, commands):
        """Send commands in order and wait for every acknowledgement; the list of Delivery,
        in the same order. Raises PublishError when any is not acknowledged in time."""
        commands = list(commands)
        routed = [self.route(c) for c in commands]  # nothing is sent when one is invalid
        results = [None] * len(commands)
        failures = []

        def report(i):
            def cb(err, msg):
                if err is not None:
                    failures.append((i, commands[i].get("command_id"), str(err)))
                else:
                    ts_type, ts = msg.timestamp()
                    results[i] = Delivery(msg.topic(), msg.partition(), msg.offset(), ts)
            return cb

        for i, (_, topic, partition, key, value) in enumerate(routed):
            while True:
                try:
                    self._p.produce(topic, value=value, key=key, partition=partition,
                                    on_delivery=report(i))
                    break
                except BufferError:
                    self._p.poll(0.1)
            self._p.poll(0)
        left = self._p.flush(self.timeout_s)
        for i, r in enumerate(results):
            if r is None and not any(f[0] == i for f in failures):
                failures.append((i, commands[i].get("command_id"),
                                 "no acknowledgement in time (%d still queued)" % left))
        if failures:
            raise PublishError(sorted(failures))
        return results

    def publish_after(self, deliveries, margin_ms=2):
        """Wait until this host's clock is past the latest append time of deliveries (plus
        margin_ms). Not needed for correct decisions since db/0022 (a control command governs
        commands appended at its own instant: publish() returning is enough, docs/producers.md
        "Event time and tie rules"); kept for producers that want strictly later event times."""
        last = max((d.log_append_time_ms for d in deliveries), default=0)
        while time.time() * 1000 <= last + margin_ms:
            time.sleep(0.001)

    def close(self):
        self._p.flush(self.timeout_s)
