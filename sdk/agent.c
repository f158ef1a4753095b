/* SPDX-License-Identifier: MIT */
/*
 * The agent: one thread that sleeps on a futex in the shared block until the daemon rings
 * the doorbell, then makes every site slot's state match what the daemon wants.  While
 * any site is patched it also wakes periodically to check the daemon's heartbeat, and
 * restores every sled when the daemon has gone quiet: a dead daemon never leaves an app
 * paying for probes nobody reads.  Without a daemon it costs one sleeping thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
static pthread_mutex_t agent_lock = PTHREAD_MUTEX_INITIALIZER;

static void jmp5(uint8_t out[5], uint64_t from, uint64_t to)
{
	int32_t rel = (int32_t)((int64_t)to - (int64_t)(from + 5));

	out[0] = 0xe9;
	memcpy(out + 1, &rel, 4);
}

/* Only code of a loaded object is ever touched: never trust an address blindly. */
static bool is_loaded_code(uint64_t addr, uint64_t len)
{
	int prot = sled_segment_prot(addr, len);

	return prot >= 0 && (prot & PROT_EXEC);
}

/* Where each tracepoint sled jumps while it is on (sled_stub_entry): what turning it off
 * expects to find there. */
static uint64_t slot_target[SLED_SHM_MAX_SITES];
/* The batch's new targets, recorded once the batch has written them. */
static uint64_t batch_target[SLED_SHM_MAX_SITES];

/* The patch that turns slot i on or off, into p (*target: where the sled jumps after it);
 * 0, or -errno when it cannot be made. */
static int prepare_slot(unsigned i, const struct sled_shm_site *s, bool on, struct sled_poke *p,
			uint64_t *target)
{
	uint8_t jmp[5], first;
	uint64_t stub;
	int err;

	if (s->kind == SLED_SITE_SLOT_GUARD) {
		if (on && (!is_loaded_code(s->addr, 5) || !is_loaded_code(s->target, 1)))
			return -EFAULT;
		p->addr = s->addr;
		jmp5(jmp, p->addr, s->target);
	} else {
		if (on && !is_loaded_code(s->addr, 6))
			return -EFAULT;
		/* The 1-byte NOP, or the int3 of a kernel uprobe (bpftrace, perf, uprobe mode)
		 * on it: that one traps, runs the NOP out of line and comes back to our sled. */
		if (on && (sled_peek(s->addr, &first, 1) || (first != 0x90 && first != 0xcc)))
			return -EILSEQ;
		stub = sled_stub_for(i, s, &err);
		if (!stub)
			return err;
		if (on)
			stub = sled_stub_entry(i, __atomic_load_n(&s->lanes, __ATOMIC_ACQUIRE));
		else if (slot_target[i])
			stub = slot_target[i];
		*target = on ? stub : 0;
		p->addr = s->addr + 1;
		jmp5(jmp, p->addr, stub);
	}
	memcpy(p->expect, on ? nop5 : jmp, 5);
	memcpy(p->want, on ? jmp : nop5, 5);
	return 0;
}

struct apply_totals {
	uint32_t applied, failed;
	int first_err;
};

static void record(struct sled_shm_site *s, bool on, int err, struct apply_totals *t)
{
	if (err) {
		s->error = err;
		s->state = on ? SLED_STATE_FAILED : s->state;
		t->failed++;
		if (!t->first_err)
			t->first_err = err;
		return;
	}
	s->error = 0;
	__atomic_store_n(&s->state, on ? SLED_STATE_ON : SLED_STATE_OFF, __ATOMIC_RELEASE);
	t->applied++;
}

/* One command's patches, applied as one batch (the agent lock serializes their use). */
static struct sled_poke batch[SLED_SHM_MAX_SITES];
static uint16_t batch_slot[SLED_SHM_MAX_SITES];
static bool batch_on[SLED_SHM_MAX_SITES];
static bool batch_retarget[SLED_SHM_MAX_SITES];

