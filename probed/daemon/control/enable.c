/* SPDX-License-Identifier: MIT */
/*
 * enable: the enable request.  Its fields are parsed and checked here, its mode looked up
 * in enable_modes[], and with -p the process attached (or waited for from the loop)
 * before the mode's enable runs (enable_sled.c, enable_uprobe.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agg/agg_expr.h"
#include "ctl/ctl.h"
#include "daemon/control/enable.h"
#include "daemon/control/enable_check.h"
#include "daemon/core/engine.h"
#include "daemon/core/pending.h"
#include "discovery/objcache.h"
#include "discovery/sites.h"

static uid_t owner_of(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) ? (uid_t)-1 : st.st_uid;
}

/* Attach pid now if its block is ready, with the standing probes started on it. */
static struct traced_proc *attach_now(struct daemon *d, pid_t pid)
{
	struct traced_proc *p = procs_attach(&d->procs, pid, d->last_beat_ns);

	if (p) {
		p->shm->tsc_hz = (uint64_t)(1e9 / d->clock.ns_per_tick);
		daemon_apply_all(d, p);
	}
	return p;
}

/* A non-root uid holds at most --max-probes-per-uid standing probes: each costs memory
 * and a pass over every process on each change. */
static bool over_probe_limit(struct daemon *d, struct client *c)
{
	unsigned n = 0;

	if (c->uid == 0 || !d->limits.probes_per_uid)
		return false;
	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		n += pb->owner == c->uid;
	if (n < d->limits.probes_per_uid)
		return false;
	d->stats.refused_probes++;
	reply_error(c, "too many probes for uid %u (limit %u, --max-probes-per-uid): disable some "
		    "first", (unsigned)c->uid, d->limits.probes_per_uid);
	return true;
}

/* "aggregate": an array of expressions, each parsed here so that a syntax error is
 * refused before anything is enabled (the fields are checked per tracepoint later). */
static int parse_aggregates(struct client *c, const msgpack_object *req, struct functions *fn)
{
	const msgpack_object *v = ctl_get(req, "aggregate");
	char err[300];
	int64_t mk;
	int rc;

	if (v) {
		if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 ||
		    v->via.array.size > SLED_LANE_AGGS) {
			reply_error(c, "\"aggregate\" must be an array of 1 to %d expressions",
				    SLED_LANE_AGGS);
			return -1;
		}
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			const msgpack_object *e = &v->via.array.ptr[i];
			struct sled_agg_spec spec;

			if (e->type != MSGPACK_OBJECT_STR || e->via.str.size >= CTL_FILTER_MAX) {
				reply_error(c, "\"aggregate\": expressions are strings under %d bytes",
					    CTL_FILTER_MAX);
				return -1;
			}
			memcpy(fn->aggregate[i], e->via.str.ptr, e->via.str.size);
			fn->aggregate[i][e->via.str.size] = 0;
			if (sled_agg_parse(fn->aggregate[i], &spec, err, sizeof(err))) {
				reply_error(c, "%s", err);
				return -1;
			}
		}
		fn->naggs = v->via.array.size;
	}
	rc = ctl_field_i64(req, "max_keys", 1, 10000000, &mk, err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc && !fn->naggs) {
		reply_error(c, "\"max_keys\" needs \"aggregate\"");
		return -1;
	}
	fn->max_keys = rc ? (uint32_t)mk : 0;
	return 0;
}

