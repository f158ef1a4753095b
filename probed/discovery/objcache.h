/* SPDX-License-Identifier: MIT */
/*
 * objcache: parsed objects shared by every process that maps the same file.
 *
 * An object's sites depend only on the file's bytes, so a library mapped by N processes is
 * read once and held once: each reader gets a reference to one immutable struct
 * sled_object, and the entry is freed when its last reference is put back (the last
 * process mapping it is let go).  What differs between processes (where the file is
 * mapped, the path they see it by) stays with them (process.h).
 *
 * An entry is keyed by the identity of the file descriptor actually read (fstat: device,
 * inode, size, mtime, ctime), so a file rewritten in place is read again and processes
 * that still hold the old entry keep it until they put it back.
 *
 * The memory of all entries held is capped: a file whose sites would take the total past
 * the cap is refused with one line naming it.  The cache has a lock: references may be
 * taken and put back from any thread.
 */
#ifndef SLED_OBJCACHE_H
#define SLED_OBJCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "sites.h"

/* The cap a daemon starts with (probed --max-objects-memory). */
#define SLED_OBJCACHE_DEFAULT_MAX_BYTES ((size_t)256 << 20)

struct sled_objcache;

/* What the cache holds now and has done since it was made. */
struct sled_objcache_stats {
	size_t objects;   /* entries held */
	size_t bytes;     /* their memory, as counted against the cap */
	size_t max_bytes; /* the cap */
	uint64_t reads;   /* files parsed */
	uint64_t hits;    /* references served without parsing */
	uint64_t refused; /* files refused over the cap */
};

/* A cache with a cap of max_bytes (0: no cap).  NULL when out of memory. */
struct sled_objcache *sled_objcache_new(size_t max_bytes);

/* Frees the cache and every entry: put every reference back first. */
void sled_objcache_free(struct sled_objcache *c);

/* Change the cap (entries already held stay; only new ones are refused). */
void sled_objcache_set_max(struct sled_objcache *c, size_t max_bytes);

/*
 * A reference to the parsed sites of the ELF file open on fd (not closed), reading it
 * unless an entry of the same identity is held.  display_path names it in messages and
 * is recorded as obj->path by the first reader (callers show their own path).  Returns 0
 * with *obj, or a negative errno with a one-line reason in err: those of
 * sled_object_read_fd, -E2BIG when the object would take the cache past its cap, -EIO
 * when fd cannot be stat'ed.
 */
int sled_objcache_get_fd(struct sled_objcache *c, int fd, const char *display_path,
			 const struct sled_object **obj, char *err, size_t errlen);

/* Same, opening path (-ENOENT, -EACCES, ... from open(2)). */
int sled_objcache_get(struct sled_objcache *c, const char *path, const struct sled_object **obj,
		      char *err, size_t errlen);

/* Give back a reference from sled_objcache_get*; NULL is ignored. */
void sled_objcache_put(struct sled_objcache *c, const struct sled_object *obj);

void sled_objcache_stats(struct sled_objcache *c, struct sled_objcache_stats *st);

/* Bytes a parsed object takes: what is counted against the cap. */
size_t sled_object_bytes(const struct sled_object *obj);

#endif /* SLED_OBJCACHE_H */
