/* SPDX-License-Identifier: MIT */
/*
 * sled/sled.h - the libsled runtime's public API.
 *
 * An application that links libsled (pkg-config --libs sled) can have its tracepoints
 * switched on in sled mode; one that only includes <sled/tracepoint.h> is traced in
 * uprobe mode.  Nothing here needs to be called: the runtime starts itself.
 */
#ifndef SLED_SLED_H
#define SLED_SLED_H

#ifdef __cplusplus
extern "C" {
#endif

/* libsled is built with hidden visibility: only what is marked here is exported. */
#define SLED_API __attribute__((visibility("default")))

/* The runtime's version as "MAJOR.MINOR.PATCH". */
SLED_API const char *sled_runtime_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SLED_SLED_H */
