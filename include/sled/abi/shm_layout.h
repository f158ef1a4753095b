/* SPDX-License-Identifier: MIT */
/*
 * shm_layout.h - the one contract between libsled (in the traced process) and probed.
 *
 * Each process that links libsled creates its block at start-up as a memfd named "sled"
 * (/proc/PID/maps shows "/memfd:sled (deleted)"), sized and then sealed against shrinking
 * and growing, and maps it shared.  No other user can create, squat, shrink or grow it;
 * the daemon (root) opens it through /proc/PID/map_files and maps it too.  An empty file
 * /dev/shm/sled.<pid> is only a hint that wakes the daemon early: it is never opened and
 * never trusted (docs/SECURITY.md, "The shared block").  Layout, the same for every
 * process of one version and ring size (the daemon derives it from these constants and
 * the size of the sealed memfd, never from the header, and refuses a header that
 * disagrees):
 *
 *   struct sled_shm_header                      control block, agent mailbox
 *   struct sled_shm_site    sites[max_sites]    per site: address, decode table, want/state,
 *                                               up to SLED_SHM_LANES probes' functions
 *   struct sled_shm_agg     aggs[SLED_SHM_MAX_AGGS]  aggregation descriptors (--aggregate)
 *   struct sled_ring        rings[max_rings]    per thread: header, counters, data, and
 *                                               an aggregation table (struct sled_agg_area)
 *
 * Ownership of every field is written next to it: [D] written by the daemon, [A] by the
 * agent thread, [P] by a producing thread (the trampoline).  A field is written by one
 * side only.  All integers are native (x86-64, little-endian).
 *
 * This is an ABI, not an API: libsled and probed are built from the same copy of it and
 * it is not installed.  The version rules:
 *   - SLED_SHM_VERSION is bumped on any change to a layout here or in filter_prog.h (a
 *     field added, moved, resized or given a new meaning, a constant changed); the static
 *     asserts below pin sizes and offsets so that a change without a bump fails to build.
 *   - magic and version stay at offsets 0 and 4 in every version, so that each side can
 *     name the other's version.
 *   - probed speaks exactly one version: a block of another version is refused with one
 *     line naming both ("process P runs libsled shm version A, probed speaks version B",
 *     probed/daemon/sled/block.c), and the process is left alone.
 */
#ifndef SLED_SHM_LAYOUT_H
#define SLED_SHM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "filter_prog.h" /* the same directory: the ABI headers stand alone */

#define SLED_SHM_MAGIC   0x44454c53u /* "SLED" */
#define SLED_SHM_VERSION 6
#define SLED_SHM_MEMFD   "sled"  /* memfd_create name: "/memfd:sled (deleted)" in maps */
#define SLED_SHM_DIR     "/dev/shm"
#define SLED_SHM_PREFIX  "sled." /* /dev/shm/sled.<pid>: an empty hint, never the block */

#define SLED_SHM_MAX_SITES 1024
#define SLED_SHM_MAX_RINGS 64
/* Bytes of records per ring: a power of two in [MIN, MAX], chosen per process at start
 * (sled_start_opts.ring_size, SLED_RING_SIZE) and the same for all its rings.  The block's
 * size follows from it, so the daemon derives it from the size of the sealed memfd and
 * only checks that the header agrees (sled_shm_ring_data_of). */
#define SLED_SHM_RING_DATA_MIN     (64u * 1024u)
#define SLED_SHM_RING_DATA_MAX     (16u * 1024u * 1024u)
#define SLED_SHM_RING_DATA_DEFAULT (1024u * 1024u)
#define SLED_SHM_MAX_ARGS  12
#define SLED_SHM_MAX_STR   256 /* bytes of a string argument kept, NUL excluded */

/* Register indexes in struct sled_regs (the trampoline's save area). */
enum sled_regs_index {
	SLED_R_R15, SLED_R_R14, SLED_R_R13, SLED_R_R12, SLED_R_R11, SLED_R_R10, SLED_R_R9,
	SLED_R_R8, SLED_R_RDI, SLED_R_RSI, SLED_R_RBP, SLED_R_RBX, SLED_R_RDX, SLED_R_RCX,
	SLED_R_RAX, SLED_R_RSP, SLED_R_RIP, SLED_R_COUNT
};
#define SLED_R_NONE 0xff

