/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sled/tracepoint.h>

#include "common/fnv.h"
#include "daemon/sled/block.h"
#include "daemon/core/clock.h"
#include "discovery/proc_maps.h"
#include "daemon/sled/procs.h"
#include "daemon/sled/aggregate.h"
#include "daemon/sled/shm_compile.h"

static void block_path(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, SLED_SHM_DIR "/" SLED_SHM_PREFIX "%d", (int)pid);
}

int procs_read_stat(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *p;
	unsigned long long start, vsize;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu %llu", &st->state, &st->flags, &start, &vsize) != 4)
		return -1;
	st->start_time = start;
	st->vsize = vsize;
	return 0;
}

uint64_t procs_start_time(pid_t pid)
{
	struct proc_stat st;

	return procs_read_stat(pid, &st) ? 0 : st.start_time;
}

static void fill_meta(struct slot_meta *m, const struct sled_process_object *po,
		      const struct sled_site *s)
{
	snprintf(m->provider, sizeof(m->provider), "%s", s->provider);
	snprintf(m->name, sizeof(m->name), "%s", s->name);
	snprintf(m->object, sizeof(m->object), "%s", po->path);
	m->nfields = s->kind == SLED_SITE_GUARD ? 0 : (unsigned)s->nargs;
	if (m->nfields) /* a site without arguments has no field table (NULL) */
		memcpy(m->fields, s->fields, sizeof(m->fields[0]) * m->nfields);
}

/*
 * Slots a previous daemon assigned may still have records in the rings (written between
 * its death and the agent's restore): give them names again from the discovered sites,
 * so those events are exported rather than lost.
 */
static void adopt_slot_meta(struct traced_proc *p)
{
	for (unsigned i = 0; i < p->nslots; i++) {
		for (size_t o = 0; o < p->disc.nobjects && !p->meta[i]; o++) {
			const struct sled_process_object *po = &p->disc.objects[o];
			const struct sled_object *obj = po->obj;

			for (size_t k = 0; k < obj->nsites; k++) {
				const struct sled_site *s = &obj->sites[k];
				bool guard = s->kind == SLED_SITE_GUARD;

				if (sled_site_runtime(po, s) != p->slots[i].addr ||
				    guard != (p->slots[i].kind == SLED_SITE_SLOT_GUARD) ||
				    (!guard && s->nargs != p->slots[i].nargs))
					continue;
				p->meta[i] = calloc(1, sizeof(*p->meta[i]));
				if (p->meta[i])
					fill_meta(p->meta[i], po, s);
				break;
			}
		}
	}
}

struct traced_proc *procs_find(struct procs *ps, pid_t pid)
{
	for (struct traced_proc *p = ps->head; p; p = p->next)
		if (p->pid == pid && !p->gone)
			return p;
	return NULL;
}

/*
 * One daemon per process: two daemons draining the same rings would each export part of
 * the events.  A block owned by another live daemon whose heartbeat is fresh is left
 * alone; a silent owner (killed, hung) is replaced.
 */
static int claim_ownership(struct sled_shm_header *h, uint64_t now_ns)
{
	uint32_t me = (uint32_t)getpid();
	uint32_t owner = __atomic_load_n(&h->daemon_pid, __ATOMIC_ACQUIRE);
	uint64_t beat = __atomic_load_n(&h->heartbeat_ns, __ATOMIC_ACQUIRE);
	uint64_t limit = (uint64_t)h->heartbeat_timeout_ms * 1000000ull;

	if (owner == me)
		return 0;
	if (owner && !(kill((pid_t)owner, 0) && errno == ESRCH) && beat && now_ns - beat < limit)
		return -1;
	return __atomic_compare_exchange_n(&h->daemon_pid, &owner, me, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE) ? 0 : -1;
}

void procs_release(struct procs *ps)
{
	for (struct traced_proc *p = ps->head; p; p = p->next) {
		uint32_t me = (uint32_t)getpid();

		__atomic_compare_exchange_n(&p->shm->daemon_pid, &me, 0, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED);
	}
}

