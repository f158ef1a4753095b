// SPDX-License-Identifier: MIT
/*
 * encode_msgpack: the fast encoder's bytes equal those of the plain way of packing an
 * event with msgpack-c (msgpack_pack_* into an sbuffer, one call per piece), which is
 * the schema's reference; and the cases its fast paths single out: names of 32 bytes
 * and more, non-ASCII and ill-formed names, strings around the word copies, a cut
 * character that changes the header size, a buffer that grows mid-event, different
 * sites interleaved through the same name buffers.
 */
#include <msgpack.h>
#include <stdlib.h>

#include "buf.h"
#include "check.h"
#include "encode_msgpack.h"
#include "output.h"
#include "utf8.h"

#include <sled/tracepoint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the reference: msgpack-c's packer, piece by piece ---- */

static void ref_text(msgpack_packer *pk, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t out = 0;

	for (size_t i = 0; i < len;) {
		int r = sled_utf8_seq(s + i, len - i);

		i += (size_t)(r > 0 ? r : -r);
		out += r > 0 ? (size_t)r : 3;
	}
	msgpack_pack_str(pk, out);
	for (size_t i = 0; i < len;) {
		int r = sled_utf8_seq(s + i, len - i);

		if (r > 0)
			msgpack_pack_str_body(pk, str + i, (size_t)r);
		else
			msgpack_pack_str_body(pk, SLED_UTF8_REPLACEMENT, 3);
		i += (size_t)(r > 0 ? r : -r);
	}
}

static void ref_cstr(msgpack_packer *pk, const char *s)
{
	s = s ? s : "";
	ref_text(pk, s, strlen(s));
}

static bool ref_truncated(const struct sled_event_field *f)
{
	return f->type == SLED_T_STRING && f->v.str.ptr && f->v.str.truncated;
}

static void ref_encode(msgpack_sbuffer *sb, const struct sled_event *ev, bool with_ts)
{
	unsigned n = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields : SLED_EVENT_MAX_FIELDS;
	unsigned ntrunc = 0;
	msgpack_timestamp ts = { (int64_t)(ev->ts_ns / 1000000000u),
				 (uint32_t)(ev->ts_ns % 1000000000u) };
	msgpack_packer pk;

	for (unsigned i = 0; i < n; i++)
		ntrunc += ref_truncated(&ev->fields[i]);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5 + with_ts + (ev->mode != NULL) + (ntrunc != 0));
	ref_cstr(&pk, "provider");
	ref_cstr(&pk, ev->provider);
	ref_cstr(&pk, "name");
	ref_cstr(&pk, ev->name);
	if (with_ts) {
		ref_cstr(&pk, "ts");
		msgpack_pack_timestamp(&pk, &ts);
	}
	ref_cstr(&pk, "pid");
	msgpack_pack_int32(&pk, ev->pid);
	ref_cstr(&pk, "tid");
	msgpack_pack_int32(&pk, ev->tid);
	if (ev->mode) {
		ref_cstr(&pk, "mode");
		ref_cstr(&pk, ev->mode);
	}
	ref_cstr(&pk, "args");
	msgpack_pack_map(&pk, n);
	for (unsigned i = 0; i < n; i++) {
		const struct sled_event_field *f = &ev->fields[i];

		ref_cstr(&pk, f->name);
		switch (f->type) {
		case SLED_T_I8: case SLED_T_I16: case SLED_T_I32: case SLED_T_I64:
			msgpack_pack_int64(&pk, f->v.i);
			break;
		case SLED_T_U8: case SLED_T_U16: case SLED_T_U32: case SLED_T_U64:
		case SLED_T_POINTER:
			msgpack_pack_uint64(&pk, f->v.u);
			break;
		case SLED_T_BOOL:
			f->v.b ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
			break;
		case SLED_T_FLOAT:
			msgpack_pack_float(&pk, (float)f->v.d);
			break;
		case SLED_T_DOUBLE:
			msgpack_pack_double(&pk, f->v.d);
			break;
		case SLED_T_STRING:
			if (!f->v.str.ptr)
				msgpack_pack_nil(&pk);
			else
				ref_text(&pk, f->v.str.ptr,
					 f->v.str.truncated
						 ? sled_utf8_trim_partial(f->v.str.ptr, f->v.str.len)
						 : f->v.str.len);
			break;
		default:
			msgpack_pack_nil(&pk);
		}
	}
	if (ntrunc) {
		ref_cstr(&pk, "truncated");
		msgpack_pack_array(&pk, ntrunc);
		for (unsigned i = 0; i < n; i++)
			if (ref_truncated(&ev->fields[i]))
				ref_cstr(&pk, ev->fields[i].name);
	}
}

