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
 *   4. with probe functions (probe_conf[index]): runs the filter on the values, then
 *      sampling, the rate limit and count-only, as sled mode's dispatcher does; a hit
 *      stopped by one of them is counted there and never reaches the ring.  Without a
 *      filter, 2 and 3 are skipped for the hits that sampling, rate or count-only stop;
 *   5. pushes the record to the `events` ring buffer, or counts a drop when it is full;
 *      or, for a probe with aggregations (USDT_PF_AGG), updates each aggregation's
 *      per-CPU hash instead (agg_hit(), below; the layout is in usdt_events.h).
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
 * KVM: measured here it made a hit cost 1.7-2.0 us instead of 0.6.  So user space sets
 * wakeup_bytes (uprobe.c: a quarter of the ring): records are committed without a
 * wakeup, and every WAKEUP_CHECK_EVERY-th hit of a probe on a CPU compares the pending
 * bytes with wakeup_bytes; the first check that finds them at or above it (edge, per
 * CPU) forces one wakeup.  The consumer must then also drain on a timer (the daemon
 * polls every 1-10 ms), which covers low rates and any crossing a CPU did not see.
 *
 * Verifier notes (kernel 6.18): every loop is bounded by USDT_MAX_ARGS; reading an
 * argument and copying a string are global functions, verified once rather than at each
 * of their inlined uses (that took 240k instructions and 0.4 s to verify; now ~0.05 s),
 * and every access into the scratch buffer is checked against its size.
 */
#include "kernel_types.h"

/* libbpf takes one USDT spec slot per distinct (arg spec, cookie) of an attach: per site,
 * at worst, and again for each attach (each has its own cookie).  Its default of 256 is
 * too few for hundreds of sites attached in dozens of processes; 8192 (1.7 MB of map)
 * matches what the fds allow (2 per site: ~10k sites under a 20k RLIMIT_NOFILE).
 * IP-to-spec entries are only used on kernels without BPF cookies (< 5.15). */
#define BPF_USDT_MAX_SPEC_CNT 8192
#define BPF_USDT_MAX_IP_CNT   1024

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "usdt_events.h"

/* bpf_probe_read_user_str() is GPL-only. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Specs of the sites probed attaches as plain uprobes (usdt_events.h: USDT_OWN_KEY). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, USDT_OWN_SPECS);
	__type(key, __u64);
	__type(value, struct __bpf_usdt_spec);
} own_specs SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USDT_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct usdt_probe_conf);
} probe_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USDT_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct usdt_probe_state);
} probe_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, USDT_RATE_PROCS);
	__type(key, struct usdt_rate_key);
	__type(value, __u64);
} rate_state SEC(".maps");

/* Set by user space at any time (skeleton .bss); see the wakeup note above. */
__u64 wakeup_bytes;
/* Pending data is compared with wakeup_bytes once per WAKEUP_CHECK_EVERY hits of a probe
 * on a CPU: bpf_ringbuf_query() reads the consumer's cache line (~12 ns a hit). */
#define WAKEUP_CHECK_EVERY 64

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* 1: this CPU last saw wakeup_bytes or more pending */
} wake_state SEC(".maps");

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

/* USDT_ARG_SLED_ADDR: the value in memory at val_off + base + index * scale (+ the
 * thread pointer of the task that hit the site, for a __thread variable). */
static __always_inline int sled_addr(struct pt_regs *ctx, const struct __bpf_usdt_arg_spec *a,
				     __u64 *out)
{
	__u32 t = a->arg_type;
	__u64 addr = a->val_off, v;
	int index = USDT_ARG_INDEX(t);

	if (a->reg_off >= 0) {
		if (pt_reg(ctx, a->reg_off, &v))
			return -1;
		addr += v;
	}
	if (index >= 0) {
		if (pt_reg(ctx, (short)(index * 8), &v))
			return -1;
		addr += v << USDT_ARG_SCALE(t);
	}
	if (t & USDT_ARG_FS) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		addr += BPF_CORE_READ(task, thread.fsbase);
	}
	return bpf_probe_read_user(out, sizeof(*out), (const void *)addr) ? -1 : 0;
}

/* Argument i of the site, as bpf_usdt_arg(ctx, i, res) would return it (0 or -errno,
 * *res zero on error).  A global function: the verifier checks it once, not once per
 * argument and path of its callers (inlined, the program took 0.4 s to verify). */
