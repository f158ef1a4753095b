// SPDX-License-Identifier: MIT
/*
 * output_file: the file sink of jsonl:PATH and msgpack:PATH.
 *
 * PATH is opened O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, mode 0640, and O_NONBLOCK so that a
 * FIFO or a terminal never blocks the daemon (a FIFO without a reader fails the open
 * with ENXIO rather than waiting for one).  "-" is stdout: a pipe there is made
 * non-blocking (and restored at close), a socket is written with MSG_DONTWAIT, anything
 * else (a file, a terminal) is written as it is.  Writes to a pipe or a socket never
 * raise SIGPIPE: a reader that went away is an EPIPE, counted like any other error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output_impl.h"

/* O_NOFOLLOW: probed runs as root, and a symlink planted where an output file goes
 * would make it append to (or create) whatever the link names. */
#define FILE_OPEN_FLAGS (O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
#define FILE_MODE       0640

enum file_kind {
	FILE_PLAIN,  /* regular file, terminal, device: write(2) */
	FILE_PIPE,   /* write(2) with SIGPIPE held back */
	FILE_SOCKET, /* send(2) with MSG_NOSIGNAL | MSG_DONTWAIT */
};

struct file_sink {
	struct sled_sink base;
	int fd;
	enum file_kind kind;
	char *path;      /* NULL for stdout */
	int saved_flags; /* stdout's status flags before O_NONBLOCK, or -1 */
};

static enum file_kind kind_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return FILE_PLAIN;
	if (S_ISFIFO(st.st_mode))
		return FILE_PIPE;
	if (S_ISSOCK(st.st_mode))
		return FILE_SOCKET;
	return FILE_PLAIN;
}

/* write(2) to a pipe without SIGPIPE: block it for the call and, if the write raised it,
 * take it back before unblocking, unless it was already pending for someone else. */
static ssize_t write_no_sigpipe(int fd, const void *data, size_t len)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	n = write(fd, data, len);
	saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending) {
		const struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

static ssize_t file_write_bytes(struct sled_sink *s, const void *data, size_t len)
{
	struct file_sink *f = (struct file_sink *)s;
	ssize_t n;

	switch (f->kind) {
	case FILE_SOCKET:
		n = send(f->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		break;
	case FILE_PIPE:
		n = write_no_sigpipe(f->fd, data, len);
		break;
	default:
		n = write(f->fd, data, len);
		break;
	}
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n ? n : -EIO; /* 0 for len > 0 would loop forever */
}

static int file_wait_writable(struct sled_sink *s, int timeout_ms)
{
	struct file_sink *f = (struct file_sink *)s;
	struct pollfd p = { .fd = f->fd, .events = POLLOUT };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT; /* POLLERR/POLLHUP: the next write reports it */
}

static int file_reopen(struct sled_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	int fd = open(f->path, FILE_OPEN_FLAGS, FILE_MODE);

	if (fd < 0)
		return -errno;
	close(f->fd);
	f->fd = fd;
	f->kind = kind_of(fd);
	return 0;
}

static void file_close(struct sled_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;

	if (f->path)
		close(f->fd);
	else if (f->saved_flags >= 0)
		fcntl(f->fd, F_SETFL, f->saved_flags);
	free(f->path);
	free(f);
}

static const struct sled_output_ops file_ops = {
	.write_bytes = file_write_bytes,
	.wait_writable = file_wait_writable,
	.reopen = file_reopen,
	.close = file_close,
};

static const struct sled_output_ops stdout_ops = {
	.write_bytes = file_write_bytes,
	.wait_writable = file_wait_writable,
	.reopen = NULL,
	.close = file_close,
};

struct sled_sink *sled_sink_file_open(const char *target, char *err, size_t errlen)
{
	struct file_sink *f = calloc(1, sizeof(*f));
	int saved;

	if (!f)
		goto nomem;
	f->saved_flags = -1;
	if (strcmp(target, "-") == 0) {
		f->base.ops = &stdout_ops;
		f->fd = STDOUT_FILENO;
		f->kind = kind_of(f->fd);
		if (f->kind == FILE_PIPE) {
			int flags = fcntl(f->fd, F_GETFL);

			if (flags >= 0 && !(flags & O_NONBLOCK) &&
			    fcntl(f->fd, F_SETFL, flags | O_NONBLOCK) == 0)
				f->saved_flags = flags;
		}
		return &f->base;
	}
	f->base.ops = &file_ops;
	f->path = strdup(target);
	if (!f->path)
		goto nomem;
	f->fd = open(target, FILE_OPEN_FLAGS, FILE_MODE);
	if (f->fd < 0) {
		saved = errno;
		sled_output_set_err(err, errlen, "cannot open '%s': %s%s", target,
				    strerror(saved),
				    saved == ENXIO ? " (a FIFO without a reader?)"
				    : saved == ELOOP ? " (a symbolic link: probed does not follow links "
						       "for its output files)" : "");
		free(f->path);
		free(f);
		errno = saved;
		return NULL;
	}
	f->kind = kind_of(f->fd);
	return &f->base;
nomem:
	if (f)
		free(f->path);
	free(f);
	sled_output_set_err(err, errlen, "out of memory");
	errno = ENOMEM;
	return NULL;
}
