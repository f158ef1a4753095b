/* SPDX-License-Identifier: MIT */
/*
 * daemon: probed's state and the pieces of its event loop.
 *
 *   core/main.c       options, start-up, the epoll loop, shutdown
 *   core/engine.c     drain, apply, reap, load uprobe mode: what the parts below ask of
 *                     the core (engine.h), so that none of them calls into main.c
 *   core/log.c        -v lines;  core/probes.c  standing enables;  core/config.c  -c FILE
 *   core/pending.c    enables and disables waiting on agents, driven by the loop
 *   core/decode.c     a record's values -> struct sled_event, for both modes
 *   control/server.c  the control socket: clients, framing, limits, the request table;
 *                     each request's handler in its own file (control/request.h)
 *   control/report.c  the replies' maps: probes, processes, sites, the daemon's figures
 *   control/mode_part.c  each mode's part of a probe as disable, status and sites see it
 *   control/metrics.c --metrics: GET /metrics over HTTP; metrics_families.c the figures
 *                     it serves, metrics_text.c the exposition format
 *   sled/procs.c      attached processes;  sled/block.c  their blocks;  sled/drain.c  rings
 *   sled/shm_compile.c  a discovered site -> its slot in the block
 *   uprobe/uprobe.c   the BPF side;  uprobe/uprobe_auto.c  processes without libsled
 */
#ifndef SLED_DAEMON_H
#define SLED_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "daemon/core/clock.h"
#include "export/output.h"
#include "daemon/core/probes.h"
#include "daemon/sled/procs.h"

#define MAX_OUTPUTS 16

struct client;
struct metrics_server;
struct uprobe_ctx;

/* What control clients (and, for objects_memory, traced processes) may make probed
 * spend; every one is set by an option or a config directive of the same name, and
 * documented in docs/SECURITY.md. */
struct server_limits {
	size_t request_bytes;     /* --max-request-bytes: one request, encoded */
	unsigned clients;         /* --max-clients: connections in all (the last 8 are root's) */
	unsigned clients_per_uid; /* --max-clients-per-uid: a non-root uid's connections */
	unsigned probes_per_uid;  /* --max-probes-per-uid: a non-root uid's standing probes */
	size_t client_buffer;     /* --client-buffer: replies or tail lines queued per client */
	size_t objects_memory;    /* --max-objects-memory: parsed ELF objects held (objcache.h) */
	size_t metrics_bytes;     /* --max-metrics-bytes: one GET /metrics reply's text */
};
#define SERVER_LIMITS_DEFAULT \
	{ 65536, 256, 32, 256, 1u << 20, SLED_OBJCACHE_DEFAULT_MAX_BYTES, 16u << 20 }

/* What the limits refused, for status ("daemon"). */
struct server_stats {
	uint64_t accepted;
	uint64_t refused_clients;     /* over --max-clients */
	uint64_t refused_clients_uid; /* over --max-clients-per-uid */
	uint64_t refused_fds;         /* accept failed for want of file descriptors */
	uint64_t refused_too_large;   /* over --max-request-bytes or the element limit */
	uint64_t refused_malformed;   /* not a msgpack map: the connection is dropped */
	uint64_t refused_probes;      /* over --max-probes-per-uid */
	uint64_t refused_version;     /* another control-protocol version */
	uint64_t refused_requests;    /* every error reply, the above included */
	uint64_t paused;              /* clients stopped being read until they read replies */
	uint64_t tail_lost;           /* events a slow tail client did not get */
	uint64_t tail_clients_lagging; /* times a tail client started losing events */
	uint64_t metrics_truncated;   /* /metrics replies cut at --max-metrics-bytes */
};
struct uprobe_auto;
struct pending_req;
struct reload;

struct daemon {
	struct procs procs;
	struct probes probes;
	struct sled_clock clock;
	struct sled_output *outputs[MAX_OUTPUTS];
	unsigned noutputs;
	struct client *clients;
	struct server_limits limits;
	struct server_stats stats;
	int reserve_fd;            /* kept open to accept-and-refuse when fds run out */
	uint64_t listen_resume_ns; /* listening paused until then (no fd to refuse with) */
	bool clients_ready;        /* a client has a request buffered: no sleeping */
	struct pending_req *pending; /* requests waiting on agents (pending.c) */
	struct uprobe_ctx *uprobe; /* loaded at the first uprobe-mode enable */
	struct uprobe_auto *uauto; /* no-scope probes' uprobe part (uprobe_auto.c) */
	struct metrics_server *metrics; /* --metrics: the Prometheus endpoint, or NULL */
	struct reload *reload;     /* the -c file, applied again on SIGHUP (reload.c) */
	const char *socket_path;
	unsigned socket_mode;
	int epfd, listen_fd, inotify_fd, signal_fd;
	uint64_t last_beat_ns;
	uint64_t rescan_at_ns;  /* a block appeared but was not ready: look again then */
	uint64_t events;        /* drained since start */
	uint32_t fill_permille; /* the fullest ring at the last drain pass, of its size */
	uint64_t flow_ns;       /* the last drain pass that found events */
	bool stop;
	bool verbose;
};

/* server.c */
int server_listen(struct daemon *d);
void server_accept(struct daemon *d);
/* Data or hang-up on a client fd; returns false if fd is not a client. */
bool server_client_event(struct daemon *d, int fd, uint32_t events);
/* Copy one event to the tail clients that may see it: events of processes running under
 * owner (root sees all).  The tail stream is control/tail.c's. */
void server_tail_event(struct daemon *d, const struct sled_event *ev, uid_t owner);
void server_flush_tails(struct daemon *d);
/* Once per loop pass: at most a few requests from each client that has some buffered
 * (one client's pipeline never starves the others); resumes a paused listen socket.
 * d->clients_ready says whether requests are still waiting. */
void server_pass(struct daemon *d);
/* A client's pending request was answered: read its next requests again. */
void server_client_resume(struct daemon *d, struct client *c);
void server_close(struct daemon *d);
/* Run one request as root would over the socket (config file enables): 0, or -1 with
 * the daemon's one-line error in err. */
int server_local_request(struct daemon *d, const msgpack_object *req, char *err,
			 size_t errlen);

/* Control clients connected now (status's "daemon"): all, tail streams, paused. */
struct server_clients {
	unsigned clients, tails, paused;
};
void server_count_clients(const struct daemon *d, struct server_clients *n);
/* Times a limit was hit: connections and requests refused, clients slowed. */
uint64_t server_limits_hit(const struct server_stats *s);

#endif /* SLED_DAEMON_H */
