// SPDX-License-Identifier: MIT
/* buf: the growable byte buffer the encoders append to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"

#define SLED_BUF_MIN 256

int sled_buf_grow(struct sled_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : SLED_BUF_MIN;
	char *data;

	if (n > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	while (cap - b->len < n)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

void sled_buf_free(struct sled_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int sled_buf_put_u64(struct sled_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sled_buf_append(b, tmp + i, sizeof(tmp) - i);
}

int sled_buf_put_i64(struct sled_buf *b, int64_t v)
{
	if (v >= 0)
		return sled_buf_put_u64(b, (uint64_t)v);
	if (sled_buf_putc(b, '-'))
		return -ENOMEM;
	return sled_buf_put_u64(b, -(uint64_t)v); /* INT64_MIN too */
}

int sled_buf_put_double(struct sled_buf *b, double d, bool single)
{
	int lo = single ? 6 : 15, hi = single ? 9 : 17; /* 9 and 17 always read back */
	char tmp[40];
	int n = 0;

	for (int prec = lo; prec <= hi; prec++) {
		double back;

		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (prec == hi)
			break;
		back = strtod(tmp, NULL);
		if (single ? (float)back == (float)d : back == d)
			break;
	}
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENOMEM; /* cannot happen for %g of a finite value */
	if (!strpbrk(tmp, ".e")) {
		tmp[n++] = '.';
		tmp[n++] = '0';
	}
	return sled_buf_append(b, tmp, (size_t)n);
}
