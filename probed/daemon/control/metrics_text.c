/* SPDX-License-Identifier: MIT */
/* metrics_text: see metrics_text.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/buf.h"
#include "daemon/control/metrics_text.h"
#include "export/utf8.h"

void metrics_text_init(struct metrics_text *t)
{
	memset(t, 0, sizeof(*t));
}

void metrics_text_free(struct metrics_text *t)
{
	sled_buf_free(&t->out);
	metrics_text_init(t);
}

/* The family metrics_text_finish writes; its room is kept under the cap. */
#define TRUNCATED_NAME "sled_metrics_truncated"
#define TRUNCATED_HELP \
	"1: this reply was cut at probed's --max-metrics-bytes and lacks the series after " \
	"the last one served."
#define TRUNCATED_TEXT                                                                   \
	"# HELP " TRUNCATED_NAME " " TRUNCATED_HELP "\n# TYPE " TRUNCATED_NAME " gauge\n" \
	TRUNCATED_NAME " 1\n"

void metrics_text_cap(struct metrics_text *t, size_t max_bytes)
{
	if (max_bytes < METRICS_TEXT_MIN_CAP)
		max_bytes = METRICS_TEXT_MIN_CAP;
	t->cap = max_bytes - (sizeof(TRUNCATED_TEXT) - 1);
}

static void put(struct metrics_text *t, const char *s, size_t n)
{
	if (t->failed || t->over)
		return;
	if (t->cap && t->out.len + n > t->cap) {
		t->over = true;
		return;
	}
	if (sled_buf_append(&t->out, s, n))
		t->failed = true;
}

/* A line that passed the cap is taken back, and with it its family's header when it was
 * the first sample: a reader never sees a half line or an empty family. */
static void cut(struct metrics_text *t, size_t at)
{
	t->out.len = at;
	t->over = false;
	t->truncated = true;
}

static void puts_(struct metrics_text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* Text as the format wants it: backslash and newline escaped everywhere, the double
 * quote too in label values; ill-formed UTF-8 replaced. */
static void put_escaped(struct metrics_text *t, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n) {
		int len = sled_utf8_seq(p, n);

		if (len < 0) {
			puts_(t, SLED_UTF8_REPLACEMENT);
			len = -len;
		} else if (*p == '\\') {
			puts_(t, "\\\\");
		} else if (*p == '\n') {
			puts_(t, "\\n");
		} else if (*p == '"' && quote) {
			puts_(t, "\\\"");
		} else {
			put(t, (const char *)p, (size_t)len);
		}
		p += len;
		n -= (size_t)len;
	}
}

void metrics_family(struct metrics_text *t, const char *name, const char *type,
		    const char *help)
{
	if (t->truncated)
		return;
	t->family_at = t->out.len;
	t->family_empty = true;
	puts_(t, "# HELP ");
	puts_(t, name);
	puts_(t, " ");
	put_escaped(t, help, false);
	puts_(t, "\n# TYPE ");
	puts_(t, name);
	puts_(t, " ");
	puts_(t, type);
	puts_(t, "\n");
	if (t->over)
		cut(t, t->family_at);
}

/* Whether the sample may start: nothing is added once the cap was passed. */
static bool sample_begin(struct metrics_text *t, size_t *at)
{
	*at = t->out.len;
	return !t->truncated;
}

static void sample_end(struct metrics_text *t, size_t at)
{
	if (t->over)
		cut(t, t->family_empty ? t->family_at : at);
	else
		t->family_empty = false;
}

void metrics_group_begin(struct metrics_text *t)
{
	/* A family with no sample yet goes with its group: never a family left empty. */
	t->group_at = t->family_empty ? t->family_at : t->out.len;
	t->group_whole = !t->truncated;
}

void metrics_group_end(struct metrics_text *t)
{
	if (t->group_whole && t->truncated && t->out.len > t->group_at)
		t->out.len = t->group_at;
}

