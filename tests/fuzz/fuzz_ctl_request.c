/* SPDX-License-Identifier: MIT */
/*
 * probed's first look at a control client's bytes: ctl_frame_scan (where a request ends,
 * refused past the limits before anything is allocated), then msgpack's unpacker on a
 * complete request, then the strict field readers every request goes through.  Nothing
 * may crash; a request the scanner calls complete must unpack as a map of that size.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctl.h"
#include "ctl_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ctl_frame_limits lim = { 4096, 256 };
	static const char *const keys[] = { "version", "cmd", "pattern", "pid", "binary", "mode",
					    "filter", "sample", "rate", "count_only", NULL };
	msgpack_unpacked u;
	size_t len = 0, off = 0;
	char buf[256], err[256];
	int64_t v;
	bool b;

	if (ctl_frame_scan(data, size, &lim, &len, NULL) != CTL_FRAME_COMPLETE)
		return 0;
	if (len == 0 || len > size || len > lim.max_bytes)
		abort();
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, (const char *)data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len || u.data.type != MSGPACK_OBJECT_MAP)
		abort();
	ctl_check_keys(&u.data, keys, err, sizeof(err));
	ctl_field_str(&u.data, "pattern", buf, sizeof(buf), err, sizeof(err));
	ctl_field_i64(&u.data, "pid", 1, INT32_MAX, &v, err, sizeof(err));
	ctl_field_bool(&u.data, "count_only", &b, err, sizeof(err));
	msgpack_unpacked_destroy(&u);
	return 0;
}