/* One argument, compiled by the daemon from the stapsdt arg spec (no text at run time). */
/* MEM_FS: as MEM, plus the thread pointer (%fs base): a __thread variable. */
enum sled_shm_arg_kind { SLED_A_NONE, SLED_A_CONST, SLED_A_REG, SLED_A_MEM, SLED_A_MEM_FS };
struct sled_shm_arg {
	uint8_t kind;      /* enum sled_shm_arg_kind */
	uint8_t size;      /* 1, 2, 4, 8 */
	uint8_t is_signed; /* sign-extend to 64 bits */
	uint8_t type;      /* SLED_T_* of <sled/tracepoint.h>; SLED_T_STRING is copied as text */
	uint8_t reg;       /* REG: register; MEM: base register or SLED_R_NONE */
	uint8_t index;     /* MEM: index register or SLED_R_NONE */
	uint8_t scale;     /* MEM: 1, 2, 4, 8 */
	uint8_t shift;     /* REG: 8 for %ah..%dh */
	int64_t imm;       /* CONST: value; MEM: displacement */
};

#define SLED_SITE_F_STRINGS 1 /* some argument is a string: records vary in size */

enum sled_site_kind_shm { SLED_SITE_SLOT_FREE, SLED_SITE_SLOT_TRACEPOINT, SLED_SITE_SLOT_GUARD };
enum sled_site_state { SLED_STATE_OFF, SLED_STATE_ON, SLED_STATE_FAILED };

/*
 * Several probes on one site, as a kernel tracepoint has several callbacks: a slot has
 * SLED_SHM_LANES lanes, each with one probe's functions and, in every ring, its own
 * counters.  The dispatcher runs each active lane and writes the event once if any lane
 * accepts it, with the accepting lanes in the record's flags.
 */
#define SLED_SHM_LANES 4

/*
 * Aggregations (--aggregate) are computed where the hit happens, into a table of the
 * thread's own ring (struct sled_agg_area): no lock, no shared cache line.  A lane names
 * up to SLED_LANE_AGGS descriptors (struct sled_shm_agg, written by the daemon, compiled
 * for the site's fields); a table slot belongs to the descriptor whose tag it carries.
 * The daemon changes a descriptor's tag to clear it or to reuse it: slots of an old tag
 * are stale, ignored by the daemon and reused by the producer.
 */
#define SLED_SHM_MAX_AGGS  256  /* descriptors per process */
#define SLED_LANE_AGGS     4    /* aggregations per probe */
#define SLED_AGG_MAX_KEYS  4    /* key fields per aggregation */
#define SLED_AGG_STR_KEY   64   /* bytes of a string key kept */
#define SLED_AGG_KEY_BYTES 88   /* a slot's key: an integer takes 8 bytes, a string 64 */
#define SLED_AGG_SLOTS     4096 /* slots of a thread's table, power of two */
#define SLED_AGG_PROBE     16   /* slots looked at for a key before it counts as overflow */
#define SLED_AGG_NO_VALUE  0xff /* count(): no value field */

enum sled_agg_bucketing { SLED_AGG_B_NONE, SLED_AGG_B_HIST, SLED_AGG_B_LHIST };

/* hist: bucket 0 holds negative values, 1 zero, 2 + k the values in [2^k, 2^(k+1)). */
#define SLED_AGG_HIST_BUCKETS 66
#define SLED_AGG_LHIST_MAX_BUCKETS 1002 /* lhist: below MIN, the steps, from MAX on */

#define SLED_AGG_F_INT_KEYS 1 /* no string key: the dispatcher's short path */

/* One aggregation compiled for one site, [D]. */
struct sled_shm_agg {
	uint32_t tag;          /* [D] index + 1 in the low 16 bits, a generation above */
	uint8_t nkeys;         /* 0 to SLED_AGG_MAX_KEYS */
	uint8_t value_arg;     /* argument index, or SLED_AGG_NO_VALUE */
	uint8_t value_signed;  /* min/max compare signed */
	uint8_t bucketing;     /* enum sled_agg_bucketing */
	uint8_t key_arg[SLED_AGG_MAX_KEYS];
	uint8_t key_string[SLED_AGG_MAX_KEYS]; /* 1: a string key (SLED_AGG_STR_KEY bytes) */
	uint16_t key_len;      /* bytes of key, at most SLED_AGG_KEY_BYTES */
	uint16_t flags;        /* SLED_AGG_F_* */
	uint32_t nbuckets;     /* lhist: buckets in all */
	int64_t lmin, lmax, lstep; /* lhist */
	uint8_t pad[16];
};

