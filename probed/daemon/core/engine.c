/* SPDX-License-Identifier: MIT */
/* engine: see engine.h. */
#include <stdio.h>
#include <sys/epoll.h>

#include "daemon/core/daemon.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "daemon/core/pending.h"
#include "daemon/sled/drain.h"
#include "daemon/uprobe/uprobe.h"

static void sink(const struct sled_event *ev, const struct traced_proc *p, void *arg)
{
	struct daemon *d = arg;

	for (unsigned i = 0; i < d->noutputs; i++)
		sled_output_write(d->outputs[i], ev);
	server_tail_event(d, ev, p->uid);
}

/* Uprobe-mode events: tail clients see them when they own the probe (or are root). */
static void sink_uprobe(const struct sled_event *ev, uint32_t probe_id, void *arg)
{
	struct daemon *d = arg;
	struct probe *pb = probes_find(&d->probes, probe_id);

	for (unsigned i = 0; i < d->noutputs; i++)
		sled_output_write(d->outputs[i], ev);
	server_tail_event(d, ev, pb ? pb->owner : 0);
}

int daemon_uprobe(struct daemon *d, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	if (d->uprobe)
		return 0;
	ret = uprobe_open(&d->uprobe, err, errlen);
	if (ret)
		return ret;
	ev.data.fd = uprobe_fd(d->uprobe);
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	log_info(d, "uprobe mode loaded");
	return 0;
}

/* Sled mode: every attached process's rings, and how full the fullest was. */
static uint64_t drain_sled(struct daemon *d)
{
	uint64_t n = 0;

	d->fill_permille = 0;
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		uint32_t fill;

		n += drain_process(p, &d->clock, sink, d);
		fill = p->ring_data ? (uint32_t)(p->fill_pass * 1000 / p->ring_data) : 0;
		if (fill > d->fill_permille)
			d->fill_permille = fill;
	}
	return n;
}

/* Uprobe mode: the BPF ring buffer, once loaded. */
static uint64_t drain_uprobe(struct daemon *d)
{
	uint64_t n = 0;

	if (d->uprobe) {
		uint64_t got;

		do {
			got = uprobe_drain(d->uprobe, sink_uprobe, d);
			n += got;
		} while (got == UPROBE_DRAIN_BUDGET);
	}
	return n;
}

/* Each mode's drain, in turn: a new mode is one more entry (its events through a sink
 * above), not one more branch below. */
static uint64_t (*const mode_drains[])(struct daemon *d) = { drain_sled, drain_uprobe };

uint64_t daemon_drain(struct daemon *d)
{
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(mode_drains) / sizeof(mode_drains[0]); i++)
		n += mode_drains[i](d);
	/* Unconditionally: events drained elsewhere (a process leaving, a slot changing
	 * hands) sit in the buffers too.  Flushing an empty buffer costs nothing. */
	for (unsigned i = 0; i < d->noutputs; i++)
		sled_output_flush(d->outputs[i]);
	server_flush_tails(d);
	d->events += n;
	return n;
}

void daemon_apply_all(struct daemon *d, struct traced_proc *p)
{
	if (d->probes.head || p->nslots)
		probes_apply_start(&d->probes, p, NULL, NULL, NULL);
}

/* A process leaves: what it wrote is still read and exported before it is forgotten. */
static void drain_before_free(struct traced_proc *p, void *arg)
{
	struct daemon *d = arg;

	drain_process(p, &d->clock, sink, d);
	pending_proc_gone(d, p);
	probes_retire_process(&d->probes, p);
	if (p->why[0])
		fprintf(stderr, "probed: process %d detached: %s\n", (int)p->pid, p->why);
	else
		log_info(d, "process %d detached", (int)p->pid);
}

void daemon_drain_one(struct traced_proc *p, void *arg)
{
	struct daemon *d = arg;

	d->events += drain_process(p, &d->clock, sink, d);
}

void daemon_reap(struct daemon *d)
{
	procs_check_alive(&d->procs);
	procs_reap(&d->procs, drain_before_free, d);
}
