/* SPDX-License-Identifier: MIT */
/*
 * probectl: list, enable, disable, status and tail sled tracepoints.
 * Commands live in a table, each in its own cmd_*.c file; adding a verb is one line here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

bool json_output;

void p_err(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void p_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("Warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int do_help(int argc, char **argv);

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct cmd cmds[] = {
	{ "list", do_list, "list [PATTERN] [-b PATH | -p PID] [-v] [--json]" },
	{ "help", do_help, "help" },
};

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "Usage: probectl [--json] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  probectl %s\n", cmds[i].usage);
	fprintf(stderr,
		"\nPATTERN is provider:name with * and ? wildcards; without ':' it matches the\n"
		"provider or the name.  --json prints machine-readable output.\n");
	return 0;
}

/* Remove global flags (--json, -j) wherever they appear; returns the new argc. */
static int strip_global_flags(int argc, char **argv)
{
	int o = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json_output = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	return o;
}

int main(int argc, char **argv)
{
	argc = strip_global_flags(argc, argv);
	if (argc < 2) {
		do_help(0, NULL);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return do_help(0, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	p_err("unknown command '%s' (try 'probectl help')", argv[1]);
	return EXIT_USAGE;
}
