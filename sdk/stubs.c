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
 * A site whose arguments are all whole registers (other than %rsp) gets a fast part in
 * front, which pushes their values and tries fast_path.S first; that part returns ZF=1
 * when the event needs the general path, which then runs as above:
 *
 *     lea  -128(%rsp), %rsp
 *     push %reg(n-1) ... %reg(0)   the arguments' values
 *     push $(slot | size << 16)    size: the record's, 16 + 8n
 *     call *fast_trampoline_n(%rip)
 *     lea  8+8n(%rsp), %rsp
 *     jz   general
 *     lea  128(%rsp), %rsp
 *     jmp  site + 6                its rel32 FP_RET_TO_REL32 bytes after the return address
 *   general_entry:                  where the sled jumps while its probe is not a plain one
 *     lea  -128(%rsp), %rsp
 *   general:
 *     push $slot ... (the four instructions above, after the first lea)
 *
 * The agent points the sled at the fast part when the site's only probe is a plain one
 * (SLED_LANES_FAST) as it patches it or later, else at general_entry, so that a probe
 * with functions, strings or aggregations does not pay for the fast part's check first
 * (19 instructions).
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

#include <sled/tracepoint.h>

#include "fast_path.h"
#include "runtime.h"

#define REGION_SIZE (64 * 1024)
#define STUB_SIZE   96
#define REACH       ((int64_t)1 << 31)
/* The first stub-sized cell of a region holds the trampolines' addresses: the general
 * one, then the fast one for 0..FP_MAX_ARGS arguments. */
#define FIRST_STUB  STUB_SIZE

/* fast_path.S's offsets, checked against the structures they stand for. */
_Static_assert(offsetof(struct sled_producer, resv) == FP_TLS_RESV &&
		       offsetof(struct sled_producer, depth) == FP_TLS_DEPTH &&
		       offsetof(struct sled_producer, ring) == FP_TLS_RING,
	       "fast_path.h: struct sled_producer");
_Static_assert(offsetof(struct sled_runtime, sites) == FP_RT_SITES &&
		       offsetof(struct sled_runtime, ring_data) == FP_RT_RING_DATA,
	       "fast_path.h: struct sled_runtime");
_Static_assert(sizeof(struct sled_shm_site) == FP_SITE_SIZE &&
		       offsetof(struct sled_shm_site, lanes) == FP_SITE_LANES,
	       "fast_path.h: struct sled_shm_site");
_Static_assert(offsetof(struct sled_ring_header, in_slot) == FP_RING_IN_SLOT &&
		       offsetof(struct sled_ring_header, head) == FP_RING_HEAD &&
		       offsetof(struct sled_ring_header, tail_cache) == FP_RING_TAIL_CACHE &&
		       offsetof(struct sled_ring_header, recheck) == FP_RING_RECHECK &&
		       offsetof(struct sled_ring_header, lanes) == FP_RING_LANES &&
		       sizeof(struct sled_lane_counters) == 64 &&
		       offsetof(struct sled_lane_counters, hits) == FP_LANE_HITS &&
		       offsetof(struct sled_lane_counters, drops) == FP_LANE_DROPS &&
		       SLED_SHM_LANES == 4 && SLED_ALIGN8(sizeof(struct sled_ring_header)) == FP_RING_DATA,
	       "fast_path.h: struct sled_ring_header");
_Static_assert(FP_LANES_FAST == SLED_LANES_FAST && FP_LANES_ACTIVE == SLED_LANES_ACTIVE &&
		       FP_LANES_FAST_SHIFT == SLED_LANES_FAST_SHIFT,
	       "fast_path.h: lanes word");
_Static_assert(offsetof(struct sled_record, size) == 0 && offsetof(struct sled_record, site) == 4 &&
		       offsetof(struct sled_record, flags) == 6 && offsetof(struct sled_record, tsc) == 8 &&
		       sizeof(struct sled_record) == 16,
	       "fast_path.S writes struct sled_record as two words");
_Static_assert(SLED_SHM_MAX_SITES <= 0x10000, "the stub pushes the slot as a u16");
_Static_assert(8 * (2 + FP_MAX_ARGS) <= STUB_SIZE, "the trampolines' pointers fit the first cell");

bool sled_fast_path = true;

struct region {
	uint64_t base;
	unsigned used; /* stubs handed out */
};

static struct region regions[64];
static unsigned nregions;
static uint64_t slot_stub[SLED_SHM_MAX_SITES];
static uint64_t slot_general[SLED_SHM_MAX_SITES]; /* its general entry */
static uint64_t slot_addr[SLED_SHM_MAX_SITES];
/* The argument registers a slot's stub pushes (hardware numbers; nargs 0xff: no fast
 * part): a stub is reused only for the same site with the same arguments. */
struct fast_form {
	uint8_t nargs;
	uint8_t reg[FP_MAX_ARGS];
};
static struct fast_form slot_form[SLED_SHM_MAX_SITES];

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
	uint64_t tramps[2 + FP_MAX_ARGS];

	tramps[0] = (uint64_t)(uintptr_t)sled_trampoline;
	for (unsigned n = 0; n <= FP_MAX_ARGS; n++)
		tramps[1 + n] = (uint64_t)(uintptr_t)sled_fast_trampolines[n];

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
			return sled_poke_raw(r->base, tramps, sizeof(tramps));
		}
	}
	return -ENOMEM;
}

