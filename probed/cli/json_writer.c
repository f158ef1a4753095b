/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>

#include "json_writer.h"

#define JSONW_MAX_DEPTH 64

struct json_writer {
	FILE *out;
	int depth;
	bool first[JSONW_MAX_DEPTH]; /* no element written yet at this level */
	bool after_name;             /* a key was just written: no comma before the value */
};

struct json_writer *jsonw_new(FILE *out)
{
	struct json_writer *w = calloc(1, sizeof(*w));

	if (w) {
		w->out = out;
		w->first[0] = true;
	}
	return w;
}

void jsonw_destroy(struct json_writer **w)
{
	if (!*w)
		return;
	fputc('\n', (*w)->out);
	fflush((*w)->out);
	free(*w);
	*w = NULL;
}

/* Separator before a new element at the current level. */
static void sep(struct json_writer *w)
{
	if (w->after_name) {
		w->after_name = false;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->out);
	w->first[w->depth] = false;
}

static void open_level(struct json_writer *w, char c)
{
	sep(w);
	fputc(c, w->out);
	if (w->depth + 1 < JSONW_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_level(struct json_writer *w, char c)
{
	fputc(c, w->out);
	if (w->depth > 0)
		w->depth--;
}

void jsonw_start_object(struct json_writer *w) { open_level(w, '{'); }
void jsonw_end_object(struct json_writer *w) { close_level(w, '}'); }
void jsonw_start_array(struct json_writer *w) { open_level(w, '['); }
void jsonw_end_array(struct json_writer *w) { close_level(w, ']'); }

void json_escape_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void jsonw_name(struct json_writer *w, const char *name)
{
	sep(w);
	json_escape_string(w->out, name);
	fputc(':', w->out);
	w->after_name = true;
}

void jsonw_string(struct json_writer *w, const char *s)
{
	sep(w);
	json_escape_string(w->out, s);
}

void jsonw_int(struct json_writer *w, int64_t v)
{
	sep(w);
	fprintf(w->out, "%lld", (long long)v);
}

void jsonw_uint(struct json_writer *w, uint64_t v)
{
	sep(w);
	fprintf(w->out, "%llu", (unsigned long long)v);
}

void jsonw_float(struct json_writer *w, double v)
{
	sep(w);
	/* JSON has no NaN or infinity. */
	if (isfinite(v))
		fprintf(w->out, "%.17g", v);
	else
		fputs("null", w->out);
}

void jsonw_bool(struct json_writer *w, bool v)
{
	sep(w);
	fputs(v ? "true" : "false", w->out);
}

void jsonw_null(struct json_writer *w)
{
	sep(w);
	fputs("null", w->out);
}

void jsonw_string_field(struct json_writer *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

void jsonw_uint_field(struct json_writer *w, const char *name, uint64_t v)
{
	jsonw_name(w, name);
	jsonw_uint(w, v);
}

void jsonw_int_field(struct json_writer *w, const char *name, int64_t v)
{
	jsonw_name(w, name);
	jsonw_int(w, v);
}

void jsonw_bool_field(struct json_writer *w, const char *name, bool v)
{
	jsonw_name(w, name);
	jsonw_bool(w, v);
}
