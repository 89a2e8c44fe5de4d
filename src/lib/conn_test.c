/* conn_test.c — conn over socketpairs and loopback TCP: line framing fed
   byte by byte, limits, backpressure (and the buffer sizes it keeps),
   timeouts (slowloris included), closing from inside callbacks,
   half-close, STARTTLS injection and implicit TLS with an in-process
   OpenSSL client on its own thread. */
#include "lib/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/test.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"

enum mode {
	MODE_LINES,		/* record lines */
	MODE_ECHO,		/* record and echo "echo: <line>" */
	MODE_BIG,		/* each line: a BIG_REPLY-byte reply */
	MODE_CLOSE,		/* first line: "bye", conn_close */
	MODE_ABORT,		/* first line: conn_abort */
	MODE_PAUSE,		/* pause after each line */
	MODE_STARTTLS,		/* "STARTTLS": 220, conn_starttls; else echo */
};

#define BIG_REPLY (32 * 1024)

/* What a test looks at; outlives the session. */
struct result {
	struct buf lines;	/* "line|line|" ("line(LF)" for bare LF) */
	unsigned nlines, ninput, ntls, ntimeout, ndrain;
	size_t max_out;		/* peak conn_output_pending after a reply */
	int closed;
	enum conn_close_reason reason;
	bool after_close_ok;
};

/* Freed in on_close, so ASan catches any use after it. */
struct session {
	struct conn *conn;
	struct result *res;
	enum mode mode;
	size_t max;
	char *scratch;
};

static SSL_CTX *server_ctx, *client_ctx;
static char *tmpdir;

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop for up to 5 ms, waking for anything ready. */
static void
pump_once(struct event_base *base)
{
	struct timeval tv = { 0, 5000 };

	event_base_once(base, -1, EV_TIMEOUT, noop_cb, NULL, &tv);
	event_base_loop(base, EVLOOP_ONCE);
}

static void
pump_for(struct event_base *base, long ms)
{
	long end = now_ms() + ms;

	while (now_ms() < end)
		pump_once(base);
}

static bool
pump_until_closed(struct event_base *base, struct result *res, long ms)
{
	long end = now_ms() + ms;

	while (!res->closed && now_ms() < end)
		pump_once(base);
	return res->closed != 0;
}

static void
sess_record(struct session *s, const char *line, size_t len, bool bare_lf)
{
	buf_append(&s->res->lines, line, len);
	buf_append_str(&s->res->lines, bare_lf ? "(LF)|" : "|");
	s->res->nlines++;
}

static void
sess_on_input(struct conn *conn, void *ctx)
{
	struct session *s = ctx;
	const char *line;
	size_t len;
	bool bare;
	int r;

	s->res->ninput++;
	while ((r = conn_read_line(conn, s->max, &line, &len, &bare)) != 0) {
		if (r == -1) {
			buf_append_str(&s->res->lines, "TOOLONG|");
			conn_skip_line(conn);
			continue;
		}
		switch (s->mode) {
		case MODE_LINES:
			sess_record(s, line, len, bare);
			break;
		case MODE_ECHO:
			sess_record(s, line, len, bare);
			conn_printf(conn, "echo: %.*s\r\n", (int)len, line);
			if (conn_output_pending(conn) > s->res->max_out)
				s->res->max_out = conn_output_pending(conn);
			break;
		case MODE_BIG:
			s->res->nlines++;
			if (s->scratch == NULL) {
				s->scratch = xmalloc(BIG_REPLY);
				memset(s->scratch, 'z', BIG_REPLY);
			}
			conn_write(conn, s->scratch, BIG_REPLY);
			break;
		case MODE_CLOSE:
			sess_record(s, line, len, bare);
			conn_write(conn, "bye\r\n", 5);
			conn_close(conn);
			/* The session is still ours until on_close. */
			s->res->after_close_ok = true;
			break;
		case MODE_ABORT:
			sess_record(s, line, len, bare);
			conn_abort(conn);
			conn_write(conn, "lost\r\n", 6);
			s->res->after_close_ok = true;
			break;
		case MODE_PAUSE:
			sess_record(s, line, len, bare);
			conn_pause_input(conn);
			return;
		case MODE_STARTTLS:
			sess_record(s, line, len, bare);
			if (len == 8 && memcmp(line, "STARTTLS", 8) == 0) {
				conn_write(conn, "220 go\r\n", 8);
				conn_starttls(conn, server_ctx);
				/* Nothing more until the handshake. */
				TEST_EQ_INT(conn_read_line(conn, s->max, &line,
				    &len, NULL), 0);
			} else {
				conn_printf(conn, "echo: %.*s\r\n", (int)len,
				    line);
			}
			break;
		}
	}
}

