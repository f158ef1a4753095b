// SPDX-License-Identifier: MIT
/*
 * output_syslog: the RFC 5424 message of an event (header, MSGID, SD-NAMEs, escaping,
 * truncation marks), the TCP and UDP framing, options, and the worker's side (send,
 * idle noticing a closed connection) against loopback sockets.  The real receiver
 * (rsyslogd) is integration/syslog_export.py's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "netout.h"
#include "proto_create.h"
#include "utf8.h"

#include <sled/tracepoint.h>

static void event(struct sled_event *ev, const char *provider, const char *name)
{
	memset(ev, 0, sizeof(*ev));
	ev->provider = provider;
	ev->name = name;
	ev->ts_ns = 1700000000123456789ull;
	ev->pid = 4194304; /* above any pid_max: no /proc entry names it */
	ev->tid = 4243;
}

static struct sled_event_field *add(struct sled_event *ev, const char *name, uint8_t type)
{
	struct sled_event_field *f = &ev->fields[ev->nfields++];

	f->name = name;
	f->type = type;
	return f;
}

static void add_str(struct sled_event *ev, const char *name, const char *s, size_t len,
		    bool truncated)
{
	struct sled_event_field *f = add(ev, name, SLED_T_STRING);

	f->v.str.ptr = s;
	f->v.str.len = (uint32_t)len;
	f->v.str.truncated = truncated;
}

/* The TCP message of ev (framing checked and removed), NUL-terminated, in msg. */
static void encode_tcp(void *p, const struct sled_event *ev, char *msg, size_t cap)
{
	struct sled_buf b = { 0 };
	unsigned long len;
	char *sp;

	msg[0] = '\0';
	CHECK_EQ_INT(sled_proto_syslog_tcp.encode(p, &b, ev), 0);
	if (!b.len)
		return;
	len = strtoul(b.data, &sp, 10);
	CHECK(*sp == ' ');
	CHECK_EQ_INT(len, b.len - (size_t)(sp + 1 - b.data));
	if (len < cap) {
		memcpy(msg, sp + 1, len);
		msg[len] = '\0';
	}
	sled_buf_free(&b);
}

TEST(header_fields_and_defaults)
{
	char err[256], msg[4096];
	struct sled_event ev;
	void *p = proto_create(&sled_proto_syslog_tcp, "127.0.0.1:514", err, sizeof(err), 1,
			 "hostname=web1");

	REQUIRE(p);
	event(&ev, "http", "request");
	ev.exe = "/usr/sbin/web-server";
	add(&ev, "status", SLED_T_U32)->v.u = 200;
	add(&ev, "latency", SLED_T_I64)->v.i = -5;
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK_EQ_STR(msg, "<14>1 2023-11-14T22:13:20.123456Z web1 web-server 4194304 http:request "
			  "[sled@32473 provider=\"http\" name=\"request\" tid=\"4243\" "
			  "ts_ns=\"1700000000123456789\" status=\"200\" latency=\"-5\"] "
			  "http:request status=200 latency=-5");
	sled_proto_syslog_tcp.destroy(p);
}

/* APP-NAME: the traced program, from the event's path or else from /proc by pid. */
TEST(app_name_is_the_traced_program)
{
	char err[256], msg[4096];
	struct sled_event ev;
	void *p = proto_create(&sled_proto_syslog_tcp, "h:1", err, sizeof(err), 1, "hostname=h");

	REQUIRE(p);
	event(&ev, "p", "n");
	ev.exe = "/opt/app/bin/my server (deleted)"; /* replaced on disk; space mapped */
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, "Z h my_server 4194304 p:n ") != NULL);
	ev.exe = NULL; /* uprobe mode: looked up, here our own process */
	ev.pid = getpid();
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " h test_syslog ") != NULL);
	ev.exe = "?"; /* the daemon could not read the link: looked up too */
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " h test_syslog ") != NULL);
	ev.pid = 0x3ffffff0; /* above pid_max: no such process, RFC 5424's NILVALUE */
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " h - 1073741808 p:n ") != NULL);
	sled_proto_syslog_tcp.destroy(p);
	/* app= names every message */
	p = proto_create(&sled_proto_syslog_tcp, "h:1", err, sizeof(err), 2, "hostname=h",
			 "app=fixed");
	REQUIRE(p);
	ev.pid = getpid();
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " h fixed ") != NULL);
	sled_proto_syslog_tcp.destroy(p);
}

