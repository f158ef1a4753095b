/* SPDX-License-Identifier: MIT */
/*
 * signals_check - checks every line of a probed JSON-lines file written while
 * signals_app was traced: millions of sig:work lines, too many for Python's json in time.
 *
 * Each line must be exactly the encoder's form of one of signals_app's events (a strict
 * subset of JSON, so a line that passes is well-formed JSON):
 *
 *   {"provider":"sig","name":"work","ts":T,"pid":P,"tid":I,"args":{"thread":N,"seq":S,"check":C}}
 *   {"provider":"sig","name":"alarm",...,"args":{"n":N}}        (and "trap")
 *   {"provider":"sig","name":"vals",...,"args":{"r":R,"g_counter":G,"g_conf.b":B,"tls_count":L}}
 *   {"provider":"sig","name":"strs",...,"args":{"r":R,"bad":"","unterminated":"ABCDEFGH"},
 *    "truncated":["bad","unterminated"]}
 *
 * and, for the lines of the traced pid P, self-consistent: N < WORKERS and
 * C == S * 2654435761 ^ N (64-bit) for work; n >= 1 for alarm and trap; R >= 1,
 * G == 100 + R, B == -(200 + R), L == 400 + R for vals; R >= 1 for strs (the bad pointer
 * read as an empty string, the unterminated one as its 8 readable bytes, both listed as
 * truncated).  Lines of other pids are only checked for their form (counted as
 * "others"); probed's own sled:lost records (a probe's drops) are skipped.  The file must
 * end with a newline.
 *
 * Usage: signals_check FILE PID WORKERS
 * Prints "work N", "alarm N", "trap N", "vals N", "strs N" (lines of pid P), "others N",
 * up to 10 problems and "problems N"; exits 0 when every line is right, 1 otherwise,
 * 2 on usage or I/O errors.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonl_scan.h"

/* A JSON integer that may be negative ("-0" is not the encoder's). */
static bool snum(const char **p, const char *end, int64_t *v)
{
	bool neg = lit(p, end, "-");
	uint64_t x;

	if (!num(p, end, &x) || x > (uint64_t)INT64_MAX || (neg && x == 0))
		return false;
	*v = neg ? -(int64_t)x : (int64_t)x;
	return true;
}

enum { WORK, ALARM, TRAP, VALS, STRS, NNAMES };
static const char *const names[NNAMES] = { "work", "alarm", "trap", "vals", "strs" };

/* The rest of a line after its "args":{, for event kind k: NULL when it is not exactly
 * the encoder's form, else what is wrong with its values ("" when nothing). */
static const char *check_args(int k, const char **p, const char *end, uint64_t workers)
{
	uint64_t a, b, c;
	int64_t g, cb, tls;

	switch (k) {
	case WORK:
		if (!(lit(p, end, "\"thread\":") && num(p, end, &a) && lit(p, end, ",\"seq\":") &&
		      num(p, end, &b) && lit(p, end, ",\"check\":") && num(p, end, &c) &&
		      lit(p, end, "}}")))
			return NULL;
		if (a >= workers)
			return "thread index out of range";
		return c == ((b * 2654435761u) ^ a) ? "" : "check != seq * 2654435761 ^ thread";
	case ALARM:
	case TRAP:
		if (!(lit(p, end, "\"n\":") && num(p, end, &a) && lit(p, end, "}}")))
			return NULL;
		return a >= 1 ? "" : "n < 1";
	case VALS:
		if (!(lit(p, end, "\"r\":") && num(p, end, &a) && lit(p, end, ",\"g_counter\":") &&
		      snum(p, end, &g) && lit(p, end, ",\"g_conf.b\":") && snum(p, end, &cb) &&
		      lit(p, end, ",\"tls_count\":") && snum(p, end, &tls) && lit(p, end, "}}")))
			return NULL;
		if (a < 1 || a > 1000000000000ull)
			return "round out of range";
		return g == 100 + (int64_t)a && cb == -(200 + (int64_t)a) && tls == 400 + (int64_t)a
		       ? "" : "g_counter, g_conf.b, tls_count are not 100 + r, -(200 + r), 400 + r";
	case STRS:
		if (!(lit(p, end, "\"r\":") && num(p, end, &a) &&
		      lit(p, end, ",\"bad\":\"\",\"unterminated\":\"ABCDEFGH\"},"
			  "\"truncated\":[\"bad\",\"unterminated\"]}")))
			return NULL;
		return a >= 1 ? "" : "r < 1";
	}
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t want_pid, workers, line = 0, others = 0, count[NNAMES] = { 0 };
	const char *data, *p, *end;
	struct stat st;
	int fd;

	if (argc != 4 || !(want_pid = strtoull(argv[2], NULL, 10)) ||
	    !(workers = strtoull(argv[3], NULL, 10))) {
		fprintf(stderr, "usage: signals_check FILE PID WORKERS\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 2;
	}
	data = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : "";
	if (data == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	end = data + st.st_size;
	if (st.st_size && end[-1] != '\n')
		problem(0, "the file does not end with a newline", "", 0);
	for (p = data; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *q = p, *why;
		uint64_t ts, pid, tid;
		int k;

		if (!nl)
			nl = end;
		line++;
		/* probed's own record of a probe's drops: not an event of the app. */
		if (lit(&q, nl, "{\"provider\":\"sled\",\"name\":\"lost\",")) {
			p = nl + 1;
			continue;
		}
		for (k = 0; k < NNAMES; k++) {
			q = p;
			if (lit(&q, nl, "{\"provider\":\"sig\",\"name\":\"") && lit(&q, nl, names[k]) &&
			    lit(&q, nl, "\",\"ts\":"))
				break;
		}
		why = NULL;
		if (k < NNAMES && num(&q, nl, &ts) && lit(&q, nl, ",\"pid\":") && num(&q, nl, &pid) &&
		    lit(&q, nl, ",\"tid\":") && num(&q, nl, &tid) && lit(&q, nl, ",\"args\":{"))
			why = check_args(k, &q, nl, workers);
		if (!why || q != nl) {
			problem(line, "not a well-formed signals_app event", p, (size_t)(nl - p));
		} else if (pid != want_pid) {
			others++;
		} else if (*why) {
			problem(line, why, p, (size_t)(nl - p));
		} else {
			count[k]++;
		}
		p = nl + 1;
	}
	for (int k = 0; k < NNAMES; k++)
		printf("%s %" PRIu64 "\n", names[k], count[k]);
	printf("others %" PRIu64 "\n", others);
	printf("problems %lu\n", problems);
	return problems ? 1 : 0;
}