/* A tracepoint sled that stays on, pointed past its stub's fast part, whose probes became
 * one plain probe: the patch that points it at the fast part, into p; false otherwise.
 * (The other way round it stays: the fast part hands a probe it does not take to the
 * general path, for 19 instructions; two text pokes per probe change would cost more.) */
static bool prepare_retarget(unsigned i, const struct sled_shm_site *s, struct sled_poke *p,
			     uint64_t *target)
{
	uint64_t want;

	if (s->kind != SLED_SITE_SLOT_TRACEPOINT || !slot_target[i])
		return false;
	want = sled_stub_entry(i, __atomic_load_n(&s->lanes, __ATOMIC_ACQUIRE));
	if (!want || want == slot_target[i] || want != sled_stub_entry(i, SLED_LANES_FAST))
		return false;
	p->addr = s->addr + 1;
	jmp5(p->expect, p->addr, slot_target[i]);
	jmp5(p->want, p->addr, want);
	*target = want;
	return true;
}

/* Make every slot's state match want (or force everything off), every site that changes
 * in one batch.  Returns -errno of the first failure, 0 if none. */
static int apply(bool all_off, uint32_t *applied, uint32_t *failed)
{
	struct sled_shm_site *sites = sled_rt.sites;
	struct apply_totals t = { 0, 0, 0 };
	size_t n = 0;
	int ret;

	for (unsigned i = 0; i < SLED_SHM_MAX_SITES; i++) {
		struct sled_shm_site *s = &sites[i];
		uint32_t kind = __atomic_load_n(&s->kind, __ATOMIC_ACQUIRE);
		bool want = !all_off && __atomic_load_n(&s->want, __ATOMIC_ACQUIRE);
		int err;

		if (kind == SLED_SITE_SLOT_FREE)
			continue;
		if (want == (s->state == SLED_STATE_ON)) {
			if (!want && s->state == SLED_STATE_FAILED)
				s->state = SLED_STATE_OFF;
			if (want && prepare_retarget(i, s, &batch[n], &batch_target[n])) {
				batch_slot[n] = (uint16_t)i;
				batch_retarget[n] = true;
				batch_on[n++] = true;
			}
			continue;
		}
		err = prepare_slot(i, s, want, &batch[n], &batch_target[n]);
		if (err) {
			record(s, want, err, &t);
			continue;
		}
		batch_slot[n] = (uint16_t)i;
		batch_retarget[n] = false;
		batch_on[n++] = want;
	}
	ret = n ? sled_poke_batch(batch, n) : 0;
	for (size_t k = 0; k < n; k++) {
		unsigned i = batch_slot[k];

		if (!batch[k].err && sites[i].kind == SLED_SITE_SLOT_TRACEPOINT)
			slot_target[i] = batch_target[k];
		/* A retarget changes no state: a failed one leaves the sled where it was. */
		if (!batch_retarget[k])
			record(&sites[i], batch_on[k], batch[k].err, &t);
	}
	*applied += t.applied;
	*failed += t.failed;
	return t.first_err ? t.first_err : ret;
}

static bool any_on(void)
{
	for (unsigned i = 0; i < SLED_SHM_MAX_SITES; i++)
		if (sled_rt.sites[i].state == SLED_STATE_ON)
			return true;
	return false;
}

