/* SPDX-License-Identifier: MIT */
/*
 * tp_globals.c - tracepoints whose arguments are variables with static storage: the
 * compilers write them as symbolic operands ("counter(%rip)", "8+g_conf(%rip)",
 * "counter.0(%rip)", "%fs:tls_count@tpoff", "g_arr(,%rax,8)").  Built as a PIE and a
 * non-PIE executable and (-DTP_GLOBALS_SHARED) as a shared library, by gcc and clang at
 * -O0..-O3; globals_values.sh checks in sled and uprobe mode that every argument reads
 * the value the program stored:
 *
 *   globals:plain    g_counter, g_conf.b (a field), g_arr[2], g_arr[i] (i = round % 4)
 *   globals:local    a static local counter
 *   globals:tls      (executables only) a __thread variable, and the round number
 *
 * Values: round r (1, 2, ...) stores g_counter = 100 + r, g_conf.b = -(200 + r),
 * g_arr[k] = 1000 * k + r, the static local = 300 + r, tls = 400 + r.
 */
#include <sled/tracepoint.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__clang__)
#define TPG_API __attribute__((visibility("default"), noinline))
#else
#define TPG_API __attribute__((visibility("default"), noipa))
#endif

struct tpg_conf {
	int64_t a;
	int64_t b;
};

/* static: addressed directly even in a shared library (no GOT, no interposition). */
static int64_t g_counter;
static struct tpg_conf g_conf;
static int64_t g_arr[4];
#ifndef TP_GLOBALS_SHARED
static __thread int64_t tls_count;
#endif

static int64_t *local_counter_ptr;

/* The tracepoints read what another function stored, so the compiler has no copy in a
 * register and addresses the variables in memory, by symbol. */
TPG_API void tpg_fire(int64_t r)
{
	static int64_t local_counter;
	int i = (int)(r % 4);

	local_counter_ptr = &local_counter;
	TRACEPOINT(globals, plain, g_counter, g_conf.b, g_arr[2], g_arr[i]);
	TRACEPOINT(globals, local, local_counter);
#ifndef TP_GLOBALS_SHARED
	TRACEPOINT(globals, tls, tls_count, r);
#endif
}

TPG_API void tpg_store(int64_t r)
{
	g_counter = 100 + r;
	g_conf.b = -(200 + r);
	for (int k = 0; k < 4; k++)
		g_arr[k] = 1000 * k + r;
	if (local_counter_ptr)
		*local_counter_ptr = 300 + r;
#ifndef TP_GLOBALS_SHARED
	tls_count = 400 + r;
#endif
}

TPG_API void tpg_round(int64_t r)
{
	if (!local_counter_ptr)
		tpg_fire(0); /* learns where the static local lives */
	tpg_store(r);
	tpg_fire(r);
}

#ifndef TP_GLOBALS_SHARED
/* tp_globals [ROUNDS [USEC]]: one round every USEC microseconds (default 2000 rounds,
 * 5 ms), then exit 0.  "ready" on stdout once the first round is done. */
int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000, usec = argc > 2 ? atol(argv[2]) : 5000;

	for (long r = 1; r <= rounds; r++) {
		tpg_round(r);
		if (r == 1) {
			printf("ready\n");
			fflush(stdout);
		}
		usleep((useconds_t)usec);
	}
	return 0;
}
#endif
