/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pattern.h"
#include "probes.h"

struct probe *probes_add(struct probes *pr, const char *pattern, pid_t pid, const char *binary,
			 uid_t owner)
{
	struct probe *pb = calloc(1, sizeof(*pb)), **tail = &pr->head;

	if (!pb)
		return NULL;
	pb->id = ++pr->next_id;
	snprintf(pb->pattern, sizeof(pb->pattern), "%s", pattern ? pattern : "*");
	pb->pid = pid;
	snprintf(pb->binary, sizeof(pb->binary), "%s", binary ? binary : "");
	pb->owner = owner;
	while (*tail)
		tail = &(*tail)->next;
	*tail = pb;
	return pb;
}

struct probe *probes_find(struct probes *pr, uint32_t id)
{
	for (struct probe *pb = pr->head; pb; pb = pb->next)
		if (pb->id == id)
			return pb;
	return NULL;
}

bool probes_remove(struct probes *pr, uint32_t id)
{
	for (struct probe **pp = &pr->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct probe *pb = *pp;

			*pp = pb->next;
			free(pb);
			return true;
		}
	}
	return false;
}

bool probe_matches(const struct probe *pb, const struct traced_proc *p,
		   const struct sled_object *obj, const struct sled_site *s)
{
	/* Sled mode patches only sites built by our header: a plain stapsdt probe has no
	 * sled after its NOP. */
	if (!s->has_sled_note || pb->retired || pb->uprobe)
		return false;
	if (pb->owner != 0 && pb->owner != p->uid)
		return false;
	if (pb->pid && pb->pid != p->pid)
		return false;
	if (pb->binary[0] && strcmp(pb->binary, obj->path))
		return false;
	return sled_pattern_match(pb->pattern, s->provider, s->name);
}

void slot_figures(const struct traced_proc *p, unsigned slot, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++) {
		const struct sled_ring_header *ring = proc_ring(p, r);

		f->hits += __atomic_load_n(&ring->hits[slot], __ATOMIC_RELAXED);
		f->drops += __atomic_load_n(&ring->drops[slot], __ATOMIC_RELAXED);
		f->filtered += __atomic_load_n(&ring->filtered[slot], __ATOMIC_RELAXED);
		f->sampled += __atomic_load_n(&ring->sampled[slot], __ATOMIC_RELAXED);
		f->limited += __atomic_load_n(&ring->limited[slot], __ATOMIC_RELAXED);
	}
	f->exported = p->meta[slot] ? p->meta[slot]->exported : 0;
}

static void figures_add_delta(struct figures *to, const struct figures *now,
			      const struct figures *base)
{
	to->hits += now->hits - base->hits;
	to->filtered += now->filtered - base->filtered;
	to->sampled += now->sampled - base->sampled;
	to->limited += now->limited - base->limited;
	to->drops += now->drops - base->drops;
	to->exported += now->exported - base->exported;
}

int probe_compile_filter(const struct probe *pb, const char *provider, const char *name,
			 const struct sled_field *fields, unsigned nfields,
			 struct sled_filter_prog *prog, char *err, size_t errlen)
{
	char why[256];

