/* SPDX-License-Identifier: MIT */
/*
 * Reading an ELF object's tracepoint sites with libelf: find the two note sections and
 * the .stapsdt.base anchor, then hand the raw bytes to notes.c together with a view of
 * the object's allocated sections (for the sled_meta records) and its PT_LOAD segments
 * (for file offsets).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_symbols.h"
#include "notes.h"

struct elf_view {
	Elf *elf;
	size_t nphdr;
	GElf_Phdr *phdr; /* PT_LOAD segments only */
};

static size_t view_read(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	struct elf_view *v = ctx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(v->elf, scn))) {
		Elf_Data *d;
		size_t off, n;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS)
			continue;
		if (vaddr < sh.sh_addr || vaddr - sh.sh_addr >= sh.sh_size)
			continue;
		d = elf_rawdata(scn, NULL);
		if (!d || !d->d_buf)
			return 0;
		off = vaddr - sh.sh_addr;
		if (off >= d->d_size)
			return 0;
		n = d->d_size - off < len ? d->d_size - off : len;
		memcpy(buf, (const char *)d->d_buf + off, n);
		return n;
	}
	return 0;
}

static int view_file_offset(void *ctx, uint64_t vaddr, uint64_t *off)
{
	struct elf_view *v = ctx;

	for (size_t i = 0; i < v->nphdr; i++) {
		const GElf_Phdr *p = &v->phdr[i];

		if (vaddr >= p->p_vaddr && vaddr - p->p_vaddr < p->p_filesz) {
			*off = vaddr - p->p_vaddr + p->p_offset;
			return 0;
		}
	}
	return -1;
}

static int load_segments(struct elf_view *v)
{
	size_t n;

	if (elf_getphdrnum(v->elf, &n))
		return -1;
	v->phdr = calloc(n ? n : 1, sizeof(*v->phdr));
	if (!v->phdr)
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr p;

		if (gelf_getphdr(v->elf, (int)i, &p) && p.p_type == PT_LOAD)
			v->phdr[v->nphdr++] = p;
	}
	return 0;
}

/*
 * The header tables must lie inside the file: libelf reports tables past the end as
 * merely absent, which would list a truncated file as one without tracepoints.
 */
static int tables_in_file(const GElf_Ehdr *eh, uint64_t size, const char *path, char *err,
			  size_t errlen)
{
	uint64_t sh_end = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
	uint64_t ph_end = eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize;

	if (eh->e_shoff && (eh->e_shoff > size || sh_end > size || sh_end < eh->e_shoff)) {
		snprintf(err, errlen, "%s: section headers lie past the end of the file "
			 "(truncated?)", path);
		return -EIO;
	}
	if (eh->e_phoff && (eh->e_phoff > size || ph_end > size || ph_end < eh->e_phoff)) {
		snprintf(err, errlen, "%s: program headers lie past the end of the file "
			 "(truncated?)", path);
		return -EIO;
	}
	return 0;
}

/* Raw bytes of a note section; a section libelf cannot read (past the end of a file
 * that shrank under us) is an error, not an empty section. */
static int section_bytes(Elf_Scn *scn, Elf_Data **out, const char *path, const char *name,
			 char *err, size_t errlen)
{
	*out = elf_rawdata(scn, NULL);
	if (!*out) {
		snprintf(err, errlen, "%s: %s unreadable: %s", path, name, elf_errmsg(-1));
		return -EIO;
	}
	return 0;
}

static int read_elf(Elf *elf, uint64_t file_size, const char *display_path,
		    struct sled_object *obj, char *err, size_t errlen)
{
	struct elf_view view = { .elf = elf };
	struct sled_elf_symbols symbols;
	struct sled_symbols resolver;
	struct sled_image image = { view_read, view_file_offset, &view, &resolver };
	Elf_Data *stapsdt = NULL, *sled = NULL;
	uint64_t base_addr = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t shstrndx;
	int ret;

