// SPDX-License-Identifier: MIT
/*
 * bench_export: what exporting costs the daemon, in one table.
 *
 *   bench_export [--quick] [N]
 *
 * Rows:
 *   - the encoders alone (msgpack, Forward's record, JSON): events/s on one core and
 *     ns per event;
 *   - every output kind through the output API (sled_output_open, sled_output_write,
 *     sled_output_flush after each pass of 4096 events as the daemon does after a drain
 *     pass, sled_output_stop), into /dev/null, a file in /dev/shm, and for the network
 *     kinds a local receiver in a child process that reads and discards (and answers
 *     acks for forward ?ack=1).  "CPU ms / 1M" is this process's CPU time
 *     (CLOCK_PROCESS_CPUTIME_ID: the writing thread plus a network output's worker
 *     thread, not the receiver) per million events.  Network kinds are fed no faster
 *     than they deliver (the writer waits while the queue is over half full), so the
 *     rows are sustained rates, not drops; the dropped column says if any were.
 *     A kind that this build does not have prints "n/a (not built)".
 *
 * The event is a typical request probe: 4 fields (i64, u32, 13-byte string, double),
 * as in tests/integration/encode_driver.c.  Figures are medians of several runs.  Not a
 * test: timings vary with the machine; run it alone for numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "encode_msgpack.h"
#include "netout.h"
#include "output.h"

/*
 * output.c refers to the Forward protocol weakly (it was optional while being written);
 * a weak reference does not pull output_forward.o out of the static library, and while
 * that is so, opening forward:// would call through a NULL protocol.  Same weak
 * reference here, to say "not linked" instead of crashing.
 */
extern const struct sled_proto_ops sled_proto_forward __attribute__((weak));

#define BASE_NS   1700000000000000000ull
#define PASS      4096 /* events between two flushes: one drain pass */
#define MAX_CONNS 16

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench_event(struct sled_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->provider = "http";
	ev->name = "request";
	ev->pid = 4242;
	ev->tid = 4243;
	ev->mode = "sled";
	ev->nfields = 4;
	ev->fields[0] = (struct sled_event_field){ .name = "latency_ns", .type = SLED_T_I64 };
	ev->fields[1] = (struct sled_event_field){ .name = "status", .type = SLED_T_U32,
						   .v.u = 200 };
	ev->fields[2] = (struct sled_event_field){ .name = "path", .type = SLED_T_STRING };
	ev->fields[2].v.str.ptr = "/api/v1/items";
	ev->fields[2].v.str.len = 13;
	ev->fields[3] = (struct sled_event_field){ .name = "ratio", .type = SLED_T_DOUBLE };
}

/* What changes from one event to the next, as it would from a ring. */
static inline void bench_step(struct sled_event *ev, uint64_t i)
{
	ev->ts_ns = BASE_NS + i * 1000;
	ev->fields[0].v.i = (int64_t)(12345 + i % 1000);
	ev->fields[3].v.d = 0.25 + (double)(i % 8);
}

struct result {
	bool ok;
	char note[96];  /* "n/a (not built)", or why the row failed */
	double rate;    /* events/s, wall clock */
	double ns;      /* ns per event, wall clock */
	double cpu_ms;  /* CPU ms per million events */
	uint64_t dropped;
};

static void print_row(const char *what, const struct result *r)
{
	if (!r->ok) {
		printf("%-46s %s\n", what, r->note);
		return;
	}
	printf("%-46s %12.0f %9.1f %12.1f %9llu\n", what, r->rate, r->ns, r->cpu_ms,
	       (unsigned long long)r->dropped);
	fflush(stdout);
}

/* ---- encoders alone ---- */

typedef int encode_fn(struct sled_buf *buf, const struct sled_event *ev);

static struct result bench_encoder(encode_fn *enc, uint64_t n, int reps)
{
	double rate[16], cpu[16];
	struct result r = { .ok = true };
	struct sled_buf b = { 0 };
	struct sled_event ev;

