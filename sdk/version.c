/* SPDX-License-Identifier: MIT */
#include <sled/sled.h>

#include "sled_build.h"

const char *sled_runtime_version(void)
{
	return SLED_VERSION_STRING;
}
