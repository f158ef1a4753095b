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
 */
#ifndef SLED_METRICS_TEXT_H
#define SLED_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/output.h" /* struct sled_buf */

struct metrics_text {
	struct sled_buf out;
	bool failed; /* out of memory: the text is incomplete and must not be served */
};

struct metrics_label {
	const char *name;
	const char *value;
};

void metrics_text_init(struct metrics_text *t);
void metrics_text_free(struct metrics_text *t);

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
