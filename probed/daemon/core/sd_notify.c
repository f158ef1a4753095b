/* SPDX-License-Identifier: MIT */
/*
 * The service-manager notification protocol (sd_notify(3)), the part probed uses: one
 * datagram to $NOTIFY_SOCKET.  Small enough to write here rather than depend on
 * libsystemd; the library-only and non-systemd builds stay free of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/core/sd_notify.h"

int sd_notify_send(const char *state, char *err, size_t errlen)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t alen;
	ssize_t n;
	int fd;

	if (!path || !*path)
		return 0; /* not started by a service manager that listens */
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(addr.sun_path) || len < 2) {
		snprintf(err, errlen, "NOTIFY_SOCKET '%s' is not a socket path or @abstract name",
			 path);
		return -1;
	}
	memcpy(addr.sun_path, path, len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0'; /* abstract namespace: the name is not NUL-terminated */
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "notify socket: %s", strerror(errno));
		return -1;
	}
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, alen);
	if (n < 0)
		snprintf(err, errlen, "notify %s: %s", path, strerror(errno));
	close(fd);
	return n < 0 ? -1 : 0;
}
