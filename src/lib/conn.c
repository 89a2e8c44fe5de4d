/* conn.c — a client socket on libevent events, OpenSSL on the fd (conn.h).
   Invariants: conn_io() alone moves data, public functions only change
   state and schedule it (ev_defer), so no callback runs inside another conn
   call; no public function calls on_close or frees: conn_release() does,
   when the outermost event callback leaves (busy == 0), so a session may
   close itself in any callback. Input read before conn_starttls() is
   dropped and nothing is read in plaintext after it (RFC 3207 §4.2).
   OpenSSL's per-thread error queue is cleared before every SSL call. The
   process ignores SIGPIPE (server_new): OpenSSL writes with write(2). */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"

#define CONN_IN_MAX_DEFAULT (64 * 1024)
#define CONN_OUT_HIGH_DEFAULT (256 * 1024)
#define CONN_OUT_LOW_DEFAULT (64 * 1024)
/* RFC 5321 §4.5.3.2.7: a server waits at least five minutes for the
   next command. Sessions set their own with conn_set_idle_timeout. */
#define CONN_IDLE_DEFAULT_MS (5 * 60 * 1000)
#define CONN_HANDSHAKE_DEFAULT_MS (30 * 1000)
/* A closing conn whose peer takes none of its last output for this long
   is aborted: a client that stops reading cannot pin the socket. */
#define CONN_LINGER_MS (30 * 1000)
/* The idle timer restarts on progress, not on any byte: a line end read,
   output fully taken, or this many bytes moved either way since it was
   last armed. A slowloris peer (a byte every few seconds, never a line
   end) is cut by the idle timeout instead of holding a slot for ever;
   this is Postfix's per-record deadline. 1 KiB per idle period is far
   below any honest link. */
#define CONN_PROGRESS_MIN 1024
/* Largest single read: one TLS record's worth of plaintext. */
#define CONN_READ_CHUNK (16 * 1024)
/* First output allocation; it doubles as needed. */
#define CONN_OUT_MIN 512
/* Unread input discarded before close(2), so the kernel ends with FIN
   instead of RST (which would drop our last reply still queued). */
#define CONN_CLOSE_DRAIN (64 * 1024)

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

	struct conn *live_prev, *live_next;
};

/* This thread's conns, for conn_abort_all. */
static _Thread_local struct conn *conn_live;

static pthread_once_t conn_id_once = PTHREAD_ONCE_INIT;
static uint32_t conn_id_seed;
static atomic_uint_fast32_t conn_id_counter;

static void conn_io(struct conn *conn);

static void
conn_id_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	conn_id_seed = (uint32_t)ts.tv_sec * 2654435761u ^
	    (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}

/* murmur3's finaliser: a bijection on 32 bits, so seed + counter gives
   ids unique for 2^32 connections and unlike between restarts. */
static uint32_t
conn_id_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static size_t
conn_iobuf_len(const struct conn_iobuf *b)
{
	return b->end - b->start;
}

static void
conn_iobuf_free(struct conn_iobuf *b)
{
	xfree(&b->data);
	b->start = b->end = b->cap = 0;
}

/* Room for at least n bytes after end: moves the data to the front, then
   grows. Callers bound n (input by in_max; output is bounded by what the
   session writes per input, conn.h). */
static void
conn_iobuf_reserve(struct conn_iobuf *b, size_t n, size_t min_cap)
{
	size_t len = b->end - b->start, need, cap;

	if (b->cap - b->end >= n)
		return;
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, len);
		b->start = 0;
		b->end = len;
		if (b->cap - b->end >= n)
			return;
	}
	if (__builtin_add_overflow(len, n, &need))
		panic("conn_iobuf_reserve: %zu + %zu overflows", len, n);
	cap = b->cap > min_cap ? b->cap : min_cap;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			panic("conn_iobuf_reserve: %zu bytes", need);
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
conn_limits_defaults(struct conn_limits *limits)
{
	if (limits->in_max == 0)
		limits->in_max = CONN_IN_MAX_DEFAULT;
	if (limits->out_high == 0)
		limits->out_high = CONN_OUT_HIGH_DEFAULT;
	if (limits->out_low == 0)
		limits->out_low = CONN_OUT_LOW_DEFAULT;
	if (limits->out_low > limits->out_high)
		limits->out_low = limits->out_high;
	if (limits->idle_timeout_ms == 0)
		limits->idle_timeout_ms = CONN_IDLE_DEFAULT_MS;
	if (limits->handshake_timeout_ms == 0)
		limits->handshake_timeout_ms = CONN_HANDSHAKE_DEFAULT_MS;
}

