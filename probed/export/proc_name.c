// SPDX-License-Identifier: MIT
/*
 * proc_name: program names of events (see proc_name.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc_name.h"
#include "common/mono_clock.h"

#define REFRESH_MS 1000

void sled_proc_basename(const char *path, char out[SLED_PROC_NAME_MAX + 1])
{
	static const char deleted[] = " (deleted)";
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > sizeof(deleted) - 1 && !strcmp(base + n - (sizeof(deleted) - 1), deleted))
		n -= sizeof(deleted) - 1;
	if (n > SLED_PROC_NAME_MAX)
		n = SLED_PROC_NAME_MAX;
	memcpy(out, base, n);
	out[n] = '\0';
}

/* /proc/PID/exe's basename, else /proc/PID/comm (a zombie has no exe link): "" when the
 * process is gone. */
static void lookup(pid_t pid, char out[SLED_PROC_NAME_MAX + 1])
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		sled_proc_basename(buf, out);
		if (out[0])
			return;
	}
	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, SLED_PROC_NAME_MAX);
	close(fd);
	if (n <= 0)
		return;
	if (buf[n - 1] == '\n')
		n--;
	memcpy(out, buf, (size_t)n);
	out[n] = '\0';
}

const char *sled_proc_name(struct sled_proc_names *c, const struct sled_event *ev)
{
	unsigned i = (unsigned)ev->pid % SLED_PROC_NAME_SLOTS;
	int64_t now;

	if (ev->exe && ev->exe[0] == '/') { /* "?" when the daemon could not read it */
		sled_proc_basename(ev->exe, c->scratch);
		return c->scratch;
	}
	if (ev->pid <= 0)
		return "";
	now = sled_clock_monotonic_ms();
	if (c->slot[i].pid == ev->pid && now - c->slot[i].looked_ms < REFRESH_MS)
		return c->slot[i].name;
	c->slot[i].pid = ev->pid;
	c->slot[i].looked_ms = now;
	lookup(ev->pid, c->slot[i].name);
	return c->slot[i].name;
}
