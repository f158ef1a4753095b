/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_client.h"

const char *socket_option;

static int call_once(struct ctl_call *call, const msgpack_sbuffer *req, bool quiet);

int ctl_call(struct ctl_call *call, msgpack_sbuffer *req, bool quiet)
{
	int ret = call_once(call, req, quiet);

	msgpack_sbuffer_destroy(req);
	return ret;
}

static int call_once(struct ctl_call *call, const msgpack_sbuffer *req, bool quiet)
{
	char err[512];
	bool ok = false;
	int64_t version;
	int r;

	memset(call, 0, sizeof(*call));
	call->fd = ctl_connect(ctl_socket_path(socket_option), err, sizeof(err));
	if (call->fd < 0) {
		if (!quiet)
			p_err("%s", err);
		return -1;
	}
	msgpack_unpacker_init(&call->up, 4096);
	msgpack_unpacked_init(&call->reply);
	r = ctl_send(call->fd, req->data, req->size);
	/* A connection probed refused (a limit) was answered before the request went: the
	 * reply, when there is one, says why. */
	if (r && ctl_recv(call->fd, &call->up, &call->reply, 1000) != 1) {
		p_err("cannot send to probed: %s", strerror(-r));
		ctl_call_end(call);
		return -1;
	}
	if (!r)
		r = ctl_recv(call->fd, &call->up, &call->reply, 30000);
	else
		r = 1;
	if (r != 1) {
		p_err("no reply from probed (%s)", r == 0 ? "connection closed" : strerror(-r));
		ctl_call_end(call);
		return -1;
	}
	/* Before "ok": a daemon of another protocol may mean something else by it. */
	if (!ctl_get_i64(&call->reply.data, "version", &version))
		version = 1; /* protocol 1 replies had no version */
	if (version != CTL_PROTOCOL_VERSION) {
		p_err("probed speaks control protocol %lld, this probectl speaks %d: use the "
		      "probectl of the same release as probed", (long long)version,
		      CTL_PROTOCOL_VERSION);
		ctl_call_end(call);
		return -1;
	}
	ctl_get_bool(&call->reply.data, "ok", &ok);
	if (!ok) {
		if (!ctl_get_str(&call->reply.data, "error", err, sizeof(err)))
			strcpy(err, "request failed");
		p_err("%s", err);
		ctl_call_end(call);
		return -1;
	}
	return 0;
}

void ctl_call_end(struct ctl_call *call)
{
	if (call->fd >= 0) {
		close(call->fd);
		msgpack_unpacked_destroy(&call->reply);
		msgpack_unpacker_destroy(&call->up);
	}
	call->fd = -1;
}
