/* SPDX-License-Identifier: MIT */
/*
 * metrics_aggregate: every probe's aggregations as Prometheus families, merged as
 * `probectl show` merges them (agg_collect), one source of metrics_families.c.
 *
 *   sled_aggregate{probe,expr,<keys>}             gauge: count(), sum(F), min(F), max(F),
 *                                                 avg(F) (sum/count, not truncated)
 *   sled_aggregate{probe,expr,<keys>,stat}        the same family for stats(F): one
 *                                                 sample per stat (count, sum, min, max, avg)
 *   sled_aggregate_hist_bucket{probe,expr,<keys>,le}, sled_aggregate_hist_sum{...},
 *   sled_aggregate_hist_count{...}                histogram: hist(F) and lhist(F, ...)
 *   sled_aggregate_keys{probe,expr}               gauge: keys held
 *   sled_aggregate_overflow{probe,expr}           gauge: hits of keys past --max-keys (or
 *                                                 with no slot in a thread's table)
 *   sled_aggregate_dropped{probe,expr}            gauge: hits nested in another (a signal
 *                                                 handler's), not aggregated
 *
 * The histograms are a family of their own: in the text format a histogram named X owns
 * the samples X_bucket, X_sum and X_count, and one name has one TYPE, so X cannot be
 * both the gauge sled_aggregate and a histogram.  Each key field is a label named after
 * it (metrics_key_labels: sanitised, "key_" in front of a name the families use).  The
 * buckets (metrics_buckets.h) run from the lowest that can hold a value up to the highest
 * any key of the aggregation has reached, then +Inf, so every key of an aggregation has
 * the same bounds.  Figures are gauges: show --clear starts them from nothing.  An
 * expression repeated in one probe aggregates the same hits: it is served once.  A
 * family with no sample is left out.
 */
#ifndef SLED_METRICS_AGGREGATE_H
#define SLED_METRICS_AGGREGATE_H

#include "daemon/core/daemon.h"
#include "daemon/control/metrics_text.h"

void metrics_aggregate_families(struct metrics_text *t, struct daemon *d);

#endif /* SLED_METRICS_AGGREGATE_H */
