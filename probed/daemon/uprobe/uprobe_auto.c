/* SPDX-License-Identifier: MIT */
/*
 * uprobe_auto: the uprobe part of no-scope probes (see uprobe_auto.h).
 *
 * Two tables.  Objects: every ELF file a process maps executable, by device and inode,
 * read once while processes map it: its tracepoints (kept only when it has some built by
 * our header, through the daemon's object cache, which sled mode shares) and whether it
 * is or needs libsled (read only for processes that have tracepoints).  Processes:
 * every process while a no-scope probe stands, with its objects that have tracepoints,
 * the path each has in that process (other mount namespaces: /proc/PID/root) and its
 * attaches, one per probe and provider:name in an object.
 *
 * Costs: a scan reads /proc/PID/stat and stats /proc/PID/exe for every process; only a
 * process that is new (or exec'd) has its maps read.  Known races, and why they are
 * harmless: a process looked at right after exec may not have mapped its libraries yet,
 * so a young process is looked at once more at the next scan; if it turns out to link
 * libsled after all (or the daemon attaches it in sled mode), auto mode's uprobes leave
 * it at once, so no hit is counted twice for longer than that second.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "daemon/core/daemon.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "cli/pattern.h"
#include "discovery/proc_maps.h"
#include "daemon/uprobe/uprobe.h"
#include "daemon/uprobe/uprobe_auto.h"
#include "daemon/uprobe/uprobe_agg.h"

#define OBJ_BUCKETS   256
#define PROC_BUCKETS  1024
#define OBJ_CACHE_MAX 4096          /* files without tracepoints remembered, at most */
#define PF_KTHREAD    0x00200000u   /* /proc/PID/stat flags: a kernel thread */
#define YOUNG_NS      2000000000ull /* examined younger than this: look once more */

struct aobj {
	uint64_t dev, ino;
	int runtime;              /* is or needs libsled: 1 or 0; -1 not read yet */
	/* Its sites, when it has tracepoints built by our header: a reference into the
	 * daemon's object cache, shared with sled mode's processes that map the file. */
	const struct sled_object *obj;
	unsigned refs;            /* processes that list it, and attaches in it */
	struct aobj *next;
};

struct pobj {
	struct aobj *o;
	char *path;               /* the file as the process sees it, to attach */
};

struct attach {
	uint32_t probe_id;
	struct aobj *o;           /* holds a reference: tried() compares addresses */
	int handle;               /* 0: a provider:name that did not attach (not retried) */
	bool detached;            /* by disable: its figures stay readable until forgotten */
	bool retiring;            /* detached: fold its figures into the probe after a drain */
};

struct aproc {
	pid_t pid;
	uid_t uid;
	uint64_t start_time, exe_dev, exe_ino;
	uint64_t vsize;           /* at the last look: another size, other mappings (dlopen) */
	bool libsled;             /* links the runtime, or the daemon traces it in sled mode */
	bool fresh;               /* examined since the standing probes were attached */
	bool young;               /* examined right after it started: look once more */
	bool seen, gone;
	char exe[256];
	struct pobj *objs;
	unsigned nobjs;
	struct attach *att;
	unsigned natt, catt;
	struct aproc *next;
};

struct uprobe_auto {
	struct sled_objcache *cache; /* the daemon's (procs_objects) */
	struct aobj *objs[OBJ_BUCKETS];
	unsigned nobjs;
	struct aproc *procs[PROC_BUCKETS];
};

static struct uprobe_auto *state(struct daemon *d)
{
	if (!d->uauto && procs_objects(&d->procs) && (d->uauto = calloc(1, sizeof(*d->uauto))))
		d->uauto->cache = d->procs.objects;
	return d->uauto;
}

static bool standing(const struct probe *pb)
{
	return pb->auto_uprobe && !pb->retired;
}

static bool any_standing(const struct daemon *d)
{
	for (const struct probe *pb = d->probes.head; pb; pb = pb->next)
		if (standing(pb))
			return true;
	return false;
}

