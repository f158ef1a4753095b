/* SPDX-License-Identifier: MIT */
/*
 * probectl status [--json]: per probe what was emitted at the sites, exported by the
 * daemon and dropped in full rings (emitted = exported + dropped once the rings are
 * drained); per traced process its mode and rings, and how often its agent restored
 * every sled (the daemon silent too long) and the daemon re-applied its probes; per
 * output what was written; for the daemon its control clients and what its limits refused.
 */
#include <stdio.h>
#include <string.h>

#include "cell.h"
#include "cli.h"
#include "ctl_client.h"
#include "msgpack_json.h"

static int64_t geti(const msgpack_object *m, const char *k)
{
	int64_t v = 0;

	ctl_get_i64(m, k, &v);
	return v;
}

static const msgpack_object *array_of(const msgpack_object *m, const char *k, uint32_t *n)
{
	const msgpack_object *a = ctl_get(m, k);

	*n = a && a->type == MSGPACK_OBJECT_ARRAY ? a->via.array.size : 0;
	return *n ? a->via.array.ptr : NULL;
}

/* "1,3" from a row's "probes" array, "-" when empty. */
static const char *id_list(const msgpack_object *row, char *buf, size_t len)
{
	uint32_t n;
	const msgpack_object *v = array_of(row, "probes", &n);
	size_t used = 0;

	snprintf(buf, len, "-");
	for (uint32_t i = 0; i < n && used < len; i++)
		if (v[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? "," : "",
						 (unsigned long long)v[i].via.u64);
	return buf;
}

/* One line per aggregation of each aggregating probe: its keys and what overflowed. */
static void print_aggregations(const msgpack_object *r)
{
	uint32_t n, na;
	const msgpack_object *v = array_of(r, "aggregations", &n);

	if (!n)
		return;
	printf("\nPROBE AGGREGATION                              KEYS   OVERFLOW    DROPPED\n");
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *a = array_of(&v[i], "aggregations", &na);

		for (uint32_t k = 0; k < na; k++) {
			char expr[300] = "";

			ctl_get_str(&a[k], "expr", expr, sizeof(expr));
			printf("%-5lld %-38s %6lld %10lld %10lld\n", (long long)geti(&v[i], "id"), expr,
			       (long long)geti(&a[k], "keys"), (long long)geti(&a[k], "overflow"),
			       (long long)geti(&a[k], "dropped"));
		}
	}
}

/* "DAEMON 3 client(s) ...", then the refusals that happened, by limit. */
static void print_daemon(const msgpack_object *r)
{
	const msgpack_object *dm = ctl_get(r, "daemon"), *ref = ctl_get(dm, "refused");

	if (!dm)
		return;
	printf("\nDAEMON   %lld client(s) (%lld tail, %lld paused); limits hit %lld; requests "
	       "refused %lld; tail events lost %lld\n", (long long)geti(dm, "clients"),
	       (long long)geti(dm, "tail_clients"), (long long)geti(dm, "paused_clients"),
	       (long long)geti(dm, "limits_hit"), (long long)geti(dm, "requests_refused"),
	       (long long)geti(dm, "tail_lost"));
	if (geti(dm, "reloads")) {
		char rerr[512] = "";

		ctl_get_str(dm, "reload_error", rerr, sizeof(rerr));
		printf("reload   %lld SIGHUP reload(s), %lld failed%s%s\n",
		       (long long)geti(dm, "reloads"), (long long)geti(dm, "reload_failures"),
		       rerr[0] ? "; the last: " : "", rerr);
	}
	if (!ref || ref->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t i = 0; i < ref->via.map.size; i++) {
		const msgpack_object_kv *kv = &ref->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    kv->val.via.u64)
			printf("refused  %.*s: %llu\n", (int)kv->key.via.str.size, kv->key.via.str.ptr,
			       (unsigned long long)kv->val.via.u64);
	}
}

