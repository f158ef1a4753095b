// SPDX-License-Identifier: MIT
/*
 * elf_symbols: evaluating the symbols of arg specs.
 *
 * A compiler names a global, a static local ("counter.0" from gcc, "main.counter" from
 * clang) or a __thread variable in the operand when it can address it directly; the
 * symbol is then defined in the same object (the executable's copy relocation for a
 * library's global included).  A name with several definitions of different values (two
 * translation units each with a static "counter") cannot be told apart from the note
 * alone: that is an error, never a guess.
 *
 * Thread-local: "%fs:x@tpoff" appears only in executables (local-exec model), where the
 * TLS block ends at the thread pointer: tpoff = st_value - the block's size rounded as
 * the dynamic linker (glibc's _dl_determine_tlsoffset, musl alike) places it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_symbols.h"

struct sym_entry {
	const char *name;
	uint64_t value;
	uint8_t type;  /* STT_* */
	uint8_t table; /* 0 .symtab, 1 .dynsym */
};

void sled_elf_symbols_init(struct sled_elf_symbols *s, Elf *elf)
{
	memset(s, 0, sizeof(*s));
	s->elf = elf;
}

void sled_elf_symbols_free(struct sled_elf_symbols *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct sym_entry *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	return c ? c : (int)a->table - (int)b->table;
}

static void add_table(struct sled_elf_symbols *s, Elf_Scn *scn, const GElf_Shdr *sh, uint8_t table)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count, i;
	struct sym_entry *v;

	if (!data || !sh->sh_entsize || data->d_size / sh->sh_entsize == 0)
		return;
	count = data->d_size / sh->sh_entsize;
	v = realloc(s->v, (s->n + count) * sizeof(*v));
	if (!v)
		return;
	s->v = v;
	for (i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;
		uint8_t type;

		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type == STT_SECTION || type == STT_FILE)
			continue;
		name = elf_strptr(s->elf, sh->sh_link, sym.st_name);
		if (!name || !name[0])
			continue;
		v[s->n++] = (struct sym_entry){ name, sym.st_value, type, table };
	}
}

static void read_segments(struct sled_elf_symbols *s)
{
	GElf_Ehdr eh;
	size_t n;

	if (!gelf_getehdr(s->elf, &eh) || elf_getphdrnum(s->elf, &n))
		return;
	s->executable = eh.e_type == ET_EXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr p;

		if (!gelf_getphdr(s->elf, (int)i, &p))
			continue;
		if (p.p_type == PT_INTERP)
			s->executable = true; /* a PIE: only executables ask for an interpreter */
		if (p.p_type == PT_TLS) {
			uint64_t align = p.p_align ? p.p_align : 1;
			uint64_t firstbyte = (0 - (p.p_vaddr & (align - 1))) & (align - 1);

			if (align & (align - 1))
				continue; /* not a power of two: no loader would place it */
			s->has_tls = true;
			s->tls_offset = ((p.p_memsz - firstbyte + align - 1) & ~(align - 1)) + firstbyte;
		}
	}
}

static void build_index(struct sled_elf_symbols *s)
{
	Elf_Scn *scn = NULL;

	s->indexed = true;
	while ((scn = elf_nextscn(s->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			add_table(s, scn, &sh, 0);
		else if (sh.sh_type == SHT_DYNSYM)
			add_table(s, scn, &sh, 1);
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	read_segments(s);
}

/* strcmp of the counted name against a NUL-terminated one. */
static int cmp_name(const char *name, size_t len, const char *other)
{
	int c = strncmp(name, other, len);

	return c ? c : -(unsigned char)other[len];
}

/* The first entry named [name, len), or s->n. */
static size_t first_named(const struct sled_elf_symbols *s, const char *name, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_name(name, len, s->v[mid].name) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && cmp_name(name, len, s->v[lo].name) == 0 ? lo : s->n;
}

static int lookup(void *ctx, const char *name, size_t len, bool tpoff, uint64_t *value, char *err,
		  size_t errlen)
{
	struct sled_elf_symbols *s = ctx;
	const struct sym_entry *found = NULL;
	size_t i;
	int shown = (int)(len > 64 ? 64 : len);

	if (!s->indexed)
		build_index(s);
	i = first_named(s, name, len);
	if (i == s->n) {
		snprintf(err, errlen, "symbol '%.*s' is not in the object's symbol tables%s", shown,
			 name, len > 64 ? "..." : "");
		return -ENOENT;
	}
	/* .symtab sorts first; .dynsym is the fallback of a stripped object. */
	for (; i < s->n && cmp_name(name, len, s->v[i].name) == 0; i++) {
		if (found && found->table != s->v[i].table)
			break;
		if (found && found->value != s->v[i].value) {
			snprintf(err, errlen, "symbol '%.*s' is defined more than once", shown, name);
			return -ENOENT;
		}
		found = &s->v[i];
	}
	if (tpoff != (found->type == STT_TLS)) {
		snprintf(err, errlen, "symbol '%.*s' %s thread-local", shown, name,
			 tpoff ? "is not" : "is");
		return -ENOENT;
	}
	if (!tpoff) {
		*value = found->value;
		return 0;
	}
	if (!s->has_tls || !s->executable) {
		snprintf(err, errlen, "symbol '%.*s'@tpoff outside an executable's TLS", shown, name);
		return -ENOENT;
	}
	*value = found->value - s->tls_offset;
	return 0;
}

struct sled_symbols sled_elf_symbols_resolver(struct sled_elf_symbols *s)
{
	return (struct sled_symbols){ lookup, s };
}
