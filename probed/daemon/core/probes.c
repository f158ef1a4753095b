/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/core/clock.h"
#include "cli/pattern.h"
#include "daemon/core/probes.h"
#include "daemon/sled/aggregate.h"
#include "discovery/objcache.h"

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

struct probe_uprobe *probe_uprobe_part(struct probe *pb)
{
	if (!pb->up)
		pb->up = calloc(1, sizeof(*pb->up));
	return pb->up;
}

const struct probe_uprobe *probe_uprobe_view(const struct probe *pb)
{
	static const struct probe_uprobe none;

	return pb->up ? pb->up : &none;
}

/* The uprobe part and what it holds. */
static void probe_uprobe_free(struct probe_uprobe *up)
{
	if (up && up->binary_obj)
		sled_objcache_put(up->objects, up->binary_obj);
	free(up);
}

bool probes_remove(struct probes *pr, uint32_t id)
{
	for (struct probe **pp = &pr->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct probe *pb = *pp;

			*pp = pb->next;
			probe_uprobe_free(pb->up);
			agg_probe_free(pb);
			free(pb);
			return true;
		}
	}
	return false;
}

void probes_discard(struct probes *pr, uint32_t id)
{
	if (probes_remove(pr, id) && id == pr->next_id)
		pr->next_id--;
}

bool probe_matches(const struct probe *pb, const struct traced_proc *p,
		   const struct sled_process_object *po, const struct sled_site *s)
{
	/* Sled mode patches only sites built by our header: a plain stapsdt probe has no
	 * sled after its NOP. */
	if (!s->has_sled_note || pb->retired || pb->uprobe)
		return false;
	if (pb->owner != 0 && pb->owner != p->uid)
		return false;
	if (pb->pid && pb->pid != p->pid)
		return false;
	if (pb->binary[0] && strcmp(pb->binary, po->path))
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

void lane_figures_since(const struct traced_proc *p, unsigned slot, unsigned lane,
			struct figures *f)
{
	struct figures now;

	memset(f, 0, sizeof(*f));
	lane_figures(p, slot, lane, &now);
	figures_add_delta(f, &now, &p->meta[slot]->lane[lane].base);
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
			     struct probe *pb)
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
	agg_lane_setup(p, slot, lane, pb);
	ln->options = ln->filter.ninsns || ln->sample_every > 1 || ln->count_only ||
		      ln->rate_per_sec || ln->agg[0];
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
	/* One probe that only aggregates: the dispatcher's aggregation path. */
	if (n == 1 && s->lane[last].agg[0] && !s->lane[last].filter.ninsns && s->lane[last].sample_every <= 1 &&
	    !s->lane[last].rate_per_sec && !s->lane[last].count_only)
		return active | SLED_LANES_AGG | last << SLED_LANES_FAST_SHIFT;
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
	agg_lane_release(p, slot, lane, old);
	lm->probe_id = 0;
	lm->base = now;
}

/* Rings whose thread was inside slot's dispatcher when the process went (in_slot). */
static uint64_t in_flight(const struct traced_proc *p, unsigned slot)
{
	uint64_t n = 0;

	for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++) {
		uint32_t in = __atomic_load_n(&proc_ring(p, r)->in_slot, __ATOMIC_ACQUIRE);

		n += in == SLED_IN_SLOT_NESTED || in == slot + 1;
	}
	return n;
}

/*
 * The process is gone (or let go) and its rings are drained.  A thread killed inside the
 * dispatcher, after it counted a hit and before it published the record, leaves an event
 * that was emitted and can never be exported: it is counted as dropped, so that emitted =
 * exported + dropped still holds.  Only as many as the rings that were in flight at that
 * slot: a process cannot make its figures say more than that.
 */
void probes_retire_process(struct probes *pr, struct traced_proc *p)
{
	for (unsigned i = 0; i < p->nslots; i++) {
		uint64_t flying = p->meta[i] ? in_flight(p, i) : 0;

		for (unsigned l = 0; p->meta[i] && l < SLED_SHM_LANES; l++) {
			struct lane_meta *lm = &p->meta[i]->lane[l];
			struct probe *pb = lm->probe_id ? probes_find(pr, lm->probe_id) : NULL;
			struct figures f;
			uint64_t taken, gone;

			if (!lm->probe_id)
				continue;
			lane_figures(p, i, l, &f);
			taken = f.hits - f.filtered - f.sampled - f.limited;
			gone = taken - f.drops - f.exported;
			if (pb && flying && taken > f.drops + f.exported && gone <= flying)
				pb->past.drops += gone;
			lane_release(pr, p, i, l);
		}
	}
}

