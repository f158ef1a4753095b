/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/sled/block.h"

int block_check_version(const void *first8, pid_t pid, char *why, size_t len)
{
	uint32_t magic;
	uint16_t version;

	memcpy(&magic, first8, sizeof(magic));
	memcpy(&version, (const char *)first8 + 4, sizeof(version));
	if (magic != SLED_SHM_MAGIC) {
		snprintf(why, len, "process %d's sled block is not initialised yet", (int)pid);
		return -EAGAIN;
	}
	if (version != SLED_SHM_VERSION) {
		snprintf(why, len, "process %d runs libsled shm version %u, probed speaks version %u",
			 (int)pid, (unsigned)version, (unsigned)SLED_SHM_VERSION);
		return -EPROTO;
	}
	return 0;
}

/* One field of the copied header against what the layout says it must be. */
#define EXPECT(field, want)                                                                 \
	do {                                                                                \
		if ((uint64_t)h.field != (uint64_t)(want)) {                                \
			snprintf(why, len, "process %d's sled block header disagrees with the " \
				 "version %u layout: " #field " is %llu, not %llu", (int)pid,    \
				 (unsigned)SLED_SHM_VERSION, (unsigned long long)h.field,      \
				 (unsigned long long)(want));                                   \
			return -EBADMSG;                                                    \
		}                                                                           \
	} while (0)

int block_check_header(const void *mem, uint64_t size, pid_t pid, char *why, size_t len)
{
	struct sled_shm_header h;
	uint64_t ring_data;
	int ret;

	if (size < sizeof(h)) {
		snprintf(why, len, "process %d's sled block has %llu bytes, less than its header",
			 (int)pid, (unsigned long long)size);
		return -EBADMSG;
	}
	memcpy(&h, mem, sizeof(h));
	ret = block_check_version(&h, pid, why, len);
	if (ret)
		return ret;
	/* The ring size follows from the sealed block's size, not from the header, which
	 * must only agree with it. */
	ring_data = sled_shm_ring_data_of(size);
	if (!ring_data) {
		snprintf(why, len, "process %d's sled block has %llu bytes, not a version %u block "
			 "of any allowed ring size (a power of two from %uK to %uM)", (int)pid,
			 (unsigned long long)size, (unsigned)SLED_SHM_VERSION,
			 SLED_SHM_RING_DATA_MIN >> 10, SLED_SHM_RING_DATA_MAX >> 20);
		return -EBADMSG;
	}
	EXPECT(header_size, sizeof(struct sled_shm_header));
	EXPECT(max_sites, SLED_SHM_MAX_SITES);
	EXPECT(max_rings, SLED_SHM_MAX_RINGS);
	EXPECT(ring_data, ring_data);
	EXPECT(ring_stride, sled_ring_stride(ring_data));
	EXPECT(sites_offset, sled_shm_sites_offset());
	EXPECT(rings_offset, sled_shm_rings_offset());
	EXPECT(total_size, size);
	/* Not a malformed block: a child between fork and making its own still maps its
	 * parent's, and looks again in a moment. */
	if (h.pid != (uint32_t)pid) {
		snprintf(why, len, "process %d maps the sled block of process %u", (int)pid,
			 (unsigned)h.pid);
		return -ESTALE;
	}
	return 0;
}

unsigned block_adopt_slots(struct sled_shm_site *slots)
{
	unsigned n = 0;

	for (; n < SLED_SHM_MAX_SITES; n++) {
		struct sled_shm_site *s = &slots[n];
		uint32_t kind = __atomic_load_n(&s->kind, __ATOMIC_ACQUIRE);

		if ((kind != SLED_SITE_SLOT_TRACEPOINT && kind != SLED_SITE_SLOT_GUARD) ||
		    __atomic_load_n(&s->nargs, __ATOMIC_RELAXED) > SLED_SHM_MAX_ARGS)
			break;
		/* Its lanes stay as they are until the first hand-over, which sees them active
		 * with no probe of ours and waits for them to go quiet before reusing them. */
		__atomic_store_n(&s->want, 0, __ATOMIC_RELEASE);
	}
	return n;
}
