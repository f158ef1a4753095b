/* SPDX-License-Identifier: MIT */
/*
 * bench_agg: the cost of an aggregated hit, measured in-process.  bench/run_agg_bench.py
 * enables an aggregation (sled mode, or bpftrace on the same site) between "ready" and
 * "go", then reads the median ns per iteration.
 *
 *   bench_agg int ITER REPS   bagg:req(key = i & 63, len): count() by (key), hist(len)
 *   bench_agg str ITER REPS   bagg:path(path = one of 8 literals, i): count() by (path)
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include "bench_common.h"

LOOP_ATTRS static uint64_t loop_int(uint64_t n)
{
	uint64_t acc = 1;

	for (uint64_t i = 0; i < n; i++) {
		int64_t key = (int64_t)(i & 63), len = (int64_t)((i * 2654435761u) & 0xffff);

		__asm__ __volatile__("" : "+r"(acc));
		TRACEPOINT(bagg, req, key, len);
		acc += i;
	}
	return acc;
}

LOOP_ATTRS static uint64_t loop_str(uint64_t n)
{
	static const char *const paths[8] = { "/index.html", "/about.html", "/api/v1/users",
					      "/api/v1/orders", "/static/app.js", "/static/app.css",
					      "/login", "/logout" };
	uint64_t acc = 1;

	for (uint64_t i = 0; i < n; i++) {
		__asm__ __volatile__("" : "+r"(acc));
		TRACEPOINT(bagg, path, TP_FIELD(path, paths[i & 7]), i);
		acc += i;
	}
	return acc;
}

/* The warm-up run makes the table's keys exist and maps its pages. */
static const struct bench_mode modes[] = {
	{ "int", loop_int, false },
	{ "str", loop_str, false },
};

int main(int argc, char **argv)
{
	return bench_main(argc, argv, modes, sizeof(modes) / sizeof(modes[0]));
}
