/* SPDX-License-Identifier: MIT */
/*
 * signal_nest_app - a tracepoint in a signal handler that interrupts the same thread
 * inside another tracepoint's event.  The main thread hits nest:main(a, b = 3 * a) in a
 * tight loop; a per-thread timer sends it SIGALRM every 100 us (10 kHz) and the handler
 * hits nest:handler(n, m = 7 * n).  With both enabled in sled mode, most signals land
 * inside the dispatcher, between reserving ring space and publishing it.
 *
 * Usage: signal_nest_app HANDLER_EVENTS
 *   prints "ready <pid>", waits for a line on stdin, runs until the handler has fired
 *   HANDLER_EVENTS times, prints "done <main hits> <handler hits>", waits for another
 *   line (the test reads the daemon's figures for this process meanwhile) and exits 0.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t handler_hits;

static void on_alarm(int sig)
{
	uint64_t n = handler_hits + 1, m = 7 * n;

	(void)sig;
	TRACEPOINT(nest, handler, n, m);
	handler_hits = n;
}

int main(int argc, char **argv)
{
	uint64_t want = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000, a = 0;
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };
	struct itimerspec its = { { 0, 100000 }, { 0, 100000 } };
	char line[16];
	timer_t timer;

	sigemptyset(&sa.sa_mask);
	/* Directed at this thread: not at libsled's agent thread. */
	sev._sigev_un._tid = gettid();
	if (sigaction(SIGALRM, &sa, NULL) || timer_create(CLOCK_MONOTONIC, &sev, &timer)) {
		perror("signal_nest_app: timer");
		return 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	timer_settime(timer, 0, &its, NULL);
	while (handler_hits < want) {
		uint64_t b;

		a++;
		b = 3 * a;
		TRACEPOINT(nest, main, a, b);
	}
	timer_delete(timer);
	printf("done %llu %llu\n", (unsigned long long)a, (unsigned long long)handler_hits);
	fflush(stdout);
	return fgets(line, sizeof(line), stdin) ? 0 : 1;
}
