// SPDX-License-Identifier: MIT
/* encode: the JSON, human and msgpack forms of an event, value by value. */
#include <float.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "output.h"

#include <sled/tracepoint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* 2023-11-14T22:13:20.123456789Z */
#define TS_SEC 1700000000ull
#define TS_NS  (TS_SEC * 1000000000ull + 123456789ull)

static struct sled_event base_event(void)
{
	struct sled_event ev = {
		.provider = "http",
		.name = "req",
		.ts_ns = TS_NS,
		.pid = 42,
		.tid = 43,
		.mode = NULL,
	};
	return ev;
}

static void add_i(struct sled_event *ev, const char *name, uint8_t type, int64_t v)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = type;
	f->v.i = v;
}

static void add_u(struct sled_event *ev, const char *name, uint8_t type, uint64_t v)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = type;
	f->v.u = v;
}

static void add_b(struct sled_event *ev, const char *name, bool v)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = SLED_T_BOOL;
	f->v.b = v;
}

static void add_d(struct sled_event *ev, const char *name, uint8_t type, double v)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = type;
	f->v.d = v;
}

static void add_s(struct sled_event *ev, const char *name, const char *s, size_t len,
		  bool truncated)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = SLED_T_STRING;
	f->v.str.ptr = s;
	f->v.str.len = (uint32_t)len;
	f->v.str.truncated = truncated;
}
#define ADD_STR(ev, name, lit, trunc) add_s(ev, name, lit, sizeof(lit) - 1, trunc)

/* Encodes with fn into a fresh buffer, returns a NUL-terminated static copy. */
static const char *enc(int (*fn)(struct sled_buf *, const struct sled_event *),
		       const struct sled_event *ev)
{
	static char text[4096];
	struct sled_buf b = { 0 };
	int ret = fn(&b, ev);

	CHECK_EQ_INT(ret, 0);
	CHECK(b.len < sizeof(text));
	memcpy(text, b.data, b.len < sizeof(text) ? b.len : 0);
	text[b.len < sizeof(text) ? b.len : 0] = '\0';
	sled_buf_free(&b);
	return text;
}
#define JSON(ev)  enc(sled_encode_json, ev)
#define HUMAN(ev) enc(sled_encode_human, ev)

/* The text between "args":{ and the closing brace of args (simple events only). */
static const char *json_args(const struct sled_event *ev)
{
	static char args[4096];
	const char *s = strstr(JSON(ev), "\"args\":{");
	const char *end;

	CHECK(s != NULL);
	if (!s)
		return "";
	s += 8;
	end = strrchr(s, '}'); /* the event's */
	end = end ? end - 1 : s;
	while (end > s && *end != '}')
		end--;
	snprintf(args, sizeof(args), "%.*s", (int)(end - s), s);
	return args;
}

/* The part of a human line after "provider:name ". */
static const char *human_fields(const struct sled_event *ev)
{
	const char *line = HUMAN(ev), *s = strstr(line, "http:req");

	CHECK(s != NULL);
	if (!s)
		return "";
	s += strlen("http:req");
	return *s == ' ' ? s + 1 : s;
}

/* ---- JSON ---- */

TEST(json_event_layout_and_key_order)
{
	struct sled_event ev = base_event();

	ev.mode = "sled";
	add_i(&ev, "status", SLED_T_I32, 200);
	CHECK_EQ_STR(JSON(&ev), "{\"provider\":\"http\",\"name\":\"req\","
				"\"ts\":1700000000123456789,\"pid\":42,\"tid\":43,"
				"\"mode\":\"sled\",\"args\":{\"status\":200}}\n");
}

TEST(json_mode_omitted_when_null)
{
	struct sled_event ev = base_event();

	CHECK_EQ_STR(JSON(&ev), "{\"provider\":\"http\",\"name\":\"req\","
				"\"ts\":1700000000123456789,\"pid\":42,\"tid\":43,"
				"\"args\":{}}\n");
}