#define EACH_PROC(a, p)                                     \
	for (unsigned b_ = 0; b_ < PROC_BUCKETS; b_++)      \
		for (struct aproc *p = (a)->procs[b_]; p; p = p->next)

/* --- Objects ---------------------------------------------------------------------------- */

static unsigned obj_bucket(uint64_t dev, uint64_t ino)
{
	return (unsigned)(((ino ^ (dev << 24)) * 0x9E3779B97F4A7C15ull) >> 56) % OBJ_BUCKETS;
}

static uint64_t map_dev(const struct sled_map *m)
{
	return makedev(m->dev_major, m->dev_minor);
}

static bool header_sites(const struct sled_object *obj)
{
	for (size_t i = 0; i < obj->nsites; i++)
		if (obj->sites[i].kind == SLED_SITE_TRACEPOINT && obj->sites[i].has_sled_note)
			return true;
	return false;
}

static void obj_free(struct uprobe_auto *a, struct aobj *o)
{
	sled_objcache_put(a->cache, o->obj);
	free(o);
}

/* Parsed sites no process lists are let go at once (the object cache frees them unless
 * sled mode's processes hold them too): memory follows what is mapped.  The small memo of
 * files without tracepoints is kept, up to OBJ_CACHE_MAX files (a long-lived daemon sees
 * many: rebuilt binaries). */
static void obj_trim(struct uprobe_auto *a)
{
	bool all = a->nobjs > OBJ_CACHE_MAX;

	for (unsigned b = 0; b < OBJ_BUCKETS; b++) {
		for (struct aobj **pp = &a->objs[b]; *pp;) {
			struct aobj *o = *pp;

			if (o->refs || (!o->obj && !all)) {
				pp = &o->next;
				continue;
			}
			*pp = o->next;
			obj_free(a, o);
			a->nobjs--;
		}
	}
}

/* The object of mapping m, read on first sight; NULL if pid's view of it cannot be read
 * (another process's may: it is not cached). */
static struct aobj *obj_get(struct uprobe_auto *a, pid_t pid, const struct sled_map *m)
{
	uint64_t dev = map_dev(m);
	unsigned b = obj_bucket(dev, m->inode);
	const struct sled_object *obj;
	char err[512], path[4200];
	struct aobj *o;
	int fd, ret;

	for (o = a->objs[b]; o; o = o->next)
		if (o->dev == dev && o->ino == m->inode)
			return o;
	fd = sled_map_open(pid, m, path, sizeof(path));
	if (fd < 0)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o) {
		close(fd);
		return NULL;
	}
	o->dev = dev;
	o->ino = m->inode;
	o->runtime = -1;
	ret = sled_objcache_get_fd(a->cache, fd, m->path, &obj, err, sizeof(err));
	close(fd);
	if (ret == 0) {
		if (header_sites(obj))
			o->obj = obj;
		else
			sled_objcache_put(a->cache, obj);
	} else if (ret == -E2BIG) {
		free(o); /* over the cache's cap now, maybe not later: not remembered */
		return NULL;
	} else {
		o->runtime = 0; /* not an ELF object of ours: no runtime either */
	}
	o->next = a->objs[b];
	a->objs[b] = o;
	a->nobjs++;
	return o;
}