void metrics_text_finish(struct metrics_text *t)
{
	bool truncated = t->truncated;

	/* The room for it was kept under the cap. */
	t->cap = 0;
	t->truncated = false;
	metrics_family(t, TRUNCATED_NAME, "gauge", TRUNCATED_HELP);
	metrics_sample_u64(t, TRUNCATED_NAME, NULL, 0, truncated);
	t->truncated = truncated;
}

static void sample_head(struct metrics_text *t, const char *name,
			const struct metrics_label *labels, unsigned n)
{
	puts_(t, name);
	for (unsigned i = 0; i < n; i++) {
		puts_(t, i ? "," : "{");
		puts_(t, labels[i].name);
		puts_(t, "=\"");
		put_escaped(t, labels[i].value ? labels[i].value : "", true);
		puts_(t, "\"");
	}
	puts_(t, n ? "} " : " ");
}

void metrics_sample_u64(struct metrics_text *t, const char *name,
			const struct metrics_label *labels, unsigned n, uint64_t value)
{
	char num[24];
	size_t at;

	if (!sample_begin(t, &at))
		return;
	sample_head(t, name, labels, n);
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)value);
	puts_(t, num);
	sample_end(t, at);
}

void metrics_sample_i64(struct metrics_text *t, const char *name,
			const struct metrics_label *labels, unsigned n, int64_t value)
{
	char num[24];
	size_t at;

	if (!sample_begin(t, &at))
		return;
	sample_head(t, name, labels, n);
	snprintf(num, sizeof(num), "%lld\n", (long long)value);
	puts_(t, num);
	sample_end(t, at);
}

char *metrics_format_double(char *out, size_t outlen, double v)
{
	if (isnan(v)) {
		snprintf(out, outlen, "NaN");
	} else if (isinf(v)) {
		snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
	} else {
		/* The shortest %.*g that reads back exactly (17 digits always do). */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(out, outlen, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
	return out;
}

void metrics_sample_double(struct metrics_text *t, const char *name,
			   const struct metrics_label *labels, unsigned n, double value)
{
	char num[40];
	size_t at;

	if (!sample_begin(t, &at))
		return;
	sample_head(t, name, labels, n);
	puts_(t, metrics_format_double(num, sizeof(num), value));
	puts_(t, "\n");
	sample_end(t, at);
}

static char label_char(char c)
{
	bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		  (c >= '0' && c <= '9');

	return ok ? c : '_';
}

char *metrics_label_name(char *out, size_t outlen, const char *text)
{
	size_t o = 0;

	if (!outlen)
		return out;
	/* Empty, a leading digit, or "__" (reserved) once sanitised: prefix an 'x'. */
	if (!text[0] || (text[0] >= '0' && text[0] <= '9') ||
	    (label_char(text[0]) == '_' && text[1] && label_char(text[1]) == '_'))
		out[o++] = 'x';
	for (const char *p = text; *p && o + 1 < outlen; p++)
		out[o++] = label_char(*p);
	out[o < outlen ? o : outlen - 1] = 0;
	return out;
}

static bool label_taken(const char *name, char out[][METRICS_KEY_LABEL_MAX], unsigned before)
{
	static const char *const reserved[] = { "probe", "expr", "stat", "le", "job", "instance" };

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(name, reserved[i]))
			return true;
	for (unsigned i = 0; i < before; i++)
		if (!strcmp(name, out[i]))
			return true;
	return false;
}

void metrics_key_labels(char out[][METRICS_KEY_LABEL_MAX], const char *const *fields,
			unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		metrics_label_name(out[k], METRICS_KEY_LABEL_MAX, fields[k]);
		/* Each prefix makes it differ from what it equalled; with 6 reserved names and
		 * at most 3 earlier keys, 10 prefixes (40 bytes) always suffice. */
		while (label_taken(out[k], out, k) &&
		       strlen(out[k]) + 4 < METRICS_KEY_LABEL_MAX) {
			memmove(out[k] + 4, out[k], strlen(out[k]) + 1);
			memcpy(out[k], "key_", 4);
		}
	}
}
