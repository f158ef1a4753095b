/* SPDX-License-Identifier: MIT */
/*
 * procs: the processes the daemon traces in sled mode.  A process's block is a sealed
 * memfd found in its /proc/PID/maps; the daemon looks for it when a hint
 * /dev/shm/sled.<pid> appears (inotify), when a request names the pid, and once a second
 * in every process that is new or changed since it was last looked at.  Nothing the
 * block says is trusted (block.h).  A process is detached when its pid dies, the pid now
 * belongs to another process or another exec'd image, or its header stops matching.
 * Each attached process has its discovered sites and the site slots the daemon assigned
 * in its shared block.
 */
#ifndef SLED_PROCS_H
#define SLED_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "discovery/process.h"
#include "sled/abi/shm_layout.h"
#include "discovery/sites.h"

/* A slot's counters summed over the process's rings (exported: the daemon's own). */
struct figures {
	uint64_t hits;     /* the site fired */
	uint64_t filtered; /* --filter said no */
	uint64_t sampled;  /* --sample skipped it */
	uint64_t limited;  /* over --rate */
	uint64_t drops;    /* the thread's ring was full */
	uint64_t exported; /* drained and handed to the outputs */
};

/* to += f, counter by counter: the one sum of figures that every report shares. */
static inline void figures_add(struct figures *to, const struct figures *f)
{
	to->hits += f->hits;
	to->filtered += f->filtered;
	to->sampled += f->sampled;
	to->limited += f->limited;
	to->drops += f->drops;
	to->exported += f->exported;
}

/* What the daemon knows of one lane of a slot (a probe's place on the site). */
struct lane_meta {
	uint32_t probe_id;      /* the probe in this lane, 0 if none */
	uint64_t exported;      /* records drained that this lane accepted */
	struct figures base;    /* the lane's counters when probe_id last changed */
};

/* What the daemon knows of a slot, to decode its records and account for them. */
struct slot_meta {
	char provider[64];
	char name[64];
	char object[4096];
	unsigned nfields;
	struct sled_field fields[SLED_MAX_ARGS];
	struct lane_meta lane[SLED_SHM_LANES];
};

struct agg_proc;
struct apply_job;

struct traced_proc {
	pid_t pid;
	uid_t uid;
	uint64_t start_time, exec_id;
	char exe[256];
	struct sled_shm_header *shm;
	uint64_t size;
	uint64_t ring_data;        /* from size (sled_shm_ring_data_of), never the header */
	struct sled_shm_site *slots;
	char *rings;
	struct slot_meta *meta[SLED_SHM_MAX_SITES]; /* allocated on assignment */
	unsigned nslots;           /* slots assigned so far (never reused) */
	struct sled_process disc;  /* discovered objects (shared) and where it maps them */
	uint64_t malformed;        /* records rejected while draining */
	uint64_t fill_pass;        /* the fullest ring's bytes at the last drain pass */
	uint64_t fill_hw;          /* the fullest any ring was at a drain pass, ever */
	uint64_t maps_fingerprint; /* of the executable file mappings, to spot dlopen */
	uint64_t block_ino, block_dev; /* the block's memfd: one block, one process */
	struct agg_proc *agg;      /* aggregation descriptors given out (aggregate.c) */
	bool gone;                 /* detach at the next reap */
	char why[256];             /* why it was let go, if not for exiting */
	/* Applying the probes (probes.c): the hand-over in progress, NULL when none; the
	 * outcome of the last one; the agent's restores seen and the re-applies they caused. */
	struct apply_job *job;
	int apply_ret;
	bool restores_known;
	uint32_t restores_seen;
	uint32_t reapplies;
	struct traced_proc *next;
};

/* A process looked at that had nothing to attach, as it was then. */
struct procs_seen {
	pid_t pid;
	uint64_t start_time, vsize;
};

struct procs {
	struct traced_proc *head;
	unsigned count;
	struct procs_seen *seen; /* sorted by pid */
	size_t nseen;
	char why[256];           /* the last refusal of procs_attach, one line */
	/* The parsed objects of every attached process, each file held once (made by
	 * procs_attach on first use if the daemon has not set one up). */
	struct sled_objcache *objects;
	/* Told each refused block (not "no block"), once per look. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
	/* Told each object of an attached process that could not be held (over the cap of
	 * the object cache), once per process and object; NULL: not told. */
	void (*warn)(void *arg, const char *line);
};

