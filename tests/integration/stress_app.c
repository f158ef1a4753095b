/* SPDX-License-Identifier: MIT */
/*
 * stress_app - threads in tight tracepoint loops whose events check themselves.
 *
 *   TRACEPOINT(stress, hit, thread, seq, TP_FIELD(check, seq * 2654435761u ^ thread),
 *              TP_FIELD(label, label))
 *
 * label is "<seq in hex>-" followed by the first (seq % 27) letters of the alphabet, so a
 * consumer can recompute every field from (thread, seq) and the records vary in size.
 * Each iteration also keeps opaque copies of seq, thread and check in general-purpose
 * registers and seq as a double in an SSE register across the site, and compares them
 * afterwards: a trampoline that corrupted a register shows here even if no event is
 * exported.
 *
 * Usage: stress_app THREADS [PAUSE_US [NICE [CPU]]]
 *   THREADS   worker threads (1..64)
 *   PAUSE_US  0: tight loops; else sleep this long every 64 iterations
 *   NICE      niceness the workers give themselves (the main thread and libsled's agent
 *             keep theirs), so a loaded machine still schedules the daemon and the agent
 *   CPU       pin the workers to this CPU (default: no pinning), leaving the others to
 *             the control plane: the workers still run while a site is being patched
 *
 * Runs until SIGTERM or SIGINT, then joins the workers, prints one summary line to
 * stderr and exits 0, or 3 if a value changed across the site in any thread.  SIGUSR1
 * makes the main thread crash on a real invalid memory access (SIGSEGV, no core file)
 * while the workers keep producing events.
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
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "worker_app.h"

/* Its arguments, as its usage line gives them. */
#define USAGE "THREADS [PAUSE_US [NICE [CPU]]]"

static volatile sig_atomic_t stop, crash;
static unsigned long pause_us;
static int worker_nice;
static long worker_cpu = -1;

struct worker {
	pthread_t thread;
	uint64_t index;
	uint64_t iterations;
	int ok;
};

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		crash = 1;
	else
		stop = 1;
}

static const char letters[] = "abcdefghijklmnopqrstuvwxyz";

/* "<hex>-<letters>" into buf (at least 48 bytes).  Not inlined: the TRACEPOINT asm has no
 * memory clobber, so the call is what keeps the stores to buf before the site. */
__attribute__((noinline)) static void make_label(char *buf, uint64_t seq)
{
	char tmp[17];
	unsigned n = 0, k = 0, extra = (unsigned)(seq % 27);

	do {
		tmp[n++] = "0123456789abcdef"[seq & 15];
		seq >>= 4;
	} while (seq);
	while (n)
		buf[k++] = tmp[--n];
	buf[k++] = '-';
	memcpy(buf + k, letters, extra);
	buf[k + extra] = 0;
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stop && !crash)
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t thread = w->index, seq, bad = 0;
	char label[48];

	app_worker_place(worker_nice, worker_cpu);
	for (seq = 0; !stop; seq++) {
		uint64_t check = seq * 2654435761u ^ thread;
		/* Copies the compiler cannot relate to the originals, live across the site in
		 * general-purpose and SSE registers: an enabled site must preserve them all. */
		uint64_t seq2 = seq, thread2 = thread, check2 = check;
		double fseq = (double)seq;

		make_label(label, seq);
		__asm__ volatile("" : "+r"(seq2), "+r"(thread2), "+r"(check2), "+x"(fseq));
		TRACEPOINT(stress, hit, thread, seq, TP_FIELD(check, check), TP_FIELD(label, label));
		if (seq2 != seq || thread2 != thread || check2 != check ||
		    check2 != (seq2 * 2654435761u ^ thread2) || fseq != (double)seq) {
			if (!bad++)
				fprintf(stderr, "stress_app: thread %llu seq %llu: a value changed across "
					"the tracepoint\n", (unsigned long long)thread,
					(unsigned long long)seq);
		}
		if (pause_us && (seq & 63) == 63)
			sleep_us(pause_us);
	}
	w->iterations = seq;
	w->ok = bad == 0;
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long nthreads = app_arg_or(argc, argv, 1, 8, USAGE);
	struct sigaction sa;
	struct worker *w;
	uint64_t total = 0;
	int bad = 0;

	pause_us = app_arg_or(argc, argv, 2, 0, USAGE);
	worker_nice = (int)app_arg_or(argc, argv, 3, 0, USAGE);
	worker_cpu = argc > 4 ? (long)app_arg_or(argc, argv, 4, 0, USAGE) : -1;
	if (nthreads == 0 || nthreads > 64) {
		fprintf(stderr, "%s: THREADS must be 1..64\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	w = calloc(nthreads, sizeof(*w));
	if (!w)
		return 1;
	for (unsigned long i = 0; i < nthreads; i++) {
		int err;

		w[i].index = i;
		err = pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	while (!stop) {
		sleep_us(20000);
		if (crash) {
			struct rlimit no_core = { 0, 0 };

			setrlimit(RLIMIT_CORE, &no_core);
			/* argc * 64: aligned, not NULL (no sanitizer stops it first), never mapped */
			*(volatile int *)((uintptr_t)argc * 64) = 1;
		}
	}
	for (unsigned long i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].iterations;
		if (!w[i].ok) {
			fprintf(stderr, "stress_app: thread %lu: values changed across the site\n", i);
			bad = 1;
		}
	}
	fprintf(stderr, "stress_app: %lu threads, %llu iterations, %s\n", nthreads,
		(unsigned long long)total, bad ? "VALUES CHANGED ACROSS THE SITE" : "all values intact");
	free(w);
	return bad ? 3 : 0;
}
