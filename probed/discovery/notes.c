/* SPDX-License-Identifier: MIT */
/*
 * Byte-level parsing of .note.stapsdt and .note.sled.  Everything read from the file is
 * untrusted: every length is checked against what is left before it is used, every
 * string must end inside its note, and a bad entry costs only itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sled/tracepoint.h>

#include "notes.h"
#include "strpool.h"

#define NT_STAPSDT 3

void sled_object_diag(struct sled_object *obj, const char *fmt, ...)
{
	struct sled_diag *d;
	va_list ap;

	d = realloc(obj->diags, (obj->ndiags + 1) * sizeof(*d));
	if (!d)
		return;
	obj->diags = d;
	va_start(ap, fmt);
	vsnprintf(d[obj->ndiags].msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	obj->ndiags++;
}

void sled_object_free(struct sled_object *obj)
{
	sled_strpool_free(obj->strings);
	obj->strings = NULL;
	free(obj->sites);
	free(obj->diags);
	obj->sites = NULL;
	obj->diags = NULL;
	obj->nsites = obj->ndiags = 0;
}

static struct sled_site *add_site(struct sled_object *obj)
{
	struct sled_site *s;

	if (obj->nsites >= SLED_MAX_SITES_PER_OBJECT) {
		if (!obj->sites_capped)
			sled_object_diag(obj, "more than %d tracepoint sites: the rest are skipped",
					 SLED_MAX_SITES_PER_OBJECT);
		obj->sites_capped = true;
		return NULL;
	}

	/* Grow by doubling: a large binary has thousands of sites. */
	if ((obj->nsites & (obj->nsites - 1)) == 0) {
		size_t cap = obj->nsites ? obj->nsites * 2 : 16;

		s = realloc(obj->sites, cap * sizeof(*s));
		if (!s)
			return NULL;
		obj->sites = s;
	}
	s = &obj->sites[obj->nsites++];
	memset(s, 0, sizeof(*s));
	return s;
}

/* One ELF note: name and desc point into the section, lengths already bounds-checked. */
struct note {
	uint32_t type;
	const char *name;
	uint32_t namesz;
	const uint8_t *desc;
	uint32_t descsz;
};

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Next note at *pos, or 0 at the end; -1 if the rest of the section is malformed. */
static int next_note(const uint8_t *data, size_t len, size_t *pos, struct note *n)
{
	uint32_t hdr[3];
	size_t at = *pos, name_end, desc_end;

	if (at >= len)
		return 0;
	if (len - at < sizeof(hdr))
		return -1;
	memcpy(hdr, data + at, sizeof(hdr));
	at += sizeof(hdr);
	if (hdr[0] > len - at)
		return -1;
	name_end = at + align4(hdr[0]);
	if (name_end > len)
		name_end = len; /* the last note's padding may be cut off */
	if (hdr[1] > len - name_end)
		return -1;
	desc_end = name_end + hdr[1];
	n->namesz = hdr[0];
	n->descsz = hdr[1];
	n->type = hdr[2];
	n->name = (const char *)data + at;
	n->desc = data + name_end;
	*pos = align4(desc_end) < len ? align4(desc_end) : len;
	return 1;
}