__noinline int read_arg(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec, __u32 i,
			long *res)
{
	const struct __bpf_usdt_arg_spec *a;
	__u64 val;

	if (!res)
		return -EINVAL;
	*res = 0;
	if (!spec || i >= BPF_USDT_MAX_ARG_CNT || i >= (__u32)spec->arg_cnt)
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
		if ((a->arg_type & 0xffff) != USDT_ARG_SLED_ADDR)
			return bpf_usdt_arg(ctx, i, res);
		if (sled_addr(ctx, a, &val))
			return -EFAULT;
		break;
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

/* The common cases (a register, a constant) inline, the rest through read_arg(): the
 * call costs ~10 ns per argument, the inlined register switch little verifier work. */
static __always_inline int read_arg_fast(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
					 __u32 i, long *res)
{
	const struct __bpf_usdt_arg_spec *a;
	__u64 val;

	if (i >= BPF_USDT_MAX_ARG_CNT || i >= (__u32)spec->arg_cnt)
		return read_arg(ctx, spec, i, res);
	a = &spec->args[i];
	if (a->arg_type == BPF_USDT_ARG_CONST)
		val = a->val_off;
	else if (a->arg_type != BPF_USDT_ARG_REG || pt_reg(ctx, a->reg_off, &val))
		return read_arg(ctx, spec, i, res);
	val <<= a->arg_bitshift;
	if (a->arg_signed)
		val = ((long)val) >> a->arg_bitshift;
	else
		val = val >> a->arg_bitshift;
	*res = (long)val;
	return 0;
}

/*
 * Probe functions.
 *
 * The filter is sled mode's program (include/sled/abi/filter_prog.h: the same instructions, the same
 * comparison helpers), evaluated by filter_step() one instruction at a time in a loop
 * bounded by SLED_FILTER_MAX_INSNS.  Both are global functions: the verifier checks each
 * once, whatever the program, instead of once per instruction, argument and path.  The
 * only difference from sled_filter_eval() is where a string is: not at the user pointer
 * (a BPF program may not dereference it) but in the scratch buffer, where copy_str()
 * left it, at most USDT_MAX_STR bytes.  A literal is at most SLED_FILTER_MAX_POOL (128)
 * bytes, so equality and prefix decide alike on a string cut at 256.
 */
struct filter_vals {
	__u64 v[USDT_MAX_ARGS];     /* argument values; strings: their value word */
};

struct filter_run {
	__u64 stack;                /* a stack of booleans, one bit each */
	__u32 depth;
	__u32 nvals;
	__u16 str_off[USDT_MAX_ARGS]; /* where string argument i's bytes are in the buffer */
};

/* One instruction: 0, or -1 for a malformed program (the event is then kept, as in sled
 * mode: never silently lost). */
__noinline int filter_step(const struct sled_filter_prog *prog, const struct filter_vals *vals,
			   const struct scratch_buf *buf, struct filter_run *run, __u32 i)
{
	const struct sled_filter_insn *in;
	__u32 nvals, depth;
	bool r;

	if (!prog || !vals || !run || i >= SLED_FILTER_MAX_INSNS)
		return -1;
	in = &prog->insns[i];
	nvals = run->nvals < USDT_MAX_ARGS ? run->nvals : USDT_MAX_ARGS;
	depth = run->depth;
	switch (in->op) {
	case SLED_FOP_CMP_IMM:
		if (in->field >= nvals)
			return -1;
		r = sled_filter_cmp_value(vals->v[in->field], (__u64)in->imm, in->cls, in->cmp, false);
		break;
	case SLED_FOP_CMP_FIELD: {
		__u64 other = (__u64)in->imm;

		if (in->field >= nvals || other >= nvals)
			return -1;
		r = sled_filter_cmp_value(vals->v[in->field], vals->v[other], in->cls, in->cmp, true);
		break;
	}
	case SLED_FOP_STR_EQ:
	case SLED_FOP_STR_PREFIX: {
		__u32 f = in->field, loff = in->str_off, llen = in->str_len, soff;
		__u64 word, len;

		if (f >= nvals || loff + llen > SLED_FILTER_MAX_POOL || !buf)
			return -1;
		word = vals->v[f];
		len = word & USDT_STR_LEN_MASK;
		soff = run->str_off[f];
		/* NULL and unreadable strings match nothing, as a NULL char * in sled mode. */
		if (word & (USDT_STR_NULL | USDT_STR_FAULT))
			r = false;
		else if (in->op == SLED_FOP_STR_PREFIX ? len < llen : len != llen)
			r = false;
		else if (soff > STR_OFF_MAX)
			return -1;
		else {
			r = true;
			for (__u32 k = 0; k < SLED_FILTER_MAX_POOL; k++) {
				__u32 lp = loff + k;

				if (k >= llen)
					break;
				barrier_var(lp); /* checked on the register that indexes */
				if (lp >= SLED_FILTER_MAX_POOL ||
				    buf->data[soff + k] != (__u8)prog->pool[lp]) {
					r = false;
					break;
				}
			}
		}
		if (in->cmp == SLED_FCMP_NE)
			r = !r;
		break;
	}
	case SLED_FOP_CONST:
		r = in->imm != 0;
		break;
	case SLED_FOP_NOT:
		if (depth < 1 || depth > 64)
			return -1;
		run->stack ^= 1ull << (depth - 1);
		return 0;
	case SLED_FOP_AND:
	case SLED_FOP_OR: {
		bool a, b;

		if (depth < 2 || depth > 64)
			return -1;
		b = (run->stack >> (depth - 1)) & 1;
		a = (run->stack >> (depth - 2)) & 1;
		depth -= 2;
		run->stack &= ~(3ull << depth);
		r = in->op == SLED_FOP_AND ? (a && b) : (a || b);
		break;
	}
	default:
		return -1;
	}
	if (depth >= 64)
		return -1;
	if (r)
		run->stack |= 1ull << depth;
	run->depth = depth + 1;
	return 0;
}

/* The whole program: 1 if the event passes (or the program is malformed), 0 if not.
 * run->nvals and, for string comparisons, run->str_off[] are set by the caller. */
__noinline int filter_pass(const struct sled_filter_prog *prog, const struct filter_vals *vals,
			   const struct scratch_buf *buf, struct filter_run *run)
{
	__u32 n;

	if (!prog || !run)
		return 1;
	n = prog->ninsns;
	if (n == 0 || n > SLED_FILTER_MAX_INSNS)
		return 1;
	run->stack = 0;
	run->depth = 0;
	for (__u32 i = 0; i < SLED_FILTER_MAX_INSNS; i++) {
		if (i >= n)
			break;
		if (filter_step(prog, vals, buf, run, i))
			return 1;
	}
	return run->depth == 1 ? (int)(run->stack & 1) : 1;
}

/* --sample N: hits N, 2N, 3N... of the attach (all CPUs and processes together) pass. */
static __always_inline bool sample_take(__u32 index, __u32 every)
{
	struct usdt_probe_state *st = bpf_map_lookup_elem(&probe_state, &index);

	if (!st)
		return true;
	return (__sync_fetch_and_add(&st->sample_ctr, 1) + 1) % every == 0;
}

/* A compare-and-swap that keeps failing means other CPUs are taking the window's
 * records: giving up (counted as rate-limited) keeps the limit exact. */
#define RATE_CAS_TRIES 8

/*
 * --rate N/s: at most N records of the attach per process in each one-second window of
 * CLOCK_MONOTONIC (whole seconds of bpf_ktime_get_ns()).  As in sled mode (rate_take in
 * sdk/dispatch.c), window and count share one word, so a new window and its first record
 * are one compare-and-swap and the limit holds exactly.
 */
static __always_inline bool rate_take(__u32 index, __u16 gen, __u64 limit, __u64 ktime)
{
	struct usdt_rate_key key = {
		.slot = USDT_RATE_SLOT(index, gen),
		.tgid = (__u32)(bpf_get_current_pid_tgid() >> 32),
	};
	__u64 window = (ktime / 1000000000ull) & 0xffffffffull, init = window << 32;
	__u64 *st = bpf_map_lookup_elem(&rate_state, &key);

	if (!st) {
		bpf_map_update_elem(&rate_state, &key, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&rate_state, &key);
		if (!st)
			return false; /* cannot count it: refusing keeps the limit */
	}
	for (int k = 0; k < RATE_CAS_TRIES; k++) {
		__u64 cur = *(volatile __u64 *)st, next;

		if ((cur >> 32) != window)
			next = window << 32 | 1;
		else if ((cur & 0xffffffffull) >= limit)
			return false;
		else
			next = cur + 1;
		if (__sync_val_compare_and_swap(st, cur, next) == cur)
			return true;
	}
	return false;
}

/* Sampling, rate and count-only, after the filter (sled mode's order): true to record. */
static __always_inline bool gate(const struct usdt_probe_conf *conf, struct usdt_counts *c,
				 __u32 index, __u16 gen, __u64 ktime)
{
	if (conf->sample_every > 1 && !sample_take(index, conf->sample_every)) {
		__sync_fetch_and_add(&c->sampled, 1);
		return false;
	}
	if (conf->rate_per_sec && !rate_take(index, gen, conf->rate_per_sec, ktime)) {
		__sync_fetch_and_add(&c->limited, 1);
		return false;
	}
	return !conf->count_only;
}

struct fixed_rec {
	struct usdt_rec_hdr h;
	struct filter_vals v;
};

/* seq: this probe's hit count on this CPU before this hit. */
static __always_inline __u64 commit_flags(__u64 seq)
{
	__u64 t = wakeup_bytes, *above;
	__u32 zero = 0;
	bool now;

	if (!t)
		return 0;
	if (seq & (WAKEUP_CHECK_EVERY - 1))
		return BPF_RB_NO_WAKEUP;
	above = bpf_map_lookup_elem(&wake_state, &zero);
	if (!above)
		return BPF_RB_NO_WAKEUP;
	now = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= t;
	if (now == (*above != 0))
		return BPF_RB_NO_WAKEUP;
	*above = now;
	return now ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
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

/* No string argument: the record is built on the stack.  conf: probe functions with a
 * filter, to run on the values (NULL: none, or already passed). */
static __always_inline void emit_fixed(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
				       struct usdt_counts *c, const struct usdt_probe_conf *conf,
				       __u32 index, __u16 gen, __u32 nargs, __u64 ktime, __u64 seq)
{
	struct fixed_rec r = {};
	__u64 size;

	fill_hdr(&r.h, index, gen, (__u8)nargs, ktime);
	for (__u32 i = 0; i < USDT_MAX_ARGS; i++) {
		long v;

		if (i >= nargs)
			break;
		if (read_arg_fast(ctx, spec, i, &v))
			r.h.flags |= USDT_REC_F_ARGERR;
		r.v.v[i] = (__u64)v;
	}
	if (conf) {
		struct filter_run run = { .nvals = nargs };

		if (!filter_pass(&conf->filter, &r.v, NULL, &run)) {
			__sync_fetch_and_add(&c->filtered, 1);
			return;
		}
		if (!gate(conf, c, index, gen, ktime))
			return;
	}
	size = sizeof(r.h) + 8 * (__u64)nargs;
	if (bpf_ringbuf_output(&events, &r, size, commit_flags(seq)))
		__sync_fetch_and_add(&c->drops, 1);
}

/* Copy the string at user address ptr into buf at off; *word gets its value word (length
 * and flags).  Returns the offset after it.  A global function, verified once. */
__noinline __u32 copy_str(struct scratch_buf *buf, __u32 off, __u64 ptr, __u64 *word)
{
	long n;
	__u64 len;

	if (!buf || !word)
		return off;
	if (off > STR_OFF_MAX) {
		*word = USDT_STR_FAULT; /* cannot happen: off <= 24 + 8 * 12 + 256 * i */
		return off;
	}
	n = bpf_probe_read_user_str(buf->data + off, STR_READ, (const void *)ptr);
	if (n <= 0) {
		/* Not mapped, or paged out: a BPF program cannot fault.  The window may still
		 * start with readable bytes up to the end of their page, with no NUL among them
		 * (else the read above would have stopped there): keep them as a prefix. */
		__u64 in_page = 4096 - (ptr & 4095);

		if (in_page < STR_READ &&
		    bpf_probe_read_user(buf->data + off, (__u32)in_page, (const void *)ptr) == 0) {
			len = in_page > USDT_MAX_STR ? USDT_MAX_STR : in_page;
			*word = USDT_STR_TRUNCATED | len;
			return off + (__u32)len;
		}
		*word = USDT_STR_FAULT;
		return off;
	}
	len = (__u64)n - 1; /* n counts the NUL */
	if (len > USDT_MAX_STR) {
		*word = USDT_STR_TRUNCATED | USDT_MAX_STR;
		return off + USDT_MAX_STR;
	}
	*word = len;
	return off + (__u32)len;
}

/* Arguments 0..nargs-1 into vals (strings: their pointers); returns the mask of those
 * that could not be read (their value is 0).  A global function, verified once. */
__noinline __u32 read_args(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
			   struct filter_vals *vals, __u32 nargs)
{
	__u32 errs = 0;

	if (!vals)
		return 0;
	for (__u32 i = 0; i < USDT_MAX_ARGS; i++) {
		long v;

		if (i >= nargs)
			break;
		if (read_arg(ctx, spec, i, &v))
			errs |= 1u << i;
		vals->v[i] = (__u64)v;
	}
	return errs;
}

/* In a record being built in buf, whose values read_args() wrote: copy each string
 * argument's bytes after the values, in argument order, and replace its pointer by its
 * value word; run->str_off[] gets where each string starts.  Returns the record's end
 * (SCRATCH_SIZE when something is wrong: the caller then drops the record). */
__noinline __u32 copy_strings(struct scratch_buf *buf, const struct usdt_probe_info *info,
			      struct filter_run *run, __u32 nargs, __u32 errs)
{
	struct filter_vals *vals;
	__u32 off;

	if (!buf || !info || !run || nargs > USDT_MAX_ARGS)
		return SCRATCH_SIZE;
	vals = (struct filter_vals *)(buf->data + sizeof(struct usdt_rec_hdr));
	off = sizeof(struct usdt_rec_hdr) + 8 * nargs;
	for (__u32 i = 0; i < USDT_MAX_ARGS; i++) {
		__u64 word, v;

		if (i >= nargs)
			break;
		if (info->types[i] != USDT_T_STRING)
			continue;
		v = vals->v[i];
		run->str_off[i] = (__u16)off;
		if (errs & (1u << i))
			word = USDT_STR_FAULT;
		else if (!v)
			word = USDT_STR_NULL;
		else
			off = copy_str(buf, off, v, &word);
		vals->v[i] = word;
	}
	return off;
}

/* Some argument is a string: the record is built in a per-CPU scratch buffer.  conf as
 * for emit_fixed(); a filter that compares no string runs before the strings are read. */
static __always_inline void emit_strings(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
					 struct usdt_counts *c, const struct usdt_probe_info *info,
					 const struct usdt_probe_conf *conf, __u32 index, __u16 gen,
					 __u32 nargs, __u64 ktime, __u64 seq)
{
	__u32 zero = 0, slot = SCRATCH_SLOTS, key, errs = 0;
	__u64 *busy = bpf_map_lookup_elem(&scratch_busy, &zero);
	struct filter_run run = { .nvals = nargs };
	bool str_filter = info->flags & USDT_PF_FILTER_STR;
	struct filter_vals *vals;
	struct scratch_buf *buf;
	struct usdt_rec_hdr *h;
	__u64 size, bit;
	__u32 off;
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
	vals = (struct filter_vals *)(buf->data + sizeof(*h));
	fill_hdr(h, index, gen, (__u8)nargs, ktime);
	/* The values first (strings: their pointers), then the strings in their place. */
	errs = read_args(ctx, spec, vals, nargs);
	if (errs)
		flags |= USDT_REC_F_ARGERR;
	/* A filter on integers only decides before any string is read. */
	if (conf && !str_filter) {
		if (!filter_pass(&conf->filter, vals, buf, &run)) {
			__sync_fetch_and_add(&c->filtered, 1);
			goto release;
		}
		if (!gate(conf, c, index, gen, ktime))
			goto release;
		conf = NULL;
	}
	off = copy_strings(buf, info, &run, nargs, errs);
	h->flags = flags;
	if (conf) {
		if (!filter_pass(&conf->filter, vals, buf, &run)) {
			__sync_fetch_and_add(&c->filtered, 1);
			goto release;
		}
		if (!gate(conf, c, index, gen, ktime))
			goto release;
	}
	if (off > SCRATCH_SIZE - 8) {
		__sync_fetch_and_add(&c->drops, 1);
		goto release;
	}
	/* Zero the padding: no stale bytes of an earlier record leave the kernel. */
	size = (off + 7) & ~7u;
	for (__u32 k = 0; k < 7; k++) {
		__u32 p = off + k;

		/* Checked on the very register used: off itself may be reloaded from a
		 * spill that lost its bounds. */
		barrier_var(p);
		if (p >= size || p >= SCRATCH_SIZE)
			break;
		buf->data[p] = 0;
	}
	if (bpf_ringbuf_output(&events, buf->data, size, commit_flags(seq)))
		__sync_fetch_and_add(&c->drops, 1);
release:
	__sync_fetch_and_and(busy, ~bit);
}

/*
 * Aggregations (usdt_events.h).  A hit of an aggregating probe index reads its
 * arguments, runs the filter, sampling and rate as any hit, then updates one entry of
 * each aggregation's per-CPU hash instead of pushing a record.  Per-CPU values need no
 * cross-CPU atomics; the updates are still atomic instructions because a uprobe program
 * can be preempted on its CPU by another run of itself (see the scratch buffers above),
 * and an atomic add on a line no other CPU touches costs a few cycles.
 */
struct agg_inner {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory as keys come, up to max_entries */
	__uint(max_entries, 1);               /* the daemon's maps set their own */
	/* Sizes, not __type(): a type seen only through this template's pointer would be a
	 * forward declaration in the BTF, which libbpf cannot size. */
	__uint(key_size, sizeof(struct usdt_agg_key));
	__uint(value_size, sizeof(struct usdt_agg_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, USDT_MAX_PROBES * USDT_AGG_MAX);
	__type(key, __u32);
	__array(values, struct agg_inner);
} agg_maps SEC(".maps");

struct agg_inner_int {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct usdt_agg_ikey));
	__uint(value_size, sizeof(struct usdt_agg_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, USDT_MAX_PROBES * USDT_AGG_MAX);
	__type(key, __u32);
	__array(values, struct agg_inner_int);
} agg_maps_int SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USDT_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct usdt_agg_conf);
} agg_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, USDT_MAX_PROBES * USDT_AGG_MAX);
	__type(key, __u32);
	__type(value, struct usdt_agg_counts);
} agg_counts SEC(".maps");

