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
 *
 * Speed (the daemon's budget is 10 million events/s on one core, drain included):
 *  - msgpack-c packs every scalar and header, so it alone decides the integer and
 *    timestamp forms; its pack functions are inline, and the write callback here is an
 *    unchecked memcpy into room reserved beforehand, so each pack call compiles to a
 *    few direct stores (a checking callback per piece cost most of the old encoder's
 *    time).
 *  - Room is checked once per variable-size piece, not per write: see SLACK.
 *  - The keys of the event map are constant bytes.
 *  - Names (provider, name, fields) are copied byte by byte up to their NUL, checking
 *    ASCII on the way: they are short, and strlen + memcpy calls cost more.  A cache of
 *    their packed bytes was measured against this and did not pay: the event's strings
 *    may live in a caller's buffer reused with other contents (event.h), so a cache
 *    keyed by pointer must compare the bytes anyway, which costs about what copying does.
 *  - Values of SLED_T_STRING are copied first, then checked for UTF-8 in the copy, word
 *    by word while they are ASCII.  Copying before checking also keeps the output
 *    well-formed whatever the source does: those strings point into rings the traced
 *    process can write at any time, and a string checked in place and copied after
 *    could change in between, leaving a str whose length header does not match its
 *    bytes, or ill-formed UTF-8.
 */
#include <errno.h>
#include <msgpack.h>

#include "buf.h"
#include "encode_msgpack.h"
#include "utf8.h"

#include <sled/tracepoint.h>

/* Worst case of one str: header (at most 5 bytes) and each input byte as U+FFFD. */
#define STR_MAX(len) (5 + 3 * (size_t)(len))
/*
 * Every variable-size piece (a string) makes sure that, besides its own worst case,
 * SLACK bytes stay free after it for the fixed-size pieces up to the next string: at
 * most 36 bytes (ts, pid and tid with their keys).
 */
#define SLACK 64

/* The output position.  Writes do not check for room: out_room was called before. */
struct out {
	struct sled_buf *buf;
	char *p;   /* next byte; buf->len is only updated once the event is complete */
	char *end; /* buf->data + buf->cap */
};

static __attribute__((noinline, cold)) int out_grow(struct out *o, size_t n)
{
	struct sled_buf *b = o->buf;
	size_t len = b->len, off = (size_t)(o->p - b->data);
	int err;

	/* Grow as if the partial event were part of the buffer: realloc keeps it. */
	b->len = off;
	err = sled_buf_grow(b, n);
	b->len = len;
	if (err)
		return err;
	o->p = b->data + off;
	o->end = b->data + b->cap;
	return 0;
}

static inline int out_room(struct out *o, size_t n)
{
	return (size_t)(o->end - o->p) >= n ? 0 : out_grow(o, n);
}

/* msgpack-c's write callback. */
static inline __attribute__((always_inline)) int out_write(void *data, const char *src,
							   size_t n)
{
	struct out *o = data;

	memcpy(o->p, src, n);
	o->p += n;
	return 0;
}

static inline size_t str_header_size(size_t len)
{
	return len < 32 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5;
}

/* The str header of msgpack_pack_str (fixstr, str 8, 16, 32), stored at p. */
static inline void put_str_header(char *p, size_t len)
{
	struct out o = { .p = p };
	msgpack_packer pk;

	msgpack_packer_init(&pk, &o, out_write);
	msgpack_pack_str(&pk, len);
}

/* Copy n bytes; returns the OR of all of them (for the ASCII check).  At most 16 bytes
 * take two overlapping loads of the source, never one byte past its end. */
static inline uint64_t copy_or(char *dst, const char *src, size_t n)
{
	uint64_t acc = 0, a, b;
	uint32_t x, y;
	size_t i = 0;

	if (n >= 8 && n <= 16) {
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
		return a | b;
	}
	if (n >= 4 && n < 8) {
		memcpy(&x, src, 4);
		memcpy(&y, src + n - 4, 4);
		memcpy(dst, &x, 4);
		memcpy(dst + n - 4, &y, 4);
		return x | y;
	}
	if (n < 4) {
		for (; i < n; i++)
			acc |= (unsigned char)(dst[i] = src[i]);
		return acc;
	}
	memcpy(dst, src, n);
	for (; i + 8 <= n; i += 8) {
		memcpy(&a, dst + i, 8);
		acc |= a;
	}
	memcpy(&a, dst + n - 8, 8);
	return acc | a;
}

#define HIGH_BITS 0x8080808080808080ull

/* The length of s[0..n) as valid UTF-8 (ill-formed subparts as U+FFFD), and whether it
 * was valid already. */
static size_t utf8_out_len(const unsigned char *s, size_t n, bool *clean)
{
	size_t i = 0, out = 0;

	*clean = true;
	while (i < n) {
		int r = s[i] < 0x80 ? 1 : sled_utf8_seq(s + i, n - i);

		if (r > 0) {
			i += (size_t)r;
			out += (size_t)r;
		} else {
			i += (size_t)-r;
			out += sizeof(SLED_UTF8_REPLACEMENT) - 1;
			*clean = false;
		}
	}
	return out;
}

/*
 * The general case of put_text: the len bytes at p + h (h = str_header_size(len)) are
 * the copy of a string that is not all ASCII.  Drops a character cut at the end when
 * truncated, replaces ill-formed UTF-8, and writes the header.  Returns the end.
 */
static __attribute__((noinline)) char *finish_text(char *p, size_t len, bool truncated)
{
	size_t h = str_header_size(len), n = len, out;
	char *body = p + h, *tail;
	bool clean;

	if (truncated)
		n = sled_utf8_trim_partial(body, len);
	out = utf8_out_len((const unsigned char *)body, n, &clean);
	if (clean) {
		size_t h2 = str_header_size(n);

		if (h2 != h) /* trimming crossed a header size: 32, 256 or 65536 bytes */
			memmove(p + h2, body, n);
		put_str_header(p, n);
		return p + h2 + n;
	}
	/*
	 * Ill-formed: rewrite from a copy at the end of the reserved room.  Safe in place:
	 * after k input bytes at most 5 + 3k bytes were written, and the next input byte is
	 * at 5 + 3 len - n + k, never behind the writes while k < n <= len.
	 */
	tail = p + STR_MAX(len) - n;
	memmove(tail, body, n);
	put_str_header(p, out);
	p += str_header_size(out);
	for (size_t i = 0; i < n;) {
		int r = sled_utf8_seq((const unsigned char *)tail + i, n - i);

		if (r > 0) {
			memmove(p, tail + i, (size_t)r);
			p += r;
			i += (size_t)r;
		} else {
			memcpy(p, SLED_UTF8_REPLACEMENT, sizeof(SLED_UTF8_REPLACEMENT) - 1);
			p += sizeof(SLED_UTF8_REPLACEMENT) - 1;
			i += (size_t)-r;
		}
	}
	return p;
}

/* A str of the len bytes at src, copied first (see the top of the file). */
static inline int put_text(struct out *o, const char *src, size_t len, bool truncated)
{
	char *p;

	if (out_room(o, STR_MAX(len) + SLACK))
		return -ENOMEM;
	p = o->p;
	if (__builtin_expect(!(copy_or(p + str_header_size(len), src, len) & HIGH_BITS), 1)) {
		/* ASCII: valid as it is, and no character can have been cut */
		put_str_header(p, len);
		o->p = p + str_header_size(len) + len;
		return 0;
	}
	o->p = finish_text(p, len, truncated);
	return 0;
}

static __attribute__((noinline)) int put_long_name(struct out *o, const char *s)
{
	return put_text(o, s, strlen(s), false);
}

/* A NUL-terminated name (NULL as "").  Short ASCII names, the usual, in one pass. */
static inline int put_name(struct out *o, const char *s)
{
	signed char c = 0;
	size_t i;
	char *p;

	if (!s)
		s = "";
	if (out_room(o, 33 + SLACK))
		return -ENOMEM;
	p = o->p;
	/* One test stops at the NUL and at any non-ASCII byte. */
	for (i = 0; i < 32; i++) {
		c = (signed char)s[i];
		if (c <= 0)
			break;
		p[1 + i] = c;
	}
	if (__builtin_expect(c == 0, 1)) { /* else non-ASCII, or 32 bytes or more */
		p[0] = (char)(0xa0 | i);
		o->p = p + 1 + i;
		return 0;
	}
	return put_long_name(o, s);
}

/* A constant key of the event map, as its fixstr bytes (a string literal). */
#define PUT_KEY(o, bytes)                                  \
	do {                                               \
		memcpy((o)->p, bytes, sizeof(bytes) - 1);  \
		(o)->p += sizeof(bytes) - 1;               \
	} while (0)

static inline __attribute__((always_inline)) void pack_scalar(msgpack_packer *pk,
							       const struct sled_event_field *f)
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
	default: /* strings are not scalars: see encode_event */
		msgpack_pack_nil(pk);
		break;
	}
}

