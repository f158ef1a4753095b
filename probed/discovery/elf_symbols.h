/* SPDX-License-Identifier: MIT */
/*
 * elf_symbols: symbolic arg-spec operands ("counter(%rip)", "8+g_conf(%rip)",
 * "%fs:tls_var@tpoff") evaluated from the object's own symbol tables, .symtab first, then
 * .dynsym.  The tables are indexed on the first lookup only: most objects never need it.
 */
#ifndef SLED_ELF_SYMBOLS_H
#define SLED_ELF_SYMBOLS_H

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>

#include "argspec.h"

struct sym_entry;

struct sled_elf_symbols {
	Elf *elf;
	bool indexed;
	size_t n;
	struct sym_entry *v;  /* sorted by name, then table (.symtab before .dynsym) */
	bool has_tls;         /* a PT_TLS segment: tls_offset is valid */
	uint64_t tls_offset;  /* where the executable's TLS block ends, below the thread pointer */
	bool executable;      /* an executable (PIE or not), not a shared library */
};

/* Set up (nothing read yet) for elf; the resolver for sled_argspec_parse_syms. */
void sled_elf_symbols_init(struct sled_elf_symbols *s, Elf *elf);
struct sled_symbols sled_elf_symbols_resolver(struct sled_elf_symbols *s);
void sled_elf_symbols_free(struct sled_elf_symbols *s);

#endif /* SLED_ELF_SYMBOLS_H */
