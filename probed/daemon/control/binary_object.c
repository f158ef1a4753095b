/* SPDX-License-Identifier: MIT */
/* binary_object: see binary_object.h. */
#include <errno.h>
#include <string.h>

#include "daemon/control/binary_object.h"
#include "daemon/core/daemon.h"
#include "discovery/objcache.h"

int binary_object_get(struct daemon *d, const char *path, struct binary_object *b, char *err,
		      size_t errlen)
{
	struct sled_objcache *cache = procs_objects(&d->procs);
	int rc = -ENOMEM;

	memset(b, 0, sizeof(*b));
	if (cache) {
		rc = sled_objcache_get(cache, path, &b->obj, err, errlen);
		b->cached = rc == 0;
	}
	if (rc == -E2BIG || rc == -ENOMEM) {
		/* Over --max-objects-memory (or no cache): this request's own parse. */
		rc = sled_object_read(path, &b->own, err, errlen);
		if (rc == 0)
			b->obj = &b->own;
	}
	return rc;
}

void binary_object_put(struct daemon *d, struct binary_object *b)
{
	if (b->cached)
		sled_objcache_put(d->procs.objects, b->obj);
	else if (b->obj == &b->own)
		sled_object_free(&b->own);
	b->obj = NULL;
	b->cached = false;
}
