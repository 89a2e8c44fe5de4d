/* conn_output.c — the write side of a conn (conn.h): the session appends
   to the output buffer; conn_output_flush(), from conn_io() only, writes
   what the socket or TLS takes and tells the session on_drain.
   Invariants: conn_write never blocks or fails; nothing is queued after
   conn_close; during STARTTLS only the first plain_out bytes go out in
   clear. The process ignores SIGPIPE (server_new): OpenSSL writes with
   write(2). */
#include "lib/conn_private.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
/* First output allocation; it doubles as needed. */
#define CONN_OUT_MIN 512

/* Writes what the socket takes. 0, or -1 when the conn is finished. */
int
conn_output_flush(struct conn *conn)
{
	struct conn_iobuf *out = &conn->out;
	size_t before;
	bool progress = false;
	size_t sent = 0;

	/* Whole replies out: what was deflated so far, sync-flushed. */
	conn_compress_flush(conn);
	before = conn_iobuf_len(out);

	while (conn_iobuf_len(out) > 0) {
		const char *p = out->data + out->start;
		size_t len = conn_iobuf_len(out), done;

		if (conn->tls == CONN_TLS_HANDSHAKE)
			break;
		if (conn->tls == CONN_TLS_FLUSH) {
			if (conn->plain_out == 0)
				break;
			len = conn->plain_out;
		}
		if (conn->tls == CONN_TLS_ON) {
			int n, err, saved_errno;

			ERR_clear_error();
			errno = 0;
			n = SSL_write(conn->ssl, p, len > INT_MAX ? INT_MAX :
			    (int)len);
			saved_errno = errno;
			if (n <= 0) {
				err = SSL_get_error(conn->ssl, n);
				conn->ssl_write_wants_read =
				    err == SSL_ERROR_WANT_READ;
				if (err == SSL_ERROR_WANT_READ ||
				    err == SSL_ERROR_WANT_WRITE)
					break;
				conn_tls_failed(conn, "write", err,
				    saved_errno);
				return -1;
			}
			conn->ssl_write_wants_read = false;
			done = (size_t)n;
		} else {
			ssize_t n = send(conn->fd, p, len, MSG_NOSIGNAL);

			if (n == -1 && errno == ENOTSOCK)
				n = write(conn->fd, p, len);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EPIPE || errno == ECONNRESET)
					conn->peer_eof = true;
				else
					log_debug("conn: conn=%s event=write_error "
					    "error=%s", conn->id, strerror(errno));
				conn_fail(conn, CONN_CLOSE_ERROR);
				return -1;
			}
			done = (size_t)n;
		}
		out->start += done;
		if (conn->tls == CONN_TLS_FLUSH)
			conn->plain_out -= done;
		progress = true;
		sent += done;
	}
	if (conn_iobuf_len(out) == 0)
		out->start = out->end = 0;
	if (!progress)
		return 0;

	size_t now = conn_iobuf_len(out);

	/* A client that reads a long reply is not idle; one that takes a
	   byte now and then is (CONN_PROGRESS_MIN). */
	if (conn_progressed(conn, sent) || now == 0) {
		if (conn->closing)
			conn_arm_linger(conn);
		else if (conn_is_plain_or_tls(conn))
			conn_arm_idle(conn);
	}
	if (conn->out_blocked && now < conn->limits.out_low) {
		conn->out_blocked = false;
		/* on_input again for lines held back by conn_read_line. */
		if (conn->redeliver)
			conn_want_io(conn);
	}
	if (!conn->closing && conn->cb.on_drain != NULL &&
	    conn_is_plain_or_tls(conn) &&
	    (now == 0 || (before >= conn->limits.out_low &&
	    now < conn->limits.out_low))) {
		conn->busy++;
		conn->cb.on_drain(conn, conn->ctx);
		conn->busy--;
		if (conn->finished)
			return -1;
	}
	return 0;
}

/* ---- public ------------------------------------------------------- */

void
conn_write(struct conn *conn, const void *data, size_t len)
{
	struct conn_iobuf *out = &conn->out;

	/* After conn_close the session is done: a second close path (a
	   shutdown hook after a QUIT, say) must not add a second goodbye. */
	if (conn->finished || conn->closing || len == 0)
		return;
	if (conn->z != NULL) {
		conn_compress_write(conn, data, len);
	} else {
		conn_iobuf_reserve(out, len, CONN_OUT_MIN);
		memcpy(out->data + out->end, data, len);
		out->end += len;
	}
	if (conn_iobuf_len(out) > conn->limits.out_high)
		conn->out_blocked = true;
	/* Inside conn_io the flush and event update follow anyway. */
	if (!conn->in_io)
		conn_want_io(conn);
}

void
conn_printf(struct conn *conn, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		panic("conn_printf: bad format %s", fmt);
	if ((size_t)n < sizeof(small)) {
		conn_write(conn, small, (size_t)n);
		return;
	}
	char *big;

	va_start(ap, fmt);
	big = xvasprintf(fmt, ap);
	va_end(ap);
	conn_write(conn, big, (size_t)n);
	free(big);
}

size_t
conn_output_pending(const struct conn *conn)
{
	return conn_iobuf_len(&conn->out);
}
