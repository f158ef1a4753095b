/* SPDX-License-Identifier: MIT */
/*
 * The note parsers on arbitrary bytes: the first byte splits the input into a
 * .note.stapsdt part and a .note.sled part; the rest of the input is also what the
 * image reader returns for any address, so sled_meta records are fuzzed too.  Every
 * parsed site must have NUL-terminated names and at most 12 fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notes.h"

static const uint8_t *img;
static size_t img_len;

static size_t img_read(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	(void)ctx;
	if (vaddr >= img_len)
		return 0;
	size_t n = img_len - vaddr < len ? img_len - vaddr : len;
	memcpy(buf, img + vaddr, n);
	return n;
}

static int img_off(void *ctx, uint64_t vaddr, uint64_t *off)
{
	(void)ctx;
	*off = vaddr;
	return vaddr < img_len ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sled_image image = { img_read, img_off, NULL, NULL };
	struct sled_object obj;
	size_t split;

	if (size < 1)
		return 0;
	split = data[0] % (size);
	img = data + 1;
	img_len = size - 1;
	memset(&obj, 0, sizeof(obj));
	sled_notes_parse(&obj, data + 1, split, data + 1 + split, size - 1 - split, data[0] & 1 ? 0x1000 : 0,
			 &image);
	for (size_t i = 0; i < obj.nsites; i++) {
		const struct sled_site *s = &obj.sites[i];

		if (!s->provider || !s->name || !s->argspec || strlen(s->provider) > 63 ||
		    strlen(s->name) > 63 || s->nargs < 0 || s->nargs > SLED_MAX_ARGS)
			abort();
		for (int a = 0; a < s->nargs; a++)
			if (!memchr(s->fields[a].name, 0, sizeof(s->fields[a].name)))
				abort();
	}
	sled_object_free(&obj);
	return 0;
}