/* Index of the highest set bit of v (v != 0): BPF has no count-leading-zeros. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

/* sdk/aggregate.c's bucket_of(), the same numbering: hist 0 negative, 1 zero, 2 + k
 * for [2^k, 2^(k+1)); lhist 0 below MIN, 1 + (v - MIN) / STEP, the last from MAX on. */
static __always_inline __u32 agg_bucket(const struct usdt_agg_desc *a, __u64 v)
{
	if (a->bucketing == USDT_AGG_B_HIST) {
		if (a->value_signed && (__s64)v < 0)
			return 0;
		return v ? 2 + log2_u64(v) : 1;
	}
	if (a->bucketing == USDT_AGG_B_LHIST) {
		__s64 s = (__s64)v;

		if (!a->value_signed && v > 0x7fffffffffffffffull)
			return a->nbuckets - 1;
		if (s < a->lmin)
			return 0;
		if (s >= a->lmax || a->lstep <= 0)
			return a->nbuckets - 1;
		return 1 + (__u32)((__u64)(s - a->lmin) / (__u64)a->lstep);
	}
	return 0;
}

static __always_inline bool agg_less(__u64 a, __u64 b, bool sign)
{
	return sign ? (__s64)a < (__s64)b : a < b;
}

/* Lower *p to v (keep_min) or raise it, racing only with runs preempted on this CPU. */
static __always_inline void agg_bound(__u64 *p, __u64 v, bool sign, bool keep_min)
{
	for (int i = 0; i < 8; i++) {
		__u64 cur = *(volatile __u64 *)p;

		if (keep_min ? !agg_less(v, cur, sign) : !agg_less(cur, v, sign))
			return;
		if (__sync_val_compare_and_swap(p, cur, v) == cur)
			return;
	}
}

