/* SPDX-License-Identifier: MIT */
/*
 * sample_basic - the three things <sled/tracepoint.h> gives you, in one loop.
 *
 *   TRACEPOINT(sample, request, ...)  a tracepoint with arguments; one of them named
 *                                     explicitly with TP_FIELD, the others by their text
 *   TRACEPOINT(sample, tick)          a tracepoint with no arguments
 *   TRACEPOINT_ENABLED(sample, debug) a guard: the expensive arguments of
 *                                     sample:debug are computed only while a probe is on
 *
 * Usage: sample_basic [-v] [N [SLEEP_MS]]
 *   N         iterations (default 5); request ids run 1..N
 *   SLEEP_MS  pause between iterations in milliseconds (default 200)
 *   -v        print every event's values, one line each, so tests can compare them
 *             with what a probe saw
 *
 * Try it:  bpftrace -e 'usdt:./sample_basic:sample:request
 *                       { printf("%d %s\n", arg0, str(arg2)); }' -c './sample_basic 3 0'
 */
#define _POSIX_C_SOURCE 200809L

#include <sled/tracepoint.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int verbose;

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Stands for work you would not want to do on every iteration: a checksum of the
 * request's name.  Only runs while a probe is attached to sample:debug. */
static uint32_t expensive_checksum(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void handle_request(uint64_t id)
{
	char buf[32];
	const char *name = buf;
	double latency = (double)id * 1.5;

	snprintf(buf, sizeof(buf), "req-%llu", (unsigned long long)id);

	TRACEPOINT(sample, request, id, TP_FIELD(twice, id * 2), name, latency);
	if (verbose)
		printf("request id=%llu twice=%llu name=%s latency=%.1f\n",
		       (unsigned long long)id, (unsigned long long)(id * 2), name, latency);

	if (TRACEPOINT_ENABLED(sample, debug)) {
		uint32_t checksum = expensive_checksum(name);

		TRACEPOINT(sample, debug, id, checksum);
		if (verbose)
			printf("debug id=%llu checksum=%lu\n", (unsigned long long)id,
			       (unsigned long)checksum);
	}
}

static int parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 5, sleep_msec = 200;
	unsigned long pos[2];
	int npos = 0;
	uint64_t id;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else if (npos < 2 && parse_ulong(argv[i], &pos[npos]) == 0) {
			npos++;
		} else {
			fprintf(stderr, "usage: %s [-v] [N [SLEEP_MS]]\n", argv[0]);
			return 2;
		}
	}
	if (npos > 0)
		n = pos[0];
	if (npos > 1)
		sleep_msec = pos[1];

	for (id = 1; id <= n; id++) {
		TRACEPOINT(sample, tick);
		if (verbose)
			printf("tick\n");
		handle_request(id);
		if (verbose)
			fflush(stdout);
		if (id < n && sleep_msec)
			sleep_ms(sleep_msec);
	}
	return 0;
}
