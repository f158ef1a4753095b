/* SPDX-License-Identifier: MIT */
/* pending: see pending.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "daemon/core/clock.h"
#include "daemon/core/log.h"
#include "daemon/core/pending.h"

#define MS_NS 1000000ull

struct pending_req *pending_new(struct daemon *d, struct client *c,
				void (*finish)(struct daemon *, struct pending_req *), void *ctx,
				void (*drop)(void *))
{
	struct pending_req *rq = calloc(1, sizeof(*rq)), **tail = &d->pending;

	if (!rq)
		return NULL;
	rq->c = c;
	rq->finish = finish;
	rq->ctx = ctx;
	rq->drop = drop;
	while (*tail)
		tail = &(*tail)->next;
	*tail = rq;
	return rq;
}

struct pending_proc *pending_apply(struct daemon *d, struct pending_req *rq,
				   struct traced_proc *p, const struct probe *only)
{
	struct pending_proc *e;

	if (rq->n == rq->cap) {
		unsigned cap = rq->cap ? rq->cap * 2 : 8;
		struct pending_proc *grown = realloc(rq->procs, cap * sizeof(*grown));

		if (!grown) {
			probes_apply_start(&d->probes, p, NULL, NULL, NULL);
			return NULL;
		}
		rq->procs = grown;
		rq->cap = cap;
	}
	e = &rq->procs[rq->n++];
	memset(e, 0, sizeof(*e));
	e->p = p;
	e->pid = p->pid;
	probes_apply_start(&d->probes, p, only, &e->r, e->mine);
	return e;
}

void pending_retry(struct pending_req *rq, bool (*retry)(struct daemon *, struct pending_req *,
							 bool),
		   unsigned period_ms, unsigned until_ms)
{
	uint64_t now = sled_clock_monotonic_ns();

	rq->retry = retry;
	rq->retry_period_ns = period_ms * MS_NS;
	rq->retry_at_ns = now + rq->retry_period_ns;
	rq->retry_until_ns = now + until_ms * MS_NS;
}

static bool req_done(const struct pending_req *rq)
{
	if (rq->retry)
		return false;
	for (unsigned i = 0; i < rq->n; i++)
		if (rq->procs[i].p && rq->procs[i].p->job)
			return false;
	return true;
}

static void req_free(struct pending_req *rq)
{
	free(rq->procs);
	free(rq);
}

static void unlink_req(struct daemon *d, struct pending_req *rq)
{
	for (struct pending_req **pp = &d->pending; *pp; pp = &(*pp)->next) {
		if (*pp == rq) {
			*pp = rq->next;
			return;
		}
	}
}

/* Retries that are due.  Returns whether one ran: it may have added requests. */
static bool run_retries(struct daemon *d, uint64_t now)
{
	for (struct pending_req *rq = d->pending; rq; rq = rq->next) {
		bool last;

		if (!rq->retry || now < rq->retry_at_ns)
			continue;
		if (!rq->c) { /* nobody waits for it any more */
			rq->retry = NULL;
			return true;
		}
		last = now >= rq->retry_until_ns;
		rq->retry_at_ns = now + rq->retry_period_ns;
		if (rq->retry(d, rq, last) || last)
			rq->retry = NULL;
		return true;
	}
	return false;
}

/*
 * An agent usually answers within tens of microseconds of its doorbell, and a thread
 * inside a site leaves it as soon as it runs.  Rather than leave every step of a
 * hand-over to the next millisecond tick, a tick waits a little, WAIT_NS in all: for the
 * answer to a command just posted (less than FRESH_NS ago) on the futex the agent wakes,
 * and for threads to leave a site in short naps.  A stopped or slow agent costs the loop
 * that once per command, then is only looked at from the ticks.
 */
#define FRESH_NS (2 * MS_NS)
#define WAIT_NS (500 * 1000ull)
#define QUIESCE_NAP_NS (20 * 1000ull)

