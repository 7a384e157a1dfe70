/*
 * ax_partition.c - Kafka's murmur2 partitioner; see ax_partition.h.
 */
#include "ax_partition.h"

#define SEED 0x9747b28cu
#define MIX  0x5bd1e995u

uint32_t
ax_murmur2(const void *p, size_t n)
{
	const uint8_t *d = p;
	uint32_t h = SEED ^ (uint32_t)n;
	size_t i = 0;

	for (; n - i >= 4; i += 4) {
		uint32_t k = (uint32_t)d[i] | (uint32_t)d[i + 1] << 8 | (uint32_t)d[i + 2] << 16 |
		             (uint32_t)d[i + 3] << 24;

		k *= MIX;
		k ^= k >> 24;
		k *= MIX;
		h *= MIX;
		h ^= k;
	}
	switch (n - i) {
	case 3:
		h ^= (uint32_t)d[i + 2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)d[i + 1] << 8;
		/* fall through */
	case 1:
		h ^= d[i];
		h *= MIX;
		break;
	default:
		break;
	}
	h ^= h >> 13;
	h *= MIX;
	h ^= h >> 15;
	return h;
}

int32_t
ax_partition_of_key(const void *p, size_t n, int32_t partitions)
{
	return (int32_t)((ax_murmur2(p, n) & 0x7fffffffu) % (uint32_t)partitions);
}