TEST(json_signed_integers_exact_to_int64_min)
{
	struct sled_event ev = base_event();

	add_i(&ev, "a", SLED_T_I8, -128);
	add_i(&ev, "b", SLED_T_I16, -32768);
	add_i(&ev, "c", SLED_T_I32, -2147483647 - 1);
	add_i(&ev, "d", SLED_T_I64, INT64_MIN);
	add_i(&ev, "e", SLED_T_I64, INT64_MAX);
	add_i(&ev, "z", SLED_T_I32, 0);
	CHECK_EQ_STR(json_args(&ev), "\"a\":-128,\"b\":-32768,\"c\":-2147483648,"
				     "\"d\":-9223372036854775808,\"e\":9223372036854775807,"
				     "\"z\":0");
}

TEST(json_unsigned_integers_exact_to_uint64_max)
{
	struct sled_event ev = base_event();

	add_u(&ev, "a", SLED_T_U8, 255);
	add_u(&ev, "b", SLED_T_U16, 65535);
	add_u(&ev, "c", SLED_T_U32, 4294967295u);
	add_u(&ev, "d", SLED_T_U64, UINT64_MAX);
	CHECK_EQ_STR(json_args(&ev),
		     "\"a\":255,\"b\":65535,\"c\":4294967295,\"d\":18446744073709551615");
}

TEST(json_bool_and_pointer)
{
	struct sled_event ev = base_event();

	add_b(&ev, "t", true);
	add_b(&ev, "f", false);
	add_u(&ev, "p", SLED_T_POINTER, 0x7ffd1000);
	CHECK_EQ_STR(json_args(&ev), "\"t\":true,\"f\":false,\"p\":2147291136");
}

TEST(json_floats_shortest_that_read_back)
{
	struct sled_event ev = base_event();

	add_d(&ev, "d", SLED_T_DOUBLE, 0.1);
	add_d(&ev, "f", SLED_T_FLOAT, (double)0.1f);
	add_d(&ev, "one", SLED_T_DOUBLE, 1.0);
	add_d(&ev, "neg0", SLED_T_DOUBLE, -0.0);
	add_d(&ev, "big", SLED_T_DOUBLE, 1e300);
	add_d(&ev, "third", SLED_T_DOUBLE, 1.0 / 3);
	add_d(&ev, "fmax", SLED_T_FLOAT, (double)FLT_MAX);
	CHECK_EQ_STR(json_args(&ev), "\"d\":0.1,\"f\":0.1,\"one\":1.0,\"neg0\":-0.0,"
				     "\"big\":1e+300,\"third\":0.3333333333333333,"
				     "\"fmax\":3.4028235e+38");
}

TEST(json_double_extremes_read_back_exactly)
{
	double values[] = { DBL_MAX, DBL_MIN, 4.9e-324, -2.2250738585072014e-308, M_PI };

	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		struct sled_event ev = base_event();

		add_d(&ev, "v", SLED_T_DOUBLE, values[i]);
		const char *args = json_args(&ev);
		CHECK(strncmp(args, "\"v\":", 4) == 0);
		CHECK(strtod(args + 4, NULL) == values[i]);
	}
}

TEST(json_nan_and_infinities_are_null)
{
	struct sled_event ev = base_event();

	add_d(&ev, "nan", SLED_T_DOUBLE, NAN);
	add_d(&ev, "inf", SLED_T_DOUBLE, INFINITY);
	add_d(&ev, "ninf", SLED_T_FLOAT, -INFINITY);
	CHECK_EQ_STR(json_args(&ev), "\"nan\":null,\"inf\":null,\"ninf\":null");
}

TEST(json_string_escapes)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "s", "q\"b\\n\nt\tr\rbs\bff\fc\x01\x1f del\x7f", false);
	CHECK_EQ_STR(json_args(&ev),
		     "\"s\":\"q\\\"b\\\\n\\nt\\tr\\rbs\\bff\\fc\\u0001\\u001f del\x7f\"");
}

TEST(json_string_with_nul_byte_escaped)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "s", "a\0b", false);
	CHECK_EQ_STR(json_args(&ev), "\"s\":\"a\\u0000b\"");
}

