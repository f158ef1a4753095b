/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for ctl_socket_files.py: plays the attacker who wins the race between
 * probed's bind() of its socket and anything probed does to that path afterwards.
 * Right after a successful bind of a unix socket it replaces the socket file with a
 * symlink to $SLED_TEST_SWAP_TARGET.  A probed that chmods the path then changes the
 * target's mode; one that set the mode before bind does not touch it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int (*real)(int, const struct sockaddr *, socklen_t) =
		(int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	const char *target = getenv("SLED_TEST_SWAP_TARGET");
	int rc = real(fd, addr, len);

	if (rc == 0 && target && addr->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)addr;

		if (unlink(un->sun_path) == 0 && symlink(target, un->sun_path) != 0)
			abort();
	}
	return rc;
}
