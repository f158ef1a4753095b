// SPDX-License-Identifier: MIT
/*
 * net_tls: TLS sessions for the network outputs (see net_tls.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net_opts.h"
#include "net_tls.h"
#include "netout.h"
#include "output_impl.h"

struct sled_tls {
	SSL_CTX *ctx;
	const char *kind;
	char *hostport;  /* for messages */
	char *name;      /* what the certificate must name (and SNI unless an address) */
	bool is_ip;
	bool insecure;
};

int sled_tls_opt(struct sled_tls_opts *o, const char *kind, const char *key,
		 const char *value, char *err, size_t errlen)
{
	const char **slot = !strcmp(key, "ca")		? &o->ca
			    : !strcmp(key, "cert")	? &o->cert
			    : !strcmp(key, "key")	? &o->key
			    : !strcmp(key, "server_name") ? &o->server_name
							: NULL;

	if (!strcmp(key, "insecure")) {
		if (!sled_net_opt_flag(value, &o->insecure)) {
			sled_output_set_err(err, errlen, "%s: bad insecure '%s': expected 0 or 1",
					    kind, value);
			return -EINVAL;
		}
		return 0;
	}
	if (!slot)
		return 1;
	if (!*value) {
		sled_output_set_err(err, errlen, "%s: %s needs a value", kind, key);
		return -EINVAL;
	}
	*slot = value;
	return 0;
}

/* OpenSSL's first queued error as text ("" when none), and the queue emptied. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	buf[0] = '\0';
	if (e)
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A file option: it must exist and be readable, said in one line before OpenSSL's own
 * less readable complaint. */
static int check_file(const char *kind, const char *what, const char *path, bool dir_ok,
		      char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		sled_output_set_err(err, errlen, "%s: %s '%s': %s", kind, what, path,
				    strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode) && !dir_ok) {
		sled_output_set_err(err, errlen, "%s: %s '%s' is a directory", kind, what, path);
		return -EISDIR;
	}
	return 0;
}

void sled_tls_free(struct sled_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t->hostport);
	free(t->name);
	free(t);
}

/* The host of "HOST:PORT" / "[V6]:PORT" in a new string. */
static char *host_of(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	size_t n = colon ? (size_t)(colon - hostport) : strlen(hostport);

	if (hostport[0] == '[' && n >= 2 && hostport[n - 1] == ']')
		return strndup(hostport + 1, n - 2);
	return strndup(hostport, n);
}

struct sled_tls *sled_tls_new(const char *kind, const struct sled_tls_opts *o,
			      const char *hostport, char *err, size_t errlen)
{
	struct sled_tls *t = calloc(1, sizeof(*t));
	unsigned char addr[16];
	char why[256];

	if (!t || !(t->hostport = strdup(hostport)) ||
	    !(t->name = o->server_name ? strdup(o->server_name) : host_of(hostport))) {
		sled_output_set_err(err, errlen, "out of memory");
		goto fail;
	}
	t->kind = kind;
	t->insecure = o->insecure;
	t->is_ip = inet_pton(AF_INET, t->name, addr) == 1 || inet_pton(AF_INET6, t->name, addr) == 1;
	if (o->key && !o->cert) {
		sled_output_set_err(err, errlen, "%s: key= needs cert=", kind);
		goto fail;
	}
	if ((o->ca && check_file(kind, "ca", o->ca, true, err, errlen)) ||
	    (o->cert && check_file(kind, "cert", o->cert, false, err, errlen)) ||
	    (o->key && check_file(kind, "key", o->key, false, err, errlen)))
		goto fail;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION)) {
		sled_output_set_err(err, errlen, "%s: cannot set up TLS: %s", kind,
				    ssl_reason(why, sizeof(why)));
		goto fail;
	}
	/* sled_tls_write_all retries after WANT_WRITE with the same bytes and pointer; the
	 * mode only spares a hard failure should a caller ever pass a copy. */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A receiver that closes without close_notify has closed all the same, as over
	 * plain TCP (we read nothing from it that a truncation could fake). */
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (o->ca) {
		struct stat st;
		bool dir = stat(o->ca, &st) == 0 && S_ISDIR(st.st_mode);

		if (!SSL_CTX_load_verify_locations(t->ctx, dir ? NULL : o->ca, dir ? o->ca : NULL)) {
			sled_output_set_err(err, errlen, "%s: ca '%s': no certificate read: %s",
					    kind, o->ca, ssl_reason(why, sizeof(why)));
			goto fail;
		}
	} else if (!SSL_CTX_set_default_verify_paths(t->ctx)) {
		sled_output_set_err(err, errlen, "%s: cannot load the system's CAs: %s", kind,
				    ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (o->cert) {
		const char *key = o->key ? o->key : o->cert;

		if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert) != 1) {
			sled_output_set_err(err, errlen, "%s: cert '%s': %s", kind, o->cert,
					    ssl_reason(why, sizeof(why)));
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(t->ctx) != 1) {
			sled_output_set_err(err, errlen, "%s: key '%s': %s", kind, key,
					    ssl_reason(why, sizeof(why)));
			goto fail;
		}
	}
	SSL_CTX_set_verify(t->ctx, t->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	return t;
fail:
	sled_tls_free(t);
	return NULL;
}

