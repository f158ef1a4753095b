/* SPDX-License-Identifier: MIT */
/* metrics: see metrics.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/core/daemon.h"
#include "daemon/core/log.h"
#include "daemon/control/metrics.h"
#include "daemon/control/metrics_families.h"
#include "daemon/control/metrics_text.h"

struct metrics_conn {
	int fd;                         /* -1: free */
	uint64_t deadline_ns;
	size_t inlen;
	bool answered;                  /* reply queued: input is read and discarded */
	bool draining;                  /* reply sent, write side shut: waiting for EOF */
	char *out;
	size_t outlen, outoff;
	char in[METRICS_MAX_REQUEST];
};

struct metrics_server {
	int epfd, listen_fd, timer_fd;
	bool listen_paused;             /* out of fds: not polled until the next tick */
	bool truncating;                /* the last reply was cut at --max-metrics-bytes */
	char address[INET6_ADDRSTRLEN + 16];
	struct metrics_conn conns[METRICS_MAX_CONNS];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* "HOST:PORT" or "[V6]:PORT" into host and port; -1 when it is neither. */
static int split_address(const char *addr, char *host, size_t hostlen, char *port,
			 size_t portlen)
{
	const char *colon, *h = addr;
	size_t n;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return -1;
		h = addr + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - addr);
	}
	if (!n || n >= hostlen || !colon[1] || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, h, n);
	host[n] = 0;
	strcpy(port, colon + 1);
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	return 0;
}

static void describe(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, outlen, "%s:%u", host, port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, outlen, "[%s]:%u", host, port);
	}
}

static int listen_on(struct metrics_server *m, const char *addr, bool any, char *err,
		     size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	char host[256], port[8];
	int rc, one = 1;
	unsigned long portnum;

	if (split_address(addr, host, sizeof(host), port, sizeof(port)) ||
	    (portnum = strtoul(port, NULL, 10)) > 65535) {
		snprintf(err, errlen, "--metrics '%s': expected HOST:PORT (e.g. 127.0.0.1:9464)",
			 addr);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "--metrics '%s': %s", addr, gai_strerror(rc));
		return -1;
	}
	if (!any && !is_loopback(res->ai_addr)) {
		snprintf(err, errlen, "--metrics '%s': not a loopback address; the figures name "
			 "every user's probes: add --metrics-any to serve other hosts", addr);
		freeaddrinfo(res);
		return -1;
	}
	m->listen_fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0 ||
	    setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->listen_fd, res->ai_addr, res->ai_addrlen) || listen(m->listen_fd, 64) ||
	    getsockname(m->listen_fd, (struct sockaddr *)&bound, &blen)) {
		snprintf(err, errlen, "--metrics '%s': %s", addr, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	describe((struct sockaddr *)&bound, m->address, sizeof(m->address));
	return 0;
}

int metrics_open(struct metrics_server **out, const char *addr, bool any, int epfd, char *err,
		 size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };

	*out = NULL;
	if (!m) {
		snprintf(err, errlen, "--metrics: out of memory");
		return -1;
	}
	m->epfd = epfd;
	m->listen_fd = m->timer_fd = -1;
	for (unsigned i = 0; i < METRICS_MAX_CONNS; i++)
		m->conns[i].fd = -1;
	if (listen_on(m, addr, any, err, errlen))
		goto fail;
	/* Once a second: connections past their deadline go, a paused listen resumes. */
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->timer_fd < 0 || timerfd_settime(m->timer_fd, 0, &tick, NULL)) {
		snprintf(err, errlen, "--metrics: timerfd: %s", strerror(errno));
		goto fail;
	}
	ev.data.fd = m->listen_fd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, m->listen_fd, &ev);
	ev.data.fd = m->timer_fd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, m->timer_fd, &ev);
	*out = m;
	return 0;
fail:
	metrics_close(m);
	return -1;
}

const char *metrics_address(const struct metrics_server *m)
{
	return m->address;
}

/* Stop accepting: all connections busy, or no fd to accept with.  The kernel's backlog
 * (bounded) holds the next clients meanwhile; level-triggered, the listen fd would
 * otherwise wake the loop in a spin. */
static void listen_pause(struct metrics_server *m)
{
	if (!m->listen_paused)
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->listen_fd, NULL);
	m->listen_paused = true;
}

/* A connection closed, or a tick: accept again (paused again at once if still full). */
static void listen_resume(struct metrics_server *m)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = m->listen_fd };

	if (m->listen_paused && !epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd, &ev))
		m->listen_paused = false;
}

static void conn_close(struct metrics_server *m, struct metrics_conn *c)
{
	close(c->fd); /* leaves the epoll set with it */
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	listen_resume(m);
}

/* Write what the socket takes; then shut the write side and wait for the client's EOF
 * (closing with its unread input, a POST body, would reset the connection and could
 * destroy the reply before it is read). */
static void conn_write(struct metrics_server *m, struct metrics_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = c->fd };

	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev.events = EPOLLIN | EPOLLOUT;
			epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (n <= 0) {
			conn_close(m, c);
			return;
		}
		c->outoff += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void reply(struct metrics_server *m, struct metrics_conn *c, const char *status,
		  const char *extra_headers, const char *type, const char *body, size_t bodylen)
{
	int head;

	c->answered = true;
	head = snprintf(NULL, 0, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"%sConnection: close\r\n\r\n", status, type, bodylen, extra_headers);
	c->out = malloc((size_t)head + 1 + bodylen);
	if (!c->out) {
		conn_close(m, c);
		return;
	}
	snprintf(c->out, (size_t)head + 1, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: "
		 "%zu\r\n%sConnection: close\r\n\r\n", status, type, bodylen, extra_headers);
	memcpy(c->out + head, body, bodylen);
	c->outlen = (size_t)head + bodylen;
	c->outoff = 0;
	conn_write(m, c);
}

