// SPDX-License-Identifier: MIT
/*
 * uprobe_spec: sled's decoded arg specs for the BPF program's own_specs map.
 *
 * The uprobe sits on the site's pc, and the kernel shows its handlers %rip = that pc.  So
 * a link-time address in the object (a global) is read %rip-relative, val_off = address -
 * pc: right in every process, wherever the object is loaded, which a binary-wide attach
 * (every process of a library) needs.  An index register, a base with a symbol, or the
 * thread pointer need USDT_ARG_SLED_ADDR, which the program evaluates itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gelf.h>

#include "daemon/uprobe/uprobe_spec.h"
#include "bpf/usdt_events.h"

_Static_assert(sizeof(struct uprobe_arg_spec) == 16, "libbpf's __bpf_usdt_arg_spec");
_Static_assert(sizeof(struct uprobe_spec) == 12 * 16 + 16, "libbpf's __bpf_usdt_spec");

enum { ARG_CONST = 0, ARG_REG = 1, ARG_REG_DEREF = 2 };

/* offsetof(struct pt_regs, reg) on x86-64 (the kernel's and user space's layout). */
static int pt_regs_off(enum sled_reg r)
{
	static const int off[SLED_REG_COUNT] = {
		[SLED_REG_NONE] = -1, [SLED_REG_R15] = 0, [SLED_REG_R14] = 8,
		[SLED_REG_R13] = 16,  [SLED_REG_R12] = 24, [SLED_REG_RBP] = 32,
		[SLED_REG_RBX] = 40,  [SLED_REG_R11] = 48, [SLED_REG_R10] = 56,
		[SLED_REG_R9] = 64,   [SLED_REG_R8] = 72,  [SLED_REG_RAX] = 80,
		[SLED_REG_RCX] = 88,  [SLED_REG_RDX] = 96, [SLED_REG_RSI] = 104,
		[SLED_REG_RDI] = 112, [SLED_REG_RIP] = 128, [SLED_REG_RSP] = 152,
	};

	return (unsigned)r < SLED_REG_COUNT ? off[r] : -1;
}

bool uprobe_spec_needs_own(const struct sled_site *s)
{
	for (int i = 0; i < s->nargs; i++) {
		const struct sled_arg_spec *a = &s->args[i];

		if (a->addr != SLED_ADDR_ABSOLUTE || a->kind == SLED_ARG_UNRESOLVED ||
		    (a->kind == SLED_ARG_MEM && a->index != SLED_REG_NONE))
			return true;
	}
	return false;
}

static int build_arg(const struct sled_site *s, const struct sled_arg_spec *a, int elf_type,
		     struct uprobe_arg_spec *out, char *err, size_t errlen)
{
	int base = pt_regs_off(a->reg), index = pt_regs_off(a->index);
	uint64_t val = (uint64_t)a->imm;
	unsigned scale_log2 = a->scale == 8 ? 3 : a->scale == 4 ? 2 : a->scale == 2 ? 1 : 0;

	out->arg_signed = a->is_signed;
	out->arg_bitshift = (int8_t)(64 - a->size * 8);
	if (a->kind == SLED_ARG_UNRESOLVED) {
		snprintf(err, errlen, "an argument names a symbol the object's tables lack");
		return -EINVAL;
	}
	/* The %rip of an operand with numeric displacement is the end of the sled (as in
	 * sled mode), not the uprobe's pc. */
	if (a->reg == SLED_REG_RIP) {
		base = pt_regs_off(SLED_REG_RIP);
		val += 6;
	}
	if (a->kind == SLED_ARG_CONST) {
		if (a->addr == SLED_ADDR_OBJECT && elf_type != ET_EXEC) {
			snprintf(err, errlen, "an address constant in a relocatable object");
			return -EINVAL;
		}
		out->arg_type = ARG_CONST;
		out->val_off = val;
		return 0;
	}
	if (a->kind == SLED_ARG_REG) {
		if (a->shift) {
			snprintf(err, errlen, "a high-byte register argument");
			return -EINVAL;
		}
		out->arg_type = ARG_REG;
		out->reg_off = (int16_t)base;
		out->val_off = 0;
		return 0;
	}
	if (a->addr == SLED_ADDR_OBJECT && elf_type != ET_EXEC) {
		if (base >= 0 && a->reg != SLED_REG_RIP) {
			snprintf(err, errlen, "a symbol with a base register in a relocatable object");
			return -EINVAL;
		}
		/* %rip-relative to the uprobe's pc: the load bias cancels out. */
		base = pt_regs_off(SLED_REG_RIP);
		val -= s->pc;
	}
	if (a->addr == SLED_ADDR_ABSOLUTE && index < 0 && base >= 0) {
		out->arg_type = ARG_REG_DEREF;
		out->reg_off = (int16_t)base;
		out->val_off = val;
		return 0;
	}
	out->arg_type = USDT_ARG_SLED_ADDR | (uint32_t)((index < 0 ? 0 : index / 8 + 1) << 16) |
			(scale_log2 << 24) | (a->addr == SLED_ADDR_TLS ? USDT_ARG_FS : 0);
	out->reg_off = (int16_t)base;
	out->val_off = val;
	return 0;
}

int uprobe_spec_build(const struct sled_site *s, int elf_type, uint64_t cookie,
		      struct uprobe_spec *out, char *err, size_t errlen)
{
	char why[160];

	memset(out, 0, sizeof(*out));
	if (s->nargs < 0 || s->nargs > 12) {
		snprintf(err, errlen, "%d arguments", s->nargs);
		return -EINVAL;
	}
	for (int i = 0; i < s->nargs; i++) {
		if (build_arg(s, &s->args[i], elf_type, &out->args[i], why, sizeof(why))) {
			snprintf(err, errlen, "argument %d: %s", i, why);
			return -EINVAL;
		}
	}
	out->usdt_cookie = cookie;
	out->arg_cnt = (int16_t)s->nargs;
	return 0;
}
