/* SPDX-License-Identifier: MIT */
/*
 * part_sled: sled mode's part of a probe as disable, status and sites see it
 * (mode_part.h): slots in the blocks of attached processes, handed back by their agents.
 */
#include "daemon/control/mode_part.h"
#include "daemon/control/report.h"
#include "daemon/core/daemon.h"
#include "daemon/core/pending.h"

/* Every process's agent hands the retired probes' lanes back (off, idle, drained). */
static void sled_settle(struct daemon *d, struct pending_req *rq)
{
	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		if (!p->gone)
			pending_apply(d, rq, p, NULL);
}

static void sled_figures(const struct probe *pb, struct daemon *d, struct probe_counts *pc)
{
	struct probe_counts s;

	probes_count(pb, &d->procs, &s);
	pc->processes += s.processes;
	pc->sites_on += s.sites_on;
	figures_add(&pc->f, &s.f);
	pc->emitted += s.emitted;
}

static void tracepoint_row(const struct probe_lane *pl, void *arg)
{
	const struct figures *f = &pl->since;

	tp_table_add(arg, pl->meta->provider, pl->meta->name, f,
		     f->hits - f->filtered - f->sampled - f->limited);
}

static void sled_tracepoints(const struct probe *pb, struct daemon *d, struct tp_table *t)
{
	probes_each_lane(pb, &d->procs, tracepoint_row, t);
}

const struct mode_part_ops part_sled = {
	.name = "sled",
	.settle = sled_settle,
	.figures = sled_figures,
	.tracepoints = sled_tracepoints,
	.processes = report_sled_processes,
	.sites = report_sled_sites,
};
