/* SPDX-License-Identifier: MIT */
/* report: see report.h. */
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "daemon/control/report.h"
#include "daemon/uprobe/uprobe.h"

static bool may_see(uid_t viewer, uid_t owner)
{
	return viewer == 0 || viewer == owner;
}

/* Per process rows of a no-scope probe's uprobe part, for the enable reply. */
void report_auto_rows(msgpack_packer *pk, const struct auto_result *res, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		msgpack_pack_map(pk, 6 + (res[i].error[0] != 0));
		ctl_pack_kv_i64(pk, "pid", res[i].pid);
		ctl_pack_kv_str(pk, "mode", "uprobe");
		ctl_pack_kv_u64(pk, "sites", res[i].attached + res[i].failed);
		ctl_pack_kv_u64(pk, "on", res[i].attached);
		ctl_pack_kv_u64(pk, "failed", res[i].failed);
		ctl_pack_kv_u64(pk, "fds", res[i].fds);
		if (res[i].error[0])
			ctl_pack_kv_str(pk, "error", res[i].error);
	}
}

/* The uprobe part's totals in an enable reply: attached, fds; failed and error when an
 * attach failed or the part is off (no BPF or uprobes: error says why, failed 0). */
unsigned report_auto_keys(const struct auto_report *rep)
{
	return 2 + (rep->failed != 0) + (rep->error[0] != 0);
}

void report_auto_totals(msgpack_packer *pk, const struct auto_report *rep)
{
	ctl_pack_kv_u64(pk, "attached", rep->attached);
	ctl_pack_kv_u64(pk, "fds", rep->fds);
	if (rep->failed)
		ctl_pack_kv_u64(pk, "failed", rep->failed);
	if (rep->error[0])
		ctl_pack_kv_str(pk, "error", rep->error);
}

/* A probe's mode: sled, uprobe, or auto for a no-scope probe with both parts. */
static const char *probe_mode(const struct probe *pb)
{
	return pb->uprobe ? "uprobe" : pb->auto_uprobe ? "auto" : "sled";
}

void report_probe_figures(const struct probe *pb, struct daemon *d, struct probe_report *r)
{
	struct probe_counts pc;
	const struct probe_uprobe *up = probe_uprobe_view(pb);
	unsigned sled_procs, uprocs = 0, uattaches = 0;

	probes_count(pb, &d->procs, &pc);
	sled_procs = pc.processes;
	/* -b and -p in uprobe mode: the BPF side counts every stage per attach, as a slot
	 * does. */
	for (unsigned i = 0; pb->uprobe && i < up->nhandles && d->uprobe; i++) {
		struct uprobe_figures f;

		uprobe_figures(d->uprobe, up->handles[i], &f);
		pc.f.hits += f.hits;
		pc.f.filtered += f.filtered;
		pc.f.sampled += f.sampled;
		pc.f.limited += f.limited;
		pc.f.exported += f.exported;
		pc.f.drops += f.dropped;
		pc.emitted += f.emitted;
	}
	if (pb->uprobe && !pb->auto_uprobe) /* a -p probe whose process exited */
		uprobe_add_released(pb, &pc.f, &pc.emitted);
	if (pb->uprobe)
		uattaches = up->nhandles;
	if (pb->uprobe && !pb->auto_uprobe && pb->pid && up->nhandles)
		uprocs = 1; /* -p: its process, while its attaches stand */
	if (pb->auto_uprobe) {
		unsigned n;

		uprobe_auto_figures(d, pb, &pc.f, &pc.emitted, &uprocs, &n);
		uattaches += n;
	}
	/* processes: sled_processes + uprobe_processes (a -p or -b uprobe probe: 0, its
	 * attaches are by binary or known by their pid). */
	*r = (struct probe_report){
		.processes = sled_procs + uprocs, .sled_processes = sled_procs,
		.uprobe_processes = uprocs, .sites = pc.sites_on + uattaches,
		.hits = pc.f.hits, .filtered = pc.f.filtered, .sampled_out = pc.f.sampled,
		.rate_limited = pc.f.limited, .emitted = pc.emitted, .exported = pc.f.exported,
		.dropped = pc.f.drops,
	};
}

