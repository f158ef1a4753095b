/* SPDX-License-Identifier: MIT */
/*
 * probectl show ID [--json] [--clear] [--interval SECONDS]: a probe's aggregations, merged
 * by the daemon.  For people, as bpftrace prints its maps: one line per key, sorted by
 * value, and histograms with their bucket ranges, counts and @ bars.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_client.h"
#include "msgpack_json.h"

#define BAR_WIDTH 52

static bool num_of(const msgpack_object *o, int64_t *s, uint64_t *u, bool *is_neg)
{
	if (!o)
		return false;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*u = o->via.u64;
		*is_neg = false;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*s = o->via.i64;
		*is_neg = true;
		return true;
	}
	return false;
}

static void print_num(const msgpack_object *o)
{
	int64_t s = 0;
	uint64_t u = 0;
	bool neg;

	if (!num_of(o, &s, &u, &neg))
		printf("?");
	else if (neg)
		printf("%" PRId64, s);
	else
		printf("%" PRIu64, u);
}

/* "@[a, 3]" from a row's key map; "@" without keys. */
static void print_key(const msgpack_object *row)
{
	const msgpack_object *key = ctl_get(row, "key");
	uint32_t n = key && key->type == MSGPACK_OBJECT_MAP ? key->via.map.size : 0;

	printf("@");
	if (!n)
		return;
	printf("[");
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *v = &key->via.map.ptr[i].val;

		if (i)
			printf(", ");
		if (v->type == MSGPACK_OBJECT_STR)
			printf("%.*s", (int)v->via.str.size, v->via.str.ptr);
		else if (v->type == MSGPACK_OBJECT_BOOLEAN)
			printf("%s", v->via.boolean ? "true" : "false");
		else
			print_num(v);
	}
	printf("]");
}

/* A power of two as bpftrace writes it: 1K, 4M, ... */
static void pow2_label(char *buf, size_t len, uint64_t v)
{
	static const char sfx[] = "KMGTPE";
	unsigned k = 0;

	while (v >= 1024 && v % 1024 == 0 && k < sizeof(sfx) - 1) {
		v /= 1024;
		k++;
	}
	if (k)
		snprintf(buf, len, "%" PRIu64 "%c", v, sfx[k - 1]);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static void bucket_label(char *buf, size_t len, const msgpack_object *b, bool hist)
{
	int64_t ls = 0, hs = 0;
	uint64_t lu = 0, hu = 0;
	bool lneg = false, hneg = false;
	char a[32], z[32];

	num_of(ctl_get(b, "low"), &ls, &lu, &lneg);
	num_of(ctl_get(b, "high"), &hs, &hu, &hneg);
	if (lneg && ls == INT64_MIN) {
		if (hneg)
			snprintf(buf, len, "(..., %" PRId64 ")", hs);
		else
			snprintf(buf, len, "(..., %" PRIu64 ")", hu);
		return;
	}
	if (!hneg && hu == UINT64_MAX && !hist) {
		snprintf(buf, len, "[%" PRIu64 ", ...)", lu);
		return;
	}
	if (!hneg && (uint64_t)hu == (uint64_t)INT64_MAX && !hist) {
		if (lneg)
			snprintf(buf, len, "[%" PRId64 ", ...)", ls);
		else
			snprintf(buf, len, "[%" PRIu64 ", ...)", lu);
		return;
	}
	if (hist) {
		if (!lneg && hu == lu + 1) {
			snprintf(buf, len, "[%" PRIu64 "]", lu);
			return;
		}
		pow2_label(a, sizeof(a), lu);
		pow2_label(z, sizeof(z), hu);
		snprintf(buf, len, "[%s, %s)", a, z);
		return;
	}
	if (lneg)
		snprintf(a, sizeof(a), "%" PRId64, ls);
	else
		snprintf(a, sizeof(a), "%" PRIu64, lu);
	if (hneg)
		snprintf(z, sizeof(z), "%" PRId64, hs);
	else
		snprintf(z, sizeof(z), "%" PRIu64, hu);
	snprintf(buf, len, "[%s, %s)", a, z);
}

static void print_hist(const msgpack_object *row, bool hist)
{
	const msgpack_object *bk = ctl_get(row, "buckets");
	uint32_t n = bk && bk->type == MSGPACK_OBJECT_ARRAY ? bk->via.array.size : 0;
	int64_t max = 1;

	print_key(row);
	printf(":\n");
	for (uint32_t i = 0; i < n; i++) {
		int64_t c = 0;

		ctl_get_i64(&bk->via.array.ptr[i], "count", &c);
		if (c > max)
			max = c;
	}
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *b = &bk->via.array.ptr[i];
		char label[80], bar[BAR_WIDTH + 1];
		int64_t c = 0;
		int w;

		ctl_get_i64(b, "count", &c);
		bucket_label(label, sizeof(label), b, hist);
		w = (int)(c * BAR_WIDTH / max);
		memset(bar, '@', (size_t)w);
		bar[w] = 0;
		printf("%-20s %8" PRId64 " |%-*s|\n", label, c, BAR_WIDTH, bar);
	}
	printf("\n");
}