static int owner_is(const struct note *n, const char *owner)
{
	size_t l = strlen(owner) + 1;

	return n->namesz == l && memcmp(n->name, owner, l) == 0;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Take the NUL-terminated string at *p (before end) into dst; advances *p. */
static int take_string(const uint8_t **p, const uint8_t *end, char *dst, size_t dstlen)
{
	const uint8_t *nul = memchr(*p, 0, end - *p);
	size_t l;

	if (!nul)
		return -1;
	l = nul - *p;
	if (l >= dstlen)
		return -1;
	memcpy(dst, *p, l + 1);
	*p = nul + 1;
	return 0;
}

static uint8_t type_from_spec(const struct sled_arg_spec *a)
{
	if (a->is_float)
		return a->size == 4 ? SLED_T_FLOAT : SLED_T_DOUBLE;
	switch (a->size) {
	case 1: return a->is_signed ? SLED_T_I8 : SLED_T_U8;
	case 2: return a->is_signed ? SLED_T_I16 : SLED_T_U16;
	case 4: return a->is_signed ? SLED_T_I32 : SLED_T_U32;
	default: return a->is_signed ? SLED_T_I64 : SLED_T_U64;
	}
}

static void resolve_offset(struct sled_site *s, const struct sled_image *image)
{
	uint64_t off;

	if (image && image->file_offset && image->file_offset(image->ctx, s->pc, &off) == 0)
		s->file_offset = off;
}

static void parse_stapsdt(struct sled_object *obj, const struct note *n, uint64_t base_addr,
			  const struct sled_image *image)
{
	const uint8_t *p = n->desc, *end = n->desc + n->descsz;
	struct sled_field fields[SLED_MAX_ARGS];
	struct sled_site tmp, *s;
	char provider[64], name[64], argspec[256];
	char err[256];
	int i, nargs;

	memset(&tmp, 0, sizeof(tmp));
	if (n->descsz < 24) {
		sled_object_diag(obj, "stapsdt note too short (%u bytes)", n->descsz);
		return;
	}
	tmp.kind = SLED_SITE_TRACEPOINT;
	tmp.note_pc = get_u64(p);
	tmp.pc = tmp.note_pc;
	if (base_addr && get_u64(p + 8))
		tmp.pc += base_addr - get_u64(p + 8);
	if (get_u64(p + 16))
		tmp.semaphore = get_u64(p + 16);
	p += 24;
	if (take_string(&p, end, provider, sizeof(provider)) ||
	    take_string(&p, end, name, sizeof(name)) ||
	    take_string(&p, end, argspec, sizeof(argspec))) {
		sled_object_diag(obj, "stapsdt note at pc 0x%llx: bad or overlong strings",
				 (unsigned long long)tmp.note_pc);
		return;
	}
	if (!provider[0] || !name[0]) {
		sled_object_diag(obj, "stapsdt note at pc 0x%llx: empty provider or name",
				 (unsigned long long)tmp.note_pc);
		return;
	}
	err[0] = '\0';
	nargs = sled_argspec_parse_syms(argspec, tmp.args, SLED_MAX_ARGS,
					image ? image->syms : NULL, err, sizeof(err));
	if (nargs < 0) {
		sled_object_diag(obj, "%s:%s at pc 0x%llx: %s", provider, name,
				 (unsigned long long)tmp.note_pc, err);
		return;
	}
	/* A symbol the tables lack (a stripped object) costs the site its values, not its
	 * place in the listing: it stays, unattachable, with the reason. */
	if (err[0])
		sled_object_diag(obj, "%s:%s at pc 0x%llx: %s", provider, name,
				 (unsigned long long)tmp.note_pc, err);
	tmp.nargs = nargs;
	for (i = 0; i < nargs; i++) {
		memset(&fields[i], 0, sizeof(fields[i]));
		snprintf(fields[i].name, sizeof(fields[i].name), "arg%d", i);
		fields[i].type = type_from_spec(&tmp.args[i]);
	}
	tmp.fields = nargs ? sled_strpool_intern_bytes(&obj->strings, fields,
						       sizeof(fields[0]) * (size_t)nargs) : NULL;
	resolve_offset(&tmp, image);
	tmp.provider = sled_strpool_intern(&obj->strings, provider);
	tmp.name = sled_strpool_intern(&obj->strings, name);
	tmp.argspec = sled_strpool_intern(&obj->strings, argspec);
	if (!tmp.provider || !tmp.name || !tmp.argspec || (nargs && !tmp.fields))
		return;
	s = add_site(obj);
	if (s)
		*s = tmp;
}

/* The sled_meta record a .note.sled TRACEPOINT entry points at (see tracepoint.h). */
struct meta {
	uint8_t version, nargs, types[SLED_MAX_ARGS];
	char text[2048];
};

static int read_meta(const struct sled_image *image, uint64_t vaddr, struct meta *m)
{
	size_t got;

	if (!image || !image->read || !vaddr)
		return -1;
	memset(m, 0, sizeof(*m));
	got = image->read(image->ctx, vaddr, m, sizeof(*m) - 1);
	if (got < 2 + SLED_MAX_ARGS + 1)
		return -1;
	/* The text must end inside what could be read. */
	if (!memchr(m->text, 0, got - (2 + SLED_MAX_ARGS)))
		return -1;
	return 0;
}

/* A sled type must fit the stapsdt operand the compiler chose for it. */
static int type_fits_spec(uint8_t type, const struct sled_arg_spec *a)
{
	switch (type) {
	case SLED_T_I8: case SLED_T_U8: case SLED_T_BOOL: return 1;
	case SLED_T_I16: case SLED_T_U16: return a->size >= 2;
	case SLED_T_I32: case SLED_T_U32: return a->size >= 4;
	case SLED_T_FLOAT: return a->size == 4;
	case SLED_T_I64: case SLED_T_U64: case SLED_T_DOUBLE:
	case SLED_T_STRING: case SLED_T_POINTER: return a->size == 8;
	default: return 0;
	}
}

static struct sled_site *find_by_note_pc(struct sled_object *obj, size_t nstapsdt, uint64_t pc)
{
	for (size_t i = 0; i < nstapsdt; i++)
		if (obj->sites[i].note_pc == pc && obj->sites[i].kind == SLED_SITE_TRACEPOINT)
			return &obj->sites[i];
	return NULL;
}

static void apply_sled_site(struct sled_object *obj, size_t nstapsdt, uint64_t pc,
			    uint64_t meta_addr, const char *provider, const char *name,
			    const struct sled_image *image)
{
	struct sled_site *s = find_by_note_pc(obj, nstapsdt, pc);
	struct sled_field fields[SLED_MAX_ARGS];
	struct meta m;
	int i;

	memset(fields, 0, sizeof(fields)); /* compared bytewise when pooled */
	if (!s) {
		sled_object_diag(obj, "sled note %s:%s at pc 0x%llx has no stapsdt entry", provider,
				 name, (unsigned long long)pc);
		return;
	}
	if (strcmp(s->provider, provider) || strcmp(s->name, name)) {
		sled_object_diag(obj, "sled note at pc 0x%llx names %s:%s, stapsdt says %s:%s",
				 (unsigned long long)pc, provider, name, s->provider, s->name);
		return;
	}
	if (read_meta(image, meta_addr, &m)) {
		sled_object_diag(obj, "%s:%s at pc 0x%llx: field metadata at 0x%llx unreadable",
				 provider, name, (unsigned long long)pc,
				 (unsigned long long)meta_addr);
		return;
	}
	if (m.version != SLED_TRACEPOINT_VERSION) {
		sled_object_diag(obj, "%s:%s: unsupported sled metadata version %u", provider, name,
				 m.version);
		return;
	}
	if (m.nargs != s->nargs) {
		sled_object_diag(obj, "%s:%s at pc 0x%llx: %u typed fields for %d stapsdt args",
				 provider, name, (unsigned long long)pc, m.nargs, s->nargs);
		return;
	}
	for (i = 0; i < s->nargs; i++) {
		if (!type_fits_spec(m.types[i], &s->args[i])) {
			sled_object_diag(obj, "%s:%s: field %d type %u does not fit arg spec",
					 provider, name, i, m.types[i]);
			return;
		}
		fields[i].type = m.types[i];
	}
	sled_field_names(m.text, s->nargs, fields);
	if (s->nargs) {
		const struct sled_field *pooled = sled_strpool_intern_bytes(
			&obj->strings, fields, sizeof(fields[0]) * (size_t)s->nargs);

		if (!pooled)
			return;
		s->fields = pooled;
	}
	s->has_sled_note = true;
}

static void parse_sled(struct sled_object *obj, const struct note *n, size_t nstapsdt,
		       const struct sled_image *image)
{
	const uint8_t *p = n->desc, *end = n->desc + n->descsz;
	char provider[64], name[64];
	uint64_t pc, target, meta;
	struct sled_site *s;

	if (n->type != SLED_NOTE_SITE && n->type != SLED_NOTE_GUARD) {
		sled_object_diag(obj, "unknown sled note type %u skipped", n->type);
		return;
	}
	if (n->descsz < 24) {
		sled_object_diag(obj, "sled note too short (%u bytes)", n->descsz);
		return;
	}
	pc = get_u64(p);
	target = get_u64(p + 8);
	meta = get_u64(p + 16);
	p += 24;
	if (take_string(&p, end, provider, sizeof(provider)) ||
	    take_string(&p, end, name, sizeof(name)) || !provider[0] || !name[0]) {
		sled_object_diag(obj, "sled note at pc 0x%llx: bad provider or name",
				 (unsigned long long)pc);
		return;
	}
	if (n->type == SLED_NOTE_SITE) {
		apply_sled_site(obj, nstapsdt, pc, meta, provider, name, image);
		return;
	}
	if (!pc || !target) {
		sled_object_diag(obj, "guard %s:%s: zero pc or target", provider, name);
		return;
	}
	s = add_site(obj);
	if (!s)
		return;
	s->provider = sled_strpool_intern(&obj->strings, provider);
	s->name = sled_strpool_intern(&obj->strings, name);
	s->argspec = "";
	if (!s->provider || !s->name) {
		obj->nsites--;
		return;
	}
	s->kind = SLED_SITE_GUARD;
	s->pc = s->note_pc = pc;
	s->target = target;
	s->has_sled_note = true;
	resolve_offset(s, image);
}

int sled_notes_parse(struct sled_object *obj, const uint8_t *stapsdt, size_t stapsdt_len,
		     const uint8_t *sled, size_t sled_len, uint64_t base_addr,
		     const struct sled_image *image)
{
	size_t pos = 0, nstapsdt;
	struct note n;
	int r;

	while (stapsdt && (r = next_note(stapsdt, stapsdt_len, &pos, &n)) != 0) {
		if (r < 0) {
			sled_object_diag(obj, ".note.stapsdt malformed at offset %zu", pos);
			break;
		}
		if (n.type == NT_STAPSDT && owner_is(&n, "stapsdt"))
			parse_stapsdt(obj, &n, base_addr, image);
	}
	/* Sled notes refer to stapsdt sites by pc; only those parsed above can match. */
	nstapsdt = obj->nsites;
	pos = 0;
	while (sled && (r = next_note(sled, sled_len, &pos, &n)) != 0) {
		if (r < 0) {
			sled_object_diag(obj, ".note.sled malformed at offset %zu", pos);
			break;
		}
		if (owner_is(&n, "sled"))
			parse_sled(obj, &n, nstapsdt, image);
	}
	return 0;
}
