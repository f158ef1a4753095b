/* SPDX-License-Identifier: MIT */
/*
 * ctl_request: enable and disable requests built from command-line words, shared by
 * probectl (its arguments) and probed (the "enable" lines of its config file), so both
 * accept exactly the same options with the same messages.
 *
 *   enable PATTERN [-p PID | -b PATH] [--mode sled|uprobe|auto] [--filter EXPR]
 *                  [--sample N] [--rate N[/s]] [--count-only] [--pending]
 *   disable ID | PATTERN [-p PID | -b PATH]
 */
#ifndef SLED_CTL_REQUEST_H
#define SLED_CTL_REQUEST_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

struct ctl_scope {
	const char *pattern; /* or the probe ID's text for disable */
	const char *binary;
	long pid;
	const char *mode;
	/* enable only: probe functions */
	const char *filter;
	long sample, rate;
	bool count_only;
	bool pending; /* no scope: the tracepoint is expected later, not known yet */
};

#define CTL_ENABLE_USAGE                                                              \
	"enable PATTERN [-p PID | -b PATH] [--mode sled|uprobe|auto] [--filter EXPR]\n" \
	"       [--sample N] [--rate N/s] [--count-only] [--pending]"
#define CTL_DISABLE_USAGE "disable ID | PATTERN [-p PID | -b PATH]"

/* Parse argv[0] = "enable" or "disable" and its words (getopt rules; argv is permuted).
 * 0, or -1 with a one-line reason in err. */
int ctl_parse_scope(int argc, char **argv, bool enable, struct ctl_scope *s, char *err,
		    size_t errlen);

/* The request map for cmd ("enable" or "disable" by pattern). */
void ctl_pack_scope(msgpack_packer *pk, const char *cmd, const struct ctl_scope *s);

#endif /* SLED_CTL_REQUEST_H */