static bool is_block_map(const struct sled_map *m)
{
	return m->deleted && m->offset == 0 && !strcmp(m->path, "/memfd:" SLED_SHM_MEMFD);
}

/* libsled of shm version 3 and older kept its block in /dev/shm: found only to name its
 * version in the error. */
static bool is_old_block_map(const struct sled_map *m)
{
	return m->offset == 0 && !strncmp(m->path, SLED_SHM_DIR "/" SLED_SHM_PREFIX,
					  strlen(SLED_SHM_DIR "/" SLED_SHM_PREFIX));
}

/*
 * What an opened block must be before it is mapped: of our version (named first, so that
 * another version is never taken for a malformed block), sealed so that it can never
 * shrink under the daemon (no SIGBUS) nor grow, and exactly the size of our layout.
 */
static int check_block_fd(int fd, pid_t pid, struct stat *st, char *why, size_t len)
{
	char first8[8];
	int seals, ret;

	if (fstat(fd, st) || !S_ISREG(st->st_mode) || pread(fd, first8, 8, 0) != 8) {
		snprintf(why, len, "process %d's sled block is not a readable file of at least 8 bytes",
			 (int)pid);
		return -EBADMSG;
	}
	ret = block_check_version(first8, pid, why, len);
	if (ret)
		return ret;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
		snprintf(why, len, "process %d's sled block is not sealed against shrinking and growing",
			 (int)pid);
		return -EPERM;
	}
	if (!sled_shm_ring_data_of((uint64_t)st->st_size)) {
		snprintf(why, len, "process %d's sled block has %llu bytes, not a version %u block "
			 "of any allowed ring size", (int)pid, (unsigned long long)st->st_size,
			 (unsigned)SLED_SHM_VERSION);
		return -EBADMSG;
	}
	return 0;
}

/*
 * Find pid's block among its mappings and open it read-write through map_files (root
 * may; the memfd has no name anywhere else).  Returns the fd, or a negative errno with
 * why.  Several candidates (a process may map more memfds named "sled"): the first that
 * passes wins.
 */