/*
 * Has every ring been seen outside each slot in leaving at least once?  A thread that
 * enters such a slot afterwards reads its new lanes (the agent's barrier after the
 * command orders that), so nothing more is counted or recorded for the lanes turned off.
 * Other lanes may keep the site busy, hence once per ring, not all at once: seen_out
 * keeps what earlier looks saw.
 */
static bool quiescent(const struct traced_proc *p, const bool *leaving, bool *seen_out)
{
	bool busy = false;

	for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++) {
		/* A hot site is entered again at once: look a few times before giving up. */
		for (int spin = 0; spin < 64 && !seen_out[r]; spin++) {
			uint32_t in = __atomic_load_n(&proc_ring(p, r)->in_slot, __ATOMIC_ACQUIRE);

			/* NESTED: a signal handler's event on top of another, any slot. */
			seen_out[r] = !(in == SLED_IN_SLOT_NESTED ||
					(in && in <= SLED_SHM_MAX_SITES && leaving[in - 1]));
		}
		busy |= !seen_out[r];
	}
	return !busy;
}

static bool holds(const uint32_t *ids, uint32_t id)
{
	for (unsigned l = 0; l < SLED_SHM_LANES; l++)
		if (ids[l] == id)
			return true;
	return false;
}

/* How long the agent has to answer a command, and a thread inside a disabled lane's site
 * to leave it (one preempted in the dispatcher finishes as soon as it runs again). */
#define AGENT_TIMEOUT_NS (2000ull * 1000000ull)
#define QUIESCE_TIMEOUT_NS (200ull * 1000000ull)

/*
 * The hand-over of a process's slots to the probes in who[slot] (up to SLED_SHM_LANES ids,
 * 0: none) with exact accounting, as steps: the agent answers asynchronously and the
 * event loop keeps draining and beating meanwhile.  LANES_OFF: lanes leaving a probe are
 * turned off (the site stays patched while other lanes run) and the agent told.
 * QUIESCE: once no thread is inside the site for them and their records are drained,
 * their figures are folded into the old probe.  LANES_ON: joining probes get free lanes,
 * their functions written and their figures based while the lanes are still off, the
 * lanes are turned on and the agent told.
 */
enum apply_step { APPLY_LANES_OFF, APPLY_QUIESCE, APPLY_LANES_ON };

struct apply_job {
	enum apply_step step;
	bool posted;           /* a command is out: seq */
	bool again;            /* the probes changed meanwhile: plan and run once more */
	uint32_t seq;
	uint64_t deadline_ns;  /* of the current step */
	int ret;               /* the first step's outcome (agent error or -ETIMEDOUT) */
	uint32_t who[SLED_SHM_MAX_SITES][SLED_SHM_LANES];
	bool leaving[SLED_SHM_MAX_SITES];
	bool seen_out[SLED_SHM_MAX_RINGS];
};

static void job_post(struct traced_proc *p, struct apply_job *j, uint64_t now)
{
	j->seq = procs_post(p);
	j->posted = true;
	j->deadline_ns = now + AGENT_TIMEOUT_NS;
}

/* Waiting for the agent: true once it answered or the time is up (ret says which). */
static bool job_answered(struct traced_proc *p, struct apply_job *j, uint64_t now, int *ret)
{
	if (!j->posted) {
		*ret = 0;
		return true;
	}
	if (procs_cmd_done(p, j->seq, ret)) {
		j->posted = false;
		return true;
	}
	if (now < j->deadline_ns)
		return false;
	j->posted = false;
	*ret = -ETIMEDOUT;
	return true;
}

