// SPDX-License-Identifier: MIT
/*
 * output_forward: the Fluent Forward protocol v1 (Fluentd, Fluent Bit, Vector), over TCP
 * (forward://HOST[:PORT], port 24224 by default), over TLS (forward+tls://HOST[:PORT], the
 * options of net_tls.h, port 24224 too, as Fluentd's in_forward with <transport tls>) or
 * a unix socket (forward+unix:PATH).
 *
 * Each batch of netout.c (events of one tag) goes out as one PackedForward message
 *
 *   [tag, bin entries, {"size": N, ["compressed": "gzip",] ["chunk": ID]}]
 *
 * where entries is the concatenation of [EventTime, record] for each event.  EventTime
 * is msgpack ext type 0 with big-endian uint32 seconds and nanoseconds (not msgpack's
 * timestamp ext -1); the record is the event map of encode_msgpack.c without "ts".  A
 * time past 2106 does not fit the 32-bit seconds: it is sent modulo 2^32, as Fluent Bit
 * does.  The tag comes from a template, "sled.{provider}.{name}" by default.
 *
 * Options (after '?', besides netout's queue= and batch=):
 *   tag=TEMPLATE       {provider} and {name} are replaced
 *   ack=1              at-least-once: each message carries a chunk id (128 random bits,
 *                      base64) and the batch counts as delivered only once the receiver
 *                      answered {"ack": ID}; else netout reconnects and sends it again,
 *                      with the same id, so a receiver may deduplicate
 *   gzip=1             CompressedPackedForward: entries as one gzip member
 *   shared_key=KEY     the HELO/PING/PONG handshake (sha512 digests) after connecting;
 *   hostname=NAME      our name in it (default: gethostname), and the user
 *   username=, password=  authentication when the receiver asks for it
 *   timeout_ms=N       how long to wait for an ack, a handshake answer, or for the
 *                      receiver to take our bytes (default 10000)
 *
 * Without ack=1 no chunk id is sent: receivers answer every chunk id, and answers nobody
 * reads would pile up in the socket.  Before each message and while idle the worker
 * looks at what the receiver sent, so a connection it closed is noticed before a batch
 * is written into it, and a receiver that wants a handshake we were not told to do is
 * reported instead of silently dropping our messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "buf.h"
#include "encode_msgpack.h"
#include "net_tls.h"
#include "netout.h"
#include "output_impl.h"
#include "utf8.h"
#include "common/fnv.h"
#include "common/mono_clock.h"

#define FWD_DEFAULT_PORT       "24224"
#define FWD_DEFAULT_TAG        "sled.{provider}.{name}"
#define FWD_DEFAULT_TIMEOUT_MS 10000
#define FWD_CONNECT_TIMEOUT_MS 5000
#define FWD_CHUNK_BYTES        16             /* 128 random bits */
#define FWD_CHUNK_LEN          24             /* their base64, with "==" */
#define FWD_MAX_RESPONSE       (64 * 1024)    /* a HELO, a PONG or an ack is far smaller */
#define FWD_SHA512_HEX         128
/* The tag when rendering one failed for lack of memory: a batch must always have a tag,
 * or it could never be sent and would block the queue. */
#define FWD_FALLBACK_TAG       "sled"

/* A rendered tag for one provider:name pair.  Never freed before destroy: batches hold
 * the tag pointer until the worker sent them. */
struct fwd_tag {
	struct fwd_tag *next;
	uint64_t hash;
	char *provider, *name;
	char *tag;
};

struct fwd {
	/* Set by create, read-only afterwards (both threads read them). */
	bool is_unix;
	const char *kind;      /* "forward", "forward+tls", "forward+unix" */
	struct sled_tls *tls;  /* forward+tls: the context, else NULL */
	struct sled_tls_opts tls_opts; /* create only: values point into the spec */
	bool tls_opts_allowed;
	char *target;     /* "HOST:PORT" or a socket path */
	char *tag_tmpl;
	bool ack, gzip;
	char *shared_key; /* NULL: no handshake */
	char *hostname, *username, *password;
	int timeout_ms;

