/* SPDX-License-Identifier: MIT */
/* report: see report.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "daemon/control/request.h"
#include "daemon/core/reload.h"
#include "daemon/sled/aggregate.h"
#include "daemon/uprobe/uprobe.h"
#include "export/output.h"
#include "daemon/control/mode_part.h"
#include "daemon/control/report.h"

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
	struct probe_counts pc = { 0 };
	unsigned procs[MODE_PARTS];

	/* Each mode's part adds its figures; processes: the sum of the parts' (a -p or -b
	 * uprobe probe: none of its own, its attaches are by binary or known by their pid). */
	for (unsigned i = 0; i < MODE_PARTS; i++) {
		unsigned before = pc.processes;

		mode_parts[i]->figures(pb, d, &pc);
		procs[i] = pc.processes - before;
	}
	*r = (struct probe_report){
		.processes = pc.processes, .sled_processes = procs[MODE_PART_SLED],
		.uprobe_processes = procs[MODE_PART_UPROBE], .sites = pc.sites_on,
		.hits = pc.f.hits, .filtered = pc.f.filtered, .sampled_out = pc.f.sampled,
		.rate_limited = pc.f.limited, .emitted = pc.emitted, .exported = pc.f.exported,
		.dropped = pc.f.drops,
	};
}

void report_probe_tp_table(const struct probe *pb, struct daemon *d, struct tp_table *t)
{
	for (unsigned i = 0; i < MODE_PARTS; i++)
		if (mode_parts[i]->tracepoints)
			mode_parts[i]->tracepoints(pb, d, t);
}

/* "tracepoints": the probe's live figures per tracepoint (tp_figures.h); a probe over
 * more than TP_FIGURES_MAX tracepoints lists the first ones (its totals stay whole). */
static void report_probe_tracepoints(msgpack_packer *pk, const struct probe *pb,
				     struct daemon *d)
{
	struct tp_table *t = calloc(1, sizeof(*t));

	ctl_pack_str(pk, "tracepoints");
	if (!t) {
		msgpack_pack_array(pk, 0);
		return;
	}
	report_probe_tp_table(pb, d, t);
	msgpack_pack_array(pk, t->n);
	for (unsigned i = 0; i < t->n; i++) {
		const struct tp_figures *r = &t->rows[i];
		char tp[130];

		snprintf(tp, sizeof(tp), "%s:%s", r->provider, r->name);
		msgpack_pack_map(pk, 8);
		ctl_pack_kv_str(pk, "tracepoint", tp);
		ctl_pack_kv_u64(pk, "hits", r->f.hits);
		ctl_pack_kv_u64(pk, "filtered", r->f.filtered);
		ctl_pack_kv_u64(pk, "sampled_out", r->f.sampled);
		ctl_pack_kv_u64(pk, "rate_limited", r->f.limited);
		ctl_pack_kv_u64(pk, "emitted", r->emitted);
		ctl_pack_kv_u64(pk, "exported", r->f.exported);
		ctl_pack_kv_u64(pk, "dropped", r->f.drops);
	}
	free(t);
}

/* One probe and its figures, as status and disable report them. */
void report_probe(msgpack_packer *pk, const struct probe *pb, struct daemon *d)
{
	struct probe_report r;

	report_probe_figures(pb, d, &r);
	msgpack_pack_map(pk, 22);
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
	report_probe_tracepoints(pk, pb, d);
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

unsigned report_sled_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer)
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
unsigned report_sled_sites(msgpack_packer *pk, struct daemon *d, uid_t viewer)
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

/* The processes traced with uprobes. */
unsigned report_uprobe_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer)
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
unsigned report_uprobe_sites(msgpack_packer *pk, struct daemon *d, uid_t viewer)
{
	if (viewer != 0)
		return 0;
	return uprobe_each_attached(d->uprobe, pk ? pack_uprobe_site : NULL, pk);
}

void report_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer)
{
	unsigned nprocs = 0;

	/* Per process, its mode: each mode's processes in turn (a process with both, e.g.
	 * sled mode and a -p uprobe probe, has a row for each). */
	for (unsigned i = 0; i < MODE_PARTS; i++)
		nprocs += mode_parts[i]->processes(NULL, d, viewer);
	msgpack_pack_array(pk, nprocs);
	for (unsigned i = 0; i < MODE_PARTS; i++)
		mode_parts[i]->processes(pk, d, viewer);
}

/* Per process rows of a sled-mode enable, for its reply. */
void report_sled_rows(msgpack_packer *pk, const struct apply_result *const *res,
		      const pid_t *pids, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		msgpack_pack_map(pk, 6 + (res[i]->error != 0) + (res[i]->busy != 0));
		ctl_pack_kv_i64(pk, "pid", pids[i]);
		ctl_pack_kv_str(pk, "mode", "sled");
		ctl_pack_kv_u64(pk, "sites", res[i]->wanted);
		ctl_pack_kv_u64(pk, "on", res[i]->on);
		ctl_pack_kv_u64(pk, "failed", res[i]->failed);
		ctl_pack_kv_u64(pk, "busy", res[i]->busy);
		if (res[i]->error)
			ctl_pack_kv_str(pk, "error", strerror(-res[i]->error));
		if (res[i]->busy)
			ctl_pack_kv_str(pk, "busy_reason", res[i]->busy_why);
	}
}

