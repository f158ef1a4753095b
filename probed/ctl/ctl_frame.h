/* SPDX-License-Identifier: MIT */
/*
 * ctl_frame: finds where one control request ends in the bytes read so far, without
 * allocating anything, and refuses it early when it is bigger than the limits allow.
 *
 * msgpack's own unpacker allocates what a header announces before the data arrives (an
 * array32 header of 5 bytes makes it reserve gigabytes) and buffers a string until it is
 * whole (a 200 MB string costs 200 MB).  probed runs every request through this scanner
 * first, and unpacks only a request that is complete and within the limits.
 */
#ifndef SLED_CTL_FRAME_H
#define SLED_CTL_FRAME_H

#include <stddef.h>

/* Nesting deeper than this is refused (requests are a map of scalars, or of small arrays). */
#define CTL_FRAME_MAX_DEPTH 8

struct ctl_frame_limits {
	size_t max_bytes;    /* the whole request, encoded */
	size_t max_elements; /* array items + map keys and values, all levels added up */
};

enum ctl_frame_result {
	CTL_FRAME_PARTIAL = 0,  /* within the limits so far: read more */
	CTL_FRAME_COMPLETE = 1, /* *len is the request's size */
	CTL_FRAME_TOO_BIG = -1, /* over a limit (the reason is in why) */
	CTL_FRAME_BAD = -2,     /* not a msgpack map (the reason is in why) */
};

/* Scan buf[0..n) for the first request.  why, when not NULL, receives a static
 * one-line reason on CTL_FRAME_TOO_BIG or CTL_FRAME_BAD. */
enum ctl_frame_result ctl_frame_scan(const void *buf, size_t n,
				     const struct ctl_frame_limits *lim, size_t *len,
				     const char **why);

#endif /* SLED_CTL_FRAME_H */
