/* SPDX-License-Identifier: MIT */
/*
 * request: what the control server (server.c) and its request handlers (enable.c,
 * disable.c, status.c, sites.c, show.c, tail.c) share: the client, the reply helpers,
 * the scope of enable and disable.  Internal to daemon/control/.
 */
#ifndef SLED_CONTROL_REQUEST_H
#define SLED_CONTROL_REQUEST_H

#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl/ctl.h"
#include "daemon/core/daemon.h"
#include "export/buf.h"

/* A request's array items and map entries, all levels: requests have a dozen fields. */
#define REQUEST_MAX_ELEMENTS 256

struct client {
	int fd; /* -1: server_local_request's client, whose reply stays in out */
	uid_t uid;
	struct sled_buf in;  /* request bytes not yet handled */
	struct sled_buf out; /* replies or tail lines not yet sent */
	uint32_t events;     /* what epoll waits for */
	bool eof;            /* the client sends no more */
	bool dead;           /* to close at the next occasion */
	bool paused;         /* not read: its replies wait to be read */
	bool tail, tail_json;
	char tail_pattern[CTL_PATTERN_MAX];
	uint64_t tail_dropped; /* events lost since the client was last told */
	struct server_stats *stats; /* the daemon's, where refusals are counted */
	struct client *next;
};

/* Reply helpers: a map of nkeys entries whose first is "ok" (reply_begin adds
 * "version" to them). */
struct reply {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};
void reply_begin(struct reply *r, uint32_t nkeys, bool ok);
/* Queue the reply on the client and send what the socket takes now. */
void reply_send(struct client *c, struct reply *r);
/* A one-line error reply, counted as a refused request. */
void reply_error(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send what the client's out holds without waiting; what the socket does not take stays
 * queued. */
void client_flush(struct client *c);

static inline bool may_touch(const struct client *c, const struct traced_proc *p)
{
	return c->uid == 0 || c->uid == p->uid;
}

/* Shared argument parsing of enable and disable. */
struct scope_args {
	char pattern[256];
	char binary[PATH_MAX];
	int64_t pid;
	bool has_pattern;
};
/* The "pattern", "pid" and "binary" of a request: 0, or -1 with the error replied. */
int parse_scope(struct client *c, const msgpack_object *req, struct scope_args *a);

/* The requests' handlers, one file each (the dispatch table is server.c's). */
void handle_enable(struct daemon *d, struct client *c, const msgpack_object *req);
void handle_disable(struct daemon *d, struct client *c, const msgpack_object *req);
void handle_status(struct daemon *d, struct client *c, const msgpack_object *req);
void handle_sites(struct daemon *d, struct client *c, const msgpack_object *req);
void handle_show(struct daemon *d, struct client *c, const msgpack_object *req);
void handle_tail(struct daemon *d, struct client *c, const msgpack_object *req);

#endif /* SLED_CONTROL_REQUEST_H */
