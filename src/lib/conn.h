/* conn.h — one client socket: non-blocking reads and writes into bounded
   buffers, OpenSSL on the fd itself, backpressure and idle timeouts
   (DESIGN.md §2). Not bufferevent_openssl: libevent 2.1 predates OpenSSL 3.

   A conn lives on one I/O thread (its event_base) and every function here is
   called on that thread only. The protocol session above it reads lines or
   bytes from the input buffer, writes replies to the output buffer, and is
   told through its callbacks when input arrived, when output drained below
   the low-watermark, and when the connection is gone.

   Backpressure: while the output buffer holds more than out_high bytes the
   conn stops reading (a client that pipelines without reading replies is
   paused, not buffered without bound); reading resumes below out_low.
   Meanwhile conn_read_line answers 0 even when a line is buffered, so
   pipelined commands already read are not answered without bound either;
   on_input comes again once output is below out_low.
   The input buffer holds at most in_max bytes; past that, reading pauses
   until the session consumes input. */
#ifndef PETREL_CONN_H
#define PETREL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct conn;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

struct conn_limits {
	size_t in_max;		/* input buffer cap; default 64 KiB */
	size_t out_high;	/* stop reading above this; default 256 KiB */
	size_t out_low;		/* resume reading below this; default 64 KiB */
	unsigned idle_timeout_ms; /* no progress for this long:
				   on_timeout; default 5 min. Progress is
				   a line end read, all output taken, or
				   1 KiB moved either way: a byte now and
				   then (slowloris) is not */
	unsigned handshake_timeout_ms; /* TLS handshake; default 30 s */
};

enum conn_close_reason {
	CONN_CLOSE_EOF,		/* peer closed */
	CONN_CLOSE_ERROR,	/* socket or TLS error */
	CONN_CLOSE_TIMEOUT,	/* idle or handshake timeout (after on_timeout) */
	CONN_CLOSE_LOCAL,	/* conn_close() by the session */
};

struct conn_callbacks {
	/* New input is buffered (or input remains after a resume). The session
	   consumes what it can with conn_read_line/conn_consume. */
	void (*on_input)(struct conn *conn, void *ctx);
	/* Output fell below out_low (or fully flushed); may be NULL. */
	void (*on_drain)(struct conn *conn, void *ctx);
	/* Idle timeout fired; the session may write a last reply. The conn
	   is closed (after flushing) when this returns. May be NULL. */
	void (*on_timeout)(struct conn *conn, void *ctx);
	/* TLS handshake finished (implicit TLS or after conn_starttls).
	   May be NULL. */
	void (*on_tls)(struct conn *conn, void *ctx);
	/* The conn is gone; the session frees itself here. After this
	   returns the conn is freed and must not be used. */
	void (*on_close)(struct conn *conn, void *ctx,
	    enum conn_close_reason reason);
};

/* Takes ownership of fd (set non-blocking here). When tls is not NULL the
   connection starts with a TLS handshake (implicit TLS, port 465/993/995);
   on_input is not called before it completes. Never returns NULL. */
struct conn *conn_new(struct event_base *base, int fd, SSL_CTX *tls,
    const struct conn_limits *limits, const struct conn_callbacks *cb,
    void *ctx);

/* Fills defaults for zero fields. */
void conn_limits_defaults(struct conn_limits *limits);

/* Input. conn_read_line finds the next LF within the input buffer.
   Returns 1 with *line_r, *len_r pointing at the line without its CRLF or LF
   (valid until the next conn call; *bare_lf_r says whether the line ended
   in LF without CR; bare_lf_r may be NULL); 0 when no full line is
   buffered yet and fewer than max bytes are waiting; -1 when more than max
   bytes are buffered without a line end (the caller answers "line too long"
   and may call conn_skip_line to resynchronise). The line is consumed.
   max counts the line end, as RFC 5321 §4.5.3.1 limits do: a complete
   line longer than max is also -1 (and stays buffered), so the answer does
   not depend on how the bytes were split into packets. */
