/* SPDX-License-Identifier: MIT */
/*
 * engine: what the parts below the event loop (the control server, pending commands, the
 * uprobe /proc scan) may ask of the core, so that none of them calls into main.c: drain
 * every ring into the outputs, give the standing probes to a process, let dead processes
 * go, load uprobe mode.  main.c's loop calls the same functions.
 */
#ifndef SLED_DAEMON_CORE_ENGINE_H
#define SLED_DAEMON_CORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct traced_proc;

/* Applies the standing probes to a newly attached or changed process. */
void daemon_apply_all(struct daemon *d, struct traced_proc *p);
/* Detach processes that died or exec'd, after draining what they left. */
void daemon_reap(struct daemon *d);
/* Load the BPF side once; 0 or -errno with the reason in err. */
int daemon_uprobe(struct daemon *d, char *err, size_t errlen);
/* Drain every attached process into the outputs and tail clients. */
uint64_t daemon_drain(struct daemon *d);
/* Drain one process (arg: the daemon): the registry's callback before a slot changes
 * hands (struct probes.drain). */
void daemon_drain_one(struct traced_proc *p, void *arg);

#endif /* SLED_DAEMON_CORE_ENGINE_H */
