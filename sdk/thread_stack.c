/* SPDX-License-Identifier: MIT */
/*
 * The calling thread's own stack, [lo, hi): where the dispatcher may copy a string by
 * plain loads (from the site's red zone up to hi, see dispatch.c).  Found once, when the
 * thread claims its ring.
 *
 * That claim can run inside a signal handler (a thread's first event may be hit there),
 * so this must be async-signal-safe: pthread_getattr_np is not (glibc's allocates, with
 * realloc for a thread and fopen for the main thread: a deadlock if the handler
 * interrupted malloc).  It reads /proc/self/maps with open/read into a small buffer on
 * the stack instead, and it gives the same range, or a safe part of it
 * (tests/unit/test_thread_stack.c):
 *
 *   - the main thread: the kernel's [stack] mapping as it is at the claim.  glibc's range
 *     reaches further down, to the stack's rlimit, where the mapping may grow; but that
 *     room is only kept free of other mappings by the kernel's layout, not promised (an
 *     unlimited rlimit, a mapping placed there by address), and a site running on such a
 *     mapping would take the memory between it and the stack for readable.  A site
 *     deeper than the claim's mapping goes to the kernel read instead;
 *   - any other thread: the mapping that holds its TCB (%fs:0), when it is anonymous,
 *     read-write, has a guard page (no access) right below it, and the TCB lies in its
 *     top page: the shape of a stack glibc allocates, with the thread's descriptor and
 *     TLS at its top (also when the app gave it a stack it mapped with a guard).  Its
 *     top is what matters: a mapping the kernel merged with another one above it would
 *     put a page or more above the TCB, and is refused.  A stack without a guard (a heap
 *     block given to pthread_attr_setstack, a guard size of 0) is not recognised either.
 *
 * The thread rule is tried first, also for the main thread (tid == pid): the child of a
 * fork from another thread runs on that thread's stack as its main thread.  The original
 * main thread's TCB is not in such a mapping (ld.so allocates it).
 *
 * No range ({0, 0}) only costs speed: every string then goes through the kernel read.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

/* Small: the claim may run on a sigaltstack or a coroutine's small stack. */
#define MAPS_BUF 1024
/* glibc puts the thread descriptor (2368 bytes in 2.36) at the very top of the stack. */
#define TCB_FROM_TOP 4096

struct vma {
	uint64_t lo, hi;
	char perms[4];
	bool anon;  /* no file: offset, device and inode all zero */
	bool stack; /* the kernel's [stack] */
};

/* One "lo-hi perms offset dev inode [path]" line; false if it is not one. */
static bool parse_line(const char *s, const char *end, struct vma *v)
{
	uint64_t num[2] = { 0, 0 };
	bool file = false;
	int field = 0;

	for (int k = 0; k < 2; k++) {
		const char *start = s;

		for (; s < end && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')); s++)
			num[k] = num[k] << 4 | (uint64_t)(*s <= '9' ? *s - '0' : *s - 'a' + 10);
		if (s == start || s == end || *s != (k ? ' ' : '-'))
			return false;
		s++;
	}
	if (end - s < 5 || s[4] != ' ')
		return false;
	v->lo = num[0];
	v->hi = num[1];
	memcpy(v->perms, s, 4);
	s += 5;
	/* offset, device, inode: any digit but 0 (or ':') means a file. */
	for (; s < end && field < 3; s++) {
		if (*s == ' ')
			field++;
		else if (*s != '0' && *s != ':')
			file = true;
	}
	while (s < end && *s == ' ')
		s++;
	/* A name an app gave an anonymous mapping (PR_SET_VMA_ANON_NAME) keeps it anonymous. */
	v->anon = !file && (s == end || (end - s > 6 && !memcmp(s, "[anon:", 6)));
	v->stack = end - s == 7 && !memcmp(s, "[stack]", 7);
	return true;
}

/* Calls fn on every mapping in address order, with the one before it (or NULL); stops
 * when fn returns true.  A line longer than the buffer (a long path) is judged by its
 * start, which holds every field but the path. */
static void each_vma(bool (*fn)(const struct vma *prev, const struct vma *v, void *arg), void *arg)
{
	char buf[MAPS_BUF];
	size_t have = 0;
	struct vma prev, cur;
	bool got_prev = false, rest_of_line = false, stop = false;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while (!stop) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		char *line = buf, *end;

		if (r <= 0)
			break;
		have += (size_t)r;
		for (;;) {
			char *nl = memchr(line, '\n', (size_t)(buf + have - line));

			if (nl) {
				end = nl;
			} else if (line == buf && have == sizeof(buf)) {
				end = buf + have; /* the start of an over-long line */
			} else {
				break;
			}
			if (!rest_of_line && parse_line(line, end, &cur)) {
				if (fn(got_prev ? &prev : NULL, &cur, arg)) {
					stop = true;
					break;
				}
				prev = cur;
				got_prev = true;
			}
			rest_of_line = !nl;
			line = nl ? nl + 1 : buf + have;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
	close(fd);
}

struct find {
	uint64_t tcb;
	struct sled_range thread, stack; /* the two rules' ranges, {0, 0}: no match */
};

/* Every mapping: the one that holds the TCB, if it has a thread stack's shape, and the
 * kernel's [stack].  Stops at the TCB's mapping when it is a thread stack. */
static bool find_stacks(const struct vma *prev, const struct vma *v, void *arg)
{
	struct find *f = arg;

	if (v->stack)
		f->stack = (struct sled_range){ v->lo, v->hi };
	if (f->tcb < v->lo || f->tcb >= v->hi)
		return false;
	if (v->anon && !memcmp(v->perms, "rw-p", 4) && prev && prev->hi == v->lo &&
	    !memcmp(prev->perms, "---p", 4) && v->hi - f->tcb < TCB_FROM_TOP) {
		f->thread = (struct sled_range){ v->lo, v->hi };
		return true;
	}
	return false;
}

struct sled_range sled_thread_stack(void)
{
	struct find f = { 0 };

	__asm__("movq %%fs:0, %0" : "=r"(f.tcb)); /* the TCB's self pointer */
	each_vma(find_stacks, &f);
	if (f.thread.hi)
		return f.thread;
	/* The main thread's TCB lies elsewhere (ld.so allocates it). */
	return gettid() == getpid() ? f.stack : (struct sled_range){ 0, 0 };
}
