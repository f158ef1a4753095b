// SPDX-License-Identifier: MIT
/*
 * usdt_events.bpf.c - the uprobe-mode program: one compact record per tracepoint hit.
 *
 * probed attaches this one program with libbpf's USDT support
 * (bpf_program__attach_usdt) to every site of a provider:name, with a cookie per attach:
 * USDT_COOKIE(probe index, generation) (usdt_events.h).  On a hit the program
 *
 *   1. finds the probe's description (probe_info[index]: nargs, types) and counts the hit
 *      in counts[index] (per CPU, so counting shares no cache line);
 *   2. reads every argument as libbpf's bpf_usdt_arg() does: by the site's arg spec
 *      (register, memory, constant) that libbpf's attach stored in __bpf_usdt_specs,
 *      sign- or zero-extended by its size and sign (see read_arg() for why not through
 *      bpf_usdt_arg() itself, which remains the fallback);
 *   3. for SLED_T_STRING arguments, copies up to USDT_MAX_STR bytes of the string with
 *      bpf_probe_read_user_str (truncation, NULL and unreadable pointers marked in the
 *      value word, as sled mode's records do);
 *   4. pushes the record to the `events` ring buffer, or counts a drop when it is full.
 *
 * The record layout is in usdt_events.h.  Records are exactly as long as their content
 * (24 + 8 * nargs bytes, plus the string bytes, 8-aligned), never a fixed maximum:
 *
 *   - A record without strings is built on the BPF stack (at most 120 bytes) and copied
 *     with bpf_ringbuf_output(): the stack is private to this invocation, so nothing can
 *     interleave with it, and the copy of a few dozen bytes is noise next to the uprobe
 *     trap (~0.5 us).
 *   - A record with strings can reach 3.2 KB, more than the 512-byte BPF stack, and its
 *     size is known only after the strings are read, while bpf_ringbuf_reserve() needs a
 *     constant size.  Reserving the 3.2 KB maximum for every such record would cut the
 *     ring's capacity for a typical 60-byte event by 50x, so the record is built in a
 *     per-CPU scratch buffer and copied out with bpf_ringbuf_output() at its real size.
 *     A uprobe program runs with migration disabled but, on a preemptible kernel
 *     (PREEMPT_RCU), not with preemption disabled: another task on the same CPU can run
 *     this program while one is preempted half-way.  So each CPU has SCRATCH_SLOTS
 *     buffers, claimed with an atomic fetch-or on a per-CPU bitmask and released after
 *     the copy; a hit that finds every buffer of its CPU taken (SCRATCH_SLOTS preempted
 *     programs at once on one CPU) is counted as a drop.
 *
 * Wakeups: with wakeup_bytes == 0 the ring buffer wakes its epoll waiter the kernel's
 * way, whenever a record lands in a ring the consumer had emptied.  A consumer that keeps
 * up then takes one wakeup per record: an irq_work, i.e. a self-IPI, a VM exit under
 * KVM: measured here it made a hit cost 2.0 us instead of 0.6.  So user space sets
 * wakeup_bytes (uprobe.c: a quarter of the ring): records are committed without a
 * wakeup, and the one record that brings the pending data across wakeup_bytes forces
 * one.  The consumer must then also drain on a timer (the daemon polls every 1-10 ms),
 * which also covers a crossing that two CPUs racing both failed to see.  Set through the
 * skeleton's .bss, at any time.
 *
 * Verifier notes (kernel 6.18): every loop is bounded by USDT_MAX_ARGS; the string offset
 * is masked after each string so that loop states stay comparable (few states to
 * explore), and every access into the scratch buffer is checked against its size.
 */
#include "vmlinux.h"

/* Hundreds of sites with distinct arg specs: libbpf's default of 256 USDT specs (one per
 * distinct spec and cookie) is too few.  IP-to-spec entries are only used on kernels
 * without BPF cookies (< 5.15). */
#define BPF_USDT_MAX_SPEC_CNT 4096
#define BPF_USDT_MAX_IP_CNT   1024

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "usdt_events.h"

