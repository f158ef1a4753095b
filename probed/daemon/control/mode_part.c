/* SPDX-License-Identifier: MIT */
/* mode_part: the table of the modes' parts (mode_part.h). */
#include "daemon/control/mode_part.h"

const struct mode_part_ops *const mode_parts[MODE_PARTS] = {
	[MODE_PART_SLED] = &part_sled,
	[MODE_PART_UPROBE] = &part_uprobe,
};
