/* SPDX-License-Identifier: MIT */
/*
 * filter_prog.h - a compiled --filter predicate and its evaluator.
 *
 * The daemon compiles an expression (probed/filter/) against a tracepoint's field types
 * into this small postfix program; the sled-mode dispatcher evaluates it on the decoded
 * argument values before anything is written, and the uprobe BPF program runs the same
 * instructions.  The evaluator is integer-only (the dispatcher runs without SSE): floats
 * are compared through an order-preserving integer key, computed for literals at compile
 * time and for field values here.
 *
 * An ABI, not an API (not installed): the layout is part of the shared-memory contract
 * (shm_layout.h embeds the program in site slots), and the BPF program of uprobe mode reads
 * the same struct from a map.  The program has no version of its own: any change to an
 * instruction's layout, an opcode's number or meaning, or the limits below is a change of
 * the shared layout and bumps SLED_SHM_VERSION; the BPF program is rebuilt with probed.
 */
#ifndef SLED_FILTER_PROG_H
#define SLED_FILTER_PROG_H

/* In the BPF program (clang -target bpf) these types come from vmlinux.h. */
#ifndef __bpf__
#include <stdbool.h>
#include <stdint.h>
#endif

#define SLED_FILTER_MAX_INSNS 24
#define SLED_FILTER_MAX_POOL  128 /* bytes of string literals */

enum sled_filter_op {
	SLED_FOP_END = 0,
	SLED_FOP_CMP_IMM,   /* push cmp(field, imm) */
	SLED_FOP_CMP_FIELD, /* push cmp(field, field imm) */
	SLED_FOP_STR_EQ,    /* push string field == pool[str_off, str_len] */
	SLED_FOP_STR_PREFIX,/* push string field starts with pool[...] */
	SLED_FOP_NOT,
	SLED_FOP_AND,
	SLED_FOP_OR,
	SLED_FOP_CONST,     /* push imm != 0 */
};

enum sled_filter_cmp { SLED_FCMP_EQ, SLED_FCMP_NE, SLED_FCMP_LT, SLED_FCMP_LE, SLED_FCMP_GT, SLED_FCMP_GE };

/* How a field's 64-bit value is compared. */
enum sled_filter_class {
	SLED_FCLASS_SIGNED,   /* sign-extended integer */
	SLED_FCLASS_UNSIGNED, /* integers, pointers, bool */
	SLED_FCLASS_FLOAT32,  /* low 32 bits are a float */
	SLED_FCLASS_FLOAT64,
	SLED_FCLASS_STRING,
};

struct sled_filter_insn {
	uint8_t op;      /* enum sled_filter_op */
	uint8_t field;   /* argument index */
	uint8_t cmp;     /* enum sled_filter_cmp; for STR ops: EQ or NE */
	uint8_t cls;     /* enum sled_filter_class */
	uint8_t str_off;
	uint8_t str_len;
	uint16_t reserved;
	int64_t imm;     /* literal (floats: their order key), or the other field's index */
};

struct sled_filter_prog {
	uint16_t ninsns; /* 0: no filter, every event passes */
	uint16_t reserved[3];
	struct sled_filter_insn insns[SLED_FILTER_MAX_INSNS];
	char pool[SLED_FILTER_MAX_POOL];
};

/* An order-preserving unsigned key of an IEEE-754 value (bits in the low 32 or 64 bits);
 * -0 and +0 get the same key.  NaN is handled by the caller. */
static inline uint64_t sled_float_key(uint64_t bits, bool is32)
{
	uint64_t sign = is32 ? 1ull << 31 : 1ull << 63;

	if (is32)
		bits &= 0xffffffffull;
	if ((bits & ~sign) == 0)
		bits = 0;
	return (bits & sign) ? ~bits & (is32 ? 0xffffffffull : ~0ull) : bits | sign;
}

static inline bool sled_float_is_nan(uint64_t bits, bool is32)
{
	if (is32)
		return ((bits >> 23) & 0xff) == 0xff && (bits & 0x7fffff);
	return ((bits >> 52) & 0x7ff) == 0x7ff && (bits & 0xfffffffffffffull);
}

static inline bool sled_filter_cmp_u(uint64_t a, uint64_t b, unsigned cmp)
{
	switch (cmp) {
	case SLED_FCMP_EQ: return a == b;
	case SLED_FCMP_NE: return a != b;
	case SLED_FCMP_LT: return a < b;
	case SLED_FCMP_LE: return a <= b;
	case SLED_FCMP_GT: return a > b;
	default: return a >= b;
	}
}