static int open_block(pid_t pid, struct stat *st, char *why, size_t len)
{
	struct sled_map *maps;
	char err[128], path[96];
	int ret = -ENOENT, fd = -1;
	size_t n;

	if (sled_maps_read(pid, &maps, &n, err, sizeof(err))) {
		snprintf(why, len, "process %d: %s", (int)pid, err);
		return -ESRCH;
	}
	for (size_t i = 0; i < n && fd < 0; i++) {
		if (!is_block_map(&maps[i]) && !is_old_block_map(&maps[i]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
			 (unsigned long long)maps[i].start, (unsigned long long)maps[i].end);
		fd = open(path, O_RDWR | O_CLOEXEC); /* a magic link: followed */
		if (fd < 0) {
			ret = -errno;
			snprintf(why, len, "process %d's sled block cannot be opened: %s", (int)pid,
				 strerror(errno));
			continue;
		}
		ret = check_block_fd(fd, pid, st, why, len);
		if (ret) {
			close(fd);
			fd = -1;
		}
	}
	free(maps);
	if (ret == -ENOENT)
		snprintf(why, len, "process %d has no sled block: it does not link libsled, or its "
			 "runtime is off (SLED_DISABLE) or failed to start", (int)pid);
	return fd >= 0 ? fd : ret;
}

/* The daemon traces in sled mode the processes that see the same /dev/shm as it does, as
 * it did when blocks were files there: a container (or a test) with a /dev/shm of its own
 * keeps its own daemon, while a daemon in a mount namespace of its own that shares the
 * machine's /dev/shm still sees the machine's processes. */
static bool same_mount_ns(pid_t pid)
{
	char path[64];
	struct stat mine, theirs;

	snprintf(path, sizeof(path), "/proc/%d/root/dev/shm", (int)pid);
	if (stat("/dev/shm", &mine) || stat(path, &theirs))
		return true; /* no /dev/shm on either side: nothing tells them apart */
	return mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

static struct traced_proc *refuse(int err)
{
	errno = err < 0 ? -err : err;
	return NULL;
}

struct traced_proc *procs_attach(struct procs *ps, pid_t pid, uint64_t heartbeat_ns)
{
	char *why = ps->why, path[64];
	size_t len = sizeof(ps->why);
	struct traced_proc *p;
	struct sled_shm_header *h;
	struct proc_stat before;
	struct stat st, pst;
	uint64_t start_time, size;
	void *mem;
	int fd, ret;

	if ((p = procs_find(ps, pid)))
		return p;
	why[0] = 0;
	if (procs_read_stat(pid, &before)) {
		snprintf(why, len, "process %d does not exist", (int)pid);
		return refuse(ESRCH);
	}
	if (!same_mount_ns(pid)) {
		snprintf(why, len, "process %d sees another /dev/shm than probed (a container?): sled "
			 "mode traces the processes of the daemon's own (--mode uprobe traces it)", (int)pid);
		return refuse(EXDEV);
	}
	fd = open_block(pid, &st, why, len);
	if (fd < 0)
		return refuse(fd);
	/* Sealed: the size checked by open_block is the size for good. */
	size = (uint64_t)st.st_size;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED) {
		snprintf(why, len, "process %d's sled block cannot be mapped: %s", (int)pid,
			 strerror(errno));
		return NULL;
	}
	h = mem;
	ret = block_check_header(mem, size, pid, why, len);
	start_time = __atomic_load_n(&h->start_time, __ATOMIC_RELAXED);
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (!ret && (stat(path, &pst) || pst.st_uid != st.st_uid)) {
		snprintf(why, len, "process %d's sled block is not its owner's", (int)pid);
		ret = -ESTALE;
	}
	/* The pid named one process from the first look to now, and the block names it. */
	if (!ret && (procs_start_time(pid) != before.start_time || start_time != before.start_time)) {
		snprintf(why, len, "process %d: its sled block names another process (pid reused?)",
			 (int)pid);
		ret = -ESTALE;
	}
	for (struct traced_proc *q = ps->head; q && !ret; q = q->next) {
		if (q->gone || q->block_ino != (uint64_t)st.st_ino || q->block_dev != (uint64_t)st.st_dev)
			continue;
		snprintf(why, len, "process %d maps the sled block of process %d", (int)pid, (int)q->pid);
		ret = -ESTALE;
	}
	if (!ret && claim_ownership(h, heartbeat_ns)) {
		snprintf(why, len, "process %d is traced by another probed", (int)pid);
		ret = -EBUSY;
	}
	if (!ret && !(p = calloc(1, sizeof(*p))))
		ret = -ENOMEM;
	if (ret) {
		munmap(mem, size);
		return refuse(ret);
	}
	p->pid = pid;
	p->block_ino = (uint64_t)st.st_ino;
	p->block_dev = (uint64_t)st.st_dev;
	p->uid = pst.st_uid;
	p->start_time = start_time;
	p->exec_id = __atomic_load_n(&h->exec_id, __ATOMIC_RELAXED);
	p->shm = h;
	p->size = size;
	p->ring_data = sled_shm_ring_data_of(size);
	p->slots = block_slots(mem);
	p->rings = block_rings(mem);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (readlink(path, p->exe, sizeof(p->exe) - 1) < 0)
		snprintf(p->exe, sizeof(p->exe), "?");
	p->nslots = block_adopt_slots(p->slots);
	procs_rediscover(ps, p);
	adopt_slot_meta(p);
	__atomic_store_n(&h->heartbeat_ns, heartbeat_ns, __ATOMIC_RELEASE);
	p->next = ps->head;
	ps->head = p;
	ps->count++;
	return p;
}

/* Does p's process still map the block we attached (not exec'd into a new image)? */
static bool still_maps_block(const struct traced_proc *p, const struct sled_map *maps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_block_map(&maps[i]) && maps[i].inode == p->block_ino)
			return true;
	return false;
}
int procs_check_maps(struct procs *ps, struct traced_proc *p)
{
	uint64_t h = SLED_FNV_OFFSET;
	struct sled_map *maps;
	char err[128];
	size_t n;

	if (sled_maps_read(p->pid, &maps, &n, err, sizeof(err)))
		return 0;
	if (!still_maps_block(p, maps, n)) {
		free(maps);
		snprintf(p->why, sizeof(p->why), "it no longer maps its sled block (exec)");
		p->gone = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (maps[i].executable && sled_map_is_file(&maps[i]))
			h = (h ^ (maps[i].start + maps[i].inode)) * SLED_FNV_PRIME;
	free(maps);
	if (h == p->maps_fingerprint)
		return 0;
	p->maps_fingerprint = h;
	return procs_rediscover(ps, p) == 0;
}

static bool over_cap(const struct sled_process_object *po)
{
	return po->error == -E2BIG && po->ndiags;
}

static bool was_over_cap(const struct sled_process *old, const char *path)
{
	for (size_t i = 0; i < old->nobjects; i++)
		if (over_cap(&old->objects[i]) && !strcmp(old->objects[i].path, path))
			return true;
	return false;
}

struct sled_objcache *procs_objects(struct procs *ps)
{
	if (!ps->objects)
		ps->objects = sled_objcache_new(SLED_OBJCACHE_DEFAULT_MAX_BYTES);
	return ps->objects;
}

int procs_rediscover(struct procs *ps, struct traced_proc *p)
{
	struct sled_process fresh;
	char err[256], line[512];
	int ret;

	if (!procs_objects(ps))
		return -ENOMEM;
	/* The objects still mapped are found in the cache: read again only if changed. */
	ret = sled_process_read(ps->objects, p->pid, &fresh, err, sizeof(err));
	if (ret)
		return ret;
	for (size_t i = 0; ps->warn && i < fresh.nobjects; i++) {
		if (!over_cap(&fresh.objects[i]) || was_over_cap(&p->disc, fresh.objects[i].path))
			continue;
		snprintf(line, sizeof(line), "process %d: %s", (int)p->pid,
			 fresh.objects[i].diags[0].msg);
		ps->warn(ps->log_arg, line);
	}
	sled_process_free(&p->disc);
	p->disc = fresh;
	return 0;
}

void procs_check_alive(struct procs *ps)
{
	for (struct traced_proc *p = ps->head; p; p = p->next) {
		if (p->gone)
			continue;
		if ((kill(p->pid, 0) && errno == ESRCH) || procs_start_time(p->pid) != p->start_time ||
		    __atomic_load_n(&p->shm->exec_id, __ATOMIC_RELAXED) != p->exec_id) {
			p->gone = true;
			continue;
		}
		/* The process may rewrite its header at any time: nothing of it is used, but a
		 * block that no longer says what the daemon reads it as is let go, with why. */
		if (block_check_header(p->shm, p->size, p->pid, p->why, sizeof(p->why)))
			p->gone = true;
	}
}

void procs_reap(struct procs *ps, void (*fn)(struct traced_proc *p, void *arg), void *arg)
{
	struct traced_proc **pp = &ps->head;

	while (*pp) {
		struct traced_proc *p = *pp;

		if (!p->gone) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		ps->count--;
		if (fn)
			fn(p, arg);
		for (unsigned i = 0; i < SLED_SHM_MAX_SITES; i++)
			free(p->meta[i]);
		sled_process_free(&p->disc);
		agg_proc_free(p);
		munmap(p->shm, p->size);
		free(p->job);
		free(p);
	}
}

/*
 * Pids looked at that had nothing to attach, with the start time and address-space size
 * they had then (sorted by pid): looked at again only when those change (an exec, a new
 * mapping such as a block), so a scan costs one /proc/PID/stat read per process.
 */
static int seen_cmp(const void *a, const void *b)
{
	const struct procs_seen *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct procs_seen *seen_find(const struct procs *ps, pid_t pid)
{
	struct procs_seen key = { .pid = pid };

	return ps->seen ? bsearch(&key, ps->seen, ps->nseen, sizeof(key), seen_cmp) : NULL;
}

/* A failure that will not change until the process does (and its stat with it). */
static bool settled(int err)
{
	return err == ENOENT || err == EPROTO || err == EBADMSG || err == EPERM || err == EXDEV;
}

static bool seen_unchanged(const struct procs *ps, pid_t pid, const struct proc_stat *st)
{
	const struct procs_seen *s = seen_find(ps, pid);

	return s && s->start_time == st->start_time && s->vsize == st->vsize;
}

static void report(struct procs *ps, int err)
{
	if (ps->log && err != ENOENT && err != EAGAIN && err != ESRCH && err != EBUSY &&
	    err != EXDEV)
		ps->log(ps->log_arg, ps->why);
}

struct traced_proc *procs_look(struct procs *ps, pid_t pid, uint64_t heartbeat_ns)
{
	struct traced_proc *p = procs_find(ps, pid);
	struct procs_seen *s;
	struct proc_stat st;

	if (p && procs_check_maps(ps, p) >= 0 && !p->gone)
		return p;
	if (procs_read_stat(pid, &st) || seen_unchanged(ps, pid, &st)) {
		errno = ENOENT;
		return NULL;
	}
	p = procs_attach(ps, pid, heartbeat_ns);
	if (p || !settled(errno))
		return p;
	report(ps, errno);
	s = seen_find(ps, pid);
	if (!s) {
		struct procs_seen *grown = realloc(ps->seen, (ps->nseen + 1) * sizeof(*grown));

		if (!grown)
			return NULL;
		ps->seen = grown;
		s = &ps->seen[ps->nseen++];
		s->pid = pid;
		qsort(ps->seen, ps->nseen, sizeof(*s), seen_cmp);
		s = seen_find(ps, pid);
	}
	s->start_time = st.start_time;
	s->vsize = st.vsize;
	errno = ENOENT;
	return NULL;
}

#define PF_KTHREAD_FLAG 0x00200000u /* PF_KTHREAD of <linux/sched.h> */

/* Hints of processes that are gone (killed before they could remove theirs). */
static void remove_dead_hints(void)
{
	DIR *d = opendir(SLED_SHM_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end, path[64];
		long pid;

		if (strncmp(e->d_name, SLED_SHM_PREFIX, strlen(SLED_SHM_PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(SLED_SHM_PREFIX), &end, 10);
		if (*end || pid <= 0 || pid > INT32_MAX || !(kill((pid_t)pid, 0) && errno == ESRCH))
			continue;
		block_path(path, sizeof(path), (pid_t)pid);
		unlink(path);
	}
	closedir(d);
}

void procs_scan(struct procs *ps, uint64_t heartbeat_ns)
{
	DIR *d = opendir("/proc");
	struct procs_seen *next = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	remove_dead_hints();
	if (!d)
		return;
	while ((e = readdir(d))) {
		struct proc_stat st;
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT32_MAX || procs_find(ps, (pid_t)pid) ||
		    procs_read_stat((pid_t)pid, &st) || (st.flags & PF_KTHREAD_FLAG) || st.state == 'Z')
			continue;
		if (!seen_unchanged(ps, (pid_t)pid, &st)) {
			if (procs_attach(ps, (pid_t)pid, heartbeat_ns) || !settled(errno))
				continue;
			report(ps, errno);
		}
		if (n == cap) {
			struct procs_seen *grown = realloc(next, (cap = cap ? 2 * cap : 256) * sizeof(*next));

			if (!grown)
				break;
			next = grown;
		}
		next[n++] = (struct procs_seen){ (pid_t)pid, st.start_time, st.vsize };
	}
	closedir(d);
	qsort(next, n, sizeof(*next), seen_cmp);
	free(ps->seen);
	ps->seen = next;
	ps->nseen = n;
}

void procs_heartbeat(struct procs *ps, uint64_t now_ns, uint64_t tsc_hz)
{
	for (struct traced_proc *p = ps->head; p; p = p->next) {
		if (p->gone)
			continue;
		__atomic_store_n(&p->shm->tsc_hz, tsc_hz, __ATOMIC_RELAXED);
		__atomic_store_n(&p->shm->heartbeat_ns, now_ns, __ATOMIC_RELEASE);
	}
}

int procs_slot_for(struct traced_proc *p, const struct sled_process_object *po,
		   const struct sled_site *s)
{
	uint32_t kind = shm_site_kind(s->kind);
	uint64_t runtime = sled_site_runtime(po, s);
	struct sled_shm_site *slot;
	struct slot_meta *m;
	unsigned i;

	if (!runtime)
		return -EADDRNOTAVAIL;
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].addr == runtime && p->slots[i].kind == kind)
			break;
	if (i == p->nslots && p->nslots == SLED_SHM_MAX_SITES)
		return -ENOSPC;
	slot = &p->slots[i];
	if (i == p->nslots) {
		memset(slot, 0, sizeof(*slot));
		slot->addr = runtime;
		slot->target = kind == SLED_SITE_SLOT_GUARD ? s->target + (runtime - s->pc) : 0;
		slot->nargs = kind == SLED_SITE_SLOT_GUARD ? 0 : (uint16_t)s->nargs;
		for (int a = 0; a < slot->nargs; a++) {
			if (shm_compile_arg(&s->args[a], s->fields[a].type, runtime - s->pc,
					&slot->args[a]))
				return -EINVAL;
			if (s->fields[a].type == SLED_T_STRING)
				slot->flags |= SLED_SITE_F_STRINGS;
		}
		/* kind last: the agent and the SIGTRAP handler look at slots by kind. */
		__atomic_store_n(&slot->kind, kind, __ATOMIC_RELEASE);
		p->nslots++;
	}
	if (!p->meta[i]) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		p->meta[i] = m;
		fill_meta(m, po, s);
	}
	return (int)i;
}

