/* SPDX-License-Identifier: MIT */
/*
 * value_visit: one switch over a field's type for every encoder that writes values as
 * text (JSON lines, the human format, syslog's structured data).  An encoder fills in a
 * struct sled_value_visitor with one callback per kind of value and calls
 * sled_value_visit; a new SLED_T_* type is one more case here, not one in each encoder.
 * Inline, with the visitor a constant object, the calls compile to direct ones.
 */
#ifndef SLED_EXPORT_VALUE_VISIT_H
#define SLED_EXPORT_VALUE_VISIT_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "utf8.h"

struct sled_value_visitor {
	int (*signed_int)(struct sled_buf *b, int64_t v);
	int (*unsigned_int)(struct sled_buf *b, uint64_t v);
	int (*pointer)(struct sled_buf *b, uint64_t v);
	int (*boolean)(struct sled_buf *b, bool v);
	/* SLED_T_FLOAT (single: shortest text that reads back as the float) or DOUBLE. */
	int (*real)(struct sled_buf *b, double v, bool single);
	/* ptr NULL for a NULL char *.  A truncated string's len stops before a UTF-8
	 * sequence the runtime cut in the middle. */
	int (*string)(struct sled_buf *b, const char *ptr, uint32_t len, bool truncated);
	/* A type this build does not know: its raw word. */
	int (*unknown)(struct sled_buf *b, uint64_t raw);
};

static inline int sled_value_visit(struct sled_buf *b, const struct sled_event_field *f,
				   const struct sled_value_visitor *vis)
{
	switch (f->type) {
	case SLED_T_I8:
	case SLED_T_I16:
	case SLED_T_I32:
	case SLED_T_I64:
		return vis->signed_int(b, f->v.i);
	case SLED_T_U8:
	case SLED_T_U16:
	case SLED_T_U32:
	case SLED_T_U64:
		return vis->unsigned_int(b, f->v.u);
	case SLED_T_POINTER:
		return vis->pointer(b, f->v.u);
	case SLED_T_BOOL:
		return vis->boolean(b, f->v.b);
	case SLED_T_FLOAT:
	case SLED_T_DOUBLE:
		return vis->real(b, f->v.d, f->type == SLED_T_FLOAT);
	case SLED_T_STRING:
		if (!f->v.str.ptr)
			return vis->string(b, NULL, 0, false);
		return vis->string(b, f->v.str.ptr,
				   f->v.str.truncated
					   ? (uint32_t)sled_utf8_trim_partial(f->v.str.ptr, f->v.str.len)
					   : f->v.str.len,
				   f->v.str.truncated);
	default:
		return vis->unknown(b, f->v.u);
	}
}

/* A string field the runtime cut short (listed under "truncated" by the encoders). */
static inline bool sled_field_truncated(const struct sled_event_field *f)
{
	return f->type == SLED_T_STRING && f->v.str.ptr && f->v.str.truncated;
}

/* A real as text: nan, inf and -inf by name (the human format, syslog). */
static inline int sled_value_put_real_text(struct sled_buf *b, double v, bool single)
{
	if (isnan(v))
		return sled_buf_puts(b, "nan");
	if (isinf(v))
		return sled_buf_puts(b, v < 0 ? "-inf" : "inf");
	return sled_buf_put_double(b, v, single);
}

static inline int sled_value_put_bool_text(struct sled_buf *b, bool v)
{
	return v ? sled_buf_append(b, "true", 4) : sled_buf_append(b, "false", 5);
}

#endif /* SLED_EXPORT_VALUE_VISIT_H */
