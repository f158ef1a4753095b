// SPDX-License-Identifier: MIT
/*
 * config: the probed -c file (format in config.h).  Enable lines are checked here with
 * the same parser probectl uses (ctl_request.c), so a typo fails at start-up with the
 * line number, not later in a log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/core/config.h"
#include "ctl/ctl_request.h"
#include "common/seterr.h"

static void set_err(char *err, size_t errlen, const struct config *cfg, unsigned line,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void set_err(char *err, size_t errlen, const struct config *cfg, unsigned line,
		    const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s:%u: ", cfg->path, line);

	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	sled_vseterr(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Split line in place into words: the count, or -1 with a reason in *why. */
static int split_words(char *line, char **words, int max, const char **why)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (!*r || *r == '#')
			return n;
		if (n == max) {
			*why = "too many words";
			return -1;
		}
		words[n++] = w = r;
		while (*r && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n') {
			char q = *r;

			if (q == '\'' || q == '"') {
				r++;
				while (*r && *r != q) {
					if (q == '"' && *r == '\\' && r[1])
						r++;
					*w++ = *r++;
				}
				if (!*r) {
					*why = "unterminated quote";
					return -1;
				}
				r++;
				continue;
			}
			if (q == '\\' && r[1])
				r++;
			*w++ = *r++;
		}
		if (*r)
			r++;
		*w = '\0'; /* w trails r: this overwrites a quote, escape or the blank */
	}
}

static int add_enable(struct config *cfg, unsigned lineno, char **words, int n, char *err,
		      size_t errlen)
{
	struct config_line *l, *grown;
	struct ctl_scope s;
	char why[512], *tmp[CONFIG_MAX_WORDS + 1];

	/* Validate on a copy: getopt permutes argv. */
	memcpy(tmp, words, (size_t)n * sizeof(*tmp));
	tmp[n] = NULL;
	if (ctl_parse_scope(n, tmp, true, &s, why, sizeof(why))) {
		set_err(err, errlen, cfg, lineno, "%s", why);
		return -1;
	}
	grown = realloc(cfg->enables, (cfg->nenables + 1) * sizeof(*grown));
	if (!grown)
		goto oom;
	cfg->enables = grown;
	l = &cfg->enables[cfg->nenables];
	memset(l, 0, sizeof(*l));
	l->lineno = lineno;
	for (int i = 0; i < n; i++) {
		if (!(l->argv[i] = strdup(words[i]))) {
			for (int k = 0; k < i; k++)
				free(l->argv[k]);
			goto oom;
		}
	}
	l->argc = n;
	cfg->nenables++;
	return 0;
oom:
	set_err(err, errlen, cfg, lineno, "out of memory");
	return -1;
}

static int set_once(struct config *cfg, unsigned lineno, char **slot, char **words, int n,
		    char *err, size_t errlen)
{
	if (n != 2) {
		set_err(err, errlen, cfg, lineno, "'%s' takes one value", words[0]);
		return -1;
	}
	free(*slot);
	*slot = strdup(words[1]);
	if (!*slot) {
		set_err(err, errlen, cfg, lineno, "out of memory");
		return -1;
	}
	return 0;
}

static int directive(struct config *cfg, unsigned lineno, char **words, int n, char *err,
		     size_t errlen)
{
	const char *d = words[0];

	if (!strcmp(d, "socket"))
		return set_once(cfg, lineno, &cfg->socket, words, n, err, errlen);
	if (!strcmp(d, "socket-mode"))
		return set_once(cfg, lineno, &cfg->socket_mode, words, n, err, errlen);
	if (!strcmp(d, "verbose")) {
		if (n != 1) {
			set_err(err, errlen, cfg, lineno, "'verbose' takes no value");
			return -1;
		}
		cfg->verbose = true;
		return 0;
	}
	if (!strcmp(d, "output")) {
		char **grown, *spec;

		if (n != 2) {
			set_err(err, errlen, cfg, lineno, "'output' takes one SPEC");
			return -1;
		}
		grown = realloc(cfg->outputs, (cfg->noutputs + 1) * sizeof(*grown));
		spec = strdup(words[1]);
		if (grown)
			cfg->outputs = grown;
		if (!grown || !spec) {
			free(spec);
			set_err(err, errlen, cfg, lineno, "out of memory");
			return -1;
		}
		cfg->outputs[cfg->noutputs++] = spec;
		return 0;
	}
	if (!strcmp(d, "metrics")) {
		if (n == 3 && strcmp(words[2], "any")) {
			set_err(err, errlen, cfg, lineno, "'metrics' takes HOST:PORT [any]");
			return -1;
		}
		cfg->metrics_any = n == 3;
		return set_once(cfg, lineno, &cfg->metrics, words, n == 3 ? 2 : n, err, errlen);
	}
	if (!strcmp(d, "enable"))
		return add_enable(cfg, lineno, words, n, err, errlen);
	for (unsigned i = 0; i < CONFIG_NLIMITS; i++) {
		static const char *const names[CONFIG_NLIMITS] = { CONFIG_LIMIT_NAMES };

		if (!strcmp(d, names[i]))
			return set_once(cfg, lineno, &cfg->limits[i], words, n, err, errlen);
	}
	set_err(err, errlen, cfg, lineno,
		"unknown directive '%s' (socket, socket-mode, output, verbose, metrics, enable, "
		"max-request-bytes, max-clients, max-clients-per-uid, max-probes-per-uid, "
		"client-buffer, max-objects-memory, max-metrics-bytes)", d);
	return -1;
}

int config_load_stream(FILE *f, const char *path, struct config *cfg, char *err,
		       size_t errlen)
{
	char *line = NULL, *words[CONFIG_MAX_WORDS];
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	if (!cfg->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ssize_t len;

	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *why = NULL;
		int n;

		lineno++;
		if (strlen(line) != (size_t)len) {
			set_err(err, errlen, cfg, lineno, "NUL byte in the line");
			rc = -1;
			break;
		}
		n = split_words(line, words, CONFIG_MAX_WORDS, &why);
		if (n < 0) {
			set_err(err, errlen, cfg, lineno, "%s", why);
			rc = -1;
			break;
		}
		if (n && directive(cfg, lineno, words, n, err, errlen)) {
			rc = -1;
			break;
		}
	}
	free(line);
	return rc;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		memset(cfg, 0, sizeof(*cfg));
		snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
		return -1;
	}
	rc = config_load_stream(f, path, cfg, err, errlen);
	fclose(f);
	return rc;
}

void config_free(struct config *cfg)
{
	for (unsigned i = 0; i < cfg->noutputs; i++)
		free(cfg->outputs[i]);
	for (unsigned i = 0; i < cfg->nenables; i++)
		for (int k = 0; k < cfg->enables[i].argc; k++)
			free(cfg->enables[i].argv[k]);
	free(cfg->outputs);
	free(cfg->enables);
	free(cfg->socket);
	free(cfg->socket_mode);
	free(cfg->metrics);
	for (unsigned i = 0; i < CONFIG_NLIMITS; i++)
		free(cfg->limits[i]);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}
