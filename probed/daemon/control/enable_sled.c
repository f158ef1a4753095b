/* SPDX-License-Identifier: MIT */
/*
 * enable_sled: an enable in sled mode (and auto): the probe on every process in scope
 * through its agent (core/pending.c), the reply once they all answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "daemon/control/enable.h"
#include "daemon/control/report.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "daemon/core/pending.h"
#include "daemon/sled/aggregate.h"
#include "daemon/uprobe/uprobe_auto.h"

static bool in_scope(const struct probe *pb, const struct traced_proc *p)
{
	return !pb->pid || pb->pid == p->pid;
}

/* An enable in sled mode while its processes' agents work: what its reply needs. */
struct enable_ctx {
	uint32_t id;
	struct scope_args a;
	struct functions fn;
	const struct probe_mode_ops *mode;
	char why[512];
	struct auto_result *ures;
	struct auto_report rep;
};

static void enable_ctx_free(void *arg)
{
	struct enable_ctx *e = arg;

	if (e)
		free(e->ures);
	free(e);
}

/* The reply, once every process's agent answered (or timed out). */
static void enable_finish(struct daemon *d, struct pending_req *rq)
{
	struct enable_ctx *e = rq->ctx;
	const struct scope_args *a = &e->a;
	struct client *c = rq->c;
	unsigned nproc = 0, wanted = 0, on = 0;
	const struct apply_result *res[256];
	pid_t pids[256];
	struct probe *pb = probes_find(&d->probes, e->id);
	struct reply r;
	int first_err = 0;
	char why[512], busy[256] = "";
	bool everywhere;

	snprintf(why, sizeof(why), "%s", e->why);
	for (unsigned i = 0; i < rq->n; i++) {
		const struct apply_result *ar = &rq->procs[i].r;

		if (!rq->procs[i].p || (!ar->wanted && !ar->failed && !ar->busy))
			continue;
		wanted += ar->wanted;
		on += ar->on;
		if (ar->why[0] && !why[0])
			snprintf(why, sizeof(why), "%s", ar->why);
		if (ar->busy_why[0] && !busy[0])
			snprintf(busy, sizeof(busy), "%s", ar->busy_why);
		if (ar->error && !first_err)
			first_err = ar->error;
		if (nproc < sizeof(res) / sizeof(res[0])) {
			res[nproc] = ar;
			pids[nproc++] = rq->procs[i].pid;
		}
	}
	if (!pb || pb->retired) {
		/* A disable by pattern took it while its agents worked: the disable reports it. */
		if (c)
			reply_error(c, "probe %u was disabled before its enable finished", e->id);
		enable_ctx_free(e);
		return;
	}
	/* A probe on one process must take effect there; a standing probe (all processes,
	 * or a binary) stays for the processes to come even if none takes it now. */
	if (why[0] || (a->pid && (!wanted || !on))) {
		probes_discard(&d->probes, e->id);
		for (struct traced_proc *p = d->procs.head; p; p = p->next)
			if (!p->gone && nproc)
				probes_apply_start(&d->probes, p, NULL, NULL, NULL);
		if (!c)
			;
		else if (why[0])
			reply_error(c, "%s", why);
		else if (!wanted && busy[0])
			reply_error(c, "%s", busy);
		else if (!wanted)
			reply_error(c, "no sled tracepoint matches '%s' in process %lld", a->pattern,
				    (long long)a->pid);
		else if (first_err)
			reply_error(c, "could not patch any of %u sites: %s", wanted,
				    strerror(-first_err));
		else
			reply_error(c, "could not patch any of %u sites: the process's agent left "
				    "them off", wanted);
		enable_ctx_free(e);
		return;
	}
	log_info(d, "probe %u enabled: %s%s%s pid %d: %u/%u sites in %u processes", pb->id,
		 pb->pattern, pb->binary[0] ? " binary " : "", pb->binary, (int)pb->pid, on, wanted,
		 nproc);
	if (pb->auto_uprobe)
		log_info(d, "probe %u: uprobe part: %u attach(es) in %u process(es), %u fds%s%s",
			 pb->id, e->rep.attached, e->rep.processes, e->rep.fds,
			 e->rep.error[0] ? "; failed: " : "", e->rep.error);
	if (!c) {
		enable_ctx_free(e);
		return;
	}
	/* Sled mode's processes first, then the uprobe part's (no scope, auto). */
	everywhere = !a->pid && !a->binary[0] && e->mode->uprobes_everywhere;
	reply_begin(&r, 4 + (everywhere ? report_auto_keys(&e->rep) : 0), true);
	ctl_pack_kv_u64(&r.pk, "id", pb->id);
	ctl_pack_kv_str(&r.pk, "mode", pb->auto_uprobe ? "auto" : "sled");
	if (everywhere)
		report_auto_totals(&r.pk, &e->rep);
	ctl_pack_str(&r.pk, "processes");
	msgpack_pack_array(&r.pk, nproc + e->rep.nres);
	report_sled_rows(&r.pk, res, pids, nproc);
	report_auto_rows(&r.pk, e->ures, e->rep.nres);
	reply_send(c, &r);
	enable_ctx_free(e);
}

