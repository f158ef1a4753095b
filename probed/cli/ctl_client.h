/* SPDX-License-Identifier: MIT */
/* probectl's side of the control protocol: one request, one reply. */
#ifndef SLED_CTL_CLIENT_H
#define SLED_CTL_CLIENT_H

#include <stdbool.h>

#include "ctl.h"

/* Set by -S/--socket anywhere on the command line. */
extern const char *socket_option;

struct ctl_call {
	int fd;
	msgpack_unpacker up;
	msgpack_unpacked reply;
};

/* Connect and send the packed request (req is destroyed, whatever happens); then wait
 * for the reply map.  Returns 0 with
 * call->reply holding an "ok": true map; otherwise prints "Error: ..." (the daemon's
 * message or why it could not be reached) and returns -1.  quiet suppresses the message
 * for "daemon not running" (list works without a daemon). */
int ctl_call(struct ctl_call *call, msgpack_sbuffer *req, bool quiet);
void ctl_call_end(struct ctl_call *call);

#endif /* SLED_CTL_CLIENT_H */