static void reply_text(struct metrics_server *m, struct metrics_conn *c, const char *status,
		       const char *extra_headers, const char *body)
{
	reply(m, c, status, extra_headers, "text/plain; charset=utf-8", body, strlen(body));
}

/* A whole header is in c->in (NUL-terminated): answer it. */
static void handle_request(struct metrics_server *m, struct metrics_conn *c, struct daemon *d)
{
	char method[16], target[1024], version[16];
	size_t pathlen;
	struct metrics_text t;

	/* The request line: METHOD SP TARGET SP HTTP/1.x */
	if (sscanf(c->in, "%15[A-Za-z] %1023[^ \r\n] %15[^ \r\n]", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		reply_text(m, c, "400 Bad Request", "", "bad request line\n");
		return;
	}
	if (strcmp(method, "GET")) {
		reply_text(m, c, "405 Method Not Allowed", "Allow: GET\r\n", "only GET\n");
		return;
	}
	pathlen = strcspn(target, "?");
	if (pathlen != strlen("/metrics") || strncmp(target, "/metrics", pathlen)) {
		reply_text(m, c, "404 Not Found", "", "not found: the figures are at /metrics\n");
		return;
	}
	metrics_text_init(&t);
	metrics_text_cap(&t, d->limits.metrics_bytes);
	metrics_collect(&t, d);
	metrics_text_finish(&t);
	if (t.truncated) {
		d->stats.metrics_truncated++;
		/* Once per episode: a scrape every few seconds would otherwise repeat it. */
		if (!m->truncating)
			fprintf(stderr, "probed: GET /metrics: reply cut at %zu bytes "
				"(--max-metrics-bytes): series left out, sled_metrics_truncated 1 "
				"until a reply fits again\n", d->limits.metrics_bytes);
	} else if (m->truncating) {
		log_info(d, "GET /metrics: the reply fits in --max-metrics-bytes again");
	}
	m->truncating = t.truncated;
	if (t.failed)
		reply_text(m, c, "500 Internal Server Error", "", "out of memory\n");
	else
		reply(m, c, "200 OK", "", "text/plain; version=0.0.4; charset=utf-8",
		      t.out.data ? t.out.data : "", t.out.len);
	metrics_text_free(&t);
}

static bool header_complete(const struct metrics_conn *c)
{
	return memmem(c->in, c->inlen, "\r\n\r\n", 4) || memmem(c->in, c->inlen, "\n\n", 2);
}

static void conn_read(struct metrics_server *m, struct metrics_conn *c, struct daemon *d)
{
	for (;;) {
		char discard[4096];
		/* One byte kept for the terminating NUL. */
		size_t room = sizeof(c->in) - 1 - c->inlen;
		bool discarding = c->answered || !room;
		ssize_t n = discarding ? recv(c->fd, discard, sizeof(discard), MSG_DONTWAIT)
				       : recv(c->fd, c->in + c->inlen, room, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == 0 && c->answered && !c->draining) {
			/* The client shut its side after the request: finish the reply. */
			struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->fd };

			epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (n <= 0) { /* EOF or error: nothing more to say to this client */
			conn_close(m, c);
			return;
		}
		if (discarding)
			continue;
		c->inlen += (size_t)n;
		c->in[c->inlen] = 0;
		if (header_complete(c)) {
			handle_request(m, c, d);
			if (c->fd < 0)
				return;
		} else if (c->inlen == sizeof(c->in) - 1) {
			reply_text(m, c, "400 Bad Request", "", "request header too large\n");
			if (c->fd < 0)
				return;
		}
	}
}

static void accept_all(struct metrics_server *m)
{
	for (;;) {
		struct metrics_conn *c = NULL;
		struct epoll_event ev = { .events = EPOLLIN };
		int fd;

		for (unsigned i = 0; i < METRICS_MAX_CONNS && !c; i++)
			if (m->conns[i].fd < 0)
				c = &m->conns[i];
		if (!c) {
			listen_pause(m);
			return;
		}
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		ev.data.fd = fd;
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				listen_pause(m); /* until the next tick */
			return;
		}
		memset(c, 0, offsetof(struct metrics_conn, in));
		c->fd = fd;
		c->deadline_ns = now_ns() + METRICS_TIMEOUT_S * 1000000000ull;
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev))
			conn_close(m, c);
	}
}

static void tick(struct metrics_server *m)
{
	uint64_t expirations, now = now_ns();

	if (read(m->timer_fd, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: a spurious wake-up; the checks below are cheap */
	}
	for (unsigned i = 0; i < METRICS_MAX_CONNS; i++)
		if (m->conns[i].fd >= 0 && now >= m->conns[i].deadline_ns)
			conn_close(m, &m->conns[i]);
	listen_resume(m);
}

bool metrics_event(struct metrics_server *m, struct daemon *d, int fd, uint32_t events)
{
	if (!m)
		return false;
	if (fd == m->listen_fd) {
		accept_all(m);
		return true;
	}
	if (fd == m->timer_fd) {
		tick(m);
		return true;
	}
	for (unsigned i = 0; i < METRICS_MAX_CONNS; i++) {
		struct metrics_conn *c = &m->conns[i];

		if (c->fd != fd)
			continue;
		if ((events & EPOLLOUT) && c->answered && !c->draining)
			conn_write(m, c);
		if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			conn_read(m, c, d);
		return true;
	}
	return false;
}

void metrics_close(struct metrics_server *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < METRICS_MAX_CONNS; i++)
		if (m->conns[i].fd >= 0)
			conn_close(m, &m->conns[i]);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	free(m);
}
