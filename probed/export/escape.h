/* SPDX-License-Identifier: MIT */
/*
 * escape: the one walk the text encoders (JSON, human, syslog) make over a string from a
 * traced process, which is bytes and not necessarily UTF-8: runs that need nothing are
 * copied as they are, well-formed UTF-8 characters kept, and each other ASCII byte or
 * ill-formed subpart (utf8.h) written the way the format says.
 */
#ifndef SLED_EXPORT_ESCAPE_H
#define SLED_EXPORT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct sled_escaper {
	/* An ASCII byte (below 0x80) that goes as it is. */
	bool (*plain)(unsigned char c);
	/* What stands for an ASCII byte that is not plain; 0 or an error. */
	int (*ascii)(struct sled_buf *b, unsigned char c);
	/* What stands for an ill-formed subpart s of n bytes; 0 or an error. */
	int (*ill_formed)(struct sled_buf *b, const unsigned char *s, size_t n);
};

/* The letter C and JSON both write after '\' for '"', '\', newline, carriage return
 * and tab; 0 for any other byte. */
static inline char sled_escape_letter(unsigned char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	default: return 0;
	}
}

/* str (len bytes) into b, escaped by e; 0 or -ENOMEM. */
int sled_escape(struct sled_buf *b, const char *str, size_t len, const struct sled_escaper *e);

#endif /* SLED_EXPORT_ESCAPE_H */