/* TIME-SECFRAC stops at microseconds: the nanoseconds travel as an SD param. */
TEST(nanosecond_timestamp_is_an_sd_param)
{
	char err[256], msg[4096];
	struct sled_event ev;
	void *p = proto_create(&sled_proto_syslog_tcp, "h:1", err, sizeof(err), 0);

	REQUIRE(p);
	event(&ev, "p", "n");
	ev.ts_ns = 1700000000000000001ull;
	add(&ev, "ts_ns", SLED_T_I32)->v.i = 7; /* a field of that name is renamed */
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " 2023-11-14T22:13:20.000000Z ") != NULL);
	CHECK(strstr(msg, " ts_ns=\"1700000000000000001\" _ts_ns=\"7\"]") != NULL);
	sled_proto_syslog_tcp.destroy(p);
}

/* A line-based receiver must see one event per line: no raw control character. */
TEST(control_characters_in_values_are_escaped)
{
	static const char ctl[] = "a\nb\rc\td\x01" "e\x7f" "\0f";
	char err[256], msg[4096];
	struct sled_event ev;
	void *p = proto_create(&sled_proto_syslog_tcp, "h:1", err, sizeof(err), 0);

	REQUIRE(p);
	event(&ev, "p", "n");
	add_str(&ev, "s", ctl, sizeof(ctl) - 1, false);
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " s=\"a\\nb\\rc\td\\x01e\\x7f\\x00f\"]") != NULL);
	for (const char *c = msg; *c; c++)
		CHECK(*c == '\t' || (unsigned char)*c >= 0x20);
	sled_proto_syslog_tcp.destroy(p);
}

/* syslog://HOST is port 514, syslog+udp too; a stream with no well-known port needs one. */
TEST(well_known_ports_by_default)
{
	char err[256], *t;
	void *p;

	t = sled_net_hostport("syslog", "logs.example", "514", err, sizeof(err));
	CHECK_EQ_STR(t ? t : "", "logs.example:514");
	free(t);
	t = sled_net_hostport("syslog", "[::1]", "514", err, sizeof(err));
	CHECK_EQ_STR(t ? t : "", "[::1]:514");
	free(t);
	t = sled_net_hostport("syslog", "h:6000", "514", err, sizeof(err));
	CHECK_EQ_STR(t ? t : "", "h:6000");
	free(t);
	t = sled_net_hostport("jsonl+tcp", "h", NULL, err, sizeof(err));
	CHECK(!t);
	CHECK_EQ_STR(err, "jsonl+tcp: bad address 'h': expected jsonl+tcp://HOST:PORT "
			  "(IPv6 as [ADDR]:PORT)");
	p = proto_create(&sled_proto_syslog_tcp, "127.0.0.1", err, sizeof(err), 0);
	CHECK(p);
	if (p)
		sled_proto_syslog_tcp.destroy(p);
	p = proto_create(&sled_proto_syslog_udp, "localhost", err, sizeof(err), 0);
	CHECK(p);
	if (p)
		sled_proto_syslog_udp.destroy(p);
	p = proto_create(&sled_proto_syslog_tcp, "127.0.0.1:http", err, sizeof(err), 0);
	CHECK(!p);
	CHECK_EQ_STR(err, "syslog: bad address '127.0.0.1:http': expected syslog://HOST[:PORT] "
			  "(IPv6 as [ADDR]:PORT)");
	p = proto_create(&sled_proto_msgpack_tcp, "127.0.0.1", err, sizeof(err), 0);
	CHECK(!p);
}

