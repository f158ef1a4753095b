/* SPDX-License-Identifier: MIT */
/*
 * uprobe: uprobe mode, the user-space half (see uprobe.h; the BPF half and the record
 * layout are in probed/bpf/).
 *
 * A handle is a slot of a fixed table, the same index as the BPF maps' entries
 * (probe_info, counts) and the low 32 bits of the USDT cookie; a 16-bit generation,
 * bumped at each reuse, is in the cookie's next bits and in every record, so records and
 * hits of an earlier user of a slot are never attributed to the next one.  The handle
 * number given out encodes both (gen << 12 | index), so a stale handle is refused too.
 *
 * Detaching is where the kernel is slow: releasing a site's BPF link waits for an RCU
 * tasks-trace grace period, and releasing its uprobe for another (~110 ms per site
 * measured here, kernel 6.18: a 300-site disable took 33 s of the daemon's loop).  So a
 * detach only stops the handle, at once (its probe_info entry is cleared: the program,
 * still attached, returns at its first check), and leaves the rest to a pool of detacher
 * threads, whose grace periods overlap.  A detacher drops the kernel objects behind the
 * link's fds by dup3()ing a /dev/null fd over them (the numbers stay valid, so libbpf's
 * own closes later are harmless and quick), then lets libbpf destroy the link.  In that
 * order: libbpf gives the link's USDT spec slots to the next attach when it destroys it,
 * so nothing in the kernel may still use them.  Every libbpf attach and destroy takes one
 * lock (libbpf's USDT bookkeeping is not thread-safe).  The figures of a detached handle
 * are final once the program's runs in flight are over: the first drain or figures read
 * after a detach waits for them (membarrier(GLOBAL), i.e. synchronize_rcu(); a
 * non-sleepable uprobe program runs under rcu_read_lock()).
 *
 * Nothing read from the ring buffer is trusted: the record's size against its header,
 * the index against the table, the generation and nargs against the slot, each string's
 * length against what remains of the record.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <sled/tracepoint.h>

#include "sled/abi/shm_layout.h"
#include "daemon/core/decode.h"
#include "daemon/uprobe/uprobe.h"
#include "daemon/uprobe/uprobe_spec.h"
#include "daemon/uprobe/uprobe_aggmap.h"
#include "bpf/usdt_events.h"
#include "usdt_events.skel.h"
#include "common/seterr.h"
#include "common/mono_clock.h"

_Static_assert(USDT_STR_TRUNCATED == SLED_REC_STR_TRUNCATED, "string flags as in sled mode");
_Static_assert(USDT_STR_NULL == SLED_REC_STR_NULL, "string flags as in sled mode");
_Static_assert(USDT_STR_FAULT == SLED_REC_STR_FAULT, "string flags as in sled mode");
_Static_assert(USDT_STR_LEN_MASK == SLED_REC_STR_LEN_MASK, "string flags as in sled mode");
_Static_assert(USDT_MAX_STR == SLED_SHM_MAX_STR, "string bound as in sled mode");
_Static_assert(USDT_MAX_ARGS == SLED_MAX_ARGS && USDT_MAX_ARGS <= SLED_EVENT_MAX_FIELDS,
	       "argument count");
_Static_assert(USDT_T_STRING == SLED_T_STRING, "string type code");
_Static_assert(sizeof(struct usdt_rec_hdr) == 24, "record header");
_Static_assert(USDT_MAX_PROBES <= 4096, "handles encode the index in 12 bits");
_Static_assert(USDT_AGG_MAX == SLED_LANE_AGGS && UPROBE_MAX_AGGS == SLED_LANE_AGGS &&
	       USDT_AGG_MAX_KEYS == SLED_AGG_MAX_KEYS && USDT_AGG_KEY == SLED_AGG_KEY_BYTES &&
	       USDT_AGG_STR == SLED_AGG_STR_KEY && USDT_AGG_NO_VALUE == SLED_AGG_NO_VALUE,
	       "aggregations laid out as in sled mode");
_Static_assert((int)USDT_AGG_B_HIST == (int)SLED_AGG_B_HIST &&
	       (int)USDT_AGG_B_LHIST == (int)SLED_AGG_B_LHIST,
	       "bucketing codes as in sled mode");

#ifndef RING_BYTES
#define RING_BYTES (4u << 20) /* 87k records of 2 integers; a power of 2 */
#endif
#define UPROBE_DEFAULT_WAKEUP (RING_BYTES / 4)
#define CLOCK_REFRESH_NS 100000000ull /* realtime - monotonic offset, refreshed each 100 ms */
#define INDEX_BITS 12

enum slot_state { SLOT_FREE, SLOT_ATTACHED, SLOT_DETACHED };

struct slot {
	enum slot_state state;
	uint16_t gen;            /* 0 = never used */
	uint32_t probe_id;
	pid_t pid;
	unsigned nfields;
	unsigned fds;
	uint64_t exported;
	uint64_t arg_errors;
	struct bpf_link *link;
	struct bpf_link **own;   /* plain uprobes of sites libbpf cannot parse (own_specs) */
	unsigned nown;
	int *kfds;               /* the attach's perf-event and BPF-link fds */
	unsigned nkfds;
	char *binary;
	char provider[64], name[64];
	struct sled_field fields[SLED_MAX_ARGS];
	/* --aggregate: each aggregation's map (its fd, in agg_maps[USDT_AGG_MAP]) and what
	 * its overflow and dropped counters held at the last reset. */
	unsigned naggs;
	int agg_fd[UPROBE_MAX_AGGS];
	uint32_t agg_max[UPROBE_MAX_AGGS];
	bool agg_signed[UPROBE_MAX_AGGS];
	bool agg_ints[UPROBE_MAX_AGGS];  /* integer keys only: in agg_maps_int */
	bool agg_swapped[UPROBE_MAX_AGGS]; /* a reset began: agg_old_fd is to be read */
	int agg_old_fd[UPROBE_MAX_AGGS];
	uint64_t agg_base_overflow[UPROBE_MAX_AGGS], agg_base_dropped[UPROBE_MAX_AGGS];
};

/* Finishes detaches off the daemon's thread (see the top of this file). */
#define DETACH_THREADS 16

struct detach_job {
	struct bpf_link *link;
	int *fds;                /* its kernel objects' fds, to drop first */
	unsigned nfds;
	struct detach_job *next;
};

struct detacher {
	pthread_mutex_t lock;    /* the queue */
	pthread_cond_t more;
	struct detach_job *head, *tail;
	unsigned queued, nthreads;
	bool stop;
	int null_fd;             /* what the dropped fds point to until libbpf closes them */
	pthread_t threads[DETACH_THREADS];
};

