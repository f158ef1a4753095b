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

void lane_figures(const struct traced_proc *p, unsigned slot, unsigned lane, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++) {
		const struct sled_lane_counters *c = &proc_ring(p, r)->lanes[slot][lane];

		f->hits += __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
		f->drops += __atomic_load_n(&c->drops, __ATOMIC_RELAXED);
		f->filtered += __atomic_load_n(&c->filtered, __ATOMIC_RELAXED);
		f->sampled += __atomic_load_n(&c->sampled, __ATOMIC_RELAXED);
		f->limited += __atomic_load_n(&c->limited, __ATOMIC_RELAXED);
	}
	f->exported = p->meta[slot] ? p->meta[slot]->lane[lane].exported : 0;
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

/*
 * Write a probe's functions into a lane that is inactive and quiet (no thread inside the
 * site for it: hand_over), and restart the lane's per-thread state: --sample counts from
 * the probe's first hit, --rate from an empty window.  The rings' counters are the
 * producers' to write; a quiet lane is the one moment no producer touches them.
 */
static void set_lane_options(struct traced_proc *p, unsigned slot, unsigned lane,
			     const struct probe *pb)
{
	struct sled_shm_lane *ln = &p->slots[slot].lane[lane];
	const struct slot_meta *m = p->meta[slot];
	char err[400]; /* unused: probes_apply checked that the filter compiles */

	ln->sample_every = pb->sample;
	ln->count_only = pb->count_only;
	ln->rate_per_sec = pb->rate;
	ln->rate_state = 0;
	memset(&ln->filter, 0, sizeof(ln->filter));
	if (m)
		probe_compile_filter(pb, m->provider, m->name, m->fields, m->nfields, &ln->filter,
				     err, sizeof(err));
	ln->options = ln->filter.ninsns || ln->sample_every > 1 || ln->count_only || ln->rate_per_sec;
	for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++)
		proc_ring(p, r)->lanes[slot][lane].sample_ctr = 0;
}

/* The slot's lanes word for the lanes the daemon has given to probes. */
static uint32_t lanes_word(const struct traced_proc *p, unsigned slot)
{
	const struct slot_meta *m = p->meta[slot];
	const struct sled_shm_site *s = &p->slots[slot];
	uint32_t active = 0;
	unsigned n = 0, last = 0;

	for (unsigned l = 0; m && l < SLED_SHM_LANES; l++) {
		if (!m->lane[l].probe_id)
			continue;
		active |= 1u << l;
		n++;
		last = l;
	}
	/* One probe with no functions on an integer-only site: the dispatcher's plain path. */
	if (n == 1 && !s->lane[last].options && !(s->flags & SLED_SITE_F_STRINGS))
		return active | SLED_LANES_FAST | last << SLED_LANES_FAST_SHIFT;
	return active;
}

/* A lane leaves its probe: what it counted stays with that probe.  The lane is inactive,
 * quiet and drained (hand_over), or its process is gone. */
static void lane_release(struct probes *pr, struct traced_proc *p, unsigned slot, unsigned lane)
{
	struct lane_meta *lm = &p->meta[slot]->lane[lane];
	struct probe *old = lm->probe_id ? probes_find(pr, lm->probe_id) : NULL;
	struct figures now;

	lane_figures(p, slot, lane, &now);
	if (old)
		figures_add_delta(&old->past, &now, &lm->base);
	lm->probe_id = 0;
	lm->base = now;
}

void probes_retire_process(struct probes *pr, struct traced_proc *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		for (unsigned l = 0; p->meta[i] && l < SLED_SHM_LANES; l++)
			if (p->meta[i]->lane[l].probe_id)
				lane_release(pr, p, i, l);
}

/*
 * Wait (briefly) until every ring has been seen outside each slot in mask at least once:
 * a thread that enters such a slot afterwards reads its new lanes (the agent's barrier
 * after the command orders that), so nothing more is counted or recorded for the lanes
 * turned off.  Other lanes may keep the site busy, hence once per ring, not all at once.
 */
