/* SPDX-License-Identifier: MIT */
/*
 * uprobe_agg: the daemon's side of --aggregate in uprobe mode.  Each attach of an
 * aggregating probe has, per aggregation, a per-CPU BPF hash the program updates at each
 * hit (probed/bpf/usdt_events.bpf.c); maps are per attach, not per process, so what a
 * process counted stays when it exits.  The daemon reads them into the probe's struct
 * agg_table (daemon/sled/aggregate.h) when the tables are collected (show, status,
 * metrics), so both modes are shown, cleared and exported by the same code.
 */
#ifndef SLED_UPROBE_AGG_H
#define SLED_UPROBE_AGG_H

#include <stddef.h>

#include "daemon/core/probes.h"
#include "daemon/uprobe/uprobe.h"
#include "discovery/sites.h"

struct daemon;

/* The probe's aggregations compiled for one tracepoint's fields, for uprobe_attach (out:
 * UPROBE_MAX_AGGS entries, *n set).  0, or -EINVAL with err naming the tracepoint (a
 * field that is missing or of the wrong type, as sled mode says it). */
int uprobe_agg_prepare(struct probe *pb, const char *provider, const char *name,
		       const struct sled_field *fields, unsigned nfields, struct uprobe_agg *out,
		       unsigned *n, char *err, size_t errlen);

/* An attach of pb is let go: what its maps hold moves into pb's own tables. */
void uprobe_agg_fold(struct daemon *d, struct probe *pb, int handle);

/* Make agg_collect and agg_clear see uprobe mode's maps (once, at start-up). */
void uprobe_agg_register(struct daemon *d);

#endif /* SLED_UPROBE_AGG_H */