struct uprobe_ctx {
	struct usdt_events *skel;
	struct ring_buffer *rb;
	int ncpus;
	struct usdt_counts *percpu; /* scratch for reading one counts entry (ncpus values) */
	unsigned next;              /* round-robin cursor for slot allocation */
	int64_t real_minus_mono;
	uint64_t clock_at;          /* monotonic ns of the last offset refresh */
	/* During a drain. */
	void (*sink)(const struct sled_event *ev, uint32_t probe_id, void *arg);
	void *sink_arg;
	uint64_t drained;
	uint64_t malformed, stale;
	bool legacy;                 /* no uprobe PMU: libbpf makes tracefs uprobe events */
	pthread_mutex_t libbpf_lock; /* around every libbpf attach and link destroy */
	bool quiesce;                /* a detach happened: wait for runs in flight */
	struct detacher dt;
	struct slot slots[USDT_MAX_PROBES];
};

static void own_release(struct uprobe_ctx *u, struct slot *s, unsigned index, int *kfds,
			unsigned nkfds);

/* --- libbpf messages: kept for error lines, printed only with SLED_LIBBPF_DEBUG=1 ---- */

static char libbpf_last[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static int debug = -1;
	va_list copy;

	if (debug < 0) {
		const char *e = getenv("SLED_LIBBPF_DEBUG");

		debug = e && *e && strcmp(e, "0") != 0;
	}
	if (debug) {
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_WARN) {
		char msg[sizeof(libbpf_last)];
		const char *m = msg;
		size_t n;

		vsnprintf(msg, sizeof(msg), fmt, ap);
		if (strncmp(m, "libbpf: ", 8) == 0)
			m += 8;
		snprintf(libbpf_last, sizeof(libbpf_last), "%s", m);
		n = strlen(libbpf_last);
		while (n && (libbpf_last[n - 1] == '\n' || libbpf_last[n - 1] == ' '))
			libbpf_last[--n] = '\0';
	}
	return 0;
}

/* " (libbpf: <its last warning>)", or "" when it said nothing */
static const char *libbpf_why(char *buf, size_t len)
{
	buf[0] = '\0';
	if (libbpf_last[0])
		snprintf(buf, len, " (libbpf: %s)", libbpf_last);
	return buf;
}

/* --- Clock -------------------------------------------------------------------------- */

static void clock_refresh(struct uprobe_ctx *u)
{
	uint64_t m0 = sled_clock_ns(CLOCK_MONOTONIC), r = sled_clock_ns(CLOCK_REALTIME);
	uint64_t m1 = sled_clock_ns(CLOCK_MONOTONIC);

	u->real_minus_mono = (int64_t)r - (int64_t)(m0 + (m1 - m0) / 2);
	u->clock_at = m1;
}

/* --- Handles ------------------------------------------------------------------------ */

static int handle_of(unsigned index, uint16_t gen)
{
	return (int)(((uint32_t)gen << INDEX_BITS) | index);
}

/* The slot of a live handle (attached or detached, not reused since), else NULL. */
static struct slot *slot_of(struct uprobe_ctx *u, int handle, unsigned *index)
{
	unsigned i;
	struct slot *s;

	if (!u || handle <= 0)
		return NULL;
	i = (unsigned)handle & ((1u << INDEX_BITS) - 1);
	if (i >= USDT_MAX_PROBES)
		return NULL;
	s = &u->slots[i];
	if (s->state == SLOT_FREE || s->gen != (uint16_t)((unsigned)handle >> INDEX_BITS))
		return NULL;
	if (index)
		*index = i;
	return s;
}

/* A slot to (re)use: a free one, else the detached one the cursor meets first, so that
 * reuse happens as late as possible. */
static int slot_alloc(struct uprobe_ctx *u)
{
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < USDT_MAX_PROBES; k++) {
			unsigned i = (u->next + k) % USDT_MAX_PROBES;
			enum slot_state st = u->slots[i].state;

			if (st == SLOT_FREE || (pass == 1 && st == SLOT_DETACHED)) {
				u->next = (i + 1) % USDT_MAX_PROBES;
				return (int)i;
			}
		}
	}
	return -1;
}

static void slot_release(struct slot *s)
{
	free(s->binary);
	s->binary = NULL;
	free(s->kfds);
	s->kfds = NULL;
	s->nkfds = 0;
	s->state = SLOT_FREE;
}

/* --- File descriptors of attaches, and the detachers ------------------------------------ */

static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* The open fds, sorted, in *out (malloc'd); their number, or -1. */
static int list_fds(int **out)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int *v = NULL, n = 0, cap = 0, self;

	*out = NULL;
	if (!d)
		return -1;
	self = dirfd(d);
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.' || (fd = atoi(e->d_name)) == self)
			continue;
		if (n == cap) {
			int *nv = realloc(v, sizeof(*v) * (size_t)(cap = cap ? 2 * cap : 256));

			if (!nv) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = fd;
	}
	closedir(d);
	qsort(v, (size_t)n, sizeof(*v), cmp_int);
	*out = v;
	return n;
}

/* Is fd one of the kernel objects a USDT attach makes (a uprobe perf event, a BPF link)?
 * Other threads (exporters) may open sockets meanwhile: only these are taken. */
static bool is_attach_fd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[perf_event]") || !strcmp(target, "anon_inode:bpf_link");
}

/* What an attach opened: its fds in after[] and not in before[] (both sorted), kept in
 * s->kfds and counted in s->fds. */
static void note_new_fds(struct slot *s, const int *before, int nb, const int *after, int na)
{
	int i = 0;

	free(s->kfds);
	s->nkfds = 0;
	s->kfds = na > 0 ? malloc(sizeof(int) * (size_t)na) : NULL;
	for (int k = 0; s->kfds && k < na; k++) {
		while (i < nb && before[i] < after[k])
			i++;
		if ((i < nb && before[i] == after[k]) || !is_attach_fd(after[k]))
			continue;
		s->kfds[s->nkfds++] = after[k];
	}
	s->fds = s->nkfds;
}

static void destroy_link(struct uprobe_ctx *u, struct bpf_link *link)
{
	pthread_mutex_lock(&u->libbpf_lock);
	bpf_link__destroy(link);
	pthread_mutex_unlock(&u->libbpf_lock);
}

/* Drop the kernel objects (the slow part, in this thread), then the link (quick). */
static void detach_job_run(struct uprobe_ctx *u, struct detach_job *j)
{
	for (unsigned i = 0; i < j->nfds && u->dt.null_fd >= 0; i++)
		dup3(u->dt.null_fd, j->fds[i], O_CLOEXEC);
	destroy_link(u, j->link);
	free(j->fds);
	free(j);
}

