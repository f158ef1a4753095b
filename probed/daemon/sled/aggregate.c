/* SPDX-License-Identifier: MIT */
/* Descriptors, folding and merging of sled mode's aggregations (see aggregate.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sled/tracepoint.h>

#include "common/fnv.h"
#include "daemon/sled/aggregate.h"
#include "daemon/core/probes.h"

/* --- merged tables --- */

static uint64_t key_hash(const uint8_t *key)
{
	return sled_fnv1a(key, SLED_AGG_KEY_BYTES);
}

static bool grow_index(struct agg_table *t)
{
	size_t icap = t->icap ? t->icap * 2 : 64;
	uint32_t *idx = calloc(icap, sizeof(*idx));

	if (!idx)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = key_hash(t->rows[i].key) & (icap - 1);

		while (idx[h])
			h = (h + 1) & (icap - 1);
		idx[h] = (uint32_t)i + 1;
	}
	free(t->index);
	t->index = idx;
	t->icap = icap;
	return true;
}

/* The row of key, made if there is room (NULL: over max_keys, or out of memory). */
static struct agg_row *row_get(struct agg_table *t, const uint8_t *key, unsigned nbuckets,
			       uint32_t max_keys, bool *made)
{
	size_t h;

	*made = false;
	if (t->icap) {
		for (h = key_hash(key) & (t->icap - 1); t->index[h]; h = (h + 1) & (t->icap - 1))
			if (!memcmp(t->rows[t->index[h] - 1].key, key, SLED_AGG_KEY_BYTES))
				return &t->rows[t->index[h] - 1];
	}
	if (t->n >= max_keys)
		return NULL;
	if ((t->n + 1) * 2 > t->icap && !grow_index(t))
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct agg_row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		t->rows = rows;
		t->cap = cap;
	}
	struct agg_row *r = &t->rows[t->n];

	memset(r, 0, sizeof(*r));
	memcpy(r->key, key, SLED_AGG_KEY_BYTES);
	if (nbuckets && !(r->buckets = calloc(nbuckets, sizeof(uint64_t))))
		return NULL;
	for (h = key_hash(key) & (t->icap - 1); t->index[h]; h = (h + 1) & (t->icap - 1))
		;
	t->index[h] = (uint32_t)++t->n;
	*made = true;
	return r;
}

static void merge_minmax(struct agg_row *r, bool made, uint64_t min, uint64_t max, bool vsigned)
{
	if (made || (vsigned ? (int64_t)min < (int64_t)r->min : min < r->min))
		r->min = min;
	if (made || (vsigned ? (int64_t)max > (int64_t)r->max : max > r->max))
		r->max = max;
}

void agg_table_add(struct agg_table *t, const struct probe_agg *a, uint32_t max_keys,
		   const uint8_t *key, uint32_t bucket, uint64_t count, uint64_t sum, uint64_t min,
		   uint64_t max)
{
	bool made;
	struct agg_row *r;

	if (!count)
		return;
	r = row_get(t, key, a->nbuckets, max_keys, &made);
	if (!r) {
		t->overflow += count;
		return;
	}
	r->count += count;
	r->sum += sum;
	merge_minmax(r, made, min, max, a->value_signed);
	if (a->nbuckets)
		r->buckets[bucket] += count;
}

/* Add every row of src (its buckets, its counters) into dst. */
void agg_table_merge(struct agg_table *dst, const struct agg_table *src,
		     const struct probe_agg *a, uint32_t max_keys)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct agg_row *s = &src->rows[i];
		bool made;
		struct agg_row *r = row_get(dst, s->key, a->nbuckets, max_keys, &made);

		if (!r) {
			dst->overflow += s->count;
			continue;
		}
		r->count += s->count;
		r->sum += s->sum;
		merge_minmax(r, made, s->min, s->max, a->value_signed);
		for (unsigned b = 0; b < a->nbuckets; b++)
			r->buckets[b] += s->buckets[b];
	}
	dst->overflow += src->overflow;
	dst->dropped += src->dropped;
}

static void table_free(struct agg_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->rows[i].buckets);
	free(t->rows);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

void agg_tables_free(struct agg_table *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		table_free(&t[i]);
}

/* --- probes --- */

