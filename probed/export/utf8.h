/* SPDX-License-Identifier: MIT */
/*
 * utf8: what the encoders need to carry strings from traced processes, which are bytes
 * and not necessarily UTF-8.  Invalid input is replaced the way Unicode recommends (and
 * Python's "replace" error handler does): each maximal ill-formed subpart becomes one
 * U+FFFD.
 */
#ifndef SLED_EXPORT_UTF8_H
#define SLED_EXPORT_UTF8_H

#include <stddef.h>

#define SLED_UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * The sequence at s (n >= 1 bytes available): its length (1 to 4) when it is one
 * well-formed UTF-8 character, else minus the length of the ill-formed subpart to
 * replace (at least 1 byte).
 */
static inline int sled_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int need;

	if (c < 0x80)
		return 1;
	if (c < 0xc2) /* a continuation byte, or an overlong 2-byte lead */
		return -1;
	if (c < 0xe0) {
		need = 1;
	} else if (c < 0xf0) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c < 0xf5) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return -1;
	}
	for (int i = 1; i <= need; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

/*
 * A truncated string may end inside a multi-byte character: the length without that
 * incomplete last character, so it is dropped rather than shown as U+FFFD.
 */
static inline size_t sled_utf8_trim_partial(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t j = len;

	while (j > 0 && len - j < 3 && (s[j - 1] & 0xc0) == 0x80)
		j--;
	if (j == 0 || s[j - 1] < 0xc2 || s[j - 1] > 0xf4)
		return len; /* no lead byte: not a cut character */
	j--;
	/* Ill-formed exactly up to the end: a correct prefix that ran out of bytes. */
	if (sled_utf8_seq(s + j, len - j) == -(int)(len - j))
		return j;
	return len;
}

#endif /* SLED_EXPORT_UTF8_H */