static void print_aggregation(int64_t id, const msgpack_object *agg)
{
	const msgpack_object *rows = ctl_get(agg, "rows");
	uint32_t n = rows && rows->type == MSGPACK_OBJECT_ARRAY ? rows->via.array.size : 0;
	char expr[300] = "";
	int64_t overflow = 0, dropped = 0;

	ctl_get_str(agg, "expr", expr, sizeof(expr));
	ctl_get_i64(agg, "overflow", &overflow);
	ctl_get_i64(agg, "dropped", &dropped);
	printf("probe %" PRId64 ": %s\n", id, expr);
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *row = &rows->via.array.ptr[i];

		if (ctl_get(row, "buckets")) {
			print_hist(row, !strncmp(expr, "hist(", 5));
		} else if (ctl_get(row, "value")) {
			print_key(row);
			printf(": ");
			print_num(ctl_get(row, "value"));
			printf("\n");
		} else {
			const msgpack_object *cnt = ctl_get(row, "count"), *sum = ctl_get(row, "sum");
			int64_t c = 0, s = 0;

			print_key(row);
			printf(": count ");
			print_num(cnt);
			printf(", sum ");
			print_num(sum);
			printf(", min ");
			print_num(ctl_get(row, "min"));
			printf(", max ");
			print_num(ctl_get(row, "max"));
			ctl_get_i64(row, "count", &c);
			ctl_get_i64(row, "sum", &s);
			printf(", avg %" PRId64 "\n", c ? s / c : 0);
		}
	}
	if (overflow)
		printf("overflow: %" PRId64 " hit(s) of keys past --max-keys or a full table\n", overflow);
	if (dropped)
		printf("dropped: %" PRId64 " hit(s) nested in another event, or with unreadable keys\n",
		       dropped);
	printf("\n");
}

/* {"id": N, "aggregations": [...]}: the reply without "ok" and "version". */
static void print_json(const msgpack_object *reply)
{
	struct json_writer *w = jsonw_new(stdout);

	jsonw_start_object(w);
	for (uint32_t i = 0; i < reply->via.map.size; i++) {
		const msgpack_object_kv *kv = &reply->via.map.ptr[i];
		char name[64];

		if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size >= sizeof(name))
			continue;
		memcpy(name, kv->key.via.str.ptr, kv->key.via.str.size);
		name[kv->key.via.str.size] = 0;
		if (!strcmp(name, "ok") || !strcmp(name, "version"))
			continue;
		jsonw_name(w, name);
		json_from_msgpack(w, &kv->val);
	}
	jsonw_end_object(w);
	jsonw_destroy(&w);
	fflush(stdout);
}

static int show_once(long id, bool clear)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_request(&pk, "show", 1 + clear);
	ctl_pack_kv_i64(&pk, "id", id);
	if (clear)
		ctl_pack_kv_bool(&pk, "clear", true);
	if (ctl_call(&call, &sb, false))
		return 1;
	if (json_output) {
		print_json(&call.reply.data);
	} else {
		const msgpack_object *aggs = ctl_get(&call.reply.data, "aggregations");

		for (uint32_t i = 0; aggs && aggs->type == MSGPACK_OBJECT_ARRAY && i < aggs->via.array.size; i++)
			print_aggregation(id, &aggs->via.array.ptr[i]);
		fflush(stdout);
	}
	ctl_call_end(&call);
	return 0;
}

int do_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "clear", no_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ 0 },
	};
	long id, interval = 0;
	bool clear = false;
	char *end;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'c': clear = true; break;
		case 'i':
			errno = 0;
			interval = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || interval < 1 || interval > 86400) {
				p_err("bad --interval '%s' (seconds, 1 to 86400)", optarg);
				return EXIT_USAGE;
			}
			break;
		case ':':
			p_err("show: option '%s' needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			p_err("show: unknown option '%s'", argv[optind - 1]);
			fprintf(stderr, "Usage: probectl show ID [--json] [--clear] [--interval SECONDS]\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		p_err("show needs a probe ID");
		return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		p_err("unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	errno = 0;
	id = strtol(argv[optind], &end, 10);
	if (!*argv[optind] || *end || errno || id < 1 || id > 0xffffffffL) {
		p_err("bad probe ID '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!interval)
		return show_once(id, clear);
	/* Every N seconds until interrupted (or until the probe is gone). */
	for (;;) {
		struct timespec ts = { interval, 0 };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		if (show_once(id, clear))
			return 1;
	}
}
