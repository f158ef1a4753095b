/* SPDX-License-Identifier: MIT */
/*
 * The object cache: a file read once is served to every later reader, a file whose
 * identity changed is read again, the last reference frees the entry, the cap refuses with
 * one line naming the file; processes read through it share their objects.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sled/tracepoint.h>

#include "check.h"
#include "objcache.h"
#include "process.h"

/* The test's own sites: its executable is the object the tests read. */
static void __attribute__((noinline)) fire(long i)
{
	TRACEPOINT(objcache_test, tick, i);
}

static char self[4096];

static void find_self(void)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = 0;
}

static struct sled_objcache_stats stats(struct sled_objcache *c)
{
	struct sled_objcache_stats st;

	sled_objcache_stats(c, &st);
	return st;
}

static bool has_site(const struct sled_object *obj, const char *provider, const char *name)
{
	for (size_t i = 0; obj && i < obj->nsites; i++)
		if (!strcmp(obj->sites[i].provider, provider) && !strcmp(obj->sites[i].name, name))
			return true;
	return false;
}

/* A copy of the test's executable in a temporary file; its path in path. */
static int copy_self(char *path, size_t len)
{
	char buf[65536];
	int in = open(self, O_RDONLY), out;
	ssize_t n;

	snprintf(path, len, "/tmp/sled-objcache-XXXXXX");
	out = mkstemp(path);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	close(out);
	return 0;
}

