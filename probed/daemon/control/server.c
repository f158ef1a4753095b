/* SPDX-License-Identifier: MIT */
/*
 * The control socket.  Clients send msgpack requests (ctl.h); each gets one reply.  The
 * peer's credentials (SO_PEERCRED) decide what it may touch: root everything, anyone
 * else only processes running under its own uid and probes it made.
 *
 * Every client is untrusted (the socket may be opened to everyone): its socket is
 * non-blocking, its requests are scanned (ctl_frame.c) and refused past the size limits
 * before anything is allocated for them, its replies queue in a buffer of bounded size
 * (past it the client is no longer read until it reads), and each loop pass serves at
 * most REQUESTS_PER_PASS requests of each client.  Limits: struct server_limits.
 *
 * This file holds the socket, the clients' I/O, the framing, the limits and the table of
 * requests; each request's handler is a file of its own (request.h lists them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/ctl_frame.h"
#include "daemon/control/request.h"
#include "daemon/core/daemon.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "daemon/core/pending.h"
#include "export/buf.h"

/* Fairness: a client with a pipeline of requests gets this many per loop pass. */
#define REQUESTS_PER_PASS 4
/* Bytes read from one client per read event. */
#define READ_CHUNK 65536
/* Connections accepted per readable event on the listen socket. */
#define ACCEPTS_PER_PASS 64
/* Of --max-clients, the last ones are root's, so root's status is answered in a flood. */
#define ROOT_RESERVE 8
/* Listening pauses this long when no fd is left even to refuse a connection. */
#define LISTEN_PAUSE_NS (100 * 1000 * 1000ull)

/* The fields each command accepts: anything else is refused, never ignored. */
static const char *const enable_keys[] = { "version", "cmd", "pattern", "pid", "binary", "mode",
					   "filter", "sample", "rate", "count_only", "pending",
					   "aggregate", "max_keys", NULL };
static const char *const disable_keys[] = { "version", "cmd", "id", "pattern", "pid", "binary",
					    NULL };
static const char *const plain_keys[] = { "version", "cmd", NULL };
static const char *const show_keys[] = { "version", "cmd", "id", "clear", NULL };
static const char *const tail_keys[] = { "version", "cmd", "pattern", "format", NULL };

/* The socket file gets its mode from the socket inode and the umask at bind time: set
 * both before bind, so that no chmod by path (which follows a symlink planted there)
 * is needed and the file never exists with a wider mode. */
static int bind_with_mode(int fd, const struct sockaddr_un *addr, unsigned mode)
{
	mode_t old;
	int rc;

	if (fchmod(fd, mode))
		return -1;
	old = umask(~mode & 0777);
	rc = bind(fd, (const struct sockaddr *)addr, sizeof(*addr));
	umask(old);
	return rc;
}

int server_listen(struct daemon *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	char err[256];
	int fd, probe;

	if (strlen(d->socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "Error: socket path too long: %s\n", d->socket_path);
		return -1;
	}
	/* A socket file nobody answers on is left over from a daemon that died: replace it. */
	probe = ctl_connect(d->socket_path, err, sizeof(err));
	if (probe >= 0) {
		close(probe);
		fprintf(stderr, "Error: another probed is already listening on %s\n", d->socket_path);
		return -1;
	}
	unlink(d->socket_path);
	strcpy(addr.sun_path, d->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind_with_mode(fd, &addr, d->socket_mode) || listen(fd, 128)) {
		fprintf(stderr, "Error: cannot listen on %s: %s\n", d->socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	d->listen_fd = fd;
	d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ev.data.fd = fd;
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void reply_begin(struct reply *r, uint32_t nkeys, bool ok)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&r->pk, nkeys + 1);
	ctl_pack_kv_bool(&r->pk, "ok", ok);
	ctl_pack_kv_i64(&r->pk, "version", CTL_PROTOCOL_VERSION);
}

/* Send what out holds without waiting; what the socket does not take stays queued. */
void client_flush(struct client *c)
{
	size_t sent = 0;

	while (c->fd >= 0 && !c->dead && sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + sent, c->out.len - sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->dead = true;
			break;
		}
		sent += (size_t)n;
	}
	if (sent) {
		memmove(c->out.data, c->out.data + sent, c->out.len - sent);
		c->out.len -= sent;
	}
}

