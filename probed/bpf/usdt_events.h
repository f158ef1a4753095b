/* SPDX-License-Identifier: MIT */
/*
 * usdt_events.h - the one contract between the uprobe-mode BPF program
 * (usdt_events.bpf.c) and its loader in the daemon (probed/daemon/uprobe/uprobe.c): map value
 * layouts and the record format of the ring buffer.  Included by both; in BPF the __u*
 * types come from vmlinux.h, in user space from <linux/types.h>.
 *
 * A record, pushed once per hit (8-byte aligned, the ring buffer adds its own 8-byte
 * length header in front):
 *
 *   struct usdt_rec_hdr     24 bytes: probe index, generation, pid, tid, nargs, flags, ktime
 *   __u64 value[nargs]      each argument as bpf_usdt_arg() returns it (sign- or
 *                           zero-extended to 64 bits by the arg spec's size and sign);
 *                           for a string argument: its byte length kept (NUL excluded),
 *                           ORed with USDT_STR_TRUNCATED, or USDT_STR_NULL for a NULL
 *                           pointer, or USDT_STR_FAULT when the memory could not be read
 *   string bytes            of the string arguments, in argument order, not NUL-terminated
 *   0..7 zero bytes         padding to a multiple of 8
 *
 * USDT_STR_TRUNCATED, USDT_STR_NULL and USDT_STR_LEN_MASK have the values of sled mode's
 * SLED_REC_STR_* (include/sled/abi/shm_layout.h; uprobe.c asserts it), so both modes decode alike.
 */
#ifndef SLED_USDT_EVENTS_H
#define SLED_USDT_EVENTS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#include "sled/abi/filter_prog.h" /* struct sled_filter_prog: the same program as sled mode's */

#define USDT_MAX_ARGS    12   /* libbpf's BPF_USDT_MAX_ARG_CNT, sled's SLED_MAX_ARGS */
#define USDT_MAX_STR     256  /* bytes of a string kept, NUL excluded (SLED_SHM_MAX_STR) */
#define USDT_MAX_PROBES  4096 /* probe indexes (attach handles) at once */

/* Field types: SLED_T_STRING of <sled/tracepoint.h>; the only one the BPF side needs. */
#define USDT_T_STRING 12

/* Per probe index, written by user space before the attach: how to read a hit. */
struct usdt_probe_info {
	__u16 gen;      /* must match the cookie's generation, else the hit is counted stale */
	__u8 nargs;     /* arguments to read (<= USDT_MAX_ARGS) */
	__u8 nstrings;  /* how many of them are strings: 0 takes the fixed-size fast path */
	__u8 types[USDT_MAX_ARGS]; /* SLED_T_* per argument */
	__u8 flags;     /* USDT_PF_* */
	__u8 reserved[3];
};

#define USDT_PF_OPTIONS    0x01 /* probe_conf[index] holds probe functions */
#define USDT_PF_FILTER_STR 0x02 /* the filter compares a string field: strings are read first */
#define USDT_PF_AGG        0x04 /* aggregate the hit (agg_conf[index]) instead of recording it */

/*
 * Probe functions of a probe index (sled mode's --filter, --sample, --rate, --count-only;
 * the same meaning and order as sdk/dispatch.c), written before probe_info so that a hit
 * that sees the generation sees them too.  A hit goes: filter (on the argument values,
 * strings compared with bpf_probe_read_user_str's copy), then sample, rate, count-only;
 * each stage that stops it counts it in its own counter.
 */
struct usdt_probe_conf {
	__u32 sample_every;  /* keep hits N, 2N, 3N... of the attach (0, 1: every hit) */
	__u32 count_only;    /* count, record nothing */
	__u64 rate_per_sec;  /* at most this many records per second per process (0: no limit) */
	struct sled_filter_prog filter; /* ninsns 0: no filter */
};

