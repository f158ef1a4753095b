/* SPDX-License-Identifier: MIT */
/*
 * ctl: the control protocol between probectl and probed, over a unix stream socket.
 *
 * Every message is one msgpack map; the stream is a plain sequence of maps (msgpack is
 * self-delimiting).  A request has "cmd" plus its arguments; every reply has "ok" (bool)
 * and, when false, "error" (one line).  After a successful "tail" the daemon stops
 * speaking msgpack and streams event lines until either side closes.
 *
 *   {"cmd":"enable","pattern":P,"pid":N?,"binary":PATH?}
 *       -> {"ok":true,"id":N,"processes":[{"pid","sites","on","failed","error"?}]}
 *   {"cmd":"disable","id":N} | {"cmd":"disable","pattern":P,"pid":N?,"binary":PATH?}
 *       -> {"ok":true,"disabled":[ids]}
 *   {"cmd":"status"}
 *       -> {"ok":true,"probes":[{"id","pattern","pid","binary","processes","sites",
 *           "emitted","exported","dropped"}],"processes":[{"pid","exe","uid","sites_on",
 *           "rings","lost","malformed","restores"}],"outputs":[{"spec","state","sent",
 *           "acked","queued","dropped","error"}]}
 *   {"cmd":"sites"}  -> {"ok":true,"sites":[{"pid","address","state","probe"}]}
 *   {"cmd":"tail","pattern":P?,"format":"json"|"human"} -> {"ok":true} then lines
 */
#ifndef SLED_CTL_H
#define SLED_CTL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* -S PATH, else $PROBED_SOCKET, else /run/probed.sock (root) or
 * $XDG_RUNTIME_DIR/probed.sock (others; /tmp/probed-UID.sock without XDG_RUNTIME_DIR). */
const char *ctl_socket_path(const char *option);

/* Connect; -errno with a reason in err ("daemon not running at PATH"). */
int ctl_connect(const char *path, char *err, size_t errlen);

/* Write all of buf; -errno on failure. */
int ctl_send(int fd, const char *buf, size_t len);

/* Read the next map into *out (owned by up) waiting at most timeout_ms (-1: forever).
 * Returns 1 with a message, 0 at end of stream, -errno on error or timeout, -EBADMSG if
 * the message is not a map. */
int ctl_recv(int fd, msgpack_unpacker *up, msgpack_unpacked *out, int timeout_ms);

/* Map accessors: NULL / false when the key is missing or of another type. */
const msgpack_object *ctl_get(const msgpack_object *map, const char *key);
bool ctl_get_str(const msgpack_object *map, const char *key, char *buf, size_t len);
bool ctl_get_i64(const msgpack_object *map, const char *key, int64_t *v);
bool ctl_get_bool(const msgpack_object *map, const char *key, bool *v);

/* Packing helpers: a string key followed by a value. */
void ctl_pack_str(msgpack_packer *pk, const char *s);
void ctl_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);
void ctl_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
void ctl_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t val);
void ctl_pack_kv_bool(msgpack_packer *pk, const char *key, bool val);

#endif /* SLED_CTL_H */
