/* SPDX-License-Identifier: MIT */
/*
 * The text parsers on arbitrary input: /proc/PID/maps lines, TRACEPOINT source text split
 * into field names, and --filter expressions compiled and evaluated against a fixed set of
 * fields.  Nothing may crash; a compiled filter must evaluate without reading outside its
 * program or the values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sled/tracepoint.h>

#include "filter.h"
#include "proc_maps.h"
#include "sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sled_field fields[] = {
		{ "id", SLED_T_U64 }, { "d", SLED_T_I32 }, { "name", SLED_T_STRING },
		{ "lat", SLED_T_DOUBLE }, { "r", SLED_T_FLOAT }, { "ok", SLED_T_BOOL },
	};
	struct sled_field out[SLED_MAX_ARGS];
	struct sled_filter_prog prog;
	struct sled_map m;
	char err[256], *text = malloc(size + 1);
	uint64_t vals[6] = { 1, 2, (uint64_t)(uintptr_t) "req-1", 0, 0, 1 };

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	sled_map_parse_line(text, &m);
	sled_field_names(text, (int)(size % (SLED_MAX_ARGS + 1)), out);
	for (int i = 0; i < SLED_MAX_ARGS; i++)
		if (!memchr(out[i].name, 0, sizeof(out[i].name)) && i < (int)(size % (SLED_MAX_ARGS + 1)))
			abort();
	if (sled_filter_compile(text, fields, 6, &prog, err, sizeof(err)) == 0) {
		if (prog.ninsns == 0 || prog.ninsns > SLED_FILTER_MAX_INSNS)
			abort();
		(void)sled_filter_eval(&prog, vals, 6);
	} else if (strncmp(err, "filter: ", 8) || strchr(err, '\n')) {
		abort();
	}
	free(text);
	return 0;
}