/* One slot of a thread's table: a key (and bucket, for hist/lhist) and its figures. */
struct sled_agg_slot {
	uint32_t tag;      /* [P] the descriptor's tag; 0: empty.  Written last (release). */
	uint32_t bucket;
	uint64_t count, sum, min, max;
	uint8_t key[SLED_AGG_KEY_BYTES];
};

/* Per thread and descriptor: what could not be aggregated.  Reset by the producer when
 * it finds another tag here. */
struct sled_agg_counter {
	uint32_t tag;      /* [P] the tag these counts are for */
	uint32_t reserved;
	uint64_t overflow; /* no slot for a new key in SLED_AGG_PROBE steps */
	uint64_t dropped;  /* nested in another event, or string keys not readable */
	uint64_t pad;
};

/* A thread's aggregation table, after its ring's data.  [P] all of it; the producer that
 * claims a ring clears it before it publishes its claim (claims). */
struct sled_agg_area {
	uint64_t used;     /* [P] slots filled since the claim: 0, nothing to read */
	uint8_t pad[56];
	struct sled_agg_counter counters[SLED_SHM_MAX_AGGS];
	struct sled_agg_slot slots[SLED_AGG_SLOTS];
};

/* struct sled_shm_site.lanes: which lanes run, in one word so a thread reads one
 * consistent view.  FAST: one lane, no probe functions, no strings (the plain path; the
 * lane's index is in bits 12-13). */
#define SLED_LANES_ACTIVE     0x000fu
#define SLED_LANES_FAST       0x0100u
/* AGG: one lane that only aggregates, no other function (lane in bits 12-13). */
#define SLED_LANES_AGG        0x0200u
#define SLED_LANES_FAST_SHIFT 12

/* One lane's probe functions, [D] written only while the lane is inactive and no thread
 * is inside the site for it (see probes.c: hand-over). */
struct sled_shm_lane {
	uint32_t sample_every;   /* record one hit in N per thread (0, 1: every hit) */
	uint32_t count_only;     /* count hits, record nothing */
	uint64_t rate_per_sec;   /* at most this many records per second (0: no limit) */
	uint64_t rate_state;     /* [P] atomic: window number << 32 | records in the window */
	uint32_t options;        /* some function above or a filter is set */
	uint32_t reserved;
	struct sled_filter_prog filter; /* [D] ninsns 0: no filter */
	uint16_t agg[SLED_LANE_AGGS];   /* [D] aggregation descriptor index + 1; 0 ends the list.
					 * A lane with aggregations records no events. */
	uint32_t agg_strings;           /* [D] some aggregation has a string key */
	uint8_t pad[576 - 32 - sizeof(struct sled_filter_prog) - 2 * SLED_LANE_AGGS - 4];
};

/*
 * A site slot.  The daemon fills addr, kind, target, nargs and args once, before the
 * slot's first enable, and never rewrites them for the life of the process (a thread may
 * still be inside the trampoline of a just-disabled site); want, lanes and the lanes'
 * functions change after.
 */
struct sled_shm_site {
	uint64_t addr;      /* [D] tracepoint: the 1-byte NOP (sled at addr+1); guard: the nop5 */
	uint64_t target;    /* [D] guard: the jmp target */
	uint32_t kind;      /* [D] enum sled_site_kind_shm */
	uint32_t want;      /* [D] 1 = should be patched */
	uint32_t state;     /* [A] enum sled_site_state */
	int32_t error;      /* [A] -errno of the last failed patch */
	uint16_t nargs;     /* [D] */
	uint16_t flags;     /* [D] SLED_SITE_F_* */
	uint32_t lanes;     /* [D] SLED_LANES_* (release; the dispatcher loads it acquire) */
	struct sled_shm_arg args[SLED_SHM_MAX_ARGS]; /* [D] */
	uint8_t pad0[256 - 232];
	struct sled_shm_lane lane[SLED_SHM_LANES];
};

