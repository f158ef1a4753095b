/* SPDX-License-Identifier: MIT */
/*
 * binary_object: the parsed tracepoint sites of an enable's -b BINARY, from the daemon's
 * object cache (objcache.h), so that the enable's check, its attaches and the standing
 * probes on the same unchanged file share one parse with each other and with the traced
 * processes that map it.  When the cache is at --max-objects-memory the file is parsed
 * for the request alone, as before there was a cache: an enable is never refused for the
 * cache's sake.
 */
#ifndef SLED_CONTROL_BINARY_OBJECT_H
#define SLED_CONTROL_BINARY_OBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "discovery/sites.h"

struct daemon;

struct binary_object {
	const struct sled_object *obj; /* the sites: the cache's entry or own */
	bool cached;                   /* obj is a cache reference, to put back */
	struct sled_object own;        /* the request's own parse when the cache is full */
};

/* path's sites into b: 0, or a negative errno with a one-line reason in err
 * (sled_objcache_get's, sled_object_read's). */
int binary_object_get(struct daemon *d, const char *path, struct binary_object *b, char *err,
		      size_t errlen);
/* Release b (nothing when a cache reference was taken over: b->cached false, obj NULL). */
void binary_object_put(struct daemon *d, struct binary_object *b);

#endif /* SLED_CONTROL_BINARY_OBJECT_H */
