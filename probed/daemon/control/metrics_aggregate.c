/* SPDX-License-Identifier: MIT */
/* metrics_aggregate: see metrics_aggregate.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control/metrics_aggregate.h"
#include "daemon/control/metrics_buckets.h"
#include "daemon/core/probes.h"
#include "daemon/sled/aggregate.h"

/* A family's HELP and TYPE lines go out with its first sample. */
struct family {
	const char *name, *type, *help;
	bool started;
};

/* One aggregating probe's merged tables, collected once for every family. */
struct probe_tables {
	const struct probe *pb;
	char id[12];
	bool repeated[SLED_LANE_AGGS];   /* the same expression as an earlier one */
	unsigned top[SLED_LANE_AGGS];    /* hist/lhist: the highest bucket any key reached */
	struct agg_table t[SLED_LANE_AGGS];
};

/* What a row callback needs besides the row. */
struct row_ctx {
	struct metrics_text *t;
	struct family *f;
	const struct probe_tables *pt;
};

/* probe, expr, the keys, and one more (stat or le). */
#define ROW_LABELS (2 + SLED_AGG_MAX_KEYS + 1)

static void family_begin(struct metrics_text *t, struct family *f)
{
	if (!f->started)
		metrics_family(t, f->name, f->type, f->help);
	f->started = true;
}

static bool is_histogram(const struct probe_agg *a)
{
	return a->spec.func == SLED_AGG_HIST || a->spec.func == SLED_AGG_LHIST;
}

static unsigned agg_index(const struct probe_tables *pt, const struct probe_agg *a)
{
	return (unsigned)(a - pt->pb->aggs->agg);
}

/* probe, expr and the key labels into l; returns how many. */
static unsigned row_labels(struct metrics_label *l, char names[][METRICS_KEY_LABEL_MAX],
			   const struct probe_tables *pt, const struct probe_agg *a,
			   const char *const *key_names, const char *const *key_values,
			   unsigned nkeys)
{
	unsigned n = 0;

	l[n++] = (struct metrics_label){ "probe", pt->id };
	l[n++] = (struct metrics_label){ "expr", a->spec.text };
	metrics_key_labels(names, key_names, nkeys);
	for (unsigned k = 0; k < nkeys; k++)
		l[n++] = (struct metrics_label){ names[k], key_values[k] };
	return n;
}

static void sample_value(struct metrics_text *t, const char *name,
			 const struct metrics_label *l, unsigned n, uint64_t v, bool is_signed)
{
	if (is_signed)
		metrics_sample_i64(t, name, l, n, (int64_t)v);
	else
		metrics_sample_u64(t, name, l, n, v);
}

/* avg as a number, not truncated as show prints it. */
static double row_avg(const struct probe_agg *a, const struct agg_row *r)
{
	if (!r->count)
		return 0;
	return (a->value_signed ? (double)(int64_t)r->sum : (double)r->sum) / (double)r->count;
}

static void gauge_row(void *arg, const struct probe_agg *a, const struct agg_row *row,
		      const char *const *key_names, const char *const *key_values,
		      unsigned nkeys)
{
	struct row_ctx *c = arg;
	struct metrics_label l[ROW_LABELS];
	char names[SLED_AGG_MAX_KEYS][METRICS_KEY_LABEL_MAX];
	unsigned n;
	bool s = a->value_signed;

	if (is_histogram(a) || c->pt->repeated[agg_index(c->pt, a)])
		return;
	n = row_labels(l, names, c->pt, a, key_names, key_values, nkeys);
	metrics_group_begin(c->t);
	family_begin(c->t, c->f);
	switch (a->spec.func) {
	case SLED_AGG_COUNT:
		metrics_sample_u64(c->t, c->f->name, l, n, row->count);
		break;
	case SLED_AGG_SUM: sample_value(c->t, c->f->name, l, n, row->sum, s); break;
	case SLED_AGG_MIN: sample_value(c->t, c->f->name, l, n, row->min, s); break;
	case SLED_AGG_MAX: sample_value(c->t, c->f->name, l, n, row->max, s); break;
	case SLED_AGG_AVG:
		metrics_sample_double(c->t, c->f->name, l, n, row_avg(a, row));
		break;
	default: /* stats: one sample per figure, told apart by "stat" */
		l[n] = (struct metrics_label){ "stat", "count" };
		metrics_sample_u64(c->t, c->f->name, l, n + 1, row->count);
		l[n].value = "sum";
		sample_value(c->t, c->f->name, l, n + 1, row->sum, s);
		l[n].value = "min";
		sample_value(c->t, c->f->name, l, n + 1, row->min, s);
		l[n].value = "max";
		sample_value(c->t, c->f->name, l, n + 1, row->max, s);
		l[n].value = "avg";
		metrics_sample_double(c->t, c->f->name, l, n + 1, row_avg(a, row));
		break;
	}
	metrics_group_end(c->t);
}

/* One key's histogram: cumulative buckets up to the aggregation's highest, +Inf, _sum,
 * _count (the +Inf bucket's count, so the two always agree). */
