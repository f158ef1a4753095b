/* SPDX-License-Identifier: MIT */
/*
 * probectl: list, enable, disable, status, tail and top sled tracepoints.
 * Commands live in a table, each in its own cmd_*.c file; adding a verb is one line here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_help.h"
#include "json_writer.h"
#include "ctl_client.h"
#include "version.h"

bool json_output;

/* One line "Error: ..." on stderr; under --json {"error": "..."} on stdout instead, as
 * bpftool does, so a script reads one JSON document from stdout whatever happens. */
void p_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_output) {
		struct json_writer *w = jsonw_new(stdout);

		jsonw_start_object(w);
		jsonw_string_field(w, "error", msg);
		jsonw_end_object(w);
		jsonw_destroy(&w);
		fflush(stdout);
		return;
	}
	fprintf(stderr, "Error: %s\n", msg);
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
	{ "enable", do_enable, "enable PATTERN [-p PID | -b PATH] [--mode sled|uprobe|auto]\n"
			       "                  [--filter EXPR] [--sample N] [--rate N/s] [--count-only]\n"
			       "                  [--pending] [-a|--aggregate EXPR ...] [--max-keys N]" },
	{ "show", do_show, "show ID [--json] [--clear] [--interval SECONDS]" },
	{ "disable", do_disable, "disable ID | PATTERN [-p PID | -b PATH]" },
	{ "status", do_status, "status [--json]" },
	{ "tail", do_tail, "tail [PATTERN] [--json]" },
	{ "top", do_top, "top [--interval SECONDS] [--once] [--json]" },
	{ "help", do_help, "help [COMMAND]" },
};

static int do_help(int argc, char **argv)
{
	if (argc > 1)
		return cmd_help_print(argv[1]);
	fprintf(stderr, "Usage: probectl [--json] [-S SOCKET] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  probectl %s\n", cmds[i].usage);
	fprintf(stderr,
		"\nPATTERN is provider:name with * and ? wildcards; without ':' it matches the\n"
		"provider or the name.  --json prints machine-readable output, errors included\n"
		"({\"error\": \"...\"} on stdout).  -S (or $PROBED_SOCKET) names the daemon's\n"
		"socket; by default /run/probed.sock for root, else $XDG_RUNTIME_DIR/probed.sock,\n"
		"else /tmp/probed-UID.sock.  list works without a daemon.\n"
		"'probectl help COMMAND' or 'probectl COMMAND --help' shows a command's options;\n"
		"--version prints the version.\n");
	return 0;
}

/* Remove global flags (--json, -j, -S PATH) wherever they appear; returns the new argc,
 * or -1 when -S lacks its argument. */
static int strip_global_flags(int argc, char **argv)
{
	int o = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json_output = true;
			continue;
		}
		if (!strcmp(argv[i], "-S") || !strcmp(argv[i], "--socket")) {
			if (i + 1 >= argc)
				return -1;
			socket_option = argv[++i];
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
	if (argc < 0) {
		p_err("-S needs a socket path");
		return EXIT_USAGE;
	}
	if (argc < 2) {
		do_help(0, NULL);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return do_help(0, NULL);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		print_version("probectl");
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (cmd_help_wanted(argc - 1, argv + 1))
			return cmd_help_print(cmds[i].name);
		return cmds[i].fn(argc - 1, argv + 1);
	}
	p_err("unknown command '%s' (try 'probectl help')", argv[1]);
	return EXIT_USAGE;
}
