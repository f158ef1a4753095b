/* SPDX-License-Identifier: MIT */
/*
 * unwind_app - a tracepoint two calls below main, for backtraces taken inside the
 * dispatcher: main -> unwind_outer -> unwind_inner (site unwind:hit).
 *
 * Usage: unwind_app   prints "ready <pid>", waits for a line on stdin, then hits the
 *                     site until killed.
 */
#include <sled/tracepoint.h>

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) static uint64_t unwind_inner(uint64_t i)
{
	uint64_t j = i * 5;

	TRACEPOINT(unwind, hit, i, j);
	__asm__ __volatile__("" : "+r"(j));
	return j;
}

__attribute__((noinline)) static uint64_t unwind_outer(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++) {
		acc += unwind_inner(i);
		usleep(1000);
	}
	return acc;
}

int main(void)
{
	char line[16];

	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	return (int)(unwind_outer(~0ull) & 1);
}