static inline bool sled_filter_cmp_s(int64_t a, int64_t b, unsigned cmp)
{
	switch (cmp) {
	case SLED_FCMP_EQ: return a == b;
	case SLED_FCMP_NE: return a != b;
	case SLED_FCMP_LT: return a < b;
	case SLED_FCMP_LE: return a <= b;
	case SLED_FCMP_GT: return a > b;
	default: return a >= b;
	}
}

/* Compare a field value with an operand of the same class (b: a key for floats). */
static inline bool sled_filter_cmp_value(uint64_t a, uint64_t b, unsigned cls, unsigned cmp,
					 bool b_is_value)
{
	switch (cls) {
	case SLED_FCLASS_SIGNED:
		return sled_filter_cmp_s((int64_t)a, (int64_t)b, cmp);
	case SLED_FCLASS_FLOAT32:
	case SLED_FCLASS_FLOAT64: {
		bool is32 = cls == SLED_FCLASS_FLOAT32;

		/* NaN compares unequal to everything, itself included. */
		if (sled_float_is_nan(a, is32) || (b_is_value && sled_float_is_nan(b, is32)))
			return cmp == SLED_FCMP_NE;
		return sled_filter_cmp_u(sled_float_key(a, is32),
					 b_is_value ? sled_float_key(b, is32) : b, cmp);
	}
	default:
		return sled_filter_cmp_u(a, b, cmp);
	}
}

/* The BPF program cannot dereference user memory: it has its own string comparison and
 * loop (probed/bpf/usdt_events.bpf.c) around the shared helpers above. */
#ifndef __bpf__
/* Bounded string comparison; s may be NULL (a NULL char * matches nothing). */
static inline bool sled_filter_str(const char *s, const char *lit, unsigned len, bool prefix)
{
	unsigned i;

	if (!s)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] != lit[i])
			return false;
	return prefix || s[len] == 0;
}

/*
 * Evaluate prog on argument values vals[] (strings: vals[i] is the pointer, readable
 * memory).  A malformed program (bad index, stack misuse) evaluates to true: the event
 * is kept rather than silently lost.
 */
static inline bool sled_filter_eval(const struct sled_filter_prog *prog, const uint64_t *vals,
				    unsigned nvals)
{
	uint64_t stack = 0; /* a stack of booleans, one bit each */
	unsigned depth = 0, n = prog->ninsns;

	if (n == 0)
		return true;
	if (n > SLED_FILTER_MAX_INSNS)
		return true;
	for (unsigned i = 0; i < n; i++) {
		const struct sled_filter_insn *in = &prog->insns[i];
		bool r;

		switch (in->op) {
		case SLED_FOP_CMP_IMM:
			if (in->field >= nvals)
				return true;
			r = sled_filter_cmp_value(vals[in->field], (uint64_t)in->imm, in->cls, in->cmp,
						  false);
			break;
		case SLED_FOP_CMP_FIELD:
			if (in->field >= nvals || (uint64_t)in->imm >= nvals)
				return true;
			r = sled_filter_cmp_value(vals[in->field], vals[in->imm], in->cls, in->cmp, true);
			break;
		case SLED_FOP_STR_EQ:
		case SLED_FOP_STR_PREFIX:
			if (in->field >= nvals || (unsigned)in->str_off + in->str_len > SLED_FILTER_MAX_POOL)
				return true;
			r = sled_filter_str((const char *)(uintptr_t)vals[in->field],
					    prog->pool + in->str_off, in->str_len,
					    in->op == SLED_FOP_STR_PREFIX);
			if (in->cmp == SLED_FCMP_NE)
				r = !r;
			break;
		case SLED_FOP_CONST:
			r = in->imm != 0;
			break;
		case SLED_FOP_NOT:
			if (depth < 1)
				return true;
			stack ^= 1ull << (depth - 1);
			continue;
		case SLED_FOP_AND:
		case SLED_FOP_OR: {
			bool a, b;

			if (depth < 2)
				return true;
			b = (stack >> (depth - 1)) & 1;
			a = (stack >> (depth - 2)) & 1;
			depth -= 2;
			stack &= ~(3ull << depth);
			r = in->op == SLED_FOP_AND ? (a && b) : (a || b);
			break;
		}
		default:
			return true;
		}
		if (depth >= 64)
			return true;
		if (r)
			stack |= 1ull << depth;
		depth++;
	}
	return depth == 1 ? (stack & 1) : true;
}
#endif /* !__bpf__ */

#endif /* SLED_FILTER_PROG_H */