TEST(json_utf8_passes_through)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "s", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", false);
	CHECK_EQ_STR(json_args(&ev), "\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(json_invalid_utf8_becomes_replacement_character)
{
	struct sled_event ev = base_event();

	/* a lone 0xff; a cut 3-byte sequence (one U+FFFD); an overlong '/'; a surrogate */
	ADD_STR(&ev, "s", "a\xff" "b\xe2\x82" "c\xc0\xaf" "d\xed\xa0\x80", false);
	CHECK_EQ_STR(json_args(&ev), "\"s\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd"
				     "c\xef\xbf\xbd\xef\xbf\xbd"
				     "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST(json_null_string_is_null)
{
	struct sled_event ev = base_event();

	add_s(&ev, "s", NULL, 0, false);
	CHECK_EQ_STR(json_args(&ev), "\"s\":null");
}

TEST(json_truncated_string_listed)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "path", "/very/long", true);
	ADD_STR(&ev, "host", "example", false);
	ADD_STR(&ev, "agent", "curl", true);
	CHECK(strstr(JSON(&ev), "\"args\":{\"path\":\"/very/long\",\"host\":\"example\","
				"\"agent\":\"curl\"},\"truncated\":[\"path\",\"agent\"]}\n") !=
	      NULL);
}

TEST(json_truncated_string_drops_cut_character)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "s", "ab\xe2\x82", true);
	CHECK_EQ_STR(json_args(&ev), "\"s\":\"ab\"");
}

TEST(json_no_truncated_key_without_truncation)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "s", "x", false);
	add_s(&ev, "n", NULL, 0, true); /* a NULL pointer is not a truncated string */
	CHECK(strstr(JSON(&ev), "truncated") == NULL);
}

TEST(json_names_escaped)
{
	struct sled_event ev = base_event();

	ev.provider = "a\"b";
	ev.name = "c\\d";
	add_i(&ev, "e\nf", SLED_T_I8, 1);
	const char *j = JSON(&ev);
	CHECK(strstr(j, "\"provider\":\"a\\\"b\",\"name\":\"c\\\\d\"") != NULL);
	CHECK(strstr(j, "{\"e\\nf\":1}") != NULL);
}

TEST(json_one_line_per_event)
{
	struct sled_event ev = base_event();
	const char *j;

	ADD_STR(&ev, "s", "l1\nl2\r\n", false);
	j = JSON(&ev);
	CHECK(strchr(j, '\n') == j + strlen(j) - 1);
}

TEST(json_unknown_type_is_null)
{
	struct sled_event ev = base_event();

	add_u(&ev, "x", SLED_T_UNSUPPORTED, 5);
	add_u(&ev, "y", 200, 5);
	CHECK_EQ_STR(json_args(&ev), "\"x\":null,\"y\":null");
}

TEST(json_appends_to_buffer)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };

	CHECK_EQ_INT(sled_encode_json(&b, &ev), 0);
	size_t one = b.len;
	CHECK_EQ_INT(sled_encode_json(&b, &ev), 0);
	CHECK_EQ_INT(b.len, 2 * one);
	CHECK(memcmp(b.data, b.data + one, one) == 0);
	sled_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
}

/* ---- human ---- */

TEST(human_line_layout_in_local_time)
{
	struct sled_event ev = base_event();

	add_i(&ev, "status", SLED_T_I32, -1);
	ADD_STR(&ev, "path", "/index", false);
	/* TZ is UTC (main); 1700000000 is 22:13:20 UTC */
	CHECK_EQ_STR(HUMAN(&ev), "22:13:20.123456789 42/43 http:req status=-1 path=\"/index\"\n");
}

TEST(human_nanoseconds_zero_padded)
{
	struct sled_event ev = base_event();

	ev.ts_ns = TS_SEC * 1000000000ull + 5;
	CHECK_EQ_STR(HUMAN(&ev), "22:13:20.000000005 42/43 http:req\n");
}

TEST(human_every_scalar_type)
{
	struct sled_event ev = base_event();

	add_i(&ev, "i8", SLED_T_I8, -8);
	add_i(&ev, "i64", SLED_T_I64, INT64_MIN);
	add_u(&ev, "u16", SLED_T_U16, 65535);
	add_u(&ev, "u64", SLED_T_U64, UINT64_MAX);
	add_b(&ev, "ok", true);
	add_d(&ev, "f", SLED_T_FLOAT, 1.5);
	add_d(&ev, "d", SLED_T_DOUBLE, 0.1);
	add_u(&ev, "p", SLED_T_POINTER, 0x7ffd1000);
	add_u(&ev, "np", SLED_T_POINTER, 0);
	CHECK_EQ_STR(human_fields(&ev), "i8=-8 i64=-9223372036854775808 u16=65535 "
					"u64=18446744073709551615 ok=true f=1.5 d=0.1 "
					"p=0x7ffd1000 np=0x0\n");
}