/* --- Processes -------------------------------------------------------------------------- */

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct aproc *proc_find(struct uprobe_auto *a, pid_t pid)
{
	for (struct aproc *p = a->procs[(unsigned)pid % PROC_BUCKETS]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void proc_drop_objs(struct aproc *p)
{
	for (unsigned i = 0; i < p->nobjs; i++) {
		p->objs[i].o->refs--;
		free(p->objs[i].path);
	}
	free(p->objs);
	p->objs = NULL;
	p->nobjs = 0;
}

static void proc_free(struct aproc *p)
{
	proc_drop_objs(p);
	for (unsigned i = 0; i < p->natt; i++)
		p->att[i].o->refs--;
	free(p->att);
	free(p);
}

/* The path to attach o in p: its own when this daemon sees the same file there. */
static char *attach_path(pid_t pid, const struct sled_map *m)
{
	char buf[4200];
	struct stat st;

	if (m->deleted)
		return NULL; /* no path reaches it: uprobes need one */
	if (stat(m->path, &st) == 0 && st.st_ino == m->inode && major(st.st_dev) == m->dev_major &&
	    minor(st.st_dev) == m->dev_minor)
		return strdup(m->path);
	snprintf(buf, sizeof(buf), "/proc/%d/root%s", (int)pid, m->path);
	return strdup(buf);
}

static void proc_add_obj(struct aproc *p, struct aobj *o, const struct sled_map *m)
{
	struct pobj *v;
	char *path;

	for (unsigned i = 0; i < p->nobjs; i++)
		if (p->objs[i].o == o)
			return;
	path = attach_path(p->pid, m);
	v = path ? realloc(p->objs, (p->nobjs + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(path);
		return;
	}
	p->objs = v;
	v[p->nobjs].o = o;
	v[p->nobjs++].path = path;
	o->refs++;
}

/* Read p's mappings: its objects with tracepoints, and whether it links libsled. */
static void examine(struct daemon *d, struct uprobe_auto *a, struct aproc *p)
{
	struct sled_map *maps;
	char err[128], path[4200];
	struct stat st;
	size_t n;

	proc_drop_objs(p);
	p->libsled = procs_find(&d->procs, p->pid) != NULL;
	if (sled_maps_read(p->pid, &maps, &n, err, sizeof(err)))
		return;
	for (size_t i = 0; i < n; i++) {
		struct aobj *o;

		if (!maps[i].executable || !sled_map_is_file(&maps[i]))
			continue;
		o = obj_get(a, p->pid, &maps[i]);
		if (o && o->obj)
			proc_add_obj(p, o, &maps[i]);
	}
	/* Whether it links libsled matters only to a process with tracepoints. */
	for (size_t i = 0; i < n && p->nobjs && !p->libsled; i++) {
		struct aobj *o;
		int fd;

		if (!maps[i].executable || !sled_map_is_file(&maps[i]))
			continue;
		o = obj_get(a, p->pid, &maps[i]);
		if (o && o->runtime < 0) {
			fd = sled_map_open(p->pid, &maps[i], path, sizeof(path));
			if (fd >= 0)
				close(fd);
			o->runtime = fd >= 0 && sled_elf_has_runtime(path) == 1;
		}
		p->libsled = o && o->runtime == 1;
	}
	free(maps);
	if (p->nobjs) {
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->pid);
		ssize_t len = readlink(path, p->exe, sizeof(p->exe) - 1);

		p->exe[len > 0 ? len : 0] = 0;
		snprintf(path, sizeof(path), "/proc/%d", (int)p->pid);
		p->uid = stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
	}
}

/* --- Attaches --------------------------------------------------------------------------- */

static struct attach *add_attach(struct aproc *p, uint32_t probe_id, struct aobj *o,
				 int handle)
{
	if (p->natt == p->catt) {
		unsigned cap = p->catt ? p->catt * 2 : 4;
		struct attach *v = realloc(p->att, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->att = v;
		p->catt = cap;
	}
	p->att[p->natt] = (struct attach){ .probe_id = probe_id, .o = o, .handle = handle };
	o->refs++;
	return &p->att[p->natt++];
}

static bool tried(const struct aproc *p, uint32_t probe_id, const struct aobj *o)
{
	for (unsigned i = 0; i < p->natt; i++)
		if (p->att[i].probe_id == probe_id && p->att[i].o == o)
			return true;
	return false;
}

/* Does pb want p?  Auto mode leaves processes with libsled to sled mode. */
static bool wants(const struct probe *pb, const struct aproc *p)
{
	return standing(pb) && (pb->uprobe || !p->libsled) &&
	       (pb->owner == 0 || pb->owner == p->uid);
}

static bool matches(const struct probe *pb, const struct sled_site *s)
{
	return s->kind == SLED_SITE_TRACEPOINT && s->has_sled_note &&
	       sled_pattern_match(pb->pattern, s->provider, s->name);
}

/* Do pb's filter and aggregations compile for every tracepoint it matches in p?  -EINVAL
 * with the reason in why if not: the enable is refused whole, before anything is attached, as in
 * sled mode. */
static int check_filter(struct probe *pb, const struct aproc *p, char *why, size_t whylen)
{
	struct sled_filter_prog prog;
	struct uprobe_agg aggs[UPROBE_MAX_AGGS];
	unsigned naggs;

	for (unsigned k = 0; (pb->filter[0] || pb->aggs) && k < p->nobjs; k++) {
		const struct sled_object *obj = p->objs[k].o->obj;

		for (size_t i = 0; i < obj->nsites; i++) {
			const struct sled_site *s = &obj->sites[i];

			if (matches(pb, s) &&
			    (probe_compile_filter(pb, s->provider, s->name, s->fields,
						  (unsigned)s->nargs, &prog, why, whylen) ||
			     uprobe_agg_prepare(pb, s->provider, s->name, s->fields,
						(unsigned)s->nargs, aggs, &naggs, why, whylen)))
				return -EINVAL;
		}
	}
	return 0;
}

/*
 * Attach pb to every matching tracepoint (provider:name) of p's objects it has not tried
 * yet; r counts what took and what failed.  A tracepoint that pb's filter does not fit
 * (in a process found after the enable, which checked those there were) is left out,
 * counted as failed.
 */
static void attach_probe(struct daemon *d, struct probe *pb, struct aproc *p,
			 struct auto_result *r)
{
	struct sled_filter_prog prog;
	struct uprobe_agg aggs[UPROBE_MAX_AGGS];
	struct uprobe_functions fn = {
		.filter = &prog, .sample = pb->sample, .rate = pb->rate, .count_only = pb->count_only,
		.aggs = aggs,
	};
	char err[512];

	memset(r, 0, sizeof(*r));
	r->pid = p->pid;
	if (!wants(pb, p))
		return;
	for (unsigned k = 0; k < p->nobjs; k++) {
		const struct sled_object *obj = p->objs[k].o->obj;

		if (tried(p, pb->id, p->objs[k].o))
			continue;
		for (size_t i = 0; i < obj->nsites; i++) {
			const struct sled_site *s = &obj->sites[i];
			struct uprobe_handle_info hi;
			bool seen = false;
			int h;

			if (!matches(pb, s))
				continue;
			/* libbpf attaches every site of a provider:name at once. */
			for (size_t j = 0; j < i && !seen; j++)
				seen = obj->sites[j].kind == SLED_SITE_TRACEPOINT &&
				       obj->sites[j].has_sled_note &&
				       !strcmp(obj->sites[j].provider, s->provider) &&
				       !strcmp(obj->sites[j].name, s->name);
			if (seen)
				continue;
			if (probe_compile_filter(pb, s->provider, s->name, s->fields,
						 (unsigned)s->nargs, &prog, err, sizeof(err)) ||
			    uprobe_agg_prepare(pb, s->provider, s->name, s->fields,
					       (unsigned)s->nargs, aggs, &fn.naggs, err,
					       sizeof(err))) {
				h = -EINVAL;
			} else {
				h = uprobe_attach(d->uprobe, p->objs[k].path, p->pid, s->provider,
						  s->name, s->fields, (unsigned)s->nargs, pb->id, &fn,
						  err, sizeof(err));
			}
			if (h == -ESRCH)
				return; /* gone meanwhile: the next scan lets it go */
			if (!add_attach(p, pb->id, p->objs[k].o, h > 0 ? h : 0) && h > 0) {
				uprobe_detach(d->uprobe, h); /* out of memory: nowhere to keep it */
				h = -ENOMEM;
				snprintf(err, sizeof(err), "out of memory");
			}
			if (h > 0) {
				r->attached++;
				if (uprobe_handle_info(d->uprobe, h, &hi) == 0)
					r->fds += hi.fds;
				continue;
			}
			if (!r->failed++)
				snprintf(r->error, sizeof(r->error), "%.250s", err);
			log_info(d, "probe %u: process %d: %s", pb->id, (int)p->pid, err);
		}
	}
}

/* The standing probes for the processes examined since the last time. */
static void attach_fresh(struct daemon *d, struct uprobe_auto *a, const struct probe *skip)
{
	EACH_PROC(a, p) {
		if (!p->fresh)
			continue;
		p->fresh = false;
		for (struct probe *pb = d->probes.head; pb; pb = pb->next) {
			struct auto_result r;

			if (pb == skip || !wants(pb, p))
				continue;
			attach_probe(d, pb, p, &r);
			if (r.attached)
				log_info(d, "probe %u: process %d (%s) attached in uprobe mode: %u "
					 "attach(es), %u fds", pb->id, (int)p->pid, p->exe, r.attached, r.fds);
		}
	}
}

void uprobe_figures_add(struct figures *to, const struct uprobe_figures *u)
{
	const struct figures f = { .hits = u->hits, .filtered = u->filtered,
				   .sampled = u->sampled, .limited = u->limited,
				   .drops = u->dropped, .exported = u->exported };

	figures_add(to, &f);
}

void uprobe_fold_handle(struct daemon *d, struct probe *pb, int handle)
{
	struct probe_uprobe *up = probe_uprobe_part(pb);
	struct uprobe_figures f;

	if (!up)
		return; /* no memory: the released attach's figures are not kept */
	uprobe_figures(d->uprobe, handle, &f);
	uprobe_figures_add(&up->upast, &f);
	uprobe_agg_fold(d, pb, handle);
}

void uprobe_add_released(const struct probe *pb, struct figures *f, uint64_t *emitted)
{
	const struct figures *u = &probe_uprobe_view(pb)->upast;
	uint64_t held = u->filtered + u->sampled + u->limited;

	figures_add(f, u);
	*emitted += u->hits >= held ? u->hits - held : 0;
}

static void fold(struct daemon *d, const struct attach *at)
{
	struct probe *pb = probes_find(&d->probes, at->probe_id);

	if (pb && at->handle > 0)
		uprobe_fold_handle(d, pb, at->handle);
}

/* Second half of letting attaches go: what they wrote has been drained (the caller did),
 * so their figures are final: into their probes, and the gone processes freed. */
static void finish_retire(struct daemon *d, struct uprobe_auto *a)
{
	for (unsigned b = 0; b < PROC_BUCKETS; b++) {
		for (struct aproc **pp = &a->procs[b]; *pp;) {
			struct aproc *p = *pp;
			unsigned k = 0;

			for (unsigned i = 0; i < p->natt; i++) {
				if (p->att[i].retiring) {
					fold(d, &p->att[i]);
					p->att[i].o->refs--;
				} else {
					p->att[k++] = p->att[i];
				}
			}
			p->natt = k;
			if (!p->gone) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			proc_free(p);
		}
	}
}

/* First half: detach; returns whether anything was (then drain, then finish_retire). */
static bool start_retire(struct daemon *d, struct aproc *p, bool auto_mode_only)
{
	bool any = false;

	for (unsigned i = 0; i < p->natt; i++) {
		struct attach *at = &p->att[i];
		struct probe *pb = probes_find(&d->probes, at->probe_id);

		if (auto_mode_only && pb && pb->uprobe)
			continue;
		/* A detach frees the attach's aggregation maps: their tables are folded into
		 * the probe first (the process is gone or exec'd: nothing more to count).  The
		 * other figures are folded after the drain (finish_retire). */
		if (at->handle > 0 && !at->detached && pb)
			uprobe_agg_fold(d, pb, at->handle);
		if (at->handle > 0 && !at->detached)
			uprobe_detach(d->uprobe, at->handle);
		at->detached = at->retiring = true;
		any |= at->handle > 0;
	}
	return any;
}

/* --- The scan --------------------------------------------------------------------------- */

/*
 * Look at every process: new ones (or exec'd: another executable under the same pid and
 * start time) are examined and marked fresh, young ones examined once more, gone ones
 * and processes now in sled mode lose their (auto mode) attaches.
 */
static void scan(struct daemon *d, struct uprobe_auto *a)
{
	DIR *dir = opendir("/proc");
	pid_t self = getpid();
	uint64_t now = boot_ns(), tick_ns = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
	struct dirent *e;
	bool retire = false;

	if (!dir)
		return;
	EACH_PROC(a, p)
		p->seen = false;
	while ((e = readdir(dir))) {
		char *end, path[64];
		struct proc_stat ps;
		struct stat xs;
		struct aproc *p;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		if (procs_read_stat((pid_t)pid, &ps) || (ps.flags & PF_KTHREAD) || ps.state == 'Z' ||
		    ps.state == 'X')
			continue; /* gone, a kernel thread, or a zombie (no memory left to trace) */
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		if (stat(path, &xs))
			xs.st_dev = xs.st_ino = 0;
		p = proc_find(a, (pid_t)pid);
		if (p && (p->start_time != ps.start_time || p->exe_dev != xs.st_dev ||
			  p->exe_ino != xs.st_ino)) {
			/* Another process under the pid, or an exec: the old one is gone. */
			retire |= start_retire(d, p, false);
			p->gone = true;
			p->pid = -p->pid; /* out of the way of the new one until it is freed */
			p = NULL;
		}
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				continue;
			p->pid = (pid_t)pid;
			p->start_time = ps.start_time;
			p->exe_dev = xs.st_dev;
			p->exe_ino = xs.st_ino;
			p->next = a->procs[(unsigned)pid % PROC_BUCKETS];
			a->procs[(unsigned)pid % PROC_BUCKETS] = p;
			p->young = now - ps.start_time * tick_ns < YOUNG_NS;
			p->vsize = ps.vsize;
			examine(d, a, p);
			p->fresh = true;
		} else if (p->young || (p->vsize != ps.vsize && !p->libsled)) {
			/* Libraries mapped after the first look: the loader was still at work, or
			 * the address space changed size (dlopen; also any large malloc, so this
			 * costs a maps read for busy processes, objects are still read once). */
			p->young = false;
			p->vsize = ps.vsize;
			examine(d, a, p);
			p->fresh = true;
		}
		p->seen = true;
	}
	closedir(dir);
	EACH_PROC(a, p) {
		if (p->gone)
			continue;
		if (!p->seen) {
			retire |= start_retire(d, p, false);
			p->gone = true;
			continue;
		}
		/* It links libsled after all (a second look, or the daemon attached its
		 * block): sled mode traces it, auto mode's uprobes leave. */
		p->libsled |= procs_find(&d->procs, p->pid) != NULL;
		if (p->libsled)
			retire |= start_retire(d, p, true);
	}
	if (retire)
		daemon_drain(d); /* the last records of the detached attaches, before folding */
	finish_retire(d, a);
	obj_trim(a);
}

static void free_procs(struct uprobe_auto *a)
{
	for (unsigned b = 0; b < PROC_BUCKETS; b++) {
		while (a->procs[b]) {
			struct aproc *p = a->procs[b];

			a->procs[b] = p->next;
			proc_free(p);
		}
	}
}

/* --- Interface -------------------------------------------------------------------------- */

int uprobe_auto_enable(struct daemon *d, struct probe *pb, struct auto_result *res,
		       unsigned max, struct auto_report *rep, char *err, size_t errlen)
{
	struct uprobe_auto *a = state(d);

	memset(rep, 0, sizeof(*rep));
	if (!a || !d->uprobe) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	scan(d, a);
	attach_fresh(d, a, pb);
	EACH_PROC(a, p)
		if (!p->gone && wants(pb, p) && check_filter(pb, p, err, errlen))
			return -EINVAL;
	EACH_PROC(a, p) {
		struct auto_result r;

		attach_probe(d, pb, p, &r);
		if (!r.attached && !r.failed)
			continue;
		rep->processes += r.attached > 0;
		rep->attached += r.attached;
		rep->failed += r.failed;
		rep->fds += r.fds;
		if (r.failed && !rep->error[0])
			snprintf(rep->error, sizeof(rep->error), "%s", r.error);
		if (rep->nres < max)
			res[rep->nres++] = r;
	}
	return 0;
}

/*
 * A -p probe in uprobe mode whose process exited: its attaches no longer fire but would
 * hold 2 fds per site, and a slot each, for as long as the probe stands.  What they wrote
 * is drained first, then their figures move into the probe (upast) and they go; the
 * probe stays, with its final figures, until disabled, as in sled mode.
 */
void uprobe_release_exited(struct daemon *d)
{
	bool drained = false;

	for (struct probe *pb = d->probes.head; pb && d->uprobe; pb = pb->next) {
		struct probe_uprobe *up = pb->up;
		unsigned n = up ? up->nhandles : 0;

		if (!pb->uprobe || !pb->pid || !n || procs_start_time(pb->pid) == up->start_time)
			continue;
		if (!drained) {
			daemon_drain(d);
			drained = true;
		}
		for (unsigned i = 0; i < n; i++) {
			uprobe_fold_handle(d, pb, up->handles[i]);
			uprobe_detach(d->uprobe, up->handles[i]);
		}
		up->nhandles = 0;
		log_info(d, "probe %u: process %d exited; its %u uprobe attach(es) released", pb->id,
			 (int)pb->pid, n);
	}
}

void uprobe_auto_tick(struct daemon *d)
{
	struct uprobe_auto *a = d->uauto;

	if (!d->uprobe || !any_standing(d)) {
		/* Nothing to look for: no process table (disable emptied the attaches). */
		if (a) {
			free_procs(a);
			obj_trim(a);
		}
		return;
	}
	a = state(d);
	if (!a)
		return;
	scan(d, a);
	attach_fresh(d, a, NULL);
}

void uprobe_auto_detach(struct daemon *d, uint32_t probe_id)
{
	if (!d->uauto)
		return;
	EACH_PROC(d->uauto, p) {
		for (unsigned i = 0; i < p->natt; i++) {
			struct attach *at = &p->att[i];

			if (at->probe_id != probe_id || at->detached)
				continue;
			if (at->handle > 0)
				uprobe_detach(d->uprobe, at->handle);
			at->detached = true;
		}
	}
}

void uprobe_auto_forget(struct daemon *d, uint32_t probe_id)
{
	if (!d->uauto)
		return;
	EACH_PROC(d->uauto, p) {
		unsigned k = 0;

		for (unsigned i = 0; i < p->natt; i++) {
			if (p->att[i].probe_id != probe_id)
				p->att[k++] = p->att[i];
			else
				p->att[i].o->refs--;
		}
		p->natt = k;
	}
}

void uprobe_auto_figures(struct daemon *d, const struct probe *pb, struct figures *f,
			 uint64_t *emitted, unsigned *processes, unsigned *attaches)
{
	*processes = *attaches = 0;
	uprobe_add_released(pb, f, emitted);
	if (!d->uauto || !d->uprobe)
		return;
	EACH_PROC(d->uauto, p) {
		bool any = false;

		for (unsigned i = 0; i < p->natt; i++) {
			const struct attach *at = &p->att[i];
			struct uprobe_figures uf;

			if (at->probe_id != pb->id || at->handle <= 0)
				continue;
			uprobe_figures(d->uprobe, at->handle, &uf);
			uprobe_figures_add(f, &uf);
			*emitted += uf.emitted;
			if (!at->detached) {
				any = true;
				(*attaches)++;
			}
		}
		*processes += any;
	}
}

void uprobe_auto_each_handle(struct daemon *d, const struct probe *pb,
			     void (*fn)(int handle, void *arg), void *arg)
{
	if (!d->uauto || !d->uprobe)
		return;
	EACH_PROC(d->uauto, p)
		for (unsigned i = 0; i < p->natt; i++)
			if (p->att[i].probe_id == pb->id && p->att[i].handle > 0)
				fn(p->att[i].handle, arg);
}

/* The row for pid in rows[0..n), added if new. */
static struct uprobe_row *row_for(struct uprobe_row **rows, unsigned *n, unsigned *cap,
				  pid_t pid)
{
	struct uprobe_row *r;

	for (unsigned i = 0; i < *n; i++)
		if ((*rows)[i].pid == pid)
			return &(*rows)[i];
	if (*n == *cap) {
		unsigned c = *cap ? *cap * 2 : 16;
		struct uprobe_row *v = realloc(*rows, c * sizeof(*v));

		if (!v)
			return NULL;
		*rows = v;
		*cap = c;
	}
	r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	return r;
}

static void row_add(struct uprobe_row *r, uint32_t probe_id, unsigned fds)
{
	unsigned i;

	r->attaches++;
	r->fds += fds;
	for (i = 0; i < r->nprobes && r->probes[i] != probe_id; i++)
		;
	if (i == r->nprobes && r->nprobes < sizeof(r->probes) / sizeof(r->probes[0]))
		r->probes[r->nprobes++] = probe_id;
}

unsigned uprobe_auto_rows(struct daemon *d, struct uprobe_row **rows)
{
	unsigned n = 0, cap = 0;

	*rows = NULL;
	if (!d->uprobe)
		return 0;
	for (const struct probe *pb = d->probes.head; pb; pb = pb->next) {
		/* Uprobe-mode probes with -p: one process each. */
		const struct probe_uprobe *up = probe_uprobe_view(pb);

		for (unsigned i = 0; pb->uprobe && pb->pid && !pb->retired && i < up->nhandles; i++) {
			struct uprobe_handle_info hi;
			struct uprobe_row *r;
			char path[64];
			struct stat st;

			if (uprobe_handle_info(d->uprobe, up->handles[i], &hi) || !hi.attached ||
			    !(r = row_for(rows, &n, &cap, pb->pid)))
				continue;
			if (!r->exe[0]) {
				snprintf(path, sizeof(path), "/proc/%d/exe", (int)pb->pid);
				ssize_t len = readlink(path, r->exe, sizeof(r->exe) - 1);

				r->exe[len > 0 ? len : 0] = 0;
				snprintf(path, sizeof(path), "/proc/%d", (int)pb->pid);
				r->uid = stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
			}
			row_add(r, pb->id, hi.fds);
		}
	}
	if (!d->uauto)
		return n;
	EACH_PROC(d->uauto, p) {
		for (unsigned i = 0; !p->gone && i < p->natt; i++) {
			const struct attach *at = &p->att[i];
			struct uprobe_handle_info hi;
			struct uprobe_row *r;

			if (at->handle <= 0 || at->detached ||
			    uprobe_handle_info(d->uprobe, at->handle, &hi) ||
			    !(r = row_for(rows, &n, &cap, p->pid)))
				continue;
			snprintf(r->exe, sizeof(r->exe), "%s", p->exe);
			r->uid = p->uid;
			row_add(r, at->probe_id, hi.fds);
		}
	}
	return n;
}

void uprobe_auto_free(struct daemon *d)
{
	struct uprobe_auto *a = d->uauto;

	if (!a)
		return;
	free_procs(a);
	for (unsigned b = 0; b < OBJ_BUCKETS; b++) {
		while (a->objs[b]) {
			struct aobj *o = a->objs[b];

			a->objs[b] = o->next;
			obj_free(a, o);
		}
	}
	free(a);
	d->uauto = NULL;
}

void uprobe_auto_scan(struct daemon *d)
{
	struct uprobe_auto *a = state(d);

	if (a)
		scan(d, a);
}

void uprobe_auto_each_object(struct daemon *d, void (*fn)(const struct sled_object *obj, void *arg),
			     void *arg)
{
	struct uprobe_auto *a = d->uauto;

	for (unsigned b = 0; a && b < OBJ_BUCKETS; b++)
		for (const struct aobj *o = a->objs[b]; o; o = o->next)
			if (o->obj)
				fn(o->obj, arg);
}
