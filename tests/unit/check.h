/* SPDX-License-Identifier: MIT */
/* Minimal test harness: TEST(name) functions registered in a table, CHECK macros that
 * report file:line and keep going, a main() that prints "N passed, N failed". */
#ifndef SLED_TEST_CHECK_H
#define SLED_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                              \
		}                                                                      \
	} while (0)
#define CHECK_EQ_INT(a, b)                                                             \
	do {                                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);                    \
		if (a_ != b_) {                                                        \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, a_, #b, b_);                             \
			check_failures++;                                              \
		}                                                                      \
	} while (0)
#define CHECK_EQ_STR(a, b)                                                             \
	do {                                                                           \
		const char *a_ = (a), *b_ = (b);                                       \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                               \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			check_failures++;                                              \
		}                                                                      \
	} while (0)

/* CHECK, and leave the test when it failed (cond is evaluated twice: no side effects). */
#define REQUIRE(cond)              \
	do {                       \
		CHECK(cond);       \
		if (!(cond))       \
			return;    \
	} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name) { #name, test_##name }

/* Runs every test of the table; one line per test, then the summary line ctest logs. */
static inline int run_tests(const struct test_case *tests, size_t n)
{
	size_t passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		int before = check_failures;
		tests[i].fn();
		if (check_failures == before) {
			passed++;
			printf("ok   %s\n", tests[i].name);
		} else {
			failed++;
			printf("FAIL %s\n", tests[i].name);
		}
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}
#define RUN_TESTS(table) run_tests(table, sizeof(table) / sizeof(table[0]))

#endif
