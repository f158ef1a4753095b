// SPDX-License-Identifier: MIT
/*
 * enable_check: can an enable ever match (enable_check.h)?
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli/pattern.h"
#include "daemon/control/binary_object.h"
#include "daemon/control/enable_check.h"
#include "daemon/core/daemon.h"
#include "daemon/uprobe/uprobe_auto.h"
#include "filter/filter.h"

/* What one enable found among the tracepoints looked at. */
struct fit {
	const char *pattern, *filter;
	unsigned matched; /* tracepoint sites the pattern matches */
	unsigned fits;    /* of them, sites the filter compiles for */
	char why[256];    /* the first filter error, naming its tracepoint */
};

static void fit_object(const struct sled_object *obj, void *arg)
{
	struct fit *f = arg;
	struct sled_filter_prog prog;
	char err[200];

	for (size_t i = 0; i < obj->nsites; i++) {
		const struct sled_site *s = &obj->sites[i];

		if (s->kind == SLED_SITE_GUARD || !sled_pattern_match(f->pattern, s->provider, s->name))
			continue;
		f->matched++;
		if (!f->filter[0] ||
		    !sled_filter_compile(f->filter, s->fields, (unsigned)s->nargs, &prog, err,
					 sizeof(err)))
			f->fits++;
		else if (!f->why[0])
			snprintf(f->why, sizeof(f->why), "%s:%s: %s", s->provider, s->name, err);
	}
}

/* The tracepoints the daemon knows: its attached processes' and the uprobe part's. */
static void fit_known(struct daemon *d, struct fit *f)
{
	for (const struct traced_proc *p = d->procs.head; p; p = p->next)
		for (size_t i = 0; !p->gone && i < p->disc.nobjects; i++)
			fit_object(p->disc.objects[i].obj, f);
	uprobe_auto_each_object(d, fit_object, f);
}

static int check_binary(struct daemon *d, struct fit *f, const char *binary, char *why,
			size_t whylen)
{
	struct binary_object bin;
	char err[256];

	if (binary_object_get(d, binary, &bin, err, sizeof(err))) {
		snprintf(why, whylen, "%s", err);
		return -1;
	}
	fit_object(bin.obj, f);
	binary_object_put(d, &bin);
	if (!f->matched) {
		snprintf(why, whylen, "no tracepoint matches '%s' in %s", f->pattern, binary);
		return -1;
	}
	/* As when it is applied: a filter that does not fit every tracepoint it matches is
	 * refused whole. */
	if (f->fits < f->matched) {
		snprintf(why, whylen, "%s", f->why);
		return -1;
	}
	return 0;
}

int enable_check(struct daemon *d, const char *pattern, const char *filter, const char *binary,
		 bool uprobes, bool pending, char *why, size_t whylen)
{
	struct fit f = { .pattern = pattern, .filter = filter ? filter : "" };

	if (binary[0])
		return check_binary(d, &f, binary, why, whylen);
	if (pending)
		return 0;
	fit_known(d, &f);
	if (!f.fits && uprobes) {
		/* Processes without libsled the uprobe part has not looked at yet. */
		memset(&f.matched, 0, sizeof(f) - offsetof(struct fit, matched));
		uprobe_auto_scan(d);
		fit_known(d, &f);
	}
	if (!f.matched) {
		snprintf(why, whylen, "no tracepoint known matches '%s' (in the attached processes "
			 "and the objects scanned): --pending to enable it for programs to come",
			 pattern);
		return -1;
	}
	if (!f.fits) {
		snprintf(why, whylen, "%s (no tracepoint known that '%s' matches has the "
			 "filter's fields: --pending to enable it for programs to come)", f.why,
			 pattern);
		return -1;
	}
	return 0;
}
