// SPDX-License-Identifier: MIT
/*
 * ctl_frame: the size of the first msgpack request in a buffer (see ctl_frame.h).  Every
 * length a header announces is checked against the byte limit before its data is
 * waited for, and every container's count against the element limit.
 */
#include <stdbool.h>
#include <stdint.h>

#include "ctl_frame.h"

static uint64_t be(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* One object's header at p (avail bytes there): its header size, the payload bytes that
 * follow it and the child objects it contains.  false: not enough bytes for the header,
 * or (with *bad set) a byte msgpack never uses. */
static bool header(const unsigned char *p, size_t avail, size_t *hdr, uint64_t *payload,
		   uint64_t *children, bool *bad)
{
	unsigned char b = p[0];
	unsigned lenbytes = 0, fixed = 0;

	*payload = 0;
	*children = 0;
	*bad = false;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		*hdr = 1;
		return true;
	}
	if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
		*hdr = 1;
		*children = (uint64_t)(b & 0x0f) * ((b & 0xf0) == 0x80 ? 2 : 1);
		return true;
	}
	if ((b & 0xe0) == 0xa0) {
		*hdr = 1;
		*payload = b & 0x1f;
		return true;
	}
	switch (b) {
	case 0xc4: case 0xd9: lenbytes = 1; break;                 /* bin8, str8 */
	case 0xc5: case 0xda: lenbytes = 2; break;                 /* bin16, str16 */
	case 0xc6: case 0xdb: lenbytes = 4; break;                 /* bin32, str32 */
	case 0xc7: lenbytes = 1; fixed = 1; break;                 /* ext8 + type */
	case 0xc8: lenbytes = 2; fixed = 1; break;
	case 0xc9: lenbytes = 4; fixed = 1; break;
	case 0xca: fixed = 4; break;                               /* float32 */
	case 0xcb: fixed = 8; break;                               /* float64 */
	case 0xcc: case 0xd0: fixed = 1; break;                    /* (u)int8 */
	case 0xcd: case 0xd1: fixed = 2; break;
	case 0xce: case 0xd2: fixed = 4; break;
	case 0xcf: case 0xd3: fixed = 8; break;
	case 0xd4: fixed = 2; break;                               /* fixext1 + type */
	case 0xd5: fixed = 3; break;
	case 0xd6: fixed = 5; break;
	case 0xd7: fixed = 9; break;
	case 0xd8: fixed = 17; break;
	case 0xdc: case 0xde: lenbytes = 2; break;                 /* array16, map16 */
	case 0xdd: case 0xdf: lenbytes = 4; break;                 /* array32, map32 */
	default: *bad = true; return false;                        /* 0xc1 */
	}
	*hdr = 1 + lenbytes;
	if (avail < *hdr)
		return false;
	if (b >= 0xdc) {
		*children = be(p + 1, lenbytes) * (b >= 0xde ? 2 : 1);
		return true;
	}
	*payload = be(p + 1, lenbytes) + fixed;
	return true;
}

enum ctl_frame_result ctl_frame_scan(const void *buf, size_t n,
				     const struct ctl_frame_limits *lim, size_t *len,
				     const char **why)
{
	const unsigned char *p = buf;
	uint64_t left[CTL_FRAME_MAX_DEPTH + 1]; /* objects still to read at each level */
	uint64_t elements = 0;
	unsigned depth = 0;
	size_t off = 0;
	const char *dummy;

	if (!why)
		why = &dummy;
	if (!n)
		return CTL_FRAME_PARTIAL;
	if (!((p[0] & 0xf0) == 0x80 || p[0] == 0xde || p[0] == 0xdf)) {
		*why = "a request must be a msgpack map";
		return CTL_FRAME_BAD;
	}
	left[0] = 1;
	for (;;) {
		uint64_t payload, children;
		size_t hdr;
		bool bad;

		while (depth && !left[depth])
			depth--;
		if (!left[depth]) {
			*len = off;
			return CTL_FRAME_COMPLETE;
		}
		if (off >= n)
			return CTL_FRAME_PARTIAL;
		if (!header(p + off, n - off, &hdr, &payload, &children, &bad)) {
			if (bad) {
				*why = "not msgpack (byte 0xc1)";
				return CTL_FRAME_BAD;
			}
			if (off + 9 <= lim->max_bytes)
				return CTL_FRAME_PARTIAL;
			*why = "request too large";
			return CTL_FRAME_TOO_BIG;
		}
		left[depth]--;
		/* Checked before the payload arrives: the announced size is what counts. */
		if ((uint64_t)off + hdr + payload > lim->max_bytes) {
			*why = "request too large";
			return CTL_FRAME_TOO_BIG;
		}
		elements += children;
		if (elements > lim->max_elements) {
			*why = "request has too many elements";
			return CTL_FRAME_TOO_BIG;
		}
		if (off + hdr + payload > n)
			return CTL_FRAME_PARTIAL;
		off += hdr + (size_t)payload;
		if (children) {
			if (depth == CTL_FRAME_MAX_DEPTH) {
				*why = "request nested too deeply";
				return CTL_FRAME_TOO_BIG;
			}
			left[++depth] = children;
		}
	}
}
