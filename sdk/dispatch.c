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
 *
 * Nesting: a signal handler can hit a site while this thread is anywhere in here.  The
 * thread reserves ring space in a private head (sled_tls_prod.resv), so a nested event
 * reserves after the interrupted one's space and is recorded whole (one that lands in
 * the few instructions of another's reservation is counted as a drop); the shared head is published only when the outermost event finishes,
 * so the daemon never sees a record still being written, and records stay contiguous.
 * Every read-modify-write a nested event could interleave with is a single instruction
 * without a lock prefix (the kernel's local_t): a signal arrives between instructions.
 *
 * Strings are read with process_vm_readv(2) on this thread, never by a load: a bad
 * pointer or an unterminated string that runs into an unmapped page costs a marker in
 * the record (SLED_REC_STR_FAULT, or the readable prefix marked truncated), not the app.
 * Two kinds of string are known readable and copied by loads instead: one whose whole
 * window lies in the site's own object (a literal), or between the site's red zone and
 * the top of the thread's own stack (a buffer in a live frame).
 */
#include <stddef.h>
#include <sys/syscall.h>

#include <sled/tracepoint.h>

#include "aggregate.h"
#include "runtime.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

typedef uint16_t __attribute__((may_alias, aligned(1))) u16_u;
typedef uint32_t __attribute__((may_alias, aligned(1))) u32_u;
typedef uint64_t __attribute__((may_alias, aligned(1))) u64_u;

/* Signal-safe updates of this thread's own data: one instruction each, no lock prefix. */
static inline void local_inc(uint64_t *p)
{
	__asm__ __volatile__("incq %0" : "+m"(*p) : : "cc");
}

static inline bool local_cmpxchg(uint64_t *p, uint64_t old, uint64_t new)
{
	bool ok;

	__asm__ __volatile__("cmpxchgq %3, %1" : "=@ccz"(ok), "+m"(*p), "+a"(old) : "r"(new) : "memory");
	return ok;
}

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

/* An argument compiled to a whole 64-bit register below %rip (the common case: kind REG,
 * size 8, no shift), tested with one load and one compare of its first eight bytes
 * instead of decode()'s switch; its value is then regs[reg]. */
#define PLAIN_REG_MASK ((uint64_t)0xff << 56 | (uint64_t)0xf0 << 32 | 0xffff)
#define PLAIN_REG_WANT ((uint64_t)8 << 8 | SLED_A_REG)
_Static_assert(SLED_R_RIP == 16, "PLAIN_REG_MASK: registers below %rip are 0-15");
_Static_assert(offsetof(struct sled_shm_arg, kind) == 0 && offsetof(struct sled_shm_arg, size) == 1 &&
	       offsetof(struct sled_shm_arg, reg) == 4 && offsetof(struct sled_shm_arg, shift) == 7,
	       "PLAIN_REG_MASK follows struct sled_shm_arg");

static inline bool plain_reg(const struct sled_shm_arg *a)
{
	return (*(const u64_u *)a & PLAIN_REG_MASK) == PLAIN_REG_WANT;
}

/* The values of arguments i.. of site into v, the general way (out of line: a call in the
 * common path would cost it the saving of registers). */
__attribute__((noinline)) static void decode_rest(const uint64_t *regs, const struct sled_shm_site *site,
						   uint64_t *v, unsigned i, unsigned nargs)
{
	for (; i < nargs; i++)
		v[i] = decode(regs, &site->args[i], site->addr);
}

/* Reserve size bytes of this thread's ring; NULL when full or when this event interrupted
 * another one's reservation (the caller counts a drop either way).  *end is the private
 * head after the record (for give_back).  A record never wraps: a pad record fills the
 * end of the data first.  The private head is read and advanced under a flag that a
 * nested event checks: plain loads and stores, cheaper here than a compare-and-exchange,
 * and the window is a few instructions wide. */
static inline struct sled_record *reserve(struct sled_ring_header *ring, uint64_t size,
					  uint64_t *end)
{
	char *data = (char *)ring + SLED_ALIGN8(sizeof(*ring));
	uint64_t head, pos, room, need, tail = ring->tail_cache, mask = sled_ring_mask;

	if (unlikely(sled_tls_prod.reserving))
		return NULL;
	sled_tls_prod.reserving = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	head = sled_tls_prod.resv;
	pos = head & mask;
	room = mask + 1 - pos;
	need = size <= room ? size : room + size;
	if (unlikely(head + need - tail > mask + 1)) {
		/* Full.  Reading the consumer's line costs a cache miss while the daemon works
		 * on it, so a thread that keeps finding the ring full looks only every 64
		 * events. */
		if (ring->recheck) {
			ring->recheck--;
			goto full;
		}
		tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
		ring->tail_cache = tail;
		if (head + need - tail > mask + 1) {
			ring->recheck = 63;
			goto full;
		}
	}
	sled_tls_prod.resv = head + need;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	sled_tls_prod.reserving = 0;
	if (unlikely(size > room)) {
		struct sled_record *pad = (struct sled_record *)(data + pos);

		pad->size = (uint32_t)room;
		pad->site = SLED_REC_PAD;
		pad->flags = 0;
		pos = 0;
	}
	*end = head + need;
	return (struct sled_record *)(data + pos);
full:
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	sled_tls_prod.reserving = 0;
	return NULL;
}

/* Hand back the last unused bytes of a reservation that ends at end (a record written
 * shorter than reserved, or not at all).  If a nested event has reserved after it
 * meanwhile, the bytes stay in the ring as a pad record. */
static void give_back(struct sled_ring_header *ring, uint64_t end, uint64_t unused)
{
	struct sled_record *pad;

	if (!unused || local_cmpxchg(&sled_tls_prod.resv, end, end - unused))
		return;
	pad = (struct sled_record *)((char *)ring + SLED_ALIGN8(sizeof(*ring)) +
				     ((end - unused) & sled_ring_mask));
	pad->size = (uint32_t)unused;
	pad->site = SLED_REC_PAD;
	pad->flags = 0;
}

/* Make the records up to h visible, never moving the head back (an event nested in the
 * caller may have published further already). */
static void publish_upto(struct sled_ring_header *ring, uint64_t h)
{
	uint64_t cur = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);

	while (cur < h && !local_cmpxchg(&ring->head, cur, h))
		cur = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
}

