// SPDX-License-Identifier: MIT
/*
 * net_opts: a network output's key=value options, read through its table (net_opts.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_opts.h"
#include "net_tls.h"
#include "output_impl.h"

/* The reason stays one line whatever the spec held. */
static void one_line(char *err, size_t errlen)
{
	for (size_t i = 0; err && i < errlen && err[i]; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
}

int sled_net_opt_u64(const char *kind, const char *key, const char *value, uint64_t min,
		     uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (!*value || *end || errno || value[0] == '-' || v < min || v > max) {
		sled_output_set_err(err, errlen, "%s: bad %s '%s': expected %llu..%llu", kind, key,
				    value, (unsigned long long)min, (unsigned long long)max);
		one_line(err, errlen);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

bool sled_net_opt_flag(const char *v, bool *out)
{
	if (!v[0] || !strcmp(v, "1") || !strcmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

/* Whether s is 1 to max characters, each allowed: no control character, and for a token
 * nothing outside printable US-ASCII (RFC 5424's header fields). */
static bool text_ok(const char *s, size_t max, bool token)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (const unsigned char *u = (const unsigned char *)s; *u; u++)
		if (*u < 0x20 || *u == 0x7f || (token && (*u == ' ' || *u > 0x7e)))
			return false;
	return true;
}

static int store(const char *kind, const struct sled_opt *o, void *state, const char *value,
		 char *err, size_t errlen)
{
	char *field = (char *)state + o->off;
	uint64_t v;

	switch (o->type) {
	case SLED_OPT_FLAG:
		if (!sled_net_opt_flag(value, (bool *)(void *)field)) {
			sled_output_set_err(err, errlen, "%s: bad %s '%s': expected 0 or 1", kind,
					    o->key, value);
			return -EINVAL;
		}
		return 0;
	case SLED_OPT_INT:
		if (sled_net_opt_u64(kind, o->key, value, o->min, o->max, &v, err, errlen))
			return -EINVAL;
		*(int *)(void *)field = (int)v;
		return 0;
	case SLED_OPT_TEXT:
	case SLED_OPT_TOKEN:
		if (!text_ok(value, o->max, o->type == SLED_OPT_TOKEN)) {
			sled_output_set_err(err, errlen,
					    "%s: bad %s '%s': expected 1 to %llu printable%s characters",
					    kind, o->key, value, (unsigned long long)o->max,
					    o->type == SLED_OPT_TOKEN ? " ASCII" : "");
			return -EINVAL;
		}
		strcpy(field, value);
		return 0;
	case SLED_OPT_DUP: {
		char **dup = (char **)(void *)field;

		if (o->min && !*value) {
			sled_output_set_err(err, errlen, "%s: %s needs a value", kind, o->key);
			return -EINVAL;
		}
		free(*dup);
		*dup = strdup(value);
		if (!*dup) {
			sled_output_set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	case SLED_OPT_CALL:
		return 0;
	}
	return -EINVAL;
}

/* "KIND: unknown option 'KEY' (queue, batch, every key of table[, the TLS ones])". */
static void unknown(const char *kind, const char *key, const struct sled_opt *table, size_t n,
		    bool tls, char *err, size_t errlen)
{
	char known[512] = "queue, batch";

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(known);

		snprintf(known + len, sizeof(known) - len, ", %s", table[i].key);
	}
	sled_output_set_err(err, errlen, "%s: unknown option '%s' (%s%s)", kind, key, known,
			    tls ? ", " SLED_TLS_OPTS_HELP : "");
}

int sled_net_opts_apply(const char *kind, const struct sled_opt *table, size_t n, void *state,
			struct sled_tls_opts *tls, const struct sled_netout_opts *opts, char *err,
			size_t errlen)
{
	int r = 0;

	for (unsigned i = 0; i < opts->n && !r; i++) {
		const char *key = opts->opt[i].key, *value = opts->opt[i].value;
		const struct sled_opt *o = NULL;

		if (tls) {
			r = sled_tls_opt(tls, kind, key, value, err, errlen);
			if (r <= 0)
				continue;
			r = 0;
		}
		for (size_t k = 0; k < n && !o; k++)
			if (!strcmp(key, table[k].key))
				o = &table[k];
		if (!o) {
			unknown(kind, key, table, n, tls, err, errlen);
			r = -EINVAL;
			continue;
		}
		r = store(kind, o, state, value, err, errlen);
		if (!r && o->check)
			r = o->check(state, kind, value, err, errlen);
	}
	if (r)
		one_line(err, errlen);
	return r;
}
