/* SPDX-License-Identifier: MIT */
/* ctl_frame: where a control request ends, and the limits checked before its data comes;
 * ctl's strict field readers. */
#include <msgpack.h>
#include <stdlib.h>

#include "check.h"
#include "ctl.h"
#include "ctl_frame.h"

static const struct ctl_frame_limits lim = { 4096, 64 };

static size_t pack_status(char *buf)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_request(&pk, "enable", 2);
	ctl_pack_kv_str(&pk, "pattern", "a:*");
	ctl_pack_str(&pk, "x");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_double(&pk, 1.5);
	n = sb.size;
	memcpy(buf, sb.data, n);
	msgpack_sbuffer_destroy(&sb);
	return n;
}

TEST(complete_request_is_found_at_every_split)
{
	char buf[256];
	size_t n = pack_status(buf), len = 0;

	/* Followed by the start of a next request, which is not part of it. */
	buf[n] = (char)0x81;
	for (size_t k = 0; k < n; k++)
		CHECK_EQ_INT(ctl_frame_scan(buf, k, &lim, &len, NULL), CTL_FRAME_PARTIAL);
	CHECK_EQ_INT(ctl_frame_scan(buf, n + 1, &lim, &len, NULL), CTL_FRAME_COMPLETE);
	CHECK_EQ_INT(len, n);
}

TEST(announced_string_over_the_limit_is_refused_at_its_header)
{
	/* {"cmd": str32 of 200 MB}: only the header has arrived. */
	const unsigned char req[] = { 0x81, 0xa3, 'c', 'm', 'd', 0xdb, 0x0c, 0x80, 0x00, 0x00 };
	const char *why = NULL;
	size_t len;

	CHECK_EQ_INT(ctl_frame_scan(req, sizeof(req), &lim, &len, &why), CTL_FRAME_TOO_BIG);
	CHECK_EQ_STR(why, "request too large");
}

TEST(announced_array_over_the_element_limit_is_refused_at_its_header)
{
	const unsigned char req[] = { 0x81, 0xa1, 'x', 0xdd, 0x00, 0x98, 0x96, 0x80 };
	const char *why = NULL;
	size_t len;

	CHECK_EQ_INT(ctl_frame_scan(req, sizeof(req), &lim, &len, &why), CTL_FRAME_TOO_BIG);
	CHECK_EQ_STR(why, "request has too many elements");
}

TEST(deep_nesting_and_non_maps_are_refused)
{
	unsigned char deep[32] = { 0x81, 0xa1, 'x' };
	const char *why = NULL;
	size_t len;

	for (int i = 3; i < 32; i++)
		deep[i] = 0x91; /* [[[[...]]]] */
	CHECK_EQ_INT(ctl_frame_scan(deep, sizeof(deep), &lim, &len, &why), CTL_FRAME_TOO_BIG);
	CHECK_EQ_INT(ctl_frame_scan("\x93\x01\x02\x03", 4, &lim, &len, &why), CTL_FRAME_BAD);
	CHECK_EQ_INT(ctl_frame_scan("\x81\xc1", 2, &lim, &len, &why), CTL_FRAME_BAD);
}

static int unpack(const char *data, size_t n, msgpack_unpacked *u)
{
	msgpack_unpacked_init(u);
	return msgpack_unpack_next(u, data, n, NULL) == MSGPACK_UNPACK_SUCCESS ? 0 : -1;
}

TEST(fields_of_the_wrong_type_or_too_long_are_errors)
{
	/* {"pid":"30377","pattern":"aaaa","n":-1,"b":true} */
	const char req[] = "\x84\xa3pid\xa5" "30377\xa7pattern\xa4" "aaaa\xa1n\xff\xa1" "b\xc3";
	static const char *const keys[] = { "pid", "pattern", "n", "b", NULL };
	static const char *const fewer[] = { "pid", "pattern", NULL };
	msgpack_unpacked u;
	char buf[4], err[128];
	int64_t v = 0;
	bool b;

	CHECK(unpack(req, sizeof(req) - 1, &u) == 0);
	CHECK_EQ_INT(ctl_field_i64(&u.data, "pid", 1, 100000, &v, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "\"pid\" must be an integer");
	CHECK_EQ_INT(ctl_field_str(&u.data, "pattern", buf, sizeof(buf), err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "\"pattern\" is too long (4 bytes, at most 3)");
	CHECK_EQ_INT(ctl_field_i64(&u.data, "n", 0, 10, &v, err, sizeof(err)), -1);
	CHECK_EQ_INT(ctl_field_i64(&u.data, "n", -1, 10, &v, err, sizeof(err)), 1);
	CHECK_EQ_INT(v, -1);
	CHECK_EQ_INT(ctl_field_bool(&u.data, "b", &b, err, sizeof(err)), 1);
	CHECK_EQ_INT(ctl_field_bool(&u.data, "missing", &b, err, sizeof(err)), 0);
	CHECK_EQ_INT(ctl_check_keys(&u.data, keys, err, sizeof(err)), 0);
	CHECK_EQ_INT(ctl_check_keys(&u.data, fewer, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "unknown field \"n\"");
	msgpack_unpacked_destroy(&u);
}

TEST(repeated_keys_are_errors)
{
	const char req[] = "\x82\xa3pid\x01\xa3pid\x02";
	static const char *const keys[] = { "pid", NULL };
	msgpack_unpacked u;
	char err[128];

	CHECK(unpack(req, sizeof(req) - 1, &u) == 0);
	CHECK_EQ_INT(ctl_check_keys(&u.data, keys, err, sizeof(err)), -1);
	CHECK_EQ_STR(err, "field \"pid\" given twice");
	msgpack_unpacked_destroy(&u);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(complete_request_is_found_at_every_split),
		TEST_ENTRY(announced_string_over_the_limit_is_refused_at_its_header),
		TEST_ENTRY(announced_array_over_the_element_limit_is_refused_at_its_header),
		TEST_ENTRY(deep_nesting_and_non_maps_are_refused),
		TEST_ENTRY(fields_of_the_wrong_type_or_too_long_are_errors),
		TEST_ENTRY(repeated_keys_are_errors),
	};

	return RUN_TESTS(tests);
}
