/* SPDX-License-Identifier: MIT */
/*
 * aggregate.h - one accepted hit into this thread's aggregation table: the common case
 * inlined in the dispatcher, the rest out of line in aggregate.c.
 *
 * Included only by files compiled like dispatch.c (-mgeneral-regs-only, no libc).
 *
 * The common case is a key of one field, or none (count() by (id), hist(len),
 * count() by (path)), found at the first slot it hashes to: an integer key is one word,
 * hashed with two multiplies; a string key is read in place a word at a time up to its
 * NUL (no byte loop, no copy), a multiply a word.  The slot's tag and bucket are
 * compared as one word, then its key words, then the figures are updated.  Everything
 * else (keys of several fields, lhist, a first slot holding another key, a new key, a
 * full table, a nested hit) goes to aggregate.c, which hashes a key the same way, so
 * that both find the slots either one made.
 */
#ifndef SLED_AGGREGATE_H
#define SLED_AGGREGATE_H

#include <stddef.h>

#include "runtime.h"

#define sled_agg_likely(x)   __builtin_expect(!!(x), 1)
#define sled_agg_unlikely(x) __builtin_expect(!!(x), 0)

/* A slot's tag (low half) and bucket (high half), read and compared as one word. */
typedef uint64_t __attribute__((may_alias)) sled_agg_word;
_Static_assert(offsetof(struct sled_agg_slot, tag) == 0 && offsetof(struct sled_agg_slot, bucket) == 4,
	       "a slot's tag and bucket make its first word");
_Static_assert(offsetof(struct sled_agg_slot, key) % 8 == 0, "a slot's key words are aligned");

#define SLED_AGG_SLOT_BITS __builtin_ctz(SLED_AGG_SLOTS)

/*
 * The hash of a key: tag and bucket first, then each word of the key that counts (an
 * integer field's word; a string's words up to the one holding its NUL), one multiply
 * a word; the slot index is the top bits.  A key with no field hashes one zero word.
 */
static inline uint64_t sled_agg_hash0(uint32_t tag, uint32_t bucket)
{
	return ((uint64_t)bucket << 32 | tag) * 0xff51afd7ed558ccdull;
}

static inline uint64_t sled_agg_mix(uint64_t h, uint64_t w)
{
	return (h ^ w) * 0x9e3779b97f4a7c15ull;
}

static inline unsigned sled_agg_index(uint64_t h)
{
	return (unsigned)(h >> (64 - SLED_AGG_SLOT_BITS));
}

/* hist: 0 for a negative value, 1 for zero, 2 + k for [2^k, 2^(k+1)). */
static inline uint32_t sled_agg_hist_bucket(uint64_t v, bool is_signed)
{
	if (is_signed && (int64_t)v < 0)
		return 0;
	return v ? 65u - (unsigned)__builtin_clzll(v) : 1u;
}

/* The figures of a slot that holds this hit's key: count() (no value field: v is 0, and
 * so stay sum, min and max from the slot's first hit) only counts; hist and lhist also
 * add v (their sum; min and max are not theirs to show); the others also keep the least
 * and the greatest, compared signed for a signed field (flip: the sign bit turns a
 * signed order into an unsigned one, no branch). */
static inline void sled_agg_slot_add(struct sled_agg_slot *s, const struct sled_shm_agg *a,
				     uint64_t v)
{
	uint64_t min = s->min, max = s->max, flip = (uint64_t)a->value_signed << 63;

	s->count++;
	if (a->value_arg == SLED_AGG_NO_VALUE)
		return;
	s->sum += v;
	if (a->bucketing != SLED_AGG_B_NONE)
		return;
	s->min = (v ^ flip) < (min ^ flip) ? v : min;
	s->max = (v ^ flip) > (max ^ flip) ? v : max;
}

/* aggregate.c: the cases above; a hit nested in another event on this thread. */
SLED_HIDDEN void sled_agg_slow(struct sled_agg_area *area, unsigned d, const struct sled_shm_agg *a,
			       uint32_t tag, const uint64_t *vals, unsigned nargs, bool strings_ok);
SLED_HIDDEN void sled_agg_nested(struct sled_agg_area *area, const struct sled_shm_lane *ln);

/* The shapes finished inline: a key of one field or none, not lhist. */
enum sled_agg_shape { SLED_AGG_SHAPE_OTHER, SLED_AGG_SHAPE_INT, SLED_AGG_SHAPE_STRING };

static inline enum sled_agg_shape sled_agg_shape(const struct sled_shm_agg *a)
{
	if (a->nkeys > 1 || a->bucketing == SLED_AGG_B_LHIST)
		return SLED_AGG_SHAPE_OTHER;
	if (a->flags & SLED_AGG_F_INT_KEYS)
		return SLED_AGG_SHAPE_INT;
	return a->nkeys && a->key_string[0] ? SLED_AGG_SHAPE_STRING : SLED_AGG_SHAPE_OTHER;
}