static void futex_wake_all(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

static void handle_command(struct sled_shm_header *h)
{
	uint32_t seq = __atomic_load_n(&h->cmd.seq, __ATOMIC_ACQUIRE);
	uint32_t applied = 0, failed = 0;
	int ret = 0;

	if (seq == h->cmd.done_seq)
		return;
	if (h->cmd.op == SLED_OP_APPLY) {
		ret = apply(false, &applied, &failed);
		/* The daemon may have turned lanes off on sites that stay patched: once every
		 * thread has run a barrier, a thread that enters a site afterwards sees the new
		 * lanes, and the daemon's wait on in_slot covers the ones already inside. */
		sled_sync_threads();
	}
	h->cmd.result = ret;
	h->cmd.applied = applied;
	h->cmd.failed = failed;
	__atomic_store_n(&h->cmd.done_seq, seq, __ATOMIC_RELEASE);
	futex_wake_all(&h->cmd.done_seq);
}

/* The daemon beats every second; after heartbeat_timeout_ms of silence, restore all. */
static void check_heartbeat(struct sled_shm_header *h)
{
	uint64_t beat = __atomic_load_n(&h->heartbeat_ns, __ATOMIC_ACQUIRE);
	uint64_t limit = (uint64_t)h->heartbeat_timeout_ms * 1000000ull;
	uint32_t applied = 0, failed = 0;

	if (!any_on())
		return;
	if (beat && sled_monotonic_ns() - beat <= limit)
		return;
	apply(true, &applied, &failed);
	__atomic_add_fetch(&h->restores, 1, __ATOMIC_RELAXED);
}

static void *agent_main(void *arg)
{
	struct sled_shm_header *h = arg;

	pthread_setname_np(pthread_self(), "sled-agent");
	__atomic_store_n(&h->agent_alive, 1, __ATOMIC_RELEASE);
	for (;;) {
		uint32_t bell = __atomic_load_n(&h->doorbell, __ATOMIC_ACQUIRE);
		struct timespec ts, *timeout = NULL;
		bool on;

		pthread_mutex_lock(&agent_lock);
		if (sled_rt.shm != h) { /* a forked child replaced the block: we are stale */
			pthread_mutex_unlock(&agent_lock);
			return NULL;
		}
		handle_command(h);
		check_heartbeat(h);
		on = any_on();
		pthread_mutex_unlock(&agent_lock);
		if (on) {
			uint64_t ms = h->heartbeat_timeout_ms / 3;

			ts.tv_sec = (time_t)(ms / 1000);
			ts.tv_nsec = (long)(ms % 1000) * 1000000L;
			timeout = &ts;
		}
		syscall(SYS_futex, &h->doorbell, FUTEX_WAIT, bell, timeout, NULL, 0);
	}
	return NULL;
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&agent_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&agent_lock);
}

int sled_agent_start(void)
{
	static bool atfork_done;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int ret;

	if (!atfork_done) {
		/* Fork only between two patches, never in the middle of one. */
		pthread_atfork(fork_prepare, fork_parent, NULL);
		atfork_done = true;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/* The agent must never run the application's signal handlers. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&t, &attr, agent_main, sled_rt.shm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -ret;
}

int sled_agent_stop(void)
{
	struct sled_shm_header *h = sled_rt.shm;
	uint32_t applied = 0, failed = 0;
	int err;

	if (!h)
		return 0;
	/* Under the agent's lock: no command of the daemon can re-patch a site between the
	 * restore and the detach. */
	pthread_mutex_lock(&agent_lock);
	err = apply(true, &applied, &failed);
	sled_sync_threads();
	__atomic_store_n(&h->agent_alive, 0, __ATOMIC_RELEASE);
	sled_rt.shm = NULL;
	pthread_mutex_unlock(&agent_lock);
	/* The agent wakes, sees it no longer serves the runtime's block, and returns. */
	__atomic_add_fetch(&h->doorbell, 1, __ATOMIC_RELEASE);
	futex_wake_all(&h->doorbell);
	return err;
}

void sled_agent_forget_after_fork(void)
{
	/* The child inherited the lock held by fork_prepare, and patched text. */
	pthread_mutex_init(&agent_lock, NULL);
	for (unsigned i = 0; i < SLED_SHM_MAX_SITES; i++) {
		const struct sled_shm_site *s = &sled_rt.sites[i];
		uint8_t cur[5];
		uint64_t at;

		if (s->kind == SLED_SITE_SLOT_FREE || s->state == SLED_STATE_OFF)
			continue;
		at = s->kind == SLED_SITE_SLOT_GUARD ? s->addr : s->addr + 1;
		if (!is_loaded_code(at, 5) || sled_peek(at, cur, 5) || !memcmp(cur, nop5, 5))
			continue;
		/* Single-threaded child: a plain write of all five bytes is safe. */
		sled_poke_raw(at, nop5, 5);
	}
}
