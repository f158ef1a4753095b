/* SPDX-License-Identifier: MIT */
/*
 * tp_figures: one probe's figures split by tracepoint, for status's "tracepoints" and
 * probectl top's rows under each probe.  Each mode's part adds what its live sources
 * counted (a sled slot's lane, an uprobe attach) under the source's provider:name; what
 * processes that exited counted is in the probe's own totals only.
 */
#ifndef SLED_CONTROL_TP_FIGURES_H
#define SLED_CONTROL_TP_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/sled/procs.h"

/* At most this many tracepoints per probe in a status reply; past it, truncated. */
#define TP_FIGURES_MAX 256

struct tp_figures {
	char provider[64], name[64];
	struct figures f;
	uint64_t emitted;
};

struct tp_table {
	struct tp_figures rows[TP_FIGURES_MAX];
	unsigned n;
	bool truncated; /* a tracepoint did not fit */
};

/* Add f and emitted to provider:name's row (made on first use). */
void tp_table_add(struct tp_table *t, const char *provider, const char *name,
		  const struct figures *f, uint64_t emitted);

#endif /* SLED_CONTROL_TP_FIGURES_H */
