/* SPDX-License-Identifier: MIT */
/*
 * sd_notify: tell the service manager that probed is ready (systemd's Type=notify),
 * without linking libsystemd.  The protocol is one datagram of "KEY=VALUE" lines to the
 * unix socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 */
#ifndef SLED_SD_NOTIFY_H
#define SLED_SD_NOTIFY_H

#include <stddef.h>

/* Send state (e.g. "READY=1") when $NOTIFY_SOCKET is set.  0 when sent or when there is
 * no service manager to tell; -1 with a one-line reason in err otherwise. */
int sd_notify_send(const char *state, char *err, size_t errlen);

#endif /* SLED_SD_NOTIFY_H */
