/* SPDX-License-Identifier: MIT */
/*
 * buf: private append helpers on struct sled_buf (declared in output.h), shared by the
 * encoders.  Every helper returns 0 or -ENOMEM; on failure the buffer keeps what it had,
 * so an encoder can reset len to where its event began and leave no partial event.
 */
#ifndef SLED_EXPORT_BUF_H
#define SLED_EXPORT_BUF_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "output.h"

/* Make room for n more bytes (slow path of the helpers below). */
int sled_buf_grow(struct sled_buf *b, size_t n);

static inline int sled_buf_reserve(struct sled_buf *b, size_t n)
{
	return b->cap - b->len >= n ? 0 : sled_buf_grow(b, n);
}

static inline int sled_buf_append(struct sled_buf *b, const void *p, size_t n)
{
	if (sled_buf_reserve(b, n))
		return -ENOMEM;
	if (n) /* p may be NULL when n is 0 */
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static inline int sled_buf_putc(struct sled_buf *b, char c)
{
	if (sled_buf_reserve(b, 1))
		return -ENOMEM;
	b->data[b->len++] = c;
	return 0;
}

static inline int sled_buf_puts(struct sled_buf *b, const char *s)
{
	return sled_buf_append(b, s, strlen(s));
}

/* Decimal text of an integer. */
int sled_buf_put_u64(struct sled_buf *b, uint64_t v);
int sled_buf_put_i64(struct sled_buf *b, int64_t v);

/*
 * The shortest decimal text that reads back as the same value: as a float when single
 * (a SLED_T_FLOAT widened to double), else as a double.  Always looks like a floating
 * number ("2.0", not "2").  Finite values only; the C locale's '.' is assumed.
 */
int sled_buf_put_double(struct sled_buf *b, double d, bool single);

/* A quoted JSON string of s[0..len): escaped per RFC 8259, ill-formed UTF-8 as U+FFFD
 * (encode_json.c). */
int sled_buf_put_json_string(struct sled_buf *b, const char *s, size_t len);

#endif /* SLED_EXPORT_BUF_H */
