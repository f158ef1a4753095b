/* SPDX-License-Identifier: MIT */
/*
 * redzone_app - a tracepoint in the middle of a leaf function that keeps its live data in
 * the red zone, the 128 bytes below %rsp that the x86-64 ABI lets a leaf function use
 * without moving %rsp.  An enabled sled must not write there (a `call` at the site would
 * push its return address onto the array).
 *
 * rz_checksum() fills a 128-byte array, fires the tracepoint, then folds the array into
 * a checksum.  The array is volatile, so it really lives in memory across the site, and
 * nothing else needs the stack, so at -O2 the compiler keeps (most of) it below %rsp: gcc
 * 12 reserves 16 bytes and puts it at -0x78(%rsp)..+0x7(%rsp), so 120 live bytes sit in the
 * red zone at the site, -0x10(%rsp) and -0x8(%rsp) included, where a push or a call
 * would write.  The test reads the disassembly to check this.  Every result is compared
 * with rz_reference(), the same arithmetic in registers with no tracepoint; the first
 * mismatch prints both values and exits 3.
 *
 * Usage: redzone_app [THREADS]   runs until SIGTERM/SIGINT, then prints
 *                                "redzone_app: N calls, 0 mismatches" to stderr, exits 0.
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
#include <time.h>
#include <unistd.h>

#define RZ_WORDS 16 /* 128 bytes: the whole red zone */

static volatile sig_atomic_t stop;

static inline uint64_t word_of(uint64_t seed, unsigned i)
{
	return (seed * (2 * i + 3)) ^ (seed >> (i + 1)) ^ (0x9e3779b97f4a7c15ull * (i + 1));
}

/* The leaf under test: no calls, no stack adjustment, data in the red zone. */
__attribute__((noinline, noclone)) uint64_t rz_checksum(uint64_t seed)
{
	volatile uint64_t t[RZ_WORDS];
	uint64_t s = 0;

	for (unsigned i = 0; i < RZ_WORDS; i++)
		t[i] = word_of(seed, i);
	TRACEPOINT(redzone, mid, seed, TP_FIELD(first, t[0]), TP_FIELD(last, t[RZ_WORDS - 1]));
	for (unsigned i = 0; i < RZ_WORDS; i++)
		s = s * 1099511628211ull + t[i];
	return s;
}

/* The same result computed in registers, no tracepoint. */
__attribute__((noinline, noclone)) uint64_t rz_reference(uint64_t seed)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < RZ_WORDS; i++)
		s = s * 1099511628211ull + word_of(seed, i);
	return s;
}

struct worker {
	pthread_t thread;
	uint64_t index, calls;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t i;

	for (i = 0; !stop; i++) {
		uint64_t seed = (w->index << 48) ^ (i * 0x2545f4914f6cdd1dull);
		uint64_t got = rz_checksum(seed), want = rz_reference(seed);

		if (got != want) {
			fprintf(stderr, "redzone_app: MISMATCH thread %llu call %llu seed %#llx: "
				"got %#llx want %#llx\n", (unsigned long long)w->index,
				(unsigned long long)i, (unsigned long long)seed,
				(unsigned long long)got, (unsigned long long)want);
			_exit(3);
		}
	}
	w->calls = i;
	return NULL;
}

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	unsigned long nthreads = argc > 1 ? strtoul(argv[1], NULL, 10) : 2;
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct sigaction sa;
	struct worker *w;
	uint64_t total = 0;

	if (nthreads == 0 || nthreads > 64) {
		fprintf(stderr, "usage: %s [THREADS (1..64)]\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	w = calloc(nthreads, sizeof(*w));
	if (!w)
		return 1;
	for (unsigned long i = 0; i < nthreads; i++) {
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]))
			return 1;
	}
	while (!stop)
		nanosleep(&tick, NULL);
	for (unsigned long i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].calls;
	}
	fprintf(stderr, "redzone_app: %llu calls, 0 mismatches\n", (unsigned long long)total);
	free(w);
	return 0;
}
