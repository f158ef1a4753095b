/* SPDX-License-Identifier: MIT */
/* A thread's own stack as the dispatcher sees it (sdk/thread_stack.c, read from
 * /proc/self/maps so that a signal handler may ask), against pthread_getattr_np: the main
 * thread, a thread with glibc's stack, one with a stack the app mapped with a guard, and
 * the stacks it must not claim to know. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "runtime.h"

static struct sled_range from_glibc(void)
{
	pthread_attr_t a;
	void *lo;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &a) || pthread_attr_getstack(&a, &lo, &size))
		abort();
	pthread_attr_destroy(&a);
	return (struct sled_range){ (uint64_t)(uintptr_t)lo, (uint64_t)(uintptr_t)lo + size };
}

static char **main_argv;

TEST(main_thread_matches_glibc)
{
	struct sled_range got = sled_thread_stack(), want = from_glibc();
	int local = 0;
	uint64_t here = (uint64_t)(uintptr_t)&local, arg0 = (uint64_t)(uintptr_t)main_argv[0];

	/* glibc's top is the page after __libc_stack_end; the mapping goes on above it with
	 * the arguments and environment, all mapped and read-write: the top is the mapping's.
	 * Its bottom is the rlimit's, where the mapping may grow; ours is the mapping's as it
	 * is now. */
	CHECK(got.lo >= want.lo && got.lo <= here);
	CHECK(got.hi >= want.hi && got.hi - want.hi < 1024 * 1024);
	CHECK(got.lo <= here && here < got.hi);
	CHECK(got.lo <= arg0 && arg0 < got.hi);
}

struct result {
	struct sled_range got, want;
	uint64_t local;
};

static void *on_thread(void *arg)
{
	struct result *r = arg;
	int local = 0;

	r->got = sled_thread_stack();
	r->want = from_glibc();
	r->local = (uint64_t)(uintptr_t)&local;
	return NULL;
}

static struct result run_thread(pthread_attr_t *attr)
{
	struct result r = { 0 };
	pthread_t t;

	if (pthread_create(&t, attr, on_thread, &r) || pthread_join(t, NULL))
		abort();
	return r;
}

TEST(thread_on_glibc_stack_matches_glibc)
{
	struct result r = run_thread(NULL);

	CHECK_EQ_INT(r.got.lo, r.want.lo);
	CHECK_EQ_INT(r.got.hi, r.want.hi);
	CHECK(r.got.lo <= r.local && r.local < r.got.hi);
}

/* Guard pages below and above, so that the kernel cannot merge the stack with a
 * neighbour (which would be refused, see below). */
TEST(app_mapped_stack_with_guard)
{
	size_t size = 256 * 1024, page = 4096;
	char *map = mmap(NULL, size + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_attr_t attr;
	struct result r;

	if (map == MAP_FAILED || mprotect(map + page, size - page, PROT_READ | PROT_WRITE))
		abort();
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, map + page, size - page);
	r = run_thread(&attr);
	pthread_attr_destroy(&attr);
	CHECK_EQ_INT(r.got.lo, (uint64_t)(uintptr_t)(map + page));
	CHECK_EQ_INT(r.got.hi, (uint64_t)(uintptr_t)(map + size));
	CHECK_EQ_INT(r.got.hi, r.want.hi);
	munmap(map, size + page);
}

/* No guard below (a read-only page here): the mapping's bounds say nothing sure about
 * the stack's. */
TEST(app_stack_without_guard_is_unknown)
{
	size_t size = 256 * 1024, page = 4096;
	char *map = mmap(NULL, size + page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_attr_t attr;
	struct result r;

	if (map == MAP_FAILED || mprotect(map + page, size, PROT_READ | PROT_WRITE))
		abort();
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, map + page, size);
	r = run_thread(&attr);
	pthread_attr_destroy(&attr);
	CHECK(r.got.lo == 0 && r.got.hi == 0);
	munmap(map, size + page);
}

/* A stack mapping that runs on above the thread's own top (as a merge with the mapping
 * above would make it) is refused: its top is not the stack's. */