TEST(human_nan_and_infinities)
{
	struct sled_event ev = base_event();

	add_d(&ev, "a", SLED_T_DOUBLE, NAN);
	add_d(&ev, "b", SLED_T_DOUBLE, INFINITY);
	add_d(&ev, "c", SLED_T_FLOAT, -INFINITY);
	CHECK_EQ_STR(human_fields(&ev), "a=nan b=inf c=-inf\n");
}

TEST(human_string_escapes)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "s", "q\"b\\ n\nt\tc\x01 caf\xc3\xa9 bad\xff\xe2\x82!", false);
	CHECK_EQ_STR(human_fields(&ev),
		     "s=\"q\\\"b\\\\ n\\nt\\tc\\x01 caf\xc3\xa9 bad\\xff\\xe2\\x82!\"\n");
}

TEST(human_null_string)
{
	struct sled_event ev = base_event();

	add_s(&ev, "s", NULL, 0, false);
	CHECK_EQ_STR(human_fields(&ev), "s=NULL\n");
}

TEST(human_truncated_string_followed_by_ellipsis)
{
	struct sled_event ev = base_event();

	ADD_STR(&ev, "s", "abc\xc3", true);
	ADD_STR(&ev, "t", "x", false);
	CHECK_EQ_STR(human_fields(&ev), "s=\"abc\"... t=\"x\"\n");
}

/* ---- msgpack ---- */

struct decoded {
	msgpack_unpacked u;
	const msgpack_object_map *top;
};

static bool decode_one(const struct sled_buf *b, size_t *off, struct decoded *d)
{
	msgpack_unpacked_init(&d->u);
	int ret = msgpack_unpack_next(&d->u, b->data, b->len, off);

	CHECK(ret == MSGPACK_UNPACK_SUCCESS);
	if (ret != MSGPACK_UNPACK_SUCCESS)
		return false;
	CHECK_EQ_INT(d->u.data.type, MSGPACK_OBJECT_MAP);
	if (d->u.data.type != MSGPACK_OBJECT_MAP)
		return false;
	d->top = &d->u.data.via.map;
	return true;
}

static bool str_is(const msgpack_object *o, const char *s, size_t len)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
	       memcmp(o->via.str.ptr, s, len) == 0;
}
#define STR_IS(o, lit) str_is(o, lit, sizeof(lit) - 1)

static const msgpack_object *get(const msgpack_object_map *m, const char *key)
{
	for (uint32_t i = 0; i < m->size; i++)
		if (str_is(&m->ptr[i].key, key, strlen(key)))
			return &m->ptr[i].val;
	return NULL;
}

/* Key i of the map is key (checks the order, too). */
static const msgpack_object *key_at(const msgpack_object_map *m, uint32_t i, const char *key)
{
	CHECK(i < m->size);
	if (i >= m->size)
		return NULL;
	if (!str_is(&m->ptr[i].key, key, strlen(key))) {
		fprintf(stderr, "  key %u is not \"%s\"\n", i, key);
		check_failures++;
		return NULL;
	}
	return &m->ptr[i].val;
}

static const msgpack_object *encode_get_arg(struct sled_buf *b, struct decoded *d,
					    const struct sled_event *ev, const char *field)
{
	size_t off = 0;
	const msgpack_object *args;

	b->len = 0;
	CHECK_EQ_INT(sled_encode_msgpack(b, ev), 0);
	if (!decode_one(b, &off, d))
		return NULL;
	CHECK_EQ_INT(off, b->len);
	args = get(d->top, "args");
	CHECK(args && args->type == MSGPACK_OBJECT_MAP);
	if (!args || args->type != MSGPACK_OBJECT_MAP)
		return NULL;
	return get(&args->via.map, field);
}

