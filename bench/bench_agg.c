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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOOP_ATTRS __attribute__((noinline, aligned(64)))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static volatile uint64_t sink;
	uint64_t (*fn)(uint64_t);
	double r[101];
	uint64_t iter;
	char line[64];
	int reps;

	if (argc != 4 || (strcmp(argv[1], "int") && strcmp(argv[1], "str"))) {
		fprintf(stderr, "usage: %s int|str ITER REPS\n", argv[0]);
		return 2;
	}
	fn = argv[1][0] == 'i' ? loop_int : loop_str;
	iter = strtoull(argv[2], NULL, 10);
	reps = atoi(argv[3]);
	if (reps < 1 || reps > 101 || !iter) {
		fprintf(stderr, "bench_agg: ITER > 0, 1 <= REPS <= 101\n");
		return 2;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	sink = fn(iter / 10); /* warm up: the table's keys exist, its pages are mapped */
	for (int k = 0; k < reps; k++) {
		uint64_t t0 = now_ns();

		sink = fn(iter);
		r[k] = (double)(now_ns() - t0) / (double)iter;
	}
	qsort(r, (size_t)reps, sizeof(r[0]), cmp_double);
	printf("%.3f\n", r[reps / 2]);
	(void)sink;
	return 0;
}
