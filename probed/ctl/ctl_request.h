/* SPDX-License-Identifier: MIT */
/*
 * ctl_request: enable and disable requests built from command-line words, shared by
 * probectl (its arguments) and probed (the "enable" lines of its config file), so both
 * accept exactly the same options with the same messages.
 *
 *   enable PATTERN [-p PID | -b PATH] [--mode sled|uprobe|auto] [--filter EXPR]
 *                  [--sample N] [--rate N[/s]] [--count-only] [--pending]
 *                  [-a|--aggregate EXPR]... [--max-keys N]
 *   disable ID | PATTERN [-p PID | -b PATH]
 */
#ifndef SLED_CTL_REQUEST_H
#define SLED_CTL_REQUEST_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#define CTL_AGGREGATES_MAX 4 /* --aggregate per probe (SLED_LANE_AGGS) */

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
	const char *aggregate[CTL_AGGREGATES_MAX]; /* --aggregate / -a, in order */
	unsigned naggregate;
	long max_keys;     /* --max-keys, 0: the daemon's default */
};

#define CTL_ENABLE_USAGE                                                              \
	"enable PATTERN [-p PID | -b PATH] [--mode sled|uprobe|auto] [--filter EXPR]\n" \
	"       [--sample N] [--rate N/s] [--count-only] [--pending]\n"                \
	"       [-a|--aggregate EXPR ...] [--max-keys N]"
#define CTL_DISABLE_USAGE "disable ID | PATTERN [-p PID | -b PATH]"

/* Parse argv[0] = "enable" or "disable" and its words (getopt rules; argv is permuted).
 * 0, or -1 with a one-line reason in err. */
int ctl_parse_scope(int argc, char **argv, bool enable, struct ctl_scope *s, char *err,
		    size_t errlen);

/* The request map for cmd ("enable" or "disable" by pattern). */
void ctl_pack_scope(msgpack_packer *pk, const char *cmd, const struct ctl_scope *s);

#endif /* SLED_CTL_REQUEST_H */
