// SPDX-License-Identifier: MIT
/*
 * argspec: parse and print systemtap SDT argument specs (x86-64, AT&T syntax).
 *
 * The text comes from ELF notes of arbitrary binaries, so it is untrusted: every scan
 * is bounded by an explicit end pointer (never by hoping for a delimiter), numbers are
 * range-checked before they can overflow, and anything the grammar in argspec.h does
 * not describe is rejected rather than guessed at.  A rejected spec costs one site; a
 * wrongly decoded one would report wrong values with no warning.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "argspec.h"

/* Register names by operand width: slot 0 is 64-bit, 1 is 32, 2 is 16, 3 is 8 (low). */
enum { SLOT_64, SLOT_32, SLOT_16, SLOT_8, SLOT_COUNT };

static const char *const reg_names[SLED_REG_COUNT][SLOT_COUNT] = {
	[SLED_REG_RAX] = { "rax", "eax", "ax", "al" },
	[SLED_REG_RBX] = { "rbx", "ebx", "bx", "bl" },
	[SLED_REG_RCX] = { "rcx", "ecx", "cx", "cl" },
	[SLED_REG_RDX] = { "rdx", "edx", "dx", "dl" },
	[SLED_REG_RSI] = { "rsi", "esi", "si", "sil" },
	[SLED_REG_RDI] = { "rdi", "edi", "di", "dil" },
	[SLED_REG_RBP] = { "rbp", "ebp", "bp", "bpl" },
	[SLED_REG_RSP] = { "rsp", "esp", "sp", "spl" },
	[SLED_REG_R8] = { "r8", "r8d", "r8w", "r8b" },
	[SLED_REG_R9] = { "r9", "r9d", "r9w", "r9b" },
	[SLED_REG_R10] = { "r10", "r10d", "r10w", "r10b" },
	[SLED_REG_R11] = { "r11", "r11d", "r11w", "r11b" },
	[SLED_REG_R12] = { "r12", "r12d", "r12w", "r12b" },
	[SLED_REG_R13] = { "r13", "r13d", "r13w", "r13b" },
	[SLED_REG_R14] = { "r14", "r14d", "r14w", "r14b" },
	[SLED_REG_R15] = { "r15", "r15d", "r15w", "r15b" },
	/* Only the 64-bit name: %eip is not addressable in 64-bit mode. */
	[SLED_REG_RIP] = { "rip" },
};

/* Bits 8..15 of the first four registers; only valid as 1-byte operands. */
static const char *const high_byte_names[SLED_REG_COUNT] = {
	[SLED_REG_RAX] = "ah",
	[SLED_REG_RBX] = "bh",
	[SLED_REG_RCX] = "ch",
	[SLED_REG_RDX] = "dh",
};

const char *sled_reg_name(enum sled_reg reg)
{
	if ((unsigned int)reg <= SLED_REG_NONE || (unsigned int)reg >= SLED_REG_COUNT)
		return NULL;
	return reg_names[reg][SLOT_64];
}

/*
 * Parsing state for one argument: the argument is the byte range [arg, end), which
 * is never NUL-terminated where we need it to be (it sits inside the whole spec).
 */
struct cursor {
	const char *p;
	const char *end;
	const char *arg;
	char *err;
	size_t errlen;
	const struct sled_symbols *syms; /* NULL: symbols cannot be evaluated */
	bool unresolved;                 /* a symbol lookup failed (the reason is in err) */
};

/* Longest piece of input quoted in a message; notes can hold kilobytes of junk. */
#define QUOTE_MAX 48

/* Copies [s, s+n) for a message: control and non-ASCII bytes become '?' so the reason
 * stays one printable line whatever the note contained. */
