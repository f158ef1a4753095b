/* SPDX-License-Identifier: MIT */
/*
 * agg_app: hits agg:hit(key, value, name) from several threads and writes down exactly
 * what it passed, for sled_aggregate.py to compute the ground truth of every aggregation.
 *
 * Commands on stdin, one a line:
 *   run THREADS HITS SEED OUT   each thread hits HITS times with values drawn from SEED and
 *                               its index, then exits; OUT gets one line per distinct
 *                               (key, value, name) with its count; "done" on stdout after
 *   exit                        leave (also at the end of stdin)
 * Names: three literals, and a heap string of 80 bytes (a key cut at 64 bytes).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sled/tracepoint.h>

#define MAX_THREADS 16
#define NKEYS 8
#define NVALUES 64
#define NNAMES 4

static char long_name[81];
static const char *names[NNAMES] = { "alpha", "beta", "gamma", long_name };

struct worker {
	pthread_t th;
	unsigned index, hits;
	uint64_t seed;
	/* counts[key][value index][name] */
	uint32_t counts[NKEYS][NVALUES][NNAMES];
};

/* The values: negatives, zero, ones, powers of two and odd sizes, for every bucket kind. */
static int64_t value_at(unsigned i)
{
	static const int64_t base[] = { -300, -7, -1, 0, 0, 1, 1, 2, 3, 4, 7, 8, 15, 16, 99, 100,
					 101, 250, 511, 512, 999, 1000, 1023, 1024, 4096, 65535,
					 1000000, 123456789, 5, 6, 9, 10 };

	return i < 32 ? base[i] : (int64_t)(i * 37) - 500;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t s = w->seed * 2654435761u + w->index * 40503u + 1;

	for (unsigned i = 0; i < w->hits; i++) {
		uint64_t r = next(&s);
		int key = (int)(r % NKEYS);
		unsigned vi = (unsigned)((r >> 8) % NVALUES), ni = (unsigned)((r >> 20) % NNAMES);
		int64_t value = value_at(vi);
		const char *name = names[ni];

		TRACEPOINT(agg, hit, key, value, name);
		w->counts[key][vi][ni]++;
	}
	return NULL;
}

static void run(unsigned nthreads, unsigned hits, uint64_t seed, const char *out)
{
	static struct worker w[MAX_THREADS];
	FILE *f;

	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	memset(w, 0, sizeof(w));
	for (unsigned t = 0; t < nthreads; t++) {
		w[t].index = t;
		w[t].hits = hits;
		w[t].seed = seed;
		pthread_create(&w[t].th, NULL, work, &w[t]);
	}
	for (unsigned t = 0; t < nthreads; t++)
		pthread_join(w[t].th, NULL);
	f = fopen(out, "w");
	if (!f) {
		perror(out);
		exit(1);
	}
	for (unsigned k = 0; k < NKEYS; k++)
		for (unsigned v = 0; v < NVALUES; v++)
			for (unsigned n = 0; n < NNAMES; n++) {
				uint64_t c = 0;

				for (unsigned t = 0; t < nthreads; t++)
					c += w[t].counts[k][v][n];
				if (c)
					fprintf(f, "%u %lld %s %llu\n", k, (long long)value_at(v), names[n],
						(unsigned long long)c);
			}
	fclose(f);
	printf("done\n");
	fflush(stdout);
}

int main(void)
{
	char line[4200], out[4096];
	unsigned nthreads, hits;
	unsigned long long seed;

	for (unsigned i = 0; i < 80; i++)
		long_name[i] = (char)('a' + i % 26);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "run %u %u %llu %4095s", &nthreads, &hits, &seed, out) == 4)
			run(nthreads, hits, seed, out);
		else if (!strncmp(line, "exit", 4))
			break;
	}
	return 0;
}
