/* SPDX-License-Identifier: MIT */
/*
 * probed: finds processes that link libsled, patches their sleds on request, drains their
 * rings and writes the events out.  Runs in the foreground (systemd: Type=notify).
 *
 *   probed [-S SOCKET] [--socket-mode MODE] [-o SPEC]... [-v] [--max-... N]
 *
 * One thread, one epoll loop: the control socket and its clients, inotify on /dev/shm
 * (a traced process leaving a hint that it started), signals, and a drain pass every few
 * milliseconds (producers never make system calls, so rings are polled: every 1 ms or less
 * while events flowed in the last second, backing off to 10 ms when idle; next_drain_wait),
 * and while an enable or disable waits on agents, a look at their answers every millisecond
 * (pending.c): nothing here ever waits on a traced process.  Once a second: heartbeat to
 * every agent, clock refinement, liveness checks, a rescan for new processes and new libraries, and
 * while a no-scope probe stands, a look for processes without libsled (uprobe_auto.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "daemon/core/config.h"
#include "ctl/ctl_request.h"
#include "daemon/core/daemon.h"
#include "daemon/core/engine.h"
#include "daemon/core/log.h"
#include "daemon/core/loss.h"
#include "daemon/core/reload.h"
#include "daemon/sled/drain.h"
#include "daemon/core/pending.h"
#include "discovery/proc_maps.h"
#include "daemon/uprobe/uprobe.h"
#include "daemon/uprobe/uprobe_auto.h"
#include "daemon/uprobe/uprobe_agg.h"
#include "daemon/core/sd_notify.h"
#include "daemon/control/metrics.h"
#include "daemon/control/metrics_text.h"
#include "daemon/sled/aggregate.h"
#include "version.h"

#define BEAT_NS        1000000000ull
#define IDLE_POLL_NS   10000000ull /* nothing has flowed for FLOW_HOLD_NS */
#define BUSY_POLL_NS   1000000ull  /* events flowed lately: a ring never waits longer */
#define PRESSED_POLL_NS 200000ull  /* a ring came back more than 1/16 full */
#define FLOW_HOLD_NS   1000000000ull
#define PENDING_POLL_NS 1000000ull /* while an agent owes an answer: look every 1 ms */

/*
 * How long to sleep before the next drain pass.  Producers make no system call, so the
 * rings are polled, and a ring must never wait longer than it takes to fill: a server
 * between two pipelined batches leaves the rings empty for a pass, then fills one in a
 * few milliseconds.  So the short timer holds for a second after the last event, not
 * one pass; a ring found a sixteenth full shortens it, a quarter full (or a few hundred
 * events in one pass) skips the sleep.  Idle for a second: back off to 10 ms.
 */
static uint64_t next_drain_wait(struct daemon *d, uint64_t got)
{
	uint64_t now = sled_clock_monotonic_ns();

	if (got)
		d->flow_ns = now;
	if (got >= 256 || d->clients_ready || d->fill_permille >= 250)
		return 0;
	if (now - d->flow_ns >= FLOW_HOLD_NS)
		return IDLE_POLL_NS;
	return d->fill_permille >= 62 ? PRESSED_POLL_NS : BUSY_POLL_NS;
}

/* Processes attached since the list began with seen: say so and give them the probes. */
static void welcome_new(struct daemon *d, struct traced_proc *seen)
{
	/* New processes are at the head of the list, before the ones seen already. */
	for (struct traced_proc *p = d->procs.head; p && p != seen; p = p->next) {
		if (p->gone)
			continue;
		log_info(d, "attached to process %d (%s)", (int)p->pid, p->exe);
		p->shm->tsc_hz = (uint64_t)(1e9 / d->clock.ns_per_tick);
		daemon_apply_all(d, p);
	}
}

static void attach_new(struct daemon *d)
{
	struct traced_proc *seen = d->procs.head;

	procs_scan(&d->procs, d->last_beat_ns);
	welcome_new(d, seen);
}

/* A refused or dropped block is said even without -v: someone may be attacking. */
static void log_refused(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "probed: not attached: %s\n", line);
}

static void log_warning(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "probed: %s\n", line);
}

