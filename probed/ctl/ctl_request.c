// SPDX-License-Identifier: MIT
/*
 * ctl_request: enable/disable options to request maps (see ctl_request.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_request.h"
#include "common/seterr.h"

static int parse_pid(const char *s, long *pid)
{
	char *end;

	errno = 0;
	*pid = strtol(s, &end, 10);
	return (!*s || *end || errno || *pid <= 0 || *pid > 0x3fffffff) ? -1 : 0;
}

/* "100", "100/s": events per second. */
static int parse_rate(const char *s, long *rate)
{
	char *end;

	errno = 0;
	*rate = strtol(s, &end, 10);
	if (end == s || errno || *rate <= 0 || *rate > 0xffffffffL)
		return -1;
	return (!*end || !strcmp(end, "/s")) ? 0 : -1;
}

int ctl_parse_scope(int argc, char **argv, bool enable, struct ctl_scope *s, char *err,
		    size_t errlen)
{
	static const struct option opts[] = {
		{ "binary", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "filter", required_argument, NULL, 'f' },
		{ "sample", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count-only", no_argument, NULL, 'c' },
		{ "pending", no_argument, NULL, 'P' },
		{ "aggregate", required_argument, NULL, 'a' },
		{ "max-keys", required_argument, NULL, 'k' },
		{ 0 },
	};
	const char *cmd = enable ? "enable" : "disable";
	char *end;
	int c;

	memset(s, 0, sizeof(*s));
	/* 0, not 1: glibc then forgets where it was inside a previous argv's option group
	 * (it would read freed memory when a config file parses one enable line after
	 * another); the scan still starts at argv[1]. */
	optind = 0;
	opterr = 0; /* our own messages, one line, to err */
	while ((c = getopt_long(argc, argv, enable ? ":b:p:a:" : ":b:p:", opts, NULL)) != -1) {
		if (!enable && c != 'b' && c != 'p' && c != ':')
			c = '?';
		switch (c) {
		case 'b': s->binary = optarg; break;
		case 'p':
			if (parse_pid(optarg, &s->pid)) {
				sled_seterr(err, errlen, "bad PID '%s'", optarg);
				return -1;
			}
			break;
		case 'm':
			if (strcmp(optarg, "sled") && strcmp(optarg, "auto") && strcmp(optarg, "uprobe")) {
				sled_seterr(err, errlen, "unknown mode '%s' (sled, uprobe or auto)", optarg);
				return -1;
			}
			s->mode = optarg;
			break;
		case 'f': s->filter = optarg; break;
		case 's':
			errno = 0;
			s->sample = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || s->sample < 1 || s->sample > 0xffffffffL) {
				sled_seterr(err, errlen, "bad --sample '%s' (one event in N, N >= 1)", optarg);
				return -1;
			}
			break;
		case 'r':
			if (parse_rate(optarg, &s->rate)) {
				sled_seterr(err, errlen, "bad --rate '%s' (N/s, N >= 1)", optarg);
				return -1;
			}
			break;
		case 'c': s->count_only = true; break;
		case 'P': s->pending = true; break;
		case 'a':
			if (s->naggregate == CTL_AGGREGATES_MAX) {
				sled_seterr(err, errlen, "at most %d --aggregate per probe", CTL_AGGREGATES_MAX);
				return -1;
			}
			if (strlen(optarg) >= CTL_FILTER_MAX) {
				sled_seterr(err, errlen, "--aggregate: expression too long (at most %d bytes)",
					CTL_FILTER_MAX - 1);
				return -1;
			}
			s->aggregate[s->naggregate++] = optarg;
			break;
		case 'k':
			errno = 0;
			s->max_keys = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || s->max_keys < 1 || s->max_keys > 10000000L) {
				sled_seterr(err, errlen, "bad --max-keys '%s' (1 to 10000000)", optarg);
				return -1;
			}
			break;
		case ':':
			sled_seterr(err, errlen, "%s: option '%s' needs a value", cmd, argv[optind - 1]);
			return -1;
		default:
			sled_seterr(err, errlen, "%s: unknown option '%s'", cmd, argv[optind - 1]);
			return -1;
		}
	}
	if (s->binary && s->pid) {
		sled_seterr(err, errlen, "-b and -p are mutually exclusive");
		return -1;
	}
	if (optind != argc - 1) {
		if (optind >= argc)
			sled_seterr(err, errlen, enable ? "enable needs a PATTERN (provider:name, * wildcards)"
						    : "disable needs a probe ID or a PATTERN");
		else
			sled_seterr(err, errlen, "unexpected argument '%s'", argv[optind + 1]);
		return -1;
	}
	s->pattern = argv[optind];
	/* Checked here too, so that probectl says what is wrong before it connects. */
	if (strlen(s->pattern) >= CTL_PATTERN_MAX) {
		sled_seterr(err, errlen, "pattern too long (%zu bytes, at most %d)", strlen(s->pattern),
			CTL_PATTERN_MAX - 1);
		return -1;
	}
	if (s->binary && !*s->binary) {
		sled_seterr(err, errlen, "-b: empty path");
		return -1;
	}
	if (s->binary && strlen(s->binary) >= CTL_PATH_MAX) {
		sled_seterr(err, errlen, "-b: path too long (at most %d bytes)", CTL_PATH_MAX - 1);
		return -1;
	}
	if (s->filter && strlen(s->filter) >= CTL_FILTER_MAX) {
		sled_seterr(err, errlen, "--filter: expression too long (at most %d bytes)",
			CTL_FILTER_MAX - 1);
		return -1;
	}
	return 0;
}

void ctl_pack_scope(msgpack_packer *pk, const char *cmd, const struct ctl_scope *s)
{
	ctl_pack_request(pk, cmd, 1 + (s->pid != 0) + (s->binary != NULL) + (s->filter != NULL) +
				  (s->sample != 0) + (s->rate != 0) + s->count_only + s->pending +
				  (s->mode != NULL) + (s->naggregate != 0) + (s->max_keys != 0));
	if (s->naggregate) {
		ctl_pack_str(pk, "aggregate");
		msgpack_pack_array(pk, s->naggregate);
		for (unsigned i = 0; i < s->naggregate; i++)
			ctl_pack_str(pk, s->aggregate[i]);
	}
	if (s->max_keys)
		ctl_pack_kv_i64(pk, "max_keys", s->max_keys);
	if (s->mode)
		ctl_pack_kv_str(pk, "mode", s->mode);
	if (s->filter)
		ctl_pack_kv_str(pk, "filter", s->filter);
	if (s->sample)
		ctl_pack_kv_i64(pk, "sample", s->sample);
	if (s->rate)
		ctl_pack_kv_i64(pk, "rate", s->rate);
	if (s->count_only)
		ctl_pack_kv_bool(pk, "count_only", true);
	if (s->pending)
		ctl_pack_kv_bool(pk, "pending", true);
	ctl_pack_kv_str(pk, "pattern", s->pattern);
	if (s->pid)
		ctl_pack_kv_i64(pk, "pid", s->pid);
	if (s->binary)
		ctl_pack_kv_str(pk, "binary", s->binary);
}
