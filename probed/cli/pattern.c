/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pattern.h"

/* Glob with '*' (any run) and '?' (one char); iterative, linear backtracking. */
static bool glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == 0;
}

bool sled_pattern_match(const char *pattern, const char *provider, const char *name)
{
	const char *colon;
	char pp[256];
	size_t l;

	if (!pattern || !*pattern)
		return true;
	colon = strchr(pattern, ':');
	if (!colon)
		return glob(pattern, provider) || glob(pattern, name);
	l = (size_t)(colon - pattern);
	if (l >= sizeof(pp))
		return false;
	memcpy(pp, pattern, l);
	pp[l] = 0;
	return glob(pp, provider) && glob(colon + 1, name);
}

int sled_pattern_check(const char *pattern, char *err, unsigned long errlen)
{
	const char *colon;

	if (!pattern)
		return 0;
	if (strlen(pattern) > 255) {
		snprintf(err, errlen, "pattern too long (max 255 characters)");
		return -EINVAL;
	}
	for (const char *p = pattern; *p; p++) {
		/* Identifiers, wildcards, and the '.' and '-' some stapsdt producers use. */
		if (!(*p == '_' || *p == '*' || *p == '?' || *p == ':' || *p == '.' || *p == '-' ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
			snprintf(err, errlen,
				 "bad character '%c' in pattern '%s' (expected provider:name with * wildcards)",
				 *p, pattern);
			return -EINVAL;
		}
	}
	colon = strchr(pattern, ':');
	if (colon && strchr(colon + 1, ':')) {
		snprintf(err, errlen, "pattern '%s' has more than one ':'", pattern);
		return -EINVAL;
	}
	return 0;
}