	/* Drain thread: the tag cache, a chained hash table. */
	struct fwd_tag **buckets;
	size_t nbuckets, ntags;
	struct fwd_tag *last; /* the previous event's, the common case */

	/* Worker: the connection. */
	struct sled_conn conn;
	bool unpacker_live;
	msgpack_unpacker unp;
};

/* ---- tags (drain thread) ---- */

static uint64_t str_hash(uint64_t h, const char *s)
{
	/* The 0xff separator keeps ("ab", "c") apart from ("a", "bc"). */
	h = sled_fnv1a_more(h, s, s ? strlen(s) : 0);
	return (h ^ 0xff) * SLED_FNV_PRIME;
}

/* Append s with ill-formed UTF-8 replaced: a tag is a msgpack str. */
static int put_text(struct sled_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s);

	for (size_t i = 0; i < len;) {
		int r = sled_utf8_seq(s + i, len - i);

		if (r > 0 ? sled_buf_append(b, s + i, (size_t)r)
			  : sled_buf_puts(b, SLED_UTF8_REPLACEMENT))
			return -ENOMEM;
		i += (size_t)(r > 0 ? r : -r);
	}
	return 0;
}

/* The template with {provider} and {name} replaced, NUL-terminated in b. */
static int render_tag(const char *tmpl, const char *provider, const char *name,
		      struct sled_buf *b)
{
	for (const char *p = tmpl; *p;) {
		int r;

		if (!strncmp(p, "{provider}", 10)) {
			r = put_text(b, provider);
			p += 10;
		} else if (!strncmp(p, "{name}", 6)) {
			r = put_text(b, name);
			p += 6;
		} else {
			r = sled_buf_putc(b, *p++);
		}
		if (r)
			return r;
	}
	return sled_buf_putc(b, '\0');
}

static int tags_grow(struct fwd *f)
{
	size_t n = f->nbuckets ? f->nbuckets * 2 : 64;
	struct fwd_tag **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < f->nbuckets; i++) {
		for (struct fwd_tag *t = f->buckets[i], *next; t; t = next) {
			next = t->next;
			t->next = nb[t->hash & (n - 1)];
			nb[t->hash & (n - 1)] = t;
		}
	}
	free(f->buckets);
	f->buckets = nb;
	f->nbuckets = n;
	return 0;
}

static bool tag_is(const struct fwd_tag *t, const char *provider, const char *name)
{
	return !strcmp(t->provider, provider ? provider : "") &&
	       !strcmp(t->name, name ? name : "");
}

static const char *fwd_key(void *proto, const struct sled_event *ev)
{
	struct fwd *f = proto;
	struct sled_buf b = { 0 };
	struct fwd_tag *t;
	uint64_t h;

	if (f->last && tag_is(f->last, ev->provider, ev->name))
		return f->last->tag;
	h = str_hash(str_hash(SLED_FNV_OFFSET, ev->provider), ev->name);
	if (f->nbuckets) {
		for (t = f->buckets[h & (f->nbuckets - 1)]; t; t = t->next) {
			if (t->hash == h && tag_is(t, ev->provider, ev->name)) {
				f->last = t;
				return t->tag;
			}
		}
	}
	if ((f->ntags >= f->nbuckets && tags_grow(f)) || !(t = calloc(1, sizeof(*t))))
		return FWD_FALLBACK_TAG;
	t->hash = h;
	t->provider = strdup(ev->provider ? ev->provider : "");
	t->name = strdup(ev->name ? ev->name : "");
	if (!t->provider || !t->name || render_tag(f->tag_tmpl, ev->provider, ev->name, &b)) {
		free(t->provider);
		free(t->name);
		free(t);
		sled_buf_free(&b);
		return FWD_FALLBACK_TAG;
	}
	t->tag = b.data;
	t->next = f->buckets[h & (f->nbuckets - 1)];
	f->buckets[h & (f->nbuckets - 1)] = t;
	f->ntags++;
	f->last = t;
	return t->tag;
}

/* ---- entries (drain thread) ---- */