static void histogram_row(void *arg, const struct probe_agg *a, const struct agg_row *row,
			  const char *const *key_names, const char *const *key_values,
			  unsigned nkeys)
{
	struct row_ctx *c = arg;
	struct metrics_label l[ROW_LABELS];
	char names[SLED_AGG_MAX_KEYS][METRICS_KEY_LABEL_MAX], bound[24];
	unsigned n, k = agg_index(c->pt, a), first;
	uint64_t cumulative = 0, total = 0;

	if (!is_histogram(a) || c->pt->repeated[k] || !a->nbuckets)
		return;
	n = row_labels(l, names, c->pt, a, key_names, key_values, nkeys);
	metrics_group_begin(c->t);
	family_begin(c->t, c->f);
	first = metrics_bucket_first(&a->spec, a->value_signed);
	for (unsigned b = 0; b < a->nbuckets; b++)
		total += row->buckets[b];
	l[n].name = "le";
	for (unsigned b = 0; b < a->nbuckets && b <= c->pt->top[k]; b++) {
		int64_t le;

		cumulative += row->buckets[b];
		if (b < first || !metrics_bucket_le(&a->spec, a->nbuckets, b, &le))
			continue;
		snprintf(bound, sizeof(bound), "%" PRId64, le);
		l[n].value = bound;
		metrics_sample_u64(c->t, "sled_aggregate_hist_bucket", l, n + 1, cumulative);
	}
	l[n].value = "+Inf";
	metrics_sample_u64(c->t, "sled_aggregate_hist_bucket", l, n + 1, total);
	sample_value(c->t, "sled_aggregate_hist_sum", l, n, row->sum, a->value_signed);
	metrics_sample_u64(c->t, "sled_aggregate_hist_count", l, n, total);
	metrics_group_end(c->t);
}

/* Every aggregating probe's tables, merged now; NULL (t->failed) when out of memory. */
static struct probe_tables *collect(struct metrics_text *t, struct daemon *d, unsigned *count)
{
	struct probe_tables *pts;
	unsigned n = 0, i = 0;

	for (const struct probe *pb = d->probes.head; pb; pb = pb->next)
		n += pb->aggs != NULL;
	*count = n;
	if (!n)
		return NULL;
	pts = calloc(n, sizeof(*pts));
	if (!pts) {
		t->failed = true;
		return NULL;
	}
	for (const struct probe *pb = d->probes.head; pb; pb = pb->next) {
		struct probe_tables *pt;

		if (!pb->aggs)
			continue;
		pt = &pts[i++];
		pt->pb = pb;
		snprintf(pt->id, sizeof(pt->id), "%u", pb->id);
		agg_collect(pb, &d->procs, pt->t);
		for (unsigned k = 0; k < pb->aggs->n; k++) {
			const struct probe_agg *a = &pb->aggs->agg[k];

			for (unsigned j = 0; j < k; j++)
				pt->repeated[k] |= !strcmp(a->spec.text, pb->aggs->agg[j].spec.text);
			for (size_t r = 0; a->nbuckets && r < pt->t[k].n; r++)
				for (unsigned b = pt->top[k] + 1; b < a->nbuckets; b++)
					if (pt->t[k].rows[r].buckets[b])
						pt->top[k] = b;
		}
	}
	return pts;
}

/* sled_aggregate_{keys,overflow,dropped}{probe,expr}: one sample per aggregation. */
static void summary_families(struct metrics_text *t, const struct probe_tables *pts,
			     unsigned n)
{
	struct family fams[] = {
		{ "sled_aggregate_keys", "gauge", "Keys an aggregation holds (at most --max-keys).",
		  false },
		{ "sled_aggregate_overflow", "gauge",
		  "Hits not aggregated: their key was past --max-keys, or a thread's table was "
		  "full.", false },
		{ "sled_aggregate_dropped", "gauge",
		  "Hits not aggregated: nested in another hit on the same thread (a signal "
		  "handler's).", false },
	};

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++)
		for (unsigned i = 0; i < n; i++)
			for (unsigned k = 0; k < pts[i].pb->aggs->n; k++) {
				const struct agg_table *tab = &pts[i].t[k];
				struct metrics_label l[] = {
					{ "probe", pts[i].id },
					{ "expr", pts[i].pb->aggs->agg[k].spec.text },
				};

				if (pts[i].repeated[k])
					continue;
				family_begin(t, &fams[f]);
				metrics_sample_u64(t, fams[f].name, l, 2,
						   f == 0 ? tab->n : f == 1 ? tab->overflow
									: tab->dropped);
			}
}

void metrics_aggregate_families(struct metrics_text *t, struct daemon *d)
{
	unsigned n;
	struct probe_tables *pts = collect(t, d, &n);
	struct family gauge = {
		"sled_aggregate", "gauge",
		"Aggregations count(), sum(), min(), max(), avg() and stats() (label stat), "
		"per key, as probectl show merges them.", false
	};
	struct family hist = {
		"sled_aggregate_hist", "histogram",
		"Aggregations hist() and lhist(), per key: bucket [L, H) is le=\"H-1\".", false
	};
	struct row_ctx c = { .t = t };

	if (!pts)
		return;
	c.f = &gauge;
	for (unsigned i = 0; i < n; i++) {
		c.pt = &pts[i];
		agg_for_each_row(pts[i].pb, pts[i].t, gauge_row, &c);
	}
	c.f = &hist;
	for (unsigned i = 0; i < n; i++) {
		c.pt = &pts[i];
		agg_for_each_row(pts[i].pb, pts[i].t, histogram_row, &c);
	}
	summary_families(t, pts, n);
	for (unsigned i = 0; i < n; i++)
		agg_tables_free(pts[i].t, pts[i].pb->aggs->n);
	free(pts);
}
