/* SPDX-License-Identifier: MIT */
/*
 * clock: the runtime stamps events with the TSC (a few cycles, no system call); the
 * daemon turns TSC values into CLOCK_REALTIME nanoseconds.  The rate is measured against
 * CLOCK_MONOTONIC over the daemon's whole life (refined at every heartbeat), and
 * realtime = monotonic + (the current realtime - monotonic offset).
 */
#ifndef SLED_CLOCK_H
#define SLED_CLOCK_H

#include <stdint.h>

#include "common/mono_clock.h" /* sled_clock_monotonic_ns */

struct sled_clock {
	uint64_t tsc0, mono0;
	double ns_per_tick;
	int64_t real_minus_mono;
};

/* Calibrate (takes about 20 ms). */
void sled_clock_init(struct sled_clock *c);
/* Refine the rate and the realtime offset; cheap, call once a second. */
void sled_clock_update(struct sled_clock *c);
uint64_t sled_clock_tsc_to_realtime(const struct sled_clock *c, uint64_t tsc);

#endif /* SLED_CLOCK_H */
