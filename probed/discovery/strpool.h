/* SPDX-License-Identifier: MIT */
/*
 * strpool: the strings of one object's sites (provider, name, arg spec text) and their
 * field tables, each kept once however many sites repeat it, in chunks freed together with the object.  A site
 * then costs a pointer per string instead of a fixed array.
 */
#ifndef SLED_STRPOOL_H
#define SLED_STRPOOL_H

#include <stddef.h>

struct sled_strpool;

/* The pooled copy of s (NUL-terminated); NULL when out of memory.  *pool is created on
 * first use. */
const char *sled_strpool_intern(struct sled_strpool **pool, const char *s);

/* The pooled copy of len bytes at data (a site's field table), kept once like strings;
 * 8-byte aligned.  NULL when out of memory. */
const void *sled_strpool_intern_bytes(struct sled_strpool **pool, const void *data, size_t len);

/* Bytes the pool holds (chunks and index), for accounting. */
size_t sled_strpool_bytes(const struct sled_strpool *pool);

void sled_strpool_free(struct sled_strpool *pool);

#endif /* SLED_STRPOOL_H */