static void *detacher_main(void *arg)
{
	struct uprobe_ctx *u = arg;
	struct detacher *dt = &u->dt;

	pthread_mutex_lock(&dt->lock);
	for (;;) {
		struct detach_job *j;

		while (!dt->head && !dt->stop)
			pthread_cond_wait(&dt->more, &dt->lock);
		if (!dt->head)
			break; /* stopping, and nothing left */
		j = dt->head;
		dt->head = j->next;
		if (!dt->head)
			dt->tail = NULL;
		dt->queued--;
		pthread_mutex_unlock(&dt->lock);
		detach_job_run(u, j);
		pthread_mutex_lock(&dt->lock);
	}
	pthread_mutex_unlock(&dt->lock);
	return NULL;
}

/* Finish destroying link (fds: its kernel objects, taken over) in the background; done
 * here, slowly, when no thread can be had. */
static void detach_later(struct uprobe_ctx *u, struct bpf_link *link, int *fds, unsigned nfds)
{
	struct detacher *dt = &u->dt;
	struct detach_job *j = calloc(1, sizeof(*j));
	sigset_t all, old;

	if (!j) {
		free(fds);
		destroy_link(u, link);
		return;
	}
	j->link = link;
	j->fds = fds;
	j->nfds = fds ? nfds : 0;
	pthread_mutex_lock(&dt->lock);
	if (dt->tail)
		dt->tail->next = j;
	else
		dt->head = j;
	dt->tail = j;
	dt->queued++;
	/* Threads start on demand, with every signal blocked: the daemon's handlers run on
	 * its own thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (dt->nthreads < DETACH_THREADS && dt->queued > 0 &&
	    pthread_create(&dt->threads[dt->nthreads], NULL, detacher_main, u) == 0)
		dt->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!dt->nthreads) {
		dt->head = dt->tail = NULL;
		dt->queued = 0;
		pthread_mutex_unlock(&dt->lock);
		detach_job_run(u, j);
		return;
	}
	pthread_cond_signal(&dt->more);
	pthread_mutex_unlock(&dt->lock);
}

/* Finish every queued detach and stop the threads. */
static void detacher_stop(struct uprobe_ctx *u)
{
	struct detacher *dt = &u->dt;

	pthread_mutex_lock(&dt->lock);
	dt->stop = true;
	pthread_cond_broadcast(&dt->more);
	pthread_mutex_unlock(&dt->lock);
	for (unsigned i = 0; i < dt->nthreads; i++)
		pthread_join(dt->threads[i], NULL);
	dt->nthreads = 0;
}

/* After a detach: wait until no run of the program that may have seen the handle still
 * attached is in flight, so that its counts and records are complete. */
static void quiesce(struct uprobe_ctx *u)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (!u->quiesce)
		return;
	u->quiesce = false;
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
		nanosleep(&ts, NULL); /* nohz_full kernels refuse it: runs last microseconds */
}

/* Zero a probe index's counters, write its probe functions, then its description: a hit
 * that sees the new generation in probe_info finds everything else in place. */
static int slot_program(struct uprobe_ctx *u, unsigned index, const struct usdt_probe_info *info,
			const struct usdt_probe_conf *conf)
{
	struct usdt_probe_state st = { 0 };
	__u32 key = index;

	memset(u->percpu, 0, sizeof(*u->percpu) * (size_t)u->ncpus);
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.counts), &key, u->percpu, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.probe_state), &key, &st, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.probe_conf), &key, conf, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.probe_info), &key, info, BPF_ANY))
		return -errno;
	return 0;
}

/* Does the filter compare a string field?  Then the BPF side reads strings before it. */
static bool filter_reads_strings(const struct sled_filter_prog *f)
{
	for (unsigned i = 0; i < f->ninsns && i < SLED_FILTER_MAX_INSNS; i++)
		if (f->insns[i].op == SLED_FOP_STR_EQ || f->insns[i].op == SLED_FOP_STR_PREFIX)
			return true;
	return false;
}

/* Mark a probe index unused in the BPF map: hits that still reach it are ignored. */
static void slot_unprogram(struct uprobe_ctx *u, unsigned index)
{
	struct usdt_probe_info info = { 0 };
	__u32 key = index;

	bpf_map_update_elem(bpf_map__fd(u->skel->maps.probe_info), &key, &info, BPF_ANY);
}

/* --- Aggregations ---------------------------------------------------------------------- */

/* The map of maps aggregation k of slot s is in. */
static int outer_fd(const struct uprobe_ctx *u, const struct slot *s, unsigned k)
{
	return bpf_map__fd(s->agg_ints[k] ? u->skel->maps.agg_maps_int : u->skel->maps.agg_maps);
}

/* Forget slot s's aggregation maps: out of agg_maps (the program finds none), closed. */
static void slot_aggs_free(struct uprobe_ctx *u, struct slot *s)
{
	__u32 index = (__u32)(s - u->slots);

	for (unsigned k = 0; k < s->naggs; k++) {
		__u32 key = USDT_AGG_MAP(index, k);

		bpf_map_delete_elem(outer_fd(u, s, k), &key);
		if (s->agg_fd[k] >= 0)
			close(s->agg_fd[k]);
		if (s->agg_swapped[k])
			close(s->agg_old_fd[k]);
		s->agg_fd[k] = -1;
		s->agg_swapped[k] = false;
	}
	s->naggs = 0;
}

/* The BPF program's descriptor of one aggregation. */
static void agg_desc(const struct uprobe_agg *a, struct usdt_agg_desc *d)
{
	unsigned off = 0;

	memset(d, 0, sizeof(*d));
	d->nkeys = a->c.nkeys;
	d->value_arg = a->c.value_arg;
	d->value_signed = a->c.value_signed;
	d->bucketing = a->c.bucketing;
	for (unsigned k = 0; k < a->c.nkeys && k < USDT_AGG_MAX_KEYS; k++) {
		d->key_arg[k] = a->c.key_arg[k];
		d->key_string[k] = a->c.key_string[k];
		d->key_off[k] = (__u8)off;
		off += a->c.key_string[k] ? USDT_AGG_STR : 8;
	}
	d->minmax = a->minmax;
	d->ints = (a->c.flags & SLED_AGG_F_INT_KEYS) != 0;
	d->nbuckets = a->c.nbuckets;
	d->lmin = a->c.lmin;
	d->lmax = a->c.lmax;
	d->lstep = a->c.lstep;
}

/* Give slot index its aggregations' maps, counters and descriptors, before its
 * probe_info says USDT_PF_AGG. */
