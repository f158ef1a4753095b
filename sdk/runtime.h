/* SPDX-License-Identifier: MIT */
/*
 * runtime.h - libsled's internal interfaces (never installed).
 *
 *   runtime.c     start-up: the shared-memory block, the agent thread, fork handling
 *   api.c         <sled/sled.h>: sled_start, sled_stop, sled_enabled
 *   self_notes.c  this process's own tracepoint notes, read from its loaded objects
 *   agent.c       the agent: sleeps on a futex, applies the daemon's enables, heartbeat
 *   text_poke.c   patching live code: text_poke_bp order with a self-jump, no signal
 *   stubs.c       per-site stubs in executable pages mapped near each object
 *   site_memory.c the memory a site's events may read without asking the kernel
 *   trampoline.S  saves registers, calls the dispatcher, restores, returns to the stub
 *   dispatch.c    the hot path: decode arguments, write one record (no SSE, no libc)
 *   ring_claim.c  the slow path: a thread's first event claims a ring
 *   thread_stack.c the claiming thread's own stack, for strings copied from it
 */
#ifndef SLED_RUNTIME_H
#define SLED_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sled/abi/shm_layout.h"

#define SLED_HIDDEN __attribute__((visibility("hidden")))

struct sled_runtime {
	struct sled_shm_header *shm; /* NULL when the runtime is off */
	struct sled_shm_site *sites;
	char *rings;
	uint64_t size;
	uint64_t ring_data;          /* bytes of records per ring, for the life of the image */
	pid_t pid;
	char path[64];               /* the hint /dev/shm/sled.<pid> if we made it, else "" */
	struct sled_shm_agg *aggs;   /* aggregation descriptors */
};

extern struct sled_runtime sled_rt SLED_HIDDEN;
/* sled_rt.ring_data - 1, the one load the dispatcher makes for the ring size. */
extern uint64_t sled_ring_mask SLED_HIDDEN;
/* [lo, hi) of memory; {0, 0}: none. */
struct sled_range {
	uint64_t lo, hi;
};
/* This thread's producer state, private to it (the daemon never sees it).  Everything a
 * signal handler nested in the dispatcher could race with lives here: the hot path changes
 * it only with single instructions (see dispatch.c). */
struct sled_producer {
	uint64_t resv;     /* bytes reserved in the ring: ahead of the published head while
			    * events are being written; published when the outermost finishes */
	uint32_t depth;    /* events of this thread inside the dispatcher (signal nesting) */
	uint16_t reserving; /* between reading and advancing resv */
	uint16_t claiming;  /* inside the slow path's ring claim */
	/* This thread's ring, claimed at its first event (NULL before).  In the same
	 * initial-exec TLS block as the rest: the hot path finds both with one offset. */
	struct sled_ring_header *ring;
	/* This thread's own stack, found when it claims its ring ({0, 0}: unknown): a
	 * string between the site's %rsp and its top is copied by loads.  Read only by
	 * events with such strings, so on its own cache line, away from the fields every
	 * event uses. */
	struct sled_range stack __attribute__((aligned(64)));
};
extern __thread struct sled_producer sled_tls_prod SLED_HIDDEN
	__attribute__((tls_model("initial-exec")));
/* Bytes the trampoline reserves for XSAVE on the slow path (64-byte multiple). */
extern uint64_t sled_xsave_size SLED_HIDDEN;
extern uint32_t sled_xsave_ok SLED_HIDDEN;

static inline struct sled_ring_header *sled_ring_at(unsigned i)
{
	return (struct sled_ring_header *)(sled_rt.rings + (uint64_t)i * sled_ring_stride(sled_rt.ring_data));
}

/* aggregate.c: the aggregations of lane ln on this event's values (strings: windows
 * read, or strings_ok false); nested: the event runs inside another one's on this
 * thread (its updates are counted as dropped). */
SLED_HIDDEN void sled_aggregate(struct sled_ring_header *ring, const struct sled_shm_lane *ln,
				const uint64_t *vals, unsigned nargs, bool strings_ok, bool nested);

/* runtime.c */
SLED_HIDDEN uint64_t sled_monotonic_ns(void);
/* Start the runtime if it is not running: 0, -ECANCELED (SLED_DISABLE), -ESHUTDOWN
 * (stopped), or the -errno of what failed. */
/* ring_size: bytes per ring, a power of two in range, or 0: SLED_RING_SIZE or the
 * default.  -EINVAL for a bad size; -EBUSY when already running with another size. */
