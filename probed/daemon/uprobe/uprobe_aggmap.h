/* SPDX-License-Identifier: MIT */
/*
 * uprobe_aggmap: the per-CPU hash maps that hold uprobe mode's aggregations
 * (probed/bpf/usdt_events.h: struct usdt_agg_key, struct usdt_agg_val), made, read and
 * swapped by uprobe.c.  Only map operations: which map belongs to which attach is
 * uprobe.c's business.
 */
#ifndef SLED_UPROBE_AGGMAP_H
#define SLED_UPROBE_AGGMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/uprobe/uprobe.h"

/* A new, empty map of at most max_entries keys: its fd, or -errno.  ints: integer keys
 * only (struct usdt_agg_ikey, agg_maps_int's kind), else struct usdt_agg_key. */
int aggmap_create(uint32_t max_entries, bool ints);

/* Every entry of map fd, its CPUs' values merged (counts and sums added, min/max over
 * the CPUs that counted the key; signed: compared as int64_t), handed to fn.  0 or -errno. */
int aggmap_read(int fd, bool ints, int ncpus, bool value_signed, uprobe_agg_fn fn, void *arg);

#endif /* SLED_UPROBE_AGGMAP_H */
