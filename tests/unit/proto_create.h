/* SPDX-License-Identifier: MIT */
/* proto_create: a network output's create() with its options given as "k=v" strings, as
 * the unit tests of the outputs call it. */
#ifndef SLED_TEST_PROTO_CREATE_H
#define SLED_TEST_PROTO_CREATE_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "netout.h"

/* ops->create() with n options "k=v" given as separate strings; err receives the reason. */
static void *proto_create(const struct sled_proto_ops *ops, const char *target, char *err,
			  size_t errlen, int n, ...)
{
	struct sled_netout_opts o = { .n = 0 };
	static char store[SLED_NETOUT_MAX_OPTS][128];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		char *kv = store[i], *eq;

		snprintf(kv, sizeof(store[i]), "%s", va_arg(ap, const char *));
		eq = strchr(kv, '=');
		if (eq)
			*eq++ = '\0';
		o.opt[o.n].key = kv;
		o.opt[o.n].value = eq ? eq : "";
		o.n++;
	}
	va_end(ap);
	err[0] = '\0';
	return ops->create(target, &o, err, errlen);
}

#endif /* SLED_TEST_PROTO_CREATE_H */
