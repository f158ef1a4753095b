// SPDX-License-Identifier: MIT
/*
 * output: spec parsing, the event buffer and the accounting; sinks (output_impl.h) move
 * the bytes.
 *
 * Encoded events collect in one buffer, handed to the sink when it reaches
 * SLED_OUTPUT_CHUNK and at every sled_output_flush.  The end offset of every queued
 * event is kept, so that after a failed or short write each event is counted exactly
 * once: written if all its bytes were taken, dropped if none were.  An event the sink
 * took only part of stays queued (its remaining bytes go first at the next flush) so the
 * stream stays decodable once the destination recovers; it is dropped only at close, or
 * at a reopen, since a new file must not begin in the middle of an event.
 *
 * A flush waits at most SLED_OUTPUT_WAIT_MS for a destination that would block (a full
 * pipe); after such a wait failed, flushes make one attempt without waiting until one
 * succeeds, so a reader that stopped reading costs the daemon no more than a system call
 * per flush.  Not thread-safe: one output belongs to one thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netout.h"
#include "output_impl.h"
#include "common/mono_clock.h"

#define SLED_OUTPUT_CHUNK   (256 * 1024)
#define SLED_OUTPUT_WAIT_MS 50

typedef int sled_encode_fn(struct sled_buf *buf, const struct sled_event *ev);

/* Output kinds by spec prefix: "PREFIX:TARGET".  Files are written from the drain thread
 * (encode + sink); network kinds hand batches to a worker thread (netout.c, proto). */
static const struct output_kind {
	const char *prefix;
	const char *usage;
	sled_encode_fn *encode;
	sled_sink_open_fn *open;
	const struct sled_proto_ops *proto;
} kinds[] = {
	{ "jsonl", "jsonl:PATH", sled_encode_json, sled_sink_file_open, NULL },
	{ "msgpack", "msgpack:PATH", sled_encode_msgpack, sled_sink_file_open, NULL },
	{ "forward", "forward://HOST[:PORT]", NULL, NULL, &sled_proto_forward },
	{ "forward+tls", "forward+tls://HOST[:PORT]", NULL, NULL, &sled_proto_forward_tls },
	{ "forward+unix", "forward+unix:PATH", NULL, NULL, &sled_proto_forward_unix },
	{ "syslog", "syslog://HOST[:PORT]", NULL, NULL, &sled_proto_syslog_tcp },
	{ "syslog+udp", "syslog+udp://HOST[:PORT]", NULL, NULL, &sled_proto_syslog_udp },
	{ "syslog+tls", "syslog+tls://HOST[:PORT]", NULL, NULL, &sled_proto_syslog_tls },
	{ "msgpack+tcp", "msgpack+tcp://HOST:PORT", NULL, NULL, &sled_proto_msgpack_tcp },
	{ "msgpack+unix", "msgpack+unix:PATH", NULL, NULL, &sled_proto_msgpack_unix },
	{ "jsonl+tcp", "jsonl+tcp://HOST:PORT", NULL, NULL, &sled_proto_jsonl_tcp },
	{ "jsonl+unix", "jsonl+unix:PATH", NULL, NULL, &sled_proto_jsonl_unix },
	{ "otlp", "otlp://HOST[:PORT]", NULL, NULL, &sled_proto_otlp },
	{ "otlp+tls", "otlp+tls://HOST[:PORT]", NULL, NULL, &sled_proto_otlp_tls },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* How long probed's exit waits for network receivers to take what is queued. */
#define SLED_OUTPUT_LINGER_MS 2000

struct sled_output {
	char *spec;
	struct sled_netout *net; /* network kinds: everything below is unused */
	sled_encode_fn *encode;
	struct sled_sink *sink;
	struct sled_buf buf;
	size_t *ends;      /* end offset in buf of each queued event */
	size_t nends, cap_ends;
	bool head_partial; /* the first queued event was partly written already */
	bool congested;    /* the last flush gave up on a destination that would block */
	struct sled_output_stats st;
};

/* "unknown output 'x' (jsonl:PATH, msgpack:PATH, forward://HOST:PORT, ...)", from the
 * table. */
static void unknown_output(const char *spec, char *err, size_t errlen)
{
	char expected[512];
	size_t n = 0;

	expected[0] = '\0';
	for (size_t i = 0; i < NKINDS && n < sizeof(expected); i++)
		n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%s%s",
				      i == 0 ? "" : ", ", kinds[i].usage);
	sled_output_set_err(err, errlen, "unknown output '%s' (expected %s)", spec, expected);
}