	memset(prog, 0, sizeof(*prog));
	if (!pb->filter[0])
		return 0;
	if (sled_filter_compile(pb->filter, fields, nfields, prog, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%s: %s", provider, name, why);
		return -EINVAL;
	}
	return 0;
}

/* Write a probe's functions into a slot that is off and idle. */
static void set_slot_options(struct traced_proc *p, unsigned slot, const struct probe *pb)
{
	struct sled_shm_site *s = &p->slots[slot];
	const struct slot_meta *m = p->meta[slot];
	char err[256];

	s->sample_every = pb ? pb->sample : 0;
	s->count_only = pb ? pb->count_only : 0;
	s->rate_per_sec = pb ? pb->rate : 0;
	s->rate_state = 0;
	memset(&s->filter, 0, sizeof(s->filter));
	if (pb && m)
		probe_compile_filter(pb, m->provider, m->name, m->fields, m->nfields, &s->filter,
				     err, sizeof(err));
	if (s->filter.ninsns || s->sample_every > 1 || s->count_only || s->rate_per_sec)
		s->flags |= SLED_SITE_F_OPTIONS;
	else
		s->flags &= (uint16_t)~SLED_SITE_F_OPTIONS;
}

/* A slot changes hands: what it counted for its old probe stays with that probe, and the
 * new probe's figures start from the counters as they are now.  The slot is off and idle
 * (hand_over), so the new probe's functions can be written into it. */
static void rebase(struct probes *pr, struct traced_proc *p, unsigned slot, uint32_t probe_id)
{
	struct slot_meta *m = p->meta[slot];
	struct probe *old;
	struct figures now;

	if (!m || m->probe_id == probe_id)
		return;
	slot_figures(p, slot, &now);
	old = m->probe_id ? probes_find(pr, m->probe_id) : NULL;
	if (old)
		figures_add_delta(&old->past, &now, &m->base);
	m->probe_id = probe_id;
	m->base = now;
	if (p->slots[slot].state != SLED_STATE_ON)
		set_slot_options(p, slot, probe_id ? probes_find(pr, probe_id) : NULL);
}

void probes_retire_process(struct probes *pr, struct traced_proc *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		rebase(pr, p, i, 0);
}

/* Wait (briefly) until no thread is recording an event for one of the slots in mask. */
static void wait_quiescent(const struct traced_proc *p, const bool *mask)
{
	/* Up to 200 ms: a thread preempted inside the dispatcher finishes its event as soon as
	 * it runs again; 100 us steps keep the common case (nobody inside) fast. */
	for (int tries = 0; tries < 2000; tries++) {
		bool busy = false;

		for (unsigned r = 0; r < SLED_SHM_MAX_RINGS && !busy; r++) {
			uint32_t in = __atomic_load_n(&proc_ring(p, r)->in_slot, __ATOMIC_ACQUIRE);

			busy = in && in <= SLED_SHM_MAX_SITES && mask[in - 1];
		}
		if (!busy)
			return;
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
}

/*
 * Give every slot to the probe in who[] (0: none) with exact accounting.  Slots leaving a
 * probe are switched off first; once no thread is inside them and their records are
 * drained, their figures are folded into the old probe.  Then slots joining a probe are
 * rebased while still off, and switched on.
 */
static int hand_over(struct probes *pr, struct traced_proc *p, const uint32_t *who)
{
	bool leaving[SLED_SHM_MAX_SITES] = { false };
	bool any = false;
	int ret = 0;

	for (unsigned i = 0; i < p->nslots; i++) {
		const struct slot_meta *m = p->meta[i];

		if (m && m->probe_id && m->probe_id != who[i]) {
			leaving[i] = any = true;
			__atomic_store_n(&p->slots[i].want, 0u, __ATOMIC_RELEASE);
		}
	}
	if (any) {
		ret = procs_apply(p, 2000, NULL, NULL);
		wait_quiescent(p, leaving);
		if (pr->drain)
			pr->drain(p, pr->drain_arg);
	}
	any = false;
	for (unsigned i = 0; i < p->nslots; i++) {
		uint32_t want = who[i] ? 1u : 0u;

		rebase(pr, p, i, who[i]);
		/* Ask the agent only when some slot's wish differs from its state. */
		any |= want != (p->slots[i].state == SLED_STATE_ON);
		__atomic_store_n(&p->slots[i].want, want, __ATOMIC_RELEASE);
	}
	return any ? procs_apply(p, 2000, NULL, NULL) ?: ret : ret;
}

int probes_apply(struct probes *pr, struct traced_proc *p, const struct probe *only,
		 struct apply_result *res)
{
	uint32_t who[SLED_SHM_MAX_SITES] = { 0 };
	bool mine[SLED_SHM_MAX_SITES] = { false };
	struct apply_result r = { 0 };
	int ret;

	for (size_t o = 0; o < p->disc.nobjects; o++) {
		const struct sled_object *obj = &p->disc.objects[o];

		for (size_t i = 0; i < obj->nsites; i++) {
			const struct sled_site *s = &obj->sites[i];

			for (const struct probe *pb = pr->head; pb; pb = pb->next) {
				int slot;

				if (!probe_matches(pb, p, obj, s))
					continue;
				if (pb->filter[0] && s->kind != SLED_SITE_GUARD) {
					struct sled_filter_prog prog;
					char why[256];

					if (probe_compile_filter(pb, s->provider, s->name, s->fields,
								 (unsigned)s->nargs, &prog, why, sizeof(why))) {
						if (pb == only) {
							r.failed++;
							r.error = r.error ? r.error : -EINVAL;
							if (!r.why[0])
								snprintf(r.why, sizeof(r.why), "%s", why);
						}
						continue;
					}
				}
				slot = procs_slot_for(p, obj, s);
				if (slot < 0) {
					if (pb == only) {
						r.failed++;
						r.error = r.error ? r.error : -ENOSPC;
					}
					continue;
				}
				if (pb == only && who[slot] && who[slot] != pb->id) {
					/* One probe per site in sled mode: its functions live in the
					 * site's slot.  Refuse rather than silently share. */
					r.busy++;
					if (!r.busy_why[0])
						snprintf(r.busy_why, sizeof(r.busy_why),
							 "%s:%s is already enabled by probe %u (one probe per "
							 "site in sled mode: disable it first)",
							 s->provider, s->name, who[slot]);
					continue;
				}
				if (!who[slot])
					who[slot] = pb->id;
				if (pb == only)
					mine[slot] = true;
			}
		}
	}
	ret = hand_over(pr, p, who);
	for (unsigned i = 0; i < p->nslots; i++) {
		if (!mine[i])
			continue;
		r.wanted++;
		if (p->slots[i].state == SLED_STATE_ON)
			r.on++;
		else if (p->slots[i].state == SLED_STATE_FAILED) {
			r.failed++;
			if (!r.error)
				r.error = p->slots[i].error;
		}
	}
	if (ret == -ETIMEDOUT && !r.error)
		r.error = ret;
	if (res)
		*res = r;
	return ret;
}

void probes_count(const struct probe *pb, const struct procs *ps, struct probe_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->f = pb->past;
	for (const struct traced_proc *p = ps->head; p; p = p->next) {
		bool any = false;

		for (unsigned i = 0; i < p->nslots; i++) {
			const struct slot_meta *m = p->meta[i];
			struct figures now;

			if (!m || m->probe_id != pb->id)
				continue;
			any = true;
			slot_figures(p, i, &now);
			figures_add_delta(&c->f, &now, &m->base);
			c->sites_on += p->slots[i].state == SLED_STATE_ON;
		}
		c->processes += any;
	}
	c->emitted = c->f.hits - c->f.filtered - c->f.sampled - c->f.limited;
}

void probes_free(struct probes *pr)
{
	while (pr->head) {
		struct probe *pb = pr->head;

		pr->head = pb->next;
		free(pb);
	}
}