	bench_event(&ev);
	for (int k = 0; k < reps; k++) {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);

		for (uint64_t i = 0; i < n; i++) {
			bench_step(&ev, i);
			if (enc(&b, &ev)) {
				snprintf(r.note, sizeof(r.note), "failed: out of memory");
				r.ok = false;
				sled_buf_free(&b);
				return r;
			}
			if (b.len >= 256 * 1024) /* what an output does with a full chunk */
				b.len = 0;
		}
		rate[k] = (double)n * 1e9 / (double)(now_ns(CLOCK_MONOTONIC) - t0);
		cpu[k] = (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e6 * 1e6 / (double)n;
	}
	sled_buf_free(&b);
	r.rate = median(rate, reps);
	r.ns = 1e9 / r.rate;
	r.cpu_ms = median(cpu, reps);
	return r;
}

/* ---- the local receiver (a child process) ---- */

enum recv_kind { RECV_TCP, RECV_UNIX, RECV_UDP };

struct receiver {
	pid_t pid;
	char spec_target[128]; /* "127.0.0.1:PORT" or the socket path */
	char path[108];        /* unix socket to remove, or "" */
};

/* Answer {"ack": chunk} for each Forward message that carries a chunk option. */
static void answer_acks(int fd, msgpack_unpacker *up)
{
	msgpack_unpacked res;

	msgpack_unpacked_init(&res);
	while (msgpack_unpacker_next(up, &res) == MSGPACK_UNPACK_SUCCESS) {
		msgpack_object *o = &res.data, *opt;
		msgpack_sbuffer sb;
		msgpack_packer pk;

		if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
			continue;
		opt = &o->via.array.ptr[o->via.array.size - 1];
		if (opt->type != MSGPACK_OBJECT_MAP)
			continue;
		for (uint32_t i = 0; i < opt->via.map.size; i++) {
			msgpack_object *k = &opt->via.map.ptr[i].key, *v = &opt->via.map.ptr[i].val;

			if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != 5 ||
			    memcmp(k->via.str.ptr, "chunk", 5) || v->type != MSGPACK_OBJECT_STR)
				continue;
			msgpack_sbuffer_init(&sb);
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "ack", 3);
			msgpack_pack_str_with_body(&pk, v->via.str.ptr, v->via.str.size);
			if (send(fd, sb.data, sb.size, MSG_NOSIGNAL) < 0) {
				/* the sender went away: its reconnect is a new connection */
			}
			msgpack_sbuffer_destroy(&sb);
		}
	}
	msgpack_unpacked_destroy(&res);
}

/* The child: accept (stream) and read everything, discarding it. */
static void receive_loop(int lfd, enum recv_kind kind, bool ack)
{
	static char scratch[1 << 20];
	struct pollfd pfd[MAX_CONNS + 1];
	msgpack_unpacker *up[MAX_CONNS + 1] = { 0 };
	int n = 1;

	pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (kind == RECV_UDP) {
			while (recv(lfd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
				;
			continue;
		}
		if ((pfd[0].revents & POLLIN) && n <= MAX_CONNS) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
				up[n] = ack ? msgpack_unpacker_new(1 << 20) : NULL;
				n++;
			}
		}
		for (int i = 1; i < n; i++) {
			ssize_t r;

			if (!pfd[i].revents)
				continue;
			if (up[i]) {
				if (!msgpack_unpacker_reserve_buffer(up[i], 1 << 20))
					_exit(1);
				r = read(pfd[i].fd, msgpack_unpacker_buffer(up[i]), 1 << 20);
				if (r > 0) {
					msgpack_unpacker_buffer_consumed(up[i], (size_t)r);
					answer_acks(pfd[i].fd, up[i]);
				}
			} else {
				r = read(pfd[i].fd, scratch, sizeof(scratch));
			}
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
				close(pfd[i].fd);
				if (up[i])
					msgpack_unpacker_free(up[i]);
				pfd[i] = pfd[n - 1];
				up[i] = up[n - 1];
				n--;
				i--;
			}
		}
	}
}