/* Arm epoll for what the client needs now: reading while it may send (and its replies
 * are under the bound), writing while replies wait. */
static void client_arm(struct daemon *d, struct client *c)
{
	bool paused = !c->tail && c->out.len >= d->limits.client_buffer;
	uint32_t want = 0;
	struct epoll_event ev;

	if (c->fd < 0 || c->dead)
		return;
	if (paused && !c->paused)
		d->stats.paused++;
	c->paused = paused;
	if (c->tail || (!c->eof && !paused && c->in.len < d->limits.request_bytes))
		want |= EPOLLIN;
	if (c->out.len)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.fd = c->fd;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = want;
}

void reply_send(struct client *c, struct reply *r)
{
	if (sled_buf_append(&c->out, r->sb.data, r->sb.size))
		c->dead = true; /* out of memory: better lose this client than the daemon */
	msgpack_sbuffer_destroy(&r->sb);
	client_flush(c);
}

void reply_error(struct client *c, const char *fmt, ...)
{
	struct reply r;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_begin(&r, 2, false);
	ctl_pack_kv_str(&r.pk, "error", msg);
	reply_send(c, &r);
	if (c->stats)
		c->stats->refused_requests++;
}

/* A connection over a limit: told why in one reply, then closed. */
static void refuse_connection(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse_connection(int fd, const char *fmt, ...)
{
	struct client c = { .fd = fd };
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(&c, "%s", msg);
	sled_buf_free(&c.out);
	close(fd);
}

/* No fd left to accept with: the reserve fd makes room to take the connection at the
 * head of the backlog and refuse it, so the listen socket does not stay readable (which
 * would spin the loop).  Without a reserve, listening pauses for a moment. */
static void refuse_for_want_of_fds(struct daemon *d)
{
	int fd = -1;

	d->stats.refused_fds++;
	if (d->reserve_fd >= 0) {
		close(d->reserve_fd);
		fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			refuse_connection(fd, "probed is out of file descriptors: try again later");
		d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (d->reserve_fd < 0 && d->listen_resume_ns == 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listen_fd, NULL);
		d->listen_resume_ns = sled_clock_monotonic_ns() + LISTEN_PAUSE_NS;
		log_info(d, "out of file descriptors: not accepting for 100 ms");
	}
}

void server_accept(struct daemon *d)
{
	for (int i = 0; i < ACCEPTS_PER_PASS && d->listen_resume_ns == 0; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cred;
		socklen_t len = sizeof(cred);
		unsigned total = 0, mine = 0;
		struct client *c;
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				refuse_for_want_of_fds(d);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			close(fd);
			continue;
		}
		for (c = d->clients; c; c = c->next) {
			total++;
			mine += c->uid == cred.uid;
		}
		if (cred.uid != 0 && d->limits.clients_per_uid && mine >= d->limits.clients_per_uid) {
			d->stats.refused_clients_uid++;
			refuse_connection(fd, "too many connections from uid %u (limit %u, "
					  "--max-clients-per-uid)", (unsigned)cred.uid,
					  d->limits.clients_per_uid);
			continue;
		}
		if (total >= d->limits.clients ||
		    (cred.uid != 0 && total + ROOT_RESERVE >= d->limits.clients)) {
			d->stats.refused_clients++;
			refuse_connection(fd, "too many connections to probed (limit %u, --max-clients)",
					  d->limits.clients);
			continue;
		}
		if (!(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->stats = &d->stats;
		c->events = ev.events;
		ev.data.fd = fd;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
		c->next = d->clients;
		d->clients = c;
		d->stats.accepted++;
	}
}

static void client_close(struct daemon *d, struct client *c)
{
	for (struct client **pp = &d->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pending_client_gone(d, c);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	sled_buf_free(&c->in);
	sled_buf_free(&c->out);
	free(c);
}

void server_count_clients(const struct daemon *d, struct server_clients *n)
{
	*n = (struct server_clients){ 0 };
	for (const struct client *c = d->clients; c; c = c->next) {
		if (c->dead)
			continue;
		n->clients++;
		n->tails += c->tail;
		n->paused += c->paused;
	}
}

uint64_t server_limits_hit(const struct server_stats *s)
{
	return s->refused_clients + s->refused_clients_uid + s->refused_fds +
	       s->refused_too_large + s->refused_probes + s->paused + s->tail_clients_lagging;
}

/* The requests: a new one is one entry, its accepted fields and its handler. */
static const struct request_handler {
	const char *cmd;
	const char *const *keys;
	void (*handle)(struct daemon *d, struct client *c, const msgpack_object *req);
} request_handlers[] = {
	{ "enable", enable_keys, handle_enable },
	{ "disable", disable_keys, handle_disable },
	{ "status", plain_keys, handle_status },
	{ "sites", plain_keys, handle_sites },
	{ "tail", tail_keys, handle_tail },
	{ "show", show_keys, handle_show },
};

static void handle_request(struct daemon *d, struct client *c, const msgpack_object *req)
{
	const struct request_handler *h = NULL;
	int64_t version = CTL_PROTOCOL_VERSION;
	char cmd[32], err[256];
	int rc;

	/* Never wait on an agent that is gone: forget dead processes first. */
	daemon_reap(d);
	/* The version first: a client of another version may mean anything by the rest. */
	if (ctl_field_i64(req, "version", 0, INT32_MAX, &version, err, sizeof(err)) < 0) {
		d->stats.refused_version++;
		reply_error(c, "%s (probed speaks control protocol %d)", err, CTL_PROTOCOL_VERSION);
		return;
	}
	if (version != CTL_PROTOCOL_VERSION) {
		d->stats.refused_version++;
		reply_error(c, "this client speaks control protocol %lld, probed speaks %d: use the "
			    "probectl of probed's release", (long long)version, CTL_PROTOCOL_VERSION);
		return;
	}
	rc = ctl_field_str(req, "cmd", cmd, sizeof(cmd), err, sizeof(err));
	if (rc <= 0) {
		reply_error(c, "%s", rc < 0 ? err : "request without \"cmd\"");
		return;
	}
	for (size_t i = 0; i < sizeof(request_handlers) / sizeof(request_handlers[0]); i++)
		if (!strcmp(cmd, request_handlers[i].cmd))
			h = &request_handlers[i];
	if (!h) {
		reply_error(c, "unknown command '%s'", cmd);
		return;
	}
	if (ctl_check_keys(req, h->keys, err, sizeof(err))) {
		reply_error(c, "%s: %s", cmd, err);
		return;
	}
	h->handle(d, c, req);
}

/* One read of what the client sent, while its unhandled bytes are under the request
 * limit (past it the scanner has already refused or found a request). */
static void client_read(struct daemon *d, struct client *c)
{
	ssize_t n;

	if (c->eof || c->in.len >= d->limits.request_bytes || sled_buf_reserve(&c->in, READ_CHUNK))
		return;
	n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, MSG_DONTWAIT);
	if (n > 0)
		c->in.len += (size_t)n;
	else if (n == 0)
		c->eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		c->dead = true;
}

/* Serve up to REQUESTS_PER_PASS of the client's complete requests, in order.  Returns
 * true when it has more to serve now (not when it waits for its own replies to go). */
static bool client_serve(struct daemon *d, struct client *c)
{
	const struct ctl_frame_limits lim = { d->limits.request_bytes, REQUEST_MAX_ELEMENTS };

	for (int k = 0; k < REQUESTS_PER_PASS; k++) {
		msgpack_unpacked msg;
		const char *why = "bad request";
		enum ctl_frame_result fr;
		size_t len = 0;
		bool ok;

		if (c->dead || c->tail || !c->in.len)
			return false;
		/* In order: the next request waits until the one waiting on agents is answered. */
		if (pending_client_busy(d, c))
			return false;
		/* Backpressure: no more requests until the client reads its replies. */
		if (c->out.len >= d->limits.client_buffer)
			return false;
		fr = ctl_frame_scan(c->in.data, c->in.len, &lim, &len, &why);
		if (fr == CTL_FRAME_PARTIAL) {
			if (c->eof)
				c->in.len = 0; /* it can never be finished */
			return false;
		}
		if (fr != CTL_FRAME_COMPLETE) {
			if (fr == CTL_FRAME_TOO_BIG) {
				d->stats.refused_too_large++;
				reply_error(c, "%s (at most %zu bytes and %d elements; probed's "
					    "--max-request-bytes): connection closed", why,
					    d->limits.request_bytes, REQUEST_MAX_ELEMENTS);
			} else {
				d->stats.refused_malformed++;
				reply_error(c, "%s: connection closed", why);
			}
			c->dead = true;
			return false;
		}
		msgpack_unpacked_init(&msg);
		ok = msgpack_unpack_next(&msg, c->in.data, len, NULL) == MSGPACK_UNPACK_SUCCESS;
		if (ok) {
			handle_request(d, c, &msg.data);
		} else {
			d->stats.refused_malformed++;
			reply_error(c, "not msgpack: connection closed");
			c->dead = true;
		}
		msgpack_unpacked_destroy(&msg);
		memmove(c->in.data, c->in.data + len, c->in.len - len);
		c->in.len -= len;
		if (c->tail)
			c->in.len = 0; /* a tail client only reads from now on */
	}
	return c->in.len > 0;
}

bool server_client_event(struct daemon *d, int fd, uint32_t events)
{
	struct client *c = d->clients;

	while (c && c->fd != fd)
		c = c->next;
	if (!c)
		return false;
	if (events & EPOLLOUT)
		client_flush(c);
	if (c->tail) {
		/* A tail client sends nothing more; any readable event is its goodbye. */
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			c->dead = true;
	} else if (events & EPOLLIN) {
		/* Read even while a request waits on agents: the input buffer is bounded, and
		 * client_serve takes the next request only once the reply is out. */
		client_read(d, c);
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		c->dead = true;
	}
	if (c->dead) {
		client_close(d, c);
		return true;
	}
	/* Served by server_pass, in turn with the others. */
	if (c->in.len)
		d->clients_ready = true;
	client_arm(d, c);
	return true;
}

void server_pass(struct daemon *d)
{
	struct client *c, *next;
	bool more = false;

	if (d->listen_resume_ns && sled_clock_monotonic_ns() >= d->listen_resume_ns) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = d->listen_fd };

		if (d->reserve_fd < 0)
			d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		d->listen_resume_ns = 0;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->listen_fd, &ev);
	}
	for (c = d->clients; c; c = c->next)
		if (client_serve(d, c))
			more = true;
	/* Closed here only: a request being served may flush the tail clients. */
	for (c = d->clients; c; c = next) {
		next = c->next;
		if (c->dead || (c->eof && !c->in.len && !c->out.len))
			client_close(d, c);
		else
			client_arm(d, c);
	}
	d->clients_ready = more;
}

