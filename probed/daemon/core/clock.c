/* SPDX-License-Identifier: MIT */
#include <time.h>
#include <x86intrin.h>

#include "daemon/core/clock.h"

/* A (tsc, monotonic) pair taken as close together as possible: the tightest of a few. */
static void sample(uint64_t *tsc, uint64_t *mono)
{
	uint64_t best = ~0ull;

	for (int i = 0; i < 5; i++) {
		uint64_t t0 = __rdtsc(), m = sled_clock_monotonic_ns(), t1 = __rdtsc();

		if (i == 0 || t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*mono = m;
		}
	}
}

static void update_offset(struct sled_clock *c)
{
	uint64_t m0 = sled_clock_monotonic_ns(), r = sled_clock_ns(CLOCK_REALTIME), m1 = sled_clock_monotonic_ns();

	c->real_minus_mono = (int64_t)r - (int64_t)(m0 + (m1 - m0) / 2);
}

void sled_clock_init(struct sled_clock *c)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	uint64_t tsc1, mono1;

	sample(&c->tsc0, &c->mono0);
	nanosleep(&pause, NULL);
	sample(&tsc1, &mono1);
	c->ns_per_tick = (double)(mono1 - c->mono0) / (double)(tsc1 - c->tsc0);
	update_offset(c);
}

void sled_clock_update(struct sled_clock *c)
{
	uint64_t tsc, mono;

	sample(&tsc, &mono);
	if (tsc > c->tsc0 && mono > c->mono0)
		c->ns_per_tick = (double)(mono - c->mono0) / (double)(tsc - c->tsc0);
	update_offset(c);
}

uint64_t sled_clock_tsc_to_realtime(const struct sled_clock *c, uint64_t tsc)
{
	double d = ((double)(int64_t)(tsc - c->tsc0)) * c->ns_per_tick;

	/* tsc comes from a traced process's ring, any value: clamp before converting (an
	 * out-of-range double to integer is undefined), and add unsigned (wraps, defined). */
	if (!(d > -9.0e18))
		d = -9.0e18;
	else if (d > 9.0e18)
		d = 9.0e18;
	return c->mono0 + (uint64_t)(int64_t)d + (uint64_t)c->real_minus_mono;
}