int agg_probe_init(struct probe *pb, const char *const *exprs, unsigned n, uint32_t max_keys,
		   char *err, size_t errlen)
{
	struct probe_aggs *pa;

	if (!n)
		return 0;
	if (n > SLED_LANE_AGGS) {
		snprintf(err, errlen, "at most %d aggregations per probe", SLED_LANE_AGGS);
		return -EINVAL;
	}
	pa = calloc(1, sizeof(*pa));
	if (!pa) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (sled_agg_parse(exprs[i], &pa->agg[i].spec, err, errlen)) {
			free(pa);
			return -EINVAL;
		}
		pa->agg[i].nbuckets = sled_agg_nbuckets(&pa->agg[i].spec);
	}
	pa->n = n;
	pa->max_keys = max_keys ? max_keys : AGG_MAX_KEYS_DEFAULT;
	pb->aggs = pa;
	return 0;
}

void agg_probe_free(struct probe *pb)
{
	if (!pb->aggs)
		return;
	for (unsigned i = 0; i < pb->aggs->n; i++)
		table_free(&pb->aggs->agg[i].folded);
	free(pb->aggs);
	pb->aggs = NULL;
}

int agg_check_site(const struct probe *pb, const char *provider, const char *name,
		   const struct sled_field *fields, unsigned nfields, char *err, size_t errlen)
{
	for (unsigned i = 0; pb->aggs && i < pb->aggs->n; i++) {
		struct sled_shm_agg out;
		char why[300];

		if (sled_agg_compile(&pb->aggs->agg[i].spec, fields, nfields, &out, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%s: %s", provider, name, why);
			return -EINVAL;
		}
	}
	return 0;
}

void agg_learn_classes(struct probe_agg *a, const struct sled_shm_agg *c,
		       const struct sled_field *fields)
{
	if (a->classes_known)
		return;
	for (unsigned i = 0; i < c->nkeys; i++) {
		uint8_t t = fields[c->key_arg[i]].type;

		a->key_class[i] = c->key_string[i] ? AGG_KEY_STRING :
				  t == SLED_T_BOOL ? AGG_KEY_BOOL :
				  (t >= SLED_T_I8 && t <= SLED_T_I64) ? AGG_KEY_SIGNED :
				  AGG_KEY_UNSIGNED;
	}
	a->value_signed = c->value_signed;
	a->classes_known = true;
}

/* --- tables kept outside the blocks --- */

static struct agg_source source;

void agg_set_source(const struct agg_source *src)
{
	source = *src;
}

/* --- descriptors of a process --- */

static struct agg_proc *proc_aggs(struct traced_proc *p)
{
	if (!p->agg) {
		const struct sled_shm_agg *blk = (const struct sled_shm_agg *)((const char *)p->shm +
									     sled_shm_aggs_offset());

		p->agg = calloc(1, sizeof(*p->agg));
		if (!p->agg)
			return NULL;
		/* Start past whatever generation a previous daemon left, so that none of its
		 * slots reads as ours. */
		for (unsigned d = 0; d < SLED_SHM_MAX_AGGS; d++) {
			uint32_t old = __atomic_load_n(&blk[d].tag, __ATOMIC_RELAXED);

			p->agg->tag[d] = (d + 1) | (((old >> 16) + 1) & 0xffffu) << 16;
		}
		/* No ring folded yet (a claim count never reaches this). */
		for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++)
			p->agg->folded_claims[r] = (uint64_t)-1;
	}
	return p->agg;
}

static struct sled_shm_agg *block_agg(const struct traced_proc *p, unsigned d)
{
	return (struct sled_shm_agg *)((char *)p->shm + sled_shm_aggs_offset()) + d;
}

/* A new tag for descriptor d: every slot of the old one is stale from now on. */
static void retag(struct traced_proc *p, unsigned d)
{
	uint32_t gen = ((p->agg->tag[d] >> 16) + 1) & 0xffffu;

	p->agg->tag[d] = (d + 1) | (gen ? gen : 1) << 16;
	__atomic_store_n(&block_agg(p, d)->tag, p->agg->tag[d], __ATOMIC_RELEASE);
}

