/* SPDX-License-Identifier: MIT */
/*
 * uprobe_auto: the uprobe part of a probe enabled for every process (no -p, no -b).
 *
 * `--mode auto` traces the processes that link libsled in sled mode (procs.c, probes.c)
 * and every other process with uprobes; `--mode uprobe` with no scope traces every
 * process with uprobes.  The uprobes are attached per process (pid-specific), never per
 * binary: a shared library with tracepoints may be mapped by libsled processes too, and
 * a binary-wide uprobe would count their hits a second time, next to sled mode.
 *
 * While at least one such probe stands, uprobe_auto_tick (once a second) looks at the
 * processes that are new since its last look, by pid, start time and executable (an exec
 * is a new process), reads each one's mappings once and each ELF object once (cached by
 * device and inode), and gives the processes with matching tracepoints the attaches of
 * every standing probe.  A process that is gone loses its attaches (each holds fds);
 * what they counted stays with the probe (probe->upast), so its figures never go back.
 *
 * Only tracepoints built by our header (with a sled note) are attached this way: plain
 * stapsdt probes (glibc's, libstdc++'s) are in nearly every process, and attaching them
 * everywhere, per process, is what -p and -b are for.
 */
#ifndef SLED_UPROBE_AUTO_H
#define SLED_UPROBE_AUTO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/core/probes.h"

struct daemon;

/* One process's outcome of attaching one probe, for the enable reply. */
struct auto_result {
	pid_t pid;
	unsigned attached;   /* provider:name attaches that took */
	unsigned failed;     /* that did not */
	unsigned fds;        /* what the attaches hold */
	char error[256];     /* the first failure, "" if none */
};

/* All processes together. */
struct auto_report {
	unsigned nres;       /* entries filled in the caller's array (at most its size) */
	unsigned processes;  /* processes attached (may exceed nres) */
	unsigned attached, failed, fds;
	char error[256];     /* the first failure, "" if none */
};

/*
 * Give pb (in d->probes, pb->auto_uprobe set) its uprobe part in every process there is
 * now.  The uprobe context must be loaded (daemon_uprobe).  Per process results go to
 * res (max entries).  -EINVAL with the reason in err when pb's filter does not compile
 * for a tracepoint it matches (the caller refuses the enable whole, as in sled mode:
 * nothing of pb is left attached then); 0 otherwise, failed attaches counted in rep.
 */
int uprobe_auto_enable(struct daemon *d, struct probe *pb, struct auto_result *res,
		       unsigned max, struct auto_report *rep, char *err, size_t errlen);

/* Once a second: new processes get the standing probes, gone ones lose their attaches.
 * Does nothing (and keeps no process table) while no such probe stands. */
void uprobe_auto_tick(struct daemon *d);

/* Disable: stop every attach of the probe now (its figures stay readable), then, once
 * the final figures are read, forget them. */
void uprobe_auto_detach(struct daemon *d, uint32_t probe_id);
void uprobe_auto_forget(struct daemon *d, uint32_t probe_id);

/* The uprobe part's figures of pb: its live attaches plus pb->up->upast.  Adds to *f and
 * *emitted; *processes and *attaches are set. */
void uprobe_auto_figures(struct daemon *d, const struct probe *pb, struct figures *f,
			 uint64_t *emitted, unsigned *processes, unsigned *attaches);
/* fn on each uprobe handle of pb's no-scope part (one per process and provider:name,
 * detached ones included: their figures still count until the process is gone). */
void uprobe_auto_each_handle(struct daemon *d, const struct probe *pb,
			     void (*fn)(int handle, void *arg), void *arg);

/* A process traced with uprobes, for status: by the probes above and by uprobe-mode
 * probes enabled with -p. */
struct uprobe_row {
	pid_t pid;
	uid_t uid;
	char exe[256];
	unsigned attaches, fds;
	unsigned nprobes;
	uint32_t probes[16];
};
/* Every such process, in *rows (malloc'd); their number. */
unsigned uprobe_auto_rows(struct daemon *d, struct uprobe_row **rows);

void uprobe_auto_free(struct daemon *d);
/* Look at every process now (as an enable does): their objects join the cache below. */
void uprobe_auto_scan(struct daemon *d);
/* Each object with tracepoints built by our header that the uprobe part has read. */
void uprobe_auto_each_object(struct daemon *d, void (*fn)(const struct sled_object *obj, void *arg),
			     void *arg);

/* Any uprobe-mode probe: the figures of an attach that is going (drained already) move
 * into pb->up->upast; uprobe_add_released adds it to a report's figures. */
void uprobe_fold_handle(struct daemon *d, struct probe *pb, int handle);
/* Once a second: -p probes in uprobe mode whose process exited give their attaches back
 * (drained first, figures folded into the probe). */
void uprobe_release_exited(struct daemon *d);
void uprobe_add_released(const struct probe *pb, struct figures *f, uint64_t *emitted);

/* An attach's BPF counters (uprobe.h) added to a slot's kind of figures (emitted aside). */
struct uprobe_figures;
void uprobe_figures_add(struct figures *to, const struct uprobe_figures *u);

#endif /* SLED_UPROBE_AUTO_H */
