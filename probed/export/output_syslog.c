// SPDX-License-Identifier: MIT
/*
 * output_syslog: events as RFC 5424 syslog messages.
 *
 *   syslog://HOST[:PORT]       TCP, octet-counting framing (RFC 6587: "LEN SP MSG")
 *   syslog+udp://HOST[:PORT]   UDP, one datagram per event (RFC 5426)
 *   syslog+tls://HOST[:PORT]   the TCP framing over TLS (RFC 5425); options of net_tls.h
 *
 * Port 514 when none is given (6514 for TLS).  One event is one message:
 *
 *   <134>1 2023-11-14T22:13:20.123456Z web1 api-server 4242 http:request [sled@32473
 *   provider="http" name="request" tid="4243" mode="uprobe" ts_ns="1700000000123456789"
 *   status="200" path="/api/v1/items" truncated="path"] http:request status=200
 *   path="/api/v1/items"...
 *
 * (one line; wrapped here).  The parts:
 *   PRI        facility * 8 + severity: options facility= (a name: kern, user, mail,
 *              daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, security,
 *              console, clock, local0..local7; or 0..23; default user, the facility of
 *              syslog(3) for ordinary programs) and severity= (emerg, alert, crit, err,
 *              warning, notice, info, debug or 0..7; default info).
 *   TIMESTAMP  the event's time, UTC, to the microsecond (RFC 5424 allows 6 digits; the
 *              nanoseconds are cut, not rounded).
 *   HOSTNAME   gethostname() at start, or option hostname= (1 to 255 printable ASCII).
 *   APP-NAME   the traced program: the basename of its executable (proc_name.h), mapped
 *              like MSGID and cut to 48, "-" when the process left before its name was
 *              known; or option app= (1 to 48 printable ASCII) for every message.
 *   PROCID     the traced process's pid.
 *   MSGID      "provider:name", at most 32 characters (cut); any character outside
 *              printable ASCII becomes one '_'.
 *   SD         one element, SD-ID sled@32473, with provider, name, tid, mode (when the
 *              event has one), ts_ns (the time in nanoseconds since the epoch: TIMESTAMP
 *              stops at microseconds), one param per argument field, truncated="f1,f2" listing
 *              the string fields the runtime truncated (only when there are some).
 *              Field names become SD-NAMEs: at most 32 printable ASCII characters, with
 *              '=', ']', '"', ',' and anything else not allowed as '_'; a field that would
 *              be called like one of the element's own params gets a leading '_'
 *              (name -> _name).  Values: integers in decimal, pointers as 0x hex, true or
 *              false, floats as the shortest text that reads back (nan, inf, -inf),
 *              strings as their text: ill-formed UTF-8 as U+FFFD, a character cut by
 *              truncation dropped, '"', '\' and ']' escaped with '\' as RFC 5424
 *              requires, control characters but tab as the text \n, \r or \xNN (a raw
 *              newline would split the event for line-based receivers, as syslog-ng's
 *              file output does).  A NULL char * has no param (MSG shows NULL).
 *   MSG        the probectl tail line without time and ids: "provider:name field=value
 *              ...", control characters and bad bytes as \xNN, so one line of valid UTF-8.
 *              No BOM: receivers such as rsyslog keep it as text in the message.
 *
 * Delivery: syslog has no acknowledgement.  TCP: a batch counts as sent once the kernel
 * took all its bytes.  Before each batch the connection is checked for a receiver that
 * closed it; after a failure the batch is sent again whole on a new connection; and when
 * the connection was reset (the receiver went away with data unread, or our last write
 * came after its close) the batch written before is sent again first.  So a restarting
 * receiver may see some events twice, and loses (counted as sent) at most what it had
 * not read of earlier batches when it went away.  UDP: a datagram the kernel took
 * counts as sent, whether or not anyone received it; after a send error
 * the batch resumes at the datagram that failed.  A UDP message longer than 65507 bytes
 * (the largest IPv4 datagram) is cut there at a character boundary: the MSG, which
 * comes last, goes first.  Option timeout_ms: how long a send may wait for a receiver
 * that does not read (default 5000).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "net_tls.h"
#include "netout.h"
#include "output_impl.h"
#include "proc_name.h"
#include "utf8.h"
#include "value_visit.h"

#include <sled/tracepoint.h>

#define SD_ID          "sled@32473" /* 32473: the enterprise number for examples, RFC 5612 */
#define MSGID_MAX      32
#define SDNAME_MAX     32
#define APPNAME_MAX    48
#define HOSTNAME_MAX   255
#define UDP_MAX        65507
#define DEFAULT_TIMEOUT_MS 5000