static int fwd_encode(void *proto, struct sled_buf *data, const struct sled_event *ev)
{
	uint64_t sec = ev->ts_ns / 1000000000u;
	uint32_t nsec = (uint32_t)(ev->ts_ns % 1000000000u);
	size_t start = data->len;
	/* fixarray 2, then EventTime: fixext 8 (0xd7) of type 0, seconds, nanoseconds. */
	unsigned char head[11] = { 0x92, 0xd7, 0x00 };
	int r;

	(void)proto;
	for (int i = 0; i < 4; i++) {
		head[3 + i] = (unsigned char)(sec >> (24 - 8 * i)); /* mod 2^32: see above */
		head[7 + i] = (unsigned char)(nsec >> (24 - 8 * i));
	}
	if (sled_buf_append(data, head, sizeof(head)))
		return -ENOMEM;
	r = sled_encode_msgpack_record(data, ev);
	if (r)
		data->len = start;
	return r;
}

/* ---- framing (worker) ---- */

/* msgpack-c packer sink into a sled_buf; the error is sticky, checked at the end. */
struct frame_sink {
	struct sled_buf *buf;
	int err;
};

static int frame_write(void *data, const char *p, size_t n)
{
	struct frame_sink *s = data;

	if (s->err || sled_buf_append(s->buf, p, n)) {
		s->err = -ENOMEM;
		return -1;
	}
	return 0;
}

static void pack_lit(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static int random_bytes(void *p, size_t n, char *err, size_t errlen)
{
	if (getrandom(p, n, 0) != (ssize_t)n) {
		int r = errno ? -errno : -EIO;

		sled_output_set_err(err, errlen, "getrandom: %s", strerror(-r));
		return r;
	}
	return 0;
}

int sled_gzip_into(const struct sled_buf *in, struct sled_buf *out, char *err,
		   size_t errlen)
{
	z_stream z = { 0 };
	uLong bound;
	int r;

	/* Level 1: a batch of trace events is repetitive enough that the fastest level gets
	 * most of the gain, and the worker has to keep up with the drain thread. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		sled_output_set_err(err, errlen, "gzip: cannot initialize zlib");
		return -ENOMEM;
	}
	bound = deflateBound(&z, (uLong)in->len);
	if (sled_buf_reserve(out, bound)) {
		deflateEnd(&z);
		sled_output_set_err(err, errlen, "gzip: out of memory");
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = (Bytef *)out->data + out->len;
	z.avail_out = (uInt)bound;
	r = deflate(&z, Z_FINISH);
	if (r != Z_STREAM_END) {
		deflateEnd(&z);
		sled_output_set_err(err, errlen, "gzip: deflate failed (%d)", r);
		return -EIO;
	}
	out->len += z.total_out;
	deflateEnd(&z);
	return 0;
}

/*
 * Build b->frame, the whole message, once: a batch sent again after a reconnect goes
 * out byte for byte the same, with the same chunk id.  With ack, "chunk" is the last
 * entry of the option map, so the frame ends with the id (chunk_of reads it there).
 */
static int build_frame(struct fwd *f, struct sled_batch *b, char *err, size_t errlen)
{
	struct sled_buf packed = { 0 };
	const struct sled_buf *entries = &b->data;
	struct frame_sink sink = { .buf = &b->frame };
	unsigned char id[FWD_CHUNK_BYTES];
	char chunk[FWD_CHUNK_LEN + 1];
	msgpack_packer pk;
	int r;

	if (f->ack) {
		r = random_bytes(id, sizeof(id), err, errlen);
		if (r)
			return r;
		EVP_EncodeBlock((unsigned char *)chunk, id, sizeof(id));
	}
	if (f->gzip) {
		r = sled_gzip_into(&b->data, &packed, err, errlen);
		if (r) {
			sled_buf_free(&packed);
			return r;
		}
		entries = &packed;
	}
	b->frame.len = 0;
	msgpack_packer_init(&pk, &sink, frame_write);
	msgpack_pack_array(&pk, 3);
	pack_lit(&pk, b->key ? b->key : FWD_FALLBACK_TAG);
	msgpack_pack_bin(&pk, entries->len);
	msgpack_pack_bin_body(&pk, entries->data, entries->len);
	msgpack_pack_map(&pk, 1 + f->gzip + f->ack);
	pack_lit(&pk, "size");
	msgpack_pack_uint32(&pk, b->nevents);
	if (f->gzip) {
		pack_lit(&pk, "compressed");
		pack_lit(&pk, "gzip");
	}
	if (f->ack) {
		pack_lit(&pk, "chunk");
		pack_lit(&pk, chunk);
	}
	sled_buf_free(&packed);
	if (sink.err) {
		sled_output_set_err(err, errlen, "forward: out of memory");
		return sink.err;
	}
	b->framed = true;
	return 0;
}

static const char *chunk_of(const struct sled_batch *b)
{
	return b->frame.data + b->frame.len - FWD_CHUNK_LEN;
}

/* ---- reading the receiver's messages (worker) ---- */

static bool obj_is_str(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       !memcmp(o->via.str.ptr, s, n);
}

/* str or bin: both are bytes here (receivers send nonces and salts either way). */
static bool obj_bytes(const msgpack_object *o, const char **p, size_t *n)
{
	if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*n = o->via.str.size;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*n = o->via.bin.size;
		return true;
	}
	return false;
}

static const msgpack_object *map_get(const msgpack_object *o, const char *key)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < o->via.map.size; i++)
		if (obj_is_str(&o->via.map.ptr[i].key, key))
			return &o->via.map.ptr[i].val;
	return NULL;
}

