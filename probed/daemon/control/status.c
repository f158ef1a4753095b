/* SPDX-License-Identifier: MIT */
/*
 * status: the status request: the daemon (clients, limits), aggregations, probes,
 * processes and outputs.
 */
#include "ctl/ctl.h"
#include "daemon/control/report.h"
#include "daemon/control/request.h"
#include "daemon/core/engine.h"
#include "daemon/core/reload.h"
#include "daemon/sled/aggregate.h"
#include "export/output.h"

/* status's "daemon": clients, the limits, and what they refused. */
static void pack_daemon(msgpack_packer *pk, const struct daemon *d)
{
	const struct server_stats *s = &d->stats;
	const struct server_limits *l = &d->limits;
	struct server_clients n;

	server_count_clients(d, &n);
	msgpack_pack_map(pk, 9 + RELOAD_STATUS_KEYS);
	reload_pack_status(pk, d);
	ctl_pack_kv_u64(pk, "clients", n.clients);
	ctl_pack_kv_u64(pk, "tail_clients", n.tails);
	ctl_pack_kv_u64(pk, "paused_clients", n.paused);
	ctl_pack_kv_u64(pk, "limits_hit", server_limits_hit(s));
	ctl_pack_kv_u64(pk, "requests_refused", s->refused_requests);
	ctl_pack_kv_u64(pk, "tail_lost", s->tail_lost);
	ctl_pack_str(pk, "limits");
	msgpack_pack_map(pk, 6);
	ctl_pack_kv_u64(pk, "request_bytes", l->request_bytes);
	ctl_pack_kv_u64(pk, "request_elements", REQUEST_MAX_ELEMENTS);
	ctl_pack_kv_u64(pk, "clients", l->clients);
	ctl_pack_kv_u64(pk, "clients_per_uid", l->clients_per_uid);
	ctl_pack_kv_u64(pk, "probes_per_uid", l->probes_per_uid);
	ctl_pack_kv_u64(pk, "client_buffer", l->client_buffer);
	/* Each limit's count: connections refused, requests refused, clients slowed. */
	ctl_pack_str(pk, "refused");
	msgpack_pack_map(pk, 7);
	ctl_pack_kv_u64(pk, "clients", s->refused_clients);
	ctl_pack_kv_u64(pk, "clients_per_uid", s->refused_clients_uid);
	ctl_pack_kv_u64(pk, "no_fds", s->refused_fds);
	ctl_pack_kv_u64(pk, "request_too_large", s->refused_too_large);
	ctl_pack_kv_u64(pk, "malformed", s->refused_malformed);
	ctl_pack_kv_u64(pk, "probes_per_uid", s->refused_probes);
	ctl_pack_kv_u64(pk, "version", s->refused_version);
	ctl_pack_str(pk, "slowed");
	msgpack_pack_map(pk, 2);
	ctl_pack_kv_u64(pk, "paused", s->paused);
	ctl_pack_kv_u64(pk, "tail_lagging", s->tail_clients_lagging);
}

/* status's "aggregations": each aggregating probe's expressions, keys and overflow. */
static void pack_aggregations(msgpack_packer *pk, struct daemon *d, uid_t uid)
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
	pack_daemon(&r.pk, d);
	pack_aggregations(&r.pk, d, c->uid);
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
	msgpack_pack_array(&r.pk, d->noutputs);
	for (unsigned i = 0; i < d->noutputs; i++) {
		struct sled_output_stats st;

		sled_output_stats(d->outputs[i], &st);
		msgpack_pack_map(&r.pk, 7);
		ctl_pack_kv_str(&r.pk, "spec", sled_output_spec(d->outputs[i]));
		ctl_pack_kv_str(&r.pk, "state", st.state ? st.state : "");
		ctl_pack_kv_u64(&r.pk, "sent", st.written);
		ctl_pack_kv_u64(&r.pk, "acked", st.acked);
		ctl_pack_kv_u64(&r.pk, "queued", st.queued);
		ctl_pack_kv_u64(&r.pk, "dropped", st.dropped);
		ctl_pack_kv_str(&r.pk, "error", st.error);
	}
	reply_send(c, &r);
}
