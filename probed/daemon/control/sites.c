/* SPDX-License-Identifier: MIT */
/*
 * sites: the sites request: every site the client may see, sled mode's slots and (for
 * root) uprobe mode's attaches.
 */
#include "ctl/ctl.h"
#include "daemon/control/request.h"
#include "daemon/uprobe/uprobe.h"

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

void handle_sites(struct daemon *d, struct client *c, const msgpack_object *req)
{
	(void)req;
	unsigned n = 0;
	struct reply r;

	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		if (!p->gone && may_touch(c, p))
			n += p->nslots;
	/* Uprobe mode's attaches, by provider:name (a uprobe has no slot): a root client's
	 * list shows them on too.  Others see only sled mode's sites. */
	if (c->uid == 0)
		n += uprobe_each_attached(d->uprobe, NULL, NULL);
	reply_begin(&r, 2, true);
	ctl_pack_str(&r.pk, "sites");
	msgpack_pack_array(&r.pk, n);
	if (c->uid == 0)
		uprobe_each_attached(d->uprobe, pack_uprobe_site, &r.pk);
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		if (p->gone || !may_touch(c, p))
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
			msgpack_pack_map(&r.pk, 5);
			ctl_pack_kv_i64(&r.pk, "pid", p->pid);
			ctl_pack_kv_u64(&r.pk, "address", p->slots[i].addr);
			ctl_pack_kv_str(&r.pk, "state", st < 3 ? states[st] : "?");
			ctl_pack_kv_u64(&r.pk, "probe", nids ? ids[0] : 0);
			ctl_pack_str(&r.pk, "probes");
			msgpack_pack_array(&r.pk, nids);
			for (unsigned k = 0; k < nids; k++)
				msgpack_pack_uint32(&r.pk, ids[k]);
		}
	}
	reply_send(c, &r);
}
