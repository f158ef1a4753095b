/* SPDX-License-Identifier: MIT */
/*
 * metrics_buckets: a hist or lhist aggregation's buckets as a Prometheus histogram's "le"
 * bounds.  Pure (the parsed expression only), so it is unit-tested on its own.
 *
 * A bucket holds the integers in [low, high), so its Prometheus bound ("less than or
 * equal") is high - 1, exactly:
 *
 *   hist:  values < 0 -> le="-1", 0 -> le="0", [1, 2) -> le="1", [2, 4) -> le="3", ...,
 *          [2^62, 2^63) -> le="9223372036854775807", [2^63, 2^64) -> le="+Inf"
 *   lhist(F, MIN, MAX, STEP): below MIN -> le="MIN-1", [MIN, MIN+STEP) -> le="MIN+STEP-1",
 *          ..., the last step ends at MAX (le="MAX-1"), MAX and above -> le="+Inf"
 */
#ifndef SLED_METRICS_BUCKETS_H
#define SLED_METRICS_BUCKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "agg/agg_expr.h"

/* The "le" bound of bucket b (of nbuckets): true with *le, or false for the bucket open
 * above ("+Inf", the last one). */
bool metrics_bucket_le(const struct sled_agg_spec *spec, unsigned nbuckets, unsigned b,
		       int64_t *le);

/* The first bucket worth a bound: one that can hold a value (hist's negative bucket only
 * for a signed value, lhist's below-MIN bucket unless MIN is INT64_MIN). */
unsigned metrics_bucket_first(const struct sled_agg_spec *spec, bool value_signed);

#endif /* SLED_METRICS_BUCKETS_H */