/* ---- addresses ---------------------------------------------------- */

static void
conn_format_addr(const struct sockaddr_storage *ss, char *out, size_t max,
    uint16_t *port_r, bool *loopback_r)
{
	*port_r = 0;
	*loopback_r = false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)max);
		*port_r = ntohs(sin->sin_port);
		*loopback_r = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		*port_r = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* A dual-stack socket's IPv4 peer: show it as what
			   it is, so logs and per-IP limits agree. */
			struct in_addr a;

			memcpy(&a, &sin6->sin6_addr.s6_addr[12], sizeof(a));
			inet_ntop(AF_INET, &a, out, (socklen_t)max);
			*loopback_r = (ntohl(a.s_addr) >> 24) == 127;
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    (socklen_t)max);
			*loopback_r = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		}
	} else if (ss->ss_family == AF_UNIX) {
		snprintf(out, max, "unix");
		*loopback_r = true;
	} else {
		snprintf(out, max, "unknown");
	}
}

static void
conn_init_addrs(struct conn *conn)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	if (getpeername(conn->fd, (struct sockaddr *)&ss, &len) == -1)
		ss.ss_family = AF_UNSPEC;
	conn_format_addr(&ss, conn->peer_addr, sizeof(conn->peer_addr),
	    &conn->peer_port, &conn->peer_loopback);

	bool local_loopback;

	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	if (getsockname(conn->fd, (struct sockaddr *)&ss, &len) == -1)
		ss.ss_family = AF_UNSPEC;
	conn_format_addr(&ss, conn->local_addr, sizeof(conn->local_addr),
	    &conn->local_port, &local_loopback);
}

/* ---- events and timers -------------------------------------------- */

static void
conn_want_io(struct conn *conn)
{
	if (conn->defer_pending)
		return;
	conn->defer_pending = true;
	event_active(conn->ev_defer, EV_TIMEOUT, 0);
}

static void
conn_arm_timer(struct conn *conn, unsigned ms)
{
	if (ms == 0) {
		evtimer_del(conn->ev_timer);
		return;
	}
	struct timeval tv = {
		.tv_sec = ms / 1000,
		.tv_usec = (suseconds_t)(ms % 1000) * 1000,
	};
	evtimer_add(conn->ev_timer, &tv);
}

static bool
conn_is_plain_or_tls(const struct conn *conn)
{
	return conn->tls == CONN_TLS_NONE || conn->tls == CONN_TLS_ON;
}

static void
conn_arm_idle(struct conn *conn)
{
	conn->progress = 0;
	conn->got_lf = false;
	conn_arm_timer(conn, conn->limits.idle_timeout_ms);
}

/* n more bytes moved: is that enough to restart the idle (or linger)
   timer? See CONN_PROGRESS_MIN. */
static bool
conn_progressed(struct conn *conn, size_t n)
{
	if (__builtin_add_overflow(conn->progress, n, &conn->progress))
		conn->progress = SIZE_MAX;
	return conn->got_lf || conn->progress >= CONN_PROGRESS_MIN;
}

static void
conn_arm_linger(struct conn *conn)
{
	conn->progress = 0;
	conn->got_lf = false;
	conn_arm_timer(conn, CONN_LINGER_MS);
}

static bool
conn_can_read(const struct conn *conn)
{
	return !conn->finished && !conn->closing && !conn->peer_eof &&
	    !conn->out_blocked && conn_is_plain_or_tls(conn) &&
	    conn_iobuf_len(&conn->in) < conn->limits.in_max;
}

static void
conn_event_set(struct event *ev, bool *added, bool want)
{
	if (want == *added)
		return;
	if (want)
		event_add(ev, NULL);
	else
		event_del(ev);
	*added = want;
}

/* Derives the readiness conn waits for from its state. TLS may need the
   opposite direction of what the caller is doing (a read that must write
   a KeyUpdate answer, a write that waits for a record). */
static void
conn_update_events(struct conn *conn)
{
	bool r = false, w = false;
	bool tls_on = conn->tls == CONN_TLS_ON;

	if (!conn->finished) {
		switch (conn->tls) {
		case CONN_TLS_FLUSH:
			w = conn->plain_out > 0;
			break;
		case CONN_TLS_HANDSHAKE:
			if (conn->ssl_hs_wants_write)
				w = true;
			else
				r = true;
			break;
		case CONN_TLS_NONE:
		case CONN_TLS_ON:
			if (conn_can_read(conn)) {
				if (tls_on && conn->ssl_read_wants_write)
					w = true;
				else
					r = true;
			}
			if (conn_iobuf_len(&conn->out) > 0) {
				if (tls_on && conn->ssl_write_wants_read)
					r = true;
				else
					w = true;
			}
			break;
		}
	}
	conn_event_set(conn->ev_read, &conn->read_added, r);
	conn_event_set(conn->ev_write, &conn->write_added, w);
}

