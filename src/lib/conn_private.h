/* conn_private.h — what the files of a conn share: struct conn and the
   functions one file calls in another. conn.c owns a conn's life (creation,
   the event driver, timers, closing), conn_input.c the read side,
   conn_output.c the write side, conn_tls.c OpenSSL. All of them run on the
   conn's thread only. Nothing outside src/lib/conn*.c includes it. */
#ifndef PETREL_CONN_PRIVATE_H
#define PETREL_CONN_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <openssl/ssl.h>

#include "lib/conn.h"

struct event;

enum conn_tls {
	CONN_TLS_NONE,		/* plaintext */
	CONN_TLS_FLUSH,		/* STARTTLS: plaintext output still to send */
	CONN_TLS_HANDSHAKE,
	CONN_TLS_ON,
};

/* Bytes live in data[start, end); storage is freed while empty. */
struct conn_iobuf {
	char *data;
	size_t start, end, cap;
};

struct conn {
	struct event_base *base;
	int fd;
	SSL *ssl;
	enum conn_tls tls;
	struct conn_limits limits;
	struct conn_callbacks cb;
	void *ctx;

	struct event *ev_read, *ev_write, *ev_timer, *ev_defer;
	bool read_added, write_added, defer_pending;

	struct conn_iobuf in, out;
	size_t plain_out;	/* CONN_TLS_FLUSH: bytes of out to send clear */

	unsigned busy;		/* nesting of our event callbacks */
	bool in_io;		/* inside conn_io: it updates events on exit */
	bool closing;		/* flush what is queued, then finish */
	bool finished;		/* fd closed; on_close pending */
	enum conn_close_reason reason;

	bool input_paused;	/* by the session */
	bool redeliver;		/* on_input owed after a resume */
	bool peer_eof;
	bool skip_line;		/* drop input up to the next LF */
	bool out_blocked;	/* above out_high: reading stopped */
	bool ssl_read_wants_write, ssl_write_wants_read, ssl_hs_wants_write;
	bool ssl_dead;		/* fatal TLS error: no close_notify */
	size_t progress;	/* bytes moved since the idle timer was armed */
	bool got_lf;		/* a line end arrived since then */

	char id[9];
	char peer_addr[INET6_ADDRSTRLEN], local_addr[INET6_ADDRSTRLEN];
	uint16_t peer_port, local_port;
	bool peer_loopback;
	char *tls_desc;
	struct conn_compress *z;	/* COMPRESS=DEFLATE, or NULL */

	struct conn *live_prev, *live_next;
};

static inline size_t
conn_iobuf_len(const struct conn_iobuf *b)
{
	return b->end - b->start;
}

/* conn.c */
void conn_iobuf_reserve(struct conn_iobuf *b, size_t n, size_t min_cap);
/* Schedules conn_io() from the loop (ev_defer); never runs it here. */
void conn_want_io(struct conn *conn);
void conn_arm_timer(struct conn *conn, unsigned ms);
bool conn_is_plain_or_tls(const struct conn *conn);
void conn_arm_idle(struct conn *conn);
bool conn_progressed(struct conn *conn, size_t n);
void conn_arm_linger(struct conn *conn);
bool conn_can_read(const struct conn *conn);
/* Both close the fd (or schedule the close); on_close and the free
   follow from the outermost event callback, never from these. */
void conn_fail(struct conn *conn, enum conn_close_reason reason);
void conn_begin_close(struct conn *conn, enum conn_close_reason reason);

/* conn_tls.c */
SSL *conn_tls_ssl_new(struct conn *conn, SSL_CTX *tls);
void conn_tls_failed(struct conn *conn, const char *op, int err,
    int saved_errno);
int conn_tls_handshake(struct conn *conn);

/* conn_input.c: 0, or -1 when the conn is finished. */
int conn_input_fill(struct conn *conn);
/* One read of up to n octets into dst (socket or TLS), *got_r of them.
   1: octets came; 3: octets came and the socket is drained; 0: would
   block; 2: EOF; -1: finished. */
int conn_input_read_raw(struct conn *conn, char *dst, size_t n,
    size_t *got_r);

/* conn_compress.c (conn->z set): conn_compress_read reads and inflates,
   with conn_input_read_raw's returns; write deflates; flush ends the
   deflated output so far with a sync flush. */
int conn_compress_read(struct conn *conn);
void conn_compress_write(struct conn *conn, const void *data, size_t len);
void conn_compress_flush(struct conn *conn);
bool conn_compress_has_pending(const struct conn *conn);
void conn_compress_free(struct conn *conn);

/* conn_output.c: 0, or -1 when the conn is finished. */
int conn_output_flush(struct conn *conn);
#endif
