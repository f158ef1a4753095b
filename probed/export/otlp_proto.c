// SPDX-License-Identifier: MIT
/*
 * otlp_proto: the protobuf wire format and OTLP's log messages (see otlp_proto.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "otlp_proto.h"
#include "utf8.h"

#include <sled/tracepoint.h>

/* Field numbers (opentelemetry-proto). */
enum {
	REQ_RESOURCE_LOGS = 1,
	RL_RESOURCE = 1, RL_SCOPE_LOGS = 2,
	RES_ATTRIBUTES = 1,
	SL_SCOPE = 1, SL_LOG_RECORDS = 2,
	SCOPE_NAME = 1,
	LR_TIME = 1, LR_BODY = 5, LR_ATTRIBUTES = 6, LR_OBSERVED_TIME = 11,
	KV_KEY = 1, KV_VALUE = 2,
	AV_STRING = 1, AV_BOOL = 2, AV_INT = 3, AV_DOUBLE = 4, AV_ARRAY = 5,
	ARRAY_VALUES = 1,
};

int sled_pb_varint(struct sled_buf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return sled_buf_append(b, tmp, n);
}

int sled_pb_tag(struct sled_buf *b, unsigned field, unsigned wire)
{
	return sled_pb_varint(b, (uint64_t)field << 3 | wire);
}

int sled_pb_uint(struct sled_buf *b, unsigned field, uint64_t v)
{
	return sled_pb_tag(b, field, SLED_PB_VARINT) | sled_pb_varint(b, v);
}

int sled_pb_fixed64(struct sled_buf *b, unsigned field, uint64_t v)
{
	char le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (char)(v >> (8 * i));
	return sled_pb_tag(b, field, SLED_PB_I64) | sled_buf_append(b, le, 8);
}

int sled_pb_double(struct sled_buf *b, unsigned field, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return sled_pb_fixed64(b, field, u);
}

int sled_pb_bytes(struct sled_buf *b, unsigned field, const void *p, size_t len)
{
	return sled_pb_tag(b, field, SLED_PB_LEN) | sled_pb_varint(b, len) |
	       sled_buf_append(b, p, len);
}

/* s[0..len) as valid UTF-8 (no tag or length): the byte count, or appends when b. */
static size_t utf8_clean(struct sled_buf *b, const char *s, size_t len, int *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t out = 0, run = 0, i = 0;

	while (i < len) {
		int r = u[i] < 0x80 ? 1 : sled_utf8_seq(u + i, len - i);

		if (r > 0) {
			i += (size_t)r;
			out += (size_t)r;
			continue;
		}
		if (b) {
			*err |= sled_buf_append(b, s + run, i - run);
			*err |= sled_buf_puts(b, SLED_UTF8_REPLACEMENT);
		}
		out += sizeof(SLED_UTF8_REPLACEMENT) - 1;
		i += (size_t)-r;
		run = i;
	}
	if (b)
		*err |= sled_buf_append(b, s + run, len - run);
	return out;
}

int sled_pb_string(struct sled_buf *b, unsigned field, const char *s, size_t len)
{
	int err = 0;

	err |= sled_pb_tag(b, field, SLED_PB_LEN);
	err |= sled_pb_varint(b, utf8_clean(NULL, s, len, &err));
	utf8_clean(b, s, len, &err);
	return err;
}

int sled_pb_open(struct sled_buf *b, unsigned field, size_t *start)
{
	int err = sled_pb_tag(b, field, SLED_PB_LEN) | sled_buf_putc(b, 0);

	*start = b->len;
	return err;
}

int sled_pb_close(struct sled_buf *b, size_t start)
{
	size_t len = b->len - start, extra = 0;

	for (size_t v = len >> 7; v; v >>= 7)
		extra++;
	/* One byte was set aside for the length: make room for a longer one. */
	if (extra) {
		if (sled_buf_reserve(b, extra))
			return -ENOMEM;
		memmove(b->data + start + extra, b->data + start, len);
		b->len += extra;
	}
	for (size_t i = 0, v = len; i <= extra; i++, v >>= 7)
		b->data[start - 1 + i] = (char)((v & 0x7f) | (i < extra ? 0x80 : 0));
	return 0;
}

/* A KeyValue (field) whose value is a string (len bytes) or an int. */
static int str_kv(struct sled_buf *b, unsigned field, const char *key, const char *s,
		  size_t len)
{
	size_t kv, av;
	int err = sled_pb_open(b, field, &kv);

	err |= sled_pb_string(b, KV_KEY, key, strlen(key));
	err |= sled_pb_open(b, KV_VALUE, &av);
	err |= sled_pb_string(b, AV_STRING, s, len);
	return err | sled_pb_close(b, av) | sled_pb_close(b, kv);
}

static int int_kv(struct sled_buf *b, unsigned field, const char *key, int64_t v)
{
	size_t kv, av;
	int err = sled_pb_open(b, field, &kv);

	err |= sled_pb_string(b, KV_KEY, key, strlen(key));
	err |= sled_pb_open(b, KV_VALUE, &av);
	err |= sled_pb_uint(b, AV_INT, (uint64_t)v); /* int64: two's complement, 10 bytes */
	return err | sled_pb_close(b, av) | sled_pb_close(b, kv);
}