/* One probe and its figures, as status and disable report them. */
void report_probe(msgpack_packer *pk, const struct probe *pb, struct daemon *d)
{
	struct probe_report r;

	report_probe_figures(pb, d, &r);
	msgpack_pack_map(pk, 21);
	ctl_pack_kv_u64(pk, "id", pb->id);
	ctl_pack_kv_str(pk, "pattern", pb->pattern);
	ctl_pack_kv_i64(pk, "pid", pb->pid);
	ctl_pack_kv_str(pk, "binary", pb->binary);
	ctl_pack_kv_str(pk, "mode", probe_mode(pb));
	ctl_pack_kv_str(pk, "filter", pb->filter);
	ctl_pack_kv_u64(pk, "sample", pb->sample);
	ctl_pack_kv_u64(pk, "rate", pb->rate);
	ctl_pack_kv_bool(pk, "count_only", pb->count_only);
	ctl_pack_kv_u64(pk, "processes", r.processes);
	ctl_pack_kv_u64(pk, "sled_processes", r.sled_processes);
	ctl_pack_kv_u64(pk, "uprobe_processes", r.uprobe_processes);
	ctl_pack_kv_u64(pk, "sites", r.sites);
	ctl_pack_kv_u64(pk, "hits", r.hits);
	ctl_pack_kv_u64(pk, "filtered", r.filtered);
	ctl_pack_kv_u64(pk, "sampled_out", r.sampled_out);
	ctl_pack_kv_u64(pk, "rate_limited", r.rate_limited);
	ctl_pack_kv_u64(pk, "emitted", r.emitted);
	ctl_pack_kv_u64(pk, "exported", r.exported);
	ctl_pack_kv_u64(pk, "dropped", r.dropped);
	/* Over the last interval the loss records cover (loss.c): a glance says "losing". */
	ctl_pack_kv_u64(pk, "drops_per_sec", pb->drops_per_sec);
}

/* The probes holding a lane of one of p's slots, in ids[] (at most max); how many. */
static unsigned sled_probe_ids(const struct traced_proc *p, uint32_t *ids, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->nslots; i++) {
		for (unsigned l = 0; p->meta[i] && l < SLED_SHM_LANES; l++) {
			uint32_t id = p->meta[i]->lane[l].probe_id;
			unsigned k;

			for (k = 0; k < n && ids[k] != id; k++)
				;
			if (id && k == n && n < max)
				ids[n++] = id;
		}
	}
	return n;
}

void report_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer)
{
	unsigned nprocs = 0, nrows;
	struct uprobe_row *rows;

	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		nprocs += !p->gone && may_see(viewer, p->uid);
	nrows = uprobe_auto_rows(d, &rows);
	for (unsigned i = 0; i < nrows; i++)
		nprocs += may_see(viewer, rows[i].uid);
	/* Per process, its mode: sled mode's processes, then uprobe mode's (a process with
	 * both, e.g. sled mode and a -p uprobe probe, has a row for each). */
	msgpack_pack_array(pk, nprocs);
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		unsigned on = 0, rings = 0, nids;
		uint32_t ids[64];

		if (p->gone || !may_see(viewer, p->uid))
			continue;
		for (unsigned i = 0; i < p->nslots; i++)
			on += p->slots[i].state == SLED_STATE_ON;
		for (unsigned i = 0; i < SLED_SHM_MAX_RINGS; i++)
			rings += proc_ring(p, i)->state != SLED_RING_FREE;
		nids = sled_probe_ids(p, ids, 64);
		/* restores: the agent put every sled back (the daemon was silent too long);
		 * reapplies: the daemon then applied its standing probes again. */
		/* ring_size and fill_high_water: pressure before it drops (the fullest any of
		 * its rings was when a drain pass came, in bytes). */
		msgpack_pack_map(pk, 13);
		ctl_pack_kv_i64(pk, "pid", p->pid);
		ctl_pack_kv_str(pk, "exe", p->exe);
		ctl_pack_kv_i64(pk, "uid", p->uid);
		ctl_pack_kv_str(pk, "mode", "sled");
		ctl_pack_kv_u64(pk, "sites_on", on);
		ctl_pack_kv_u64(pk, "rings", rings);
		ctl_pack_kv_u64(pk, "ring_size", p->ring_data);
		ctl_pack_kv_u64(pk, "fill_high_water", p->fill_hw);
		ctl_pack_kv_u64(pk, "lost", p->shm->lost_no_ring);
		ctl_pack_kv_u64(pk, "malformed", p->malformed);
		ctl_pack_kv_u64(pk, "restores", p->shm->restores);
		ctl_pack_kv_u64(pk, "reapplies", p->reapplies);
		ctl_pack_str(pk, "probes");
		msgpack_pack_array(pk, nids);
		for (unsigned k = 0; k < nids; k++)
			msgpack_pack_uint32(pk, ids[k]);
	}
	for (unsigned i = 0; i < nrows; i++) {
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
}
