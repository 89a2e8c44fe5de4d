/* conn_tls.c — OpenSSL on the conn's own fd (conn.h): the SSL object, the
   server handshake, STARTTLS, and what a failed TLS call means. Not
   bufferevent_openssl: libevent 2.1 predates OpenSSL 3. The client side
   (outbound SMTP) gets a caller-made SSL object. SSL_read and
   SSL_write sit beside read(2) and write(2) in conn_input.c and
   conn_output.c. Invariants: OpenSSL's per-thread error queue is cleared
   before every SSL call; input read before conn_starttls() is dropped and
   nothing is read in plaintext after it (RFC 3207 §4.2); the handshake,
   like all I/O, runs from conn_io() only. */
#include "lib/conn_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"

SSL *
conn_tls_ssl_new(struct conn *conn, SSL_CTX *tls)
{
	SSL *ssl;

	ERR_clear_error();
	ssl = SSL_new(tls);
	if (ssl == NULL || SSL_set_fd(ssl, conn->fd) != 1)
		panic("conn_tls_ssl_new: SSL_new/SSL_set_fd failed");
	SSL_set_accept_state(ssl);
	/* Also on the SSL itself, for contexts not made by tls.c. */
	SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION);
	return ssl;
}

/* A TLS call failed with err (not WANT_*): an EOF without close_notify
   counts as EOF (many MTAs just close), anything else is an error. */
void
conn_tls_failed(struct conn *conn, const char *op, int err, int saved_errno)
{
	unsigned long e = ERR_peek_error();
	bool eof = err == SSL_ERROR_ZERO_RETURN ||
	    (err == SSL_ERROR_SYSCALL && e == 0 &&
	    (saved_errno == 0 || saved_errno == ECONNRESET ||
	    saved_errno == EPIPE)) ||
	    (err == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING);

	if (err != SSL_ERROR_ZERO_RETURN)
		conn->ssl_dead = true;
	if (eof) {
		ERR_clear_error();
		conn->peer_eof = true;
		conn_fail(conn, CONN_CLOSE_EOF);
		return;
	}
	char reason[256];

	if (err == SSL_ERROR_SYSCALL && e == 0)
		snprintf(reason, sizeof(reason), "%s", strerror(saved_errno));
	else
		tls_error_text(reason, sizeof(reason));
	log_info("conn: conn=%s event=tls_error op=%s peer=%s error=%s",
	    conn->id, op, conn->peer_addr, reason);
	conn_fail(conn, CONN_CLOSE_ERROR);
}

/* 1 done, 0 in progress, -1 the conn is finished. */
int
conn_tls_handshake(struct conn *conn)
{
	int r, err, saved_errno;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(conn->ssl);
	saved_errno = errno;
	if (r == 1) {
		const SSL_CIPHER *cipher = SSL_get_current_cipher(conn->ssl);

		conn->tls = CONN_TLS_ON;
		conn->ssl_hs_wants_write = false;
		conn->tls_desc = xasprintf("%s %s", SSL_get_version(conn->ssl),
		    cipher != NULL ? SSL_CIPHER_get_name(cipher) : "unknown");
		if (conn->closing) {
			conn_arm_linger(conn);
			return 1;
		}
		conn_arm_idle(conn);
		if (conn->cb.on_tls != NULL) {
			conn->busy++;
			conn->cb.on_tls(conn, conn->ctx);
			conn->busy--;
			if (conn->finished)
				return -1;
		}
		return 1;
	}
	err = SSL_get_error(conn->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		conn->ssl_hs_wants_write = err == SSL_ERROR_WANT_WRITE;
		return 0;
	}
	conn_tls_failed(conn, "handshake", err, saved_errno);
	return -1;
}

/* ---- public ------------------------------------------------------- */

void
conn_starttls(struct conn *conn, SSL_CTX *tls)
{
	if (conn->finished || conn->closing)
		return;
	if (conn->ssl != NULL)
		panic("conn_starttls: conn=%s is already TLS", conn->id);
	/* RFC 3207 §4.2: nothing the client sent before the handshake may
	   be taken as sent under TLS. Everything read from the kernel sits
	   in `in`; conn_can_read stays false until the handshake is done,
	   so no plaintext is read after this either. */
	conn->in.start = conn->in.end = 0;
	conn->skip_line = false;
	conn->redeliver = false;
	conn->ssl = conn_tls_ssl_new(conn, tls);
	conn->plain_out = conn_iobuf_len(&conn->out);
	conn->tls = conn->plain_out > 0 ? CONN_TLS_FLUSH : CONN_TLS_HANDSHAKE;
	conn_arm_timer(conn, conn->limits.handshake_timeout_ms);
	conn_want_io(conn);
}

void
conn_starttls_client(struct conn *conn, SSL *ssl)
{
	if (conn->finished || conn->closing) {
		SSL_free(ssl);
		return;
	}
	if (conn->ssl != NULL)
		panic("conn_starttls_client: conn=%s is already TLS", conn->id);
	/* A server's bytes after its 220 to STARTTLS are not under TLS
	   either (RFC 3207 §4.2, the client's side of the injection). */
	conn->in.start = conn->in.end = 0;
	conn->skip_line = false;
	conn->redeliver = false;
	ERR_clear_error();
	if (SSL_set_fd(ssl, conn->fd) != 1)
		panic("conn_starttls_client: SSL_set_fd failed");
	SSL_set_connect_state(ssl);
	SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION);
	conn->ssl = ssl;
	conn->plain_out = conn_iobuf_len(&conn->out);
	conn->tls = conn->plain_out > 0 ? CONN_TLS_FLUSH : CONN_TLS_HANDSHAKE;
	conn_arm_timer(conn, conn->limits.handshake_timeout_ms);
	conn_want_io(conn);
}

SSL *
conn_tls_ssl(const struct conn *conn)
{
	return conn->ssl;
}

bool
conn_is_tls(const struct conn *conn)
{
	return conn->ssl != NULL;
}

const char *
conn_tls_description(const struct conn *conn)
{
	return conn->tls_desc;
}
