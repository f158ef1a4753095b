/* SPDX-License-Identifier: MIT */
/*
 * proc_name: the name of the program that emitted an event, for outputs that show it
 * (syslog's APP-NAME).  Private to probed/export.
 *
 * The basename of the event's executable path when the daemon knows it (sled mode), else
 * of /proc/PID/exe, else /proc/PID/comm (uprobe mode: the process may not link libsled).
 * Looked-up names are cached per pid and looked up again after a second, so an exec or a
 * reused pid shows its new name soon after.  One cache per output, used by one thread.
 */
#ifndef SLED_EXPORT_PROC_NAME_H
#define SLED_EXPORT_PROC_NAME_H

#include <stdint.h>
#include <sys/types.h>

#include "event.h"

#define SLED_PROC_NAME_MAX   64  /* bytes kept of a name; longer names are cut */
#define SLED_PROC_NAME_SLOTS 256 /* pids cached at once (direct-mapped) */

struct sled_proc_names {
	struct {
		pid_t pid;          /* 0: empty */
		int64_t looked_ms;  /* CLOCK_MONOTONIC time of the lookup */
		char name[SLED_PROC_NAME_MAX + 1]; /* "" when the process was gone */
	} slot[SLED_PROC_NAME_SLOTS];
	char scratch[SLED_PROC_NAME_MAX + 1]; /* the name of an event that has its path */
};

/* The program name of ev: a string valid until the next call, "" when unknown. */
const char *sled_proc_name(struct sled_proc_names *c, const struct sled_event *ev);

/* The last path component of path, without the " (deleted)" the kernel appends to the
 * link of an executable replaced on disk, into out (cut to SLED_PROC_NAME_MAX bytes). */
void sled_proc_basename(const char *path, char out[SLED_PROC_NAME_MAX + 1]);

#endif /* SLED_EXPORT_PROC_NAME_H */