static void
sess_on_drain(struct conn *conn, void *ctx)
{
	struct session *s = ctx;

	(void)conn;
	s->res->ndrain++;
}

static void
sess_on_timeout(struct conn *conn, void *ctx)
{
	struct session *s = ctx;

	s->res->ntimeout++;
	conn_write(conn, "421 idle\r\n", 10);
}

static void
sess_on_tls(struct conn *conn, void *ctx)
{
	struct session *s = ctx;

	s->res->ntls++;
	TEST_ASSERT(conn_is_tls(conn));
	TEST_ASSERT(conn_tls_description(conn) != NULL &&
	    strncmp(conn_tls_description(conn), "TLSv1.", 6) == 0);
}

static void
sess_on_close(struct conn *conn, void *ctx, enum conn_close_reason reason)
{
	struct session *s = ctx;

	(void)conn;
	s->res->closed++;
	s->res->reason = reason;
	free(s->scratch);
	free(s);
}

static const struct conn_callbacks sess_cb = {
	.on_input = sess_on_input,
	.on_drain = sess_on_drain,
	.on_timeout = sess_on_timeout,
	.on_tls = sess_on_tls,
	.on_close = sess_on_close,
};

static struct conn *
sess_start(struct event_base *base, int fd, SSL_CTX *tls,
    const struct conn_limits *limits, enum mode mode, size_t max,
    struct result *res)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->res = res;
	s->mode = mode;
	s->max = max;
	s->conn = conn_new(base, fd, tls, limits, &sess_cb, s);
	return s->conn;
}

static void
result_init(struct result *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->lines, 0);
}

static const char *
result_lines(struct result *res)
{
	return res->lines.data != NULL ? res->lines.data : "";
}

static void
pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1)
		abort();
}

static void
send_all(int fd, const char *data, size_t len)
{
	TEST_EQ_INT(fsutil_write_all(fd, data, len), 0);
}

static void
send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Reads what the peer end has now (non-blocking). Returns bytes read;
   sets *eof_r on EOF. */
static size_t
read_avail(int fd, struct buf *into, bool *eof_r)
{
	char tmp[65536];
	size_t total = 0;

	for (;;) {
		ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);

		if (n > 0) {
			if (into != NULL)
				buf_append(into, tmp, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n == 0 && eof_r != NULL)
			*eof_r = true;
		break;
	}
	return total;
}

/* A socketpair with a session on fds[0]; fds[1] is the peer's end. */
static struct conn *
sess_pair(struct event_base *base, int fds[2], SSL_CTX *tls,
    const struct conn_limits *limits, enum mode mode, size_t max,
    struct result *res)
{
	result_init(res);
	pair(fds);
	return sess_start(base, fds[0], tls, limits, mode, max, res);
}

/* The peer end read to EOF holds exactly want; then it is closed. */
static void
expect_peer_at(const char *file, int line, int fd, const char *want)
{
	struct buf got;
	bool eof = false;

	buf_init(&got, 0);
	read_avail(fd, &got, &eof);
	if (got.len != strlen(want) ||
	    (got.len > 0 && memcmp(got.data, want, got.len) != 0))
		test_fail(file, line, "peer got \"%.*s\", want \"%s\"",
		    (int)got.len, got.data != NULL ? got.data : "", want);
	if (!eof)
		test_fail(file, line, "peer saw no EOF");
	close(fd);
	buf_clear(&got);
}

#define EXPECT_PEER(fd, want) expect_peer_at(__FILE__, __LINE__, (fd), (want))

/* ---- line framing ------------------------------------------------- */

static void
test_lines_byte_at_a_time(void)
{
	static const char input[] = "HELO a\r\nbare\nx\r\nn\0l\r\n\r\n";
	struct event_base *base = event_base_new();
	struct result res;
	int fds[2];

	sess_pair(base, fds, NULL, NULL, MODE_LINES, 512, &res);
	for (size_t i = 0; i < sizeof(input) - 1; i++) {
		send_all(fds[1], &input[i], 1);
		pump_once(base);
		pump_once(base);
		if (i == 6) {
			/* "HELO a\r" is not a line yet. */
			TEST_EQ_INT(res.nlines, 0);
		}
		if (i == 7)
			TEST_EQ_INT(res.nlines, 1);
	}
	TEST_EQ_INT(res.nlines, 5);
	TEST_EQ_INT(res.lines.len, sizeof("HELO a|bare(LF)|x|n\0l||") - 1);
	TEST_ASSERT(memcmp(res.lines.data, "HELO a|bare(LF)|x|n\0l||",
	    res.lines.len) == 0);
	close(fds[1]);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_EOF);
	buf_clear(&res.lines);
	event_base_free(base);
}