/* One plain probe on an integer-only site (the common case): fixed size, arguments
 * decoded straight into the record.  Plain register arguments are copied here; the
 * return value is the first argument that is not (nargs: none), for decode_rest to
 * finish into *vp. */
static inline unsigned record_fixed(struct sled_ring_header *ring, const struct sled_shm_site *site,
				    const uint64_t *regs, uint64_t slot, unsigned nargs, unsigned lane,
				    uint32_t mask, uint64_t tsc, uint64_t **vp)
{
	uint64_t size = sizeof(struct sled_record) + 8 * (uint64_t)nargs, end;
	struct sled_record *rec = reserve(ring, size, &end);
	uint64_t *v;
	unsigned i;

	if (!rec) {
		local_inc(&ring->lanes[slot][lane].drops);
		return nargs;
	}
	rec->size = (uint32_t)size;
	rec->site = (uint16_t)slot;
	rec->flags = (uint16_t)mask; /* the lanes word's bit, not 1 << lane: measurably cheaper */
	rec->tsc = tsc;
	v = (uint64_t *)(rec + 1);
	*vp = v;
	for (i = 0; i < nargs && likely(plain_reg(&site->args[i])); i++)
		v[i] = regs[site->args[i].reg];
	return i;
}

/* The event of the one plain lane the lanes word names (SLED_LANES_FAST): its hit
 * counted, its record reserved and filled as record_fixed does.  The timestamp is read
 * only here: rdtsc takes ~10 ns in this VM, and an aggregating hit, which records no
 * time, measured 3.5-4.5 ns slower when every hit read it first. */
static inline __attribute__((always_inline)) unsigned
record_plain(struct sled_ring_header *ring, const struct sled_shm_site *site, const uint64_t *regs,
	     uint64_t slot, unsigned nargs, uint32_t lanes, uint64_t **vp)
{
	unsigned lane = (lanes >> SLED_LANES_FAST_SHIFT) & (SLED_SHM_LANES - 1);

	local_inc(&ring->lanes[slot][lane].hits);
	return record_fixed(ring, site, regs, slot, nargs, lane, lanes & SLED_LANES_ACTIVE,
			    __builtin_ia32_rdtsc(), vp);
}

