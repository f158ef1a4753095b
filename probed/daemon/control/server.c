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

#include "export/buf.h"
#include "ctl/ctl.h"
#include "ctl/ctl_frame.h"
#include "daemon/core/daemon.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "cli/pattern.h"
#include "daemon/core/pending.h"
#include "daemon/uprobe/uprobe.h"
#include "daemon/control/report.h"
#include "daemon/control/enable_check.h"
#include "daemon/core/reload.h"
#include "daemon/core/loss.h"
#include "daemon/uprobe/uprobe_auto.h"
#include "daemon/sled/aggregate.h"
#include "daemon/uprobe/uprobe_agg.h"

/* Fairness: a client with a pipeline of requests gets this many per loop pass. */
#define REQUESTS_PER_PASS 4
/* Bytes read from one client per read event. */
#define READ_CHUNK 65536
/* Connections accepted per readable event on the listen socket. */
#define ACCEPTS_PER_PASS 64
/* Of --max-clients, the last ones are root's, so root's status is answered in a flood. */
#define ROOT_RESERVE 8
/* A request's array items and map entries, all levels: requests have a dozen fields. */
#define REQUEST_MAX_ELEMENTS 256
/* Listening pauses this long when no fd is left even to refuse a connection. */
#define LISTEN_PAUSE_NS (100 * 1000 * 1000ull)

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

/* Reply helpers: a map of nkeys entries whose first is "ok" (reply_begin adds
 * "version" to them). */
struct reply {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void reply_begin(struct reply *r, uint32_t nkeys, bool ok)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&r->pk, nkeys + 1);
	ctl_pack_kv_bool(&r->pk, "ok", ok);
	ctl_pack_kv_i64(&r->pk, "version", CTL_PROTOCOL_VERSION);
}

/* Send what out holds without waiting; what the socket does not take stays queued. */
static void client_flush(struct client *c)
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

static void reply_send(struct client *c, struct reply *r)
{
	if (sled_buf_append(&c->out, r->sb.data, r->sb.size))
		c->dead = true; /* out of memory: better lose this client than the daemon */
	msgpack_sbuffer_destroy(&r->sb);
	client_flush(c);
}

static void reply_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply_error(struct client *c, const char *fmt, ...)
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

static bool may_touch(const struct client *c, const struct traced_proc *p)
{
	return c->uid == 0 || c->uid == p->uid;
}

static uid_t owner_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) ? (uid_t)-1 : st.st_uid;
}

static bool in_scope(const struct probe *pb, const struct traced_proc *p)
{
	return !pb->pid || pb->pid == p->pid;
}

/* Shared argument parsing of enable and disable. */
struct scope_args {
	char pattern[256];
	char binary[PATH_MAX];
	int64_t pid;
	bool has_pattern;
};

static int parse_scope(struct client *c, const msgpack_object *req, struct scope_args *a)
{
	char err[256], raw[CTL_PATH_MAX];
	int rc;

	memset(a, 0, sizeof(*a));
	/* Every field is checked: a wrong type or a string too long is an error, never the
	 * field's absence (which would mean "every process" or "every tracepoint"). */
	rc = ctl_field_str(req, "pattern", a->pattern, sizeof(a->pattern), err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc == 0) {
		reply_error(c, "request without \"pattern\"");
		return -1;
	}
	a->has_pattern = true;
	if (sled_pattern_check(a->pattern, err, sizeof(err))) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (ctl_field_i64(req, "pid", 1, INT_MAX, &a->pid, err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	rc = ctl_field_str(req, "binary", raw, sizeof(raw), err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc == 1 && !raw[0]) {
		reply_error(c, "\"binary\" is empty");
		return -1;
	}
	if (rc == 1 && a->pid) {
		reply_error(c, "\"pid\" and \"binary\" are mutually exclusive");
		return -1;
	}
	if (rc == 1 && !realpath(raw, a->binary)) {
		reply_error(c, "%s: %s", raw, strerror(errno));
		return -1;
	}
	return 0;
}

/* Attach pid now if its block is ready, with the standing probes started on it. */
static struct traced_proc *attach_now(struct daemon *d, pid_t pid)
{
	struct traced_proc *p = procs_attach(&d->procs, pid, d->last_beat_ns);

	if (p) {
		p->shm->tsc_hz = (uint64_t)(1e9 / d->clock.ns_per_tick);
		daemon_apply_all(d, p);
	}
	return p;
}

/* A non-root uid holds at most --max-probes-per-uid standing probes: each costs memory
 * and a pass over every process on each change. */
static bool over_probe_limit(struct daemon *d, struct client *c)
{
	unsigned n = 0;

	if (c->uid == 0 || !d->limits.probes_per_uid)
		return false;
	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		n += pb->owner == c->uid;
	if (n < d->limits.probes_per_uid)
		return false;
	d->stats.refused_probes++;
	reply_error(c, "too many probes for uid %u (limit %u, --max-probes-per-uid): disable some "
		    "first", (unsigned)c->uid, d->limits.probes_per_uid);
	return true;
}

/* The probe functions of an enable request. */
struct functions {
	char filter[512];
	uint32_t sample;
	uint64_t rate;
	bool count_only;
	char aggregate[SLED_LANE_AGGS][CTL_FILTER_MAX]; /* --aggregate, checked for syntax */
	unsigned naggs;
	uint32_t max_keys;
};

/* "aggregate": an array of expressions, each parsed here so that a syntax error is
 * refused before anything is enabled (the fields are checked per tracepoint later). */
static int parse_aggregates(struct client *c, const msgpack_object *req, struct functions *fn)
{
	const msgpack_object *v = ctl_get(req, "aggregate");
	char err[300];
	int64_t mk;
	int rc;

	if (v) {
		if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 ||
		    v->via.array.size > SLED_LANE_AGGS) {
			reply_error(c, "\"aggregate\" must be an array of 1 to %d expressions",
				    SLED_LANE_AGGS);
			return -1;
		}
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			const msgpack_object *e = &v->via.array.ptr[i];
			struct sled_agg_spec spec;

			if (e->type != MSGPACK_OBJECT_STR || e->via.str.size >= CTL_FILTER_MAX) {
				reply_error(c, "\"aggregate\": expressions are strings under %d bytes",
					    CTL_FILTER_MAX);
				return -1;
			}
			memcpy(fn->aggregate[i], e->via.str.ptr, e->via.str.size);
			fn->aggregate[i][e->via.str.size] = 0;
			if (sled_agg_parse(fn->aggregate[i], &spec, err, sizeof(err))) {
				reply_error(c, "%s", err);
				return -1;
			}
		}
		fn->naggs = v->via.array.size;
	}
	rc = ctl_field_i64(req, "max_keys", 1, 10000000, &mk, err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc && !fn->naggs) {
		reply_error(c, "\"max_keys\" needs \"aggregate\"");
		return -1;
	}
	fn->max_keys = rc ? (uint32_t)mk : 0;
	return 0;
}