static void print_human(const msgpack_object *r)
{
	char pattern[256], binary[4096], scope[4200], exe[256], spec[512], err[256], mode[16];
	char ids[64], c1[32], c2[32], c3[48];
	const msgpack_object *v;
	uint32_t n;

	v = array_of(r, "probes", &n);
	printf("%-5s %-28s %-24s %-6s %5s %6s %12s %12s %12s %10s %12s %9s\n", "PROBE", "PATTERN",
	       "SCOPE", "MODE", "PROCS", "SITES", "HITS", "EMITTED", "EXPORTED", "DROPPED",
	       "FILTERED+", "DROPS/S");
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *p = &v[i];

		ctl_get_str(p, "pattern", pattern, sizeof(pattern));
		binary[0] = 0;
		ctl_get_str(p, "binary", binary, sizeof(binary));
		if (geti(p, "pid"))
			snprintf(scope, sizeof(scope), "pid %lld", (long long)geti(p, "pid"));
		else if (binary[0])
			snprintf(scope, sizeof(scope), "%s", binary);
		else
			snprintf(scope, sizeof(scope), "all processes");
		mode[0] = 0;
		ctl_get_str(p, "mode", mode, sizeof(mode));
		/* MODE auto: sled mode for processes with libsled, uprobes for the others.
		 * FILTERED+: hits the probe functions held back (filter, sample, rate). */
		/* DROPS/S: over the last second the daemon looked (0 while nothing is lost). */
		printf("%-5lld %-28s %-24s %-6s %5lld %6lld %12lld %12lld %12lld %10lld %12lld %9lld\n",
		       (long long)geti(p, "id"), cell_fit(c1, sizeof(c1), pattern, 28, CELL_HEAD),
		       cell_fit(c2, sizeof(c2), scope, 24, CELL_TAIL), mode,
		       (long long)geti(p, "processes"),
		       (long long)geti(p, "sites"), (long long)geti(p, "hits"),
		       (long long)geti(p, "emitted"), (long long)geti(p, "exported"),
		       (long long)geti(p, "dropped"),
		       (long long)(geti(p, "filtered") + geti(p, "sampled_out") + geti(p, "rate_limited")),
		       (long long)geti(p, "drops_per_sec"));
	}
	v = array_of(r, "processes", &n);
	printf("\n%-8s %-6s %8s %6s %10s %10s %10s %8s %9s %-12s %s\n", "PID", "MODE", "SITES_ON",
	       "RINGS", "LOST", "RESTORES", "REAPPLIES", "RING", "FILL_MAX", "PROBES", "EXE");
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *p = &v[i];
		char rings[24] = "-", lost[24] = "-", restores[24] = "-", reapplies[24] = "-";
		char ring[24] = "-", fill[24] = "-";

		strcpy(mode, "sled");
		ctl_get_str(p, "exe", exe, sizeof(exe));
		ctl_get_str(p, "mode", mode, sizeof(mode));
		/* Rings, lost events and restores are sled mode's; uprobe rows show "-". */
		if (strcmp(mode, "uprobe")) {
			snprintf(rings, sizeof(rings), "%lld", (long long)geti(p, "rings"));
			/* Ring size in KiB; FILL_MAX: the fullest a ring was seen, in percent. */
			snprintf(ring, sizeof(ring), "%lldK", (long long)geti(p, "ring_size") / 1024);
			if (geti(p, "ring_size") > 0)
				snprintf(fill, sizeof(fill), "%lld%%",
					 (long long)(geti(p, "fill_high_water") * 100 / geti(p, "ring_size")));
			snprintf(lost, sizeof(lost), "%lld", (long long)geti(p, "lost"));
			snprintf(restores, sizeof(restores), "%lld", (long long)geti(p, "restores"));
			snprintf(reapplies, sizeof(reapplies), "%lld", (long long)geti(p, "reapplies"));
		}
		printf("%-8lld %-6s %8lld %6s %10s %10s %10s %8s %9s %-12s %s\n",
		       (long long)geti(p, "pid"), mode, (long long)geti(p, "sites_on"), rings, lost,
		       restores, reapplies, ring, fill,
		       cell_fit(c1, sizeof(c1), id_list(p, ids, sizeof(ids)), 12, CELL_HEAD), exe);
	}
	v = array_of(r, "outputs", &n);
	if (n)
		printf("\n%-40s %-10s %12s %12s %10s %10s  %s\n", "OUTPUT", "STATE", "SENT", "ACKED",
		       "QUEUED", "DROPPED", "LAST ERROR");
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *p = &v[i];
		char state[16] = "";

		spec[0] = err[0] = 0;
		ctl_get_str(p, "spec", spec, sizeof(spec));
		ctl_get_str(p, "state", state, sizeof(state));
		ctl_get_str(p, "error", err, sizeof(err));
		printf("%-40s %-10s %12lld %12lld %10lld %10lld  %s\n",
		       cell_fit(c3, sizeof(c3), spec, 40, CELL_HEAD), state,
		       (long long)geti(p, "sent"), (long long)geti(p, "acked"),
		       (long long)geti(p, "queued"), (long long)geti(p, "dropped"),
		       err[0] ? err : "-");
	}
	print_aggregations(r);
	print_daemon(r);
}

int do_status(int argc, char **argv)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;

	if (argc > 1) {
		p_err("unexpected argument '%s'", argv[1]);
		return EXIT_USAGE;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_request(&pk, "status", 0);
	if (ctl_call(&call, &sb, false))
		return 1;
	if (json_output) {
		struct json_writer *w = jsonw_new(stdout);

		json_from_msgpack(w, &call.reply.data);
		jsonw_destroy(&w);
	} else {
		print_human(&call.reply.data);
	}
	ctl_call_end(&call);
	return 0;
}