struct syslog_out {
	const char *kind;
	char *target;
	bool udp;
	int timeout_ms;
	char head[16];                  /* "<PRI>1 " */
	char host[HOSTNAME_MAX + 3];    /* " HOSTNAME " */
	char app[APPNAME_MAX + 1];      /* option app=, or "" for the program's name */

	struct sled_tls *tls;           /* syslog+tls: the context, else NULL */

	/* Worker only. */
	struct sled_conn conn;
	uint64_t resume_seq;            /* UDP: batch whose send failed part way, 0 if none */
	size_t resume_off;              /* and the offset of its first unsent datagram */
	struct sled_buf last;           /* TCP: the last batch written on this connection */
	bool resend_last;               /* the connection was reset: write last again */

	/* Drain thread only. */
	struct sled_proc_names names;   /* program names by pid, for APP-NAME */
	struct sled_buf msg;            /* the message being built */
	int64_t ts_sec;                 /* second of ts_text, -1 if none yet */
	char ts_text[24];               /* "YYYY-MM-DDTHH:MM:SS" */
};

static const char *const facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "clock", "local0", "local1", "local2",
	"local3", "local4", "local5", "local6", "local7",
};
static const char *const severities[8] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

/* A name of table, or its number: the index, or -1. */
static int parse_level(const char *value, const char *const *table, int n)
{
	char *end;
	long v;

	for (int i = 0; i < n; i++)
		if (!strcmp(value, table[i]))
			return i;
	if (n == 8 && !strcmp(value, "error"))
		return 3;
	if (n == 8 && !strcmp(value, "warn"))
		return 4;
	if (value[0] < '0' || value[0] > '9')
		return -1;
	v = strtol(value, &end, 10);
	return *end || v >= n ? -1 : (int)v;
}

/*
 * s as a header token or SD-NAME into out (max characters, NUL-terminated): printable
 * ASCII kept except the bytes in bad, everything else '_' (one per character, or per
 * ill-formed subpart).  The length written.
 */
static size_t map_token(const char *s, char *out, size_t max, const char *bad)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)u), i = 0, n = 0;

	while (i < len && n < max) {
		unsigned char c = u[i];
		int r = 1;

		if (c >= 0x80) {
			r = sled_utf8_seq(u + i, len - i);
			r = r < 0 ? -r : r;
		}
		out[n++] = c >= 33 && c <= 126 && !strchr(bad, c) ? (char)c : '_';
		i += (size_t)r;
	}
	out[n] = '\0';
	return n;
}

/* What the options set, before the message head is made from it. */
struct syslog_conf {
	int facility, severity;
	char host[HOSTNAME_MAX + 1];   /* "" for gethostname's */
	char app[APPNAME_MAX + 1];
	int timeout_ms;
};

/* facility= or severity=: a name of table or its number, else the one-line reason. */
static int set_level(int *out, const char *const *table, int n, const char *kind,
		     const char *key, const char *value, const char *expected, char *err,
		     size_t errlen)
{
	*out = parse_level(value, table, n);
	if (*out < 0) {
		sled_output_set_err(err, errlen, "%s: bad %s '%s': expected %s", kind, key, value,
				    expected);
		return -EINVAL;
	}
	return 0;
}

static int set_facility(void *state, const char *kind, const char *value, char *err,
			size_t errlen)
{
	return set_level(&((struct syslog_conf *)state)->facility, facilities, 24, kind,
			 "facility", value,
			 "user, daemon, local0..local7, another syslog facility name or 0..23",
			 err, errlen);
}

static int set_severity(void *state, const char *kind, const char *value, char *err,
			size_t errlen)
{
	return set_level(&((struct syslog_conf *)state)->severity, severities, 8, kind,
			 "severity", value,
			 "emerg, alert, crit, err, warning, notice, info, debug or 0..7", err,
			 errlen);
}