/* The same input whole or split must give the same answers. */
static void
run_too_long(const char *input, size_t len, bool bytewise, size_t max,
    const char *want)
{
	struct event_base *base = event_base_new();
	struct result res;
	int fds[2];

	sess_pair(base, fds, NULL, NULL, MODE_LINES, max, &res);
	if (bytewise) {
		for (size_t i = 0; i < len; i++) {
			send_all(fds[1], &input[i], 1);
			pump_once(base);
		}
	} else {
		send_all(fds[1], input, len);
	}
	pump_for(base, 30);
	TEST_EQ_STR(result_lines(&res), want);
	close(fds[1]);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	buf_clear(&res.lines);
	event_base_free(base);
}

static void
test_line_too_long(void)
{
	static const struct {
		const char *in;
		size_t max;
		const char *want;
	} cases[] = {
		/* max counts CRLF: 8 + 2 fits 10, 9 + 2 does not */
		{ "12345678\r\nok\r\n", 10, "12345678|ok|" },
		{ "123456789\r\nok\r\n", 10, "TOOLONG|ok|" },
		{ "1234567890\nok\n", 10, "TOOLONG|ok(LF)|" },
		{ "123456789\nok\n", 10, "123456789(LF)|ok(LF)|" },
		/* a flood without LF is skipped up to the next LF */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nnext\r\n", 10,
		  "TOOLONG|next|" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_too_long(cases[i].in, strlen(cases[i].in), false,
		    cases[i].max, cases[i].want);
		run_too_long(cases[i].in, strlen(cases[i].in), true,
		    cases[i].max, cases[i].want);
	}
}

/* in_max below the caller's max: a full buffer without LF is -1. */
static void
test_in_max(void)
{
	struct event_base *base = event_base_new();
	struct conn_limits limits = { .in_max = 32 };
	struct result res;
	char junk[100];
	int fds[2];

	memset(junk, 'j', sizeof(junk));
	sess_pair(base, fds, NULL, &limits, MODE_LINES, 1000, &res);
	send_all(fds[1], junk, sizeof(junk));
	send_str(fds[1], "\r\nafter\r\n");
	pump_for(base, 50);
	TEST_EQ_STR(result_lines(&res), "TOOLONG|after|");
	close(fds[1]);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	buf_clear(&res.lines);
	event_base_free(base);
}

/* ---- backpressure ------------------------------------------------- */

static void
test_backpressure(void)
{
	enum { NLINES = 200 };
	struct event_base *base = event_base_new();
	struct conn_limits limits = { .out_high = 64 * 1024,
	    .out_low = 16 * 1024 };
	struct result res;
	struct buf cmds, got;
	struct conn *conn;
	unsigned stalled;
	bool eof = false;
	int fds[2];

	buf_init(&cmds, 0);
	buf_init(&got, 0);
	conn = sess_pair(base, fds, NULL, &limits, MODE_BIG, 512, &res);
	for (int i = 0; i < NLINES; i++)
		buf_append_str(&cmds, "x\r\n");
	send_all(fds[1], cmds.data, cmds.len);

	/* The peer reads nothing: replies stop once the socket and
	   out_high are full, though every command is already buffered. */
	pump_for(base, 100);
	stalled = res.nlines;
	TEST_ASSERT(stalled > 0);
	TEST_ASSERT(stalled < NLINES);
	/* Hysteresis: still held above out_low. */
	TEST_ASSERT(conn_output_pending(conn) >= limits.out_low);
	pump_for(base, 100);
	TEST_EQ_INT(res.nlines, stalled);

	/* Reading resumes the session. */
	long end = now_ms() + 10000;

	while (got.len < (size_t)NLINES * BIG_REPLY && now_ms() < end) {
		read_avail(fds[1], &got, &eof);
		pump_once(base);
	}
	TEST_EQ_INT(res.nlines, NLINES);
	TEST_EQ_INT(got.len, (size_t)NLINES * BIG_REPLY);
	TEST_ASSERT(res.ndrain > 0);
	TEST_ASSERT(!eof);
	close(fds[1]);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_EOF);
	buf_clear(&cmds);
	buf_clear(&got);
	buf_clear(&res.lines);
	event_base_free(base);
}

/* A peer that pipelines without end and never reads: the output buffer
   stays within out_high plus one reply although every command it sent is
   answered from already buffered input, and the input within in_max. */