TEST(second_reader_is_served_without_reading)
{
	struct sled_objcache *c = sled_objcache_new(0);
	const struct sled_object *a, *b;
	char err[512];

	CHECK_EQ_INT(sled_objcache_get(c, self, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_objcache_get(c, self, &b, err, sizeof(err)), 0);
	CHECK(a && a == b);
	CHECK(has_site(a, "objcache_test", "tick"));
	CHECK_EQ_INT(stats(c).reads, 1);
	CHECK_EQ_INT(stats(c).hits, 1);
	CHECK_EQ_INT(stats(c).objects, 1);
	CHECK(stats(c).bytes >= sled_object_bytes(a));
	sled_objcache_put(c, a);
	sled_objcache_put(c, b);
	sled_objcache_free(c);
}

TEST(last_reference_frees_the_entry)
{
	struct sled_objcache *c = sled_objcache_new(0);
	const struct sled_object *a, *b;
	char err[512];

	CHECK_EQ_INT(sled_objcache_get(c, self, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_objcache_get(c, self, &b, err, sizeof(err)), 0);
	sled_objcache_put(c, a);
	CHECK_EQ_INT(stats(c).objects, 1); /* b still holds it */
	sled_objcache_put(c, b);
	CHECK_EQ_INT(stats(c).objects, 0);
	CHECK_EQ_INT(stats(c).bytes, 0);
	/* Held by no one: the next reader reads it again. */
	CHECK_EQ_INT(sled_objcache_get(c, self, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(stats(c).reads, 2);
	sled_objcache_put(c, a);
	sled_objcache_put(c, NULL); /* ignored */
	sled_objcache_free(c);
}

TEST(rewritten_file_is_read_again)
{
	struct sled_objcache *c = sled_objcache_new(0);
	const struct sled_object *before, *after, *again;
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char path[64], err[512];
	int fd;

	CHECK_EQ_INT(copy_self(path, sizeof(path)), 0);
	CHECK_EQ_INT(sled_objcache_get(c, path, &before, err, sizeof(err)), 0);
	/* Same inode, same size, another mtime (and ctime): another file's bytes maybe. */
	fd = open(path, O_RDWR);
	CHECK(fd >= 0 && futimens(fd, times) == 0);
	close(fd);
	CHECK_EQ_INT(sled_objcache_get(c, path, &after, err, sizeof(err)), 0);
	CHECK(before && after && before != after);
	CHECK_EQ_INT(stats(c).reads, 2);
	/* The old entry lives on while a reader holds it; new readers get the new one. */
	CHECK_EQ_INT(stats(c).objects, 2);
	CHECK_EQ_INT(sled_objcache_get(c, path, &again, err, sizeof(err)), 0);
	CHECK(again == after);
	sled_objcache_put(c, before);
	CHECK_EQ_INT(stats(c).objects, 1);
	sled_objcache_put(c, after);
	sled_objcache_put(c, again);
	CHECK_EQ_INT(stats(c).objects, 0);
	unlink(path);
	sled_objcache_free(c);
}

TEST(another_file_with_the_same_bytes_is_another_entry)
{
	struct sled_objcache *c = sled_objcache_new(0);
	const struct sled_object *a, *b;
	char path[64], err[512];

	CHECK_EQ_INT(copy_self(path, sizeof(path)), 0);
	CHECK_EQ_INT(sled_objcache_get(c, self, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_objcache_get(c, path, &b, err, sizeof(err)), 0);
	CHECK(a && b && a != b);
	CHECK_EQ_INT(stats(c).objects, 2);
	sled_objcache_put(c, a);
	sled_objcache_put(c, b);
	unlink(path);
	sled_objcache_free(c);
}

TEST(over_the_cap_is_refused_with_the_file_named)
{
	struct sled_objcache *c = sled_objcache_new(1024);
	const struct sled_object *a = (const void *)1;
	char err[512] = "";

	CHECK_EQ_INT(sled_objcache_get(c, self, &a, err, sizeof(err)), -E2BIG);
	CHECK(a == NULL);
	CHECK(strstr(err, self) == err);
	CHECK(strstr(err, "--max-objects-memory") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK_EQ_INT(stats(c).refused, 1);
	CHECK_EQ_INT(stats(c).objects, 0);
	CHECK_EQ_INT(stats(c).bytes, 0);
	/* Raised, the same file is taken. */
	sled_objcache_set_max(c, 64u << 20);
	CHECK_EQ_INT(sled_objcache_get(c, self, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(stats(c).max_bytes, 64u << 20);
	sled_objcache_put(c, a);
	sled_objcache_free(c);
}

TEST(not_an_elf_file_is_not_held)
{
	struct sled_objcache *c = sled_objcache_new(0);
	const struct sled_object *a;
	char err[512];

	CHECK_EQ_INT(sled_objcache_get(c, "/proc/self/status", &a, err, sizeof(err)), -ENOEXEC);
	CHECK_EQ_INT(sled_objcache_get(c, "/nonexistent/x.so", &a, err, sizeof(err)), -ENOENT);
	CHECK_EQ_INT(stats(c).objects, 0);
	sled_objcache_free(c);
}

static const struct sled_process_object *find_object(const struct sled_process *p,
							const char *provider)
{
	for (size_t i = 0; i < p->nobjects; i++)
		if (has_site(p->objects[i].obj, provider, "tick"))
			return &p->objects[i];
	return NULL;
}

TEST(processes_share_objects_and_keep_their_addresses)
{
	struct sled_objcache *c = sled_objcache_new(0);
	struct sled_process one, two;
	const struct sled_process_object *a, *b;
	char err[512];

	CHECK_EQ_INT(sled_process_read(c, getpid(), &one, err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_process_read(c, getpid(), &two, err, sizeof(err)), 0);
	a = find_object(&one, "objcache_test");
	b = find_object(&two, "objcache_test");
	CHECK(a && b && a->obj == b->obj);
	CHECK(stats(c).hits >= 1);
	if (a && b) {
		for (size_t i = 0; i < a->obj->nsites; i++) {
			const struct sled_site *s = &a->obj->sites[i];
			uint64_t addr = sled_site_runtime(a, s);

			if (strcmp(s->provider, "objcache_test"))
				continue;
			/* The site lies in this very function's code, in this process. */
			CHECK(addr != 0 && addr == sled_site_runtime(b, s));
			CHECK(addr >= (uint64_t)(uintptr_t)fire &&
			      addr < (uint64_t)(uintptr_t)fire + 256);
		}
		CHECK_EQ_STR(a->path, self);
	}
	sled_process_free(&one);
	CHECK(stats(c).objects >= 1); /* two still maps it */
	sled_process_free(&two);
	CHECK_EQ_INT(stats(c).objects, 0);
	CHECK_EQ_INT(stats(c).bytes, 0);
	sled_objcache_free(c);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(second_reader_is_served_without_reading),
		TEST_ENTRY(last_reference_frees_the_entry),
		TEST_ENTRY(rewritten_file_is_read_again),
		TEST_ENTRY(another_file_with_the_same_bytes_is_another_entry),
		TEST_ENTRY(over_the_cap_is_refused_with_the_file_named),
		TEST_ENTRY(not_an_elf_file_is_not_held),
		TEST_ENTRY(processes_share_objects_and_keep_their_addresses),
	};

	find_self();
	fire(1);
	return RUN_TESTS(tests);
}
