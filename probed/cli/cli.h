/* SPDX-License-Identifier: MIT */
/* probectl's shared pieces: output mode and the one-line error convention. */
#ifndef SLED_CLI_H
#define SLED_CLI_H

#include <stdbool.h>

/* Set by --json / -j anywhere on the command line. */
extern bool json_output;

/* "Error: ..." on stderr, one line.  Commands return the exit status. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define EXIT_USAGE 2

/* Each command: argc/argv start at the command's own arguments (argv[0] = command). */
int do_list(int argc, char **argv);
int do_enable(int argc, char **argv);
int do_disable(int argc, char **argv);
int do_status(int argc, char **argv);
int do_tail(int argc, char **argv);
int do_top(int argc, char **argv);
int do_show(int argc, char **argv);

#endif /* SLED_CLI_H */
