/* SPDX-License-Identifier: MIT */
/* The merged aggregations as replies: show's rows, status's summary, metrics' rows. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sled/aggregate.h"
#include "ctl/ctl.h"
#include "daemon/core/probes.h"

/* The value a row is sorted and shown by. */
static uint64_t row_value(const struct probe_agg *a, const struct agg_row *r)
{
	switch (a->spec.func) {
	case SLED_AGG_SUM: return r->sum;
	case SLED_AGG_MIN: return r->min;
	case SLED_AGG_MAX: return r->max;
	case SLED_AGG_AVG:
		if (!r->count)
			return 0;
		return a->value_signed ? (uint64_t)((int64_t)r->sum / (int64_t)r->count)
				       : r->sum / r->count;
	default: return r->count;
	}
}

static bool value_is_signed(const struct probe_agg *a)
{
	return a->value_signed && a->spec.func != SLED_AGG_COUNT && a->spec.func != SLED_AGG_STATS &&
	       a->spec.func != SLED_AGG_HIST && a->spec.func != SLED_AGG_LHIST;
}

static const struct probe_agg *sort_agg;

static int cmp_rows(const void *x, const void *y)
{
	const struct agg_row *a = *(const struct agg_row *const *)x, *b = *(const struct agg_row *const *)y;
	uint64_t va = row_value(sort_agg, a), vb = row_value(sort_agg, b);

	if (value_is_signed(sort_agg))
		return (int64_t)va < (int64_t)vb ? -1 : (int64_t)va > (int64_t)vb;
	if (va != vb)
		return va < vb ? -1 : 1;
	return memcmp(a->key, b->key, SLED_AGG_KEY_BYTES);
}

