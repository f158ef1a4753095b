/* SPDX-License-Identifier: MIT */
/*
 * hostile_app - a libsled process that attacks its own shared block, as any local user
 * can: the daemon (root) must survive it, refuse or drop the block, and keep tracing
 * everyone else exactly.  Also the well-behaved app of those tests (run as root).
 *
 *   TRACEPOINT(hostile, tick, who, seq)   who: argv[1] (0 for the app the tests trust)
 *
 * Commands on stdin, one a line; each is answered with one line on stdout:
 *   emit N        emit N events (seq counting from 0 over the life of the process)
 *   truncate      truncate /dev/shm/sled.<pid> to 0 bytes and try to shrink the block itself
 *                 through /proc/self/map_files: "truncate hint RC block ERRNO"
 *   forge         point the header's rings_offset one ring stride down and sites_offset
 *                 past the end (shm_layout.h): "forged"
 *   scribble MS   for MS milliseconds write random bytes over the whole block (slots, ring
 *                 headers and data; the header last), emitting events meanwhile
 *   quit
 * The block is the mapping named "/memfd:sled (deleted)", or /dev/shm/sled.<pid> for a
 * libsled that kept it there.
 */
#define _GNU_SOURCE
#include <sled/tracepoint.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sled/abi/shm_layout.h"

static unsigned long who_am_i;
static uint64_t next_seq;

static void __attribute__((noinline)) tick(void)
{
	uint64_t who = who_am_i, seq = next_seq++;

	__asm__("" : "+r"(who), "+r"(seq)); /* in registers: arg specs a reader can evaluate */
	TRACEPOINT(hostile, tick, who, seq);
}

static char *block;
static size_t block_size;
static char block_range[64];

static int find_block(void)
{
	char line[4096], hint[64];
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(hint, sizeof(hint), "/dev/shm/sled.%d", (int)getpid());
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (strstr(line, "/memfd:sled (deleted)") || strstr(line, hint)) {
			block = (char *)lo;
			block_size = hi - lo;
			snprintf(block_range, sizeof(block_range), "%lx-%lx", lo, hi);
			break;
		}
	}
	if (f)
		fclose(f);
	return block ? 0 : -1;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void scribble(unsigned long ms)
{
	uint64_t end = now_ms() + ms;
	const uint64_t hdr = sizeof(struct sled_shm_header);

	while (now_ms() < end) {
		/* Random words anywhere past the header, and ring heads, tails and records. */
		for (int i = 0; i < 4096; i++) {
			uint64_t off = hdr + next_random() % (block_size - hdr - 8);

			memcpy(block + (off & ~7ull), &(uint64_t){ next_random() }, 8);
		}
		for (unsigned r = 0; r < SLED_SHM_MAX_RINGS; r++) {
			char *ring = block + sled_shm_rings_offset() +
				     r * sled_ring_stride(sled_shm_ring_data_of(block_size));
			struct sled_ring_header *rh = (struct sled_ring_header *)ring;

			if (next_random() & 1)
				rh->head = next_random() & 3 ? rh->tail + (next_random() % 4096) : next_random();
			if ((next_random() & 7) == 0)
				rh->tail = next_random();
			memcpy(ring + SLED_ALIGN8(sizeof(*rh)) + (next_random() % sled_shm_ring_data_of(block_size) & ~7ull),
			       &(uint64_t){ next_random() }, 8);
		}
		for (int i = 0; i < 100; i++)
			tick();
	}
	for (uint64_t off = 0; off < hdr; off += 8)
		memcpy(block + off, &(uint64_t){ next_random() }, 8);
}

int main(int argc, char **argv)
{
	char cmd[128];

	who_am_i = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (find_block()) {
		printf("no block\n");
		return 3;
	}
	printf("ready %d\n", (int)getpid());
	while (fgets(cmd, sizeof(cmd), stdin)) {
		unsigned long n = 0;

		if (sscanf(cmd, "emit %lu", &n) == 1) {
			for (unsigned long i = 0; i < n; i++)
				tick();
			printf("emitted %lu\n", n);
		} else if (!strncmp(cmd, "truncate", 8)) {
			char path[96];
			int hint, fd, err = 0;

			snprintf(path, sizeof(path), "/dev/shm/sled.%d", (int)getpid());
			hint = truncate(path, 0);
			snprintf(path, sizeof(path), "/proc/self/map_files/%s", block_range);
			fd = open(path, O_RDWR);
			if (fd < 0 || ftruncate(fd, 0))
				err = errno;
			if (fd >= 0)
				close(fd);
			printf("truncate hint %d block %s\n", hint, err ? strerrorname_np(err) : "shrunk");
		} else if (!strncmp(cmd, "forge", 5)) {
			struct sled_shm_header *h = (struct sled_shm_header *)block;

			h->rings_offset -= sled_ring_stride(sled_shm_ring_data_of(block_size));
			h->sites_offset = block_size;
			printf("forged\n");
		} else if (sscanf(cmd, "scribble %lu", &n) == 1) {
			scribble(n);
			printf("scribbled\n");
		} else if (!strncmp(cmd, "quit", 4)) {
			break;
		} else {
			printf("unknown command\n");
		}
	}
	return 0;
}
