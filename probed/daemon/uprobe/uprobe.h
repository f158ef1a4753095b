/* SPDX-License-Identifier: MIT */
/*
 * uprobe: uprobe mode.  A kernel uprobe with an eBPF program at each site of a
 * provider:name (libbpf's USDT attach, one cookie per attach), for processes that do not
 * link libsled and for processes not started yet.  The program (probed/bpf/
 * usdt_events.bpf.c, embedded as a skeleton: no compiler at run time) pushes one record
 * per hit into a BPF ring buffer; uprobe_drain() turns records into struct sled_event.
 *
 * Typical use, from the daemon's epoll loop:
 *
 *   uprobe_open(&u, err, sizeof(err));             once; fails cleanly without BPF
 *   epoll_ctl(ep, EPOLL_CTL_ADD, uprobe_fd(u), ...);
 *   h = uprobe_attach(u, "/usr/bin/app", -1, "http", "request", fields, n, probe_id, ...);
 *   ... on readiness of uprobe_fd(u), and on the daemon's drain timer:
 *   uprobe_drain(u, sink, arg);
 *   uprobe_detach(u, h); uprobe_drain(u, sink, arg); uprobe_counts(u, h, ...);
 *
 * Accounting: for each handle, emitted = exported + dropped once the ring is drained.
 * Detaching stops new hits at once; records of the handle already in the ring are still
 * exported by later drains, and its counts stay readable, until its slot is reused by a
 * later attach (slots are recycled round-robin: 4096 attaches later at the soonest).
 * A record whose handle slot was reused since is discarded and counted as stale.
 *
 * File descriptors: libbpf 1.1 (no uprobe_multi) opens, per site it attaches, one perf
 * event (the uprobe) and one BPF link: 2 fds per site and per attach.  uprobe_open raises
 * RLIMIT_NOFILE to its hard limit (and says so on stderr); uprobe_handle_info() reports
 * what an attach took.  The kernel takes ~0.1 s per site to unregister a uprobe, one site
 * at a time: uprobe_detach returns at once and the fds come back in the background (300
 * sites: ~30 s measured here), and uprobe_close waits for what is left.
 *
 * Not thread-safe: one thread (the daemon's loop) owns a context (its detacher threads
 * are internal).  All functions that can
 * fail return a negative errno and write one line, without a trailing newline, in err.
 */
#ifndef SLED_UPROBE_H
#define SLED_UPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "export/event.h"
#include "sled/abi/filter_prog.h"
#include "sled/abi/shm_layout.h"
#include "discovery/sites.h"

struct uprobe_ctx;

/* Load the BPF object; -errno with one clear line in err when the kernel has no
 * BPF/uprobes/BTF or we lack privileges (e.g. "uprobe mode unavailable: ...").
 * Also raises RLIMIT_NOFILE's soft limit to the hard limit. */
int uprobe_open(struct uprobe_ctx **u, char *err, size_t errlen);

/* Pollable fd of the ring buffer (an epoll fd: add it to the daemon's epoll for EPOLLIN).
 * It becomes readable when a quarter of the ring is pending (see uprobe_set_wakeup):
 * drain on a timer too. */
int uprobe_fd(struct uprobe_ctx *u);

/*
 * Probe functions of an attach: sled mode's --filter, --sample, --rate and --count-only
 * with the same meaning (sdk/dispatch.c), evaluated in the BPF program before anything
 * is pushed to the ring buffer.  Differences, owed to kernel uprobes: sampling counts the
 * hits of the attach (every thread and, for a binary, every process together; sled mode
 * counts per thread), and --rate's one-second windows are CLOCK_MONOTONIC's whole
 * seconds, per process (sled mode: the TSC's, per process too).
 */