static void
test_backpressure_memory(void)
{
	struct event_base *base = event_base_new();
	struct conn_limits limits = { .in_max = 8 * 1024,
	    .out_high = 32 * 1024, .out_low = 8 * 1024 };
	static const char cmd[] = "NOOP\r\n";
	char chunk[64 * 1024];
	size_t sent = 0, off = 0;
	struct result res;
	int fds[2], sndbuf = 4096;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = cmd[i % (sizeof(cmd) - 1)];
	sess_pair(base, fds, NULL, &limits, MODE_ECHO, 512, &res);
	/* Small kernel buffers, so that conn's own buffers take the load. */
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	long end = now_ms() + 300;

	while (now_ms() < end) {
		ssize_t n = send(fds[1], chunk + off, sizeof(chunk) - off,
		    MSG_DONTWAIT);

		if (n > 0) {
			sent += (size_t)n;
			off = (off + (size_t)n) % (sizeof(cmd) - 1);
		}
		pump_once(base);
	}
	/* Well past what fits: the session answered what it could, then
	   conn_read_line held the rest back. */
	TEST_ASSERT(sent > 2 * limits.out_high);
	TEST_ASSERT(res.nlines > 0);
	TEST_ASSERT(res.max_out <= limits.out_high + sizeof("echo: NOOP\r\n"));
	TEST_ASSERT(res.max_out > limits.out_low);
	close(fds[1]);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	buf_clear(&res.lines);
	event_base_free(base);
}

/* ---- timeouts and closing ----------------------------------------- */

static void
test_idle_timeout(void)
{
	struct event_base *base = event_base_new();
	struct conn_limits limits = { .idle_timeout_ms = 60 };
	struct result res;
	long start = now_ms();
	int fds[2];

	sess_pair(base, fds, NULL, &limits, MODE_LINES, 512, &res);
	/* Input restarts the timer. */
	pump_for(base, 40);
	send_str(fds[1], "a\r\n");
	pump_for(base, 40);
	TEST_EQ_INT(res.closed, 0);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	/* libevent times with CLOCK_MONOTONIC_COARSE: a few ms slack. */
	TEST_ASSERT(now_ms() - start >= 90);
	TEST_EQ_INT(res.ntimeout, 1);
	TEST_EQ_INT(res.reason, CONN_CLOSE_TIMEOUT);
	EXPECT_PEER(fds[1], "421 idle\r\n");
	buf_clear(&res.lines);
	event_base_free(base);
}

/* Slowloris: a byte now and then, never a line end, is not activity; the
   idle timeout cuts the peer. A steady stream without line ends (BDAT,
   a long line being refused) and whole lines still are. */
static void
test_idle_slowloris(void)
{
	struct event_base *base = event_base_new();
	struct conn_limits limits = { .idle_timeout_ms = 150 };
	char chunk[600];
	struct result res;
	long start;
	int fds[2];

	/* One byte every 30 ms: cut after the idle timeout. */
	sess_pair(base, fds, NULL, &limits, MODE_LINES, 100000, &res);
	start = now_ms();
	while (!res.closed && now_ms() - start < 1500) {
		(void)send(fds[1], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		pump_for(base, 30);
	}
	TEST_EQ_INT(res.closed, 1);
	TEST_ASSERT(now_ms() - start < 600);
	TEST_EQ_INT(res.ntimeout, 1);
	TEST_EQ_INT(res.reason, CONN_CLOSE_TIMEOUT);
	TEST_EQ_INT(res.nlines, 0);
	close(fds[1]);
	/* (Before the fix it lived on: let it go before res is reused.) */
	pump_until_closed(base, &res, 2000);
	buf_clear(&res.lines);

	/* 600 bytes every 50 ms (no line end) and a line every 50 ms both
	   keep it open well past the timeout. */
	memset(chunk, 'y', sizeof(chunk));
	for (int pass = 0; pass < 2; pass++) {
		sess_pair(base, fds, NULL, &limits, MODE_LINES, 100000, &res);
		start = now_ms();
		while (now_ms() - start < 500) {
			if (pass == 0)
				send_all(fds[1], chunk, sizeof(chunk));
			else
				send_str(fds[1], "a\r\n");
			pump_for(base, 50);
		}
		TEST_EQ_INT(res.closed, 0);
		TEST_ASSERT(pump_until_closed(base, &res, 2000));
		TEST_EQ_INT(res.reason, CONN_CLOSE_TIMEOUT);
		close(fds[1]);
		buf_clear(&res.lines);
	}
	event_base_free(base);
}

static void
test_close_in_callback(void)
{
	static const struct {
		enum mode mode;
		const char *send, *lines, *peer;
	} cases[] = {
		/* Input after the close is ignored. */
		{ MODE_CLOSE, "QUIT\r\nNOOP\r\nNOOP\r\n", "QUIT|", "bye\r\n" },
		/* conn_abort: at once, no output. */
		{ MODE_ABORT, "x\r\ny\r\n", "x|", "" },
	};
	struct event_base *base = event_base_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result res;
		int fds[2];

		sess_pair(base, fds, NULL, NULL, cases[i].mode, 512, &res);
		send_str(fds[1], cases[i].send);
		TEST_ASSERT(pump_until_closed(base, &res, 2000));
		TEST_ASSERT(res.after_close_ok);
		TEST_EQ_STR(result_lines(&res), cases[i].lines);
		TEST_EQ_INT(res.reason, CONN_CLOSE_LOCAL);
		EXPECT_PEER(fds[1], cases[i].peer);
		buf_clear(&res.lines);
	}
	event_base_free(base);
}

