/* SPDX-License-Identifier: MIT */
/*
 * --filter: a table of expressions evaluated on known events (the same evaluator the
 * sled-mode dispatcher runs), and a table of bad expressions with the message and column
 * each must be rejected with.
 */
#include <errno.h>
#include <math.h>

#include <sled/tracepoint.h>

#include "check.h"
#include "filter.h"

static const struct sled_field fields[] = {
	{ "id", SLED_T_U64 },     { "delta", SLED_T_I32 }, { "name", SLED_T_STRING },
	{ "latency", SLED_T_DOUBLE }, { "ratio", SLED_T_FLOAT }, { "ok", SLED_T_BOOL },
	{ "other", SLED_T_U64 },
};
#define NF (sizeof(fields) / sizeof(fields[0]))

static uint64_t dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static uint64_t fbits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/* One event: id 42, delta -7, name "req-42", latency 12.5, ratio 0.25f, ok true, other 42 */
static void event(uint64_t *v, const char *name)
{
	v[0] = 42;
	v[1] = (uint64_t)(int64_t)-7;
	v[2] = (uint64_t)(uintptr_t)name;
	v[3] = dbits(12.5);
	v[4] = fbits(0.25f);
	v[5] = 1;
	v[6] = 42;
}

static int eval(const char *expr, const char *name)
{
	struct sled_filter_prog prog;
	char err[256];
	uint64_t v[NF];

	if (sled_filter_compile(expr, fields, NF, &prog, err, sizeof(err))) {
		fprintf(stderr, "compile failed: %s: %s\n", expr, err);
		return -1;
	}
	event(v, name);
	return sled_filter_eval(&prog, v, NF);
}

