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
	if (!json_output)
		fprintf(stderr, "Usage: probectl %s\n", enable ? CTL_ENABLE_USAGE : CTL_DISABLE_USAGE);
	return -1;
}

static void print_json_reply(const msgpack_object *o)
{
	struct json_writer *w = jsonw_new(stdout);

	json_from_msgpack(w, o);
	jsonw_destroy(&w);
}

/* The reply to enable, for people: one line, warnings before it.  A no-scope probe in
 * auto mode has two parts: sled mode's processes and uprobe mode's ("mode" per row). */
static void print_enable(const msgpack_object *reply, const struct ctl_scope *s)
{
	const msgpack_object *procs = ctl_get(reply, "processes");
	uint32_t n = procs && procs->type == MSGPACK_OBJECT_ARRAY ? procs->via.array.size : 0;
	int64_t id = 0, sites = 0, on = 0, att = 0, failed = 0, fds = 0;
	unsigned nsled = 0, nup = 0;
	char mode[16] = "sled", err[512];
	bool everywhere = !s->pid && !s->binary;
	const char *later = s->pid ? "" : "; applies to processes started later too";

	ctl_get_i64(reply, "id", &id);
	ctl_get_str(reply, "mode", mode, sizeof(mode));
	ctl_get_i64(reply, "attached", &att);
	ctl_get_i64(reply, "failed", &failed);
	ctl_get_i64(reply, "fds", &fds);
	for (uint32_t k = 0; k < n; k++) {
		const msgpack_object *p = &procs->via.array.ptr[k];
		int64_t v, pid = 0, pfailed = 0;
		char pmode[16] = "sled";

		ctl_get_i64(p, "pid", &pid);
		ctl_get_i64(p, "failed", &pfailed);
		ctl_get_str(p, "mode", pmode, sizeof(pmode));
		if (!strcmp(pmode, "uprobe")) {
			nup++;
			if (pfailed && ctl_get_str(p, "error", err, sizeof(err)))
				p_warn("process %lld: %lld uprobe attach(es) failed: %s", (long long)pid,
				       (long long)pfailed, err);
			continue;
		}
		nsled++;
		if (ctl_get_i64(p, "sites", &v))
			sites += v;
		if (ctl_get_i64(p, "on", &v))
			on += v;
		if (pfailed && ctl_get_str(p, "error", err, sizeof(err)))
			p_warn("process %lld: %lld site(s) not patched: %s", (long long)pid,
			       (long long)pfailed, err);
		if (ctl_get_str(p, "busy_reason", err, sizeof(err)))
			p_warn("process %lld: %s", (long long)pid, err);
	}
	if (ctl_get_str(reply, "error", err, sizeof(err))) {
		if (failed)
			p_warn("%lld uprobe attach(es) failed: %s", (long long)failed, err);
		else
			p_warn("no uprobes for processes without libsled: %s", err);
	}
	if (!strcmp(mode, "uprobe") && everywhere)
		printf("probe %lld: %s enabled in uprobe mode in %u process(es) (%lld attach(es), "
		       "%lld fds)%s\n", (long long)id, s->pattern, nup, (long long)att,
		       (long long)fds, later);
	else if (!strcmp(mode, "uprobe"))
		printf("probe %lld: %s enabled in uprobe mode (%lld provider:name attach(es))\n",
		       (long long)id, s->pattern, (long long)att);
	else if (!strcmp(mode, "auto"))
		printf("probe %lld: %s enabled at %lld of %lld site(s) in %u process(es) in sled "
		       "mode, and in %u process(es) in uprobe mode (%lld attach(es), %lld fds)%s\n",
		       (long long)id, s->pattern, (long long)on, (long long)sites, nsled, nup,
		       (long long)att, (long long)fds, later);
	else
		printf("probe %lld: %s enabled at %lld of %lld site(s) in %u process(es)%s\n",
		       (long long)id, s->pattern, (long long)on, (long long)sites, nsled, later);
}

int do_enable(int argc, char **argv)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;
	struct ctl_scope s;

	if (parse_scope(argc, argv, true, &s))
		return EXIT_USAGE;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_scope(&pk, "enable", &s);
	if (ctl_call(&call, &sb, false))
		return 1;
	if (json_output)
		print_json_reply(&call.reply.data);
	else
		print_enable(&call.reply.data, &s);
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
		ctl_pack_request(&pk, "disable", 1);
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
