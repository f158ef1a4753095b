/* SPDX-License-Identifier: MIT */
/* decode: see decode.h. */
#include <sled/tracepoint.h>

#include "daemon/core/decode.h"
#include "sled/abi/shm_layout.h"

int decode_values(struct sled_event *ev, const struct sled_field *fields, unsigned n,
		  const uint64_t *v, const char *str, const char *end)
{
	if (n > SLED_EVENT_MAX_FIELDS)
		return -1;
	ev->nfields = n;
	for (unsigned i = 0; i < n; i++) {
		struct sled_event_field *f = &ev->fields[i];
		uint8_t type = fields[i].type;
		uint64_t word = v[i], len = word & SLED_REC_STR_LEN_MASK;

		if (type != SLED_T_STRING) {
			sled_event_field_set(f, fields[i].name, type, word);
			continue;
		}
		f->name = fields[i].name;
		f->type = type;
		if (word & SLED_REC_STR_NULL) {
			f->v.str.ptr = NULL;
			f->v.str.len = 0;
			f->v.str.truncated = false;
			continue;
		}
		if (word & SLED_REC_STR_FAULT) {
			/* Unreadable memory: nothing kept of it, so it is reported as a string
			 * cut to nothing (listed in "truncated"), not as NULL. */
			f->v.str.ptr = str;
			f->v.str.len = 0;
			f->v.str.truncated = true;
			continue;
		}
		if (len > SLED_SHM_MAX_STR || len > (uint64_t)(end - str))
			return -1;
		f->v.str.ptr = str;
		f->v.str.len = (uint32_t)len;
		f->v.str.truncated = (word & SLED_REC_STR_TRUNCATED) != 0;
		str += len;
	}
	return 0;
}