TEST(mapping_above_the_top_is_refused)
{
	size_t size = 256 * 1024, page = 4096;
	char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_attr_t attr;
	struct result r;

	if (map == MAP_FAILED || mprotect(map, page, PROT_NONE))
		abort();
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, map + page, size - 3 * page);
	r = run_thread(&attr);
	pthread_attr_destroy(&attr);
	CHECK(r.got.lo == 0 && r.got.hi == 0);
	munmap(map, size);
}

/* From a signal handler on a sigaltstack (a thread's first event may be hit there): the
 * thread's own stack all the same, not the altstack. */
static struct sled_range in_handler;

static void on_signal(int sig)
{
	(void)sig;
	in_handler = sled_thread_stack();
}

static struct sled_range from_sigaltstack(void)
{
	static char alt[64 * 1024];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) }, old;
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK }, old_sa;

	in_handler = (struct sled_range){ 0, 0 };
	if (sigaltstack(&ss, &old) || sigaction(SIGUSR1, &sa, &old_sa) || raise(SIGUSR1))
		abort();
	sigaction(SIGUSR1, &old_sa, NULL);
	sigaltstack(&old, NULL);
	return in_handler;
}

static void *thread_in_handler(void *arg)
{
	struct result *r = arg;

	r->got = from_sigaltstack();
	r->want = from_glibc();
	return NULL;
}

TEST(from_a_handler_on_a_sigaltstack)
{
	struct sled_range got = from_sigaltstack(), want = sled_thread_stack();
	struct result r = { 0 };
	pthread_t t;

	CHECK(want.hi != 0);
	CHECK_EQ_INT(got.lo, want.lo);
	CHECK_EQ_INT(got.hi, want.hi);
	if (pthread_create(&t, NULL, thread_in_handler, &r) || pthread_join(t, NULL))
		abort();
	CHECK_EQ_INT(r.got.lo, r.want.lo);
	CHECK_EQ_INT(r.got.hi, r.want.hi);
}

/* A child forked from a thread other than main has one thread, tid == pid, running on
 * the forking thread's stack: that stack is its range, not the [stack] mapping. */
static void *fork_from_thread(void *arg)
{
	struct sled_range before = sled_thread_stack();
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		struct sled_range in_child = sled_thread_stack();

		_exit(in_child.lo == before.lo && in_child.hi == before.hi && before.hi ? 0 : 1);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	*(int *)arg = status;
	return NULL;
}

TEST(child_forked_from_a_thread)
{
	int status = -1;
	pthread_t t;

	if (pthread_create(&t, NULL, fork_from_thread, &status) || pthread_join(t, NULL))
		abort();
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A mapped file whose path is longer than the reader's buffer: the lines after it are
 * still read right. */
TEST(long_path_in_maps)
{
	char path[2200] = "/tmp/sled-thread-stack-XXXXXX", *map;
	bool made = mkdtemp(path) != NULL;
	size_t len = strlen(path);
	int fd;

	for (int d = 0; d < 8 && made; d++) {
		path[len++] = '/';
		memset(path + len, 'd', 200);
		len += 200;
		path[len] = 0;
		made = mkdir(path, 0700) == 0;
	}
	REQUIRE(made);
	strcpy(path + len, "/file");
	fd = open(path, O_RDWR | O_CREAT, 0600);
	REQUIRE(fd >= 0);
	map = ftruncate(fd, 4096) ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(map != MAP_FAILED);
	struct sled_range got = sled_thread_stack(), want = from_glibc();

	CHECK(got.lo >= want.lo && got.lo < got.hi);
	CHECK(got.hi >= want.hi && got.hi - want.hi < 1024 * 1024);
	munmap(map, 4096);
	close(fd);
	unlink(path);
	for (int d = 0; d <= 8; d++) {
		*strrchr(path, '/') = 0;
		rmdir(path);
	}
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(main_thread_matches_glibc),
		TEST_ENTRY(thread_on_glibc_stack_matches_glibc),
		TEST_ENTRY(app_mapped_stack_with_guard),
		TEST_ENTRY(app_stack_without_guard_is_unknown),
		TEST_ENTRY(mapping_above_the_top_is_refused),
		TEST_ENTRY(long_path_in_maps),
		TEST_ENTRY(from_a_handler_on_a_sigaltstack),
		TEST_ENTRY(child_forked_from_a_thread),
	};

	(void)argc;
	main_argv = argv;
	return RUN_TESTS(tests);
}