/* Per probe index, shared by every CPU (atomics). */
struct usdt_probe_state {
	__u64 sample_ctr;    /* hits that reached the sampling stage */
};

/* --rate's window word, per attach and process (LRU hash): window number << 32 | records
 * in it.  A window is one second of CLOCK_MONOTONIC (bpf_ktime_get_ns() / 1e9). */
struct usdt_rate_key {
	__u32 slot;          /* USDT_RATE_SLOT(index, gen) */
	__u32 tgid;
};
#define USDT_RATE_SLOT(index, gen) (((__u32)(gen) << 12) | ((__u32)(index) & 0xfff))
#define USDT_RATE_PROCS 16384 /* processes x rate-limited attaches tracked at once */

/* Per probe index and CPU (BPF_MAP_TYPE_PERCPU_ARRAY): summed by user space.
 * emitted = hits - filtered - sampled - limited = records pushed + drops (count-only:
 * nothing is pushed and emitted only counts). */
struct usdt_counts {
	__u64 hits;     /* every time the program ran for this probe */
	__u64 drops;    /* emitted but no record: ring buffer full (or, for string records
			 * only, every scratch buffer of the CPU in use; see .bpf.c) */
	__u64 filtered; /* the filter said no */
	__u64 sampled;  /* passed the filter, not the Nth */
	__u64 limited;  /* over --rate in its window */
};

