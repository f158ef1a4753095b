/* SPDX-License-Identifier: MIT */
/*
 * json_writer: the one place JSON text is produced.  It tracks nesting and commas, and
 * escapes strings, so commands never print braces by hand.
 */
#ifndef SLED_JSON_WRITER_H
#define SLED_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_writer;

struct json_writer *jsonw_new(FILE *out);
/* Ends the document with a newline and frees the writer. */
void jsonw_destroy(struct json_writer **w);

void jsonw_start_object(struct json_writer *w);
void jsonw_end_object(struct json_writer *w);
void jsonw_start_array(struct json_writer *w);
void jsonw_end_array(struct json_writer *w);
/* The key of the next value inside an object. */
void jsonw_name(struct json_writer *w, const char *name);

void jsonw_string(struct json_writer *w, const char *s);
void jsonw_int(struct json_writer *w, int64_t v);
void jsonw_uint(struct json_writer *w, uint64_t v);
void jsonw_float(struct json_writer *w, double v);
void jsonw_bool(struct json_writer *w, bool v);
void jsonw_null(struct json_writer *w);

/* Shorthands for name + value. */
void jsonw_string_field(struct json_writer *w, const char *name, const char *s);
void jsonw_uint_field(struct json_writer *w, const char *name, uint64_t v);
void jsonw_int_field(struct json_writer *w, const char *name, int64_t v);
void jsonw_bool_field(struct json_writer *w, const char *name, bool v);

/* Write s as a JSON string literal (with quotes) to out. */
void json_escape_string(FILE *out, const char *s);

#endif /* SLED_JSON_WRITER_H */
