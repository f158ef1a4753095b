/* SPDX-License-Identifier: MIT */
/*
 * Attaching a block of arbitrary bytes: the input is laid over a block in pieces, as far
 * as it reaches: the header and the first SLOTS site slots, then the first ring's
 * header lines (state, tid, head, tail), then that ring's data; the rest is zero.  The header check must refuse every header that disagrees with the layout; a
 * block it accepts has its slots adopted and its rings drained, all within the one
 * allocation of exactly sled_shm_size(SLED_SHM_RING_DATA_DEFAULT) bytes (a sanitizer catches the rest).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sled/block.h"
#include "daemon/sled/drain.h"

#define PID 1234
#define SLOTS 4
#define PART1 (sizeof(struct sled_shm_header) + SLOTS * sizeof(struct sled_shm_site))
#define PART2 192 /* the ring header's three lines */

static size_t lay(char *dst, const uint8_t **data, size_t *size, size_t max)
{
	size_t n = *size < max ? *size : max;

	memcpy(dst, *data, n);
	*data += n;
	*size -= n;
	return n;
}

static void sink(const struct sled_event *ev, const struct traced_proc *p, void *arg)
{
	(void)arg;
	if (ev->pid != p->pid)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *mem;
	static struct traced_proc p;
	static struct slot_meta meta;
	static const struct sled_clock clock = { .ns_per_tick = 1.0 };
	char why[256], *ring0, *ring0_data;
	size_t n1, n2, n3;
	int ret;

	if (!mem)
		mem = calloc(1, sled_shm_size(SLED_SHM_RING_DATA_DEFAULT));
	if (!mem)
		return 0;
	ring0 = mem + sled_shm_rings_offset();
	ring0_data = ring0 + SLED_ALIGN8(sizeof(struct sled_ring_header));
	n1 = lay(mem, &data, &size, PART1);
	n2 = lay(ring0, &data, &size, PART2);
	n3 = lay(ring0_data, &data, &size, SLED_SHM_RING_DATA_DEFAULT);
	ret = block_check_header(mem, sled_shm_size(SLED_SHM_RING_DATA_DEFAULT), PID, why, sizeof(why));
	if (ret == 0) {
		const struct sled_shm_header *h = (const void *)mem;

		/* Accepted: then it says exactly what the daemon's constants say. */
		if (h->sites_offset != sled_shm_sites_offset() || h->rings_offset != sled_shm_rings_offset() ||
		    h->ring_stride != sled_ring_stride(SLED_SHM_RING_DATA_DEFAULT) || h->total_size != sled_shm_size(SLED_SHM_RING_DATA_DEFAULT) ||
		    h->pid != PID || h->version != SLED_SHM_VERSION)
			abort();
		memset(&p, 0, sizeof(p));
		p.pid = PID;
		p.shm = (struct sled_shm_header *)mem;
		p.size = sled_shm_size(SLED_SHM_RING_DATA_DEFAULT);
		p.ring_data = SLED_SHM_RING_DATA_DEFAULT;
		p.slots = block_slots(mem);
		p.rings = block_rings(mem);
		p.nslots = block_adopt_slots(p.slots);
		if (p.nslots > SLED_SHM_MAX_SITES)
			abort();
		memset(&meta, 0, sizeof(meta));
		for (unsigned i = 0; i < p.nslots; i++) {
			meta.nfields = p.slots[i].nargs <= SLED_SHM_MAX_ARGS ? p.slots[i].nargs : 0;
			p.meta[i] = &meta;
		}
		drain_process(&p, &clock, sink, NULL);
	} else if (!why[0] || !memchr(why, 0, sizeof(why))) {
		abort(); /* every refusal says why, in one line */
	}
	/* Back to zero for the next input: what the input covered, and what draining wrote. */
	memset(mem, 0, n1);
	memset(ring0, 0, n2);
	memset(ring0_data, 0, n3);
	for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++)
		memset(mem + sled_shm_rings_offset() + r * sled_ring_stride(SLED_SHM_RING_DATA_DEFAULT), 0, 192);
	return 0;
}