static void lanes_off(struct traced_proc *p, struct apply_job *j, uint64_t now)
{
	uint32_t (*who)[SLED_SHM_LANES] = j->who;
	bool any = false;

	memset(j->leaving, 0, sizeof(j->leaving));
	memset(j->seen_out, 0, sizeof(j->seen_out));
	j->step = APPLY_LANES_OFF;
	j->ret = 0;
	for (unsigned i = 0; i < p->nslots; i++) {
		struct slot_meta *m = p->meta[i];
		uint32_t cur = __atomic_load_n(&p->slots[i].lanes, __ATOMIC_RELAXED), next;

		for (unsigned l = 0; m && l < SLED_SHM_LANES; l++)
			if (m->lane[l].probe_id && !holds(who[i], m->lane[l].probe_id))
				j->leaving[i] = true;
		if (!j->leaving[i] && !(cur & SLED_LANES_ACTIVE & ~lanes_word(p, i)))
			continue;
		/* Lanes active in the block but not ours (a previous daemon's) leave too. */
		j->leaving[i] = any = true;
		next = 0;
		for (unsigned l = 0; m && l < SLED_SHM_LANES; l++)
			if (m->lane[l].probe_id && holds(who[i], m->lane[l].probe_id))
				next |= 1u << l;
		__atomic_store_n(&p->slots[i].lanes, next, __ATOMIC_RELEASE);
		if (!next)
			__atomic_store_n(&p->slots[i].want, 0u, __ATOMIC_RELEASE);
	}
	if (any)
		job_post(p, j, now);
	else
		j->step = APPLY_LANES_ON; /* nothing leaves: straight to the joining lanes */
}

/* Returns whether a command went to the agent. */
static bool lanes_on(struct probes *pr, struct traced_proc *p, struct apply_job *j, uint64_t now)
{
	uint32_t (*who)[SLED_SHM_LANES] = j->who;
	bool any = false;

	for (unsigned i = 0; i < p->nslots; i++) {
		struct slot_meta *m = p->meta[i];
		uint32_t want, word, old;

		for (unsigned l = 0; m && j->leaving[i] && l < SLED_SHM_LANES; l++)
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
		old = __atomic_load_n(&p->slots[i].lanes, __ATOMIC_RELAXED);
		/* Release: a thread that sees a lane active sees its functions too. */
		__atomic_store_n(&p->slots[i].lanes, word, __ATOMIC_RELEASE);
		/* Ask the agent only when some slot's wish differs from its state, or when a
		 * patched site's probes became one plain probe: the agent then points its sled
		 * at the stub's fast part, if it pointed past it. */
		any |= want != (p->slots[i].state == SLED_STATE_ON) ||
		       (want && (word & ~old & SLED_LANES_FAST));
		__atomic_store_n(&p->slots[i].want, want, __ATOMIC_RELEASE);
	}
	if (any)
		job_post(p, j, now);
	return any;
}

