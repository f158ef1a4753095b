/* SPDX-License-Identifier: MIT */
/*
 * The hot path: one event from an enabled site into this thread's ring.
 *
 * Compiled with -mgeneral-regs-only (see CMakeLists.txt): the trampoline saves only the
 * general-purpose registers, so this file must never touch SSE/AVX state, which rules out
 * libc (memcpy, strlen) and floating point.  It takes no lock, makes no system call, and
 * writes only to this thread's ring; it reads the daemon's tail only when the ring looks
 * full.  The arguments are decoded by the slot's table, compiled once by the daemon.
 * A site runs up to SLED_SHM_LANES probes (lanes); an event is written once, with the
 * lanes that accepted it in the record's flags.
 */
#include <stddef.h>

#include <sled/tracepoint.h>

#include "runtime.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

typedef uint16_t __attribute__((may_alias, aligned(1))) u16_u;
typedef uint32_t __attribute__((may_alias, aligned(1))) u32_u;
typedef uint64_t __attribute__((may_alias, aligned(1))) u64_u;

static inline uint64_t load_sized(uint64_t addr, unsigned size)
{
	const void *p = (const void *)(uintptr_t)addr;

	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const u16_u *)p;
	case 4: return *(const u32_u *)p;
	default: return *(const u64_u *)p;
	}
}

static inline uint64_t extend(uint64_t v, unsigned size, bool is_signed)
{
	unsigned bits = size * 8;

	if (bits >= 64)
		return v;
	v &= (1ull << bits) - 1;
	if (is_signed && (v >> (bits - 1)))
		v |= ~0ull << bits;
	return v;
}

static inline uint64_t reg_of(const uint64_t *regs, unsigned r, uint64_t site)
{
	/* %rip-relative operands refer to the instruction after the site. */
	if (r == SLED_R_RIP)
		return site + 6;
	return r < SLED_R_RIP ? regs[r] : 0;
}

static inline uint64_t decode(const uint64_t *regs, const struct sled_shm_arg *a, uint64_t site)
{
	uint64_t v, addr;

	switch (a->kind) {
	case SLED_A_CONST:
		v = (uint64_t)a->imm;
		break;
	case SLED_A_REG:
		v = reg_of(regs, a->reg, site) >> a->shift;
		break;
	case SLED_A_MEM:
		addr = (uint64_t)a->imm;
		if (a->reg != SLED_R_NONE)
			addr += reg_of(regs, a->reg, site);
		if (a->index != SLED_R_NONE)
			addr += reg_of(regs, a->index, site) * a->scale;
		v = load_sized(addr, a->size);
		break;
	case SLED_A_MEM_FS: /* the trampoline runs on the thread that hit the site */
		addr = (uint64_t)a->imm + *(const uint64_t __seg_fs *)0; /* TCB self pointer */
		if (a->reg != SLED_R_NONE)
			addr += reg_of(regs, a->reg, site);
		if (a->index != SLED_R_NONE)
			addr += reg_of(regs, a->index, site) * a->scale;
		v = load_sized(addr, a->size);
		break;
	default:
		return 0;
	}
	return extend(v, a->size, a->is_signed);
}

