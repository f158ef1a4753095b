/* SPDX-License-Identifier: MIT */
/* probectl's helpers: pattern matching and the JSON writer. */
#include <errno.h>
#include <stdlib.h>

#include "cell.h"
#include "check.h"
#include "json_writer.h"
#include "pattern.h"

TEST(pattern_with_colon_matches_each_side)
{
	CHECK(sled_pattern_match("sample:request", "sample", "request"));
	CHECK(sled_pattern_match("sample:*", "sample", "request"));
	CHECK(sled_pattern_match("*:req*", "sample", "request"));
	CHECK(sled_pattern_match("s?mple:*st", "sample", "request"));
	CHECK(!sled_pattern_match("sample:req", "sample", "request"));
	CHECK(!sled_pattern_match("other:*", "sample", "request"));
	CHECK(!sled_pattern_match("sample:request", "sample", "requests"));
}

TEST(pattern_without_colon_matches_provider_or_name)
{
	CHECK(sled_pattern_match("sample", "sample", "request"));
	CHECK(sled_pattern_match("request", "sample", "request"));
	CHECK(sled_pattern_match("re*", "sample", "request"));
	CHECK(!sled_pattern_match("tick", "sample", "request"));
	CHECK(sled_pattern_match(NULL, "a", "b"));
	CHECK(sled_pattern_match("", "a", "b"));
	CHECK(sled_pattern_match("*", "a", "b"));
}

TEST(pattern_backtracking_is_linear)
{
	char name[64];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	CHECK(!sled_pattern_match("x:*a*a*a*a*a*a*a*a*a*a*b", "x", name));
}

TEST(bad_patterns_are_rejected_with_reason)
{
	char err[256];

	CHECK_EQ_INT(sled_pattern_check("sample:req*", err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_pattern_check("a:b:c", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "more than one") != NULL);
	CHECK_EQ_INT(sled_pattern_check("a b", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bad character") != NULL);
}

TEST(json_writer_nests_and_escapes)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct json_writer *w = jsonw_new(f);

	jsonw_start_array(w);
	jsonw_start_object(w);
	jsonw_string_field(w, "s", "a\"b\\c\n\x01");
	jsonw_uint_field(w, "u", 18446744073709551615ull);
	jsonw_int_field(w, "i", -5);
	jsonw_bool_field(w, "b", true);
	jsonw_name(w, "list");
	jsonw_start_array(w);
	jsonw_float(w, 1.5);
	jsonw_null(w);
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_start_object(w);
	jsonw_end_object(w);
	jsonw_end_array(w);
	jsonw_destroy(&w);
	fclose(f);
	CHECK_EQ_STR(text, "[{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"u\":18446744073709551615,\"i\":-5,"
			   "\"b\":true,\"list\":[1.5,null]},{}]\n");
	free(text);
}

TEST(cell_keeps_text_that_fits)
{
	char b[64];

	CHECK(!strcmp(cell_fit(b, sizeof(b), "seq:u64", 10, CELL_HEAD), "seq:u64"));
	CHECK(!strcmp(cell_fit(b, sizeof(b), "0123456789", 10, CELL_HEAD), "0123456789"));
	CHECK(!strcmp(cell_fit(b, sizeof(b), "", 10, CELL_TAIL), ""));
}

TEST(cell_cuts_long_text_to_the_width_with_an_ellipsis)
{
	char b[64];

	CHECK(!strcmp(cell_fit(b, sizeof(b), "a:u64 b:u64 c:u64", 10, CELL_HEAD), "a:u64 b..."));
	CHECK(!strcmp(cell_fit(b, sizeof(b), "/usr/local/bin/server", 10, CELL_TAIL),
		      ".../server"));
	CHECK(strlen(cell_fit(b, 8, "a much longer text", 40, CELL_HEAD)) == 7);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(pattern_with_colon_matches_each_side),
		TEST_ENTRY(pattern_without_colon_matches_provider_or_name),
		TEST_ENTRY(pattern_backtracking_is_linear),
		TEST_ENTRY(bad_patterns_are_rejected_with_reason),
		TEST_ENTRY(json_writer_nests_and_escapes),
		TEST_ENTRY(cell_keeps_text_that_fits),
		TEST_ENTRY(cell_cuts_long_text_to_the_width_with_an_ellipsis),
	};

	return RUN_TESTS(tests);
}
