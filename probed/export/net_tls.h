/* SPDX-License-Identifier: MIT */
/*
 * net_tls: TLS under the network outputs (forward+tls://, syslog+tls://), with OpenSSL.
 * Private to probed/export.
 *
 * A "+tls" kind parses its TLS options with sled_tls_opt, builds the context once at
 * create (sled_tls_new: a missing or bad file is an error then, not at each connect),
 * and its connections go through sled_conn_* (netout.h), which run the session here.
 *
 * Options:
 *   ca=PATH           the CAs that may sign the receiver's certificate: a PEM file, or
 *                     a directory hashed by c_rehash; default the system's store
 *   cert=PATH         our certificate (PEM), for receivers that check clients
 *   key=PATH          its private key (default: in the cert file)
 *   server_name=NAME  the name the certificate must carry, and SNI; default the HOST of
 *                     the spec (an IP address is checked as one, without SNI)
 *   insecure=1        no check of the receiver's certificate at all (still encrypted);
 *                     only when asked
 *
 * Sockets are non-blocking and every step waits in poll with the caller's deadline,
 * handling SSL_ERROR_WANT_READ/WANT_WRITE, so a receiver that stalls in the handshake
 * costs the output's worker its timeout, never the daemon.  A certificate that does not
 * check out ends the handshake before any event is written: nothing goes in clear.
 * Writes use write(2), which raises SIGPIPE on a closed connection: the netout worker
 * blocks every signal (and probed ignores SIGPIPE), so it is only an EPIPE.
 */
#ifndef SLED_EXPORT_NET_TLS_H
#define SLED_EXPORT_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sled_conn;
struct sled_tls;

struct sled_tls_opts {
	const char *ca, *cert, *key, *server_name;
	bool insecure;
};

#define SLED_TLS_OPTS_HELP "ca, cert, key, server_name, insecure"

/* One option of a "+tls" kind: 0 taken, 1 not a TLS option, -EINVAL with err. */
int sled_tls_opt(struct sled_tls_opts *o, const char *kind, const char *key,
		 const char *value, char *err, size_t errlen);
/* The context for connections to hostport ("HOST:PORT"): NULL with err. */
struct sled_tls *sled_tls_new(const char *kind, const struct sled_tls_opts *o,
			      const char *hostport, char *err, size_t errlen);
void sled_tls_free(struct sled_tls *t);

/* The session over c->fd (connected): 0, or -errno with err, e.g. "syslog+tls:
 * 127.0.0.1:6514: certificate verify failed: hostname mismatch". */
int sled_tls_handshake(const struct sled_tls *t, struct sled_conn *c, int64_t deadline,
		       char *err, size_t errlen);
int sled_tls_write_all(struct sled_conn *c, const void *p, size_t len, int64_t deadline,
		       char *err, size_t errlen);
/* Bytes read (> 0), 0 once the receiver closed the connection, -ETIMEDOUT, -errno. */
ssize_t sled_tls_read_some(struct sled_conn *c, void *p, size_t cap, int64_t deadline,
			   char *err, size_t errlen);
/* close_notify (one attempt, never waits), then free the session. */
void sled_tls_close(struct sled_conn *c);

#endif /* SLED_EXPORT_NET_TLS_H */
