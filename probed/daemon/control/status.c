/* SPDX-License-Identifier: MIT */
/*
 * status: the status request: the daemon (clients, limits), aggregations, probes,
 * processes and outputs.
 */
#include "ctl/ctl.h"
#include "daemon/control/report.h"
#include "daemon/control/request.h"
#include "daemon/core/engine.h"

void handle_status(struct daemon *d, struct client *c, const msgpack_object *req)
{
	(void)req;
	unsigned nprobes = 0;
	struct reply r;

	/* The figures must include what is still in the rings: drain first. */
	daemon_drain(d);
	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		nprobes += c->uid == 0 || pb->owner == c->uid;
	reply_begin(&r, 6, true);
	ctl_pack_str(&r.pk, "daemon");
	report_daemon(&r.pk, d);
	report_aggregations(&r.pk, d, c->uid);
	ctl_pack_str(&r.pk, "probes");
	msgpack_pack_array(&r.pk, nprobes);
	for (struct probe *pb = d->probes.head; pb; pb = pb->next) {
		if (c->uid != 0 && pb->owner != c->uid)
			continue;
		report_probe(&r.pk, pb, d);
	}
	ctl_pack_str(&r.pk, "processes");
	report_processes(&r.pk, d, c->uid);
	ctl_pack_str(&r.pk, "outputs");
	report_outputs(&r.pk, d);
	reply_send(c, &r);
}
