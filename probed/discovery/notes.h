/* SPDX-License-Identifier: MIT */
/*
 * notes: the byte-level parsers of .note.stapsdt and .note.sled section contents,
 * independent of libelf so that they can be fuzzed on raw bytes.  elf_notes.c feeds them
 * the sections of a real file.
 */
#ifndef SLED_NOTES_H
#define SLED_NOTES_H

#include <stddef.h>
#include <stdint.h>

#include "sites.h"

/* How the note parsers reach the rest of the object: allocated bytes by link-time
 * address (the sled_meta record a .note.sled entry points at) and the file offset of a
 * link-time address (from the PT_LOAD segment that maps it). */
struct sled_image {
	/* Copies up to len bytes at vaddr into buf; returns how many were available. */
	size_t (*read)(void *ctx, uint64_t vaddr, void *buf, size_t len);
	/* 0 and *off set when vaddr lies in a loaded segment's file bytes, else -1. */
	int (*file_offset)(void *ctx, uint64_t vaddr, uint64_t *off);
	void *ctx;
	/* Evaluates symbols in arg specs ("counter(%rip)"); NULL: such sites are skipped. */
	const struct sled_symbols *syms;
};

/*
 * Parse the contents of a .note.stapsdt section (stapsdt) and of a .note.sled section
 * (sled), either may be NULL/0, into obj->sites (appended).  base_addr is the address of
 * the .stapsdt.base section (0 if absent): a stapsdt pc is moved by base_addr minus the
 * base its note recorded, which undoes prelink's relocation of the notes' addresses.
 * Malformed entries are recorded in obj->diags and skipped.  Returns 0 or -ENOMEM.
 */
int sled_notes_parse(struct sled_object *obj, const uint8_t *stapsdt, size_t stapsdt_len,
		     const uint8_t *sled, size_t sled_len, uint64_t base_addr,
		     const struct sled_image *image);

/* Record a diagnostic (printf-style) on obj; silently dropped when out of memory. */
void sled_object_diag(struct sled_object *obj, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* SLED_NOTES_H */
