/* SPDX-License-Identifier: MIT */
/* metrics_buckets: see metrics_buckets.h. */
#include "daemon/control/metrics_buckets.h"

bool metrics_bucket_le(const struct sled_agg_spec *spec, unsigned nbuckets, unsigned b,
		       int64_t *le)
{
	uint64_t span, offset;

	if (!nbuckets || b >= nbuckets - 1)
		return false; /* hist's [2^63, 2^64), lhist's MAX and above */
	if (spec->func == SLED_AGG_HIST) {
		/* 0: negatives, 1: zero, 2 + k: [2^k, 2^(k+1)) */
		*le = b == 0 ? -1 : b == 1 ? 0 : (int64_t)((1ull << (b - 1)) - 1);
		return true;
	}
	if (b == 0) {
		*le = spec->lmin - 1; /* not asked for when MIN is INT64_MIN (metrics_bucket_first) */
		return true;
	}
	/* Step b - 1 ends at MIN + b * STEP, or at MAX for the last one; in uint64 arithmetic
	 * as the parser checks the span, so nothing overflows near the int64 limits. */
	span = (uint64_t)spec->lmax - (uint64_t)spec->lmin;
	offset = (uint64_t)b * (uint64_t)spec->lstep;
	*le = (int64_t)((uint64_t)spec->lmin + (offset < span ? offset : span) - 1);
	return true;
}

unsigned metrics_bucket_first(const struct sled_agg_spec *spec, bool value_signed)
{
	if (spec->func == SLED_AGG_HIST)
		return value_signed ? 0 : 1;
	return spec->lmin == INT64_MIN ? 1 : 0;
}
