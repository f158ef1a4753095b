/* SPDX-License-Identifier: MIT */
/*
 * process: the tracepoint sites of a running process.  Every ELF file the process maps
 * (its executable, shared libraries, dlopen'd ones) is read from the notes, and each site
 * gets its runtime address from the mapping that holds its file offset.
 */
#ifndef SLED_PROCESS_H
#define SLED_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "sites.h"

struct sled_process {
	pid_t pid;
	size_t nobjects;
	struct sled_object *objects; /* only objects with at least one site or diagnostic */
};

/*
 * Read the sites of process pid.  Files are opened through /proc/PID/map_files (which also
 * reaches deleted files and other mount namespaces), falling back to /proc/PID/root/PATH.
 * An object that cannot be read is recorded as a diagnostic on an empty object, not an
 * error.  Returns 0, or a negative errno with a one-line reason: -ESRCH no such process,
 * -EACCES not permitted.
 */
int sled_process_read(pid_t pid, struct sled_process *proc, char *err, size_t errlen);

void sled_process_free(struct sled_process *proc);

#endif /* SLED_PROCESS_H */