static int parse_functions(struct client *c, const msgpack_object *req, struct functions *fn)
{
	char err[256];
	int64_t v;
	int rc;

	memset(fn, 0, sizeof(*fn));
	if (ctl_field_str(req, "filter", fn->filter, sizeof(fn->filter), err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	rc = ctl_field_i64(req, "sample", 1, UINT32_MAX, &v, err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc)
		fn->sample = (uint32_t)v;
	rc = ctl_field_i64(req, "rate", 1, UINT32_MAX, &v, err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc)
		fn->rate = (uint64_t)v;
	if (ctl_field_bool(req, "count_only", &fn->count_only, err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	return parse_aggregates(c, req, fn);
}

/* Uprobe mode: every object of the scope with matching sites, attached by provider:name,
 * with the probe's functions (the filter compiled for each provider:name's fields, as in
 * sled mode).  Refusals, with err saying why: -EINVAL, a filter that does not compile
 * for one of them; -E2BIG, more provider:names than a probe holds.  An attach that fails
 * is counted in *failed, its error left in err. */
static int attach_object(struct daemon *d, struct probe *pb, const struct sled_object *obj,
			 const char *path, pid_t pid, unsigned *failed, char *err, size_t errlen)
{
	struct probe_uprobe *up = pb->up; /* made by enable_uprobe */
	const unsigned max = sizeof(up->handles) / sizeof(up->handles[0]);
	struct sled_filter_prog prog;
	struct uprobe_agg aggs[UPROBE_MAX_AGGS];
	struct uprobe_functions fn = {
		.filter = &prog, .sample = pb->sample, .rate = pb->rate, .count_only = pb->count_only,
		.aggs = aggs,
	};

	for (size_t i = 0; i < obj->nsites; i++) {
		const struct sled_site *s = &obj->sites[i];
		bool seen = false;
		int h;

		if (s->kind == SLED_SITE_GUARD || !sled_pattern_match(pb->pattern, s->provider, s->name))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = obj->sites[j].kind != SLED_SITE_GUARD &&
			       !strcmp(obj->sites[j].provider, s->provider) &&
			       !strcmp(obj->sites[j].name, s->name);
		if (seen)
			continue;
		if (up->nhandles == max) {
			snprintf(err, errlen, "'%s' matches more than %u tracepoints (provider:name) in "
				 "uprobe mode: narrow the pattern", pb->pattern, max);
			return -E2BIG;
		}
		if (probe_compile_filter(pb, s->provider, s->name, s->fields, (unsigned)s->nargs,
					 &prog, err, errlen) ||
		    uprobe_agg_prepare(pb, s->provider, s->name, s->fields, (unsigned)s->nargs, aggs,
				       &fn.naggs, err, errlen))
			return -EINVAL;
		h = uprobe_attach(d->uprobe, path, pid, s->provider, s->name, s->fields,
				  (unsigned)s->nargs, pb->id, &fn, err, errlen);
		if (h > 0)
			up->handles[up->nhandles++] = h;
		else
			(*failed)++;
	}
	return 0;
}

#define AUTO_ROWS 256

/* --mode uprobe with no scope: every process, with per-process uprobes (uprobe_auto.c),
 * present and future. */
static void enable_uprobe_everywhere(struct daemon *d, struct client *c,
				     const struct scope_args *a, const struct functions *fn)
{
	struct auto_result *res = calloc(AUTO_ROWS, sizeof(*res));
	struct auto_report rep;
	char err[512];
	struct probe *pb;
	struct reply r;

	if (!res || daemon_uprobe(d, err, sizeof(err))) {
		reply_error(c, "%s", res ? err : "out of memory");
		free(res);
		return;
	}
	pb = probes_add(&d->probes, a->pattern, 0, "", c->uid);
	if (!pb) {
		reply_error(c, "out of memory");
		free(res);
		return;
	}
	pb->uprobe = pb->auto_uprobe = true;
	memcpy(pb->filter, fn->filter, sizeof(pb->filter));
	pb->sample = fn->sample;
	pb->rate = fn->rate;
	pb->count_only = fn->count_only;
	if (uprobe_auto_enable(d, pb, res, AUTO_ROWS, &rep, err, sizeof(err))) {
		probes_discard(&d->probes, pb->id);
		reply_error(c, "%s", err);
		free(res);
		return;
	}
	log_info(d, "probe %u enabled in uprobe mode: %s, every process: %u attach(es) in %u "
		 "process(es), %u fds%s%s", pb->id, pb->pattern, rep.attached, rep.processes,
		 rep.fds, rep.error[0] ? "; failed: " : "", rep.error);
	reply_begin(&r, 4 + report_auto_keys(&rep), true);
	ctl_pack_kv_u64(&r.pk, "id", pb->id);
	ctl_pack_kv_str(&r.pk, "mode", "uprobe");
	report_auto_totals(&r.pk, &rep);
	ctl_pack_str(&r.pk, "processes");
	msgpack_pack_array(&r.pk, rep.nres);
	report_auto_rows(&r.pk, res, rep.nres);
	reply_send(c, &r);
	free(res);
}

static void enable_uprobe(struct daemon *d, struct client *c, const struct scope_args *a,
			  const struct functions *fn)
{
	char err[512] = "", path[4200];
	unsigned failed = 0, fds = 0;
	bool refused = false;
	struct probe_uprobe *up;
	struct probe *pb;
	struct reply r;

	if (!a->pid && !a->binary[0]) {
		enable_uprobe_everywhere(d, c, a, fn);
		return;
	}
	if (!a->pid && c->uid != 0) {
		reply_error(c, "uprobe mode by binary covers every user's processes: root only");
		return;
	}
	if (daemon_uprobe(d, err, sizeof(err))) {
		reply_error(c, "%s", err);
		return;
	}
	pb = probes_add(&d->probes, a->pattern, (pid_t)a->pid, a->binary, c->uid);
	up = pb ? probe_uprobe_part(pb) : NULL;
	if (!up) {
		if (pb)
			probes_discard(&d->probes, pb->id);
		reply_error(c, "out of memory");
		return;
	}
	if (fn->naggs) {
		const char *exprs[SLED_LANE_AGGS];

		for (unsigned i = 0; i < fn->naggs; i++)
			exprs[i] = fn->aggregate[i];
		if (agg_probe_init(pb, exprs, fn->naggs, fn->max_keys, err, sizeof(err))) {
			probes_discard(&d->probes, pb->id);
			reply_error(c, "%s", err);
			return;
		}
	}
	if (a->pid)
		up->start_time = procs_start_time((pid_t)a->pid);
	pb->uprobe = true;
	memcpy(pb->filter, fn->filter, sizeof(pb->filter));
	pb->sample = fn->sample;
	pb->rate = fn->rate;
	pb->count_only = fn->count_only;
	if (a->binary[0]) {
		struct sled_object obj;

		if (sled_object_read(a->binary, &obj, err, sizeof(err)) == 0) {
			err[0] = 0;
			refused = attach_object(d, pb, &obj, a->binary, -1, &failed, err,
						sizeof(err)) != 0;
			sled_object_free(&obj);
		}
	} else {
		struct sled_process proc;

		if (sled_process_read((pid_t)a->pid, &proc, err, sizeof(err)) == 0) {
			err[0] = 0;
			for (size_t i = 0; i < proc.nobjects && !refused; i++) {
				const struct sled_object *obj = &proc.objects[i];

				/* The object as the process sees it (other mount namespaces). */
				snprintf(path, sizeof(path), "%s", obj->path);
				if (access(path, R_OK))
					snprintf(path, sizeof(path), "/proc/%d/root%s", (int)a->pid, obj->path);
				refused = attach_object(d, pb, obj, path, (pid_t)a->pid, &failed,
							err, sizeof(err)) != 0;
			}
			sled_process_free(&proc);
		}
	}
	if (refused) {
		/* As in sled mode: an enable whose filter does not fit every tracepoint it
		 * matches is refused whole. */
		for (unsigned i = 0; i < up->nhandles; i++)
			uprobe_detach(d->uprobe, up->handles[i]);
		probes_discard(&d->probes, pb->id);
		reply_error(c, "%s", err);
		return;
	}
	if (!up->nhandles) {
		probes_discard(&d->probes, pb->id);
		if (err[0])
			reply_error(c, "%s", err);
		else
			reply_error(c, "no tracepoint matches '%s' in %s", a->pattern,
				    a->binary[0] ? a->binary : "the process");
		return;
	}
	for (unsigned i = 0; i < up->nhandles; i++) {
		struct uprobe_handle_info hi;

		if (uprobe_handle_info(d->uprobe, up->handles[i], &hi) == 0)
			fds += hi.fds;
	}
	log_info(d, "probe %u enabled in uprobe mode: %s, %u attach(es), %u fds%s%s", pb->id,
		 pb->pattern, up->nhandles, fds, failed ? "; failed: " : "", failed ? err : "");
	/* fds: what the attaches hold (2 per site); failed/error: attaches that did not
	 * take (the others stay on). */
	reply_begin(&r, failed ? 8 : 6, true);
	ctl_pack_kv_u64(&r.pk, "id", pb->id);
	ctl_pack_kv_str(&r.pk, "mode", "uprobe");
	ctl_pack_kv_u64(&r.pk, "attached", up->nhandles);
	ctl_pack_kv_u64(&r.pk, "fds", fds);
	if (failed) {
		ctl_pack_kv_u64(&r.pk, "failed", failed);
		ctl_pack_kv_str(&r.pk, "error", err);
	}
	ctl_pack_str(&r.pk, "processes");
	msgpack_pack_array(&r.pk, 0);
	reply_send(c, &r);
}

/*
 * The modes an enable may ask for, one entry each in enable_modes[]: a new mode is one
 * more entry and its enable function, not one more strcmp in the handlers.
 */
struct probe_mode_ops {
	const char *name;
	/* -p PID: the mode traces the process through its block, so it is attached first
	 * (or waited for while its block is being filled in). */
	bool attaches;
	/* No scope: the processes without libsled get per-process uprobes too. */
	bool uprobes_everywhere;
	/* --aggregate is accepted (sled mode: tables in the block; uprobe mode: BPF maps). */
	bool aggregates;
	/* It may trace processes without libsled: enable_check looks at the tracepoints
	 * the uprobe scan found too. */
	bool without_libsled;
	/* The enable, once the scope is checked (and with -p, the process attached). */
	void (*enable)(struct daemon *d, struct client *c, const struct scope_args *a,
		       const struct functions *fn, const struct probe_mode_ops *m);
	/* -p PID that could not be attached (err: errno of the attach); NULL: refused. */
	void (*unattached)(struct daemon *d, struct client *c, const struct scope_args *a,
			   const struct functions *fn, const struct probe_mode_ops *m);
};

/* An enable in sled mode while its processes' agents work: what its reply needs. */
struct enable_ctx {
	uint32_t id;
	struct scope_args a;
	struct functions fn;
	const struct probe_mode_ops *mode;
	char why[512];
	struct auto_result *ures;
	struct auto_report rep;
};

static void enable_ctx_free(void *arg)
{
	struct enable_ctx *e = arg;

	if (e)
		free(e->ures);
	free(e);
}

/* The reply, once every process's agent answered (or timed out). */
static void enable_finish(struct daemon *d, struct pending_req *rq)
{
	struct enable_ctx *e = rq->ctx;
	const struct scope_args *a = &e->a;
	struct client *c = rq->c;
	unsigned nproc = 0, wanted = 0, on = 0;
	const struct apply_result *res[256];
	pid_t pids[256];
	struct probe *pb = probes_find(&d->probes, e->id);
	struct reply r;
	int first_err = 0;
	char why[512], busy[256] = "";
	bool everywhere;

	snprintf(why, sizeof(why), "%s", e->why);
	for (unsigned i = 0; i < rq->n; i++) {
		const struct apply_result *ar = &rq->procs[i].r;

		if (!rq->procs[i].p || (!ar->wanted && !ar->failed && !ar->busy))
			continue;
		wanted += ar->wanted;
		on += ar->on;
		if (ar->why[0] && !why[0])
			snprintf(why, sizeof(why), "%s", ar->why);
		if (ar->busy_why[0] && !busy[0])
			snprintf(busy, sizeof(busy), "%s", ar->busy_why);
		if (ar->error && !first_err)
			first_err = ar->error;
		if (nproc < sizeof(res) / sizeof(res[0])) {
			res[nproc] = ar;
			pids[nproc++] = rq->procs[i].pid;
		}
	}
	if (!pb || pb->retired) {
		/* A disable by pattern took it while its agents worked: the disable reports it. */
		if (c)
			reply_error(c, "probe %u was disabled before its enable finished", e->id);
		enable_ctx_free(e);
		return;
	}
	/* A probe on one process must take effect there; a standing probe (all processes,
	 * or a binary) stays for the processes to come even if none takes it now. */
	if (why[0] || (a->pid && (!wanted || !on))) {
		probes_discard(&d->probes, e->id);
		for (struct traced_proc *p = d->procs.head; p; p = p->next)
			if (!p->gone && nproc)
				probes_apply_start(&d->probes, p, NULL, NULL, NULL);
		if (!c)
			;
		else if (why[0])
			reply_error(c, "%s", why);
		else if (!wanted && busy[0])
			reply_error(c, "%s", busy);
		else if (!wanted)
			reply_error(c, "no sled tracepoint matches '%s' in process %lld", a->pattern,
				    (long long)a->pid);
		else if (first_err)
			reply_error(c, "could not patch any of %u sites: %s", wanted,
				    strerror(-first_err));
		else
			reply_error(c, "could not patch any of %u sites: the process's agent left "
				    "them off", wanted);
		enable_ctx_free(e);
		return;
	}
	log_info(d, "probe %u enabled: %s%s%s pid %d: %u/%u sites in %u processes", pb->id,
		 pb->pattern, pb->binary[0] ? " binary " : "", pb->binary, (int)pb->pid, on, wanted,
		 nproc);
	if (pb->auto_uprobe)
		log_info(d, "probe %u: uprobe part: %u attach(es) in %u process(es), %u fds%s%s",
			 pb->id, e->rep.attached, e->rep.processes, e->rep.fds,
			 e->rep.error[0] ? "; failed: " : "", e->rep.error);
	if (!c) {
		enable_ctx_free(e);
		return;
	}
	/* Sled mode's processes first, then the uprobe part's (no scope, auto). */
	everywhere = !a->pid && !a->binary[0] && e->mode->uprobes_everywhere;
	reply_begin(&r, 4 + (everywhere ? report_auto_keys(&e->rep) : 0), true);
	ctl_pack_kv_u64(&r.pk, "id", pb->id);
	ctl_pack_kv_str(&r.pk, "mode", pb->auto_uprobe ? "auto" : "sled");
	if (everywhere)
		report_auto_totals(&r.pk, &e->rep);
	ctl_pack_str(&r.pk, "processes");
	msgpack_pack_array(&r.pk, nproc + e->rep.nres);
	for (unsigned i = 0; i < nproc; i++) {
		msgpack_pack_map(&r.pk, 6 + (res[i]->error != 0) + (res[i]->busy != 0));
		ctl_pack_kv_i64(&r.pk, "pid", pids[i]);
		ctl_pack_kv_str(&r.pk, "mode", "sled");
		ctl_pack_kv_u64(&r.pk, "sites", res[i]->wanted);
		ctl_pack_kv_u64(&r.pk, "on", res[i]->on);
		ctl_pack_kv_u64(&r.pk, "failed", res[i]->failed);
		ctl_pack_kv_u64(&r.pk, "busy", res[i]->busy);
		if (res[i]->error)
			ctl_pack_kv_str(&r.pk, "error", strerror(-res[i]->error));
		if (res[i]->busy)
			ctl_pack_kv_str(&r.pk, "busy_reason", res[i]->busy_why);
	}
	report_auto_rows(&r.pk, e->ures, e->rep.nres);
	reply_send(c, &r);
	enable_ctx_free(e);
}

/* Sled mode (or auto): the probe is made and its processes' agents are told; the reply
 * comes from enable_finish once they answered. */
static void enable_sled(struct daemon *d, struct client *c, const struct scope_args *a,
			const struct functions *fn, const struct probe_mode_ops *mode)
{
	struct pending_req *rq = NULL;
	struct enable_ctx *e;
	struct probe *pb = NULL;

	e = calloc(1, sizeof(*e));
	if (e)
		pb = probes_add(&d->probes, a->pattern, (pid_t)a->pid, a->binary, c->uid);
	if (pb && fn->naggs) {
		const char *exprs[SLED_LANE_AGGS];
		char why[300];

		for (unsigned i = 0; i < fn->naggs; i++)
			exprs[i] = fn->aggregate[i];
		if (agg_probe_init(pb, exprs, fn->naggs, fn->max_keys, why, sizeof(why))) {
			probes_discard(&d->probes, pb->id);
			free(e);
			reply_error(c, "%s", why);
			return;
		}
	}
	if (pb)
		rq = pending_new(d, c, enable_finish, e, enable_ctx_free);
	if (!rq) {
		if (pb)
			probes_discard(&d->probes, pb->id);
		free(e);
		reply_error(c, "out of memory");
		return;
	}
	e->id = pb->id;
	e->a = *a;
	e->fn = *fn;
	e->mode = mode;
	memcpy(pb->filter, fn->filter, sizeof(pb->filter));
	pb->sample = fn->sample;
	pb->rate = fn->rate;
	pb->count_only = fn->count_only;
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		struct pending_proc *pp;

		if (p->gone || !in_scope(pb, p) || !may_touch(c, p))
			continue;
		pp = pending_apply(d, rq, p, pb);
		/* A filter that does not compile for a tracepoint is known from the plan. */
		if (pp && pp->r.why[0] && !e->why[0])
			snprintf(e->why, sizeof(e->why), "%s", pp->r.why);
	}
	/* auto with no scope: the processes without libsled get uprobes (uprobe_auto.c).
	 * Without BPF or uprobes the sled part stands alone, and the reply says why. */
	if (!e->why[0] && !a->pid && !a->binary[0] && mode->uprobes_everywhere) {
		e->ures = calloc(AUTO_ROWS, sizeof(*e->ures));
		if (!e->ures)
			snprintf(e->rep.error, sizeof(e->rep.error), "uprobe part: out of memory");
		else if (daemon_uprobe(d, e->rep.error, sizeof(e->rep.error)))
			log_info(d, "probe %u: no uprobe part: %s", pb->id, e->rep.error);
		else {
			int rc;

			pb->auto_uprobe = true;
			rc = uprobe_auto_enable(d, pb, e->ures, AUTO_ROWS, &e->rep, e->why,
						sizeof(e->why));
			/* -EINVAL: the filter does not fit a tracepoint: refused whole, at the end. */
			if (rc && rc != -EINVAL) {
				snprintf(e->rep.error, sizeof(e->rep.error), "%.250s", e->why);
				e->why[0] = 0;
				pb->auto_uprobe = false;
			}
		}
	}
}

/* Auto mode: sled mode where the runtime is, uprobes elsewhere.  With -b, the binary's
 * processes get the runtime or they do not; without it, uprobe mode covers them all,
 * present and future. */
static void enable_auto(struct daemon *d, struct client *c, const struct scope_args *a,
			const struct functions *fn, const struct probe_mode_ops *m)
{
	if (a->binary[0] && sled_elf_has_runtime(a->binary) == 0)
		enable_uprobe(d, c, a, fn);
	else
		enable_sled(d, c, a, fn, m);
}

/* Auto mode, -p of a process without libsled: traced with uprobes. */
static void enable_auto_unattached(struct daemon *d, struct client *c,
				   const struct scope_args *a, const struct functions *fn,
				   const struct probe_mode_ops *m)
{
	(void)m;
	enable_uprobe(d, c, a, fn);
}

static void enable_uprobe_mode(struct daemon *d, struct client *c, const struct scope_args *a,
			       const struct functions *fn, const struct probe_mode_ops *m)
{
	(void)m;
	enable_uprobe(d, c, a, fn);
}

static const struct probe_mode_ops enable_modes[] = {
	{ .name = "auto", .attaches = true, .uprobes_everywhere = true, .aggregates = true,
	  .without_libsled = true, .enable = enable_auto, .unattached = enable_auto_unattached },
	{ .name = "sled", .attaches = true, .aggregates = true, .enable = enable_sled },
	{ .name = "uprobe", .without_libsled = true, .aggregates = true, .enable = enable_uprobe_mode },
};

static const struct probe_mode_ops *enable_mode_find(const char *name)
{
	for (size_t i = 0; i < sizeof(enable_modes) / sizeof(enable_modes[0]); i++)
		if (!strcmp(enable_modes[i].name, name))
			return &enable_modes[i];
	return NULL;
}

/* enable -p of a process sled mode could not attach (err: errno of the attach). */
static void enable_unattached(struct daemon *d, struct client *c, const struct scope_args *a,
			      const struct functions *fn, const struct probe_mode_ops *mode,
			      int err)
{
	/* Another daemon's process is refused whatever the mode: it is not ours to trace. */
	if (err != EBUSY && mode->unattached) {
		mode->unattached(d, c, a, fn, mode);
		return;
	}
	if (err == EBUSY)
		reply_error(c, "process %lld is traced by another probed", (long long)a->pid);
	else if (err == ENOENT)
		reply_error(c, "%s; sled mode needs the runtime (link with `pkg-config "
			    "--libs sled`), --mode uprobe traces it without", d->procs.why);
	else
		reply_error(c, "%s", d->procs.why[0] ? d->procs.why : strerror(err));
}

/* enable -p of a process that has just started: its block is not ready yet. */
struct attach_wait {
	struct scope_args a;
	struct functions fn;
	const struct probe_mode_ops *mode;
};

/* Looked at every 10 ms for up to a second, from the loop. */
static bool enable_attach_retry(struct daemon *d, struct pending_req *rq, bool last)
{
	struct attach_wait *w = rq->ctx;
	int err;

	if (attach_now(d, (pid_t)w->a.pid)) {
		w->mode->enable(d, rq->c, &w->a, &w->fn, w->mode);
		return true;
	}
	err = errno;
	if (err == EAGAIN && !last)
		return false;
	enable_unattached(d, rq->c, &w->a, &w->fn, w->mode, err);
	return true;
}

static void handle_enable(struct daemon *d, struct client *c, const msgpack_object *req)
{
	struct functions fn;
	struct scope_args a;
	char name[16] = "auto", why[256], check[512];
	const struct probe_mode_ops *mode;
	bool pending = false;

	if (parse_scope(c, req, &a) || parse_functions(c, req, &fn))
		return;
	if (ctl_field_str(req, "mode", name, sizeof(name), why, sizeof(why)) < 0) {
		reply_error(c, "%s", why);
		return;
	}
	if (over_probe_limit(d, c))
		return;
	mode = enable_mode_find(name);
	if (!mode) {
		reply_error(c, "unknown mode '%s' (sled, uprobe or auto)", name);
		return;
	}
	/* Uprobe mode aggregates per attach, with -b or -p; the per-process uprobes of a
	 * probe with no scope do not aggregate: auto means sled mode there. */
	if (fn.naggs && !mode->aggregates) {
		reply_error(c, "--aggregate is not supported in %s mode", mode->name);
		return;
	}
	if (fn.naggs && !a.pid && !a.binary[0]) {
		if (!mode->attaches) {
			reply_error(c, "--aggregate in uprobe mode needs -b BINARY or -p PID");
			return;
		}
		mode = enable_mode_find("sled");
	}
	if (ctl_field_bool(req, "pending", &pending, why, sizeof(why)) < 0) {
		reply_error(c, "%s", why);
		return;
	}
	/* A standing probe that can never match is refused, not left to never fire. */
	if (!a.pid && enable_check(d, a.pattern, fn.filter, a.binary, mode->without_libsled,
				   pending, check, sizeof(check))) {
		reply_error(c, "%s", check);
		return;
	}
	if (a.pid) {
		uid_t owner = owner_of((pid_t)a.pid);
		struct attach_wait *w;
		struct pending_req *rq;

		if (owner == (uid_t)-1) {
			reply_error(c, "no such process: %lld", (long long)a.pid);
			return;
		}
		if (c->uid != 0 && owner != c->uid) {
			reply_error(c, "permission denied: process %lld belongs to another user",
				    (long long)a.pid);
			return;
		}
		if (!mode->attaches) {
			mode->enable(d, c, &a, &fn, mode);
			return;
		}
		if (!procs_find(&d->procs, (pid_t)a.pid) && !attach_now(d, (pid_t)a.pid)) {
			if (errno != EAGAIN) {
				enable_unattached(d, c, &a, &fn, mode, errno);
				return;
			}
			/* Its block is being filled in: look again from the loop, not here. */
			w = calloc(1, sizeof(*w));
			rq = w ? pending_new(d, c, NULL, w, free) : NULL;
			if (!rq) {
				free(w);
				reply_error(c, "out of memory");
				return;
			}
			w->a = a;
			w->fn = fn;
			w->mode = mode;
			pending_retry(rq, enable_attach_retry, 10, 1000);
			return;
		}
	}
	mode->enable(d, c, &a, &fn, mode);
}

/* A disable while the agents hand the probes' lanes back: the probes' ids. */
struct disable_ctx {
	unsigned n;
	uint32_t ids[256];
};

/* Every process handed the lanes back (off, idle, drained): the final figures. */
static void disable_finish(struct daemon *d, struct pending_req *rq)
{
	struct disable_ctx *x = rq->ctx;
	struct client *c = rq->c;
	struct reply r;

	log_info(d, "disabled %u probe(s)", x->n);
	if (c) {
		reply_begin(&r, 3, true);
		ctl_pack_str(&r.pk, "disabled");
		msgpack_pack_array(&r.pk, x->n);
		for (unsigned i = 0; i < x->n; i++)
			msgpack_pack_uint32(&r.pk, x->ids[i]);
		ctl_pack_str(&r.pk, "final");
		msgpack_pack_array(&r.pk, x->n);
	}
	for (unsigned i = 0; i < x->n; i++) {
		struct probe *pb = probes_find(&d->probes, x->ids[i]);

		if (c && pb)
			report_probe(&r.pk, pb, d);
		else if (c)
			msgpack_pack_nil(&r.pk);
		if (pb)
			loss_final(d, pb);
		uprobe_auto_forget(d, x->ids[i]);
		probes_remove(&d->probes, x->ids[i]);
	}
	if (c)
		reply_send(c, &r);
	free(x);
}

static void handle_disable(struct daemon *d, struct client *c, const msgpack_object *req)
{
	struct disable_ctx *x = calloc(1, sizeof(*x));
	struct pending_req *rq;
	struct scope_args a;
	int64_t id;

	char err[256];
	int rc;

	if (!x) {
		reply_error(c, "out of memory");
		return;
	}
	rc = ctl_field_i64(req, "id", 1, UINT32_MAX, &id, err, sizeof(err));
	if (rc < 0 || (rc == 1 && ctl_get(req, "pattern"))) {
		reply_error(c, "%s", rc < 0 ? err : "\"id\" and \"pattern\" are mutually exclusive");
		free(x);
		return;
	}
	/* A probe being disabled already (retired) is not found again. */
	if (rc == 1) {
		struct probe *pb = probes_find(&d->probes, (uint32_t)id);

		if (!pb || pb->retired || (c->uid != 0 && pb->owner != c->uid)) {
			reply_error(c, "no probe with id %lld", (long long)id);
			free(x);
			return;
		}
		x->ids[x->n++] = pb->id;
	} else {
		if (parse_scope(c, req, &a)) {
			free(x);
			return;
		}
		for (struct probe *pb = d->probes.head; pb && x->n < 256; pb = pb->next)
			if (!pb->retired && !strcmp(pb->pattern, a.pattern) && pb->pid == (pid_t)a.pid &&
			    !strcmp(pb->binary, a.binary) && (c->uid == 0 || pb->owner == c->uid))
				x->ids[x->n++] = pb->id;
		if (!x->n) {
			reply_error(c, "no probe enabled as '%s'%s", a.pattern,
				    a.pid || a.binary[0] ? " with that scope" : "");
			free(x);
			return;
		}
	}
	rq = pending_new(d, c, disable_finish, x, free);
	if (!rq) {
		reply_error(c, "out of memory");
		free(x);
		return;
	}
	/* Retire first, free after: handing the slots back (off, idle, drained) folds their
	 * last figures into the probes, which the reply then reports as final. */
	for (unsigned i = 0; i < x->n; i++) {
		struct probe *pb = probes_find(&d->probes, x->ids[i]);

		const struct probe_uprobe *up = probe_uprobe_view(pb);

		pb->retired = true;
		for (unsigned k = 0; k < up->nhandles && d->uprobe; k++)
			uprobe_detach(d->uprobe, up->handles[k]);
		uprobe_auto_detach(d, pb->id);
	}
	daemon_drain(d); /* what the uprobes wrote before they went */
	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		if (!p->gone)
			pending_apply(d, rq, p, NULL);
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

/* status's "daemon": clients, the limits, and what they refused. */
static void pack_daemon(msgpack_packer *pk, const struct daemon *d)
{
	const struct server_stats *s = &d->stats;
	const struct server_limits *l = &d->limits;
	struct server_clients n;

	server_count_clients(d, &n);
	msgpack_pack_map(pk, 9 + RELOAD_STATUS_KEYS);
	reload_pack_status(pk, d);
	ctl_pack_kv_u64(pk, "clients", n.clients);
	ctl_pack_kv_u64(pk, "tail_clients", n.tails);
	ctl_pack_kv_u64(pk, "paused_clients", n.paused);
	ctl_pack_kv_u64(pk, "limits_hit", server_limits_hit(s));
	ctl_pack_kv_u64(pk, "requests_refused", s->refused_requests);
	ctl_pack_kv_u64(pk, "tail_lost", s->tail_lost);
	ctl_pack_str(pk, "limits");
	msgpack_pack_map(pk, 6);
	ctl_pack_kv_u64(pk, "request_bytes", l->request_bytes);
	ctl_pack_kv_u64(pk, "request_elements", REQUEST_MAX_ELEMENTS);
	ctl_pack_kv_u64(pk, "clients", l->clients);
	ctl_pack_kv_u64(pk, "clients_per_uid", l->clients_per_uid);
	ctl_pack_kv_u64(pk, "probes_per_uid", l->probes_per_uid);
	ctl_pack_kv_u64(pk, "client_buffer", l->client_buffer);
	/* Each limit's count: connections refused, requests refused, clients slowed. */
	ctl_pack_str(pk, "refused");
	msgpack_pack_map(pk, 7);
	ctl_pack_kv_u64(pk, "clients", s->refused_clients);
	ctl_pack_kv_u64(pk, "clients_per_uid", s->refused_clients_uid);
	ctl_pack_kv_u64(pk, "no_fds", s->refused_fds);
	ctl_pack_kv_u64(pk, "request_too_large", s->refused_too_large);
	ctl_pack_kv_u64(pk, "malformed", s->refused_malformed);
	ctl_pack_kv_u64(pk, "probes_per_uid", s->refused_probes);
	ctl_pack_kv_u64(pk, "version", s->refused_version);
	ctl_pack_str(pk, "slowed");
	msgpack_pack_map(pk, 2);
	ctl_pack_kv_u64(pk, "paused", s->paused);
	ctl_pack_kv_u64(pk, "tail_lagging", s->tail_clients_lagging);
}

/* status's "aggregations": each aggregating probe's expressions, keys and overflow. */
static void pack_aggregations(msgpack_packer *pk, struct daemon *d, uid_t uid)
{
	unsigned n = 0;

	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		n += pb->aggs && (uid == 0 || pb->owner == uid);
	ctl_pack_str(pk, "aggregations");
	msgpack_pack_array(pk, n);
	for (struct probe *pb = d->probes.head; pb; pb = pb->next) {
		struct agg_table t[SLED_LANE_AGGS];

		if (!pb->aggs || (uid != 0 && pb->owner != uid))
			continue;
		agg_collect(pb, &d->procs, t);
		msgpack_pack_map(pk, 2);
		ctl_pack_kv_u64(pk, "id", pb->id);
		ctl_pack_str(pk, "aggregations");
		agg_pack_status(pk, pb, t);
		agg_tables_free(t, pb->aggs->n);
	}
}

static void handle_status(struct daemon *d, struct client *c, const msgpack_object *req)
{
	(void)req;
	unsigned nprobes = 0;
	struct reply r;

	/* The figures must include what is still in the rings: drain first. */
	daemon_drain(d);
	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		nprobes += c->uid == 0 || pb->owner == c->uid;
	reply_begin(&r, 6, true);
	ctl_pack_str(&r.pk, "daemon");
	pack_daemon(&r.pk, d);
	pack_aggregations(&r.pk, d, c->uid);
	ctl_pack_str(&r.pk, "probes");
	msgpack_pack_array(&r.pk, nprobes);
	for (struct probe *pb = d->probes.head; pb; pb = pb->next) {
		if (c->uid != 0 && pb->owner != c->uid)
			continue;
		report_probe(&r.pk, pb, d);
	}
	ctl_pack_str(&r.pk, "processes");
	report_processes(&r.pk, d, c->uid);
	ctl_pack_str(&r.pk, "outputs");
	msgpack_pack_array(&r.pk, d->noutputs);
	for (unsigned i = 0; i < d->noutputs; i++) {
		struct sled_output_stats st;

		sled_output_stats(d->outputs[i], &st);
		msgpack_pack_map(&r.pk, 7);
		ctl_pack_kv_str(&r.pk, "spec", sled_output_spec(d->outputs[i]));
		ctl_pack_kv_str(&r.pk, "state", st.state ? st.state : "");
		ctl_pack_kv_u64(&r.pk, "sent", st.written);
		ctl_pack_kv_u64(&r.pk, "acked", st.acked);
		ctl_pack_kv_u64(&r.pk, "queued", st.queued);
		ctl_pack_kv_u64(&r.pk, "dropped", st.dropped);
		ctl_pack_kv_str(&r.pk, "error", st.error);
	}
	reply_send(c, &r);
}

static void pack_uprobe_site(const struct uprobe_handle_info *info, void *arg)
{
	msgpack_packer *pk = arg;

	msgpack_pack_map(pk, 8);
	ctl_pack_kv_i64(pk, "pid", info->pid);
	ctl_pack_kv_str(pk, "mode", "uprobe");
	ctl_pack_kv_str(pk, "provider", info->provider);
	ctl_pack_kv_str(pk, "name", info->name);
	ctl_pack_kv_str(pk, "binary", info->binary ? info->binary : "");
	ctl_pack_kv_str(pk, "state", "on");
	ctl_pack_kv_u64(pk, "probe", info->probe_id);
	ctl_pack_str(pk, "probes"); /* as a sled site's: the probes on it */
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint32(pk, info->probe_id);
}

static void handle_sites(struct daemon *d, struct client *c, const msgpack_object *req)
{
	(void)req;
	unsigned n = 0;
	struct reply r;

	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		if (!p->gone && may_touch(c, p))
			n += p->nslots;
	/* Uprobe mode's attaches, by provider:name (a uprobe has no slot): a root client's
	 * list shows them on too.  Others see only sled mode's sites. */
	if (c->uid == 0)
		n += uprobe_each_attached(d->uprobe, NULL, NULL);
	reply_begin(&r, 2, true);
	ctl_pack_str(&r.pk, "sites");
	msgpack_pack_array(&r.pk, n);
	if (c->uid == 0)
		uprobe_each_attached(d->uprobe, pack_uprobe_site, &r.pk);
	for (struct traced_proc *p = d->procs.head; p; p = p->next) {
		if (p->gone || !may_touch(c, p))
			continue;
		for (unsigned i = 0; i < p->nslots; i++) {
			static const char *const states[] = { "off", "on", "failed" };
			uint32_t st = p->slots[i].state;

			const struct slot_meta *m = p->meta[i];
			uint32_t ids[SLED_SHM_LANES];
			unsigned nids = 0;

			/* Every probe on the site (one per lane); "probe": the first, or 0. */
			for (unsigned l = 0; m && l < SLED_SHM_LANES; l++)
				if (m->lane[l].probe_id)
					ids[nids++] = m->lane[l].probe_id;
			msgpack_pack_map(&r.pk, 5);
			ctl_pack_kv_i64(&r.pk, "pid", p->pid);
			ctl_pack_kv_u64(&r.pk, "address", p->slots[i].addr);
			ctl_pack_kv_str(&r.pk, "state", st < 3 ? states[st] : "?");
			ctl_pack_kv_u64(&r.pk, "probe", nids ? ids[0] : 0);
			ctl_pack_str(&r.pk, "probes");
			msgpack_pack_array(&r.pk, nids);
			for (unsigned k = 0; k < nids; k++)
				msgpack_pack_uint32(&r.pk, ids[k]);
		}
	}
	reply_send(c, &r);
}

/* show: a probe's aggregations merged over its processes; with "clear", started again
 * from nothing after this reading. */
static void handle_show(struct daemon *d, struct client *c, const msgpack_object *req)
{
	struct agg_table t[SLED_LANE_AGGS];
	struct probe *pb;
	struct reply r;
	char err[256];
	bool clear = false;
	int64_t id;
	int rc = ctl_field_i64(req, "id", 1, UINT32_MAX, &id, err, sizeof(err));

	if (rc <= 0) {
		reply_error(c, "%s", rc < 0 ? err : "show needs a probe \"id\"");
		return;
	}
	if (ctl_field_bool(req, "clear", &clear, err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return;
	}
	pb = probes_find(&d->probes, (uint32_t)id);
	if (!pb || (c->uid != 0 && pb->owner != c->uid)) {
		reply_error(c, "no probe with id %lld", (long long)id);
		return;
	}
	if (!pb->aggs) {
		reply_error(c, "probe %u has no aggregations (enable with --aggregate EXPR)", pb->id);
		return;
	}
	/* Rings of exited threads are folded as they are drained: drain first. */
	daemon_drain(d);
	agg_collect(pb, &d->procs, t);
	if (clear)
		agg_clear(pb, &d->procs);
	reply_begin(&r, 3, true); /* "version", "id", "aggregations" */
	agg_pack_show(&r.pk, pb, t);
	agg_tables_free(t, pb->aggs->n);
	reply_send(c, &r);
}

static void handle_tail(struct daemon *d, struct client *c, const msgpack_object *req)
{
	(void)d;
	char format[16] = "human", err[256];
	struct reply r;
	int rc;

	/* No pattern: every event the client may see; a bad one is an error, not that. */
	rc = ctl_field_str(req, "pattern", c->tail_pattern, sizeof(c->tail_pattern), err,
			   sizeof(err));
	if (rc <= 0)
		c->tail_pattern[0] = 0;
	if (rc < 0 || sled_pattern_check(c->tail_pattern, err, sizeof(err))) {
		reply_error(c, "%s", err);
		return;
	}
	if (ctl_field_str(req, "format", format, sizeof(format), err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return;
	}
	if (strcmp(format, "json") && strcmp(format, "human")) {
		reply_error(c, "unknown tail format '%s' (json or human)", format);
		return;
	}
	c->tail_json = !strcmp(format, "json");
	reply_begin(&r, 1, true);
	reply_send(c, &r);
	c->tail = true;
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

/* A tail client is told how many events it lost, once it has room again. */
static void tail_notice(struct client *c)
{
	char line[160];
	int n;

	if (c->tail_json)
		n = snprintf(line, sizeof(line), "{\"lost\":%llu,\"reason\":\"this tail client read "
			     "too slowly\"}\n", (unsigned long long)c->tail_dropped);
	else
		n = snprintf(line, sizeof(line), "-- lost %llu events: this tail client read too "
			     "slowly --\n", (unsigned long long)c->tail_dropped);
	if (sled_buf_append(&c->out, line, (size_t)n) == 0)
		c->tail_dropped = 0;
}

/* Its request waiting on agents was answered: serve its next requests on the next pass
 * (they may sit in its input buffer already, where epoll cannot see them). */
void server_client_resume(struct daemon *d, struct client *c)
{
	if (c->in.len)
		d->clients_ready = true;
	client_arm(d, c);
}

void server_tail_event(struct daemon *d, const struct sled_event *ev, uid_t owner)
{
	for (struct client *c = d->clients; c; c = c->next) {
		if (!c->tail || c->dead || (c->uid != 0 && c->uid != owner) ||
		    !sled_pattern_match(c->tail_pattern, ev->provider, ev->name))
			continue;
		/* A reader that falls behind loses events, counted; the daemon never waits. */
		if (c->out.len >= d->limits.client_buffer) {
			if (!c->tail_dropped)
				d->stats.tail_clients_lagging++;
			c->tail_dropped++;
			d->stats.tail_lost++;
			continue;
		}
		if (c->tail_dropped)
			tail_notice(c);
		if (c->tail_json)
			sled_encode_json(&c->out, ev);
		else
			sled_encode_human(&c->out, ev);
	}
}

void server_flush_tails(struct daemon *d)
{
	/* Marks the clients that went away; server_pass closes them. */
	for (struct client *c = d->clients; c; c = c->next) {
		if (!c->tail || c->dead)
			continue;
		if (c->tail_dropped && c->out.len < d->limits.client_buffer)
			tail_notice(c);
		if (c->out.len)
			client_flush(c);
	}
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
