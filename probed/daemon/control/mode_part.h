/* SPDX-License-Identifier: MIT */
/*
 * mode_part: what each mode does for the requests that do not care which mode a probe
 * is in.  A probe has a part in each mode that traces it (a no-scope auto probe has
 * both); disable, status and sites go through every part in mode_parts[] (mode_part.c)
 * in turn, so that a new mode is one entry there and one file (part_<mode>.c), not
 * one more branch in each handler.  The enable side is enable.c's enable_modes[].
 */
#ifndef SLED_CONTROL_MODE_PART_H
#define SLED_CONTROL_MODE_PART_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/core/probes.h"
#include "daemon/control/tp_figures.h"

struct daemon;
struct pending_req;

/* The parts, in the order their figures and rows are reported. */
enum mode_part_id { MODE_PART_SLED, MODE_PART_UPROBE, MODE_PARTS };

struct mode_part_ops {
	const char *name;
	/* disable, before the last drain: stop pb's events from this part.  NULL: none. */
	void (*retire)(struct daemon *d, struct probe *pb);
	/* disable, after the last drain: what the reply waits for (rq) before the final
	 * figures.  NULL: nothing. */
	void (*settle)(struct daemon *d, struct pending_req *rq);
	/* disable, the final figures packed: forget what the part kept of the probe.  NULL:
	 * nothing. */
	void (*forget)(struct daemon *d, uint32_t probe_id);
	/* status: the part's figures of pb added to pc, its processes to pc->processes and
	 * its sites (or attaches) to pc->sites_on. */
	void (*figures)(const struct probe *pb, struct daemon *d, struct probe_counts *pc);
	/* status: the part's live figures of pb, per tracepoint, added to t. */
	void (*tracepoints)(const struct probe *pb, struct daemon *d, struct tp_table *t);
	/* status's "processes" rows of the processes viewer may see (0: root, every one):
	 * how many (pk NULL), or packed. */
	unsigned (*processes)(msgpack_packer *pk, struct daemon *d, uid_t viewer);
	/* sites' rows, as processes. */
	unsigned (*sites)(msgpack_packer *pk, struct daemon *d, uid_t viewer);
};

extern const struct mode_part_ops part_sled, part_uprobe;
extern const struct mode_part_ops *const mode_parts[MODE_PARTS];

/* A process or probe of owner's: may viewer (0: root) see it? */
static inline bool may_see(uid_t viewer, uid_t owner)
{
	return viewer == 0 || viewer == owner;
}

#endif /* SLED_CONTROL_MODE_PART_H */
