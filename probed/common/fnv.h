/* SPDX-License-Identifier: MIT */
/*
 * fnv: FNV-1a, 64-bit, the one hash of probed's hash tables (string pool, aggregation
 * tables, Forward tags) and fingerprints.  Fast on short keys, no seed: the tables hold
 * what the daemon itself chose to insert, bounded by their own limits.
 */
#ifndef SLED_COMMON_FNV_H
#define SLED_COMMON_FNV_H

#include <stddef.h>
#include <stdint.h>

#define SLED_FNV_OFFSET 0xcbf29ce484222325ull /* 14695981039346656037 */
#define SLED_FNV_PRIME  0x100000001b3ull     /* 1099511628211 */

/* h (SLED_FNV_OFFSET to start) continued over len bytes of data. */
static inline uint64_t sled_fnv1a_more(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * SLED_FNV_PRIME;
	return h;
}

static inline uint64_t sled_fnv1a(const void *data, size_t len)
{
	return sled_fnv1a_more(SLED_FNV_OFFSET, data, len);
}

#endif /* SLED_COMMON_FNV_H */
