/* SPDX-License-Identifier: MIT */
/* Patching live code (sdk/text_poke.c): batches of 5-byte sites in this program's own text,
 * some of them run by other threads while they change. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "runtime.h"

/* Each function returns how many of its sites still hold the NOP: a site patched into
 * `jmp .+7` (e9 02 00 00 00) skips the 2-byte `inc %eax` after it. */
__asm__(".text\n"
	".balign 64\n"
	"tp_three: xor %eax, %eax\n"
	".balign 8, 0x90\n site_a: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n inc %eax\n"
	".balign 8, 0x90\n site_b: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n inc %eax\n"
	".balign 8, 0x90\n site_c: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n inc %eax\n"
	" ret\n"
	/* bytes 0-1 at offset 63 and 0 of two cache lines */
	".balign 64, 0xcc\n .skip 61, 0xcc\n"
	"tp_straddle: xor %eax, %eax\n"
	" site_straddle: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n inc %eax\n ret\n"
	/* bytes 0-1 at the end of a page, bytes 2-4 on the next one */
	".balign 4096, 0xcc\n .skip 4090, 0xcc\n"
	"tp_cross: xor %eax, %eax\n nop\n nop\n"
	" site_cross: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n inc %eax\n ret\n");

extern int tp_three(void), tp_straddle(void), tp_cross(void);
extern char site_a[], site_b[], site_c[], site_straddle[], site_cross[];

static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
static const uint8_t jmp_over_inc[5] = { 0xe9, 0x02, 0x00, 0x00, 0x00 };

static void fill(struct sled_poke *p, const char *site, bool on)
{
	p->addr = (uint64_t)(uintptr_t)site;
	memcpy(p->expect, on ? nop5 : jmp_over_inc, 5);
	memcpy(p->want, on ? jmp_over_inc : nop5, 5);
	p->err = 1;
}

static int flip_three(bool on, struct sled_poke p[3])
{
	fill(&p[0], site_a, on);
	fill(&p[1], site_b, on);
	fill(&p[2], site_c, on);
	return sled_poke_batch(p, 3);
}

/* "r-xp" and the like, for the mapping that holds addr. */
static void perms_of(const void *addr, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512], perms[5];

	strcpy(out, "????");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && lo <= (uintptr_t)addr &&
		    (uintptr_t)addr < hi) {
			memcpy(out, perms, 5);
			break;
		}
	fclose(f);
}

TEST(batch_patches_every_site_and_restores_them)
{
	struct sled_poke p[3];

	CHECK_EQ_INT(tp_three(), 3);
	CHECK_EQ_INT(flip_three(true, p), 0);
	CHECK(p[0].err == 0 && p[1].err == 0 && p[2].err == 0);
	CHECK(!memcmp(site_b, jmp_over_inc, 5));
	CHECK_EQ_INT(tp_three(), 0);
	CHECK_EQ_INT(flip_three(false, p), 0);
	CHECK(p[0].err == 0 && p[1].err == 0 && p[2].err == 0);
	CHECK(!memcmp(site_b, nop5, 5));
	CHECK_EQ_INT(tp_three(), 3);
}

TEST(text_page_is_not_writable_after_a_batch)
{
	struct sled_poke p[3];
	char perms[5];

	flip_three(true, p);
	perms_of(site_a, perms);
	CHECK_EQ_STR(perms, "r-xp");
	flip_three(false, p);
	perms_of(site_a, perms);
	CHECK_EQ_STR(perms, "r-xp");
}

TEST(site_straddling_a_cache_line_is_refused_unwritten)
{
	struct sled_poke p;

	CHECK_EQ_INT((uintptr_t)site_straddle % 64, 63);
	fill(&p, site_straddle, true);
	CHECK_EQ_INT(sled_poke_batch(&p, 1), 0);
	CHECK_EQ_INT(p.err, -EXDEV);
	CHECK(!memcmp(site_straddle, nop5, 5));
	CHECK_EQ_INT(tp_straddle(), 1);
}

TEST(site_crossing_a_page_is_patched)
{
	struct sled_poke p;

	CHECK_EQ_INT((uintptr_t)site_cross % 4096, 4094);
	fill(&p, site_cross, true);
	CHECK_EQ_INT(sled_poke_batch(&p, 1), 0);
	CHECK_EQ_INT(p.err, 0);
	CHECK_EQ_INT(tp_cross(), 0);
	fill(&p, site_cross, false);
	CHECK_EQ_INT(sled_poke_batch(&p, 1), 0);
	CHECK_EQ_INT(p.err, 0);
	CHECK_EQ_INT(tp_cross(), 1);
}

TEST(unexpected_bytes_are_never_written)
{
	struct sled_poke p[3];

	fill(&p[0], site_a, false); /* expects the jmp, finds the NOP */
	fill(&p[1], site_b, true);
	fill(&p[2], site_c, true);
	p[2].expect[4] = 0x01;
	CHECK_EQ_INT(sled_poke_batch(p, 3), 0);
	CHECK_EQ_INT(p[0].err, 0); /* already what it wants */
	CHECK_EQ_INT(p[1].err, 0);
	CHECK_EQ_INT(p[2].err, -EILSEQ);
	CHECK(!memcmp(site_c, nop5, 5));
	CHECK_EQ_INT(tp_three(), 2);
	fill(&p[1], site_b, false);
	CHECK_EQ_INT(sled_poke_batch(&p[1], 1), 0);
	CHECK_EQ_INT(tp_three(), 3);
}

static volatile int stop_runners;

static void *run_sites(void *arg)
{
	uint64_t bad = 0;

	(void)arg;
	while (!stop_runners) {
		int n = tp_three();

		bad += n < 0 || n > 3;
	}
	return (void *)(uintptr_t)bad;
}

/* Threads that block every signal run through the sites while they change: they never
 * trap (a trap would kill this process) and never see a site half patched. */
TEST(threads_blocking_every_signal_run_through_sites_being_patched)
{
	pthread_t t[2];
	sigset_t all, old;
	struct sled_poke p[3];
	int fails = 0;
	uintptr_t bad = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, run_sites, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < 2000; i++) {
		fails += flip_three(true, p) != 0 || p[0].err || p[1].err || p[2].err;
		fails += flip_three(false, p) != 0 || p[0].err || p[1].err || p[2].err;
	}
	stop_runners = 1;
	for (int i = 0; i < 2; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (uintptr_t)r;
	}
	CHECK_EQ_INT(fails, 0);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(tp_three(), 3);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(batch_patches_every_site_and_restores_them),
		TEST_ENTRY(text_page_is_not_writable_after_a_batch),
		TEST_ENTRY(site_straddling_a_cache_line_is_refused_unwritten),
		TEST_ENTRY(site_crossing_a_page_is_patched),
		TEST_ENTRY(unexpected_bytes_are_never_written),
		TEST_ENTRY(threads_blocking_every_signal_run_through_sites_being_patched),
	};

	if (sled_poke_init()) {
		fprintf(stderr, "sled_poke_init failed\n");
		return 1;
	}
	return RUN_TESTS(tests);
}
