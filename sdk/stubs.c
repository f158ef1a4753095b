/* SPDX-License-Identifier: MIT */
/*
 * Per-site stubs.  An enabled sled is a `jmp rel32`, so its stub must lie within +-2 GiB
 * of the site: stubs live in executable regions mapped near the objects that hold sites.
 * A stub, entered by that jmp with the application's stack untouched:
 *
 *     lea  -128(%rsp), %rsp        step over the red zone before pushing anything
 *     push $slot                   which site fired
 *     call *trampoline(%rip)       the common trampoline in libsled (any distance)
 *     lea  136(%rsp), %rsp         drop slot and red zone (lea: flags untouched)
 *     jmp  site + 6                back after the sled
 *
 * Stubs are never freed or reused for another site: a thread may be inside one long
 * after its site was disabled.  Regions are mapped read+exec and written through
 * /proc/self/mem like the sites themselves, so no page is ever writable and executable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime.h"

#define REGION_SIZE (64 * 1024)
#define STUB_SIZE   32
#define REACH       ((int64_t)1 << 31)
/* The first stub-sized cell of a region holds the trampoline's address. */
#define FIRST_STUB  STUB_SIZE

struct region {
	uint64_t base;
	unsigned used; /* stubs handed out */
};

static struct region regions[64];
static unsigned nregions;
static uint64_t slot_stub[SLED_SHM_MAX_SITES];
static uint64_t slot_addr[SLED_SHM_MAX_SITES];

static bool reachable(uint64_t from_end, uint64_t to)
{
	int64_t d = (int64_t)(to - from_end);

	return d > -REACH + REGION_SIZE && d < REACH - REGION_SIZE;
}

/* Map a region as close to site as the address space allows, within reach. */
static int map_region_near(uint64_t site, struct region *r)
{
	static const uint64_t steps[] = { 32ull << 20, 64ull << 20, 128ull << 20, 256ull << 20,
					  512ull << 20, 1024ull << 20, 1536ull << 20 };
	uint64_t tramp = (uint64_t)(uintptr_t)sled_trampoline;

	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (int dir = -1; dir <= 1; dir += 2) {
			uint64_t hint = (site & ~(uint64_t)(REGION_SIZE - 1)) + (int64_t)dir * (int64_t)steps[i];
			void *p;

			if (dir < 0 && site < steps[i] + REGION_SIZE)
				continue;
			p = mmap((void *)(uintptr_t)hint, REGION_SIZE, PROT_READ | PROT_EXEC,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED)
				continue;
			if (!reachable(site + 6, (uint64_t)(uintptr_t)p)) {
				munmap(p, REGION_SIZE);
				continue;
			}
			r->base = (uint64_t)(uintptr_t)p;
			r->used = 0;
			return sled_poke_raw(r->base, &tramp, sizeof(tramp));
		}
	}
	return -ENOMEM;
}

static void encode_stub(uint8_t *s, uint64_t stub, uint64_t region, unsigned slot, uint64_t site)
{
	int32_t rel;

	/* lea -0x80(%rsp), %rsp */
	memcpy(s, "\x48\x8d\x64\x24\x80", 5);
	/* push $slot */
	s[5] = 0x68;
	memcpy(s + 6, &slot, 4);
	/* call *region(%rip): the trampoline pointer at the region's start */
	s[10] = 0xff;
	s[11] = 0x15;
	rel = (int32_t)((int64_t)region - (int64_t)(stub + 16));
	memcpy(s + 12, &rel, 4);
	/* lea 0x88(%rsp), %rsp */
	memcpy(s + 16, "\x48\x8d\xa4\x24\x88\x00\x00\x00", 8);
	/* jmp site + 6, STUB_RET_TO_JMP bytes after the call's return address: the trampoline
	 * reads the site's %rip for the unwinder from its rel32 */
	s[24] = 0xe9;
	rel = (int32_t)((int64_t)(site + 6) - (int64_t)(stub + 29));
	memcpy(s + 25, &rel, 4);
	memset(s + 29, 0xcc, STUB_SIZE - 29);
}

uint64_t sled_stub_for(unsigned slot, uint64_t site, int *err)
{
	uint8_t code[STUB_SIZE];
	struct region *r = NULL;
	uint64_t stub;

	if (slot >= SLED_SHM_MAX_SITES) {
		*err = -EINVAL;
		return 0;
	}
	if (slot_stub[slot] && slot_addr[slot] == site)
		return slot_stub[slot];
	for (unsigned i = 0; i < nregions && !r; i++)
		if (regions[i].used < (REGION_SIZE - FIRST_STUB) / STUB_SIZE &&
		    reachable(site + 6, regions[i].base))
			r = &regions[i];
	if (!r) {
		if (nregions == sizeof(regions) / sizeof(regions[0])) {
			*err = -ENOSPC;
			return 0;
		}
		*err = map_region_near(site, &regions[nregions]);
		if (*err)
			return 0;
		r = &regions[nregions++];
	}
	stub = r->base + FIRST_STUB + (uint64_t)r->used * STUB_SIZE;
	encode_stub(code, stub, r->base, slot, site);
	*err = sled_poke_raw(stub, code, sizeof(code));
	if (*err)
		return 0;
	r->used++;
	sled_note_site_memory(slot, site);
	slot_stub[slot] = stub;
	slot_addr[slot] = site;
	return stub;
}
