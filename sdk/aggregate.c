/* SPDX-License-Identifier: MIT */
/*
 * Aggregations on the hot path: one accepted hit into this thread's own table.
 *
 * Compiled like dispatch.c (-mgeneral-regs-only, no libc).  The table is an open-addressing
 * hash of fixed-size slots in the thread's ring (struct sled_agg_area): the key is the
 * compiled key bytes (8 per integer, 64 per string) plus the hit's bucket for hist/lhist,
 * so every slot has the same size and a histogram is a few slots of one key.  A key looks
 * at SLED_AGG_PROBE slots; a table with none free for it counts the hit as overflow.
 *
 * Only this thread writes its table, with plain stores: a slot is filled first and its tag
 * stored last (release), so the daemon never takes a half-made slot for a key.  The
 * figures of a slot are updated one by one; the daemon's reading is exact once the
 * thread is quiet or gone.  A signal handler's event nested in another one's is not
 * aggregated (it could interleave with the update it interrupted): counted as dropped.
 */
#include <sled/tracepoint.h>

#include "runtime.h"
#include "sled/abi/shm_layout.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline void local_inc(uint64_t *p)
{
	__asm__ __volatile__("incq %0" : "+m"(*p) : : "cc");
}

/* Multiply-shift hashing: one multiply a word; the slot index is taken from the top bits. */
static inline uint64_t mix(uint64_t h, uint64_t w)
{
	return (h ^ w) * 0x9e3779b97f4a7c15ull;
}

#define SLOT_BITS __builtin_ctz(SLED_AGG_SLOTS)

static struct sled_agg_counter *counter_of(struct sled_agg_area *area, unsigned d, uint32_t tag)
{
	struct sled_agg_counter *c = &area->counters[d];

	if (c->tag != tag) {
		area->used++; /* a table with counters to clear at the next claim */
		c->overflow = 0;
		c->dropped = 0;
		c->tag = tag;
	}
	return c;
}

static inline uint32_t bucket_of(const struct sled_shm_agg *a, uint64_t v)
{
	if (a->bucketing == SLED_AGG_B_HIST) {
		if (a->value_signed && (int64_t)v < 0)
			return 0;
		return v ? 2u + (63u - (unsigned)__builtin_clzll(v)) : 1u;
	}
	if (a->bucketing == SLED_AGG_B_LHIST) {
		int64_t s = (int64_t)v;

		if (!a->value_signed && v > (uint64_t)INT64_MAX)
			return a->nbuckets - 1;
		if (s < a->lmin)
			return 0;
		if (s >= a->lmax || a->lstep <= 0)
			return a->nbuckets - 1;
		return 1u + (uint32_t)((uint64_t)(s - a->lmin) / (uint64_t)a->lstep);
	}
	return 0;
}

/* The key bytes of this hit; false when a key cannot be made. */
static inline bool make_key(const struct sled_shm_agg *a, const uint64_t *vals, unsigned nargs,
			    bool strings_ok, uint64_t *key, unsigned *len)
{
	unsigned off = 0, nk = a->nkeys < SLED_AGG_MAX_KEYS ? a->nkeys : SLED_AGG_MAX_KEYS;

	for (unsigned k = 0; k < nk; k++) {
		unsigned arg = a->key_arg[k];

		if (arg >= nargs)
			return false;
		if (a->key_string[k]) {
			const char *s = (const char *)(uintptr_t)vals[arg];
			char *dst = (char *)key + off;
			unsigned n = 0;

			if (!strings_ok || off + SLED_AGG_STR_KEY > SLED_AGG_KEY_BYTES)
				return false;
			/* A window read by the dispatcher, NUL-terminated; NULL: the empty key. */
			while (s && n < SLED_AGG_STR_KEY && s[n]) {
				dst[n] = s[n];
				n++;
			}
			while (n < SLED_AGG_STR_KEY)
				dst[n++] = 0;
			off += SLED_AGG_STR_KEY;
		} else {
			if (off + 8 > SLED_AGG_KEY_BYTES)
				return false;
			key[off / 8] = vals[arg];
			off += 8;
		}
	}
	*len = off;
	return true;
}

static inline bool key_equal(const uint8_t *slot_key, const uint64_t *key, unsigned len)
{
	const uint64_t *s = (const uint64_t *)(const void *)slot_key;

	for (unsigned i = 0; i < len / 8; i++)
		if (s[i] != key[i])
			return false;
	return true;
}

/* A slot of another descriptor's tag that the daemon has changed since: free to reuse. */
static inline bool stale(uint32_t t)
{
	unsigned d = (t & 0xffffu) - 1;

	return d >= SLED_SHM_MAX_AGGS ||
	       __atomic_load_n(&sled_rt.aggs[d].tag, __ATOMIC_RELAXED) != t;
}

