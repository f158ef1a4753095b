/* SPDX-License-Identifier: MIT */
/*
 * The aggregation tables as the dispatcher fills them (sdk/dispatch.c, sdk/aggregate.c,
 * compiled into this test), read back the way probed reads them (slots of the
 * descriptor's tag, key bytes up to key_len, bucket; rows of one key summed): exact
 * counts, sums, min/max and buckets for every shape, string keys cut at 64 bytes and
 * zero-padded whatever follows their NUL, keys that collide, a full table's overflow,
 * stale slots reused, nested hits not aggregated.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sled/tracepoint.h>

#include "hot_path_standalone.h"
#include "check.h"

#define RING_DATA SLED_STANDALONE_RING_DATA

static struct sled_ring_header *ring;
static struct sled_shm_site *site;
static char site_memory[8192]; /* the site's object: strings here are read in place */

static struct sled_agg_area *area(void)
{
	return sled_ring_agg(ring, RING_DATA);
}

/* A fresh block: one site of nargs 8-byte register arguments (rdi, rsi, rdx), the types
 * given, no lane. */
static void block(unsigned nargs, const uint8_t *types)
{
	static const uint8_t regs[] = { SLED_R_RDI, SLED_R_RSI, SLED_R_RDX };

	ring = sled_standalone_block();
	sled_site_readable[0] = (struct sled_range){ (uint64_t)(uintptr_t)site_memory,
						     (uint64_t)(uintptr_t)site_memory + sizeof(site_memory) };
	site = &sled_rt.sites[0];
	site->kind = SLED_SITE_SLOT_TRACEPOINT;
	site->nargs = (uint16_t)nargs;
	for (unsigned i = 0; i < nargs; i++) {
		struct sled_shm_arg *a = &site->args[i];

		a->kind = SLED_A_REG;
		a->size = 8;
		a->type = types[i];
		a->is_signed = types[i] == SLED_T_I64;
		a->reg = regs[i];
		a->index = SLED_R_NONE;
		if (types[i] == SLED_T_STRING)
			site->flags = SLED_SITE_F_STRINGS;
	}
}

/* Descriptor d (tag generation 1) as sled_agg_compile makes it: keys (argument indexes,
 * string or not), a value argument or SLED_AGG_NO_VALUE, a bucketing. */
static struct sled_shm_agg *descriptor(unsigned d, unsigned nkeys, const uint8_t *key_arg,
				       unsigned value_arg, unsigned bucketing)
{
	struct sled_shm_agg *a = &sled_rt.aggs[d];
	unsigned len = 0;

	a->tag = (d + 1) | 1u << 16;
	a->nkeys = (uint8_t)nkeys;
	a->value_arg = (uint8_t)value_arg;
	a->value_signed = value_arg < site->nargs && value_arg < SLED_SHM_MAX_ARGS &&
			  site->args[value_arg].is_signed;
	a->bucketing = (uint8_t)bucketing;
	a->nbuckets = bucketing == SLED_AGG_B_HIST ? SLED_AGG_HIST_BUCKETS : 0;
	a->flags = SLED_AGG_F_INT_KEYS;
	for (unsigned k = 0; k < nkeys; k++) {
		a->key_arg[k] = key_arg[k];
		a->key_string[k] = site->args[key_arg[k]].type == SLED_T_STRING;
		len += a->key_string[k] ? SLED_AGG_STR_KEY : 8;
		if (a->key_string[k])
			a->flags = 0;
	}
	a->key_len = (uint16_t)len;
	return a;
}

/* Lane 0 runs descriptors d0 (and d1 + 1 if nonzero) and nothing else. */
static void lane(unsigned d0, int d1)
{
	struct sled_shm_lane *ln = &site->lane[0];

	ln->agg[0] = (uint16_t)(d0 + 1);
	ln->agg[1] = (uint16_t)(d1 >= 0 ? d1 + 1 : 0);
	for (unsigned k = 0; k < 2 && ln->agg[k]; k++) {
		const struct sled_shm_agg *a = &sled_rt.aggs[ln->agg[k] - 1];

		ln->agg_strings |= a->key_string[0] | a->key_string[1];
	}
	site->lanes = SLED_LANES_AGG | 1u;
}

static void hit(uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t regs[SLED_R_COUNT] = { 0 };

	regs[SLED_R_RDI] = a0;
	regs[SLED_R_RSI] = a1;
	regs[SLED_R_RDX] = a2;
	CHECK_EQ_INT(sled_dispatch(regs, 0), 0);
	ring->tail = ring->head; /* the consumer keeps up */
}

/* What probed reads for descriptor d: the figures of key (key_len bytes) in bucket,
 * summed over its slots. */
struct row {
	uint64_t count, sum, min, max;
};