static inline unsigned bounded_strlen(const char *s, unsigned max)
{
	unsigned n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

/* Reserve size bytes of this thread's ring; NULL when full (the caller counts the drop).
 * A record never wraps: a pad record fills the end of the data first. */
static inline struct sled_record *reserve(struct sled_ring_header *ring, uint64_t size,
					  uint64_t *new_head)
{
	uint64_t head = ring->head, tail = ring->tail_cache;
	uint64_t pos = head & (SLED_SHM_RING_DATA - 1), room = SLED_SHM_RING_DATA - pos;
	uint64_t need = size <= room ? size : room + size;
	char *data = (char *)ring + SLED_ALIGN8(sizeof(*ring));

	if (unlikely(head + need - tail > SLED_SHM_RING_DATA)) {
		/* Full.  Reading the consumer's line costs a cache miss while the daemon works on
		 * it, so a thread that keeps finding the ring full looks only every 64 events. */
		if (ring->recheck) {
			ring->recheck--;
			return NULL;
		}
		tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
		ring->tail_cache = tail;
		if (head + need - tail > SLED_SHM_RING_DATA) {
			ring->recheck = 63;
			return NULL;
		}
	}
	if (unlikely(size > room)) {
		struct sled_record *pad = (struct sled_record *)(data + pos);

		pad->size = (uint32_t)room;
		pad->site = SLED_REC_PAD;
		pad->flags = 0;
		head += room;
		pos = 0;
	}
	*new_head = head + size;
	return (struct sled_record *)(data + pos);
}

static inline void publish(struct sled_ring_header *ring, uint64_t head)
{
	__atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
}

/* One plain probe on an integer-only site (the common case): fixed size, arguments
 * decoded straight into the record. */
static inline void record_fixed(struct sled_ring_header *ring, const struct sled_shm_site *site,
				const uint64_t *regs, uint64_t slot, unsigned nargs, unsigned lane,
				uint32_t mask)
{
	uint64_t size = sizeof(struct sled_record) + 8 * (uint64_t)nargs, head;
	struct sled_record *rec = reserve(ring, size, &head);
	uint64_t *v;

	if (!rec) {
		ring->lanes[slot][lane].drops++;
		return;
	}
	rec->size = (uint32_t)size;
	rec->site = (uint16_t)slot;
	rec->flags = (uint16_t)mask; /* the lanes word's bit, not 1 << lane: measurably cheaper */
	rec->tsc = __builtin_ia32_rdtsc();
	v = (uint64_t *)(rec + 1);
	for (unsigned i = 0; i < nargs; i++)
		v[i] = decode(regs, &site->args[i], site->addr);
	publish(ring, head);
}

/* Write a record for the lanes in accepted from decoded values (strings: measured, then
 * copied).  A full ring is a drop for each of those lanes. */
static void record_values(struct sled_ring_header *ring, const struct sled_shm_site *site,
			  uint64_t slot, unsigned nargs, const uint64_t *vals, unsigned accepted)
{
	unsigned i, slen[SLED_SHM_MAX_ARGS];
	uint64_t size, head;
	struct sled_record *rec;
	uint64_t *v;
	char *s;

	size = sizeof(struct sled_record) + 8 * (uint64_t)nargs;
	for (i = 0; i < nargs; i++) {
		slen[i] = 0;
		if (site->args[i].type == SLED_T_STRING && vals[i]) {
			slen[i] = bounded_strlen((const char *)(uintptr_t)vals[i], SLED_SHM_MAX_STR);
			size += slen[i];
		}
	}
	size = SLED_ALIGN8(size);
	rec = reserve(ring, size, &head);
	if (!rec) {
		for (unsigned m = accepted; m; m &= m - 1)
			ring->lanes[slot][__builtin_ctz(m)].drops++;
		return;
	}
	rec->size = (uint32_t)size;
	rec->site = (uint16_t)slot;
	rec->flags = (uint16_t)accepted;
	rec->tsc = __builtin_ia32_rdtsc();
	v = (uint64_t *)(rec + 1);
	s = (char *)(v + nargs);
	for (i = 0; i < nargs; i++) {
		const char *src = (const char *)(uintptr_t)vals[i];

		if (site->args[i].type != SLED_T_STRING) {
			v[i] = vals[i];
			continue;
		}
		if (!src) {
			v[i] = SLED_REC_STR_NULL;
			continue;
		}
		for (unsigned k = 0; k < slen[i]; k++)
			s[k] = src[k];
		s += slen[i];
		v[i] = slen[i];
		if (slen[i] == SLED_SHM_MAX_STR && src[slen[i]])
			v[i] |= SLED_REC_STR_TRUNCATED;
	}
	publish(ring, head);
}

/*
 * --rate: at most rate_per_sec records per one-second TSC window, for all threads of the
 * process together.  Window and count share one word, so a window change and the first
 * record of the new window are one compare-and-swap: the limit holds exactly.  This is
 * the one shared cache line of the hot path, and only lanes with --rate touch it.
 */
static bool rate_take(struct sled_shm_lane *ln)
{
	uint64_t hz = sled_rt.shm->tsc_hz, window, cur, next;

	if (!hz)
		return true;
	window = (__builtin_ia32_rdtsc() / hz) & 0xffffffffull;
	cur = __atomic_load_n(&ln->rate_state, __ATOMIC_RELAXED);
	do {
		if ((cur >> 32) != window)
			next = window << 32 | 1;
		else if ((cur & 0xffffffffull) >= ln->rate_per_sec)
			return false;
		else
			next = cur + 1;
	} while (!__atomic_compare_exchange_n(&ln->rate_state, &cur, next, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

/* One lane's probe functions on decoded values: does the lane take this event? */
static bool lane_takes(struct sled_shm_lane *ln, struct sled_lane_counters *c, const uint64_t *vals,
		       unsigned nargs)
{
	if (ln->filter.ninsns && !sled_filter_eval(&ln->filter, vals, nargs)) {
		c->filtered++;
		return false;
	}
	if (ln->sample_every > 1) {
		if (++c->sample_ctr < ln->sample_every) {
			c->sampled++;
			return false;
		}
		c->sample_ctr = 0;
	}
	if (ln->rate_per_sec && !rate_take(ln)) {
		c->limited++;
		return false;
	}
	return !ln->count_only;
}

/* Several lanes, probe functions or strings: decode once, run every active lane, write
 * the event once for the lanes that took it. */
static void record_lanes(struct sled_ring_header *ring, struct sled_shm_site *site,
			 const uint64_t *regs, uint64_t slot, unsigned nargs, unsigned active)
{
	uint64_t vals[SLED_SHM_MAX_ARGS];
	unsigned accepted = 0;

	for (unsigned i = 0; i < nargs; i++)
		vals[i] = decode(regs, &site->args[i], site->addr);
	/* Lowest set bit first (no variable shifts: they cost more here than they look). */
	for (unsigned m = active; m; m &= m - 1) {
		unsigned l = (unsigned)__builtin_ctz(m);
		struct sled_shm_lane *ln = &site->lane[l];
		struct sled_lane_counters *c = &ring->lanes[slot][l];

		c->hits++;
		if (!ln->options || lane_takes(ln, c, vals, nargs))
			accepted |= m & -m;
	}
	if (accepted)
		record_values(ring, site, slot, nargs, vals, accepted);
}

int sled_dispatch(uint64_t *regs, uint64_t slot)
{
	struct sled_ring_header *ring = sled_tls_ring;
	const struct sled_shm_site *site;
	unsigned nargs;
	uint32_t lanes;

	if (unlikely(!ring))
		return 1; /* first event of this thread: claim a ring on the slow path */
	if (unlikely(slot >= SLED_SHM_MAX_SITES || !sled_rt.sites))
		return 0;
	site = &sled_rt.sites[slot];
	nargs = site->nargs <= SLED_SHM_MAX_ARGS ? site->nargs : SLED_SHM_MAX_ARGS;
	__atomic_store_n(&ring->in_slot, (uint32_t)slot + 1, __ATOMIC_RELAXED);
	/* The lanes are read after in_slot is set (the agent's membarrier after each command
	 * orders the two for the daemon, which waits on in_slot before it reuses a lane). */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	lanes = __atomic_load_n(&site->lanes, __ATOMIC_ACQUIRE);
	if (likely(lanes & SLED_LANES_FAST)) {
		unsigned lane = (lanes >> SLED_LANES_FAST_SHIFT) & (SLED_SHM_LANES - 1);

		ring->lanes[slot][lane].hits++;
		record_fixed(ring, site, regs, slot, nargs, lane, lanes & SLED_LANES_ACTIVE);
	} else if (lanes & SLED_LANES_ACTIVE) {
		record_lanes(ring, (struct sled_shm_site *)site, regs, slot, nargs,
			     lanes & SLED_LANES_ACTIVE);
	}
	/* Release: the counts and the record are visible before the thread is seen leaving. */
	__atomic_store_n(&ring->in_slot, 0, __ATOMIC_RELEASE);
	return 0;
}
