/* SPDX-License-Identifier: MIT */
/*
 * The LTTng-UST tracepoint provider of bench_lttng: one event with the same two 64-bit
 * integers as bench_tp's TRACEPOINT(bench, hot, i, acc), so that the two tracers record
 * the same payload.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER bench_lttng

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "bench_lttng_tp.h"

#if !defined(SLED_BENCH_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define SLED_BENCH_LTTNG_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(bench_lttng, hot,
	LTTNG_UST_TP_ARGS(uint64_t, i, uint64_t, acc),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, i, i)
		lttng_ust_field_integer(uint64_t, acc, acc)
	)
)

#endif

#include <lttng/tracepoint-event.h>