/* bpf_probe_read_user_str() is GPL-only. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define SCRATCH_SLOTS 4
/* The string area ends USDT_MAX_STR + 1 (NUL) + 1 (the byte that tells "longer than
 * USDT_MAX_STR") past its last possible start, plus padding: 3200 bytes. */
#define SCRATCH_SIZE  (USDT_REC_MAX + 8)
/* The highest offset a string can start at: after 12 values and 11 full strings. */
#define STR_OFF_MAX   (USDT_REC_FIXED_MAX + (USDT_MAX_ARGS - 1) * USDT_MAX_STR)
#define STR_READ      (USDT_MAX_STR + 2)

_Static_assert(STR_OFF_MAX + STR_READ <= SCRATCH_SIZE, "scratch holds the longest record");
_Static_assert(sizeof(struct usdt_rec_hdr) == 24, "record header");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* user space may resize before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USDT_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct usdt_probe_info);
} probe_info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, USDT_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct usdt_counts);
} counts SEC(".maps");

struct scratch_buf {
	__u8 data[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* bit s set: scratch slot s of this CPU is in use */
} scratch_busy SEC(".maps");

/* Set by user space at any time (skeleton .bss); see the wakeup note above. */
__u64 wakeup_bytes;

/*
 * Arguments.  bpf_usdt_arg(ctx, i, &v) looks the site's spec up again on every call (a
 * helper call for the attach cookie, a map lookup) and reads the register with
 * bpf_probe_read_kernel(), because the register's offset in pt_regs is a run-time value
 * and the verifier allows only constant offsets into the context.  For a 2-argument
 * event that is three lookups and two helper calls more than needed: ~75 ns per hit
 * measured here, 15% of the uprobe's whole cost, and uprobe mode must be no slower than
 * bpftrace.  So the program looks the spec up once (usdt.bpf.h's own __bpf_usdt_spec_id()
 * and __bpf_usdt_specs, the same libbpf version's layout, compiled in like bpf_usdt_arg()
 * itself) and evaluates it as bpf_usdt_arg() does, reading registers with constant-offset
 * context loads.  Anything unexpected (a register offset not in the table, an unknown
 * argument kind) goes through bpf_usdt_arg() itself.
 */

/* One 8-byte load from the context at a constant offset.  In asm so that clang cannot
 * turn the switch below into "ctx + offset" pointers and one load, which the verifier
 * refuses ("dereference of modified ctx ptr"). */
#define CTX_LOAD(ctx, off) ({                                                         \
	__u64 __v;                                                                    \
	asm volatile("%0 = *(u64 *)(%1 + " #off ")" : "=r"(__v) : "r"(ctx));          \
	__v;                                                                          \
})

/* reg_off as libbpf's usdt.c records it: offsetof() in x86-64's struct pt_regs, the same
 * layout for the kernel and for user space (r15 0 ... rdi 112, rip 128, rsp 152). */
static __always_inline int pt_reg(struct pt_regs *ctx, short off, __u64 *out)
{
	switch (off) {
	case 0: *out = CTX_LOAD(ctx, 0); break;
	case 8: *out = CTX_LOAD(ctx, 8); break;
	case 16: *out = CTX_LOAD(ctx, 16); break;
	case 24: *out = CTX_LOAD(ctx, 24); break;
	case 32: *out = CTX_LOAD(ctx, 32); break;
	case 40: *out = CTX_LOAD(ctx, 40); break;
	case 48: *out = CTX_LOAD(ctx, 48); break;
	case 56: *out = CTX_LOAD(ctx, 56); break;
	case 64: *out = CTX_LOAD(ctx, 64); break;
	case 72: *out = CTX_LOAD(ctx, 72); break;
	case 80: *out = CTX_LOAD(ctx, 80); break;
	case 88: *out = CTX_LOAD(ctx, 88); break;
	case 96: *out = CTX_LOAD(ctx, 96); break;
	case 104: *out = CTX_LOAD(ctx, 104); break;
	case 112: *out = CTX_LOAD(ctx, 112); break;
	case 128: *out = CTX_LOAD(ctx, 128); break;
	case 152: *out = CTX_LOAD(ctx, 152); break;
	default: return -1;
	}
	return 0;
}