/* ["NAME", ...] with n elements. */
static bool is_message(const msgpack_object *o, const char *name, uint32_t n)
{
	return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == n &&
	       obj_is_str(&o->via.array.ptr[0], name);
}

/*
 * The next message from the receiver into msg, waiting until deadline (CLOCK_MONOTONIC
 * ms; 0: only what has arrived already).  1 with a message, 0 when none came in time
 * and deadline is 0, or -errno with a reason (-ETIMEDOUT, -ECONNRESET at EOF).
 */
static int read_message(struct fwd *f, msgpack_unpacked *msg, int64_t deadline, char *err,
			size_t errlen)
{
	for (;;) {
		ssize_t n;
		int left;

		switch (msgpack_unpacker_next(&f->unp, msg)) {
		case MSGPACK_UNPACK_SUCCESS:
			return 1;
		case MSGPACK_UNPACK_CONTINUE:
			break;
		case MSGPACK_UNPACK_NOMEM_ERROR:
			sled_output_set_err(err, errlen,
					    "forward: out of memory reading the receiver");
			return -ENOMEM;
		default:
			sled_output_set_err(err, errlen,
					    "forward: the receiver sent malformed msgpack");
			return -EPROTO;
		}
		if (msgpack_unpacker_message_size(&f->unp) > FWD_MAX_RESPONSE) {
			sled_output_set_err(err, errlen,
					    "forward: the receiver sent an oversized message");
			return -EPROTO;
		}
		if (!msgpack_unpacker_reserve_buffer(&f->unp, 4096)) {
			sled_output_set_err(err, errlen,
					    "forward: out of memory reading the receiver");
			return -ENOMEM;
		}
		left = deadline ? (int)(deadline - sled_clock_monotonic_ms()) : 0;
		if (left < 0)
			left = 0;
		n = sled_conn_read_some(&f->conn, msgpack_unpacker_buffer(&f->unp),
				       msgpack_unpacker_buffer_capacity(&f->unp), left, err,
				       errlen);
		if (n == -ETIMEDOUT && !deadline)
			return 0;
		if (n < 0)
			return (int)n;
		msgpack_unpacker_buffer_consumed(&f->unp, (size_t)n);
	}
}

/* A message that is not what we wait for: a HELO means the receiver wants the
 * handshake; anything but a stale ack means we do not speak the same protocol. */
static int unexpected(struct fwd *f, const msgpack_object *o, char *err, size_t errlen)
{
	if (is_message(o, "HELO", 2)) {
		sled_output_set_err(err, errlen, "forward: the receiver requires a handshake%s",
			f->shared_key ? " (sent HELO again)" : ": set shared_key");
		return -EACCES;
	}
	if (map_get(o, "ack"))
		return 0; /* an ack for a chunk we gave up on: harmless */
	sled_output_set_err(err, errlen, "forward: unexpected message from the receiver");
	return -EPROTO;
}