/* One field's AnyValue content. */
static int field_value(struct sled_buf *b, const struct sled_event_field *f)
{
	char dec[24];
	size_t n;

	switch (f->type) {
	case SLED_T_I8:
	case SLED_T_I16:
	case SLED_T_I32:
	case SLED_T_I64:
		return sled_pb_uint(b, AV_INT, (uint64_t)f->v.i);
	case SLED_T_BOOL:
		return sled_pb_uint(b, AV_BOOL, f->v.b);
	case SLED_T_FLOAT:
	case SLED_T_DOUBLE:
		return sled_pb_double(b, AV_DOUBLE, f->v.d);
	case SLED_T_STRING:
		if (!f->v.str.ptr)
			return 0; /* an empty AnyValue: null */
		return sled_pb_string(b, AV_STRING, f->v.str.ptr,
				      f->v.str.truncated
					      ? sled_utf8_trim_partial(f->v.str.ptr, f->v.str.len)
					      : f->v.str.len);
	default: /* unsigned integers, pointers, types this build does not know */
		if (f->v.u <= INT64_MAX)
			return sled_pb_uint(b, AV_INT, f->v.u);
		n = sizeof(dec);
		for (uint64_t v = f->v.u; v; v /= 10)
			dec[--n] = (char)('0' + v % 10);
		return sled_pb_bytes(b, AV_STRING, dec + n, sizeof(dec) - n);
	}
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

int sled_otlp_log_record(struct sled_buf *b, const struct sled_event *ev,
			 uint64_t observed_ns)
{
	unsigned nfields = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields
							       : SLED_EVENT_MAX_FIELDS;
	const char *provider = or_empty(ev->provider), *name = or_empty(ev->name);
	size_t body, str, kv, av, arr;
	bool truncated = false;
	int err = 0;

	err |= sled_pb_fixed64(b, LR_TIME, ev->ts_ns);
	/* body: the string "provider:name" */
	err |= sled_pb_open(b, LR_BODY, &body);
	err |= sled_pb_open(b, AV_STRING, &str);
	utf8_clean(b, provider, strlen(provider), &err);
	err |= sled_buf_putc(b, ':');
	utf8_clean(b, name, strlen(name), &err);
	err |= sled_pb_close(b, str) | sled_pb_close(b, body);
	for (unsigned i = 0; i < nfields; i++) {
		const struct sled_event_field *f = &ev->fields[i];

		err |= sled_pb_open(b, LR_ATTRIBUTES, &kv);
		err |= sled_pb_string(b, KV_KEY, or_empty(f->name), strlen(or_empty(f->name)));
		err |= sled_pb_open(b, KV_VALUE, &av);
		err |= field_value(b, f);
		err |= sled_pb_close(b, av) | sled_pb_close(b, kv);
		truncated |= f->type == SLED_T_STRING && f->v.str.ptr && f->v.str.truncated;
	}
	err |= str_kv(b, LR_ATTRIBUTES, "sled.provider", provider, strlen(provider));
	err |= str_kv(b, LR_ATTRIBUTES, "sled.name", name, strlen(name));
	err |= int_kv(b, LR_ATTRIBUTES, "thread.id", ev->tid);
	if (ev->mode)
		err |= str_kv(b, LR_ATTRIBUTES, "sled.mode", ev->mode, strlen(ev->mode));
	if (truncated) {
		err |= sled_pb_open(b, LR_ATTRIBUTES, &kv);
		err |= sled_pb_string(b, KV_KEY, "sled.truncated", 14);
		err |= sled_pb_open(b, KV_VALUE, &av);
		err |= sled_pb_open(b, AV_ARRAY, &arr);
		for (unsigned i = 0; i < nfields; i++) {
			const struct sled_event_field *f = &ev->fields[i];
			size_t one;

			if (f->type != SLED_T_STRING || !f->v.str.ptr || !f->v.str.truncated)
				continue;
			err |= sled_pb_open(b, ARRAY_VALUES, &one);
			err |= sled_pb_string(b, AV_STRING, or_empty(f->name),
					      strlen(or_empty(f->name)));
			err |= sled_pb_close(b, one);
		}
		err |= sled_pb_close(b, arr) | sled_pb_close(b, av) | sled_pb_close(b, kv);
	}
	err |= sled_pb_fixed64(b, LR_OBSERVED_TIME, observed_ns);
	return err ? -ENOMEM : 0;
}

int sled_otlp_resource_begin(struct sled_buf *b, const struct sled_otlp_resource *r,
			     size_t marks[2])
{
	size_t res, scope;
	int err = 0;

	err |= sled_pb_open(b, REQ_RESOURCE_LOGS, &marks[0]);
	err |= sled_pb_open(b, RL_RESOURCE, &res);
	err |= str_kv(b, RES_ATTRIBUTES, "service.name", r->service, strlen(r->service));
	err |= int_kv(b, RES_ATTRIBUTES, "process.pid", r->pid);
	if (r->exe_name[0])
		err |= str_kv(b, RES_ATTRIBUTES, "process.executable.name", r->exe_name,
			      strlen(r->exe_name));
	err |= str_kv(b, RES_ATTRIBUTES, "host.name", r->host, strlen(r->host));
	err |= sled_pb_close(b, res);
	err |= sled_pb_open(b, RL_SCOPE_LOGS, &marks[1]);
	err |= sled_pb_open(b, SL_SCOPE, &scope);
	err |= sled_pb_string(b, SCOPE_NAME, "sled", 4);
	err |= sled_pb_close(b, scope);
	return err ? -ENOMEM : 0;
}

int sled_otlp_add_record(struct sled_buf *b, const void *rec, size_t len)
{
	return sled_pb_bytes(b, SL_LOG_RECORDS, rec, len);
}

int sled_otlp_resource_end(struct sled_buf *b, const size_t marks[2])
{
	return sled_pb_close(b, marks[1]) | sled_pb_close(b, marks[0]);
}
