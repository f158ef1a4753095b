/* SPDX-License-Identifier: MIT */
/* --aggregate EXPR: a small hand-written scanner and parser (see agg_expr.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sled/tracepoint.h>

#include "agg/agg_expr.h"

static const char *const func_names[] = { "count", "sum", "min", "max", "avg", "stats", "hist",
					  "lhist" };

const char *sled_agg_func_name(enum sled_agg_func f)
{
	return (unsigned)f < sizeof(func_names) / sizeof(func_names[0]) ? func_names[f] : "?";
}

struct scan {
	const char *text, *p;
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct scan *sc, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct scan *sc, int col, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (sc->failed)
		return;
	sc->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++) /* echoed input must not break the one-line error */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	snprintf(sc->err, sc->errlen, "aggregate: %s at column %d", msg, col);
}

static int col_of(const struct scan *sc)
{
	return (int)(sc->p - sc->text) + 1;
}

static void skip_space(struct scan *sc)
{
	while (*sc->p == ' ' || *sc->p == '\t')
		sc->p++;
}

/* An identifier into buf; false (and an error) if there is none. */
static bool ident(struct scan *sc, char *buf, size_t len, const char *what)
{
	size_t n = 0;

	skip_space(sc);
	if (!isalpha((unsigned char)*sc->p) && *sc->p != '_') {
		fail(sc, col_of(sc), "expected %s", what);
		return false;
	}
	while (isalnum((unsigned char)sc->p[n]) || sc->p[n] == '_')
		n++;
	if (n >= len) {
		fail(sc, col_of(sc), "name too long (at most %zu bytes)", len - 1);
		return false;
	}
	memcpy(buf, sc->p, n);
	buf[n] = 0;
	sc->p += n;
	return true;
}

static bool expect(struct scan *sc, char c)
{
	skip_space(sc);
	if (*sc->p != c) {
		if (*sc->p)
			fail(sc, col_of(sc), "expected '%c', found '%c'", c, *sc->p);
		else
			fail(sc, col_of(sc), "expected '%c' at the end", c);
		return false;
	}
	sc->p++;
	return true;
}

static bool integer(struct scan *sc, int64_t *v, const char *what)
{
	char *end;

	skip_space(sc);
	errno = 0;
	*v = strtoll(sc->p, &end, 0);
	if (end == sc->p || errno) {
		fail(sc, col_of(sc), "expected %s (an integer)", what);
		return false;
	}
	sc->p = end;
	return true;
}

