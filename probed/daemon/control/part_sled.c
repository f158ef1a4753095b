/* SPDX-License-Identifier: MIT */
/*
 * part_sled: sled mode's part of a probe as disable, status and sites see it
 * (mode_part.h): slots in the blocks of attached processes, handed back by their agents.
 */
#include "ctl/ctl.h"
#include "daemon/control/mode_part.h"
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
	pc->f.hits += s.f.hits;
	pc->f.filtered += s.f.filtered;
	pc->f.sampled += s.f.sampled;
	pc->f.limited += s.f.limited;
	pc->f.drops += s.f.drops;
	pc->f.exported += s.f.exported;
	pc->emitted += s.emitted;
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

static unsigned sled_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer)
{
	unsigned nprocs = 0;

	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		nprocs += !p->gone && may_see(viewer, p->uid);
	if (!pk)
		return nprocs;
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
	return nprocs;
}

/* Every slot of the processes viewer may see. */
static unsigned sled_sites(msgpack_packer *pk, struct daemon *d, uid_t viewer)
{
	unsigned n = 0;

	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		if (!p->gone && may_see(viewer, p->uid))
			n += p->nslots;
	if (!pk)
		return n;
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		if (p->gone || !may_see(viewer, p->uid))
			continue;
		for (unsigned i = 0; i < p->nslots; i++) {
			static const char *const states[] = { "off", "on", "failed" };
			uint32_t st = p->slots[i].state;

			const struct slot_meta *m = p->meta[i];
			uint32_t ids[SLED_SHM_LANES];
			unsigned nids = 0;

			/* Every probe on the site (one per lane); "probe": the first, or 0. */
			for (unsigned l = 0; m && l < SLED_SHM_LANES; l++)
				if (m->lane[l].probe_id)
					ids[nids++] = m->lane[l].probe_id;
			msgpack_pack_map(pk, 5);
			ctl_pack_kv_i64(pk, "pid", p->pid);
			ctl_pack_kv_u64(pk, "address", p->slots[i].addr);
			ctl_pack_kv_str(pk, "state", st < 3 ? states[st] : "?");
			ctl_pack_kv_u64(pk, "probe", nids ? ids[0] : 0);
			ctl_pack_str(pk, "probes");
			msgpack_pack_array(pk, nids);
			for (unsigned k = 0; k < nids; k++)
				msgpack_pack_uint32(pk, ids[k]);
		}
	}
	return n;
}

const struct mode_part_ops part_sled = {
	.name = "sled",
	.settle = sled_settle,
	.figures = sled_figures,
	.processes = sled_processes,
	.sites = sled_sites,
};
