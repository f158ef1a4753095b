/* SPDX-License-Identifier: MIT */
/* Parsing /proc/PID/maps: "start-end perms offset major:minor inode   path". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_maps.h"

static const char deleted_suffix[] = " (deleted)";

int sled_map_parse_line(const char *line, struct sled_map *m)
{
	char perms[5];
	int pos = 0;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 "%n", &m->start,
		   &m->end, perms, &m->offset, &m->dev_major, &m->dev_minor, &m->inode, &pos) != 7)
		return -EINVAL;
	if (m->end < m->start || strlen(perms) != 4)
		return -EINVAL;
	m->readable = perms[0] == 'r';
	m->writable = perms[1] == 'w';
	m->executable = perms[2] == 'x';
	line += pos;
	while (*line == ' ' || *line == '\t')
		line++;
	len = strcspn(line, "\n");
	if (len >= sizeof(m->path))
		return -EINVAL;
	memcpy(m->path, line, len);
	m->path[len] = 0;
	if (len > sizeof(deleted_suffix) - 1 &&
	    !strcmp(m->path + len - (sizeof(deleted_suffix) - 1), deleted_suffix)) {
		m->path[len - (sizeof(deleted_suffix) - 1)] = 0;
		m->deleted = true;
	}
	return 0;
}

bool sled_map_is_file(const struct sled_map *m)
{
	return m->path[0] == '/' && m->inode != 0;
}

int sled_maps_read(pid_t pid, struct sled_map **maps, size_t *n, char *err, size_t errlen)
{
	char path[64], *line = NULL;
	size_t cap = 0, linecap = 0;
	struct sled_map *v = NULL;
	FILE *f;
	int ret = 0;

	*maps = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		if (ret == -ESRCH)
			snprintf(err, errlen, "no such process: %d", (int)pid);
		else
			snprintf(err, errlen, "process %d: %s", (int)pid, strerror(-ret));
		return ret;
	}
	while (getline(&line, &linecap, f) > 0) {
		if (*n == cap) {
			struct sled_map *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				snprintf(err, errlen, "process %d: out of memory", (int)pid);
				break;
			}
			v = nv;
		}
		if (sled_map_parse_line(line, &v[*n]) == 0)
			(*n)++;
	}
	/* A process that exits while we read leaves an empty or short file. */
	if (!ret && ferror(f)) {
		ret = errno == ESRCH || errno == ENOENT ? -ESRCH : -EIO;
		snprintf(err, errlen, "process %d: cannot read maps", (int)pid);
	}
	if (!ret && *n == 0 && access(path, R_OK) != 0) {
		ret = -ESRCH;
		snprintf(err, errlen, "no such process: %d", (int)pid);
	}
	free(line);
	fclose(f);
	if (ret) {
		free(v);
		*n = 0;
		return ret;
	}
	*maps = v;
	return 0;
}

int sled_map_open(pid_t pid, const struct sled_map *m, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || m->deleted)
		return fd;
	snprintf(path, len, "/proc/%d/root%s", (int)pid, m->path);
	return open(path, O_RDONLY | O_CLOEXEC);
}
