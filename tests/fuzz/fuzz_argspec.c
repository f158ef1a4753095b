// SPDX-License-Identifier: MIT
/*
 * fuzz_argspec: any byte string given to the argspec parser either fails with -EINVAL
 * and a one-line reason, or yields arguments whose canonical text parses back to the
 * same arguments.  Anything else (a crash, a sanitizer report, a broken round trip)
 * aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool spec_equal(const struct sled_arg_spec *a, const struct sled_arg_spec *b)
{
	return a->kind == b->kind && a->size == b->size && a->is_signed == b->is_signed &&
	       a->is_float == b->is_float && a->reg == b->reg && a->shift == b->shift &&
	       a->index == b->index && a->scale == b->scale && a->imm == b->imm;
}

static void check_error(int ret, const char *err)
{
	if (ret != -EINVAL || err[0] == '\0' || strchr(err, '\n'))
		abort();
}

/* format -> parse must give back the same spec, and the canonical text is a fixed point. */
static void check_round_trip(const struct sled_arg_spec *arg)
{
	char text[128], again[128], err[128] = "";
	struct sled_arg_spec back;
	int n = sled_argspec_format(arg, text, sizeof(text));

	if (n <= 0 || (size_t)n >= sizeof(text))
		abort();
	if (sled_argspec_parse_one(text, &back, err, sizeof(err)) != 0)
		abort();
	if (!spec_equal(arg, &back))
		abort();
	sled_argspec_format(&back, again, sizeof(again));
	if (strcmp(text, again) != 0)
		abort();
}

/* Every name resolves (to a value made from its bytes), except those starting with 'x':
 * thread-local when it starts with 't'. */
static int any_symbol(void *ctx, const char *name, size_t len, bool tpoff, uint64_t *value,
		      char *err, size_t errlen)
{
	uint64_t h = 1469598103934665603ull;

	(void)ctx;
	if (len == 0 || name[0] == 'x' || tpoff != (name[0] == 't')) {
		snprintf(err, errlen, "unresolved");
		return -ENOENT;
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	*value = h;
	return 0;
}

/* With symbols: an error is -EINVAL with a reason; an unresolved argument is kept as
 * such; a resolved one has a base that says what its displacement is relative to. */
static void check_with_symbols(const char *text)
{
	static const struct sled_symbols syms = { any_symbol, NULL };
	struct sled_arg_spec args[SLED_MAX_ARGS];
	char err[160] = "";
	int n = sled_argspec_parse_syms(text, args, SLED_MAX_ARGS, &syms, err, sizeof(err));

	if (n < 0) {
		check_error(n, err);
		return;
	}
	if (n > SLED_MAX_ARGS || strchr(err, '\n'))
		abort();
	for (int i = 0; i < n; i++) {
		char buf[128];

		if (args[i].addr > SLED_ADDR_TLS)
			abort();
		if (args[i].kind == SLED_ARG_UNRESOLVED && !err[0])
			abort();
		if (args[i].addr == SLED_ADDR_ABSOLUTE && args[i].kind != SLED_ARG_UNRESOLVED)
			check_round_trip(&args[i]);
		if (sled_argspec_format(&args[i], buf, sizeof(buf)) <= 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sled_arg_spec args[SLED_MAX_ARGS], one;
	char err[160];
	char *text = malloc(size + 1);
	int n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	err[0] = '\0';
	n = sled_argspec_parse(text, args, SLED_MAX_ARGS, err, sizeof(err));
	if (n < 0)
		check_error(n, err);
	else if (n > SLED_MAX_ARGS)
		abort();
	for (int i = 0; i < n; i++)
		check_round_trip(&args[i]);

	/* The single-argument entry point on the same text, and a short errlen. */
	err[0] = '\0';
	n = sled_argspec_parse_one(text, &one, err, 9);
	if (n == 0)
		check_round_trip(&one);
	else if (n != -EINVAL || strlen(err) > 8)
		abort();

	check_with_symbols(text);
	free(text);
	return 0;
}
