/* SPDX-License-Identifier: MIT */
/*
 * bench_burst: a bursty producer, the load of a busy server between two pipelined batches.
 * Each thread writes bursts of BURST events (an integer and a short string), then sleeps
 * until its next burst is due, so that all threads together average RATE events per second
 * for SECONDS.  bench/run_burst_bench.py drives it through probed; the integration test
 * sled_bursts uses it at a modest rate.
 *
 *   bench_burst THREADS RATE SECONDS [BURST]
 *
 * Prints "ready <pid>", waits for a line on stdin (the driver enables the probe), runs,
 * then prints "emitted <events>" and exits when stdin closes.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t thread;
	double rate;     /* this thread's events per second */
	uint64_t total;  /* events to write */
	unsigned burst;
	uint64_t emitted;
};

static const char *const words[] = { "GET", "SET", "INCR", "LPUSH", "HSET", "ZADD" };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t start = now_ns(), seq = 0;

	while (seq < w->total) {
		uint64_t due = start + (uint64_t)((double)seq / w->rate * 1e9);
		unsigned n = w->burst;

		sleep_until(due);
		if (n > w->total - seq)
			n = (unsigned)(w->total - seq);
		for (unsigned i = 0; i < n; i++, seq++) {
			const char *cmd = words[seq % 6];

			TRACEPOINT(burst, cmd, seq, cmd);
		}
	}
	w->emitted = seq;
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned threads, burst = 4000;
	double rate, seconds;
	struct worker *w;
	uint64_t emitted = 0;
	char line[16];

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: bench_burst THREADS RATE SECONDS [BURST]\n");
		return 2;
	}
	threads = (unsigned)strtoul(argv[1], NULL, 10);
	rate = strtod(argv[2], NULL);
	seconds = strtod(argv[3], NULL);
	if (argc == 5)
		burst = (unsigned)strtoul(argv[4], NULL, 10);
	if (!threads || threads > 64 || rate <= 0 || seconds <= 0 || !burst) {
		fprintf(stderr, "Error: THREADS 1-64, RATE > 0, SECONDS > 0, BURST > 0\n");
		return 2;
	}
	w = calloc(threads, sizeof(*w));
	if (!w)
		return 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (unsigned i = 0; i < threads; i++) {
		w[i].rate = rate / threads;
		w[i].total = (uint64_t)(rate / threads * seconds);
		w[i].burst = burst;
		pthread_create(&w[i].thread, NULL, run, &w[i]);
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		emitted += w[i].emitted;
	}
	printf("emitted %llu\n", (unsigned long long)emitted);
	fflush(stdout);
	free(w);
	/* Still running until stdin closes, so that the caller can read the process's row in
	 * probed's status after the last event (a process that has exited is not listed). */
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
