/* SPDX-License-Identifier: MIT */
/*
 * probectl enable PATTERN [-p PID | -b PATH] [--mode sled|auto]
 * probectl disable ID | PATTERN [-p PID | -b PATH]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl_client.h"
#include "msgpack_json.h"

static int parse_pid(const char *s, long *pid)
{
	char *end;

	errno = 0;
	*pid = strtol(s, &end, 10);
	return (!*s || *end || errno || *pid <= 0 || *pid > 0x3fffffff) ? -1 : 0;
}

/* Options shared by enable and disable; returns the index of the first positional. */
struct scope {
	const char *binary;
	long pid;
	const char *mode;
	/* enable only: probe functions */
	const char *filter;
	long sample, rate;
	bool count_only;
};

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

static int parse_scope_opts(int argc, char **argv, struct scope *s, bool with_mode)
{
	static const struct option opts[] = {
		{ "binary", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "filter", required_argument, NULL, 'f' },
		{ "sample", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count-only", no_argument, NULL, 'c' },
		{ 0 },
	};
	char *end;
	int c;

	memset(s, 0, sizeof(*s));
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'b': s->binary = optarg; break;
		case 'p':
			if (parse_pid(optarg, &s->pid)) {
				p_err("bad PID '%s'", optarg);
				return -1;
			}
			break;
		case 'm':
			if (!with_mode)
				goto bad;
			s->mode = optarg;
			break;
		case 'f':
			if (!with_mode)
				goto bad;
			s->filter = optarg;
			break;
		case 's':
			errno = 0;
			s->sample = with_mode ? strtol(optarg, &end, 10) : -1;
			if (!with_mode || *end || errno || s->sample < 1 || s->sample > 0xffffffffL) {
				p_err("bad --sample '%s' (one event in N, N >= 1)", optarg);
				return -1;
			}
			break;
		case 'r':
			if (!with_mode || parse_rate(optarg, &s->rate)) {
				p_err("bad --rate '%s' (N/s, N >= 1)", optarg);
				return -1;
			}
			break;
		case 'c':
			if (!with_mode)
				goto bad;
			s->count_only = true;
			break;
		default:
			goto bad;
		}
	}
	if (s->binary && s->pid) {
		p_err("-b and -p are mutually exclusive");
		return -1;
	}
	return optind;
bad:
	fprintf(stderr, "Usage: probectl %s\n",
		with_mode ? "enable PATTERN [-p PID | -b PATH] [--mode sled|auto] [--filter EXPR]\n"
			    "       [--sample N] [--rate N/s] [--count-only]"
			  : "disable ID | PATTERN [-p PID | -b PATH]");
	return -1;
}

static void pack_scope(msgpack_packer *pk, const char *cmd, const char *pattern,
		       const struct scope *s)
{
	msgpack_pack_map(pk, 1 + (pattern != NULL) + (s->pid != 0) + (s->binary != NULL) +
			     (s->filter != NULL) + (s->sample != 0) + (s->rate != 0) + s->count_only +
			     (s->mode != NULL));
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
	ctl_pack_kv_str(pk, "cmd", cmd);
	if (pattern)
		ctl_pack_kv_str(pk, "pattern", pattern);
	if (s->pid)
		ctl_pack_kv_i64(pk, "pid", s->pid);
	if (s->binary)
		ctl_pack_kv_str(pk, "binary", s->binary);
}

static void print_json_reply(const msgpack_object *o)
{
	struct json_writer *w = jsonw_new(stdout);

	json_from_msgpack(w, o);
	jsonw_destroy(&w);
}

