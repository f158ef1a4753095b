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

#include "clock.h"
#include "proc_maps.h"
#include "procs.h"

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

/* The block must be mapped by the live image of pid: an exec'd image without libsled,
 * or a file planted under another pid's name, is not. */
static bool maps_block(pid_t pid, ino_t ino)
{
	struct sled_map *maps;
	char err[128], path[64];
	bool found = false;
	size_t n;

	block_path(path, sizeof(path), pid);
	if (sled_maps_read(pid, &maps, &n, err, sizeof(err)))
		return false;
	for (size_t i = 0; i < n && !found; i++)
		found = maps[i].inode == (uint64_t)ino && !strcmp(maps[i].path, path);
	free(maps);
	return found;
}

static void fill_meta(struct slot_meta *m, const struct sled_object *obj, const struct sled_site *s)
{
	snprintf(m->provider, sizeof(m->provider), "%s", s->provider);
	snprintf(m->name, sizeof(m->name), "%s", s->name);
	snprintf(m->object, sizeof(m->object), "%s", obj->path);
	m->nfields = s->kind == SLED_SITE_GUARD ? 0 : (unsigned)s->nargs;
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
			const struct sled_object *obj = &p->disc.objects[o];

			for (size_t k = 0; k < obj->nsites; k++) {
				const struct sled_site *s = &obj->sites[k];
				bool guard = s->kind == SLED_SITE_GUARD;

				if (s->runtime != p->slots[i].addr ||
				    guard != (p->slots[i].kind == SLED_SITE_SLOT_GUARD) ||
				    (!guard && s->nargs != p->slots[i].nargs))
					continue;
				p->meta[i] = calloc(1, sizeof(*p->meta[i]));
				if (p->meta[i])
					fill_meta(p->meta[i], obj, s);
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

static void adopt_existing_slots(struct traced_proc *p)
{
	/* A previous daemon may have assigned slots: keep them (stubs are per slot), want
	 * nothing until our own probes say otherwise. */
	for (unsigned i = 0; i < SLED_SHM_MAX_SITES; i++) {
		struct sled_shm_site *s = &p->slots[i];

		if (s->kind == SLED_SITE_SLOT_FREE)
			break;
		__atomic_store_n(&s->want, 0, __ATOMIC_RELEASE);
		/* Its lanes stay as they are until the first hand-over, which sees them active
		 * with no probe of ours and waits for them to go quiet before reusing them. */
		p->nslots = i + 1;
	}
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

struct traced_proc *procs_attach(struct procs *ps, pid_t pid, uint64_t heartbeat_ns)
{
	struct traced_proc *p;
	struct sled_shm_header *h;
	char path[64], err[256];
	struct stat st, pst;
	void *mem;
	int fd;

	if (procs_find(ps, pid))
		return procs_find(ps, pid);
	block_path(path, sizeof(path), pid);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != sled_shm_size()) {
		close(fd);
		errno = (uint64_t)st.st_size < sizeof(*h) ? EAGAIN : ESTALE;
		return NULL;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED)
		return NULL;
	h = mem;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != SLED_SHM_MAGIC) {
		munmap(mem, (size_t)st.st_size);
		errno = EAGAIN;
		return NULL;
	}
	snprintf(err, sizeof(err), "/proc/%d", (int)pid);
	if (h->version != SLED_SHM_VERSION || h->pid != (uint32_t)pid ||
	    h->total_size != (uint64_t)st.st_size || h->max_sites != SLED_SHM_MAX_SITES ||
	    h->max_rings != SLED_SHM_MAX_RINGS || h->ring_stride != sled_ring_stride() ||
	    stat(err, &pst) || pst.st_uid != st.st_uid || procs_start_time(pid) != h->start_time ||
	    !maps_block(pid, st.st_ino)) {
		munmap(mem, (size_t)st.st_size);
		errno = ESTALE;
		return NULL;
	}
	if (claim_ownership(h, heartbeat_ns)) {
		munmap(mem, (size_t)st.st_size);
		errno = EBUSY;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		munmap(mem, (size_t)st.st_size);
		return NULL;
	}
	p->pid = pid;
	p->block_ino = st.st_ino;
	p->uid = pst.st_uid;
	p->start_time = h->start_time;
	p->exec_id = h->exec_id;
	p->shm = h;
	p->size = (uint64_t)st.st_size;
	p->slots = (struct sled_shm_site *)((char *)mem + h->sites_offset);
	p->rings = (char *)mem + h->rings_offset;
	snprintf(err, sizeof(err), "/proc/%d/exe", (int)pid);
	if (readlink(err, p->exe, sizeof(p->exe) - 1) < 0)
		snprintf(p->exe, sizeof(p->exe), "?");
	adopt_existing_slots(p);
	procs_rediscover(p);
	adopt_slot_meta(p);
	__atomic_store_n(&h->heartbeat_ns, heartbeat_ns, __ATOMIC_RELEASE);
	p->next = ps->head;
	ps->head = p;
	ps->count++;
	return p;
}

int procs_check_maps(struct traced_proc *p)
{
	uint64_t h = 1469598103934665603ull;
	struct sled_map *maps;
	char err[128], path[64];
	bool mapped = false;
	size_t n;

	if (sled_maps_read(p->pid, &maps, &n, err, sizeof(err)))
		return 0;
	block_path(path, sizeof(path), p->pid);
	for (size_t i = 0; i < n; i++) {
		if (maps[i].inode == p->block_ino && !strcmp(maps[i].path, path))
			mapped = true;
		if (maps[i].executable && sled_map_is_file(&maps[i]))
			h = (h ^ (maps[i].start + maps[i].inode)) * 1099511628211ull;
	}
	free(maps);
	if (!mapped) {
		p->gone = true;
		return 0;
	}
	if (h == p->maps_fingerprint)
		return 0;
	p->maps_fingerprint = h;
	return procs_rediscover(p) == 0;
}

int procs_rediscover(struct traced_proc *p)
{
	struct sled_process fresh;
	char err[256];
	int ret = sled_process_read(p->pid, &fresh, err, sizeof(err));

	if (ret)
		return ret;
	sled_process_free(&p->disc);
	p->disc = fresh;
	return 0;
}

void procs_check_alive(struct procs *ps)
{
	for (struct traced_proc *p = ps->head; p; p = p->next) {
		char path[64];
		struct stat st;

		if (p->gone)
			continue;
		block_path(path, sizeof(path), p->pid);
		/* A new block under the same name: the process exec'd into a new runtime. */
		if ((kill(p->pid, 0) && errno == ESRCH) || stat(path, &st) || st.st_ino != p->block_ino ||
		    procs_start_time(p->pid) != p->start_time ||
		    __atomic_load_n(&p->shm->exec_id, __ATOMIC_RELAXED) != p->exec_id)
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
		munmap(p->shm, p->size);
		free(p->job);
		free(p);
	}
}

void procs_scan(struct procs *ps, uint64_t heartbeat_ns)
{
	DIR *d = opendir(SLED_SHM_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, SLED_SHM_PREFIX, strlen(SLED_SHM_PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(SLED_SHM_PREFIX), &end, 10);
		if (*end || pid <= 0 || procs_find(ps, (pid_t)pid))
			continue;
		if (procs_attach(ps, (pid_t)pid, heartbeat_ns))
			continue;
		/* A block whose process died without unlinking it (kill -9): remove it. */
		if (kill((pid_t)pid, 0) && errno == ESRCH) {
			char path[64];

			block_path(path, sizeof(path), (pid_t)pid);
			unlink(path);
		}
	}
	closedir(d);
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

/* discovery's register ids -> the trampoline's save-area indexes */
static int regs_index(enum sled_reg r)
{
	static const int map[SLED_REG_COUNT] = {
		[SLED_REG_NONE] = SLED_R_NONE, [SLED_REG_RAX] = SLED_R_RAX,
		[SLED_REG_RBX] = SLED_R_RBX,   [SLED_REG_RCX] = SLED_R_RCX,
		[SLED_REG_RDX] = SLED_R_RDX,   [SLED_REG_RSI] = SLED_R_RSI,
		[SLED_REG_RDI] = SLED_R_RDI,   [SLED_REG_RBP] = SLED_R_RBP,
		[SLED_REG_RSP] = SLED_R_RSP,   [SLED_REG_R8] = SLED_R_R8,
		[SLED_REG_R9] = SLED_R_R9,     [SLED_REG_R10] = SLED_R_R10,
		[SLED_REG_R11] = SLED_R_R11,   [SLED_REG_R12] = SLED_R_R12,
		[SLED_REG_R13] = SLED_R_R13,   [SLED_REG_R14] = SLED_R_R14,
		[SLED_REG_R15] = SLED_R_R15,   [SLED_REG_RIP] = SLED_R_RIP,
	};

	return (unsigned)r < SLED_REG_COUNT ? map[r] : -1;
}

static int compile_arg(const struct sled_arg_spec *a, uint8_t type, struct sled_shm_arg *out)
{
	int reg = regs_index(a->reg), index = regs_index(a->index);

	memset(out, 0, sizeof(*out));
	if (reg < 0 || index < 0)
		return -1;
	out->size = a->size;
	out->is_signed = a->is_signed;
	out->type = type;
	out->reg = (uint8_t)reg;
	out->index = (uint8_t)index;
	out->scale = a->scale ? a->scale : 1;
	out->shift = a->shift;
	out->imm = a->imm;
	switch (a->kind) {
	case SLED_ARG_CONST: out->kind = SLED_A_CONST; break;
	case SLED_ARG_REG: out->kind = SLED_A_REG; break;
	case SLED_ARG_MEM: out->kind = SLED_A_MEM; break;
	default: return -1;
	}
	return 0;
}

int procs_slot_for(struct traced_proc *p, const struct sled_object *obj, const struct sled_site *s)
{
	uint32_t kind = s->kind == SLED_SITE_GUARD ? SLED_SITE_SLOT_GUARD : SLED_SITE_SLOT_TRACEPOINT;
	struct sled_shm_site *slot;
	struct slot_meta *m;
	unsigned i;

	if (!s->runtime)
		return -1;
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].addr == s->runtime && p->slots[i].kind == kind)
			break;
	if (i == p->nslots && p->nslots == SLED_SHM_MAX_SITES)
		return -1;
	slot = &p->slots[i];
	if (i == p->nslots) {
		memset(slot, 0, sizeof(*slot));
		slot->addr = s->runtime;
		slot->target = kind == SLED_SITE_SLOT_GUARD ? s->target + (s->runtime - s->pc) : 0;
		slot->nargs = kind == SLED_SITE_SLOT_GUARD ? 0 : (uint16_t)s->nargs;
		for (int a = 0; a < slot->nargs; a++) {
			if (compile_arg(&s->args[a], s->fields[a].type, &slot->args[a]))
				return -1;
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
			return -1;
		p->meta[i] = m;
		fill_meta(m, obj, s);
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
}