/* The spec as status and logs show it: the values of secret options (shared_key=,
 * password=, and otlp's header=, which may carry a token) replaced by "***".  A new
 * string, or NULL when out of memory. */
static char *masked_spec(const char *spec)
{
	static const char *const secrets[] = { "shared_key=", "password=", "header=" };
	const char *q = strchr(spec, '?');
	size_t nopts = 1;
	char *out, *w;

	for (const char *p = spec; *p; p++)
		nopts += *p == '&';
	out = malloc(strlen(spec) + 3 * nopts + 1); /* "***" may be longer than a value */

	if (!out)
		return NULL;
	if (!q) {
		strcpy(out, spec);
		return out;
	}
	w = out + (q - spec);
	memcpy(out, spec, (size_t)(q - spec));
	while (*q) {
		const char *key = q + 1, *end = strchr(key, '&');
		size_t len = end ? (size_t)(end - key) : strlen(key);
		bool secret = false;

		*w++ = *q; /* '?' or '&' */
		for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
			size_t k = strlen(secrets[i]);

			if (len >= k && !strncmp(key, secrets[i], k)) {
				memcpy(w, key, k);
				memcpy(w + k, "***", 3);
				w += k + 3;
				secret = true;
			}
		}
		if (!secret) {
			memcpy(w, key, len);
			w += len;
		}
		q = key + len;
	}
	*w = '\0';
	return out;
}

struct sled_output *sled_output_open(const char *spec, char *err, size_t errlen)
{
	const struct output_kind *kind = NULL;
	const char *colon = spec ? strchr(spec, ':') : NULL;
	struct sled_output *o;

