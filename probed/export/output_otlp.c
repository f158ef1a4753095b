// SPDX-License-Identifier: MIT
/*
 * output_otlp: events as OpenTelemetry logs over OTLP/HTTP.
 *
 *   otlp://HOST[:PORT]       plain HTTP/1.1 (port 4318 when none is given)
 *   otlp+tls://HOST[:PORT]   the same over TLS (https); options of net_tls.h
 *
 * Each batch is one POST of an ExportLogsServiceRequest to /v1/logs: protobuf
 * (application/x-protobuf) by default, OTLP's JSON encoding (application/json) with
 * json=1; gzip=1 compresses the body (Content-Encoding: gzip).  The events of one
 * process form one ResourceLogs with the resource attributes service.name (the traced
 * program's name, or option service=), process.pid, process.executable.name and
 * host.name (gethostname, or option hostname=), and one ScopeLogs of scope "sled"; each
 * event is a LogRecord as otlp_proto.h describes.
 *
 * Options: json=1, gzip=1, service=NAME, hostname=NAME, path=/PATH (default /v1/logs),
 * header=NAME:VALUE (an HTTP header added to every request, e.g. for a token; repeatable,
 * up to 8; status shows its value as ***), timeout_ms=N (a request's whole exchange,
 * default 10000), and queue=, batch= (netout.h).
 *
 * Responses, as the OTLP specification says: 2xx delivered (a partial success's
 * rejected_log_records are counted as dropped, its error_message shown in status);
 * 429, 502, 503 and 504 are retried with exponential backoff (netout: 100 ms doubling to
 * 5 s), or after the Retry-After seconds the receiver asked (at most 60 s); any other
 * status drops the batch, counted as dropped with the status and the start of the
 * receiver's message in status.  A connection the receiver closed while idle is
 * reopened and the request sent again at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http_client.h"
#include "net_tls.h"
#include "netout.h"
#include "otlp_proto.h"
#include "output_impl.h"
#include "proc_name.h"

#define DEFAULT_PORT       "4318"
#define DEFAULT_PATH       "/v1/logs"
#define DEFAULT_TIMEOUT_MS 10000
#define RETRY_AFTER_MAX_S  60
#define NAME_MAX_LEN       255
#define MAX_HEADERS        8
#define HEADER_MAX         1024

struct otlp_out {
	const char *kind;
	char *target;                  /* "HOST:PORT", also the Host header */
	char path[256];
	bool json, gzip;
	int timeout_ms;
	char service[NAME_MAX_LEN + 1]; /* option service=, "" for the program's name */
	char host[NAME_MAX_LEN + 1];    /* host.name */
	struct sled_tls *tls;           /* otlp+tls: the context, else NULL */
	struct sled_buf headers;        /* option header=: "Name: value\r\n" lines, NUL-ended */
	unsigned nheaders;

	/* Worker only. */
	struct sled_conn conn;
	bool reused;                    /* conn has served a request already */
	int retry_ms;                   /* what the last retryable answer asked for */
	struct sled_buf scratch;        /* the request before gzip */

	/* Drain thread only. */
	struct sled_proc_names names;
};

/*
 * A batch's data is a sequence of records, one per event, each
 *   u32 payload length, i32 pid, u8 name length, name, payload
 * where payload is the LogRecord (protobuf content or JSON object) and name the
 * program's name: the worker groups records by process into ResourceLogs.
 */
#define REC_HEAD 9

/* HTTP's token characters (RFC 9110), for header names. */
static bool http_token(const char *s, size_t n)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c >= '0' && c <= '9') && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
		    !strchr(extra, c))
			return false;
	}
	return true;
}