static int slot_aggs(struct uprobe_ctx *u, struct slot *s, unsigned index,
		     const struct uprobe_agg *aggs, unsigned n)
{
	struct usdt_agg_conf conf = { .n = n };
	struct usdt_agg_counts *zero = calloc((size_t)u->ncpus, sizeof(*zero));
	__u32 key = index;
	int rc = 0;

	if (!zero)
		return -ENOMEM;
	for (unsigned k = 0; k < n; k++) {
		__u32 mk = USDT_AGG_MAP(index, k);
		int fd;

		if (aggs[k].c.key_len > SLED_AGG_KEY_BYTES || aggs[k].c.nkeys > SLED_AGG_MAX_KEYS) {
			rc = -EINVAL;
			break;
		}
		s->agg_ints[k] = (aggs[k].c.flags & SLED_AGG_F_INT_KEYS) != 0;
		fd = aggmap_create(aggs[k].max_entries, s->agg_ints[k]);
		if (fd < 0) {
			rc = fd;
			break;
		}
		s->agg_fd[k] = fd;
		s->agg_max[k] = aggs[k].max_entries;
		s->agg_signed[k] = aggs[k].c.value_signed;
		s->agg_swapped[k] = false;
		s->agg_base_overflow[k] = s->agg_base_dropped[k] = 0;
		s->naggs = k + 1;
		agg_desc(&aggs[k], &conf.d[k]);
		if (bpf_map_update_elem(bpf_map__fd(u->skel->maps.agg_counts), &mk, zero, BPF_ANY) ||
		    bpf_map_update_elem(outer_fd(u, s, k), &mk, &fd, BPF_ANY)) {
			rc = -errno;
			break;
		}
	}
	if (!rc && bpf_map_update_elem(bpf_map__fd(u->skel->maps.agg_conf), &key, &conf, BPF_ANY))
		rc = -errno;
	free(zero);
	if (rc)
		slot_aggs_free(u, s);
	return rc;
}

/* A fresh map for aggregation k of slot s (index) in the program's place; the old one
 * is kept to be read once the runs that found it are over. */
static int agg_swap_one(struct uprobe_ctx *u, struct slot *s, unsigned index, unsigned k)
{
	__u32 mk = USDT_AGG_MAP(index, k);
	int fresh, rc;

	if (s->agg_swapped[k])
		return 0;
	fresh = aggmap_create(s->agg_max[k], s->agg_ints[k]);
	if (fresh < 0)
		return fresh;
	if (bpf_map_update_elem(outer_fd(u, s, k), &mk, &fresh, BPF_ANY)) {
		rc = -errno;
		close(fresh);
		return rc;
	}
	s->agg_old_fd[k] = s->agg_fd[k];
	s->agg_fd[k] = fresh;
	s->agg_swapped[k] = true;
	u->quiesce = true;
	return 0;
}

int uprobe_agg_swap(struct uprobe_ctx *u, int handle)
{
	unsigned index;
	struct slot *s = slot_of(u, handle, &index);
	int rc = 0;

	if (!s)
		return -ENOENT;
	for (unsigned k = 0; k < s->naggs && !rc; k++)
		rc = agg_swap_one(u, s, index, k);
	return rc;
}

int uprobe_agg_read(struct uprobe_ctx *u, int handle, unsigned k, bool reset, uprobe_agg_fn fn,
		    void *arg, uint64_t *overflow, uint64_t *dropped)
{
	unsigned index;
	struct slot *s = slot_of(u, handle, &index);
	struct usdt_agg_counts *cnt;
	__u32 mk;
	int fd, rc;

	*overflow = *dropped = 0;
	if (!s || k >= s->naggs || s->agg_fd[k] < 0)
		return -ENOENT;
	if (reset && (rc = agg_swap_one(u, s, index, k)))
		return rc;
	/* After a detach or a swap: the runs that may still use the map are over (one
	 * grace period for every swap made since the last wait). */
	quiesce(u);
	mk = USDT_AGG_MAP(index, k);
	fd = reset ? s->agg_old_fd[k] : s->agg_fd[k];
	rc = aggmap_read(fd, s->agg_ints[k], u->ncpus, s->agg_signed[k], fn, arg);
	if (reset) {
		close(fd);
		s->agg_swapped[k] = false;
	}
	cnt = calloc((size_t)u->ncpus, sizeof(*cnt));
	if (cnt && bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.agg_counts), &mk, cnt) == 0) {
		uint64_t o = 0, d = 0;

		for (int c = 0; c < u->ncpus; c++) {
			o += cnt[c].overflow;
			d += cnt[c].dropped;
		}
		*overflow = o - s->agg_base_overflow[k];
		*dropped = d - s->agg_base_dropped[k];
		if (reset) {
			s->agg_base_overflow[k] = o;
			s->agg_base_dropped[k] = d;
		}
	}
	free(cnt);
	return rc;
}

/* --- Records -------------------------------------------------------------------------- */


/* Decode one record into ev; -1 (malformed) if it does not hold what its slot says. */
static int decode(const struct uprobe_ctx *u, const struct slot *s, const struct usdt_rec_hdr *h,
		  const char *data, size_t size, struct sled_event *ev)
{
	unsigned n = h->nargs;
	const char *str, *end = data + size;
	uint64_t v[USDT_MAX_ARGS];

	if (n != s->nfields || n > USDT_MAX_ARGS || sizeof(*h) + 8ull * n > size)
		return -1;
	memcpy(v, data + sizeof(*h), 8ull * n);
	str = data + sizeof(*h) + 8ull * n;
	ev->provider = s->provider;
	ev->name = s->name;
	ev->ts_ns = (uint64_t)((int64_t)h->ktime + u->real_minus_mono);
	ev->pid = (pid_t)h->pid;
	ev->tid = (pid_t)h->tid;
	ev->mode = "uprobe";
	ev->exe = NULL;
	return decode_values(ev, s->fields, n, v, str, end);
}

#define STOP_DRAIN (-ECANCELED) /* callback's "budget spent": libbpf stops, record consumed */

static int on_record(void *ctx, void *data, size_t size)
{
	struct uprobe_ctx *u = ctx;
	struct usdt_rec_hdr h;
	struct sled_event ev;
	struct slot *s;

	if (size < sizeof(h) || size > USDT_REC_MAX || (size & 7)) {
		u->malformed++;
		return 0;
	}
	memcpy(&h, data, sizeof(h));
	if (h.index >= USDT_MAX_PROBES) {
		u->malformed++;
		return 0;
	}
	s = &u->slots[h.index];
	if (s->state == SLOT_FREE || s->gen != h.gen) {
		u->stale++;
		return 0;
	}
	if (decode(u, s, &h, data, size, &ev) < 0) {
		u->malformed++;
		return 0;
	}
	if (h.flags & USDT_REC_F_ARGERR)
		s->arg_errors++;
	u->sink(&ev, s->probe_id, u->sink_arg);
	s->exported++;
	return ++u->drained >= UPROBE_DRAIN_BUDGET ? STOP_DRAIN : 0;
}