struct usdt_rec_hdr {
	__u32 index;  /* probe index: low 32 bits of the USDT cookie */
	__u32 pid;    /* tgid */
	__u32 tid;
	__u16 gen;    /* generation: bits 32..47 of the cookie */
	__u8 nargs;   /* values that follow */
	__u8 flags;   /* USDT_REC_F_* */
	__u64 ktime;  /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

#define USDT_REC_F_ARGERR 0x01 /* bpf_usdt_arg() failed for some argument: its value is 0 */

#define USDT_STR_TRUNCATED (1ull << 63)
#define USDT_STR_NULL      (1ull << 62)
#define USDT_STR_FAULT     (1ull << 61) /* unreadable (not mapped, or paged out): no bytes */
#define USDT_STR_LEN_MASK  0xffffull

/* The largest record: header, 12 values, 12 strings of 256 bytes. */
#define USDT_REC_FIXED_MAX (sizeof(struct usdt_rec_hdr) + 8 * USDT_MAX_ARGS)
#define USDT_REC_MAX       (USDT_REC_FIXED_MAX + USDT_MAX_ARGS * USDT_MAX_STR)

/* Cookie of a probe: what bpf_usdt_cookie() returns in the program. */
#define USDT_COOKIE(index, gen) (((__u64)(gen) << 32) | (__u32)(index))

/*
 * Sites whose arg specs libbpf cannot read ("counter(%rip)", "%fs:x@tpoff", an index
 * register) are attached by probed as plain uprobes, each with its spec decoded by
 * probed's discovery in the own_specs map (the layout of libbpf's struct __bpf_usdt_spec)
 * under the uprobe's BPF cookie: USDT_OWN_KEY(index, gen, site), top bit set, which
 * libbpf's spec ids (small integers) never have.
 */
#define USDT_OWN_SPECS 8192
#define USDT_OWN_KEY(index, gen, site) \
	((1ull << 63) | ((__u64)(gen) << 40) | ((__u64)((index) & 0xfff) << 28) | ((site) & 0xfffffff))
/* An own arg type: value = *(val_off [+ base] [+ index * scale] [+ %fs base]); base in
 * reg_off (-1: none); arg_type's bits 16..23 hold index's pt_regs offset / 8 + 1 (0: no
 * index), bits 24..25 log2(scale), bit 28 the %fs flag. */
#define USDT_ARG_SLED_ADDR 0x100
#define USDT_ARG_INDEX(t)  ((int)(((t) >> 16) & 0xff) - 1)
#define USDT_ARG_SCALE(t)  (((t) >> 24) & 3)
#define USDT_ARG_FS        (1u << 28)

/*
 * Aggregations (--aggregate) in uprobe mode: a hit that passes the probe functions
 * updates, instead of pushing a record, one entry of a per-CPU hash per aggregation of
 * its probe index: agg_maps[USDT_AGG_MAP(index, k)] (agg_maps_int's for integer keys
 * only: shorter keys hash faster), made by the daemon with --max-keys
 * (times the buckets, for hist/lhist) as max_entries.  An entry is a key as sled mode
 * lays it out (integers 8 bytes, a string 64, zero past the key) plus the hit's bucket,
 * so the daemon merges both modes' tables with the same code (daemon/sled/aggregate.c).
 */
#define USDT_AGG_MAX      4    /* aggregations per probe (SLED_LANE_AGGS) */
#define USDT_AGG_MAX_KEYS 4    /* key fields (SLED_AGG_MAX_KEYS) */
#define USDT_AGG_KEY      88   /* key bytes (SLED_AGG_KEY_BYTES) */
#define USDT_AGG_STR      64   /* bytes of a string key (SLED_AGG_STR_KEY) */
#define USDT_AGG_NO_VALUE 0xff /* count(): no value field */
#define USDT_AGG_MAP(index, k) ((index) * USDT_AGG_MAX + (k))

enum usdt_agg_bucketing { USDT_AGG_B_NONE, USDT_AGG_B_HIST, USDT_AGG_B_LHIST };

/* One aggregation of a probe index, compiled for its fields by the daemon. */
struct usdt_agg_desc {
	__u8 nkeys;
	__u8 value_arg;      /* argument index, or USDT_AGG_NO_VALUE */
	__u8 value_signed;   /* min/max compare signed; hist's negative bucket */
	__u8 bucketing;      /* enum usdt_agg_bucketing */
	__u8 key_arg[USDT_AGG_MAX_KEYS];
	__u8 key_string[USDT_AGG_MAX_KEYS];
	__u8 key_off[USDT_AGG_MAX_KEYS]; /* where each key field goes in the key bytes */
	__u8 minmax;         /* min/max are shown: keep them (an atomic loop each) */
	__u8 ints;           /* integer keys only: the map is agg_maps_int's (short keys) */
	__u8 pad[2];
	__u32 nbuckets;      /* lhist: buckets in all (below MIN, the steps, from MAX on) */
	__s64 lmin, lmax, lstep;
};

struct usdt_agg_conf {
	__u32 n;             /* aggregations, 1..USDT_AGG_MAX */
	__u32 reserved;
	struct usdt_agg_desc d[USDT_AGG_MAX];
};

struct usdt_agg_key {
	__u32 bucket;        /* hist/lhist: the hit's bucket; 0 otherwise */
	__u32 reserved;      /* 0 (the maps are per attach: no generation needed) */
	__u8 key[USDT_AGG_KEY];
};

/* Integer keys only (the common case, hashed in 40 bytes instead of 96): the key bytes
 * are the first USDT_AGG_INT_KEY of sled mode's layout, the rest being zero. */
#define USDT_AGG_INT_KEY (8 * USDT_AGG_MAX_KEYS)
struct usdt_agg_ikey {
	__u32 bucket;
	__u32 reserved;
	__u64 key[USDT_AGG_MAX_KEYS];
};

/* Per CPU: the daemon adds the CPUs' counts and sums, and takes min/max over the CPUs
 * whose count is not 0. */
struct usdt_agg_val {
	__u64 count, sum, min, max;
};

/* Per aggregation (USDT_AGG_MAP) and CPU: hits that could not be aggregated. */
struct usdt_agg_counts {
	__u64 overflow;      /* a new key found the map full (--max-keys) */
	__u64 dropped;       /* a key field could not be read (a string key unreadable) */
};

#endif /* SLED_USDT_EVENTS_H */