TEST(msgpack_round_trip_every_key_and_value)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	size_t off = 0;
	const msgpack_object *o, *args;
	msgpack_timestamp ts = { 0, 0 };

	ev.mode = "uprobe";
	add_i(&ev, "i8", SLED_T_I8, -128);
	add_i(&ev, "i16", SLED_T_I16, 300);
	add_i(&ev, "i32", SLED_T_I32, -70000);
	add_i(&ev, "i64", SLED_T_I64, INT64_MIN);
	add_u(&ev, "u8", SLED_T_U8, 255);
	add_u(&ev, "u64", SLED_T_U64, UINT64_MAX);
	add_b(&ev, "ok", true);
	add_d(&ev, "f", SLED_T_FLOAT, (double)0.1f);
	add_d(&ev, "d", SLED_T_DOUBLE, 0.1);
	ADD_STR(&ev, "s", "caf\xc3\xa9", true);
	add_s(&ev, "ns", NULL, 0, false);
	add_u(&ev, "p", SLED_T_POINTER, 0x7ffd1000);

	CHECK_EQ_INT(sled_encode_msgpack(&b, &ev), 0);
	if (!decode_one(&b, &off, &d))
		goto out;
	CHECK_EQ_INT(off, b.len);
	CHECK_EQ_INT(d.top->size, 8);
	CHECK((o = key_at(d.top, 0, "provider")) && STR_IS(o, "http"));
	CHECK((o = key_at(d.top, 1, "name")) && STR_IS(o, "req"));
	CHECK((o = key_at(d.top, 2, "ts")) && msgpack_object_to_timestamp(o, &ts) &&
	      ts.tv_sec == (int64_t)TS_SEC && ts.tv_nsec == 123456789);
	CHECK((o = key_at(d.top, 3, "pid")) && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	      o->via.u64 == 42);
	CHECK((o = key_at(d.top, 4, "tid")) && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	      o->via.u64 == 43);
	CHECK((o = key_at(d.top, 5, "mode")) && STR_IS(o, "uprobe"));
	args = key_at(d.top, 6, "args");
	CHECK(args && args->type == MSGPACK_OBJECT_MAP && args->via.map.size == 12);
	if (args && args->type == MSGPACK_OBJECT_MAP && args->via.map.size == 12) {
		const msgpack_object_map *a = &args->via.map;

		CHECK((o = key_at(a, 0, "i8")) && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		      o->via.i64 == -128);
		CHECK((o = key_at(a, 1, "i16")) && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		      o->via.u64 == 300);
		CHECK((o = key_at(a, 2, "i32")) && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		      o->via.i64 == -70000);
		CHECK((o = key_at(a, 3, "i64")) && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		      o->via.i64 == INT64_MIN);
		CHECK((o = key_at(a, 4, "u8")) && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		      o->via.u64 == 255);
		CHECK((o = key_at(a, 5, "u64")) && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		      o->via.u64 == UINT64_MAX);
		CHECK((o = key_at(a, 6, "ok")) && o->type == MSGPACK_OBJECT_BOOLEAN &&
		      o->via.boolean == true);
		CHECK((o = key_at(a, 7, "f")) && o->type == MSGPACK_OBJECT_FLOAT32 &&
		      (float)o->via.f64 == 0.1f);
		CHECK((o = key_at(a, 8, "d")) && o->type == MSGPACK_OBJECT_FLOAT64 &&
		      o->via.f64 == 0.1);
		CHECK((o = key_at(a, 9, "s")) && STR_IS(o, "caf\xc3\xa9"));
		CHECK((o = key_at(a, 10, "ns")) && o->type == MSGPACK_OBJECT_NIL);
		CHECK((o = key_at(a, 11, "p")) && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		      o->via.u64 == 0x7ffd1000);
	}
	o = key_at(d.top, 7, "truncated");
	CHECK(o && o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 1 &&
	      STR_IS(&o->via.array.ptr[0], "s"));
	msgpack_unpacked_destroy(&d.u);
out:
	sled_buf_free(&b);
}

