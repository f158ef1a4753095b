// SPDX-License-Identifier: MIT
/*
 * net_util: bounded connect, write and read for the network outputs' worker threads.
 *
 * Sockets stay blocking (the worker has nothing else to do while it waits) but every
 * wait goes through poll with a deadline, so a receiver that stops answering costs a
 * worker at most its timeout, never the daemon's drain thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net_tls.h"
#include "netout.h"
#include "output_impl.h"
#include "common/mono_clock.h"


int sled_net_wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - sled_clock_monotonic_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Connect fd to addr within the deadline (non-blocking connect, then blocking again). */
static int connect_bounded(int fd, const struct sockaddr *addr, socklen_t len, int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL), err = 0;
	socklen_t elen = sizeof(err);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (connect(fd, addr, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		err = sled_net_wait_fd(fd, POLLOUT, sled_clock_monotonic_ms() + timeout_ms);
		if (err)
			return err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return -errno;
		if (err)
			return -err;
	}
	if (fcntl(fd, F_SETFL, flags) < 0)
		return -errno;
	return 0;
}

/* Split "HOST:PORT" / "[V6]:PORT" into host and port. */
static int split_hostport(const char *hp, char *host, size_t hostlen, char *port,
			  size_t portlen)
{
	const char *colon, *h = hp;
	size_t n;

	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = hp + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - hp);
	}
	if (n == 0 || n >= hostlen || !colon[1] || strlen(colon + 1) >= portlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	return 0;
}

static int connect_tcp(const char *hostport, int type, int timeout_ms, char *err,
			 size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = type };
	struct addrinfo *res, *ai;
	char host[256], port[16];
	int r, fd = -1, last = -ECONNREFUSED;

	if (split_hostport(hostport, host, sizeof(host), port, sizeof(port))) {
		sled_output_set_err(err, errlen, "bad address '%s': expected HOST:PORT", hostport);
		return -EINVAL;
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		sled_output_set_err(err, errlen, "resolve %s: %s", host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = -errno;
			continue;
		}
		last = connect_bounded(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		if (!last)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		sled_output_set_err(err, errlen, "connect %s: %s", hostport, strerror(-last));
		return last;
	}
	if (type == SOCK_STREAM) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	return fd;
}

static int connect_unix(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		sled_output_set_err(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		sled_output_set_err(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	r = connect_bounded(fd, (struct sockaddr *)&sa, sizeof(sa), timeout_ms);
	if (r) {
		sled_output_set_err(err, errlen, "connect %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

int sled_conn_open_tcp(struct sled_conn *c, const char *hostport, int type,
		       const struct sled_tls *tls, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = sled_clock_monotonic_ms() + timeout_ms;
	int fd = connect_tcp(hostport, type, timeout_ms, err, errlen), r, flags;

	c->fd = fd;
	c->ssl = NULL;
	if (fd < 0 || !tls)
		return fd < 0 ? fd : 0;
	/* OpenSSL reads and writes the socket itself: make it non-blocking, so that every
	 * wait is ours (poll with the deadline). */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r = -errno;
		sled_output_set_err(err, errlen, "fcntl: %s", strerror(errno));
	} else {
		r = sled_tls_handshake(tls, c, deadline, err, errlen);
	}
	if (r)
		sled_conn_close(c);
	return r;
}

int sled_conn_open_unix(struct sled_conn *c, const char *path, int timeout_ms, char *err,
			size_t errlen)
{
	c->ssl = NULL;
	c->fd = connect_unix(path, timeout_ms, err, errlen);
	return c->fd < 0 ? c->fd : 0;
}

void sled_conn_close(struct sled_conn *c)
{
	sled_tls_close(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int sled_conn_write_all(struct sled_conn *c, const void *p, size_t len, int timeout_ms,
			char *err, size_t errlen)
{
	int64_t deadline = sled_clock_monotonic_ms() + timeout_ms;
	const char *b = p;

	if (c->ssl)
		return sled_tls_write_all(c, p, len, deadline, err, errlen);
	while (len) {
		ssize_t n = send(c->fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (n > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			r = -errno;
			sled_output_set_err(err, errlen, "send: %s", strerror(errno));
			return r;
		}
		r = sled_net_wait_fd(c->fd, POLLOUT, deadline);
		if (r) {
			sled_output_set_err(err, errlen, "send: %s",
					    r == -ETIMEDOUT ? "receiver not reading (timed out)"
							    : strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Bytes read (> 0), 0 at the end of the stream (a clean close), or -errno with err. */
static ssize_t conn_read(struct sled_conn *c, void *p, size_t cap, int timeout_ms, char *err,
			 size_t errlen)
{
	int64_t deadline = sled_clock_monotonic_ms() + timeout_ms;

	if (c->ssl)
		return sled_tls_read_some(c, p, cap, deadline, err, errlen);
	for (;;) {
		ssize_t n = recv(c->fd, p, cap, MSG_DONTWAIT);
		int r;

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			r = -errno;
			sled_output_set_err(err, errlen, "recv: %s", strerror(errno));
			return r;
		}
		r = sled_net_wait_fd(c->fd, POLLIN, deadline);
		if (r) {
			sled_output_set_err(err, errlen, "recv: %s",
					    r == -ETIMEDOUT ? "no answer (timed out)"
							    : strerror(-r));
			return r;
		}
	}
}

ssize_t sled_conn_read_some(struct sled_conn *c, void *p, size_t cap, int timeout_ms,
			    char *err, size_t errlen)
{
	ssize_t n = conn_read(c, p, cap, timeout_ms, err, errlen);

	if (n == 0) {
		sled_output_set_err(err, errlen, "receiver closed the connection");
		return -ECONNRESET;
	}
	return n;
}

int sled_conn_check_closed(struct sled_conn *c, const char *kind, char *err, size_t errlen)
{
	char junk[512], why[160];

	for (;;) {
		ssize_t n = conn_read(c, junk, sizeof(junk), 0, why, sizeof(why));

		if (n > 0)
			continue;
		if (n == -ETIMEDOUT)
			return 0;
		if (n == 0) { /* a clean close: the receiver had read all we wrote */
			sled_output_set_err(err, errlen, "%s: receiver closed the connection", kind);
			return -ECONNABORTED;
		}
		sled_output_set_err(err, errlen, "%s: %s", kind, why);
		return (int)n;
	}
}

char *sled_net_hostport(const char *kind, const char *t, const char *default_port, char *err,
			size_t errlen)
{
	const char *port = NULL, *end;
	char *out;

	if (t[0] == '[') {
		end = strchr(t, ']');
		if (end && end[1] == ':')
			port = end + 2;
		else if (!end || end[1])
			end = NULL;
	} else {
		end = strchr(t, ':');
		if (end && strchr(end + 1, ':'))
			end = NULL; /* a bare IPv6 address */
		else if (end)
			port = end + 1;
		else
			end = t + strlen(t);
	}
	if (port && (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
		     atol(port) < 1 || atol(port) > 65535))
		end = NULL;
	if (!end || end == t || (!port && !default_port)) {
		sled_output_set_err(err, errlen,
				    "%s: bad address '%s': expected %s://HOST%s (IPv6 as [ADDR]:PORT)",
				    kind, t, kind, default_port ? "[:PORT]" : ":PORT");
		return NULL;
	}
	if (port)
		out = strdup(t);
	else if ((out = malloc(strlen(t) + strlen(default_port) + 2)))
		sprintf(out, "%s:%s", t, default_port);
	if (!out)
		sled_output_set_err(err, errlen, "out of memory");
	return out;
}