/* Agent mailbox.  The daemon sets want on the slots, then posts SLED_OP_APPLY: the agent
 * makes every slot's state match its want and answers with done_seq = seq. */
enum sled_shm_op { SLED_OP_NONE, SLED_OP_APPLY };
struct sled_shm_cmd {
	uint32_t seq;      /* [D] incremented to post */
	uint32_t op;       /* [D] enum sled_shm_op */
	uint32_t done_seq; /* [A] seq of the last finished command */
	int32_t result;    /* [A] 0 or the first -errno of the command */
	uint32_t applied;  /* [A] slots whose state changed */
	uint32_t failed;   /* [A] slots that could not be changed */
};

struct sled_shm_header {
	uint32_t magic;         /* [A] SLED_SHM_MAGIC, written last at creation */
	uint16_t version;       /* [A] SLED_SHM_VERSION */
	uint16_t header_size;   /* [A] sizeof(struct sled_shm_header) */
	uint32_t pid;           /* [A] */
	uint32_t max_sites;     /* [A] */
	uint32_t max_rings;     /* [A] */
	uint32_t ring_data;     /* [A] bytes of record data per ring */
	uint64_t ring_stride;   /* [A] bytes from one ring to the next */
	uint64_t sites_offset;  /* [A] */
	uint64_t rings_offset;  /* [A] */
	uint64_t total_size;    /* [A] */
	uint64_t start_time;    /* [A] /proc/self/stat starttime: tells a reused pid apart */
	uint64_t exec_id;       /* [A] random per runtime start: tells an exec'd image apart */
	uint64_t tsc_hz;        /* [D] TSC ticks per second, for --rate windows */
	uint8_t pad0[128 - 80];
	/* Agent control, its own cache line. */
	uint32_t doorbell;       /* [D] futex word: incremented + FUTEX_WAKE to wake the agent */
	uint32_t agent_alive;    /* [A] 1 while the agent thread runs */
	uint64_t heartbeat_ns;   /* [D] CLOCK_MONOTONIC of the daemon's last beat; 0 = no daemon */
	uint32_t heartbeat_timeout_ms; /* [D] the agent restores every sled after this silence */
	uint32_t restores;       /* [A] times the agent restored everything on a lost heartbeat */
	struct sled_shm_cmd cmd;
	uint32_t daemon_pid;     /* [D] the daemon that owns this process (compare-and-swap);
				  * another daemon keeps off while its heartbeat is fresh */
	uint32_t reserved2;
	uint8_t pad1[64 - 32 - sizeof(struct sled_shm_cmd)];
	/* Rare-path counter, its own line: events lost because no ring was free. */
	uint64_t lost_no_ring;   /* [P] atomic add */
	uint8_t pad2[64 - 8];
};

/* One lane's counters in one ring: a cache line, written only by the ring's thread.
 * hits = filtered + sampled + limited + accepted; accepted = recorded + drops (count-only
 * lanes record nothing). */
struct sled_lane_counters {
	uint64_t hits;       /* the site fired while the lane was active */
	uint64_t filtered;   /* --filter said no */
	uint64_t sampled;    /* --sample skipped it */
	uint64_t limited;    /* over --rate */
	uint64_t drops;      /* accepted, but the ring was full */
	uint32_t sample_ctr; /* this thread's --sample counter */
	uint32_t reserved;
	uint64_t pad[2];
};

#define SLED_IN_SLOT_NESTED 0xffffffffu

enum sled_ring_state { SLED_RING_FREE, SLED_RING_OWNED, SLED_RING_ORPHANED };

/*
 * A single-producer single-consumer ring.  The producer is the one thread that claimed it
 * (state FREE -> OWNED by compare-and-swap); at thread exit it becomes ORPHANED and the
 * daemon drains it and sets it FREE again.  head and tail count bytes forever; the data
 * offset is (count & (ring_data - 1)).  Counters are per site slot and lane and written
 * only by the producer, so counting costs no shared cache line.
 */
