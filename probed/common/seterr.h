/* SPDX-License-Identifier: MIT */
/*
 * seterr: the one way probed's parts write a one-line reason into a caller's buffer
 * (err, errlen); a NULL or empty buffer means the caller does not want it.
 */
#ifndef SLED_COMMON_SETERR_H
#define SLED_COMMON_SETERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void sled_vseterr(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
}

static inline void sled_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void sled_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sled_vseterr(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* SLED_COMMON_SETERR_H */
