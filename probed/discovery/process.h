/* SPDX-License-Identifier: MIT */
/*
 * process: the tracepoint sites of a running process.  Every ELF file the process maps
 * (its executable, shared libraries, dlopen'd ones) is read from the notes through an
 * object cache (objcache.h), so that a file mapped by many processes is parsed and held
 * once; what is the process's own (where it maps the file, the path it sees, problems
 * with its mappings) is kept here, per process, and is small.
 */
#ifndef SLED_PROCESS_H
#define SLED_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "objcache.h"
#include "sites.h"

/* One executable mapping of an object's file: [start, end) maps the file from offset. */
struct sled_exec_range {
	uint64_t start, end, offset;
};

/* An object as one process maps it. */
struct sled_process_object {
	const struct sled_object *obj; /* shared and immutable (an empty object if unreadable) */
	char *path;                    /* the path the process maps it by */
	size_t nranges;
	struct sled_exec_range *ranges;
	int error;                     /* 0, or why obj could not be read (-E2BIG: the
					* cache's cap, -EIO, -EACCES, ...) */
	size_t ndiags;                 /* this process's problems: unreadable, unmapped sites */
	struct sled_diag *diags;
};

struct sled_process {
	pid_t pid;
	struct sled_objcache *cache;   /* the objects' references go back there */
	size_t nobjects;
	struct sled_process_object *objects; /* only objects with a site or a diagnostic */
};

/*
 * Read the sites of process pid, through cache.  Files are opened through
 * /proc/PID/map_files (which also reaches deleted files and other mount namespaces),
 * falling back to /proc/PID/root/PATH (then only a file with the inode the mapping
 * names is read).  An object that cannot be read (or is over the cache's cap) is
 * recorded as a diagnostic on an empty object, not an error.  Returns 0, or a negative
 * errno with a one-line reason: -ESRCH no such process, -EACCES not permitted.
 */
int sled_process_read(struct sled_objcache *cache, pid_t pid, struct sled_process *proc,
		      char *err, size_t errlen);

void sled_process_free(struct sled_process *proc);

/* A site's address in the process: in the executable mapping of its object that holds
 * its file offset; 0 if none does. */
uint64_t sled_site_runtime(const struct sled_process_object *po, const struct sled_site *s);

#endif /* SLED_PROCESS_H */
