/* SPDX-License-Identifier: MIT */
/*
 * drain: read every ring of a traced process, decode each record with its slot's field
 * names and types into a struct sled_event, and hand it to a sink.  Records are checked
 * before use (size, alignment, slot, string lengths): a corrupt ring is skipped to its
 * head and counted, never trusted.  Orphaned rings (their thread exited) are freed once
 * empty.
 */
#ifndef SLED_DRAIN_H
#define SLED_DRAIN_H

#include "daemon/core/clock.h"
#include "export/event.h"
#include "daemon/sled/procs.h"

typedef void (*sled_sink_fn)(const struct sled_event *ev, const struct traced_proc *p, void *arg);

/* One ring (in p's block or any buffer of sled_ring_stride(p->ring_data) bytes, with
 * p->ring_data an allowed ring size): returns the number
 * of events handed to sink; what does not check out is skipped and counted in
 * p->malformed. */
uint64_t drain_ring(struct traced_proc *p, struct sled_ring_header *ring,
		    const struct sled_clock *clock, sled_sink_fn sink, void *arg);
/* Returns the number of events handed to sink. */
uint64_t drain_process(struct traced_proc *p, const struct sled_clock *clock, sled_sink_fn sink,
		       void *arg);

/* Called for a ring whose thread is gone, once drained, before it is freed for another
 * thread (the aggregations fold its table then); NULL: nothing to do. */
extern void (*drain_ring_freed)(struct traced_proc *p, unsigned r);

#endif /* SLED_DRAIN_H */
