/*
 * ax_partition.h - the partitioner of the data topic (docs/producers.md section 3): Kafka's
 * murmur2, as the Java client's default partitioner and librdkafka's murmur2 partitioners
 * compute it.
 *
 * Invariants: pure (no I/O, no state); ax_murmur2 equals org.apache.kafka.common.utils.
 * Utils.murmur2 bit for bit (as an unsigned value); ax_partition_of_key is
 * (murmur2(key) & 0x7fffffff) % partitions.
 * @locality: none (thread-safe).
 */
#ifndef AX_PARTITION_H
#define AX_PARTITION_H

#include <stddef.h>
#include <stdint.h>

/* Kafka's murmur2 (seed 0x9747b28c) of p[0..n). */
uint32_t ax_murmur2(const void *p, size_t n);

/* The partition of key p[0..n) on a topic of partitions partitions (> 0). */
int32_t ax_partition_of_key(const void *p, size_t n, int32_t partitions);

#endif
