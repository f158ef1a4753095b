/* SPDX-License-Identifier: MIT */
/* hot_path_standalone.c: dispatch.c and aggregate.c without the rest of libsled. */
#ifndef SLED_HOT_PATH_STANDALONE_H
#define SLED_HOT_PATH_STANDALONE_H

#include "runtime.h"

#define SLED_STANDALONE_RING_DATA (1u << 16)

/* Site slots and descriptors all zero, and this thread's ring (SLED_STANDALONE_RING_DATA
 * bytes of records, its aggregation table) empty and claimed: what the dispatcher finds
 * before the caller sets up a site. */
struct sled_ring_header *sled_standalone_block(void);

#endif