TEST(facility_and_severity_by_name_or_number)
{
	static const struct {
		const char *fac, *sev, *pri;
	} cases[] = {
		{ "facility=local0", "severity=notice", "<133>1 " },
		{ "facility=23", "severity=0", "<184>1 " },
		{ "facility=kern", "severity=emerg", "<0>1 " },
		{ "facility=daemon", "severity=warn", "<28>1 " },
	};
	char err[256], msg[4096];
	struct sled_event ev;

	event(&ev, "a", "b");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *p = proto_create(&sled_proto_syslog_tcp, "127.0.0.1:514", err, sizeof(err), 2,
				 cases[i].fac, cases[i].sev);

		CHECK(p);
		if (!p)
			continue;
		encode_tcp(p, &ev, msg, sizeof(msg));
		CHECK(strncmp(msg, cases[i].pri, strlen(cases[i].pri)) == 0);
		sled_proto_syslog_tcp.destroy(p);
	}
}

TEST(bad_options_are_one_line_errors)
{
	static const char *const bad[] = { "colour=red", "facility=local8", "facility=24",
					   "severity=8", "severity=", "app=", "app=a b",
					   "hostname=caf\xc3\xa9", "timeout_ms=0" };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = proto_create(&sled_proto_syslog_tcp, "127.0.0.1:514", err, sizeof(err), 1,
				 bad[i]);

		CHECK(!p);
		CHECK(err[0] && !strchr(err, '\n'));
		if (p)
			sled_proto_syslog_tcp.destroy(p);
	}
	proto_create(&sled_proto_syslog_tcp, "127.0.0.1:514", err, sizeof(err), 1, "colour=red");
	CHECK_EQ_STR(err, "syslog: unknown option 'colour' (queue, batch, facility, severity, "
			  "app, hostname, timeout_ms)");
}

TEST(msgid_is_printable_ascii_cut_at_32)
{
	char err[256], msg[4096];
	struct sled_event ev;
	void *p = proto_create(&sled_proto_syslog_tcp, "h:1", err, sizeof(err), 2, "hostname=h",
			 "app=a");

	REQUIRE(p);
	event(&ev, "caf\xc3\xa9 x", "n\xff");
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " 4194304 caf__x:n_ [sled@32473 provider=\"caf\xc3\xa9 x\" name=\"n"
			  SLED_UTF8_REPLACEMENT "\""));
	event(&ev, "abcdefghijklmnopqrstuvwxyz0123", "request"); /* 30 + 1 + 7 */
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, " 4194304 abcdefghijklmnopqrstuvwxyz0123:r [sled@32473 "));
	sled_proto_syslog_tcp.destroy(p);
}

TEST(field_names_become_sd_names)
{
	char err[256], msg[4096];
	struct sled_event ev;
	void *p = proto_create(&sled_proto_syslog_tcp, "h:1", err, sizeof(err), 0);

	REQUIRE(p);
	event(&ev, "p", "n");
	add(&ev, "req->len", SLED_T_I32)->v.i = 1;
	add(&ev, "f(a, b)", SLED_T_I32)->v.i = 2;
	add(&ev, "x=\"y\"]", SLED_T_I32)->v.i = 3;
	add(&ev, "name", SLED_T_I32)->v.i = 4;
	add(&ev, "provider", SLED_T_I32)->v.i = 5;
	add(&ev, "", SLED_T_I32)->v.i = 6;
	add(&ev, "a_field_name_longer_than_thirty_two_chars", SLED_T_I32)->v.i = 7;
	add(&ev, "caf\xc3\xa9", SLED_T_I32)->v.i = 8;
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK(strstr(msg, "ts_ns=\"1700000000123456789\" req->len=\"1\" f(a__b)=\"2\" x__y__=\"3\" _name=\"4\" "
			  "_provider=\"5\" _=\"6\" a_field_name_longer_than_thirty_=\"7\" "
			  "caf_=\"8\"]"));
	sled_proto_syslog_tcp.destroy(p);
}

