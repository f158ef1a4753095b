/* SPDX-License-Identifier: MIT */
/* A program that uses the header but does not link libsled: its sites are valid (uprobe
 * mode, bpftrace) but sled mode must refuse it with a clear message. */
#define _POSIX_C_SOURCE 200809L
#include <sled/tracepoint.h>

#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (long i = 0; i < n; i++) {
		TRACEPOINT(app, tick, i);
		nanosleep(&ts, NULL);
	}
	return 0;
}