static void step_jobs(struct daemon *d)
{
	uint64_t now = sled_clock_monotonic_ns(), until = now + WAIT_NS;

	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		if (!p->job || p->gone)
			continue;
		while (probes_apply_step(&d->probes, p, now) && now < until) {
			uint64_t left = until - now;
			uint32_t *word, val;

			if (probes_apply_fresh_wait(p, now, FRESH_NS, &word, &val)) {
				struct timespec ts = { 0, (long)left };

				syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
			} else if (probes_apply_quiescing(p)) {
				struct timespec ts = { 0, (long)(left < QUIESCE_NAP_NS ? left
										: QUIESCE_NAP_NS) };

				nanosleep(&ts, NULL);
			} else {
				break;
			}
			now = sled_clock_monotonic_ns();
		}
	}
}

void pending_tick(struct daemon *d)
{
	uint64_t now = sled_clock_monotonic_ns();
	bool again = true;

	step_jobs(d);
	while (run_retries(d, now))
		;
	/* Finishing a request reads its client's next request, which may add one: look from
	 * the start after each. */
	while (again) {
		again = false;
		for (struct pending_req *rq = d->pending; rq; rq = rq->next) {
			struct client *c = rq->c;

			if (!req_done(rq))
				continue;
			unlink_req(d, rq);
			for (unsigned i = 0; i < rq->n; i++)
				if (rq->procs[i].p)
					probes_apply_result(rq->procs[i].p, rq->procs[i].mine,
							    &rq->procs[i].r);
			if (rq->finish)
				rq->finish(d, rq);
			else if (rq->drop)
				rq->drop(rq->ctx);
			req_free(rq);
			if (c && !pending_client_busy(d, c))
				server_client_resume(d, c);
			again = true;
			break;
		}
	}
}

bool pending_busy(const struct daemon *d)
{
	if (d->pending)
		return true;
	for (const struct traced_proc *p = d->procs.head; p; p = p->next)
		if (p->job && !p->gone)
			return true;
	return false;
}

bool pending_client_busy(const struct daemon *d, const struct client *c)
{
	for (const struct pending_req *rq = d->pending; rq; rq = rq->next)
		if (rq->c == c)
			return true;
	return false;
}

void pending_client_gone(struct daemon *d, const struct client *c)
{
	for (struct pending_req *rq = d->pending; rq; rq = rq->next)
		if (rq->c == c)
			rq->c = NULL;
}

void pending_proc_gone(struct daemon *d, const struct traced_proc *p)
{
	for (struct pending_req *rq = d->pending; rq; rq = rq->next)
		for (unsigned i = 0; i < rq->n; i++)
			if (rq->procs[i].p == p)
				rq->procs[i].p = NULL;
}

void pending_check_restores(struct daemon *d)
{
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		uint32_t restores;
		bool wanted = false, lost = false;

		if (p->gone || p->job)
			continue;
		restores = __atomic_load_n(&p->shm->restores, __ATOMIC_RELAXED);
		if (!p->restores_known) {
			p->restores_seen = restores;
			p->restores_known = true;
		}
		for (unsigned i = 0; i < p->nslots; i++) {
			bool want = __atomic_load_n(&p->slots[i].want, __ATOMIC_ACQUIRE);

			wanted |= want;
			lost |= want && __atomic_load_n(&p->slots[i].state, __ATOMIC_ACQUIRE) ==
						SLED_STATE_OFF;
		}
		/* A slot off that should be on, with every command answered: restored too (the
		 * agent counts the restore just after it). */
		if (restores == p->restores_seen && !(lost && procs_cmd_idle(p)))
			continue;
		p->restores_seen = restores;
		if (!wanted)
			continue;
		p->reapplies++;
		log_info(d, "process %d: its agent restored every sled (restores: %u; the daemon "
			 "was silent for more than %u ms): re-applying the standing probes (re-apply "
			 "%u)", (int)p->pid, restores, p->shm->heartbeat_timeout_ms, p->reapplies);
		probes_apply_start(&d->probes, p, NULL, NULL, NULL);
	}
}

void pending_free(struct daemon *d)
{
	while (d->pending) {
		struct pending_req *rq = d->pending;

		d->pending = rq->next;
		if (rq->drop)
			rq->drop(rq->ctx);
		req_free(rq);
	}
}
