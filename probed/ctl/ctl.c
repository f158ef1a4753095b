/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

const char *ctl_socket_path(const char *option)
{
	static char buf[108];
	const char *env = getenv("PROBED_SOCKET"), *xdg;

	if (option && *option)
		return option;
	if (env && *env)
		return env;
	if (geteuid() == 0)
		return "/run/probed.sock";
	xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/probed.sock", xdg);
	else
		snprintf(buf, sizeof(buf), "/tmp/probed-%u.sock", (unsigned)geteuid());
	return buf;
}

int ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		if (errno == ENOENT || errno == ECONNREFUSED)
			snprintf(err, errlen, "probed is not running (no daemon at %s)", path);
		else
			snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

int ctl_send(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_recv(int fd, msgpack_unpacker *up, msgpack_unpacked *out, int timeout_ms)
{
	for (;;) {
		msgpack_unpack_return r = msgpack_unpacker_next(up, out);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (r == MSGPACK_UNPACK_SUCCESS)
			return out->data.type == MSGPACK_OBJECT_MAP ? 1 : -EBADMSG;
		if (r != MSGPACK_UNPACK_CONTINUE)
			return -EBADMSG;
		if (poll(&pfd, 1, timeout_ms) == 0)
			return -ETIMEDOUT;
		if (!msgpack_unpacker_reserve_buffer(up, 4096))
			return -ENOMEM;
		n = recv(fd, msgpack_unpacker_buffer(up), msgpack_unpacker_buffer_capacity(up), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		msgpack_unpacker_buffer_consumed(up, (size_t)n);
	}
}

const msgpack_object *ctl_get(const msgpack_object *map, const char *key)
{
	size_t kl = strlen(key);

	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == kl &&
		    !memcmp(kv->key.via.str.ptr, key, kl))
			return &kv->val;
	}
	return NULL;
}

bool ctl_get_str(const msgpack_object *map, const char *key, char *buf, size_t len)
{
	const msgpack_object *v = ctl_get(map, key);

	if (!v || v->type != MSGPACK_OBJECT_STR || v->via.str.size >= len)
		return false;
	memcpy(buf, v->via.str.ptr, v->via.str.size);
	buf[v->via.str.size] = 0;
	return true;
}

bool ctl_get_i64(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *v = ctl_get(map, key);

	if (!v)
		return false;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
		*out = (int64_t)v->via.u64;
	else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = v->via.i64;
	else
		return false;
	return true;
}

bool ctl_get_bool(const msgpack_object *map, const char *key, bool *out)
{
	const msgpack_object *v = ctl_get(map, key);

	if (!v || v->type != MSGPACK_OBJECT_BOOLEAN)
		return false;
	*out = v->via.boolean;
	return true;
}

int ctl_field_str(const msgpack_object *map, const char *key, char *buf, size_t len,
		  char *err, size_t errlen)
{
	const msgpack_object *v = ctl_get(map, key);

	if (!v)
		return 0;
	if (v->type != MSGPACK_OBJECT_STR) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -1;
	}
	if (v->via.str.size >= len) {
		snprintf(err, errlen, "\"%s\" is too long (%u bytes, at most %zu)", key,
			 v->via.str.size, len - 1);
		return -1;
	}
	if (memchr(v->via.str.ptr, 0, v->via.str.size)) {
		snprintf(err, errlen, "\"%s\" contains a NUL byte", key);
		return -1;
	}
	memcpy(buf, v->via.str.ptr, v->via.str.size);
	buf[v->via.str.size] = 0;
	return 1;
}

int ctl_field_i64(const msgpack_object *map, const char *key, int64_t min, int64_t max,
		  int64_t *out, char *err, size_t errlen)
{
	const msgpack_object *v = ctl_get(map, key);
	int64_t x;

	if (!v)
		return 0;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
		x = (int64_t)v->via.u64;
	else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		x = v->via.i64;
	else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		x = INT64_MAX; /* reported as out of range below */
	else {
		snprintf(err, errlen, "\"%s\" must be an integer", key);
		return -1;
	}
	if (x < min || x > max || (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
				   v->via.u64 > INT64_MAX)) {
		snprintf(err, errlen, "\"%s\" must be between %lld and %lld", key, (long long)min,
			 (long long)max);
		return -1;
	}
	*out = x;
	return 1;
}

int ctl_field_bool(const msgpack_object *map, const char *key, bool *out, char *err,
		   size_t errlen)
{
	const msgpack_object *v = ctl_get(map, key);

	if (!v)
		return 0;
	if (v->type != MSGPACK_OBJECT_BOOLEAN) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return -1;
	}
	*out = v->via.boolean;
	return 1;
}

int ctl_check_keys(const msgpack_object *map, const char *const *allowed, char *err,
		   size_t errlen)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "a request must be a map");
		return -1;
	}
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		bool known = false;

		if (k->type != MSGPACK_OBJECT_STR) {
			snprintf(err, errlen, "request keys must be strings");
			return -1;
		}
		for (const char *const *a = allowed; *a && !known; a++)
			known = strlen(*a) == k->via.str.size && !memcmp(*a, k->via.str.ptr, k->via.str.size);
		if (!known) {
			snprintf(err, errlen, "unknown field \"%.*s\"",
				 (int)(k->via.str.size > 64 ? 64 : k->via.str.size), k->via.str.ptr);
			return -1;
		}
		for (uint32_t j = 0; j < i; j++) {
			const msgpack_object *o = &map->via.map.ptr[j].key;

			if (o->via.str.size == k->via.str.size &&
			    !memcmp(o->via.str.ptr, k->via.str.ptr, k->via.str.size)) {
				snprintf(err, errlen, "field \"%.*s\" given twice", (int)k->via.str.size,
					 k->via.str.ptr);
				return -1;
			}
		}
	}
	return 0;
}

void ctl_pack_str(msgpack_packer *pk, const char *s)
{
	size_t l = strlen(s);

	msgpack_pack_str(pk, l);
	msgpack_pack_str_body(pk, s, l);
}

void ctl_pack_request(msgpack_packer *pk, const char *cmd, uint32_t nkeys)
{
	msgpack_pack_map(pk, nkeys + 2);
	ctl_pack_kv_i64(pk, "version", CTL_PROTOCOL_VERSION);
	ctl_pack_kv_str(pk, "cmd", cmd);
}

void ctl_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
	ctl_pack_str(pk, key);
	ctl_pack_str(pk, val);
}

void ctl_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t val)
{
	ctl_pack_str(pk, key);
	msgpack_pack_int64(pk, val);
}

void ctl_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t val)
{
	ctl_pack_str(pk, key);
	msgpack_pack_uint64(pk, val);
}

void ctl_pack_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
	ctl_pack_str(pk, key);
	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}