static void wait_quiescent(const struct traced_proc *p, const bool *mask)
{
	bool seen_out[SLED_SHM_MAX_RINGS] = { false };

	/* Up to 200 ms: a thread preempted inside the dispatcher finishes its event as soon as
	 * it runs again; 100 us steps keep the common case (nobody inside) fast. */
	for (int tries = 0; tries < 2000; tries++) {
		bool busy = false;

		for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++) {
			/* A hot site is entered again at once: look a few times before sleeping. */
			for (int spin = 0; spin < 64 && !seen_out[r]; spin++) {
				uint32_t in = __atomic_load_n(&proc_ring(p, r)->in_slot, __ATOMIC_ACQUIRE);

				/* NESTED: a signal handler's event on top of another, any slot. */
				seen_out[r] = !(in == SLED_IN_SLOT_NESTED ||
						(in && in <= SLED_SHM_MAX_SITES && mask[in - 1]));
			}
			busy |= !seen_out[r];
		}
		if (!busy)
			return;
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
}

static bool holds(const uint32_t *ids, uint32_t id)
{
	for (unsigned l = 0; l < SLED_SHM_LANES; l++)
		if (ids[l] == id)
			return true;
	return false;
}

/*
 * Give every slot the probes in who[slot] (up to SLED_SHM_LANES ids, 0: none) with exact
 * accounting.  Lanes leaving a probe are turned off first (the site stays patched while
 * other lanes run); once no thread is inside the site for them and their records are
 * drained, their figures are folded into the old probe.  Then joining probes get free
 * lanes, their functions written and their figures based while the lanes are still off,
 * and the lanes are turned on.
 */
static int hand_over(struct probes *pr, struct traced_proc *p, uint32_t (*who)[SLED_SHM_LANES])
{
	bool leaving[SLED_SHM_MAX_SITES] = { false };
	bool any = false;
	int ret = 0;

	for (unsigned i = 0; i < p->nslots; i++) {
		struct slot_meta *m = p->meta[i];
		uint32_t cur = __atomic_load_n(&p->slots[i].lanes, __ATOMIC_RELAXED), next;

		for (unsigned l = 0; m && l < SLED_SHM_LANES; l++)
			if (m->lane[l].probe_id && !holds(who[i], m->lane[l].probe_id))
				leaving[i] = true;
		if (!leaving[i] && !(cur & SLED_LANES_ACTIVE & ~lanes_word(p, i)))
			continue;
		/* Lanes active in the block but not ours (a previous daemon's) leave too. */
		leaving[i] = any = true;
		next = 0;
		for (unsigned l = 0; m && l < SLED_SHM_LANES; l++)
			if (m->lane[l].probe_id && holds(who[i], m->lane[l].probe_id))
				next |= 1u << l;
		__atomic_store_n(&p->slots[i].lanes, next, __ATOMIC_RELEASE);
		if (!next)
			__atomic_store_n(&p->slots[i].want, 0u, __ATOMIC_RELEASE);
	}
	if (any) {
		ret = procs_apply(p, 2000, NULL, NULL);
		wait_quiescent(p, leaving);
		if (pr->drain)
			pr->drain(p, pr->drain_arg);
	}
	any = false;
	for (unsigned i = 0; i < p->nslots; i++) {
		struct slot_meta *m = p->meta[i];
		uint32_t want, word;

		for (unsigned l = 0; m && leaving[i] && l < SLED_SHM_LANES; l++)
			if (m->lane[l].probe_id && !holds(who[i], m->lane[l].probe_id))
				lane_release(pr, p, i, l);
		for (unsigned k = 0; m && k < SLED_SHM_LANES && who[i][k]; k++) {
			struct probe *pb = probes_find(pr, who[i][k]);
			unsigned l;

			if (!pb)
				continue;
			for (l = 0; l < SLED_SHM_LANES && m->lane[l].probe_id != pb->id; l++)
				;
			if (l < SLED_SHM_LANES)
				continue; /* already there */
			for (l = 0; l < SLED_SHM_LANES && m->lane[l].probe_id; l++)
				;
			if (l == SLED_SHM_LANES)
				break;
			set_lane_options(p, i, l, pb);
			lane_figures(p, i, l, &m->lane[l].base);
			m->lane[l].probe_id = pb->id;
		}
		word = lanes_word(p, i);
		want = (word & SLED_LANES_ACTIVE) ? 1u : 0u;
		/* Release: a thread that sees a lane active sees its functions too. */
		__atomic_store_n(&p->slots[i].lanes, word, __ATOMIC_RELEASE);
		/* Ask the agent only when some slot's wish differs from its state. */
		any |= want != (p->slots[i].state == SLED_STATE_ON);
		__atomic_store_n(&p->slots[i].want, want, __ATOMIC_RELEASE);
	}
	return any ? procs_apply(p, 2000, NULL, NULL) ?: ret : ret;
}