static void each_second(struct daemon *d, uint64_t now)
{
	d->last_beat_ns = now;
	sled_clock_update(&d->clock);
	procs_heartbeat(&d->procs, now, (uint64_t)(1e9 / d->clock.ns_per_tick));
	/* After the beat: an agent that restored while we were silent is seen at once. */
	pending_check_restores(d);
	daemon_reap(d);
	attach_new(d);
	/* New libraries (dlopen) get the standing probes within a second; an exec'd image
	 * that no longer maps its block is let go. */
	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		if (!p->gone && procs_check_maps(&d->procs, p))
			daemon_apply_all(d, p);
	daemon_reap(d);
	/* No-scope probes: processes without libsled that started since get uprobes, those
	 * that left give theirs back.  After the sled-mode rescan, so that a process it has
	 * just attached is left to sled mode. */
	uprobe_auto_tick(d);
	uprobe_release_exited(d);
	loss_tick(d, now);
}

/*
 * A hint /dev/shm/sled.<pid> appeared: look at that pid now rather than at the next scan.
 * The name only says where to look; the block itself is found and checked in /proc.
 */
static void handle_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct traced_proc *seen = d->procs.head;
	ssize_t n;
	bool retry = false;

	while ((n = read(d->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			size_t plen = strlen(SLED_SHM_PREFIX);
			char *end;
			long pid;

			p += sizeof(*e) + e->len;
			if (!e->len || strncmp(e->name, SLED_SHM_PREFIX, plen) ||
			    !(e->mask & (IN_CREATE | IN_MOVED_TO)))
				continue;
			pid = strtol(e->name + plen, &end, 10);
			if (*end || pid <= 0 || pid > INT32_MAX)
				continue;
			/* The block may not be initialised yet (magic is written last). */
			if (!procs_look(&d->procs, (pid_t)pid, d->last_beat_ns) && errno == EAGAIN)
				retry = true;
		}
	}
	welcome_new(d, seen);
	if (retry)
		d->rescan_at_ns = sled_clock_monotonic_ns() + 20 * 1000000ull;
}

static void handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload_config(d); /* file outputs reopened, then the -c file again */
		} else {
			d->stop = true;
		}
	}
}

/* Leave no app paying for probes: every sled back to its NOP before we go. */
static void restore_everything(struct daemon *d)
{
	pending_free(d);
	probes_free(&d->probes);
	uprobe_auto_free(d); /* the uprobes themselves go with uprobe_close */
	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		if (!p->gone && p->nslots)
			probes_apply(&d->probes, p, NULL, NULL);
	daemon_drain(d);
}

/*
 * How long epoll may sleep: until the earliest of the loop's timers.  Each is a deadline
 * on CLOCK_MONOTONIC (UINT64_MAX: not armed); a new timer is one more entry.
 */
static uint64_t loop_timeout_ns(const struct daemon *d, uint64_t poll_ns, uint64_t now)
{
	const uint64_t due[] = {
		now + poll_ns,                                        /* the next drain pass */
		d->last_beat_ns + BEAT_NS,                            /* the once-a-second work */
		d->rescan_at_ns ? d->rescan_at_ns : UINT64_MAX,       /* a block not ready yet */
		pending_busy(d) ? now + PENDING_POLL_NS : UINT64_MAX, /* agents owe answers */
		d->listen_resume_ns ? d->listen_resume_ns : UINT64_MAX, /* listening paused */
	};
	uint64_t first = UINT64_MAX;

	for (size_t i = 0; i < sizeof(due) / sizeof(due[0]); i++)
		if (due[i] < first)
			first = due[i];
	return first <= now ? 0 : first - now;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: probed [-c FILE] [-S SOCKET] [--socket-mode MODE] [-o SPEC]... [-v]\n"
		"  -c, --config FILE     outputs and standing enables to start with (README)\n"
		"  -S, --socket PATH     control socket (default $PROBED_SOCKET, else for root\n"
		"                        /run/probed.sock, else $XDG_RUNTIME_DIR/probed.sock,\n"
		"                        else /tmp/probed-UID.sock)\n"
		"      --socket-mode M   octal permissions of the socket (default 0600)\n"
		"  -o, --output SPEC     where events go; repeatable:\n"
		"                          jsonl:PATH, msgpack:PATH ('-' = stdout)\n"
		"                          forward://HOST:PORT, forward+unix:PATH (Fluent Forward)\n"
		"                          syslog://HOST:PORT, syslog+udp://HOST:PORT (RFC 5424)\n"
		"                          msgpack+tcp://HOST:PORT, msgpack+unix:PATH,\n"
		"                          jsonl+tcp://HOST:PORT, jsonl+unix:PATH\n"
		"                        network outputs take ?queue=N&batch=N&... (see README)\n"
		"  -v, --verbose         log attaches, enables and disables to stderr\n"
		"      --metrics HOST:PORT  serve GET /metrics for Prometheus (loopback only,\n"
		"                        unless --metrics-any)\n"
		"Limits on control clients and traced processes (docs/SECURITY.md):\n"
		"      --max-request-bytes N    one request, encoded (default 65536)\n"
		"      --max-clients N          connections in all, the last 8 root's (default 256)\n"
		"      --max-clients-per-uid N  a non-root user's connections (default 32)\n"
		"      --max-probes-per-uid N   a non-root user's standing probes (default 256)\n"
		"      --client-buffer N        bytes of replies or tail lines queued per client\n"
		"                               (default 1048576)\n"
		"      --max-objects-memory N   bytes of parsed tracepoint sites held for traced\n"
		"                               processes' ELF files (default 268435456)\n"
		"      --max-metrics-bytes N    bytes of one GET /metrics reply; past it the series\n"
		"                               are cut, sled_metrics_truncated 1 (default 16777216)\n"
		"  -V, --version         print the version and exit\n");
}

