// SPDX-License-Identifier: MIT
/*
 * netout: batches, the bounded queue and the worker thread of a network output (see
 * netout.h for the design; the protocols live in output_<kind>.c).
 *
 * Accounting: every event written is, at any time, in exactly one of: an open batch or
 * the queue (both "queued"), sent, or dropped.  The drain thread owns the open batches
 * and its own drop counter; everything the worker changes is under the mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netout.h"
#include "output_impl.h"
#include "common/mono_clock.h"

#define DEFAULT_QUEUE    262144
#define DEFAULT_BATCH    4096
#define MAX_OPEN         16    /* open batches (keys) at once; the oldest is closed */
#define BACKOFF_MIN_MS   100
#define BACKOFF_MAX_MS   5000
#define CONNECT_TIMEOUT_MS 3000

struct sled_netout {
	const struct sled_proto_ops *ops;
	void *proto;
	char *spec;
	char *target; /* spec without "KIND:" and "//", options cut off */
	uint64_t queue_max, batch_max;

	/* Drain thread only. */
	struct sled_batch *open[MAX_OPEN];
	unsigned nopen;
	uint64_t open_events;
	uint64_t seq;
	uint64_t dropped_encode;  /* events the encoder could not take */
	int encode_error;

	/* Under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sled_batch *head, *tail;
	uint64_t queued;          /* events in the queue */
	uint64_t sent, acked, dropped;
	int last_error;
	const char *state;
	char error[160];
	bool stopping;
	bool joined;              /* the worker has ended (sled_netout_stop) */
	int64_t stop_deadline;    /* CLOCK_MONOTONIC ms: give up delivering then */

	pthread_t thread;
};

static void batch_free(struct sled_batch *b)
{
	if (!b)
		return;
	sled_buf_free(&b->data);
	sled_buf_free(&b->frame);
	free(b);
}

