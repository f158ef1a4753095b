/* SPDX-License-Identifier: MIT */
/* metrics_families: see metrics_families.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/control/metrics_aggregate.h"
#include "daemon/control/metrics_families.h"
#include "daemon/control/metrics_tracepoints.h"
#include "daemon/control/report.h"
#include "daemon/core/engine.h"
#include "daemon/uprobe/uprobe_auto.h"

typedef void (*metrics_source)(struct metrics_text *t, struct daemon *d);

static void counter(struct metrics_text *t, const char *name, const char *help, uint64_t v)
{
	metrics_family(t, name, "counter", help);
	metrics_sample_u64(t, name, NULL, 0, v);
}

static void gauge(struct metrics_text *t, const char *name, const char *help, uint64_t v)
{
	metrics_family(t, name, "gauge", help);
	metrics_sample_u64(t, name, NULL, 0, v);
}

static void daemon_families(struct metrics_text *t, struct daemon *d)
{
	const struct server_stats *s = &d->stats;
	struct server_clients c;
	struct uprobe_row *rows;
	unsigned sled = 0, uprobe, probes = 0;
	const struct {
		const char *reason;
		uint64_t n;
	} refused[] = {
		{ "clients", s->refused_clients },
		{ "clients_per_uid", s->refused_clients_uid },
		{ "no_fds", s->refused_fds },
		{ "request_too_large", s->refused_too_large },
		{ "malformed", s->refused_malformed },
		{ "probes_per_uid", s->refused_probes },
		{ "version", s->refused_version },
	};

	counter(t, "sled_events_drained_total", "Events read from the rings and BPF since start.",
		d->events);
	for (struct traced_proc *p = d->procs.head; p; p = p->next)
		sled += !p->gone;
	uprobe = uprobe_auto_rows(d, &rows);
	free(rows);
	metrics_family(t, "sled_processes_attached", "gauge",
		       "Traced processes, by mode (as the rows of probectl status).");
	metrics_sample_u64(t, "sled_processes_attached",
			   (struct metrics_label[]){ { "mode", "sled" } }, 1, sled);
	metrics_sample_u64(t, "sled_processes_attached",
			   (struct metrics_label[]){ { "mode", "uprobe" } }, 1, uprobe);
	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		probes++;
	gauge(t, "sled_probes", "Standing probes.", probes);
	server_count_clients(d, &c);
	gauge(t, "sled_control_clients", "Clients connected to the control socket.", c.clients);
	gauge(t, "sled_control_tail_clients", "Control clients streaming events (tail).", c.tails);
	counter(t, "sled_limits_hit_total",
		"Times a control-socket limit was hit: connections and requests refused, "
		"clients slowed.", server_limits_hit(s));
	metrics_family(t, "sled_control_refused_total", "counter",
		       "Control connections and requests refused, by reason.");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		metrics_sample_u64(t, "sled_control_refused_total",
				   (struct metrics_label[]){ { "reason", refused[i].reason } }, 1,
				   refused[i].n);
	counter(t, "sled_requests_refused_total", "Control requests answered with an error.",
		s->refused_requests);
	counter(t, "sled_tail_events_lost_total", "Events a slow tail client did not get.",
		s->tail_lost);
}

/* The per-probe families: one table row each, a sample per probe from its report. */
static const struct {
	const char *name, *type, *help;
	size_t offset;
	bool narrow; /* an unsigned, not a uint64_t */
} probe_figures[] = {
#define FIG(n, type, field, help) { n, type, help, offsetof(struct probe_report, field), false }
	FIG("sled_probe_hits_total", "counter", hits, "Times the probe's tracepoints were hit."),
	FIG("sled_probe_emitted_total", "counter", emitted,
	    "Hits that passed the probe functions and were to be recorded."),
	FIG("sled_probe_exported_total", "counter", exported,
	    "Events the daemon exported for the probe."),
	FIG("sled_probe_dropped_total", "counter", dropped,
	    "Events lost in full rings (emitted = exported + dropped once drained)."),
	FIG("sled_probe_filtered_total", "counter", filtered,
	    "Hits the probe's filter held back."),
	FIG("sled_probe_sampled_out_total", "counter", sampled_out,
	    "Hits --sample held back."),
	FIG("sled_probe_rate_limited_total", "counter", rate_limited,
	    "Hits --rate held back."),
#undef FIG
	{ "sled_probe_processes", "gauge", "Processes the probe is applied to.",
	  offsetof(struct probe_report, processes), true },
};

static void probe_families(struct metrics_text *t, struct daemon *d)
{
	unsigned n = 0, i = 0;
	struct probe_report *reps;
	char (*ids)[12];

	for (struct probe *pb = d->probes.head; pb; pb = pb->next)
		n++;
	reps = calloc(n ? n : 1, sizeof(*reps));
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!reps || !ids) {
		t->failed = true;
		goto out;
	}
	for (struct probe *pb = d->probes.head; pb; pb = pb->next, i++) {
		report_probe_figures(pb, d, &reps[i]);
		snprintf(ids[i], sizeof(ids[i]), "%u", pb->id);
	}
	for (size_t f = 0; f < sizeof(probe_figures) / sizeof(probe_figures[0]); f++) {
		metrics_family(t, probe_figures[f].name, probe_figures[f].type,
			       probe_figures[f].help);
		i = 0;
		for (struct probe *pb = d->probes.head; pb; pb = pb->next, i++) {
			/* tracepoint: the probe's pattern, provider:name (wildcards as given). */
			struct metrics_label l[] = { { "probe", ids[i] },
						     { "tracepoint", pb->pattern } };
			const char *field = (const char *)&reps[i] + probe_figures[f].offset;
			uint64_t v = probe_figures[f].narrow ? *(const unsigned *)(const void *)field
							     : *(const uint64_t *)(const void *)field;

			metrics_sample_u64(t, probe_figures[f].name, l, 2, v);
		}
	}
out:
	free(reps);
	free(ids);
}

static void output_families(struct metrics_text *t, struct daemon *d)
{
	static const struct {
		const char *name, *type, *help;
	} fams[] = {
		{ "sled_output_sent_total", "counter",
		  "Events written (files) or sent to the receiver." },
		{ "sled_output_acked_total", "counter",
		  "Events the receiver acknowledged (Fluent Forward with ack=1)." },
		{ "sled_output_dropped_total", "counter",
		  "Events the output lost: write errors, full queue." },
		{ "sled_output_queued", "gauge", "Events encoded and waiting for the receiver." },
	};

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		metrics_family(t, fams[f].name, fams[f].type, fams[f].help);
		for (unsigned i = 0; i < d->noutputs; i++) {
			struct sled_output_stats st;
			/* The spec as status shows it: secret options' values are hidden. */
			struct metrics_label l = { "output", sled_output_spec(d->outputs[i]) };

			sled_output_stats(d->outputs[i], &st);
			metrics_sample_u64(t, fams[f].name, &l, 1,
					   f == 0 ? st.written : f == 1 ? st.acked
							       : f == 2 ? st.dropped : st.queued);
		}
	}
}

/* The registry: one function per source of families. */
static const metrics_source sources[] = {
	daemon_families,
	probe_families,
	metrics_tracepoint_families,
	output_families,
	metrics_aggregate_families,
};

void metrics_collect(struct metrics_text *t, struct daemon *d)
{
	/* As status: what is still in the rings counts as exported, not pending. */
	daemon_drain(d);
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		sources[i](t, d);
}
