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

static const char *const names[2] = { "/index.html", "/about.html" };

BENCH_LOOP(loop_none, (void)0)
BENCH_LOOP(loop_disabled, TRACEPOINT(bench, hot, i, acc))
BENCH_LOOP(loop_sdt, STAP_PROBE2(bench, sdt, i, acc))
BENCH_LOOP(loop_str, TRACEPOINT(bench, hotstr, i, names[i & 1]))

/* The same strings in a buffer of the loop's own frame (this leaf keeps it in its red
 * zone): sled mode copies them by loads, as they lie between the site's red zone and the
 * stack's top. */
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

/* burst, burst-*str: bursts that fit one ring (8192 records of 32 bytes), a pause for the
 * daemon to drain between them: the cost of an event that is recorded, not dropped. */
static const struct bench_mode modes[] = {
	{ "none", loop_none, false },
	{ "disabled", loop_disabled, false },
	{ "sdt", loop_sdt, false },
	{ "guard", loop_guard, false },
	{ "guard-sem", loop_guard_sem, false },
	{ "work-none", loop_work_none, false },
	{ "work-disabled", loop_work_disabled, false },
	{ "burst", loop_disabled, true },
	{ "burst-str", loop_str, true },
	{ "burst-stackstr", loop_stackstr, true },
	{ "burst-heapstr", loop_heapstr, true },
};

int main(int argc, char **argv)
{
	/* Set up before the modes run: a heap string is read through the kernel. */
	on_heap[0] = strdup(names[0]);
	on_heap[1] = strdup(names[1]);
	if (!on_heap[0] || !on_heap[1])
		return 1;
	return bench_main(argc, argv, modes, sizeof(modes) / sizeof(modes[0]));
}
