// SPDX-License-Identifier: MIT
/*
 * http_client: an HTTP/1.1 POST and its response, bounded (see http_client.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http_client.h"
#include "netout.h"
#include "output_impl.h"

/* Read size: responses are small; the cap below bounds the total. */
#define READ_CHUNK 4096
/* What is read of one response at most: a head, a kept body and chunk framing. */
#define RESPONSE_MAX (SLED_HTTP_HEAD_MAX + SLED_HTTP_BODY_MAX + 4096)

/* The end of the line at p (the '\r' of its CRLF, or a bare '\n'), or NULL. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (!nl)
		return NULL;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

static const char *next_line(const char *eol)
{
	return *eol == '\r' ? eol + 2 : eol + 1;
}

/* value[0..n) with spaces and tabs trimmed on both sides, into out (cut to cap - 1). */
static void copy_trimmed(char *out, size_t cap, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/* Whether the comma-separated list has the token tok (case-insensitive). */
static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!strncasecmp(p, tok, n) && (!p[n] || p[n] == ',' || p[n] == ' ' ||
						p[n] == '\t'))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

/* Decimal digits only, at most 18 of them (no overflow): the value, or -1. */
static int64_t parse_decimal(const char *s)
{
	int64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return -1;
	for (; *s; s++)
		v = v * 10 + (*s - '0');
	return v;
}

struct head {
	int minor;              /* HTTP/1.minor */
	int64_t content_length; /* -1: none */
	bool chunked, conn_close, keep_alive;
};

/* The head at buf[0..len) (ends with the empty line): 0 or -EPROTO. */
static int parse_head(const char *buf, size_t len, struct sled_http_response *r,
		      struct head *h)
{
	const char *p = buf, *end = buf + len, *eol = line_end(p, end);
	char value[256];

	/* "HTTP/1.x SSS reason" */
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) || !isdigit((unsigned char)p[7]) ||
	    p[8] != ' ' || !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]) || (eol - p > 12 && p[12] != ' ') || p[9] == '0')
		return -EPROTO;
	h->minor = p[7] - '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	copy_trimmed(r->reason, sizeof(r->reason), p + 12 < eol ? p + 13 : eol,
		     p + 12 < eol ? (size_t)(eol - p - 13) : 0);
	h->content_length = -1;
	h->chunked = h->conn_close = h->keep_alive = false;
	r->retry_after_s = -1;
	r->content_type[0] = '\0';
	for (p = next_line(eol); (eol = line_end(p, end)) && eol != p; p = next_line(eol)) {
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		size_t nlen;

		if (*p == ' ' || *p == '\t') /* obsolete line folding: ignore the piece */
			continue;
		if (!colon || colon == p)
			return -EPROTO;
		nlen = (size_t)(colon - p);
		copy_trimmed(value, sizeof(value), colon + 1, (size_t)(eol - colon - 1));
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(p, name, nlen))
		if (IS("content-length")) {
			int64_t v = parse_decimal(value);

			if (v < 0 || (h->content_length >= 0 && h->content_length != v))
				return -EPROTO;
			h->content_length = v;
		} else if (IS("transfer-encoding")) {
			/* chunked must be the last coding; any other is not for us */
			if (!has_token(value, "chunked"))
				return -EPROTO;
			h->chunked = true;
		} else if (IS("connection")) {
			h->conn_close |= has_token(value, "close");
			h->keep_alive |= has_token(value, "keep-alive");
		} else if (IS("retry-after")) {
			r->retry_after_s = parse_decimal(value); /* an HTTP-date: -1 */
		} else if (IS("content-type")) {
			copy_trimmed(r->content_type, sizeof(r->content_type), value, strlen(value));
		}
#undef IS
	}
	return 0;
}

/* Keep body bytes, up to SLED_HTTP_BODY_MAX. */
static int keep(struct sled_http_response *r, const char *p, size_t n)
{
	size_t room = SLED_HTTP_BODY_MAX - r->body.len;

	if (n > room) {
		n = room;
		r->body_cut = true;
	}
	return sled_buf_append(&r->body, p, n);
}

/* The chunked body at p[0..end): 1 complete (*used set), 0 more needed, -EPROTO. */
static int parse_chunked(const char *p, const char *end, struct sled_http_response *r,
			 const char **used)
{
	for (;;) {
		const char *eol = line_end(p, end), *q = p;
		uint64_t size = 0;

		if (!eol)
			return end - p > 1024 ? -EPROTO : 0;
		if (q == eol || !isxdigit((unsigned char)*q))
			return -EPROTO;
		for (; q < eol && isxdigit((unsigned char)*q); q++) {
			if (size >> 56)
				return -EPROTO;
			size = size * 16 + (uint64_t)(isdigit((unsigned char)*q)
							      ? *q - '0'
							      : (tolower((unsigned char)*q) - 'a' + 10));
		}
		if (q < eol && *q != ';' && *q != ' ' && *q != '\t')
			return -EPROTO;
		p = next_line(eol);
		if (size == 0) { /* trailers, then the empty line */
			while ((eol = line_end(p, end)) && eol != p)
				p = next_line(eol);
			if (!eol)
				return 0;
			*used = next_line(eol);
			return 1;
		}
		if ((uint64_t)(end - p) < size + 2)
			return 0;
		if (keep(r, p, (size_t)size))
			return -ENOMEM;
		p += size;
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (p[0] == '\n')
			p += 1;
		else
			return -EPROTO;
	}
}

