/* SPDX-License-Identifier: MIT */
/*
 * output: where events go.  An output is created from a spec string given to probed -o:
 *
 *   jsonl:PATH      one JSON object per line, appended to PATH ("-" = stdout)
 *   msgpack:PATH    a stream of msgpack maps, appended to PATH ("-" = stdout)
 *   forward://HOST[:PORT], forward+tls://HOST[:PORT], forward+unix:PATH
 *                   Fluent Forward (output_forward.c)
 *   syslog://HOST[:PORT], syslog+udp://HOST[:PORT], syslog+tls://HOST[:PORT]
 *                   RFC 5424 (output_syslog.c); TLS: net_tls.h
 *   msgpack+tcp://HOST:PORT, msgpack+unix:PATH, jsonl+tcp://..., jsonl+unix:PATH
 *                   the msgpack / JSON-lines streams over a socket (output_stream.c)
 *   otlp://HOST[:PORT], otlp+tls://HOST[:PORT]
 *                   OpenTelemetry logs over OTLP/HTTP (output_otlp.c)
 *
 * Network kinds take options after '?' (netout.h): queue=N, batch=N, and their own.
 * They deliver from a thread of their own with a bounded queue (netout.c), so a receiver
 * that is down or slow never blocks the caller: what does not fit is counted as dropped.
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
	uint64_t written; /* events handed to the kernel (files) or sent to the receiver */
	uint64_t acked;   /* events the receiver acknowledged (Forward with ack=1) */
	uint64_t queued;  /* events encoded and waiting for the receiver */
	uint64_t dropped; /* events lost: write errors, full queue, undelivered at exit */
	int last_error;   /* errno of the last failure, 0 if none */
	/* "open" (files), or for network outputs "connecting", "connected", "down"
	 * (waiting to retry) */
	const char *state;
	char error[160];  /* the last failure's one-line reason, "" if none */
};

/* Parse spec and open the output.  NULL with errno set and a one-line reason in err
 * (may be NULL) on bad specs or unopenable files, e.g.
 * "unknown output 'x': expected jsonl:PATH or msgpack:PATH". */
struct sled_output *sled_output_open(const char *spec, char *err, size_t errlen);

/* Encode and queue one event; flushes when the buffer fills. */
void sled_output_write(struct sled_output *o, const struct sled_event *ev);

/* Write out what is buffered (called after each drain pass and on exit). */
void sled_output_flush(struct sled_output *o);

/* Reopen the file (SIGHUP, for logrotate): what is buffered goes to the old file first.
 * 0, or -errno with the old file kept.  No-op for stdout. */
int sled_output_reopen(struct sled_output *o);

const char *sled_output_spec(const struct sled_output *o);
void sled_output_stats(const struct sled_output *o, struct sled_output_stats *st);
/* Before close, at exit: network outputs get up to 2 s to deliver what is queued, and
 * what they could not is counted as dropped; files are flushed.  Stats stay readable. */
void sled_output_stop(struct sled_output *o);
/* Flush and free.  Read the stats before: the final flush's failures are not reported. */
void sled_output_close(struct sled_output *o);

/*
 * Encoders, usable on their own (tail streams, tests, benchmarks).  Each appends one
 * encoded event to buf (growing it) and returns 0 or -ENOMEM (then buf is unchanged).
 *
 * msgpack: a map {provider, name, ts (msgpack timestamp ext -1: 32-, 64- or 96-bit form,
 *          the smallest that fits), pid, tid, [mode,] args: {field name: typed value},
 *          [truncated: [field names]]}.  Integers as ints, bool as bool, SLED_T_FLOAT as
 *          float 32, SLED_T_DOUBLE as float 64, pointers as uint, strings as str (nil for
 *          a NULL char *).  A string the runtime truncated holds the bytes it kept (no
 *          "..." added) and its field is listed in "truncated"; that key is present
 *          only when some string was truncated, "mode" only when ev->mode is set.
 * JSON:    the same keys, ts in nanoseconds since the epoch, one line ending in '\n';
 *          NaN and infinities as null.
 * Human:   "HH:MM:SS.nnnnnnnnn pid/tid provider:name field=value ..." (local time) for
 *          probectl tail; a truncated string is followed by "...".
 * Strings always come out as valid UTF-8 (ill-formed bytes as U+FFFD; \xNN in the human
 * form), and a character cut by truncation is dropped.  Details in encode_*.c.
 */
struct sled_buf {
	char *data;
	size_t len, cap;
};
int sled_encode_msgpack(struct sled_buf *buf, const struct sled_event *ev);
int sled_encode_json(struct sled_buf *buf, const struct sled_event *ev);
int sled_encode_human(struct sled_buf *buf, const struct sled_event *ev);
/* The human form without time, pid/tid and newline: "provider:name field=value ...". */
int sled_encode_human_summary(struct sled_buf *buf, const struct sled_event *ev);
void sled_buf_free(struct sled_buf *buf);

#endif /* SLED_OUTPUT_H */