static int set_socket_mode(struct daemon *d, const char *text)
{
	char *end;
	unsigned long mode = strtoul(text, &end, 8);

	if (*end || !*text || mode > 0777) {
		fprintf(stderr, "Error: bad socket mode '%s' (octal, e.g. 0660)\n", text);
		return -1;
	}
	d->socket_mode = (unsigned)mode;
	return 0;
}

/* --max-* and --client-buffer (or the config directives of the same names). */
static int set_limit(struct daemon *d, unsigned which, const char *text, const char *file)
{
	static const char *const names[CONFIG_NLIMITS] = { CONFIG_LIMIT_NAMES };
	static const unsigned long long lo[CONFIG_NLIMITS] = { 256, 1, 1, 1, 4096, 65536,
							       METRICS_TEXT_MIN_CAP };
	static const unsigned long long hi[CONFIG_NLIMITS] = { 16u << 20, 1u << 20, 1u << 20,
							       1u << 20, 1u << 30, 1ull << 40,
							       1u << 30 };
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (!*text || *end || errno || *text == '-' || v < lo[which] || v > hi[which]) {
		fprintf(stderr, "Error: %s%sbad %s '%s' (a number from %llu to %llu)\n",
			file ? file : "", file ? ": " : "", names[which], text, lo[which], hi[which]);
		return -1;
	}
	switch (which) {
	case 0: d->limits.request_bytes = (size_t)v; break;
	case 1: d->limits.clients = (unsigned)v; break;
	case 2: d->limits.clients_per_uid = (unsigned)v; break;
	case 3: d->limits.probes_per_uid = (unsigned)v; break;
	case 4: d->limits.client_buffer = (size_t)v; break;
	case 5: d->limits.objects_memory = (size_t)v; break;
	default: d->limits.metrics_bytes = (size_t)v; break;
	}
	return 0;
}

static int add_output(struct daemon *d, const char *spec)
{
	char err[512];

	if (d->noutputs == MAX_OUTPUTS) {
		fprintf(stderr, "Error: at most %d outputs\n", MAX_OUTPUTS);
		return -1;
	}
	d->outputs[d->noutputs] = sled_output_open(spec, err, sizeof(err));
	if (!d->outputs[d->noutputs]) {
		fprintf(stderr, "Error: %s\n", err);
		return -1;
	}
	d->noutputs++;
	return 0;
}

/* Start-up failed before the loop: release what the options and the file opened (the
 * sanitizer build checks that an early exit leaks nothing). */
static int fail_startup(struct daemon *d, struct config *cfg, int rc)
{
	for (unsigned i = 0; i < d->noutputs; i++)
		sled_output_close(d->outputs[i]);
	d->noutputs = 0;
	sled_objcache_free(d->procs.objects); /* NULL after procs_free */
	d->procs.objects = NULL;
	reload_free(d);
	config_free(cfg);
	return rc;
}

/* The config file's enable lines, as standing probes, through the request path probectl
 * uses: a line that fails stops the start-up with its line number. */
