/* SPDX-License-Identifier: MIT */
/*
 * jsonl_scan.h - what the events-file checkers (stress_check, signals_check) share: a
 * strict reader of the encoder's JSON lines, literal by literal and number by number, and
 * the "line N: what: text" report of up to 10 problems.  One checker per program, so the
 * problem count is a file-level static.
 */
#ifndef SLED_TESTS_JSONL_SCAN_H
#define SLED_TESTS_JSONL_SCAN_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned long problems;

static void problem(uint64_t line, const char *what, const char *text, size_t len)
{
	if (problems++ < 10)
		printf("line %" PRIu64 ": %s: %.*s\n", line, what, (int)(len > 300 ? 300 : len), text);
}

/* Match a literal at *p; advance on success. */
static bool lit(const char **p, const char *end, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(end - *p) < n || memcmp(*p, s, n))
		return false;
	*p += n;
	return true;
}

/* A JSON unsigned integer: no leading zeros except "0" itself, fits in 64 bits. */
static bool num(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	*p = s;
	return true;
}

#endif
