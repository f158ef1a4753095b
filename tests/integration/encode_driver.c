// SPDX-License-Identifier: MIT
/*
 * encode_driver: known events through the real outputs, for msgpack_python.py, and the
 * encoder throughput figures for bench/.
 *
 *   encode_driver write N SPEC...   write events 0..N-1 (see make_event) to every SPEC
 *                                   (jsonl:PATH, msgpack:PATH, "-" for stdout); prints
 *                                   "SPEC written W acked A dropped D" per output on
 *                                   stderr (network outputs get 2 s to deliver)
 *   encode_driver bench [N] [SPEC]  encode N (default 1000000) 4-field events with each
 *                                   encoder, and through SPEC when given; one line each:
 *                                   "<what> events=N seconds=S events_per_s=R"
 *
 * make_event is the contract with msgpack_python.py, which builds the same events.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"

#include <sled/tracepoint.h>

#define BASE_NS 1700000000000000000ull

struct test_string {
	const char *s; /* NULL: a NULL char * */
	uint32_t len;
	bool truncated;
};
#define TSTR(lit, trunc) { lit, sizeof(lit) - 1, trunc }

static const struct test_string strings[] = {
	TSTR("plain", false),
	TSTR("q\"b\\n\nt\tc\x01\x1f del\x7f end", false),
	TSTR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", false),
	TSTR("bad\xff" "x\xe2\x82" "y\xc0\xaf" "z\xed\xa0\x80" "!", false),
	{ NULL, 0, false },
	TSTR("cut\xe2\x82", true),
	TSTR("/a/long/path/that/was/cut", true),
	TSTR("nul\0inside", false),
	TSTR("", false),
};
#define NSTRINGS (sizeof(strings) / sizeof(strings[0]))

static void set_str(struct sled_event_field *f, const struct test_string *t)
{
	f->v.str.ptr = t->s;
	f->v.str.len = t->len;
	f->v.str.truncated = t->truncated;
}

static struct sled_event_field *add(struct sled_event *ev, const char *name, uint8_t type)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = type;
	return f;
}

/* Event i; msgpack_python.py's expected_event(i) must agree. */
static void make_event(struct sled_event *ev, uint64_t i)
{
	static const char *modes[] = { NULL, "sled", "uprobe" };

	memset(ev, 0, sizeof(*ev));
	ev->provider = i % 10 == 9 ? "caf\xc3\xa9" : "app";
	ev->name = i % 2 ? "odd" : "even";
	if (i % 7 == 0)
		ev->ts_ns = BASE_NS + i * 1000000000ull; /* whole seconds: timestamp 32 */
	else if (i % 11 == 0)
		ev->ts_ns = ((1ull << 34) + i) * 1000000000ull + i; /* timestamp 96 */
	else
		ev->ts_ns = BASE_NS + i * 1000001ull; /* timestamp 64 */
	ev->pid = (pid_t)(1000 + i);
	ev->tid = (pid_t)(2000 + i);
	ev->mode = modes[i % 3];
	ev->exe = "/opt/sled-test/bin/drv-app"; /* syslog's APP-NAME by default */

	if (i % 2 == 0) {
		add(ev, "i8", SLED_T_I8)->v.i = (int8_t)(i * 37);
		add(ev, "i16", SLED_T_I16)->v.i = -(int64_t)(i * 123 % 32768);
		add(ev, "i32", SLED_T_I32)->v.i = -(int64_t)i * 100003;
		add(ev, "i64", SLED_T_I64)->v.i =
			i % 5 == 0 ? INT64_MIN : -(int64_t)i * 1000000000000;
		add(ev, "u8", SLED_T_U8)->v.u = i % 256;
		add(ev, "u16", SLED_T_U16)->v.u = i * 7 % 65536;
		add(ev, "u32", SLED_T_U32)->v.u = 4294967295u - i;
		add(ev, "u64", SLED_T_U64)->v.u =
			i % 5 == 0 ? UINT64_MAX : i * 1000000000000ull + 7;
		add(ev, "ok", SLED_T_BOOL)->v.b = i % 4 == 0;
		add(ev, "f", SLED_T_FLOAT)->v.d = i % 17 == 0   ? NAN
						  : i % 19 == 0 ? INFINITY
								: (double)((float)i / 8 + 0.1f);
		add(ev, "d", SLED_T_DOUBLE)->v.d =
			i % 23 == 0 ? -INFINITY : (double)i * 0.1 + 1.0 / 3;
		set_str(add(ev, "s", SLED_T_STRING), &strings[i % NSTRINGS]);
	} else {
		add(ev, "p", SLED_T_POINTER)->v.u = 0x7ffd0000u + i * 16;
		set_str(add(ev, "s", SLED_T_STRING), &strings[i % NSTRINGS]);
		set_str(add(ev, "s2", SLED_T_STRING), &strings[(i / 2) % NSTRINGS]);
		add(ev, "ok", SLED_T_BOOL)->v.b = i % 3 == 0;
		add(ev, "d", SLED_T_DOUBLE)->v.d = -(double)i / 3;
	}
}