TEST(values_escaped_and_truncation_marked)
{
	static const char quoted[] = "a\"b\\c]d\ne\xff!";
	static const char cut[] = "cut\xe2\x82";
	char err[256], msg[4096];
	struct sled_event ev;
	void *p = proto_create(&sled_proto_syslog_tcp, "h:1", err, sizeof(err), 1, "hostname=h");

	REQUIRE(p);
	event(&ev, "p", "n");
	ev.mode = "uprobe";
	add_str(&ev, "s", quoted, sizeof(quoted) - 1, false);
	add_str(&ev, "null", NULL, 0, false);
	add_str(&ev, "c", cut, sizeof(cut) - 1, true);
	add(&ev, "ptr", SLED_T_POINTER)->v.u = 0x7ffd1000;
	add(&ev, "ok", SLED_T_BOOL)->v.b = true;
	add(&ev, "f", SLED_T_FLOAT)->v.d = 0.1f;
	add(&ev, "d", SLED_T_DOUBLE)->v.d = -1.0 / 0.0;
	add_str(&ev, "path", "/x", 2, true);
	encode_tcp(p, &ev, msg, sizeof(msg));
	CHECK_EQ_STR(msg, "<14>1 2023-11-14T22:13:20.123456Z h - 4194304 p:n [sled@32473 "
			  "provider=\"p\" name=\"n\" tid=\"4243\" mode=\"uprobe\" "
			  "ts_ns=\"1700000000123456789\" "
			  "s=\"a\\\"b\\\\c\\]d\\ne" SLED_UTF8_REPLACEMENT "!\" c=\"cut\" "
			  "ptr=\"0x7ffd1000\" ok=\"true\" f=\"0.1\" d=\"-inf\" path=\"/x\" "
			  "truncated=\"c,path\"] p:n s=\"a\\\"b\\\\c]d\\ne\\xff!\" null=NULL "
			  "c=\"cut\"... ptr=0x7ffd1000 ok=true f=0.1 d=-inf path=\"/x\"...");
	sled_proto_syslog_tcp.destroy(p);
}

/* Whether s[0..len) is valid UTF-8. */
static bool valid_utf8(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		int r = sled_utf8_seq((const unsigned char *)s + i, len - i);

		if (r < 0)
			return false;
		i += (size_t)r;
	}
	return true;
}

TEST(udp_messages_cut_at_a_character_boundary)
{
	static char big[SLED_EVENT_MAX_FIELDS][8004];
	char err[256];
	struct sled_event ev;
	struct sled_buf b = { 0 };
	uint32_t n;
	void *p = proto_create(&sled_proto_syslog_udp, "h:1", err, sizeof(err), 0);

	REQUIRE(p);
	event(&ev, "p", "n");
	for (int i = 0; i < SLED_EVENT_MAX_FIELDS; i++) {
		static const char *names[] = { "f0", "f1", "f2", "f3", "f4", "f5",
					       "f6", "f7", "f8", "f9", "f10", "f11" };

		for (int k = 0; k < 8001; k += 3)
			memcpy(big[i] + k, "\xe2\x82\xac", 3); /* U+20AC, 3 bytes */
		add_str(&ev, names[i], big[i], 8001 + (size_t)i % 3, false);
	}
	CHECK_EQ_INT(sled_proto_syslog_udp.encode(p, &b, &ev), 0);
	REQUIRE(b.len > 4);
	memcpy(&n, b.data, 4);
	CHECK_EQ_INT(b.len, 4 + (size_t)n);
	CHECK(n <= 65507 && n > 65507 - 4);
	CHECK(valid_utf8(b.data + 4, n));
	/* A small event: stored whole after it, with its own length. */
	event(&ev, "p", "small");
	size_t off = b.len;
	CHECK_EQ_INT(sled_proto_syslog_udp.encode(p, &b, &ev), 0);
	memcpy(&n, b.data + off, 4);
	CHECK_EQ_INT(b.len, off + 4 + n);
	CHECK(memcmp(b.data + b.len - 7, "p:small", 7) == 0);
	sled_buf_free(&b);
	sled_proto_syslog_udp.destroy(p);
}

/* A loopback socket of type on a free port: its fd; the port in *port. */
static int listener(int type, int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 4)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