/* The hardware number of a sled register (shm_layout.h order), or -1 for %rsp, %rip. */
static int hw_reg(unsigned r)
{
	static const int8_t hw[SLED_R_COUNT] = {
		[SLED_R_RAX] = 0, [SLED_R_RCX] = 1, [SLED_R_RDX] = 2, [SLED_R_RBX] = 3,
		[SLED_R_RSP] = -1, [SLED_R_RBP] = 5, [SLED_R_RSI] = 6, [SLED_R_RDI] = 7,
		[SLED_R_R8] = 8, [SLED_R_R9] = 9, [SLED_R_R10] = 10, [SLED_R_R11] = 11,
		[SLED_R_R12] = 12, [SLED_R_R13] = 13, [SLED_R_R14] = 14, [SLED_R_R15] = 15,
		[SLED_R_RIP] = -1,
	};

	return r < SLED_R_COUNT ? hw[r] : -1;
}

/* The fast form of site s: every argument a whole 64-bit integer register. */
static struct fast_form fast_form_of(const struct sled_shm_site *s)
{
	const struct fast_form none = { .nargs = 0xff };
	struct fast_form f = none;
	unsigned n = s->nargs;

	if (!sled_fast_path || n > FP_MAX_ARGS || s->kind != SLED_SITE_SLOT_TRACEPOINT)
		return none;
	for (unsigned i = 0; i < n; i++) {
		struct sled_shm_arg a = s->args[i];
		int hw = hw_reg(a.reg);

		if (a.kind != SLED_A_REG || a.size != 8 || a.shift || hw < 0 || a.type == SLED_T_STRING)
			return none;
		f.reg[i] = (uint8_t)hw;
	}
	f.nargs = (uint8_t)n;
	return f;
}

static void put32(uint8_t *p, int64_t v)
{
	int32_t w = (int32_t)v;

	memcpy(p, &w, 4);
}

/* Encode the stub for slot at address stub into s (STUB_SIZE bytes). */
static unsigned encode_stub(uint8_t *s, uint64_t stub, uint64_t region, unsigned slot, uint64_t site,
			    const struct fast_form *f)
{
	unsigned n = 0, i, general_entry = 0;

	memset(s, 0xcc, STUB_SIZE);
	/* lea -0x80(%rsp), %rsp */
	memcpy(s, "\x48\x8d\x64\x24\x80", 5);
	n = 5;
	if (f->nargs != 0xff) {
		unsigned jz;

		for (i = f->nargs; i-- > 0;) { /* push %reg */
			if (f->reg[i] >= 8)
				s[n++] = 0x41;
			s[n++] = (uint8_t)(0x50 + (f->reg[i] & 7));
		}
		/* push $(slot | size << 16) */
		s[n++] = 0x68;
		put32(s + n, (int64_t)slot | (int64_t)(16 + 8 * f->nargs) << 16);
		n += 4;
		/* call *region+8+8n(%rip): sled_fast_trampoline_<n> */
		s[n++] = 0xff;
		s[n++] = 0x15;
		put32(s + n, (int64_t)(region + 8 + 8 * f->nargs) - (int64_t)(stub + n + 4));
		n += 4;
		/* lea 8+8n(%rsp), %rsp */
		memcpy(s + n, "\x48\x8d\x64\x24", 4);
		s[n + 4] = (uint8_t)(8 + 8 * f->nargs);
		n += 5;
		/* jz general */
		s[n++] = 0x74;
		jz = n++;
		/* lea 0x80(%rsp), %rsp */
		memcpy(s + n, "\x48\x8d\xa4\x24\x80\x00\x00\x00", 8);
		n += 8;
		/* jmp site + 6 */
		s[n++] = 0xe9;
		put32(s + n, (int64_t)(site + 6) - (int64_t)(stub + n + 4));
		n += 4;
		/* general_entry: lea -0x80(%rsp), %rsp */
		general_entry = n;
		memcpy(s + n, "\x48\x8d\x64\x24\x80", 5);
		n += 5;
		s[jz] = (uint8_t)(n - (jz + 1));
	}
	/* The general path: push $slot */
	s[n++] = 0x68;
	memcpy(s + n, &slot, 4);
	n += 4;
	/* call *region(%rip): the trampoline pointer at the region's start */
	s[n++] = 0xff;
	s[n++] = 0x15;
	put32(s + n, (int64_t)region - (int64_t)(stub + n + 4));
	n += 4;
	/* lea 0x88(%rsp), %rsp */
	memcpy(s + n, "\x48\x8d\xa4\x24\x88\x00\x00\x00", 8);
	n += 8;
	/* jmp site + 6, STUB_RET_TO_JMP bytes after the call's return address: the trampoline
	 * reads the site's %rip for the unwinder from its rel32 */
	s[n++] = 0xe9;
	put32(s + n, (int64_t)(site + 6) - (int64_t)(stub + n + 4));
	return general_entry;
}

uint64_t sled_stub_for(unsigned slot, const struct sled_shm_site *s, int *err)
{
	uint8_t code[STUB_SIZE];
	struct region *r = NULL;
	uint64_t stub, general, site = s->addr;
	struct fast_form f = fast_form_of(s);

	if (slot >= SLED_SHM_MAX_SITES) {
		*err = -EINVAL;
		return 0;
	}
	if (slot_stub[slot] && slot_addr[slot] == site && !memcmp(&slot_form[slot], &f, sizeof(f)))
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
	general = stub + encode_stub(code, stub, r->base, slot, site, &f);
	*err = sled_poke_raw(stub, code, sizeof(code));
	if (*err)
		return 0;
	r->used++;
	sled_note_site_memory(slot, site);
	slot_stub[slot] = stub;
	slot_general[slot] = general;
	slot_addr[slot] = site;
	slot_form[slot] = f;
	return stub;
}

uint64_t sled_stub_entry(unsigned slot, uint32_t lanes)
{
	if (slot >= SLED_SHM_MAX_SITES || !slot_stub[slot])
		return 0;
	return lanes & SLED_LANES_FAST ? slot_stub[slot] : slot_general[slot];
}