/* conn_close from outside any callback (a worker completion, say):
   on_close comes later from the loop, never inside conn_close. */
static void
test_close_outside_callback(void)
{
	struct event_base *base = event_base_new();
	struct result res;
	struct conn *conn;
	int fds[2];

	conn = sess_pair(base, fds, NULL, NULL, MODE_LINES, 512, &res);
	conn_printf(conn, "%s %d\r\n", "221", 2);
	conn_close(conn);
	TEST_EQ_INT(res.closed, 0);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_LOCAL);
	EXPECT_PEER(fds[1], "221 2\r\n");

	buf_clear(&res.lines);
	conn = sess_pair(base, fds, NULL, NULL, MODE_LINES, 512, &res);
	conn_abort(conn);
	TEST_EQ_INT(res.closed, 0);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_LOCAL);
	close(fds[1]);
	buf_clear(&res.lines);
	event_base_free(base);
}

/* A client that half-closes after its command while the session waits
   (input paused) still gets the reply, then the close. */
static void
test_pause_and_half_close(void)
{
	struct event_base *base = event_base_new();
	struct result res;
	struct conn *conn;
	int fds[2];

	conn = sess_pair(base, fds, NULL, NULL, MODE_PAUSE, 512, &res);
	send_str(fds[1], "a\r\nb\r\n");
	shutdown(fds[1], SHUT_WR);
	pump_for(base, 50);
	TEST_EQ_STR(result_lines(&res), "a|");
	TEST_EQ_INT(res.closed, 0);

	conn_write(conn, "reply a\r\n", 9);
	conn_resume_input(conn);
	pump_for(base, 30);
	TEST_EQ_STR(result_lines(&res), "a|b|");
	TEST_EQ_INT(res.closed, 0);

	conn_write(conn, "reply b\r\n", 9);
	conn_resume_input(conn);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_EOF);
	EXPECT_PEER(fds[1], "reply a\r\nreply b\r\n");
	buf_clear(&res.lines);
	event_base_free(base);
}

static void
test_abort_all(void)
{
	struct event_base *base = event_base_new();
	struct event_base *other = event_base_new();
	struct result r1, r2, r3;
	int a[2], b[2], c[2];

	sess_pair(base, a, NULL, NULL, MODE_LINES, 512, &r1);
	sess_pair(base, b, NULL, NULL, MODE_LINES, 512, &r2);
	sess_pair(other, c, NULL, NULL, MODE_LINES, 512, &r3);
	conn_abort_all(base);
	pump_for(base, 20);
	pump_for(other, 20);
	TEST_EQ_INT(r1.closed, 1);
	TEST_EQ_INT(r2.closed, 1);
	TEST_EQ_INT(r3.closed, 0);
	close(c[1]);
	TEST_ASSERT(pump_until_closed(other, &r3, 2000));
	close(a[1]);
	close(b[1]);
	event_base_free(base);
	event_base_free(other);
}

/* ---- addresses and ids -------------------------------------------- */

/* A numeric IPv4 or IPv6 address and a port (network order) into *ss;
   returns the length to bind or connect with. */
static socklen_t
sockaddr_fill(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':') == NULL) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = port;
		inet_pton(AF_INET, addr, &sin->sin_addr);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (void *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = port;
	inet_pton(AF_INET6, addr, &sin6->sin6_addr);
	return sizeof(*sin6);
}

/* A connected TCP pair: a listener on listen_addr (any port), a client
   from connect_addr's family to it. */
static int
tcp_pair(const char *listen_addr, const char *connect_addr, int *server_r,
    int *client_r)
{
	struct sockaddr_storage ss, to;
	socklen_t len = sockaddr_fill(&ss, listen_addr, 0), tolen;
	int lfd, cfd, sfd;

	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(lfd, 4) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len) == -1) {
		if (lfd != -1)
			close(lfd);
		return -1;
	}
	tolen = sockaddr_fill(&to, connect_addr, ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	cfd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd == -1 || connect(cfd, (struct sockaddr *)&to, tolen) == -1) {
		close(lfd);
		if (cfd != -1)
			close(cfd);
		return -1;
	}
	sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (sfd == -1) {
		close(cfd);
		return -1;
	}
	*server_r = sfd;
	*client_r = cfd;
	return 0;
}

