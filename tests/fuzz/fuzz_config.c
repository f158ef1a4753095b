/* SPDX-License-Identifier: MIT */
/*
 * probed's config file parser (probed/daemon/core/config.c) on arbitrary text, including the
 * enable lines it checks with probectl's option parser (ctl_request.c).  Nothing may
 * crash or leak; a config that loads must have sane contents.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (config_load_stream(f, "fuzz.conf", &cfg, err, sizeof(err)) == 0) {
		for (unsigned i = 0; i < cfg.nenables; i++)
			if (cfg.enables[i].argc < 2 || strcmp(cfg.enables[i].argv[0], "enable"))
				abort();
	} else if (strncmp(err, "fuzz.conf:", 10) && strcmp(err, "out of memory")) {
		abort(); /* every error names the file and line */
	}
	config_free(&cfg);
	fclose(f);
	return 0;
}
