// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/fnv.h"
#include "strpool.h"

#define CHUNK_BYTES 16384

_Static_assert(sizeof(size_t) == 8, "entries stay 8-byte aligned");

struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

/* Each entry: its length, then its bytes (8-byte aligned); slots point at the bytes. */
struct sled_strpool {
	struct chunk *chunks;
	const char **slots; /* open addressing by hash; NULL = empty */
	size_t nslots, count, bytes;
};

static size_t entry_len(const char *e)
{
	size_t len;

	memcpy(&len, e - sizeof(len), sizeof(len));
	return len;
}

static int grow(struct sled_strpool *p)
{
	size_t n = p->nslots ? p->nslots * 2 : 64;
	const char **v = calloc(n, sizeof(*v));

	if (!v)
		return -1;
	for (size_t i = 0; i < p->nslots; i++) {
		size_t j;

		if (!p->slots[i])
			continue;
		for (j = sled_fnv1a(p->slots[i], entry_len(p->slots[i])) & (n - 1); v[j];
		     j = (j + 1) & (n - 1))
			;
		v[j] = p->slots[i];
	}
	p->bytes += (n - p->nslots) * sizeof(*v);
	free(p->slots);
	p->slots = v;
	p->nslots = n;
	return 0;
}

static char *store(struct sled_strpool *p, const void *data, size_t len)
{
	struct chunk *c = p->chunks;
	size_t need = (sizeof(size_t) + len + 7) & ~(size_t)7;
	char *dst;

	if (!c || c->size - c->used < need) {
		size_t size = need > CHUNK_BYTES ? need : CHUNK_BYTES;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = p->chunks;
		c->used = 0;
		c->size = size;
		p->chunks = c;
		p->bytes += sizeof(*c) + size;
	}
	dst = c->data + c->used;
	memcpy(dst, &len, sizeof(len));
	dst += sizeof(len);
	memcpy(dst, data, len);
	c->used += need;
	return dst;
}

const void *sled_strpool_intern_bytes(struct sled_strpool **pool, const void *data, size_t len)
{
	struct sled_strpool *p = *pool;
	size_t i;
	char *copy;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		*pool = p;
	}
	if ((p->count + 1) * 2 > p->nslots && grow(p))
		return NULL;
	for (i = sled_fnv1a(data, len) & (p->nslots - 1); p->slots[i]; i = (i + 1) & (p->nslots - 1))
		if (entry_len(p->slots[i]) == len && !memcmp(p->slots[i], data, len))
			return p->slots[i];
	copy = store(p, data, len);
	if (!copy)
		return NULL;
	p->slots[i] = copy;
	p->count++;
	return copy;
}

const char *sled_strpool_intern(struct sled_strpool **pool, const char *s)
{
	return sled_strpool_intern_bytes(pool, s, strlen(s) + 1);
}

size_t sled_strpool_bytes(const struct sled_strpool *pool)
{
	return pool ? pool->bytes + sizeof(*pool) : 0;
}

void sled_strpool_free(struct sled_strpool *pool)
{
	if (!pool)
		return;
	while (pool->chunks) {
		struct chunk *c = pool->chunks;

		pool->chunks = c->next;
		free(c);
	}
	free(pool->slots);
	free(pool);
}
