/* SPDX-License-Identifier: MIT */
/*
 * probes: the enables the daemon keeps.  A probe is a pattern plus a scope (one pid, the
 * processes mapping one binary or library, or every process) and an owner; it applies to
 * the processes present when it is made and to every process attached later.
 */
#ifndef SLED_PROBES_H
#define SLED_PROBES_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "filter/filter.h"
#include "daemon/sled/procs.h"

struct probe {
	uint32_t id;
	char pattern[256];
	pid_t pid;               /* 0: any */
	char binary[PATH_MAX];   /* "": any object */
	uid_t owner;             /* who made it: non-root owners reach only their processes */
	/* Probe functions (sled mode evaluates them in the dispatcher). */
	char filter[512];        /* "" for none */
	uint32_t sample;         /* one in N, 0/1 for all */
	uint64_t rate;           /* records per second per process, 0 for no limit */
	bool count_only;
	struct probe_aggs *aggs; /* --aggregate: NULL for none (aggregate.h) */
	bool retired;            /* being disabled: matches nothing, kept for its last figures */
	bool uprobe;             /* uprobe mode: kernel uprobes + BPF, not slots */
	/* No scope, with uprobes (uprobe_auto.c): auto mode's processes without libsled, or
	 * with uprobe set, every process; per process, present and future. */
	bool auto_uprobe;
	/* Figures of slots that left the probe (process exited, slot re-assigned). */
	struct figures past;
	/* Uprobe mode's part: NULL until the probe has uprobes (probe_uprobe_part). */
	struct probe_uprobe *up;
	/* Loss records (loss.c): drops at the last look, when, and the rate since. */
	uint64_t loss_seen, loss_seen_ns, drops_per_sec;
	struct probe *next;
};

/* A probe's uprobe-mode state, owned by the uprobe part (uprobe/, control/enable_uprobe.c's
 * enable_uprobe), freed with the probe. */
struct probe_uprobe {
	unsigned nhandles;       /* one per (object, provider:name) attached (-b, -p) */
	uint64_t start_time;     /* -p: the process's start, to see it exit */
	int handles[1024];       /* up to 1024 provider:names per uprobe-mode enable */
	/* Figures of uprobe attaches released when their process exited (uprobe_auto.c, and
	 * a -p uprobe probe's own: uprobe_release_exited). */
	struct figures upast;
	/* -b: the binary's parsed sites, a reference into objects held while the probe
	 * stands, so that another enable of the same unchanged file does not parse it again
	 * (NULL: none held). */
	const struct sled_object *binary_obj;
	struct sled_objcache *objects;
};

/* pb's uprobe part, made on first use; NULL without memory. */
struct probe_uprobe *probe_uprobe_part(struct probe *pb);
/* pb's uprobe part to read: an empty one when it has none. */
const struct probe_uprobe *probe_uprobe_view(const struct probe *pb);

struct probes {
	struct probe *head;
	uint32_t next_id;
	/* Drains a process's rings into the outputs: called before a slot changes hands, so
	 * that every record is counted for the probe that was on when it was made. */
	void (*drain)(struct traced_proc *p, void *arg);
	void *drain_arg;
};

/* Per-process outcome of applying the probes. */
struct apply_result {
	unsigned wanted;   /* sites this probe set wants in the process */
	unsigned on;       /* of them, patched */
	unsigned failed;
	int error;         /* first error (agent or timeout), 0 if none */
	char why[256];     /* a filter that does not compile for a tracepoint, "" if none */
	unsigned busy;     /* sites skipped: SLED_SHM_LANES other probes have them */
	char busy_why[256];
};

struct probe *probes_add(struct probes *pr, const char *pattern, pid_t pid, const char *binary,
			 uid_t owner);
/* Set by the caller after probes_add, before the probe is applied. */
/* Remove one probe; returns false if there is no such id. */
bool probes_remove(struct probes *pr, uint32_t id);
struct probe *probes_find(struct probes *pr, uint32_t id);
/* Remove a probe whose enable failed: its id is given back when no later probe took one,
 * so a refused enable does not use up an id. */