static struct row read_row(unsigned d, const void *key, uint32_t bucket)
{
	const struct sled_shm_agg *a = &sled_rt.aggs[d];
	struct row r = { 0, 0, UINT64_MAX, 0 };
	bool sgn = a->value_signed;

	for (unsigned i = 0; i < SLED_AGG_SLOTS; i++) {
		const struct sled_agg_slot *s = &area()->slots[i];

		if (s->tag != a->tag || s->bucket != bucket || memcmp(s->key, key, a->key_len))
			continue;
		if (!r.count || (sgn ? (int64_t)s->min < (int64_t)r.min : s->min < r.min))
			r.min = s->min;
		if (!r.count || (sgn ? (int64_t)s->max > (int64_t)r.max : s->max > r.max))
			r.max = s->max;
		r.count += s->count;
		r.sum += s->sum;
	}
	return r;
}

static uint64_t total(unsigned d)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < SLED_AGG_SLOTS; i++)
		if (area()->slots[i].tag == sled_rt.aggs[d].tag)
			n += area()->slots[i].count;
	return n;
}

static const struct sled_agg_counter *counter(unsigned d)
{
	return &area()->counters[d];
}

static uint64_t lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

TEST(integer_key_counts_exact)
{
	static const uint8_t types[] = { SLED_T_I64, SLED_T_I64 }, keys[] = { 0 };
	uint64_t want[64] = { 0 }, x = 1;

	block(2, types);
	descriptor(0, 1, keys, SLED_AGG_NO_VALUE, SLED_AGG_B_NONE);
	lane(0, -1);
	for (unsigned i = 0; i < 50000; i++) {
		uint64_t k = lcg(&x) & 63;

		want[k]++;
		hit(k, i, 0);
	}
	for (uint64_t k = 0; k < 64; k++) {
		struct row r = read_row(0, &k, 0);

		CHECK_EQ_INT(r.count, want[k]);
		CHECK_EQ_INT(r.sum, 0);
	}
	CHECK_EQ_INT(total(0), 50000);
	CHECK_EQ_INT(ring->lanes[0][0].hits, 50000);
	CHECK_EQ_INT(counter(0)->overflow + counter(0)->dropped, 0);
}

static uint32_t hist_bucket_ref(int64_t v)
{
	uint32_t b = 2;

	if (v < 0)
		return 0;
	if (v == 0)
		return 1;
	while (v >>= 1)
		b++;
	return b;
}

TEST(hist_buckets_and_sums_exact)
{
	static const uint8_t types[] = { SLED_T_I64, SLED_T_I64 };
	static const int64_t edge[] = { 0, 1, 2, 3, 4, 1023, 1024, -1, INT64_MIN, INT64_MAX, 65535 };
	struct row want[SLED_AGG_HIST_BUCKETS];
	uint64_t x = 7, n = 0;

	memset(want, 0, sizeof(want));
	block(2, types);
	descriptor(0, 0, NULL, 1, SLED_AGG_B_HIST);
	lane(0, -1);
	for (unsigned i = 0; i < 30000; i++, n++) {
		int64_t v = i < 11 ? edge[i] : (int64_t)(lcg(&x) & 0xffff) - 100;
		struct row *w = &want[hist_bucket_ref(v)];

		w->count++;
		w->sum += (uint64_t)v;
		hit((uint64_t)i, (uint64_t)v, 0);
	}
	for (uint32_t b = 0; b < SLED_AGG_HIST_BUCKETS; b++) {
		uint64_t zero = 0;
		struct row r = read_row(0, &zero, b);

		CHECK_EQ_INT(r.count, want[b].count);
		if (!want[b].count)
			continue;
		CHECK_EQ_INT(r.sum, want[b].sum); /* min and max: not a histogram's */
	}
	CHECK_EQ_INT(total(0), n);
}