static int start_receiver(struct receiver *rc, enum recv_kind kind, bool ack)
{
	int fd;

	memset(rc, 0, sizeof(*rc));
	if (kind == RECV_UNIX) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(rc->path, sizeof(rc->path), "/dev/shm/bench_export.%d.sock", (int)getpid());
		unlink(rc->path);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", rc->path);
		snprintf(rc->spec_target, sizeof(rc->spec_target), "%s", rc->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16))
			return -errno;
	} else {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(sa);

		fd = socket(AF_INET, (kind == RECV_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    (kind == RECV_TCP && listen(fd, 16)) ||
		    getsockname(fd, (struct sockaddr *)&sa, &len))
			return -errno;
		if (kind == RECV_UDP) {
			int sz = 8 << 20;

			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		}
		snprintf(rc->spec_target, sizeof(rc->spec_target), "127.0.0.1:%u",
			 (unsigned)ntohs(sa.sin_port));
	}
	rc->pid = fork();
	if (rc->pid < 0) {
		close(fd);
		return -errno;
	}
	if (rc->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		receive_loop(fd, kind, ack);
		_exit(0);
	}
	close(fd);
	return 0;
}

static void stop_receiver(struct receiver *rc)
{
	if (rc->pid > 0) {
		kill(rc->pid, SIGKILL);
		waitpid(rc->pid, NULL, 0);
	}
	if (rc->path[0])
		unlink(rc->path);
}

/* ---- outputs ---- */

struct output_row {
	const char *label;
	const char *spec_fmt; /* %s: the receiver's target; no receiver if none */
	bool has_receiver;
	enum recv_kind recv;
	bool ack;
	bool network; /* fed no faster than it delivers */
};

