/* SPDX-License-Identifier: MIT */
/* shm_compile: see shm_compile.h. */
#include <string.h>

#include "daemon/sled/shm_compile.h"

/* discovery's register ids -> the trampoline's save-area indexes */
static int regs_index(enum sled_reg r)
{
	static const int map[SLED_REG_COUNT] = {
		[SLED_REG_NONE] = SLED_R_NONE, [SLED_REG_RAX] = SLED_R_RAX,
		[SLED_REG_RBX] = SLED_R_RBX,   [SLED_REG_RCX] = SLED_R_RCX,
		[SLED_REG_RDX] = SLED_R_RDX,   [SLED_REG_RSI] = SLED_R_RSI,
		[SLED_REG_RDI] = SLED_R_RDI,   [SLED_REG_RBP] = SLED_R_RBP,
		[SLED_REG_RSP] = SLED_R_RSP,   [SLED_REG_R8] = SLED_R_R8,
		[SLED_REG_R9] = SLED_R_R9,     [SLED_REG_R10] = SLED_R_R10,
		[SLED_REG_R11] = SLED_R_R11,   [SLED_REG_R12] = SLED_R_R12,
		[SLED_REG_R13] = SLED_R_R13,   [SLED_REG_R14] = SLED_R_R14,
		[SLED_REG_R15] = SLED_R_R15,   [SLED_REG_RIP] = SLED_R_RIP,
	};

	return (unsigned)r < SLED_REG_COUNT ? map[r] : -1;
}

int shm_compile_arg(const struct sled_arg_spec *a, uint8_t type, uint64_t bias,
		       struct sled_shm_arg *out)
{
	int reg = regs_index(a->reg), index = regs_index(a->index);

	memset(out, 0, sizeof(*out));
	if (reg < 0 || index < 0)
		return -1;
	out->size = a->size;
	out->is_signed = a->is_signed;
	out->type = type;
	out->reg = (uint8_t)reg;
	out->index = (uint8_t)index;
	out->scale = a->scale ? a->scale : 1;
	out->shift = a->shift;
	out->imm = a->imm;
	switch (a->kind) {
	case SLED_ARG_CONST: out->kind = SLED_A_CONST; break;
	case SLED_ARG_REG: out->kind = SLED_A_REG; break;
	case SLED_ARG_MEM: out->kind = SLED_A_MEM; break;
	default: return -1; /* SLED_ARG_UNRESOLVED: a symbol the object's tables lack */
	}
	if (a->addr == SLED_ADDR_OBJECT)
		out->imm = (int64_t)((uint64_t)a->imm + bias);
	else if (a->addr == SLED_ADDR_TLS && a->kind == SLED_ARG_MEM)
		out->kind = SLED_A_MEM_FS;
	else if (a->addr != SLED_ADDR_ABSOLUTE)
		return -1;
	return 0;
}

uint32_t shm_site_kind(enum sled_site_kind kind)
{
	return kind == SLED_SITE_GUARD ? SLED_SITE_SLOT_GUARD : SLED_SITE_SLOT_TRACEPOINT;
}
