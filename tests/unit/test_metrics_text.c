/* SPDX-License-Identifier: MIT */
/* metrics_text: the Prometheus text exposition format, byte for byte. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "check.h"
#include "daemon/control/metrics_text.h"

#define SLED_TEST_KEYS 4

/* The text so far as a C string (the buffer is not NUL-terminated). */
static char *text_of(struct metrics_text *t)
{
	char *s = malloc(t->out.len + 1);

	memcpy(s, t->out.data, t->out.len);
	s[t->out.len] = 0;
	return s;
}

#define CHECK_TEXT(t, expected)                                                        \
	do {                                                                           \
		char *s_ = text_of(t);                                                 \
		CHECK_EQ_STR(s_, expected);                                            \
		free(s_);                                                              \
	} while (0)

TEST(family_has_help_then_type)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_family(&t, "sled_probe_hits_total", "counter", "Times hit.");
	CHECK_TEXT(&t, "# HELP sled_probe_hits_total Times hit.\n"
		       "# TYPE sled_probe_hits_total counter\n");
	CHECK(!t.failed);
	metrics_text_free(&t);
}

TEST(sample_without_labels_has_no_braces)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_sample_u64(&t, "sled_probes", NULL, 0, 3);
	metrics_sample_u64(&t, "big", NULL, 0, UINT64_MAX);
	metrics_sample_i64(&t, "neg", NULL, 0, -5);
	CHECK_TEXT(&t, "sled_probes 3\nbig 18446744073709551615\nneg -5\n");
	metrics_text_free(&t);
}

TEST(labels_in_order_comma_separated)
{
	struct metrics_text t;
	struct metrics_label l[] = { { "probe", "1" }, { "tracepoint", "app:tick" } };

	metrics_text_init(&t);
	metrics_sample_u64(&t, "sled_probe_hits_total", l, 2, 42);
	CHECK_TEXT(&t, "sled_probe_hits_total{probe=\"1\",tracepoint=\"app:tick\"} 42\n");
	metrics_text_free(&t);
}

TEST(label_values_escape_backslash_quote_newline)
{
	struct metrics_text t;
	struct metrics_label l = { "output", "a\\b\"c\nd" };

	metrics_text_init(&t);
	metrics_sample_u64(&t, "m", &l, 1, 0);
	CHECK_TEXT(&t, "m{output=\"a\\\\b\\\"c\\nd\"} 0\n");
	metrics_text_free(&t);
}

TEST(help_escapes_backslash_and_newline_not_quote)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_family(&t, "m", "gauge", "a \"b\"\\c\nd");
	CHECK_TEXT(&t, "# HELP m a \"b\"\\\\c\\nd\n# TYPE m gauge\n");
	metrics_text_free(&t);
}

TEST(ill_formed_utf8_becomes_replacement_character)
{
	struct metrics_text t;
	struct metrics_label l = { "tracepoint", "x\xff" "y\xc3\xa9" };

	metrics_text_init(&t);
	metrics_sample_u64(&t, "m", &l, 1, 1);
	CHECK_TEXT(&t, "m{tracepoint=\"x\xef\xbf\xbdy\xc3\xa9\"} 1\n");
	metrics_text_free(&t);
}

TEST(null_and_empty_label_values)
{
	struct metrics_text t;
	struct metrics_label l[] = { { "a", NULL }, { "b", "" } };

	metrics_text_init(&t);
	metrics_sample_u64(&t, "m", l, 2, 7);
	CHECK_TEXT(&t, "m{a=\"\",b=\"\"} 7\n");
	metrics_text_free(&t);
}

TEST(doubles_shortest_and_special_values)
{
	struct metrics_text t;
	struct metrics_label le = { "le", "+Inf" };
	char buf[40];

	metrics_text_init(&t);
	metrics_sample_double(&t, "a", NULL, 0, 0.1);
	metrics_sample_double(&t, "b", NULL, 0, 2);
	metrics_sample_double(&t, "c", NULL, 0, INFINITY);
	metrics_sample_double(&t, "d", NULL, 0, -INFINITY);
	metrics_sample_double(&t, "e", NULL, 0, NAN);
	metrics_sample_double(&t, "f_bucket", &le, 1, 1e300);
	CHECK_TEXT(&t, "a 0.1\nb 2\nc +Inf\nd -Inf\ne NaN\nf_bucket{le=\"+Inf\"} 1e+300\n");
	CHECK_EQ_STR(metrics_format_double(buf, sizeof(buf), 1.0 / 3), "0.3333333333333333");
	CHECK(strtod(buf, NULL) == 1.0 / 3);
	metrics_text_free(&t);
}

