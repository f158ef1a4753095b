/* SPDX-License-Identifier: MIT */
/*
 * ctl: the control protocol between probectl and probed, over a unix stream socket.
 *
 * Every message is one msgpack map; the stream is a plain sequence of maps (msgpack is
 * self-delimiting).  A request has "cmd" plus its arguments; every reply has "ok" (bool)
 * and, when false, "error" (one line).  After a successful "tail" the daemon stops
 * speaking msgpack and streams event lines until either side closes.
 *
 *   {"cmd":"enable","pattern":P,"pid":N?,"binary":PATH?,"mode":"sled"|"uprobe"|"auto"?,
 *    "filter":EXPR?,"sample":N?,"rate":N?,"count_only":true?}
 *       mode defaults to auto (sled mode where the process links libsled, uprobes
 *       elsewhere); filter is a C-like expression over the arguments, sample keeps one
 *       event in N, rate caps events per second, count_only counts hits without
 *       exporting events.
 *       -> {"ok":true,"id":N,"mode":M,"attached"?,"fds"?,"failed"?,"error"?,
 *           "processes":[{"pid","mode"?,"sites","on","failed","fds"?,"error"?}]}
 *   {"cmd":"disable","id":N} | {"cmd":"disable","pattern":P,"pid":N?,"binary":PATH?}
 *       -> {"ok":true,"disabled":[ids],"final":[probe as in status]}
 *   {"cmd":"status"}
 *       -> {"ok":true,"daemon":{...},"probes":[{"id","pattern","mode","pid","binary",
 *           "processes","sites","emitted","exported","dropped","filtered","sampled_out",
 *           "rate_limited",...}],"processes":[{"pid","exe","uid","sites_on","rings",
 *           "lost","malformed","restores"}],"outputs":[{"spec","state","sent","acked",
 *           "queued","dropped","error"}]}
 *   {"cmd":"sites"}  -> {"ok":true,"sites":[{"pid","address","state","probe"}]}
 *   {"cmd":"tail","pattern":P?,"format":"json"|"human"} -> {"ok":true} then lines
 *
 * Every request may carry "version" (CTL_PROTOCOL_VERSION; probectl always sends it) and
 * every reply carries it: a request of another version is refused with one line naming
 * both, and probectl refuses a reply of another version the same way.  Every field is
 * checked for type and length: a wrong type, a string too long, an unknown or repeated
 * key is an error, never a default.
 */
#ifndef SLED_CTL_H
#define SLED_CTL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_version.h"

/* 2: requests checked field by field, limits, "daemon" in status (1 had no "version"). */
#define CTL_PROTOCOL_VERSION SLED_CTL_PROTOCOL_VERSION

/* Longest fields, terminating NUL included (probed's buffers are this size). */
#define CTL_PATTERN_MAX 256
#define CTL_PATH_MAX    4096
#define CTL_FILTER_MAX  512

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

/* Strict field readers for requests: 0 when the key is missing, 1 with the value, -1
 * with a one-line reason in err when it has the wrong type or does not fit (a string of
 * len - 1 bytes or more, an integer outside [min, max]). */
int ctl_field_str(const msgpack_object *map, const char *key, char *buf, size_t len,
		  char *err, size_t errlen);
int ctl_field_i64(const msgpack_object *map, const char *key, int64_t min, int64_t max,
		  int64_t *v, char *err, size_t errlen);
int ctl_field_bool(const msgpack_object *map, const char *key, bool *v, char *err,
		   size_t errlen);
/* 0 when every key of map is a string from allowed (NULL-terminated) and none repeats;
 * -1 with a one-line reason in err otherwise. */
int ctl_check_keys(const msgpack_object *map, const char *const *allowed, char *err,
		   size_t errlen);

/* Packing helpers: a string key followed by a value. */
void ctl_pack_str(msgpack_packer *pk, const char *s);
/* The start of a request map of nkeys entries besides "version" and "cmd", which it packs. */
void ctl_pack_request(msgpack_packer *pk, const char *cmd, uint32_t nkeys);
void ctl_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);
void ctl_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
void ctl_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t val);
void ctl_pack_kv_bool(msgpack_packer *pk, const char *key, bool val);

#endif /* SLED_CTL_H */
