/* SPDX-License-Identifier: MIT */
/*
 * What the in-process benchmarks (bench_tp, bench_lttng, bench_agg) share: the loop shape,
 * a monotonic clock, the median of repeated runs, the "MODE ITER REPS" command line, and
 * the "ready <pid>" / "go" handshake by which the driver attaches a consumer (probectl,
 * bpftrace, an LTTng session) before the timed part.  A benchmark is its loops and a
 * table of modes; bench_main does the rest.
 */
#ifndef SLED_BENCH_COMMON_H
#define SLED_BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The same loop several ways; noinline and aligned so that every variant gets the same
 * code placement (a loop that straddles a fetch boundary costs a cycle more). */
#define LOOP_ATTRS __attribute__((noinline, aligned(64)))

/* One loop: each iteration runs what the variant adds (site) between the same two
 * steps. */
#define BENCH_LOOP(name, site)                                                              \
	LOOP_ATTRS static uint64_t name(uint64_t n)                                         \
	{                                                                                   \
		uint64_t acc = 1;                                                           \
                                                                                            \
		for (uint64_t i = 0; i < n; i++) {                                          \
			__asm__ __volatile__("" : "+r"(acc));                               \
			site;                                                               \
			acc += i;                                                           \
		}                                                                           \
		return acc;                                                                 \
	}

#define BENCH_MAX_REPS 101

/* A mode of a benchmark: its name on the command line and the loop it times.  A burst
 * mode runs the loop REPS times with a pause after each for the consumer to drain, so
 * that every timed event is recorded, not dropped; the others warm up first. */
struct bench_mode {
	const char *name;
	uint64_t (*loop)(uint64_t n);
	bool burst;
};

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

/* ITER and REPS from the command line: whole numbers, ITER > 0, 1 <= REPS <= 101. */
static inline bool bench_parse_counts(const char *is, const char *rs, uint64_t *iter, int *reps)
{
	char *end;
	unsigned long long i, r;

	if (*is < '0' || *is > '9' || *rs < '0' || *rs > '9')
		return false;
	i = strtoull(is, &end, 10);
	if (*end)
		return false;
	r = strtoull(rs, &end, 10);
	if (*end || !i || r < 1 || r > BENCH_MAX_REPS)
		return false;
	*iter = i;
	*reps = (int)r;
	return true;
}

/*
 * The whole of a benchmark's main: MODE ITER REPS from argv, MODE one of modes[0..n).
 * Prints "ready <pid>", waits for "go", times the mode's loop and prints the median ns
 * per iteration.  Bad arguments: a one-line error and 2.
 */
static inline int bench_main(int argc, char **argv, const struct bench_mode *modes, size_t n)
{
	static volatile uint64_t sink;
	const struct bench_mode *m = NULL;
	double r[BENCH_MAX_REPS];
	uint64_t iter;
	int reps;

	if (argc != 4) {
		fprintf(stderr, "usage: %s", argv[0]);
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "%c%s", k ? '|' : ' ', modes[k].name);
		fprintf(stderr, " ITER REPS\n");
		return 2;
	}
	for (size_t k = 0; k < n && !m; k++)
		if (!strcmp(argv[1], modes[k].name))
			m = &modes[k];
	if (!m) {
		fprintf(stderr, "%s: unknown mode '%s'\n", argv[0], argv[1]);
		return 2;
	}
	if (!bench_parse_counts(argv[2], argv[3], &iter, &reps)) {
		fprintf(stderr, "%s: ITER > 0, 1 <= REPS <= %d\n", argv[0], BENCH_MAX_REPS);
		return 2;
	}
	wait_go();
	if (!m->burst)
		sink = m->loop(iter / 10); /* warm up: pages mapped, caches and tables filled */
	for (int k = 0; k < reps; k++) {
		/* The pause between bursts lets the consumer (probed, lttng-consumerd) drain. */
		struct timespec pause = { 0, 20 * 1000 * 1000 };
		uint64_t t0 = now_ns();

		sink = m->loop(iter);
		r[k] = (double)(now_ns() - t0) / (double)iter;
		if (m->burst)
			nanosleep(&pause, NULL);
	}
	printf("%.3f\n", median(r, reps));
	(void)sink;
	return 0;
}

#endif
