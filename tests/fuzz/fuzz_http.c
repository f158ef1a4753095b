/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 response parser of the otlp output (http_client.c) on arbitrary bytes, as a
 * receiver could send them: nothing may crash, a complete response never claims more
 * bytes than it was given, and the body kept stays within its bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sled_http_response r = { 0 };

	for (int eof = 0; eof < 2; eof++) {
		size_t used = 0;
		int rc = sled_http_parse_response((const char *)data, size, eof, &r, &used);

		if (rc == 1 && (used > size || used == 0 || r.head_len == 0 || r.status < 100))
			abort();
		if (r.body.len > SLED_HTTP_BODY_MAX || (rc == 0 && r.head_len > size))
			abort();
	}
	sled_buf_free(&r.body);
	return 0;
}
