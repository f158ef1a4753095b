/* SPDX-License-Identifier: MIT */
/*
 * probectl top [--interval SECONDS] [--once] [--json]: per probe, and under it per
 * tracepoint it covers, hits, emitted, dropped and held back (filter, sample, rate) per
 * second, and their totals, from two status replies SECONDS apart (default 1; fractions
 * allowed).  Refreshes in place like top(1) until interrupted; --once prints one screen
 * (two samples) and exits.  A tracepoint row counts the processes that run now; the
 * probe's row also keeps what exited processes counted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ctl_client.h"
#include "json_writer.h"

#define CLEAR_HOME "\033[H\033[2J"

/* The figures top shows, by column. */
enum { F_HITS, F_EMITTED, F_DROPPED, F_HELD, NFIGS };
static const char *const fig_names[NFIGS] = { "hits", "emitted", "dropped", "filtered" };

struct top_row {
	uint64_t id;
	char tracepoint[256];
	uint64_t total[NFIGS];
	double rate[NFIGS];
	bool has_rate; /* false: the probe was not in the previous sample */
	struct top_row *tps; /* a probe's rows per tracepoint (status's "tracepoints") */
	unsigned ntps;
};

struct top_sample {
	double t;           /* CLOCK_MONOTONIC seconds when the reply came */
	struct top_row *rows;
	unsigned n;
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t getu(const msgpack_object *m, const char *k)
{
	int64_t v = 0;

	ctl_get_i64(m, k, &v);
	return v > 0 ? (uint64_t)v : 0;
}

static void free_rows(struct top_sample *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->rows[i].tps);
	free(s->rows);
	s->rows = NULL;
	s->n = 0;
}

/* The figures of one status row (a probe's or one of its tracepoints'). */
static void take_figures(struct top_row *r, const msgpack_object *m)
{
	r->total[F_HITS] = getu(m, "hits");
	r->total[F_EMITTED] = getu(m, "emitted");
	r->total[F_DROPPED] = getu(m, "dropped");
	r->total[F_HELD] = getu(m, "filtered") + getu(m, "sampled_out") + getu(m, "rate_limited");
}

static void take_tracepoints(struct top_row *r, const msgpack_object *p)
{
	const msgpack_object *tps = ctl_get(p, "tracepoints");

	if (!tps || tps->type != MSGPACK_OBJECT_ARRAY || !tps->via.array.size)
		return;
	r->tps = calloc(tps->via.array.size, sizeof(*r->tps));
	if (!r->tps)
		return; /* the probe's own row still shows */
	for (uint32_t k = 0; k < tps->via.array.size; k++) {
		struct top_row *t = &r->tps[r->ntps++];

		t->id = r->id;
		ctl_get_str(&tps->via.array.ptr[k], "tracepoint", t->tracepoint,
			    sizeof(t->tracepoint));
		take_figures(t, &tps->via.array.ptr[k]);
	}
}

/* One status reply's probes into s (freeing what s held); -1 if the daemon failed. */
static int take_sample(struct top_sample *s)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct ctl_call call;
	const msgpack_object *probes;

	free_rows(s);
	memset(s, 0, sizeof(*s));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ctl_pack_request(&pk, "status", 0);
	if (ctl_call(&call, &sb, false))
		return -1;
	s->t = mono_s();
	probes = ctl_get(&call.reply.data, "probes");
	if (probes && probes->type == MSGPACK_OBJECT_ARRAY && probes->via.array.size) {
		s->rows = calloc(probes->via.array.size, sizeof(*s->rows));
		if (!s->rows) {
			p_err("out of memory");
			ctl_call_end(&call);
			return -1;
		}
		for (uint32_t i = 0; i < probes->via.array.size; i++) {
			const msgpack_object *p = &probes->via.array.ptr[i];
			struct top_row *r = &s->rows[s->n++];

			r->id = getu(p, "id");
			ctl_get_str(p, "pattern", r->tracepoint, sizeof(r->tracepoint));
			take_figures(r, p);
			take_tracepoints(r, p);
		}
	}
	ctl_call_end(&call);
	return 0;
}

/* r's rates against p, dt seconds before (figures only grow; a shrink reads as 0). */
static void rates_of(struct top_row *r, const struct top_row *p, double dt)
{
	r->has_rate = dt > 0;
	for (unsigned f = 0; f < NFIGS && dt > 0; f++)
		r->rate[f] = r->total[f] > p->total[f] ? (double)(r->total[f] - p->total[f]) / dt
						       : 0;
}

/* Rates of cur's rows against prev: probes by id, their tracepoints by name. */
static void compute_rates(struct top_sample *cur, const struct top_sample *prev)
{
	double dt = cur->t - prev->t;

	for (unsigned i = 0; i < cur->n; i++) {
		struct top_row *r = &cur->rows[i];

		for (unsigned k = 0; k < prev->n; k++) {
			const struct top_row *p = &prev->rows[k];

			if (p->id != r->id)
				continue;
			rates_of(r, p, dt);
			for (unsigned a = 0; a < r->ntps; a++)
				for (unsigned b = 0; b < p->ntps; b++)
					if (!strcmp(r->tps[a].tracepoint, p->tps[b].tracepoint))
						rates_of(&r->tps[a], &p->tps[b], dt);
		}
	}
}

/* Busiest first, like top; ties by id. */
static int by_hit_rate(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->rate[F_HITS] != y->rate[F_HITS])
		return x->rate[F_HITS] < y->rate[F_HITS] ? 1 : -1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return strcmp(x->tracepoint, y->tracepoint);
}

/* A probe's tracepoint rows are worth showing unless they repeat its own row: one
 * tracepoint, named as the probe's pattern. */