int sled_agg_parse(const char *text, struct sled_agg_spec *out, char *err, size_t errlen)
{
	struct scan sc = { .text = text, .p = text, .err = err, .errlen = errlen };
	char name[16];
	unsigned f;
	int col;
	size_t o;

	memset(out, 0, sizeof(*out));
	skip_space(&sc);
	col = col_of(&sc);
	if (!ident(&sc, name, sizeof(name), "a function (count, sum, min, max, avg, stats, hist, lhist)"))
		return -EINVAL;
	for (f = 0; f < sizeof(func_names) / sizeof(func_names[0]); f++)
		if (!strcmp(name, func_names[f]))
			break;
	if (f == sizeof(func_names) / sizeof(func_names[0])) {
		fail(&sc, col, "unknown function '%s' (count, sum, min, max, avg, stats, hist, lhist)",
		     name);
		return -EINVAL;
	}
	out->func = (enum sled_agg_func)f;
	if (!expect(&sc, '('))
		return -EINVAL;
	if (out->func != SLED_AGG_COUNT) {
		skip_space(&sc);
		out->value_col = col_of(&sc);
		if (!ident(&sc, out->value, sizeof(out->value), "a field name"))
			return -EINVAL;
	}
	if (out->func == SLED_AGG_LHIST) {
		int scol;

		if (!expect(&sc, ',') || !integer(&sc, &out->lmin, "MIN") || !expect(&sc, ',') ||
		    !integer(&sc, &out->lmax, "MAX") || !expect(&sc, ','))
			return -EINVAL;
		skip_space(&sc);
		scol = col_of(&sc);
		if (!integer(&sc, &out->lstep, "STEP"))
			return -EINVAL;
		if (out->lmax <= out->lmin) {
			fail(&sc, out->value_col, "lhist: MAX must be greater than MIN");
			return -EINVAL;
		}
		if (out->lstep <= 0) {
			fail(&sc, scol, "lhist: STEP must be positive");
			return -EINVAL;
		}
		/* Overflow-free: (MAX - MIN) may not fit an int64. */
		if ((uint64_t)out->lmax - (uint64_t)out->lmin >
		    (uint64_t)out->lstep * (SLED_AGG_LHIST_MAX_BUCKETS - 2)) {
			fail(&sc, scol, "lhist: at most %d steps between MIN and MAX",
			     SLED_AGG_LHIST_MAX_BUCKETS - 2);
			return -EINVAL;
		}
	}
	if (!expect(&sc, ')'))
		return -EINVAL;
	skip_space(&sc);
	if (*sc.p) {
		col = col_of(&sc);
		if (!ident(&sc, name, sizeof(name), "'by' or the end") || strcmp(name, "by")) {
			fail(&sc, col, "expected 'by' or the end");
			return -EINVAL;
		}
		if (!expect(&sc, '('))
			return -EINVAL;
		do {
			if (out->nkeys == SLED_AGG_MAX_KEYS) {
				skip_space(&sc);
				fail(&sc, col_of(&sc), "at most %d key fields", SLED_AGG_MAX_KEYS);
				return -EINVAL;
			}
			skip_space(&sc);
			out->key_col[out->nkeys] = col_of(&sc);
			if (!ident(&sc, out->keys[out->nkeys], sizeof(out->keys[0]), "a key field name"))
				return -EINVAL;
			out->nkeys++;
			skip_space(&sc);
		} while (*sc.p == ',' && sc.p++);
		if (!expect(&sc, ')'))
			return -EINVAL;
		skip_space(&sc);
		if (*sc.p) {
			fail(&sc, col_of(&sc), "unexpected '%c' after the key fields", *sc.p);
			return -EINVAL;
		}
	}
	/* The normalised text, as show and metrics name the aggregation. */
	o = (size_t)snprintf(out->text, sizeof(out->text), "%s(%s", func_names[f], out->value);
	if (out->func == SLED_AGG_LHIST)
		o += (size_t)snprintf(out->text + o, sizeof(out->text) - o, ", %lld, %lld, %lld",
				      (long long)out->lmin, (long long)out->lmax, (long long)out->lstep);
	o += (size_t)snprintf(out->text + o, sizeof(out->text) - o, ")");
	for (unsigned k = 0; k < out->nkeys && o < sizeof(out->text); k++)
		o += (size_t)snprintf(out->text + o, sizeof(out->text) - o, "%s%s", k ? ", " : " by (",
				      out->keys[k]);
	if (out->nkeys && o < sizeof(out->text))
		snprintf(out->text + o, sizeof(out->text) - o, ")");
	return 0;
}

unsigned sled_agg_nbuckets(const struct sled_agg_spec *spec)
{
	if (spec->func == SLED_AGG_HIST)
		return SLED_AGG_HIST_BUCKETS;
	if (spec->func == SLED_AGG_LHIST)
		return (unsigned)(2 + ((uint64_t)spec->lmax - (uint64_t)spec->lmin +
				       (uint64_t)spec->lstep - 1) / (uint64_t)spec->lstep);
	return 0;
}

static int find_field(const struct sled_field *fields, unsigned nfields, const char *name)
{
	for (unsigned i = 0; i < nfields; i++)
		if (!strcmp(fields[i].name, name))
			return (int)i;
	if (!strncmp(name, "arg", 3) && isdigit((unsigned char)name[3])) {
		char *end;
		long v = strtol(name + 3, &end, 10);

		if (!*end && v >= 0 && v < (long)nfields)
			return (int)v;
	}
	return -1;
}

