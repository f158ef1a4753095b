// SPDX-License-Identifier: MIT
/*
 * encode_json: one event as one JSON object on one line, the keys of the msgpack form:
 *
 *   {"provider":"http","name":"req","ts":1700000000123456789,"pid":42,"tid":43,
 *    "mode":"sled","args":{"status":200,"path":"/index"},"truncated":["path"]}
 *
 * ts is an integer, nanoseconds since the epoch.  Integers are exact decimal (pointers
 * too); floats are the shortest text that reads back as the same float or double, always
 * with a '.' or an exponent; NaN and infinities, which JSON lacks, are null.  Strings are
 * escaped per RFC 8259 (control characters as \u00XX), ill-formed UTF-8 is replaced by
 * U+FFFD so the line is always valid JSON, a NULL char * is null, and a string the
 * runtime truncated holds the bytes kept (a character cut in the middle is dropped) and
 * is listed in "truncated".  "mode" appears only when the event has one.
 */
#include <errno.h>
#include <math.h>

#include "buf.h"
#include "escape.h"
#include "utf8.h"
#include "value_visit.h"

#include <sled/tracepoint.h>

static const char hex[] = "0123456789abcdef";

static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

static int json_ascii(struct sled_buf *b, unsigned char c)
{
	char esc[6] = { '\\', sled_escape_letter(c) };
	size_t n = 2;

	if (c == '\b')
		esc[1] = 'b';
	else if (c == '\f')
		esc[1] = 'f';
	if (!esc[1]) { /* another control character */
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		n = 6;
	}
	return sled_buf_append(b, esc, n);
}

static int json_ill_formed(struct sled_buf *b, const unsigned char *s, size_t n)
{
	(void)s;
	(void)n;
	return sled_buf_append(b, SLED_UTF8_REPLACEMENT, sizeof(SLED_UTF8_REPLACEMENT) - 1);
}

static const struct sled_escaper json_escaper = { json_plain, json_ascii, json_ill_formed };

/* A quoted, escaped JSON string of len bytes. */
static int put_string(struct sled_buf *b, const char *str, size_t len)
{
	int err = 0;

	err |= sled_buf_putc(b, '"');
	err |= sled_escape(b, str, len, &json_escaper);
	err |= sled_buf_putc(b, '"');
	return err ? -ENOMEM : 0;
}

int sled_buf_put_json_string(struct sled_buf *b, const char *s, size_t len)
{
	return put_string(b, s, len);
}

static int put_cstr(struct sled_buf *b, const char *s)
{
	return s ? put_string(b, s, strlen(s)) : sled_buf_append(b, "null", 4);
}

/* ,"key": — key is a literal that needs no escaping. */
#define PUT_KEY(b, lit) sled_buf_append(b, "," lit ":", sizeof(lit) + 1)

static int put_null(struct sled_buf *b)
{
	return sled_buf_append(b, "null", 4);
}

/* JSON has no nan or inf: null. */
static int put_real(struct sled_buf *b, double v, bool single)
{
	return isfinite(v) ? sled_buf_put_double(b, v, single) : put_null(b);
}

static int put_str(struct sled_buf *b, const char *ptr, uint32_t len, bool truncated)
{
	(void)truncated; /* listed under "truncated" after the fields */
	return ptr ? put_string(b, ptr, len) : put_null(b);
}

static int put_unknown(struct sled_buf *b, uint64_t raw)
{
	(void)raw;
	return put_null(b);
}

static const struct sled_value_visitor json_values = {
	.signed_int = sled_buf_put_i64,
	.unsigned_int = sled_buf_put_u64,
	.pointer = sled_buf_put_u64,
	.boolean = sled_value_put_bool_text,
	.real = put_real,
	.string = put_str,
	.unknown = put_unknown,
};

int sled_encode_json(struct sled_buf *buf, const struct sled_event *ev)
{
	unsigned nfields = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields
							       : SLED_EVENT_MAX_FIELDS;
	size_t start = buf->len;
	bool any_truncated = false;
	int err = 0;

	err |= sled_buf_append(buf, "{\"provider\":", 12);
	err |= put_cstr(buf, ev->provider ? ev->provider : "");
	err |= PUT_KEY(buf, "\"name\"");
	err |= put_cstr(buf, ev->name ? ev->name : "");
	err |= PUT_KEY(buf, "\"ts\"");
	err |= sled_buf_put_u64(buf, ev->ts_ns);
	err |= PUT_KEY(buf, "\"pid\"");
	err |= sled_buf_put_i64(buf, ev->pid);
	err |= PUT_KEY(buf, "\"tid\"");
	err |= sled_buf_put_i64(buf, ev->tid);
	if (ev->mode) {
		err |= PUT_KEY(buf, "\"mode\"");
		err |= put_cstr(buf, ev->mode);
	}
	err |= PUT_KEY(buf, "\"args\"");
	err |= sled_buf_putc(buf, '{');
	for (unsigned i = 0; i < nfields; i++) {
		const struct sled_event_field *f = &ev->fields[i];

		if (i)
			err |= sled_buf_putc(buf, ',');
		err |= put_cstr(buf, f->name ? f->name : "");
		err |= sled_buf_putc(buf, ':');
		err |= sled_value_visit(buf, f, &json_values);
		if (sled_field_truncated(f))
			any_truncated = true;
	}
	err |= sled_buf_putc(buf, '}');
	if (any_truncated) {
		bool first = true;

		err |= PUT_KEY(buf, "\"truncated\"");
		err |= sled_buf_putc(buf, '[');
		for (unsigned i = 0; i < nfields; i++) {
			const struct sled_event_field *f = &ev->fields[i];

			if (!sled_field_truncated(f))
				continue;
			if (!first)
				err |= sled_buf_putc(buf, ',');
			first = false;
			err |= put_cstr(buf, f->name ? f->name : "");
		}
		err |= sled_buf_putc(buf, ']');
	}
	err |= sled_buf_append(buf, "}\n", 2);
	if (err) {
		buf->len = start;
		return -ENOMEM;
	}
	return 0;
}