/* --- Open / close --------------------------------------------------------------------- */

/* Each site attached holds 2 fds (see uprobe.h): take the hard limit, and say so, since
 * a limit reached later shows up as attaches failing with EMFILE. */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			fprintf(stderr, "probed: uprobe mode: RLIMIT_NOFILE raised from %llu to %llu "
				"(2 fds per site attached)\n", (unsigned long long)was,
				(unsigned long long)rl.rlim_cur);
	}
}

#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS "/sys/kernel/debug"

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * libbpf attaches uprobes through the uprobe PMU (perf_event_open); on a kernel without
 * it, libbpf falls back to tracefs's uprobe_events, in /sys/kernel/debug/tracing if that
 * exists, else in /sys/kernel/tracing, and a fresh machine may have neither mounted.
 * Then mount tracefs (or debugfs, which carries tracing inside it on kernels older than
 * /sys/kernel/tracing) and say so in one line, as scripts/lib/deps.sh does for the tests.
 */
static int check_uprobes(char *err, size_t errlen)
{
	int why = 0;

	if (exists("/sys/bus/event_source/devices/uprobe/type"))
		return 0;
	if (exists(TRACEFS "/uprobe_events") || exists(DEBUGFS "/tracing/uprobe_events"))
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0) {
		fprintf(stderr, "probed: mounted tracefs at " TRACEFS " (no uprobe PMU: uprobes go "
			"through tracefs)\n");
		if (exists(TRACEFS "/uprobe_events"))
			return 0;
	} else {
		why = errno;
		if (!exists(DEBUGFS "/tracing") && mount("nodev", DEBUGFS, "debugfs", 0, NULL) == 0) {
			fprintf(stderr, "probed: mounted debugfs at " DEBUGFS " (no uprobe PMU: uprobes go "
				"through tracefs, which it carries)\n");
			if (exists(DEBUGFS "/tracing/uprobe_events"))
				return 0;
		}
	}
	if (why == EPERM || why == EACCES)
		sled_seterr(err, errlen, "uprobe mode unavailable: the kernel has no uprobe PMU and tracefs "
		       "is not mounted; cannot mount it at " TRACEFS ": %s (run as root)", strerror(why));
	else
		sled_seterr(err, errlen, "uprobe mode unavailable: the kernel has no uprobes "
		       "(no uprobe PMU in /sys/bus/event_source/devices, no uprobe_events in tracefs; "
		       "needs CONFIG_UPROBE_EVENTS)");
	return -ENOTSUP;
}