/* "p:n already has 4 probes (1, 2, 3, 4), ..." for an enable that finds a site full. */
/* A true one-line reason for a procs_slot_for() failure (why: the 256 bytes of r.why). */
static void slot_failure_why(char *why, const struct traced_proc *p,
			     const struct sled_object *obj, const struct sled_site *s, int err)
{
	char msg[4400] = "";

	if (err == -EADDRNOTAVAIL)
		snprintf(msg, sizeof(msg), "%s:%s at 0x%llx in %s: not in an executable mapping of "
			 "process %d", s->provider, s->name, (unsigned long long)s->pc, obj->path,
			 (int)p->pid);
	else if (err == -EINVAL)
		snprintf(msg, sizeof(msg), "%s:%s in %s: an argument cannot be read (a symbol the "
			 "object's symbol tables lack; see probectl list)", s->provider, s->name,
			 obj->path);
	else if (err == -ENOSPC)
		snprintf(msg, sizeof(msg), "process %d: its site table is full (%d sites)",
			 (int)p->pid, SLED_SHM_MAX_SITES);
	snprintf(why, 256, "%.255s", msg);
}

static void busy_reason(struct apply_result *r, const struct sled_site *s, const uint32_t *ids)
{
	char list[64] = "";
	size_t len = 0;

	for (unsigned l = 0; l < SLED_SHM_LANES && len < sizeof(list); l++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%u", l ? ", " : "", ids[l]);
	snprintf(r->busy_why, sizeof(r->busy_why),
		 "%.48s:%.48s already has %d probes (%s), the most a site takes in sled mode: disable "
		 "one first", s->provider, s->name, SLED_SHM_LANES, list);
}

int probes_apply(struct probes *pr, struct traced_proc *p, const struct probe *only,
		 struct apply_result *res)
{
	uint32_t who[SLED_SHM_MAX_SITES][SLED_SHM_LANES] = { { 0 } };
	bool mine[SLED_SHM_MAX_SITES] = { false };
	struct apply_result r = { 0 };
	int ret;

	for (size_t o = 0; o < p->disc.nobjects; o++) {
		const struct sled_object *obj = &p->disc.objects[o];

		for (size_t i = 0; i < obj->nsites; i++) {
			const struct sled_site *s = &obj->sites[i];

			for (const struct probe *pb = pr->head; pb; pb = pb->next) {
				unsigned k;
				int slot;

				if (!probe_matches(pb, p, obj, s))
					continue;
				if (pb->filter[0] && s->kind != SLED_SITE_GUARD) {
					struct sled_filter_prog prog;
					char why[400]; /* provider:name: and the compiler's message */

					if (probe_compile_filter(pb, s->provider, s->name, s->fields,
								 (unsigned)s->nargs, &prog, why, sizeof(why))) {
						if (pb == only) {
							r.failed++;
							r.error = r.error ? r.error : -EINVAL;
							if (!r.why[0])
								snprintf(r.why, sizeof(r.why), "%.255s", why);
						}
						continue;
					}
				}
				slot = procs_slot_for(p, obj, s);
				if (slot < 0) {
					if (pb == only) {
						r.failed++;
						r.error = r.error ? r.error : slot;
						if (!r.why[0])
							slot_failure_why(r.why, p, obj, s, slot);
					}
					continue;
				}
				for (k = 0; k < SLED_SHM_LANES && who[slot][k] && who[slot][k] != pb->id; k++)
					;
				if (k == SLED_SHM_LANES) {
					/* Every lane is taken, by older probes (they keep their places). */
					if (pb == only && !r.busy++)
						busy_reason(&r, s, who[slot]);
					continue;
				}
				who[slot][k] = pb->id;
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

			for (unsigned l = 0; m && l < SLED_SHM_LANES; l++) {
				struct figures now;

				if (m->lane[l].probe_id != pb->id)
					continue;
				any = true;
				lane_figures(p, i, l, &now);
				figures_add_delta(&c->f, &now, &m->lane[l].base);
				c->sites_on += p->slots[i].state == SLED_STATE_ON;
			}
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
