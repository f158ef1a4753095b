/* SPDX-License-Identifier: MIT */
/*
 * fork_app - a traced process that forks while its tracepoint may be enabled.
 *
 *   TRACEPOINT(forkapp, tick, TP_FIELD(pid, getpid()), TP_FIELD(tid, gettid()), seq)
 *
 * Two threads (main and one worker) emit the tracepoint in a loop, each event carrying the
 * pid and tid of the thread that fired it, so a consumer can tell whether an event was
 * recorded by the process it claims to come from.
 *
 *   SIGUSR1  the main thread forks one long-lived child, which keeps looping the same way
 *            (its main thread plus a new worker) and prints "child PID" on stdout.
 *   SIGUSR2  the main thread forks STORM (default 20) short-lived children one after the
 *            other, each running 20000 iterations and exiting 0; prints
 *            "storm N ok M" on stdout once all are reaped.
 *   SIGTERM  stop: the parent stops its long-lived child with SIGTERM and reaps it.
 *
 * Exit status: 0 when every child exited 0 (printed as "child exit STATUS" on stdout);
 * 4 when a child died or failed; a child exits 0 after a clean stop.
 *
 * Usage: fork_app [PAUSE_US [STORM]]   PAUSE_US (default 200) paces each thread's loop.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop, want_child, want_storm;
static volatile sig_atomic_t worker_stop;
static unsigned long pause_us = 200, storm = 20;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_child = 1;
	else if (sig == SIGUSR2)
		want_storm = 1;
	else
		stop = 1;
}

static void tick(uint64_t seq)
{
	TRACEPOINT(forkapp, tick, TP_FIELD(pid, getpid()), TP_FIELD(tid, gettid()), seq);
}

static void pace(void)
{
	struct timespec ts = { 0, (long)pause_us * 1000L };

	if (pause_us)
		nanosleep(&ts, NULL);
}

static void *worker_main(void *arg)
{
	(void)arg;
	for (uint64_t seq = 0; !worker_stop; seq++) {
		tick(seq);
		pace();
	}
	return NULL;
}

static int start_worker(pthread_t *t)
{
	worker_stop = 0;
	return pthread_create(t, NULL, worker_main, NULL);
}

static void stop_worker(pthread_t t)
{
	worker_stop = 1;
	pthread_join(t, NULL);
}

/* The long-lived child: the same loop as the parent until SIGTERM. */
static int child_main(void)
{
	pthread_t worker;

	stop = want_child = want_storm = 0;
	if (start_worker(&worker))
		return 5;
	printf("child %d\n", (int)getpid());
	fflush(stdout);
	for (uint64_t seq = 0; !stop; seq++) {
		tick(seq);
		pace();
	}
	stop_worker(worker);
	return 0;
}

/* Short-lived children, forked while the worker thread is hot in the tracepoint. */
static void fork_storm(void)
{
	unsigned long ok = 0;

	for (unsigned long i = 0; i < storm; i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			break;
		if (pid == 0) {
			for (uint64_t seq = 0; seq < 20000; seq++)
				tick(seq);
			exit(0); /* exit, not _exit: the child's libsled removes its block */
		}
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
		else
			fprintf(stderr, "fork_app: storm child %d: status %#x\n", (int)pid, status);
	}
	printf("storm %lu ok %lu\n", storm, ok);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t worker;
	pid_t child = 0;
	int ret = 0;

	if (argc > 1)
		pause_us = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		storm = strtoul(argv[2], NULL, 10);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	if (start_worker(&worker))
		return 1;
	for (uint64_t seq = 0; !stop; seq++) {
		tick(seq);
		pace();
		if (want_child && !child) {
			want_child = 0;
			fflush(stdout);
			child = fork();
			if (child == 0)
				exit(child_main());
			if (child < 0) {
				perror("fork");
				child = 0;
			}
		}
		if (want_storm) {
			want_storm = 0;
			fork_storm();
		}
	}
	stop_worker(worker);
	if (child > 0) {
		int status = 0;

		kill(child, SIGTERM);
		if (waitpid(child, &status, 0) != child)
			status = -1;
		printf("child exit %#x\n", status);
		fflush(stdout);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ret = 4;
	}
	return ret;
}