/* A hit of aggregation slot that could not be aggregated: overflow (map full) or dropped. */
static __always_inline void agg_count(__u32 slot, bool overflow)
{
	struct usdt_agg_counts *cnt = bpf_map_lookup_elem(&agg_counts, &slot);

	if (cnt)
		__sync_fetch_and_add(overflow ? &cnt->overflow : &cnt->dropped, 1);
}

/* Add value v to the entry of key in map m (either kind), making it if new. */
static __always_inline void agg_update(void *m, const void *key, const struct usdt_agg_desc *a,
				       __u64 v, __u32 slot)
{
	struct usdt_agg_val *p = bpf_map_lookup_elem(m, key);
	__u64 old;

	if (!p) {
		struct usdt_agg_val init = { .count = 1, .sum = v, .min = v, .max = v };
		long r = bpf_map_update_elem(m, key, &init, BPF_NOEXIST);

		if (r == 0)
			return;
		/* Another CPU made the key meanwhile: this CPU's value is there, zeroed. */
		p = r == -EEXIST ? bpf_map_lookup_elem(m, key) : NULL;
		if (!p) {
			agg_count(slot, true); /* full: --max-keys */
			return;
		}
	}
	old = __sync_fetch_and_add(&p->count, 1);
	__sync_fetch_and_add(&p->sum, v);
	if (!a->minmax)
		return;
	if (!old) {
		/* This CPU's first hit of the key: its figures were zero, not a bound. */
		p->min = v;
		p->max = v;
		return;
	}
	agg_bound(&p->min, v, a->value_signed, true);
	agg_bound(&p->max, v, a->value_signed, false);
}