void agg_lane_setup(struct traced_proc *p, unsigned slot, unsigned lane, struct probe *pb)
{
	struct sled_shm_lane *ln = &p->slots[slot].lane[lane];
	const struct slot_meta *m = p->meta[slot];
	struct agg_proc *ap;
	unsigned k;

	memset(ln->agg, 0, sizeof(ln->agg));
	ln->agg_strings = 0;
	if (!pb || !pb->aggs || !m || !(ap = proc_aggs(p)))
		return;
	for (k = 0; k < pb->aggs->n; k++) {
		struct probe_agg *a = &pb->aggs->agg[k];
		struct sled_shm_agg c;
		char why[300];
		unsigned d;

		if (sled_agg_compile(&a->spec, m->fields, m->nfields, &c, why, sizeof(why)))
			break; /* checked at enable: only a site whose fields changed */
		for (d = 0; d < SLED_SHM_MAX_AGGS && ap->probe[d]; d++)
			;
		if (d == SLED_SHM_MAX_AGGS)
			break;
		agg_learn_classes(a, &c, m->fields);
		ap->probe[d] = pb->id;
		ap->aggno[d] = (uint8_t)k;
		ap->slot[d] = (uint16_t)slot;
		ap->lane[d] = (uint8_t)lane;
		ap->key_len[d] = (uint8_t)c.key_len;
		table_free(&ap->folded[d]);
		retag(p, d);
		c.tag = ap->tag[d];
		*block_agg(p, d) = c;
		ln->agg[k] = (uint16_t)(d + 1);
		ln->agg_strings |= c.key_string[0] | c.key_string[1] | c.key_string[2] | c.key_string[3];
	}
	/* No descriptor left for every aggregation: the lane still records nothing. */
	if (k < pb->aggs->n)
		ln->count_only = 1;
}

/* Add ring r's slots and counters: with only, those of the probe's descriptors (of d
 * alone when only_d >= 0) into out[aggregation]; without, every descriptor's into the
 * process's folded[d]. */
static void scan_ring(struct traced_proc *p, unsigned r, const struct probe *only, int only_d,
		      struct agg_table *out, struct probes *pr)
{
	struct agg_proc *ap = p->agg;
	struct sled_agg_area *area = sled_ring_agg(proc_ring(p, r), p->ring_data);
	uint64_t claims = __atomic_load_n(&proc_ring(p, r)->claims, __ATOMIC_ACQUIRE);

	if (claims == ap->folded_claims[r] || !__atomic_load_n(&area->used, __ATOMIC_RELAXED))
		return;
	for (unsigned i = 0; i < SLED_AGG_SLOTS; i++) {
		const struct sled_agg_slot *s = &area->slots[i];
		uint32_t t = __atomic_load_n(&s->tag, __ATOMIC_ACQUIRE), d = (t & 0xffffu) - 1;
		struct sled_agg_slot c;
		const struct probe *pb;
		const struct probe_agg *a;
		struct agg_table *dst;

		if (!t || d >= SLED_SHM_MAX_AGGS || !ap->probe[d] || ap->tag[d] != t)
			continue;
		if (only && (ap->probe[d] != only->id || (only_d >= 0 && d != (unsigned)only_d)))
			continue;
		pb = only ? only : probes_find(pr, ap->probe[d]);
		if (!pb || !pb->aggs || ap->aggno[d] >= pb->aggs->n)
			continue;
		memcpy(&c, s, sizeof(c));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->tag, __ATOMIC_RELAXED) != t)
			continue;
		a = &pb->aggs->agg[ap->aggno[d]];
		if (a->nbuckets ? c.bucket >= a->nbuckets : c.bucket != 0)
			continue; /* not a slot the dispatcher writes */
		/* The key's length is the daemon's own (the block's copy is the process's). */
		memset(c.key + ap->key_len[d], 0, SLED_AGG_KEY_BYTES - ap->key_len[d]);
		dst = only ? &out[ap->aggno[d]] : &ap->folded[d];
		agg_table_add(dst, a, pb->aggs->max_keys, c.key, c.bucket, c.count, c.sum, c.min,
			      c.max);
	}
	for (unsigned d = 0; d < SLED_SHM_MAX_AGGS; d++) {
		const struct sled_agg_counter *c = &area->counters[d];
		struct agg_table *dst;

		if (!ap->probe[d] || (only && ap->probe[d] != only->id))
			continue;
		if (only && only_d >= 0 && d != (unsigned)only_d)
			continue;
		if (__atomic_load_n(&c->tag, __ATOMIC_ACQUIRE) != ap->tag[d])
			continue;
		if (only && (!only->aggs || ap->aggno[d] >= only->aggs->n))
			continue;
		dst = only ? &out[ap->aggno[d]] : &ap->folded[d];
		dst->overflow += __atomic_load_n(&c->overflow, __ATOMIC_RELAXED);
		dst->dropped += __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
	}
}

