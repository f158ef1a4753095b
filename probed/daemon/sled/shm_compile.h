/* SPDX-License-Identifier: MIT */
/*
 * shm_compile: the one place where discovery's view of a site (enum sled_reg, enum
 * sled_arg_kind, enum sled_site_kind of discovery/) becomes the shared block's (enum
 * sled_regs_index, enum sled_shm_arg_kind, enum sled_site_kind_shm of sled/abi/).  The
 * two sets stay apart on purpose: discovery's follow the stapsdt text and serve uprobe
 * mode too (uprobe/uprobe_spec.c maps them to pt_regs), the block's are an ABI fixed by
 * SLED_SHM_VERSION and the trampoline's save area.
 */
#ifndef SLED_DAEMON_SLED_SHM_COMPILE_H
#define SLED_DAEMON_SLED_SHM_COMPILE_H

#include <stdint.h>

#include "discovery/argspec.h"
#include "discovery/sites.h"
#include "sled/abi/shm_layout.h"

/* One argument as the dispatcher reads it; bias: the object's load bias in this process
 * (runtime minus link-time address).  -1 for what the dispatcher cannot read (a symbol
 * the object's tables lack, an address base it does not know). */
int shm_compile_arg(const struct sled_arg_spec *a, uint8_t type, uint64_t bias,
		    struct sled_shm_arg *out);
/* A site's kind in its slot. */
uint32_t shm_site_kind(enum sled_site_kind kind);

#endif /* SLED_DAEMON_SLED_SHM_COMPILE_H */