TEST(msgpack_mode_and_truncated_omitted_when_absent)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	size_t off = 0;

	ADD_STR(&ev, "s", "x", false);
	CHECK_EQ_INT(sled_encode_msgpack(&b, &ev), 0);
	if (decode_one(&b, &off, &d)) {
		CHECK_EQ_INT(d.top->size, 6);
		CHECK(get(d.top, "mode") == NULL);
		CHECK(get(d.top, "truncated") == NULL);
		msgpack_unpacked_destroy(&d.u);
	}
	sled_buf_free(&b);
}

/* The raw ext header of "ts": fixext 4, fixext 8, or ext 8 with 12 bytes. */
static void check_ts_form(uint64_t ts_ns, const unsigned char *hdr, size_t hdrlen,
			  int64_t sec, uint32_t nsec)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	size_t off = 0;
	const msgpack_object *o;
	msgpack_timestamp ts = { 0, 0 };

	ev.ts_ns = ts_ns;
	CHECK_EQ_INT(sled_encode_msgpack(&b, &ev), 0);
	/* map header, "provider" "http" "name" "req" "ts" = 1+9+5+5+4+3 bytes */
	CHECK(b.len > 27 + hdrlen && memcmp(b.data + 27, hdr, hdrlen) == 0);
	if (decode_one(&b, &off, &d)) {
		o = get(d.top, "ts");
		CHECK(o && msgpack_object_to_timestamp(o, &ts));
		CHECK_EQ_INT(ts.tv_sec, sec);
		CHECK_EQ_INT(ts.tv_nsec, nsec);
		msgpack_unpacked_destroy(&d.u);
	}
	sled_buf_free(&b);
}

TEST(msgpack_timestamp_32bit_form_for_whole_seconds)
{
	static const unsigned char hdr[] = { 0xd6, 0xff };

	check_ts_form(TS_SEC * 1000000000ull, hdr, sizeof(hdr), TS_SEC, 0);
}

TEST(msgpack_timestamp_64bit_form_with_nanoseconds)
{
	static const unsigned char hdr[] = { 0xd7, 0xff };

	check_ts_form(TS_NS, hdr, sizeof(hdr), TS_SEC, 123456789);
}

TEST(msgpack_timestamp_96bit_form_past_34bit_seconds)
{
	static const unsigned char hdr[] = { 0xc7, 12, 0xff };
	uint64_t sec = (1ull << 34) + 1;

	check_ts_form(sec * 1000000000ull + 7, hdr, sizeof(hdr), (int64_t)sec, 7);
}

TEST(msgpack_invalid_utf8_becomes_replacement_character)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	const msgpack_object *o;

	ADD_STR(&ev, "s", "a\xff" "b\xe2\x82" "c", false);
	o = encode_get_arg(&b, &d, &ev, "s");
	CHECK(o && STR_IS(o, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c"));
	msgpack_unpacked_destroy(&d.u);
	sled_buf_free(&b);
}

TEST(msgpack_truncated_string_drops_cut_character)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	const msgpack_object *o;

	ADD_STR(&ev, "s", "ab\xf0\x9f\x98", true);
	o = encode_get_arg(&b, &d, &ev, "s");
	CHECK(o && STR_IS(o, "ab"));
	msgpack_unpacked_destroy(&d.u);
	sled_buf_free(&b);
}

TEST(msgpack_long_string_uses_str32)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	const msgpack_object *o;
	size_t len = 70000;
	char *s = malloc(len);

	if (!s)
		return;
	memset(s, 'x', len);
	add_s(&ev, "s", s, len, false);
	o = encode_get_arg(&b, &d, &ev, "s");
	CHECK(o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
	      memcmp(o->via.str.ptr, s, len) == 0);
	msgpack_unpacked_destroy(&d.u);
	sled_buf_free(&b);
	free(s);
}

TEST(msgpack_negative_pid_and_null_names)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	size_t off = 0;
	const msgpack_object *o;

	ev.provider = NULL;
	ev.name = NULL;
	ev.pid = -1;
	add_i(&ev, NULL, SLED_T_I8, 1);
	CHECK_EQ_INT(sled_encode_msgpack(&b, &ev), 0);
	if (decode_one(&b, &off, &d)) {
		CHECK((o = get(d.top, "provider")) && STR_IS(o, ""));
		CHECK((o = get(d.top, "name")) && STR_IS(o, ""));
		CHECK((o = get(d.top, "pid")) && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		      o->via.i64 == -1);
		CHECK((o = get(d.top, "args")) && o->type == MSGPACK_OBJECT_MAP &&
		      o->via.map.size == 1 && STR_IS(&o->via.map.ptr[0].key, ""));
		msgpack_unpacked_destroy(&d.u);
	}
	sled_buf_free(&b);
}

