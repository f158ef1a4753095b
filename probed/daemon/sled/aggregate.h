/* SPDX-License-Identifier: MIT */
/*
 * aggregate: the daemon's side of --aggregate in sled mode.  Each thread aggregates into
 * its own table in the block (sdk/aggregate.c); the daemon gives out the descriptors
 * (one per aggregation, site and lane), and merges the tables: counts and sums added,
 * min of mins, max of maxes, buckets added.  What a thread or a process leaves behind
 * when it exits is folded into the daemon's own tables first, so nothing it counted is
 * lost while the probe stands.  Everything read from a block is checked: a slot counts
 * only under a tag the daemon gave out, with a bucket in range.  The merged tables, their
 * rendering and clearing are mode-neutral: uprobe mode's BPF maps are read into the same
 * tables through agg_set_source (daemon/uprobe/uprobe_agg.c).
 */
#ifndef SLED_AGGREGATE_H
#define SLED_AGGREGATE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "agg/agg_expr.h"
#include "daemon/sled/procs.h"

#define AGG_MAX_KEYS_DEFAULT 10000

/* One key's figures, merged. */
struct agg_row {
	uint8_t key[SLED_AGG_KEY_BYTES]; /* the compiled key bytes, zero past the key */
	uint64_t count, sum, min, max;
	uint64_t *buckets;               /* hist/lhist: the aggregation's nbuckets */
};

struct agg_table {
	struct agg_row *rows;
	size_t n, cap;
	uint32_t *index;                 /* open addressing: row index + 1, 0 empty */
	size_t icap;
	uint64_t overflow;               /* hits of keys past --max-keys or a full table */
	uint64_t dropped;                /* hits that could not be aggregated (nesting) */
};

/* How a key field is shown. */
enum agg_key_class { AGG_KEY_UNSIGNED, AGG_KEY_SIGNED, AGG_KEY_BOOL, AGG_KEY_STRING };

/* One --aggregate of a probe. */
struct probe_agg {
	struct sled_agg_spec spec;
	unsigned nbuckets;
	bool classes_known;              /* set by the first site it is compiled for */
	uint8_t key_class[SLED_AGG_MAX_KEYS];
	bool value_signed;
	struct agg_table folded;         /* from threads and processes gone, and lanes left */
};

struct probe_aggs {
	unsigned n;
	uint32_t max_keys;
	struct probe_agg agg[SLED_LANE_AGGS];
};

/* Per traced process: the descriptors the daemon gave out in its block. */
struct agg_proc {
	uint32_t probe[SLED_SHM_MAX_AGGS];  /* owner, 0: free */
	uint8_t aggno[SLED_SHM_MAX_AGGS];   /* which of the probe's aggregations */
	uint16_t slot[SLED_SHM_MAX_AGGS];
	uint8_t lane[SLED_SHM_MAX_AGGS];
	uint8_t key_len[SLED_SHM_MAX_AGGS];
	uint32_t tag[SLED_SHM_MAX_AGGS];    /* the daemon's own copy of each tag */
	struct agg_table folded[SLED_SHM_MAX_AGGS]; /* from the process's exited threads */
	uint64_t folded_claims[SLED_SHM_MAX_RINGS]; /* a ring's claim already folded */
};

struct probe;
struct probes;
struct procs;

/* Parse the probe's expressions (n up to SLED_LANE_AGGS); 0 or -EINVAL with err. */
int agg_probe_init(struct probe *pb, const char *const *exprs, unsigned n, uint32_t max_keys,
		   char *err, size_t errlen);
void agg_probe_free(struct probe *pb);

/* Do the probe's aggregations compile for these fields?  0 or -EINVAL with err naming
 * the tracepoint. */
int agg_check_site(const struct probe *pb, const char *provider, const char *name,
		   const struct sled_field *fields, unsigned nfields, char *err, size_t errlen);

/* Give lane (slot, lane) of p the probe's aggregations (the lane is inactive and quiet);
 * pb NULL or without aggregations: none. */
void agg_lane_setup(struct traced_proc *p, unsigned slot, unsigned lane, struct probe *pb);
/* The lane leaves its probe (pb, may be NULL): fold what its threads aggregated into the
 * probe, and give its descriptors back. */
void agg_lane_release(struct traced_proc *p, unsigned slot, unsigned lane, struct probe *pb);
/* The probes whose tables agg_fold_ring folds into (set once at start-up). */
void agg_set_probes(struct probes *pr);
/* Ring r's thread is gone and the ring drained: fold its table before the ring is freed. */
void agg_fold_ring(struct traced_proc *p, unsigned r);
void agg_proc_free(struct traced_proc *p);

/* Add one key's figures to t (bucket: for hist/lhist, where count goes); a key past
 * max_keys is counted in t->overflow. */
void agg_table_add(struct agg_table *t, const struct probe_agg *a, uint32_t max_keys,
		   const uint8_t *key, uint32_t bucket, uint64_t count, uint64_t sum, uint64_t min,
		   uint64_t max);

/* Add every row of src (buckets, overflow and dropped too) into dst. */
void agg_table_merge(struct agg_table *dst, const struct agg_table *src,
		     const struct probe_agg *a, uint32_t max_keys);

/* How a's keys and value are shown, from the first descriptor compiled for it (c, for a
 * tracepoint with these fields); later calls change nothing. */
void agg_learn_classes(struct probe_agg *a, const struct sled_shm_agg *c,
		       const struct sled_field *fields);

/* Aggregations kept outside the blocks (uprobe mode's BPF maps, uprobe_agg.c):
 * agg_collect adds what collect finds for a probe, agg_clear calls clear. */
struct agg_source {
	void (*collect)(void *arg, const struct probe *pb, struct agg_table *out);
	void (*clear)(void *arg, struct probe *pb);
	void *arg;
};
void agg_set_source(const struct agg_source *src);

/* The probe's aggregations merged over every process now (out: pb's n tables, to be
 * released with agg_tables_free). */
void agg_collect(const struct probe *pb, const struct procs *ps, struct agg_table *out);
void agg_tables_free(struct agg_table *t, unsigned n);
/* Start the probe's aggregations from nothing. */
void agg_clear(struct probe *pb, struct procs *ps);

/* The show reply's map: {"id", "aggregations": [...]}. */
void agg_pack_show(msgpack_packer *pk, const struct probe *pb, const struct agg_table *t);

/* For status and metrics: keys and overflow of each of the probe's aggregations. */
void agg_pack_status(msgpack_packer *pk, const struct probe *pb, const struct agg_table *t);

/* Every merged row of the probe, with what names it (metrics): key fields as text. */
typedef void (*agg_row_fn)(void *arg, const struct probe_agg *a, const struct agg_row *row,
			   const char *const *key_names, const char *const *key_values,
			   unsigned nkeys);
void agg_for_each_row(const struct probe *pb, const struct agg_table *t, agg_row_fn fn, void *arg);

#endif /* SLED_AGGREGATE_H */
