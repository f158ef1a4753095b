/* SPDX-License-Identifier: MIT */
/* exec_app N [PROGRAM ARGS...]: emits execapp:tick N times (10 ms apart) with its pid and
 * its generation (how many exec_app images this pid has been), then execs PROGRAM. */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	const char *g = getenv("EXEC_APP_GENERATION");
	int generation = g ? atoi(g) + 1 : 1;
	long n = argc > 1 ? atol(argv[1]) : 10;
	char buf[16];

	for (long i = 0; i < n; i++) {
		int pid = getpid();

		TRACEPOINT(execapp, tick, pid, generation, i);
		nanosleep(&ts, NULL);
	}
	if (argc > 2) {
		snprintf(buf, sizeof(buf), "%d", generation);
		setenv("EXEC_APP_GENERATION", buf, 1);
		execv(argv[2], argv + 2);
		perror("execv");
		return 1;
	}
	return 0;
}