/* After a failed SSL call: 0 when it only has to wait (then *events says for what), 1
 * when the receiver closed the connection (close_notify, or EOF without it), or -errno
 * with a reason. */
static int ssl_failure(SSL *ssl, int ret, short *events, const char *what, char *err,
		       size_t errlen)
{
	int e = SSL_get_error(ssl, ret), saved = errno;
	char why[256];

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		sled_output_set_err(err, errlen, "receiver closed the connection");
		return 1;
	case SSL_ERROR_SYSCALL:
		ssl_reason(why, sizeof(why));
		if (!saved || saved == EAGAIN) { /* EOF without close_notify */
			sled_output_set_err(err, errlen, "receiver closed the connection");
			return 1;
		}
		sled_output_set_err(err, errlen, "%s: %s", what, strerror(saved));
		return -saved;
	default:
		sled_output_set_err(err, errlen, "%s: TLS error: %s", what,
				    ssl_reason(why, sizeof(why)));
		return -EPROTO;
	}
}

/* Wait for the socket as SSL asked, within deadline. */
static int ssl_wait(struct sled_conn *c, short events, int64_t deadline, const char *what,
		    char *err, size_t errlen)
{
	int r = sled_net_wait_fd(c->fd, events, deadline);

	if (r)
		sled_output_set_err(err, errlen, "%s: %s", what,
				    r == -ETIMEDOUT ? "timed out" : strerror(-r));
	return r;
}

/* Called when the receiver asks for our certificate (SSL_set_cert_cb). */
static int note_cert_request(SSL *ssl, void *arg)
{
	(void)ssl;
	*(bool *)arg = true;
	return 1;
}

/*
 * In TLS 1.3 the receiver checks our certificate after our side of the handshake is
 * over: a refusal arrives as an alert after SSL_connect returned, and events written
 * before we read it would count as sent and be lost.  So when a certificate was asked
 * for, wait for the receiver's first word after the handshake: OpenSSL-based receivers
 * (rsyslog, Node, Fluentd) send their session tickets once they accepted us, an alert
 * if not.  A receiver that sends nothing costs at most ACCEPT_WAIT_MS, then counts as
 * having accepted.  SSL_peek: data the receiver sent stays for the protocol (a HELO).
 */
#define ACCEPT_WAIT_MS 1000
static int await_acceptance(struct sled_conn *c, int64_t deadline, const char *what,
			    char *err, size_t errlen)
{
	int64_t until = sled_net_mono_ms() + ACCEPT_WAIT_MS;
	char byte;

	if (until > deadline)
		until = deadline;
	for (;;) {
		size_t n = 0;
		short events = 0;
		int r;

		if (sled_net_wait_fd(c->fd, POLLIN, until))
			return 0; /* nothing said: taken as accepted */
		ERR_clear_error();
		if (SSL_peek_ex(c->ssl, &byte, 1, &n) == 1)
			return 0;
		r = ssl_failure(c->ssl, 0, &events, what, err, errlen);
		if (r == 1) {
			sled_output_set_err(err, errlen, "%s: the receiver closed the connection"
					    " (did it refuse our certificate?)", what);
			return -EACCES;
		}
		if (r < 0) {
			if (r == -EPROTO) /* an alert: "certificate required", "unknown ca" */
				r = -EACCES;
			return r;
		}
		if (events == POLLIN)
			return 0; /* a record was read (a ticket): it accepted us */
		if (sled_net_wait_fd(c->fd, events, until))
			return 0;
	}
}

