/* SPDX-License-Identifier: MIT */
/*
 * config: probed -c FILE, so a service starts with its outputs and standing enables.
 *
 * One directive per line; words split on blanks, with '...' and "..." quoting (a
 * backslash escapes the next character inside "..." and outside quotes); '#' at the
 * start of a word comments out the rest of the line.
 *
 *   socket PATH                 control socket (-S on the command line wins)
 *   socket-mode MODE            octal permissions of the socket
 *   output SPEC                 as -o; repeatable (-o adds to these)
 *   verbose                     as -v
 *   metrics HOST:PORT [any]     as --metrics (with any: --metrics-any), the Prometheus
 *                               endpoint
 *   max-request-bytes N, max-clients N, max-clients-per-uid N, max-probes-per-uid N,
 *   client-buffer N             the control socket's limits, as the options of the
 *                               same names (docs/SECURITY.md)
 *   max-objects-memory N        bytes of parsed ELF objects held, as the option
 *   max-metrics-bytes N         bytes of one GET /metrics reply, as the option
 *   enable PATTERN [OPTIONS]    as `probectl enable`, applied at start-up as a standing
 *                               probe (e.g. enable 'app:*' -b /usr/bin/app --rate 100/s)
 */
#ifndef SLED_CONFIG_H
#define SLED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_MAX_WORDS 32

/* The limit directives, in the order of struct config's limits[]. */
#define CONFIG_LIMIT_NAMES \
	"max-request-bytes", "max-clients", "max-clients-per-uid", "max-probes-per-uid", \
	"client-buffer", "max-objects-memory", "max-metrics-bytes"
#define CONFIG_NLIMITS 7

struct config_line {
	unsigned lineno;
	int argc;
	char *argv[CONFIG_MAX_WORDS + 1];
};

struct config {
	char *path;
	char *socket;
	char *socket_mode;
	bool verbose;
	char *metrics;     /* HOST:PORT, NULL if not given */
	bool metrics_any;  /* "any" after it: a non-loopback address is allowed */
	char *limits[CONFIG_NLIMITS]; /* text as written; main.c checks the numbers */
	char **outputs;
	unsigned noutputs;
	struct config_line *enables; /* argv[0] is "enable" */
	unsigned nenables;
};

/* Read path into cfg: 0, or -1 with "FILE:LINE: reason" in err.  Either way cfg must be
 * released with config_free. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
/* The same from an open stream, path naming it in messages (tests, fuzzing). */
int config_load_stream(FILE *f, const char *path, struct config *cfg, char *err,
		       size_t errlen);
void config_free(struct config *cfg);

#endif /* SLED_CONFIG_H */
