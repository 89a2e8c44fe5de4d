/* conn_input.c — the read side of a conn (conn.h): socket or TLS into the
   bounded input buffer, on_input, and the session's line and byte reads.
   Invariants: the buffer never holds more than in_max bytes; only
   conn_io() reads (conn_input_fill), the public functions consume and
   schedule; while output is over out_high no line is handed out
   (backpressure); a line end or CONN_PROGRESS_MIN bytes read restart the
   idle timer, a trickle does not. */
#include "lib/conn_private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
/* Largest single read: one TLS record's worth of plaintext. */
#define CONN_READ_CHUNK (16 * 1024)

/* Drops skipped input up to and including the next LF. */
static void
conn_input_skip_buffered(struct conn *conn)
{
	struct conn_iobuf *in = &conn->in;
	const char *p = in->data + in->start;
	const char *lf = memchr(p, '\n', conn_iobuf_len(in));

	if (lf == NULL) {
		in->start = in->end = 0;
		return;
	}
	in->start += (size_t)(lf - p) + 1;
	conn->skip_line = false;
}

/* Input counts towards the idle timer's progress (CONN_PROGRESS_MIN). */
static void
conn_input_note(struct conn *conn, const char *p, size_t n)
{
	if (!conn->got_lf && memchr(p, '\n', n) != NULL)
		conn->got_lf = true;
	(void)conn_progressed(conn, n);
}

/* conn_private.h. */
int
conn_input_read_raw(struct conn *conn, char *dst, size_t n, size_t *got_r)
{
	*got_r = 0;
	if (conn->tls == CONN_TLS_ON) {
		int r, err, saved_errno;

		ERR_clear_error();
		errno = 0;
		r = SSL_read(conn->ssl, dst, (int)n);
		saved_errno = errno;
		if (r > 0) {
			*got_r = (size_t)r;
			conn->ssl_read_wants_write = false;
			return 1;
		}
		err = SSL_get_error(conn->ssl, r);
		conn->ssl_read_wants_write = err == SSL_ERROR_WANT_WRITE;
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			return 0;
		if (err == SSL_ERROR_ZERO_RETURN) {
			/* close_notify (or, with IGNORE_UNEXPECTED_EOF, a
			   plain EOF): the peer is done sending. */
			conn->peer_eof = true;
			return 2;
		}
		conn_tls_failed(conn, "read", err, saved_errno);
		return -1;
	}
	for (;;) {
		ssize_t r = read(conn->fd, dst, n);

		if (r > 0) {
			*got_r = (size_t)r;
			/* Less than asked: the kernel had no more. The next
			   read would only say EAGAIN; epoll (level-triggered)
			   tells us when more comes. Half the reads of an SMTP
			   session were such EAGAINs. */
			return (size_t)r < n ? 3 : 1;
		}
		if (r == 0) {
			conn->peer_eof = true;
			return 2;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNRESET) {
			/* An abortive close is still the peer leaving. */
			conn->peer_eof = true;
			conn_fail(conn, CONN_CLOSE_EOF);
			return -1;
		}
		log_debug("conn: conn=%s event=read_error error=%s", conn->id,
		    strerror(errno));
		conn_fail(conn, CONN_CLOSE_ERROR);
		return -1;
	}
}

/* One read into the input buffer, as conn_input_read_raw returns
   (inflated first under COMPRESS). */
static int
conn_input_read_once(struct conn *conn)
{
	struct conn_iobuf *in = &conn->in;
	size_t room = conn->limits.in_max - conn_iobuf_len(in), n, got;
	int r;

	if (conn->z != NULL)
		return conn_compress_read(conn);
	conn_iobuf_reserve(in, room < CONN_READ_CHUNK ? room : CONN_READ_CHUNK,
	    CONN_READ_CHUNK);
	n = in->cap - in->end;
	if (n > room)
		n = room;
	if (n > CONN_READ_CHUNK)
		n = CONN_READ_CHUNK;
	r = conn_input_read_raw(conn, in->data + in->end, n, &got);
	if (got > 0) {
		conn_input_note(conn, in->data + in->end, got);
		in->end += got;
	}
	return r;
}

/* Reads what there is (up to in_max), then tells the session. 0, or -1
   when the conn is finished. */