/*
 * A string key's words from s, read a word at a time and cut at the first NUL (the
 * zero-byte test's lowest bit is exact): the words up to and with the NUL's, at least 1,
 * at most 8; the key's other words are zero.  s is NULL (the empty key) or readable
 * SLED_AGG_STR_KEY bytes far (see sled_agg_hit).
 */
typedef uint64_t __attribute__((may_alias, aligned(1))) sled_agg_u64u;

static inline unsigned sled_agg_string_words(uint64_t *w, const char *s)
{
	unsigned j;

	if (!s) {
		w[0] = 0;
		return 1;
	}
	for (j = 0; j < SLED_AGG_STR_KEY / 8; j++) {
		uint64_t x = *(const sled_agg_u64u *)(const void *)(s + 8 * j);
		uint64_t z = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;

		if (z) {
			w[j] = x & ((1ull << (__builtin_ctzll(z) - 7)) - 1);
			return j + 1;
		}
		w[j] = x;
	}
	return j;
}

static inline uint32_t sled_agg_bucket_inline(const struct sled_shm_agg *a, uint64_t v)
{
	return a->bucketing == SLED_AGG_B_HIST ? sled_agg_hist_bucket(v, a->value_signed) : 0;
}

/* A hit of the integer shape (key: the key field's value, or 0 without one; v: the value
 * field's, or 0) on the key's first slot; false when that slot holds another key or none
 * (sled_agg_slow goes on from there). */
static inline __attribute__((always_inline)) bool
sled_agg_int_first(struct sled_agg_area *area, const struct sled_shm_agg *a, uint32_t tag,
		   uint64_t key, uint64_t v)
{
	uint32_t bucket = sled_agg_bucket_inline(a, v);
	struct sled_agg_slot *s =
		&area->slots[sled_agg_index(sled_agg_mix(sled_agg_hash0(tag, bucket), key))];

	if (sled_agg_likely(*(const sled_agg_word *)s == ((uint64_t)bucket << 32 | tag) &&
			    *(const sled_agg_word *)(const void *)s->key == key)) {
		sled_agg_slot_add(s, a, v);
		return true;
	}
	return false;
}

/* The same for the string shape: str is the key field's value (see
 * sled_agg_string_words). */
static inline __attribute__((always_inline)) bool
sled_agg_string_first(struct sled_agg_area *area, const struct sled_shm_agg *a, uint32_t tag,
		      const char *str, uint64_t v)
{
	uint32_t bucket = sled_agg_bucket_inline(a, v);
	uint64_t w[SLED_AGG_STR_KEY / 8], h = sled_agg_hash0(tag, bucket);
	unsigned n = sled_agg_string_words(w, str), i;
	const uint64_t *sk;
	struct sled_agg_slot *s;

	for (i = 0; i < n; i++)
		h = sled_agg_mix(h, w[i]);
	s = &area->slots[sled_agg_index(h)];
	if (*(const sled_agg_word *)s != ((uint64_t)bucket << 32 | tag))
		return false;
	sk = (const uint64_t *)(const void *)s->key;
	for (i = 0; i < n; i++)
		if (sk[i] != w[i])
			return false;
	sled_agg_slot_add(s, a, v);
	return true;
}

/*
 * The aggregations of lane ln on this event's decoded values.  A string argument's value
 * is NULL (the empty key) or points at memory that holds its first SLED_AGG_STR_KEY bytes
 * or a NUL before them and may be read SLED_AGG_STR_KEY bytes far; strings_ok false: the
 * strings could not be read (every aggregation with a string key counts a drop).  nested:
 * the event runs inside another one's on this thread (counted as dropped).
 */
static inline __attribute__((always_inline)) void
sled_agg_hit(struct sled_ring_header *ring, const struct sled_shm_lane *ln, const uint64_t *vals,
	     unsigned nargs, bool strings_ok, bool nested)
{
	struct sled_agg_area *area = sled_ring_agg(ring, sled_ring_mask + 1);

	if (sled_agg_unlikely(nested)) {
		sled_agg_nested(area, ln);
		return;
	}
	for (unsigned k = 0; k < SLED_LANE_AGGS; k++) {
		unsigned idx = ln->agg[k];
		const struct sled_shm_agg *a;
		uint32_t tag;

		if (!idx)
			break;
		if (sled_agg_unlikely(idx > SLED_SHM_MAX_AGGS))
			continue;
		a = &sled_rt.aggs[idx - 1];
		tag = __atomic_load_n(&a->tag, __ATOMIC_ACQUIRE);
		if (sled_agg_unlikely((tag & 0xffffu) != idx))
			continue; /* not a descriptor the daemon set up for this index */
		if (sled_agg_likely(sled_agg_shape(a) == SLED_AGG_SHAPE_INT)) {
			unsigned karg = a->nkeys ? a->key_arg[0] : SLED_AGG_NO_VALUE;

			if (sled_agg_int_first(area, a, tag, karg < nargs ? vals[karg] : 0,
					       a->value_arg < nargs ? vals[a->value_arg] : 0))
				continue;
		}
		sled_agg_slow(area, idx - 1, a, tag, vals, nargs, strings_ok);
	}
}

#endif /* SLED_AGGREGATE_H */
