/* SPDX-License-Identifier: MIT */
/* tp_figures: see tp_figures.h. */
#include <stdio.h>
#include <string.h>

#include "daemon/control/tp_figures.h"

void tp_table_add(struct tp_table *t, const char *provider, const char *name,
		  const struct figures *f, uint64_t emitted)
{
	struct tp_figures *r = NULL;

	/* Linear: a probe spans a handful of tracepoints; status is not a hot path. */
	for (unsigned i = 0; i < t->n && !r; i++)
		if (!strcmp(t->rows[i].provider, provider) && !strcmp(t->rows[i].name, name))
			r = &t->rows[i];
	if (!r) {
		if (t->n == TP_FIGURES_MAX) {
			t->truncated = true;
			return;
		}
		r = &t->rows[t->n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->provider, sizeof(r->provider), "%s", provider);
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	figures_add(&r->f, f);
	r->emitted += emitted;
}
