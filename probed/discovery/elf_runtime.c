// SPDX-License-Identifier: MIT
/*
 * elf_runtime: does an ELF file bring libsled's runtime with it?  `--mode auto` with
 * `-b PATH` asks this to choose between sled mode (the processes of PATH will have the
 * runtime, hence a block and an agent) and uprobe mode (they will not).
 *
 * Yes when the dynamic section needs libsled.so (how sled.pc and the CMake package link
 * it), or when the file defines sled_runtime_version (libsled itself, or linked
 * statically).
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "sites.h"

static bool section_says_runtime(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	if (!data)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *name;

		if (sh->sh_type == SHT_DYNAMIC) {
			GElf_Dyn dyn;

			if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			name = elf_strptr(elf, sh->sh_link, dyn.d_un.d_val);
			if (name && !strncmp(name, "libsled.so", 10))
				return true;
		} else {
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, sh->sh_link, sym.st_name);
			if (name && !strcmp(name, "sled_runtime_version"))
				return true;
		}
	}
	return false;
}

int sled_elf_has_runtime(const char *path)
{
	Elf_Scn *scn = NULL;
	bool found = false;
	int fd;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf = elf_begin(fd, ELF_C_READ, NULL); /* pread: a shrinking file is no SIGBUS */
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return -1;
	}
	while (!found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNAMIC || sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB)
			found = section_says_runtime(elf, scn, &sh);
	}
	elf_end(elf);
	close(fd);
	return found;
}
