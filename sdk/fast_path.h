/* SPDX-License-Identifier: MIT */
/*
 * Offsets fast_path.S uses, as plain #defines so that the assembler can include them;
 * stubs.c checks each against the C structures with _Static_assert.
 */
#ifndef SLED_FAST_PATH_H
#define SLED_FAST_PATH_H

/* struct sled_producer (sled_tls_prod) */
#define FP_TLS_RESV	0
#define FP_TLS_DEPTH	8
#define FP_TLS_RING	16
/* struct sled_runtime (sled_rt) */
#define FP_RT_SITES	8
#define FP_RT_RING_DATA	32
/* struct sled_shm_site */
#define FP_SITE_SIZE	2560
#define FP_SITE_LANES	36
/* struct sled_ring_header */
#define FP_RING_IN_SLOT	16
#define FP_RING_HEAD	64
#define FP_RING_TAIL_CACHE 72
#define FP_RING_RECHECK	80
#define FP_RING_LANES	192	/* lanes[0][0]; struct sled_lane_counters is 64 bytes */
#define FP_LANE_HITS	0
#define FP_LANE_DROPS	32
#define FP_RING_DATA	0x400c0	/* SLED_ALIGN8(sizeof(struct sled_ring_header)) */
/* lanes word (SLED_LANES_*) */
#define FP_LANES_FAST	0x100
#define FP_LANES_ACTIVE	0xf
#define FP_LANES_FAST_SHIFT 12

/* A site takes the fast path when each of its (at most FP_MAX_ARGS) arguments is a whole
 * 64-bit general-purpose register other than %rsp, so its stub can push the values. */
#define FP_MAX_ARGS	8
/* The stub's bytes after the call into sled_fast_trampoline_<n>, up to the rel32 of its
 * `jmp site + 6` (the unwind info finds the site from it). */
#define FP_RET_TO_REL32	16

#endif
