/* SPDX-License-Identifier: MIT */
/*
 * sled/sled.h - the libsled runtime's public API.
 *
 * An application that links libsled (pkg-config --libs sled) can have its tracepoints
 * switched on in sled mode; one that only includes <sled/tracepoint.h> is traced in
 * uprobe mode.  Nothing here needs to be called: by default the runtime starts itself
 * before main (a shared block and one sleeping agent thread).
 *
 * Starting later.  An app that must still be single-threaded after its constructors ran
 * (unshare(CLONE_NEWUSER), some sandboxes, a fork server) defers the start and calls
 * sled_start() when it is ready.  Either
 *   - define, in one file of the application:    SLED_NO_AUTOSTART;
 *     (it expands to `const int sled_autostart = 0;`, which libsled looks up through a
 *     weak reference: a binary that does not define it starts the runtime as before), or
 *   - run the app with SLED_DEFER=1 in its environment.
 * SLED_DISABLE=1 keeps the runtime off for good: sled_start() then returns -ECANCELED.
 *
 * Before the runtime has started (deferred, or disabled) every call here is safe:
 * tracepoints stay NOPs (uprobe mode still sees them), sled_enabled() answers 0,
 * sled_stop() does nothing.  A process that has not started the runtime has no shared
 * block, so probed cannot attach it in sled mode (probectl says it "does not link
 * libsled"; --mode auto and uprobe mode still trace it).  Not safe at any time: calling
 * sled_start() or sled_stop() from a signal handler, or concurrently with fork() (both
 * take a lock and create or restore code).
 *
 * Extensible calls take an options struct whose first field is its size, declared with
 * SLED_OPTS (as libbpf's LIBBPF_OPTS): fields are only ever appended, and a program built
 * against an older header keeps working with a newer libsled.
 */
#ifndef SLED_SLED_H
#define SLED_SLED_H

#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libsled is built with hidden visibility: only what is marked here is exported. */
#define SLED_API __attribute__((visibility("default")))

/* The runtime's version as "MAJOR.MINOR.PATCH". */
SLED_API const char *sled_runtime_version(void);

/* Declare and zero an options struct with its size set, then the given fields:
 *   SLED_OPTS(sled_start_opts, opts);  sled_start(&opts); */
#define SLED_OPTS(TYPE, NAME, ...)                                                      \
	struct TYPE NAME = ({                                                           \
		memset(&NAME, 0, sizeof(struct TYPE));                                  \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };                \
	})

struct sled_start_opts {
	size_t sz; /* sizeof(struct sled_start_opts) */
	/* Bytes of event records in each thread's ring: a power of two from 64 KiB to
	 * 16 MiB.  0: $SLED_RING_SIZE if set (e.g. 4M), else 1 MiB.  Larger rings ride out
	 * longer bursts before the daemon drains them; each thread that records events
	 * touches its ring's pages (README, "Ring size"). */
	size_t ring_size;
	/* New fields are appended here and default to today's behaviour when zero. */
};

/*
 * Start the runtime now: create the shared block and the agent thread, so probed can
 * attach this process in sled mode.  opts may be NULL.  Returns 0 (also when it already
 * runs with the same ring size), -EINVAL for bad opts (a ring_size out of range), -EBUSY
 * when it runs already with another ring size (it started itself: defer it to choose),
 * -ECANCELED when SLED_DISABLE is set, -ESHUTDOWN after sled_stop(), or the -errno of what failed (the process then stays as if deferred).
 */
SLED_API int sled_start(const struct sled_start_opts *opts);

/*
 * Stop the runtime: put every tracepoint and guard it patched back to its NOP, stop the
 * agent and leave the shared block, so the daemon lets go of this process.  Final for
 * this process image (a thread may still be finishing an event in the old rings, so they
 * are never reused); a later sled_start() returns -ESHUTDOWN.  A forked child can start
 * its own runtime.  Returns 0 (also when the runtime was not running) or the -errno of a
 * site that could not be restored.
 */
SLED_API int sled_stop(void);

/*
 * Is a probe attached to provider:name in this process in sled mode right now?  1 if any
 * of its sites (tracepoints or guards, in any loaded object) is patched, 0 if not or if
 * the runtime is not running, -EINVAL for a NULL name.  It reads the ELF notes of the
 * loaded objects, so it is a slow call for control paths; in hot code use
 * TRACEPOINT_ENABLED(provider, name), which costs a NOP.
 */
SLED_API int sled_enabled(const char *provider, const char *name);

/* Defer the runtime's start (see above).  Use once, at file scope, in the application. */
#ifdef __cplusplus
#define SLED_NO_AUTOSTART extern "C" SLED_API const int sled_autostart = 0
#else
#define SLED_NO_AUTOSTART SLED_API const int sled_autostart = 0
#endif

/* libsled's link anchor: static links name it (-Wl,--undefined=sled_runtime_anchor, as
 * sled.pc's static flags and sled::static do) so the runtime comes out of libsled.a even
 * though the app calls nothing in it. */
SLED_API extern const void *const sled_runtime_anchor;

#ifdef __cplusplus
}
#endif

#endif /* SLED_SLED_H */