int uprobe_open(struct uprobe_ctx **out, char *err, size_t errlen)
{
	struct uprobe_ctx *u;
	bool legacy;
	char why[300];
	int rc;

	*out = NULL;
	raise_nofile();
	libbpf_set_print(libbpf_print);
	libbpf_last[0] = '\0';
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		rc = errno == EACCES ? -EACCES : -ENOTSUP;
		sled_seterr(err, errlen, "uprobe mode unavailable: %s",
		       rc == -EACCES ? "cannot read the kernel's BTF (/sys/kernel/btf/vmlinux): run as root"
				     : "the kernel has no BTF (/sys/kernel/btf/vmlinux; needs CONFIG_DEBUG_INFO_BTF)");
		return rc;
	}
	rc = check_uprobes(err, errlen);
	if (rc)
		return rc;
	legacy = !exists("/sys/bus/event_source/devices/uprobe/type");

	u = calloc(1, sizeof(*u));
	if (!u) {
		sled_seterr(err, errlen, "uprobe mode unavailable: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&u->libbpf_lock, NULL);
	pthread_mutex_init(&u->dt.lock, NULL);
	pthread_cond_init(&u->dt.more, NULL);
	u->dt.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	u->legacy = legacy;
	u->ncpus = libbpf_num_possible_cpus();
	if (u->ncpus <= 0) {
		rc = u->ncpus ? u->ncpus : -EINVAL;
		sled_seterr(err, errlen, "uprobe mode unavailable: cannot count possible CPUs: %s", strerror(-rc));
		free(u);
		return rc;
	}
	u->percpu = calloc((size_t)u->ncpus, sizeof(*u->percpu));
	u->skel = u->percpu ? usdt_events__open() : NULL;
	if (!u->skel) {
		rc = u->percpu ? -errno : -ENOMEM;
		sled_seterr(err, errlen, "uprobe mode unavailable: cannot open the BPF object: %s%s",
		       strerror(-rc), libbpf_why(why, sizeof(why)));
		goto fail;
	}
	bpf_map__set_max_entries(u->skel->maps.events, RING_BYTES);
	rc = usdt_events__load(u->skel);
	if (rc) {
		rc = rc < 0 ? rc : -EINVAL;
		if (rc == -EPERM || (rc == -EACCES && geteuid() != 0))
			sled_seterr(err, errlen, "uprobe mode unavailable: loading BPF programs needs root "
			       "(CAP_BPF and CAP_PERFMON; and no kernel lockdown): %s", strerror(-rc));
		else if (rc == -EACCES)
			sled_seterr(err, errlen, "uprobe mode unavailable: the kernel's verifier rejected the "
			       "BPF program (SLED_LIBBPF_DEBUG=1 shows its log)");
		else if (rc == -ENOSYS)
			sled_seterr(err, errlen, "uprobe mode unavailable: the kernel has no BPF "
			       "(bpf(2): %s)", strerror(-rc));
		else
			sled_seterr(err, errlen, "uprobe mode unavailable: cannot load the BPF program: %s%s "
			       "(SLED_LIBBPF_DEBUG=1 shows libbpf's log)",
			       strerror(-rc), libbpf_why(why, sizeof(why)));
		goto fail;
	}
	u->rb = ring_buffer__new(bpf_map__fd(u->skel->maps.events), on_record, u, NULL);
	if (!u->rb) {
		rc = -errno;
		sled_seterr(err, errlen, "uprobe mode unavailable: cannot map the BPF ring buffer: %s",
		       strerror(-rc));
		goto fail;
	}
	uprobe_set_wakeup(u, UPROBE_DEFAULT_WAKEUP);
	clock_refresh(u);
	*out = u;
	return 0;
fail:
	if (u->skel)
		usdt_events__destroy(u->skel);
	if (u->dt.null_fd >= 0)
		close(u->dt.null_fd);
	free(u->percpu);
	free(u);
	return rc;
}

int uprobe_fd(struct uprobe_ctx *u)
{
	return u ? ring_buffer__epoll_fd(u->rb) : -EINVAL;
}

void uprobe_close(struct uprobe_ctx *u)
{
	if (!u)
		return;
	for (unsigned i = 0; i < USDT_MAX_PROBES; i++) {
		struct slot *s = &u->slots[i];

		if (s->link) {
			slot_unprogram(u, i);
			detach_later(u, s->link, s->kfds, s->nkfds);
			s->kfds = NULL;
		} else if (s->own) {
			slot_unprogram(u, i);
			own_release(u, s, i, s->kfds, s->nkfds);
			s->kfds = NULL;
		}
		s->link = NULL;
		slot_release(s);
		slot_aggs_free(u, s);
	}
	detacher_stop(u); /* the slow part of every detach, in parallel */
	if (u->dt.null_fd >= 0)
		close(u->dt.null_fd);
	ring_buffer__free(u->rb);
	usdt_events__destroy(u->skel);
	free(u->percpu);
	free(u);
}

void uprobe_set_wakeup(struct uprobe_ctx *u, uint64_t bytes)
{
	if (u && u->skel->bss)
		__atomic_store_n(&u->skel->bss->wakeup_bytes, bytes, __ATOMIC_RELAXED);
}

/* --- Attach / detach ------------------------------------------------------------------ */

/* --- Sites libbpf's USDT parser refuses: plain uprobes with our own specs ------------ */

/* Forget the own specs of slot index (the program then ignores its uprobes) and hand
 * their links to the detachers.  kfds go with the first job. */
static void own_release(struct uprobe_ctx *u, struct slot *s, unsigned index, int *kfds,
			unsigned nkfds)
{
	int fd = bpf_map__fd(u->skel->maps.own_specs);

	for (unsigned k = 0; k < s->nown; k++) {
		__u64 key = USDT_OWN_KEY(index, s->gen, k);

		bpf_map_delete_elem(fd, &key);
		if (s->own[k] || (k == 0 && kfds))
			detach_later(u, s->own[k], k == 0 ? kfds : NULL, k == 0 ? nkfds : 0);
	}
	free(s->own);
	s->own = NULL;
	s->nown = 0;
}

static bool same_tracepoint(const struct sled_site *s, const char *provider, const char *name)
{
	return s->kind == SLED_SITE_TRACEPOINT && !strcmp(s->provider, provider) &&
	       !strcmp(s->name, name);
}

/*
 * provider:name of binary when libbpf could not parse some site's spec: one plain uprobe
 * per site at its file offset, with the spec discovery decoded (uprobe_spec.c) under the
 * uprobe's cookie.  Called with libbpf_lock held.  Returns 0 (s->own set), -ENOTSUP
 * when no site needs it (libbpf's own error stands), or -errno with err.
 */
static int attach_own(struct uprobe_ctx *u, struct slot *s, unsigned index, uint16_t gen,
		      const char *binary, const char *attach_path, pid_t pid, const char *provider,
		      const char *name, char *err, size_t errlen)
{
	int map_fd = bpf_map__fd(u->skel->maps.own_specs);
	struct sled_object obj;
	char why[256];
	size_t n = 0, k = 0;
	bool needed = false;
	int rc;

	rc = sled_object_read(binary, &obj, why, sizeof(why));
	if (rc) {
		sled_seterr(err, errlen, "cannot attach %s:%s: %s", provider, name, why);
		return rc;
	}
	for (size_t i = 0; i < obj.nsites; i++) {
		if (same_tracepoint(&obj.sites[i], provider, name)) {
			n++;
			needed |= uprobe_spec_needs_own(&obj.sites[i]);
		}
	}
	if (!needed || n > 0xfffffff) {
		sled_object_free(&obj);
		return -ENOTSUP;
	}
	s->own = calloc(n, sizeof(*s->own));
	if (!s->own) {
		sled_object_free(&obj);
		sled_seterr(err, errlen, "cannot attach %s:%s: out of memory", provider, name);
		return -ENOMEM;
	}
	s->gen = gen; /* own_release() derives the keys from it */
	for (size_t i = 0; i < obj.nsites && !rc; i++) {
		const struct sled_site *site = &obj.sites[i];
		struct uprobe_spec spec;
		__u64 key = USDT_OWN_KEY(index, gen, k);

		if (!same_tracepoint(site, provider, name))
			continue;
		if (site->semaphore) {
			sled_seterr(err, errlen, "cannot attach %s:%s at 0x%llx: a site with a USDT "
			       "semaphore and symbolic arguments is not supported", provider, name,
			       (unsigned long long)site->pc);
			rc = -EINVAL;
			break;
		}
		if (uprobe_spec_build(site, obj.elf_type, USDT_COOKIE(index, gen), &spec, why,
				      sizeof(why))) {
			sled_seterr(err, errlen, "cannot attach %s:%s at 0x%llx: %s", provider, name,
			       (unsigned long long)site->pc, why);
			rc = -EINVAL;
			break;
		}
		s->nown = (unsigned)k + 1; /* from here on, own_release() undoes it */
		if (bpf_map_update_elem(map_fd, &key, &spec, BPF_ANY)) {
			rc = -errno;
			sled_seterr(err, errlen, "cannot attach %s:%s: own_specs map: %s%s", provider, name,
			       strerror(-rc), rc == -E2BIG ? " (too many sites attached)" : "");
			break;
		}
		LIBBPF_OPTS(bpf_uprobe_opts, uopts, .bpf_cookie = key);
		s->own[k] = bpf_program__attach_uprobe_opts(u->skel->progs.sled_usdt, pid,
							    attach_path, site->file_offset, &uopts);
		if (!s->own[k]) {
			rc = -errno;
			sled_seterr(err, errlen, "cannot attach %s:%s at 0x%llx in %s: %s", provider, name,
			       (unsigned long long)site->pc, binary, strerror(-rc));
		}
		k++;
	}
	sled_object_free(&obj);
	if (rc)
		own_release(u, s, index, NULL, 0);
	return rc;
}

int uprobe_attach(struct uprobe_ctx *u, const char *binary, pid_t pid, const char *provider,
		  const char *name, const struct sled_field *fields, unsigned nfields,
		  uint32_t probe_id, const struct uprobe_functions *fn, char *err, size_t errlen)
{
	struct usdt_probe_info info = { 0 };
	struct usdt_probe_conf conf = { 0 };
	struct bpf_link *link;
	struct slot *s;
	int *fds0 = NULL, *fds1 = NULL, n0, n1, bin_fd = -1;
	char why[300], short_path[32];
	const char *attach_path = binary;
	int index, rc;

	if (!u || !binary || !*binary || !provider || !name || (!fields && nfields)) {
		sled_seterr(err, errlen, "uprobe attach: missing argument");
		return -EINVAL;
	}
	if (!*provider || !*name || strlen(provider) >= sizeof(s->provider) ||
	    strlen(name) >= sizeof(s->name)) {
		sled_seterr(err, errlen, "uprobe attach: bad tracepoint name '%s:%s'", provider, name);
		return -EINVAL;
	}
	if (nfields > USDT_MAX_ARGS) {
		sled_seterr(err, errlen, "uprobe attach: %s:%s has %u fields, at most %d are supported",
		       provider, name, nfields, USDT_MAX_ARGS);
		return -EINVAL;
	}
	if (pid == 0 || pid < -1) {
		sled_seterr(err, errlen, "uprobe attach: pid must be -1 (every process) or a process id");
		return -EINVAL;
	}
	if (access(binary, R_OK) != 0) {
		rc = -errno;
		sled_seterr(err, errlen, "cannot attach %s:%s: %s: %s", provider, name, binary, strerror(-rc));
		return rc;
	}
	if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
		sled_seterr(err, errlen, "cannot attach %s:%s: no process %d", provider, name, (int)pid);
		return -ESRCH;
	}
	index = slot_alloc(u);
	if (index < 0) {
		sled_seterr(err, errlen, "cannot attach %s:%s: all %d uprobe handles are in use",
		       provider, name, USDT_MAX_PROBES);
		return -ENOSPC;
	}
	s = &u->slots[index];
	if (s->state == SLOT_DETACHED) {
		slot_release(s); /* its records, if any are left, will count as stale */
		slot_aggs_free(u, s);
	}

	info.gen = (uint16_t)(s->gen + 1);
	if (!info.gen)
		info.gen = 1; /* 0 is "never used" (and what an unprogrammed map entry holds) */
	info.nargs = (uint8_t)nfields;
	for (unsigned i = 0; i < nfields; i++) {
		info.types[i] = fields[i].type;
		if (fields[i].type == SLED_T_STRING)
			info.nstrings++;
	}
	if (fn) {
		if (fn->filter && fn->filter->ninsns) {
			if (fn->filter->ninsns > SLED_FILTER_MAX_INSNS) {
				sled_seterr(err, errlen, "uprobe attach: %s:%s: malformed filter program",
				       provider, name);
				return -EINVAL;
			}
			conf.filter = *fn->filter;
			if (filter_reads_strings(fn->filter))
				info.flags |= USDT_PF_FILTER_STR;
		}
		conf.sample_every = fn->sample;
		conf.rate_per_sec = fn->rate;
		/* An aggregating hit is never recorded: count-only means nothing more. */
		conf.count_only = fn->count_only && !fn->naggs;
		if (conf.filter.ninsns || conf.sample_every > 1 || conf.rate_per_sec || conf.count_only)
			info.flags |= USDT_PF_OPTIONS;
	}
	slot_aggs_free(u, s); /* a slot whose last attach failed half-way */
	if (fn && fn->naggs) {
		if (fn->naggs > UPROBE_MAX_AGGS || !fn->aggs) {
			sled_seterr(err, errlen, "uprobe attach: %s:%s: at most %d aggregations",
				    provider, name, UPROBE_MAX_AGGS);
			return -EINVAL;
		}
		rc = slot_aggs(u, s, (unsigned)index, fn->aggs, fn->naggs);
		if (rc) {
			sled_seterr(err, errlen, "cannot attach %s:%s: aggregation maps: %s", provider,
				    name, strerror(-rc));
			return rc;
		}
		info.flags |= USDT_PF_AGG;
	}
	s->gen = info.gen;
	rc = slot_program(u, (unsigned)index, &info, &conf);
	if (rc) {
		slot_aggs_free(u, s);
		sled_seterr(err, errlen, "cannot attach %s:%s: BPF map update: %s", provider, name,
		       strerror(-rc));
		return rc;
	}

	/* libbpf 1.1 names a tracefs uprobe event after the binary's whole path, and the
	 * kernel refuses names over 64 characters: hand it a short path to the same file. */
	if (u->legacy && strlen(binary) > 24) {
		bin_fd = open(binary, O_RDONLY | O_CLOEXEC);
		if (bin_fd >= 0) {
			snprintf(short_path, sizeof(short_path), "/proc/self/fd/%d", bin_fd);
			attach_path = short_path;
		}
	}

	LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = USDT_COOKIE(index, info.gen));
	/* Locked: detachers close fds under the same lock, so the fds that appear are this
	 * attach's. */
	pthread_mutex_lock(&u->libbpf_lock);
	libbpf_last[0] = '\0';
	n0 = list_fds(&fds0);
	link = bpf_program__attach_usdt(u->skel->progs.sled_usdt, pid, attach_path, provider, name,
					&opts);
	rc = link ? 0 : -errno;
	libbpf_why(why, sizeof(why)); /* under the lock: detachers' libbpf calls log too */
	if (!link && (rc == -EINVAL || rc == -ENOENT)) {
		/* Some spec libbpf cannot parse ("counter(%rip)", "%fs:x@tpoff", ...). */
		int own = attach_own(u, s, (unsigned)index, info.gen, binary, attach_path, pid,
				     provider, name, err, errlen);

		if (own != -ENOTSUP) {
			if (own) {
				pthread_mutex_unlock(&u->libbpf_lock);
				if (bin_fd >= 0)
					close(bin_fd);
				free(fds0);
				slot_unprogram(u, (unsigned)index);
				slot_aggs_free(u, s);
				return own;
			}
			rc = 0;
		}
	}
	n1 = (link || s->own) ? list_fds(&fds1) : -1;
	pthread_mutex_unlock(&u->libbpf_lock);
	if (bin_fd >= 0)
		close(bin_fd); /* the uprobes hold the file itself */
	if (!link && !s->own) {
		free(fds0);
		if (rc >= 0)
			rc = -EINVAL;
		slot_unprogram(u, (unsigned)index);
		slot_aggs_free(u, s);
		if (rc == -ENOENT && !strstr(why, "No such file"))
			sled_seterr(err, errlen, "cannot attach %s:%s: no such tracepoint in %s%s", provider,
			       name, binary, why);
		else if (rc == -EBADF || rc == -ENOEXEC)
			sled_seterr(err, errlen, "cannot attach %s:%s: %s is not an ELF file we can read%s",
			       provider, name, binary, why);
		else if (rc == -ESRCH)
			sled_seterr(err, errlen, "cannot attach %s:%s: no process %d", provider, name, (int)pid);
		else if (rc == -EMFILE || rc == -ENFILE)
			sled_seterr(err, errlen, "cannot attach %s:%s in %s: out of file descriptors "
			       "(2 per site; raise RLIMIT_NOFILE)%s", provider, name, binary, why);
		else
			sled_seterr(err, errlen, "cannot attach %s:%s in %s: %s%s", provider, name, binary,
			       strerror(-rc), why);
		return rc;
	}

	s->binary = strdup(binary);
	if (!s->binary) {
		free(fds0);
		free(fds1);
		destroy_link(u, link);
		own_release(u, s, (unsigned)index, NULL, 0);
		slot_unprogram(u, (unsigned)index);
		slot_aggs_free(u, s);
		sled_seterr(err, errlen, "cannot attach %s:%s: out of memory", provider, name);
		return -ENOMEM;
	}
	s->state = SLOT_ATTACHED;
	s->link = link;
	s->probe_id = probe_id;
	s->pid = pid;
	s->nfields = nfields;
	if (n0 >= 0 && n1 >= 0)
		note_new_fds(s, fds0, n0, fds1, n1);
	else
		s->fds = 0; /* unknown: the background detach then only destroys the link */
	free(fds0);
	free(fds1);
	s->exported = 0;
	s->arg_errors = 0;
	snprintf(s->provider, sizeof(s->provider), "%s", provider);
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (unsigned i = 0; i < nfields; i++) {
		s->fields[i] = fields[i];
		s->fields[i].name[sizeof(s->fields[i].name) - 1] = '\0';
	}
	return handle_of((unsigned)index, s->gen);
}