static void
test_addresses(void)
{
	struct event_base *base = event_base_new();
	struct result res;
	struct conn *c1, *c2;
	int s, c, s2, c2fd;

	result_init(&res);
	TEST_EQ_INT(tcp_pair("127.0.0.1", "127.0.0.1", &s, &c), 0);
	c1 = sess_start(base, s, NULL, NULL, MODE_LINES, 512, &res);
	TEST_EQ_STR(conn_peer_addr(c1), "127.0.0.1");
	TEST_EQ_STR(conn_local_addr(c1), "127.0.0.1");
	TEST_ASSERT(conn_peer_port(c1) != 0);
	TEST_ASSERT(conn_local_port(c1) != 0);
	TEST_ASSERT(conn_peer_is_loopback(c1));
	TEST_EQ_INT(strlen(conn_id(c1)), 8);
	TEST_ASSERT(strspn(conn_id(c1), "0123456789abcdef") == 8);
	TEST_ASSERT(conn_event_base(c1) == base);
	TEST_ASSERT(!conn_is_tls(c1));
	TEST_ASSERT(conn_tls_description(c1) == NULL);

	/* IPv4 through a dual-stack IPv6 socket: shown as IPv4. */
	struct result res2;

	result_init(&res2);
	if (tcp_pair("::", "127.0.0.1", &s2, &c2fd) == 0) {
		c2 = sess_start(base, s2, NULL, NULL, MODE_LINES, 512, &res2);
		TEST_EQ_STR(conn_peer_addr(c2), "127.0.0.1");
		TEST_ASSERT(conn_peer_is_loopback(c2));
		TEST_ASSERT(strcmp(conn_id(c1), conn_id(c2)) != 0);
		close(c2fd);
		TEST_ASSERT(pump_until_closed(base, &res2, 2000));
	}
	result_init(&res2);
	if (tcp_pair("::1", "::1", &s2, &c2fd) == 0) {
		c2 = sess_start(base, s2, NULL, NULL, MODE_LINES, 512, &res2);
		TEST_EQ_STR(conn_peer_addr(c2), "::1");
		TEST_ASSERT(conn_peer_is_loopback(c2));
		close(c2fd);
		TEST_ASSERT(pump_until_closed(base, &res2, 2000));
	}
	close(c);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	event_base_free(base);
}

/* ---- TLS ---------------------------------------------------------- */

struct client {
	int fd;
	const char *first;	/* plaintext sent in one write first */
	bool starttls;		/* then read "220 go" and handshake */
	bool unclean;		/* close without close_notify */
	const char *payload;	/* sent under TLS; default two lines */
	size_t expect;		/* bytes to read back; default two lines */
	struct buf got;		/* what it read under TLS */
	bool handshake_ok;
	atomic_bool done;
};