static inline bool field_truncated(const struct sled_event_field *f)
{
	return f->type == SLED_T_STRING && f->v.str.ptr && f->v.str.truncated;
}

/*
 * The event map, with or without "ts".  Each caller below gets its own copy with
 * with_ts constant, and is flattened: msgpack-c's pack functions are inlined (gcc -O2
 * alone calls them, and out_write through the packer's pointer, which costs twice the
 * time), so that each pack call becomes a few stores.  Slow paths are noinline.
 */
static inline __attribute__((always_inline)) int
encode_event(struct sled_buf *buf, const struct sled_event *ev, bool with_ts)
{
	unsigned nfields = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields
							       : SLED_EVENT_MAX_FIELDS;
	unsigned ntrunc = 0;
	msgpack_timestamp ts = {
		.tv_sec = (int64_t)(ev->ts_ns / 1000000000u),
		.tv_nsec = (uint32_t)(ev->ts_ns % 1000000000u),
	};
	msgpack_packer pk;
	struct out o;

	for (unsigned i = 0; i < nfields; i++)
		ntrunc += field_truncated(&ev->fields[i]);
	/* Also makes buf->data non-NULL before pointers into it are taken. */
	if (sled_buf_reserve(buf, SLACK))
		return -ENOMEM;
	o.buf = buf;
	o.p = buf->data + buf->len;
	o.end = buf->data + buf->cap;
	msgpack_packer_init(&pk, &o, out_write);

	msgpack_pack_map(&pk, 5 + with_ts + (ev->mode != NULL) + (ntrunc != 0));
	PUT_KEY(&o, "\xa8provider");
	if (put_name(&o, ev->provider))
		return -ENOMEM;
	PUT_KEY(&o, "\xa4name");
	if (put_name(&o, ev->name))
		return -ENOMEM;
	if (with_ts) {
		PUT_KEY(&o, "\xa2ts");
		msgpack_pack_timestamp(&pk, &ts);
	}
	PUT_KEY(&o, "\xa3pid");
	msgpack_pack_int32(&pk, ev->pid);
	PUT_KEY(&o, "\xa3tid");
	msgpack_pack_int32(&pk, ev->tid);
	if (ev->mode) {
		PUT_KEY(&o, "\xa4mode");
		if (put_name(&o, ev->mode))
			return -ENOMEM;
	}
	PUT_KEY(&o, "\xa4" "args");
	msgpack_pack_map(&pk, nfields);
	for (unsigned i = 0; i < nfields; i++) {
		const struct sled_event_field *f = &ev->fields[i];

		if (put_name(&o, f->name))
			return -ENOMEM;
		if (f->type != SLED_T_STRING)
			pack_scalar(&pk, f);
		else if (!f->v.str.ptr)
			msgpack_pack_nil(&pk);
		else if (put_text(&o, f->v.str.ptr, f->v.str.len, f->v.str.truncated))
			return -ENOMEM;
	}
	if (ntrunc) {
		PUT_KEY(&o, "\xa9truncated");
		msgpack_pack_array(&pk, ntrunc);
		for (unsigned i = 0; i < nfields; i++)
			if (field_truncated(&ev->fields[i]) && put_name(&o, ev->fields[i].name))
				return -ENOMEM;
	}
	buf->len = (size_t)(o.p - buf->data);
	return 0;
}

__attribute__((flatten)) int sled_encode_msgpack(struct sled_buf *buf, const struct sled_event *ev)
{
	return encode_event(buf, ev, true);
}

/* encode_msgpack.h: the same map without "ts", for Fluent Forward (output_forward.c). */
__attribute__((flatten)) int sled_encode_msgpack_record(struct sled_buf *buf, const struct sled_event *ev)
{
	return encode_event(buf, ev, false);
}
