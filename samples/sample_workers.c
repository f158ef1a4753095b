/* SPDX-License-Identifier: MIT */
/*
 * sample_workers - tracepoints in a multi-threaded program and in an inline helper.
 *
 *   TRACEPOINT(sample, work, thread_index, iteration, TP_FIELD(square, ...))
 *       fires on every iteration of every worker thread; each thread's events carry
 *       its own index, so a probe can tell the threads apart (and so can its tid).
 *   TRACEPOINT(sample, phase, thread_index, phase) inside a static inline helper
 *       that is inlined at three call sites (start, halfway, done): each inlined copy
 *       is a tracepoint site of its own, all with the same provider:name, and a probe
 *       on sample:phase covers all three.
 *
 * Usage: sample_workers [THREADS [ITERATIONS [SLEEP_MS [START_DELAY_MS]]]]
 *   THREADS         worker threads (default 4)
 *   ITERATIONS      loop iterations per thread (default 1000)
 *   SLEEP_MS        pause per iteration in milliseconds (default 1)
 *   START_DELAY_MS  pause before the workers start (default 0), e.g. to let a
 *                   tracer attach to a short tight-loop run
 */
#define _POSIX_C_SOURCE 200809L

#include <sled/tracepoint.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum phase { PHASE_START = 1, PHASE_HALFWAY = 2, PHASE_DONE = 3 };

struct worker {
	pthread_t thread;
	int index;
	unsigned long iterations;
	unsigned long sleep_ms;
	uint64_t sum; /* result, so the loop does observable work */
};

/* always_inline: inlined even at -O0, so the three sites exist in every build. */
static inline __attribute__((always_inline)) void report_phase(int thread_index,
								enum phase phase)
{
	TRACEPOINT(sample, phase, thread_index, phase);
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t iteration;

	report_phase(w->index, PHASE_START);
	for (iteration = 0; iteration < w->iterations; iteration++) {
		int thread_index = w->index;

		TRACEPOINT(sample, work, thread_index, iteration,
			   TP_FIELD(square, iteration * iteration));
		w->sum += iteration * iteration;
		if (iteration == w->iterations / 2)
			report_phase(w->index, PHASE_HALFWAY);
		if (w->sleep_ms)
			sleep_ms(w->sleep_ms);
	}
	report_phase(w->index, PHASE_DONE);
	return NULL;
}

static unsigned long arg_or(int argc, char **argv, int i, unsigned long def)
{
	char *end;
	unsigned long v;

	if (argc <= i)
		return def;
	errno = 0;
	v = strtoul(argv[i], &end, 10);
	if (errno || end == argv[i] || *end || argv[i][0] == '-') {
		fprintf(stderr, "usage: %s [THREADS [ITERATIONS [SLEEP_MS [START_DELAY_MS]]]]\n", argv[0]);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long nthreads = arg_or(argc, argv, 1, 4);
	unsigned long iterations = arg_or(argc, argv, 2, 1000);
	unsigned long sleep_msec = arg_or(argc, argv, 3, 1);
	unsigned long delay_msec = arg_or(argc, argv, 4, 0);
	struct worker *workers;
	uint64_t total = 0;
	unsigned long i;
	int err;

	if (nthreads == 0 || nthreads > 1024) {
		fprintf(stderr, "%s: THREADS must be 1..1024\n", argv[0]);
		return 2;
	}
	workers = calloc(nthreads, sizeof(*workers));
	if (!workers) {
		perror("calloc");
		return 1;
	}
	if (delay_msec) {
		struct timespec ts = { (time_t)(delay_msec / 1000), (long)(delay_msec % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	for (i = 0; i < nthreads; i++) {
		workers[i].index = (int)i;
		workers[i].iterations = iterations;
		workers[i].sleep_ms = sleep_msec;
		err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(workers[i].thread, NULL);
		total += workers[i].sum;
	}
	printf("%lu threads x %lu iterations, checksum %llu\n", nthreads, iterations,
	       (unsigned long long)total);
	free(workers);
	return 0;
}
