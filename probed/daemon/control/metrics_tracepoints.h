/* SPDX-License-Identifier: MIT */
/*
 * metrics_tracepoints: every probe's figures split by tracepoint, as status's per-probe
 * "tracepoints" and probectl top's rows under each probe (tp_figures.h), one source of
 * metrics_families.c:
 *
 *   sled_tracepoint_{hits,emitted,exported,dropped,filtered,sampled_out,rate_limited}_total
 *       {probe,provider,name}   counters, one sample per tracepoint a probe covers
 *
 * A tracepoint's series count the processes that run now (what exited processes counted
 * stays in the probe's own sled_probe_* series); a probe over more than TP_FIGURES_MAX
 * tracepoints has series for the first ones, as status lists them.
 */
#ifndef SLED_METRICS_TRACEPOINTS_H
#define SLED_METRICS_TRACEPOINTS_H

#include "daemon/core/daemon.h"
#include "daemon/control/metrics_text.h"

void metrics_tracepoint_families(struct metrics_text *t, struct daemon *d);

#endif /* SLED_METRICS_TRACEPOINTS_H */