static void
client_timeout(int fd)
{
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Reads a plaintext line byte by byte, so that no TLS byte is eaten. */
static void
client_read_plain_line(int fd, struct buf *into)
{
	char c;

	while (read(fd, &c, 1) == 1) {
		buf_append(into, &c, 1);
		if (c == '\n')
			break;
	}
}

static void
ssl_read_lines(SSL *ssl, struct buf *into, unsigned nlines)
{
	char tmp[1024];
	unsigned seen = 0;

	while (seen < nlines) {
		int n = SSL_read(ssl, tmp, sizeof(tmp));

		if (n <= 0)
			break;
		buf_append(into, tmp, (size_t)n);
		for (int i = 0; i < n; i++)
			seen += tmp[i] == '\n';
	}
}

static void *
client_main(void *arg)
{
	struct client *cl = arg;
	SSL *ssl = NULL;

	client_timeout(cl->fd);
	if (cl->first != NULL)
		send_all(cl->fd, cl->first, strlen(cl->first));
	if (cl->starttls)
		client_read_plain_line(cl->fd, &cl->got);
	ssl = SSL_new(client_ctx);
	SSL_set_fd(ssl, cl->fd);
	if (SSL_connect(ssl) == 1) {
		cl->handshake_ok = true;
		if (!cl->starttls)
			ssl_read_lines(ssl, &cl->got, 1);	/* greeting */
		if (cl->payload != NULL) {
			char tmp[16384];
			size_t want = cl->got.len + cl->expect;

			SSL_write(ssl, cl->payload, (int)strlen(cl->payload));
			while (cl->got.len < want) {
				int n = SSL_read(ssl, tmp, sizeof(tmp));

				if (n <= 0)
					break;
				buf_append(&cl->got, tmp, (size_t)n);
			}
		} else {
			SSL_write(ssl, "AFTER\r\nMORE\r\n", 13);
			ssl_read_lines(ssl, &cl->got, 2);
		}
		if (!cl->unclean)
			SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(cl->fd);
	atomic_store(&cl->done, true);
	return NULL;
}

/* Runs cl on a thread of its own against the session until both are
   done, for at most ms. */
static void
client_run(struct event_base *base, struct client *cl, struct result *res,
    long ms)
{
	long end = now_ms() + ms;
	pthread_t tid;

	pthread_create(&tid, NULL, client_main, cl);
	while ((!atomic_load(&cl->done) || !res->closed) && now_ms() < end)
		pump_once(base);
	pthread_join(tid, NULL);
}

/* client_run for the default payload: one handshake, then the lines the
   session recorded and what the client read; the client left (with or
   without close_notify), which is EOF. Clears both buffers. */
static void
client_run_echo(struct event_base *base, struct client *cl,
    struct result *res, const char *lines, const char *got)
{
	client_run(base, cl, res, 10000);
	TEST_ASSERT(cl->handshake_ok);
	TEST_EQ_INT(res->ntls, 1);
	TEST_EQ_STR(result_lines(res), lines);
	TEST_EQ_STR(cl->got.data, got);
	TEST_EQ_INT(res->reason, CONN_CLOSE_EOF);
	buf_clear(&cl->got);
	buf_clear(&res->lines);
}

static void
test_starttls_injection(void)
{
	struct event_base *base = event_base_new();
	struct client cl = {
		.first = "STARTTLS\r\nINJECTED\r\n",
		.starttls = true,
	};
	struct result res;
	int fds[2];

	buf_init(&cl.got, 0);
	sess_pair(base, fds, NULL, NULL, MODE_STARTTLS, 512, &res);
	cl.fd = fds[1];
	/* INJECTED arrived with STARTTLS, in the same read: dropped. */
	client_run_echo(base, &cl, &res, "STARTTLS|AFTER|MORE|",
	    "220 go\r\necho: AFTER\r\necho: MORE\r\n");
	event_base_free(base);
}

/* Plaintext after the 220 (a man in the middle speaking for the client)
   is taken as a TLS record: the handshake fails, the session never sees
   it. */
static void
test_starttls_plaintext_after(void)
{
	struct event_base *base = event_base_new();
	struct result res;
	struct buf got;
	int fds[2];

	buf_init(&got, 0);
	sess_pair(base, fds, NULL, NULL, MODE_STARTTLS, 512, &res);
	for (const char *p = "NOOP\r\nSTARTTLS\r\n"; *p != '\0'; p++) {
		send_all(fds[1], p, 1);
		pump_once(base);
	}
	long end = now_ms() + 2000;

	while (strstr(got.data != NULL ? got.data : "", "220 go\r\n") == NULL &&
	    now_ms() < end) {
		pump_once(base);
		read_avail(fds[1], &got, NULL);
	}
	TEST_EQ_STR(got.data, "echo: NOOP\r\n220 go\r\n");
	static const char injected[] = "INJECTED\r\nMAIL FROM:<x@y>\r\n";

	send_all(fds[1], injected, sizeof(injected) - 1);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_STR(result_lines(&res), "NOOP|STARTTLS|");
	TEST_EQ_INT(res.ntls, 0);
	TEST_EQ_INT(res.reason, CONN_CLOSE_ERROR);
	close(fds[1]);
	buf_clear(&got);
	buf_clear(&res.lines);
	event_base_free(base);
}

static void
run_implicit_tls(bool unclean)
{
	struct event_base *base = event_base_new();
	struct client cl = { .unclean = unclean };
	struct result res;
	struct conn *conn;
	int fds[2];

	buf_init(&cl.got, 0);
	conn = sess_pair(base, fds, server_ctx, NULL, MODE_ECHO, 512, &res);
	cl.fd = fds[1];
	TEST_ASSERT(conn_is_tls(conn));
	/* Written before the handshake: sent after it, encrypted. */
	conn_write(conn, "220 hello\r\n", 11);
	client_run_echo(base, &cl, &res, "AFTER|MORE|",
	    "220 hello\r\necho: AFTER\r\necho: MORE\r\n");
	event_base_free(base);
}

static void
test_implicit_tls_echo(void)
{
	run_implicit_tls(false);
	run_implicit_tls(true);
}

/* Records larger than in_max: OpenSSL keeps the rest of a decrypted
   record, which the socket will not signal; replies larger than the
   socket buffer: SSL_write's partial writes and WANT_WRITE. */
static void
test_tls_bulk(void)
{
	enum { NLINES = 300, NBIG = 40 };
	struct event_base *base = event_base_new();
	struct conn_limits limits = { .in_max = 64, .out_high = 64 * 1024,
	    .out_low = 16 * 1024 };
	struct client cl = { 0 };
	struct result res;
	struct buf payload, want;
	struct conn *conn;
	int fds[2];

	buf_init(&payload, 0);
	buf_init(&want, 0);
	for (int i = 0; i < NLINES; i++) {
		buf_printf(&payload, "line %d\r\n", i);
		buf_printf(&want, "echo: line %d\r\n", i);
	}
	for (int pass = 0; pass < 2; pass++) {
		bool big = pass == 1;

		memset(&cl, 0, sizeof(cl));
		buf_init(&cl.got, 0);
		cl.payload = big ? "a\r\nb\r\nc\r\nd\r\ne\r\nf\r\ng\r\nh\r\n"
		    "i\r\nj\r\nk\r\nl\r\nm\r\nn\r\no\r\np\r\nq\r\nr\r\n"
		    "s\r\nt\r\nu\r\nv\r\nw\r\nx\r\ny\r\nz\r\n0\r\n1\r\n"
		    "2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n8\r\n9\r\nA\r\nB\r\n"
		    "C\r\nD\r\n" : payload.data;
		cl.expect = big ? (size_t)NBIG * BIG_REPLY : want.len;
		conn = sess_pair(base, fds, server_ctx, &limits,
		    big ? MODE_BIG : MODE_ECHO, 64, &res);
		cl.fd = fds[1];
		conn_write(conn, "220 hi\r\n", 8);
		client_run(base, &cl, &res, 20000);
		TEST_ASSERT(cl.handshake_ok);
		if (big) {
			TEST_EQ_INT(res.nlines, NBIG);
			TEST_EQ_INT(cl.got.len, 8 + (size_t)NBIG * BIG_REPLY);
		} else {
			TEST_EQ_INT(res.nlines, NLINES);
			TEST_ASSERT(cl.got.len > 8);
			TEST_EQ_STR(cl.got.data + 8, want.data);
		}
		TEST_EQ_INT(res.reason, CONN_CLOSE_EOF);
		buf_clear(&cl.got);
		buf_clear(&res.lines);
	}
	buf_clear(&payload);
	buf_clear(&want);
	event_base_free(base);
}

static void
test_tls_failures(void)
{
	struct event_base *base = event_base_new();
	struct conn_limits limits = { .handshake_timeout_ms = 50 };
	struct result res;
	int fds[2];

	/* Silence: the handshake timeout. */
	sess_pair(base, fds, server_ctx, &limits, MODE_ECHO, 512, &res);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_TIMEOUT);
	TEST_EQ_INT(res.ninput, 0);
	close(fds[1]);

	/* Plaintext on a TLS port: an error, and no input delivered. */
	sess_pair(base, fds, server_ctx, &limits, MODE_ECHO, 512, &res);
	send_str(fds[1], "EHLO plain.example\r\n");
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_ERROR);
	TEST_EQ_INT(res.ninput, 0);
	close(fds[1]);

	/* Connect and leave: EOF. */
	sess_pair(base, fds, server_ctx, &limits, MODE_ECHO, 512, &res);
	close(fds[1]);
	TEST_ASSERT(pump_until_closed(base, &res, 2000));
	TEST_EQ_INT(res.reason, CONN_CLOSE_EOF);
	event_base_free(base);
}

