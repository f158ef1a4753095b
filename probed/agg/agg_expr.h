/* SPDX-License-Identifier: MIT */
/*
 * agg_expr: --aggregate EXPR, parsed once at enable and compiled for each tracepoint's
 * fields into a struct sled_shm_agg (sdk/shm_layout.h) that the dispatcher runs.
 *
 *   expr  := func [ 'by' '(' FIELD { ',' FIELD } ')' ]        one to four key fields
 *   func  := 'count()' | ( 'sum' | 'min' | 'max' | 'avg' | 'stats' | 'hist' ) '(' FIELD ')'
 *          | 'lhist' '(' FIELD ',' INT ',' INT ',' INT ')'   MIN, MAX, STEP
 *
 * FIELD is a field name as `probectl list` shows it, or argN.  Values are integers or
 * bools; keys integers, bools or strings (cut at SLED_AGG_STR_KEY bytes).  Errors are one
 * line naming the column, like filters: "aggregate: unknown function 'cnt' at column 1".
 */
#ifndef SLED_AGG_EXPR_H
#define SLED_AGG_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "sled/abi/shm_layout.h"
#include "discovery/sites.h"

enum sled_agg_func {
	SLED_AGG_COUNT, SLED_AGG_SUM, SLED_AGG_MIN, SLED_AGG_MAX, SLED_AGG_AVG, SLED_AGG_STATS,
	SLED_AGG_HIST, SLED_AGG_LHIST,
};

/* An expression as parsed, before it meets a tracepoint's fields. */
struct sled_agg_spec {
	enum sled_agg_func func;
	char value[64];          /* "" for count() */
	int value_col;
	int64_t lmin, lmax, lstep;
	unsigned nkeys;
	char keys[SLED_AGG_MAX_KEYS][64];
	int key_col[SLED_AGG_MAX_KEYS];
	char text[256];          /* the expression, normalised: "count() by (a, b)" */
};

/* Parse text.  0, or -EINVAL with one line in err. */
int sled_agg_parse(const char *text, struct sled_agg_spec *out, char *err, size_t errlen);

/* Compile spec for one tracepoint's fields into out (tag left 0).  0, or -EINVAL with one
 * line naming the field and its column in err. */
int sled_agg_compile(const struct sled_agg_spec *spec, const struct sled_field *fields,
		     unsigned nfields, struct sled_shm_agg *out, char *err, size_t errlen);

/* Buckets of an aggregation: SLED_AGG_HIST_BUCKETS, lhist's count, or 0. */
unsigned sled_agg_nbuckets(const struct sled_agg_spec *spec);

const char *sled_agg_func_name(enum sled_agg_func f);

#endif /* SLED_AGG_EXPR_H */
