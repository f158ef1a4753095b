/* SPDX-License-Identifier: MIT */
/*
 * argspec: the systemtap SDT argument specification ("-4@%eax 8@-16(%rbp,%rcx,8)"),
 * parsed once per site into a decoded form that readers (the libsled trampoline, the
 * daemon, the BPF loader) evaluate without touching text again.
 *
 * Grammar (x86-64, AT&T), one argument:
 *     [-]SIZE[f]@OPERAND           SIZE in {1, 2, 4, 8}; '-' signed; 'f' floating point
 *     OPERAND := $IMM              constant
 *              | %REG              register (64/32/16/8-bit names, %ah..%dh, %rip)
 *              | [DISP](%BASE)     memory, DISP a signed decimal or 0x-hex integer
 *              | [DISP](%BASE,%INDEX[,SCALE])   SIB form, SCALE in {1, 2, 4, 8}
 *              | [DISP](,%INDEX,SCALE)          SIB without base
 *              | %fs:DISP[(...)]              thread-local (DISP from the thread pointer)
 *              | DISP                         absolute memory (non-PIE code)
 *     DISP := TERM { (+|-) TERM }   TERM := NUMBER | SYMBOL[@tpoff]
 * A SYMBOL (a global, a static local like "counter.0", "x@tpoff" for a __thread
 * variable) is evaluated only with a symbol resolver (struct sled_symbols): the object's
 * symbol tables turn it into a link-time address (or a thread-pointer offset), and the
 * argument records which base the value is relative to (enum sled_addr_base).
 * Arguments are separated by one or more spaces.
 */
#ifndef SLED_ARGSPEC_H
#define SLED_ARGSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLED_MAX_ARGS 12

/* Register ids: the order of the general-purpose registers in struct pt_regs is not
 * used on purpose; consumers map these to their own register save layout. */
enum sled_reg {
	SLED_REG_NONE = 0,
	SLED_REG_RAX, SLED_REG_RBX, SLED_REG_RCX, SLED_REG_RDX,
	SLED_REG_RSI, SLED_REG_RDI, SLED_REG_RBP, SLED_REG_RSP,
	SLED_REG_R8, SLED_REG_R9, SLED_REG_R10, SLED_REG_R11,
	SLED_REG_R12, SLED_REG_R13, SLED_REG_R14, SLED_REG_R15,
	SLED_REG_RIP,
	SLED_REG_COUNT
};

enum sled_arg_kind {
	SLED_ARG_CONST = 1, /* value = imm */
	SLED_ARG_REG,       /* value = (reg >> shift), truncated to size */
	SLED_ARG_MEM,       /* value = *(base + index * scale + disp), size bytes */
	SLED_ARG_UNRESOLVED, /* names a symbol the object's tables lack: cannot be read */
};

/* What the displacement (SLED_ARG_MEM) or value (SLED_ARG_CONST) is relative to. */
enum sled_addr_base {
	SLED_ADDR_ABSOLUTE = 0, /* as written */
	SLED_ADDR_OBJECT,       /* a link-time address in the object: add its load bias */
	SLED_ADDR_TLS,          /* an offset from the thread pointer (%fs base) */
};

struct sled_arg_spec {
	enum sled_arg_kind kind;
	uint8_t size;      /* 1, 2, 4 or 8 bytes */
	bool is_signed;
	bool is_float;     /* 'f' suffix (newer sys/sdt.h); sled's own notes carry types separately */
	enum sled_reg reg; /* SLED_ARG_REG: the register; SLED_ARG_MEM: the base (or NONE) */
	uint8_t shift;     /* SLED_ARG_REG: 8 for %ah/%bh/%ch/%dh, else 0 */
	enum sled_reg index; /* SLED_ARG_MEM: index register or NONE */
	uint8_t scale;     /* SLED_ARG_MEM with index: 1, 2, 4 or 8 */
	uint8_t addr;      /* enum sled_addr_base of imm */
	int64_t imm;       /* SLED_ARG_CONST: the value; SLED_ARG_MEM: the displacement */
};

/*
 * How symbolic operands are evaluated.  lookup finds the symbol [name, name+len): for
 * tpoff (written "sym@tpoff") its offset from the thread pointer, else its link-time
 * address.  Returns 0, or -ENOENT with a one-line reason in err (not found, undefined,
 * ambiguous, of the wrong kind).
 */
struct sled_symbols {
	int (*lookup)(void *ctx, const char *name, size_t len, bool tpoff, uint64_t *value,
		      char *err, size_t errlen);
	void *ctx;
};

/*
 * Parse one argument ("-4@%eax").  Returns 0, or -EINVAL with a one-line reason (naming
 * the offending text) in err when err is not NULL.  Never reads past the NUL.
 */
int sled_argspec_parse_one(const char *text, struct sled_arg_spec *out, char *err, size_t errlen);

/*
 * Parse a whole space-separated spec string into at most max arguments.  Returns the
 * number of arguments (0 for an empty string), or -EINVAL with a reason in err (bad
 * argument, or more than max arguments).
 */
int sled_argspec_parse(const char *text, struct sled_arg_spec *out, int max, char *err, size_t errlen);

/*
 * Same, evaluating symbols with syms (may be NULL: symbols are then an error).  An
 * argument whose symbol cannot be resolved does not fail the spec: it is returned as
 * SLED_ARG_UNRESOLVED (its size and sign kept) and the first such reason, prefixed with
 * "argument N: ", is left in err.  Syntax errors fail the whole spec as above.
 */
int sled_argspec_parse_syms(const char *text, struct sled_arg_spec *out, int max,
			    const struct sled_symbols *syms, char *err, size_t errlen);

/* Canonical text of one parsed argument, e.g. "-4@%eax" or "8@-16(%rbp,%rcx,8)".
 * Returns the length snprintf would have written. */
int sled_argspec_format(const struct sled_arg_spec *arg, char *buf, size_t len);

/* "rax", "rip", ... for a register id; NULL for NONE or out of range. */
const char *sled_reg_name(enum sled_reg reg);

#endif /* SLED_ARGSPEC_H */