/* ---- closing ------------------------------------------------------ */

/* Reads and drops what the peer sent and we will never read, so that
   close(2) sends FIN, not RST: an RST makes the peer's kernel discard our
   last reply (RFC 1122 §4.2.2.13; Apache's lingering close). */
static void
conn_drain_fd(int fd)
{
	char scratch[4096];
	size_t total = 0;

	while (total < CONN_CLOSE_DRAIN) {
		ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

/* Closes the socket; on_close follows from conn_leave. */
static void
conn_shutdown_fd(struct conn *conn, bool graceful)
{
	if (conn->finished)
		return;
	conn->finished = true;
	conn->closing = true;
	conn_event_set(conn->ev_read, &conn->read_added, false);
	conn_event_set(conn->ev_write, &conn->write_added, false);
	evtimer_del(conn->ev_timer);
	/* SSL_shutdown is forbidden after SSL_ERROR_SYSCALL/SSL and
	   meaningless before the handshake finished. One non-blocking try:
	   close_notify is a courtesy, not something to wait for. */
	if (conn->ssl != NULL && conn->tls == CONN_TLS_ON && !conn->ssl_dead) {
		ERR_clear_error();
		(void)SSL_shutdown(conn->ssl);
		ERR_clear_error();
	}
	if (graceful)
		conn_drain_fd(conn->fd);
	close(conn->fd);
	conn->fd = -1;
	conn_want_io(conn);
}

static void
conn_fail(struct conn *conn, enum conn_close_reason reason)
{
	if (conn->finished)
		return;
	if (!conn->closing)
		conn->reason = conn->peer_eof ? CONN_CLOSE_EOF : reason;
	conn_shutdown_fd(conn, false);
}

static void
conn_begin_close(struct conn *conn, enum conn_close_reason reason)
{
	if (conn->closing || conn->finished)
		return;
	conn->closing = true;
	conn->reason = reason;
	conn->redeliver = false;
	conn_arm_linger(conn);
	conn_want_io(conn);
}

static void
conn_live_unlink(struct conn *conn)
{
	if (conn->live_prev != NULL)
		conn->live_prev->live_next = conn->live_next;
	else if (conn_live == conn)
		conn_live = conn->live_next;
	if (conn->live_next != NULL)
		conn->live_next->live_prev = conn->live_prev;
	conn->live_prev = conn->live_next = NULL;
}

static void
conn_release(struct conn *conn)
{
	conn_live_unlink(conn);
	/* Calls from on_close find the conn finished and do nothing. */
	conn->busy = 1;
	if (conn->cb.on_close != NULL)
		conn->cb.on_close(conn, conn->ctx, conn->reason);
	event_free(conn->ev_read);
	event_free(conn->ev_write);
	event_free(conn->ev_timer);
	event_free(conn->ev_defer);
	SSL_free(conn->ssl);
	conn_iobuf_free(&conn->in);
	conn_iobuf_free(&conn->out);
	free(conn->tls_desc);
	free(conn);
}

static void
conn_enter(struct conn *conn)
{
	conn->busy++;
}

/* Leaves an event callback: the outermost one finishes a close, or gives
   empty buffers back while the connection idles. */
static void
conn_leave(struct conn *conn)
{
	if (--conn->busy > 0)
		return;
	if (conn->finished) {
		conn_release(conn);
		return;
	}
	if (conn_iobuf_len(&conn->in) == 0)
		conn_iobuf_free(&conn->in);
	if (conn_iobuf_len(&conn->out) == 0)
		conn_iobuf_free(&conn->out);
}

/* ---- TLS ---------------------------------------------------------- */

static SSL *
conn_ssl_new(struct conn *conn, SSL_CTX *tls)
{
	SSL *ssl;

	ERR_clear_error();
	ssl = SSL_new(tls);
	if (ssl == NULL || SSL_set_fd(ssl, conn->fd) != 1)
		panic("conn_ssl_new: SSL_new/SSL_set_fd failed");
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
static void
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
static int
conn_handshake(struct conn *conn)
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

/* ---- output ------------------------------------------------------- */

/* Writes what the socket takes. 0, or -1 when the conn is finished. */
static int
conn_flush(struct conn *conn)
{
	struct conn_iobuf *out = &conn->out;
	size_t before = conn_iobuf_len(out);
	bool progress = false;
	size_t sent = 0;

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

/* ---- input -------------------------------------------------------- */

/* Drops skipped input up to and including the next LF. */
static void
conn_skip_buffered(struct conn *conn)
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
conn_note_input(struct conn *conn, const char *p, size_t n)
{
	if (!conn->got_lf && memchr(p, '\n', n) != NULL)
		conn->got_lf = true;
	(void)conn_progressed(conn, n);
}

/* One read. 1: bytes arrived; 3: bytes arrived and the socket is drained
   (a short plain read); 0: would block; 2: EOF; -1: finished. */
static int
conn_read_once(struct conn *conn)
{
	struct conn_iobuf *in = &conn->in;
	size_t room = conn->limits.in_max - conn_iobuf_len(in), n;

	conn_iobuf_reserve(in, room < CONN_READ_CHUNK ? room : CONN_READ_CHUNK,
	    CONN_READ_CHUNK);
	n = in->cap - in->end;
	if (n > room)
		n = room;
	if (n > CONN_READ_CHUNK)
		n = CONN_READ_CHUNK;

	if (conn->tls == CONN_TLS_ON) {
		int r, err, saved_errno;

		ERR_clear_error();
		errno = 0;
		r = SSL_read(conn->ssl, in->data + in->end, (int)n);
		saved_errno = errno;
		if (r > 0) {
			conn_note_input(conn, in->data + in->end, (size_t)r);
			in->end += (size_t)r;
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
		ssize_t r = read(conn->fd, in->data + in->end, n);

		if (r > 0) {
			conn_note_input(conn, in->data + in->end, (size_t)r);
			in->end += (size_t)r;
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

/* Reads what there is (up to in_max), then tells the session. 0, or -1
   when the conn is finished. */
static int
conn_fill(struct conn *conn)
{
	bool got = false;

	while (conn_can_read(conn)) {
		int r = conn_read_once(conn);

		if (r == -1)
			return -1;
		if (r != 1 && r != 3)
			break;
		got = true;
		if (conn->skip_line)
			conn_skip_buffered(conn);
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
	return 0;
}

/* ---- the driver --------------------------------------------------- */

static void
conn_io(struct conn *conn)
{
	if (conn->finished)
		return;
	conn->in_io = true;
	if (conn->tls == CONN_TLS_FLUSH) {
		if (conn_flush(conn) == -1)
			goto finished;
		if (conn->plain_out > 0)
			goto out;
		conn->tls = CONN_TLS_HANDSHAKE;
	}
	if (conn->tls == CONN_TLS_HANDSHAKE) {
		int r = conn_handshake(conn);

		if (r == -1)
			goto finished;
		if (r == 0)
			goto out;
	}
	if (conn_flush(conn) == -1)
		goto finished;
	if (!conn->closing) {
		if (conn_fill(conn) == -1 || conn_flush(conn) == -1)
			goto finished;
	}
	if (conn->closing && conn_iobuf_len(&conn->out) == 0 &&
	    conn_is_plain_or_tls(conn)) {
		conn_shutdown_fd(conn, true);
		goto finished;
	}
out:
	conn_update_events(conn);
finished:
	conn->in_io = false;
}

static void
conn_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	(void)fd;
	(void)what;
	conn_enter(conn);
	conn_io(conn);
	conn_leave(conn);
}

static void
conn_on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	(void)fd;
	(void)what;
	conn->defer_pending = false;
	conn_enter(conn);
	conn_io(conn);
	conn_leave(conn);
}

static void
conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	(void)fd;
	(void)what;
	conn_enter(conn);
	if (conn->finished) {
		/* on_close is pending; nothing to time. */
	} else if (conn->closing) {
		/* The peer took none of our last output for
		   CONN_LINGER_MS. */
		conn_fail(conn, CONN_CLOSE_TIMEOUT);
	} else if (!conn_is_plain_or_tls(conn)) {
		log_debug("conn: conn=%s event=tls_timeout peer=%s", conn->id,
		    conn->peer_addr);
		conn_fail(conn, CONN_CLOSE_TIMEOUT);
	} else {
		if (conn->cb.on_timeout != NULL) {
			conn->busy++;
			conn->cb.on_timeout(conn, conn->ctx);
			conn->busy--;
		}
		if (!conn->finished) {
			conn_begin_close(conn, CONN_CLOSE_TIMEOUT);
			/* Also when on_timeout called conn_close itself. */
			conn->reason = CONN_CLOSE_TIMEOUT;
			conn_io(conn);
		}
	}
	conn_leave(conn);
}

/* ---- public ------------------------------------------------------- */

struct conn *
conn_new(struct event_base *base, int fd, SSL_CTX *tls,
    const struct conn_limits *limits, const struct conn_callbacks *cb,
    void *ctx)
{
	struct conn *conn = xcalloc(1, sizeof(*conn));
	int flags = fcntl(fd, F_GETFL);
	int one = 1;

	if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		panic("conn_new: fcntl(%d): %s", fd, strerror(errno));
	/* Replies are written whole; Nagle would only hold a pipelined
	   reply back for the peer's delayed ACK. Not a TCP socket: ignored. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	conn->base = base;
	conn->fd = fd;
	if (limits != NULL)
		conn->limits = *limits;
	conn_limits_defaults(&conn->limits);
	conn->cb = *cb;
	conn->ctx = ctx;
	if (cb->on_input == NULL)
		panic("conn_new: on_input is required");

	conn->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, conn_on_io,
	    conn);
	conn->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST,
	    conn_on_io, conn);
	conn->ev_timer = evtimer_new(base, conn_on_timer, conn);
	conn->ev_defer = event_new(base, -1, 0, conn_on_defer, conn);
	if (conn->ev_read == NULL || conn->ev_write == NULL ||
	    conn->ev_timer == NULL || conn->ev_defer == NULL)
		panic("conn_new: event_new failed");

	pthread_once(&conn_id_once, conn_id_init);
	snprintf(conn->id, sizeof(conn->id), "%08x",
	    (unsigned)conn_id_mix(conn_id_seed +
	    (uint32_t)atomic_fetch_add(&conn_id_counter, 1)));
	conn_init_addrs(conn);

	conn->live_next = conn_live;
	if (conn_live != NULL)
		conn_live->live_prev = conn;
	conn_live = conn;

	if (tls != NULL) {
		conn->ssl = conn_ssl_new(conn, tls);
		conn->tls = CONN_TLS_HANDSHAKE;
		conn_arm_timer(conn, conn->limits.handshake_timeout_ms);
	} else {
		conn_arm_idle(conn);
	}
	conn_update_events(conn);
	return conn;
}

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
		conn_skip_buffered(conn);
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
conn_write(struct conn *conn, const void *data, size_t len)
{
	struct conn_iobuf *out = &conn->out;

	/* After conn_close the session is done: a second close path (a
	   shutdown hook after a QUIT, say) must not add a second goodbye. */
	if (conn->finished || conn->closing || len == 0)
		return;
	conn_iobuf_reserve(out, len, CONN_OUT_MIN);
	memcpy(out->data + out->end, data, len);
	out->end += len;
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
	conn->ssl = conn_ssl_new(conn, tls);
	conn->plain_out = conn_iobuf_len(&conn->out);
	conn->tls = conn->plain_out > 0 ? CONN_TLS_FLUSH : CONN_TLS_HANDSHAKE;
	conn_arm_timer(conn, conn->limits.handshake_timeout_ms);
	conn_want_io(conn);
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

void
conn_close(struct conn *conn)
{
	conn_begin_close(conn, CONN_CLOSE_LOCAL);
}

void
conn_abort(struct conn *conn)
{
	if (conn->finished)
		return;
	if (!conn->closing)
		conn->reason = CONN_CLOSE_LOCAL;
	conn->out.start = conn->out.end = 0;
	conn->plain_out = 0;
	conn_shutdown_fd(conn, false);
}

void
conn_abort_all(struct event_base *base)
{
	for (struct conn *c = conn_live; c != NULL; c = c->live_next) {
		if (c->base == base)
			conn_abort(c);
	}
}

void
conn_set_idle_timeout(struct conn *conn, unsigned ms)
{
	conn->limits.idle_timeout_ms = ms;
	if (!conn->finished && !conn->closing && conn_is_plain_or_tls(conn))
		conn_arm_idle(conn);
}

const char *
conn_peer_addr(const struct conn *conn)
{
	return conn->peer_addr;
}

uint16_t
conn_peer_port(const struct conn *conn)
{
	return conn->peer_port;
}

const char *
conn_local_addr(const struct conn *conn)
{
	return conn->local_addr;
}

uint16_t
conn_local_port(const struct conn *conn)
{
	return conn->local_port;
}

bool
conn_peer_is_loopback(const struct conn *conn)
{
	return conn->peer_loopback;
}

const char *
conn_id(const struct conn *conn)
{
	return conn->id;
}

struct event_base *
conn_event_base(const struct conn *conn)
{
	return conn->base;
}
