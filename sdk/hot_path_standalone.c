/* SPDX-License-Identifier: MIT */
/*
 * The runtime's globals that dispatch.c and aggregate.c use, and a made-up block, for
 * programs that compile those two files without the rest of libsled: bench_agg_insns
 * (instructions per hit under callgrind) and test_agg_table.  Not part of libsled.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hot_path_standalone.h"

struct sled_runtime sled_rt;
uint64_t sled_ring_mask;
__thread struct sled_producer sled_tls_prod __attribute__((tls_model("initial-exec")));
struct sled_range sled_site_readable[SLED_SHM_MAX_SITES];

struct sled_ring_header *sled_standalone_block(void)
{
	static struct sled_ring_header *ring;
	uint64_t stride = sled_ring_stride(SLED_STANDALONE_RING_DATA);

	if (!ring) {
		sled_rt.sites = calloc(SLED_SHM_MAX_SITES, sizeof(*sled_rt.sites));
		sled_rt.aggs = calloc(SLED_SHM_MAX_AGGS, sizeof(*sled_rt.aggs));
		ring = aligned_alloc(4096, (stride + 4095) & ~4095ull);
		if (!sled_rt.sites || !sled_rt.aggs || !ring)
			abort();
		sled_rt.ring_data = SLED_STANDALONE_RING_DATA;
		sled_ring_mask = SLED_STANDALONE_RING_DATA - 1;
	}
	memset(ring, 0, stride);
	memset(sled_rt.sites, 0, SLED_SHM_MAX_SITES * sizeof(*sled_rt.sites));
	memset(sled_rt.aggs, 0, SLED_SHM_MAX_AGGS * sizeof(*sled_rt.aggs));
	memset(sled_site_readable, 0, sizeof(sled_site_readable));
	memset(&sled_tls_prod, 0, sizeof(sled_tls_prod));
	ring->tid = (uint32_t)gettid();
	sled_tls_prod.ring = ring;
	return ring;
}
