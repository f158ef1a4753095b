/* SPDX-License-Identifier: MIT */
/*
 * uprobe_driver: uprobe mode (probed/daemon/uprobe/uprobe.h) on its own, for tests and
 * benchmarks.  Attaches provider:name of a binary or shared library, with the field names
 * and types of its sled note (or, for plain sys/sdt.h sites, those derived from the arg
 * spec), drains the ring buffer and prints each event as a JSON line, then the counts.
 *
 *   uprobe_driver [-p PID] [-t SECONDS] [-n COUNT] [-q|-Q] [-w BYTES] BINARY PROVIDER:NAME
 *
 *   -p PID      trace one process (default: -1, every process of BINARY, present and future)
 *   -t SECONDS  stop after this long (default 10; fractions allowed)
 *   -n COUNT    stop once COUNT events were exported
 *   -q          encode events (JSON) but do not print them (benchmarks)
 *   -Q          only count events: no encoding (benchmarks: the consumer's own cost)
 *   -w BYTES    ring-buffer wakeup threshold (uprobe_set_wakeup; default: the library's)
 *
 * Output, one JSON object per line on stdout:
 *   {"attached":{"handle":H,"sites":S,"fds":F,"fields":N}}   once the probe is live
 *   {"provider":...}                                          each event (sled_encode_json)
 *   {"counts":{"emitted":E,"exported":X,"dropped":D,"malformed":M,"stale":S,
 *              "arg_errors":A,"fds":F}}                       at the end (after detaching
 *                                                             and a final drain)
 * SIGINT/SIGTERM end the run early (counts are still printed).  Exit status: 0; 1 for a
 * failed attach or bad input (one "Error: ..." line on stderr); 3 when uprobe mode is
 * unavailable here (no BPF, no privileges); 2 for usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "sites.h"
#include "daemon/uprobe/uprobe.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct out {
	struct sled_buf buf;
	int quiet;
	uint64_t events;
};

static void sink(const struct sled_event *ev, uint32_t probe_id, void *arg)
{
	struct out *o = arg;

	(void)probe_id;
	o->events++;
	if (o->quiet > 1)
		return;
	if (sled_encode_json(&o->buf, ev) != 0)
		return;
	if (o->quiet || o->buf.len >= 1 << 16) {
		if (!o->quiet)
			fwrite(o->buf.data, 1, o->buf.len, stdout);
		o->buf.len = 0;
	}
}

static void flush(struct out *o)
{
	if (!o->quiet && o->buf.len) {
		fwrite(o->buf.data, 1, o->buf.len, stdout);
		fflush(stdout);
	}
	o->buf.len = 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: uprobe_driver [-p PID] [-t SECONDS] [-n COUNT] [-q|-Q] [-w BYTES] "
		"BINARY PROVIDER:NAME\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sled_object obj = { 0 };
	struct sled_field fields[SLED_MAX_ARGS];
	struct uprobe_handle_info hi;
	struct uprobe_stats st;
	struct uprobe_ctx *u;
	struct out o = { 0 };
	struct sigaction sa;
	uint64_t emitted, exported, dropped, limit = 0, wakeup = UINT64_MAX;
	double seconds = 10, t_end;
	unsigned nfields = 0, nsites = 0;
	const char *binary, *colon;
	char provider[64], name[64], err[512];
	pid_t pid = -1;
	int opt, handle, ep;

	while ((opt = getopt(argc, argv, "p:t:n:qQw:")) != -1) {
		switch (opt) {
		case 'p': pid = (pid_t)atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'n': limit = strtoull(optarg, NULL, 10); break;
		case 'q': o.quiet = 1; break;
		case 'Q': o.quiet = 2; break;
		case 'w': wakeup = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	binary = argv[optind];
	colon = strchr(argv[optind + 1], ':');
	if (!colon || colon == argv[optind + 1] || !colon[1] ||
	    (size_t)(colon - argv[optind + 1]) >= sizeof(provider) || strlen(colon + 1) >= sizeof(name))
		usage();
	snprintf(provider, sizeof(provider), "%.*s", (int)(colon - argv[optind + 1]), argv[optind + 1]);
	snprintf(name, sizeof(name), "%s", colon + 1);

	/* Fields from the notes: the first site of that name (all sites of a sled tracepoint
	 * carry the same fields).  A binary without it still goes to uprobe_attach, so that
	 * its error message is what the user sees. */
	if (sled_object_read(binary, &obj, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < obj.nsites; i++) {
			const struct sled_site *s = &obj.sites[i];

			if (s->kind != SLED_SITE_TRACEPOINT || strcmp(s->provider, provider) ||
			    strcmp(s->name, name))
				continue;
			if (!nsites++) {
				nfields = (unsigned)s->nargs;
				memcpy(fields, s->fields, sizeof(fields[0]) * nfields);
			}
		}
		sled_object_free(&obj);
	}

	if (uprobe_open(&u, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error: %s\n", err);
		return 3;
	}
	if (wakeup != UINT64_MAX)
		uprobe_set_wakeup(u, wakeup);
	handle = uprobe_attach(u, binary, pid, provider, name, fields, nfields, 1, NULL, err,
			       sizeof(err));
	if (handle < 0) {
		fprintf(stderr, "Error: %s\n", err);
		uprobe_close(u);
		return 1;
	}
	uprobe_handle_info(u, handle, &hi);
	printf("{\"attached\":{\"handle\":%d,\"sites\":%u,\"fds\":%u,\"fields\":%u}}\n", handle, nsites,
	       hi.fds, nfields);
	fflush(stdout);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; /* a write to a full stdout pipe resumes; epoll_wait returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };

		epoll_ctl(ep, EPOLL_CTL_ADD, uprobe_fd(u), &ev);
	}
	t_end = now_s() + seconds;
	while (!stop && now_s() < t_end && !(limit && o.events >= limit)) {
		struct epoll_event ev;
		double left = t_end - now_s();
		int ms = left > 0.01 ? 10 : (int)(left * 1000);

		if (ep >= 0)
			epoll_wait(ep, &ev, 1, ms);
		else
			usleep((useconds_t)ms * 1000);
		while (uprobe_drain(u, sink, &o) == UPROBE_DRAIN_BUDGET)
			;
		flush(&o);
	}
	/* Detach first (no more hits), then drain what is left: the counts then balance. */
	uprobe_detach(u, handle);
	while (uprobe_drain(u, sink, &o) == UPROBE_DRAIN_BUDGET)
		;
	flush(&o);
	uprobe_counts(u, handle, &emitted, &exported, &dropped);
	uprobe_handle_info(u, handle, &hi);
	uprobe_stats(u, &st);
	printf("{\"counts\":{\"emitted\":%llu,\"exported\":%llu,\"dropped\":%llu,\"malformed\":%llu,"
	       "\"stale\":%llu,\"arg_errors\":%llu,\"fds\":%u}}\n",
	       (unsigned long long)emitted, (unsigned long long)exported,
	       (unsigned long long)dropped, (unsigned long long)st.malformed,
	       (unsigned long long)st.stale, (unsigned long long)hi.arg_errors, hi.fds);
	fflush(stdout);
	if (ep >= 0)
		close(ep);
	uprobe_close(u);
	sled_buf_free(&o.buf);
	return 0;
}
