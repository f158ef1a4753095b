/* SPDX-License-Identifier: MIT */
/* block.c: what probed accepts of a process's block header, on plain memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sled/block.h"
#include "check.h"

#define PID 4321
#define RD  SLED_SHM_RING_DATA_DEFAULT

/* A header as libsled writes it, in a buffer of the block's exact size. */
static char *good_block(void)
{
	char *mem = calloc(1, sled_shm_size(RD));
	struct sled_shm_header *h = (struct sled_shm_header *)mem;

	h->magic = SLED_SHM_MAGIC;
	h->version = SLED_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->pid = PID;
	h->max_sites = SLED_SHM_MAX_SITES;
	h->max_rings = SLED_SHM_MAX_RINGS;
	h->ring_data = RD;
	h->ring_stride = sled_ring_stride(RD);
	h->sites_offset = sled_shm_sites_offset();
	h->rings_offset = sled_shm_rings_offset();
	h->total_size = sled_shm_size(RD);
	return mem;
}

/* The header alone (block_check_header reads no further than the header). */
static const void *good_block_hdr(void)
{
	static struct sled_shm_header h;

	if (!h.magic) {
		char *mem = good_block();

		memcpy(&h, mem, sizeof(h));
		free(mem);
	}
	return &h;
}

TEST(header_as_libsled_writes_it_is_accepted)
{
	char *mem = good_block(), why[256] = "";

	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID, why, sizeof(why)), 0);
	free(mem);
}

TEST(other_version_is_named_before_any_layout_check)
{
	char *mem = good_block(), why[256], want[256];
	struct sled_shm_header *h = (struct sled_shm_header *)mem;

	h->version = 3;
	h->rings_offset = 1; /* a layout of another version: never reported as malformed */
	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID, why, sizeof(why)), -EPROTO);
	snprintf(want, sizeof(want), "process %d runs libsled shm version 3, probed speaks version %d",
		 PID, SLED_SHM_VERSION);
	CHECK_EQ_STR(why, want);
	free(mem);
}

TEST(shifted_offsets_are_refused)
{
	char *mem = good_block(), why[256];
	struct sled_shm_header *h = (struct sled_shm_header *)mem;

	h->rings_offset -= sled_ring_stride(RD);
	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID, why, sizeof(why)), -EBADMSG);
	CHECK(strstr(why, "rings_offset") != NULL);
	h->rings_offset = sled_shm_rings_offset();
	h->sites_offset = sled_shm_size(RD);
	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID, why, sizeof(why)), -EBADMSG);
	CHECK(strstr(why, "sites_offset") != NULL);
	free(mem);
}

TEST(wrong_size_or_counts_are_refused)
{
	char *mem = good_block(), why[256];
	struct sled_shm_header *h = (struct sled_shm_header *)mem;

	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD) - 4096, PID, why, sizeof(why)), -EBADMSG);
	h->max_rings = SLED_SHM_MAX_RINGS + 1;
	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID, why, sizeof(why)), -EBADMSG);
	h->max_rings = SLED_SHM_MAX_RINGS;
	h->ring_stride = 8;
	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID, why, sizeof(why)), -EBADMSG);
	free(mem);
}

TEST(every_allowed_ring_size_is_accepted_and_others_are_refused)
{
	char why[256];

	for (uint64_t rd = SLED_SHM_RING_DATA_MIN; rd <= SLED_SHM_RING_DATA_MAX; rd <<= 1) {
		char *mem = calloc(1, sizeof(struct sled_shm_header));
		struct sled_shm_header *h = (struct sled_shm_header *)mem;

		*h = *(struct sled_shm_header *)good_block_hdr();
		h->ring_data = (uint32_t)rd;
		h->ring_stride = sled_ring_stride(rd);
		h->total_size = sled_shm_size(rd);
		CHECK(sled_shm_ring_data_of(sled_shm_size(rd)) == (uint64_t)(rd));
		/* Only the header is read: the size is the mapping's, passed in. */
		CHECK_EQ_INT(block_check_header(mem, sled_shm_size(rd), PID, why, sizeof(why)), 0);
		/* A header that claims another ring size than its block's size gives. */
		h->ring_data = (uint32_t)(rd == SLED_SHM_RING_DATA_MIN ? rd * 2 : rd / 2);
		CHECK_EQ_INT(block_check_header(mem, sled_shm_size(rd), PID, why, sizeof(why)), -EBADMSG);
		CHECK(strstr(why, "ring_data") != NULL);
		free(mem);
	}
	/* Sizes no allowed ring size gives: too small, too large, not a power of two. */
	CHECK(sled_shm_ring_data_of(sled_shm_size(SLED_SHM_RING_DATA_MIN / 2)) == (uint64_t)(0));
	CHECK(sled_shm_ring_data_of(sled_shm_size(SLED_SHM_RING_DATA_MAX * 2ull)) == (uint64_t)(0));
	CHECK(sled_shm_ring_data_of(sled_shm_size(3 * SLED_SHM_RING_DATA_MIN)) == (uint64_t)(0));
	CHECK(sled_shm_ring_data_of(sled_shm_size(RD) + 64) == (uint64_t)(0));
	CHECK_EQ_INT(block_check_header(good_block_hdr(), sled_shm_size(3 * SLED_SHM_RING_DATA_MIN),
					PID, why, sizeof(why)), -EBADMSG);
	CHECK(strstr(why, "allowed ring size") != NULL);
}

TEST(block_of_another_pid_is_stale_and_unset_magic_is_not_ready)
{
	char *mem = good_block(), why[256];
	struct sled_shm_header *h = (struct sled_shm_header *)mem;

	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID + 1, why, sizeof(why)), -ESTALE);
	h->magic = 0;
	CHECK_EQ_INT(block_check_header(mem, sled_shm_size(RD), PID, why, sizeof(why)), -EAGAIN);
	free(mem);
}

TEST(adopted_slots_end_at_the_first_malformed_one)
{
	char *mem = good_block();
	struct sled_shm_site *s = block_slots(mem);

	s[0].kind = SLED_SITE_SLOT_TRACEPOINT;
	s[0].nargs = 2;
	s[0].want = 1;
	s[1].kind = SLED_SITE_SLOT_GUARD;
	s[2].kind = SLED_SITE_SLOT_TRACEPOINT;
	s[2].nargs = SLED_SHM_MAX_ARGS + 1;
	s[3].kind = SLED_SITE_SLOT_TRACEPOINT;
	CHECK_EQ_INT(block_adopt_slots(s), 2);
	CHECK_EQ_INT(s[0].want, 0);
	s[2].nargs = 0;
	s[2].kind = 77;
	CHECK_EQ_INT(block_adopt_slots(s), 2);
	free(mem);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(header_as_libsled_writes_it_is_accepted),
		TEST_ENTRY(other_version_is_named_before_any_layout_check),
		TEST_ENTRY(shifted_offsets_are_refused),
		TEST_ENTRY(wrong_size_or_counts_are_refused),
		TEST_ENTRY(every_allowed_ring_size_is_accepted_and_others_are_refused),
		TEST_ENTRY(block_of_another_pid_is_stale_and_unset_magic_is_not_ready),
		TEST_ENTRY(adopted_slots_end_at_the_first_malformed_one),
	};

	return RUN_TESTS(tests);
}
