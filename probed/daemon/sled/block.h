/* SPDX-License-Identifier: MIT */
/*
 * block: what the daemon believes of a process's shared block, checked on plain memory
 * (the fuzz targets call it on arbitrary bytes).  The layout is probed's own, from the
 * constants of shm_layout.h for the one version it speaks and the ring size that the
 * sealed block's size implies (sled_shm_ring_data_of): the header's offsets, sizes
 * and counts are compared with them and a block that disagrees is refused, never
 * followed.  Every check reads one copy of the field, since the process can rewrite its
 * block at any time.
 */
#ifndef SLED_BLOCK_H
#define SLED_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sled/abi/shm_layout.h"

/*
 * The first eight bytes (magic, version), the same in every version.  Returns 0;
 * -EAGAIN when the magic is not written yet (the runtime writes it last); -EPROTO when
 * the process speaks another version, with why naming both.
 */
int block_check_version(const void *first8, pid_t pid, char *why, size_t len);

/*
 * The whole header of a block of size bytes mapped for pid: version first, then the size
 * (one allowed ring size must give it), every layout field against probed's constants
 * and that ring size, then the pid.  Returns 0, -EAGAIN, -EPROTO,
 * -EBADMSG, or -ESTALE (the block names another pid) with a one-line reason in why.
 */
int block_check_header(const void *mem, uint64_t size, pid_t pid, char *why, size_t len);

/* The site slots and the rings of a checked block (from the constants, not the header). */
static inline struct sled_shm_site *block_slots(void *mem)
{
	return (struct sled_shm_site *)((char *)mem + sled_shm_sites_offset());
}

static inline char *block_rings(void *mem)
{
	return (char *)mem + sled_shm_rings_offset();
}

/*
 * Slots a previous daemon assigned: keep them (their stubs are per slot), wanting
 * nothing.  Returns how many leading slots are in use and well formed (a known kind,
 * at most SLED_SHM_MAX_ARGS arguments); the first free or malformed slot ends them.
 */
unsigned block_adopt_slots(struct sled_shm_site *slots);

#endif /* SLED_BLOCK_H */
