/* SPDX-License-Identifier: MIT */
/* net_opts: every network output reads its spec's options through one table-driven
 * parser, so values and error lines are alike whatever the kind. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"
#include "net_opts.h"
#include "net_tls.h"
#include "netout.h"
#include "proto_create.h"

/* The reason ops's create gives for one option, or "(opened)". */
static const char *create_error(const struct sled_proto_ops *ops, const char *target,
				const char *opt)
{
	static char err[512];
	void *p = proto_create(ops, target, err, sizeof(err), 1, opt);

	if (p) {
		ops->destroy(p);
		return "(opened)";
	}
	return err;
}

TEST(every_output_lists_queue_and_batch_first_among_its_options)
{
	static const struct {
		const struct sled_proto_ops *ops;
		const char *target, *want;
	} cases[] = {
		{ &sled_proto_forward, "127.0.0.1",
		  "forward: unknown option 'zz' (queue, batch, tag, ack, gzip, shared_key, "
		  "hostname, username, password, timeout_ms)" },
		{ &sled_proto_forward_tls, "127.0.0.1",
		  "forward+tls: unknown option 'zz' (queue, batch, tag, ack, gzip, shared_key, "
		  "hostname, username, password, timeout_ms, " SLED_TLS_OPTS_HELP ")" },
		{ &sled_proto_syslog_udp, "127.0.0.1",
		  "syslog+udp: unknown option 'zz' (queue, batch, facility, severity, app, "
		  "hostname, timeout_ms)" },
		{ &sled_proto_otlp, "127.0.0.1",
		  "otlp: unknown option 'zz' (queue, batch, json, gzip, service, hostname, path, "
		  "header, timeout_ms)" },
		{ &sled_proto_msgpack_tcp, "127.0.0.1:9",
		  "msgpack+tcp: unknown option 'zz' (queue, batch, timeout_ms)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ_STR(create_error(cases[i].ops, cases[i].target, "zz=1"), cases[i].want);
}

TEST(flags_are_1_true_or_no_value_and_0_or_false_in_every_output)
{
	static const char *const yes_no[] = { "ack", "ack=1", "ack=true", "ack=0", "ack=false" };

	for (size_t i = 0; i < sizeof(yes_no) / sizeof(yes_no[0]); i++)
		CHECK_EQ_STR(create_error(&sled_proto_forward, "127.0.0.1", yes_no[i]), "(opened)");
	CHECK_EQ_STR(create_error(&sled_proto_otlp, "127.0.0.1", "gzip=false"), "(opened)");
	CHECK_EQ_STR(create_error(&sled_proto_forward, "127.0.0.1", "gzip=2"),
		     "forward: bad gzip '2': expected 0 or 1");
	CHECK_EQ_STR(create_error(&sled_proto_otlp, "127.0.0.1", "json=yes"),
		     "otlp: bad json 'yes': expected 0 or 1");
}

TEST(errors_name_the_kind_given)
{
	CHECK_EQ_STR(create_error(&sled_proto_forward_unix, "/tmp/x.sock", "timeout_ms=0"),
		     "forward+unix: bad timeout_ms '0': expected 1..3600000");
	CHECK_EQ_STR(create_error(&sled_proto_forward_tls, "127.0.0.1", "tag={x}"),
		     "forward+tls: bad tag '{x}': placeholders are {provider} and {name}");
	CHECK_EQ_STR(create_error(&sled_proto_jsonl_unix, "/tmp/x.sock", "timeout_ms=x"),
		     "jsonl+unix: bad timeout_ms 'x': expected 1..600000");
}

TEST(a_control_character_in_a_value_keeps_the_error_on_one_line)
{
	char err[256];

	CHECK_EQ_STR(create_error(&sled_proto_otlp, "127.0.0.1", "service=a\nb"),
		     "otlp: bad service 'a?b': expected 1 to 255 printable characters");
	CHECK_EQ_STR(create_error(&sled_proto_syslog_tcp, "127.0.0.1", "app=a\rb"),
		     "syslog: bad app 'a?b': expected 1 to 48 printable ASCII characters");
	CHECK_EQ_STR(create_error(&sled_proto_forward, "127.0.0.1", "timeout_ms=1\n"),
		     "forward: bad timeout_ms '1?': expected 1..3600000");
	CHECK_EQ_STR(sled_output_open("syslog://127.0.0.1?queue=9\n", err, sizeof(err)) ? "(opened)"
										     : err,
		     "syslog: bad queue '9?': expected 1..1073741824");
	CHECK_EQ_STR(create_error(&sled_proto_forward, "127.0.0.1", "z\tz=1"),
		     "forward: unknown option 'z?z' (queue, batch, tag, ack, gzip, shared_key, "
		     "hostname, username, password, timeout_ms)");
}

/* The parser on its own, with a table of every type. */
struct conf {
	bool on;
	int n;
	char text[8], token[4];
	char *dup, *maybe;
	int checked;
};

static int count_check(void *state, const char *kind, const char *value, char *err,
		       size_t errlen)
{
	struct conf *c = state;

	(void)kind, (void)err, (void)errlen;
	c->checked += (int)strlen(value);
	return 0;
}

static const struct sled_opt table[] = {
	SLED_OPT_FLAG_AT("on", struct conf, on),
	SLED_OPT_INT_AT("n", struct conf, n, 2, 5),
	SLED_OPT_TEXT_AT("text", struct conf, text),
	SLED_OPT_TOKEN_AT("token", struct conf, token),
	SLED_OPT_DUP_AT("dup", struct conf, dup, 1, count_check),
	SLED_OPT_DUP_AT("maybe", struct conf, maybe, 0, NULL),
	SLED_OPT_CALL("call", count_check),
};

static int apply(struct conf *c, struct sled_tls_opts *tls, char *err, size_t errlen, int n,
		 const char *const *kv)
{
	struct sled_netout_opts o = { .n = 0 };

	for (int i = 0; i < n; i += 2) {
		o.opt[o.n].key = kv[i];
		o.opt[o.n].value = kv[i + 1];
		o.n++;
	}
	err[0] = '\0';
	return sled_net_opts_apply("k", table, sizeof(table) / sizeof(table[0]), c, tls, &o, err,
				   errlen);
}

TEST(the_table_stores_each_type_and_runs_checks_after)
{
	static const char *const kv[] = { "on", "", "n", "5", "text", "a b c", "token", "x_y",
					  "dup", "one", "dup", "three", "maybe", "",
					  "call", "ab" };
	struct conf c = { 0 };
	char err[256];

	CHECK_EQ_INT(apply(&c, NULL, err, sizeof(err), 16, kv), 0);
	CHECK_EQ_STR(err, "");
	CHECK(c.on);
	CHECK_EQ_INT(c.n, 5);
	CHECK_EQ_STR(c.text, "a b c");
	CHECK_EQ_STR(c.token, "x_y");
	CHECK_EQ_STR(c.dup, "three");     /* the first copy freed (ASan would say) */
	CHECK_EQ_STR(c.maybe, "");
	CHECK_EQ_INT(c.checked, 3 + 5 + 2); /* dup's check twice, call's once */
	free(c.dup);
	free(c.maybe);
}

TEST(the_table_refuses_with_one_line_naming_the_option)
{
	static const struct {
		const char *key, *value, *want;
	} cases[] = {
		{ "n", "6", "k: bad n '6': expected 2..5" },
		{ "n", "", "k: bad n '': expected 2..5" },
		{ "text", "12345678", "k: bad text '12345678': expected 1 to 7 printable characters" },
		{ "text", "", "k: bad text '': expected 1 to 7 printable characters" },
		{ "token", "a b", "k: bad token 'a b': expected 1 to 3 printable ASCII characters" },
		{ "token", "\xc3\xa9", "k: bad token '\xc3\xa9': expected 1 to 3 printable ASCII characters" },
		{ "dup", "", "k: dup needs a value" },
		{ "on", "yes", "k: bad on 'yes': expected 0 or 1" },
		{ "ca", "/x", "k: unknown option 'ca' (queue, batch, on, n, text, token, dup, maybe, call)" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kv[] = { cases[i].key, cases[i].value };
		struct conf c = { 0 };

		CHECK_EQ_INT(apply(&c, NULL, err, sizeof(err), 2, kv), -EINVAL);
		CHECK_EQ_STR(err, cases[i].want);
		free(c.dup);
	}
}

TEST(tls_options_go_to_tls_when_the_kind_takes_them)
{
	static const char *const kv[] = { "ca", "/etc/ca.pem", "insecure", "true", "n", "3" };
	struct sled_tls_opts tls = { 0 };
	struct conf c = { 0 };
	char err[256];

	CHECK_EQ_INT(apply(&c, &tls, err, sizeof(err), 6, kv), 0);
	CHECK_EQ_STR(tls.ca, "/etc/ca.pem");
	CHECK(tls.insecure);
	CHECK_EQ_INT(c.n, 3);
	CHECK_EQ_INT(apply(&c, &tls, err, sizeof(err), 2, (const char *const[]){ "zz", "" }),
		     -EINVAL);
	CHECK_EQ_STR(err, "k: unknown option 'zz' (queue, batch, on, n, text, token, dup, maybe, "
			  "call, " SLED_TLS_OPTS_HELP ")");
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(every_output_lists_queue_and_batch_first_among_its_options),
		TEST_ENTRY(flags_are_1_true_or_no_value_and_0_or_false_in_every_output),
		TEST_ENTRY(errors_name_the_kind_given),
		TEST_ENTRY(a_control_character_in_a_value_keeps_the_error_on_one_line),
		TEST_ENTRY(the_table_stores_each_type_and_runs_checks_after),
		TEST_ENTRY(the_table_refuses_with_one_line_naming_the_option),
		TEST_ENTRY(tls_options_go_to_tls_when_the_kind_takes_them),
	};

	return RUN_TESTS(tests);
}