/* One run of n events through spec: false with a note if it could not run. */
static bool run_output(const char *spec, bool network, uint64_t n, double *rate, double *cpu,
		       uint64_t *dropped, char *note, size_t notelen)
{
	struct sled_output_stats st;
	struct sled_output *o;
	struct sled_event ev;
	uint64_t t0, c0, delivered;
	char err[256] = "";

	if (!strncmp(spec, "forward", 7) && !&sled_proto_forward) {
		snprintf(note, notelen, "n/a (not linked into this binary)");
		return false;
	}
	o = sled_output_open(spec, err, sizeof(err));
	if (!o) {
		if (!strncmp(err, "unknown output", 14))
			snprintf(note, notelen, "n/a (not built)");
		else
			snprintf(note, notelen, "failed: %.50s", err);
		return false;
	}
	bench_event(&ev);
	t0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (uint64_t i = 0; i < n;) {
		for (uint64_t end = i + PASS < n ? i + PASS : n; i < end; i++) {
			bench_step(&ev, i);
			sled_output_write(o, &ev);
		}
		sled_output_flush(o);
		/* Queue default 262144 events: stay under half of it. */
		while (network) {
			const struct timespec pause = { 0, 100000 };

			sled_output_stats(o, &st);
			if (st.queued < 131072)
				break;
			nanosleep(&pause, NULL);
		}
	}
	sled_output_stop(o);
	sled_output_stats(o, &st);
	delivered = st.written;
	*rate = (double)delivered * 1e9 / (double)(now_ns(CLOCK_MONOTONIC) - t0);
	*cpu = (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e6 * 1e6 / (double)n;
	*dropped = st.dropped;
	sled_output_close(o);
	if (!strncmp(spec, "msgpack:/dev/shm/", 17))
		unlink(spec + 8); /* each run writes hundreds of MB: not kept */
	if (delivered == 0) {
		snprintf(note, notelen, "failed: nothing delivered (%.40s)", st.error);
		return false;
	}
	return true;
}

static struct result bench_output(const struct output_row *row, uint64_t n, int reps)
{
	struct result r = { .ok = true };
	double rate[16], cpu[16];
	struct receiver rc = { 0 };
	char spec[256];

	if (row->has_receiver) {
		int err = start_receiver(&rc, row->recv, row->ack);

		if (err) {
			snprintf(r.note, sizeof(r.note), "failed: receiver: %s", strerror(-err));
			r.ok = false;
			return r;
		}
	}
	snprintf(spec, sizeof(spec), row->spec_fmt, rc.spec_target);
	for (int k = 0; k < reps && r.ok; k++) {
		uint64_t dropped = 0;

		r.ok = run_output(spec, row->network, n, &rate[k], &cpu[k], &dropped, r.note,
				  sizeof(r.note));
		r.dropped += dropped;
	}
	stop_receiver(&rc);
	if (r.ok) {
		r.rate = median(rate, reps);
		r.ns = 1e9 / r.rate;
		r.cpu_ms = median(cpu, reps);
	}
	return r;
}

int main(int argc, char **argv)
{
	bool quick = false;
	uint64_t n = 0;
	int reps;
	char shm[128];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			quick = true;
		} else if (argv[i][0] >= '1' && argv[i][0] <= '9') {
			n = strtoull(argv[i], NULL, 10);
		} else {
			fprintf(stderr, "usage: %s [--quick] [N]\n", argv[0]);
			return 2;
		}
	}
	if (!n)
		n = quick ? 200000 : 2000000;
	reps = quick ? 1 : 5;
	signal(SIGPIPE, SIG_IGN);
	snprintf(shm, sizeof(shm), "msgpack:/dev/shm/bench_export.%d.msgpack", (int)getpid());

	const struct output_row rows[] = {
		{ "output msgpack:/dev/null", "msgpack:/dev/null", false, 0, false, false },
		{ "output jsonl:/dev/null", "jsonl:/dev/null", false, 0, false, false },
		{ "output msgpack:/dev/shm/FILE", shm, false, 0, false, false },
		{ "output msgpack+tcp://127.0.0.1 (discard)", "msgpack+tcp://%s", true, RECV_TCP,
		  false, true },
		{ "output msgpack+unix:PATH (discard)", "msgpack+unix:%s", true, RECV_UNIX, false,
		  true },
		{ "output jsonl+tcp://127.0.0.1 (discard)", "jsonl+tcp://%s", true, RECV_TCP, false,
		  true },
		{ "output forward://127.0.0.1 (discard)", "forward://%s", true, RECV_TCP, false,
		  true },
		{ "output forward ?gzip=1 (discard)", "forward://%s?gzip=1", true, RECV_TCP, false,
		  true },
		{ "output forward ?ack=1 (receiver acks)", "forward://%s?ack=1", true, RECV_TCP, true,
		  true },
		{ "output syslog://127.0.0.1 (discard)", "syslog://%s", true, RECV_TCP, false, true },
		{ "output syslog+udp://127.0.0.1 (discard)", "syslog+udp://%s", true, RECV_UDP, false,
		  true },
	};

	printf("bench_export: %llu events per run, median of %d run%s, one 4-field event\n",
	       (unsigned long long)n, reps, reps > 1 ? "s" : "");
	printf("%-46s %12s %9s %12s %9s\n", "what", "events/s", "ns/event", "CPU ms / 1M",
	       "dropped");
	struct result r = bench_encoder(sled_encode_msgpack, n, reps);
	print_row("encode msgpack (sled_encode_msgpack)", &r);
	r = bench_encoder(sled_encode_msgpack_record, n, reps);
	print_row("encode msgpack record (Forward, no ts)", &r);
	r = bench_encoder(sled_encode_json, n, reps);
	print_row("encode JSON (sled_encode_json)", &r);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = bench_output(&rows[i], n, reps);
		print_row(rows[i].label, &r);
	}
	return 0;
}
