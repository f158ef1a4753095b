/* SPDX-License-Identifier: MIT */
/*
 * enable_uprobe: an enable in uprobe mode: the binary's or the process's objects attached
 * by provider:name, or with no scope every process (uprobe_auto.c); the reply at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/pattern.h"
#include "ctl/ctl.h"
#include "daemon/control/binary_object.h"
#include "daemon/control/enable.h"
#include "daemon/control/report.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "daemon/uprobe/uprobe.h"
#include "daemon/uprobe/uprobe_auto.h"
#include "daemon/uprobe/uprobe_agg.h"
#include "daemon/sled/aggregate.h"

/* Uprobe mode: every object of the scope with matching sites, attached by provider:name,
 * with the probe's functions (the filter compiled for each provider:name's fields, as in
 * sled mode).  Refusals, with err saying why: -EINVAL, a filter that does not compile
 * for one of them; -E2BIG, more provider:names than a probe holds.  An attach that fails
 * is counted in *failed, its error left in err. */
static int attach_object(struct daemon *d, struct probe *pb, const struct sled_object *obj,
			 const char *path, pid_t pid, unsigned *failed, char *err, size_t errlen)
{
	struct probe_uprobe *up = pb->up; /* made by enable_uprobe */
	const unsigned max = sizeof(up->handles) / sizeof(up->handles[0]);
	struct sled_filter_prog prog;
	struct uprobe_agg aggs[UPROBE_MAX_AGGS];
	struct uprobe_functions fn = {
		.filter = &prog, .sample = pb->sample, .rate = pb->rate, .count_only = pb->count_only,
		.aggs = aggs,
	};

	for (size_t i = 0; i < obj->nsites; i++) {
		const struct sled_site *s = &obj->sites[i];
		bool seen = false;
		int h;

		if (s->kind == SLED_SITE_GUARD || !sled_pattern_match(pb->pattern, s->provider, s->name))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = obj->sites[j].kind != SLED_SITE_GUARD &&
			       !strcmp(obj->sites[j].provider, s->provider) &&
			       !strcmp(obj->sites[j].name, s->name);
		if (seen)
			continue;
		if (up->nhandles == max) {
			snprintf(err, errlen, "'%s' matches more than %u tracepoints (provider:name) in "
				 "uprobe mode: narrow the pattern", pb->pattern, max);
			return -E2BIG;
		}
		if (probe_compile_filter(pb, s->provider, s->name, s->fields, (unsigned)s->nargs,
					 &prog, err, errlen) ||
		    uprobe_agg_prepare(pb, s->provider, s->name, s->fields, (unsigned)s->nargs, aggs,
				       &fn.naggs, err, errlen))
			return -EINVAL;
		h = uprobe_attach(d->uprobe, path, pid, s->provider, s->name, s->fields,
				  (unsigned)s->nargs, pb->id, &fn, err, errlen);
		if (h > 0)
			up->handles[up->nhandles++] = h;
		else
			(*failed)++;
	}
	return 0;
}

/* pb's aggregations from the enable's expressions (before anything is attached). */
static int probe_aggs_init(struct probe *pb, const struct functions *fn, char *err,
			   size_t errlen)
{
	const char *exprs[SLED_LANE_AGGS];

	for (unsigned i = 0; i < fn->naggs; i++)
		exprs[i] = fn->aggregate[i];
	return agg_probe_init(pb, exprs, fn->naggs, fn->max_keys, err, errlen);
}

/* --mode uprobe with no scope: every process, with per-process uprobes (uprobe_auto.c),
 * present and future. */
static void enable_uprobe_everywhere(struct daemon *d, struct client *c,
				     const struct scope_args *a, const struct functions *fn)
{
	struct auto_result *res = calloc(AUTO_ROWS, sizeof(*res));
	struct auto_report rep;
	char err[512];
	struct probe *pb;
	struct reply r;

	if (!res || daemon_uprobe(d, err, sizeof(err))) {
		reply_error(c, "%s", res ? err : "out of memory");
		free(res);
		return;
	}
	pb = probes_add(&d->probes, a->pattern, 0, "", c->uid);
	if (!pb) {
		reply_error(c, "out of memory");
		free(res);
		return;
	}
	if (fn->naggs && probe_aggs_init(pb, fn, err, sizeof(err))) {
		probes_discard(&d->probes, pb->id);
		reply_error(c, "%s", err);
		free(res);
		return;
	}
	pb->uprobe = pb->auto_uprobe = true;
	memcpy(pb->filter, fn->filter, sizeof(pb->filter));
	pb->sample = fn->sample;
	pb->rate = fn->rate;
	pb->count_only = fn->count_only;
	if (uprobe_auto_enable(d, pb, res, AUTO_ROWS, &rep, err, sizeof(err))) {
		probes_discard(&d->probes, pb->id);
		reply_error(c, "%s", err);
		free(res);
		return;
	}
	log_info(d, "probe %u enabled in uprobe mode: %s, every process: %u attach(es) in %u "
		 "process(es), %u fds%s%s", pb->id, pb->pattern, rep.attached, rep.processes,
		 rep.fds, rep.error[0] ? "; failed: " : "", rep.error);
	reply_begin(&r, 4 + report_auto_keys(&rep), true);
	ctl_pack_kv_u64(&r.pk, "id", pb->id);
	ctl_pack_kv_str(&r.pk, "mode", "uprobe");
	report_auto_totals(&r.pk, &rep);
	ctl_pack_str(&r.pk, "processes");
	msgpack_pack_array(&r.pk, rep.nres);
	report_auto_rows(&r.pk, res, rep.nres);
	reply_send(c, &r);
	free(res);
}

