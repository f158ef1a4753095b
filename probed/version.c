/* SPDX-License-Identifier: MIT */
/*
 * --version: the release (CMake's project version) and the versions of the two
 * interfaces that must match across an upgrade: the shared-memory layout between libsled
 * and probed, and the control protocol between probectl and probed.
 */
#include <stdio.h>

#include "ctl/ctl_version.h"
#include "probed_build.h"
#include "sled/abi/shm_layout.h"
#include "version.h"

void print_version(const char *prog)
{
	printf("%s %s (shm layout %d, control protocol %d)\n", prog, SLED_PROBED_VERSION,
	       SLED_SHM_VERSION, SLED_CTL_PROTOCOL_VERSION);
}
