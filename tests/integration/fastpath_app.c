/* SPDX-License-Identifier: MIT */
/*
 * fastpath_app - sites with 0 to 9 register arguments, for sled mode's fast path
 * (fast_path.S: up to 8 whole-register arguments) and the general path beside it.
 * hit(s) computes ten values from s, kept in registers (callee-saved ones too, at -O2),
 * and fires fp:a0, a1, a2, a3, a6, a8 and a9 with the first 0..9 of them; hit_saved(s)
 * fires fp:c5 with the first five in rbx and r12-r15.
 *
 * Usage: fastpath_app N   prints "ready <pid>", waits for a line on stdin, calls hit(s)
 *                         for s = 0..N-1 in bursts of 500 with a pause after each (so the
 *                         daemon drains without loss), prints "done", waits for stdin EOF.
 */
#include <sled/tracepoint.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) static void hit(uint64_t s)
{
	uint64_t a = s * 3 + 1, b = s ^ 0x5555, c = s << 3, d = s + 7, e = s * 11, f = s - 1,
		 g = ~s, h = s * s;

	TRACEPOINT(fp, a0);
	TRACEPOINT(fp, a1, s);
	TRACEPOINT(fp, a2, s, a);
	TRACEPOINT(fp, a3, s, a, b);
	TRACEPOINT(fp, a6, s, a, b, c, d, e);
	TRACEPOINT(fp, a8, s, a, b, c, d, e, f, g);
	TRACEPOINT(fp, a9, s, a, b, c, d, e, f, g, h);
}

__attribute__((noinline)) uint64_t fastpath_opaque(uint64_t v)
{
	__asm__ __volatile__("" : "+r"(v));
	return v;
}

/* The same values in rbx and r12-r15 (explicit register variables: the stub's pushes
 * with and without a REX prefix, registers the general path must restore). */
__attribute__((noinline)) static void hit_saved(uint64_t s)
{
	register uint64_t rs __asm__("rbx") = fastpath_opaque(s);
	register uint64_t ra __asm__("r12") = fastpath_opaque(s * 3 + 1);
	register uint64_t rb __asm__("r13") = fastpath_opaque(s ^ 0x5555);
	register uint64_t rc __asm__("r14") = fastpath_opaque(s << 3);
	register uint64_t rd __asm__("r15") = fastpath_opaque(s + 7);

	TRACEPOINT(fp, c5, rs, ra, rb, rc, rd);
	__asm__ __volatile__("" : : "r"(rs), "r"(ra), "r"(rb), "r"(rc), "r"(rd));
}

int main(int argc, char **argv)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	char line[16];
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;

	printf("ready %d\n", 0 + (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (uint64_t s = 0; s < n; s++) {
		hit(s);
		hit_saved(s);
		if (s % 500 == 499)
			nanosleep(&pause, NULL);
	}
	printf("done\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
