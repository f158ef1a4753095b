/* SPDX-License-Identifier: MIT */
/*
 * What the in-process benchmarks (bench_tp, bench_lttng) share: a monotonic clock, the
 * median of repeated runs, and the "ready <pid>" / "go" handshake by which the driver
 * attaches a consumer (probectl, bpftrace, an LTTng session) before the timed part.
 */
#ifndef SLED_BENCH_COMMON_H
#define SLED_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The same loop several ways; noinline and aligned so that every variant gets the same
 * code placement (a loop that straddles a fetch boundary costs a cycle more). */
#define LOOP_ATTRS __attribute__((noinline, aligned(64)))

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void wait_go(void)
{
	char line[64];

	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(1);
}

#endif
