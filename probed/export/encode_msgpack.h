/* SPDX-License-Identifier: MIT */
/*
 * encode_msgpack: pieces of the msgpack encoder (encode_msgpack.c) that other encoders of
 * probed/export reuse, so that every msgpack form of an event types its values the same
 * way.  Private to probed/export.
 */
#ifndef SLED_EXPORT_ENCODE_MSGPACK_H
#define SLED_EXPORT_ENCODE_MSGPACK_H

#include "output.h"

/*
 * The event map of sled_encode_msgpack without "ts": {provider, name, pid, tid, [mode,]
 * args, [truncated]}, for formats that carry the time outside the record (a Fluent
 * Forward entry is [EventTime, record]).  0, or -ENOMEM with buf unchanged.
 */
int sled_encode_msgpack_record(struct sled_buf *buf, const struct sled_event *ev);

#endif /* SLED_EXPORT_ENCODE_MSGPACK_H */
