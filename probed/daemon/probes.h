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

#include "procs.h"

struct probe {
	uint32_t id;
	char pattern[256];
	pid_t pid;               /* 0: any */
	char binary[PATH_MAX];   /* "": any object */
	uid_t owner;             /* who made it: non-root owners reach only their processes */
	/* Figures of slots that left the probe (process exited, slot re-assigned). */
	uint64_t past_emitted, past_exported, past_dropped;
	struct probe *next;
};

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
};

struct probe *probes_add(struct probes *pr, const char *pattern, pid_t pid, const char *binary,
			 uid_t owner);
/* Remove one probe; returns false if there is no such id. */
bool probes_remove(struct probes *pr, uint32_t id);
struct probe *probes_find(struct probes *pr, uint32_t id);

/* Does the probe cover site s of object obj in process p? */
bool probe_matches(const struct probe *pb, const struct traced_proc *p,
		   const struct sled_object *obj, const struct sled_site *s);

/* Make p's slots want exactly what the probes cover, tell its agent, wait for it.
 * When only is non-NULL, fills *res with the figures for that probe. */
int probes_apply(struct probes *pr, struct traced_proc *p, const struct probe *only,
		 struct apply_result *res);

/* Per-probe counters summed over every process: events seen at the sites, exported
 * by the daemon, dropped in full rings. */
struct probe_counts {
	unsigned processes, sites_on;
	uint64_t emitted, exported, dropped;
};
void probes_count(const struct probe *pb, const struct procs *ps, struct probe_counts *c);

/* A process is going away: fold its slots' figures into their probes' totals. */
void probes_retire_process(struct probes *pr, struct traced_proc *p);

/* Sum of a slot's per-ring counters in process p. */
void slot_counters(const struct traced_proc *p, unsigned slot, uint64_t *hits, uint64_t *drops);

void probes_free(struct probes *pr);

#endif /* SLED_PROBES_H */