TEST(expressions_on_a_known_event)
{
	static const struct { const char *expr; int want; } t[] = {
		{ "id == 42", 1 }, { "id != 42", 0 }, { "id > 41", 1 }, { "id >= 43", 0 },
		{ "41 < id", 1 }, { "43 <= id", 0 }, { "id == 0x2a", 1 },
		{ "delta < 0", 1 }, { "delta == -7", 1 }, { "delta > -8 && delta < -6", 1 },
		{ "name == \"req-42\"", 1 }, { "name == \"req-4\"", 0 }, { "name != \"x\"", 1 },
		{ "name == \"req-*\"", 1 }, { "name == \"res-*\"", 0 }, { "name != \"req-*\"", 0 },
		{ "name == \"req-42*\"", 1 }, { "name == \"*\"", 1 },
		{ "latency > 12", 1 }, { "latency < 12.5", 0 }, { "latency <= 12.5", 1 },
		{ "latency > -1e3", 1 }, { "latency == 12.5", 1 },
		{ "ratio == 0.25", 1 }, { "ratio > 0.2", 1 }, { "ratio < -0.5", 0 },
		{ "ok", 1 }, { "!ok", 0 }, { "ok == true", 1 }, { "ok != false", 1 }, { "ok == 0", 0 },
		{ "id == other", 1 }, { "id < other", 0 },
		{ "id == 1 || id == 42", 1 }, { "id == 1 && id == 42", 0 },
		{ "!(id == 1) && (delta < 0 || name == \"x\")", 1 },
		{ "(id == 1 || id == 2) || (ok && latency > 10)", 1 },
		{ "true", 1 }, { "false", 0 }, { "!false && true", 1 },
		{ "arg0 == 42 && arg2 == \"req-42\"", 1 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = eval(t[i].expr, "req-42");

		if (r != t[i].want) {
			fprintf(stderr, "  %s -> %d, want %d\n", t[i].expr, r, t[i].want);
			check_failures++;
		}
	}
}

TEST(null_string_matches_nothing)
{
	CHECK_EQ_INT(eval("name == \"req-42\"", NULL), 0);
	CHECK_EQ_INT(eval("name == \"*\"", NULL), 0);
	CHECK_EQ_INT(eval("name != \"x\"", NULL), 1);
}

TEST(nan_and_signed_zero)
{
	struct sled_filter_prog prog;
	char err[256];
	uint64_t v[NF];

	CHECK_EQ_INT(sled_filter_compile("latency == 0", fields, NF, &prog, err, sizeof(err)), 0);
	event(v, "x");
	v[3] = dbits(-0.0);
	CHECK(sled_filter_eval(&prog, v, NF));
	v[3] = dbits(NAN);
	CHECK(!sled_filter_eval(&prog, v, NF));
	CHECK_EQ_INT(sled_filter_compile("latency != 0", fields, NF, &prog, err, sizeof(err)), 0);
	CHECK(sled_filter_eval(&prog, v, NF));
	CHECK_EQ_INT(sled_filter_compile("latency < 1e300", fields, NF, &prog, err, sizeof(err)), 0);
	CHECK(!sled_filter_eval(&prog, v, NF));
	v[3] = dbits(-INFINITY);
	CHECK(sled_filter_eval(&prog, v, NF));
}

TEST(bad_expressions_are_rejected_at_their_token)
{
	static const struct { const char *expr, *msg; } t[] = {
		{ "", "empty expression" },
		{ "idd == 1", "unknown field 'idd' (fields: id, delta, name, latency, ratio, ok, other) at column 1" },
		{ "id == \"x\"", "field 'id' is an integer, cannot compare it with a string at column 7" },
		{ "name == 5", "field 'name' is a string, cannot compare it with an integer at column 9" },
		{ "name < \"a\"", "string field 'name' takes only == and != at column 6" },
		{ "id == 1.5", "field 'id' is an integer: use an integer literal at column 7" },
		{ "id == -1", "field 'id' is unsigned: a negative literal never matches at column 7" },
		{ "ok < true", "bool field 'ok' takes only == and != at column 4" },
		{ "id == 1 &&", "expected a field or a literal at column 11" },
		{ "(id == 1", "expected ')' (opened at column 1) at column 9" },
		{ "id == 1)", "unexpected ')' at column 8" },
		{ "id = 1", "unexpected character '=' at column 4" },
		{ "id", "expected a comparison operator (== != < <= > >=) at column 3" },
		{ "1 == 2", "a comparison needs at least one field at column 1" },
		{ "name == \"abc", "unterminated string at column 9" },
		{ "name == \"a*b\"", "'*' is only allowed at the end of a string" },
		{ "id == name", "cannot compare field 'id' (an integer) with field 'name' (a string) at column 4" },
		{ "id == 99999999999999999999", "integer out of range at column 7" },
		{ "delta == 9223372036854775808", "integer out of range for signed field 'delta' at column 10" },
		{ "id == 12abc", "bad number '12abc' at column 7" },
	};
	struct sled_filter_prog prog;
	char err[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = 0;
		if (sled_filter_compile(t[i].expr, fields, NF, &prog, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, t[i].msg) || strncmp(err, "filter: ", 8)) {
			fprintf(stderr, "  '%s': got \"%s\", want \"%s\"\n", t[i].expr, err, t[i].msg);
			check_failures++;
		}
	}
}

TEST(long_expressions_are_bounded)
{
	char expr[4096] = "id == 1";
	struct sled_filter_prog prog;
	char err[256];

	for (int i = 0; i < 30; i++)
		strcat(expr, " || id == 1");
	CHECK_EQ_INT(sled_filter_compile(expr, fields, NF, &prog, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "expression too long") != NULL);
}

TEST(malformed_programs_keep_the_event)
{
	struct sled_filter_prog prog;
	uint64_t v[NF];

	memset(&prog, 0, sizeof(prog));
	event(v, "x");
	prog.ninsns = 1;
	prog.insns[0].op = SLED_FOP_AND; /* stack underflow */
	CHECK(sled_filter_eval(&prog, v, NF));
	prog.insns[0].op = SLED_FOP_CMP_IMM;
	prog.insns[0].field = 200; /* out of range */
	CHECK(sled_filter_eval(&prog, v, NF));
	prog.ninsns = 1000;
	CHECK(sled_filter_eval(&prog, v, NF));
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(expressions_on_a_known_event),
		TEST_ENTRY(null_string_matches_nothing),
		TEST_ENTRY(nan_and_signed_zero),
		TEST_ENTRY(bad_expressions_are_rejected_at_their_token),
		TEST_ENTRY(long_expressions_are_bounded),
		TEST_ENTRY(malformed_programs_keep_the_event),
	};

	return RUN_TESTS(tests);
}
