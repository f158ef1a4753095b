/* SPDX-License-Identifier: MIT */
/* probectl's per-command help pages and --version. */
#ifndef SLED_CMD_HELP_H
#define SLED_CMD_HELP_H

#include <stdbool.h>

/* One command's usage, options and syntax on stdout: 0, or EXIT_USAGE for an unknown
 * command (with an error line). */
int cmd_help_print(const char *name);

/* True when a command's own arguments (argv[0] = command) ask for --help or -h. */
bool cmd_help_wanted(int argc, char **argv);

#endif /* SLED_CMD_HELP_H */
