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

BENCH_LOOP(loop_none, (void)0)
BENCH_LOOP(loop_lttng, lttng_ust_tracepoint(bench_lttng, hot, i, acc))

/* burst: as bench_tp's, each burst fits the session's buffer and the pause lets
 * lttng-consumerd take it, so every timed event is recorded (none discarded). */
static const struct bench_mode modes[] = {
	{ "none", loop_none, false },
	{ "disabled", loop_lttng, false },
	{ "burst", loop_lttng, true },
};

int main(int argc, char **argv)
{
	return bench_main(argc, argv, modes, sizeof(modes) / sizeof(modes[0]));
}
