/* SPDX-License-Identifier: MIT */
/*
 * netout: outputs that deliver events over a connection (TCP, unix socket, UDP), for
 * Fluent Forward, syslog and the raw msgpack / JSON-lines streams.  Private to
 * probed/export.
 *
 * The daemon drains every traced process from one thread, which must never wait for a
 * receiver.  So a network output is split in two:
 *
 *   drain thread   encodes each event (proto->encode) into an open batch; batches are
 *                  closed at every flush (after each drain pass, so every few ms) or when
 *                  full, and pushed onto a bounded queue.  A batch that does not fit the
 *                  queue is dropped whole and its events counted as dropped: the only
 *                  lock is the queue's mutex, held for a list operation.
 *   worker thread  one per output: connects (proto->connect, including any handshake),
 *                  sends the batch at the head of the queue (proto->send, which returns
 *                  once the receiver has it, or has acknowledged it when the protocol
 *                  acknowledges), and only then removes it.  On any failure it
 *                  disconnects, waits (backoff 100 ms doubling to 5 s), reconnects and
 *                  sends the same batch again: with acknowledgements that is
 *                  at-least-once delivery across receiver restarts.  The backoff is
 *                  reset by a delivered batch (a receiver that accepts connections and
 *                  refuses every batch is retried less and less often), and a receiver
 *                  may ask for a longer wait (proto->retry_ms).
 *
 * A protocol is a struct sled_proto_ops (output_forward.c, output_syslog.c,
 * output_stream.c) plus a line in output.c's table.  Its callbacks run in two threads:
 * create/key/encode/destroy in the drain thread (destroy after the worker stopped),
 * connect/send/idle/disconnect in the worker.  State touched by both must be immutable
 * after create.
 *
 * Spec syntax: KIND:TARGET[?key=value&key=value...], e.g.
 *   forward://127.0.0.1:24224?ack=1&gzip=1&tag=sled.{provider}.{name}
 *   syslog+udp://127.0.0.1:514?facility=local0
 * Options every network output takes (parsed here, not by protocols):
 *   queue=N   events held for the receiver at most (default 262144)
 *   batch=N   events per batch at most (default 4096)
 * Every other option goes to proto->create, which reads them through its table of options
 * (net_opts.h: sled_net_opts_apply) and so rejects the ones it does not know.
 */
#ifndef SLED_EXPORT_NETOUT_H
#define SLED_EXPORT_NETOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/mono_clock.h"
#include "net_opts.h"
#include "output.h"

/* A batch of encoded events, all with the same key (proto->key). */
struct sled_batch {
	struct sled_batch *next;
	const char *key;      /* proto->key's string for these events, or NULL */
	struct sled_buf data; /* proto->encode's output for each event, concatenated */
	uint32_t nevents;
	uint64_t seq;         /* 1, 2, 3... per output: for chunk ids and logs */
	/* For the protocol's use in the worker, e.g. a framed or compressed copy built at
	 * the first send and reused when the batch is sent again; freed with the batch. */
	struct sled_buf frame;
	bool framed;
	/* Set by proto->send before it returns >= 0: events of the batch the receiver refused
	 * for good (OTLP's 400, or a partial success), counted as dropped instead of sent,
	 * with send's err as the reason in status. */
	uint32_t rejected;
};

struct sled_proto_ops {
	const char *kind; /* "forward", for messages */
	/* Drain thread.  Parse target (what follows "KIND:" without the options) and the
	 * options: the protocol's state, or NULL with a one-line reason in err, e.g.
	 * "forward: unknown option 'gzp' (ack, gzip, tag, shared_key, ...)". */
	void *(*create)(const char *target, const struct sled_netout_opts *opts, char *err,
			size_t errlen);
	/* Drain thread.  Events with different keys go to different batches (Forward: the
	 * tag).  NULL: any batch.  The string must stay valid until destroy. */
	const char *(*key)(void *proto, const struct sled_event *ev);
	/* Drain thread.  Append one event to data: 0, or -errno with data unchanged. */
	int (*encode)(void *proto, struct sled_buf *data, const struct sled_event *ev);
	/* Worker.  Open the connection and do any handshake.  0, or -errno with a one-line
	 * reason in err ("connect 127.0.0.1:24224: Connection refused").  May block, bounded
	 * by timeouts of a few seconds. */
	int (*connect)(void *proto, char *err, size_t errlen);
	/* Worker.  Deliver batch b on the open connection: 1 once the receiver acknowledged
	 * it, 0 once it was written (protocols without acknowledgement), -errno with a reason
	 * in err on failure (then the worker disconnects and later sends b again). */
	int (*send)(void *proto, struct sled_batch *b, char *err, size_t errlen);
	/* Worker, after send failed: how long the receiver asked us to wait before the next
	 * try (HTTP's Retry-After), in ms, or 0 for the usual backoff.  NULL: always 0. */
	int (*retry_ms)(void *proto);
	/* Worker, after idle_ms without a batch to send: keep the connection alive or notice
	 * it died (Forward heartbeat, reading EOF).  0, or -errno: the worker disconnects and
	 * reconnects.  NULL: nothing to do. */
	int (*idle)(void *proto, char *err, size_t errlen);
	/* Worker.  Close the connection if open (safe to call when not). */
	void (*disconnect)(void *proto);
	/* Drain thread, after the worker stopped. */
	void (*destroy)(void *proto);
	int idle_ms; /* how often idle is called while nothing is sent; 0 = 1000 */
};