/* Wait on the condition until ms have passed or something was signalled. */
static void timed_wait(struct sled_netout *n, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

/* Record a failure for status (under mu). */
static void set_error(struct sled_netout *n, int err, const char *msg)
{
	n->last_error = err < 0 ? -err : err;
	snprintf(n->error, sizeof(n->error), "%s", msg[0] ? msg : strerror(n->last_error));
}

/* Whether the worker should stop now (under mu). */
static bool must_stop(struct sled_netout *n)
{
	return n->stopping && (!n->head || sled_clock_monotonic_ms() >= n->stop_deadline);
}

/* Wait until the time `until` (CLOCK_MONOTONIC ms) though batches arrive meanwhile; a stop
 * brings it forward to the stop's deadline (under mu). */
static void wait_until_ms(struct sled_netout *n, int64_t until)
{
	for (int64_t now = sled_clock_monotonic_ms(); ; now = sled_clock_monotonic_ms()) {
		if (n->stopping && n->stop_deadline < until)
			until = n->stop_deadline;
		if (now >= until)
			return;
		timed_wait(n, (int)(until - now));
	}
}

static void *worker(void *arg)
{
	struct sled_netout *n = arg;
	const struct sled_proto_ops *ops = n->ops;
	int backoff = BACKOFF_MIN_MS, idle_ms = ops->idle_ms ? ops->idle_ms : 1000;
	bool connected = false;
	char err[160];

	pthread_mutex_lock(&n->mu);
	while (!must_stop(n)) {
		int r;

		if (!connected) {
			n->state = "connecting";
			pthread_mutex_unlock(&n->mu);
			err[0] = '\0';
			r = ops->connect(n->proto, err, sizeof(err));
			pthread_mutex_lock(&n->mu);
			if (r < 0) {
				n->state = "down";
				set_error(n, r, err);
				/* Retry later; a stop ends the wait early. */
				int64_t wait = backoff;

				if (n->stopping && n->stop_deadline - sled_clock_monotonic_ms() < wait)
					wait = n->stop_deadline - sled_clock_monotonic_ms();
				if (wait > 0)
					timed_wait(n, (int)wait);
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			connected = true;
			n->state = "connected";
		}
		if (!n->head) {
			if (n->stopping)
				break;
			timed_wait(n, idle_ms);
			if (n->head || n->stopping || !ops->idle)
				continue;
			pthread_mutex_unlock(&n->mu);
			err[0] = '\0';
			r = ops->idle(n->proto, err, sizeof(err));
			pthread_mutex_lock(&n->mu);
		} else {
			struct sled_batch *b = n->head;

			/* The batch stays at the head (visible as queued) until delivered. */
			pthread_mutex_unlock(&n->mu);
			err[0] = '\0';
			r = ops->send(n->proto, b, err, sizeof(err));
			pthread_mutex_lock(&n->mu);
			if (r >= 0) {
				uint32_t rejected = b->rejected < b->nevents ? b->rejected : b->nevents;

				n->head = b->next;
				if (!n->head)
					n->tail = NULL;
				n->queued -= b->nevents;
				n->sent += b->nevents - rejected;
				n->dropped += rejected;
				if (rejected)
					set_error(n, EPROTO, err);
				if (r == 1)
					n->acked += b->nevents - rejected;
				backoff = BACKOFF_MIN_MS;
				pthread_mutex_unlock(&n->mu);
				batch_free(b);
				pthread_mutex_lock(&n->mu);
				continue;
			}
		}
		if (r < 0) {
			int64_t wait;

			set_error(n, r, err);
			pthread_mutex_unlock(&n->mu);
			wait = ops->retry_ms ? ops->retry_ms(n->proto) : 0;
			ops->disconnect(n->proto);
			pthread_mutex_lock(&n->mu);
			connected = false;
			n->state = "down";
			wait_until_ms(n, sled_clock_monotonic_ms() + (wait > 0 ? wait : backoff));
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
	}
	n->state = "closed";
	pthread_mutex_unlock(&n->mu);
	if (connected)
		ops->disconnect(n->proto);
	return NULL;
}

/* Split "KIND:[//]TARGET[?k=v&k=v]" into target and options, in a copy owned by n. */
static int parse_spec(struct sled_netout *n, struct sled_netout_opts *opts, char *err,
		      size_t errlen)
{
	char *colon = strchr(n->spec, ':'), *q, *tok, *save = NULL;

	n->target = strdup(colon ? colon + 1 : "");
	if (!n->target)
		return -ENOMEM;
	if (!strncmp(n->target, "//", 2))
		memmove(n->target, n->target + 2, strlen(n->target + 2) + 1);
	opts->n = 0;
	q = strchr(n->target, '?');
	if (!q)
		goto check;
	*q++ = '\0';
	for (tok = strtok_r(q, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');
		uint64_t v;

		if (eq)
			*eq++ = '\0';
		if (!strcmp(tok, "queue") || !strcmp(tok, "batch")) {
			if (sled_net_opt_u64(n->ops->kind, tok, eq ? eq : "", 1, 1u << 30, &v, err,
					     errlen))
				return -EINVAL;
			*(!strcmp(tok, "queue") ? &n->queue_max : &n->batch_max) = v;
			continue;
		}
		if (opts->n == SLED_NETOUT_MAX_OPTS) {
			sled_output_set_err(err, errlen, "%s: too many options", n->ops->kind);
			return -EINVAL;
		}
		opts->opt[opts->n].key = tok;
		opts->opt[opts->n].value = eq ? eq : "";
		opts->n++;
	}
check:
	if (!n->target[0]) {
		sled_output_set_err(err, errlen, "output '%s': missing destination", n->spec);
		return -EINVAL;
	}
	if (n->batch_max > n->queue_max)
		n->batch_max = n->queue_max;
	return 0;
}

struct sled_netout *sled_netout_open(const struct sled_proto_ops *ops, const char *spec,
				     char *err, size_t errlen)
{
	struct sled_netout_opts opts;
	struct sled_netout *n = calloc(1, sizeof(*n));
	pthread_condattr_t ca;
	int r;

	if (!n || !(n->spec = strdup(spec))) {
		free(n);
		sled_output_set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	n->ops = ops;
	n->queue_max = DEFAULT_QUEUE;
	n->batch_max = DEFAULT_BATCH;
	n->state = "connecting";
	r = parse_spec(n, &opts, err, errlen);
	if (!r) {
		n->proto = ops->create(n->target, &opts, err, errlen);
		r = n->proto ? 0 : -EINVAL;
	}
	if (r) {
		if (r == -ENOMEM)
			sled_output_set_err(err, errlen, "out of memory");
		free(n->target);
		free(n->spec);
		free(n);
		errno = -r;
		return NULL;
	}
	pthread_mutex_init(&n->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cv, &ca);
	pthread_condattr_destroy(&ca);
	{
		/* The worker takes no signals: the daemon handles them in its loop, and a
		 * process-directed SIGTERM must not land in a thread that has it unblocked. */
		sigset_t all, saved;

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &saved);
		r = pthread_create(&n->thread, NULL, worker, n);
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	if (r) {
		sled_output_set_err(err, errlen, "%s: cannot start its thread: %s", spec,
				    strerror(r));
		ops->destroy(n->proto);
		pthread_cond_destroy(&n->cv);
		pthread_mutex_destroy(&n->mu);
		free(n->target);
		free(n->spec);
		free(n);
		errno = r;
		return NULL;
	}
	return n;
}

/* Hand a closed batch to the worker, or drop it whole if the queue has no room. */
static void push(struct sled_netout *n, struct sled_batch *b)
{
	n->open_events -= b->nevents;
	pthread_mutex_lock(&n->mu);
	if (n->queued + b->nevents > n->queue_max) {
		n->dropped += b->nevents;
		n->last_error = ENOBUFS;
		snprintf(n->error, sizeof(n->error), "queue full (%llu events): receiver too slow or down",
			 (unsigned long long)n->queue_max);
		pthread_mutex_unlock(&n->mu);
		batch_free(b);
		return;
	}
	b->next = NULL;
	if (n->tail)
		n->tail->next = b;
	else
		n->head = b;
	n->tail = b;
	n->queued += b->nevents;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

/* Close open batch i (queue it) and remove it from the open set. */
static void close_open(struct sled_netout *n, unsigned i)
{
	struct sled_batch *b = n->open[i];

	memmove(&n->open[i], &n->open[i + 1], (n->nopen - i - 1) * sizeof(n->open[0]));
	n->nopen--;
	if (b->nevents)
		push(n, b);
	else
		batch_free(b);
}

static struct sled_batch *open_batch(struct sled_netout *n, const char *key)
{
	struct sled_batch *b;

	for (unsigned i = 0; i < n->nopen; i++) {
		const char *k = n->open[i]->key;

		if (k == key || (k && key && !strcmp(k, key)))
			return n->open[i];
	}
	if (n->nopen == MAX_OPEN)
		close_open(n, 0);
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->key = key;
	b->seq = ++n->seq;
	n->open[n->nopen++] = b;
	return b;
}

void sled_netout_write(struct sled_netout *n, const struct sled_event *ev)
{
	const char *key = n->ops->key ? n->ops->key(n->proto, ev) : NULL;
	struct sled_batch *b = open_batch(n, key);
	int r = b ? n->ops->encode(n->proto, &b->data, ev) : -ENOMEM;

	if (r) {
		n->dropped_encode++;
		n->encode_error = -r;
		return;
	}
	b->nevents++;
	n->open_events++;
	if (b->nevents >= n->batch_max) {
		for (unsigned i = 0; i < n->nopen; i++)
			if (n->open[i] == b)
				close_open(n, i);
	}
}

void sled_netout_flush(struct sled_netout *n)
{
	while (n->nopen)
		close_open(n, n->nopen - 1);
}

void sled_netout_stats(struct sled_netout *n, struct sled_output_stats *st)
{
	pthread_mutex_lock(&n->mu);
	st->written = n->sent;
	st->acked = n->acked;
	st->queued = n->queued + n->open_events;
	st->dropped = n->dropped + n->dropped_encode;
	st->last_error = n->last_error ? n->last_error : n->encode_error;
	st->state = n->state;
	snprintf(st->error, sizeof(st->error), "%s", n->error);
	if (!st->error[0] && n->encode_error)
		snprintf(st->error, sizeof(st->error), "encode: %s", strerror(n->encode_error));
	pthread_mutex_unlock(&n->mu);
}

void sled_netout_stop(struct sled_netout *n, int linger_ms)
{
	bool joined;

	sled_netout_flush(n);
	pthread_mutex_lock(&n->mu);
	joined = n->joined;
	n->stopping = true;
	n->stop_deadline = sled_clock_monotonic_ms() + linger_ms;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	if (!joined)
		pthread_join(n->thread, NULL);
	/* Whatever the worker did not deliver is lost now: count it. */
	pthread_mutex_lock(&n->mu);
	n->joined = true;
	while (n->head) {
		struct sled_batch *b = n->head;

		n->head = b->next;
		n->dropped += b->nevents;
		n->queued -= b->nevents;
		batch_free(b);
	}
	n->tail = NULL;
	pthread_mutex_unlock(&n->mu);
}

void sled_netout_close(struct sled_netout *n)
{
	if (!n)
		return;
	sled_netout_stop(n, 0);
	n->ops->destroy(n->proto);
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	free(n->target);
	free(n->spec);
	free(n);
}