struct uprobe_functions {
	const struct sled_filter_prog *filter; /* compiled for this provider:name; NULL or
						* ninsns 0: no filter */
	uint32_t sample;    /* keep hits N, 2N, ... (0, 1: every hit) */
	uint64_t rate;      /* at most this many records per second per process (0: no limit) */
	bool count_only;    /* count, record nothing */
	/* --aggregate: a hit that passes the functions above updates these aggregations in
	 * BPF maps instead of being recorded (naggs 0: none; at most UPROBE_MAX_AGGS). */
	const struct uprobe_agg *aggs;
	unsigned naggs;
};

/*
 * One aggregation of an attach, compiled for its tracepoint's fields (agg_expr.h's
 * sled_agg_compile, the same descriptor as sled mode's).  Its BPF map holds at most
 * max_entries (key, bucket) entries; a hit of a new key that finds it full is counted as
 * overflow.  Keys are laid out as sled mode's: SLED_AGG_KEY_BYTES, zero past key_len.
 */
#define UPROBE_MAX_AGGS 4
struct uprobe_agg {
	struct sled_shm_agg c;
	bool minmax;           /* min or max are wanted (costs an atomic loop each per hit) */
	uint32_t max_entries;
};

/* One merged entry of an aggregation map: the key bytes (SLED_AGG_KEY_BYTES), the
 * bucket (hist/lhist) and the figures summed over the CPUs. */
typedef void (*uprobe_agg_fn)(void *arg, const uint8_t *key, uint32_t bucket, uint64_t count,
			      uint64_t sum, uint64_t min, uint64_t max);

/* Read aggregation k of an attached handle (a detach frees its maps): each
 * entry to fn; overflow and dropped get the hits that could not be aggregated.  With
 * reset, the handle starts again from nothing: a fresh map is swapped in first, and the
 * old one is read once no program run can still update it (nothing is lost or counted
 * twice).  0, or -ENOENT (no such handle or aggregation), or -errno of the kernel. */
int uprobe_agg_read(struct uprobe_ctx *u, int handle, unsigned k, bool reset, uprobe_agg_fn fn,
		    void *arg, uint64_t *overflow, uint64_t *dropped);
/* Begin the reset of every aggregation of a handle (fresh maps in at once): the resetting
 * uprobe_agg_read calls that follow, for any number of handles, then wait for one grace
 * period in all instead of one each.  0 or -errno. */
int uprobe_agg_swap(struct uprobe_ctx *u, int handle);

/*
 * Attach provider:name of binary (all its sites; libbpf attaches every USDT site of that
 * name) for pid (-1: every process of the binary, present and future).  binary may be an
 * executable or a shared library (then every process mapping it is covered).
 * fields/nfields: names and SLED_T_* types (from the sled note; for plain stapsdt sites
 * derived from the spec), at most SLED_MAX_ARGS; string fields (SLED_T_STRING) are
 * captured as text.  probe_id is the daemon's probe, handed back with each event.  fn:
 * probe functions (NULL: none).
 * Returns a handle > 0 or -errno with err set: -ENOENT (no such file, or no site of that
 * name in it), -ESRCH (no such process), -EINVAL (bad arguments), -ENOSPC (4096 handles
 * in use), -EMFILE (out of file descriptors), or what libbpf/the kernel said.
 */
int uprobe_attach(struct uprobe_ctx *u, const char *binary, pid_t pid, const char *provider,
		  const char *name, const struct sled_field *fields, unsigned nfields,
		  uint32_t probe_id, const struct uprobe_functions *fn, char *err, size_t errlen);

/* Detach the handle: once it returns the program runs no more for it (no more hits
 * counted or recorded).  The kernel's uprobes themselves are unregistered in the
 * background (a grace period each; see uprobe.c), so their sites may still trap for a
 * while, without effect.  Unknown or already detached handles are ignored.  See
 * "Accounting" above for what stays. */
void uprobe_detach(struct uprobe_ctx *u, int handle);

