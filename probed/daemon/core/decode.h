/* SPDX-License-Identifier: MIT */
/*
 * decode: the values of one recorded hit into a struct sled_event's fields, the same for
 * both record formats.  A sled-mode ring record (sled/drain.c) and a uprobe ring-buffer
 * record (uprobe/uprobe.c) differ in their headers, but after the header both carry one
 * 64-bit word per argument, then the strings' bytes back to back; a string's word is its
 * length with the SLED_REC_STR_* flags (the BPF side's USDT_STR_* are asserted equal).
 */
#ifndef SLED_DAEMON_CORE_DECODE_H
#define SLED_DAEMON_CORE_DECODE_H

#include <stdint.h>

#include "discovery/sites.h"
#include "export/event.h"

/* Fills ev->fields[0..n) from the words v (each read once: they may be in memory the
 * traced process can still write) and the string bytes in [str, end), with the names and
 * types of fields (the daemon's own copy, never the record's).  Sets ev->nfields.  -1 if
 * n is too large or a string does not fit what is left of the record: the record is
 * malformed and nothing of it may be used. */
int decode_values(struct sled_event *ev, const struct sled_field *fields, unsigned n,
		  const uint64_t *v, const char *str, const char *end);

#endif /* SLED_DAEMON_CORE_DECODE_H */