/* Its request waiting on agents was answered: serve its next requests on the next pass
 * (they may sit in its input buffer already, where epoll cannot see them). */
void server_client_resume(struct daemon *d, struct client *c)
{
	if (c->in.len)
		d->clients_ready = true;
	client_arm(d, c);
}

int server_local_request(struct daemon *d, const msgpack_object *req, char *err, size_t errlen)
{
	struct client c = { .fd = -1, .uid = 0, .stats = &d->stats };
	msgpack_unpacked reply;
	int rc = -1;

	/* A client of our own: the request goes through exactly the code a probectl request
	 * does, and its reply stays in its buffer, read back here. */
	msgpack_unpacked_init(&reply);
	handle_request(d, &c, req);
	/* Start-up, before the loop runs: the agents' answers are waited for here. */
	while (pending_client_busy(d, &c)) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		pending_tick(d);
		daemon_drain(d); /* a SIGHUP reload runs in the loop: events keep flowing */
	}
	if (c.out.len &&
	    msgpack_unpack_next(&reply, c.out.data, c.out.len, NULL) == MSGPACK_UNPACK_SUCCESS) {
		const msgpack_object *o = ctl_get(&reply.data, "ok");
		bool ok = o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;

		if (ok)
			rc = 0;
		else if (!ctl_get_str(&reply.data, "error", err, errlen))
			snprintf(err, errlen, "request failed");
	} else {
		snprintf(err, errlen, "no reply");
	}
	msgpack_unpacked_destroy(&reply);
	sled_buf_free(&c.in);
	sled_buf_free(&c.out);
	return rc;
}

void server_close(struct daemon *d)
{
	while (d->clients)
		client_close(d, d->clients);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->socket_path);
	}
	if (d->reserve_fd >= 0)
		close(d->reserve_fd);
	d->reserve_fd = -1;
}

