// SPDX-License-Identifier: MIT
/*
 * output_stream: the raw event streams over a socket, for consumers that read the same
 * bytes as the msgpack:PATH and jsonl:PATH files:
 *
 *   msgpack+tcp://HOST:PORT   msgpack+unix:PATH   a stream of msgpack maps
 *   jsonl+tcp://HOST:PORT     jsonl+unix:PATH     one JSON object per line
 *
 * No framing beyond the encoding itself and no acknowledgement: a batch counts as sent
 * once the kernel took all its bytes.  After a reconnect the batch that failed is sent
 * again whole, so a receiver may see events of a batch cut by the failure twice, never
 * half an event at the start of a connection.  Options: timeout_ms (how long a send may
 * wait for a receiver that does not read, default 5000).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netout.h"
#include "output_impl.h"

typedef int encode_fn(struct sled_buf *buf, const struct sled_event *ev);

struct stream {
	const char *kind;
	char *target;
	bool unix_socket;
	encode_fn *encode;
	int timeout_ms;
	struct sled_conn conn;
};

static const struct sled_opt stream_opts[] = {
	SLED_OPT_INT_AT("timeout_ms", struct stream, timeout_ms, 1, 600000),
};

static void *stream_create(const char *kind, encode_fn *encode, bool unix_socket,
			   const char *target, const struct sled_netout_opts *opts, char *err,
			   size_t errlen)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s) {
		sled_output_set_err(err, errlen, "out of memory");
		return NULL;
	}
	/* No well-known port: a TCP stream names its port. */
	s->target = unix_socket ? strdup(target) : sled_net_hostport(kind, target, NULL, err, errlen);
	if (!s->target) {
		if (unix_socket)
			sled_output_set_err(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	s->kind = kind;
	s->encode = encode;
	s->unix_socket = unix_socket;
	s->timeout_ms = 5000;
	s->conn = SLED_CONN_CLOSED;
	if (sled_net_opts_apply(kind, stream_opts, sizeof(stream_opts) / sizeof(stream_opts[0]), s,
				NULL, opts, err, errlen))
		goto fail;
	return s;
fail:
	free(s->target);
	free(s);
	return NULL;
}

#define STREAM_CREATE(name, kind, encode, unix_socket)                                   \
	static void *name(const char *target, const struct sled_netout_opts *opts,       \
			  char *err, size_t errlen)                                       \
	{                                                                                \
		return stream_create(kind, encode, unix_socket, target, opts, err, errlen); \
	}
STREAM_CREATE(create_msgpack_tcp, "msgpack+tcp", sled_encode_msgpack, false)
STREAM_CREATE(create_msgpack_unix, "msgpack+unix", sled_encode_msgpack, true)
STREAM_CREATE(create_jsonl_tcp, "jsonl+tcp", sled_encode_json, false)
STREAM_CREATE(create_jsonl_unix, "jsonl+unix", sled_encode_json, true)

static int stream_encode(void *proto, struct sled_buf *data, const struct sled_event *ev)
{
	struct stream *s = proto;

	return s->encode(data, ev);
}

static int stream_connect(void *proto, char *err, size_t errlen)
{
	struct stream *s = proto;
	return s->unix_socket ? sled_conn_open_unix(&s->conn, s->target, 3000, err, errlen)
			      : sled_conn_open_tcp(&s->conn, s->target, SOCK_STREAM, NULL, 3000,
						   err, errlen);
}

static int stream_send(void *proto, struct sled_batch *b, char *err, size_t errlen)
{
	struct stream *s = proto;
	return sled_conn_write_all(&s->conn, b->data.data, b->data.len, s->timeout_ms, err,
				   errlen);
}

/* A stream receiver never writes: readable means it closed (or sent junk to discard). */
static int stream_idle(void *proto, char *err, size_t errlen)
{
	struct stream *s = proto;

	return sled_conn_check_closed(&s->conn, s->kind, err, errlen);
}

static void stream_disconnect(void *proto)
{
	struct stream *s = proto;

	sled_conn_close(&s->conn);
}

static void stream_destroy(void *proto)
{
	struct stream *s = proto;

	stream_disconnect(s);
	free(s->target);
	free(s);
}

#define STREAM_OPS(name, kindstr, create_fn)                                            \
	const struct sled_proto_ops name = {                                           \
		.kind = kindstr,                                                       \
		.create = create_fn,                                                    \
		.encode = stream_encode,                                               \
		.connect = stream_connect,                                             \
		.send = stream_send,                                                   \
		.idle = stream_idle,                                                   \
		.disconnect = stream_disconnect,                                       \
		.destroy = stream_destroy,                                             \
		.idle_ms = 500,                                                        \
	}
STREAM_OPS(sled_proto_msgpack_tcp, "msgpack+tcp", create_msgpack_tcp);
STREAM_OPS(sled_proto_msgpack_unix, "msgpack+unix", create_msgpack_unix);
STREAM_OPS(sled_proto_jsonl_tcp, "jsonl+tcp", create_jsonl_tcp);
STREAM_OPS(sled_proto_jsonl_unix, "jsonl+unix", create_jsonl_unix);