struct sled_ring_header {
	uint32_t state;      /* [P] OWNED at claim, ORPHANED at exit; [D] FREE after draining */
	uint32_t tid;        /* [P] */
	uint64_t claims;     /* [P] incremented at each claim */
	uint32_t in_slot;    /* [P] slot + 1 while the thread records an event, else 0: lets
			      * the daemon wait until a disabled site has no event in flight;
			      * SLED_IN_SLOT_NESTED while a signal handler's event runs on top of
			      * another (then any slot may be in flight) */
	uint8_t pad0[64 - 20];
	uint64_t head;       /* [P] bytes published (release) */
	uint64_t tail_cache; /* [P] last tail seen: the consumer's line is read only when full */
	uint32_t recheck;    /* [P] full: events to drop before reading the consumer's line again */
	uint32_t reserved;
	uint8_t pad1[64 - 24];
	uint64_t tail;       /* [D] bytes consumed (release) */
	uint8_t pad2[64 - 8];
	struct sled_lane_counters lanes[SLED_SHM_MAX_SITES][SLED_SHM_LANES]; /* [P] */
};

/*
 * A record: header, then nargs 8-byte values, then the bytes of the string arguments in
 * argument order.  For a string the value is its byte length, ORed with
 * SLED_REC_STR_TRUNCATED (longer than kept, or a readable prefix that ends at unreadable
 * memory), SLED_REC_STR_NULL (a NULL pointer) or SLED_REC_STR_FAULT (not one byte could be
 * read: length 0; uprobe mode's USDT_STR_FAULT).  size is the whole record, a multiple of 8.
 * A record never wraps: at the end of the data, a SLED_REC_PAD record fills the rest.
 */
struct sled_record {
	uint32_t size;
	uint16_t site;  /* slot index, or SLED_REC_PAD */
	uint16_t flags; /* SLED_REC_LANES: the lanes that accepted the event */
	uint64_t tsc;   /* rdtsc at the site */
};
#define SLED_REC_PAD            0xffffu
#define SLED_REC_LANES          0x000fu
#define SLED_REC_STR_TRUNCATED  (1ull << 63)
#define SLED_REC_STR_NULL       (1ull << 62)
#define SLED_REC_STR_FAULT      (1ull << 61)
#define SLED_REC_STR_LEN_MASK   0xffffull
#define SLED_REC_MAX_SIZE                                                               \
	(sizeof(struct sled_record) + 8 * SLED_SHM_MAX_ARGS + SLED_SHM_MAX_ARGS * SLED_SHM_MAX_STR + 8)

#define SLED_ALIGN8(n) (((n) + 7u) & ~(uint64_t)7u)

static inline int sled_ring_data_ok(uint64_t ring_data)
{
	return ring_data >= SLED_SHM_RING_DATA_MIN && ring_data <= SLED_SHM_RING_DATA_MAX &&
	       !(ring_data & (ring_data - 1));
}

/* A ring: its header, ring_data bytes of records, then its thread's aggregation area. */
static inline uint64_t sled_ring_stride(uint64_t ring_data)
{
	return SLED_ALIGN8(sizeof(struct sled_ring_header)) + ring_data +
	       sizeof(struct sled_agg_area);
}

static inline struct sled_agg_area *sled_ring_agg(struct sled_ring_header *ring,
						  uint64_t ring_data)
{
	return (struct sled_agg_area *)((char *)ring + SLED_ALIGN8(sizeof(*ring)) + ring_data);
}

static inline uint64_t sled_shm_sites_offset(void)
{
	return sizeof(struct sled_shm_header);
}

static inline uint64_t sled_shm_aggs_offset(void)
{
	return sled_shm_sites_offset() + sizeof(struct sled_shm_site) * SLED_SHM_MAX_SITES;
}

static inline uint64_t sled_shm_rings_offset(void)
{
	return sled_shm_aggs_offset() + sizeof(struct sled_shm_agg) * SLED_SHM_MAX_AGGS;
}

static inline uint64_t sled_shm_size(uint64_t ring_data)
{
	return sled_shm_rings_offset() + sled_ring_stride(ring_data) * SLED_SHM_MAX_RINGS;
}

