// SPDX-License-Identifier: MIT
/*
 * The otlp output's pieces: the protobuf encoder against golden bytes (worked out by hand
 * from the protobuf encoding rules and opentelemetry-proto's field numbers, and checked
 * once with the official generated decoder of @opentelemetry/otlp-transformer), the OTLP
 * JSON form of a record, and the HTTP/1.1 response parser.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "buf.h"
#include "http_client.h"
#include "otlp_proto.h"

#include <sled/tracepoint.h>

/* buf as lowercase hex, space-separated, into a static string. */
static const char *hex(const struct sled_buf *b)
{
	static char out[4096];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < b->len && n + 4 < sizeof(out); i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%02x", i ? " " : "",
				      (unsigned char)b->data[i]);
	return out;
}

static const char *varint_hex(uint64_t v)
{
	static struct sled_buf b;

	b.len = 0;
	CHECK_EQ_INT(sled_pb_varint(&b, v), 0);
	return hex(&b);
}

TEST(varints_are_little_endian_groups_of_seven_bits)
{
	CHECK_EQ_STR(varint_hex(0), "00");
	CHECK_EQ_STR(varint_hex(1), "01");
	CHECK_EQ_STR(varint_hex(127), "7f");
	CHECK_EQ_STR(varint_hex(128), "80 01");
	CHECK_EQ_STR(varint_hex(300), "ac 02");
	CHECK_EQ_STR(varint_hex(UINT64_MAX), "ff ff ff ff ff ff ff ff ff 01");
	/* int64 -1 as int_value: two's complement in ten bytes */
	CHECK_EQ_STR(varint_hex((uint64_t)-1), "ff ff ff ff ff ff ff ff ff 01");
}

TEST(tags_fixed64_and_doubles)
{
	struct sled_buf b = { 0 };

	CHECK_EQ_INT(sled_pb_fixed64(&b, 1, 0x0102030405060708ull), 0);
	CHECK_EQ_STR(hex(&b), "09 08 07 06 05 04 03 02 01");
	b.len = 0;
	/* observed_time_unix_nano: field 11, wire type 1 -> 0x59 */
	CHECK_EQ_INT(sled_pb_fixed64(&b, 11, 3), 0);
	CHECK_EQ_STR(hex(&b), "59 03 00 00 00 00 00 00 00");
	b.len = 0;
	CHECK_EQ_INT(sled_pb_double(&b, 4, 1.0), 0);
	CHECK_EQ_STR(hex(&b), "21 00 00 00 00 00 00 f0 3f");
	b.len = 0;
	CHECK_EQ_INT(sled_pb_uint(&b, 2, 1), 0);
	CHECK_EQ_STR(hex(&b), "10 01");
	sled_buf_free(&b);
}

TEST(nested_messages_get_the_shortest_length)
{
	struct sled_buf b = { 0 };
	size_t outer, inner;
	char big[200];

	CHECK_EQ_INT(sled_pb_open(&b, 1, &outer), 0);
	CHECK_EQ_INT(sled_pb_close(&b, outer), 0);
	CHECK_EQ_STR(hex(&b), "0a 00");
	b.len = 0;
	/* 200 bytes inside: the length takes two bytes, the content moves by one */
	memset(big, 'z', sizeof(big));
	CHECK_EQ_INT(sled_pb_open(&b, 1, &outer), 0);
	CHECK_EQ_INT(sled_pb_open(&b, 2, &inner), 0);
	CHECK_EQ_INT(sled_pb_bytes(&b, 1, big, 195), 0);
	CHECK_EQ_INT(sled_pb_close(&b, inner), 0);
	CHECK_EQ_INT(sled_pb_close(&b, outer), 0);
	CHECK_EQ_INT(b.len, 3 + 3 + 3 + 195);
	CHECK(!memcmp(b.data, "\x0a\xc9\x01\x12\xc6\x01\x0a\xc3\x01", 9));
	CHECK(b.data[b.len - 1] == 'z' && b.data[9] == 'z');
	sled_buf_free(&b);
}

TEST(strings_are_made_valid_utf8)
{
	struct sled_buf b = { 0 };

	CHECK_EQ_INT(sled_pb_string(&b, 1, "a\xff" "b", 3), 0);
	CHECK_EQ_STR(hex(&b), "0a 05 61 ef bf bd 62");
	b.len = 0;
	CHECK_EQ_INT(sled_pb_string(&b, 1, "caf\xc3\xa9", 5), 0);
	CHECK_EQ_STR(hex(&b), "0a 05 63 61 66 c3 a9");
	sled_buf_free(&b);
}