TEST(families_follow_each_other)
{
	struct metrics_text t;
	struct metrics_label o = { "output", "jsonl:/tmp/x" };

	metrics_text_init(&t);
	metrics_family(&t, "sled_output_sent_total", "counter", "Sent.");
	metrics_sample_u64(&t, "sled_output_sent_total", &o, 1, 10);
	metrics_family(&t, "sled_output_dropped_total", "counter", "Dropped.");
	metrics_sample_u64(&t, "sled_output_dropped_total", &o, 1, 0);
	CHECK_TEXT(&t, "# HELP sled_output_sent_total Sent.\n"
		       "# TYPE sled_output_sent_total counter\n"
		       "sled_output_sent_total{output=\"jsonl:/tmp/x\"} 10\n"
		       "# HELP sled_output_dropped_total Dropped.\n"
		       "# TYPE sled_output_dropped_total counter\n"
		       "sled_output_dropped_total{output=\"jsonl:/tmp/x\"} 0\n");
	metrics_text_free(&t);
}

TEST(label_names_from_field_names)
{
	char b[64];

	CHECK_EQ_STR(metrics_label_name(b, sizeof(b), "thread_index"), "thread_index");
	CHECK_EQ_STR(metrics_label_name(b, sizeof(b), "req->len"), "req__len");
	CHECK_EQ_STR(metrics_label_name(b, sizeof(b), "0arg"), "x0arg");
	CHECK_EQ_STR(metrics_label_name(b, sizeof(b), "__name__"), "x__name__");
	CHECK_EQ_STR(metrics_label_name(b, sizeof(b), "*p"), "_p");
	CHECK_EQ_STR(metrics_label_name(b, sizeof(b), "->"), "x__");
	CHECK_EQ_STR(metrics_label_name(b, sizeof(b), ""), "x");
	CHECK_EQ_STR(metrics_label_name(b, 4, "abcdef"), "abc");
}

TEST(key_labels_never_take_a_reserved_or_repeated_name)
{
	char out[SLED_TEST_KEYS][METRICS_KEY_LABEL_MAX];
	const char *plain[] = { "name", "key" };
	const char *reserved[] = { "probe", "le", "stat", "expr" };
	const char *clash[] = { "a.b", "a_b", "key_a_b", "instance" };
	const char *prefixed[] = { "job", "key_job", "0", "__x" };

	metrics_key_labels(out, plain, 2);
	CHECK_EQ_STR(out[0], "name");
	CHECK_EQ_STR(out[1], "key");
	metrics_key_labels(out, reserved, 4);
	CHECK_EQ_STR(out[0], "key_probe");
	CHECK_EQ_STR(out[1], "key_le");
	CHECK_EQ_STR(out[2], "key_stat");
	CHECK_EQ_STR(out[3], "key_expr");
	/* Two fields that sanitise alike, and one named like the prefixed form. */
	metrics_key_labels(out, clash, 4);
	CHECK_EQ_STR(out[0], "a_b");
	CHECK_EQ_STR(out[1], "key_a_b");
	CHECK_EQ_STR(out[2], "key_key_a_b");
	CHECK_EQ_STR(out[3], "key_instance");
	metrics_key_labels(out, prefixed, 4);
	CHECK_EQ_STR(out[0], "key_job");
	CHECK_EQ_STR(out[1], "key_key_job");
	CHECK_EQ_STR(out[2], "x0");
	CHECK_EQ_STR(out[3], "x__x");
}

TEST(large_output_grows)
{
	struct metrics_text t;
	struct metrics_label l = { "probe", "12345" };

	metrics_text_init(&t);
	for (int i = 0; i < 10000; i++)
		metrics_sample_u64(&t, "sled_probe_hits_total", &l, 1, (uint64_t)i);
	CHECK(!t.failed);
	CHECK(t.out.len > 10000 * 30);
	metrics_text_free(&t);
	CHECK(t.out.data == NULL && t.out.len == 0);
}

/* Families of 100 samples each until the cap cuts one: everything kept is whole lines. */
static void fill_past(struct metrics_text *t, unsigned families)
{
	char name[32];
	struct metrics_label l = { "probe", "12345" };

	for (unsigned f = 0; f < families; f++) {
		snprintf(name, sizeof(name), "sled_fam%u_total", f);
		metrics_family(t, name, "counter", "A family.");
		for (unsigned i = 0; i < 100; i++)
			metrics_sample_u64(t, name, &l, 1, i);
	}
}