	for (size_t i = 0; colon && i < NKINDS; i++)
		if (strlen(kinds[i].prefix) == (size_t)(colon - spec) &&
		    strncmp(spec, kinds[i].prefix, (size_t)(colon - spec)) == 0)
			kind = &kinds[i];
	if (!kind) {
		unknown_output(spec ? spec : "", err, errlen);
		errno = EINVAL;
		return NULL;
	}
	if (colon[1] == '\0') {
		sled_output_set_err(err, errlen, "output '%s': missing destination, expected %s",
				    spec, kind->usage);
		errno = EINVAL;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o || !(o->spec = masked_spec(spec))) {
		free(o);
		sled_output_set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (kind->proto) {
		o->net = sled_netout_open(kind->proto, spec, err, errlen);
	} else {
		o->encode = kind->encode;
		o->sink = kind->open(colon + 1, err, errlen);
	}
	if (!o->net && !o->sink) {
		int saved = errno;

		free(o->spec);
		free(o);
		errno = saved;
		return NULL;
	}
	return o;
}

static int grow_ends(struct sled_output *o)
{
	size_t cap = o->cap_ends ? o->cap_ends * 2 : 1024;
	size_t *ends = realloc(o->ends, cap * sizeof(*ends));

	if (!ends)
		return -ENOMEM;
	o->ends = ends;
	o->cap_ends = cap;
	return 0;
}

void sled_output_write(struct sled_output *o, const struct sled_event *ev)
{
	int err;

	if (!o)
		return;
	if (o->net) {
		sled_netout_write(o->net, ev);
		return;
	}
	err = o->nends == o->cap_ends ? grow_ends(o) : 0;
	if (!err)
		err = o->encode(&o->buf, ev);
	if (err) {
		o->st.dropped++;
		o->st.last_error = -err;
		return;
	}
	o->ends[o->nends++] = o->buf.len;
	if (o->buf.len >= SLED_OUTPUT_CHUNK)
		sled_output_flush(o);
}

/* After off bytes of the buffer were taken, and err (0 if all were): count the events,
 * keep what must stay queued. */
static void account(struct sled_output *o, size_t off, int err)
{
	size_t done = 0;

	while (done < o->nends && o->ends[done] <= off)
		done++;
	o->st.written += done;
	if (done == o->nends) {
		o->buf.len = 0;
		o->nends = 0;
		o->head_partial = false;
		return;
	}
	/* The first event not fully written: its start, then whether it must stay. */
	size_t start = done ? o->ends[done - 1] : 0;
	bool partial = start < off || (done == 0 && o->head_partial);
	size_t keep = partial ? o->ends[done] - off : 0;

	o->st.dropped += o->nends - done - partial;
	o->st.last_error = err;
	if (keep)
		memmove(o->buf.data, o->buf.data + off, keep);
	o->buf.len = keep;
	o->nends = partial;
	if (partial)
		o->ends[0] = keep;
	o->head_partial = partial;
}

void sled_output_flush(struct sled_output *o)
{
	const struct sled_output_ops *ops;
	bool may_wait;
	uint64_t deadline = 0;
	size_t off = 0;
	int err = 0;

	if (o && o->net) {
		sled_netout_flush(o->net);
		return;
	}
	if (!o || o->buf.len == 0)
		return;
	ops = o->sink->ops;
	may_wait = !o->congested && ops->wait_writable;
	while (off < o->buf.len) {
		ssize_t n = ops->write_bytes(o->sink, o->buf.data + off, o->buf.len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN && may_wait) {
			uint64_t now = (uint64_t)sled_clock_monotonic_ms();

			if (!deadline)
				deadline = now + SLED_OUTPUT_WAIT_MS;
			if (now < deadline && ops->wait_writable(o->sink, (int)(deadline - now)) == 0)
				continue;
		}
		err = (int)-n;
		break;
	}
	o->congested = err == EAGAIN;
	account(o, off, err);
}

int sled_output_reopen(struct sled_output *o)
{
	int err;

	if (!o || o->net || !o->sink->ops->reopen)
		return 0;
	sled_output_flush(o); /* the end of the old file goes to the old file */
	err = o->sink->ops->reopen(o->sink);
	if (err) {
		o->st.last_error = -err;
		return err;
	}
	/* What the old file took part of cannot begin the new one. */
	o->st.dropped += o->nends;
	o->buf.len = 0;
	o->nends = 0;
	o->head_partial = false;
	o->congested = false;
	return 0;
}

const char *sled_output_spec(const struct sled_output *o)
{
	return o->spec;
}

void sled_output_stats(const struct sled_output *o, struct sled_output_stats *st)
{
	if (o->net) {
		memset(st, 0, sizeof(*st));
		sled_netout_stats(o->net, st);
		return;
	}
	*st = o->st;
	st->state = "open";
	st->error[0] = '\0';
	if (st->last_error)
		snprintf(st->error, sizeof(st->error), "%s", strerror(st->last_error));
}

void sled_output_stop(struct sled_output *o)
{
	if (!o)
		return;
	if (o->net)
		sled_netout_stop(o->net, SLED_OUTPUT_LINGER_MS);
	else
		sled_output_flush(o);
}

void sled_output_close(struct sled_output *o)
{
	if (!o)
		return;
	if (o->net) {
		sled_netout_close(o->net);
		free(o->spec);
		free(o);
		return;
	}
	sled_output_flush(o);
	o->st.dropped += o->nends; /* what a failing destination still holds back */
	o->sink->ops->close(o->sink);
	sled_buf_free(&o->buf);
	free(o->ends);
	free(o->spec);
	free(o);
}