TEST(udp_sends_one_datagram_per_event)
{
	char err[256], target[64], dgram[70000];
	struct sled_batch batch = { .seq = 1 };
	struct sled_event ev;
	int port, fd = listener(SOCK_DGRAM, &port);
	void *p;

	REQUIRE(fd >= 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	p = proto_create(&sled_proto_syslog_udp, target, err, sizeof(err), 0);
	REQUIRE(p);
	for (int i = 0; i < 3; i++) {
		event(&ev, "p", i == 1 ? "second" : "other");
		CHECK_EQ_INT(sled_proto_syslog_udp.encode(p, &batch.data, &ev), 0);
		batch.nevents++;
	}
	CHECK_EQ_INT(sled_proto_syslog_udp.connect(p, err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_proto_syslog_udp.send(p, &batch, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		ssize_t n = recv(fd, dgram, sizeof(dgram) - 1, MSG_DONTWAIT);

		CHECK(n > 0);
		if (n <= 0)
			break;
		dgram[n] = '\0';
		CHECK(strncmp(dgram, "<14>1 ", 6) == 0);
		CHECK(!strstr(dgram + 6, "<14>1 ")); /* one message per datagram */
		if (i == 1)
			CHECK(strstr(dgram, " p:second [sled@32473 ") != NULL);
	}
	CHECK(recv(fd, dgram, sizeof(dgram), MSG_DONTWAIT) < 0);
	sled_proto_syslog_udp.disconnect(p);
	sled_proto_syslog_udp.destroy(p);
	sled_buf_free(&batch.data);
	close(fd);
}

TEST(tcp_sends_octet_counted_frames_and_idle_notices_a_close)
{
	char err[256], target[64], got[8192];
	struct sled_batch batch = { .seq = 1 };
	struct sled_event ev;
	int port, lfd = listener(SOCK_STREAM, &port), cfd;
	size_t have = 0;
	void *p;

	REQUIRE(lfd >= 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	p = proto_create(&sled_proto_syslog_tcp, target, err, sizeof(err), 0);
	REQUIRE(p);
	event(&ev, "p", "one");
	CHECK_EQ_INT(sled_proto_syslog_tcp.encode(p, &batch.data, &ev), 0);
	event(&ev, "p", "two");
	CHECK_EQ_INT(sled_proto_syslog_tcp.encode(p, &batch.data, &ev), 0);
	CHECK_EQ_INT(sled_proto_syslog_tcp.connect(p, err, sizeof(err)), 0);
	cfd = accept(lfd, NULL, NULL);
	REQUIRE(cfd >= 0);
	CHECK_EQ_INT(sled_proto_syslog_tcp.idle(p, err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_proto_syslog_tcp.send(p, &batch, err, sizeof(err)), 0);
	while (have < batch.data.len) {
		ssize_t n = recv(cfd, got + have, sizeof(got) - have, 0);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	CHECK_EQ_INT(have, batch.data.len);
	CHECK(memcmp(got, batch.data.data, have) == 0);
	/* "LEN SP MSG LEN SP MSG": the first length points exactly at the second frame. */
	char *sp;
	unsigned long len = strtoul(got, &sp, 10);
	CHECK(*sp == ' ');
	CHECK((size_t)(sp + 1 - got) + len < have);
	char *second = sp + 1 + len, *sp2;
	unsigned long len2 = strtoul(second, &sp2, 10);
	CHECK(*sp2 == ' ' && strncmp(sp2 + 1, "<14>1 ", 6) == 0);
	CHECK_EQ_INT((size_t)(sp2 + 1 - got) + len2, have);
	CHECK(memcmp(second - 5, "p:one", 5) == 0);
	close(cfd);
	usleep(20000); /* the FIN travels on loopback */
	CHECK(sled_proto_syslog_tcp.idle(p, err, sizeof(err)) < 0);
	CHECK(strstr(err, "closed") != NULL);
	/* send checks too: a batch is not written into a connection the receiver left */
	CHECK(sled_proto_syslog_tcp.send(p, &batch, err, sizeof(err)) < 0);
	sled_proto_syslog_tcp.disconnect(p);
	sled_proto_syslog_tcp.destroy(p);
	sled_buf_free(&batch.data);
	close(lfd);
}

/* Read from fd until n bytes came (or EOF): how many. */
static size_t read_n(int fd, char *buf, size_t n)
{
	size_t have = 0;

	while (have < n) {
		ssize_t r = recv(fd, buf + have, n - have, 0);

		if (r <= 0)
			break;
		have += (size_t)r;
	}
	return have;
}

/* The receiver goes away after reading batch a: by a reset (close with SO_LINGER 0) the
 * next connection starts with a again; by a clean close it does not. */
static void receiver_gone(bool reset)
{
	char err[256], target[64], got[8192];
	struct sled_batch a = { .seq = 1 }, b = { .seq = 2 };
	struct sled_event ev;
	int port, lfd = listener(SOCK_STREAM, &port), cfd;
	void *p;

	REQUIRE(lfd >= 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	p = proto_create(&sled_proto_syslog_tcp, target, err, sizeof(err), 0);
	REQUIRE(p);
	event(&ev, "p", "a");
	CHECK_EQ_INT(sled_proto_syslog_tcp.encode(p, &a.data, &ev), 0);
	event(&ev, "p", "b");
	CHECK_EQ_INT(sled_proto_syslog_tcp.encode(p, &b.data, &ev), 0);
	CHECK_EQ_INT(sled_proto_syslog_tcp.connect(p, err, sizeof(err)), 0);
	cfd = accept(lfd, NULL, NULL);
	REQUIRE(cfd >= 0);
	CHECK_EQ_INT(sled_proto_syslog_tcp.send(p, &a, err, sizeof(err)), 0);
	CHECK_EQ_INT(read_n(cfd, got, a.data.len), a.data.len);
	if (reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(cfd);
	usleep(20000); /* the FIN or RST travels on loopback */
	CHECK(sled_proto_syslog_tcp.send(p, &b, err, sizeof(err)) < 0);
	sled_proto_syslog_tcp.disconnect(p);
	CHECK_EQ_INT(sled_proto_syslog_tcp.connect(p, err, sizeof(err)), 0);
	CHECK_EQ_INT(sled_proto_syslog_tcp.send(p, &b, err, sizeof(err)), 0);
	cfd = accept(lfd, NULL, NULL);
	REQUIRE(cfd >= 0);
	sled_proto_syslog_tcp.disconnect(p); /* EOF after what was sent */
	size_t want = (reset ? a.data.len : 0) + b.data.len;
	CHECK_EQ_INT(read_n(cfd, got, sizeof(got)), want);
	if (reset)
		CHECK(memcmp(got, a.data.data, a.data.len) == 0);
	CHECK(memcmp(got + want - b.data.len, b.data.data, b.data.len) == 0);
	close(cfd);
	sled_proto_syslog_tcp.destroy(p);
	sled_buf_free(&a.data);
	sled_buf_free(&b.data);
	close(lfd);
}

TEST(tcp_after_a_reset_the_last_batch_goes_again)
{
	receiver_gone(true);
}

TEST(tcp_after_a_clean_close_nothing_goes_twice)
{
	receiver_gone(false);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(header_fields_and_defaults),
		TEST_ENTRY(app_name_is_the_traced_program),
		TEST_ENTRY(nanosecond_timestamp_is_an_sd_param),
		TEST_ENTRY(control_characters_in_values_are_escaped),
		TEST_ENTRY(well_known_ports_by_default),
		TEST_ENTRY(facility_and_severity_by_name_or_number),
		TEST_ENTRY(bad_options_are_one_line_errors),
		TEST_ENTRY(msgid_is_printable_ascii_cut_at_32),
		TEST_ENTRY(field_names_become_sd_names),
		TEST_ENTRY(values_escaped_and_truncation_marked),
		TEST_ENTRY(udp_messages_cut_at_a_character_boundary),
		TEST_ENTRY(udp_sends_one_datagram_per_event),
		TEST_ENTRY(tcp_sends_octet_counted_frames_and_idle_notices_a_close),
		TEST_ENTRY(tcp_after_a_reset_the_last_batch_goes_again),
		TEST_ENTRY(tcp_after_a_clean_close_nothing_goes_twice),
	};

	return RUN_TESTS(tests);
}