TEST(cap_cuts_whole_lines_and_says_so)
{
	struct metrics_text t;
	char *s, *marker, *last;

	metrics_text_init(&t);
	metrics_text_cap(&t, 8192);
	fill_past(&t, 100);
	CHECK(t.truncated && !t.failed);
	metrics_text_finish(&t);
	CHECK(t.out.len <= 8192);
	s = text_of(&t);
	/* The line before the marker is a whole sample line of the family it was cut in. */
	marker = strstr(s, "\n# HELP sled_metrics_truncated");
	CHECK(marker != NULL);
	*marker = 0;
	last = strrchr(s, '\n');
	CHECK(last && !strncmp(last + 1, "sled_fam", 8) && strstr(last + 1, "\"} "));
	*marker = '\n';
	CHECK(!strcmp(s + strlen(s) - 26, "\nsled_metrics_truncated 1\n"));
	free(s);
	metrics_text_free(&t);
}

TEST(cap_never_leaves_a_family_without_samples)
{
	struct metrics_text t;
	struct metrics_label l = { "probe", "1" };
	char *s, *last_help;

	metrics_text_init(&t);
	metrics_text_cap(&t, 4096);
	/* One family filling nearly all the room, then one whose first sample cannot fit. */
	metrics_family(&t, "big", "gauge", "Big.");
	while (t.out.len < t.cap - 60)
		metrics_sample_u64(&t, "big", &l, 1, 1);
	metrics_family(&t, "next_family_with_a_long_name", "gauge", "Next.");
	metrics_sample_u64(&t, "next_family_with_a_long_name", &l, 1, 1);
	CHECK(t.truncated);
	metrics_text_finish(&t);
	s = text_of(&t);
	CHECK(!strstr(s, "next_family"));
	last_help = strstr(s, "# HELP sled_metrics_truncated");
	CHECK(last_help && last_help > s && last_help[-1] == '\n');
	free(s);
	metrics_text_free(&t);
}

TEST(under_the_cap_nothing_is_cut)
{
	struct metrics_text t;

	metrics_text_init(&t);
	metrics_text_cap(&t, 1 << 20);
	fill_past(&t, 3);
	metrics_text_finish(&t);
	CHECK(!t.truncated);
	CHECK(t.out.len > 3 * 100 * 20);
	CHECK(memmem(t.out.data, t.out.len, "\nsled_metrics_truncated 0\n", 26) != NULL);
	metrics_text_free(&t);
}

TEST(cap_cuts_a_group_whole)
{
	struct metrics_text t;
	struct metrics_label l = { "probe", "1" };
	size_t before_group;
	char *s;

	metrics_text_init(&t);
	metrics_text_cap(&t, 4096);
	metrics_family(&t, "h", "histogram", "H.");
	while (t.out.len < t.cap - 100)
		metrics_sample_u64(&t, "h_bucket", &l, 1, 1);
	before_group = t.out.len;
	/* One key's histogram: the first lines fit, the later ones do not. */
	metrics_group_begin(&t);
	for (int i = 0; i < 10; i++)
		metrics_sample_u64(&t, "h_bucket", &l, 1, 2);
	metrics_sample_u64(&t, "h_count", &l, 1, 2);
	metrics_group_end(&t);
	CHECK(t.truncated);
	CHECK(t.out.len == before_group);
	metrics_text_finish(&t);
	s = text_of(&t);
	CHECK(!strstr(s, "} 2\n") && !strstr(s, "h_count"));
	free(s);
	metrics_text_free(&t);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(family_has_help_then_type),
		TEST_ENTRY(sample_without_labels_has_no_braces),
		TEST_ENTRY(labels_in_order_comma_separated),
		TEST_ENTRY(label_values_escape_backslash_quote_newline),
		TEST_ENTRY(help_escapes_backslash_and_newline_not_quote),
		TEST_ENTRY(ill_formed_utf8_becomes_replacement_character),
		TEST_ENTRY(null_and_empty_label_values),
		TEST_ENTRY(doubles_shortest_and_special_values),
		TEST_ENTRY(families_follow_each_other),
		TEST_ENTRY(label_names_from_field_names),
		TEST_ENTRY(key_labels_never_take_a_reserved_or_repeated_name),
		TEST_ENTRY(large_output_grows),
		TEST_ENTRY(cap_cuts_whole_lines_and_says_so),
		TEST_ENTRY(cap_never_leaves_a_family_without_samples),
		TEST_ENTRY(under_the_cap_nothing_is_cut),
		TEST_ENTRY(cap_cuts_a_group_whole),
	};

	return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
