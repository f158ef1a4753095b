/* SPDX-License-Identifier: MIT */
/*
 * net_opts: the key=value options of a network output's spec (netout.h), read through one
 * table per protocol, so that every output takes values alike (a flag is 1, true or
 * given without a value; 0 or false) and says what is wrong alike, in one line naming the
 * option: "KIND: bad KEY 'VALUE': expected ...", "KIND: KEY needs a value", or
 * "KIND: unknown option 'KEY' (the options it takes)".  Private to probed/export.
 */
#ifndef SLED_EXPORT_NET_OPTS_H
#define SLED_EXPORT_NET_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLED_NETOUT_MAX_OPTS 16

/* The key=value options of a spec, in order; values may be "" (key given without '='). */
struct sled_netout_opts {
	unsigned n;
	struct {
		const char *key, *value;
	} opt[SLED_NETOUT_MAX_OPTS];
};

enum sled_opt_type {
	SLED_OPT_FLAG,  /* bool */
	SLED_OPT_INT,   /* int within [min, max] */
	SLED_OPT_TEXT,  /* char[max + 1]: 1 to max characters, none a control character */
	SLED_OPT_TOKEN, /* char[max + 1]: 1 to max printable US-ASCII characters, no space */
	SLED_OPT_DUP,   /* char *: a copy (the one before freed), "" refused when min is 1 */
	SLED_OPT_CALL,  /* only check */
};

/* One option a protocol takes: where its value goes in the protocol's state (off), and a
 * check run after the value is stored (NULL: none): 0, or -errno with err. */
struct sled_opt {
	const char *key;
	enum sled_opt_type type;
	size_t off;
	uint64_t min, max;
	int (*check)(void *state, const char *kind, const char *value, char *err, size_t errlen);
};

#define SLED_OPT_FIELD_MAX(T, f) (sizeof(((T *)0)->f) - 1)
#define SLED_OPT_FLAG_AT(key, T, f) { key, SLED_OPT_FLAG, offsetof(T, f), 0, 1, NULL }
#define SLED_OPT_INT_AT(key, T, f, min, max) { key, SLED_OPT_INT, offsetof(T, f), min, max, NULL }
#define SLED_OPT_TEXT_AT(key, T, f) \
	{ key, SLED_OPT_TEXT, offsetof(T, f), 1, SLED_OPT_FIELD_MAX(T, f), NULL }
#define SLED_OPT_TOKEN_AT(key, T, f) \
	{ key, SLED_OPT_TOKEN, offsetof(T, f), 1, SLED_OPT_FIELD_MAX(T, f), NULL }
#define SLED_OPT_DUP_AT(key, T, f, min, check) { key, SLED_OPT_DUP, offsetof(T, f), min, 0, check }
#define SLED_OPT_CALL(key, check) { key, SLED_OPT_CALL, 0, 0, 0, check }

struct sled_tls_opts;

/*
 * Apply opts to state through the n options of table; with tls non-NULL (a "+tls" kind)
 * the TLS options (net_tls.h) go there first.  0, or -EINVAL / -ENOMEM with the one-line
 * reason in err (control characters in it shown as '?').
 */
int sled_net_opts_apply(const char *kind, const struct sled_opt *table, size_t n, void *state,
			struct sled_tls_opts *tls, const struct sled_netout_opts *opts, char *err,
			size_t errlen);

/* A flag's value: 1, true or "" (given without a value) for on, 0 or false for off;
 * false when it is none of these. */
bool sled_net_opt_flag(const char *v, bool *out);

/* Parse "N" within [min, max] for option key: 0 or -EINVAL with the reason in err. */
int sled_net_opt_u64(const char *kind, const char *key, const char *value, uint64_t min,
		     uint64_t max, uint64_t *out, char *err, size_t errlen);

#endif /* SLED_EXPORT_NET_OPTS_H */
