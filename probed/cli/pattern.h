/* SPDX-License-Identifier: MIT */
/*
 * pattern: which tracepoints a user's PATTERN names.  "provider:name" with '*' and '?'
 * wildcards on each side; a pattern without ':' matches the provider, the name, or the
 * whole "provider:name".  NULL or "" matches everything.
 */
#ifndef SLED_PATTERN_H
#define SLED_PATTERN_H

#include <stdbool.h>

bool sled_pattern_match(const char *pattern, const char *provider, const char *name);

/* 0 if pattern is well formed, else -EINVAL with a one-line reason. */
int sled_pattern_check(const char *pattern, char *err, unsigned long errlen);

#endif /* SLED_PATTERN_H */
