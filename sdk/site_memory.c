/* SPDX-License-Identifier: MIT */
/*
 * Memory a site's event may read without asking the kernel: the readable run of the
 * loaded segments of the object that holds the site (its code, and the read-only data
 * next to it: where string literals live).  While a thread executes the site, the object
 * is loaded, and the dynamic loader keeps every segment of a loaded object mapped and
 * readable; only holes between segments are unmapped or PROT_NONE, so the run stops at
 * the first hole.  Computed by the agent when it writes the site's stub, before the site
 * is patched (the patch's barrier publishes it to the threads that run the site).
 */
#define _GNU_SOURCE
#include <link.h>

#include "runtime.h"

struct sled_range sled_site_readable[SLED_SHM_MAX_SITES];

struct find {
	uint64_t site;
	struct sled_range run;
};

static int find_run(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;
	uint64_t lo = 0, hi = 0;

	(void)size;
	/* Program headers of PT_LOAD come in ascending address order (ELF requires it). */
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t start, end;

		if (ph->p_type != PT_LOAD)
			continue;
		start = (info->dlpi_addr + ph->p_vaddr) & ~4095ull;
		end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~4095ull;
		/* An unreadable segment or a hole ends a run. */
		if (!(ph->p_flags & PF_R) || start != hi) {
			if (lo <= f->site && f->site < hi)
				break;
			lo = hi = 0;
			if (!(ph->p_flags & PF_R))
				continue;
			lo = start;
		}
		hi = end;
	}
	if (lo <= f->site && f->site < hi) {
		f->run = (struct sled_range){ lo, hi };
		return 1;
	}
	return 0;
}

void sled_note_site_memory(unsigned slot, uint64_t site)
{
	struct find f = { .site = site };

	if (slot >= SLED_SHM_MAX_SITES)
		return;
	dl_iterate_phdr(find_run, &f);
	sled_site_readable[slot] = f.run;
}