/* The probes list, for folding rings whose descriptors belong to several probes. */
static struct probes *fold_probes;

void agg_set_probes(struct probes *pr)
{
	fold_probes = pr;
}

void agg_fold_ring(struct traced_proc *p, unsigned r)
{
	uint64_t claims;

	if (!p->agg || !fold_probes)
		return;
	claims = __atomic_load_n(&proc_ring(p, r)->claims, __ATOMIC_ACQUIRE);
	scan_ring(p, r, NULL, -1, NULL, fold_probes);
	p->agg->folded_claims[r] = claims;
}

void agg_lane_release(struct traced_proc *p, unsigned slot, unsigned lane, struct probe *pb)
{
	struct agg_proc *ap = p->agg;

	if (!ap)
		return;
	for (unsigned d = 0; d < SLED_SHM_MAX_AGGS; d++) {
		struct agg_table live[SLED_LANE_AGGS] = { 0 };

		if (!ap->probe[d] || ap->slot[d] != slot || ap->lane[d] != lane)
			continue;
		if (pb && pb->aggs && ap->probe[d] == pb->id && ap->aggno[d] < pb->aggs->n) {
			struct probe_agg *a = &pb->aggs->agg[ap->aggno[d]];

			/* What live threads hold for d, then what exited ones left. */
			for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++)
				scan_ring(p, r, pb, (int)d, live, NULL);
			agg_table_merge(&a->folded, &live[ap->aggno[d]], a, pb->aggs->max_keys);
			agg_table_merge(&a->folded, &ap->folded[d], a, pb->aggs->max_keys);
			agg_tables_free(live, SLED_LANE_AGGS);
		}
		table_free(&ap->folded[d]);
		ap->probe[d] = 0;
		retag(p, d);
	}
}

void agg_proc_free(struct traced_proc *p)
{
	if (!p->agg)
		return;
	for (unsigned d = 0; d < SLED_SHM_MAX_AGGS; d++)
		table_free(&p->agg->folded[d]);
	free(p->agg);
	p->agg = NULL;
}

void agg_collect(const struct probe *pb, const struct procs *ps, struct agg_table *out)
{
	memset(out, 0, sizeof(*out) * (pb->aggs ? pb->aggs->n : 0));
	if (!pb->aggs)
		return;
	for (unsigned k = 0; k < pb->aggs->n; k++)
		agg_table_merge(&out[k], &pb->aggs->agg[k].folded, &pb->aggs->agg[k], pb->aggs->max_keys);
	for (struct traced_proc *p = ps->head; p; p = p->next) {
		struct agg_proc *ap = p->agg;

		if (!ap)
			continue;
		for (unsigned d = 0; d < SLED_SHM_MAX_AGGS; d++)
			if (ap->probe[d] == pb->id && ap->aggno[d] < pb->aggs->n)
				agg_table_merge(&out[ap->aggno[d]], &ap->folded[d],
					    &pb->aggs->agg[ap->aggno[d]], pb->aggs->max_keys);
		for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++)
			scan_ring(p, r, pb, -1, out, NULL);
	}
	if (source.collect)
		source.collect(source.arg, pb, out);
}

void agg_clear(struct probe *pb, struct procs *ps)
{
	if (!pb->aggs)
		return;
	for (unsigned k = 0; k < pb->aggs->n; k++)
		table_free(&pb->aggs->agg[k].folded);
	for (struct traced_proc *p = ps->head; p; p = p->next) {
		if (!p->agg)
			continue;
		for (unsigned d = 0; d < SLED_SHM_MAX_AGGS; d++) {
			if (p->agg->probe[d] != pb->id)
				continue;
			table_free(&p->agg->folded[d]);
			retag(p, d);
		}
	}
	if (source.clear)
		source.clear(source.arg, pb);
}