static void small_event(struct sled_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->provider = "p";
	ev->name = "n";
	ev->ts_ns = 1;
	ev->pid = 7;
	ev->tid = 2;
	ev->nfields = 1;
	ev->fields[0].name = "x";
	ev->fields[0].type = SLED_T_I32;
	ev->fields[0].v.i = -1;
}

/* LogRecord of small_event, field by field. */
static const char small_record_hex[] =
	"09 01 00 00 00 00 00 00 00 "            /* time_unix_nano 1 */
	"2a 05 0a 03 70 3a 6e "                  /* body {string_value "p:n"} */
	"32 10 0a 01 78 12 0b 18 ff ff ff ff ff ff ff ff ff 01 " /* x = int -1 */
	"32 14 0a 0d 73 6c 65 64 2e 70 72 6f 76 69 64 65 72 12 03 0a 01 70 " /* sled.provider */
	"32 10 0a 09 73 6c 65 64 2e 6e 61 6d 65 12 03 0a 01 6e " /* sled.name */
	"32 0f 0a 09 74 68 72 65 61 64 2e 69 64 12 02 18 02 " /* thread.id 2 */
	"59 03 00 00 00 00 00 00 00";             /* observed_time_unix_nano 3 */

TEST(log_record_golden_bytes)
{
	struct sled_buf b = { 0 };
	struct sled_event ev;

	small_event(&ev);
	CHECK_EQ_INT(sled_otlp_log_record(&b, &ev, 3), 0);
	CHECK_EQ_STR(hex(&b), small_record_hex);
	sled_buf_free(&b);
}

TEST(typed_values_null_and_truncated_strings)
{
	struct sled_buf b = { 0 };
	struct sled_event ev;

	small_event(&ev);
	ev.nfields = 4;
	ev.fields[0] = (struct sled_event_field){ .name = "u", .type = SLED_T_U64,
						  .v.u = UINT64_MAX };
	ev.fields[1] = (struct sled_event_field){ .name = "b", .type = SLED_T_BOOL, .v.b = true };
	ev.fields[2] = (struct sled_event_field){ .name = "s", .type = SLED_T_STRING };
	ev.fields[3] = (struct sled_event_field){ .name = "t", .type = SLED_T_STRING };
	ev.fields[3].v.str.ptr = "ab\xe2\x82";
	ev.fields[3].v.str.len = 4;
	ev.fields[3].v.str.truncated = true;
	CHECK_EQ_INT(sled_otlp_log_record(&b, &ev, 3), 0);
	/* u above INT64_MAX: its decimal string */
	CHECK(memmem(b.data, b.len, "\x32\x1b\x0a\x01u\x12\x16\x0a\x14" "18446744073709551615",
		     29) != NULL);
	/* bool_value true */
	CHECK(memmem(b.data, b.len, "\x32\x07\x0a\x01" "b\x12\x02\x10\x01", 9) != NULL);
	/* a NULL char *: an empty AnyValue */
	CHECK(memmem(b.data, b.len, "\x32\x05\x0a\x01s\x12\x00", 7) != NULL);
	/* the cut character is dropped */
	CHECK(memmem(b.data, b.len, "\x0a\x01t\x12\x04\x0a\x02" "ab", 8) != NULL);
	/* sled.truncated = ["t"]: array_value {values [{string_value "t"}]} */
	CHECK(memmem(b.data, b.len, "sled.truncated\x12\x07\x2a\x05\x0a\x03\x0a\x01t", 22) !=
	      NULL);
	sled_buf_free(&b);
}

TEST(resource_logs_wrap_records_with_resource_and_scope)
{
	struct sled_buf b = { 0 };
	struct sled_otlp_resource r = { .service = "s", .exe_name = "", .pid = 7, .host = "h" };
	size_t marks[2];

	CHECK_EQ_INT(sled_otlp_resource_begin(&b, &r, marks), 0);
	CHECK_EQ_INT(sled_otlp_add_record(&b, "\x09\x01\x00\x00\x00\x00\x00\x00\x00", 9), 0);
	CHECK_EQ_INT(sled_otlp_resource_end(&b, marks), 0);
	CHECK_EQ_STR(hex(&b),
		     "0a 51 "                   /* resource_logs */
		     "0a 3a "                   /* resource */
		     "0a 13 0a 0c 73 65 72 76 69 63 65 2e 6e 61 6d 65 12 03 0a 01 73 "
		     "0a 11 0a 0b 70 72 6f 63 65 73 73 2e 70 69 64 12 02 18 07 "
		     "0a 10 0a 09 68 6f 73 74 2e 6e 61 6d 65 12 03 0a 01 68 "
		     "12 13 "                   /* scope_logs */
		     "0a 06 0a 04 73 6c 65 64 " /* scope {name "sled"} */
		     "12 09 09 01 00 00 00 00 00 00 00"); /* log_records */
	sled_buf_free(&b);
}

