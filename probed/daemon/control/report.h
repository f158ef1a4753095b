/* SPDX-License-Identifier: MIT */
/*
 * report: the maps the daemon sends back about probes and processes (ctl.h's replies):
 * a probe with its figures (status, disable), the traced processes with their mode
 * (status), sites (sites), the daemon's figures and outputs (status), and the rows of an
 * enable (enable).  The request handlers
 * (request.h) frame them; each mode's rows and figures come from its part (mode_part.h).
 */
#ifndef SLED_REPORT_H
#define SLED_REPORT_H

#include <msgpack.h>
#include <sys/types.h>

#include "daemon/core/daemon.h"
#include "daemon/uprobe/uprobe_auto.h"

/* A probe's figures as status reports them: the sled part's (slots) and the uprobe part's
 * (attaches, and those released with their processes) together. */
struct probe_report {
	unsigned processes, sled_processes, uprobe_processes, sites;
	uint64_t hits, filtered, sampled_out, rate_limited, emitted, exported, dropped;
};
void report_probe_figures(const struct probe *pb, struct daemon *d, struct probe_report *r);

/* pb's live figures per tracepoint, added to t (an empty table: status's "tracepoints",
 * metrics_tracepoints.h's series). */
struct tp_table;
void report_probe_tp_table(const struct probe *pb, struct daemon *d, struct tp_table *t);

/* One probe: its scope, functions and figures (report_probe_figures). */
void report_probe(msgpack_packer *pk, const struct probe *pb, struct daemon *d);

/* The array of the processes viewer (a uid; 0: root, every one) may see, each with its
 * mode: sled mode's, then uprobe mode's (a process with both has a row for each). */
void report_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer);

/* The uprobe part of a no-scope enable: per process rows (n of them), and the totals:
 * report_auto_keys() map entries for report_auto_totals() to pack. */
void report_auto_rows(msgpack_packer *pk, const struct auto_result *res, unsigned n);
unsigned report_auto_keys(const struct auto_report *rep);
void report_auto_totals(msgpack_packer *pk, const struct auto_report *rep);

/* Each mode's rows of status's "processes" and of sites' reply, for the processes
 * viewer (0: root) may see: how many (pk NULL), or packed (mode_part.h). */
unsigned report_sled_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer);
unsigned report_uprobe_processes(msgpack_packer *pk, struct daemon *d, uid_t viewer);
unsigned report_sled_sites(msgpack_packer *pk, struct daemon *d, uid_t viewer);
unsigned report_uprobe_sites(msgpack_packer *pk, struct daemon *d, uid_t viewer);

/* The sled part of an enable: per process rows (n of them; pids[i] is res[i]'s). */
void report_sled_rows(msgpack_packer *pk, const struct apply_result *const *res,
		      const pid_t *pids, unsigned n);

/* status's "daemon" (clients, limits, what they refused), "aggregations" (each
 * aggregating probe uid may see: its expressions, keys and overflow) and "outputs". */
void report_daemon(msgpack_packer *pk, const struct daemon *d);
void report_aggregations(msgpack_packer *pk, struct daemon *d, uid_t uid);
void report_outputs(msgpack_packer *pk, const struct daemon *d);

#endif /* SLED_REPORT_H */
