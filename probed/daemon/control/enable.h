/* SPDX-License-Identifier: MIT */
/*
 * enable: what the enable request's files share: its probe functions, the modes it may
 * ask for (struct probe_mode_ops; the table is enable.c's) and each mode's enable
 * (enable_sled.c, enable_uprobe.c).  Internal to daemon/control/.
 */
#ifndef SLED_CONTROL_ENABLE_H
#define SLED_CONTROL_ENABLE_H

#include "daemon/control/request.h"
#include "sled/abi/shm_layout.h"

/* The probe functions of an enable request. */
struct functions {
	char filter[512];
	uint32_t sample;
	uint64_t rate;
	bool count_only;
	char aggregate[SLED_LANE_AGGS][CTL_FILTER_MAX]; /* --aggregate, checked for syntax */
	unsigned naggs;
	uint32_t max_keys;
};

#define AUTO_ROWS 256

/*
 * The modes an enable may ask for, one entry each in enable_modes[]: a new mode is one
 * more entry and its enable function, not one more strcmp in the handlers.
 */
struct probe_mode_ops {
	const char *name;
	/* -p PID: the mode traces the process through its block, so it is attached first
	 * (or waited for while its block is being filled in). */
	bool attaches;
	/* No scope: the processes without libsled get per-process uprobes too. */
	bool uprobes_everywhere;
	/* --aggregate is accepted (sled mode: tables in the block; uprobe mode: BPF maps). */
	bool aggregates;
	/* It may trace processes without libsled: enable_check looks at the tracepoints
	 * the uprobe scan found too. */
	bool without_libsled;
	/* The enable, once the scope is checked (and with -p, the process attached). */
	void (*enable)(struct daemon *d, struct client *c, const struct scope_args *a,
		       const struct functions *fn, const struct probe_mode_ops *m);
	/* -p PID that could not be attached (err: errno of the attach); NULL: refused. */
	void (*unattached)(struct daemon *d, struct client *c, const struct scope_args *a,
			   const struct functions *fn, const struct probe_mode_ops *m);
};

/* Sled mode (or auto): the probe is made and its processes' agents are told; the reply
 * comes once they answered. */
void enable_sled(struct daemon *d, struct client *c, const struct scope_args *a,
		 const struct functions *fn, const struct probe_mode_ops *mode);
/* Uprobe mode: -p, -b, or no scope (every process, present and future). */
void enable_uprobe(struct daemon *d, struct client *c, const struct scope_args *a,
		   const struct functions *fn);

#endif /* SLED_CONTROL_ENABLE_H */
