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
 *   2. reads every argument with bpf_usdt_arg(), which evaluates the site's arg spec
 *      (register, memory, constant) and sign- or zero-extends by its size and sign;
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
 * Wakeups: with wakeup_bytes == 0 (the default) the ring buffer wakes its epoll waiter
 * the kernel's way, when a record lands in a ring the consumer had emptied; otherwise
 * records are committed without a wakeup until wakeup_bytes are pending, for consumers
 * that drain on a timer anyway (set from user space through the skeleton's .bss).
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

struct fixed_rec {
	struct usdt_rec_hdr h;
	__u64 v[USDT_MAX_ARGS];
};

static __always_inline __u64 commit_flags(__u64 size)
{
	__u64 t = wakeup_bytes;

	if (!t)
		return 0;
	/* Level, not edge: above the threshold every commit asks for a wakeup (cheap when
	 * one is already pending), so a crossing missed by racing CPUs cannot strand data. */
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= t ? BPF_RB_FORCE_WAKEUP
									  : BPF_RB_NO_WAKEUP;
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
static __always_inline void emit_fixed(struct pt_regs *ctx, struct usdt_counts *c, __u32 index,
				       __u16 gen, __u32 nargs, __u64 ktime)
{
	struct fixed_rec r = {};
	__u64 size;

	fill_hdr(&r.h, index, gen, (__u8)nargs, ktime);
	for (__u32 i = 0; i < USDT_MAX_ARGS; i++) {
		long v;

		if (i >= nargs)
			break;
		if (bpf_usdt_arg(ctx, i, &v))
			r.h.flags |= USDT_REC_F_ARGERR;
		r.v[i] = (__u64)v;
	}
	size = sizeof(r.h) + 8 * (__u64)nargs;
	if (bpf_ringbuf_output(&events, &r, size, commit_flags(size)))
		__sync_fetch_and_add(&c->drops, 1);
}

/* Some argument is a string: the record is built in a per-CPU scratch buffer. */
static __always_inline void emit_strings(struct pt_regs *ctx, struct usdt_counts *c,
					 const struct usdt_probe_info *info, __u32 index, __u16 gen,
					 __u32 nargs, __u64 ktime)
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
		err = bpf_usdt_arg(ctx, i, &v);
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
	__u64 cookie = bpf_usdt_cookie(ctx);
	__u32 index = (__u32)cookie;
	__u16 gen = (__u16)(cookie >> 32);
	struct usdt_probe_info *info;
	struct usdt_counts *c;
	__u32 nargs;

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
		emit_fixed(ctx, c, index, gen, nargs, ktime);
	else
		emit_strings(ctx, c, info, index, gen, nargs, ktime);
	return 0;
}
