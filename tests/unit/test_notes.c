/* SPDX-License-Identifier: MIT */
/*
 * The note parsers on hand-built note bytes: what the header emits is read back right,
 * and every kind of damage is reported without hiding the valid sites around it.
 */
#include <errno.h>
#include <stdlib.h>

#include <sled/tracepoint.h>

#include "check.h"
#include "notes.h"

/* A note section under construction. */
struct buf {
	uint8_t b[4096];
	size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

static void pad4(struct buf *b)
{
	while (b->len & 3)
		b->b[b->len++] = 0;
}

static void put_u64(struct buf *b, uint64_t v)
{
	put(b, &v, 8);
}

static void put_str(struct buf *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

/* Appends a note; desc is built by the caller in d. */
static void put_note(struct buf *b, const char *owner, uint32_t type, const struct buf *d)
{
	uint32_t hdr[3] = { (uint32_t)strlen(owner) + 1, (uint32_t)d->len, type };

	put(b, hdr, sizeof(hdr));
	put_str(b, owner);
	pad4(b);
	put(b, d->b, d->len);
	pad4(b);
}

static void stapsdt_note(struct buf *b, uint64_t pc, uint64_t base, const char *prov,
			 const char *name, const char *args)
{
	struct buf d = { .len = 0 };

	put_u64(&d, pc);
	put_u64(&d, base);
	put_u64(&d, 0);
	put_str(&d, prov);
	put_str(&d, name);
	put_str(&d, args);
	put_note(b, "stapsdt", 3, &d);
}

static void sled_note(struct buf *b, uint32_t type, uint64_t pc, uint64_t target, uint64_t meta,
		      const char *prov, const char *name)
{
	struct buf d = { .len = 0 };

	put_u64(&d, pc);
	put_u64(&d, target);
	put_u64(&d, meta);
	put_str(&d, prov);
	put_str(&d, name);
	put_note(b, "sled", type, &d);
}

/* A fake object image: one allocated region at META_ADDR with a sled_meta record, and
 * text mapped 1:1 at file offset vaddr - 0x1000. */
#define META_ADDR 0x2000
static uint8_t meta_bytes[256];
static size_t meta_len;

static size_t img_read(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	(void)ctx;
	if (vaddr < META_ADDR || vaddr - META_ADDR >= meta_len)
		return 0;
	size_t off = vaddr - META_ADDR, n = meta_len - off < len ? meta_len - off : len;
	memcpy(buf, meta_bytes + off, n);
	return n;
}

static int img_off(void *ctx, uint64_t vaddr, uint64_t *off)
{
	(void)ctx;
	if (vaddr < 0x1000 || vaddr >= 0x2000)
		return -1;
	*off = vaddr - 0x1000 + 0x400;
	return 0;
}

static const struct sled_image image = { img_read, img_off, NULL, NULL };

static void set_meta(uint8_t version, uint8_t nargs, const uint8_t *types, const char *text)
{
	memset(meta_bytes, 0, sizeof(meta_bytes));
	meta_bytes[0] = version;
	meta_bytes[1] = nargs;
	memcpy(meta_bytes + 2, types, nargs);
	strcpy((char *)meta_bytes + 14, text);
	meta_len = 14 + strlen(text) + 1;
}

static void parse(struct sled_object *obj, const struct buf *st, const struct buf *sl)
{
	memset(obj, 0, sizeof(*obj));
	CHECK_EQ_INT(sled_notes_parse(obj, st ? st->b : NULL, st ? st->len : 0, sl ? sl->b : NULL,
				      sl ? sl->len : 0, 0, &image),
		     0);
}

TEST(sled_site_gets_names_and_types)
{
	struct buf st = { .len = 0 }, sl = { .len = 0 };
	static const uint8_t types[] = { SLED_T_U64, SLED_T_STRING, SLED_T_DOUBLE };
	struct sled_object obj;

	stapsdt_note(&st, 0x1100, 0, "app", "req", "8@%rdi 8@%rsi 8@-8(%rsp)");
	sled_note(&sl, SLED_NOTE_SITE, 0x1100, 0, META_ADDR, "app", "req");
	set_meta(1, 3, types, "app, req, id, TP_FIELD(path, p->path), lat * 2.0");
	parse(&obj, &st, &sl);
	CHECK_EQ_INT(obj.nsites, 1);
	CHECK_EQ_INT(obj.ndiags, 0);
	if (obj.nsites == 1) {
		struct sled_site *s = &obj.sites[0];

		CHECK(s->has_sled_note);
		CHECK_EQ_STR(s->provider, "app");
		CHECK_EQ_STR(s->name, "req");
		CHECK_EQ_INT(s->pc, 0x1100);
		CHECK_EQ_INT(s->file_offset, 0x500);
		CHECK_EQ_INT(s->nargs, 3);
		CHECK_EQ_STR(s->fields[0].name, "id");
		CHECK_EQ_STR(s->fields[1].name, "path");
		CHECK_EQ_STR(s->fields[2].name, "lat * 2.0");
		CHECK_EQ_INT(s->fields[1].type, SLED_T_STRING);
		CHECK_EQ_INT(s->fields[2].type, SLED_T_DOUBLE);
	}
	sled_object_free(&obj);
}

TEST(plain_stapsdt_site_is_typed_from_its_spec)
{
	struct buf st = { .len = 0 };
	struct sled_object obj;

	stapsdt_note(&st, 0x1200, 0, "libfoo", "evt", "-4@%eax 8@$5 -1@%cl");
	parse(&obj, &st, NULL);
	CHECK_EQ_INT(obj.nsites, 1);
	if (obj.nsites == 1) {
		CHECK(!obj.sites[0].has_sled_note);
		CHECK_EQ_STR(obj.sites[0].fields[0].name, "arg0");
		CHECK_EQ_INT(obj.sites[0].fields[0].type, SLED_T_I32);
		CHECK_EQ_INT(obj.sites[0].fields[1].type, SLED_T_U64);
		CHECK_EQ_INT(obj.sites[0].fields[2].type, SLED_T_I8);
	}
	sled_object_free(&obj);
}

TEST(guard_note_becomes_guard_site)
{
	struct buf sl = { .len = 0 };
	struct sled_object obj;

	sled_note(&sl, SLED_NOTE_GUARD, 0x1300, 0x1340, 0, "app", "dbg");
	parse(&obj, NULL, &sl);
	CHECK_EQ_INT(obj.nsites, 1);
	if (obj.nsites == 1) {
		CHECK_EQ_INT(obj.sites[0].kind, SLED_SITE_GUARD);
		CHECK_EQ_INT(obj.sites[0].target, 0x1340);
		CHECK_EQ_INT(obj.sites[0].file_offset, 0x700);
	}
	sled_object_free(&obj);
}

TEST(prelink_base_moves_pc)
{
	struct buf st = { .len = 0 };
	struct sled_object obj;

	memset(&obj, 0, sizeof(obj));
	stapsdt_note(&st, 0x1100, 0x3000, "a", "b", "");
	CHECK_EQ_INT(sled_notes_parse(&obj, st.b, st.len, NULL, 0, 0x3010, &image), 0);
	CHECK_EQ_INT(obj.nsites, 1);
	if (obj.nsites == 1)
		CHECK_EQ_INT(obj.sites[0].pc, 0x1110);
	sled_object_free(&obj);
}

TEST(bad_spec_is_reported_and_neighbours_survive)
{
	struct buf st = { .len = 0 };
	struct sled_object obj;

	stapsdt_note(&st, 0x1100, 0, "a", "good1", "4@%eax");
	stapsdt_note(&st, 0x1110, 0, "a", "bad", "8@.LC0(%rip)");
	stapsdt_note(&st, 0x1120, 0, "a", "good2", "");
	parse(&obj, &st, NULL);
	CHECK_EQ_INT(obj.nsites, 2);
	CHECK_EQ_INT(obj.ndiags, 1);
	if (obj.nsites == 2) {
		CHECK_EQ_STR(obj.sites[0].name, "good1");
		CHECK_EQ_STR(obj.sites[1].name, "good2");
	}
	if (obj.ndiags == 1)
		CHECK(strstr(obj.diags[0].msg, "a:bad") != NULL);
	sled_object_free(&obj);
}

TEST(sled_metadata_mismatch_falls_back_to_stapsdt)
{
	struct buf st = { .len = 0 }, sl = { .len = 0 };
	static const uint8_t types[] = { SLED_T_U64, SLED_T_U64 };
	struct sled_object obj;

	stapsdt_note(&st, 0x1100, 0, "app", "x", "8@%rdi");
	sled_note(&sl, SLED_NOTE_SITE, 0x1100, 0, META_ADDR, "app", "x");
	set_meta(1, 2, types, "app, x, a, b");
	parse(&obj, &st, &sl);
	CHECK_EQ_INT(obj.nsites, 1);
	CHECK_EQ_INT(obj.ndiags, 1);
	if (obj.nsites == 1)
		CHECK(!obj.sites[0].has_sled_note);
	sled_object_free(&obj);
}

TEST(type_too_wide_for_operand_is_rejected)
{
	struct buf st = { .len = 0 }, sl = { .len = 0 };
	static const uint8_t types[] = { SLED_T_U64 };
	struct sled_object obj;

	stapsdt_note(&st, 0x1100, 0, "app", "x", "4@%edi");
	sled_note(&sl, SLED_NOTE_SITE, 0x1100, 0, META_ADDR, "app", "x");
	set_meta(1, 1, types, "app, x, a");
	parse(&obj, &st, &sl);
	CHECK_EQ_INT(obj.ndiags, 1);
	sled_object_free(&obj);
}

TEST(unknown_version_and_note_type_are_reported)
{
	struct buf st = { .len = 0 }, sl = { .len = 0 };
	static const uint8_t types[] = { SLED_T_U64 };
	struct sled_object obj;

	stapsdt_note(&st, 0x1100, 0, "app", "x", "8@%rdi");
	sled_note(&sl, SLED_NOTE_SITE, 0x1100, 0, META_ADDR, "app", "x");
	sled_note(&sl, 77, 0x1100, 0, 0, "app", "x");
	set_meta(9, 1, types, "app, x, a");
	parse(&obj, &st, &sl);
	CHECK_EQ_INT(obj.nsites, 1);
	CHECK_EQ_INT(obj.ndiags, 2);
	sled_object_free(&obj);
}

TEST(sled_note_without_stapsdt_twin_is_reported)
{
	struct buf sl = { .len = 0 };
	struct sled_object obj;

	sled_note(&sl, SLED_NOTE_SITE, 0x1100, 0, META_ADDR, "app", "x");
	parse(&obj, NULL, &sl);
	CHECK_EQ_INT(obj.nsites, 0);
	CHECK_EQ_INT(obj.ndiags, 1);
	sled_object_free(&obj);
}

TEST(truncated_sections_never_overrun)
{
	struct buf st = { .len = 0 };
	struct sled_object obj;

	stapsdt_note(&st, 0x1100, 0, "app", "one", "4@%eax");
	stapsdt_note(&st, 0x1110, 0, "app", "two", "4@%eax");
	/* Every prefix of the section: the first note survives once it is whole. */
	for (size_t cut = 0; cut <= st.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);

		memcpy(copy, st.b, cut);
		memset(&obj, 0, sizeof(obj));
		sled_notes_parse(&obj, copy, cut, NULL, 0, 0, &image);
		CHECK(obj.nsites <= 2);
		sled_object_free(&obj);
		free(copy);
	}
}

TEST(unterminated_strings_are_rejected)
{
	struct buf st = { .len = 0 }, d = { .len = 0 };
	struct sled_object obj;

	put_u64(&d, 0x1100);
	put_u64(&d, 0);
	put_u64(&d, 0);
	put(&d, "provider-without-nul", 20);
	put_note(&st, "stapsdt", 3, &d);
	parse(&obj, &st, NULL);
	CHECK_EQ_INT(obj.nsites, 0);
	CHECK_EQ_INT(obj.ndiags, 1);
	sled_object_free(&obj);
}

TEST(huge_lengths_are_rejected)
{
	struct buf st = { .len = 0 };
	uint32_t hdr[3] = { 8, 0xfffffff0u, 3 };
	struct sled_object obj;

	put(&st, hdr, sizeof(hdr));
	put(&st, "stapsdt", 8);
	parse(&obj, &st, NULL);
	CHECK_EQ_INT(obj.nsites, 0);
	CHECK_EQ_INT(obj.ndiags, 1);
	sled_object_free(&obj);
}

TEST(field_names_respect_nesting_and_literals)
{
	struct sled_field f[SLED_MAX_ARGS];

	CHECK_EQ_INT(sled_field_names("p, n, f(a, b), \"x,y\", 'c', arr[i, j]", 4, f), 4);
	CHECK_EQ_STR(f[0].name, "f(a, b)");
	CHECK_EQ_STR(f[1].name, "\"x,y\"");
	CHECK_EQ_STR(f[2].name, "'c'");
	CHECK_EQ_STR(f[3].name, "arr[i, j]");
	CHECK_EQ_INT(sled_field_names("p, n, TP_FIELD( lat_ns , t1 - t0 ), TP_FIELD(x,y)", 2, f), 2);
	CHECK_EQ_STR(f[0].name, "lat_ns");
	CHECK_EQ_STR(f[1].name, "x");
	/* Too few names in the text: the rest are argN. */
	CHECK_EQ_INT(sled_field_names("p, n, a", 3, f), 1);
	CHECK_EQ_STR(f[0].name, "a");
	CHECK_EQ_STR(f[2].name, "arg2");
	/* Whitespace runs collapse. */
	sled_field_names("p, n,   a   +\n\t b  ", 1, f);
	CHECK_EQ_STR(f[0].name, "a + b");
	/* Unbalanced text does not crash and still names the first field. */
	sled_field_names("p, n, ((((, \"", 2, f);
	CHECK_EQ_STR(f[0].name, "((((, \"");
	CHECK_EQ_STR(f[1].name, "arg1");
}

TEST(type_names)
{
	CHECK_EQ_STR(sled_type_name(SLED_T_I8), "i8");
	CHECK_EQ_STR(sled_type_name(SLED_T_U64), "u64");
	CHECK_EQ_STR(sled_type_name(SLED_T_STRING), "string");
	CHECK_EQ_STR(sled_type_name(SLED_T_POINTER), "pointer");
	CHECK_EQ_STR(sled_type_name(0), "unknown");
	CHECK_EQ_STR(sled_type_name(200), "unknown");
}

/* A 64-byte x86-64 ELF header whose tables lie at shoff/phoff: nothing else in the file. */
static void elf_header(uint8_t *h, uint64_t shoff, uint16_t shnum, uint64_t phoff,
		       uint16_t phnum)
{
	static const uint8_t ident[16] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	uint16_t type = 3 /* ET_DYN */, machine = 62 /* EM_X86_64 */, ehsize = 64, phentsize = 56,
		 shentsize = 64, shstrndx = shnum ? 1 : 0;
	uint32_t version = 1;

	memset(h, 0, 64);
	memcpy(h, ident, 16);
	memcpy(h + 16, &type, 2);
	memcpy(h + 18, &machine, 2);
	memcpy(h + 20, &version, 4);
	memcpy(h + 32, &phoff, 8);
	memcpy(h + 40, &shoff, 8);
	memcpy(h + 52, &ehsize, 2);
	memcpy(h + 54, &phentsize, 2);
	memcpy(h + 56, &phnum, 2);
	memcpy(h + 58, &shentsize, 2);
	memcpy(h + 60, &shnum, 2);
	memcpy(h + 62, &shstrndx, 2);
}

TEST(section_headers_past_the_end_are_an_error)
{
	struct sled_object obj;
	uint8_t h[64];
	char err[256] = "";

	elf_header(h, 0x10000, 5, 0, 0);
	CHECK_EQ_INT(sled_object_read_mem(h, sizeof(h), "cut.so", &obj, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "cut.so") != NULL);
	CHECK(strstr(err, "past the end") != NULL);
	/* A table that starts inside the file but runs past its end. */
	elf_header(h, 32, 5, 0, 0);
	CHECK_EQ_INT(sled_object_read_mem(h, sizeof(h), "cut.so", &obj, err, sizeof(err)), -EIO);
	elf_header(h, 0, 0, 0x10000, 3);
	CHECK_EQ_INT(sled_object_read_mem(h, sizeof(h), "cut.so", &obj, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "program headers") != NULL);
	/* No tables at all is a valid (empty) object. */
	elf_header(h, 0, 0, 0, 0);
	CHECK_EQ_INT(sled_object_read_mem(h, sizeof(h), "empty.so", &obj, err, sizeof(err)), 0);
	CHECK_EQ_INT(obj.nsites, 0);
	sled_object_free(&obj);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(sled_site_gets_names_and_types),
		TEST_ENTRY(plain_stapsdt_site_is_typed_from_its_spec),
		TEST_ENTRY(guard_note_becomes_guard_site),
		TEST_ENTRY(prelink_base_moves_pc),
		TEST_ENTRY(bad_spec_is_reported_and_neighbours_survive),
		TEST_ENTRY(sled_metadata_mismatch_falls_back_to_stapsdt),
		TEST_ENTRY(type_too_wide_for_operand_is_rejected),
		TEST_ENTRY(unknown_version_and_note_type_are_reported),
		TEST_ENTRY(sled_note_without_stapsdt_twin_is_reported),
		TEST_ENTRY(truncated_sections_never_overrun),
		TEST_ENTRY(unterminated_strings_are_rejected),
		TEST_ENTRY(huge_lengths_are_rejected),
		TEST_ENTRY(field_names_respect_nesting_and_literals),
		TEST_ENTRY(type_names),
		TEST_ENTRY(section_headers_past_the_end_are_an_error),
	};

	return RUN_TESTS(tests);
}
