/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objcache.h"
#include "strpool.h"

#define BUCKETS 256

/* What makes two opens the same file with the same bytes. */
struct file_id {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct entry {
	struct sled_object obj; /* what readers get: put() finds the entry from it */
	struct file_id id;
	unsigned refs;
	size_t bytes;
	struct entry *next;
};

struct sled_objcache {
	pthread_mutex_t lock;
	struct entry *buckets[BUCKETS];
	size_t max_bytes;
	struct sled_objcache_stats st;
};

struct sled_objcache *sled_objcache_new(size_t max_bytes)
{
	struct sled_objcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->max_bytes = max_bytes;
	return c;
}

static void entry_free(struct entry *e)
{
	sled_object_free(&e->obj);
	free(e);
}

void sled_objcache_free(struct sled_objcache *c)
{
	if (!c)
		return;
	for (unsigned b = 0; b < BUCKETS; b++) {
		while (c->buckets[b]) {
			struct entry *e = c->buckets[b];

			c->buckets[b] = e->next;
			entry_free(e);
		}
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void sled_objcache_set_max(struct sled_objcache *c, size_t max_bytes)
{
	pthread_mutex_lock(&c->lock);
	c->max_bytes = max_bytes;
	pthread_mutex_unlock(&c->lock);
}

size_t sled_object_bytes(const struct sled_object *obj)
{
	return sizeof(struct entry) + obj->nsites * sizeof(obj->sites[0]) +
	       obj->ndiags * sizeof(obj->diags[0]) + sled_strpool_bytes(obj->strings);
}

static unsigned bucket_of(const struct file_id *id)
{
	return (unsigned)(((id->ino ^ (id->dev << 24)) * 0x9E3779B97F4A7C15ull) >> 56) % BUCKETS;
}

static struct entry *find(struct sled_objcache *c, const struct file_id *id)
{
	for (struct entry *e = c->buckets[bucket_of(id)]; e; e = e->next)
		if (!memcmp(&e->id, id, sizeof(*id)))
			return e;
	return NULL;
}

static int file_id_of(int fd, struct file_id *id)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	memset(id, 0, sizeof(*id)); /* compared bytewise */
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	id->size = (uint64_t)st.st_size;
	id->mtime_sec = st.st_mtim.tv_sec;
	id->mtime_nsec = st.st_mtim.tv_nsec;
	id->ctime_sec = st.st_ctim.tv_sec;
	id->ctime_nsec = st.st_ctim.tv_nsec;
	return 0;
}

/* Give the growth slack of the site table back: the entry may be held for days. */
static void trim_sites(struct sled_object *obj)
{
	struct sled_site *v;

	if (!obj->nsites) {
		free(obj->sites);
		obj->sites = NULL;
		return;
	}
	v = realloc(obj->sites, obj->nsites * sizeof(*v));
	if (v)
		obj->sites = v;
}

int sled_objcache_get_fd(struct sled_objcache *c, int fd, const char *display_path,
			 const struct sled_object **obj, char *err, size_t errlen)
{
	struct file_id id, after;
	struct entry *e;
	int ret;

	*obj = NULL;
	if (file_id_of(fd, &id)) {
		snprintf(err, errlen, "%s: %s", display_path, strerror(errno));
		return -EIO;
	}
	pthread_mutex_lock(&c->lock);
	e = find(c, &id);
	if (e) {
		e->refs++;
		c->st.hits++;
		*obj = &e->obj;
	}
	pthread_mutex_unlock(&c->lock);
	if (e)
		return 0;

	/* Parsed outside the lock: a large file takes a while, and nothing shared is touched. */
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "%s: out of memory", display_path);
		return -ENOMEM;
	}
	ret = sled_object_read_fd(fd, display_path, &e->obj, err, errlen);
	if (ret) {
		free(e);
		return ret;
	}
	trim_sites(&e->obj);
	/* Rewritten while it was read: what was read may be a mix, so it is not kept. */
	if (file_id_of(fd, &after) || memcmp(&id, &after, sizeof(id))) {
		snprintf(err, errlen, "%s: the file changed while it was read", display_path);
		entry_free(e);
		return -EIO;
	}
	e->id = id;
	e->refs = 1;
	e->bytes = sled_object_bytes(&e->obj);

	pthread_mutex_lock(&c->lock);
	c->st.reads++;
	{
		/* Another thread may have read the same file meanwhile: one entry is kept. */
		struct entry *dup = find(c, &id);

		if (dup) {
			dup->refs++;
			*obj = &dup->obj;
			pthread_mutex_unlock(&c->lock);
			entry_free(e);
			return 0;
		}
	}
	if (c->max_bytes && (e->bytes > c->max_bytes || c->st.bytes > c->max_bytes - e->bytes)) {
		size_t held = c->st.bytes, max = c->max_bytes;

		c->st.refused++;
		pthread_mutex_unlock(&c->lock);
		snprintf(err, errlen, "%s: not read: its %zu tracepoint sites (%zu KiB) would pass "
			 "--max-objects-memory (%zu of %zu KiB held)", display_path,
			 e->obj.nsites, e->bytes >> 10, held >> 10, max >> 10);
		entry_free(e);
		return -E2BIG;
	}
	e->next = c->buckets[bucket_of(&id)];
	c->buckets[bucket_of(&id)] = e;
	c->st.objects++;
	c->st.bytes += e->bytes;
	*obj = &e->obj;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int sled_objcache_get(struct sled_objcache *c, const char *path, const struct sled_object **obj,
		      char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	*obj = NULL;
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	ret = sled_objcache_get_fd(c, fd, path, obj, err, errlen);
	close(fd);
	return ret;
}

void sled_objcache_put(struct sled_objcache *c, const struct sled_object *obj)
{
	struct entry *e, **pp;

	if (!obj)
		return;
	e = (struct entry *)((char *)obj - offsetof(struct entry, obj));
	pthread_mutex_lock(&c->lock);
	if (--e->refs) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	for (pp = &c->buckets[bucket_of(&e->id)]; *pp && *pp != e; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = e->next;
	c->st.objects--;
	c->st.bytes -= e->bytes;
	pthread_mutex_unlock(&c->lock);
	entry_free(e);
}

void sled_objcache_stats(struct sled_objcache *c, struct sled_objcache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	st->max_bytes = c->max_bytes;
	pthread_mutex_unlock(&c->lock);
}
