/* SPDX-License-Identifier: MIT */
/*
 * bad_string_app - string arguments an enabled probe cannot read whole: a pointer to
 * 0x10, and an unterminated 8-byte buffer that ends where a PROT_NONE page begins.  A
 * good string alongside shows the event is otherwise intact.  Then strings on stacks,
 * which sled mode copies by loads when they lie between the site's %rsp and the top of
 * the thread's own stack, and reads through the kernel otherwise: a buffer in main's
 * frame and in another thread's, the executable's name at the very top of the main
 * stack (its window runs past the top), the stack's last 8 bytes made unterminated (the
 * page above is unmapped), a buffer on a sigaltstack and one on a coroutine's stack.
 *
 * Usage: bad_string_app ROUNDS
 *   prints "ready <pid> <top> <end>" (top: 1 if the executable's name lies within a
 *   window of the main stack's top; end: 1 if the page above that top is unmapped),
 *   waits for a line on stdin, hits str:bad(i, s = 0x10), str:unterminated(i, s =
 *   "ABCDEFGH" then the unreadable page), str:good(i, s = "fine"), str:stack(i,
 *   "stack <i>"), str:stacktop(i, the executable's name), str:stackend(i, "ZZZZZZZZ"
 *   then the unmapped page), str:altstack(i, "alt <i>") in a SIGUSR1 handler on a
 *   sigaltstack, str:coroutine(i, "coroutine <i>") on a makecontext stack, each ROUNDS
 *   times, then str:thread(i, "thread <i>") ROUNDS times on another thread; prints
 *   "done" and exits 0.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define WINDOW 257 /* a string's window in sled mode: 256 bytes kept, one to tell longer */

static volatile long round_now;
static ucontext_t main_ctx, co_ctx;

/* The top of the main thread's stack: the end of the kernel's [stack] mapping. */
static uintptr_t main_stack_top(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t lo, hi, top = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]") && sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2)
			top = hi;
	if (f)
		fclose(f);
	return top;
}

static void on_sigusr1(int sig)
{
	char altstack[64];
	long i = round_now;

	(void)sig;
	snprintf(altstack, sizeof(altstack), "alt %ld", i);
	TRACEPOINT(str, altstack, i, altstack);
}

static void on_coroutine(void)
{
	char coroutine[64];
	long i = round_now;

	snprintf(coroutine, sizeof(coroutine), "coroutine %ld", i);
	TRACEPOINT(str, coroutine, i, coroutine);
}

static void *on_thread(void *arg)
{
	long rounds = *(long *)arg;

	for (long i = 0; i < rounds; i++) {
		char thread[64];

		snprintf(thread, sizeof(thread), "thread %ld", i);
		TRACEPOINT(str, thread, i, thread);
	}
	return NULL;
}

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
	uintptr_t top = main_stack_top();
	const char *stacktop = (const char *)getauxval(AT_EXECFN);
	char *stackend = NULL;
	unsigned char vec;
	int top_crossed = top && (uintptr_t)stacktop < top && top - (uintptr_t)stacktop < WINDOW;
	/* mincore fails with ENOMEM on an unmapped page. */
	int end_unmapped = top && mincore((void *)top, (size_t)page, &vec) != 0;
	stack_t ss = { .ss_sp = malloc(SIGSTKSZ), .ss_size = SIGSTKSZ };
	struct sigaction sa = { .sa_handler = on_sigusr1, .sa_flags = SA_ONSTACK };
	size_t co_size = 64 * 1024;
	char *co_stack = malloc(co_size);
	pthread_t t;

	if (!ss.ss_sp || !co_stack || sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL)) {
		perror("bad_string_app: sigaltstack");
		return 1;
	}
	if (end_unmapped) {
		/* The kernel's end marker (a null pointer above the executable's name): made
		 * the unterminated last 8 bytes of the stack. */
		stackend = (char *)top - 8;
		memset(stackend, 'Z', 8);
	}
	printf("ready %d %d %d\n", (int)getpid(), top_crossed, end_unmapped);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (long i = 0; i < rounds; i++) {
		char stack[64];

		TRACEPOINT(str, bad, i, bad);
		TRACEPOINT(str, unterminated, i, unterminated);
		TRACEPOINT(str, good, i, good);
		snprintf(stack, sizeof(stack), "stack %ld", i);
		TRACEPOINT(str, stack, i, stack);
		TRACEPOINT(str, stacktop, i, stacktop);
		TRACEPOINT(str, stackend, i, stackend);
		round_now = i;
		raise(SIGUSR1);
		getcontext(&co_ctx);
		co_ctx.uc_stack = (stack_t){ .ss_sp = co_stack, .ss_size = co_size };
		co_ctx.uc_link = &main_ctx;
		makecontext(&co_ctx, on_coroutine, 0);
		if (swapcontext(&main_ctx, &co_ctx)) {
			perror("bad_string_app: swapcontext");
			return 1;
		}
	}
	if (pthread_create(&t, NULL, on_thread, &rounds) || pthread_join(t, NULL)) {
		fprintf(stderr, "bad_string_app: pthread_create failed\n");
		return 1;
	}
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	free(ss.ss_sp);
	free(co_stack);
	printf("done\n");
	return 0;
}