/* Sled mode (or auto): the probe is made and its processes' agents are told; the reply
 * comes from enable_finish once they answered. */
void enable_sled(struct daemon *d, struct client *c, const struct scope_args *a,
			const struct functions *fn, const struct probe_mode_ops *mode)
{
	struct pending_req *rq = NULL;
	struct enable_ctx *e;
	struct probe *pb = NULL;

	e = calloc(1, sizeof(*e));
	if (e)
		pb = probes_add(&d->probes, a->pattern, (pid_t)a->pid, a->binary, c->uid);
	if (pb && fn->naggs) {
		const char *exprs[SLED_LANE_AGGS];
		char why[300];

		for (unsigned i = 0; i < fn->naggs; i++)
			exprs[i] = fn->aggregate[i];
		if (agg_probe_init(pb, exprs, fn->naggs, fn->max_keys, why, sizeof(why))) {
			probes_discard(&d->probes, pb->id);
			free(e);
			reply_error(c, "%s", why);
			return;
		}
	}
	if (pb)
		rq = pending_new(d, c, enable_finish, e, enable_ctx_free);
	if (!rq) {
		if (pb)
			probes_discard(&d->probes, pb->id);
		free(e);
		reply_error(c, "out of memory");
		return;
	}
	e->id = pb->id;
	e->a = *a;
	e->fn = *fn;
	e->mode = mode;
	memcpy(pb->filter, fn->filter, sizeof(pb->filter));
	pb->sample = fn->sample;
	pb->rate = fn->rate;
	pb->count_only = fn->count_only;
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		struct pending_proc *pp;

		if (p->gone || !in_scope(pb, p) || !may_touch(c, p))
			continue;
		pp = pending_apply(d, rq, p, pb);
		/* A filter that does not compile for a tracepoint is known from the plan. */
		if (pp && pp->r.why[0] && !e->why[0])
			snprintf(e->why, sizeof(e->why), "%s", pp->r.why);
	}
	/* auto with no scope: the processes without libsled get uprobes (uprobe_auto.c).
	 * Without BPF or uprobes the sled part stands alone, and the reply says why. */
	if (!e->why[0] && !a->pid && !a->binary[0] && mode->uprobes_everywhere) {
		e->ures = calloc(AUTO_ROWS, sizeof(*e->ures));
		if (!e->ures)
			snprintf(e->rep.error, sizeof(e->rep.error), "uprobe part: out of memory");
		else if (daemon_uprobe(d, e->rep.error, sizeof(e->rep.error)))
			log_info(d, "probe %u: no uprobe part: %s", pb->id, e->rep.error);
		else {
			int rc;

			pb->auto_uprobe = true;
			rc = uprobe_auto_enable(d, pb, e->ures, AUTO_ROWS, &e->rep, e->why,
						sizeof(e->why));
			/* -EINVAL: the filter does not fit a tracepoint: refused whole, at the end. */
			if (rc && rc != -EINVAL) {
				snprintf(e->rep.error, sizeof(e->rep.error), "%.250s", e->why);
				e->why[0] = 0;
				pb->auto_uprobe = false;
			}
		}
	}
}
