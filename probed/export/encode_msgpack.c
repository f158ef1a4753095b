// SPDX-License-Identifier: MIT
/*
 * encode_msgpack: one event as one msgpack map, through msgpack-c's packer.
 *
 *   {"provider": str, "name": str, "ts": timestamp (ext -1), "pid": int, "tid": int,
 *    ["mode": str,] "args": {field: value, ...}, ["truncated": [field, ...]]}
 *
 * ts takes the smallest form of the msgpack timestamp extension: 32-bit when the
 * nanoseconds are 0 and the seconds fit 32 bits, 64-bit when the seconds fit 34 bits,
 * else 96-bit.  Argument values: signed and unsigned integers as msgpack ints (the
 * packer picks the smallest encoding, so a non-negative signed value goes out in an
 * unsigned format, as msgpack intends), bool as bool, SLED_T_FLOAT as float 32 (exact:
 * the value was a float), SLED_T_DOUBLE as float 64, SLED_T_POINTER as an unsigned int,
 * SLED_T_STRING as str (nil for a NULL char *; the bytes the runtime kept, with "..." not
 * appended: "truncated" says which were cut), an unknown type as nil.  Every str is
 * valid UTF-8: ill-formed bytes become U+FFFD, and a character cut by truncation is
 * dropped.  A NULL provider, name or field name is packed as "".
 */
#include <errno.h>
#include <msgpack.h>

#include "buf.h"
#include "utf8.h"

#include <sled/tracepoint.h>

/* The packer's sink.  The error is sticky: msgpack-c does not check every return value
 * (msgpack_pack_timestamp ignores the ext header's), so once an append fails, every later
 * one fails too and the event is discarded as a whole. */
struct packer_sink {
	struct sled_buf *buf;
	int err;
};

static int sink_write(void *data, const char *p, size_t n)
{
	struct packer_sink *s = data;
	struct sled_buf *b = s->buf;

	if (s->err || sled_buf_reserve(b, n)) {
		s->err = -ENOMEM;
		return -1;
	}
	if (n <= 16) { /* the packer's headers and scalars: cheaper than a memcpy call */
		for (size_t i = 0; i < n; i++)
			b->data[b->len + i] = p[i];
	} else {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	return 0;
}

/* A str, with ill-formed UTF-8 replaced; the common well-formed case is one pass. */
static void pack_text(msgpack_packer *pk, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, out = 0;
	bool clean = true;

	while (i < len) {
		int r;

		if (s[i] < 0x80) {
			i++;
			out++;
			continue;
		}
		r = sled_utf8_seq(s + i, len - i);
		if (r > 0) {
			i += (size_t)r;
			out += (size_t)r;
		} else {
			i += (size_t)-r;
			out += sizeof(SLED_UTF8_REPLACEMENT) - 1;
			clean = false;
		}
	}
	msgpack_pack_str(pk, out);
	if (clean) {
		msgpack_pack_str_body(pk, str, len);
		return;
	}
	for (i = 0; i < len;) {
		size_t run = i;
		int r = 1;

		while (run < len && (r = sled_utf8_seq(s + run, len - run)) > 0)
			run += (size_t)r;
		msgpack_pack_str_body(pk, str + i, run - i);
		if (run < len) {
			msgpack_pack_str_body(pk, SLED_UTF8_REPLACEMENT,
					      sizeof(SLED_UTF8_REPLACEMENT) - 1);
			run += (size_t)-r;
		}
		i = run;
	}
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	if (!s)
		s = "";
	pack_text(pk, s, strlen(s));
}

/* A key of the event map (a literal, under 32 bytes): its fixstr in one append. */
static inline void pack_key(msgpack_packer *pk, const char *key, size_t len)
{
	char tmp[32];

	tmp[0] = (char)(0xa0 | len);
	memcpy(tmp + 1, key, len);
	sink_write(pk->data, tmp, len + 1);
}
#define PACK_KEY(pk, lit) pack_key(pk, lit, sizeof(lit) - 1)

static void pack_value(msgpack_packer *pk, const struct sled_event_field *f)
{
	switch (f->type) {
	case SLED_T_I8:
	case SLED_T_I16:
	case SLED_T_I32:
	case SLED_T_I64:
		msgpack_pack_int64(pk, f->v.i);
		break;
	case SLED_T_U8:
	case SLED_T_U16:
	case SLED_T_U32:
	case SLED_T_U64:
	case SLED_T_POINTER:
		msgpack_pack_uint64(pk, f->v.u);
		break;
	case SLED_T_BOOL:
		if (f->v.b)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case SLED_T_FLOAT:
		msgpack_pack_float(pk, (float)f->v.d);
		break;
	case SLED_T_DOUBLE:
		msgpack_pack_double(pk, f->v.d);
		break;
	case SLED_T_STRING:
		if (!f->v.str.ptr) {
			msgpack_pack_nil(pk);
			break;
		}
		pack_text(pk, f->v.str.ptr,
			  f->v.str.truncated ? sled_utf8_trim_partial(f->v.str.ptr, f->v.str.len)
					     : f->v.str.len);
		break;
	default:
		msgpack_pack_nil(pk);
		break;
	}
}

static bool field_truncated(const struct sled_event_field *f)
{
	return f->type == SLED_T_STRING && f->v.str.ptr && f->v.str.truncated;
}

int sled_encode_msgpack(struct sled_buf *buf, const struct sled_event *ev)
{
	struct packer_sink sink = { .buf = buf };
	unsigned nfields = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields
							       : SLED_EVENT_MAX_FIELDS;
	size_t start = buf->len, ntrunc = 0;
	msgpack_timestamp ts = {
		.tv_sec = (int64_t)(ev->ts_ns / 1000000000u),
		.tv_nsec = (uint32_t)(ev->ts_ns % 1000000000u),
	};
	msgpack_packer pk;

	for (unsigned i = 0; i < nfields; i++)
		ntrunc += field_truncated(&ev->fields[i]);

	/* One event is usually well under this: most appends then skip the size check's
	 * slow path. */
	if (sled_buf_reserve(buf, 128))
		return -ENOMEM;
	msgpack_packer_init(&pk, &sink, sink_write);
	msgpack_pack_map(&pk, 6 + (ev->mode != NULL) + (ntrunc != 0));
	PACK_KEY(&pk, "provider");
	pack_cstr(&pk, ev->provider);
	PACK_KEY(&pk, "name");
	pack_cstr(&pk, ev->name);
	PACK_KEY(&pk, "ts");
	msgpack_pack_timestamp(&pk, &ts);
	PACK_KEY(&pk, "pid");
	msgpack_pack_int32(&pk, ev->pid);
	PACK_KEY(&pk, "tid");
	msgpack_pack_int32(&pk, ev->tid);
	if (ev->mode) {
		PACK_KEY(&pk, "mode");
		pack_cstr(&pk, ev->mode);
	}
	PACK_KEY(&pk, "args");
	msgpack_pack_map(&pk, nfields);
	for (unsigned i = 0; i < nfields; i++) {
		pack_cstr(&pk, ev->fields[i].name);
		pack_value(&pk, &ev->fields[i]);
	}
	if (ntrunc) {
		PACK_KEY(&pk, "truncated");
		msgpack_pack_array(&pk, ntrunc);
		for (unsigned i = 0; i < nfields; i++)
			if (field_truncated(&ev->fields[i]))
				pack_cstr(&pk, ev->fields[i].name);
	}
	if (sink.err) {
		buf->len = start;
		return sink.err;
	}
	return 0;
}