static __always_inline __u64 agg_value(const struct usdt_agg_desc *a, const struct filter_vals *vals,
				       __u32 nargs)
{
	__u32 i = a->value_arg;

	return i < nargs && i < USDT_MAX_ARGS ? vals->v[i] : 0;
}

/* One aggregation with integer keys only.  A global function: verified once.  errs:
 * arguments that could not be read.  slot: USDT_AGG_MAP(index, k). */
__noinline int agg_one_int(const struct usdt_agg_desc *a, const struct filter_vals *vals,
			   __u32 errs, __u32 nargs, __u32 slot)
{
	struct usdt_agg_ikey key = {};
	__u64 v;
	void *m;

	if (!a || !vals)
		return 0;
	m = bpf_map_lookup_elem(&agg_maps_int, &slot);
	if (!m)
		return 0;
#pragma unroll
	for (__u32 k = 0; k < USDT_AGG_MAX_KEYS; k++) {
		__u32 arg = a->key_arg[k];

		if (k >= a->nkeys)
			break;
		if (arg >= nargs || arg >= USDT_MAX_ARGS || (errs & (1u << arg))) {
			agg_count(slot, false);
			return 0;
		}
		key.key[k] = vals->v[arg];
	}
	v = agg_value(a, vals, nargs);
	key.bucket = agg_bucket(a, v);
	agg_update(m, &key, a, v, slot);
	return 0;
}

