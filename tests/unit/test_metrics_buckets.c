/* SPDX-License-Identifier: MIT */
/* metrics_buckets: hist and lhist buckets as Prometheus "le" bounds. */
#include <stdint.h>

#include "check.h"
#include "daemon/control/metrics_buckets.h"

static struct sled_agg_spec lhist(int64_t lo, int64_t hi, int64_t step)
{
	struct sled_agg_spec s = { .func = SLED_AGG_LHIST, .lmin = lo, .lmax = hi, .lstep = step };

	return s;
}

/* The bound of bucket b, or INT64_MIN standing for +Inf. */
static int64_t le_of(const struct sled_agg_spec *s, unsigned nb, unsigned b)
{
	int64_t le;

	return metrics_bucket_le(s, nb, b, &le) ? le : INT64_MIN;
}

TEST(hist_bounds_are_high_minus_one)
{
	struct sled_agg_spec s = { .func = SLED_AGG_HIST };
	unsigned nb = SLED_AGG_HIST_BUCKETS;

	CHECK_EQ_INT(le_of(&s, nb, 0), -1);  /* negatives */
	CHECK_EQ_INT(le_of(&s, nb, 1), 0);   /* zero */
	CHECK_EQ_INT(le_of(&s, nb, 2), 1);   /* [1, 2) */
	CHECK_EQ_INT(le_of(&s, nb, 3), 3);   /* [2, 4) */
	CHECK_EQ_INT(le_of(&s, nb, 11), 1023); /* [512, 1024) */
	CHECK_EQ_INT(le_of(&s, nb, 64), INT64_MAX); /* [2^62, 2^63) */
	CHECK(!metrics_bucket_le(&s, nb, 65, &(int64_t){ 0 })); /* [2^63, 2^64): +Inf */
	CHECK_EQ_INT(metrics_bucket_first(&s, true), 0);
	CHECK_EQ_INT(metrics_bucket_first(&s, false), 1);
}

TEST(lhist_below_min_steps_and_from_max_on)
{
	/* lhist(F, 0, 1000, 100): below 0, ten steps, 1000 and above: 12 buckets. */
	struct sled_agg_spec s = lhist(0, 1000, 100);

	CHECK_EQ_INT(le_of(&s, 12, 0), -1);
	CHECK_EQ_INT(le_of(&s, 12, 1), 99);
	CHECK_EQ_INT(le_of(&s, 12, 10), 999);
	CHECK_EQ_INT(le_of(&s, 12, 11), INT64_MIN);
	CHECK_EQ_INT(metrics_bucket_first(&s, true), 0);
}

TEST(lhist_last_step_ends_at_max)
{
	/* lhist(F, -5, 10, 4): [-5,-1) [-1,3) [3,7) [7,10): the last step is cut at MAX. */
	struct sled_agg_spec s = lhist(-5, 10, 4);

	CHECK_EQ_INT(le_of(&s, 6, 0), -6);
	CHECK_EQ_INT(le_of(&s, 6, 1), -2);
	CHECK_EQ_INT(le_of(&s, 6, 3), 6);
	CHECK_EQ_INT(le_of(&s, 6, 4), 9);
	CHECK_EQ_INT(le_of(&s, 6, 5), INT64_MIN);
}

TEST(lhist_near_the_int64_limits_does_not_overflow)
{
	struct sled_agg_spec s = lhist(INT64_MAX - 10, INT64_MAX, 4);
	struct sled_agg_spec low = lhist(INT64_MIN, INT64_MIN + 8, 4);

	/* [MAX-10, MAX-6) [MAX-6, MAX-2) [MAX-2, MAX): 5 buckets. */
	CHECK_EQ_INT(le_of(&s, 5, 1), INT64_MAX - 7);
	CHECK_EQ_INT(le_of(&s, 5, 3), INT64_MAX - 1);
	CHECK_EQ_INT(le_of(&s, 5, 4), INT64_MIN);
	/* Nothing is below INT64_MIN: the first bound is the first step's. */
	CHECK_EQ_INT(metrics_bucket_first(&low, true), 1);
	CHECK_EQ_INT(le_of(&low, 4, 1), INT64_MIN + 3);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(hist_bounds_are_high_minus_one),
		TEST_ENTRY(lhist_below_min_steps_and_from_max_on),
		TEST_ENTRY(lhist_last_step_ends_at_max),
		TEST_ENTRY(lhist_near_the_int64_limits_does_not_overflow),
	};

	return RUN_TESTS(tests);
}
