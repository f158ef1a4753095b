/* SPDX-License-Identifier: MIT */
/*
 * show: the show request: a probe's aggregations merged over its processes.
 */
#include "ctl/ctl.h"
#include "daemon/control/request.h"
#include "daemon/core/engine.h"
#include "daemon/sled/aggregate.h"

/* show: a probe's aggregations merged over its processes; with "clear", started again
 * from nothing after this reading. */
void handle_show(struct daemon *d, struct client *c, const msgpack_object *req)
{
	struct agg_table t[SLED_LANE_AGGS];
	struct probe *pb;
	struct reply r;
	char err[256];
	bool clear = false;
	int64_t id;
	int rc = ctl_field_i64(req, "id", 1, UINT32_MAX, &id, err, sizeof(err));

	if (rc <= 0) {
		reply_error(c, "%s", rc < 0 ? err : "show needs a probe \"id\"");
		return;
	}
	if (ctl_field_bool(req, "clear", &clear, err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return;
	}
	pb = probes_find(&d->probes, (uint32_t)id);
	if (!pb || (c->uid != 0 && pb->owner != c->uid)) {
		reply_error(c, "no probe with id %lld", (long long)id);
		return;
	}
	if (!pb->aggs) {
		reply_error(c, "probe %u has no aggregations (enable with --aggregate EXPR)", pb->id);
		return;
	}
	/* Rings of exited threads are folded as they are drained: drain first. */
	daemon_drain(d);
	agg_collect(pb, &d->procs, t);
	if (clear)
		agg_clear(pb, &d->procs);
	reply_begin(&r, 3, true); /* "version", "id", "aggregations" */
	agg_pack_show(&r.pk, pb, t);
	agg_tables_free(t, pb->aggs->n);
	reply_send(c, &r);
}