/* What the receiver sent while we were not waiting for anything: EOF, a HELO. */
static int check_peer(struct fwd *f, char *err, size_t errlen)
{
	msgpack_unpacked msg;
	int r;

	msgpack_unpacked_init(&msg);
	while ((r = read_message(f, &msg, 0, err, errlen)) == 1) {
		r = unexpected(f, &msg.data, err, errlen);
		if (r)
			break;
	}
	msgpack_unpacked_destroy(&msg);
	return r;
}

/* ---- handshake (worker) ---- */

static int sha512_hex(char out[FWD_SHA512_HEX + 1], const void *const *parts,
		      const size_t *lens, int nparts)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL);

	for (int i = 0; ok && i < nparts; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], lens[i]);
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == FWD_SHA512_HEX / 2;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -ENOMEM;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* sha512_hex(salt + host + nonce + shared_key): PING's and PONG's digest. */
static int key_digest(const struct fwd *f, char out[FWD_SHA512_HEX + 1], const char *salt,
		      const char *host, size_t hostlen, const char *nonce, size_t noncelen)
{
	const void *parts[] = { salt, host, nonce, f->shared_key };
	size_t lens[] = { strlen(salt), hostlen, noncelen, strlen(f->shared_key) };

	return sha512_hex(out, parts, lens, 4);
}

static int send_ping(struct fwd *f, const char *salt, const char *nonce, size_t noncelen,
		     const char *auth, size_t authlen, char *err, size_t errlen)
{
	char digest[FWD_SHA512_HEX + 1], pwdigest[FWD_SHA512_HEX + 1] = "";
	struct sled_buf out = { 0 };
	struct frame_sink sink = { .buf = &out };
	msgpack_packer pk;
	int r;

	if (key_digest(f, digest, salt, f->hostname, strlen(f->hostname), nonce, noncelen))
		goto nomem;
	if (authlen) { /* the receiver authenticates users: sha512_hex(auth + user + pass) */
		const void *parts[] = { auth, f->username, f->password };
		size_t lens[] = { authlen, strlen(f->username), strlen(f->password) };

		if (sha512_hex(pwdigest, parts, lens, 3))
			goto nomem;
	}
	msgpack_packer_init(&pk, &sink, frame_write);
	msgpack_pack_array(&pk, 6);
	pack_lit(&pk, "PING");
	pack_lit(&pk, f->hostname);
	pack_lit(&pk, salt);
	pack_lit(&pk, digest);
	pack_lit(&pk, authlen ? f->username : "");
	pack_lit(&pk, pwdigest);
	if (sink.err)
		goto nomem;
	r = sled_conn_write_all(&f->conn, out.data, out.len, f->timeout_ms, err, errlen);
	sled_buf_free(&out);
	return r;
nomem:
	sled_buf_free(&out);
	sled_output_set_err(err, errlen, "forward: out of memory in the handshake");
	return -ENOMEM;
}

/* Wait for message NAME of n elements, within the handshake's deadline. */
static int expect(struct fwd *f, msgpack_unpacked *msg, const char *name, uint32_t n,
		  int64_t deadline, char *err, size_t errlen)
{
	int r = read_message(f, msg, deadline, err, errlen);

	if (r == -ETIMEDOUT)
		sled_output_set_err(err, errlen,
				    "forward: no %s from the receiver within %d ms%s", name,
				    f->timeout_ms,
				    !strcmp(name, "HELO") ? " (is shared_key set there?)" : "");
	if (r < 0)
		return r;
	if (!is_message(&msg->data, name, n)) {
		sled_output_set_err(err, errlen,
				    "forward: expected %s, got another message",
			name);
		return -EPROTO;
	}
	return 0;
}