	memset(obj, 0, sizeof(*obj));
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		snprintf(err, errlen, "%s: not an ELF file", display_path);
		return -ENOEXEC;
	}
	if (gelf_getclass(elf) != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		snprintf(err, errlen, "%s: not an x86-64 ELF object", display_path);
		return -ENOEXEC;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		snprintf(err, errlen, "%s: not an executable or shared library", display_path);
		return -ENOEXEC;
	}
	ret = tables_in_file(&eh, file_size, display_path, err, errlen);
	if (ret)
		return ret;
	if (elf_getshdrstrndx(elf, &shstrndx)) {
		snprintf(err, errlen, "%s: unreadable section headers: %s", display_path,
			 elf_errmsg(-1));
		return -EIO;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		ret = 0;
		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		/* Raw bytes: notes are parsed by hand, no libelf translation wanted. */
		if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.stapsdt"))
			ret = section_bytes(scn, &stapsdt, display_path, name, err, errlen);
		else if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.sled"))
			ret = section_bytes(scn, &sled, display_path, name, err, errlen);
		else if (!strcmp(name, ".stapsdt.base"))
			base_addr = sh.sh_addr;
		if (ret)
			return ret;
	}
	snprintf(obj->path, sizeof(obj->path), "%s", display_path);
	obj->elf_type = eh.e_type;
	if (load_segments(&view)) {
		snprintf(err, errlen, "%s: unreadable program headers", display_path);
		return -EIO;
	}
	sled_elf_symbols_init(&symbols, elf);
	resolver = sled_elf_symbols_resolver(&symbols);
	ret = sled_notes_parse(obj, stapsdt && stapsdt->d_buf ? stapsdt->d_buf : NULL,
			       stapsdt && stapsdt->d_buf ? stapsdt->d_size : 0,
			       sled && sled->d_buf ? sled->d_buf : NULL,
			       sled && sled->d_buf ? sled->d_size : 0, base_addr, &image);
	free(view.phdr);
	sled_elf_symbols_free(&symbols);
	if (ret) {
		snprintf(err, errlen, "%s: out of memory", display_path);
		sled_object_free(obj);
	}
	return ret;
}

static int libelf_ready(char *err, size_t errlen)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf initialization failed: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	return 0;
}

int sled_object_read_fd(int fd, const char *display_path, struct sled_object *obj, char *err,
			size_t errlen)
{
	struct stat st;
	Elf *elf;
	int ret = libelf_ready(err, errlen);

	if (ret)
		return ret;
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "%s: %s", display_path, strerror(errno));
		return -EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", display_path);
		return -ENOEXEC;
	}
	/* Read with pread, never mapped: the file belongs to whoever can write it, and a
	 * mapping of a file that shrinks faults (SIGBUS) where a read just comes up short. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		snprintf(err, errlen, "%s: not an ELF file", display_path);
		return -ENOEXEC;
	}
	ret = read_elf(elf, (uint64_t)st.st_size, display_path, obj, err, errlen);
	elf_end(elf);
	return ret;
}

int sled_object_read(const char *path, struct sled_object *obj, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	ret = sled_object_read_fd(fd, path, obj, err, errlen);
	close(fd);
	return ret;
}

int sled_object_read_mem(const void *image, size_t size, const char *display_path,
			 struct sled_object *obj, char *err, size_t errlen)
{
	char *copy;
	Elf *elf;
	int ret = libelf_ready(err, errlen);

	if (ret)
		return ret;
	/* elf_memory() wants a writable buffer it may keep using until elf_end(). */
	copy = malloc(size ? size : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, image, size);
	elf = elf_memory(copy, size);
	if (!elf) {
		free(copy);
		snprintf(err, errlen, "%s: not an ELF file", display_path);
		return -ENOEXEC;
	}
	ret = read_elf(elf, size, display_path, obj, err, errlen);
	elf_end(elf);
	free(copy);
	return ret;
}