static bool show_tracepoints(const struct top_row *r)
{
	return r->ntps > 1 || (r->ntps == 1 && strcmp(r->tps[0].tracepoint, r->tracepoint));
}

static void print_row(const char *id, const char *tracepoint, const struct top_row *r)
{
	char rates[NFIGS][24];

	for (unsigned f = 0; f < NFIGS; f++)
		snprintf(rates[f], sizeof(rates[f]), r->has_rate ? "%.1f" : "-", r->rate[f]);
	printf("%-5s %-28s %12s %12s %10s %12s %14llu %14llu %12llu %14llu\n", id, tracepoint,
	       rates[F_HITS], rates[F_EMITTED], rates[F_DROPPED], rates[F_HELD],
	       (unsigned long long)r->total[F_HITS], (unsigned long long)r->total[F_EMITTED],
	       (unsigned long long)r->total[F_DROPPED], (unsigned long long)r->total[F_HELD]);
}

static void print_screen(const struct top_sample *s, double interval)
{
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	printf("probectl top - %s, %u probe(s), rates over %.3g s\n\n", when, s->n, interval);
	printf("%-5s %-28s %12s %12s %10s %12s %14s %14s %12s %14s\n", "PROBE", "TRACEPOINT",
	       "HITS/S", "EMITTED/S", "DROPPED/S", "FILTERED+/S", "HITS", "EMITTED", "DROPPED",
	       "FILTERED+");
	for (unsigned i = 0; i < s->n; i++) {
		const struct top_row *r = &s->rows[i];
		char id[24];

		snprintf(id, sizeof(id), "%llu", (unsigned long long)r->id);
		print_row(id, r->tracepoint, r);
		for (unsigned k = 0; show_tracepoints(r) && k < r->ntps; k++) {
			char tp[260];

			snprintf(tp, sizeof(tp), "  %s", r->tps[k].tracepoint);
			print_row("", tp, &r->tps[k]);
		}
	}
	if (!s->n)
		printf("(no probes: probectl enable PATTERN)\n");
}

/* One row's figures and rates as JSON fields. */
static void json_figures(struct json_writer *w, const struct top_row *r)
{
	for (unsigned f = 0; f < NFIGS; f++)
		jsonw_uint_field(w, fig_names[f], r->total[f]);
	for (unsigned f = 0; f < NFIGS; f++) {
		char name[32];

		snprintf(name, sizeof(name), "%s_per_s", fig_names[f]);
		jsonw_name(w, name);
		if (r->has_rate)
			jsonw_float(w, r->rate[f]);
		else
			jsonw_null(w);
	}
}

/* {"interval": S, "probes": [{"id", "tracepoint", "hits", ..., "hits_per_s", ...,
 *  "tracepoints": [{"tracepoint", "hits", ..., "hits_per_s", ...}]}]} */
static void print_json(const struct top_sample *s, double interval)
{
	struct json_writer *w = jsonw_new(stdout);

	jsonw_start_object(w);
	jsonw_name(w, "interval");
	jsonw_float(w, interval);
	jsonw_name(w, "probes");
	jsonw_start_array(w);
	for (unsigned i = 0; i < s->n; i++) {
		const struct top_row *r = &s->rows[i];

		jsonw_start_object(w);
		jsonw_uint_field(w, "id", r->id);
		jsonw_string_field(w, "tracepoint", r->tracepoint);
		json_figures(w, r);
		jsonw_name(w, "tracepoints");
		jsonw_start_array(w);
		for (unsigned k = 0; k < r->ntps; k++) {
			jsonw_start_object(w);
			jsonw_string_field(w, "tracepoint", r->tps[k].tracepoint);
			json_figures(w, &r->tps[k]);
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts))
		;
}

static int parse_interval(const char *text, double *out)
{
	char *end;
	double v = strtod(text, &end);

	if (!*text || *end || !isfinite(v) || v < 0.01 || v > 86400) {
		p_err("bad --interval '%s' (seconds, from 0.01 to 86400)", text);
		return -1;
	}
	*out = v;
	return 0;
}

int do_top(int argc, char **argv)
{
	struct top_sample prev = { 0 }, cur = { 0 };
	double interval = 1.0;
	bool once = false, tty = isatty(STDOUT_FILENO);
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			once = true;
		} else if (!strcmp(argv[i], "--interval") || !strcmp(argv[i], "-i")) {
			if (i + 1 >= argc) {
				p_err("%s needs SECONDS", argv[i]);
				return EXIT_USAGE;
			}
			if (parse_interval(argv[++i], &interval))
				return EXIT_USAGE;
		} else {
			p_err("unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (take_sample(&prev))
		return 1;
	for (;;) {
		sleep_s(interval);
		if (take_sample(&cur)) {
			rc = 1;
			break;
		}
		compute_rates(&cur, &prev);
		if (cur.n)
			qsort(cur.rows, cur.n, sizeof(*cur.rows), by_hit_rate);
		for (unsigned i = 0; i < cur.n; i++)
			if (cur.rows[i].ntps)
				qsort(cur.rows[i].tps, cur.rows[i].ntps, sizeof(*cur.rows[i].tps),
				      by_hit_rate);
		if (!once && tty && !json_output)
			fputs(CLEAR_HOME, stdout);
		if (json_output)
			print_json(&cur, cur.t - prev.t);
		else
			print_screen(&cur, cur.t - prev.t);
		if (!once && !tty && !json_output)
			putchar('\n');
		fflush(stdout);
		if (once)
			break;
		free_rows(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
	}
	free_rows(&prev);
	free_rows(&cur);
	return rc;
}