void uprobe_detach(struct uprobe_ctx *u, int handle)
{
	unsigned index;
	struct slot *s = slot_of(u, handle, &index);

	if (!s || s->state != SLOT_ATTACHED)
		return;
	slot_unprogram(u, index); /* the program ignores the handle from now on */
	/* Aggregations are read before a detach (uprobe_agg_fold) or no more (disable):
	 * their maps go now, not at the slot's reuse.  A run still updating one holds its
	 * own reference. */
	slot_aggs_free(u, s);
	u->quiesce = true;
	if (s->own)
		own_release(u, s, index, s->kfds, s->nkfds);
	else
		detach_later(u, s->link, s->kfds, s->nkfds);
	s->link = NULL;
	s->kfds = NULL;
	s->nkfds = 0;
	s->state = SLOT_DETACHED;
}

/* --- Drain and counts ----------------------------------------------------------------- */

uint64_t uprobe_drain(struct uprobe_ctx *u,
		      void (*sink)(const struct sled_event *ev, uint32_t probe_id, void *arg),
		      void *arg)
{
	uint64_t now;

	if (!u || !sink)
		return 0;
	quiesce(u);
	now = sled_clock_ns(CLOCK_MONOTONIC);
	if (now - u->clock_at >= CLOCK_REFRESH_NS)
		clock_refresh(u);
	u->sink = sink;
	u->sink_arg = arg;
	u->drained = 0;
	ring_buffer__consume(u->rb); /* errors: only STOP_DRAIN from on_record */
	u->sink = NULL;
	return u->drained;
}