static void field_list(const struct sled_field *fields, unsigned nfields, char *buf, size_t len)
{
	size_t o = 0;

	snprintf(buf, len, "none");
	for (unsigned i = 0; i < nfields && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", fields[i].name);
}

static const char *type_word(uint8_t t)
{
	switch (t) {
	case SLED_T_FLOAT: return "a float";
	case SLED_T_DOUBLE: return "a double";
	case SLED_T_STRING: return "a string";
	case SLED_T_POINTER: return "a pointer";
	default: return "of an unsupported type";
	}
}

static bool is_integer(uint8_t t)
{
	return (t >= SLED_T_I8 && t <= SLED_T_BOOL) || t == SLED_T_POINTER;
}

static bool is_signed(uint8_t t)
{
	return t >= SLED_T_I8 && t <= SLED_T_I64;
}

int sled_agg_compile(const struct sled_agg_spec *spec, const struct sled_field *fields,
		     unsigned nfields, struct sled_shm_agg *out, char *err, size_t errlen)
{
	struct scan sc = { .err = err, .errlen = errlen };
	char list[200];
	unsigned len = 0;
	int i;

	memset(out, 0, sizeof(*out));
	out->value_arg = SLED_AGG_NO_VALUE;
	if (spec->func != SLED_AGG_COUNT) {
		i = find_field(fields, nfields, spec->value);
		if (i < 0) {
			field_list(fields, nfields, list, sizeof(list));
			fail(&sc, spec->value_col, "unknown field '%s' (fields: %s)", spec->value, list);
			return -EINVAL;
		}
		if (!is_integer(fields[i].type) || fields[i].type == SLED_T_POINTER) {
			fail(&sc, spec->value_col, "field '%s' is %s: %s() takes an integer or bool field",
			     fields[i].name, type_word(fields[i].type), sled_agg_func_name(spec->func));
			return -EINVAL;
		}
		out->value_arg = (uint8_t)i;
		out->value_signed = is_signed(fields[i].type);
	}
	for (unsigned k = 0; k < spec->nkeys; k++) {
		i = find_field(fields, nfields, spec->keys[k]);
		if (i < 0) {
			field_list(fields, nfields, list, sizeof(list));
			fail(&sc, spec->key_col[k], "unknown field '%s' (fields: %s)", spec->keys[k], list);
			return -EINVAL;
		}
		if (!is_integer(fields[i].type) && fields[i].type != SLED_T_STRING) {
			fail(&sc, spec->key_col[k], "key field '%s' is %s: keys are integers, bools or strings",
			     fields[i].name, type_word(fields[i].type));
			return -EINVAL;
		}
		out->key_arg[k] = (uint8_t)i;
		out->key_string[k] = fields[i].type == SLED_T_STRING;
		len += out->key_string[k] ? SLED_AGG_STR_KEY : 8;
		if (len > SLED_AGG_KEY_BYTES) {
			fail(&sc, spec->key_col[k], "keys too wide: %u bytes, at most %d (an integer takes 8, "
			     "a string %d)", len, SLED_AGG_KEY_BYTES, SLED_AGG_STR_KEY);
			return -EINVAL;
		}
	}
	out->nkeys = (uint8_t)spec->nkeys;
	out->flags = SLED_AGG_F_INT_KEYS;
	for (unsigned k = 0; k < spec->nkeys; k++)
		if (out->key_string[k])
			out->flags = 0;
	out->key_len = (uint16_t)len;
	out->bucketing = spec->func == SLED_AGG_HIST ? SLED_AGG_B_HIST :
			 spec->func == SLED_AGG_LHIST ? SLED_AGG_B_LHIST : SLED_AGG_B_NONE;
	out->nbuckets = sled_agg_nbuckets(spec);
	out->lmin = spec->lmin;
	out->lmax = spec->lmax;
	out->lstep = spec->lstep;
	return 0;
}
