/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sled/tracepoint.h>

#include "daemon/control/report.h"
#include "daemon/core/clock.h"
#include "daemon/core/daemon.h"
#include "daemon/core/loss.h"

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_str(struct sled_event_field *f, const char *name, const char *s)
{
	f->name = name;
	f->type = SLED_T_STRING;
	f->v.str.ptr = s;
	f->v.str.len = (uint32_t)strlen(s);
	f->v.str.truncated = false;
}

/* The record of count events pb lost over interval_ns. */
static void emit_loss(struct daemon *d, const struct probe *pb, uint64_t count,
		      uint64_t interval_ns)
{
	char provider[256], *name;
	struct sled_event ev = { .provider = "sled", .name = "lost", .mode = "sled" };

	/* The pattern's provider and name, wildcards kept: what the probe covers. */
	snprintf(provider, sizeof(provider), "%s", pb->pattern);
	name = strchr(provider, ':');
	if (name)
		*name++ = 0;
	ev.ts_ns = realtime_ns();
	ev.pid = pb->pid;
	ev.nfields = 6;
	sled_event_field_set(&ev.fields[0], "probe", SLED_T_U32, pb->id);
	set_str(&ev.fields[1], "pattern", pb->pattern);
	set_str(&ev.fields[2], "provider", provider);
	set_str(&ev.fields[3], "name", name ? name : "*");
	sled_event_field_set(&ev.fields[4], "count", SLED_T_U64, count);
	sled_event_field_set(&ev.fields[5], "interval_ns", SLED_T_U64, interval_ns);
	for (unsigned i = 0; i < d->noutputs; i++)
		sled_output_write(d->outputs[i], &ev);
	server_tail_event(d, &ev, pb->owner);
}

/* Emit pb's drops since the last look; true if there were some. */
static bool loss_probe(struct daemon *d, struct probe *pb, uint64_t now_ns)
{
	struct probe_report r;
	uint64_t interval, count;

	report_probe_figures(pb, d, &r);
	/* The first look at a probe covers the at most one second since its enable. */
	interval = pb->loss_seen_ns ? now_ns - pb->loss_seen_ns : 1000000000ull;
	count = r.dropped > pb->loss_seen ? r.dropped - pb->loss_seen : 0;
	pb->drops_per_sec = count && interval ? (uint64_t)((double)count * 1e9 / (double)interval) : 0;
	if (count)
		emit_loss(d, pb, count, interval ? interval : 1);
	pb->loss_seen = r.dropped;
	pb->loss_seen_ns = now_ns;
	return count != 0;
}

static void flush_all(struct daemon *d)
{
	for (unsigned i = 0; i < d->noutputs; i++)
		sled_output_flush(d->outputs[i]);
	server_flush_tails(d);
}

void loss_tick(struct daemon *d, uint64_t now_ns)
{
	bool any = false;

	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		if (!pb->retired)
			any |= loss_probe(d, pb, now_ns);
	if (any)
		flush_all(d);
}

void loss_final(struct daemon *d, struct probe *pb)
{
	if (loss_probe(d, pb, sled_clock_monotonic_ns()))
		flush_all(d);
}
