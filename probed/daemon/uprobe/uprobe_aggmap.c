/* SPDX-License-Identifier: MIT */
/* Uprobe mode's aggregation maps (see uprobe_aggmap.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "daemon/uprobe/uprobe_aggmap.h"
#include "bpf/usdt_events.h"

_Static_assert(sizeof(struct usdt_agg_key) == 96, "aggregation key: no padding");
_Static_assert(sizeof(struct usdt_agg_ikey) == 40, "integer key: no padding");
_Static_assert(sizeof(struct usdt_agg_val) == 32, "aggregation value");
_Static_assert(USDT_AGG_INT_KEY <= USDT_AGG_KEY, "integer keys: a prefix of the key bytes");

int aggmap_create(uint32_t max_entries, bool ints)
{
	/* The flags must be the BPF object's inner map's (usdt_events.bpf.c: agg_inner). */
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int fd;

	if (!max_entries)
		max_entries = 1;
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "sled_agg",
			    ints ? sizeof(struct usdt_agg_ikey) : sizeof(struct usdt_agg_key),
			    sizeof(struct usdt_agg_val), max_entries, &opts);
	return fd < 0 ? -errno : fd;
}

static bool less(uint64_t a, uint64_t b, bool sign)
{
	return sign ? (int64_t)a < (int64_t)b : a < b;
}

/* A key of either kind, and where its bucket and key bytes are. */
union any_key {
	struct usdt_agg_key s;
	struct usdt_agg_ikey i;
};

int aggmap_read(int fd, bool ints, int ncpus, bool value_signed, uprobe_agg_fn fn, void *arg)
{
	union any_key key, next;
	struct usdt_agg_val *vals = calloc((size_t)ncpus, sizeof(*vals));
	bool first = true;
	int rc = 0;

	if (!vals)
		return -ENOMEM;
	/* Keys only come (a reset swaps the whole map): walking while hits add keys is safe. */
	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		struct usdt_agg_val m = { 0 };
		bool any = false;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int c = 0; c < ncpus; c++) {
			if (!vals[c].count)
				continue;
			m.count += vals[c].count;
			m.sum += vals[c].sum;
			if (!any || less(vals[c].min, m.min, value_signed))
				m.min = vals[c].min;
			if (!any || less(m.max, vals[c].max, value_signed))
				m.max = vals[c].max;
			any = true;
		}
		if (!any)
			continue;
		if (ints) {
			uint8_t wide[USDT_AGG_KEY] = { 0 };

			memcpy(wide, key.i.key, USDT_AGG_INT_KEY);
			fn(arg, wide, key.i.bucket, m.count, m.sum, m.min, m.max);
		} else {
			fn(arg, key.s.key, key.s.bucket, m.count, m.sum, m.min, m.max);
		}
	}
	if (errno != ENOENT)
		rc = -errno;
	free(vals);
	return rc;
}
