/* SPDX-License-Identifier: MIT */
/*
 * sites: the tracepoint sites of one ELF object, read from its notes.
 *
 * Every .note.stapsdt entry becomes a site; the matching .note.sled entry (same pc) adds
 * field names and types.  .note.sled guard entries (TRACEPOINT_ENABLED) become sites of
 * kind SLED_SITE_GUARD.  Plain stapsdt sites from other producers (glibc, sys/sdt.h users)
 * are listed too, with fields named arg0.. and typed from their arg spec.
 */
#ifndef SLED_SITES_H
#define SLED_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "argspec.h"

enum sled_site_kind {
	SLED_SITE_TRACEPOINT = 1, /* 90 + nop5 (or any stapsdt probe) */
	SLED_SITE_GUARD,          /* nop5 of TRACEPOINT_ENABLED, patched to jmp target */
};

struct sled_field {
	char name[64];
	uint8_t type; /* SLED_T_* from <sled/tracepoint.h> */
};

/*
 * At most this many sites (tracepoints and guards) are read from one object: the notes
 * are the object author's to multiply (a 56-byte note makes a ~480-byte site entry in
 * probed, held once however many processes map the object (objcache.h): ~10 MB at the
 * cap).  Past it, the rest are skipped with one diagnostic.
 * Real programs have hundreds to a few thousand.
 */
#define SLED_MAX_SITES_PER_OBJECT 20000

/* Provider, name and arg-spec text point into the object's string pool (each distinct
 * string once); they live as long as the object.  Nothing in a site is a process's own:
 * objects are shared by every process that maps the file. */
struct sled_site {
	enum sled_site_kind kind;
	const char *provider; /* at most 63 characters */
	const char *name;     /* at most 63 characters */
	uint64_t pc;      /* link-time address (prelink-adjusted) of the stapsdt pc / guard nop */
	uint64_t note_pc; /* pc as recorded in the note (sled and stapsdt entries match on it) */
	uint64_t semaphore; /* stapsdt semaphore address; 0 for sled sites */
	uint64_t target;  /* guards: link-time jump target; 0 otherwise */
	uint64_t file_offset; /* file offset of pc, from the PT_LOAD that maps it; a
			       * process's address for it: sled_site_runtime (process.h) */
	bool has_sled_note;   /* a sled TRACEPOINT (project note present) */
	const char *argspec;  /* the stapsdt argument text as found ("" for guards) */
	int nargs;
	struct sled_arg_spec args[SLED_MAX_ARGS];
	const struct sled_field *fields; /* nargs entries, pooled (shared by identical sites) */
};

/* One problem found while reading an object; reading goes on past it. */
struct sled_diag {
	char msg[192];
};

struct sled_strpool;

struct sled_object {
	char path[4096];    /* the path shown to users (as mapped, or as given) */
	struct sled_strpool *strings; /* the sites' provider, name and argspec strings */
	int elf_type;       /* ET_EXEC or ET_DYN */
	size_t nsites;
	struct sled_site *sites;
	bool sites_capped;  /* SLED_MAX_SITES_PER_OBJECT reached: some sites were skipped */
	size_t ndiags;
	struct sled_diag *diags;
};

/*
 * Read the sites of the ELF file open on fd (not closed).  display_path is recorded as
 * obj->path.  Returns 0 (an object with no notes has nsites == 0), or a negative errno
 * with a one-line reason in err: -ENOEXEC for a file that is not a 64-bit x86-64 ELF,
 * -EIO for an unreadable file.  Malformed notes and specs are recorded in obj->diags and
 * skipped; they never hide the valid sites.
 */
int sled_object_read_fd(int fd, const char *display_path, struct sled_object *obj, char *err,
			size_t errlen);

/* Same, opening path. -ENOENT/-EACCES/... from open(2). */
int sled_object_read(const char *path, struct sled_object *obj, char *err, size_t errlen);

/* Parse ELF notes from an in-memory image (fuzzing, tests); the bytes are not kept. */
int sled_object_read_mem(const void *image, size_t size, const char *display_path,
			 struct sled_object *obj, char *err, size_t errlen);

void sled_object_free(struct sled_object *obj);

/* elf_runtime.c: 1 if the ELF file at path needs libsled.so or defines the runtime
 * (linked statically), 0 if not, -1 if it cannot be read as ELF. */
int sled_elf_has_runtime(const char *path);

/*
 * Split the TRACEPOINT source text "provider, name, a, TP_FIELD(x, b + c)" into field
 * names for nargs arguments: pieces 3.. split at top-level commas (parentheses,
 * brackets, braces, string and character literals respected); TP_FIELD(x, ...) gives x.
 * Names are trimmed and cut to fit.  Returns the number of names found (which may differ
 * from nargs if the text is not what the header emits); missing names become "argN".
 */
int sled_field_names(const char *text, int nargs, struct sled_field *fields);

/* "i32", "string", ... for a SLED_T_* code; "unknown" for anything else. */
const char *sled_type_name(uint8_t type);

#endif /* SLED_SITES_H */
