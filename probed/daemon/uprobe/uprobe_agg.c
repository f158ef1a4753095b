/* SPDX-License-Identifier: MIT */
/* Uprobe mode's aggregations, read into the daemon's tables (see uprobe_agg.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/core/daemon.h"
#include "daemon/sled/aggregate.h"
#include "daemon/uprobe/uprobe_agg.h"
#include "daemon/uprobe/uprobe_auto.h"

/* A (key, bucket) entry per hit at worst: a histogram's keys take up to nbuckets entries
 * each.  The merged table still holds at most max_keys keys (the rest is overflow); this
 * bounds the map's memory: 10,000 keys of hist at most ~66 * 10,000 entries. */
#define MAP_ENTRIES_MAX (1u << 22)

int uprobe_agg_prepare(struct probe *pb, const char *provider, const char *name,
		       const struct sled_field *fields, unsigned nfields, struct uprobe_agg *out,
		       unsigned *n, char *err, size_t errlen)
{
	*n = 0;
	if (!pb->aggs)
		return 0;
	for (unsigned k = 0; k < pb->aggs->n && k < UPROBE_MAX_AGGS; k++) {
		struct probe_agg *a = &pb->aggs->agg[k];
		enum sled_agg_func f = a->spec.func;
		uint64_t entries;
		char why[300];

		if (sled_agg_compile(&a->spec, fields, nfields, &out[k].c, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%s: %s", provider, name, why);
			return -EINVAL;
		}
		agg_learn_classes(a, &out[k].c, fields);
		out[k].minmax = f == SLED_AGG_MIN || f == SLED_AGG_MAX || f == SLED_AGG_STATS;
		entries = (uint64_t)pb->aggs->max_keys * (a->nbuckets ? a->nbuckets : 1);
		out[k].max_entries = entries > MAP_ENTRIES_MAX ? MAP_ENTRIES_MAX : (uint32_t)entries;
		*n = k + 1;
	}
	return 0;
}

struct fill {
	struct agg_table *t;
	const struct probe_agg *a;
	uint32_t max_keys;
};

static void add_entry(void *arg, const uint8_t *key, uint32_t bucket, uint64_t count,
		      uint64_t sum, uint64_t min, uint64_t max)
{
	struct fill *f = arg;

	/* Buckets as sled mode's dispatcher makes them; anything else is not ours. */
	if (f->a->nbuckets ? bucket >= f->a->nbuckets : bucket != 0)
		return;
	agg_table_add(f->t, f->a, f->max_keys, key, bucket, count, sum, min, max);
}

/* Handle h's maps into out[k] (reset: and start them again from nothing). */
static void read_handle(struct daemon *d, const struct probe *pb, int h, struct agg_table *out,
			bool reset)
{
	for (unsigned k = 0; k < pb->aggs->n; k++) {
		struct fill f = { .a = &pb->aggs->agg[k], .max_keys = pb->aggs->max_keys };
		struct agg_table scratch = { 0 };
		uint64_t overflow, dropped;

		f.t = out ? &out[k] : &scratch;
		if (uprobe_agg_read(d->uprobe, h, k, reset, add_entry, &f, &overflow, &dropped))
			continue;
		f.t->overflow += overflow;
		f.t->dropped += dropped;
		agg_tables_free(&scratch, 1);
	}
}

/* fn on each attach of pb: those of -p/-b, and the per-process ones of a probe with no
 * scope (uprobe_auto.c; detached ones too, until their figures are folded or forgotten). */
static void each_handle(struct daemon *d, const struct probe *pb,
			void (*fn)(int handle, void *arg), void *arg)
{
	const struct probe_uprobe *up = probe_uprobe_view(pb);

	for (unsigned i = 0; i < up->nhandles; i++)
		fn(up->handles[i], arg);
	if (pb->auto_uprobe)
		uprobe_auto_each_handle(d, pb, fn, arg);
}

struct visit {
	struct daemon *d;
	const struct probe *pb;
	struct agg_table *out;
};

static void collect_handle(int h, void *arg)
{
	struct visit *v = arg;

	read_handle(v->d, v->pb, h, v->out, false);
}

static void swap_handle(int h, void *arg)
{
	struct visit *v = arg;

	uprobe_agg_swap(v->d->uprobe, h);
}

static void clear_handle(int h, void *arg)
{
	struct visit *v = arg;

	read_handle(v->d, v->pb, h, NULL, true);
}

static void collect(void *arg, const struct probe *pb, struct agg_table *out)
{
	struct visit v = { .d = arg, .pb = pb, .out = out };

	if (!v.d->uprobe || !pb->aggs)
		return;
	each_handle(v.d, pb, collect_handle, &v);
}

static void clear(void *arg, struct probe *pb)
{
	struct visit v = { .d = arg, .pb = pb };

	if (!v.d->uprobe || !pb->aggs)
		return;
	/* Every map swapped first: one grace period for the whole probe. */
	each_handle(v.d, pb, swap_handle, &v);
	each_handle(v.d, pb, clear_handle, &v);
}

void uprobe_agg_fold(struct daemon *d, struct probe *pb, int handle)
{
	struct agg_table t[SLED_LANE_AGGS] = { 0 };

	if (!d->uprobe || !pb->aggs)
		return;
	uprobe_agg_swap(d->uprobe, handle); /* one grace period for its aggregations */
	read_handle(d, pb, handle, t, true);
	for (unsigned k = 0; k < pb->aggs->n; k++)
		agg_table_merge(&pb->aggs->agg[k].folded, &t[k], &pb->aggs->agg[k],
				pb->aggs->max_keys);
	agg_tables_free(t, SLED_LANE_AGGS);
}

void uprobe_agg_register(struct daemon *d)
{
	struct agg_source src = { .collect = collect, .clear = clear, .arg = d };

	agg_set_source(&src);
}
