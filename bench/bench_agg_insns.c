/* SPDX-License-Identifier: MIT */
/*
 * bench_agg_insns: the dispatcher's work per hit, with no daemon, no trampoline and no
 * patched site, so that `valgrind --tool=callgrind --toggle-collect=sled_dispatch` counts
 * exactly the instructions of sled_dispatch (and the aggregation under it) for N hits.
 * dispatch.c and aggregate.c are compiled into this program (see CMakeLists.txt); the
 * block is made up here the way probed sets one up: one site, one lane, one descriptor.
 *
 *   bench_agg_insns int|hist|str|event N
 *     int    count() by (key), key = i & 63           (SLED_LANES_AGG)
 *     hist   hist(len), len = (i * 2654435761) & 0xffff
 *     str    count() by (path), one of 8 literals in the site's readable memory
 *     event  a plain enabled event with two integers  (SLED_LANES_FAST)
 *
 * Prints the hits and the ns per hit (wall clock, for a rough figure outside valgrind).
 * bench/agg_insns.sh runs it under callgrind for N and 2N hits: the difference over N is
 * the instructions of one hit, table inserts and start-up excluded.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sled/tracepoint.h>

#include "hot_path_standalone.h"

#define RING_DATA SLED_STANDALONE_RING_DATA

/* The string keys, in one object with room for a whole window after the last. */
static const char pool[] = "/index.html\0/about.html\0/api/v1/users\0/api/v1/orders\0"
			   "/static/app.js\0/static/app.css\0/login\0/logout\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

static void reg_arg(struct sled_shm_arg *a, unsigned reg, uint8_t type)
{
	a->kind = SLED_A_REG;
	a->size = 8;
	a->is_signed = type == SLED_T_I64;
	a->type = type;
	a->reg = (uint8_t)reg;
	a->index = SLED_R_NONE;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *paths[8];
	struct sled_shm_site *site;
	struct sled_shm_agg *a;
	struct sled_ring_header *ring;
	uint64_t regs[SLED_R_COUNT] = { 0 }, n, t0;
	const char *mode;

	if (argc != 3 || !(n = strtoull(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: %s int|hist|str|event N\n", argv[0]);
		return 2;
	}
	mode = argv[1];
	for (unsigned k = 0, off = 0; k < 8; k++, off += (unsigned)strlen(pool + off) + 1)
		paths[k] = pool + off;
	ring = sled_standalone_block();
	sled_site_readable[0] = (struct sled_range){ (uint64_t)(uintptr_t)pool,
						     (uint64_t)(uintptr_t)pool + sizeof(pool) };

	site = &sled_rt.sites[0];
	site->kind = SLED_SITE_SLOT_TRACEPOINT;
	site->nargs = 2;
	reg_arg(&site->args[0], SLED_R_RDI, strcmp(mode, "str") ? SLED_T_I64 : SLED_T_STRING);
	reg_arg(&site->args[1], SLED_R_RSI, SLED_T_I64);
	a = &sled_rt.aggs[0];
	a->tag = 1u | 1u << 16;
	a->value_arg = SLED_AGG_NO_VALUE;
	a->flags = SLED_AGG_F_INT_KEYS;
	if (!strcmp(mode, "int")) {
		a->nkeys = 1;
		a->key_len = 8;
	} else if (!strcmp(mode, "hist")) {
		a->value_arg = 1;
		a->value_signed = 1;
		a->bucketing = SLED_AGG_B_HIST;
		a->nbuckets = SLED_AGG_HIST_BUCKETS;
	} else if (!strcmp(mode, "str")) {
		site->flags = SLED_SITE_F_STRINGS;
		a->nkeys = 1;
		a->key_string[0] = 1;
		a->key_len = SLED_AGG_STR_KEY;
		a->flags = 0;
		site->lane[0].agg_strings = 1;
	} else if (strcmp(mode, "event")) {
		fprintf(stderr, "bench_agg_insns: unknown mode '%s'\n", mode);
		return 2;
	}
	if (!strcmp(mode, "event")) {
		site->lanes = SLED_LANES_FAST | 1u;
	} else {
		site->lane[0].agg[0] = 1;
		site->lanes = SLED_LANES_AGG | 1u;
	}

	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		regs[SLED_R_RDI] = mode[0] == 's' ? (uint64_t)(uintptr_t)paths[i & 7] : i & 63;
		regs[SLED_R_RSI] = (i * 2654435761u) & 0xffff;
		sled_dispatch(regs, 0);
		ring->tail = ring->head; /* the consumer keeps up */
	}
	t0 = now_ns() - t0;

	/* What the table holds: every hit counted once, nothing dropped or overflowed. */
	{
		struct sled_agg_area *area = sled_ring_agg(ring, RING_DATA);
		uint64_t total = 0;

		for (unsigned i = 0; i < SLED_AGG_SLOTS; i++)
			if (area->slots[i].tag == a->tag)
				total += area->slots[i].count;
		if (strcmp(mode, "event") && (total != n || area->counters[0].overflow ||
					      area->counters[0].dropped)) {
			fprintf(stderr, "bench_agg_insns: %llu hits counted of %llu\n",
				(unsigned long long)total, (unsigned long long)n);
			return 1;
		}
	}
	printf("%llu hits, %.2f ns a hit\n", (unsigned long long)n, (double)t0 / (double)n);
	return 0;
}
