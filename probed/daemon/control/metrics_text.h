/* SPDX-License-Identifier: MIT */
/*
 * metrics_text: the Prometheus text exposition format (version 0.0.4), built in memory.
 * Pure: no daemon state, no I/O, so it is unit-tested on its own (tests/unit).
 *
 * A family is its "# HELP" and "# TYPE" lines followed by its samples, all together:
 *
 *   # HELP sled_probe_hits_total Times the probe's tracepoints were hit.
 *   # TYPE sled_probe_hits_total counter
 *   sled_probe_hits_total{probe="1",tracepoint="app:tick"} 1234
 *
 * Label values are escaped (\\, \" and \n) and made valid UTF-8 (an ill-formed byte
 * sequence becomes U+FFFD); HELP text escapes \\ and \n.  Names are the caller's
 * constants, except labels made from field names (metrics_label_name).
 *
 * A text may have a cap (metrics_text_cap): a family or sample that would take it past the
 * cap is left out whole, and so is everything after it (a family whose first sample did
 * not fit goes with it), so what was written is valid and the reply never grows past the
 * cap while it is built (a group, metrics_group_begin, goes whole).  metrics_text_finish
 * then says whether anything was left out, in room kept for it under the cap:
 *
 *   # HELP sled_metrics_truncated 1: this reply was cut at --max-metrics-bytes ...
 *   # TYPE sled_metrics_truncated gauge
 *   sled_metrics_truncated 1
 */
#ifndef SLED_METRICS_TEXT_H
#define SLED_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/output.h" /* struct sled_buf */

struct metrics_text {
	struct sled_buf out;
	bool failed;       /* out of memory: the text is incomplete and must not be served */
	size_t cap;        /* bytes the families may take (0: no cap) */
	bool over;         /* the line being written did not fit under cap */
	bool truncated;    /* a line was left out for the cap: nothing more is added */
	size_t family_at;  /* where the last family's HELP line starts */
	bool family_empty; /* no sample of it written yet */
	size_t group_at;   /* metrics_group_begin: where a cut group is taken back to */
	bool group_whole;  /* nothing was cut before the group began */
};

struct metrics_label {
	const char *name;
	const char *value;
};

void metrics_text_init(struct metrics_text *t);
void metrics_text_free(struct metrics_text *t);

/* Cap the whole text, the sled_metrics_truncated family included, at max_bytes (at least
 * METRICS_TEXT_MIN_CAP). */
void metrics_text_cap(struct metrics_text *t, size_t max_bytes);
#define METRICS_TEXT_MIN_CAP 4096
/* The sled_metrics_truncated family last (1: a line was left out for the cap, else 0). */
void metrics_text_finish(struct metrics_text *t);

/* Lines that mean something only together (one key's histogram buckets, _sum and _count;
 * one key's stats()): when the cap cuts one of them, those before it in the group go too
 * (not nested). */
void metrics_group_begin(struct metrics_text *t);
void metrics_group_end(struct metrics_text *t);

/* The family's "# HELP" and "# TYPE" lines (type: counter, gauge, histogram, untyped). */
void metrics_family(struct metrics_text *t, const char *name, const char *type,
		    const char *help);

/* One sample line: name{labels} value.  n may be 0 (no braces). */
void metrics_sample_u64(struct metrics_text *t, const char *name,
			const struct metrics_label *labels, unsigned n, uint64_t value);
void metrics_sample_i64(struct metrics_text *t, const char *name,
			const struct metrics_label *labels, unsigned n, int64_t value);
/* Doubles as Go's strconv would read them back: shortest exact form, +Inf, -Inf, NaN. */
void metrics_sample_double(struct metrics_text *t, const char *name,
			   const struct metrics_label *labels, unsigned n, double value);

/* A label name from arbitrary text (an aggregation's key field): [a-zA-Z_][a-zA-Z0-9_]*,
 * other characters replaced by '_'; empty text, a leading digit or a leading "__"
 * (reserved by Prometheus) gets an 'x' in front.  Returns out. */
char *metrics_label_name(char *out, size_t outlen, const char *text);

/* Room for a key label: a field name (up to 63 bytes), its 'x', and "key_" prefixes. */
#define METRICS_KEY_LABEL_MAX 128

/* The label names of an aggregation's n key fields (n <= 4): each from
 * metrics_label_name, with "key_" in front for as long as it equals a label the
 * aggregation families set themselves (probe, expr, stat, le), one Prometheus attaches
 * to every scraped series (job, instance), or an earlier key's label, so that a series
 * never has one label twice. */
void metrics_key_labels(char out[][METRICS_KEY_LABEL_MAX], const char *const *fields,
			unsigned n);

/* A double as a sample value or an "le" bound: "+Inf", "-Inf", "NaN" or the shortest
 * text that reads back to the same double.  Returns out (at least 32 bytes). */
char *metrics_format_double(char *out, size_t outlen, double v);

#endif /* SLED_METRICS_TEXT_H */