static const char *quote(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t i, max = n > QUOTE_MAX ? QUOTE_MAX : n;

	if (max > dstlen - 4)
		max = dstlen - 4;
	for (i = 0; i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		dst[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	if (max < n) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

/*
 * Writes "<reason>: '<piece>' in '<argument>'" and returns -EINVAL.  The piece is the
 * offending text [from, to); it is left out when empty, and the argument is left out
 * when the piece already is the whole argument.
 */
static int fail(struct cursor *c, const char *reason, const char *from, const char *to)
{
	char piece[QUOTE_MAX + 8], whole[QUOTE_MAX + 8];
	size_t arglen = (size_t)(c->end - c->arg);

	if (!c->err)
		return -EINVAL;
	quote(whole, sizeof(whole), c->arg, arglen);
	if (from && to > from) {
		quote(piece, sizeof(piece), from, (size_t)(to - from));
		if (from == c->arg && to == c->end)
			snprintf(c->err, c->errlen, "%s: '%s'", reason, piece);
		else
			snprintf(c->err, c->errlen, "%s: '%s' in '%s'", reason, piece, whole);
	} else {
		snprintf(c->err, c->errlen, "%s in '%s'", reason, whole);
	}
	return -EINVAL;
}

static bool at_end(const struct cursor *c)
{
	return c->p >= c->end;
}

static char peek(const struct cursor *c)
{
	return at_end(c) ? '\0' : *c->p;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alnum(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* A symbol as the assembler would accept it: letters, digits, '_', '.', '$'. */
static bool is_symbol_char(char ch)
{
	return is_alnum(ch) || ch == '_' || ch == '.' || ch == '$';
}

static int hex_value(char ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Points past the symbol-like run starting at p (at least one character if there is
 * one), for quoting the offending token in a message. */
static const char *symbol_end(const struct cursor *c, const char *p)
{
	const char *start = p;

	while (p < c->end && (is_symbol_char(*p) || *p == '+' || *p == '-'))
		p++;
	return p == start && p < c->end ? p + 1 : p;
}

/*
 * An unsigned decimal or 0x-hex number up to UINT64_MAX.  A decimal with a leading zero
 * is refused: the assembler reads "010" as octal 8, and guessing either way is worse
 * than saying so (no compiler prints displacements like that).
 */
static int parse_magnitude(struct cursor *c, uint64_t *out)
{
	const char *start = c->p;
	unsigned int base = 10;
	uint64_t v = 0;
	int digit;

	if (peek(c) == '0' && c->end - c->p >= 2 && (c->p[1] == 'x' || c->p[1] == 'X')) {
		base = 16;
		c->p += 2;
		if (at_end(c) || hex_value(*c->p) < 0)
			return fail(c, "number without hex digits", start, symbol_end(c, start));
	} else if (at_end(c)) {
		return fail(c, "missing number", NULL, NULL);
	} else if (!is_digit(*c->p)) {
		return fail(c, "not a number", start, symbol_end(c, start));
	} else if (*c->p == '0' && c->end - c->p >= 2 && is_digit(c->p[1])) {
		return fail(c, "number with a leading zero (octal?)", start, symbol_end(c, start));
	}
	while (!at_end(c) && (digit = hex_value(*c->p)) >= 0 && (unsigned int)digit < base) {
		if (v > (UINT64_MAX - (uint64_t)digit) / base)
			return fail(c, "number out of range", start, symbol_end(c, start));
		v = v * base + (uint64_t)digit;
		c->p++;
	}
	*out = v;
	return 0;
}

/*
 * A signed number into int64_t.  With wrap, a positive value above INT64_MAX is taken
 * as its 64-bit two's complement pattern: compilers print unsigned 64-bit immediates
 * either way ($-1 or $18446744073709551615) and both mean the same bits.
 */
static int parse_signed(struct cursor *c, bool wrap, int64_t *out)
{
	const char *start = c->p;
	bool neg = false;
	uint64_t mag = 0; /* set by parse_magnitude; gcc -O2 cannot see it */
	int ret;

	if (peek(c) == '-') {
		neg = true;
		c->p++;
	}
	ret = parse_magnitude(c, &mag);
	if (ret)
		return ret;
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return fail(c, "number out of range", start, c->p);
		/* -(2^63) fits only by going through unsigned arithmetic. */
		*out = (int64_t)(0 - mag);
		return 0;
	}
	if (!wrap && mag > (uint64_t)INT64_MAX)
		return fail(c, "number out of range", start, c->p);
	*out = (int64_t)mag;
	return 0;
}

/* Looks up a register name of length n; *slot is the width slot, or -1 for a high byte. */
static enum sled_reg lookup_reg(const char *name, size_t n, int *slot)
{
	for (int r = SLED_REG_RAX; r < SLED_REG_COUNT; r++) {
		for (int s = 0; s < SLOT_COUNT; s++) {
			const char *cand = reg_names[r][s];

			if (cand && strlen(cand) == n && memcmp(cand, name, n) == 0) {
				*slot = s;
				return (enum sled_reg)r;
			}
		}
		if (high_byte_names[r] && strlen(high_byte_names[r]) == n &&
		    memcmp(high_byte_names[r], name, n) == 0) {
			*slot = -1;
			return (enum sled_reg)r;
		}
	}
	return SLED_REG_NONE;
}

/* "%name" at the cursor; *slot as in lookup_reg. */
static int parse_reg(struct cursor *c, enum sled_reg *reg, int *slot)
{
	const char *start = c->p;
	const char *name;

	if (at_end(c))
		return fail(c, "missing register", NULL, NULL);
	if (*c->p != '%')
		return fail(c, "not a register", start, symbol_end(c, start));
	name = ++c->p;
	while (!at_end(c) && is_alnum(*c->p))
		c->p++;
	if (c->p == name)
		return fail(c, "missing register name", start, c->p + !at_end(c));
	*reg = lookup_reg(name, (size_t)(c->p - name), slot);
	if (*reg == SLED_REG_NONE)
		return fail(c, "unknown register", start, c->p);
	return 0;
}

/* [-]SIZE[f]@ */
static int parse_size(struct cursor *c, struct sled_arg_spec *a)
{
	const char *start;

	if (peek(c) == '-') {
		a->is_signed = true;
		c->p++;
	}
	start = c->p;
	while (!at_end(c) && is_digit(*c->p))
		c->p++;
	if (c->p == start)
		return fail(c, "missing size", NULL, NULL);
	/* One digit only: "04" or "16" are not sizes, and no overflow is possible. */
	if (c->p - start != 1 || (*start != '1' && *start != '2' && *start != '4' && *start != '8'))
		return fail(c, "size must be 1, 2, 4 or 8", start, c->p);
	a->size = (uint8_t)(*start - '0');
	if (peek(c) == 'f') {
		/* No 1-byte floating-point type exists to describe. */
		if (a->size == 1)
			return fail(c, "floating-point argument of size 1", start, c->p + 1);
		a->is_float = true;
		c->p++;
	}
	if (at_end(c))
		return fail(c, "missing '@' after the size", NULL, NULL);
	if (*c->p != '@')
		return fail(c, "expected '@' after the size", c->p, c->end);
	c->p++;
	if (at_end(c))
		return fail(c, "missing operand after '@'", NULL, NULL);
	return 0;
}

static int expect_end(struct cursor *c)
{
	if (!at_end(c))
		return fail(c, "unexpected text after the operand", c->p, c->end);
	return 0;
}

static int parse_disp(struct cursor *c, struct sled_arg_spec *a, bool fs);

/* $IMM */
static int parse_const(struct cursor *c, struct sled_arg_spec *a)
{
	const char *start = c->p++;
	char ch = peek(c);
	int ret;

	if (at_end(c))
		return fail(c, "missing value after '$'", NULL, NULL);
	a->kind = SLED_ARG_CONST;
	if (!is_digit(ch) && ch != '-') {
		/* "$sym": the address of a symbol as an immediate (non-PIE code). */
		if (!c->syms)
			return fail(c, "symbolic constant cannot be evaluated", start,
				    symbol_end(c, c->p));
		ret = parse_disp(c, a, false);
		return ret ? ret : expect_end(c);
	}
	ret = parse_signed(c, true, &a->imm);
	return ret ? ret : expect_end(c);
}

/* %REG */
static int parse_reg_operand(struct cursor *c, struct sled_arg_spec *a)
{
	const char *start = c->p;
	int slot, ret;

	ret = parse_reg(c, &a->reg, &slot);
	if (ret)
		return ret;
	if (slot < 0) {
		/* %ah as 2 bytes would also read bits 16..23 of %rax: not what was meant. */
		if (a->size != 1)
			return fail(c, "high-byte register needs size 1", start, c->p);
		a->shift = 8;
	}
	a->kind = SLED_ARG_REG;
	return expect_end(c);
}

/* A base or index register of a memory operand: 64-bit names only. */
static int parse_addr_reg(struct cursor *c, bool is_index, enum sled_reg *reg)
{
	const char *start = c->p;
	int slot, ret;

	ret = parse_reg(c, reg, &slot);
	if (ret)
		return ret;
	if (slot != SLOT_64)
		return fail(c, "address register must be 64-bit", start, c->p);
	/* The SIB byte cannot encode these as an index, so no compiler emits them. */
	if (is_index && (*reg == SLED_REG_RSP || *reg == SLED_REG_RIP))
		return fail(c, "invalid index register", start, c->p);
	return 0;
}

/* ",%INDEX[,SCALE]" after the base (or after "(" when there is no base). */
static int parse_index(struct cursor *c, struct sled_arg_spec *a)
{
	const char *start;
	int ret;

	c->p++; /* ',' */
	ret = parse_addr_reg(c, true, &a->index);
	if (ret)
		return ret;
	a->scale = 1;
	if (peek(c) != ',') {
		if (a->reg == SLED_REG_NONE)
			return fail(c, "missing scale", NULL, NULL);
		return 0;
	}
	start = ++c->p;
	if (at_end(c))
		return fail(c, "missing scale", NULL, NULL);
	while (!at_end(c) && is_alnum(*c->p))
		c->p++;
	if (c->p == start)
		return fail(c, "scale must be 1, 2, 4 or 8", start, start + 1);
	if (c->p - start != 1 || (*start != '1' && *start != '2' && *start != '4' && *start != '8'))
		return fail(c, "scale must be 1, 2, 4 or 8", start, c->p);
	a->scale = (uint8_t)(*start - '0');
	return 0;
}

/* A symbol may start with a letter, '_' or '.' (".LC0", "counter.0"), not a digit. */
static bool is_symbol_start(char ch)
{
	return is_symbol_char(ch) && !is_digit(ch) && ch != '$';
}

/*
 * SYMBOL[@tpoff] at the cursor, looked up through c->syms; *tpoff says whether the
 * suffix was there.  A failed lookup sets c->unresolved and returns -ENOENT.
 */
static int parse_symbol(struct cursor *c, uint64_t *value, bool *tpoff)
{
	const char *start = c->p, *reloc;
	size_t len;
	int ret;

	while (!at_end(c) && is_symbol_char(*c->p))
		c->p++;
	len = (size_t)(c->p - start);
	*tpoff = false;
	if (peek(c) == '@') {
		reloc = ++c->p;
		while (!at_end(c) && is_alnum(*c->p))
			c->p++;
		if ((size_t)(c->p - reloc) != 5 || memcmp(reloc, "tpoff", 5))
			return fail(c, "relocation cannot be evaluated", reloc - 1, c->p);
		*tpoff = true;
	}
	if (!c->syms)
		return fail(c, "symbolic displacement cannot be evaluated", start, c->p);
	if (len > 255)
		return fail(c, "symbol name too long", start, c->p);
	ret = c->syms->lookup(c->syms->ctx, start, len, *tpoff, value, c->err, c->errlen);
	if (ret) {
		c->unresolved = true;
		if (c->err && c->errlen && !c->err[0]) {
			char name[QUOTE_MAX + 8];

			snprintf(c->err, c->errlen, "symbol '%s' not found",
				 quote(name, sizeof(name), start, len));
		}
		return -ENOENT;
	}
	return 0;
}

/*
 * DISP := TERM { (+|-) TERM }, TERM a number or a symbol (gcc writes "8+g_conf", clang
 * "g_conf+8").  One symbol at most, added, never subtracted: the difference of two
 * addresses or a negated address is nothing a compiler prints for an operand.  The sum
 * wraps like the assembler's 64-bit arithmetic.  fs: the operand had a %fs: prefix, so
 * a symbol must be "sym@tpoff" and the result is thread-pointer relative.
 */
static int parse_disp(struct cursor *c, struct sled_arg_spec *a, bool fs)
{
	bool first = true, have_sym = false, neg, tpoff;
	uint64_t sum = 0, v;
	int64_t num;
	int ret;

	for (;;) {
		char ch = peek(c);

		neg = false;
		if (!first) {
			if (ch != '+' && ch != '-')
				break;
			neg = ch == '-';
			c->p++;
			if (at_end(c))
				return fail(c, "missing term after the sign", NULL, NULL);
			ch = *c->p;
		}
		if (is_digit(ch) || (first && ch == '-')) {
			ret = parse_signed(c, false, &num);
			if (ret)
				return ret;
			sum = neg ? sum - (uint64_t)num : sum + (uint64_t)num;
		} else if (is_symbol_start(ch)) {
			const char *sym = c->p;

			if (neg || have_sym)
				return fail(c, "symbol used other than as one added term", sym,
					    symbol_end(c, sym));
			ret = parse_symbol(c, &v, &tpoff);
			if (ret)
				return ret;
			if (tpoff != fs)
				return fail(c, fs ? "%fs: operand with a symbol not @tpoff"
						  : "@tpoff symbol without %fs:", sym, c->p);
			sum += v;
			have_sym = true;
		} else if (first) {
			break; /* no displacement: "(%rax)" */
		} else {
			return fail(c, "expected a number or a symbol", c->p, symbol_end(c, c->p));
		}
		first = false;
	}
	a->imm = (int64_t)sum;
	if (fs)
		a->addr = SLED_ADDR_TLS;
	else if (have_sym)
		a->addr = SLED_ADDR_OBJECT;
	return 0;
}

/* [%fs:][DISP](%BASE[,%INDEX[,SCALE]]), [%fs:][DISP](,%INDEX,SCALE) or [%fs:]DISP */
static int parse_mem(struct cursor *c, struct sled_arg_spec *a, bool fs)
{
	const char *open;
	char ch = peek(c);
	int ret;

	a->kind = SLED_ARG_MEM;
	if (fs)
		a->addr = SLED_ADDR_TLS;
	if (is_digit(ch) || ch == '-' || is_symbol_start(ch)) {
		ret = parse_disp(c, a, fs);
		if (ret)
			return ret;
	} else if (ch != '(') {
		return fail(c, "unknown operand", c->p, c->end);
	}
	if (peek(c) != '(') {
		if (at_end(c)) {
			/* Absolute: a symbol's address (non-PIE) or an offset from %fs. */
			if (a->addr != SLED_ADDR_ABSOLUTE)
				return 0;
			return fail(c, "absolute memory operand without a register", NULL, NULL);
		}
		return fail(c, "expected '(' after the displacement", c->p, c->end);
	}
	open = c->p++;
	if (peek(c) == '%') {
		ret = parse_addr_reg(c, false, &a->reg);
		if (ret)
			return ret;
	}
	if (peek(c) == ',') {
		ret = parse_index(c, a);
		if (ret)
			return ret;
	}
	if (a->reg == SLED_REG_NONE && a->index == SLED_REG_NONE)
		return fail(c, "memory operand without a register", open, c->p + !at_end(c));
	if (a->reg == SLED_REG_RIP && a->index != SLED_REG_NONE)
		return fail(c, "%rip-relative operand with an index", open, c->p + !at_end(c));
	if (peek(c) != ')')
		return fail(c, at_end(c) ? "missing ')'" : "expected ')'", c->p, c->end);
	c->p++;
	if (a->reg == SLED_REG_RIP && a->addr == SLED_ADDR_OBJECT) {
		/* "sym(%rip)" is the assembler's way to address sym itself: the link-time
		 * address says it all, whatever instruction the operand would sit in. */
		a->reg = SLED_REG_NONE;
	} else if (a->reg == SLED_REG_RIP && a->addr == SLED_ADDR_TLS) {
		return fail(c, "%fs: operand relative to %rip", open, c->p);
	}
	return expect_end(c);
}

/* "%fs:" before a memory operand: thread-local storage. */
static bool take_fs_prefix(struct cursor *c)
{
	if (c->end - c->p >= 4 && !memcmp(c->p, "%fs:", 4)) {
		c->p += 4;
		return true;
	}
	return false;
}

/* One argument in [text, end); -ENOENT (out set to SLED_ARG_UNRESOLVED) when a symbol
 * could not be resolved. */
static int parse_arg(const char *text, const char *end, struct sled_arg_spec *out,
		     const struct sled_symbols *syms, char *err, size_t errlen)
{
	struct cursor c = { .p = text, .end = end, .arg = text, .err = err, .errlen = errlen,
			    .syms = syms };
	struct sled_arg_spec a;
	int ret;

	if (text == end) {
		if (err)
			snprintf(err, errlen, "empty argument");
		return -EINVAL;
	}
	/* Zeroed so unused fields compare equal and padding never leaks garbage. */
	memset(&a, 0, sizeof(a));
	ret = parse_size(&c, &a);
	if (ret)
		return ret;
	if (err && errlen)
		err[0] = '\0';
	if (take_fs_prefix(&c))
		ret = parse_mem(&c, &a, true);
	else if (*c.p == '$')
		ret = parse_const(&c, &a);
	else if (*c.p == '%')
		ret = parse_reg_operand(&c, &a);
	else
		ret = parse_mem(&c, &a, false);
	if (ret && c.unresolved) {
		/* Kept, so that the site is listed with the reason instead of vanishing. */
		struct sled_arg_spec u = { .kind = SLED_ARG_UNRESOLVED, .size = a.size,
					   .is_signed = a.is_signed, .is_float = a.is_float };

		*out = u;
		return -ENOENT;
	}
	if (ret)
		return ret;
	/* Only a complete argument reaches the caller: out is untouched on error. */
	*out = a;
	return 0;
}

int sled_argspec_parse_one(const char *text, struct sled_arg_spec *out, char *err, size_t errlen)
{
	if (!text || !out) {
		if (err)
			snprintf(err, errlen, "no argument text");
		return -EINVAL;
	}
	return parse_arg(text, text + strlen(text), out, NULL, err, errlen);
}

/* Names the first argument over the limit, so the message points into the spec. */
static int too_many(const char *arg, const char *end, int max, char *err, size_t errlen)
{
	struct cursor c = { .p = arg, .end = end, .arg = arg, .err = err, .errlen = errlen };
	char reason[48];

	snprintf(reason, sizeof(reason), "more than %d argument%s", max < 0 ? 0 : max,
		 max == 1 ? "" : "s");
	return fail(&c, reason, arg, end);
}

int sled_argspec_parse(const char *text, struct sled_arg_spec *out, int max, char *err,
		       size_t errlen)
{
	return sled_argspec_parse_syms(text, out, max, NULL, err, errlen);
}

int sled_argspec_parse_syms(const char *text, struct sled_arg_spec *out, int max,
			    const struct sled_symbols *syms, char *err, size_t errlen)
{
	const char *p = text, *start;
	char why[160], first_why[200] = "";
	int n = 0, ret;

	if (!text || (max > 0 && !out)) {
		if (err)
			snprintf(err, errlen, "no argument spec");
		return -EINVAL;
	}
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p) {
			if (err && first_why[0])
				snprintf(err, errlen, "%s", first_why);
			return n;
		}
		start = p;
		while (*p && *p != ' ')
			p++;
		if (n >= max)
			return too_many(start, p, max, err, errlen);
		ret = parse_arg(start, p, &out[n], syms, err ? why : NULL, sizeof(why));
		if (ret == -ENOENT) {
			if (!first_why[0])
				snprintf(first_why, sizeof(first_why), "argument %d: %s", n, why);
		} else if (ret) {
			if (err)
				snprintf(err, errlen, "%s", why);
			return ret;
		}
		n++;
	}
}

/* The name of reg as an operand of the given size (%eax for RAX at 4 bytes). */
static const char *operand_reg_name(enum sled_reg reg, unsigned int size, unsigned int shift)
{
	int slot = size == 8 ? SLOT_64 : size == 4 ? SLOT_32 : size == 2 ? SLOT_16 : SLOT_8;
	const char *name;

	if ((unsigned int)reg <= SLED_REG_NONE || (unsigned int)reg >= SLED_REG_COUNT)
		return "?";
	if (shift == 8 && high_byte_names[reg])
		return high_byte_names[reg];
	if (size != 1 && size != 2 && size != 4 && size != 8)
		slot = SLOT_64;
	name = reg_names[reg][slot];
	/* %rip has no narrower names; any size reads the low bytes of the one register. */
	return name ? name : reg_names[reg][SLOT_64];
}

static const char *addr_reg_name(enum sled_reg reg)
{
	const char *name = sled_reg_name(reg);

	return name ? name : "?";
}

/* The operand text after '@'.  Tolerates a struct that the parser never produced. */
static void format_operand(const struct sled_arg_spec *a, char *buf, size_t len)
{
	char disp[24] = "", index[16] = "";

	switch (a->kind) {
	case SLED_ARG_CONST:
		if (a->addr == SLED_ADDR_OBJECT)
			snprintf(buf, len, "$0x%" PRIx64, (uint64_t)a->imm);
		else
			snprintf(buf, len, "$%" PRId64, a->imm);
		return;
	case SLED_ARG_REG:
		snprintf(buf, len, "%%%s", operand_reg_name(a->reg, a->size, a->shift));
		return;
	case SLED_ARG_MEM:
		if (a->addr == SLED_ADDR_OBJECT) /* a link-time address: hex, as tools show them */
			snprintf(disp, sizeof(disp), "0x%" PRIx64, (uint64_t)a->imm);
		else if (a->imm)
			snprintf(disp, sizeof(disp), "%" PRId64, a->imm);
		if (a->reg == SLED_REG_NONE && a->index == SLED_REG_NONE) {
			snprintf(buf, len, "%s%s", a->addr == SLED_ADDR_TLS ? "%fs:" : "",
				 disp[0] ? disp : "0");
			return;
		}
		if (a->index != SLED_REG_NONE)
			snprintf(index, sizeof(index), ",%%%s,%u", addr_reg_name(a->index),
				 (unsigned int)a->scale);
		snprintf(buf, len, "%s%s(%s%s%s)", a->addr == SLED_ADDR_TLS ? "%fs:" : "", disp, a->reg != SLED_REG_NONE ? "%" : "",
			 a->reg != SLED_REG_NONE ? addr_reg_name(a->reg) : "", index);
		return;
	case SLED_ARG_UNRESOLVED:
		snprintf(buf, len, "<unresolved symbol>");
		return;
	default:
		snprintf(buf, len, "?");
		return;
	}
}

int sled_argspec_format(const struct sled_arg_spec *arg, char *buf, size_t len)
{
	char op[64];

	format_operand(arg, op, sizeof(op));
	return snprintf(buf, len, "%s%u%s@%s", arg->is_signed ? "-" : "", (unsigned int)arg->size,
			arg->is_float ? "f" : "", op);
}
