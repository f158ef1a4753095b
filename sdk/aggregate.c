/* SPDX-License-Identifier: MIT */
/*
 * Aggregations on the hot path: what aggregate.h leaves out of line.
 *
 * Compiled like dispatch.c (-mgeneral-regs-only, no libc).  The table is an open-addressing
 * hash of fixed-size slots in the thread's ring (struct sled_agg_area): the key is the
 * compiled key bytes (8 per integer, 64 per string, zero after a string's NUL) plus the
 * hit's bucket for hist/lhist, so every slot has the same size and a histogram is a few
 * slots of one key.  A key looks at SLED_AGG_PROBE slots; a table with none free for it
 * counts the hit as overflow.
 *
 * Only this thread writes its table, with plain stores: a slot is filled first and its tag
 * stored last (release), so the daemon never takes a half-made slot for a key.  The
 * figures of a slot are updated one by one; the daemon's reading is exact once the
 * thread is quiet or gone.  A signal handler's event nested in another one's is not
 * aggregated (it could interleave with the update it interrupted): counted as dropped.
 */
#include <stddef.h>

#include <sled/tracepoint.h>

#include "aggregate.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline void local_inc(uint64_t *p)
{
	__asm__ __volatile__("incq %0" : "+m"(*p) : : "cc");
}

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

static uint32_t bucket_of(const struct sled_shm_agg *a, uint64_t v)
{
	if (a->bucketing == SLED_AGG_B_HIST)
		return sled_agg_hist_bucket(v, a->value_signed);
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

/*
 * This hit's key as words (w[0, nw)), and the words of a string's zero tail [zlo, zhi),
 * which are neither hashed nor compared, nor set in w[] (written as zeros only into a new
 * slot): a slot whose words up to the one that holds the string's NUL are equal has that
 * NUL too, and only zeros after it (this thread writes every key zero-padded).  At most
 * one string fits in a key (SLED_AGG_KEY_BYTES).
 */
struct agg_key {
	uint64_t w[SLED_AGG_KEY_BYTES / 8];
	unsigned nw, zlo, zhi;
};

/* The key of this hit; false when a key cannot be made (strings not read). */
static inline bool make_key(const struct sled_shm_agg *a, const uint64_t *vals, unsigned nargs,
			    bool strings_ok, struct agg_key *key)
{
	unsigned nw = 0, nk = a->nkeys < SLED_AGG_MAX_KEYS ? a->nkeys : SLED_AGG_MAX_KEYS;

	key->zlo = key->zhi = 0;
	for (unsigned k = 0; k < nk; k++) {
		unsigned arg = a->key_arg[k];

		if (arg >= nargs)
			return false;
		if (a->key_string[k]) {
			if (!strings_ok || key->zhi || nw + SLED_AGG_STR_KEY / 8 > SLED_AGG_KEY_BYTES / 8)
				return false;
			key->zlo = nw + sled_agg_string_words(&key->w[nw],
							       (const char *)(uintptr_t)vals[arg]);
			nw += SLED_AGG_STR_KEY / 8;
			key->zhi = nw;
		} else {
			if (nw + 1 > SLED_AGG_KEY_BYTES / 8)
				return false;
			key->w[nw++] = vals[arg];
		}
	}
	if (!nw)
		key->w[nw++] = 0; /* no key field: one zero word, as aggregate.h hashes it */
	if (!key->zhi)
		key->zlo = key->zhi = nw;
	key->nw = nw;
	return true;
}

static inline uint64_t key_hash(uint64_t h, const struct agg_key *key)
{
	unsigned i;

	for (i = 0; i < key->zlo; i++)
		h = sled_agg_mix(h, key->w[i]);
	for (i = key->zhi; i < key->nw; i++)
		h = sled_agg_mix(h, key->w[i]);
	return h;
}

static inline bool key_equal(const struct sled_agg_slot *s, const struct agg_key *key)
{
	const uint64_t *sk = (const uint64_t *)(const void *)s->key;
	unsigned i;

	for (i = 0; i < key->zlo; i++)
		if (sk[i] != key->w[i])
			return false;
	for (i = key->zhi; i < key->nw; i++)
		if (sk[i] != key->w[i])
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

/* Every case aggregate.h does not finish: find the key's slot from its first one on, or
 * give it a new one; overflow when SLED_AGG_PROBE slots have neither. */
void sled_agg_slow(struct sled_agg_area *area, unsigned d, const struct sled_shm_agg *a,
		   uint32_t tag, const uint64_t *vals, unsigned nargs, bool strings_ok)
{
	struct agg_key key;
	uint64_t v, want;
	uint32_t bucket;
	unsigned i;

	if (unlikely(!make_key(a, vals, nargs, strings_ok, &key))) {
		local_inc(&counter_of(area, d, tag)->dropped);
		return;
	}
	v = a->value_arg < nargs ? vals[a->value_arg] : 0;
	bucket = bucket_of(a, v);
	want = (uint64_t)bucket << 32 | tag;
	i = sled_agg_index(key_hash(sled_agg_hash0(tag, bucket), &key));
	for (unsigned step = 0; step < SLED_AGG_PROBE; step++, i = (i + 1) & (SLED_AGG_SLOTS - 1)) {
		struct sled_agg_slot *s = &area->slots[i];
		uint64_t head = *(const sled_agg_word *)s;
		uint32_t t = (uint32_t)head;

		if (t == tag) {
			if (head != want || !key_equal(s, &key))
				continue;
			sled_agg_slot_add(s, a, v);
			return;
		}
		if (t && !stale(t))
			continue;
		/* A new key: fill the slot, then give it the tag. */
		if (t)
			__atomic_store_n(&s->tag, 0u, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		s->bucket = bucket;
		for (unsigned k = 0; k < key.nw; k++)
			((uint64_t *)(void *)s->key)[k] = k < key.zlo || k >= key.zhi ? key.w[k] : 0;
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
void sled_agg_nested(struct sled_agg_area *area, const struct sled_shm_lane *ln)
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
	sled_agg_hit(ring, ln, vals, nargs, strings_ok, nested);
}
