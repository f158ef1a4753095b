/* SPDX-License-Identifier: MIT */
/*
 * cell: fit a text into a table column of fixed width, so long field lists, patterns and
 * paths never push the columns after them out of line.  The rule: text that fits is kept;
 * longer text keeps its first width-3 characters and ends in "..." (CELL_HEAD), or, for
 * paths whose end says most, starts with "..." and keeps its last width-3 (CELL_TAIL).
 * The last column of a row is never cut (nothing follows it).
 */
#ifndef SLED_CELL_H
#define SLED_CELL_H

#include <stddef.h>

enum cell_keep { CELL_HEAD, CELL_TAIL };

/* text cut to at most width bytes (width >= 4) into buf; returns buf. */
const char *cell_fit(char *buf, size_t len, const char *text, size_t width, enum cell_keep keep);

#endif /* SLED_CELL_H */