TEST(sum_min_max_by_key_signed_and_unsigned)
{
	static const uint8_t types[] = { SLED_T_U64, SLED_T_I64, SLED_T_U64 }, keys[] = { 0 };
	struct row ws[8], wu[8];
	uint64_t x = 3;

	memset(ws, 0, sizeof(ws));
	memset(wu, 0, sizeof(wu));
	block(3, types);
	descriptor(0, 1, keys, 1, SLED_AGG_B_NONE); /* sum(signed) by (key) */
	descriptor(1, 1, keys, 2, SLED_AGG_B_NONE); /* sum(unsigned) by (key) */
	lane(0, 1);
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t k = lcg(&x) & 7, v = lcg(&x) * 0x9e3779b97f4a7c15ull;

		if (!ws[k].count || (int64_t)v < (int64_t)ws[k].min)
			ws[k].min = v;
		if (!ws[k].count || (int64_t)v > (int64_t)ws[k].max)
			ws[k].max = v;
		if (!wu[k].count || v < wu[k].min)
			wu[k].min = v;
		if (!wu[k].count || v > wu[k].max)
			wu[k].max = v;
		ws[k].count++, wu[k].count++;
		ws[k].sum += v, wu[k].sum += v;
		hit(k, v, v);
	}
	for (uint64_t k = 0; k < 8; k++) {
		struct row s = read_row(0, &k, 0), u = read_row(1, &k, 0);

		CHECK_EQ_INT(s.count, ws[k].count);
		CHECK_EQ_INT(s.sum, ws[k].sum);
		CHECK_EQ_INT(s.min, ws[k].min);
		CHECK_EQ_INT(s.max, ws[k].max);
		CHECK_EQ_INT(u.count, wu[k].count);
		CHECK(u.min == wu[k].min && u.max == wu[k].max);
	}
}

TEST(colliding_keys_found_again_and_full_table_overflows)
{
	static const uint8_t types[] = { SLED_T_I64 }, keys[] = { 0 };
	uint64_t counted = 0;

	block(1, types);
	descriptor(0, 1, keys, SLED_AGG_NO_VALUE, SLED_AGG_B_NONE);
	lane(0, -1);
	/* 1500 keys in 4096 slots: some are not at their first slot. */
	for (unsigned round = 0; round < 3; round++)
		for (uint64_t k = 0; k < 1500; k++)
			hit(k * 0x10001, 0, 0);
	for (uint64_t k = 0; k < 1500; k++) {
		uint64_t key = k * 0x10001;

		CHECK_EQ_INT(read_row(0, &key, 0).count, 3);
	}
	CHECK_EQ_INT(counter(0)->overflow, 0);
	/* 7500 more keys cannot all fit: what has no slot is overflow, nothing else lost. */
	for (uint64_t k = 1500; k < 9000; k++)
		hit(k * 0x10001, 0, 0);
	counted = total(0);
	CHECK(counter(0)->overflow > 0);
	CHECK_EQ_INT(counted + counter(0)->overflow, 4500 + 7500);
	CHECK_EQ_INT(counter(0)->tag, sled_rt.aggs[0].tag);
}

TEST(stale_slots_reused_after_clear)
{
	static const uint8_t types[] = { SLED_T_I64 }, keys[] = { 0 };

	block(1, types);
	descriptor(0, 1, keys, SLED_AGG_NO_VALUE, SLED_AGG_B_NONE);
	lane(0, -1);
	/* Each --clear gives a new tag: the old slots are stale and reused, never full. */
	for (unsigned gen = 1; gen <= 40; gen++) {
		sled_rt.aggs[0].tag = 1u | gen << 16;
		for (uint64_t k = 0; k < 1500; k++)
			hit(k, 0, 0);
		for (uint64_t k = 0; k < 1500; k += 97)
			CHECK_EQ_INT(read_row(0, &k, 0).count, 1);
		CHECK_EQ_INT(total(0), 1500);
	}
	CHECK_EQ_INT(counter(0)->overflow, 0);
}

/* The daemon's view of a string key: its first 64 bytes, zeros after its NUL. */
static void string_key(uint8_t *key, const char *s)
{
	memset(key, 0, SLED_AGG_STR_KEY);
	if (s)
		strncpy((char *)key, s, SLED_AGG_STR_KEY);
}

static const char *const strings[] = {
	"", "a", "abcdefg", "abcdefgh", "abcdefghi", "/index.html", "/api/v1/users",
	"\x80\x81\xfe\xff high bytes",
	"012345678901234567890123456789012345678901234567890123456789012",   /* 63 */
	"0123456789012345678901234567890123456789012345678901234567890123",  /* 64 */
	"0123456789012345678901234567890123456789012345678901234567890123 and more, cut",
};
#define NSTRINGS (sizeof(strings) / sizeof(strings[0]))

/* The strings copied to base, each followed by its NUL and then non-zero bytes (0x01
 * first: the zero-byte test's false positive), so that a key that took what follows
 * a NUL would differ. */
static void place_strings(char *base, const char **at)
{
	for (unsigned i = 0; i < NSTRINGS; i++) {
		size_t n = strlen(strings[i]);

		at[i] = base;
		memcpy(base, strings[i], n + 1);
		memset(base + n + 1, 1, 8);
		memset(base + n + 9, 'x', 64);
		base += n + 1 + 8 + 64;
	}
}

