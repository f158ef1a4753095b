/* SPDX-License-Identifier: MIT */
/*
 * disable: the disable request, by id or by scope.  The probes are retired, their lanes
 * handed back by every agent (core/pending.c), and the reply reports their final figures.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "daemon/control/mode_part.h"
#include "daemon/control/report.h"
#include "daemon/control/request.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "daemon/core/loss.h"
#include "daemon/core/pending.h"

/* A disable while the agents hand the probes' lanes back: the probes' ids. */
struct disable_ctx {
	unsigned n;
	uint32_t ids[256];
};

/* Every process handed the lanes back (off, idle, drained): the final figures. */
static void disable_finish(struct daemon *d, struct pending_req *rq)
{
	struct disable_ctx *x = rq->ctx;
	struct client *c = rq->c;
	struct reply r;

	log_info(d, "disabled %u probe(s)", x->n);
	if (c) {
		reply_begin(&r, 3, true);
		ctl_pack_str(&r.pk, "disabled");
		msgpack_pack_array(&r.pk, x->n);
		for (unsigned i = 0; i < x->n; i++)
			msgpack_pack_uint32(&r.pk, x->ids[i]);
		ctl_pack_str(&r.pk, "final");
		msgpack_pack_array(&r.pk, x->n);
	}
	for (unsigned i = 0; i < x->n; i++) {
		struct probe *pb = probes_find(&d->probes, x->ids[i]);

		if (c && pb)
			report_probe(&r.pk, pb, d);
		else if (c)
			msgpack_pack_nil(&r.pk);
		if (pb)
			loss_final(d, pb);
		for (unsigned k = 0; k < MODE_PARTS; k++)
			if (mode_parts[k]->forget)
				mode_parts[k]->forget(d, x->ids[i]);
		probes_remove(&d->probes, x->ids[i]);
	}
	if (c)
		reply_send(c, &r);
	free(x);
}

void handle_disable(struct daemon *d, struct client *c, const msgpack_object *req)
{
	struct disable_ctx *x = calloc(1, sizeof(*x));
	struct pending_req *rq;
	struct scope_args a;
	int64_t id;

	char err[256];
	int rc;

	if (!x) {
		reply_error(c, "out of memory");
		return;
	}
	rc = ctl_field_i64(req, "id", 1, UINT32_MAX, &id, err, sizeof(err));
	if (rc < 0 || (rc == 1 && ctl_get(req, "pattern"))) {
		reply_error(c, "%s", rc < 0 ? err : "\"id\" and \"pattern\" are mutually exclusive");
		free(x);
		return;
	}
	/* A probe being disabled already (retired) is not found again. */
	if (rc == 1) {
		struct probe *pb = probes_find(&d->probes, (uint32_t)id);

		if (!pb || pb->retired || (c->uid != 0 && pb->owner != c->uid)) {
			reply_error(c, "no probe with id %lld", (long long)id);
			free(x);
			return;
		}
		x->ids[x->n++] = pb->id;
	} else {
		if (parse_scope(c, req, &a)) {
			free(x);
			return;
		}
		for (struct probe *pb = d->probes.head; pb && x->n < 256; pb = pb->next)
			if (!pb->retired && !strcmp(pb->pattern, a.pattern) && pb->pid == (pid_t)a.pid &&
			    !strcmp(pb->binary, a.binary) && (c->uid == 0 || pb->owner == c->uid))
				x->ids[x->n++] = pb->id;
		if (!x->n) {
			reply_error(c, "no probe enabled as '%s'%s", a.pattern,
				    a.pid || a.binary[0] ? " with that scope" : "");
			free(x);
			return;
		}
	}
	rq = pending_new(d, c, disable_finish, x, free);
	if (!rq) {
		reply_error(c, "out of memory");
		free(x);
		return;
	}
	/* Retire first, free after: handing the slots back (off, idle, drained) folds their
	 * last figures into the probes, which the reply then reports as final. */
	for (unsigned i = 0; i < x->n; i++) {
		struct probe *pb = probes_find(&d->probes, x->ids[i]);

		pb->retired = true;
		for (unsigned k = 0; k < MODE_PARTS; k++)
			if (mode_parts[k]->retire)
				mode_parts[k]->retire(d, pb);
	}
	daemon_drain(d); /* what the retired parts (uprobes) wrote before they went */
	for (unsigned k = 0; k < MODE_PARTS; k++)
		if (mode_parts[k]->settle)
			mode_parts[k]->settle(d, rq);
}