void probes_discard(struct probes *pr, uint32_t id);

/* Does the probe cover site s of object po (as process p maps it)? */
bool probe_matches(const struct probe *pb, const struct traced_proc *p,
		   const struct sled_process_object *po, const struct sled_site *s);

/*
 * Make p's slots want exactly what the probes cover and tell its agent, without waiting
 * for it: the event loop calls probes_apply_step until it returns false, and the outcome
 * is then in p->apply_ret.  A site takes up to SLED_SHM_LANES probes, oldest first.  When
 * only is non-NULL, res gets what kept only off a site, and mine (a bitmap of
 * SLED_SHM_MAX_SITES bits) its slots, for probes_apply_result once done.  An apply already
 * in progress in p runs once more when it ends.  Returns whether work remains.
 */
bool probes_apply_start(struct probes *pr, struct traced_proc *p, const struct probe *only,
			struct apply_result *res, uint8_t *mine);
/* Advance p's apply (now: CLOCK_MONOTONIC ns); false once it is done (or there is none). */
bool probes_apply_step(struct probes *pr, struct traced_proc *p, uint64_t now);
/* p's apply waits for the agent's answer to a command posted less than fresh_ns ago:
 * the futex word the agent wakes (done_seq) and the value it holds until then. */
bool probes_apply_fresh_wait(const struct traced_proc *p, uint64_t now, uint64_t fresh_ns,
			     uint32_t **word, uint32_t *val);
/* p's apply waits for threads to leave the sites of the lanes it turned off. */
bool probes_apply_quiescing(const struct traced_proc *p);
/* The figures of a finished apply for the slots in mine, added to r. */
void probes_apply_result(const struct traced_proc *p, const uint8_t *mine, struct apply_result *r);
/* Start and wait until done: only where nothing else may run meanwhile (shutdown). */
int probes_apply(struct probes *pr, struct traced_proc *p, const struct probe *only,
		 struct apply_result *res);

/* Per-probe counters summed over every process.  emitted = hits that passed the probe
 * functions (filter, sample, rate) and were to be recorded = exported + dropped once the
 * rings are drained; with --count-only nothing is recorded and emitted just counts. */
struct probe_counts {
	unsigned processes, sites_on;
	struct figures f;
	uint64_t emitted;
};
void probes_count(const struct probe *pb, const struct procs *ps, struct probe_counts *c);

/* One lane a probe holds in a live process: the process, the slot and its site (meta:
 * provider, name), and what the lane counted since the probe took it. */
struct probe_lane {
	const struct traced_proc *proc;
	unsigned slot, lane;
	const struct slot_meta *meta;
	struct figures since;
};
/* Call visit for every lane pb holds in ps's processes, process by process: the one walk
 * that probes_count and the per-tracepoint rows share, so that their sums agree. */
void probes_each_lane(const struct probe *pb, const struct procs *ps,
		      void (*visit)(const struct probe_lane *pl, void *arg), void *arg);

/* A process is going away: fold its slots' figures into their probes' totals. */
void probes_retire_process(struct probes *pr, struct traced_proc *p);

/* The counters of one lane of a slot in process p, summed over its rings. */
void lane_figures(const struct traced_proc *p, unsigned slot, unsigned lane, struct figures *f);

/* What a lane counted since its probe took it (p->meta[slot] must be set). */
void lane_figures_since(const struct traced_proc *p, unsigned slot, unsigned lane,
			struct figures *f);

/* Compile pb's filter for one tracepoint's fields into prog (no filter: ninsns 0).
 * -EINVAL with the reason, naming the tracepoint, in err. */
int probe_compile_filter(const struct probe *pb, const char *provider, const char *name,
			 const struct sled_field *fields, unsigned nfields,
			 struct sled_filter_prog *prog, char *err, size_t errlen);

void probes_free(struct probes *pr);

#endif /* SLED_PROBES_H */
