/* SPDX-License-Identifier: MIT */
/*
 * reload: SIGHUP re-reads the config file (-c).  Its outputs and enables are the config's:
 * an output still in the file keeps its queue, a new one is opened, one no longer there is
 * drained and closed; an enable line still there keeps its probe and figures, a new one
 * is enabled, one no longer there is disabled.  Outputs and probes from the command line
 * or probectl are not touched.  A new file that fails (syntax, an output that does not
 * open, an enable that can never match) changes nothing: the old config stays, a log line
 * and status's daemon section (reload_failures, reload_error) say why.
 */
#ifndef SLED_RELOAD_H
#define SLED_RELOAD_H

#include <msgpack.h>

struct daemon;
struct config;
struct config_line;

/* Remember the config the daemon started with: its outputs (already in d->outputs) and
 * path.  0, or -1 out of memory. */
int reload_init(struct daemon *d, const struct config *cfg);
/* An enable line of the config became probe id (start-up and reload). */
void reload_note_enable(struct daemon *d, const struct config_line *l, uint32_t id);
/* SIGHUP: reopen file outputs, then apply the file again. */
void reload_config(struct daemon *d);
/* status's daemon section: reloads, reload_failures, reload_error (3 keys). */
#define RELOAD_STATUS_KEYS 3
void reload_pack_status(msgpack_packer *pk, const struct daemon *d);
void reload_free(struct daemon *d);

#endif /* SLED_RELOAD_H */