int do_enable(int argc, char **argv)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;
	struct scope s;
	int i = parse_scope_opts(argc, argv, &s, true);
	int64_t id = 0;

	if (i < 0)
		return EXIT_USAGE;
	if (i != argc - 1) {
		p_err(i >= argc ? "enable needs a PATTERN (provider:name, * wildcards)"
				: "unexpected argument '%s'", argv[i + 1 < argc ? i + 1 : i]);
		return EXIT_USAGE;
	}
	if (s.mode && strcmp(s.mode, "sled") && strcmp(s.mode, "auto") && strcmp(s.mode, "uprobe")) {
		p_err("unknown mode '%s' (sled, uprobe or auto)", s.mode);
		return EXIT_USAGE;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_scope(&pk, "enable", argv[i], &s);
	if (ctl_call(&call, &sb, false))
		return 1;
	if (json_output) {
		print_json_reply(&call.reply.data);
	} else {
		const msgpack_object *procs = ctl_get(&call.reply.data, "processes");
		int64_t sites = 0, on = 0;
		char err_mode[16];
		uint32_t n = procs && procs->type == MSGPACK_OBJECT_ARRAY ? procs->via.array.size : 0;

		ctl_get_i64(&call.reply.data, "id", &id);
		if (ctl_get_str(&call.reply.data, "mode", err_mode, sizeof(err_mode)) &&
		    !strcmp(err_mode, "uprobe")) {
			int64_t att = 0;

			ctl_get_i64(&call.reply.data, "attached", &att);
			printf("probe %lld: %s enabled in uprobe mode (%lld provider:name attach(es))\n",
			       (long long)id, argv[i], (long long)att);
			ctl_call_end(&call);
			return 0;
		}
		for (uint32_t k = 0; k < n; k++) {
			const msgpack_object *p = &procs->via.array.ptr[k];
			int64_t v, pid = 0, failed = 0;
			char err[256];

			if (ctl_get_i64(p, "sites", &v))
				sites += v;
			if (ctl_get_i64(p, "on", &v))
				on += v;
			ctl_get_i64(p, "pid", &pid);
			ctl_get_i64(p, "failed", &failed);
			if (failed && ctl_get_str(p, "error", err, sizeof(err)))
				p_warn("process %lld: %lld site(s) not patched: %s", (long long)pid,
				       (long long)failed, err);
			if (ctl_get_str(p, "busy_reason", err, sizeof(err)))
				p_warn("process %lld: %s", (long long)pid, err);
		}
		printf("probe %lld: %s enabled at %lld of %lld site(s) in %u process(es)%s\n",
		       (long long)id, argv[i], (long long)on, (long long)sites, n,
		       s.pid ? "" : "; applies to processes started later too");
	}
	ctl_call_end(&call);
	return 0;
}

int do_disable(int argc, char **argv)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;
	struct scope s;
	int i = parse_scope_opts(argc, argv, &s, false);
	char *end;
	long id;

	if (i < 0)
		return EXIT_USAGE;
	if (i != argc - 1) {
		p_err(i >= argc ? "disable needs a probe ID or a PATTERN" : "unexpected argument '%s'",
		      argv[i + 1 < argc ? i + 1 : i]);
		return EXIT_USAGE;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	id = strtol(argv[i], &end, 10);
	if (!*end && id > 0 && !s.pid && !s.binary) {
		msgpack_pack_map(&pk, 2);
		ctl_pack_kv_str(&pk, "cmd", "disable");
		ctl_pack_kv_i64(&pk, "id", id);
	} else {
		pack_scope(&pk, "disable", argv[i], &s);
	}
	if (ctl_call(&call, &sb, false))
		return 1;
	if (json_output) {
		print_json_reply(&call.reply.data);
	} else {
		const msgpack_object *fin = ctl_get(&call.reply.data, "final");

		/* One line per probe with its final figures. */
		for (uint32_t k = 0; fin && fin->type == MSGPACK_OBJECT_ARRAY && k < fin->via.array.size; k++) {
			const msgpack_object *p = &fin->via.array.ptr[k];
			int64_t v[6] = { 0 };
			static const char *const keys[] = { "id", "hits", "emitted", "exported", "dropped",
							    "filtered" };

			for (int j = 0; j < 6; j++)
				ctl_get_i64(p, keys[j], &v[j]);
			printf("disabled probe %lld: %lld hits, %lld emitted, %lld exported, %lld dropped\n",
			       (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3],
			       (long long)v[4]);
		}
	}
	ctl_call_end(&call);
	return 0;
}