/* One aggregation with a string key (sled mode's layout: 88 bytes). */
__noinline int agg_one(const struct usdt_agg_desc *a, const struct filter_vals *vals, __u32 errs,
		       __u32 nargs, __u32 slot)
{
	struct usdt_agg_key key = {};
	__u64 v;
	void *m;

	if (!a || !vals)
		return 0;
	m = bpf_map_lookup_elem(&agg_maps, &slot);
	if (!m)
		return 0;
	for (__u32 k = 0; k < USDT_AGG_MAX_KEYS; k++) {
		__u32 arg = a->key_arg[k], off = a->key_off[k];
		__u64 w;

		if (k >= a->nkeys)
			break;
		if (arg >= nargs || arg >= USDT_MAX_ARGS || (errs & (1u << arg))) {
			agg_count(slot, false);
			return 0;
		}
		w = vals->v[arg];
		if (a->key_string[k]) {
			long n;

			if (off > USDT_AGG_KEY - USDT_AGG_STR)
				return 0;
			if (!w)
				continue; /* NULL: the empty key, as in sled mode */
			n = bpf_probe_read_user_str(&key.key[off], USDT_AGG_STR, (const void *)w);
			if (n < 0) {
				agg_count(slot, false);
				return 0;
			}
			/* 63 bytes and a NUL: a 64th byte may follow (sled mode keeps 64). */
			if (n == USDT_AGG_STR) {
				__u8 last = 0;

				bpf_probe_read_user(&last, 1, (const void *)(w + USDT_AGG_STR - 1));
				key.key[off + USDT_AGG_STR - 1] = last;
			}
		} else {
			if (off > USDT_AGG_KEY - 8)
				return 0;
			__builtin_memcpy(&key.key[off], &w, 8);
		}
	}
	v = agg_value(a, vals, nargs);
	key.bucket = agg_bucket(a, v);
	agg_update(m, &key, a, v, slot);
	return 0;
}

