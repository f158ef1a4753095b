// SPDX-License-Identifier: MIT
/*
 * output_forward: options, tags, the entry bytes, and the protocol's edge cases against a
 * scripted receiver on a loopback port (acks split across reads, stale acks, no ack, a
 * closed connection, a HELO nobody asked for).  The real receiver (FluentServer) is
 * integration/forward_fluent.py's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "netout.h"
#include "proto_create.h"

#include <sled/tracepoint.h>

static const struct sled_proto_ops *fwd = &sled_proto_forward;

static void event(struct sled_event *ev, const char *provider, const char *name)
{
	memset(ev, 0, sizeof(*ev));
	ev->provider = provider;
	ev->name = name;
	ev->ts_ns = 1700000123ull * 1000000000ull + 456789;
	ev->pid = 42;
	ev->tid = 43;
	ev->nfields = 1;
	ev->fields[0].name = "x";
	ev->fields[0].type = SLED_T_I32;
	ev->fields[0].v.i = -7;
}

TEST(unknown_option_lists_the_known_ones)
{
	char err[256];
	void *p = proto_create(fwd, "127.0.0.1:24224", err, sizeof(err), 1, "gzp=1");

	CHECK(p == NULL);
	CHECK(strstr(err, "unknown option 'gzp'") != NULL);
	CHECK(strstr(err, "ack, gzip, shared_key") != NULL);
	CHECK(strchr(err, '\n') == NULL);
}

/* forward+tls: TLS options are taken (and only there), checked when the output opens. */
TEST(tls_options_checked_at_open)
{
	static const struct {
		const char *opt, *why;
	} cases[] = {
		{ "ca=/nonexistent/ca.pem", "forward+tls: ca '/nonexistent/ca.pem': No such file" },
		{ "key=/etc/hostname", "forward+tls: key= needs cert=" },
		{ "cert=/etc/hostname", "forward+tls: cert '/etc/hostname': " },
		{ "ca=/etc/hostname", "forward+tls: ca '/etc/hostname': no certificate read" },
		{ "insecure=yes", "forward+tls: bad insecure 'yes': expected 0 or 1" },
		{ "server_name=", "forward+tls: server_name needs a value" },
		{ "sni=x", "forward+tls: unknown option 'sni' (queue, batch, tag, ack, gzip" },
	};
	char err[256];
	void *p;

	fwd = &sled_proto_forward_tls;
	p = proto_create(fwd, "127.0.0.1", err, sizeof(err), 0); /* the system's CAs, port 24224 */
	CHECK(p != NULL);
	if (p)
		fwd->destroy(p);
	p = proto_create(fwd, "localhost", err, sizeof(err), 1, "insecure=1");
	CHECK(p != NULL);
	if (p)
		fwd->destroy(p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = proto_create(fwd, "127.0.0.1", err, sizeof(err), 1, cases[i].opt);
		CHECK(p == NULL);
		CHECK(strncmp(err, cases[i].why, strlen(cases[i].why)) == 0);
		CHECK(strchr(err, '\n') == NULL);
		if (p)
			fwd->destroy(p);
	}
	proto_create(fwd, "127.0.0.1", err, sizeof(err), 1, "sni=x");
	CHECK(strstr(err, ", ca, cert, key, server_name, insecure)") != NULL);
	fwd = &sled_proto_forward;
	p = proto_create(fwd, "127.0.0.1", err, sizeof(err), 1, "ca=/etc/hostname");
	CHECK(p == NULL && strstr(err, "forward: unknown option 'ca'") != NULL);
}

