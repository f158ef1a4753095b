/* SPDX-License-Identifier: MIT */
/* metrics_tracepoints: see metrics_tracepoints.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control/metrics_tracepoints.h"
#include "daemon/control/report.h"
#include "daemon/control/tp_figures.h"

/* One tracepoint of one probe: the rows of every probe's table, kept for every family. */
struct tp_row {
	char probe[12];
	struct tp_figures tp;
};

static const struct {
	const char *name, *help;
} tp_families[] = {
	{ "sled_tracepoint_hits_total", "Times the tracepoint was hit, for the probe." },
	{ "sled_tracepoint_emitted_total",
	  "Hits of the tracepoint that passed the probe functions and were to be recorded." },
	{ "sled_tracepoint_exported_total", "Events of the tracepoint exported for the probe." },
	{ "sled_tracepoint_dropped_total", "Events of the tracepoint lost in full rings." },
	{ "sled_tracepoint_filtered_total", "Hits of the tracepoint the probe's filter held back." },
	{ "sled_tracepoint_sampled_out_total", "Hits of the tracepoint --sample held back." },
	{ "sled_tracepoint_rate_limited_total", "Hits of the tracepoint --rate held back." },
};

static uint64_t figure(const struct tp_figures *r, size_t family)
{
	switch (family) {
	case 0: return r->f.hits;
	case 1: return r->emitted;
	case 2: return r->f.exported;
	case 3: return r->f.drops;
	case 4: return r->f.filtered;
	case 5: return r->f.sampled;
	default: return r->f.limited;
	}
}

/* Every probe's tracepoint rows, in status's order; NULL with *n 0 when there are none,
 * t->failed when out of memory. */
static struct tp_row *collect(struct metrics_text *t, struct daemon *d, size_t *n)
{
	struct tp_table *table = calloc(1, sizeof(*table));
	struct tp_row *rows = NULL;
	size_t cap = 0;

	*n = 0;
	if (!table) {
		t->failed = true;
		return NULL;
	}
	for (const struct probe *pb = d->probes.head; pb; pb = pb->next) {
		table->n = 0;
		report_probe_tp_table(pb, d, table);
		if (*n + table->n > cap) {
			size_t want = (*n + table->n) * 2;
			struct tp_row *grown = realloc(rows, want * sizeof(*rows));

			if (!grown) {
				t->failed = true;
				break;
			}
			rows = grown;
			cap = want;
		}
		for (unsigned i = 0; i < table->n; i++) {
			snprintf(rows[*n].probe, sizeof(rows[*n].probe), "%u", pb->id);
			rows[(*n)++].tp = table->rows[i];
		}
	}
	free(table);
	return rows;
}

void metrics_tracepoint_families(struct metrics_text *t, struct daemon *d)
{
	size_t n;
	struct tp_row *rows = collect(t, d, &n);

	for (size_t f = 0; n && f < sizeof(tp_families) / sizeof(tp_families[0]); f++) {
		metrics_family(t, tp_families[f].name, "counter", tp_families[f].help);
		for (size_t i = 0; i < n; i++) {
			struct metrics_label l[] = { { "probe", rows[i].probe },
						     { "provider", rows[i].tp.provider },
						     { "name", rows[i].tp.name } };

			metrics_sample_u64(t, tp_families[f].name, l, 3, figure(&rows[i].tp, f));
		}
	}
	free(rows);
}
