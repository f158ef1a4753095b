/* SPDX-License-Identifier: MIT */
/*
 * part_uprobe: uprobe mode's part of a probe as disable, status and sites see it
 * (mode_part.h): the attaches of a -p or -b uprobe probe, and a no-scope probe's
 * per-process attaches (uprobe_auto.c).
 */
#include <stdlib.h>

#include "ctl/ctl.h"
#include "daemon/control/mode_part.h"
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
		pc->f.hits += f.hits;
		pc->f.filtered += f.filtered;
		pc->f.sampled += f.sampled;
		pc->f.limited += f.limited;
		pc->f.exported += f.exported;
		pc->f.drops += f.dropped;
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

/* The processes traced with uprobes. */
static unsigned uprobe_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer)
{
	struct uprobe_row *rows;
	unsigned nprocs = 0, nrows = uprobe_auto_rows(d, &rows);

	for (unsigned i = 0; i < nrows; i++)
		nprocs += may_see(viewer, rows[i].uid);
	for (unsigned i = 0; pk && i < nrows; i++) {
		const struct uprobe_row *u = &rows[i];

		if (!may_see(viewer, u->uid))
			continue;
		/* sites_on: libbpf 1.1 holds 2 fds per site it attached (a perf event, a link). */
		msgpack_pack_map(pk, 8);
		ctl_pack_kv_i64(pk, "pid", u->pid);
		ctl_pack_kv_str(pk, "exe", u->exe);
		ctl_pack_kv_i64(pk, "uid", u->uid);
		ctl_pack_kv_str(pk, "mode", "uprobe");
		ctl_pack_kv_u64(pk, "sites_on", u->fds / 2);
		ctl_pack_kv_u64(pk, "attaches", u->attaches);
		ctl_pack_kv_u64(pk, "fds", u->fds);
		ctl_pack_str(pk, "probes");
		msgpack_pack_array(pk, u->nprobes);
		for (unsigned k = 0; k < u->nprobes; k++)
			msgpack_pack_uint32(pk, u->probes[k]);
	}
	free(rows);
	return nprocs;
}

static void pack_uprobe_site(const struct uprobe_handle_info *info, void *arg)
{
	msgpack_packer *pk = arg;

	msgpack_pack_map(pk, 8);
	ctl_pack_kv_i64(pk, "pid", info->pid);
	ctl_pack_kv_str(pk, "mode", "uprobe");
	ctl_pack_kv_str(pk, "provider", info->provider);
	ctl_pack_kv_str(pk, "name", info->name);
	ctl_pack_kv_str(pk, "binary", info->binary ? info->binary : "");
	ctl_pack_kv_str(pk, "state", "on");
	ctl_pack_kv_u64(pk, "probe", info->probe_id);
	ctl_pack_str(pk, "probes"); /* as a sled site's: the probes on it */
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint32(pk, info->probe_id);
}

/* Uprobe mode's attaches, by provider:name (a uprobe has no slot): a root client's
 * list shows them on too.  Others see only sled mode's sites. */
static unsigned uprobe_sites(msgpack_packer *pk, struct daemon *d, uid_t viewer)
{
	if (viewer != 0)
		return 0;
	return uprobe_each_attached(d->uprobe, pk ? pack_uprobe_site : NULL, pk);
}

const struct mode_part_ops part_uprobe = {
	.name = "uprobe",
	.retire = uprobe_retire,
	.forget = uprobe_auto_forget,
	.figures = uprobe_figures_of,
	.processes = uprobe_processes,
	.sites = uprobe_sites,
};