/*
 * HELO ["HELO", {"nonce": N, "auth": SALT, "keepalive": B}]  (receiver)
 * PING ["PING", host, salt, sha512_hex(salt+host+N+key), user, sha512_hex(SALT+user+pw)]
 * PONG ["PONG", ok, reason, server_host, sha512_hex(salt+server_host+N+key)]  (receiver)
 * The PONG's digest proves the receiver knows the key too.
 */
static int handshake(struct fwd *f, char *err, size_t errlen)
{
	int64_t deadline = sled_clock_monotonic_ms() + f->timeout_ms;
	const char *nonce, *auth = "", *host, *got;
	size_t noncelen, authlen = 0, hostlen, gotlen;
	const msgpack_object *opts, *o, *pong;
	char salt[2 * 16 + 1], digest[FWD_SHA512_HEX + 1];
	unsigned char rnd[16];
	msgpack_unpacked helo, msg;
	int r;

	msgpack_unpacked_init(&helo);
	msgpack_unpacked_init(&msg);
	r = expect(f, &helo, "HELO", 2, deadline, err, errlen);
	if (r)
		goto out;
	opts = &helo.data.via.array.ptr[1];
	o = map_get(opts, "nonce");
	if (!o || !obj_bytes(o, &nonce, &noncelen)) {
		sled_output_set_err(err, errlen, "forward: HELO without a nonce");
		r = -EPROTO;
		goto out;
	}
	o = map_get(opts, "auth");
	if (o && !obj_bytes(o, &auth, &authlen)) {
		sled_output_set_err(err, errlen, "forward: HELO with a malformed auth salt");
		r = -EPROTO;
		goto out;
	}
	if (authlen && !f->username) {
		sled_output_set_err(err, errlen,
				    "forward: the receiver requires username and password");
		r = -EACCES;
		goto out;
	}
	r = random_bytes(rnd, sizeof(rnd), err, errlen);
	if (r)
		goto out;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(salt + 2 * i, 3, "%02x", rnd[i]);
	r = send_ping(f, salt, nonce, noncelen, auth, authlen, err, errlen);
	if (r)
		goto out;
	r = expect(f, &msg, "PONG", 5, deadline, err, errlen);
	if (r)
		goto out;
	pong = msg.data.via.array.ptr;
	if (pong[1].type != MSGPACK_OBJECT_BOOLEAN || !pong[1].via.boolean) {
		const char *why = "";
		size_t whylen = 0;

		obj_bytes(&pong[2], &why, &whylen);
		sled_output_set_err(err, errlen,
				    "forward: the receiver refused the handshake: %.*s",
				    (int)(whylen > 100 ? 100 : whylen),
				    whylen ? why : "(no reason)");
		r = -EACCES;
		goto out;
	}
	if (!obj_bytes(&pong[3], &host, &hostlen) || !obj_bytes(&pong[4], &got, &gotlen)) {
		sled_output_set_err(err, errlen, "forward: malformed PONG");
		r = -EPROTO;
		goto out;
	}
	if (key_digest(f, digest, salt, host, hostlen, nonce, noncelen)) {
		sled_output_set_err(err, errlen, "forward: out of memory in the handshake");
		r = -ENOMEM;
		goto out;
	}
	if (gotlen != FWD_SHA512_HEX || memcmp(got, digest, FWD_SHA512_HEX)) {
		sled_output_set_err(err, errlen,
				    "forward: shared key mismatch (the PONG's digest)");
		r = -EACCES;
	}
out:
	msgpack_unpacked_destroy(&msg);
	msgpack_unpacked_destroy(&helo);
	return r;
}

/* ---- the worker's callbacks ---- */

static void fwd_disconnect(void *proto)
{
	struct fwd *f = proto;

	sled_conn_close(&f->conn);
	if (f->unpacker_live)
		msgpack_unpacker_destroy(&f->unp);
	f->unpacker_live = false;
}

