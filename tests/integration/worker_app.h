/* SPDX-License-Identifier: MIT */
/*
 * worker_app: what the test programs with worker threads (stress_app, signals_app) share:
 * their numeric arguments and where their workers run.  Needs _GNU_SOURCE.
 */
#ifndef SLED_TEST_WORKER_APP_H
#define SLED_TEST_WORKER_APP_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* argv[i] as a number, def when absent; anything but digits prints usage (the
 * arguments after the program's name) and exits 2. */
static inline unsigned long app_arg_or(int argc, char **argv, int i, unsigned long def,
				       const char *usage)
{
	char *end;
	unsigned long v;

	if (argc <= i)
		return def;
	errno = 0;
	v = strtoul(argv[i], &end, 10);
	if (errno || end == argv[i] || *end || argv[i][0] == '-') {
		fprintf(stderr, "usage: %s %s\n", argv[0], usage);
		exit(2);
	}
	return v;
}

/* The calling worker thread at niceness nice (0: as it is) on CPU cpu (-1: any). */
static inline void app_worker_place(int nice, long cpu)
{
	if (nice)
		setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
	if (cpu >= 0 && cpu < CPU_SETSIZE) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET((int)cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
}

#endif /* SLED_TEST_WORKER_APP_H */
