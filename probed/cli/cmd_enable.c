/* SPDX-License-Identifier: MIT */
/*
 * probectl enable / disable: the requests come from ctl_request.c (shared with probed's
 * config file); this file prints the replies.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl_client.h"
#include "ctl_request.h"
#include "msgpack_json.h"

/* Parse argv (argv[0] is the command) or print the error and the usage. */
static int parse_scope(int argc, char **argv, bool enable, struct ctl_scope *s)
{
	char err[512];

	if (ctl_parse_scope(argc, argv, enable, s, err, sizeof(err)) == 0)
		return 0;
	p_err("%s", err);
	fprintf(stderr, "Usage: probectl %s\n", enable ? CTL_ENABLE_USAGE : CTL_DISABLE_USAGE);
	return -1;
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
	struct ctl_scope s;
	int64_t id = 0;

	if (parse_scope(argc, argv, true, &s))
		return EXIT_USAGE;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_scope(&pk, "enable", &s);
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
			       (long long)id, s.pattern, (long long)att);
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
		       (long long)id, s.pattern, (long long)on, (long long)sites, n,
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
	struct ctl_scope s;
	char *end;
	long id;

	if (parse_scope(argc, argv, false, &s))
		return EXIT_USAGE;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	id = strtol(s.pattern, &end, 10);
	if (!*end && id > 0 && !s.pid && !s.binary) {
		msgpack_pack_map(&pk, 2);
		ctl_pack_kv_str(&pk, "cmd", "disable");
		ctl_pack_kv_i64(&pk, "id", id);
	} else {
		ctl_pack_scope(&pk, "disable", &s);
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
