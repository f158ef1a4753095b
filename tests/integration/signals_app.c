/* SPDX-License-Identifier: MIT */
/*
 * signals_app - tracepoints in the places where a signal-based patcher breaks a process.
 *
 *   workers     block every signal (the mask is set before pthread_create, as thread
 *               pools do) and hit a guarded tracepoint in a tight loop:
 *                 if (TRACEPOINT_ENABLED(sig, work)) TRACEPOINT(sig, work, thread, seq, check)
 *               with check = seq * 2654435761 ^ thread
 *   trap thread has its own SIGTRAP handler, raises SIGTRAP itself (raise() and an int3
 *               instruction, in turn) and counts what its handler saw; the handler hits
 *               TRACEPOINT(sig, trap, n) with n its running count
 *               Between traps, round r (1, 2, ...) stores g_counter = 100 + r,
 *               g_conf.b = -(200 + r) and tls_count = 400 + r (a global, a field of a
 *               global struct, a __thread variable) and then, in another function,
 *               hits TRACEPOINT(sig, vals, r, g_counter, g_conf.b, tls_count): built with
 *               gcc -O2 these are symbolic operands ("g_counter(%rip)", "8+g_conf(%rip)",
 *               "%fs:tls_count@tpoff"); and TRACEPOINT(sig, strs, r, bad, unterminated)
 *               with bad = (char *)0x10 and unterminated = "ABCDEFGH" with no NUL,
 *               ending where a PROT_NONE page begins
 *   main thread sleeps, taking a 10 kHz SIGALRM (setitimer) whose handler hits
 *               TRACEPOINT(sig, alarm, n) with n its running count
 * Only the main thread takes SIGALRM and it hits no site outside the handler, and the
 * trap thread raises SIGTRAP outside any site: no handler ever interrupts a thread inside
 * a site.
 *
 * Usage: signals_app WORKERS [NICE [CPU]]
 *   WORKERS  1..16; NICE: niceness of the workers; CPU: pin the workers to this CPU
 * Runs until SIGTERM or SIGINT, then prints one summary line to stderr and exits 0, or 3
 * if the SIGTRAP handler did not see exactly the traps raised.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "worker_app.h"

/* Its arguments, as its usage line gives them. */
#define USAGE "WORKERS [NICE [CPU]]"

static volatile sig_atomic_t stop;
static volatile uint64_t traps_seen, alarms_seen;
static int worker_nice;
static long worker_cpu = -1;

/* Arguments with static storage (see the top comment); static, so addressed directly. */
struct sig_conf {
	int64_t a;
	int64_t b;
};
static int64_t g_counter;
static struct sig_conf g_conf;
static __thread int64_t tls_count;
static const char *unterminated;

/* Separate functions, never inlined: the tracepoints read what another function stored,
 * so the compiler has no copy in a register and names the variables in the operands. */
#define NOT_INLINED __attribute__((noipa))

NOT_INLINED static void store_values(uint64_t r)
{
	g_counter = (int64_t)(100 + r);
	g_conf.b = -(int64_t)(200 + r);
	tls_count = (int64_t)(400 + r);
}

NOT_INLINED static void fire_values(uint64_t r)
{
	const char *bad = (const char *)(uintptr_t)0x10;

	TRACEPOINT(sig, vals, r, g_counter, g_conf.b, tls_count);
	TRACEPOINT(sig, strs, r, bad, unterminated);
}

struct worker {
	pthread_t thread;
	uint64_t index, iterations;
};

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_trap(int sig)
{
	uint64_t n = traps_seen + 1;

	(void)sig;
	traps_seen = n;
	TRACEPOINT(sig, trap, n);
}

static void on_alarm(int sig)
{
	uint64_t n = alarms_seen + 1;

	(void)sig;
	alarms_seen = n;
	TRACEPOINT(sig, alarm, n);
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000L };

	nanosleep(&ts, NULL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t thread = w->index, seq;

	app_worker_place(worker_nice, worker_cpu);
	for (seq = 0; !stop; seq++) {
		uint64_t check = seq * 2654435761u ^ thread;

		if (TRACEPOINT_ENABLED(sig, work))
			TRACEPOINT(sig, work, thread, seq, check);
	}
	w->iterations = seq;
	return NULL;
}

static uint64_t traps_raised;

static void *trap_main(void *arg)
{
	sigset_t alrm;

	(void)arg;
	/* SIGALRM goes to the main thread only. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	for (uint64_t r = 1; !stop; r++) {
		store_values(r);
		fire_values(r);
		if (traps_raised & 1)
			__asm__ volatile("int3");
		else
			raise(SIGTRAP);
		traps_raised++;
		sleep_us(200);
	}
	return NULL;
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	unsigned long nworkers = app_arg_or(argc, argv, 1, 2, USAGE);
	struct itimerval tick = { { 0, 100 }, { 0, 100 } }; /* 10 kHz */
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct worker w[16];
	sigset_t all, old;
	pthread_t trap_thread;
	uint64_t total = 0;
	long page = sysconf(_SC_PAGESIZE);
	char *area = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	worker_nice = (int)app_arg_or(argc, argv, 2, 0, USAGE);
	worker_cpu = argc > 3 ? (long)app_arg_or(argc, argv, 3, 0, USAGE) : -1;
	if (nworkers == 0 || nworkers > 16) {
		fprintf(stderr, "%s: WORKERS must be 1..16\n", argv[0]);
		return 2;
	}
	if (area == MAP_FAILED || mprotect(area + page, (size_t)page, PROT_NONE)) {
		perror("signals_app: mmap");
		return 1;
	}
	memcpy(area + page - 8, "ABCDEFGH", 8); /* no NUL: the next byte is unreadable */
	unterminated = area + page - 8;
	handle(SIGTERM, on_stop);
	handle(SIGINT, on_stop);
	handle(SIGTRAP, on_trap);
	handle(SIGALRM, on_alarm);

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned long i = 0; i < nworkers; i++) {
		int err;

		w[i].index = i;
		err = pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pthread_create(&trap_thread, NULL, trap_main, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	setitimer(ITIMER_REAL, &tick, NULL);
	while (!stop)
		sleep_us(20000);
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_join(trap_thread, NULL);
	for (unsigned long i = 0; i < nworkers; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].iterations;
	}
	fprintf(stderr, "signals_app: %lu workers, %llu iterations, %llu alarms, SIGTRAP raised %llu "
		"seen %llu\n", nworkers, (unsigned long long)total,
		(unsigned long long)alarms_seen, (unsigned long long)traps_raised,
		(unsigned long long)traps_seen);
	return traps_seen == traps_raised ? 0 : 3;
}