int conn_read_line(struct conn *conn, size_t max, const char **line_r,
    size_t *len_r, bool *bare_lf_r);
/* Drops input up to and including the next LF; returns true if one was
   found (otherwise drops everything buffered and keeps skipping until
   the next LF arrives). */
bool conn_skip_line(struct conn *conn);
/* Raw access to buffered input, for DATA and BDAT: *data_r, *len_r until
   the next conn call; then conn_consume(n) to drop n bytes. */
void conn_peek(struct conn *conn, const char **data_r, size_t *len_r);
void conn_consume(struct conn *conn, size_t n);

/* Output. Appends to the output buffer and schedules a flush; never blocks,
   never fails (sessions bound what they write per input they consume). */
void conn_write(struct conn *conn, const void *data, size_t len);
void conn_printf(struct conn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t conn_output_pending(const struct conn *conn);

/* Stops (or restarts) calling on_input, e.g. while a reply waits for a
   worker job; buffered input is kept. Resuming re-delivers on_input when
   input is buffered. */
void conn_pause_input(struct conn *conn);
void conn_resume_input(struct conn *conn);

/* STARTTLS: discards every input byte already buffered (RFC 3207 §4.2,
   STARTTLS command injection), flushes pending output in plaintext, then
   runs the server handshake; on_tls is called when it completes. */
void conn_starttls(struct conn *conn, SSL_CTX *tls);
/* The client side of STARTTLS (and of implicit TLS: call it right after
   conn_new with tls NULL): as conn_starttls, but with an SSL object the
   caller made from a client context and configured (SNI, names to check,
   DANE TLSA records); the conn takes ownership, binds it to the fd and
   runs the client handshake. on_tls runs when it completes; the caller
   then judges the peer with conn_tls_ssl (SSL_get_verify_result,
   SSL_get0_dane_authority). A failed handshake closes the conn
   (CONN_CLOSE_ERROR, or CONN_CLOSE_EOF when the peer just hung up). */
void conn_starttls_client(struct conn *conn, SSL *ssl);
/* The conn's SSL object once TLS is started, else NULL. Owned by the
   conn; valid until on_close returns. */
SSL *conn_tls_ssl(const struct conn *conn);
bool conn_is_tls(const struct conn *conn);
/* COMPRESS=DEFLATE (RFC 4978): from now on output is raw-deflated and
   input inflated (input already buffered is taken as compressed). Call
   right after writing the last uncompressed reply. 0, or -1 when it is
   already on or zlib failed (nothing changed). */
int conn_compress_start(struct conn *conn);
bool conn_is_compressed(const struct conn *conn);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" style description, or NULL. */
const char *conn_tls_description(const struct conn *conn);

/* Flushes pending output, then closes (on_close with CONN_CLOSE_LOCAL).
   Further input is ignored, and so is output written after the call. */
void conn_close(struct conn *conn);
/* Closes at once, dropping pending output (shutdown deadline). */
void conn_abort(struct conn *conn);
/* conn_abort on every conn of base; call on base's thread (the server's
   shutdown deadline). Their on_close callbacks run from the loop. */
void conn_abort_all(struct event_base *base);

/* Restarts the idle timer with ms (0: no idle timeout). */
void conn_set_idle_timeout(struct conn *conn, unsigned ms);

/* Peer and local addresses as text ("192.0.2.1", "::1") and ports. */
const char *conn_peer_addr(const struct conn *conn);
uint16_t conn_peer_port(const struct conn *conn);
const char *conn_local_addr(const struct conn *conn);
uint16_t conn_local_port(const struct conn *conn);
bool conn_peer_is_loopback(const struct conn *conn);
/* Short unique id for log lines ("conn=5c1e07a1"). */
const char *conn_id(const struct conn *conn);
struct event_base *conn_event_base(const struct conn *conn);
#endif