/* A filter comparing strings needs their bytes: copied into a scratch buffer as a
 * record's would be.  1: passes, 0: filtered, -1: no scratch buffer free (a drop). */
static __always_inline int agg_filter_strings(const struct usdt_probe_info *info,
					      const struct usdt_probe_conf *conf,
					      const struct filter_vals *vals, __u32 nargs, __u32 errs)
{
	__u32 zero = 0, slot = SCRATCH_SLOTS, key;
	__u64 *busy = bpf_map_lookup_elem(&scratch_busy, &zero);
	struct filter_run run = { .nvals = nargs };
	struct filter_vals *bv;
	struct scratch_buf *buf;
	int pass = -1;

	if (!busy)
		return -1;
#pragma unroll
	for (__u32 k = 0; k < SCRATCH_SLOTS; k++) {
		if (!(__sync_fetch_and_or(busy, 1ull << k) & (1ull << k))) {
			slot = k;
			break;
		}
	}
	if (slot >= SCRATCH_SLOTS)
		return -1;
	key = slot;
	buf = bpf_map_lookup_elem(&scratch, &key);
	if (buf) {
		bv = (struct filter_vals *)(buf->data + sizeof(struct usdt_rec_hdr));
		__builtin_memcpy(bv, vals, sizeof(*bv));
		if (copy_strings(buf, info, &run, nargs, errs) <= SCRATCH_SIZE - 8)
			pass = filter_pass(&conf->filter, bv, buf, &run);
	}
	__sync_fetch_and_and(busy, ~(1ull << slot));
	return pass;
}