static int cmd_write(int argc, char **argv)
{
	/* --hold: after writing, wait for EOF on stdin before stopping the outputs, so a
	 * test can restart a receiver while the output is still live (not lingering). */
	bool hold = argc > 0 && strcmp(argv[0], "--hold") == 0;
	uint64_t n;
	struct sled_output *outs[8];
	int nouts, failed = 0;
	struct sled_event ev;

	if (hold) {
		argc--;
		argv++;
	}
	n = argc > 0 ? strtoull(argv[0], NULL, 0) : 0;
	nouts = argc - 1;
	if (nouts < 1 || nouts > 8) {
		fprintf(stderr, "Error: write N SPEC... (1 to 8 specs)\n");
		return 2;
	}
	for (int k = 0; k < nouts; k++) {
		char err[256];

		outs[k] = sled_output_open(argv[1 + k], err, sizeof(err));
		if (!outs[k]) {
			fprintf(stderr, "Error: %s\n", err);
			return 1;
		}
	}
	for (uint64_t i = 0; i < n; i++) {
		make_event(&ev, i);
		for (int k = 0; k < nouts; k++)
			sled_output_write(outs[k], &ev);
	}
	if (hold) {
		char buf[256];

		while (fread(buf, 1, sizeof(buf), stdin) > 0)
			;
	}
	for (int k = 0; k < nouts; k++) {
		struct sled_output_stats st;

		sled_output_stop(outs[k]); /* network outputs: deliver what is queued (2 s) */
		sled_output_stats(outs[k], &st);
		fprintf(stderr, "%s written %llu acked %llu dropped %llu error '%s'\n",
			sled_output_spec(outs[k]), (unsigned long long)st.written,
			(unsigned long long)st.acked, (unsigned long long)st.dropped, st.error);
		failed |= st.written != n;
		sled_output_close(outs[k]);
	}
	return failed;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The benchmark event: 4 fields, a typical request probe; bench_step varies it. */
static void bench_event(struct sled_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->provider = "http";
	ev->name = "request";
	ev->pid = 4242;
	ev->tid = 4243;
	ev->mode = "sled";
	ev->nfields = 4;
	ev->fields[0] = (struct sled_event_field){ .name = "latency_ns", .type = SLED_T_I64 };
	ev->fields[1] = (struct sled_event_field){ .name = "status", .type = SLED_T_U32,
						   .v.u = 200 };
	ev->fields[2] = (struct sled_event_field){ .name = "path", .type = SLED_T_STRING };
	ev->fields[2].v.str.ptr = "/api/v1/items";
	ev->fields[2].v.str.len = 13;
	ev->fields[3] = (struct sled_event_field){ .name = "ratio", .type = SLED_T_DOUBLE };
}

static void bench_step(struct sled_event *ev, uint64_t i)
{
	ev->ts_ns = BASE_NS + i * 1000;
	ev->fields[0].v.i = (int64_t)(12345 + i % 1000);
	ev->fields[3].v.d = 0.25 + (double)(i % 8);
}

static void bench_encoder(const char *what, int (*enc)(struct sled_buf *,
							const struct sled_event *),
			  uint64_t n)
{
	struct sled_buf b = { 0 };
	struct sled_event ev;
	uint64_t bytes = 0;
	double t0, dt;

	bench_event(&ev);
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		bench_step(&ev, i);
		if (enc(&b, &ev)) {
			fprintf(stderr, "Error: %s: out of memory\n", what);
			exit(1);
		}
		if (b.len >= 256 * 1024) { /* what an output does with a full chunk */
			bytes += b.len;
			b.len = 0;
		}
	}
	dt = now_s() - t0;
	bytes += b.len;
	printf("%s events=%llu seconds=%.6f events_per_s=%.0f bytes_per_event=%.1f\n", what,
	       (unsigned long long)n, dt, (double)n / dt, (double)bytes / (double)n);
	sled_buf_free(&b);
}

static int cmd_bench(int argc, char **argv)
{
	uint64_t n = argc > 0 ? strtoull(argv[0], NULL, 0) : 1000000;
	struct sled_event ev;

	if (n == 0)
		n = 1000000;
	bench_encoder("msgpack_encode", sled_encode_msgpack, n);
	bench_encoder("json_encode", sled_encode_json, n);
	bench_encoder("human_encode", sled_encode_human, n);
	if (argc > 1) {
		char err[256];
		struct sled_output *o = sled_output_open(argv[1], err, sizeof(err));
		struct sled_output_stats st;
		double t0, dt;

		if (!o) {
			fprintf(stderr, "Error: %s\n", err);
			return 1;
		}
		bench_event(&ev);
		t0 = now_s();
		for (uint64_t i = 0; i < n; i++) {
			bench_step(&ev, i);
			sled_output_write(o, &ev);
		}
		sled_output_flush(o);
		dt = now_s() - t0;
		sled_output_stats(o, &st);
		printf("output(%s) events=%llu seconds=%.6f events_per_s=%.0f dropped=%llu\n",
		       argv[1], (unsigned long long)n, dt, (double)n / dt,
		       (unsigned long long)st.dropped);
		sled_output_close(o);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "write") == 0)
		return cmd_write(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "bench") == 0)
		return cmd_bench(argc - 2, argv + 2);
	fprintf(stderr, "usage: %s write [--hold] N SPEC... | bench [N] [SPEC]\n", argv[0]);
	return 2;
}