TEST(bad_options_are_refused_with_a_reason)
{
	static const struct {
		const char *target, *opt, *why;
	} cases[] = {
		{ "127.0.0.1:24224", "tag=sled.{prov}", "placeholders" },
		{ "127.0.0.1:24224", "tag=", "needs a value" },
		{ "127.0.0.1:24224", "ack=2", "bad ack" },
		{ "127.0.0.1:24224", "timeout_ms=0", "bad timeout_ms" },
		{ "127.0.0.1:24224", "username=u", "with shared_key" },
		{ "127.0.0.1:99999", "ack=1", "bad address" },
		{ "::1:24224", "ack=1", "bad address" },
		{ "host:", "ack=1", "bad address" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *p = proto_create(fwd, cases[i].target, err, sizeof(err), 1, cases[i].opt);

		CHECK(p == NULL);
		if (!strstr(err, cases[i].why)) {
			fprintf(stderr, "case %zu (%s): '%s'\n", i, cases[i].opt, err);
			check_failures++;
		}
		fwd->destroy(p);
	}
}

TEST(good_options_are_accepted)
{
	char err[256];
	void *p = proto_create(fwd, "localhost", err, sizeof(err), 6, "ack", "gzip=1", "tag=a.{name}",
			 "shared_key=k", "username=u", "password=");

	CHECK(p != NULL);
	CHECK_EQ_STR(err, "");
	fwd->destroy(p);
	p = proto_create(fwd, "[::1]:24224", err, sizeof(err), 1, "timeout_ms=500");
	CHECK(p != NULL);
	fwd->destroy(p);
}

TEST(tags_are_rendered_once_per_pair_and_stay_valid)
{
	char err[256], prov[32], name[32];
	void *p = proto_create(fwd, "127.0.0.1:1", err, sizeof(err), 1, "tag=t-{name}.{provider}!");
	const char *tags[300];
	struct sled_event ev;

	REQUIRE(p);
	for (int i = 0; i < 300; i++) { /* enough to grow the table a few times */
		snprintf(prov, sizeof(prov), "p%d", i % 7);
		snprintf(name, sizeof(name), "n%d", i);
		event(&ev, prov, name);
		tags[i] = fwd->key(p, &ev);
	}
	for (int i = 0; i < 300; i++) {
		char want[80];

		snprintf(prov, sizeof(prov), "p%d", i % 7);
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(want, sizeof(want), "t-%s.%s!", name, prov);
		event(&ev, prov, name);
		CHECK_EQ_STR(tags[i], want);
		CHECK(fwd->key(p, &ev) == tags[i]); /* cached: the same string */
	}
	event(&ev, "bad\xff", NULL);
	CHECK_EQ_STR(fwd->key(p, &ev), "t-.bad\xef\xbf\xbd!");
	fwd->destroy(p);

	p = proto_create(fwd, "127.0.0.1:1", err, sizeof(err), 0);
	REQUIRE(p);
	event(&ev, "http", "request");
	CHECK_EQ_STR(fwd->key(p, &ev), "sled.http.request");
	fwd->destroy(p);
}

TEST(an_entry_is_eventtime_ext0_and_the_record)
{
	static const unsigned char head[] = { 0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x7b,
					      0x00, 0x06, 0xf8, 0x55 };
	struct sled_buf b = { 0 };
	struct sled_event ev;
	msgpack_unpacked u;
	char err[256];
	void *p = proto_create(fwd, "127.0.0.1:1", err, sizeof(err), 0);
	size_t off = 0;

	REQUIRE(p);
	event(&ev, "http", "request");
	CHECK_EQ_INT(fwd->encode(p, &b, &ev), 0);
	REQUIRE(b.len > sizeof(head));
	CHECK(memcmp(b.data, head, sizeof(head)) == 0); /* 1700000123 s, 456789 ns */
	msgpack_unpacked_init(&u);
	CHECK(msgpack_unpack_next(&u, b.data, b.len, &off) == MSGPACK_UNPACK_SUCCESS);
	CHECK_EQ_INT(off, b.len);
	REQUIRE(u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == 2);
	CHECK(u.data.via.array.ptr[0].type == MSGPACK_OBJECT_EXT);
	CHECK_EQ_INT(u.data.via.array.ptr[0].via.ext.type, 0);
	{
		const msgpack_object *rec = &u.data.via.array.ptr[1];
		static const char *keys[] = { "provider", "name", "pid", "tid", "args" };

		REQUIRE(rec->type == MSGPACK_OBJECT_MAP && rec->via.map.size == 5);
		for (int i = 0; i < 5; i++) {
			const msgpack_object *k = &rec->via.map.ptr[i].key;

			CHECK(k->via.str.size == strlen(keys[i]) &&
			      !memcmp(k->via.str.ptr, keys[i], strlen(keys[i])));
		}
	}
	msgpack_unpacked_destroy(&u);
	sled_buf_free(&b);
	fwd->destroy(p);
}

/* ---- a scripted receiver on 127.0.0.1 ---- */

enum script {
	ACK_SPLIT,  /* a stale ack, then the right one in two writes */
	NO_ACK,     /* read the message, never answer */
	CLOSE,      /* accept and close */
	HELO_FIRST, /* send a HELO right away, as a receiver with a shared key does */
	RECORD,     /* read messages and keep them (gzip check) */
};

struct receiver {
	int lfd, port;
	enum script script;
	pthread_t thread;
	char chunks[4][32];   /* chunk ids seen, in order */
	int nchunks;
	struct sled_buf msg;  /* ACK_SPLIT/RECORD: the bytes of the first message */
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void write_str(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		perror("write");
}

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	msgpack_unpacker unp;
	msgpack_unpacked u;
	/* Never hang the suite: accept and every read give up after 10 s. */
	struct timeval tv = { .tv_sec = 10 };
	int fd;

	setsockopt(r->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fd = accept(r->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (r->script == CLOSE || r->script == HELO_FIRST) {
		if (r->script == HELO_FIRST) /* ["HELO", {"nonce": "n"}] */
			write_str(fd, "\x92\xa4HELO\x81\xa5nonce\xa1n");
		sleep_ms(100);
		close(fd);
		return NULL;
	}
	msgpack_unpacker_init(&unp, 65536);
	msgpack_unpacked_init(&u);
	for (;;) {
		ssize_t n;

		msgpack_unpacker_reserve_buffer(&unp, 65536);
		n = read(fd, msgpack_unpacker_buffer(&unp), msgpack_unpacker_buffer_capacity(&unp));
		if (n <= 0)
			break;
		msgpack_unpacker_buffer_consumed(&unp, (size_t)n);
		while (msgpack_unpacker_next(&unp, &u) == MSGPACK_UNPACK_SUCCESS) {
			msgpack_object *opt = &u.data.via.array.ptr[2];
			char ack[64];

			if (!r->msg.len) {
				msgpack_sbuffer sb;
				msgpack_packer pk;

				msgpack_sbuffer_init(&sb);
				msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
				msgpack_pack_object(&pk, u.data);
				r->msg.data = sb.data; /* handed over to the test */
				r->msg.len = r->msg.cap = sb.size;
			}
			for (uint32_t i = 0; i < opt->via.map.size; i++) {
				msgpack_object *k = &opt->via.map.ptr[i].key, *v = &opt->via.map.ptr[i].val;

				if (k->via.str.size == 5 && !memcmp(k->via.str.ptr, "chunk", 5) &&
				    r->nchunks < 4 && v->via.str.size < 32) {
					memcpy(r->chunks[r->nchunks], v->via.str.ptr, v->via.str.size);
					r->chunks[r->nchunks][v->via.str.size] = '\0';
					r->nchunks++;
				}
			}
			if (r->script != ACK_SPLIT || !r->nchunks)
				continue;
			/* {"ack": "stale"}, then {"ack": CHUNK} cut in the middle */
			write_str(fd, "\x81\xa3" "ack\xa5stale");
			snprintf(ack, sizeof(ack), "\x81\xa3" "ack\xb8%s", r->chunks[r->nchunks - 1]);
			if (write(fd, ack, 10) < 0)
				perror("write");
			sleep_ms(50);
			write_str(fd, ack + 10);
		}
	}
	msgpack_unpacked_destroy(&u);
	msgpack_unpacker_destroy(&unp);
	close(fd);
	return NULL;
}

static int receiver_start(struct receiver *r, enum script s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	memset(r, 0, sizeof(*r));
	r->script = s;
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(r->lfd, 4) || getsockname(r->lfd, (struct sockaddr *)&sa, &len))
		return -1;
	r->port = ntohs(sa.sin_port);
	return pthread_create(&r->thread, NULL, receiver_main, r) ? -1 : 0;
}

/* Wait for the script's end; r->msg stays for the test to look at (free it after). */
static void receiver_stop(struct receiver *r)
{
	pthread_join(r->thread, NULL);
	close(r->lfd);
}

/* A forward output connected to r, and a batch of three events. */
static void *connect_to(struct receiver *r, struct sled_batch *b, char *err, size_t errlen,
			const char *opt1, const char *opt2)
{
	char target[64];
	struct sled_event ev;
	void *p;

	memset(b, 0, sizeof(*b));
	snprintf(target, sizeof(target), "127.0.0.1:%d", r->port);
	p = proto_create(fwd, target, err, errlen, 2, opt1, opt2);
	if (!p) {
		fprintf(stderr, "create: %s\n", err);
		return NULL;
	}
	event(&ev, "http", "request");
	b->key = fwd->key(p, &ev);
	for (int i = 0; i < 3; i++) {
		ev.fields[0].v.i = i;
		fwd->encode(p, &b->data, &ev);
		b->nevents++;
	}
	if (fwd->connect(p, err, errlen)) {
		fprintf(stderr, "connect: %s\n", err);
		fwd->destroy(p);
		return NULL;
	}
	return p;
}

static void batch_release(struct sled_batch *b)
{
	sled_buf_free(&b->data);
	sled_buf_free(&b->frame);
}

TEST(ack_is_matched_across_stale_acks_and_split_reads)
{
	struct receiver r;
	struct sled_batch b;
	char err[256];
	void *p;

	if (receiver_start(&r, ACK_SPLIT)) {
		CHECK(!"receiver started");
		return;
	}
	p = connect_to(&r, &b, err, sizeof(err), "ack=1", "timeout_ms=5000");
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(fwd->send(p, &b, err, sizeof(err)), 1);
		CHECK(b.framed);
		/* sent again (as after a reconnect): the same bytes, the same chunk id */
		CHECK_EQ_INT(fwd->send(p, &b, err, sizeof(err)), 1);
		fwd->disconnect(p);
	}
	receiver_stop(&r);
	free(r.msg.data);
	CHECK_EQ_INT(r.nchunks, 2);
	CHECK_EQ_INT(strlen(r.chunks[0]), 24);
	CHECK_EQ_STR(r.chunks[0], r.chunks[1]);
	batch_release(&b);
	fwd->destroy(p);
}

TEST(no_ack_in_time_is_a_timeout_error)
{
	struct receiver r;
	struct sled_batch b;
	char err[256];
	void *p;

	if (receiver_start(&r, NO_ACK)) {
		CHECK(!"receiver started");
		return;
	}
	p = connect_to(&r, &b, err, sizeof(err), "ack=1", "timeout_ms=200");
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(fwd->send(p, &b, err, sizeof(err)), -ETIMEDOUT);
		CHECK(strstr(err, "no ack for chunk") != NULL);
		fwd->disconnect(p);
	}
	receiver_stop(&r);
	free(r.msg.data);
	batch_release(&b);
	fwd->destroy(p);
}

