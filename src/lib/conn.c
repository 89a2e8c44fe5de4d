/* conn.c — a client socket on libevent events (conn.h): creation, the
   event driver, timers and closing. Reads are in conn_input.c, writes in
   conn_output.c, OpenSSL in conn_tls.c; struct conn in conn_private.h.
   Invariants: conn_io() alone moves data, public functions only change
   state and schedule it (ev_defer), so no callback runs inside another conn
   call; no public function calls on_close or frees: conn_release() does,
   when the outermost event callback leaves (busy == 0), so a session may
   close itself in any callback. */
#include "lib/conn_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
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

/* Unread input discarded before close(2), so the kernel ends with FIN
   instead of RST (which would drop our last reply still queued). */
#define CONN_CLOSE_DRAIN (64 * 1024)

/* This thread's conns, for conn_abort_all. */
static _Thread_local struct conn *conn_live;

static pthread_once_t conn_id_once = PTHREAD_ONCE_INIT;
static uint32_t conn_id_seed;
static atomic_uint_fast32_t conn_id_counter;

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

static void
conn_iobuf_free(struct conn_iobuf *b)
{
	xfree(&b->data);
	b->start = b->end = b->cap = 0;
}

/* Room for at least n bytes after end: moves the data to the front, then
   grows. Callers bound n (input by in_max; output is bounded by what the
   session writes per input, conn.h). */
void
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

void
conn_want_io(struct conn *conn)
{
	if (conn->defer_pending)
		return;
	conn->defer_pending = true;
	event_active(conn->ev_defer, EV_TIMEOUT, 0);
}

void
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

bool
conn_is_plain_or_tls(const struct conn *conn)
{
	return conn->tls == CONN_TLS_NONE || conn->tls == CONN_TLS_ON;
}

void
conn_arm_idle(struct conn *conn)
{
	conn->progress = 0;
	conn->got_lf = false;
	conn_arm_timer(conn, conn->limits.idle_timeout_ms);
}

/* n more bytes moved: is that enough to restart the idle (or linger)
   timer? See CONN_PROGRESS_MIN. */
bool
conn_progressed(struct conn *conn, size_t n)
{
	if (__builtin_add_overflow(conn->progress, n, &conn->progress))
		conn->progress = SIZE_MAX;
	return conn->got_lf || conn->progress >= CONN_PROGRESS_MIN;
}

void
conn_arm_linger(struct conn *conn)
{
	conn->progress = 0;
	conn->got_lf = false;
	conn_arm_timer(conn, CONN_LINGER_MS);
}

bool
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

void
conn_fail(struct conn *conn, enum conn_close_reason reason)
{
	if (conn->finished)
		return;
	if (!conn->closing)
		conn->reason = conn->peer_eof ? CONN_CLOSE_EOF : reason;
	conn_shutdown_fd(conn, false);
}

void
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
	conn_compress_free(conn);
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

/* ---- the driver --------------------------------------------------- */

static void
conn_io(struct conn *conn)
{
	if (conn->finished)
		return;
	conn->in_io = true;
	if (conn->tls == CONN_TLS_FLUSH) {
		if (conn_output_flush(conn) == -1)
			goto finished;
		if (conn->plain_out > 0)
			goto out;
		conn->tls = CONN_TLS_HANDSHAKE;
	}
	if (conn->tls == CONN_TLS_HANDSHAKE) {
		int r = conn_tls_handshake(conn);

		if (r == -1)
			goto finished;
		if (r == 0)
			goto out;
	}
	if (conn_output_flush(conn) == -1)
		goto finished;
	if (!conn->closing) {
		if (conn_input_fill(conn) == -1 ||
		    conn_output_flush(conn) == -1)
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
		conn->ssl = conn_tls_ssl_new(conn, tls);
		conn->tls = CONN_TLS_HANDSHAKE;
		conn_arm_timer(conn, conn->limits.handshake_timeout_ms);
	} else {
		conn_arm_idle(conn);
	}
	conn_update_events(conn);
	return conn;
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