static void check_string_counts(unsigned d, const uint64_t *want, uint64_t nulls)
{
	uint8_t key[SLED_AGG_KEY_BYTES];

	for (unsigned i = 0; i < NSTRINGS; i++) {
		uint64_t w = want[i];

		string_key(key, strings[i]);
		if (i == 0)
			w += nulls; /* NULL is the empty key */
		if (i == NSTRINGS - 1 || i == NSTRINGS - 2)
			w = want[NSTRINGS - 1] + want[NSTRINGS - 2]; /* the same first 64 bytes */
		CHECK_EQ_INT(read_row(d, key, 0).count, w);
	}
	CHECK_EQ_INT(counter(d)->overflow + counter(d)->dropped, 0);
}

static void string_keys(char *memory)
{
	static const uint8_t types[] = { SLED_T_STRING, SLED_T_I64 }, keys[] = { 0 };
	const char *at[NSTRINGS];
	uint64_t want[NSTRINGS] = { 0 }, nulls = 0, x = 11;

	place_strings(memory, at);
	block(2, types);
	descriptor(0, 1, keys, SLED_AGG_NO_VALUE, SLED_AGG_B_NONE);
	lane(0, -1);
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t k = lcg(&x) % (NSTRINGS + 1);

		if (k == NSTRINGS) {
			nulls++;
			hit(0, i, 0);
		} else {
			want[k]++;
			hit((uint64_t)(uintptr_t)at[k], i, 0);
		}
	}
	check_string_counts(0, want, nulls);
	CHECK_EQ_INT(ring->lanes[0][0].hits, 20000);
}

TEST(string_keys_in_site_memory)
{
	string_keys(site_memory);
}

TEST(string_keys_elsewhere_read_through_the_kernel)
{
	char *heap = calloc(1, 8192);

	string_keys(heap);
	free(heap);
}

TEST(string_and_integer_key_and_two_aggregations)
{
	static const uint8_t types[] = { SLED_T_STRING, SLED_T_I64, SLED_T_I64 },
			     keys[] = { 0, 1 };
	const char *at[NSTRINGS];
	uint64_t want[NSTRINGS][4], hist[SLED_AGG_HIST_BUCKETS] = { 0 }, x = 5;
	uint8_t key[SLED_AGG_KEY_BYTES];

	memset(want, 0, sizeof(want));
	place_strings(site_memory, at);
	block(3, types);
	descriptor(0, 2, keys, SLED_AGG_NO_VALUE, SLED_AGG_B_NONE); /* count() by (s, n) */
	descriptor(1, 0, NULL, 2, SLED_AGG_B_HIST);                  /* hist(v) */
	lane(0, 1);
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t k = lcg(&x) % (NSTRINGS - 1), n = lcg(&x) & 3, v = lcg(&x) & 0xfff;

		want[k][n]++;
		hist[hist_bucket_ref((int64_t)v)]++;
		hit((uint64_t)(uintptr_t)at[k], n, v);
	}
	for (unsigned i = 0; i < NSTRINGS - 1; i++)
		for (uint64_t n = 0; n < 4; n++) {
			string_key(key, strings[i]);
			memcpy(key + SLED_AGG_STR_KEY, &n, 8);
			CHECK_EQ_INT(read_row(0, key, 0).count, want[i][n]);
		}
	for (uint32_t b = 0; b < SLED_AGG_HIST_BUCKETS; b++) {
		uint64_t zero = 0;

		CHECK_EQ_INT(read_row(1, &zero, b).count, hist[b]);
	}
}

TEST(nested_hits_are_not_aggregated)
{
	static const uint8_t types[] = { SLED_T_I64 }, keys[] = { 0 };
	uint64_t k = 5;

	block(1, types);
	descriptor(0, 1, keys, SLED_AGG_NO_VALUE, SLED_AGG_B_NONE);
	lane(0, -1);
	hit(k, 0, 0);
	sled_tls_prod.depth = 1; /* as inside another event of this thread */
	hit(k, 0, 0);
	hit(k + 1, 0, 0);
	sled_tls_prod.depth = 0;
	CHECK_EQ_INT(read_row(0, &k, 0).count, 1);
	CHECK_EQ_INT(total(0), 1);
	CHECK_EQ_INT(ring->lanes[0][0].hits, 3);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(integer_key_counts_exact),
		TEST_ENTRY(hist_buckets_and_sums_exact),
		TEST_ENTRY(sum_min_max_by_key_signed_and_unsigned),
		TEST_ENTRY(colliding_keys_found_again_and_full_table_overflows),
		TEST_ENTRY(stale_slots_reused_after_clear),
		TEST_ENTRY(string_keys_in_site_memory),
		TEST_ENTRY(string_keys_elsewhere_read_through_the_kernel),
		TEST_ENTRY(string_and_integer_key_and_two_aggregations),
		TEST_ENTRY(nested_hits_are_not_aggregated),
	};

	return RUN_TESTS(tests);
}