static int apply_config_enables(struct daemon *d, struct config *cfg)
{
	for (unsigned i = 0; i < cfg->nenables; i++) {
		struct config_line *l = &cfg->enables[i];
		char *argv[CONFIG_MAX_WORDS + 1], err[512];
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_unpacked req;
		struct ctl_scope s;
		int rc;

		memcpy(argv, l->argv, sizeof(argv));
		if (ctl_parse_scope(l->argc, argv, true, &s, err, sizeof(err)) == 0) {
			msgpack_sbuffer_init(&sb);
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			ctl_pack_scope(&pk, "enable", &s);
			msgpack_unpacked_init(&req);
			rc = msgpack_unpack_next(&req, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS
				     ? server_local_request(d, &req.data, err, sizeof(err))
				     : -1;
			msgpack_unpacked_destroy(&req);
			msgpack_sbuffer_destroy(&sb);
		} else {
			rc = -1;
		}
		if (rc) {
			fprintf(stderr, "Error: %s:%u: %s\n", cfg->path, l->lineno, err);
			config_free(cfg);
			return -1;
		}
		reload_note_enable(d, l, d->probes.next_id); /* owned by the config */
		log_info(d, "%s:%u: enabled %s", cfg->path, l->lineno, s.pattern);
	}
	return 0;
}

static int setup(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	ev.data.fd = d->signal_fd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->signal_fd, &ev);
	d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inotify_fd >= 0 &&
	    inotify_add_watch(d->inotify_fd, SLED_SHM_DIR, IN_CREATE | IN_MOVED_TO) >= 0) {
		ev.data.fd = d->inotify_fd;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->inotify_fd, &ev);
	}
	sled_clock_init(&d->clock);
	return server_listen(d);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		/* The limits: val is 0x100 + their index in CONFIG_LIMIT_NAMES. */
		{ "max-request-bytes", required_argument, NULL, 0x100 },
		{ "max-clients", required_argument, NULL, 0x101 },
		{ "max-clients-per-uid", required_argument, NULL, 0x102 },
		{ "max-probes-per-uid", required_argument, NULL, 0x103 },
		{ "client-buffer", required_argument, NULL, 0x104 },
		{ "max-objects-memory", required_argument, NULL, 0x105 },
		{ "max-metrics-bytes", required_argument, NULL, 0x106 },
		{ "version", no_argument, NULL, 'V' },
		{ "metrics", required_argument, NULL, 0x200 },
		{ "metrics-any", no_argument, NULL, 0x201 },
		{ 0 },
	};
	struct daemon d = { .listen_fd = -1, .reserve_fd = -1, .socket_mode = 0600,
			    .limits = SERVER_LIMITS_DEFAULT };
	bool limit_given[CONFIG_NLIMITS] = { false };
	struct config cfg = { 0 };
	const char *socket_opt = NULL, *config_path = NULL, *metrics_opt = NULL;
	bool mode_given = false, metrics_any = false;
	char err[512];
	int c;
	uint64_t poll_ns = IDLE_POLL_NS;

	opterr = 0; /* getopt's messages do not start with "Error:": ours below */
	while ((c = getopt_long(argc, argv, ":c:S:o:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (config_path) {
				fprintf(stderr, "Error: -c given twice\n");
				return 2;
			}
			config_path = optarg;
			break;
		case 'S': socket_opt = optarg; break;
		case 'm':
			if (set_socket_mode(&d, optarg))
				return 2;
			mode_given = true;
			break;
		case 'o':
			if (add_output(&d, optarg))
				return fail_startup(&d, &cfg, 2);
			break;
		case 'v': d.verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 0x100: case 0x101: case 0x102: case 0x103: case 0x104: case 0x105:
		case 0x106:
			if (set_limit(&d, (unsigned)(c - 0x100), optarg, NULL))
				return fail_startup(&d, &cfg, 2);
			limit_given[c - 0x100] = true;
			break;
		case 'V': print_version("probed"); return fail_startup(&d, &cfg, 0);
		case 0x200: metrics_opt = optarg; break;
		case 0x201: metrics_any = true; break;
		case ':':
			fprintf(stderr, "Error: option '%s' needs a value (probed --help)\n",
				argv[optind - 1]);
			return fail_startup(&d, &cfg, 2);
		default:
			if (optopt)
				fprintf(stderr, "Error: unknown option '-%c' (probed --help)\n", optopt);
			else
				fprintf(stderr, "Error: unknown option '%s' (probed --help)\n",
					argv[optind - 1]);
			return fail_startup(&d, &cfg, 2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Error: unexpected argument '%s'\n", argv[optind]);
		return fail_startup(&d, &cfg, 2);
	}
	/* Read after the options: its enable lines are parsed with getopt too. */
	if (config_path && config_load(config_path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		return fail_startup(&d, &cfg, 2);
	}
	/* The command line wins over the file; outputs add up. */
	if (cfg.socket && !socket_opt)
		socket_opt = cfg.socket;
	if (cfg.socket_mode && !mode_given && set_socket_mode(&d, cfg.socket_mode))
		return fail_startup(&d, &cfg, 2);
	d.verbose |= cfg.verbose;
	if (cfg.metrics && !metrics_opt) {
		metrics_opt = cfg.metrics;
		metrics_any |= cfg.metrics_any;
	}
	for (unsigned i = 0; i < CONFIG_NLIMITS; i++)
		if (cfg.limits[i] && !limit_given[i] && set_limit(&d, i, cfg.limits[i], cfg.path))
			return fail_startup(&d, &cfg, 2);
	for (unsigned i = 0; i < cfg.noutputs; i++)
		if (add_output(&d, cfg.outputs[i]))
			return fail_startup(&d, &cfg, 2);
	if (config_path && reload_init(&d, &cfg)) {
		fprintf(stderr, "Error: out of memory\n");
		return fail_startup(&d, &cfg, 1);
	}
	d.procs.log = log_refused;
	d.procs.warn = log_warning;
	d.procs.log_arg = &d;
	d.procs.objects = sled_objcache_new(d.limits.objects_memory);
	if (!d.procs.objects) {
		fprintf(stderr, "Error: out of memory\n");
		return fail_startup(&d, &cfg, 1);
	}
	d.probes.drain = daemon_drain_one;
	agg_set_probes(&d.probes);
	uprobe_agg_register(&d);
	drain_ring_freed = agg_fold_ring;
	d.probes.drain_arg = &d;
	d.socket_path = ctl_socket_path(socket_opt);
	if (setup(&d))
		return fail_startup(&d, &cfg, 1);
	if (metrics_opt && metrics_open(&d.metrics, metrics_opt, metrics_any, d.epfd, err,
					sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		server_close(&d);
		return fail_startup(&d, &cfg, 1);
	}
	if (d.metrics)
		log_info(&d, "metrics at http://%s/metrics", metrics_address(d.metrics));
	log_info(&d, "listening on %s", d.socket_path);
	d.last_beat_ns = sled_clock_monotonic_ns();
	attach_new(&d);
	if (apply_config_enables(&d, &cfg)) {
		/* A bad enable line is a bad config, as the README says: exit 2. */
		restore_everything(&d);
		metrics_close(d.metrics);
		server_close(&d);
		uprobe_close(d.uprobe);
		procs_release(&d.procs);
		procs_free(&d.procs);
		return fail_startup(&d, &cfg, 2);
	}
	config_free(&cfg);
	/* systemd Type=notify: ready once the socket listens and the standing probes stand. */
	if (sd_notify_send("READY=1", err, sizeof(err)))
		fprintf(stderr, "probed: %s\n", err);

	while (!d.stop) {
		struct epoll_event evs[32];
		uint64_t wait_ns = loop_timeout_ns(&d, poll_ns, sled_clock_monotonic_ns());
		struct timespec wait = { (time_t)(wait_ns / 1000000000ull),
					 (long)(wait_ns % 1000000000ull) };
		int n = epoll_pwait2(d.epfd, evs, 32, &wait, NULL);
		uint64_t now;

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == d.listen_fd)
				server_accept(&d);
			else if (fd == d.signal_fd)
				handle_signal(&d);
			else if (fd == d.inotify_fd)
				handle_inotify(&d);
			else if (d.uprobe && fd == uprobe_fd(d.uprobe))
				; /* drained below */
			else if (metrics_event(d.metrics, &d, fd, evs[i].events))
				; /* the Prometheus endpoint's */
			else
				server_client_event(&d, fd, evs[i].events);
		}
		server_pass(&d);
		/* A request just posted to agents is answered before the drain pass, which may
		 * be long while events flow hard. */
		if (n > 0 || d.pending)
			pending_tick(&d);
		poll_ns = next_drain_wait(&d, daemon_drain(&d));
		pending_tick(&d);
		now = sled_clock_monotonic_ns();
		if (d.rescan_at_ns && now >= d.rescan_at_ns) {
			d.rescan_at_ns = 0;
			attach_new(&d);
		}
		if (now - d.last_beat_ns >= BEAT_NS)
			each_second(&d, now);
	}
	restore_everything(&d);
	for (unsigned i = 0; i < d.noutputs; i++) {
		struct sled_output_stats st;

		sled_output_stop(d.outputs[i]);
		sled_output_stats(d.outputs[i], &st);
		if (st.dropped || d.verbose)
			fprintf(stderr, "probed: output %s: %llu sent, %llu dropped%s%s\n",
				sled_output_spec(d.outputs[i]), (unsigned long long)st.written,
				(unsigned long long)st.dropped, st.error[0] ? ", last error: " : "",
				st.error);
		sled_output_close(d.outputs[i]);
	}
	metrics_close(d.metrics);
	server_close(&d);
	reload_free(&d);
	uprobe_close(d.uprobe);
	procs_release(&d.procs);
	procs_free(&d.procs);
	return 0;
}
