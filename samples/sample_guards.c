/* SPDX-License-Identifier: MIT */
/*
 * sample_guards - the two guards side by side, each around a tracepoint of its own.
 *
 *   TRACEPOINT_ENABLED(guards, plain)    a NOP that sled mode patches: true only while a
 *                                        sled-mode probe is attached to guards:plain
 *   TRACEPOINT_ENABLED_SEM(guards, sem)  also true while a uprobe-based tool (bpftrace,
 *                                        perf, sled's uprobe mode) is attached to
 *                                        guards:sem: it reads the stapsdt semaphore
 *
 * Usage: sample_guards [N [SLEEP_MS]]
 *   N         iterations (default 5; 0: run until killed); values run 1..N
 *   SLEEP_MS  pause between iterations in milliseconds (default 200)
 * At the end it prints how often each guard was true: "plain P sem S".
 *
 * Try it:  bpftrace -e 'usdt:./sample_guards:guards:* { @[probe] = count(); }' \
 *                   -c './sample_guards 10 0'      (guards:sem fires 10 times, plain 0)
 */
#define _POSIX_C_SOURCE 200809L

#include <sled/tracepoint.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
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
	unsigned long n = 5, sleep_msec = 200, plain = 0, sem = 0;

	if (argc > 3 || (argc > 1 && parse_ulong(argv[1], &n)) ||
	    (argc > 2 && parse_ulong(argv[2], &sleep_msec))) {
		fprintf(stderr, "usage: %s [N [SLEEP_MS]]\n", argv[0]);
		return 2;
	}
	for (unsigned long i = 1; n == 0 || i <= n; i++) {
		if (TRACEPOINT_ENABLED(guards, plain)) {
			plain++;
			TRACEPOINT(guards, plain, i);
		}
		if (TRACEPOINT_ENABLED_SEM(guards, sem)) {
			sem++;
			TRACEPOINT(guards, sem, i);
		}
		if (sleep_msec && (n == 0 || i < n))
			sleep_ms(sleep_msec);
	}
	printf("plain %lu sem %lu\n", plain, sem);
	return 0;
}
