// SPDX-License-Identifier: MIT
/*
 * encode_human: one event as one line for people (probectl tail):
 *
 *   14:03:07.123456789 42/43 http:req status=200 ok=true path="/index"... ptr=0x7ffd1000
 *
 * The time is local, to the nanosecond.  Integers are decimal, pointers hex, floats the
 * shortest text that reads back (nan, inf, -inf as such), a NULL char * is NULL.  Strings
 * are quoted; '"' and '\' are backslash-escaped, \n \r \t too, other control characters
 * and ill-formed UTF-8 bytes are shown as \xNN; a truncated string is followed by "...".
 * The mode is not shown.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "buf.h"
#include "escape.h"
#include "utf8.h"
#include "value_visit.h"

#include <sled/tracepoint.h>

static const char hex[] = "0123456789abcdef";

static bool human_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* One byte as \" \\ \n \r \t, or \xNN. */
static int put_escaped_byte(struct sled_buf *b, unsigned char c)
{
	char esc[4] = { '\\', sled_escape_letter(c) };
	size_t n = 2;

	if (!esc[1]) {
		esc[1] = 'x';
		esc[2] = hex[c >> 4];
		esc[3] = hex[c & 15];
		n = 4;
	}
	return sled_buf_append(b, esc, n);
}

/* Ill-formed UTF-8: each of its bytes as \xNN. */
static int human_ill_formed(struct sled_buf *b, const unsigned char *s, size_t n)
{
	int err = 0;

	for (size_t k = 0; k < n; k++)
		err |= put_escaped_byte(b, s[k]);
	return err;
}

static const struct sled_escaper human_escaper = { human_plain, put_escaped_byte,
						   human_ill_formed };

/* Text of len bytes, escaped (not quoted). */
static int put_escaped(struct sled_buf *b, const char *str, size_t len)
{
	return sled_escape(b, str, len, &human_escaper);
}

static int put_name(struct sled_buf *b, const char *s)
{
	return s ? put_escaped(b, s, strlen(s)) : 0;
}

static int put_hex(struct sled_buf *b, uint64_t v)
{
	char tmp[18];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = hex[v & 15];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	return sled_buf_append(b, tmp + i, sizeof(tmp) - i);
}

static int put_str(struct sled_buf *b, const char *ptr, uint32_t len, bool truncated)
{
	int err = 0;

	if (!ptr)
		return sled_buf_puts(b, "NULL");
	err |= sled_buf_putc(b, '"');
	err |= put_escaped(b, ptr, len);
	err |= sled_buf_putc(b, '"');
	if (truncated)
		err |= sled_buf_puts(b, "...");
	return err;
}

static int put_unknown(struct sled_buf *b, uint64_t raw)
{
	(void)raw;
	return sled_buf_putc(b, '?');
}

static const struct sled_value_visitor human_values = {
	.signed_int = sled_buf_put_i64,
	.unsigned_int = sled_buf_put_u64,
	.pointer = put_hex,
	.boolean = sled_value_put_bool_text,
	.real = sled_value_put_real_text,
	.string = put_str,
	.unknown = put_unknown,
};

/* "HH:MM:SS" of a second, local time; localtime_r is slow, so the last one is kept. */
static void format_hms(time_t sec, char out[9])
{
	static __thread time_t cached_sec = -1;
	static __thread char cached[9];
	struct tm tm;

	if (sec != cached_sec) {
		if (!localtime_r(&sec, &tm))
			memset(&tm, 0, sizeof(tm));
		snprintf(cached, sizeof(cached), "%02u:%02u:%02u", (unsigned)tm.tm_hour % 100u,
			 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
		cached_sec = sec;
	}
	memcpy(out, cached, 9);
}

/* The line without time, pid/tid and newline (also the MSG of output_syslog.c). */
int sled_encode_human_summary(struct sled_buf *buf, const struct sled_event *ev)
{
	unsigned nfields = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields
							       : SLED_EVENT_MAX_FIELDS;
	size_t start = buf->len;
	int err = 0;

	err |= put_name(buf, ev->provider);
	err |= sled_buf_putc(buf, ':');
	err |= put_name(buf, ev->name);
	for (unsigned i = 0; i < nfields; i++) {
		err |= sled_buf_putc(buf, ' ');
		err |= put_name(buf, ev->fields[i].name);
		err |= sled_buf_putc(buf, '=');
		err |= sled_value_visit(buf, &ev->fields[i], &human_values);
	}
	if (err) {
		buf->len = start;
		return -ENOMEM;
	}
	return 0;
}

int sled_encode_human(struct sled_buf *buf, const struct sled_event *ev)
{
	uint32_t nsec = (uint32_t)(ev->ts_ns % 1000000000u);
	size_t start = buf->len;
	char hms[9], frac[11];
	int err = 0;

	format_hms((time_t)(ev->ts_ns / 1000000000u), hms);
	frac[0] = '.';
	for (int i = 9; i >= 1; i--, nsec /= 10)
		frac[i] = (char)('0' + nsec % 10);
	frac[10] = ' ';
	err |= sled_buf_append(buf, hms, 8);
	err |= sled_buf_append(buf, frac, sizeof(frac));
	err |= sled_buf_put_i64(buf, ev->pid);
	err |= sled_buf_putc(buf, '/');
	err |= sled_buf_put_i64(buf, ev->tid);
	err |= sled_buf_putc(buf, ' ');
	err |= sled_encode_human_summary(buf, ev);
	err |= sled_buf_putc(buf, '\n');
	if (err) {
		buf->len = start;
		return -ENOMEM;
	}
	return 0;
}