TEST(json_record_uses_otlp_json_mapping)
{
	struct sled_buf b = { 0 };
	struct sled_event ev;

	small_event(&ev);
	ev.mode = "sled";
	CHECK_EQ_INT(sled_otlp_json_log_record(&b, &ev, 3), 0);
	CHECK_EQ_INT(sled_buf_putc(&b, '\0'), 0);
	CHECK_EQ_STR(b.data,
		     "{\"timeUnixNano\":\"1\",\"body\":{\"stringValue\":\"p:n\"},\"attributes\":["
		     "{\"key\":\"x\",\"value\":{\"intValue\":\"-1\"}},"
		     "{\"key\":\"sled.provider\",\"value\":{\"stringValue\":\"p\"}},"
		     "{\"key\":\"sled.name\",\"value\":{\"stringValue\":\"n\"}},"
		     "{\"key\":\"thread.id\",\"value\":{\"intValue\":\"2\"}},"
		     "{\"key\":\"sled.mode\",\"value\":{\"stringValue\":\"sled\"}}],"
		     "\"observedTimeUnixNano\":\"3\"}");
	sled_buf_free(&b);
}

static int parse(const char *text, bool eof, struct sled_http_response *r, size_t *used)
{
	return sled_http_parse_response(text, strlen(text), eof, r, used);
}

TEST(http_response_with_content_length)
{
	struct sled_http_response r = { 0 };
	const char *t = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
			"Content-Length: 3\r\n\r\nabc";
	size_t used = 0;

	CHECK_EQ_INT(parse(t, false, &r, &used), 1);
	CHECK_EQ_INT(used, strlen(t));
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_STR(r.reason, "OK");
	CHECK_EQ_STR(r.content_type, "application/x-protobuf");
	CHECK(!r.close);
	CHECK_EQ_INT(r.body.len, 3);
	CHECK(!memcmp(r.body.data, "abc", 3));
	/* one byte short: more is needed, but the head is known */
	CHECK_EQ_INT(sled_http_parse_response(t, strlen(t) - 1, false, &r, &used), 0);
	CHECK_EQ_INT(r.status, 200);
	CHECK(r.head_len > 0);
	sled_buf_free(&r.body);
}

TEST(http_chunked_body_retry_after_and_close)
{
	struct sled_http_response r = { 0 };
	const char *t = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n"
			"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
			"4;ext=1\r\nbusy\r\n3\r\n!!!\r\n0\r\nX-Trailer: 1\r\n\r\n";
	size_t used = 0;

	CHECK_EQ_INT(parse(t, false, &r, &used), 1);
	CHECK_EQ_INT(used, strlen(t));
	CHECK_EQ_INT(r.status, 503);
	CHECK_EQ_INT(r.retry_after_s, 7);
	CHECK(r.close);
	CHECK_EQ_INT(r.body.len, 7);
	CHECK(!memcmp(r.body.data, "busy!!!", 7));
	sled_buf_free(&r.body);
}

TEST(http_interim_responses_eof_bodies_and_garbage)
{
	struct sled_http_response r = { 0 };
	size_t used = 0;

	CHECK_EQ_INT(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false,
			   &r, &used), 1);
	CHECK_EQ_INT(r.status, 204);
	CHECK_EQ_INT(r.retry_after_s, -1);
	/* no length: the body lasts until the server closes */
	CHECK_EQ_INT(parse("HTTP/1.0 400 Bad Request\r\n\r\nno", false, &r, &used), 0);
	CHECK_EQ_INT(parse("HTTP/1.0 400 Bad Request\r\n\r\nno", true, &r, &used), 1);
	CHECK(r.close);
	CHECK_EQ_INT(r.body.len, 2);
	/* a date in Retry-After is not seconds */
	CHECK_EQ_INT(parse("HTTP/1.1 429 Too Many\r\nRetry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n"
			   "Content-Length: 0\r\n\r\n", false, &r, &used), 1);
	CHECK_EQ_INT(r.retry_after_s, -1);
	CHECK_EQ_INT(parse("SSH-2.0-OpenSSH\r\n\r\n", false, &r, &used), -EPROTO);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, &r, &used),
		     -EPROTO);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
			   &r, &used), -EPROTO);
	CHECK_EQ_INT(parse("HTTP/1.1 200 OK\r\nContent-Len", false, &r, &used), 0);
	sled_buf_free(&r.body);
}

