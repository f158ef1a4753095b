/* SPDX-License-Identifier: MIT */
/* report: see report.h. */
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
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
