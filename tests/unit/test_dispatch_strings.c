/* SPDX-License-Identifier: MIT */
/*
 * Which string arguments the dispatcher copies by loads and which it asks the kernel for
 * (sdk/dispatch.c compiled into this test).  A seccomp filter makes process_vm_readv fail
 * with EPERM, so a string the kernel was asked for comes out as the fault marker, and one
 * copied by loads comes out whole: a literal of the site's object, a buffer between the
 * site's red zone (128 bytes below its %rsp) and the top of the thread's stack.  A window
 * that runs past the top, a buffer below the red zone, a site on another stack (a
 * sigaltstack, a coroutine) and a thread whose stack is unknown all go to the kernel.
 * The same for an aggregation's string key.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sled/tracepoint.h>

#include "check.h"
#include "hot_path_standalone.h"

#define WINDOW (SLED_SHM_MAX_STR + 1)

static struct sled_ring_header *ring;
static char site_memory[1024] = "a literal"; /* the site's object */

/* One site, (int64 in rdi, string in rsi), recorded by lane 0 with no probe function. */
static void block(void)
{
	struct sled_shm_site *site;

	ring = sled_standalone_block();
	sled_site_readable[0] = (struct sled_range){ (uint64_t)(uintptr_t)site_memory,
						     (uint64_t)(uintptr_t)site_memory + sizeof(site_memory) };
	site = &sled_rt.sites[0];
	site->kind = SLED_SITE_SLOT_TRACEPOINT;
	site->nargs = 2;
	site->flags = SLED_SITE_F_STRINGS;
	site->args[0] = (struct sled_shm_arg){ .kind = SLED_A_REG, .size = 8, .type = SLED_T_I64,
					       .is_signed = 1, .reg = SLED_R_RDI, .index = SLED_R_NONE };
	site->args[1] = (struct sled_shm_arg){ .kind = SLED_A_REG, .size = 8, .type = SLED_T_STRING,
					       .reg = SLED_R_RSI, .index = SLED_R_NONE };
	site->lanes = 1u;
}

/* The event of a hit with s at a site whose %rsp is rsp: its string word, and the string
 * in out. */
static uint64_t hit(const char *s, uint64_t rsp, char out[WINDOW])
{
	uint64_t regs[SLED_R_COUNT] = { 0 }, head = ring->head, *v, word;
	struct sled_record *rec;

	regs[SLED_R_RDI] = 7;
	regs[SLED_R_RSI] = (uint64_t)(uintptr_t)s;
	regs[SLED_R_RSP] = rsp;
	CHECK_EQ_INT(sled_dispatch(regs, 0), 0);
	CHECK(ring->head > head);
	rec = (struct sled_record *)((char *)ring + SLED_ALIGN8(sizeof(*ring)) + (head & sled_ring_mask));
	v = (uint64_t *)(rec + 1);
	CHECK_EQ_INT(v[0], 7);
	word = v[1];
	out[0] = 0;
	if (!(word & (SLED_REC_STR_FAULT | SLED_REC_STR_NULL))) {
		size_t len = word & SLED_REC_STR_LEN_MASK;

		memcpy(out, v + 2, len);
		out[len] = 0;
	}
	ring->tail = ring->head;
	return word;
}

static void deny_process_vm_readv(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		perror("test_dispatch_strings: seccomp");
		exit(1);
	}
}

/* A stack of its own for the tests: [lo, hi) as the ring claim would note it. */
static char stack[4096] __attribute__((aligned(64)));
#define LO ((uint64_t)(uintptr_t)stack)
#define HI ((uint64_t)(uintptr_t)stack + sizeof(stack))

static void on_stack(void)
{
	block();
	sled_tls_prod.stack = (struct sled_range){ LO, HI };
}

TEST(literal_is_copied)
{
	char out[WINDOW];

	on_stack();
	CHECK_EQ_INT(hit(site_memory, LO + 64, out), 9);
	CHECK_EQ_STR(out, "a literal");
}

TEST(stack_buffer_above_rsp_is_copied)
{
	char out[WINDOW], *buf = stack + 1024;

	on_stack();
	strcpy(buf, "on the stack");
	CHECK_EQ_INT(hit(buf, LO + 512, out), 12);
	CHECK_EQ_STR(out, "on the stack");
	/* %rsp exactly at the buffer, and a window that ends exactly at the top. */
	CHECK_EQ_INT(hit(buf, (uint64_t)(uintptr_t)buf, out), 12);
	buf = stack + sizeof(stack) - WINDOW;
	strcpy(buf, "at the top");
	CHECK_EQ_INT(hit(buf, LO, out), 10);
	CHECK_EQ_STR(out, "at the top");
}

TEST(window_past_the_top_goes_to_the_kernel)
{
	char out[WINDOW], *buf = stack + sizeof(stack) - WINDOW + 1;

	on_stack();
	strcpy(buf, "near the top");
	CHECK_EQ_INT(hit(buf, LO, out), SLED_REC_STR_FAULT);
}

/* A leaf function keeps its buffers in the red zone, the 128 bytes below %rsp: copied;
 * below that, the trampoline's own frame: the kernel. */
