/* SPDX-License-Identifier: MIT */
/*
 * bad_string_app - string arguments an enabled probe cannot read whole: a pointer to
 * 0x10, and an unterminated 8-byte buffer that ends where a PROT_NONE page begins.  A
 * good string alongside shows the event is otherwise intact.
 *
 * Usage: bad_string_app ROUNDS
 *   prints "ready <pid>", waits for a line on stdin, hits str:bad(i, s = 0x10),
 *   str:unterminated(i, s = "ABCDEFGH" then the unreadable page) and str:good(i, s =
 *   "fine") ROUNDS times each, prints "done" and exits 0.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10, page = sysconf(_SC_PAGESIZE);
	char *area = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *bad = (const char *)(uintptr_t)0x10, *good = "fine";
	char *unterminated, line[16];

	if (area == MAP_FAILED || mprotect(area + page, (size_t)page, PROT_NONE)) {
		perror("bad_string_app: mmap");
		return 1;
	}
	unterminated = area + page - 8;
	memcpy(unterminated, "ABCDEFGH", 8); /* no NUL: the next byte is unreadable */
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (long i = 0; i < rounds; i++) {
		TRACEPOINT(str, bad, i, bad);
		TRACEPOINT(str, unterminated, i, unterminated);
		TRACEPOINT(str, good, i, good);
	}
	printf("done\n");
	return 0;
}
