/* SPDX-License-Identifier: MIT */
/*
 * stress_check - checks every line of a probed JSON-lines file written while stress_app
 * was traced: millions of lines, too many to parse in Python within the test's time.
 *
 * Each line must be exactly the encoder's form of a stress:hit event (a strict subset of
 * JSON, so a line that passes is well-formed JSON):
 *
 *   {"provider":"stress","name":"hit","ts":T,"pid":P,"tid":I,
 *    "args":{"thread":N,"seq":S,"check":C,"label":"L"}}
 *
 * and, for the lines of the traced pid P, self-consistent: N < THREADS,
 * C == S * 2654435761 ^ N (64-bit), L == "<S in hex>-" + the first S % 27 letters, T within
 * the last hour, each thread index has one tid and strictly increasing seqs.  Lines of
 * other pids are only checked for their form (and counted as "others").  probed's own
 * sled:lost records (a probe's drops) are skipped.  The file must end with a newline.
 *
 * Usage: stress_check FILE PID THREADS
 * Prints "events N" (lines of pid P), "thread N tid I events E" per thread, "others N",
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
#include <time.h>
#include <unistd.h>

#include "jsonl_scan.h"

#define MAX_THREADS 64

static size_t expected_label(char *buf, uint64_t seq)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
	unsigned extra = (unsigned)(seq % 27);
	size_t n = (size_t)sprintf(buf, "%" PRIx64 "-", seq);

	memcpy(buf + n, letters, extra);
	return n + extra;
}

int main(int argc, char **argv)
{
	uint64_t want_pid, nthreads, line = 0, events = 0, others = 0;
	uint64_t tid_of[MAX_THREADS] = { 0 }, count[MAX_THREADS] = { 0 };
	int64_t last_seq[MAX_THREADS];
	uint64_t now_ns = (uint64_t)time(NULL) * 1000000000ull;
	const char *data, *p, *end;
	struct stat st;
	int fd;

	if (argc != 4 || !(want_pid = strtoull(argv[2], NULL, 10)) ||
	    !(nthreads = strtoull(argv[3], NULL, 10)) || nthreads > MAX_THREADS) {
		fprintf(stderr, "usage: stress_check FILE PID THREADS\n");
		return 2;
	}
	for (unsigned i = 0; i < MAX_THREADS; i++)
		last_seq[i] = -1;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 2;
	}
	if (st.st_size == 0) {
		printf("events 0\n");
		return 0;
	}
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	end = data + st.st_size;
	if (end[-1] != '\n')
		problem(0, "the file does not end with a newline", "", 0);
	for (p = data; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *q = p, *lab;
		uint64_t ts, pid, tid, th, seq, check;
		char want[64];
		size_t wlen;

		if (!nl)
			nl = end;
		line++;
		/* probed's own record of a probe's drops: not an event of the app. */
		if (lit(&q, nl, "{\"provider\":\"sled\",\"name\":\"lost\",")) {
			p = nl + 1;
			continue;
		}
		if (!(lit(&q, nl, "{\"provider\":\"stress\",\"name\":\"hit\",\"ts\":") && num(&q, nl, &ts) &&
		      lit(&q, nl, ",\"pid\":") && num(&q, nl, &pid) && lit(&q, nl, ",\"tid\":") &&
		      num(&q, nl, &tid) && lit(&q, nl, ",\"args\":{\"thread\":") && num(&q, nl, &th) &&
		      lit(&q, nl, ",\"seq\":") && num(&q, nl, &seq) && lit(&q, nl, ",\"check\":") &&
		      num(&q, nl, &check) && lit(&q, nl, ",\"label\":\""))) {
			problem(line, "not a well-formed stress:hit event", p, (size_t)(nl - p));
			p = nl + 1;
			continue;
		}
		lab = q;
		while (q < nl && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
			q++;
		if (!(lit(&q, nl, "\"}}") && q == nl)) {
			problem(line, "not a well-formed stress:hit event", p, (size_t)(nl - p));
			p = nl + 1;
			continue;
		}
		if (pid != want_pid) {
			others++;
			p = nl + 1;
			continue;
		}
		events++;
		wlen = expected_label(want, seq);
		if (th >= nthreads)
			problem(line, "thread index out of range", p, (size_t)(nl - p));
		else if (check != ((seq * 2654435761u) ^ th))
			problem(line, "check != seq * 2654435761 ^ thread", p, (size_t)(nl - p));
		else if ((size_t)(q - 3 - lab) != wlen || memcmp(lab, want, wlen))
			problem(line, "label does not match seq", p, (size_t)(nl - p));
		else if (ts < now_ns - 3600ull * 1000000000ull || ts > now_ns + 60ull * 1000000000ull)
			problem(line, "timestamp not within the last hour", p, (size_t)(nl - p));
		else if (tid_of[th] && tid_of[th] != tid)
			problem(line, "a second tid for the same thread index", p, (size_t)(nl - p));
		else if ((int64_t)seq <= last_seq[th])
			problem(line, "seq not increasing within its thread", p, (size_t)(nl - p));
		else {
			tid_of[th] = tid;
			last_seq[th] = (int64_t)seq;
			count[th]++;
		}
		p = nl + 1;
	}
	printf("events %" PRIu64 "\n", events);
	for (uint64_t i = 0; i < nthreads; i++)
		printf("thread %" PRIu64 " tid %" PRIu64 " events %" PRIu64 "\n", i, tid_of[i], count[i]);
	printf("others %" PRIu64 "\n", others);
	printf("problems %lu\n", problems);
	return problems ? 1 : 0;
}
