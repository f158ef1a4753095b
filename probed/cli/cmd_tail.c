/* SPDX-License-Identifier: MIT */
/*
 * probectl tail [PATTERN] [--json]: live events as the daemon drains them, one per line,
 * human-readable by default, JSON lines with --json.  Runs until interrupted.  Events
 * lost in full rings arrive as sled:lost records (probed's loss.c): with --json they are
 * records like the others, for people a line on stderr that says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_client.h"
#include "pattern.h"

/* Human lines go to stdout, but a loss record to stderr where it is not piped away. */
struct tail_lines {
	char line[65536];
	size_t len;
};

static int put_line(const char *line, size_t len)
{
	if (memmem(line, len, " sled:lost probe=", 17)) {
		fprintf(stderr, "probectl: events are being lost (rings full): %.*s", (int)len, line);
		return 0;
	}
	return fwrite(line, 1, len, stdout) == len ? 0 : -1;
}

static int put_human(struct tail_lines *t, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t->len < sizeof(t->line))
			t->line[t->len++] = buf[i];
		if (buf[i] != '\n' && t->len < sizeof(t->line))
			continue;
		if (put_line(t->line, t->len))
			return -1;
		t->len = 0;
	}
	return 0;
}

int do_tail(int argc, char **argv)
{
	const char *pattern = argc > 1 ? argv[1] : NULL;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;
	char err[256], buf[65536];
	static struct tail_lines lines;
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
	if (pending && json_output)
		fwrite(msgpack_unpacker_buffer(&call.up) - pending, 1, pending, stdout);
	else if (pending)
		put_human(&lines, msgpack_unpacker_buffer(&call.up) - pending, pending);
	for (;;) {
		ssize_t n = read(call.fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* stdout closed (probectl tail | head): done. */
		if (json_output ? fwrite(buf, 1, (size_t)n, stdout) != (size_t)n
				: put_human(&lines, buf, (size_t)n) != 0)
			break;
		fflush(stdout);
	}
	ctl_call_end(&call);
	return 0;
}
