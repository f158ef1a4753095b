/* SPDX-License-Identifier: MIT */
/*
 * probectl tail [PATTERN] [--json]: live events as the daemon drains them, one per line,
 * human-readable by default, JSON lines with --json.  Runs until interrupted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_client.h"
#include "pattern.h"

int do_tail(int argc, char **argv)
{
	const char *pattern = argc > 1 ? argv[1] : NULL;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;
	char err[256], buf[65536];
	size_t pending;

	if (argc > 2) {
		p_err("unexpected argument '%s'", argv[2]);
		return EXIT_USAGE;
	}
	if (sled_pattern_check(pattern, err, sizeof(err))) {
		p_err("%s", err);
		return EXIT_USAGE;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_request(&pk, "tail", pattern ? 2 : 1);
	ctl_pack_kv_str(&pk, "format", json_output ? "json" : "human");
	if (pattern)
		ctl_pack_kv_str(&pk, "pattern", pattern);
	if (ctl_call(&call, &sb, false))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Bytes that arrived with the reply are already in the unpacker's buffer. */
	pending = call.up.used - call.up.off;
	if (pending)
		fwrite(msgpack_unpacker_buffer(&call.up) - pending, 1, pending, stdout);
	for (;;) {
		ssize_t n = read(call.fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break; /* stdout closed (probectl tail | head) */
		fflush(stdout);
	}
	ctl_call_end(&call);
	return 0;
}
