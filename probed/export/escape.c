// SPDX-License-Identifier: MIT
/* escape: see escape.h. */
#include <errno.h>

#include "escape.h"
#include "utf8.h"

int sled_escape(struct sled_buf *b, const char *str, size_t len, const struct sled_escaper *e)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	int err = 0;

	while (i < len) {
		unsigned char c = s[i];
		int r = 1;

		if (c < 0x80 && e->plain(c)) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			r = sled_utf8_seq(s + i, len - i);
			if (r > 0) {
				i += (size_t)r;
				continue;
			}
			r = -r;
		}
		/* Flush the plain run before s[i], then its replacement. */
		err |= sled_buf_append(b, str + run, i - run);
		err |= c < 0x80 ? e->ascii(b, c) : e->ill_formed(b, s + i, (size_t)r);
		i += (size_t)r;
		run = i;
	}
	err |= sled_buf_append(b, str + run, len - run);
	return err ? -ENOMEM : 0;
}