/* An aggregating probe's hit: the probe functions, then each aggregation. */
static __always_inline void agg_hit(struct pt_regs *ctx, const struct __bpf_usdt_spec *spec,
				    struct usdt_counts *c, const struct usdt_probe_info *info,
				    const struct usdt_probe_conf *conf, __u32 index, __u16 gen,
				    __u32 nargs, __u64 ktime)
{
	struct filter_vals vals = {};
	const struct usdt_agg_conf *ac;
	__u32 errs = 0;

	/* Registers and constants inline (no call per argument), as emit_fixed does. */
	for (__u32 i = 0; i < USDT_MAX_ARGS; i++) {
		long v;

		if (i >= nargs)
			break;
		if (read_arg_fast(ctx, spec, i, &v))
			errs |= 1u << i;
		vals.v[i] = (__u64)v;
	}

	if (conf) {
		int pass;

		if (info->flags & USDT_PF_FILTER_STR) {
			pass = agg_filter_strings(info, conf, &vals, nargs, errs);
		} else {
			struct filter_run run = { .nvals = nargs };

			pass = filter_pass(&conf->filter, &vals, NULL, &run);
		}
		if (pass < 0) {
			__sync_fetch_and_add(&c->drops, 1);
			return;
		}
		if (!pass) {
			__sync_fetch_and_add(&c->filtered, 1);
			return;
		}
		if (!gate(conf, c, index, gen, ktime))
			return;
	}
	ac = bpf_map_lookup_elem(&agg_conf, &index);
	if (!ac)
		return;
	for (__u32 k = 0; k < USDT_AGG_MAX; k++) {
		if (k >= ac->n)
			break;
		if (ac->d[k].ints)
			agg_one_int(&ac->d[k], &vals, errs, nargs, USDT_AGG_MAP(index, k));
		else
			agg_one(&ac->d[k], &vals, errs, nargs, USDT_AGG_MAP(index, k));
	}
}

SEC("usdt")
int sled_usdt(struct pt_regs *ctx)
{
	__u64 ktime = bpf_ktime_get_ns();
	int spec_id;
	const struct usdt_probe_conf *conf = NULL;
	struct __bpf_usdt_spec *spec;
	struct usdt_probe_info *info;
	struct usdt_counts *c;
	__u32 index, nargs;
	__u64 cookie, seq;
	__u16 gen;

	__u64 own_key = LINUX_HAS_BPF_COOKIE ? bpf_get_attach_cookie(ctx) : 0;

	if (own_key >> 63) {
		/* One of probed's own plain uprobes (usdt_events.h: USDT_OWN_KEY). */
		spec = bpf_map_lookup_elem(&own_specs, &own_key);
	} else {
		spec_id = __bpf_usdt_spec_id(ctx);
		if (spec_id < 0)
			return 0;
		spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	}
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
	seq = __sync_fetch_and_add(&c->hits, 1);
	if (info->flags & USDT_PF_OPTIONS) {
		conf = bpf_map_lookup_elem(&probe_conf, &index);
		/* Without a filter, sampling, rate and count-only need no argument: a hit they
		 * stop costs no read at all. */
		if (conf && !conf->filter.ninsns) {
			if (!gate(conf, c, index, gen, ktime))
				return 0;
			conf = NULL;
		}
	}
	nargs = info->nargs;
	if (nargs > USDT_MAX_ARGS)
		nargs = USDT_MAX_ARGS;
	if (info->flags & USDT_PF_AGG)
		agg_hit(ctx, spec, c, info, conf, index, gen, nargs, ktime);
	else if (!info->nstrings)
		emit_fixed(ctx, spec, c, conf, index, gen, nargs, ktime, seq);
	else
		emit_strings(ctx, spec, c, info, conf, index, gen, nargs, ktime, seq);
	return 0;
}
