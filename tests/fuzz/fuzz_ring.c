/* SPDX-License-Identifier: MIT */
/*
 * Draining a ring of arbitrary bytes, as a hostile process can write its own rings at any
 * time.  The input: one byte of slot setup (how many slots have names, and whether their
 * fields are strings), the ring's head, tail and tid (8 + 8 + 4 bytes), then the ring's
 * data from offset 0.  The ring is exactly one ring stride on the heap, so a sanitizer
 * catches any read past it; every event handed out must hold what its slot says, with
 * its strings inside the ring.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sled/drain.h"

#define SLOTS 4

static const char *ring_lo, *ring_hi;

static void check_event(const struct sled_event *ev, const struct traced_proc *p, void *arg)
{
	(void)arg;
	if (ev->pid != p->pid || ev->nfields > SLED_EVENT_MAX_FIELDS)
		abort();
	for (unsigned i = 0; i < ev->nfields; i++) {
		const struct sled_event_field *f = &ev->fields[i];

		if (f->type != SLED_T_STRING || !f->v.str.ptr)
			continue;
		if (f->v.str.ptr < ring_lo || f->v.str.ptr + f->v.str.len > ring_hi ||
		    f->v.str.len > SLED_SHM_MAX_STR)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct traced_proc p;
	static struct slot_meta meta[SLOTS];
	static struct sled_ring_header *ring;
	static const struct sled_clock clock = { .ns_per_tick = 1.0 };
	char *ring_data;
	uint64_t head, tail;
	uint32_t tid;
	size_t n;

	if (size < 21)
		return 0;
	if (!ring)
		ring = malloc(sled_ring_stride(SLED_SHM_RING_DATA_DEFAULT));
	if (!ring)
		return 0;
	memset(ring, 0, sled_ring_stride(SLED_SHM_RING_DATA_DEFAULT));
	memset(&p, 0, sizeof(p));
	p.pid = 4242;
	p.ring_data = SLED_SHM_RING_DATA_DEFAULT;
	p.nslots = data[0] & 3;
	for (unsigned i = 0; i < SLOTS; i++) {
		memset(&meta[i], 0, sizeof(meta[i]));
		meta[i].nfields = (i * 5 + (data[0] >> 2)) % (SLED_SHM_MAX_ARGS + 1);
		for (unsigned f = 0; f < meta[i].nfields; f++) {
			meta[i].fields[f].type = ((data[0] >> 4) >> (f & 3)) & 1 ? SLED_T_STRING : SLED_T_U64;
			strcpy(meta[i].fields[f].name, "f");
		}
		p.meta[i] = (data[0] & 0x80) && i == 1 ? NULL : &meta[i];
	}
	memcpy(&head, data + 1, 8);
	memcpy(&tail, data + 9, 8);
	memcpy(&tid, data + 17, 4);
	ring->head = head;
	ring->tail = tail;
	ring->tid = tid;
	ring->state = SLED_RING_OWNED;
	ring_data = (char *)ring + SLED_ALIGN8(sizeof(*ring));
	n = size - 21 < SLED_SHM_RING_DATA_DEFAULT ? size - 21 : SLED_SHM_RING_DATA_DEFAULT;
	memcpy(ring_data, data + 21, n);
	ring_lo = ring_data;
	ring_hi = ring_data + SLED_SHM_RING_DATA_DEFAULT;
	drain_ring(&p, ring, &clock, check_event, NULL);
	return 0;
}
