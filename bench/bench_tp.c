/* SPDX-License-Identifier: MIT */
/*
 * bench_tp: the cost of a tracepoint site, measured in-process.  bench/run_bench.py drives
 * it (enables probes between phases) and prints the table; run it alone to see the modes.
 *
 *   bench_tp none|disabled|sdt ITER REPS          tight loop, ns per iteration (median)
 *   bench_tp guard|guard-sem ITER REPS            the same loop with a disabled guard:
 *                                                 TRACEPOINT_ENABLED (a NOP) or
 *                                                 TRACEPOINT_ENABLED_SEM (NOP, load, branch)
 *   bench_tp work-none|work-disabled ITER REPS    a loop doing ~40 ns of real work
 *   bench_tp burst BURST REPS                     events in bursts that fit the ring,
 *                                                 ns per event (median of bursts)
 *   bench_tp burst-str BURST REPS                 the same with an int and a 12-byte string
 *                                                 literal (bench:hotstr)
 *   bench_tp burst-stackstr BURST REPS            ... a 12-byte string in a buffer on the
 *                                                 loop's stack (bench:stackstr)
 *   bench_tp burst-heapstr BURST REPS             ... a 12-byte string on the heap
 *                                                 (bench:heapstr)
 *
 * Each mode first prints "ready <pid>" and waits for a line on stdin, so the driver can
 * attach a probe (probectl enable, bpftrace) before the timed part starts.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>
#include <sys/sdt.h>

#include "bench_common.h"

#include <string.h>

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

static const char *const names[2] = { "/index.html", "/about.html" };

BENCH_LOOP(loop_none, (void)0)
BENCH_LOOP(loop_disabled, TRACEPOINT(bench, hot, i, acc))
BENCH_LOOP(loop_sdt, STAP_PROBE2(bench, sdt, i, acc))
BENCH_LOOP(loop_str, TRACEPOINT(bench, hotstr, i, names[i & 1]))

/* The same strings in a buffer of the loop's own frame: sled mode copies them by loads
 * (they lie between the site's %rsp and the stack's top). */
LOOP_ATTRS static uint64_t loop_stackstr(uint64_t n)
{
	char on_stack[2][16];
	uint64_t acc = 1;

	strcpy(on_stack[0], names[0]);
	strcpy(on_stack[1], names[1]);
	for (uint64_t i = 0; i < n; i++) {
		__asm__ __volatile__("" : "+r"(acc));
		TRACEPOINT(bench, stackstr, i, on_stack[i & 1]);
		acc += i;
	}
	return acc;
}

/* ... and on the heap: read through the kernel. */
static char *on_heap[2];
BENCH_LOOP(loop_heapstr, TRACEPOINT(bench, heapstr, i, on_heap[i & 1]))
BENCH_LOOP(loop_guard, if (TRACEPOINT_ENABLED(bench, guard)) TRACEPOINT(bench, guard, i, acc))
BENCH_LOOP(loop_guard_sem,
	   if (TRACEPOINT_ENABLED_SEM(bench, guard_sem)) TRACEPOINT(bench, guard_sem, i, acc))

/* ~40 ns of dependent integer work per iteration: a small hash over 64 bytes. */
static inline uint64_t work(uint64_t x)
{
	for (int k = 0; k < 16; k++)
		x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ull + (uint64_t)k;
	return x;
}

LOOP_ATTRS static uint64_t loop_work_none(uint64_t n)
{
	uint64_t acc = 1;

	for (uint64_t i = 0; i < n; i++)
		acc = work(acc + i);
	return acc;
}

LOOP_ATTRS static uint64_t loop_work_disabled(uint64_t n)
{
	uint64_t acc = 1;

	for (uint64_t i = 0; i < n; i++) {
		acc = work(acc + i);
		TRACEPOINT(bench, work, i, acc);
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
		fprintf(stderr, "usage: %s MODE ITER REPS\n", argv[0]);
		return 2;
	}
	iter = strtoull(argv[2], NULL, 10);
	reps = atoi(argv[3]);
	if (reps < 1 || reps > 101 || !iter) {
		fprintf(stderr, "bench_tp: ITER > 0, 1 <= REPS <= 101\n");
		return 2;
	}
	if (!strcmp(argv[1], "none"))
		fn = loop_none;
	else if (!strcmp(argv[1], "disabled"))
		fn = loop_disabled;
	else if (!strcmp(argv[1], "sdt"))
		fn = loop_sdt;
	else if (!strcmp(argv[1], "guard"))
		fn = loop_guard;
	else if (!strcmp(argv[1], "guard-sem"))
		fn = loop_guard_sem;
	else if (!strcmp(argv[1], "work-none"))
		fn = loop_work_none;
	else if (!strcmp(argv[1], "work-disabled"))
		fn = loop_work_disabled;
	else if (strcmp(argv[1], "burst") && strcmp(argv[1], "burst-str") &&
		 strcmp(argv[1], "burst-stackstr") && strcmp(argv[1], "burst-heapstr")) {
		fprintf(stderr, "bench_tp: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	on_heap[0] = strdup(names[0]);
	on_heap[1] = strdup(names[1]);
	if (!on_heap[0] || !on_heap[1])
		return 1;
	wait_go();
	if (fn) {
		sink = fn(iter / 10); /* warm up */
		for (int k = 0; k < reps; k++) {
			uint64_t t0 = now_ns();

			sink = fn(iter);
			r[k] = (double)(now_ns() - t0) / (double)iter;
		}
	} else {
		/* Bursts that fit one ring (8192 records of 32 bytes), a pause for the daemon to
		 * drain between them: the cost of an event that is recorded, not dropped. */
		struct timespec pause = { 0, 20 * 1000 * 1000 };
		uint64_t (*burst)(uint64_t) = !argv[1][5]                        ? loop_disabled
					      : !strcmp(argv[1], "burst-str")      ? loop_str
					      : !strcmp(argv[1], "burst-stackstr") ? loop_stackstr
										   : loop_heapstr;

		for (int k = 0; k < reps; k++) {
			uint64_t t0 = now_ns();

			sink = burst(iter);
			r[k] = (double)(now_ns() - t0) / (double)iter;
			nanosleep(&pause, NULL);
		}
	}
	printf("%.3f\n", median(r, reps));
	(void)sink;
	return 0;
}