/* The rows sorted by value, smallest first (as bpftrace prints a map). */
static const struct agg_row **sorted_rows(const struct probe_agg *a, const struct agg_table *t)
{
	const struct agg_row **v = malloc((t->n ? t->n : 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		v[i] = &t->rows[i];
	sort_agg = a;
	qsort(v, t->n, sizeof(*v), cmp_rows);
	return v;
}

/* Key field k of a row as text (metrics labels) or packed (show). */
static const uint8_t *key_field(const struct probe_agg *a, const struct agg_row *r, unsigned k)
{
	unsigned off = 0;

	for (unsigned i = 0; i < k; i++)
		off += a->key_class[i] == AGG_KEY_STRING ? SLED_AGG_STR_KEY : 8;
	return r->key + off;
}

static void key_text(const struct probe_agg *a, const struct agg_row *r, unsigned k, char *buf,
		     size_t len)
{
	const uint8_t *f = key_field(a, r, k);
	uint64_t v;

	if (a->key_class[k] == AGG_KEY_STRING) {
		snprintf(buf, len, "%.*s", (int)strnlen((const char *)f, SLED_AGG_STR_KEY), (const char *)f);
		return;
	}
	memcpy(&v, f, 8);
	if (a->key_class[k] == AGG_KEY_BOOL)
		snprintf(buf, len, "%s", v ? "true" : "false");
	else if (a->key_class[k] == AGG_KEY_SIGNED)
		snprintf(buf, len, "%" PRId64, (int64_t)v);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static void pack_key(msgpack_packer *pk, const struct probe_agg *a, const struct agg_row *r)
{
	msgpack_pack_map(pk, a->spec.nkeys);
	for (unsigned k = 0; k < a->spec.nkeys; k++) {
		const uint8_t *f = key_field(a, r, k);
		uint64_t v;

		ctl_pack_str(pk, a->spec.keys[k]);
		memcpy(&v, f, 8);
		switch (a->key_class[k]) {
		case AGG_KEY_STRING: {
			size_t n = strnlen((const char *)f, SLED_AGG_STR_KEY);

			msgpack_pack_str(pk, n);
			msgpack_pack_str_body(pk, f, n);
			break;
		}
		case AGG_KEY_BOOL:
			if (v)
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
			break;
		case AGG_KEY_SIGNED: msgpack_pack_int64(pk, (int64_t)v); break;
		default: msgpack_pack_uint64(pk, v); break;
		}
	}
}

static void pack_value(msgpack_packer *pk, uint64_t v, bool is_signed)
{
	if (is_signed)
		msgpack_pack_int64(pk, (int64_t)v);
	else
		msgpack_pack_uint64(pk, v);
}

/* Bucket b's range [low, high) as numbers: signed low, and high (hist's last: 2^64 - 1). */
static void bucket_range(const struct probe_agg *a, unsigned b, int64_t *low, uint64_t *high,
			 bool *high_signed, int64_t *shigh)
{
	*high_signed = false;
	if (a->spec.func == SLED_AGG_HIST) {
		*low = b == 0 ? INT64_MIN : b == 1 ? 0 : (int64_t)(b - 2 < 63 ? 1ull << (b - 2) : 0);
		if (b == 0) {
			*high_signed = true;
			*shigh = 0;
		} else if (b == 1) {
			*high = 1;
		} else {
			*high = b - 2 < 63 ? 1ull << (b - 1) : UINT64_MAX;
			if (b - 2 == 63)
				*low = INT64_MIN; /* 2^63 does not fit: packed unsigned below */
		}
		return;
	}
	*high_signed = true;
	if (b == 0) {
		*low = INT64_MIN;
		*shigh = a->spec.lmin;
	} else if (b == a->nbuckets - 1) {
		*low = a->spec.lmax;
		*shigh = INT64_MAX;
	} else {
		*low = a->spec.lmin + (int64_t)(b - 1) * a->spec.lstep;
		*shigh = *low + a->spec.lstep < a->spec.lmax ? *low + a->spec.lstep : a->spec.lmax;
	}
}

static void pack_buckets(msgpack_packer *pk, const struct probe_agg *a, const struct agg_row *r)
{
	unsigned first = 0, last = 0, n = 0;
	bool any = false;

	for (unsigned b = 0; b < a->nbuckets; b++) {
		if (!r->buckets[b])
			continue;
		if (!any)
			first = b;
		last = b;
		any = true;
	}
	if (any)
		n = last - first + 1;
	ctl_pack_str(pk, "buckets");
	msgpack_pack_array(pk, n);
	for (unsigned b = first; any && b <= last; b++) {
		int64_t low, shigh = 0;
		uint64_t high = 0;
		bool hs;

		bucket_range(a, b, &low, &high, &hs, &shigh);
		msgpack_pack_map(pk, 3);
		ctl_pack_str(pk, "low");
		if (a->spec.func == SLED_AGG_HIST && b == 65)
			msgpack_pack_uint64(pk, 1ull << 63);
		else
			msgpack_pack_int64(pk, low);
		ctl_pack_str(pk, "high");
		if (hs)
			msgpack_pack_int64(pk, shigh);
		else
			msgpack_pack_uint64(pk, high);
		ctl_pack_kv_u64(pk, "count", r->buckets[b]);
	}
}

static void pack_row(msgpack_packer *pk, const struct probe_agg *a, const struct agg_row *r)
{
	bool s = a->value_signed;

	switch (a->spec.func) {
	case SLED_AGG_STATS:
		msgpack_pack_map(pk, 5);
		ctl_pack_str(pk, "key");
		pack_key(pk, a, r);
		ctl_pack_kv_u64(pk, "count", r->count);
		ctl_pack_str(pk, "sum");
		pack_value(pk, r->sum, s);
		ctl_pack_str(pk, "min");
		pack_value(pk, r->min, s);
		ctl_pack_str(pk, "max");
		pack_value(pk, r->max, s);
		break;
	case SLED_AGG_HIST:
	case SLED_AGG_LHIST:
		msgpack_pack_map(pk, 2);
		ctl_pack_str(pk, "key");
		pack_key(pk, a, r);
		pack_buckets(pk, a, r);
		break;
	default:
		msgpack_pack_map(pk, 2);
		ctl_pack_str(pk, "key");
		pack_key(pk, a, r);
		ctl_pack_str(pk, "value");
		pack_value(pk, row_value(a, r), value_is_signed(a));
		break;
	}
}

void agg_pack_show(msgpack_packer *pk, const struct probe *pb, const struct agg_table *t)
{
	unsigned n = pb->aggs ? pb->aggs->n : 0;

	ctl_pack_kv_u64(pk, "id", pb->id);
	ctl_pack_str(pk, "aggregations");
	msgpack_pack_array(pk, n);
	for (unsigned k = 0; k < n; k++) {
		const struct probe_agg *a = &pb->aggs->agg[k];
		const struct agg_row **rows = sorted_rows(a, &t[k]);
		size_t nrows = rows ? t[k].n : 0;

		msgpack_pack_map(pk, 4);
		ctl_pack_kv_str(pk, "expr", a->spec.text);
		ctl_pack_str(pk, "rows");
		msgpack_pack_array(pk, nrows);
		for (size_t i = 0; i < nrows; i++)
			pack_row(pk, a, rows[i]);
		ctl_pack_kv_u64(pk, "overflow", t[k].overflow);
		ctl_pack_kv_u64(pk, "dropped", t[k].dropped);
		free(rows);
	}
}

void agg_pack_status(msgpack_packer *pk, const struct probe *pb, const struct agg_table *t)
{
	unsigned n = pb->aggs ? pb->aggs->n : 0;

	msgpack_pack_array(pk, n);
	for (unsigned k = 0; k < n; k++) {
		msgpack_pack_map(pk, 4);
		ctl_pack_kv_str(pk, "expr", pb->aggs->agg[k].spec.text);
		ctl_pack_kv_u64(pk, "keys", t[k].n);
		ctl_pack_kv_u64(pk, "overflow", t[k].overflow);
		ctl_pack_kv_u64(pk, "dropped", t[k].dropped);
	}
}

void agg_for_each_row(const struct probe *pb, const struct agg_table *t, agg_row_fn fn, void *arg)
{
	for (unsigned k = 0; pb->aggs && k < pb->aggs->n; k++) {
		const struct probe_agg *a = &pb->aggs->agg[k];
		char vals[SLED_AGG_MAX_KEYS][SLED_AGG_STR_KEY + 24];
		const char *names[SLED_AGG_MAX_KEYS], *values[SLED_AGG_MAX_KEYS];

		for (size_t i = 0; i < t[k].n; i++) {
			for (unsigned j = 0; j < a->spec.nkeys; j++) {
				key_text(a, &t[k].rows[i], j, vals[j], sizeof(vals[j]));
				names[j] = a->spec.keys[j];
				values[j] = vals[j];
			}
			fn(arg, a, &t[k].rows[i], names, values, a->spec.nkeys);
		}
	}
}
