/* SPDX-License-Identifier: MIT */
/*
 * uprobe_spec: a site's arg specs, as decoded by discovery, in the layout of libbpf's
 * struct __bpf_usdt_spec, for the sites probed attaches as plain uprobes because
 * libbpf cannot parse their specs ("counter(%rip)", "%fs:x@tpoff", "arr(,%rax,8)").
 */
#ifndef SLED_UPROBE_SPEC_H
#define SLED_UPROBE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discovery/sites.h"

/* libbpf 1.1's usdt.bpf.h layout (BPF_USDT_MAX_ARG_CNT 12). */
struct uprobe_arg_spec {
	uint64_t val_off;
	uint32_t arg_type;  /* BPF_USDT_ARG_CONST 0, _REG 1, _REG_DEREF 2, or USDT_ARG_SLED_ADDR */
	int16_t reg_off;
	bool arg_signed;
	int8_t arg_bitshift;
};

struct uprobe_spec {
	struct uprobe_arg_spec args[12];
	uint64_t usdt_cookie;
	int16_t arg_cnt;
};

/* True if some argument of s has a form libbpf's USDT parser refuses. */
bool uprobe_spec_needs_own(const struct sled_site *s);

/*
 * Fill out for site s of an object of ELF type elf_type, with cookie.  Returns 0, or
 * -EINVAL with a one-line reason in err (an argument the tables could not resolve, or a
 * form no kernel-side reader exists for).
 */
int uprobe_spec_build(const struct sled_site *s, int elf_type, uint64_t cookie,
		      struct uprobe_spec *out, char *err, size_t errlen);

#endif /* SLED_UPROBE_SPEC_H */