/* Both encoders against the reference, appended after prefix bytes already in buf. */
static bool same_as_reference(const struct sled_event *ev, size_t prefix)
{
	bool same = true;

	for (int with_ts = 0; with_ts <= 1; with_ts++) {
		struct sled_buf b = { 0 };
		msgpack_sbuffer sb;
		int ret;

		msgpack_sbuffer_init(&sb);
		ref_encode(&sb, ev, with_ts);
		for (size_t i = 0; i < prefix; i++)
			CHECK_EQ_INT(sled_buf_putc(&b, (char)i), 0);
		ret = with_ts ? sled_encode_msgpack(&b, ev) : sled_encode_msgpack_record(&b, ev);
		CHECK_EQ_INT(ret, 0);
		if (ret || b.len != prefix + sb.size ||
		    memcmp(b.data + prefix, sb.data, sb.size) != 0)
			same = false;
		for (size_t i = 0; i < prefix && i < b.len; i++)
			if (b.data[i] != (char)i)
				same = false;
		msgpack_sbuffer_destroy(&sb);
		sled_buf_free(&b);
	}
	return same;
}

static struct sled_event base_event(void)
{
	struct sled_event ev = {
		.provider = "http",
		.name = "req",
		.ts_ns = 1700000000123456789ull,
		.pid = 42,
		.tid = 43,
	};
	return ev;
}

static struct sled_event_field *add_str(struct sled_event *ev, const char *name,
					const char *s, size_t len, bool truncated)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = SLED_T_STRING;
	f->v.str.ptr = s;
	f->v.str.len = (uint32_t)len;
	f->v.str.truncated = truncated;
	return f;
}

/* ---- random events ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Text of about max bytes: ASCII, UTF-8, ill-formed pieces, sometimes a NUL inside
 * (values only: names end at it like any C string). */
static size_t random_text(char *out, size_t cap)
{
	static const char *const pieces[] = {
		"a", "path/", "0123456789abcdef", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xff", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80",
		"\xf0\x9f", "\x7f", "\x01", "",
	};
	unsigned k = (unsigned)(rnd() % 8);
	size_t target = k < 4 ? rnd() % 12 : k < 6 ? rnd() % 40 : k == 6 ? rnd() % 300
								    : 250 + rnd() % 10;
	bool ascii = rnd() % 2;
	size_t n = 0;

	if (target > cap - 8)
		target = cap - 8;
	while (n < target) {
		const char *p = ascii || rnd() % 4 ? pieces[rnd() % 3]
						  : pieces[rnd() % ARRAY_SIZE(pieces)];
		size_t l = strlen(p);

		if (n + l >= cap - 1)
			break;
		memcpy(out + n, p, l);
		n += l;
	}
	if (rnd() % 10 == 0)
		out[n++] = '\0';
	out[n] = '\0';
	return n;
}