/* "p:n already has 4 probes (1, 2, 3, 4), ..." for an enable that finds a site full. */
/* A true one-line reason for a procs_slot_for() failure (why: the 256 bytes of r.why). */
static void slot_failure_why(char *why, const struct traced_proc *p,
			     const struct sled_process_object *po, const struct sled_site *s, int err)
{
	char msg[4400] = "";

	if (err == -EADDRNOTAVAIL)
		snprintf(msg, sizeof(msg), "%s:%s at 0x%llx in %s: not in an executable mapping of "
			 "process %d", s->provider, s->name, (unsigned long long)s->pc, po->path,
			 (int)p->pid);
	else if (err == -EINVAL)
		snprintf(msg, sizeof(msg), "%s:%s in %s: an argument cannot be read (a symbol the "
			 "object's symbol tables lack; see probectl list)", s->provider, s->name,
			 po->path);
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

/* Whether pb's filter or aggregations cannot run at site s (a guard runs neither): the
 * reason in why. */
static bool site_refuses(const struct probe *pb, const struct sled_site *s, char *why,
			 size_t len)
{
	struct sled_filter_prog prog;

	if (s->kind == SLED_SITE_GUARD)
		return false;
	if (pb->filter[0] && probe_compile_filter(pb, s->provider, s->name, s->fields,
						  (unsigned)s->nargs, &prog, why, len))
		return true;
	return pb->aggs && agg_check_site(pb, s->provider, s->name, s->fields,
					  (unsigned)s->nargs, why, len);
}

/* A site the probe asked about could not take it: counted, the first error kept.
 * Whether r has a reason already (else the caller writes one). */
static bool note_failure(struct apply_result *r, int error)
{
	r->failed++;
	r->error = r->error ? r->error : error;
	return r->why[0];
}

/* Which probes each of p's slots should carry (who; a site takes up to SLED_SHM_LANES
 * probes, oldest first), assigning slots as needed; for only, its slots (mine, a bitmap)
 * and what kept it off a site (res). */
static void plan(struct probes *pr, struct traced_proc *p, const struct probe *only,
		 uint32_t (*who)[SLED_SHM_LANES], uint8_t *mine, struct apply_result *res)
{
	struct apply_result r = { 0 };

	memset(who, 0, sizeof(uint32_t) * SLED_SHM_MAX_SITES * SLED_SHM_LANES);
	if (mine)
		memset(mine, 0, SLED_SHM_MAX_SITES / 8);
	for (size_t o = 0; o < p->disc.nobjects; o++) {
		const struct sled_process_object *po = &p->disc.objects[o];
		const struct sled_object *obj = po->obj;

		for (size_t i = 0; i < obj->nsites; i++) {
			const struct sled_site *s = &obj->sites[i];

			for (const struct probe *pb = pr->head; pb; pb = pb->next) {
				char why[400]; /* provider:name: and the compiler's message */
				unsigned k;
				int slot;

				if (!probe_matches(pb, p, po, s))
					continue;
				if (site_refuses(pb, s, why, sizeof(why))) {
					if (pb == only && !note_failure(&r, -EINVAL))
						snprintf(r.why, sizeof(r.why), "%.255s", why);
					continue;
				}
				slot = procs_slot_for(p, po, s);
				if (slot < 0) {
					if (pb == only && !note_failure(&r, slot))
						slot_failure_why(r.why, p, po, s, slot);
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
				if (pb == only && mine)
					mine[slot / 8] |= (uint8_t)(1u << (slot % 8));
			}
		}
	}
	if (res)
		*res = r;
}

bool probes_apply_start(struct probes *pr, struct traced_proc *p, const struct probe *only,
			struct apply_result *res, uint8_t *mine)
{
	struct apply_job *j = p->job;

	if (j) {
		/* The one in progress finishes first, then runs again with the probes as they
		 * are then; this request's own figures come from a plan made now. */
		uint32_t (*who)[SLED_SHM_LANES] = malloc(sizeof(j->who));

		if (who)
			plan(pr, p, only, who, mine, res);
		else if (res)
			memset(res, 0, sizeof(*res));
		free(who);
		j->again = true;
		return true;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		if (res) {
			memset(res, 0, sizeof(*res));
			res->error = -ENOMEM;
		}
		p->apply_ret = -ENOMEM;
		return false;
	}
	if (!p->restores_known) {
		p->restores_seen = __atomic_load_n(&p->shm->restores, __ATOMIC_RELAXED);
		p->restores_known = true;
	}
	p->job = j;
	plan(pr, p, only, j->who, mine, res);
	lanes_off(p, j, sled_clock_monotonic_ns());
	return probes_apply_step(pr, p, sled_clock_monotonic_ns());
}

bool probes_apply_step(struct probes *pr, struct traced_proc *p, uint64_t now)
{
	struct apply_job *j = p->job;
	int ret;

	if (!j)
		return false;
	switch (j->step) {
	case APPLY_LANES_OFF:
		if (!job_answered(p, j, now, &j->ret))
			return true;
		j->step = APPLY_QUIESCE;
		j->deadline_ns = now + QUIESCE_TIMEOUT_NS;
		/* fall through */
	case APPLY_QUIESCE:
		if (!quiescent(p, j->leaving, j->seen_out) && now < j->deadline_ns)
			return true;
		if (pr->drain)
			pr->drain(p, pr->drain_arg);
		j->step = APPLY_LANES_ON;
		if (lanes_on(pr, p, j, now))
			return true;
		ret = 0;
		break;
	case APPLY_LANES_ON:
		if (!j->posted && !lanes_on(pr, p, j, now)) {
			ret = 0; /* nothing left: no command needed */
			break;
		}
		if (!job_answered(p, j, now, &ret))
			return true;
		break;
	default:
		return false;
	}
	if (j->again) {
		j->again = false;
		plan(pr, p, NULL, j->who, NULL, NULL);
		lanes_off(p, j, now);
		return probes_apply_step(pr, p, now);
	}
	p->apply_ret = ret ? ret : j->ret;
	p->job = NULL;
	free(j);
	return false;
}

bool probes_apply_quiescing(const struct traced_proc *p)
{
	return p->job && p->job->step == APPLY_QUIESCE;
}

bool probes_apply_fresh_wait(const struct traced_proc *p, uint64_t now, uint64_t fresh_ns,
			     uint32_t **word, uint32_t *val)
{
	const struct apply_job *j = p->job;

	if (!j || !j->posted || j->step == APPLY_QUIESCE ||
	    now - (j->deadline_ns - AGENT_TIMEOUT_NS) >= fresh_ns)
		return false;
	*word = &p->shm->cmd.done_seq;
	*val = __atomic_load_n(*word, __ATOMIC_ACQUIRE);
	return (int32_t)(*val - j->seq) < 0;
}

void probes_apply_result(const struct traced_proc *p, const uint8_t *mine, struct apply_result *r)
{
	for (unsigned i = 0; i < p->nslots; i++) {
		if (!(mine[i / 8] & (1u << (i % 8))))
			continue;
		r->wanted++;
		if (p->slots[i].state == SLED_STATE_ON)
			r->on++;
		else if (p->slots[i].state == SLED_STATE_FAILED) {
			r->failed++;
			if (!r->error)
				r->error = p->slots[i].error;
		}
	}
	if (p->apply_ret == -ETIMEDOUT && !r->error)
		r->error = p->apply_ret;
}

int probes_apply(struct probes *pr, struct traced_proc *p, const struct probe *only,
		 struct apply_result *res)
{
	uint8_t mine[SLED_SHM_MAX_SITES / 8];

	/* Waits here: only where nothing else may run meanwhile (shutdown). */
	for (bool busy = probes_apply_start(pr, p, only, res, mine); busy;
	     busy = probes_apply_step(pr, p, sled_clock_monotonic_ns())) {
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
	if (res)
		probes_apply_result(p, mine, res);
	return p->apply_ret;
}

void probes_each_lane(const struct probe *pb, const struct procs *ps,
		      void (*visit)(const struct probe_lane *pl, void *arg), void *arg)
{
	for (const struct traced_proc *p = ps->head; p; p = p->next) {
		for (unsigned i = 0; i < p->nslots; i++) {
			const struct slot_meta *m = p->meta[i];

			for (unsigned l = 0; m && l < SLED_SHM_LANES; l++) {
				struct probe_lane pl = { .proc = p, .slot = i, .lane = l, .meta = m };

				if (m->lane[l].probe_id != pb->id)
					continue;
				lane_figures_since(p, i, l, &pl.since);
				visit(&pl, arg);
			}
		}
	}
}

struct count_walk {
	struct probe_counts *c;
	const struct traced_proc *last;   /* lanes come process by process */
};

static void count_lane(const struct probe_lane *pl, void *arg)
{
	struct count_walk *w = arg;

	if (pl->proc != w->last) {
		w->last = pl->proc;
		w->c->processes++;
	}
	figures_add(&w->c->f, &pl->since);
	w->c->sites_on += pl->proc->slots[pl->slot].state == SLED_STATE_ON;
}

void probes_count(const struct probe *pb, const struct procs *ps, struct probe_counts *c)
{
	struct count_walk w = { .c = c };

	memset(c, 0, sizeof(*c));
	c->f = pb->past;
	probes_each_lane(pb, ps, count_lane, &w);
	c->emitted = c->f.hits - c->f.filtered - c->f.sampled - c->f.limited;
}

void probes_free(struct probes *pr)
{
	while (pr->head) {
		struct probe *pb = pr->head;

		pr->head = pb->next;
		probe_uprobe_free(pb->up);
		agg_probe_free(pb);
		free(pb);
	}
}
