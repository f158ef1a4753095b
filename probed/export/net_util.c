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

#include "netout.h"
#include "output_impl.h"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
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
		err = wait_fd(fd, POLLOUT, mono_ms() + timeout_ms);
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

int sled_net_connect_tcp(const char *hostport, int type, int timeout_ms, char *err,
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

int sled_net_connect_unix(const char *path, int timeout_ms, char *err, size_t errlen)
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

int sled_net_write_all(int fd, const void *p, size_t len, int timeout_ms, char *err,
		       size_t errlen)
{
	int64_t deadline = mono_ms() + timeout_ms;
	const char *c = p;

	while (len) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (n > 0) {
			c += n;
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
		r = wait_fd(fd, POLLOUT, deadline);
		if (r) {
			sled_output_set_err(err, errlen, "send: %s",
					    r == -ETIMEDOUT ? "receiver not reading (timed out)"
							    : strerror(-r));
			return r;
		}
	}
	return 0;
}

ssize_t sled_net_read_some(int fd, void *p, size_t cap, int timeout_ms, char *err,
			   size_t errlen)
{
	int64_t deadline = mono_ms() + timeout_ms;

	for (;;) {
		ssize_t n = recv(fd, p, cap, MSG_DONTWAIT);
		int r;

		if (n > 0)
			return n;
		if (n == 0) {
			sled_output_set_err(err, errlen, "receiver closed the connection");
			return -ECONNRESET;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			r = -errno;
			sled_output_set_err(err, errlen, "recv: %s", strerror(errno));
			return r;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r) {
			sled_output_set_err(err, errlen, "recv: %s",
					    r == -ETIMEDOUT ? "no answer (timed out)"
							    : strerror(-r));
			return r;
		}
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

int sled_net_opt_u64(const char *kind, const char *key, const char *value, uint64_t min,
		     uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (!*value || *end || errno || value[0] == '-' || v < min || v > max) {
		sled_output_set_err(err, errlen, "%s: bad %s '%s': expected %llu..%llu", kind, key,
				    value, (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}