TEST(msgpack_equals_msgpack_c_packer_on_random_events)
{
	static char text[2 + 2 * SLED_EVENT_MAX_FIELDS][600];
	static char big[70000];
	int mismatches = 0;

	memset(big, 'x', sizeof(big));
	memcpy(big + 100, "\xe2\x82\xac", 3);
	for (int it = 0; it < 20000; it++) {
		struct sled_event ev = { 0 };

		random_text(text[0], sizeof(text[0]));
		random_text(text[1], sizeof(text[1]));
		ev.provider = rnd() % 20 ? text[0] : NULL;
		ev.name = rnd() % 20 ? text[1] : NULL;
		switch (rnd() % 4) {
		case 0: ev.ts_ns = rnd(); break;                              /* 96-bit form */
		case 1: ev.ts_ns = rnd() % 4000000000ull * 1000000000ull; break; /* 32-bit */
		default: ev.ts_ns = rnd() % (1ull << 62); break;
		}
		ev.pid = (pid_t)rnd();
		ev.tid = (pid_t)(rnd() % 100000);
		ev.mode = rnd() % 3 == 0 ? NULL : rnd() % 2 ? "sled" : "uprobe";
		ev.nfields = rnd() % 50 == 0 ? 1000 : (unsigned)(rnd() % (SLED_EVENT_MAX_FIELDS + 1));
		for (unsigned i = 0; i < SLED_EVENT_MAX_FIELDS; i++) {
			struct sled_event_field *f = &ev.fields[i];
			uint64_t v = rnd() >> (rnd() % 64);

			random_text(text[2 + i], sizeof(text[2 + i]));
			f->name = rnd() % 20 ? text[2 + i] : NULL;
			f->type = (uint8_t)(rnd() % 16); /* some past the known types */
			f->v.u = rnd() % 2 ? v : -v;
			if (f->type == SLED_T_DOUBLE)
				f->v.d = (double)(int64_t)v / 7.0;
			else if (f->type == SLED_T_FLOAT)
				f->v.d = (float)((double)(int64_t)v / 7.0);
			else if (f->type == SLED_T_BOOL)
				f->v.b = v & 1;
			if (f->type == SLED_T_STRING || rnd() % 3 == 0) {
				char *s = text[2 + SLED_EVENT_MAX_FIELDS + i];
				size_t len = random_text(s, 600);
				bool huge = rnd() % 200 == 0;

				f->type = SLED_T_STRING;
				f->v.str.ptr = rnd() % 10 == 0 ? NULL : huge ? big : s;
				f->v.str.len = (uint32_t)(huge ? sizeof(big) : len);
				f->v.str.truncated = rnd() % 3 == 0;
			}
		}
		if (!same_as_reference(&ev, rnd() % 3 ? 0 : rnd() % 300) && mismatches++ < 3)
			fprintf(stderr, "  random event %d differs from the reference\n", it);
	}
	CHECK_EQ_INT(mismatches, 0);
}

TEST(msgpack_names_around_str_header_sizes)
{
	static const size_t lens[] = { 0, 1, 30, 31, 32, 33, 255, 256, 300, 65535, 65536 };
	static char name[65537];

	for (size_t k = 0; k < ARRAY_SIZE(lens); k++) {
		struct sled_event ev = base_event();

		memset(name, 'n', lens[k]);
		name[lens[k]] = '\0';
		ev.provider = name;
		ev.name = name;
		ev.mode = name;
		ev.nfields = 1;
		ev.fields[0] = (struct sled_event_field){ .name = name, .type = SLED_T_U8,
							  .v.u = 7 };
		CHECK(same_as_reference(&ev, 0));
	}
}

TEST(msgpack_non_ascii_and_ill_formed_names)
{
	static const char *const names[] = {
		"caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80x", "bad\xff", "cut\xe2\x82",
		"\xc0\xaf", "\xed\xa0\x80", "a\x80" "b", "0123456789012345678901234567890\xc3\xa9",
	};

	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		struct sled_event ev = base_event();

		ev.provider = names[k];
		ev.name = names[(k + 1) % ARRAY_SIZE(names)];
		ev.mode = "sled";
		add_str(&ev, names[(k + 2) % ARRAY_SIZE(names)], "v", 1, true);
		CHECK(same_as_reference(&ev, 0));
	}
}

/* Every length a word copy treats differently, with a non-ASCII byte at every place. */
TEST(msgpack_value_strings_around_word_copies)
{
	char s[48];

	for (size_t len = 0; len <= sizeof(s); len++) {
		for (size_t at = 0; at <= len; at++) {
			struct sled_event ev = base_event();

			memset(s, 'a', sizeof(s));
			if (at < len)
				s[at] = (char)0xe9; /* ill-formed alone */
			add_str(&ev, "s", s, len, false);
			add_str(&ev, "t", s, len, true);
			CHECK(same_as_reference(&ev, 0));
		}
	}
}

/* 33 bytes, the last 2 a cut 3-byte character: 31 bytes remain, a fixstr, not str 8. */
TEST(msgpack_cut_character_shrinks_str_header)
{
	struct sled_event ev = base_event();
	char s[300];

	memset(s, 'a', sizeof(s));
	memcpy(s + 31, "\xe2\x82", 2);
	add_str(&ev, "s", s, 33, true);
	CHECK(same_as_reference(&ev, 0));
	memcpy(s + 254, "\xe2\x82", 2); /* 256 bytes -> 254: str 8 */
	ev.fields[0].v.str.len = 256;
	CHECK(same_as_reference(&ev, 0));
}

