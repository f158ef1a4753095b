/* SPDX-License-Identifier: MIT */
/*
 * mono_clock: the daemon's and the exporters' one reading of the system clocks.  Deadlines,
 * timeouts and the once-a-second work run on CLOCK_MONOTONIC (it never jumps); only event
 * timestamps are converted to CLOCK_REALTIME (daemon/core/clock.h).
 */
#ifndef SLED_COMMON_MONO_CLOCK_H
#define SLED_COMMON_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Any clock, in ns. */
static inline uint64_t sled_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t sled_clock_monotonic_ns(void)
{
	return sled_clock_ns(CLOCK_MONOTONIC);
}

static inline int64_t sled_clock_monotonic_ms(void)
{
	return (int64_t)(sled_clock_monotonic_ns() / 1000000u);
}

#endif /* SLED_COMMON_MONO_CLOCK_H */