int sled_tls_handshake(const struct sled_tls *t, struct sled_conn *c, int64_t deadline,
		       char *err, size_t errlen)
{
	bool cert_requested = false;
	SSL *ssl = SSL_new(t->ctx);
	char what[320];
	int r;

	snprintf(what, sizeof(what), "%s: TLS handshake with %s", t->kind, t->hostport);
	ERR_clear_error();
	if (!ssl || !SSL_set_fd(ssl, c->fd)) {
		SSL_free(ssl);
		sled_output_set_err(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	if (!t->insecure) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

		/* No partial wildcards ("w*.example"), as RFC 6125 advises. */
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (t->is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(param, t->name)
			     : !SSL_set1_host(ssl, t->name)) {
			SSL_free(ssl);
			sled_output_set_err(err, errlen, "%s: bad server name '%s'", what, t->name);
			return -EINVAL;
		}
	}
	if (!t->is_ip)
		SSL_set_tlsext_host_name(ssl, t->name);
	SSL_set_cert_cb(ssl, note_cert_request, &cert_requested);
	c->ssl = ssl;
	for (;;) {
		short events = 0;
		int ret = SSL_connect(ssl);

		if (ret == 1) {
			r = cert_requested && SSL_version(ssl) >= TLS1_3_VERSION
				    ? await_acceptance(c, deadline, what, err, errlen)
				    : 0;
			SSL_set_cert_cb(ssl, NULL, NULL); /* cert_requested goes out of scope */
			if (!r)
				return 0;
			break;
		}
		r = ssl_failure(ssl, ret, &events, what, err, errlen);
		if (r == 1) {
			sled_output_set_err(err, errlen, "%s: the receiver closed the connection",
					    what);
			r = -ECONNRESET;
		}
		if (!r)
			r = ssl_wait(c, events, deadline, what, err, errlen);
		if (r)
			break;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		long v = SSL_get_verify_result(ssl);

		sled_output_set_err(err, errlen, "%s: certificate verify failed: %s%s%s", what,
				    X509_verify_cert_error_string(v),
				    v == X509_V_ERR_HOSTNAME_MISMATCH ||
						    v == X509_V_ERR_IP_ADDRESS_MISMATCH
					    ? " for "
					    : "",
				    v == X509_V_ERR_HOSTNAME_MISMATCH ||
						    v == X509_V_ERR_IP_ADDRESS_MISMATCH
					    ? t->name
					    : "");
		r = -EACCES;
	}
	SSL_free(ssl);
	c->ssl = NULL;
	return r;
}

int sled_tls_write_all(struct sled_conn *c, const void *p, size_t len, int64_t deadline,
		       char *err, size_t errlen)
{
	const char *b = p;

	while (len) {
		size_t n = 0;
		short events = 0;
		int r;

		ERR_clear_error();
		if (SSL_write_ex(c->ssl, b, len, &n) == 1) {
			b += n;
			len -= n;
			continue;
		}
		r = ssl_failure(c->ssl, 0, &events, "send", err, errlen);
		if (r == 1)
			return -EPIPE;
		if (!r)
			r = ssl_wait(c, events, deadline, "send", err, errlen);
		if (r == -ETIMEDOUT)
			sled_output_set_err(err, errlen, "send: receiver not reading (timed out)");
		if (r)
			return r;
	}
	return 0;
}

ssize_t sled_tls_read_some(struct sled_conn *c, void *p, size_t cap, int64_t deadline,
			   char *err, size_t errlen)
{
	for (;;) {
		size_t n = 0;
		short events = 0;
		int r;

		ERR_clear_error();
		if (SSL_read_ex(c->ssl, p, cap, &n) == 1)
			return (ssize_t)n;
		r = ssl_failure(c->ssl, 0, &events, "recv", err, errlen);
		if (r == 1)
			return 0;
		if (!r)
			r = sled_net_wait_fd(c->fd, events, deadline);
		if (r == -ETIMEDOUT)
			sled_output_set_err(err, errlen, "recv: no answer (timed out)");
		if (r)
			return r;
	}
}

void sled_tls_close(struct sled_conn *c)
{
	if (!c->ssl)
		return;
	ERR_clear_error();
	SSL_shutdown(c->ssl); /* non-blocking: sends close_notify if it can, never waits */
	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
}
