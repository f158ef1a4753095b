/* SPDX-License-Identifier: MIT */
/*
 * event: one decoded tracepoint hit, as the daemon hands it to encoders and outputs.
 * Strings point into the ring (or a caller's buffer) and are valid only during the call.
 */
#ifndef SLED_EVENT_H
#define SLED_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <sled/tracepoint.h>

#define SLED_EVENT_MAX_FIELDS 12

struct sled_event_field {
	const char *name;
	uint8_t type; /* SLED_T_* of <sled/tracepoint.h> */
	union {
		int64_t i;    /* SLED_T_I8..I64 (sign-extended) */
		uint64_t u;   /* SLED_T_U8..U64, SLED_T_POINTER */
		bool b;       /* SLED_T_BOOL */
		double d;     /* SLED_T_FLOAT (widened) and SLED_T_DOUBLE */
		struct {
			const char *ptr; /* NULL for a NULL char * */
			uint32_t len;
			bool truncated;  /* the string was longer than the runtime keeps */
		} str;        /* SLED_T_STRING */
	} v;
};

struct sled_event {
	const char *provider;
	const char *name;
	uint64_t ts_ns;   /* CLOCK_REALTIME, nanoseconds since the epoch */
	pid_t pid;
	pid_t tid;
	const char *mode; /* "sled" or "uprobe"; encoders may omit it */
	/* The traced process's executable path when the daemon knows it (sled mode), NULL
	 * otherwise: outputs that name the program look the pid up (proc_name.h). */
	const char *exe;
	unsigned nfields;
	struct sled_event_field fields[SLED_EVENT_MAX_FIELDS];
};

/*
 * A non-string field from the 64-bit word a record carries for it: integers already
 * sign- or zero-extended, floats as their IEEE-754 bit pattern (a float in the low 32
 * bits).  Sled-mode rings and the uprobe ring buffer use the same words.
 */
static inline void sled_event_field_set(struct sled_event_field *f, const char *name,
					uint8_t type, uint64_t raw)
{
	f->name = name;
	f->type = type;
	switch (type) {
	case SLED_T_I8: case SLED_T_I16: case SLED_T_I32: case SLED_T_I64:
		f->v.i = (int64_t)raw;
		break;
	case SLED_T_BOOL:
		f->v.b = raw != 0;
		break;
	case SLED_T_FLOAT: {
		uint32_t u = (uint32_t)raw;
		float x;

		memcpy(&x, &u, sizeof(x));
		f->v.d = x;
		break;
	}
	case SLED_T_DOUBLE:
		memcpy(&f->v.d, &raw, sizeof(f->v.d));
		break;
	default: /* unsigned integers, pointers, types this build does not know */
		f->v.u = raw;
	}
}

#endif /* SLED_EVENT_H */
