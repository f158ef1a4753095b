/* SPDX-License-Identifier: MIT */
/* log: see log.h. */
#include <stdarg.h>
#include <stdio.h>

#include "daemon/core/daemon.h"
#include "daemon/core/log.h"

void log_info(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->verbose)
		return;
	fputs("probed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
