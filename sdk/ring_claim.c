/* SPDX-License-Identifier: MIT */
/*
 * The slow path of the hot path: a thread's first event claims a free ring (compare and
 * swap on its state) and registers a thread-exit hook that hands the ring back to the
 * daemon (ORPHANED: drain me, then free me), and notes the thread's stack (for strings
 * copied from it).  Runs between XSAVE and XRSTOR in the trampoline, so ordinary C and
 * libc are fine here, but only async-signal-safe calls: a thread's first event may be
 * hit inside a signal handler.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

__thread struct sled_producer sled_tls_prod __attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *arg)
{
	struct sled_ring_header *ring = arg;

	sled_tls_prod.ring = NULL;
	__atomic_store_n(&ring->state, SLED_RING_ORPHANED, __ATOMIC_RELEASE);
}

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, on_thread_exit);
}

static struct sled_ring_header *claim(void)
{
	for (unsigned i = 0; i < SLED_SHM_MAX_RINGS; i++) {
		struct sled_ring_header *r = sled_ring_at(i);
		uint32_t free_state = SLED_RING_FREE;

		if (__atomic_load_n(&r->state, __ATOMIC_RELAXED) != SLED_RING_FREE)
			continue;
		if (!__atomic_compare_exchange_n(&r->state, &free_state, SLED_RING_OWNED, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		/* A freed ring was fully drained: head == tail; keep counting from there. */
		r->tid = (uint32_t)gettid();
		/* The last owner's aggregations were read by the daemon (or nobody asks for
		 * them): clear the table before the new claim is seen, so that the daemon never
		 * reads the old figures under the new claim. */
		struct sled_agg_area *area = sled_ring_agg(r, sled_rt.ring_data);

		if (area->used) {
			memset(area->counters, 0, sizeof(area->counters));
			memset(area->slots, 0, sizeof(area->slots));
			area->used = 0;
		}
		__atomic_store_n(&r->claims, r->claims + 1, __ATOMIC_RELEASE);
		r->tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		return r;
	}
	return NULL;
}

void sled_dispatch_slow(uint64_t *regs, uint64_t slot)
{
	struct sled_ring_header *ring;

	if (!sled_rt.shm)
		return;
	/* A signal handler that hits a site while this thread claims its ring must not claim
	 * a second one (nor enter pthread_once again): its event is counted as lost. */
	if (sled_tls_prod.claiming) {
		__atomic_add_fetch(&sled_rt.shm->lost_no_ring, 1, __ATOMIC_RELAXED);
		return;
	}
	sled_tls_prod.claiming = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ring = claim();
	if (!ring) {
		__atomic_add_fetch(&sled_rt.shm->lost_no_ring, 1, __ATOMIC_RELAXED);
		sled_tls_prod.claiming = 0;
		return;
	}
	pthread_once(&exit_key_once, make_exit_key);
	pthread_setspecific(exit_key, ring);
	/* The private head starts at the published one (a freed ring: head == tail). */
	sled_tls_prod.resv = ring->head;
	sled_tls_prod.depth = 0;
	sled_tls_prod.stack = sled_thread_stack();
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	sled_tls_prod.ring = ring;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	sled_tls_prod.claiming = 0;
	/* Last, and nothing after it: sled_dispatch does not preserve rbx and r12-r15
	 * (dispatch.c's flags); the trampoline that called this restores them. */
	sled_dispatch(regs, slot);
}

/* After fork the child's only thread must not keep writing into the parent's ring. */
void sled_rings_forget_after_fork(void)
{
	sled_tls_prod.ring = NULL;
	sled_tls_prod = (struct sled_producer){ 0 };
	pthread_setspecific(exit_key, NULL);
}