TEST(http_body_kept_is_bounded)
{
	struct sled_http_response r = { 0 };
	size_t n = SLED_HTTP_BODY_MAX + 100, used = 0;
	char head[64];
	size_t hl = (size_t)snprintf(head, sizeof(head),
				     "HTTP/1.1 400 Bad\r\nContent-Length: %zu\r\n\r\n", n);
	char *t = malloc(hl + n);

	memcpy(t, head, hl);
	memset(t + hl, 'e', n);
	CHECK_EQ_INT(sled_http_parse_response(t, hl + n, false, &r, &used), 1);
	CHECK_EQ_INT(r.body.len, SLED_HTTP_BODY_MAX);
	CHECK(r.body_cut);
	free(t);
	sled_buf_free(&r.body);
}

static const char *open_error(const char *spec)
{
	static char err[512];
	struct sled_output *o;

	err[0] = '\0';
	o = sled_output_open(spec, err, sizeof(err));
	if (o) {
		sled_output_close(o);
		return "(opened)";
	}
	return err;
}

TEST(bad_options_are_one_line_errors)
{
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?gzp=1"),
		     "otlp: unknown option 'gzp' (queue, batch, json, gzip, service, hostname, "
		     "path, header, timeout_ms)");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?header=Host:evil"),
		     "otlp: bad header 'Host:evil': expected NAME:VALUE, NAME a token other than "
		     "Host, Content-* and Transfer-Encoding");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?header=X Y:1"),
		     "otlp: bad header 'X Y:1': expected NAME:VALUE, NAME a token other than "
		     "Host, Content-* and Transfer-Encoding");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?header=X-A:1\r\nX-B: 2"),
		     "otlp: bad header 'X-A': control characters in its value");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?header=Authorization:Bearer x&header=X-A:"),
		     "(opened)");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?json=yes"), "otlp: bad json 'yes': expected 0 or 1");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?path=v1/logs"),
		     "otlp: bad path 'v1/logs': expected /PATH without spaces (default /v1/logs)");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?service="),
		     "otlp: bad service '': expected 1 to 255 printable characters");
	CHECK_EQ_STR(open_error("otlp://h:x"),
		     "otlp: bad address 'h:x': expected otlp://HOST[:PORT] (IPv6 as [ADDR]:PORT)");
	CHECK_EQ_STR(open_error("otlp+tls://127.0.0.1?ca=/nonexistent/ca.pem&gzip=1")[0] ? "error"
										 : "",
		     "error");
	CHECK_EQ_STR(open_error("otlp://127.0.0.1?json=1&gzip=1&service=web&path=/x"), "(opened)");
	CHECK_EQ_STR(open_error("otlp+tls://[::1]:4318?insecure=1"), "(opened)");
}

TEST(header_values_are_masked_in_the_spec_shown)
{
	char err[256] = "";
	struct sled_output *o =
		sled_output_open("otlp://127.0.0.1?header=Authorization:Bearer s3cret&json=1", err,
				 sizeof(err));

	CHECK(o != NULL);
	if (o) {
		CHECK_EQ_STR(sled_output_spec(o), "otlp://127.0.0.1?header=***&json=1");
		sled_output_close(o);
	}
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(varints_are_little_endian_groups_of_seven_bits),
		TEST_ENTRY(tags_fixed64_and_doubles),
		TEST_ENTRY(nested_messages_get_the_shortest_length),
		TEST_ENTRY(strings_are_made_valid_utf8),
		TEST_ENTRY(log_record_golden_bytes),
		TEST_ENTRY(typed_values_null_and_truncated_strings),
		TEST_ENTRY(resource_logs_wrap_records_with_resource_and_scope),
		TEST_ENTRY(json_record_uses_otlp_json_mapping),
		TEST_ENTRY(http_response_with_content_length),
		TEST_ENTRY(http_chunked_body_retry_after_and_close),
		TEST_ENTRY(http_interim_responses_eof_bodies_and_garbage),
		TEST_ENTRY(http_body_kept_is_bounded),
		TEST_ENTRY(bad_options_are_one_line_errors),
		TEST_ENTRY(header_values_are_masked_in_the_spec_shown),
	};

	return RUN_TESTS(tests);
}
