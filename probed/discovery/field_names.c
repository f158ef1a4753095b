/* SPDX-License-Identifier: MIT */
/*
 * Field names from a TRACEPOINT's source text.  The header stores the text of the whole
 * argument list ("provider, name, a, TP_FIELD(x, b + c)") because the preprocessor cannot
 * split it; this does, respecting nesting and literals, so that "f(a, b)" stays one
 * argument and a comma inside "\"x,y\"" does not count.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sled/tracepoint.h>

#include "sites.h"

/* Length of the argument starting at s: up to the next top-level comma or the end. */
static size_t arg_length(const char *s)
{
	int depth = 0;
	const char *p = s;
	char quote = 0;

	for (; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
			continue;
		}
		switch (*p) {
		case '"': case '\'': quote = *p; break;
		case '(': case '[': case '{': depth++; break;
		case ')': case ']': case '}': if (depth) depth--; break;
		case ',': if (!depth) return p - s; break;
		}
	}
	return p - s;
}

/* Copy s[0..len) trimmed, runs of blanks collapsed to one space, into dst. */
static void copy_trimmed(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t o = 0;
	int space = 0;

	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	for (size_t i = 0; i < len && o + 1 < dstlen; i++) {
		if (isspace((unsigned char)s[i])) {
			space = 1;
			continue;
		}
		if (space && o + 2 < dstlen)
			dst[o++] = ' ';
		space = 0;
		dst[o++] = s[i];
	}
	dst[o] = 0;
}

/* TP_FIELD(x, expr) -> x; anything else -> the argument text itself. */
static void field_name(char *dst, size_t dstlen, const char *s, size_t len)
{
	static const char kw[] = "TP_FIELD";
	const char *p = s, *end = s + len, *id;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if ((size_t)(end - p) > sizeof(kw) - 1 && !memcmp(p, kw, sizeof(kw) - 1)) {
		p += sizeof(kw) - 1;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p < end && *p == '(') {
			p++;
			while (p < end && isspace((unsigned char)*p))
				p++;
			id = p;
			while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
				p++;
			if (p > id) {
				copy_trimmed(dst, dstlen, id, p - id);
				return;
			}
		}
	}
	copy_trimmed(dst, dstlen, s, len);
}

int sled_field_names(const char *text, int nargs, struct sled_field *fields)
{
	const char *p = text;
	int piece = 0, found = 0;

	if (nargs > SLED_MAX_ARGS)
		nargs = SLED_MAX_ARGS;
	for (int i = 0; i < nargs; i++)
		snprintf(fields[i].name, sizeof(fields[i].name), "arg%d", i);
	while (p && *p) {
		size_t len = arg_length(p);

		/* Pieces 0 and 1 are the provider and the name. */
		if (piece >= 2) {
			if (piece - 2 < nargs) {
				field_name(fields[piece - 2].name, sizeof(fields[0].name), p, len);
				if (!fields[piece - 2].name[0])
					snprintf(fields[piece - 2].name, sizeof(fields[0].name),
						 "arg%d", piece - 2);
			}
			found++;
		}
		piece++;
		p += len;
		if (*p == ',')
			p++;
	}
	return found;
}

const char *sled_type_name(uint8_t type)
{
	static const char *const names[] = {
		[SLED_T_I8] = "i8",       [SLED_T_I16] = "i16",    [SLED_T_I32] = "i32",
		[SLED_T_I64] = "i64",     [SLED_T_U8] = "u8",      [SLED_T_U16] = "u16",
		[SLED_T_U32] = "u32",     [SLED_T_U64] = "u64",    [SLED_T_BOOL] = "bool",
		[SLED_T_FLOAT] = "float", [SLED_T_DOUBLE] = "double",
		[SLED_T_STRING] = "string", [SLED_T_POINTER] = "pointer",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}