SLED_HIDDEN int sled_runtime_start(uint64_t ring_size);
/* Restore every site and leave the block for good; 0 if it was not running. */
SLED_HIDDEN int sled_runtime_stop(void);

/* self_notes.c: calls fn with the run-time address of every site of provider:name (the
 * tracepoints' 1-byte NOP, the guards' nop5) in every loaded object; stops when fn
 * returns true, and returns true then. */
SLED_HIDDEN bool sled_self_sites(const char *provider, const char *name,
				 bool (*fn)(uint64_t addr, void *arg), void *arg);

/* agent.c */
SLED_HIDDEN int sled_agent_start(void);
/* Restore every patched site, then detach the agent from the block (sled_rt.shm becomes
 * NULL; the block stays mapped, as a thread may still be inside a stub) and let its
 * thread exit.  -errno of the first site that could not be restored. */
SLED_HIDDEN int sled_agent_stop(void);
/* Restore every patched site in this (single-threaded, just forked) child. */
SLED_HIDDEN void sled_agent_forget_after_fork(void);

/* text_poke.c */
SLED_HIDDEN int sled_poke_init(void);
/* One 5-byte instruction to replace, expect -> want; err is the outcome. */
struct sled_poke {
	uint64_t addr;
	uint8_t expect[5];
	uint8_t want[5];
	int err;
};
/* Replace the 5 bytes of every site as one batch (three syncs in all, no signal), so that
 * no thread ever executes a mix of old and new bytes.  Each site's err: 0 (patched, or it
 * already held want), -EILSEQ (neither expect nor want: never written), -EXDEV (bytes 0-1
 * straddle a cache line, so no atomic 2-byte store exists: refused), or the mprotect
 * error of its page (refused, unwritten).  Returns 0, or the first sync or mprotect-back
 * error (sites are still patched).  At most SLED_SHM_MAX_SITES sites (else -E2BIG). */
SLED_HIDDEN int sled_poke_batch(struct sled_poke *sites, size_t n);
/* A batch of one: the site's error, else the batch's. */
SLED_HIDDEN int sled_poke5(uint64_t addr, const uint8_t expect[5], const uint8_t want[5]);
/* Write len bytes with no synchronisation (code no thread can be running yet). */
SLED_HIDDEN int sled_poke_raw(uint64_t addr, const void *bytes, size_t len);
SLED_HIDDEN int sled_peek(uint64_t addr, void *bytes, size_t len);
/* The PROT_* the loader gave the loaded segment that holds all of [addr, addr + len), or
 * -1 if none does. */
SLED_HIDDEN int sled_segment_prot(uint64_t addr, uint64_t len);
/* Every thread of the process runs a full barrier before this returns (membarrier). */
SLED_HIDDEN int sled_sync_threads(void);
SLED_HIDDEN void sled_poke_after_fork(void);

/* stubs.c: the stub for slot (same stub for the same slot and address), or 0. */
SLED_HIDDEN uint64_t sled_stub_for(unsigned slot, const struct sled_shm_site *site, int *err);
/* Where slot's sled jumps while its lanes are lanes: the stub's fast part for a plain
 * probe (when it has one), else its general entry; 0 before sled_stub_for made it. */
SLED_HIDDEN uint64_t sled_stub_entry(unsigned slot, uint32_t lanes);
/* Stubs get fast_path.S's part where a site allows it (SLED_FAST_PATH=0: never). */
extern bool sled_fast_path SLED_HIDDEN;

/* site_memory.c: per slot, memory its events read directly ({0, 0}: none); set by the
 * agent before the site is patched. */
extern struct sled_range sled_site_readable[SLED_SHM_MAX_SITES] SLED_HIDDEN;
SLED_HIDDEN void sled_note_site_memory(unsigned slot, uint64_t site);

/* trampoline.S */
SLED_HIDDEN void sled_trampoline(void);
/* fast_path.S: sled_fast_trampoline_0 .. _8, by argument count */
extern void (*const sled_fast_trampolines[])(void) SLED_HIDDEN;

/* dispatch.c: 0 when the event was handled, 1 when the thread needs the slow path. */
SLED_HIDDEN int sled_dispatch(uint64_t *regs, uint64_t slot);
/* thread_stack.c: the calling thread's own stack ({0, 0}: not found); async-signal-safe. */
SLED_HIDDEN struct sled_range sled_thread_stack(void);
/* ring_claim.c */
SLED_HIDDEN void sled_dispatch_slow(uint64_t *regs, uint64_t slot);
SLED_HIDDEN void sled_rings_forget_after_fork(void);

#endif /* SLED_RUNTIME_H */