void enable_uprobe(struct daemon *d, struct client *c, const struct scope_args *a,
			  const struct functions *fn)
{
	char err[512] = "", path[4200];
	unsigned failed = 0, fds = 0;
	bool refused = false;
	struct probe_uprobe *up;
	struct probe *pb;
	struct reply r;

	if (!a->pid && !a->binary[0]) {
		enable_uprobe_everywhere(d, c, a, fn);
		return;
	}
	if (!a->pid && c->uid != 0) {
		reply_error(c, "uprobe mode by binary covers every user's processes: root only");
		return;
	}
	if (daemon_uprobe(d, err, sizeof(err))) {
		reply_error(c, "%s", err);
		return;
	}
	pb = probes_add(&d->probes, a->pattern, (pid_t)a->pid, a->binary, c->uid);
	up = pb ? probe_uprobe_part(pb) : NULL;
	if (!up) {
		if (pb)
			probes_discard(&d->probes, pb->id);
		reply_error(c, "out of memory");
		return;
	}
	if (fn->naggs && probe_aggs_init(pb, fn, err, sizeof(err))) {
		probes_discard(&d->probes, pb->id);
		reply_error(c, "%s", err);
		return;
	}
	if (a->pid)
		up->start_time = procs_start_time((pid_t)a->pid);
	pb->uprobe = true;
	memcpy(pb->filter, fn->filter, sizeof(pb->filter));
	pb->sample = fn->sample;
	pb->rate = fn->rate;
	pb->count_only = fn->count_only;
	if (a->binary[0]) {
		struct binary_object bin;

		if (binary_object_get(d, a->binary, &bin, err, sizeof(err)) == 0) {
			err[0] = 0;
			refused = attach_object(d, pb, bin.obj, a->binary, -1, &failed, err,
						sizeof(err)) != 0;
			/* The probe keeps the cache's entry while it stands (put back with the
			 * probe, whether it stands or is discarded below). */
			if (bin.cached) {
				up->binary_obj = bin.obj;
				up->objects = procs_objects(&d->procs);
				bin.cached = false;
				bin.obj = NULL;
			}
			binary_object_put(d, &bin);
		}
	} else {
		struct sled_process proc;

		if (!procs_objects(&d->procs)) {
			snprintf(err, sizeof(err), "out of memory");
		} else if (sled_process_read(d->procs.objects, (pid_t)a->pid, &proc, err,
					     sizeof(err)) == 0) {
			err[0] = 0;
			for (size_t i = 0; i < proc.nobjects && !refused; i++) {
				const struct sled_process_object *po = &proc.objects[i];

				/* The object as the process sees it (other mount namespaces). */
				snprintf(path, sizeof(path), "%s", po->path);
				if (access(path, R_OK))
					snprintf(path, sizeof(path), "/proc/%d/root%s", (int)a->pid, po->path);
				refused = attach_object(d, pb, po->obj, path, (pid_t)a->pid, &failed,
							err, sizeof(err)) != 0;
			}
			sled_process_free(&proc);
		}
	}
	if (refused) {
		/* As in sled mode: an enable whose filter does not fit every tracepoint it
		 * matches is refused whole. */
		for (unsigned i = 0; i < up->nhandles; i++)
			uprobe_detach(d->uprobe, up->handles[i]);
		probes_discard(&d->probes, pb->id);
		reply_error(c, "%s", err);
		return;
	}
	if (!up->nhandles) {
		probes_discard(&d->probes, pb->id);
		if (err[0])
			reply_error(c, "%s", err);
		else
			reply_error(c, "no tracepoint matches '%s' in %s", a->pattern,
				    a->binary[0] ? a->binary : "the process");
		return;
	}
	for (unsigned i = 0; i < up->nhandles; i++) {
		struct uprobe_handle_info hi;

		if (uprobe_handle_info(d->uprobe, up->handles[i], &hi) == 0)
			fds += hi.fds;
	}
	log_info(d, "probe %u enabled in uprobe mode: %s, %u attach(es), %u fds%s%s", pb->id,
		 pb->pattern, up->nhandles, fds, failed ? "; failed: " : "", failed ? err : "");
	/* fds: what the attaches hold (2 per site); failed/error: attaches that did not
	 * take (the others stay on). */
	reply_begin(&r, failed ? 8 : 6, true);
	ctl_pack_kv_u64(&r.pk, "id", pb->id);
	ctl_pack_kv_str(&r.pk, "mode", "uprobe");
	ctl_pack_kv_u64(&r.pk, "attached", up->nhandles);
	ctl_pack_kv_u64(&r.pk, "fds", fds);
	if (failed) {
		ctl_pack_kv_u64(&r.pk, "failed", failed);
		ctl_pack_kv_str(&r.pk, "error", err);
	}
	ctl_pack_str(&r.pk, "processes");
	msgpack_pack_array(&r.pk, 0);
	reply_send(c, &r);
}
