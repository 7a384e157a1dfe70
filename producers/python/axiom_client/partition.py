"""Axiom's partitioner: murmur2 exactly as the Java client's default partitioner.

partition = (murmur2(key_bytes) & 0x7fffffff) % partitions, where key_bytes is the lineage id
as 36-character lower-case UTF-8 text (docs/producers.md, "Key and partition"). The applier
refuses a data command whose key or partition differs (key_not_lineage, wrong_partition).
"""

SEED = 0x9747B28C
M = 0x5BD1E995
MASK = 0xFFFFFFFF


def murmur2(data):
    """Kafka's murmur2 of bytes, as a signed 32-bit int (org.apache.kafka.common.utils.Utils)."""
    n = len(data)
    h = (SEED ^ n) & MASK
    i = 0
    while n - i >= 4:
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * M) & MASK
        k ^= k >> 24
        k = (k * M) & MASK
        h = (h * M) & MASK
        h ^= k
        i += 4
    rest = n - i
    if rest == 3:
        h ^= data[i + 2] << 16
    if rest >= 2:
        h ^= data[i + 1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * M) & MASK
    h ^= h >> 13
    h = (h * M) & MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def key_of(lineage_id):
    """The message key of a data command: its lineage id as 36-character lower-case text."""
    return str(lineage_id).lower().encode("ascii")


def partition_for(key, partitions):
    """The partition of a key (bytes) on a topic of that many partitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
