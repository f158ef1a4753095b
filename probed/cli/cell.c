// SPDX-License-Identifier: MIT
/* cell: text fitted to a table column (cell.h). */
#include <stdio.h>
#include <string.h>

#include "cell.h"

const char *cell_fit(char *buf, size_t len, const char *text, size_t width, enum cell_keep keep)
{
	size_t n = strlen(text);

	if (width >= len)
		width = len - 1;
	if (n <= width) {
		snprintf(buf, len, "%s", text);
		return buf;
	}
	if (keep == CELL_TAIL)
		snprintf(buf, len, "...%s", text + n - (width - 3));
	else
		snprintf(buf, len, "%.*s...", (int)(width - 3), text);
	return buf;
}