TEST(red_zone_is_copied_below_it_the_kernel)
{
	char out[WINDOW], *buf = stack + 1024;
	uint64_t at = (uint64_t)(uintptr_t)buf;

	on_stack();
	strcpy(buf, "in the red zone");
	CHECK_EQ_INT(hit(buf, at + 128, out), 15);
	CHECK_EQ_STR(out, "in the red zone");
	CHECK_EQ_INT(hit(buf, at + 129, out), SLED_REC_STR_FAULT);
}

/* The site runs on another stack (a sigaltstack, a coroutine's): its %rsp is outside the
 * thread's stack, and a buffer on it goes to the kernel, wherever it lies. */
TEST(site_on_another_stack_goes_to_the_kernel)
{
	static char alt[4096];
	char out[WINDOW], *buf = alt + 1024;

	on_stack();
	strcpy(buf, "on an altstack");
	CHECK_EQ_INT(hit(buf, (uint64_t)(uintptr_t)alt + 512, out), SLED_REC_STR_FAULT);
	/* Even a buffer on the thread's own stack, seen from a site on another one. */
	strcpy(stack + 1024, "own stack");
	CHECK_EQ_INT(hit(stack + 1024, (uint64_t)(uintptr_t)alt + 512, out), SLED_REC_STR_FAULT);
	/* %rsp at the top itself is outside [lo, hi). */
	CHECK_EQ_INT(hit(stack + 1024, HI, out), SLED_REC_STR_FAULT);
}

TEST(unknown_stack_goes_to_the_kernel)
{
	char out[WINDOW];

	block(); /* sled_tls_prod.stack is {0, 0} */
	strcpy(stack + 1024, "own stack");
	CHECK_EQ_INT(hit(stack + 1024, LO, out), SLED_REC_STR_FAULT);
	CHECK_EQ_INT(hit(stack + 1024, 0, out), SLED_REC_STR_FAULT);
}

/* Longer than kept: the copy stops at the window and the word says truncated. */
TEST(long_stack_string_is_truncated)
{
	char out[WINDOW], *buf = stack + 1024;

	on_stack();
	memset(buf, 'x', 1000);
	buf[1000] = 0;
	CHECK_EQ_INT(hit(buf, LO, out), SLED_SHM_MAX_STR | SLED_REC_STR_TRUNCATED);
	CHECK_EQ_INT(strlen(out), SLED_SHM_MAX_STR);
}

/* count() by (s) as the only probe on the site (the dispatcher's aggregation path). */
static void count_by_string(void)
{
	struct sled_shm_site *site = &sled_rt.sites[0];
	struct sled_shm_agg *a = &sled_rt.aggs[0];

	a->tag = 1 | 1u << 16;
	a->nkeys = 1;
	a->key_arg[0] = 1;
	a->key_string[0] = 1;
	a->value_arg = SLED_AGG_NO_VALUE;
	a->bucketing = SLED_AGG_B_NONE;
	a->key_len = SLED_AGG_STR_KEY;
	site->lane[0].agg[0] = 1;
	site->lane[0].agg_strings = 1;
	site->lanes = SLED_LANES_AGG | 1u;
}

/* Does the aggregation table hold key (its bytes in some slot)? */
static bool table_holds(const char *key)
{
	return memmem(sled_ring_agg(ring, SLED_STANDALONE_RING_DATA), sizeof(struct sled_agg_area), key,
		      strlen(key)) != NULL;
}

/* A string key on the live stack is read without the kernel; one on another stack goes
 * through it (denied here: the key is not read). */
TEST(aggregation_key_on_the_stack_is_read_by_loads)
{
	uint64_t regs[SLED_R_COUNT] = { 0 };

	on_stack();
	count_by_string();
	strcpy(stack + 1024, "stack key");
	regs[SLED_R_RSI] = (uint64_t)(uintptr_t)(stack + 1024);
	regs[SLED_R_RSP] = LO + 512;
	CHECK_EQ_INT(sled_dispatch(regs, 0), 0);
	CHECK(table_holds("stack key"));
	CHECK_EQ_INT(ring->lanes[0][0].hits, 1);

	on_stack();
	count_by_string();
	regs[SLED_R_RSP] = HI + 4096; /* the site runs on another stack */
	CHECK_EQ_INT(sled_dispatch(regs, 0), 0);
	CHECK(!table_holds("stack key"));
	CHECK_EQ_INT(ring->lanes[0][0].hits, 1);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(literal_is_copied),
		TEST_ENTRY(stack_buffer_above_rsp_is_copied),
		TEST_ENTRY(window_past_the_top_goes_to_the_kernel),
		TEST_ENTRY(red_zone_is_copied_below_it_the_kernel),
		TEST_ENTRY(site_on_another_stack_goes_to_the_kernel),
		TEST_ENTRY(unknown_stack_goes_to_the_kernel),
		TEST_ENTRY(long_stack_string_is_truncated),
		TEST_ENTRY(aggregation_key_on_the_stack_is_read_by_loads),
	};

	deny_process_vm_readv();
	return RUN_TESTS(tests);
}