/* The bytes of a string window: the most kept and one that tells "longer". */
#define STR_WINDOW (SLED_SHM_MAX_STR + 1)
#define PAGE_SIZE_MIN 4096 /* x86-64: iovecs split here fail or succeed page by page */

struct iov {
	const void *base;
	uint64_t len;
};

/* process_vm_readv(2) on this thread's own address space, as a raw system call (no libc
 * here).  The kernel copies what is mapped and readable and stops at the first page that
 * is not, where a load would have faulted; nothing is delivered to the process. */
static inline long vm_readv(uint32_t tid, const struct iov *local, unsigned long nlocal,
			    const struct iov *remote, unsigned long nremote)
{
	register const struct iov *r10 __asm__("r10") = remote;
	register unsigned long r8 __asm__("r8") = nremote;
	register unsigned long r9 __asm__("r9") = 0;
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "0"((long)SYS_process_vm_readv), "D"((long)tid), "S"(local), "d"(nlocal),
			       "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

/*
 * Read the windows of the n strings at src[] into dst[] (STR_WINDOW bytes each): got[k]
 * is how many of string k's bytes could be read, the readable prefix of its window.  One
 * system call when every window is readable.  Each window is split at its page boundary,
 * so a short count says exactly which string stopped where; the strings after it are
 * read by another call.
 */
static void read_strings(uint32_t tid, const uint64_t *src, char *const *dst, unsigned n,
			 unsigned *got)
{
	struct iov local[SLED_SHM_MAX_ARGS], remote[2 * SLED_SHM_MAX_ARGS];
	unsigned first = 0, k;

	while (first < n) {
		unsigned nl = 0, nr = 0;
		long r;

		for (k = first; k < n; k++) {
			uint64_t a = src[k], in_page = PAGE_SIZE_MIN - (a & (PAGE_SIZE_MIN - 1));

			local[nl++] = (struct iov){ dst[k], STR_WINDOW };
			if (in_page >= STR_WINDOW) {
				remote[nr++] = (struct iov){ (const void *)(uintptr_t)a, STR_WINDOW };
			} else {
				remote[nr++] = (struct iov){ (const void *)(uintptr_t)a, in_page };
				remote[nr++] = (struct iov){ (const void *)(uintptr_t)(a + in_page),
							     STR_WINDOW - in_page };
			}
		}
		r = vm_readv(tid, local, nl, remote, nr);
		if (r < 0 && r != -14 /* EFAULT: the first page of src[first] */) {
			/* ENOSYS, EPERM (a seccomp policy): nothing can be read safely. */
			for (k = first; k < n; k++)
				got[k] = 0;
			return;
		}
		if (r < 0)
			r = 0;
		for (k = first; k < n; k++) {
			got[k] = (uint64_t)r >= STR_WINDOW ? STR_WINDOW : (unsigned)r;
			r -= got[k];
			if (got[k] < STR_WINDOW)
				break;
		}
		first = k + 1;
	}
}

/* A string argument's value word, from got bytes read of its window at s (NUL-terminated
 * in place, for the filter). */
static uint64_t string_word(char *s, unsigned got)
{
	unsigned len = 0;
	bool whole;

	while (len < got && len < SLED_SHM_MAX_STR && s[len])
		len++;
	whole = len < got && !s[len];
	s[len] = 0;
	if (whole)
		return len;
	if (got == 0)
		return SLED_REC_STR_FAULT;
	/* Longer than kept, or readable bytes up to unreadable memory with no NUL: a prefix. */
	return len | SLED_REC_STR_TRUNCATED;
}

/*
 * An event with strings, in a record reserved at its largest: the strings are read into
 * fixed windows after the values, then (once the lanes have taken the event) moved
 * together and the unused end handed back.
 */
struct str_event {
	struct sled_record *rec; /* NULL: the ring is full */
	uint64_t end, size;      /* the reservation */
	unsigned nstr;
};

/* The memory the site's own object keeps mapped (or r, any range known readable) holds
 * src's whole window. */
static inline bool in_site_memory(const struct sled_range *r, uint64_t src)
{
	return src >= r->lo && src < r->hi && r->hi - src >= STR_WINDOW;
}

/*
 * src's window lies in the live part of this thread's stack: from the site's red zone
 * (the 128 bytes below its %rsp, where a leaf function keeps its buffers) to the top of
 * the stack the thread claimed its ring on, when the site runs on that stack (not on a
 * sigaltstack or a coroutine's stack; never when the stack is not known, {0, 0}).  Every
 * frame from the site's up to the thread's first is live while the site runs, and the
 * stub steps over the red zone with the trampoline's frame below it, so all of it is
 * mapped and readable.  A window that runs past the top is not clamped: it goes to the
 * kernel read.
 */
#define RED_ZONE 128
static inline bool in_live_stack(const uint64_t *regs, uint64_t src)
{
	uint64_t rsp = regs[SLED_R_RSP], lo = sled_tls_prod.stack.lo, hi = sled_tls_prod.stack.hi;

	return rsp - lo < hi - lo /* lo <= rsp < hi */ && src >= rsp - RED_ZONE && src < hi &&
	       hi - src >= STR_WINDOW;
}

/* src's window can be copied by loads: in the site's own object, or the live stack. */
static inline bool readable_in_place(const struct sled_range *site_mem, const uint64_t *regs,
				     uint64_t src)
{
	return in_site_memory(site_mem, src) || in_live_stack(regs, src);
}

/* Copy a string whose window is known readable, up to its NUL; the bytes copied. */
static inline unsigned copy_readable(char *dst, const char *src)
{
	unsigned n = 0;

	while (n < STR_WINDOW && (dst[n] = src[n]))
		n++;
	return n < STR_WINDOW ? n + 1 : n;
}

static void strings_reserve(struct sled_ring_header *ring, const struct sled_shm_site *site,
			    const uint64_t *regs, unsigned nargs, uint64_t *vals, struct str_event *e)
{
	const struct sled_range *safe = &sled_site_readable[site - sled_rt.sites];
	uint64_t src[SLED_SHM_MAX_ARGS];
	char *dst[SLED_SHM_MAX_ARGS], *win;
	unsigned got[SLED_SHM_MAX_ARGS], kgot[SLED_SHM_MAX_ARGS], idx[SLED_SHM_MAX_ARGS], n = 0, i;

	e->nstr = 0;
	for (i = 0; i < nargs; i++)
		e->nstr += site->args[i].type == SLED_T_STRING;
	e->size = SLED_ALIGN8(sizeof(struct sled_record) + 8 * (uint64_t)nargs +
			      (uint64_t)e->nstr * STR_WINDOW);
	e->rec = reserve(ring, e->size, &e->end);
	if (!e->rec) {
		/* Nothing to read the strings into: the lanes see none (as for a NULL). */
		for (i = 0; i < nargs; i++)
			if (site->args[i].type == SLED_T_STRING)
				vals[i] = 0;
		return;
	}
	/* Windows in the site's own object (literals, mostly) or in the live stack are
	 * copied directly, the others read through the kernel, all in one system call. */
	win = (char *)((uint64_t *)(e->rec + 1) + nargs);
	for (i = 0; i < nargs; i++) {
		if (site->args[i].type != SLED_T_STRING)
			continue;
		if (vals[i] && readable_in_place(safe, regs, vals[i])) {
			got[i] = copy_readable(win, (const char *)(uintptr_t)vals[i]);
		} else if (vals[i]) {
			src[n] = vals[i];
			dst[n] = win;
			idx[n++] = i;
		}
		win += STR_WINDOW;
	}
	if (n)
		read_strings(ring->tid, src, dst, n, kgot);
	for (unsigned k = 0; k < n; k++)
		got[idx[k]] = kgot[k];
	/* The values become the string words; vals[] the windows (or 0) for the filter. */
	win = (char *)((uint64_t *)(e->rec + 1) + nargs);
	for (i = 0; i < nargs; i++) {
		uint64_t *word = (uint64_t *)(e->rec + 1) + i;

		if (site->args[i].type != SLED_T_STRING)
			continue;
		if (!vals[i]) {
			*word = SLED_REC_STR_NULL;
		} else {
			*word = string_word(win, got[i]);
			vals[i] = *word & SLED_REC_STR_FAULT ? 0 : (uint64_t)(uintptr_t)win;
		}
		win += STR_WINDOW;
	}
}

/* Finish the record for the lanes in accepted (0: none took it: hand it all back). */
static void strings_commit(struct sled_ring_header *ring, const struct sled_shm_site *site,
			   uint64_t slot, unsigned nargs, const uint64_t *vals,
			   struct str_event *e, unsigned accepted)
{
	uint64_t *v = (uint64_t *)(e->rec + 1), size;
	char *win = (char *)(v + nargs), *s = win;

	if (!accepted) {
		give_back(ring, e->end, e->size);
		return;
	}
	for (unsigned i = 0; i < nargs; i++) {
		if (site->args[i].type != SLED_T_STRING) {
			v[i] = vals[i];
			continue;
		}
		if (!(v[i] & (SLED_REC_STR_NULL | SLED_REC_STR_FAULT))) {
			unsigned len = (unsigned)(v[i] & SLED_REC_STR_LEN_MASK);

			for (unsigned k = 0; k < len; k++) /* down, never past its own window */
				s[k] = win[k];
			s += len;
		}
		win += STR_WINDOW;
	}
	size = SLED_ALIGN8((uint64_t)(s - (char *)e->rec));
	e->rec->size = (uint32_t)size;
	e->rec->site = (uint16_t)slot;
	e->rec->flags = (uint16_t)accepted;
	e->rec->tsc = __builtin_ia32_rdtsc();
	give_back(ring, e->end, e->size - size);
}

/* An integer-only event for the lanes in accepted; false when the ring is full. */
static bool record_values(struct sled_ring_header *ring, uint64_t slot, unsigned nargs,
			  const uint64_t *vals, unsigned accepted)
{
	uint64_t size = sizeof(struct sled_record) + 8 * (uint64_t)nargs, end;
	struct sled_record *rec = reserve(ring, size, &end);

	if (!rec)
		return false;
	rec->size = (uint32_t)size;
	rec->site = (uint16_t)slot;
	rec->flags = (uint16_t)accepted;
	rec->tsc = __builtin_ia32_rdtsc();
	for (unsigned i = 0; i < nargs; i++)
		((uint64_t *)(rec + 1))[i] = vals[i];
	return true;
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

/* One lane's probe functions on decoded values: does the event pass them?  The
 * counters are this thread's; a nested event may interleave between the --sample count's
 * increment and its reset, which only moves which hit is recorded, never the sums. */
static bool lane_takes(struct sled_shm_lane *ln, struct sled_lane_counters *c, const uint64_t *vals,
		       unsigned nargs)
{
	if (ln->filter.ninsns && !sled_filter_eval(&ln->filter, vals, nargs)) {
		local_inc(&c->filtered);
		return false;
	}
	if (ln->sample_every > 1) {
		uint32_t n;

		__asm__ __volatile__("movl $1, %0\n\txaddl %0, %1" : "=&r"(n), "+m"(c->sample_ctr) : : "cc");
		if (n + 1 < ln->sample_every) {
			local_inc(&c->sampled);
			return false;
		}
		c->sample_ctr = 0;
	}
	if (ln->rate_per_sec && !rate_take(ln)) {
		local_inc(&c->limited);
		return false;
	}
	return true;
}

/* Several lanes, probe functions or strings: decode once, run every active lane, write
 * the event once for the lanes that took it.  Strings are read before the lanes only when
 * a lane has a filter (it may compare them), else only for an event some lane took. */
__attribute__((noinline)) static void record_lanes(struct sled_ring_header *ring,
						    struct sled_shm_site *site,
						    const uint64_t *regs, uint64_t slot,
						    unsigned nargs, unsigned active)
{
	uint64_t vals[SLED_SHM_MAX_ARGS], fvals[SLED_SHM_MAX_ARGS];
	bool strings = site->flags & SLED_SITE_F_STRINGS, early = false;
	struct str_event e = { 0 };
	unsigned accepted = 0;

	for (unsigned i = 0; i < nargs; i++)
		fvals[i] = vals[i] = decode(regs, &site->args[i], site->addr);
	if (strings)
		for (unsigned m = active; m; m &= m - 1)
			early |= site->lane[__builtin_ctz(m)].filter.ninsns != 0 ||
				 site->lane[__builtin_ctz(m)].agg_strings != 0;
	if (early)
		strings_reserve(ring, site, regs, nargs, fvals, &e);
	/* Lowest set bit first (no variable shifts: they cost more here than they look). */
	for (unsigned m = active; m; m &= m - 1) {
		unsigned l = (unsigned)__builtin_ctz(m);
		struct sled_shm_lane *ln = &site->lane[l];
		struct sled_lane_counters *c = &ring->lanes[slot][l];

		local_inc(&c->hits);
		if (ln->options && !lane_takes(ln, c, fvals, nargs))
			continue;
		/* An aggregating lane records nothing: its hit goes into this thread's table. */
		if (ln->agg[0])
			sled_aggregate(ring, ln, fvals, nargs, !strings || e.rec,
				       sled_tls_prod.depth > 1);
		else if (!ln->count_only)
			accepted |= m & -m;
	}
	if (strings && !early && accepted)
		strings_reserve(ring, site, regs, nargs, fvals, &e);
	if (e.rec) {
		strings_commit(ring, site, slot, nargs, vals, &e, accepted);
		return;
	}
	if (accepted && !strings && record_values(ring, slot, nargs, vals, accepted))
		return;
	/* Taken, but the ring is full: a drop for each lane that took it. */
	for (unsigned m = accepted; m; m &= m - 1)
		local_inc(&ring->lanes[slot][__builtin_ctz(m)].drops);
}

/* An argument of an aggregation-only event: a whole register (the common case) without
 * decode()'s switch. */
_Static_assert(SLED_R_RIP == 16 && offsetof(struct sled_shm_arg, kind) == 0 &&
		       offsetof(struct sled_shm_arg, size) == 1 && offsetof(struct sled_shm_arg, reg) == 4 &&
		       offsetof(struct sled_shm_arg, shift) == 7,
	       "decode_agg's word test");
static inline __attribute__((always_inline)) uint64_t decode_agg(const uint64_t *regs,
								 const struct sled_shm_arg *a,
								 uint64_t site)
{
	/* kind, size, reg and shift in one word: REG, 8 bytes, a register below 16, no shift. */
	uint64_t w = *(const u64_u *)(const void *)a;

	if (likely((w & 0xff0000f00000ffffull) == ((uint64_t)8 << 8 | SLED_A_REG)))
		return regs[(w >> 32) & 0xf];
	return decode(regs, a, site);
}

/* The string keys of an aggregation-only event lie in memory the site's own object keeps
 * mapped (literals, mostly) or in the live stack, where they are read in place; false
 * when one lies elsewhere (the lanes' path reads it through the kernel). */
static inline bool key_strings_in_place(const struct sled_shm_site *site, const uint64_t *regs,
					unsigned nargs, const uint64_t *vals)
{
	const struct sled_range *safe = &sled_site_readable[site - sled_rt.sites];

	for (unsigned i = 0; i < nargs; i++)
		if (site->args[i].type == SLED_T_STRING && vals[i] &&
		    !readable_in_place(safe, regs, vals[i]))
			return false;
	return true;
}

/* One probe that only aggregates (SLED_LANES_AGG), in general: every argument decoded,
 * string keys read in place, or the lanes' path when one lies elsewhere. */
__attribute__((noinline)) static void aggregate_only(struct sled_ring_header *ring,
						      const struct sled_shm_site *site,
						      const uint64_t *regs, uint64_t slot,
						      unsigned nargs, uint32_t lanes, bool nested)
{
	unsigned lane = (lanes >> SLED_LANES_FAST_SHIFT) & (SLED_SHM_LANES - 1);
	const struct sled_shm_lane *ln = &site->lane[lane];
	uint64_t vals[SLED_SHM_MAX_ARGS];

	for (unsigned i = 0; i < nargs; i++)
		vals[i] = decode_agg(regs, &site->args[i], site->addr);
	if (!ln->agg_strings || key_strings_in_place(site, regs, nargs, vals)) {
		local_inc(&ring->lanes[slot][lane].hits);
		sled_agg_hit(ring, ln, vals, nargs, true, nested);
	} else {
		record_lanes(ring, (struct sled_shm_site *)site, regs, slot, nargs,
			     lanes & SLED_LANES_ACTIVE);
	}
}

/* The key's first slot held another key or none: every argument decoded for the rest
 * (a string key is known to lie in the site's own memory). */
__attribute__((noinline)) static void aggregate_rest(struct sled_ring_header *ring,
						      const struct sled_shm_site *site,
						      const uint64_t *regs, unsigned nargs,
						      unsigned d, uint32_t tag)
{
	uint64_t vals[SLED_SHM_MAX_ARGS];

	for (unsigned i = 0; i < nargs; i++)
		vals[i] = decode_agg(regs, &site->args[i], site->addr);
	sled_agg_slow(sled_ring_agg(ring, sled_ring_mask + 1), d, &sled_rt.aggs[d], tag, vals, nargs,
		      true);
}

/* The common case of SLED_LANES_AGG: one aggregation of a shape aggregate.h finishes
 * inline, not nested, its string key (if any) in the site's own memory; only the
 * arguments it reads are decoded.  False: aggregate_only's case. */
static inline __attribute__((always_inline)) bool
aggregate_first(struct sled_ring_header *ring, const struct sled_shm_site *site,
		const uint64_t *regs, uint64_t slot, unsigned nargs, uint32_t lanes)
{
	unsigned lane = (lanes >> SLED_LANES_FAST_SHIFT) & (SLED_SHM_LANES - 1), karg, varg;
	const struct sled_shm_lane *ln = &site->lane[lane];
	unsigned idx = ln->agg[0];
	const struct sled_shm_agg *a;
	enum sled_agg_shape shape;
	struct sled_agg_area *area;
	uint64_t key, v;
	uint32_t tag;
	bool done;

	if (unlikely(ln->agg[1] || idx - 1 >= SLED_SHM_MAX_AGGS))
		return false;
	a = &sled_rt.aggs[idx - 1];
	tag = __atomic_load_n(&a->tag, __ATOMIC_ACQUIRE);
	shape = sled_agg_shape(a);
	if (unlikely((tag & 0xffffu) != idx || shape == SLED_AGG_SHAPE_OTHER))
		return false;
	karg = a->nkeys ? a->key_arg[0] : SLED_AGG_NO_VALUE;
	varg = a->value_arg;
	key = karg < nargs ? decode_agg(regs, &site->args[karg], site->addr) : 0;
	v = varg < nargs ? decode_agg(regs, &site->args[varg], site->addr) : 0;
	area = sled_ring_agg(ring, sled_ring_mask + 1);
	if (likely(shape == SLED_AGG_SHAPE_INT)) {
		local_inc(&ring->lanes[slot][lane].hits);
		done = sled_agg_int_first(area, a, tag, key, v);
	} else {
		if (key && !in_site_memory(&sled_site_readable[slot], key))
			return false;
		local_inc(&ring->lanes[slot][lane].hits);
		done = sled_agg_string_first(area, a, tag, (const char *)(uintptr_t)key, v);
	}
	if (unlikely(!done))
		aggregate_rest(ring, site, regs, nargs, idx - 1, tag);
	return true;
}

/* The outermost event leaves the dispatcher. */
static inline int leave_outermost(struct sled_ring_header *ring)
{
	/* Outermost: publish every record reserved so far (its own and any nested one's, all
	 * complete now).  Release: the counts and the records are visible before the head
	 * and before the thread is seen leaving.  An event nested after depth is back to 0
	 * publishes for itself; one nested before it, after the head was read, is published
	 * by the check after. */
	uint64_t h = __atomic_load_n(&sled_tls_prod.resv, __ATOMIC_RELAXED);

	__atomic_store_n(&ring->head, h, __ATOMIC_RELEASE);
	__atomic_store_n(&ring->in_slot, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	sled_tls_prod.depth = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (unlikely(__atomic_load_n(&sled_tls_prod.resv, __ATOMIC_RELAXED) != h))
		publish_upto(ring, __atomic_load_n(&sled_tls_prod.resv, __ATOMIC_RELAXED));
	return 0;
}

/* decode_rest, then leave: a tail call from the common path. */
__attribute__((noinline)) static int decode_rest_leave(struct sled_ring_header *ring,
							const uint64_t *regs,
							const struct sled_shm_site *site, uint64_t *v,
							unsigned i, unsigned nargs)
{
	decode_rest(regs, site, v, i, nargs);
	return leave_outermost(ring);
}

/* Every event but the common one (one plain probe, outermost): an event nested in another
 * one, several lanes, probe functions, strings, aggregations.  Out of line, so that the
 * common case pays for none of its registers or stack. */
__attribute__((noinline)) static int dispatch_lanes(struct sled_ring_header *ring,
						     const struct sled_shm_site *site, uint64_t *regs,
						     uint64_t slot, unsigned nargs, uint32_t lanes,
						     uint32_t depth, uint32_t outer_in)
{
	if (likely(lanes & SLED_LANES_FAST)) {
		uint64_t *v;
		unsigned i = record_plain(ring, site, regs, slot, nargs, lanes, &v);

		if (i < nargs)
			decode_rest(regs, site, v, i, nargs);
	} else if (lanes & SLED_LANES_AGG) {
		/* sled_dispatch has tried aggregate_first for an outermost hit already; a nested
		 * one never takes it. */
		aggregate_only(ring, site, regs, slot, nargs, lanes, depth != 0);
	} else if (lanes & SLED_LANES_ACTIVE) {
		record_lanes(ring, (struct sled_shm_site *)site, regs, slot, nargs,
			     lanes & SLED_LANES_ACTIVE);
	}
	if (unlikely(depth)) {
		__atomic_store_n(&ring->in_slot, outer_in, __ATOMIC_RELEASE);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		sled_tls_prod.depth = depth;
		return 0;
	}
	return leave_outermost(ring);
}

int sled_dispatch(uint64_t *regs, uint64_t slot)
{
	struct sled_ring_header *ring = sled_tls_prod.ring;
	const struct sled_shm_site *site;
	uint32_t lanes, depth, outer_in = 0;
	unsigned nargs;

	if (unlikely(!ring))
		return 1; /* first event of this thread: claim a ring on the slow path */
	/* slot needs no bounds check: it comes from the site's stub, made by sled_stub_for
	 * for a slot below SLED_SHM_MAX_SITES. */
	if (unlikely(!sled_rt.sites))
		return 0;
	site = &sled_rt.sites[slot];
	nargs = site->nargs <= SLED_SHM_MAX_ARGS ? site->nargs : SLED_SHM_MAX_ARGS;
	/* An event nested in this one (a signal handler) finds depth > 0: it records but
	 * leaves publishing to the outermost, and puts back what it finds here on leaving. */
	depth = sled_tls_prod.depth;
	sled_tls_prod.depth = depth + 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (likely(!depth)) {
		__atomic_store_n(&ring->in_slot, (uint32_t)slot + 1, __ATOMIC_RELAXED);
	} else {
		/* Two events in flight on one ring: the daemon must wait for any slot. */
		outer_in = __atomic_load_n(&ring->in_slot, __ATOMIC_RELAXED);
		__atomic_store_n(&ring->in_slot, SLED_IN_SLOT_NESTED, __ATOMIC_RELAXED);
	}
	/* The lanes are read after in_slot is set (the agent's membarrier after each command
	 * orders the two for the daemon, which waits on in_slot before it reuses a lane). */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	lanes = __atomic_load_n(&site->lanes, __ATOMIC_ACQUIRE);
	if (likely((lanes & SLED_LANES_FAST) && !depth)) {
		uint64_t *v;
		unsigned i = record_plain(ring, site, regs, slot, nargs, lanes, &v);

		if (unlikely(i < nargs))
			return decode_rest_leave(ring, regs, site, v, i, nargs);
		return leave_outermost(ring);
	}
	/* A probe that only aggregates, in its common shape, is finished here too, without
	 * the call: aggregate_first changes nothing when it declines, and dispatch_lanes
	 * then takes the event. */
	if ((lanes & (SLED_LANES_FAST | SLED_LANES_AGG)) == SLED_LANES_AGG && !depth &&
	    aggregate_first(ring, site, regs, slot, nargs, lanes))
		return leave_outermost(ring);
	return dispatch_lanes(ring, site, regs, slot, nargs, lanes, depth, outer_in);
}