static int fwd_connect(void *proto, char *err, size_t errlen)
{
	struct fwd *f = proto;
	int r;

	fwd_disconnect(f);
	r = f->is_unix ? sled_conn_open_unix(&f->conn, f->target, FWD_CONNECT_TIMEOUT_MS, err,
					     errlen)
		       : sled_conn_open_tcp(&f->conn, f->target, SOCK_STREAM, f->tls,
					    FWD_CONNECT_TIMEOUT_MS, err, errlen);
	if (r < 0)
		return r;
	if (!msgpack_unpacker_init(&f->unp, 4096)) {
		fwd_disconnect(f);
		sled_output_set_err(err, errlen, "forward: out of memory");
		return -ENOMEM;
	}
	f->unpacker_live = true;
	if (f->shared_key) {
		r = handshake(f, err, errlen);
		if (r) {
			fwd_disconnect(f);
			return r;
		}
	}
	return 0;
}

static int wait_ack(struct fwd *f, const struct sled_batch *b, char *err, size_t errlen)
{
	int64_t deadline = sled_clock_monotonic_ms() + f->timeout_ms;
	const char *chunk = chunk_of(b);
	msgpack_unpacked msg;
	int r;

	msgpack_unpacked_init(&msg);
	while ((r = read_message(f, &msg, deadline, err, errlen)) == 1) {
		const msgpack_object *ack = map_get(&msg.data, "ack");

		if (ack && ack->type == MSGPACK_OBJECT_STR &&
		    ack->via.str.size == FWD_CHUNK_LEN &&
		    !memcmp(ack->via.str.ptr, chunk, FWD_CHUNK_LEN))
			break;
		r = unexpected(f, &msg.data, err, errlen);
		if (r)
			break;
	}
	msgpack_unpacked_destroy(&msg);
	if (r == -ETIMEDOUT)
		sled_output_set_err(err, errlen, "forward: no ack for chunk %.*s within %d ms",
				    FWD_CHUNK_LEN, chunk, f->timeout_ms);
	return r == 1 ? 1 : r;
}

static int fwd_send(void *proto, struct sled_batch *b, char *err, size_t errlen)
{
	struct fwd *f = proto;
	int r;

	if (!b->framed) {
		r = build_frame(f, b, err, errlen);
		if (r)
			return r;
	}
	r = check_peer(f, err, errlen);
	if (r)
		return r;
	r = sled_conn_write_all(&f->conn, b->frame.data, b->frame.len, f->timeout_ms, err,
				errlen);
	if (r)
		return r;
	return f->ack ? wait_ack(f, b, err, errlen) : 0;
}

static int fwd_idle(void *proto, char *err, size_t errlen)
{
	struct fwd *f = proto;

	return f->conn.fd < 0 ? 0 : check_peer(f, err, errlen);
}

/* ---- create / destroy (drain thread) ---- */

static void fwd_destroy(void *proto)
{
	struct fwd *f = proto;

	if (!f)
		return;
	fwd_disconnect(f);
	for (size_t i = 0; i < f->nbuckets; i++) {
		for (struct fwd_tag *t = f->buckets[i], *next; t; t = next) {
			next = t->next;
			free(t->provider);
			free(t->name);
			free(t->tag);
			free(t);
		}
	}
	free(f->buckets);
	free(f->target);
	free(f->tag_tmpl);
	free(f->shared_key);
	free(f->hostname);
	free(f->username);
	free(f->password);
	sled_tls_free(f->tls);
	free(f);
}

/* Option tag=: the template's placeholders are {provider} and {name}; any other brace is
 * a typo. */
static int check_tag(void *state, const char *kind, const char *tmpl, char *err, size_t errlen)
{
	(void)state;
	for (const char *p = tmpl; *p; p++) {
		if (!strncmp(p, "{provider}", 10))
			p += 9;
		else if (!strncmp(p, "{name}", 6))
			p += 5;
		else if (*p == '{' || *p == '}') {
			sled_output_set_err(err, errlen, "%s: bad tag '%s': placeholders"
					    " are {provider} and {name}", kind, tmpl);
			return -EINVAL;
		}
	}
	return 0;
}