TEST(idle_notices_a_closed_connection)
{
	struct receiver r;
	struct sled_batch b;
	char err[256];
	int rc = 0;
	void *p;

	if (receiver_start(&r, CLOSE)) {
		CHECK(!"receiver started");
		return;
	}
	p = connect_to(&r, &b, err, sizeof(err), "ack=0", "timeout_ms=1000");
	CHECK(p != NULL);
	for (int i = 0; p && i < 100 && rc == 0; i++) {
		sleep_ms(20);
		rc = fwd->idle(p, err, sizeof(err));
	}
	CHECK_EQ_INT(rc, -ECONNRESET);
	/* and a send after that fails too instead of writing into a dead socket */
	if (p)
		CHECK(fwd->send(p, &b, err, sizeof(err)) < 0);
	receiver_stop(&r);
	free(r.msg.data);
	batch_release(&b);
	fwd->destroy(p);
}

TEST(a_helo_without_shared_key_is_reported)
{
	struct receiver r;
	struct sled_batch b;
	char err[256];
	int rc = 0;
	void *p;

	if (receiver_start(&r, HELO_FIRST)) {
		CHECK(!"receiver started");
		return;
	}
	p = connect_to(&r, &b, err, sizeof(err), "ack=1", "timeout_ms=1000");
	CHECK(p != NULL);
	for (int i = 0; p && i < 100 && rc == 0; i++) {
		sleep_ms(10);
		rc = fwd->idle(p, err, sizeof(err));
	}
	CHECK_EQ_INT(rc, -EACCES);
	CHECK(strstr(err, "set shared_key") != NULL);
	receiver_stop(&r);
	free(r.msg.data);
	batch_release(&b);
	fwd->destroy(p);
}

