/* SPDX-License-Identifier: MIT */
/*
 * sites: the sites request: every site the client may see, sled mode's slots and (for
 * root) uprobe mode's attaches.
 */
#include "ctl/ctl.h"
#include "daemon/control/mode_part.h"
#include "daemon/control/request.h"

void handle_sites(struct daemon *d, struct client *c, const msgpack_object *req)
{
	(void)req;
	unsigned n = 0;
	struct reply r;

	for (unsigned i = 0; i < MODE_PARTS; i++)
		n += mode_parts[i]->sites(NULL, d, c->uid);
	reply_begin(&r, 2, true);
	ctl_pack_str(&r.pk, "sites");
	msgpack_pack_array(&r.pk, n);
	/* Uprobe mode's attaches first: the order the reply has always had. */
	for (unsigned i = MODE_PARTS; i-- > 0;)
		mode_parts[i]->sites(&r.pk, d, c->uid);
	reply_send(c, &r);
}
