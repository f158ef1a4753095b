/* SPDX-License-Identifier: MIT */
/*
 * metrics: probed --metrics HOST:PORT, GET /metrics for Prometheus (the text format of
 * metrics_text.c, the figures of metrics_families.c) over plain HTTP/1.x.
 *
 * Loopback only unless allowed (--metrics-any): the figures name every user's probes.
 * Inside the daemon's one event loop, so nothing blocks it: non-blocking sockets, at most
 * METRICS_MAX_CONNS connections (more wait in the kernel's listen backlog until one
 * closes: accepting pauses), a request header of
 * at most METRICS_MAX_REQUEST bytes (400 beyond), METRICS_TIMEOUT_S seconds for a client
 * to send its request and read the reply, the reply built in memory (at most
 * --max-metrics-bytes: past it the series are cut and sled_metrics_truncated is 1, counted
 * in status's refused.metrics_bytes) and written as the socket takes it.  Anything but
 * GET is 405, any path but /metrics 404; one request per connection (Connection: close).
 */
#ifndef SLED_METRICS_H
#define SLED_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_CONNS   16
#define METRICS_MAX_REQUEST 8192
#define METRICS_TIMEOUT_S   5

struct daemon;
struct metrics_server;

/* Listen on addr ("HOST:PORT", "[V6]:PORT"); its fds join epfd.  A non-loopback address
 * is refused unless any.  0, or -1 with a one-line reason in err. */
int metrics_open(struct metrics_server **out, const char *addr, bool any, int epfd, char *err,
		 size_t errlen);
/* The address listened on, port resolved ("127.0.0.1:9464"). */
const char *metrics_address(const struct metrics_server *m);
/* An epoll event: returns false when fd is not one of the endpoint's. */
bool metrics_event(struct metrics_server *m, struct daemon *d, int fd, uint32_t events);
void metrics_close(struct metrics_server *m);

#endif /* SLED_METRICS_H */