void uprobe_figures(struct uprobe_ctx *u, int handle, struct uprobe_figures *f)
{
	unsigned index;
	struct slot *s = slot_of(u, handle, &index);
	__u32 key;

	memset(f, 0, sizeof(*f));
	if (!s)
		return;
	quiesce(u);
	key = index;
	if (bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.counts), &key, u->percpu) == 0) {
		for (int c = 0; c < u->ncpus; c++) {
			f->hits += u->percpu[c].hits;
			f->dropped += u->percpu[c].drops;
			f->filtered += u->percpu[c].filtered;
			f->sampled += u->percpu[c].sampled;
			f->limited += u->percpu[c].limited;
		}
	}
	/* Summed CPU by CPU while hits go on, a stage's count can be read after the hit that
	 * it counts was: never report a negative emitted. */
	if (f->hits >= f->filtered + f->sampled + f->limited)
		f->emitted = f->hits - f->filtered - f->sampled - f->limited;
	f->exported = s->exported;
}

void uprobe_counts(struct uprobe_ctx *u, int handle, uint64_t *emitted, uint64_t *exported,
		   uint64_t *dropped)
{
	struct uprobe_figures f;

	uprobe_figures(u, handle, &f);
	if (emitted)
		*emitted = f.emitted;
	if (exported)
		*exported = f.exported;
	if (dropped)
		*dropped = f.dropped;
}

int uprobe_handle_info(struct uprobe_ctx *u, int handle, struct uprobe_handle_info *info)
{
	struct slot *s = slot_of(u, handle, NULL);

	if (!s)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	info->probe_id = s->probe_id;
	info->pid = s->pid;
	info->fds = s->fds;
	info->attached = s->state == SLOT_ATTACHED;
	info->arg_errors = s->arg_errors;
	snprintf(info->provider, sizeof(info->provider), "%s", s->provider);
	snprintf(info->name, sizeof(info->name), "%s", s->name);
	info->binary = s->binary;
	return 0;
}

unsigned uprobe_each_attached(struct uprobe_ctx *u,
			      void (*fn)(const struct uprobe_handle_info *info, void *arg), void *arg)
{
	unsigned n = 0;

	for (unsigned i = 0; u && i < USDT_MAX_PROBES; i++) {
		const struct slot *s = &u->slots[i];
		struct uprobe_handle_info info = {
			.probe_id = s->probe_id, .pid = s->pid, .fds = s->fds, .attached = 1,
			.arg_errors = s->arg_errors, .binary = s->binary,
		};

		if (s->state != SLOT_ATTACHED)
			continue;
		n++;
		if (!fn)
			continue;
		snprintf(info.provider, sizeof(info.provider), "%s", s->provider);
		snprintf(info.name, sizeof(info.name), "%s", s->name);
		fn(&info, arg);
	}
	return n;
}

void uprobe_stats(struct uprobe_ctx *u, struct uprobe_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!u)
		return;
	for (unsigned i = 0; i < USDT_MAX_PROBES; i++) {
		if (u->slots[i].state == SLOT_ATTACHED) {
			st->handles++;
			st->fds += u->slots[i].fds;
		}
	}
	st->malformed = u->malformed;
	st->stale = u->stale;
	st->ring_bytes = RING_BYTES;
}
