/* SPDX-License-Identifier: MIT */
/*
 * defer_app - an app that starts libsled itself, after it made itself a user namespace
 * (which a process with a second thread cannot do).
 *
 * At start it prints, one line each:
 *   threads N     threads before main's first call: 1 when the start was deferred
 *   unshare R     unshare(CLONE_NEWUSER): 0, or the errno
 *   start R       sled_start(): 0 or -errno
 * then runs TRACEPOINT(defer, tick, n) once a millisecond and obeys commands on stdin,
 * one per line, each answered with one line:
 *   enabled       "enabled R": sled_enabled("defer", "tick")
 *   stop          "stop R": sled_stop()
 *   quit          exit 0
 * Built twice: deferred by SLED_NO_AUTOSTART, and (-DDEFER_BY_ENV) by SLED_DEFER=1.
 */
#define _GNU_SOURCE
#include <sled/sled.h>
#include <sled/tracepoint.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef DEFER_BY_ENV
SLED_NO_AUTOSTART;
#endif

static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	SLED_OPTS(sled_start_opts, opts);
	unsigned long n = 0;
	char line[64];

	printf("threads %d\n", thread_count());
	printf("unshare %d\n", unshare(CLONE_NEWUSER) ? errno : 0);
	printf("start %d\n", sled_start(&opts));
	fflush(stdout);
	for (;;) {
		struct pollfd p = { 0, POLLIN, 0 };

		TRACEPOINT(defer, tick, n);
		n++;
		if (poll(&p, 1, 1) <= 0)
			continue;
		if (!fgets(line, sizeof(line), stdin) || !strcmp(line, "quit\n"))
			return 0;
		if (!strcmp(line, "enabled\n")) {
			printf("enabled %d\n", sled_enabled("defer", "tick"));
		} else if (!strcmp(line, "stop\n")) {
			printf("stop %d\n", sled_stop());
		} else {
			printf("unknown command\n");
		}
		fflush(stdout);
	}
}
