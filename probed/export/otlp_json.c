// SPDX-License-Identifier: MIT
/*
 * otlp_json: OTLP's JSON encoding of the log messages (see otlp_proto.h), e.g. one record:
 *
 *   {"timeUnixNano":"1700000000123456789","body":{"stringValue":"http:request"},
 *    "attributes":[{"key":"status","value":{"intValue":"200"}},...],
 *    "observedTimeUnixNano":"1700000000123460000"}
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "buf.h"
#include "otlp_proto.h"
#include "utf8.h"

#include <sled/tracepoint.h>

static int put_str(struct sled_buf *b, const char *s)
{
	return sled_buf_put_json_string(b, s ? s : "", s ? strlen(s) : 0);
}

/* {"key":K,"value":{"stringValue":V}} */
static int str_kv(struct sled_buf *b, const char *key, const char *v, size_t len)
{
	return sled_buf_puts(b, "{\"key\":") | put_str(b, key) |
	       sled_buf_puts(b, ",\"value\":{\"stringValue\":") |
	       sled_buf_put_json_string(b, v, len) | sled_buf_puts(b, "}}");
}

static int int_kv(struct sled_buf *b, const char *key, int64_t v)
{
	return sled_buf_puts(b, "{\"key\":") | put_str(b, key) |
	       sled_buf_puts(b, ",\"value\":{\"intValue\":\"") | sled_buf_put_i64(b, v) |
	       sled_buf_puts(b, "\"}}");
}

static int field_value(struct sled_buf *b, const struct sled_event_field *f)
{
	switch (f->type) {
	case SLED_T_I8:
	case SLED_T_I16:
	case SLED_T_I32:
	case SLED_T_I64:
		return sled_buf_puts(b, "{\"intValue\":\"") | sled_buf_put_i64(b, f->v.i) |
		       sled_buf_puts(b, "\"}");
	case SLED_T_BOOL:
		return sled_buf_puts(b, f->v.b ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
	case SLED_T_FLOAT:
	case SLED_T_DOUBLE:
		if (isnan(f->v.d))
			return sled_buf_puts(b, "{\"doubleValue\":\"NaN\"}");
		if (isinf(f->v.d))
			return sled_buf_puts(b, f->v.d < 0 ? "{\"doubleValue\":\"-Infinity\"}"
							   : "{\"doubleValue\":\"Infinity\"}");
		/* a float as the double it was widened to: the same value in every form */
		return sled_buf_puts(b, "{\"doubleValue\":") |
		       sled_buf_put_double(b, f->v.d, false) | sled_buf_putc(b, '}');
	case SLED_T_STRING:
		if (!f->v.str.ptr)
			return sled_buf_puts(b, "{}");
		return sled_buf_puts(b, "{\"stringValue\":") |
		       sled_buf_put_json_string(
			       b, f->v.str.ptr,
			       f->v.str.truncated
				       ? sled_utf8_trim_partial(f->v.str.ptr, f->v.str.len)
				       : f->v.str.len) |
		       sled_buf_putc(b, '}');
	default:
		if (f->v.u <= INT64_MAX)
			return sled_buf_puts(b, "{\"intValue\":\"") | sled_buf_put_u64(b, f->v.u) |
			       sled_buf_puts(b, "\"}");
		return sled_buf_puts(b, "{\"stringValue\":\"") | sled_buf_put_u64(b, f->v.u) |
		       sled_buf_puts(b, "\"}");
	}
}

int sled_otlp_json_log_record(struct sled_buf *b, const struct sled_event *ev,
			      uint64_t observed_ns)
{
	unsigned nfields = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields
							       : SLED_EVENT_MAX_FIELDS;
	const char *provider = ev->provider ? ev->provider : "";
	const char *name = ev->name ? ev->name : "";
	bool truncated = false, first = true;
	int err = 0;

	err |= sled_buf_puts(b, "{\"timeUnixNano\":\"") | sled_buf_put_u64(b, ev->ts_ns);
	err |= sled_buf_puts(b, "\",\"body\":{\"stringValue\":");
	{
		/* "provider:name": both escaped, joined inside one pair of quotes */
		size_t q;

		err |= sled_buf_put_json_string(b, provider, strlen(provider));
		q = b->len - 1; /* the closing quote: becomes ':' */
		err |= sled_buf_put_json_string(b, name, strlen(name));
		if (!err) {
			b->data[q] = ':';
			memmove(b->data + q + 1, b->data + q + 2, b->len - q - 2);
			b->len--;
		}
	}
	err |= sled_buf_puts(b, "},\"attributes\":[");
	for (unsigned i = 0; i < nfields; i++) {
		const struct sled_event_field *f = &ev->fields[i];

		err |= sled_buf_puts(b, "{\"key\":") | put_str(b, f->name);
		err |= sled_buf_puts(b, ",\"value\":") | field_value(b, f) | sled_buf_puts(b, "},");
		truncated |= f->type == SLED_T_STRING && f->v.str.ptr && f->v.str.truncated;
	}
	err |= str_kv(b, "sled.provider", provider, strlen(provider)) | sled_buf_putc(b, ',');
	err |= str_kv(b, "sled.name", name, strlen(name)) | sled_buf_putc(b, ',');
	err |= int_kv(b, "thread.id", ev->tid);
	if (ev->mode)
		err |= sled_buf_putc(b, ',') | str_kv(b, "sled.mode", ev->mode, strlen(ev->mode));
	if (truncated) {
		err |= sled_buf_puts(b, ",{\"key\":\"sled.truncated\",\"value\":{\"arrayValue\":"
					"{\"values\":[");
		for (unsigned i = 0; i < nfields; i++) {
			const struct sled_event_field *f = &ev->fields[i];

			if (f->type != SLED_T_STRING || !f->v.str.ptr || !f->v.str.truncated)
				continue;
			err |= sled_buf_puts(b, first ? "{\"stringValue\":" : ",{\"stringValue\":");
			err |= put_str(b, f->name) | sled_buf_putc(b, '}');
			first = false;
		}
		err |= sled_buf_puts(b, "]}}}");
	}
	err |= sled_buf_puts(b, "],\"observedTimeUnixNano\":\"") |
	       sled_buf_put_u64(b, observed_ns) | sled_buf_puts(b, "\"}");
	return err ? -ENOMEM : 0;
}

int sled_otlp_json_begin(struct sled_buf *b)
{
	return sled_buf_puts(b, "{\"resourceLogs\":[");
}

int sled_otlp_json_resource_begin(struct sled_buf *b, const struct sled_otlp_resource *r,
				  bool first)
{
	int err = 0;

	err |= sled_buf_puts(b, first ? "{\"resource\":{\"attributes\":["
				      : ",{\"resource\":{\"attributes\":[");
	err |= str_kv(b, "service.name", r->service, strlen(r->service)) | sled_buf_putc(b, ',');
	err |= int_kv(b, "process.pid", r->pid) | sled_buf_putc(b, ',');
	if (r->exe_name[0])
		err |= str_kv(b, "process.executable.name", r->exe_name, strlen(r->exe_name)) |
		       sled_buf_putc(b, ',');
	err |= str_kv(b, "host.name", r->host, strlen(r->host));
	err |= sled_buf_puts(b, "]},\"scopeLogs\":[{\"scope\":{\"name\":\"sled\"},\"logRecords\":[");
	return err ? -ENOMEM : 0;
}

int sled_otlp_json_resource_end(struct sled_buf *b)
{
	return sled_buf_puts(b, "]}]}");
}

int sled_otlp_json_end(struct sled_buf *b)
{
	return sled_buf_puts(b, "]}");
}