/* The ring size of a block of size bytes, or 0 when no allowed ring size gives it. */
static inline uint64_t sled_shm_ring_data_of(uint64_t size)
{
	uint64_t rest, ring_data;

	if (size < sled_shm_rings_offset())
		return 0;
	rest = size - sled_shm_rings_offset();
	if (rest % SLED_SHM_MAX_RINGS)
		return 0;
	if (rest / SLED_SHM_MAX_RINGS < SLED_ALIGN8(sizeof(struct sled_ring_header)) +
					  sizeof(struct sled_agg_area))
		return 0;
	ring_data = rest / SLED_SHM_MAX_RINGS - SLED_ALIGN8(sizeof(struct sled_ring_header)) -
		    sizeof(struct sled_agg_area);
	return sled_ring_data_ok(ring_data) && sled_shm_size(ring_data) == size ? ring_data : 0;
}

#ifdef __cplusplus
#define SLED_STATIC_ASSERT static_assert
#else
#define SLED_STATIC_ASSERT _Static_assert
#endif
SLED_STATIC_ASSERT(sizeof(struct sled_shm_arg) == 16, "arg layout");
SLED_STATIC_ASSERT(sizeof(struct sled_shm_lane) == 576, "lane layout");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_lane, filter) == 32, "lane layout");
SLED_STATIC_ASSERT(sizeof(struct sled_shm_site) == 256 + 4 * 576, "site slot layout");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_site, lanes) == 36, "site slot layout");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_site, lane) == 256, "site slot layout");
SLED_STATIC_ASSERT(sizeof(struct sled_lane_counters) == 64, "lane counters: one line");
SLED_STATIC_ASSERT(SLED_REC_LANES == (1u << SLED_SHM_LANES) - 1, "a record bit per lane");
SLED_STATIC_ASSERT(SLED_LANES_ACTIVE == (1u << SLED_SHM_LANES) - 1, "a lanes bit per lane");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_site, args) == 40, "site slot layout");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_header, exec_id) == 64, "identity line");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_header, version) == 4, "version: same place in every version");
SLED_STATIC_ASSERT(sizeof(struct sled_shm_header) == 256, "header layout");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_header, doorbell) == 128, "agent line");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_header, lost_no_ring) == 192, "counter line");
SLED_STATIC_ASSERT(offsetof(struct sled_ring_header, head) == 64, "producer line");
SLED_STATIC_ASSERT(offsetof(struct sled_ring_header, tail) == 128, "consumer line");
SLED_STATIC_ASSERT(offsetof(struct sled_ring_header, lanes) == 192, "counter lines");
SLED_STATIC_ASSERT(sizeof(struct sled_record) == 16, "record header");
SLED_STATIC_ASSERT(sizeof(struct sled_shm_agg) == 64, "aggregation descriptor");
SLED_STATIC_ASSERT(sizeof(struct sled_agg_slot) == 128, "aggregation slot: two lines");
SLED_STATIC_ASSERT(sizeof(struct sled_agg_counter) == 32, "aggregation counter");
SLED_STATIC_ASSERT((SLED_AGG_SLOTS & (SLED_AGG_SLOTS - 1)) == 0, "table size power of 2");
SLED_STATIC_ASSERT(SLED_SHM_MAX_AGGS < 0xffff, "descriptor index in a tag's low 16 bits");
SLED_STATIC_ASSERT(offsetof(struct sled_shm_lane, agg) == 32 + sizeof(struct sled_filter_prog),
		   "lane layout");
SLED_STATIC_ASSERT((SLED_SHM_RING_DATA_MIN & (SLED_SHM_RING_DATA_MIN - 1)) == 0, "ring size power of 2");
SLED_STATIC_ASSERT((SLED_SHM_RING_DATA_MAX & (SLED_SHM_RING_DATA_MAX - 1)) == 0, "ring size power of 2");
SLED_STATIC_ASSERT((SLED_SHM_RING_DATA_DEFAULT & (SLED_SHM_RING_DATA_DEFAULT - 1)) == 0, "ring size power of 2");
SLED_STATIC_ASSERT(SLED_SHM_RING_DATA_MIN >= 4 * SLED_REC_MAX_SIZE, "the largest record fits");

#endif /* SLED_SHM_LAYOUT_H */
