/* SPDX-License-Identifier: MIT */
/*
 * This process's own tracepoints, by provider and name.  The notes are not loaded (they
 * are non-allocated sections), so each loaded object's file is read: its section headers,
 * then its .note.stapsdt (tracepoints) and .note.sled (guards) sections.  Only
 * sled_enabled() needs this, on a control path; nothing here runs on the hot path.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sled/tracepoint.h>

#include "runtime.h"

#define MAX_NOTE_SECTION (64u << 20) /* larger is not a note section of ours */

struct site_query {
	const char *provider, *name;
	bool (*fn)(uint64_t addr, void *arg);
	void *arg;
	bool stopped;
};

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* desc: pc, second address, semaphore, then "provider\0name\0...". */
static bool site_matches(const struct site_query *q, const char *desc, uint32_t size)
{
	const char *p = desc + 24, *end = desc + size;
	size_t plen, nlen;

	if (size <= 24)
		return false;
	plen = strnlen(p, (size_t)(end - p));
	if (p + plen >= end || strcmp(p, q->provider))
		return false;
	p += plen + 1;
	nlen = strnlen(p, (size_t)(end - p));
	return p + nlen < end && !strcmp(p, q->name);
}

/* Walks one note section; true when the query's callback asked to stop. */
static bool scan_notes(struct site_query *q, const char *buf, uint64_t size, uint64_t bias)
{
	uint64_t off = 0;

	while (off + sizeof(Elf64_Nhdr) <= size) {
		const Elf64_Nhdr *n = (const Elf64_Nhdr *)(buf + off);
		uint64_t name_off = off + sizeof(*n);
		uint64_t desc_off = name_off + ((n->n_namesz + 3u) & ~3u);
		uint64_t next = desc_off + ((n->n_descsz + 3u) & ~3u);
		const char *owner = buf + name_off, *desc = buf + desc_off;
		bool site;
		uint64_t pc;

		if (next > size || next <= off)
			break;
		site = (n->n_namesz == 8 && !memcmp(owner, "stapsdt", 8) && n->n_type == 3) ||
		       (n->n_namesz == 5 && !memcmp(owner, "sled", 5) && n->n_type == SLED_NOTE_GUARD);
		if (site && site_matches(q, desc, n->n_descsz)) {
			memcpy(&pc, desc, sizeof(pc));
			if (q->fn(bias + pc, q->arg))
				return true;
		}
		off = next;
	}
	return false;
}

static bool scan_file(struct site_query *q, const char *path, uint64_t bias)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	bool stop = false;

	if (fd < 0)
		return false;
	if (!read_at(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr)) {
		close(fd);
		return false;
	}
	for (unsigned i = 0; i < eh.e_shnum && !stop; i++) {
		Elf64_Shdr sh;
		char *buf;

		if (!read_at(fd, &sh, sizeof(sh), eh.e_shoff + (uint64_t)i * sizeof(sh)))
			break;
		if (sh.sh_type != SHT_NOTE || !sh.sh_size || sh.sh_size > MAX_NOTE_SECTION)
			continue;
		buf = malloc(sh.sh_size);
		if (buf && read_at(fd, buf, sh.sh_size, sh.sh_offset))
			stop = scan_notes(q, buf, sh.sh_size, bias);
		free(buf);
	}
	close(fd);
	return stop;
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct site_query *q = arg;
	const char *path = info->dlpi_name;

	(void)size;
	if (!path || !*path)
		path = "/proc/self/exe"; /* the main program has no name here */
	/* A note's pc is a link-time address: the load bias makes it a run-time one (0 for
	 * a non-PIE executable). */
	q->stopped = scan_file(q, path, info->dlpi_addr);
	return q->stopped;
}

bool sled_self_sites(const char *provider, const char *name,
		     bool (*fn)(uint64_t addr, void *arg), void *arg)
{
	struct site_query q = { provider, name, fn, arg, false };

	dl_iterate_phdr(scan_object, &q);
	return q.stopped;
}