/* Consume the ring buffer without blocking; each record becomes a struct sled_event
 * (mode "uprobe", provider/name/field names from the handle, ts converted to
 * CLOCK_REALTIME ns — bpf_ktime_get_ns is CLOCK_MONOTONIC), handed to sink with the
 * handle's probe_id.  Returns the number of events.  At most UPROBE_DRAIN_BUDGET records
 * are consumed per call, so a flood cannot starve the caller: call again while it returns
 * that many (the fd stays readable while records remain). */
#define UPROBE_DRAIN_BUDGET 65536
uint64_t uprobe_drain(struct uprobe_ctx *u,
		      void (*sink)(const struct sled_event *ev, uint32_t probe_id, void *arg),
		      void *arg);

/* emitted (BPF-side hits that passed the probe functions), exported (events handed to
 * sink), dropped (ring buffer full) for a handle; zeros for an unknown handle. */
void uprobe_counts(struct uprobe_ctx *u, int handle, uint64_t *emitted, uint64_t *exported,
		   uint64_t *dropped);

/* Every counter of a handle, as sled mode's slots have them (probes.h, struct figures):
 * hits = filtered + sampled + limited + emitted, and emitted = exported + dropped once
 * the ring is drained (with count_only nothing is recorded: emitted only counts).
 * Zeros for an unknown handle. */
struct uprobe_figures {
	uint64_t hits, filtered, sampled, limited, emitted, exported, dropped;
};
void uprobe_figures(struct uprobe_ctx *u, int handle, struct uprobe_figures *f);

/* Detach everything, free the BPF objects and the context.  NULL is a no-op. */
void uprobe_close(struct uprobe_ctx *u);

/* --- Additions to the interface above ------------------------------------------------ */

/* What one attach holds: fds it opened (its perf events and BPF links, found in
 * /proc/self/fd before and after), the
 * records that had an argument bpf_usdt_arg() could not read (exported with value 0),
 * and what it was attached to. */
struct uprobe_handle_info {
	uint32_t probe_id;
	pid_t pid;
	unsigned fds;
	int attached;       /* 1 until uprobe_detach */
	uint64_t arg_errors;
	char provider[64], name[64];
	const char *binary; /* valid until the slot is reused or the context closed */
};
/* 0, or -ENOENT for an unknown handle. */
int uprobe_handle_info(struct uprobe_ctx *u, int handle, struct uprobe_handle_info *info);
/* Each attach in force (pid -1: every process of its binary); their number. */
unsigned uprobe_each_attached(struct uprobe_ctx *u,
			      void (*fn)(const struct uprobe_handle_info *info, void *arg), void *arg);

/* Context-wide figures. */
struct uprobe_stats {
	unsigned handles;   /* attached now */
	unsigned fds;       /* held by attached handles */
	uint64_t malformed; /* records that failed a check (size, index, nargs, lengths) */
	uint64_t stale;     /* records of a handle whose slot was reused since */
	size_t ring_bytes;  /* size of the BPF ring buffer */
};
void uprobe_stats(struct uprobe_ctx *u, struct uprobe_stats *st);

/* Ring buffer wakeups (uprobe_fd readiness).  By default (a quarter of the ring, 1 MiB)
 * records are committed without waking the consumer; every 64th hit of a probe on a CPU
 * compares the pending bytes with the threshold and the first that finds it reached
 * wakes the consumer once: the caller MUST also drain on a timer (the daemon's 1-10 ms
 * poll does), or events wait in the ring until the threshold is reached.  0: the
 * kernel's own policy, a wakeup whenever a record lands in a ring the consumer had
 * emptied: lowest latency, but a consumer that keeps up takes one wakeup (a self-IPI; a
 * VM exit under KVM) per event: 2.0 us per hit instead of 0.6 measured here.  Takes
 * effect at once. */
void uprobe_set_wakeup(struct uprobe_ctx *u, uint64_t bytes);

#endif /* SLED_UPROBE_H */