static int parse_functions(struct client *c, const msgpack_object *req, struct functions *fn)
{
	char err[256];
	int64_t v;
	int rc;

	memset(fn, 0, sizeof(*fn));
	if (ctl_field_str(req, "filter", fn->filter, sizeof(fn->filter), err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	rc = ctl_field_i64(req, "sample", 1, UINT32_MAX, &v, err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc)
		fn->sample = (uint32_t)v;
	rc = ctl_field_i64(req, "rate", 1, UINT32_MAX, &v, err, sizeof(err));
	if (rc < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	if (rc)
		fn->rate = (uint64_t)v;
	if (ctl_field_bool(req, "count_only", &fn->count_only, err, sizeof(err)) < 0) {
		reply_error(c, "%s", err);
		return -1;
	}
	return parse_aggregates(c, req, fn);
}

/* Auto mode: sled mode where the runtime is, uprobes elsewhere.  With -b, the binary's
 * processes get the runtime or they do not; without it, uprobe mode covers them all,
 * present and future. */
static void enable_auto(struct daemon *d, struct client *c, const struct scope_args *a,
			const struct functions *fn, const struct probe_mode_ops *m)
{
	if (a->binary[0] && sled_elf_has_runtime(a->binary) == 0)
		enable_uprobe(d, c, a, fn);
	else
		enable_sled(d, c, a, fn, m);
}

/* Auto mode, -p of a process without libsled: traced with uprobes. */
static void enable_auto_unattached(struct daemon *d, struct client *c,
				   const struct scope_args *a, const struct functions *fn,
				   const struct probe_mode_ops *m)
{
	(void)m;
	enable_uprobe(d, c, a, fn);
}

static void enable_uprobe_mode(struct daemon *d, struct client *c, const struct scope_args *a,
			       const struct functions *fn, const struct probe_mode_ops *m)
{
	(void)m;
	enable_uprobe(d, c, a, fn);
}

static const struct probe_mode_ops enable_modes[] = {
	{ .name = "auto", .attaches = true, .uprobes_everywhere = true, .aggregates = true,
	  .without_libsled = true, .enable = enable_auto, .unattached = enable_auto_unattached },
	{ .name = "sled", .attaches = true, .aggregates = true, .enable = enable_sled },
	{ .name = "uprobe", .without_libsled = true, .aggregates = true, .enable = enable_uprobe_mode },
};

static const struct probe_mode_ops *enable_mode_find(const char *name)
{
	for (size_t i = 0; i < sizeof(enable_modes) / sizeof(enable_modes[0]); i++)
		if (!strcmp(enable_modes[i].name, name))
			return &enable_modes[i];
	return NULL;
}

/* enable -p of a process sled mode could not attach (err: errno of the attach). */
static void enable_unattached(struct daemon *d, struct client *c, const struct scope_args *a,
			      const struct functions *fn, const struct probe_mode_ops *mode,
			      int err)
{
	/* Another daemon's process is refused whatever the mode: it is not ours to trace. */
	if (err != EBUSY && mode->unattached) {
		mode->unattached(d, c, a, fn, mode);
		return;
	}
	if (err == EBUSY)
		reply_error(c, "process %lld is traced by another probed", (long long)a->pid);
	else if (err == ENOENT)
		reply_error(c, "%s; sled mode needs the runtime (link with `pkg-config "
			    "--libs sled`), --mode uprobe traces it without", d->procs.why);
	else
		reply_error(c, "%s", d->procs.why[0] ? d->procs.why : strerror(err));
}

/* enable -p of a process that has just started: its block is not ready yet. */
struct attach_wait {
	struct scope_args a;
	struct functions fn;
	const struct probe_mode_ops *mode;
};

/* Looked at every 10 ms for up to a second, from the loop. */
static bool enable_attach_retry(struct daemon *d, struct pending_req *rq, bool last)
{
	struct attach_wait *w = rq->ctx;
	int err;

	if (attach_now(d, (pid_t)w->a.pid)) {
		w->mode->enable(d, rq->c, &w->a, &w->fn, w->mode);
		return true;
	}
	err = errno;
	if (err == EAGAIN && !last)
		return false;
	enable_unattached(d, rq->c, &w->a, &w->fn, w->mode, err);
	return true;
}

/* handle_enable once the request is parsed: the check, the process, the mode's enable. */
static void enable_scoped(struct daemon *d, struct client *c, const struct scope_args *a,
			  const struct functions *fn, const struct probe_mode_ops *mode,
			  bool pending)
{
	char check[512];

	/* A standing probe that can never match is refused, not left to never fire. */
	if (!a->pid && enable_check(d, a->pattern, fn->filter, a->binary, mode->without_libsled,
				   pending, check, sizeof(check))) {
		reply_error(c, "%s", check);
		return;
	}
	if (a->pid) {
		uid_t owner = owner_of((pid_t)a->pid);
		struct attach_wait *w;
		struct pending_req *rq;

		if (owner == (uid_t)-1) {
			reply_error(c, "no such process: %lld", (long long)a->pid);
			return;
		}
		if (c->uid != 0 && owner != c->uid) {
			reply_error(c, "permission denied: process %lld belongs to another user",
				    (long long)a->pid);
			return;
		}
		if (!mode->attaches) {
			mode->enable(d, c, a, fn, mode);
			return;
		}
		if (!procs_find(&d->procs, (pid_t)a->pid) && !attach_now(d, (pid_t)a->pid)) {
			if (errno != EAGAIN) {
				enable_unattached(d, c, a, fn, mode, errno);
				return;
			}
			/* Its block is being filled in: look again from the loop, not here. */
			w = calloc(1, sizeof(*w));
			rq = w ? pending_new(d, c, NULL, w, free) : NULL;
			if (!rq) {
				free(w);
				reply_error(c, "out of memory");
				return;
			}
			w->a = *a;
			w->fn = *fn;
			w->mode = mode;
			pending_retry(rq, enable_attach_retry, 10, 1000);
			return;
		}
	}
	mode->enable(d, c, a, fn, mode);
}

void handle_enable(struct daemon *d, struct client *c, const msgpack_object *req)
{
	struct functions fn;
	struct scope_args a;
	char name[16] = "auto", why[256];
	const struct probe_mode_ops *mode;
	bool pending = false;
	const struct sled_object *held = NULL;

	if (parse_scope(c, req, &a) || parse_functions(c, req, &fn))
		return;
	if (ctl_field_str(req, "mode", name, sizeof(name), why, sizeof(why)) < 0) {
		reply_error(c, "%s", why);
		return;
	}
	if (over_probe_limit(d, c))
		return;
	mode = enable_mode_find(name);
	if (!mode) {
		reply_error(c, "unknown mode '%s' (sled, uprobe or auto)", name);
		return;
	}
	/* Uprobe mode aggregates per attach (-b, -p, and with no scope each process's); auto
	 * with no scope in both parts, merged when the tables are collected. */
	if (fn.naggs && !mode->aggregates) {
		reply_error(c, "--aggregate is not supported in %s mode", mode->name);
		return;
	}
	if (ctl_field_bool(req, "pending", &pending, why, sizeof(why)) < 0) {
		reply_error(c, "%s", why);
		return;
	}
	/* -b: the binary is parsed once for the whole request, its object held here so that
	 * the check and the mode's enable get the cache's entry (binary_object.h); an error
	 * is the check's to report. */
	if (a.binary[0] && procs_objects(&d->procs) &&
	    sled_objcache_get(d->procs.objects, a.binary, &held, why, sizeof(why)))
		held = NULL;
	enable_scoped(d, c, &a, &fn, mode, pending);
	sled_objcache_put(d->procs.objects, held);
}