static const struct sled_opt fwd_opts[] = {
	SLED_OPT_DUP_AT("tag", struct fwd, tag_tmpl, 1, check_tag),
	SLED_OPT_FLAG_AT("ack", struct fwd, ack),
	SLED_OPT_FLAG_AT("gzip", struct fwd, gzip),
	SLED_OPT_DUP_AT("shared_key", struct fwd, shared_key, 1, NULL),
	SLED_OPT_DUP_AT("hostname", struct fwd, hostname, 1, NULL),
	SLED_OPT_DUP_AT("username", struct fwd, username, 1, NULL),
	/* An empty password is a password: kept as "" rather than refused. */
	SLED_OPT_DUP_AT("password", struct fwd, password, 0, NULL),
	SLED_OPT_INT_AT("timeout_ms", struct fwd, timeout_ms, 1, 3600000),
};

static void *fwd_create_common(const char *kind, bool is_unix, const char *target,
			       const struct sled_netout_opts *opts, char *err, size_t errlen)
{
	struct fwd *f = calloc(1, sizeof(*f));
	char host[256];

	if (!f) {
		sled_output_set_err(err, errlen, "out of memory");
		return NULL;
	}
	f->conn = SLED_CONN_CLOSED;
	f->is_unix = is_unix;
	f->kind = kind;
	f->tls_opts_allowed = !strcmp(kind, "forward+tls");
	f->timeout_ms = FWD_DEFAULT_TIMEOUT_MS;
	if (sled_net_opts_apply(kind, fwd_opts, sizeof(fwd_opts) / sizeof(fwd_opts[0]), f,
				f->tls_opts_allowed ? &f->tls_opts : NULL, opts, err, errlen))
		goto fail;
	if (is_unix) {
		if (!*target) {
			sled_output_set_err(err, errlen, "forward: expected forward+unix:PATH");
			goto fail;
		}
		f->target = strdup(target);
	} else {
		f->target = sled_net_hostport(kind, target, FWD_DEFAULT_PORT, err, errlen);
		if (!f->target)
			goto fail;
	}
	if (!f->tag_tmpl)
		f->tag_tmpl = strdup(FWD_DEFAULT_TAG);
	if ((f->username || f->password) && !(f->username && f->password && f->shared_key)) {
		sled_output_set_err(err, errlen, "forward: username and password go"
				    " together, with shared_key");
		goto fail;
	}
	if (!f->hostname && f->shared_key) {
		if (gethostname(host, sizeof(host)) || !host[0])
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		f->hostname = strdup(host);
	}
	if (!f->target || !f->tag_tmpl || (f->shared_key && !f->hostname)) {
		sled_output_set_err(err, errlen, "out of memory");
		goto fail;
	}
	if (f->tls_opts_allowed &&
	    !(f->tls = sled_tls_new(kind, &f->tls_opts, f->target, err, errlen)))
		goto fail;
	return f;
fail:
	fwd_destroy(f);
	return NULL;
}

static void *fwd_create_tcp(const char *target, const struct sled_netout_opts *opts,
			    char *err, size_t errlen)
{
	return fwd_create_common("forward", false, target, opts, err, errlen);
}

static void *fwd_create_unix(const char *target, const struct sled_netout_opts *opts,
			     char *err, size_t errlen)
{
	return fwd_create_common("forward+unix", true, target, opts, err, errlen);
}

static void *fwd_create_tls(const char *target, const struct sled_netout_opts *opts,
			    char *err, size_t errlen)
{
	return fwd_create_common("forward+tls", false, target, opts, err, errlen);
}

/* The three transports share every operation but their creation. */
#define FWD_PROTO_OPS(KIND, CREATE)                                                        \
	{                                                                                  \
		.kind = KIND, .create = CREATE, .key = fwd_key, .encode = fwd_encode,      \
		.connect = fwd_connect, .send = fwd_send, .idle = fwd_idle,                \
		.disconnect = fwd_disconnect, .destroy = fwd_destroy, .idle_ms = 1000,     \
	}

const struct sled_proto_ops sled_proto_forward = FWD_PROTO_OPS("forward", fwd_create_tcp);
const struct sled_proto_ops sled_proto_forward_tls =
	FWD_PROTO_OPS("forward+tls", fwd_create_tls);
const struct sled_proto_ops sled_proto_forward_unix =
	FWD_PROTO_OPS("forward+unix", fwd_create_unix);
