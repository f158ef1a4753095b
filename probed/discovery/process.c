/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notes.h"
#include "proc_maps.h"
#include "process.h"

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
static uint64_t runtime_address(const struct sled_map *maps, size_t n, const struct sled_map *file,
				uint64_t file_offset)
{
	for (size_t i = 0; i < n; i++) {
		const struct sled_map *m = &maps[i];

		if (!m->executable || !same_file(m, file))
			continue;
		if (file_offset >= m->offset && file_offset - m->offset < m->end - m->start)
			return m->start + (file_offset - m->offset);
	}
	return 0;
}

static int add_object(struct sled_process *proc, struct sled_object *obj)
{
	struct sled_object *v = realloc(proc->objects, (proc->nobjects + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	proc->objects = v;
	v[proc->nobjects++] = *obj;
	return 0;
}

static void read_one(struct sled_process *proc, const struct sled_map *maps, size_t n,
		     const struct sled_map *m)
{
	struct sled_object obj;
	char err[256], path[4200];
	int fd, ret;

	fd = sled_map_open(proc->pid, m, path, sizeof(path));
	if (fd < 0) {
		memset(&obj, 0, sizeof(obj));
		snprintf(obj.path, sizeof(obj.path), "%s", m->path);
		sled_object_diag(&obj, "cannot open: %s", strerror(errno));
	} else {
		ret = sled_object_read_fd(fd, m->path, &obj, err, sizeof(err));
		close(fd);
		if (ret == -ENOEXEC)
			return; /* mapped data files, fonts, locale archives: not ours */
		if (ret) {
			memset(&obj, 0, sizeof(obj));
			snprintf(obj.path, sizeof(obj.path), "%s", m->path);
			sled_object_diag(&obj, "%s", err);
		}
	}
	for (size_t i = 0; i < obj.nsites; i++) {
		struct sled_site *s = &obj.sites[i];

		s->runtime = runtime_address(maps, n, m, s->file_offset);
		if (!s->runtime)
			sled_object_diag(&obj, "%s:%s at 0x%llx is not mapped executable",
					 s->provider, s->name, (unsigned long long)s->pc);
	}
	if ((obj.nsites || obj.ndiags) && add_object(proc, &obj) == 0)
		return;
	sled_object_free(&obj);
}

int sled_process_read(pid_t pid, struct sled_process *proc, char *err, size_t errlen)
{
	struct sled_map *maps;
	size_t n;
	int ret;

	memset(proc, 0, sizeof(*proc));
	proc->pid = pid;
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
		sled_object_free(&proc->objects[i]);
	free(proc->objects);
	proc->objects = NULL;
	proc->nobjects = 0;
}
