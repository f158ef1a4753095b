/* SPDX-License-Identifier: MIT */
/*
 * output: where events go.  An output is created from a spec string given to probed -o:
 *
 *   jsonl:PATH      one JSON object per line, appended to PATH ("-" = stdout)
 *   msgpack:PATH    a stream of msgpack maps, appended to PATH ("-" = stdout)
 *
 * Events are encoded into a per-output buffer and written in large chunks; a write error
 * never stops the daemon: the output counts the events it could not write as dropped.
 */
#ifndef SLED_OUTPUT_H
#define SLED_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct sled_output;

struct sled_output_stats {
	uint64_t written; /* events handed to the kernel */
	uint64_t dropped; /* events lost to write errors */
	int last_error;   /* errno of the last failure, 0 if none */
};

/* Parse spec and open the output.  NULL with a one-line reason in err on bad specs or
 * unopenable files. */
struct sled_output *sled_output_open(const char *spec, char *err, size_t errlen);

/* Encode and queue one event; flushes when the buffer fills. */
void sled_output_write(struct sled_output *o, const struct sled_event *ev);

/* Write out what is buffered (called after each drain pass and on exit). */
void sled_output_flush(struct sled_output *o);

/* Reopen the file (SIGHUP, for logrotate); no-op for stdout. */
int sled_output_reopen(struct sled_output *o);

const char *sled_output_spec(const struct sled_output *o);
void sled_output_stats(const struct sled_output *o, struct sled_output_stats *st);
void sled_output_close(struct sled_output *o);

/*
 * Encoders, usable on their own (tail streams, tests, benchmarks).  Each appends one
 * encoded event to buf (growing it) and returns 0 or -ENOMEM.
 *
 * msgpack: a map {provider, name, ts (msgpack timestamp ext -1, 96-bit form when needed),
 *          pid, tid, args: {field name: typed value}}; strings longer than the runtime
 *          keeps carry "...": the key "truncated" lists their field names.
 * JSON:    the same keys, ts in nanoseconds since the epoch, one line ending in '\n'.
 * Human:   "HH:MM:SS.nnnnnnnnn pid/tid provider:name field=value ..." for probectl tail.
 */
struct sled_buf {
	char *data;
	size_t len, cap;
};
int sled_encode_msgpack(struct sled_buf *buf, const struct sled_event *ev);
int sled_encode_json(struct sled_buf *buf, const struct sled_event *ev);
int sled_encode_human(struct sled_buf *buf, const struct sled_event *ev);
void sled_buf_free(struct sled_buf *buf);

#endif /* SLED_OUTPUT_H */