int sled_http_parse_response(const char *buf, size_t len, bool at_eof,
			     struct sled_http_response *r, size_t *used)
{
	const char *p = buf, *end = buf + len;

	r->head_len = 0;
	r->body.len = 0;
	r->body_cut = false;
	for (;;) {
		const char *q = p, *eol, *body, *done = NULL;
		struct head h;
		int rc;

		/* The head ends at the first empty line. */
		while ((eol = line_end(q, end)) && eol != q)
			q = next_line(eol);
		if (!eol)
			return end - p > SLED_HTTP_HEAD_MAX ? -EPROTO : 0;
		body = next_line(eol);
		if (body - p > SLED_HTTP_HEAD_MAX)
			return -EPROTO;
		rc = parse_head(p, (size_t)(body - p), r, &h);
		if (rc)
			return rc;
		if (r->status >= 100 && r->status < 200 && r->status != 101) {
			p = body; /* 100 Continue, 103 Early Hints: the real answer follows */
			continue;
		}
		r->head_len = (size_t)(body - buf);
		r->close = h.conn_close || (h.minor == 0 && !h.keep_alive) || r->status == 101;
		if (r->status == 204 || r->status == 304) {
			done = body;
		} else if (h.chunked) {
			rc = parse_chunked(body, end, r, &done);
			if (rc <= 0)
				return rc;
		} else if (h.content_length >= 0) {
			if ((uint64_t)(end - body) < (uint64_t)h.content_length)
				return 0;
			if (keep(r, body, (size_t)h.content_length))
				return -ENOMEM;
			done = body + h.content_length;
		} else {
			/* No framing: the body is what comes until the server closes. */
			r->close = true;
			if (!at_eof)
				return 0;
			if (keep(r, body, (size_t)(end - body)))
				return -ENOMEM;
			done = end;
		}
		*used = (size_t)(done - buf);
		return 1;
	}
}

int sled_http_post(struct sled_conn *c, const char *host, const char *path,
		   const char *content_type, const char *content_encoding,
		   const char *extra_headers, const void *body, size_t len, int timeout_ms,
		   struct sled_http_response *r, char *err, size_t errlen)
{
	int64_t deadline = sled_net_mono_ms() + timeout_ms;
	struct sled_buf req = { 0 }, in = { 0 };
	char why[160] = "";
	size_t used = 0;
	int rc = 0;

	rc |= sled_buf_puts(&req, "POST ");
	rc |= sled_buf_puts(&req, path);
	rc |= sled_buf_puts(&req, " HTTP/1.1\r\nHost: ");
	rc |= sled_buf_puts(&req, host);
	rc |= sled_buf_puts(&req, "\r\nUser-Agent: sled-probed\r\nContent-Type: ");
	rc |= sled_buf_puts(&req, content_type);
	if (content_encoding) {
		rc |= sled_buf_puts(&req, "\r\nContent-Encoding: ");
		rc |= sled_buf_puts(&req, content_encoding);
	}
	rc |= sled_buf_puts(&req, "\r\nContent-Length: ");
	rc |= sled_buf_put_u64(&req, len);
	rc |= sled_buf_puts(&req, "\r\n");
	if (extra_headers)
		rc |= sled_buf_puts(&req, extra_headers);
	rc |= sled_buf_puts(&req, "\r\n");
	if (rc) {
		sled_buf_free(&req);
		sled_output_set_err(err, errlen, "http: out of memory");
		return -ENOMEM;
	}
	rc = sled_conn_write_all(c, req.data, req.len, timeout_ms, why, sizeof(why));
	if (!rc && len)
		rc = sled_conn_write_all(c, body, len,
					 (int)(deadline - sled_net_mono_ms() > 0
						       ? deadline - sled_net_mono_ms() : 1),
					 why, sizeof(why));
	sled_buf_free(&req);
	while (!rc) {
		int64_t left = deadline - sled_net_mono_ms();
		ssize_t n;

		if (sled_buf_reserve(&in, READ_CHUNK)) {
			rc = -ENOMEM;
			snprintf(why, sizeof(why), "out of memory");
			break;
		}
		n = sled_conn_read_some(c, in.data + in.len, READ_CHUNK, left > 0 ? (int)left : 0,
					why, sizeof(why));
		if (n > 0)
			in.len += (size_t)n;
		rc = sled_http_parse_response(in.data, in.len, n == -ECONNRESET && in.len, r,
					      &used);
		if (rc == 1) {
			/* Bytes after the answer were never asked for: do not reuse. */
			r->close |= used != in.len;
			rc = 0;
			break;
		}
		if (rc < 0) {
			snprintf(why, sizeof(why), rc == -EPROTO ? "not an HTTP/1.x response"
								 : "out of memory");
			break;
		}
		if (n < 0) {
			rc = (int)n;
			if (r->head_len && n == -ECONNRESET)
				snprintf(why, sizeof(why), "connection closed inside the response body");
			break;
		}
		if (in.len >= RESPONSE_MAX) {
			if (r->head_len) { /* a status and a long body: take the status */
				r->body_cut = r->close = true;
				rc = 0;
				break;
			}
			rc = -EPROTO;
			snprintf(why, sizeof(why), "response head longer than %d bytes",
				 SLED_HTTP_HEAD_MAX);
		}
	}
	sled_buf_free(&in);
	if (rc)
		sled_output_set_err(err, errlen, "http: %s", why);
	return rc;
}