/* Argument i of the site, as bpf_usdt_arg(ctx, i, res) would return it (0 or -errno,
 * *res zero on error). */
static __always_inline int read_arg(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
				    __u32 i, long *res)
{
	const struct __bpf_usdt_arg_spec *a;
	__u64 val;

	*res = 0;
	if (i >= BPF_USDT_MAX_ARG_CNT || i >= (__u32)spec->arg_cnt)
		return -ENOENT;
	a = &spec->args[i];
	switch (a->arg_type) {
	case BPF_USDT_ARG_CONST:
		val = a->val_off;
		break;
	case BPF_USDT_ARG_REG:
		if (pt_reg(ctx, a->reg_off, &val))
			return bpf_usdt_arg(ctx, i, res);
		break;
	case BPF_USDT_ARG_REG_DEREF:
		if (pt_reg(ctx, a->reg_off, &val))
			return bpf_usdt_arg(ctx, i, res);
		if (bpf_probe_read_user(&val, sizeof(val), (const void *)(val + a->val_off)))
			return -EFAULT;
		break;
	default:
		return bpf_usdt_arg(ctx, i, res);
	}
	/* Cut to the argument's size, sign-extending a signed one (usdt.bpf.h's way). */
	val <<= a->arg_bitshift;
	if (a->arg_signed)
		val = ((long)val) >> a->arg_bitshift;
	else
		val = val >> a->arg_bitshift;
	*res = (long)val;
	return 0;
}

struct fixed_rec {
	struct usdt_rec_hdr h;
	__u64 v[USDT_MAX_ARGS];
};

static __always_inline __u64 commit_flags(__u64 size)
{
	__u64 t = wakeup_bytes, avail;

	if (!t)
		return 0;
	/* Edge, not level: above the threshold every commit would raise an irq_work again
	 * as soon as the previous one ran, while the consumer is busy draining. */
	avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	return avail < t && avail + size + 8 >= t ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void fill_hdr(struct usdt_rec_hdr *h, __u32 index, __u16 gen, __u8 nargs,
				     __u64 ktime)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	h->index = index;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->gen = gen;
	h->nargs = nargs;
	h->flags = 0;
	h->ktime = ktime;
}

/* No string argument: the record is built on the stack. */
static __always_inline void emit_fixed(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
				       struct usdt_counts *c, __u32 index, __u16 gen, __u32 nargs,
				       __u64 ktime)
{
	struct fixed_rec r = {};
	__u64 size;

	fill_hdr(&r.h, index, gen, (__u8)nargs, ktime);
	for (__u32 i = 0; i < USDT_MAX_ARGS; i++) {
		long v;

		if (i >= nargs)
			break;
		if (read_arg(ctx, spec, i, &v))
			r.h.flags |= USDT_REC_F_ARGERR;
		r.v[i] = (__u64)v;
	}
	size = sizeof(r.h) + 8 * (__u64)nargs;
	if (bpf_ringbuf_output(&events, &r, size, commit_flags(size)))
		__sync_fetch_and_add(&c->drops, 1);
}

