/* SPDX-License-Identifier: MIT */
/*
 * http_client: the small HTTP/1.1 client under the OTLP/HTTP output (output_otlp.c).
 * Private to probed/export.
 *
 * One request at a time on a struct sled_conn (netout.h: TCP or TLS), kept open between
 * requests (keep-alive) unless the server says it closes.  A request carries its body
 * with Content-Length; a response is read whole: status line, headers, and a body framed
 * by Content-Length, chunked transfer coding, or the end of the connection.  Everything
 * the server sends is bounded: the head by SLED_HTTP_HEAD_MAX, the body kept by
 * SLED_HTTP_BODY_MAX (a longer body is cut there and the connection closed after it),
 * and the whole exchange by the caller's timeout.
 */
#ifndef SLED_EXPORT_HTTP_CLIENT_H
#define SLED_EXPORT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"

struct sled_conn;

#define SLED_HTTP_HEAD_MAX (16 * 1024)
#define SLED_HTTP_BODY_MAX (64 * 1024)

struct sled_http_response {
	int status;                /* 100..999 */
	char reason[64];           /* the reason phrase, cut */
	int64_t retry_after_s;     /* Retry-After in seconds, -1 when absent or a date */
	bool close;                /* the connection cannot be used again */
	char content_type[64];     /* "" when absent */
	size_t head_len;           /* bytes of status line and headers, 0 until complete */
	/* The body (chunked coding removed), at most SLED_HTTP_BODY_MAX bytes kept;
	 * body_cut when there was more. */
	struct sled_buf body;
	bool body_cut;
};

/*
 * Parse the response at the start of buf[0..len).  1 when it is complete (*used bytes),
 * 0 when more bytes are needed (head_len and status are set once the head is complete),
 * -EPROTO when it is not HTTP/1.x.  at_eof: the connection ended after len bytes (a body
 * without a length ends there).  Interim 1xx responses are skipped.  The body is kept in
 * r->body (reset at each call); free it with sled_buf_free.
 */
int sled_http_parse_response(const char *buf, size_t len, bool at_eof,
			     struct sled_http_response *r, size_t *used);

/*
 * POST body[0..len) to path with the headers Host, Content-Type, Content-Length,
 * Content-Encoding when content_encoding is not NULL, and extra_headers (NULL, or
 * "Name: value\r\n" lines the caller checked), then read the response into *r
 * (free r->body after).  0 once a response was read (whatever its status), or -errno
 * with a one-line reason in err, e.g. "http: 127.0.0.1:4318: recv: no answer (timed
 * out)"; the caller closes the connection then.  -ECONNRESET or -EPIPE: the server
 * closed the connection before answering (for a reused connection, maybe while idle).
 */
int sled_http_post(struct sled_conn *c, const char *host, const char *path,
		   const char *content_type, const char *content_encoding,
		   const char *extra_headers, const void *body, size_t len, int timeout_ms,
		   struct sled_http_response *r, char *err, size_t errlen);

#endif /* SLED_EXPORT_HTTP_CLIENT_H */