TEST(msgpack_ill_formed_long_string_replaced)
{
	static char s[70000];
	struct sled_event ev = base_event();

	for (size_t i = 0; i < sizeof(s); i++)
		s[i] = (char)(i % 3 ? 0xff : 'x'); /* grows 3 times in the worst places */
	add_str(&ev, "s", s, sizeof(s), false);
	add_str(&ev, "t", s, 1000, true);
	CHECK(same_as_reference(&ev, 0));
}

TEST(msgpack_buffer_grows_mid_event_and_keeps_what_it_held)
{
	static char s[5000];
	struct sled_event ev = base_event();

	memset(s, 'y', sizeof(s));
	for (int i = 0; i < SLED_EVENT_MAX_FIELDS; i++)
		add_str(&ev, "field", s, sizeof(s) - (size_t)i * 300, i % 2);
	for (size_t prefix = 1; prefix < 600; prefix += 97)
		CHECK(same_as_reference(&ev, prefix));
}

/* Two sites whose names live in the same buffers, rewritten between events (event.h:
 * strings are valid only during the call): each event carries its own names. */
TEST(msgpack_interleaved_sites_keep_their_own_names)
{
	char provider[32], name[32], field[32];
	struct sled_buf b = { 0 };
	msgpack_unpacked u;
	size_t off = 0;

	for (int i = 0; i < 6; i++) {
		struct sled_event ev = base_event();

		snprintf(provider, sizeof(provider), i % 2 ? "db" : "http");
		snprintf(name, sizeof(name), i % 2 ? "query" : "request");
		snprintf(field, sizeof(field), i % 3 ? "rows" : "status");
		ev.provider = provider;
		ev.name = name;
		ev.nfields = 1;
		ev.fields[0] = (struct sled_event_field){ .name = field, .type = SLED_T_U32,
							  .v.u = (uint64_t)i };
		CHECK_EQ_INT(sled_encode_msgpack(&b, &ev), 0);
		CHECK(same_as_reference(&ev, 0));
	}
	msgpack_unpacked_init(&u);
	for (int i = 0; i < 6; i++) {
		const msgpack_object_map *m, *args;

		if (msgpack_unpack_next(&u, b.data, b.len, &off) != MSGPACK_UNPACK_SUCCESS) {
			CHECK(!"event decodes");
			break;
		}
		m = &u.data.via.map;
		CHECK(m->size == 6);
		if (m->size != 6)
			continue;
		CHECK(m->ptr[0].val.via.str.size == (i % 2 ? 2u : 4u) &&
		      !memcmp(m->ptr[0].val.via.str.ptr, i % 2 ? "db" : "http",
			      m->ptr[0].val.via.str.size));
		CHECK(m->ptr[1].val.via.str.size == (i % 2 ? 5u : 7u) &&
		      !memcmp(m->ptr[1].val.via.str.ptr, i % 2 ? "query" : "request",
			      m->ptr[1].val.via.str.size));
		args = &m->ptr[5].val.via.map;
		CHECK(args->size == 1 && args->ptr[0].key.via.str.size == (i % 3 ? 4u : 6u) &&
		      args->ptr[0].val.via.u64 == (uint64_t)i);
	}
	CHECK_EQ_INT(off, b.len);
	msgpack_unpacked_destroy(&u);
	sled_buf_free(&b);
}

static const struct test_case tests[] = {
	TEST_ENTRY(msgpack_equals_msgpack_c_packer_on_random_events),
	TEST_ENTRY(msgpack_names_around_str_header_sizes),
	TEST_ENTRY(msgpack_non_ascii_and_ill_formed_names),
	TEST_ENTRY(msgpack_value_strings_around_word_copies),
	TEST_ENTRY(msgpack_cut_character_shrinks_str_header),
	TEST_ENTRY(msgpack_ill_formed_long_string_replaced),
	TEST_ENTRY(msgpack_buffer_grows_mid_event_and_keeps_what_it_held),
	TEST_ENTRY(msgpack_interleaved_sites_keep_their_own_names),
};

int main(void)
{
	return RUN_TESTS(tests);
}