uint32_t procs_post(struct traced_proc *p)
{
	struct sled_shm_header *h = p->shm;
	uint32_t seq = h->cmd.seq + 1;

	/* A command is a sign of life too: a daemon busy with a long run of requests must not
	 * look dead to the agent (which would restore every sled behind its back). */
	__atomic_store_n(&h->heartbeat_ns, sled_clock_monotonic_ns(), __ATOMIC_RELEASE);
	h->cmd.op = SLED_OP_APPLY;
	__atomic_store_n(&h->cmd.seq, seq, __ATOMIC_RELEASE);
	__atomic_add_fetch(&h->doorbell, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &h->doorbell, FUTEX_WAKE, 1, NULL, NULL, 0);
	return seq;
}

bool procs_cmd_done(const struct traced_proc *p, uint32_t seq, int *result)
{
	const struct sled_shm_header *h = p->shm;
	uint32_t done = __atomic_load_n(&h->cmd.done_seq, __ATOMIC_ACQUIRE);

	/* A later command answered covers this one: the agent applies the latest wants. */
	if ((int32_t)(done - seq) < 0)
		return false;
	*result = h->cmd.result;
	return true;
}

bool procs_cmd_idle(const struct traced_proc *p)
{
	return __atomic_load_n(&p->shm->cmd.done_seq, __ATOMIC_ACQUIRE) ==
	       __atomic_load_n(&p->shm->cmd.seq, __ATOMIC_RELAXED);
}

void procs_free(struct procs *ps)
{
	for (struct traced_proc *p = ps->head; p; p = p->next)
		p->gone = true;
	procs_reap(ps, NULL, NULL);
	sled_objcache_free(ps->objects);
	ps->objects = NULL;
	free(ps->seen);
	ps->seen = NULL;
	ps->nseen = 0;
}
