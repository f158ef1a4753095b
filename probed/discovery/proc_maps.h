/* SPDX-License-Identifier: MIT */
/* proc_maps: the lines of /proc/PID/maps, parsed. */
#ifndef SLED_PROC_MAPS_H
#define SLED_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sled_map {
	uint64_t start, end, offset;
	bool readable, writable, executable;
	unsigned dev_major, dev_minor;
	uint64_t inode;
	bool deleted;     /* the path ended in " (deleted)", which is stripped */
	char path[4096];  /* "" for anonymous mappings; "[vdso]" etc. for special ones */
};

/* Parse one line (with or without its newline).  Returns 0 or -EINVAL. */
int sled_map_parse_line(const char *line, struct sled_map *m);

/*
 * Read /proc/PID/maps.  Returns 0 with *maps (malloc'd, *n entries), or a negative errno
 * with a one-line reason: -ESRCH no such process, -EACCES not permitted.
 */
int sled_maps_read(pid_t pid, struct sled_map **maps, size_t *n, char *err, size_t errlen);

/* True for a mapping of a regular file (not anonymous, not [vdso], [heap], ...). */
bool sled_map_is_file(const struct sled_map *m);

/* Open the file behind mapping m of pid as the process sees it: /proc/PID/map_files
 * (deleted files too), else /proc/PID/root + its path (other mount namespaces).  The path
 * that opened it is left in path[len].  Returns the fd (O_RDONLY) or -1 with errno. */
int sled_map_open(pid_t pid, const struct sled_map *m, char *path, size_t len);

#endif /* SLED_PROC_MAPS_H */