TEST(gzip_sends_the_entries_compressed)
{
	struct receiver r;
	struct sled_batch b;
	char err[256];
	void *p;
	msgpack_unpacked u;
	size_t off = 0;

	if (receiver_start(&r, RECORD)) {
		CHECK(!"receiver started");
		return;
	}
	p = connect_to(&r, &b, err, sizeof(err), "gzip=1", "timeout_ms=1000");
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(fwd->send(p, &b, err, sizeof(err)), 0);
		fwd->disconnect(p);
	}
	receiver_stop(&r);
	msgpack_unpacked_init(&u);
	if (r.msg.len && msgpack_unpack_next(&u, r.msg.data, r.msg.len, &off) ==
				 MSGPACK_UNPACK_SUCCESS) {
		msgpack_object *a = u.data.via.array.ptr;
		unsigned char out[4096];
		z_stream z = { 0 };

		CHECK(a[0].type == MSGPACK_OBJECT_STR && a[0].via.str.size == 17 &&
		      !memcmp(a[0].via.str.ptr, "sled.http.request", 17));
		CHECK(a[1].type == MSGPACK_OBJECT_BIN);
		CHECK_EQ_INT(a[2].via.map.size, 2); /* size, compressed; no chunk without ack */
		inflateInit2(&z, 15 + 16);
		z.next_in = (unsigned char *)a[1].via.bin.ptr;
		z.avail_in = a[1].via.bin.size;
		z.next_out = out;
		z.avail_out = sizeof(out);
		CHECK_EQ_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
		CHECK_EQ_INT(z.total_out, b.data.len);
		CHECK(memcmp(out, b.data.data, b.data.len) == 0);
		inflateEnd(&z);
	} else {
		CHECK(!"the receiver got a message");
	}
	msgpack_unpacked_destroy(&u);
	free(r.msg.data);
	batch_release(&b);
	fwd->destroy(p);
}

int main(void)
{
	static const struct test_case tests[] = {
		TEST_ENTRY(unknown_option_lists_the_known_ones),
		TEST_ENTRY(tls_options_checked_at_open),
		TEST_ENTRY(bad_options_are_refused_with_a_reason),
		TEST_ENTRY(good_options_are_accepted),
		TEST_ENTRY(tags_are_rendered_once_per_pair_and_stay_valid),
		TEST_ENTRY(an_entry_is_eventtime_ext0_and_the_record),
		TEST_ENTRY(ack_is_matched_across_stale_acks_and_split_reads),
		TEST_ENTRY(no_ack_in_time_is_a_timeout_error),
		TEST_ENTRY(idle_notices_a_closed_connection),
		TEST_ENTRY(a_helo_without_shared_key_is_reported),
		TEST_ENTRY(gzip_sends_the_entries_compressed),
	};

	return RUN_TESTS(tests);
}