/* Option header=NAME:VALUE: 0, or -EINVAL with err. */
static int add_header(void *state, const char *kind, const char *value, char *err,
		      size_t errlen)
{
	struct otlp_out *s = state;
	const char *colon = strchr(value, ':'), *v;
	size_t n = colon ? (size_t)(colon - value) : 0;

	if (!colon || !http_token(value, n) || strlen(value) > HEADER_MAX ||
	    !strncasecmp(value, "content-", 8) || (n == 4 && !strncasecmp(value, "host", 4)) ||
	    (n == 17 && !strncasecmp(value, "transfer-encoding", 17))) {
		sled_output_set_err(err, errlen,
				    "%s: bad header '%.40s': expected NAME:VALUE, NAME a token other than Host, Content-* and Transfer-Encoding",
				    kind, value);
		return -EINVAL;
	}
	for (v = colon + 1; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f) {
			sled_output_set_err(err, errlen,
					    "%s: bad header '%.*s': control characters in its value",
					    kind, (int)n, value);
			return -EINVAL;
		}
	if (s->nheaders == MAX_HEADERS) {
		sled_output_set_err(err, errlen, "%s: more than %d header= options", kind,
				    MAX_HEADERS);
		return -EINVAL;
	}
	v = colon + 1 + strspn(colon + 1, " \t");
	if (sled_buf_append(&s->headers, value, n) | sled_buf_puts(&s->headers, ": ") |
	    sled_buf_puts(&s->headers, v) | sled_buf_append(&s->headers, "\r\n", 3)) {
		sled_output_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->headers.len--; /* the NUL stays after the text */
	s->nheaders++;
	return 0;
}

/* Option path=/PATH: where the receiver takes logs. */
static int set_path(void *state, const char *kind, const char *value, char *err,
		    size_t errlen)
{
	struct otlp_out *s = state;

	if (value[0] != '/' || strlen(value) >= sizeof(s->path) || strpbrk(value, " \t\r\n")) {
		sled_output_set_err(err, errlen,
				    "%s: bad path '%s': expected /PATH without spaces (default %s)",
				    kind, value, DEFAULT_PATH);
		return -EINVAL;
	}
	strcpy(s->path, value);
	return 0;
}

static const struct sled_opt otlp_opts[] = {
	SLED_OPT_FLAG_AT("json", struct otlp_out, json),
	SLED_OPT_FLAG_AT("gzip", struct otlp_out, gzip),
	SLED_OPT_TEXT_AT("service", struct otlp_out, service),
	SLED_OPT_TEXT_AT("hostname", struct otlp_out, host),
	SLED_OPT_CALL("path", set_path),
	SLED_OPT_CALL("header", add_header),
	SLED_OPT_INT_AT("timeout_ms", struct otlp_out, timeout_ms, 1, 600000),
};

static void *otlp_create(const char *kind, bool tls, const char *target,
			 const struct sled_netout_opts *opts, char *err, size_t errlen)
{
	struct otlp_out *s = calloc(1, sizeof(*s));
	struct sled_tls_opts tls_opts = { 0 };

	if (!s) {
		sled_output_set_err(err, errlen, "out of memory");
		return NULL;
	}
	s->target = sled_net_hostport(kind, target, DEFAULT_PORT, err, errlen);
	if (!s->target) {
		free(s);
		return NULL;
	}
	s->kind = kind;
	s->timeout_ms = DEFAULT_TIMEOUT_MS;
	s->conn = SLED_CONN_CLOSED;
	strcpy(s->path, DEFAULT_PATH);
	if (sled_net_opts_apply(kind, otlp_opts, sizeof(otlp_opts) / sizeof(otlp_opts[0]), s,
				tls ? &tls_opts : NULL, opts, err, errlen))
		goto fail;
	if (!s->host[0]) {
		if (gethostname(s->host, sizeof(s->host) - 1) < 0 || !s->host[0])
			strcpy(s->host, "unknown");
		s->host[sizeof(s->host) - 1] = '\0';
	}
	if (tls && !(s->tls = sled_tls_new(kind, &tls_opts, s->target, err, errlen)))
		goto fail;
	return s;
fail:
	sled_buf_free(&s->headers);
	free(s->target);
	free(s);
	return NULL;
}

static void *create_plain(const char *target, const struct sled_netout_opts *opts, char *err,
			  size_t errlen)
{
	return otlp_create("otlp", false, target, opts, err, errlen);
}

static void *create_tls(const char *target, const struct sled_netout_opts *opts, char *err,
			size_t errlen)
{
	return otlp_create("otlp+tls", true, target, opts, err, errlen);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int otlp_encode(void *proto, struct sled_buf *data, const struct sled_event *ev)
{
	struct otlp_out *s = proto;
	const char *name = sled_proc_name(&s->names, ev);
	size_t start = data->len, nlen = strlen(name);
	int32_t pid = ev->pid;
	uint32_t len;
	uint8_t n8;
	int err;

	if (nlen > 255)
		nlen = 255;
	n8 = (uint8_t)nlen;
	err = sled_buf_reserve(data, REC_HEAD + nlen);
	if (err)
		return err;
	data->len += 4; /* the payload length, set below */
	memcpy(data->data + data->len, &pid, 4);
	data->data[data->len + 4] = (char)n8;
	memcpy(data->data + data->len + 5, name, nlen);
	data->len += 5 + nlen;
	err = s->json ? sled_otlp_json_log_record(data, ev, realtime_ns())
		      : sled_otlp_log_record(data, ev, realtime_ns());
	if (err) {
		data->len = start;
		return -ENOMEM;
	}
	len = (uint32_t)(data->len - start - REC_HEAD - nlen);
	memcpy(data->data + start, &len, 4);
	return 0;
}

struct rec {
	int32_t pid;
	uint8_t nlen;
	const char *name, *payload;
	uint32_t len;
};

static void rec_at(const char *p, struct rec *r)
{
	memcpy(&r->len, p, 4);
	memcpy(&r->pid, p + 4, 4);
	r->nlen = (uint8_t)p[8];
	r->name = p + REC_HEAD;
	r->payload = r->name + r->nlen;
}

static size_t rec_size(const struct rec *r)
{
	return REC_HEAD + r->nlen + r->len;
}

/* The request of batch b into out: one resource per (pid, program name), in the order
 * of their first event. */
static int build_request(struct otlp_out *s, const struct sled_batch *b, struct sled_buf *out)
{
	const char *p = b->data.data, *end = p + b->data.len;
	bool first_res = true;
	int err = s->json ? sled_otlp_json_begin(out) : 0;

	/* Each resource's records are marked done (pid set to 0 in a copy of the heads):
	 * O(records x resources), bounded by the batch size. */
	size_t n = b->nevents;
	char *done = calloc(n ? n : 1, 1);

	if (!done)
		return -ENOMEM;
	for (size_t i = 0, off = 0; off < b->data.len && !err; i++) {
		struct rec lead;
		struct sled_otlp_resource res;
		char name[256];
		size_t marks[2];
		bool first_rec = true;

		rec_at(p + off, &lead);
		if (done[i]) {
			off += rec_size(&lead);
			continue;
		}
		memcpy(name, lead.name, lead.nlen);
		name[lead.nlen] = '\0';
		res.pid = lead.pid;
		res.exe_name = name;
		res.service = s->service[0] ? s->service : name[0] ? name : "unknown_service";
		res.host = s->host;
		err |= s->json ? sled_otlp_json_resource_begin(out, &res, first_res)
			       : sled_otlp_resource_begin(out, &res, marks);
		first_res = false;
		for (size_t j = i, o = off; p + o < end; j++) {
			struct rec r;

			rec_at(p + o, &r);
			o += rec_size(&r);
			if (done[j] || r.pid != lead.pid || r.nlen != lead.nlen ||
			    memcmp(r.name, lead.name, r.nlen))
				continue;
			done[j] = 1;
			if (s->json) {
				if (!first_rec)
					err |= sled_buf_putc(out, ',');
				err |= sled_buf_append(out, r.payload, r.len);
			} else {
				err |= sled_otlp_add_record(out, r.payload, r.len);
			}
			first_rec = false;
		}
		err |= s->json ? sled_otlp_json_resource_end(out) : sled_otlp_resource_end(out, marks);
		off += rec_size(&lead);
	}
	if (s->json)
		err |= sled_otlp_json_end(out);
	free(done);
	return err ? -ENOMEM : 0;
}

/* The body of b, built once: a batch sent again goes out the same. */
static int frame(struct otlp_out *s, struct sled_batch *b, char *err, size_t errlen)
{
	int r;

	if (b->framed)
		return 0;
	b->frame.len = 0;
	s->scratch.len = 0;
	r = build_request(s, b, s->gzip ? &s->scratch : &b->frame);
	if (r) {
		sled_output_set_err(err, errlen, "%s: out of memory", s->kind);
		return r;
	}
	if (s->gzip && (r = sled_gzip_into(&s->scratch, &b->frame, err, errlen)))
		return r;
	if (s->scratch.cap > 4 * 1024 * 1024)
		sled_buf_free(&s->scratch); /* do not keep a huge one around */
	b->framed = true;
	return 0;
}

static int otlp_connect(void *proto, char *err, size_t errlen)
{
	struct otlp_out *s = proto;

	s->reused = false;
	return sled_conn_open_tcp(&s->conn, s->target, SOCK_STREAM, s->tls, 3000, err, errlen);
}

/* A varint at *p (below end): 0, or -1 when malformed. */
static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

/*
 * The partial_success (field 1) of an ExportLogsServiceResponse in protobuf:
 * rejected_log_records (1) and error_message (2, into msg).  Other fields are skipped;
 * a malformed body counts as a full success (the status said so).
 */
static void partial_success_pb(const struct sled_buf *body, int64_t *rejected, char *msg,
			       size_t msglen)
{
	const unsigned char *p = (const unsigned char *)body->data, *end = p + body->len;
	bool inside = false;

	while (p < end) {
		uint64_t key, v;

		if (read_varint(&p, end, &key))
			return;
		switch (key & 7) {
		case 0:
			if (read_varint(&p, end, &v))
				return;
			if (inside && key >> 3 == 1)
				*rejected = (int64_t)v;
			break;
		case 1:
		case 5:
			if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
				return;
			p += (key & 7) == 1 ? 8 : 4;
			break;
		case 2:
			if (read_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return;
			if (!inside && key >> 3 == 1) {
				inside = true;
				end = p + v;
				break;
			}
			if (inside && key >> 3 == 2)
				snprintf(msg, msglen, "%.*s", (int)(v < 120 ? v : 120),
					 (const char *)p);
			p += v;
			break;
		default:
			return;
		}
	}
}

static void partial_success(const struct otlp_out *s, const struct sled_buf *body,
			    int64_t *rejected, char *msg, size_t msglen)
{
	*rejected = 0;
	msg[0] = '\0';
	if (!s->json) {
		partial_success_pb(body, rejected, msg, msglen);
		return;
	}
	/* JSON: {"partialSuccess":{"rejectedLogRecords":"N","errorMessage":"..."}} */
	if (body->len) {
		char text[SLED_HTTP_BODY_MAX + 1], *k;

		memcpy(text, body->data, body->len);
		text[body->len] = '\0';
		k = strstr(text, "\"rejectedLogRecords\"");
		if (k && (k = strchr(k + 20, ':'))) {
			k += strspn(k + 1, " \t\r\n\"") + 1;
			*rejected = strtoll(k, NULL, 10);
		}
		k = strstr(text, "\"errorMessage\"");
		if (k && (k = strchr(k + 14, '"'))) {
			char *q = strchr(k + 1, '"');

			snprintf(msg, msglen, "%.*s", q ? (int)(q - k - 1 < 120 ? q - k - 1 : 120) : 0,
				 k + 1);
		}
	}
}

/* The first line of the receiver's message, cut, for status: printable bytes only. */
static void body_excerpt(const struct sled_buf *body, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < body->len && n + 1 < cap && n < 100; i++) {
		unsigned char c = (unsigned char)body->data[i];

		if (c == '\n' || c == '\r')
			break;
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

static int otlp_send(void *proto, struct sled_batch *b, char *err, size_t errlen)
{
	struct otlp_out *s = proto;
	struct sled_http_response resp = { 0 };
	char why[160];
	int r = frame(s, b, err, errlen);

	s->retry_ms = 0;
	if (r)
		return r;
	for (int attempt = 0;; attempt++) {
		bool reused = s->reused;

		/* A kept-alive connection the receiver closed since: do not write into it. */
		if (s->conn.fd >= 0 && reused &&
		    sled_conn_check_closed(&s->conn, s->kind, why, sizeof(why))) {
			sled_conn_close(&s->conn);
			s->reused = reused = false;
		}
		if (s->conn.fd < 0) {
			r = otlp_connect(s, err, errlen);
			if (r)
				return r;
		}
		r = sled_http_post(&s->conn, s->target, s->path,
				   s->json ? "application/json" : "application/x-protobuf",
				   s->gzip ? "gzip" : NULL, s->nheaders ? s->headers.data : NULL,
				   b->frame.data, b->frame.len,
				   s->timeout_ms, &resp, why, sizeof(why));
		if (!r)
			break;
		sled_conn_close(&s->conn);
		s->reused = false;
		/* The receiver closed a kept-alive connection while it was idle: once more. */
		if (reused && attempt == 0 && (r == -ECONNRESET || r == -EPIPE))
			continue;
		sled_output_set_err(err, errlen, "%s: %s: %s", s->kind, s->target, why);
		sled_buf_free(&resp.body);
		return r;
	}
	s->reused = !resp.close;
	if (resp.close)
		sled_conn_close(&s->conn);
	if (resp.status >= 200 && resp.status < 300) {
		int64_t rejected;
		char msg[128];

		partial_success(s, &resp.body, &rejected, msg, sizeof(msg));
		if (rejected > 0) {
			b->rejected = rejected > b->nevents ? b->nevents : (uint32_t)rejected;
			sled_output_set_err(err, errlen, "%s: receiver rejected %lld log records: %s",
					    s->kind, (long long)rejected, msg[0] ? msg : "(no message)");
		}
		sled_buf_free(&resp.body);
		return 0;
	}
	body_excerpt(&resp.body, why, sizeof(why));
	if (resp.status == 429 || resp.status == 502 || resp.status == 503 ||
	    resp.status == 504) {
		int64_t after = resp.retry_after_s;

		if (after > RETRY_AFTER_MAX_S)
			after = RETRY_AFTER_MAX_S;
		s->retry_ms = after > 0 ? (int)after * 1000 : 0;
		if (after >= 0)
			sled_output_set_err(err, errlen, "%s: HTTP %d %s (retry after %lld s)",
					    s->kind, resp.status, resp.reason, (long long)after);
		else
			sled_output_set_err(err, errlen, "%s: HTTP %d %s (will retry)", s->kind,
					    resp.status, resp.reason);
		sled_buf_free(&resp.body);
		return -EAGAIN;
	}
	/* Not retryable: the batch is dropped, and status says why. */
	b->rejected = b->nevents;
	sled_output_set_err(err, errlen, "%s: HTTP %d %s, %u log records dropped%s%s", s->kind,
			    resp.status, resp.reason, b->nevents, why[0] ? ": " : "", why);
	sled_buf_free(&resp.body);
	return 0;
}

static int otlp_retry_ms(void *proto)
{
	return ((struct otlp_out *)proto)->retry_ms;
}

/* A kept-alive connection the receiver closed is closed here too, quietly: the next
 * batch opens a new one. */
static int otlp_idle(void *proto, char *err, size_t errlen)
{
	struct otlp_out *s = proto;

	if (s->conn.fd >= 0 && sled_conn_check_closed(&s->conn, s->kind, err, errlen)) {
		sled_conn_close(&s->conn);
		s->reused = false;
		err[0] = '\0';
	}
	return 0;
}

static void otlp_disconnect(void *proto)
{
	struct otlp_out *s = proto;

	sled_conn_close(&s->conn);
	s->reused = false;
}

static void otlp_destroy(void *proto)
{
	struct otlp_out *s = proto;

	otlp_disconnect(s);
	sled_buf_free(&s->scratch);
	sled_buf_free(&s->headers);
	sled_tls_free(s->tls);
	free(s->target);
	free(s);
}

/* Plain and TLS share every operation but their creation. */
#define OTLP_PROTO_OPS(KIND, CREATE)                                                       \
	{                                                                                  \
		.kind = KIND, .create = CREATE, .encode = otlp_encode,                     \
		.connect = otlp_connect, .send = otlp_send, .retry_ms = otlp_retry_ms,     \
		.idle = otlp_idle, .disconnect = otlp_disconnect, .destroy = otlp_destroy, \
		.idle_ms = 1000,                                                           \
	}

const struct sled_proto_ops sled_proto_otlp = OTLP_PROTO_OPS("otlp", create_plain);
const struct sled_proto_ops sled_proto_otlp_tls = OTLP_PROTO_OPS("otlp+tls", create_tls);