/* status's "daemon": clients, the limits, and what they refused. */
void report_daemon(msgpack_packer *pk, const struct daemon *d)
{
	const struct server_stats *s = &d->stats;
	const struct server_limits *l = &d->limits;
	struct sled_objcache_stats objs = { 0 };
	struct server_clients n;

	server_count_clients(d, &n);
	if (d->procs.objects)
		sled_objcache_stats(d->procs.objects, &objs);
	msgpack_pack_map(pk, 13 + RELOAD_STATUS_KEYS);
	reload_pack_status(pk, d);
	ctl_pack_kv_u64(pk, "clients", n.clients);
	ctl_pack_kv_u64(pk, "tail_clients", n.tails);
	ctl_pack_kv_u64(pk, "paused_clients", n.paused);
	ctl_pack_kv_u64(pk, "limits_hit", server_limits_hit(s));
	ctl_pack_kv_u64(pk, "requests_refused", s->refused_requests);
	ctl_pack_kv_u64(pk, "tail_lost", s->tail_lost);
	/* Parsed ELF objects held, each once however many processes map it. */
	ctl_pack_kv_u64(pk, "objects", objs.objects);
	ctl_pack_kv_u64(pk, "objects_bytes", objs.bytes);
	/* Files parsed, and references served without parsing, since start. */
	ctl_pack_kv_u64(pk, "objects_reads", objs.reads);
	ctl_pack_kv_u64(pk, "objects_hits", objs.hits);
	ctl_pack_str(pk, "limits");
	msgpack_pack_map(pk, 8);
	ctl_pack_kv_u64(pk, "request_bytes", l->request_bytes);
	ctl_pack_kv_u64(pk, "request_elements", REQUEST_MAX_ELEMENTS);
	ctl_pack_kv_u64(pk, "clients", l->clients);
	ctl_pack_kv_u64(pk, "clients_per_uid", l->clients_per_uid);
	ctl_pack_kv_u64(pk, "probes_per_uid", l->probes_per_uid);
	ctl_pack_kv_u64(pk, "client_buffer", l->client_buffer);
	ctl_pack_kv_u64(pk, "objects_memory", objs.max_bytes);
	ctl_pack_kv_u64(pk, "metrics_bytes", l->metrics_bytes);
	/* Each limit's count: connections refused, requests refused, objects not read,
	 * /metrics replies cut, clients slowed. */
	ctl_pack_str(pk, "refused");
	msgpack_pack_map(pk, 9);
	ctl_pack_kv_u64(pk, "clients", s->refused_clients);
	ctl_pack_kv_u64(pk, "clients_per_uid", s->refused_clients_uid);
	ctl_pack_kv_u64(pk, "no_fds", s->refused_fds);
	ctl_pack_kv_u64(pk, "request_too_large", s->refused_too_large);
	ctl_pack_kv_u64(pk, "malformed", s->refused_malformed);
	ctl_pack_kv_u64(pk, "probes_per_uid", s->refused_probes);
	ctl_pack_kv_u64(pk, "version", s->refused_version);
	ctl_pack_kv_u64(pk, "objects_memory", objs.refused);
	ctl_pack_kv_u64(pk, "metrics_bytes", s->metrics_truncated);
	ctl_pack_str(pk, "slowed");
	msgpack_pack_map(pk, 2);
	ctl_pack_kv_u64(pk, "paused", s->paused);
	ctl_pack_kv_u64(pk, "tail_lagging", s->tail_clients_lagging);
}

/* status's "aggregations": each aggregating probe's expressions, keys and overflow. */
void report_aggregations(msgpack_packer *pk, struct daemon *d, uid_t uid)
{
	unsigned n = 0;

	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		n += pb->aggs && (uid == 0 || pb->owner == uid);
	ctl_pack_str(pk, "aggregations");
	msgpack_pack_array(pk, n);
	for (struct probe *pb = d->probes.head; pb; pb = pb->next) {
		struct agg_table t[SLED_LANE_AGGS];

		if (!pb->aggs || (uid != 0 && pb->owner != uid))
			continue;
		agg_collect(pb, &d->procs, t);
		msgpack_pack_map(pk, 2);
		ctl_pack_kv_u64(pk, "id", pb->id);
		ctl_pack_str(pk, "aggregations");
		agg_pack_status(pk, pb, t);
		agg_tables_free(t, pb->aggs->n);
	}
}

/* status's "outputs": each output's spec, state and figures. */
void report_outputs(msgpack_packer *pk, const struct daemon *d)
{
	msgpack_pack_array(pk, d->noutputs);
	for (unsigned i = 0; i < d->noutputs; i++) {
		struct sled_output_stats st;

		sled_output_stats(d->outputs[i], &st);
		msgpack_pack_map(pk, 7);
		ctl_pack_kv_str(pk, "spec", sled_output_spec(d->outputs[i]));
		ctl_pack_kv_str(pk, "state", st.state ? st.state : "");
		ctl_pack_kv_u64(pk, "sent", st.written);
		ctl_pack_kv_u64(pk, "acked", st.acked);
		ctl_pack_kv_u64(pk, "queued", st.queued);
		ctl_pack_kv_u64(pk, "dropped", st.dropped);
		ctl_pack_kv_str(pk, "error", st.error);
	}
}
