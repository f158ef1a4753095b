/* SPDX-License-Identifier: MIT */
/*
 * metrics_families: what GET /metrics serves, read from the daemon's state at the time of
 * the request, as status would report it (root's view: every probe).
 *
 * The families come from a table of sources in metrics_families.c, each a function that
 * writes whole families (HELP, TYPE, then one sample per row it visits):
 *
 *   daemon    sled_events_drained_total, sled_processes_attached{mode}, sled_probes,
 *             sled_control_clients, sled_limits_hit_total, sled_control_refused_total{reason},
 *             sled_requests_refused_total, sled_tail_events_lost_total
 *   probes    sled_probe_{hits,emitted,exported,dropped,filtered,sampled_out,
 *             rate_limited}_total{probe,tracepoint}, sled_probe_processes{probe,tracepoint}
 *   tracepoints (metrics_tracepoints.h)
 *             sled_tracepoint_{hits,emitted,exported,dropped,filtered,sampled_out,
 *             rate_limited}_total{probe,provider,name}
 *   outputs   sled_output_{sent,acked,dropped}_total{output}, sled_output_queued{output}
 *   aggregations (metrics_aggregate.h)
 *             sled_aggregate{probe,expr,<key fields>[,stat]},
 *             sled_aggregate_hist{probe,expr,<key fields>,le} (a histogram),
 *             sled_aggregate_{keys,overflow,dropped}{probe,expr}
 *
 * The caller caps the text (metrics_text_cap) and ends it with sled_metrics_truncated
 * (metrics_text_finish): a source stops adding series once one did not fit.
 */
#ifndef SLED_METRICS_FAMILIES_H
#define SLED_METRICS_FAMILIES_H

#include "daemon/core/daemon.h"
#include "daemon/control/metrics_text.h"

/* Every family, in the order of the sources table. */
void metrics_collect(struct metrics_text *t, struct daemon *d);

#endif /* SLED_METRICS_FAMILIES_H */
