/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <sled/tracepoint.h>

#include "daemon/core/decode.h"
#include "daemon/sled/drain.h"

/* Decode one record into ev; -1 if it does not fit its own size. */
static int decode(const struct traced_proc *p, const struct sled_record *rec, const char *raw,
		  uint32_t tid, const struct sled_clock *clock, struct sled_event *ev)
{
	const struct slot_meta *m = p->meta[rec->site];
	const uint64_t *v = (const uint64_t *)(raw + sizeof(*rec));
	const char *s, *end = raw + rec->size;
	unsigned n;

	if (!m)
		return -1;
	/* The daemon's own count, never the slot's (the process can rewrite its slots). */
	n = m->nfields;
	if (n > SLED_EVENT_MAX_FIELDS || sizeof(*rec) + 8ull * n > rec->size)
		return -1;
	s = (const char *)(v + n);
	ev->provider = m->provider;
	ev->name = m->name;
	ev->ts_ns = sled_clock_tsc_to_realtime(clock, rec->tsc);
	ev->pid = p->pid;
	ev->tid = (pid_t)tid;
	ev->mode = NULL;
	ev->exe = p->exe;
	return decode_values(ev, m->fields, n, v, s, end);
}

uint64_t drain_ring(struct traced_proc *p, struct sled_ring_header *ring,
		    const struct sled_clock *clock, sled_sink_fn sink, void *arg)
{
	const char *data = (const char *)ring + SLED_ALIGN8(sizeof(*ring));
	/* head, tail and tid are the process's to write too: each is read once. */
	uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
	uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_RELAXED), n = 0, records = 0;
	uint32_t tid = __atomic_load_n(&ring->tid, __ATOMIC_RELAXED);
	uint64_t ring_data = p->ring_data; /* the daemon's, from the block's size */
	struct sled_event ev;

	/* Records are 8-byte aligned, so a position that is not cannot start one (and could
	 * read past the data's end); more than a ring's worth was never written. */
	if (head - tail > ring_data || ((head | tail) & 7)) {
		p->malformed++;
		tail = head; /* a producer that lies about head: skip, never read out of bounds */
	}
	/* How full the ring was when we came: the pressure the drain timer and status see. */
	if (head - tail > p->fill_pass)
		p->fill_pass = head - tail;
	while (tail < head) {
		uint64_t pos = tail & (ring_data - 1);
		/* The process can write its ring at any time: check and use one copy.  A pad
		 * record may be only 8 bytes (size, site, flags) at the very end of the data,
		 * so the first 8 bytes are read before deciding whether there is a timestamp. */
		struct sled_record hdr = { 0 };
		const struct sled_record *rec = &hdr;

		memcpy(&hdr, data + pos, 8);
		if (rec->site == SLED_REC_PAD ? rec->size < 8 : rec->size < sizeof(*rec)) {
			p->malformed++;
			tail = head;
			break;
		}
		if ((rec->size & 7) || rec->size > ring_data - pos || rec->size > head - tail) {
			p->malformed++;
			tail = head;
			break;
		}
		if (rec->site != SLED_REC_PAD) {
			memcpy(&hdr, data + pos, sizeof(hdr));
			if (rec->site < p->nslots &&
			    decode(p, &hdr, (const char *)(data + pos), tid, clock, &ev) == 0) {
				struct slot_meta *m = p->meta[rec->site];

				/* Exported once, counted for every lane (probe) that took it. */
				sink(&ev, p, arg);
				for (unsigned l = 0; l < SLED_SHM_LANES; l++)
					m->lane[l].exported += (hdr.flags >> l) & 1;
				n++;
			} else {
				p->malformed++;
			}
		}
		tail += rec->size;
		/* Hand the space back as we go, not only at the end: a producer that found the
		 * ring full can write again while the rest of it is being read, instead of
		 * dropping for the whole pass. */
		if ((++records & 63) == 0)
			__atomic_store_n(&ring->tail, tail, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&ring->tail, tail, __ATOMIC_RELEASE);
	return n;
}

void (*drain_ring_freed)(struct traced_proc *p, unsigned r);

uint64_t drain_process(struct traced_proc *p, const struct sled_clock *clock, sled_sink_fn sink,
		       void *arg)
{
	uint64_t n = 0;

	p->fill_pass = 0;
	for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++) {
		struct sled_ring_header *ring = proc_ring(p, r);
		uint32_t state = __atomic_load_n(&ring->state, __ATOMIC_ACQUIRE);

		if (state == SLED_RING_FREE)
			continue;
		n += drain_ring(p, ring, clock, sink, arg);
		/* Its thread is gone and everything it wrote is read: back to the pool. */
		if (state == SLED_RING_ORPHANED &&
		    __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE) == ring->tail) {
			uint32_t orphaned = SLED_RING_ORPHANED;

			/* Its aggregations outlive it: folded before the ring is claimed again. */
			if (drain_ring_freed)
				drain_ring_freed(p, r);
			__atomic_compare_exchange_n(&ring->state, &orphaned, SLED_RING_FREE, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		}
	}
	if (p->fill_pass > p->fill_hw)
		p->fill_hw = p->fill_pass;
	return n;
}