static const struct sled_opt syslog_opts[] = {
	SLED_OPT_CALL("facility", set_facility),
	SLED_OPT_CALL("severity", set_severity),
	SLED_OPT_TOKEN_AT("app", struct syslog_conf, app),
	SLED_OPT_TOKEN_AT("hostname", struct syslog_conf, host),
	SLED_OPT_INT_AT("timeout_ms", struct syslog_conf, timeout_ms, 1, 600000),
};

static void *syslog_create(const char *kind, bool udp, bool tls, const char *default_port,
			   const char *target, const struct sled_netout_opts *opts, char *err,
			   size_t errlen)
{
	struct syslog_out *s = calloc(1, sizeof(*s));
	struct sled_tls_opts tls_opts = { 0 };
	struct syslog_conf c = { .facility = 1, .severity = 6, /* user.info */
				 .timeout_ms = DEFAULT_TIMEOUT_MS };

	if (!s) {
		sled_output_set_err(err, errlen, "out of memory");
		return NULL;
	}
	s->target = sled_net_hostport(kind, target, default_port, err, errlen);
	if (!s->target) {
		free(s);
		return NULL;
	}
	s->kind = kind;
	s->udp = udp;
	s->conn = SLED_CONN_CLOSED;
	s->ts_sec = -1;
	if (sled_net_opts_apply(kind, syslog_opts, sizeof(syslog_opts) / sizeof(syslog_opts[0]),
				&c, tls ? &tls_opts : NULL, opts, err, errlen))
		goto fail;
	if (!c.host[0]) {
		char name[HOSTNAME_MAX + 1];

		/* A name with odd bytes is mapped rather than refused: the output must open. */
		if (gethostname(name, sizeof(name)) < 0)
			name[0] = '\0';
		name[HOSTNAME_MAX] = '\0';
		if (!map_token(name, c.host, HOSTNAME_MAX, ""))
			strcpy(c.host, "-"); /* RFC 5424's NILVALUE */
	}
	s->timeout_ms = c.timeout_ms;
	strcpy(s->app, c.app);
	snprintf(s->head, sizeof(s->head), "<%d>1 ", c.facility * 8 + c.severity);
	snprintf(s->host, sizeof(s->host), " %s ", c.host);
	if (tls && !(s->tls = sled_tls_new(kind, &tls_opts, s->target, err, errlen)))
		goto fail;
	return s;
fail:
	free(s->target);
	free(s);
	return NULL;
}

static void *create_tcp(const char *target, const struct sled_netout_opts *opts, char *err,
			size_t errlen)
{
	return syslog_create("syslog", false, false, "514", target, opts, err, errlen);
}

static void *create_udp(const char *target, const struct sled_netout_opts *opts, char *err,
			size_t errlen)
{
	return syslog_create("syslog+udp", true, false, "514", target, opts, err, errlen);
}

