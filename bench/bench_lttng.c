/* SPDX-License-Identifier: MIT */
/*
 * bench_lttng: bench_tp's loops with an LTTng-UST tracepoint in place of TRACEPOINT, so
 * that bench/run_bench.py can put the two tracers side by side in one run.
 *
 *   bench_lttng none|disabled ITER REPS    tight loop, ns per iteration (median); with no
 *                                          LTTng session enabling bench_lttng:hot the
 *                                          tracepoint is disabled
 *   bench_lttng burst BURST REPS           events in bursts that fit the session's buffer,
 *                                          a pause between bursts for the consumer daemon,
 *                                          ns per event (median of bursts)
 *
 * Same handshake as bench_tp: "ready <pid>", then a line on stdin starts the timed part.
 * The provider is compiled into this executable (no LD_PRELOAD, no dlopen).
 */
#define _GNU_SOURCE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_lttng_tp.h"

#include "bench_common.h"

#include <string.h>

LOOP_ATTRS static uint64_t loop_none(uint64_t n)
{
	uint64_t acc = 1;

	for (uint64_t i = 0; i < n; i++) {
		__asm__ __volatile__("" : "+r"(acc));
		acc += i;
	}
	return acc;
}

LOOP_ATTRS static uint64_t loop_lttng(uint64_t n)
{
	uint64_t acc = 1;

	for (uint64_t i = 0; i < n; i++) {
		__asm__ __volatile__("" : "+r"(acc));
		lttng_ust_tracepoint(bench_lttng, hot, i, acc);
		acc += i;
	}
	return acc;
}

int main(int argc, char **argv)
{
	static volatile uint64_t sink;
	uint64_t (*fn)(uint64_t) = NULL;
	uint64_t iter;
	double r[101];
	int reps;

	if (argc != 4) {
		fprintf(stderr, "usage: %s none|disabled|burst ITER REPS\n", argv[0]);
		return 2;
	}
	iter = strtoull(argv[2], NULL, 10);
	reps = atoi(argv[3]);
	if (reps < 1 || reps > 101 || !iter) {
		fprintf(stderr, "Error: ITER > 0, 1 <= REPS <= 101\n");
		return 2;
	}
	if (!strcmp(argv[1], "none"))
		fn = loop_none;
	else if (!strcmp(argv[1], "disabled"))
		fn = loop_lttng;
	else if (strcmp(argv[1], "burst")) {
		fprintf(stderr, "Error: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	wait_go();
	if (fn) {
		sink = fn(iter / 10); /* warm up */
		for (int k = 0; k < reps; k++) {
			uint64_t t0 = now_ns();

			sink = fn(iter);
			r[k] = (double)(now_ns() - t0) / (double)iter;
		}
	} else {
		/* As bench_tp's burst: each burst fits the buffer, the pause lets lttng-consumerd
		 * take it, so every timed event is recorded (none discarded). */
		struct timespec pause = { 0, 20 * 1000 * 1000 };

		for (int k = 0; k < reps; k++) {
			uint64_t t0 = now_ns();

			sink = loop_lttng(iter);
			r[k] = (double)(now_ns() - t0) / (double)iter;
			nanosleep(&pause, NULL);
		}
	}
	printf("%.3f\n", median(r, reps));
	(void)sink;
	return 0;
}