/*
 * Attach to pid if it has a valid block and is not attached yet.  Returns the process,
 * or NULL with errno and a one-line reason in ps->why: ENOENT no block, EAGAIN block not
 * initialised yet, EPROTO another shm version, EPERM block not sealed, EBADMSG block
 * disagrees with the layout, ESTALE pid reused or block of another pid, EXDEV another
 * mount namespace, EBUSY owned by another live daemon.
 */
struct traced_proc *procs_attach(struct procs *ps, pid_t pid, uint64_t heartbeat_ns);
/* Attach pid on a hint: like procs_attach, but a pid already looked at and unchanged
 * since is left alone, and an attached pid that exec'd is let go and looked at anew. */
struct traced_proc *procs_look(struct procs *ps, pid_t pid, uint64_t heartbeat_ns);
/* What the daemon reads from /proc/PID/stat: -1 if the process is gone. */
struct proc_stat {
	char state;          /* field 3: R, S, Z, ... */
	unsigned flags;      /* field 9: PF_* (PF_KTHREAD: a kernel thread) */
	uint64_t start_time; /* field 22, ticks since boot: with the pid, names one process */
	uint64_t vsize;      /* field 23: address-space size; changes when mappings do */
};
int procs_read_stat(pid_t pid, struct proc_stat *st);
/* Start time of pid (field 22, in ticks), 0 if it is gone. */
uint64_t procs_start_time(pid_t pid);
struct traced_proc *procs_find(struct procs *ps, pid_t pid);
/*
 * Look at the process's mappings (once a second): if its image no longer maps our block
 * (it exec'd), mark it gone; if its set of executable mappings changed (dlopen, dlclose),
 * re-read its objects.  Returns 1 when the objects were re-read, 0 otherwise.
 */
int procs_check_maps(struct procs *ps, struct traced_proc *p);
/* The object cache of ps (made with the default cap if the daemon has not set one up);
 * NULL when out of memory. */
struct sled_objcache *procs_objects(struct procs *ps);
/* Re-read the process's mapped objects (new dlopen'd libraries).  An object refused
 * (over the cache's cap) is told to ps->log once per process and object. */
int procs_rediscover(struct procs *ps, struct traced_proc *p);
/* Mark processes whose pid died or was reused, or whose header no longer matches. */
void procs_check_alive(struct procs *ps);
/* Unlink detached processes from the list; each is passed to fn before it is freed. */
void procs_reap(struct procs *ps, void (*fn)(struct traced_proc *p, void *arg), void *arg);
/* Look at every process new or changed since the last scan and attach those with a
 * block; removes the hints of dead processes. */
void procs_scan(struct procs *ps, uint64_t heartbeat_ns);
/* The daemon's heartbeat, and the TSC rate the runtime needs for --rate windows. */
void procs_heartbeat(struct procs *ps, uint64_t now_ns, uint64_t tsc_hz);

/* The slot for a site (same runtime address), assigning and filling one if needed.
 * Returns the slot index, or -EADDRNOTAVAIL (the site lies in no executable mapping),
 * -ENOSPC (the block's site table is full), -EINVAL (an argument cannot be read: a
 * symbol the object's tables lack), -ENOMEM. */
int procs_slot_for(struct traced_proc *p, const struct sled_process_object *po,
		   const struct sled_site *s);

/* Ring the agent's doorbell with an APPLY command (the agent makes every slot's state
 * match its want) and return at once with the command's seq. */
uint32_t procs_post(struct traced_proc *p);
/* Has the agent finished command seq (or a later one)?  Then *result is its outcome: 0
 * or its first -errno. */
bool procs_cmd_done(const struct traced_proc *p, uint32_t seq, int *result);
/* The agent has answered every command posted so far. */
bool procs_cmd_idle(const struct traced_proc *p);

static inline struct sled_ring_header *proc_ring(const struct traced_proc *p, unsigned i)
{
	return (struct sled_ring_header *)(p->rings + (uint64_t)i * sled_ring_stride(p->ring_data));
}

/* Give up ownership of every block (clean shutdown), so a next daemon takes over at once. */
void procs_release(struct procs *ps);
void procs_free(struct procs *ps);

#endif /* SLED_PROCS_H */
