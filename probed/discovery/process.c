/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_maps.h"
#include "process.h"

/* What an object that could not be read points at: no sites, nothing to free. */
static const struct sled_object unreadable;

static bool same_file(const struct sled_map *a, const struct sled_map *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && !strcmp(a->path, b->path);
}

/*
 * A site's runtime address: the executable mapping of the same file whose file range
 * holds the site's file offset.  This is the general form of "load bias + pc" and holds
 * for any segment layout the loader chose.
 */
uint64_t sled_site_runtime(const struct sled_process_object *po, const struct sled_site *s)
{
	for (size_t i = 0; i < po->nranges; i++) {
		const struct sled_exec_range *r = &po->ranges[i];

		if (s->file_offset >= r->offset && s->file_offset - r->offset < r->end - r->start)
			return r->start + (s->file_offset - r->offset);
	}
	return 0;
}

static void diag(struct sled_process_object *po, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void diag(struct sled_process_object *po, const char *fmt, ...)
{
	struct sled_diag *d = realloc(po->diags, (po->ndiags + 1) * sizeof(*d));
	va_list ap;

	if (!d)
		return;
	po->diags = d;
	va_start(ap, fmt);
	vsnprintf(d[po->ndiags].msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	po->ndiags++;
}

static void object_free(struct sled_objcache *cache, struct sled_process_object *po)
{
	if (po->obj != &unreadable)
		sled_objcache_put(cache, po->obj);
	free(po->path);
	free(po->ranges);
	free(po->diags);
	memset(po, 0, sizeof(*po));
}

static int add_object(struct sled_process *proc, struct sled_process_object *po)
{
	struct sled_process_object *v = realloc(proc->objects, (proc->nobjects + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	proc->objects = v;
	v[proc->nobjects++] = *po;
	return 0;
}

static int collect_ranges(struct sled_process_object *po, const struct sled_map *maps, size_t n,
			  const struct sled_map *file)
{
	for (size_t i = 0; i < n; i++) {
		struct sled_exec_range *v;

		if (!maps[i].executable || !same_file(&maps[i], file))
			continue;
		v = realloc(po->ranges, (po->nranges + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		po->ranges = v;
		v[po->nranges++] = (struct sled_exec_range){ maps[i].start, maps[i].end,
							     maps[i].offset };
	}
	return 0;
}

/*
 * The file behind m, opened as the process sees it.  Through map_files it is the mapped
 * file itself; through /proc/PID/root + path it may be another file since put there, so
 * the inode must be the one the mapping names (only the inode: the device /proc/PID/maps
 * shows is the superblock's, which is not what stat says on btrfs subvolumes).
 */
static int open_mapped(pid_t pid, const struct sled_map *m, char *why, size_t len)
{
	char path[4200];
	struct stat st;
	int fd = sled_map_open(pid, m, path, sizeof(path));

	if (fd < 0) {
		snprintf(why, len, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || (uint64_t)st.st_ino != m->inode) {
		snprintf(why, len, "the file at this path is no longer the one mapped (replaced)");
		close(fd);
		return -1;
	}
	return fd;
}

static void read_one(struct sled_process *proc, const struct sled_map *maps, size_t n,
		     const struct sled_map *m)
{
	struct sled_process_object po = { .obj = &unreadable };
	size_t unmapped = 0;
	char err[512];
	int fd, ret;

	fd = open_mapped(proc->pid, m, err, sizeof(err));
	if (fd < 0) {
		po.error = -EIO;
		diag(&po, "%s", err);
	} else {
		const struct sled_object *obj;

		ret = sled_objcache_get_fd(proc->cache, fd, m->path, &obj, err, sizeof(err));
		close(fd);
		if (ret == -ENOEXEC)
			return; /* mapped data files, fonts, locale archives: not ours */
		po.error = ret;
		if (ret)
			diag(&po, "%s", err);
		else
			po.obj = obj;
	}
	if (!po.obj->nsites && !po.ndiags) {
		object_free(proc->cache, &po);
		return;
	}
	po.path = strdup(m->path);
	if (!po.path || collect_ranges(&po, maps, n, m)) {
		object_free(proc->cache, &po);
		return;
	}
	/* One line for all of them: an object with 20,000 sites outside any executable
	 * mapping must not cost 20,000 lines per process. */
	for (size_t i = 0; i < po.obj->nsites; i++) {
		const struct sled_site *s = &po.obj->sites[i];

		if (!sled_site_runtime(&po, s) && !unmapped++)
			diag(&po, "%s:%s at 0x%llx is not mapped executable", s->provider, s->name,
			     (unsigned long long)s->pc);
	}
	if (unmapped > 1)
		diag(&po, "%zu sites in all are not mapped executable", unmapped);
	if (add_object(proc, &po))
		object_free(proc->cache, &po);
}

int sled_process_read(struct sled_objcache *cache, pid_t pid, struct sled_process *proc,
		      char *err, size_t errlen)
{
	struct sled_map *maps;
	size_t n;
	int ret;

	memset(proc, 0, sizeof(*proc));
	proc->pid = pid;
	proc->cache = cache;
	ret = sled_maps_read(pid, &maps, &n, err, errlen);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (!sled_map_is_file(&maps[i]))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = same_file(&maps[j], &maps[i]);
		if (!seen)
			read_one(proc, maps, n, &maps[i]);
	}
	free(maps);
	return 0;
}

void sled_process_free(struct sled_process *proc)
{
	for (size_t i = 0; i < proc->nobjects; i++)
		object_free(proc->cache, &proc->objects[i]);
	free(proc->objects);
	proc->objects = NULL;
	proc->nobjects = 0;
}
