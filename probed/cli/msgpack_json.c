/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "msgpack_json.h"

/* msgpack strings are not NUL-terminated: copy before writing. */
static char *dup_str(const char *p, uint32_t n)
{
	char *s = malloc((size_t)n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

void json_from_msgpack(struct json_writer *w, const msgpack_object *o)
{
	char *s;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL: jsonw_null(w); break;
	case MSGPACK_OBJECT_BOOLEAN: jsonw_bool(w, o->via.boolean); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: jsonw_uint(w, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: jsonw_int(w, o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: jsonw_float(w, o->via.f64); break;
	case MSGPACK_OBJECT_STR:
		s = dup_str(o->via.str.ptr, o->via.str.size);
		jsonw_string(w, s ? s : "");
		free(s);
		break;
	case MSGPACK_OBJECT_ARRAY:
		jsonw_start_array(w);
		for (uint32_t i = 0; i < o->via.array.size; i++)
			json_from_msgpack(w, &o->via.array.ptr[i]);
		jsonw_end_array(w);
		break;
	case MSGPACK_OBJECT_MAP:
		jsonw_start_object(w);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];

			if (kv->key.type != MSGPACK_OBJECT_STR)
				continue;
			s = dup_str(kv->key.via.str.ptr, kv->key.via.str.size);
			jsonw_name(w, s ? s : "");
			free(s);
			json_from_msgpack(w, &kv->val);
		}
		jsonw_end_object(w);
		break;
	default:
		jsonw_null(w);
	}
}