__attribute__((noinline)) static void aggregate_one(struct sled_agg_area *area, unsigned d,
						    const uint64_t *vals,
			  unsigned nargs, bool strings_ok)
{
	const struct sled_shm_agg *a = &sled_rt.aggs[d];
	uint32_t tag = __atomic_load_n(&a->tag, __ATOMIC_ACQUIRE), bucket;
	uint64_t key[SLED_AGG_KEY_BYTES / 8], v, h; /* key: the first len bytes only */
	unsigned len = 0, i;

	if (unlikely((tag & 0xffffu) != d + 1))
		return; /* not a descriptor the daemon set up for this index */
	if (unlikely(!make_key(a, vals, nargs, strings_ok, key, &len))) {
		local_inc(&counter_of(area, d, tag)->dropped);
		return;
	}
	v = a->value_arg < nargs ? vals[a->value_arg] : 0;
	bucket = bucket_of(a, v);
	h = ((uint64_t)tag << 32 | bucket) * 0xff51afd7ed558ccdull;
	for (i = 0; i < len / 8; i++)
		h = mix(h, key[i]);
	i = (unsigned)(h >> (64 - SLOT_BITS));
	for (unsigned step = 0; step < SLED_AGG_PROBE; step++, i = (i + 1) & (SLED_AGG_SLOTS - 1)) {
		struct sled_agg_slot *s = &area->slots[i];
		uint32_t t = s->tag;

		if (t == tag) {
			if (s->bucket != bucket || !key_equal(s->key, key, len))
				continue;
			s->count++;
			s->sum += v;
			if (a->value_signed ? (int64_t)v < (int64_t)s->min : v < s->min)
				s->min = v;
			if (a->value_signed ? (int64_t)v > (int64_t)s->max : v > s->max)
				s->max = v;
			return;
		}
		if (t && !stale(t))
			continue;
		/* A new key: fill the slot, then give it the tag. */
		if (t)
			__atomic_store_n(&s->tag, 0u, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		s->bucket = bucket;
		for (unsigned k = 0; k < len / 8; k++)
			((uint64_t *)(void *)s->key)[k] = key[k];
		s->count = 1;
		s->sum = v;
		s->min = v;
		s->max = v;
		area->used++;
		__atomic_store_n(&s->tag, tag, __ATOMIC_RELEASE);
		return;
	}
	local_inc(&counter_of(area, d, tag)->overflow);
}

/* The common shape, integer keys only (count() by (id), hist(len)): the key words are
 * hashed as they are read, and compared word by word; no key buffer to fill first. */
static inline __attribute__((always_inline)) void
aggregate_ints(struct sled_agg_area *area, unsigned d, const struct sled_shm_agg *a,
			   uint32_t tag, const uint64_t *vals, unsigned nargs)
{
	uint64_t key[SLED_AGG_MAX_KEYS], v, h = (uint64_t)tag * 0xff51afd7ed558ccdull;
	unsigned nk = a->nkeys, i;
	uint32_t bucket;

	if (unlikely(nk > SLED_AGG_MAX_KEYS))
		nk = SLED_AGG_MAX_KEYS;
	for (unsigned k = 0; k < nk; k++) {
		unsigned arg = a->key_arg[k];

		key[k] = arg < nargs ? vals[arg] : 0;
		h = mix(h, key[k]);
	}
	v = a->value_arg < nargs ? vals[a->value_arg] : 0;
	bucket = a->bucketing ? bucket_of(a, v) : 0;
	h = mix(h, bucket);
	i = (unsigned)(h >> (64 - SLOT_BITS));
	for (unsigned step = 0; step < SLED_AGG_PROBE; step++, i = (i + 1) & (SLED_AGG_SLOTS - 1)) {
		struct sled_agg_slot *s = &area->slots[i];
		const uint64_t *sk = (const uint64_t *)(const void *)s->key;
		uint32_t t = s->tag;
		unsigned k;

		if (likely(t == tag)) {
			if (s->bucket != bucket)
				continue;
			for (k = 0; k < nk && sk[k] == key[k]; k++)
				;
			if (k < nk)
				continue;
			s->count++;
			s->sum += v;
			if (a->value_signed ? (int64_t)v < (int64_t)s->min : v < s->min)
				s->min = v;
			if (a->value_signed ? (int64_t)v > (int64_t)s->max : v > s->max)
				s->max = v;
			return;
		}
		if (t && !stale(t))
			continue;
		if (t)
			__atomic_store_n(&s->tag, 0u, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		s->bucket = bucket;
		for (k = 0; k < nk; k++)
			((uint64_t *)(void *)s->key)[k] = key[k];
		s->count = 1;
		s->sum = v;
		s->min = v;
		s->max = v;
		area->used++;
		__atomic_store_n(&s->tag, tag, __ATOMIC_RELEASE);
		return;
	}
	local_inc(&counter_of(area, d, tag)->overflow);
}

/* A nested event: a drop for each aggregation whose counter is already this tag's
 * (resetting it here could undo the interrupted event's own count). */
__attribute__((noinline)) static void count_nested(struct sled_agg_area *area,
						   const struct sled_shm_lane *ln)
{
	for (unsigned k = 0; k < SLED_LANE_AGGS; k++) {
		unsigned idx = ln->agg[k];

		if (!idx)
			break;
		if (idx <= SLED_SHM_MAX_AGGS &&
		    area->counters[idx - 1].tag ==
			    __atomic_load_n(&sled_rt.aggs[idx - 1].tag, __ATOMIC_RELAXED))
			local_inc(&area->counters[idx - 1].dropped);
	}
}

void sled_aggregate(struct sled_ring_header *ring, const struct sled_shm_lane *ln,
		    const uint64_t *vals, unsigned nargs, bool strings_ok, bool nested)
{
	struct sled_agg_area *area = sled_ring_agg(ring, sled_ring_mask + 1);

	if (unlikely(nested)) {
		count_nested(area, ln);
		return;
	}
	for (unsigned k = 0; k < SLED_LANE_AGGS; k++) {
		unsigned idx = ln->agg[k];

		if (!idx)
			break;
		if (unlikely(idx > SLED_SHM_MAX_AGGS))
			continue;
		const struct sled_shm_agg *a = &sled_rt.aggs[idx - 1];
		uint32_t tag = __atomic_load_n(&a->tag, __ATOMIC_ACQUIRE);

		if (unlikely((tag & 0xffffu) != idx))
			continue; /* not a descriptor the daemon set up for this index */
		if (likely(a->flags & SLED_AGG_F_INT_KEYS))
			aggregate_ints(area, idx - 1, a, tag, vals, nargs);
		else
			aggregate_one(area, idx - 1, vals, nargs, strings_ok);
	}
}