static void
tls_setup(void)
{
	char *cert, *key, *error = NULL;

	tmpdir = test_tmpdir();
	cert = xasprintf("%s/cert.pem", tmpdir);
	key = xasprintf("%s/key.pem", tmpdir);
	if (tls_generate_self_signed("mail.test.example", cert, key,
	    &error) == -1 ||
	    (server_ctx = tls_server_ctx_new(cert, key, &error)) == NULL) {
		fprintf(stderr, "tls setup: %s\n", error);
		abort();
	}
	client_ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	free(cert);
	free(key);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	tls_setup();
	TEST_RUN(test_lines_byte_at_a_time);
	TEST_RUN(test_line_too_long);
	TEST_RUN(test_in_max);
	TEST_RUN(test_backpressure);
	TEST_RUN(test_backpressure_memory);
	TEST_RUN(test_idle_timeout);
	TEST_RUN(test_idle_slowloris);
	TEST_RUN(test_close_in_callback);
	TEST_RUN(test_close_outside_callback);
	TEST_RUN(test_pause_and_half_close);
	TEST_RUN(test_abort_all);
	TEST_RUN(test_addresses);
	TEST_RUN(test_starttls_injection);
	TEST_RUN(test_starttls_plaintext_after);
	TEST_RUN(test_implicit_tls_echo);
	TEST_RUN(test_tls_bulk);
	TEST_RUN(test_tls_failures);
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
	fsutil_remove_tree(tmpdir);
	free(tmpdir);
	return test_done();
}