/* Some argument is a string: the record is built in a per-CPU scratch buffer. */
static __always_inline void emit_strings(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
					 struct usdt_counts *c, const struct usdt_probe_info *info,
					 __u32 index, __u16 gen, __u32 nargs, __u64 ktime)
{
	__u32 zero = 0, slot = SCRATCH_SLOTS, key;
	__u64 *busy = bpf_map_lookup_elem(&scratch_busy, &zero);
	struct scratch_buf *buf;
	struct usdt_rec_hdr *h;
	__u64 off, size, bit;
	__u8 flags = 0;

	if (!busy)
		return;
	/* Unrolled, with constant bits: the verifier sees 4 straight claims, not a loop. */
#pragma unroll
	for (__u32 k = 0; k < SCRATCH_SLOTS; k++) {
		if (!(__sync_fetch_and_or(busy, 1ull << k) & (1ull << k))) {
			slot = k;
			break;
		}
	}
	if (slot >= SCRATCH_SLOTS) {
		__sync_fetch_and_add(&c->drops, 1);
		return;
	}
	bit = 1ull << slot;
	key = slot; /* its address goes to the helper: keep the loop's value in a register */
	buf = bpf_map_lookup_elem(&scratch, &key);
	if (!buf) {
		__sync_fetch_and_add(&c->drops, 1);
		goto release;
	}
	h = (struct usdt_rec_hdr *)buf->data;
	fill_hdr(h, index, gen, (__u8)nargs, ktime);
	off = sizeof(*h) + 8 * (__u64)nargs;
	for (__u32 i = 0; i < USDT_MAX_ARGS; i++) {
		__u64 *val = (__u64 *)(buf->data + sizeof(*h)) + i;
		__u64 word;
		long v;
		int err;

		if (i >= nargs)
			break;
		err = read_arg(ctx, spec, i, &v);
		if (err)
			flags |= USDT_REC_F_ARGERR;
		if (info->types[i] != USDT_T_STRING) {
			*val = (__u64)v;
			continue;
		}
		if (err) {
			word = USDT_STR_FAULT;
		} else if (!v) {
			word = USDT_STR_NULL;
		} else if (off > STR_OFF_MAX) {
			word = USDT_STR_FAULT; /* cannot happen: off <= 24 + 8 * 12 + 256 * i */
		} else {
			long n = bpf_probe_read_user_str(buf->data + off, STR_READ, (const void *)v);

			if (n <= 0) {
				word = USDT_STR_FAULT;
			} else {
				__u64 len = (__u64)n - 1; /* n counts the NUL */

				word = 0;
				if (len > USDT_MAX_STR) {
					len = USDT_MAX_STR;
					word = USDT_STR_TRUNCATED;
				}
				word |= len;
				/* Mask: one range for every path, so loop states can be pruned. */
				off = (off + len) & 0xfff;
			}
		}
		*val = word;
	}
	h->flags = flags;
	if (off > SCRATCH_SIZE - 8) {
		__sync_fetch_and_add(&c->drops, 1);
		goto release;
	}
	/* Zero the padding: no stale bytes of an earlier record leave the kernel. */
	size = (off + 7) & ~7ull;
	for (__u32 k = 0; k < 7; k++) {
		if (off + k >= size)
			break;
		buf->data[off + k] = 0;
	}
	if (bpf_ringbuf_output(&events, buf->data, size, commit_flags(size)))
		__sync_fetch_and_add(&c->drops, 1);
release:
	__sync_fetch_and_and(busy, ~bit);
}

SEC("usdt")
int sled_usdt(struct pt_regs *ctx)
{
	__u64 ktime = bpf_ktime_get_ns();
	int spec_id = __bpf_usdt_spec_id(ctx);
	struct __bpf_usdt_spec *spec;
	struct usdt_probe_info *info;
	struct usdt_counts *c;
	__u32 index, nargs;
	__u64 cookie;
	__u16 gen;

	if (spec_id < 0)
		return 0;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	if (!spec)
		return 0;
	cookie = spec->usdt_cookie; /* what bpf_usdt_cookie() returns, without a 2nd lookup */
	index = (__u32)cookie;
	gen = (__u16)(cookie >> 32);
	info = bpf_map_lookup_elem(&probe_info, &index);
	if (!info || info->gen != gen)
		return 0; /* a detached attach still firing, or an unknown cookie */
	c = bpf_map_lookup_elem(&counts, &index);
	if (!c)
		return 0;
	/* Per-CPU value, migration disabled: a plain increment would do, except that a
	 * preempted program on this CPU could be interleaved; an atomic add costs little. */
	__sync_fetch_and_add(&c->hits, 1);
	nargs = info->nargs;
	if (nargs > USDT_MAX_ARGS)
		nargs = USDT_MAX_ARGS;
	if (!info->nstrings)
		emit_fixed(ctx, spec, c, index, gen, nargs, ktime);
	else
		emit_strings(ctx, spec, c, info, index, gen, nargs, ktime);
	return 0;
}