TEST(msgpack_events_concatenate_into_a_stream)
{
	struct sled_event ev = base_event();
	struct sled_buf b = { 0 };
	struct decoded d;
	size_t off = 0;
	int n = 0;

	for (int i = 0; i < 100; i++) {
		ev.pid = i;
		CHECK_EQ_INT(sled_encode_msgpack(&b, &ev), 0);
	}
	while (off < b.len && decode_one(&b, &off, &d)) {
		const msgpack_object *o = get(d.top, "pid");

		CHECK(o && o->via.u64 == (uint64_t)n);
		n++;
		msgpack_unpacked_destroy(&d.u);
	}
	CHECK_EQ_INT(n, 100);
	sled_buf_free(&b);
}

TEST(nfields_above_maximum_is_clamped)
{
	struct sled_event ev = base_event();

	for (int i = 0; i < SLED_EVENT_MAX_FIELDS; i++)
		add_i(&ev, "x", SLED_T_I8, i);
	ev.nfields = 1000;
	CHECK(strstr(JSON(&ev), "\"x\":11}}") != NULL);
}

static const struct test_case tests[] = {
	TEST_ENTRY(json_event_layout_and_key_order),
	TEST_ENTRY(json_mode_omitted_when_null),
	TEST_ENTRY(json_signed_integers_exact_to_int64_min),
	TEST_ENTRY(json_unsigned_integers_exact_to_uint64_max),
	TEST_ENTRY(json_bool_and_pointer),
	TEST_ENTRY(json_floats_shortest_that_read_back),
	TEST_ENTRY(json_double_extremes_read_back_exactly),
	TEST_ENTRY(json_nan_and_infinities_are_null),
	TEST_ENTRY(json_string_escapes),
	TEST_ENTRY(json_string_with_nul_byte_escaped),
	TEST_ENTRY(json_utf8_passes_through),
	TEST_ENTRY(json_invalid_utf8_becomes_replacement_character),
	TEST_ENTRY(json_null_string_is_null),
	TEST_ENTRY(json_truncated_string_listed),
	TEST_ENTRY(json_truncated_string_drops_cut_character),
	TEST_ENTRY(json_no_truncated_key_without_truncation),
	TEST_ENTRY(json_names_escaped),
	TEST_ENTRY(json_one_line_per_event),
	TEST_ENTRY(json_unknown_type_is_null),
	TEST_ENTRY(json_appends_to_buffer),
	TEST_ENTRY(human_line_layout_in_local_time),
	TEST_ENTRY(human_nanoseconds_zero_padded),
	TEST_ENTRY(human_every_scalar_type),
	TEST_ENTRY(human_nan_and_infinities),
	TEST_ENTRY(human_string_escapes),
	TEST_ENTRY(human_null_string),
	TEST_ENTRY(human_truncated_string_followed_by_ellipsis),
	TEST_ENTRY(msgpack_round_trip_every_key_and_value),
	TEST_ENTRY(msgpack_mode_and_truncated_omitted_when_absent),
	TEST_ENTRY(msgpack_timestamp_32bit_form_for_whole_seconds),
	TEST_ENTRY(msgpack_timestamp_64bit_form_with_nanoseconds),
	TEST_ENTRY(msgpack_timestamp_96bit_form_past_34bit_seconds),
	TEST_ENTRY(msgpack_invalid_utf8_becomes_replacement_character),
	TEST_ENTRY(msgpack_truncated_string_drops_cut_character),
	TEST_ENTRY(msgpack_long_string_uses_str32),
	TEST_ENTRY(msgpack_negative_pid_and_null_names),
	TEST_ENTRY(msgpack_events_concatenate_into_a_stream),
	TEST_ENTRY(nfields_above_maximum_is_clamped),
};

int main(void)
{
	/* The human form is in local time: make it predictable. */
	setenv("TZ", "UTC", 1);
	tzset();
	return RUN_TESTS(tests);
}
