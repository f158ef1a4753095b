/* SPDX-License-Identifier: MIT */
/*
 * part_uprobe: uprobe mode's part of a probe as disable, status and sites see it
 * (mode_part.h): the attaches of a -p or -b uprobe probe, and a no-scope probe's
 * per-process attaches (uprobe_auto.c).
 */
#include "daemon/control/mode_part.h"
#include "daemon/control/report.h"
#include "daemon/core/daemon.h"
#include "daemon/uprobe/uprobe.h"
#include "daemon/uprobe/uprobe_auto.h"

/* Detached before the last drain: what they wrote is in the ring buffer already. */
static void uprobe_retire(struct daemon *d, struct probe *pb)
{
	const struct probe_uprobe *up = probe_uprobe_view(pb);

	for (unsigned k = 0; k < up->nhandles && d->uprobe; k++)
		uprobe_detach(d->uprobe, up->handles[k]);
	uprobe_auto_detach(d, pb->id);
}

static void uprobe_figures_of(const struct probe *pb, struct daemon *d, struct probe_counts *pc)
{
	const struct probe_uprobe *up = probe_uprobe_view(pb);
	unsigned uprocs = 0, uattaches = 0;

	/* -b and -p in uprobe mode: the BPF side counts every stage per attach, as a slot
	 * does. */
	for (unsigned i = 0; pb->uprobe && i < up->nhandles && d->uprobe; i++) {
		struct uprobe_figures f;

		uprobe_figures(d->uprobe, up->handles[i], &f);
		uprobe_figures_add(&pc->f, &f);
		pc->emitted += f.emitted;
	}
	if (pb->uprobe && !pb->auto_uprobe) /* a -p probe whose process exited */
		uprobe_add_released(pb, &pc->f, &pc->emitted);
	if (pb->uprobe)
		uattaches = up->nhandles;
	if (pb->uprobe && !pb->auto_uprobe && pb->pid && up->nhandles)
		uprocs = 1; /* -p: its process, while its attaches stand */
	if (pb->auto_uprobe) {
		unsigned n;

		uprobe_auto_figures(d, pb, &pc->f, &pc->emitted, &uprocs, &n);
		uattaches += n;
	}
	/* A -p or -b uprobe probe has no processes of its own in the scan: its attaches
	 * are by binary or known by their pid. */
	pc->processes += uprocs;
	pc->sites_on += uattaches;
}

struct tp_walk {
	struct daemon *d;
	struct tp_table *t;
};

static void add_handle(int handle, void *arg)
{
	struct tp_walk *w = arg;
	struct uprobe_handle_info info;
	struct uprobe_figures uf;
	struct figures f = { 0 };

	if (uprobe_handle_info(w->d->uprobe, handle, &info))
		return;
	uprobe_figures(w->d->uprobe, handle, &uf);
	uprobe_figures_add(&f, &uf);
	tp_table_add(w->t, info.provider, info.name, &f, uf.emitted);
}

static void uprobe_tracepoints(const struct probe *pb, struct daemon *d, struct tp_table *t)
{
	const struct probe_uprobe *up = probe_uprobe_view(pb);
	struct tp_walk w = { d, t };

	if (!d->uprobe)
		return;
	for (unsigned i = 0; pb->uprobe && i < up->nhandles; i++)
		add_handle(up->handles[i], &w);
	if (pb->auto_uprobe)
		uprobe_auto_each_handle(d, pb, add_handle, &w);
}

const struct mode_part_ops part_uprobe = {
	.name = "uprobe",
	.retire = uprobe_retire,
	.forget = uprobe_auto_forget,
	.figures = uprobe_figures_of,
	.tracepoints = uprobe_tracepoints,
	.processes = report_uprobe_processes,
	.sites = report_uprobe_sites,
};
