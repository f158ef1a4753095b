/* SPDX-License-Identifier: MIT */
/*
 * --aggregate: expressions that compile (their normalised text and descriptor), and bad
 * ones with the message and column each must be rejected with.
 */
#include <errno.h>

#include <sled/tracepoint.h>

#include "agg/agg_expr.h"
#include "check.h"

static const struct sled_field fields[] = {
	{ "id", SLED_T_U64 }, { "delta", SLED_T_I32 }, { "name", SLED_T_STRING },
	{ "latency", SLED_T_DOUBLE }, { "ok", SLED_T_BOOL }, { "path", SLED_T_STRING },
};
#define NF (sizeof(fields) / sizeof(fields[0]))

static int compile(const char *text, struct sled_agg_spec *spec, struct sled_shm_agg *out,
		   char *err, size_t len)
{
	int rc = sled_agg_parse(text, spec, err, len);

	return rc ? rc : sled_agg_compile(spec, fields, NF, out, err, len);
}

TEST(good_expressions_compile)
{
	struct sled_agg_spec s;
	struct sled_shm_agg a;
	char err[300] = "";

	CHECK_EQ_INT(compile("count()", &s, &a, err, sizeof(err)), 0);
	CHECK_EQ_STR(s.text, "count()");
	CHECK_EQ_INT(a.value_arg, SLED_AGG_NO_VALUE);
	CHECK_EQ_INT(a.nkeys, 0);
	CHECK_EQ_INT(compile("  sum( delta )by(name,id)", &s, &a, err, sizeof(err)), 0);
	CHECK_EQ_STR(s.text, "sum(delta) by (name, id)");
	CHECK_EQ_INT(a.value_arg, 1);
	CHECK_EQ_INT(a.value_signed, 1);
	CHECK_EQ_INT(a.key_arg[0], 2);
	CHECK_EQ_INT(a.key_string[0], 1);
	CHECK_EQ_INT(a.key_arg[1], 0);
	CHECK_EQ_INT(a.key_len, SLED_AGG_STR_KEY + 8);
	CHECK_EQ_INT(compile("hist(arg0) by (ok)", &s, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(a.bucketing, SLED_AGG_B_HIST);
	CHECK_EQ_INT(sled_agg_nbuckets(&s), SLED_AGG_HIST_BUCKETS);
	CHECK_EQ_INT(compile("lhist(delta, -100, 100, 30)", &s, &a, err, sizeof(err)), 0);
	CHECK_EQ_STR(s.text, "lhist(delta, -100, 100, 30)");
	CHECK_EQ_INT(a.nbuckets, 2 + 7); /* below, 7 steps (the last one short), from MAX on */
	CHECK_EQ_INT(compile("stats(id) by (delta, ok, id, arg1)", &s, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(a.nkeys, 4);
}

TEST(bad_expressions_are_rejected_at_their_column)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "cnt()", "unknown function 'cnt' (count, sum, min, max, avg, stats, hist, lhist) at column 1" },
		{ "count", "expected '(' at the end at column 6" },
		{ "sum()", "expected a field name at column 5" },
		{ "sum(name)", "field 'name' is a string: sum() takes an integer or bool field at column 5" },
		{ "avg(latency)", "field 'latency' is a double: avg() takes an integer or bool field at column 5" },
		{ "max(nope)", "unknown field 'nope' (fields: id, delta, name, latency, ok, path) at column 5" },
		{ "count() by (latency)", "key field 'latency' is a double: keys are integers, bools or strings at column 13" },
		{ "count() by (name, path)", "keys too wide: 128 bytes, at most 88 (an integer takes 8, a string 64) at column 19" },
		{ "count() by (id, id, id, id, id)", "at most 4 key fields at column 29" },
		{ "count() per (id)", "expected 'by' or the end at column 9" },
		{ "count() by (id", "expected ')' at the end at column 15" },
		{ "lhist(id, 10, 0, 1)", "lhist: MAX must be greater than MIN at column 7" },
		{ "lhist(id, 0, 10, 0)", "lhist: STEP must be positive at column 18" },
		{ "lhist(id, 0, 100000, 1)", "lhist: at most 1000 steps between MIN and MAX at column 22" },
		{ "lhist(id, 0, x, 1)", "expected MAX (an integer) at column 14" },
		{ "count() by (id) x", "unexpected 'x' after the key fields at column 17" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sled_agg_spec s;
		struct sled_shm_agg a;
		char err[300] = "", want[300];

		snprintf(want, sizeof(want), "aggregate: %s", bad[i].msg);
		CHECK_EQ_INT(compile(bad[i].text, &s, &a, err, sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, want);
	}
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(good_expressions_compile),
		TEST_ENTRY(bad_expressions_are_rejected_at_their_column),
	};

	return RUN_TESTS(tests);
}
