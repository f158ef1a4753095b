/* SPDX-License-Identifier: MIT */
/*
 * output_impl: the inside of an output, private to probed/export.
 *
 * An output (output.c) is a format, a buffer and the accounting (written, dropped); it
 * hands whole chunks of encoded events to its transport, the part that only moves bytes
 * (struct sled_sink in the code).  Every kind of output (file, unix socket, TCP, syslog,
 * Fluent Forward) is one transport in its own file, output_<kind>.c, that embeds struct
 * sled_sink and fills in a struct sled_output_ops, plus one line in the table of
 * output.c that maps a spec prefix to an encoder and the transport's open function.
 *
 * Transports must never block for long: the daemon drains every traced process's ring from
 * one thread.  write_bytes returns -EAGAIN instead of blocking, and output.c decides how
 * long to wait (wait_writable) before it counts the events as dropped.
 */
#ifndef SLED_EXPORT_OUTPUT_IMPL_H
#define SLED_EXPORT_OUTPUT_IMPL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/seterr.h"
#include "output.h"

struct sled_sink;

struct sled_output_ops {
	/* Hand up to len (> 0) bytes to the destination: the number taken (> 0, possibly
	 * fewer than len), or -errno: -EAGAIN when it would block, -EINTR to be retried. */
	ssize_t (*write_bytes)(struct sled_sink *s, const void *data, size_t len);
	/* Wait up to timeout_ms until write_bytes may take bytes again: 0, or -errno
	 * (-ETIMEDOUT).  NULL when the sink has nothing to wait on. */
	int (*wait_writable)(struct sled_sink *s, int timeout_ms);
	/* Reopen the destination (SIGHUP, after logrotate moved the file): 0, or -errno
	 * with the sink unchanged.  NULL when there is nothing to reopen (stdout). */
	int (*reopen)(struct sled_sink *s);
	/* Release the sink and its memory. */
	void (*close)(struct sled_sink *s);
};

/* The first member of every sink's own state. */
struct sled_sink {
	const struct sled_output_ops *ops;
};

/* Opens a sink on target (what follows "FORMAT:" in the spec): the sink, or NULL with
 * errno set and a one-line reason in err. */
typedef struct sled_sink *sled_sink_open_fn(const char *target, char *err, size_t errlen);

/* output_file.c: a path opened for appending, "-" for stdout. */
sled_sink_open_fn sled_sink_file_open;

/* Writes a one-line reason into err (if any): the daemon's one seterr. */
#define sled_output_set_err sled_seterr

#endif /* SLED_EXPORT_OUTPUT_IMPL_H */