int
conn_input_fill(struct conn *conn)
{
	bool got = false;

	while (conn_can_read(conn)) {
		int r = conn_input_read_once(conn);

		if (r == -1)
			return -1;
		if (r != 1 && r != 3)
			break;
		got = true;
		if (conn->skip_line)
			conn_input_skip_buffered(conn);
		if (r == 3)
			break;
	}
	if (got && conn_progressed(conn, 0))
		conn_arm_idle(conn);
	if (conn_iobuf_len(&conn->in) == 0) {
		conn->redeliver = false;
	} else if ((got || conn->redeliver) && !conn->input_paused) {
		conn->redeliver = false;
		conn->busy++;
		conn->cb.on_input(conn, conn->ctx);
		conn->busy--;
		if (conn->finished)
			return -1;
	}
	/* The peer finished sending. While the session waits for a job
	   (input paused) the close waits too: a client that half-closed
	   after its last command still gets the reply. */
	if (conn->peer_eof && !conn->closing && !conn->input_paused &&
	    conn_is_plain_or_tls(conn))
		conn_begin_close(conn, CONN_CLOSE_EOF);
	/* OpenSSL may hold decrypted bytes we had no room for; the socket
	   will not signal them. */
	if (conn->tls == CONN_TLS_ON && conn_can_read(conn) &&
	    SSL_has_pending(conn->ssl))
		conn_want_io(conn);
	/* Likewise compressed octets not inflated yet. */
	if (conn_compress_has_pending(conn) && conn_can_read(conn) &&
	    conn_iobuf_len(&conn->in) < conn->limits.in_max)
		conn_want_io(conn);
	return 0;
}

/* ---- public ------------------------------------------------------- */

int
conn_read_line(struct conn *conn, size_t max, const char **line_r,
    size_t *len_r, bool *bare_lf_r)
{
	struct conn_iobuf *in = &conn->in;
	size_t avail = conn_iobuf_len(in), len, linelen;
	char *p, *lf;
	bool bare_lf;

	if (conn->closing || conn->finished || avail == 0)
		return 0;
	if (conn->out_blocked) {
		/* Backpressure (conn.h): the rest waits for the drain. */
		conn->redeliver = true;
		return 0;
	}
	p = in->data + in->start;
	lf = memchr(p, '\n', avail);
	if (lf == NULL) {
		/* No terminator can make this fit any more: too long by
		   the caller's limit, or the buffer is full. */
		if (avail >= max || avail >= conn->limits.in_max)
			return -1;
		return 0;
	}
	len = (size_t)(lf - p);
	/* max counts the line end, as RFC 5321 §4.5.3.1 limits do. */
	if (len + 1 > max)
		return -1;
	bare_lf = len == 0 || p[len - 1] != '\r';
	linelen = bare_lf ? len : len - 1;
	/* The terminator is consumed: a NUL there makes the line a C string
	   for callers that want one (it may still hold NULs itself). */
	p[linelen] = '\0';
	if (avail >= conn->limits.in_max)
		conn_want_io(conn);
	in->start += len + 1;
	*line_r = p;
	*len_r = linelen;
	if (bare_lf_r != NULL)
		*bare_lf_r = bare_lf;
	return 1;
}

bool
conn_skip_line(struct conn *conn)
{
	bool was_full = conn_iobuf_len(&conn->in) >= conn->limits.in_max;

	if (conn->finished)
		return false;
	conn->skip_line = true;
	if (conn_iobuf_len(&conn->in) > 0)
		conn_input_skip_buffered(conn);
	if (was_full)
		conn_want_io(conn);
	return !conn->skip_line;
}

void
conn_peek(struct conn *conn, const char **data_r, size_t *len_r)
{
	if (conn->closing || conn->finished || conn->in.data == NULL) {
		*data_r = "";
		*len_r = 0;
		return;
	}
	*data_r = conn->in.data + conn->in.start;
	*len_r = conn_iobuf_len(&conn->in);
}

void
conn_consume(struct conn *conn, size_t n)
{
	struct conn_iobuf *in = &conn->in;
	size_t avail = conn_iobuf_len(in);

	if (conn->closing || conn->finished)
		return;
	if (n > avail)
		panic("conn_consume: %zu > %zu buffered", n, avail);
	in->start += n;
	if (in->start == in->end)
		in->start = in->end = 0;
	if (avail >= conn->limits.in_max && n > 0)
		conn_want_io(conn);
}

void
conn_pause_input(struct conn *conn)
{
	conn->input_paused = true;
}

void
conn_resume_input(struct conn *conn)
{
	if (conn->finished)
		return;
	conn->input_paused = false;
	conn->redeliver = true;
	conn_want_io(conn);
}
