/* SPDX-License-Identifier: MIT */
/*
 * pending: requests that wait on agents, without the event loop waiting.  An enable or
 * disable starts the hand-over in each process it touches (probes_apply_start) and
 * becomes a pending request; the loop advances every process's hand-over a step at a time
 * (pending_tick, every millisecond while anything is pending) and keeps draining and
 * beating meanwhile.  When every process of a request is done (or timed out: a stopped
 * app delays only the requests that touch it), the request's finish function replies.
 * A process that has just started and whose block is not ready yet is a retry, also
 * driven from here.  The client of a pending request sends nothing more until its reply.
 */
#ifndef SLED_PENDING_H
#define SLED_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/core/daemon.h"

/* One process of a request: what its apply planned and, once done, its figures. */
struct pending_proc {
	struct traced_proc *p; /* NULL once it left (its row is dropped) */
	pid_t pid;
	struct apply_result r;
	uint8_t mine[SLED_SHM_MAX_SITES / 8];
};

struct pending_req {
	struct client *c;      /* NULL once the client left: the work ends, no reply */
	/* Every process done: r of each is final; reply (when c) and free ctx. */
	void (*finish)(struct daemon *d, struct pending_req *rq);
	/* A retry instead of processes: called every few ms until it returns true; last is
	 * set on the final call (its time is up). */
	bool (*retry)(struct daemon *d, struct pending_req *rq, bool last);
	uint64_t retry_at_ns, retry_until_ns, retry_period_ns;
	void (*drop)(void *ctx); /* frees ctx when the request ends unfinished (shutdown) */
	void *ctx;
	unsigned n, cap;
	struct pending_proc *procs;
	struct pending_req *next;
};

/* A new request of client c, in arrival order. */
struct pending_req *pending_new(struct daemon *d, struct client *c,
				void (*finish)(struct daemon *, struct pending_req *), void *ctx,
				void (*drop)(void *));
/* Start applying the probes in p for rq (only: the probe whose figures rq reports, or
 * NULL).  Returns the process's entry, with what the plan found already in its r; NULL
 * when out of memory (the apply still runs). */
struct pending_proc *pending_apply(struct daemon *d, struct pending_req *rq,
				   struct traced_proc *p, const struct probe *only);
/* Make rq a retry: retry runs every period_ms until it returns true or until_ms pass. */
void pending_retry(struct pending_req *rq, bool (*retry)(struct daemon *, struct pending_req *,
							 bool),
		   unsigned period_ms, unsigned until_ms);
/* Advance every hand-over and retry; finish the requests that are done. */
void pending_tick(struct daemon *d);
/* Something waits on an agent or a retry: the loop should look again within 1 ms. */
bool pending_busy(const struct daemon *d);
bool pending_client_busy(const struct daemon *d, const struct client *c);
void pending_client_gone(struct daemon *d, const struct client *c);
void pending_proc_gone(struct daemon *d, const struct traced_proc *p);
/*
 * Processes whose agent restored every sled (the daemon was silent past the heartbeat
 * timeout: stopped, stalled, or busy): their standing probes are applied again, counted
 * in reapplies and logged.
 */
void pending_check_restores(struct daemon *d);
/* Forget every pending request without replying (shutdown). */
void pending_free(struct daemon *d);

#endif /* SLED_PENDING_H */