/* output_forward.c, output_syslog.c, output_stream.c, output_otlp.c */
extern const struct sled_proto_ops sled_proto_forward, sled_proto_forward_unix;
extern const struct sled_proto_ops sled_proto_forward_tls;
extern const struct sled_proto_ops sled_proto_syslog_tcp, sled_proto_syslog_udp;
extern const struct sled_proto_ops sled_proto_syslog_tls;
extern const struct sled_proto_ops sled_proto_msgpack_tcp, sled_proto_msgpack_unix;
extern const struct sled_proto_ops sled_proto_jsonl_tcp, sled_proto_jsonl_unix;
extern const struct sled_proto_ops sled_proto_otlp, sled_proto_otlp_tls;

struct sled_netout;

/* Start a network output for spec = "KIND:TARGET[?options]" with protocol ops: NULL with
 * errno and a one-line reason in err on bad options or when the thread cannot start.
 * Does not connect: an unreachable receiver is a state in the stats, not an error. */
struct sled_netout *sled_netout_open(const struct sled_proto_ops *ops, const char *spec,
				     char *err, size_t errlen);
void sled_netout_write(struct sled_netout *n, const struct sled_event *ev);
/* Close the open batches and queue them (drain thread, after each drain pass). */
void sled_netout_flush(struct sled_netout *n);
void sled_netout_stats(struct sled_netout *n, struct sled_output_stats *st);
/* Queue what is open, give the worker up to linger_ms to deliver the queue, stop it; what
 * is still queued then is counted as dropped.  Stats stay readable; later writes are
 * queued and never sent (counted as dropped at close). */
void sled_netout_stop(struct sled_netout *n, int linger_ms);
/* Stop (without lingering, if not stopped already) and free. */
void sled_netout_close(struct sled_netout *n);

/*
 * Connections for protocols (net_util.c; TLS in net_tls.c).  All return 0 or -errno with
 * a one-line reason in err, and are bounded by timeout_ms.
 */
struct sled_tls;
struct ssl_st;
struct sled_conn {
	int fd;             /* -1 when closed */
	struct ssl_st *ssl; /* the TLS session over fd, NULL for plain connections */
};
#define SLED_CONN_CLOSED ((struct sled_conn){ .fd = -1 })

/* Connect to "HOST:PORT" (HOST may be a name, an IPv4 address or [IPv6]); type
 * SOCK_STREAM or SOCK_DGRAM; close-on-exec, TCP_NODELAY and keepalive for streams.  With
 * tls (streams only), the handshake too, within the same timeout. */
int sled_conn_open_tcp(struct sled_conn *c, const char *hostport, int type,
		       const struct sled_tls *tls, int timeout_ms, char *err, size_t errlen);
int sled_conn_open_unix(struct sled_conn *c, const char *path, int timeout_ms, char *err,
			size_t errlen);
/* Close if open (safe to call when not). */
void sled_conn_close(struct sled_conn *c);
/* Write all len bytes (never SIGPIPE for plain sockets: MSG_NOSIGNAL). */
int sled_conn_write_all(struct sled_conn *c, const void *p, size_t len, int timeout_ms,
			char *err, size_t errlen);
/* Read up to cap bytes once data is there: bytes read (> 0), -ECONNRESET at EOF,
 * -ETIMEDOUT (at once when timeout_ms is 0 and nothing has arrived). */
ssize_t sled_conn_read_some(struct sled_conn *c, void *p, size_t cap, int timeout_ms,
			    char *err, size_t errlen);
/* For receivers that never write (syslog, the streams): discard what arrived, 0 while the
 * connection is open, -ECONNABORTED once the receiver closed it cleanly (it read all we
 * wrote), -errno (-ECONNRESET, ...) when it went away otherwise. */
int sled_conn_check_closed(struct sled_conn *c, const char *kind, char *err, size_t errlen);

/* Deadlines are CLOCK_MONOTONIC ms (common/mono_clock.h); a poll for events on fd until
 * that deadline: 0, or -ETIMEDOUT / -errno. */
#define sled_net_mono_ms sled_clock_monotonic_ms
int sled_net_wait_fd(int fd, short events, int64_t deadline);

/* The TCP target of kind's spec (what follows "KIND://"): "HOST:PORT", "HOST", "[V6]:PORT"
 * or "[V6]", as "HOST:PORT" in a new string, with default_port when none is given (NULL:
 * the port is required).  NULL with the reason in err, e.g. "syslog: bad address 'h:x':
 * expected syslog://HOST[:PORT] (IPv6 as [ADDR]:PORT)".  Default ports, by kind:
 *   syslog 514 (TCP and UDP alike), syslog+tls 6514 (RFC 5425), forward and
 *   forward+tls 24224, otlp and otlp+tls 4318 (OTLP/HTTP); msgpack+tcp and jsonl+tcp
 *   have no well-known port. */
char *sled_net_hostport(const char *kind, const char *t, const char *default_port, char *err,
			size_t errlen);
/* gzip (one member, fast level) of in, appended to out: 0, or -errno with err
 * (output_forward.c; the otlp output uses it too). */
int sled_gzip_into(const struct sled_buf *in, struct sled_buf *out, char *err,
		   size_t errlen);

#endif /* SLED_EXPORT_NETOUT_H */
