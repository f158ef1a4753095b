/* SPDX-License-Identifier: MIT */
/*
 * enable_check: refuse a standing probe that can never match, as bpftrace refuses a probe
 * with no target.  A -b enable is checked against that binary's notes (the pattern
 * matches a tracepoint, the filter compiles for every one it matches); a no-scope enable
 * against every tracepoint the daemon knows (attached processes, objects the uprobe part
 * scanned): the pattern must match one and the filter fit one, unless the user says the
 * tracepoint comes later (pending).
 */
#ifndef SLED_ENABLE_CHECK_H
#define SLED_ENABLE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct daemon;

/* 0, or -1 with a one-line reason in why.  binary: "" for no scope.  uprobes: the enable
 * may trace processes without libsled, whose objects are scanned when the attached
 * processes have no match. */
int enable_check(struct daemon *d, const char *pattern, const char *filter, const char *binary,
		 bool uprobes, bool pending, char *why, size_t whylen);

#endif /* SLED_ENABLE_CHECK_H */