/* RFC 5425: the TCP framing (octet counting) inside TLS, port 6514. */
static void *create_tls(const char *target, const struct sled_netout_opts *opts, char *err,
			size_t errlen)
{
	return syslog_create("syslog+tls", false, true, "6514", target, opts, err, errlen);
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ"; gmtime_r once per second. */
static int put_timestamp(struct syslog_out *s, struct sled_buf *b, uint64_t ts_ns)
{
	int64_t sec = (int64_t)(ts_ns / 1000000000u);
	uint32_t usec = (uint32_t)(ts_ns % 1000000000u / 1000u);
	char frac[9];

	if (sec != s->ts_sec) {
		time_t t = (time_t)sec;
		struct tm tm;

		if (!gmtime_r(&t, &tm))
			memset(&tm, 0, sizeof(tm));
		/* Years stay within 4 digits: a uint64_t of ns ends in 2554. */
		snprintf(s->ts_text, sizeof(s->ts_text), "%04u-%02u-%02uT%02u:%02u:%02u",
			 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
			 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
			 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
		s->ts_sec = sec;
	}
	frac[0] = '.';
	for (int i = 6; i >= 1; i--, usec /= 10)
		frac[i] = (char)('0' + usec % 10);
	frac[7] = 'Z';
	return sled_buf_puts(b, s->ts_text) | sled_buf_append(b, frac, 8);
}

/* A control character as text: \n, \r or \xNN. */
static int put_control(struct sled_buf *b, unsigned char c)
{
	char tmp[5];

	if (c == '\n')
		return sled_buf_puts(b, "\\n");
	if (c == '\r')
		return sled_buf_puts(b, "\\r");
	snprintf(tmp, sizeof(tmp), "\\x%02x", c);
	return sled_buf_puts(b, tmp);
}

static bool param_plain(unsigned char c)
{
	return c != '"' && c != '\\' && c != ']' && (c >= 0x20 || c == '\t') && c != 0x7f;
}

static int param_ascii(struct sled_buf *b, unsigned char c)
{
	if (c == '"' || c == '\\' || c == ']')
		return sled_buf_putc(b, '\\') | sled_buf_putc(b, (char)c);
	return put_control(b, c);
}

static int param_ill_formed(struct sled_buf *b, const unsigned char *s, size_t n)
{
	(void)s;
	(void)n;
	return sled_buf_puts(b, SLED_UTF8_REPLACEMENT);
}

static const struct sled_escaper param_escaper = { param_plain, param_ascii, param_ill_formed };

/* A PARAM-VALUE (not quoted): valid UTF-8, with '"', '\' and ']' escaped, and control
 * characters but tab written as text, so that a message is one line. */
static int put_param_value(struct sled_buf *b, const char *str, size_t len)
{
	return sled_escape(b, str, len, &param_escaper);
}

/* A field's value as PARAM-VALUE text; 1 when the field has no param (NULL char *). */
static int put_pointer(struct sled_buf *b, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "0x%llx", (unsigned long long)v);
	return sled_buf_puts(b, tmp);
}

static int put_str(struct sled_buf *b, const char *ptr, uint32_t len, bool truncated)
{
	(void)truncated; /* listed in the truncated param after the fields */
	return ptr ? put_param_value(b, ptr, len) : 1;
}

static const struct sled_value_visitor param_values = {
	.signed_int = sled_buf_put_i64,
	.unsigned_int = sled_buf_put_u64,
	.pointer = put_pointer,
	.boolean = sled_value_put_bool_text,
	.real = sled_value_put_real_text,
	.string = put_str,
	/* types this build does not know: their word, as an unsigned integer */
	.unknown = sled_buf_put_u64,
};

static int put_field_value(struct sled_buf *b, const struct sled_event_field *f)
{
	return sled_value_visit(b, f, &param_values);
}

/* The element's own params: a field must not be read as one of them. */
static bool reserved_name(const char *n)
{
	static const char *const names[] = { "provider", "name", "tid", "mode", "ts_ns",
					     "truncated" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(n, names[i]))
			return true;
	return false;
}

/* The field's SD-NAME into out[SDNAME_MAX + 1]. */
static void field_sd_name(const char *name, char *out)
{
	size_t n = map_token(name, out, SDNAME_MAX, "=]\",");

	if (n == 0) {
		strcpy(out, "_");
	} else if (reserved_name(out)) {
		memmove(out + 1, out, n + 1);
		out[0] = '_';
	}
}

static int put_sd(struct sled_buf *b, const struct sled_event *ev, unsigned nfields)
{
	char names[SLED_EVENT_MAX_FIELDS][SDNAME_MAX + 2];
	bool any_truncated = false, first = true;
	int err = 0;

	err |= sled_buf_puts(b, "[" SD_ID " provider=\"");
	err |= put_param_value(b, ev->provider ? ev->provider : "",
			       ev->provider ? strlen(ev->provider) : 0);
	err |= sled_buf_puts(b, "\" name=\"");
	err |= put_param_value(b, ev->name ? ev->name : "", ev->name ? strlen(ev->name) : 0);
	err |= sled_buf_puts(b, "\" tid=\"");
	err |= sled_buf_put_i64(b, ev->tid);
	if (ev->mode) {
		err |= sled_buf_puts(b, "\" mode=\"");
		err |= put_param_value(b, ev->mode, strlen(ev->mode));
	}
	err |= sled_buf_puts(b, "\" ts_ns=\"");
	err |= sled_buf_put_u64(b, ev->ts_ns);
	err |= sled_buf_putc(b, '"');
	for (unsigned i = 0; i < nfields; i++) {
		const struct sled_event_field *f = &ev->fields[i];
		size_t start = b->len;
		int r;

		field_sd_name(f->name, names[i]);
		err |= sled_buf_putc(b, ' ');
		err |= sled_buf_puts(b, names[i]);
		err |= sled_buf_puts(b, "=\"");
		r = put_field_value(b, f);
		if (r == 1) {
			b->len = start;
			continue;
		}
		err |= r;
		err |= sled_buf_putc(b, '"');
		if (sled_field_truncated(f))
			any_truncated = true;
	}
	if (any_truncated) {
		err |= sled_buf_puts(b, " truncated=\"");
		for (unsigned i = 0; i < nfields; i++) {
			const struct sled_event_field *f = &ev->fields[i];

			if (!sled_field_truncated(f))
				continue;
			if (!first)
				err |= sled_buf_putc(b, ',');
			/* SD-NAMEs hold no '"', '\' or ']': nothing to escape. */
			err |= sled_buf_puts(b, names[i]);
			first = false;
		}
		err |= sled_buf_putc(b, '"');
	}
	err |= sled_buf_putc(b, ']');
	return err ? -ENOMEM : 0;
}

/* The whole RFC 5424 message of ev into b (empty first). */
static int build_message(struct syslog_out *s, struct sled_buf *b, const struct sled_event *ev)
{
	unsigned nfields = ev->nfields < SLED_EVENT_MAX_FIELDS ? ev->nfields
							       : SLED_EVENT_MAX_FIELDS;
	char pn[2 * MSGID_MAX + 2];
	int err = 0;

	err |= sled_buf_puts(b, s->head);
	err |= put_timestamp(s, b, ev->ts_ns);
	err |= sled_buf_puts(b, s->host);
	if (s->app[0]) {
		err |= sled_buf_puts(b, s->app);
	} else {
		char app[APPNAME_MAX + 1];

		if (!map_token(sled_proc_name(&s->names, ev), app, APPNAME_MAX, ""))
			strcpy(app, "-"); /* the process left before we learnt its name */
		err |= sled_buf_puts(b, app);
	}
	err |= sled_buf_putc(b, ' ');
	err |= sled_buf_put_i64(b, ev->pid);
	err |= sled_buf_putc(b, ' ');
	/* "provider:name", then cut to MSGID_MAX. */
	map_token(ev->provider, pn, MSGID_MAX, "");
	strcat(pn, ":");
	map_token(ev->name, pn + strlen(pn), MSGID_MAX, "");
	err |= sled_buf_append(b, pn, strnlen(pn, MSGID_MAX));
	err |= sled_buf_putc(b, ' ');
	err |= put_sd(b, ev, nfields);
	err |= sled_buf_putc(b, ' ');
	err |= sled_encode_human_summary(b, ev);
	return err ? -ENOMEM : 0;
}

/* The longest prefix of the valid UTF-8 text p[0..len) within max bytes that ends at a
 * character boundary. */
static size_t utf8_cut(const char *p, size_t len, size_t max)
{
	size_t j = max;

	if (len <= max)
		return len;
	while (j > 0 && ((unsigned char)p[j] & 0xc0) == 0x80)
		j--;
	return j;
}

static int syslog_encode(void *proto, struct sled_buf *data, const struct sled_event *ev)
{
	struct syslog_out *s = proto;
	size_t start = data->len, len;
	int err;

	s->msg.len = 0;
	if (build_message(s, &s->msg, ev))
		return -ENOMEM;
	len = s->msg.len;
	if (s->udp) {
		uint32_t n;

		len = utf8_cut(s->msg.data, len, UDP_MAX);
		n = (uint32_t)len;
		err = sled_buf_append(data, &n, sizeof(n));
	} else {
		err = sled_buf_put_u64(data, len) | sled_buf_putc(data, ' ');
	}
	err |= sled_buf_append(data, s->msg.data, len);
	if (err) {
		data->len = start;
		return -ENOMEM;
	}
	return 0;
}

static int syslog_connect(void *proto, char *err, size_t errlen)
{
	struct syslog_out *s = proto;
	int r = sled_conn_open_tcp(&s->conn, s->target, s->udp ? SOCK_DGRAM : SOCK_STREAM,
				   s->tls, 3000, err, errlen);

	if (r)
		return r;
	if (s->resend_last && s->last.len) {
		r = sled_conn_write_all(&s->conn, s->last.data, s->last.len, s->timeout_ms, err,
					errlen);
		if (r) { /* still to resend, on the next connection */
			sled_conn_close(&s->conn);
			return r;
		}
	}
	s->resend_last = false;
	s->last.len = 0;
	return 0;
}

/* A reset connection (the receiver closed it with data unread, or before our last
 * write reached it): the last batch written may be lost, so it goes again first. */
static int note_reset(struct syslog_out *s, int r)
{
	if (r == -ECONNRESET || r == -EPIPE)
		s->resend_last = true;
	return r;
}

/*
 * A syslog receiver never writes: readable means it closed the connection (or sent
 * something to discard).  Checked before every TCP batch too, so a batch is not written
 * into a connection the receiver already left, where it would be lost but count as sent.
 */
static int syslog_idle(void *proto, char *err, size_t errlen)
{
	struct syslog_out *s = proto;
	int r = sled_conn_check_closed(&s->conn, s->kind, err, errlen);

	/* A clean close (-ECONNABORTED): it had read all we wrote before it closed. */
	return r == -ECONNABORTED ? r : note_reset(s, r);
}

static int send_tcp(struct syslog_out *s, struct sled_batch *b, char *err, size_t errlen)
{
	int r = syslog_idle(s, err, errlen);

	if (!r)
		r = sled_conn_write_all(&s->conn, b->data.data, b->data.len, s->timeout_ms, err,
				       errlen);
	if (r)
		return note_reset(s, r);
	/* Kept until the next batch is written; without memory, nothing to resend. */
	s->last.len = 0;
	if (sled_buf_append(&s->last, b->data.data, b->data.len))
		s->last.len = 0;
	return 0;
}

/* One datagram per message of the batch ("u32 length, bytes" each, as encoded). */
static int send_udp(struct syslog_out *s, struct sled_batch *b, char *err, size_t errlen)
{
	size_t off = b->seq == s->resume_seq ? s->resume_off : 0;

	while (off < b->data.len) {
		uint32_t n;
		int r;

		memcpy(&n, b->data.data + off, sizeof(n));
		r = sled_conn_write_all(&s->conn, b->data.data + off + sizeof(n), n, s->timeout_ms,
				       err, errlen);
		if (r) {
			s->resume_seq = b->seq;
			s->resume_off = off;
			return r;
		}
		off += sizeof(n) + n;
	}
	s->resume_seq = 0;
	return 0;
}

static int syslog_send(void *proto, struct sled_batch *b, char *err, size_t errlen)
{
	struct syslog_out *s = proto;

	return s->udp ? send_udp(s, b, err, errlen) : send_tcp(s, b, err, errlen);
}

static void syslog_disconnect(void *proto)
{
	struct syslog_out *s = proto;

	sled_conn_close(&s->conn);
	if (!s->resend_last)
		s->last.len = 0;
}

static void syslog_destroy(void *proto)
{
	struct syslog_out *s = proto;

	syslog_disconnect(s);
	sled_buf_free(&s->msg);
	sled_buf_free(&s->last);
	sled_tls_free(s->tls);
	free(s->target);
	free(s);
}

/* TCP and TLS: a connection to watch while idle, as the streams (output_stream.c). */
#define SYSLOG_CONNECTED_OPS(name, kindstr, create_fn)                                  \
	const struct sled_proto_ops name = {                                           \
		.kind = kindstr,                                                       \
		.create = create_fn,                                                    \
		.encode = syslog_encode,                                               \
		.connect = syslog_connect,                                             \
		.send = syslog_send,                                                   \
		.idle = syslog_idle,                                                   \
		.disconnect = syslog_disconnect,                                       \
		.destroy = syslog_destroy,                                             \
		.idle_ms = 500,                                                        \
	}
SYSLOG_CONNECTED_OPS(sled_proto_syslog_tcp, "syslog", create_tcp);
SYSLOG_CONNECTED_OPS(sled_proto_syslog_tls, "syslog+tls", create_tls);

/* UDP has no connection to watch: no idle. */
const struct sled_proto_ops sled_proto_syslog_udp = {
	.kind = "syslog+udp",
	.create = create_udp,
	.encode = syslog_encode,
	.connect = syslog_connect,
	.send = syslog_send,
	.disconnect = syslog_disconnect,
	.destroy = syslog_destroy,
};
