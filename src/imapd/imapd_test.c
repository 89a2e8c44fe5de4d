/* imapd_test.c — IMAP sessions end to end inside one process: the real
   conn on a loopback TCP socket, a real event_base and worker pool, a
   temporary data dir with a directory and real account stores, the
   shared service_login. The test is the client: it writes bytes (whole,
   pipelined or one at a time), runs the loop until answers arrive, and
   checks them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "imapd/imapd_private.h"
#include "imapd/imapd_testlib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/test.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"
#include "store/store.h"

#define HOST "mx.example.test"
#define WAIT_MS 15000

static struct imapd_testlib H;

static struct {
	struct config_listener plain, starttls, implicit;
	int lfd;
	struct sockaddr_in laddr;
	SSL_CTX *server_tls, *client_tls;
	int64_t carol;
	int server_sndbuf;	/* SO_SNDBUF of the server's end, 0: default */
} T;

struct client {
	int fd;
	SSL *ssl;
	struct buf in;
	bool eof;
};

/* --- harness ------------------------------------------------------------ */

static void
pump(void)
{
	event_base_loop(H.base, EVLOOP_NONBLOCK);
}

static void
client_fill(struct client *c)
{
	char tmp[65536];

	for (;;) {
		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, tmp, sizeof(tmp));

			if (r > 0) {
				TEST_ASSERT(buf_append(&c->in, tmp,
				    (size_t)r) == 0);
				continue;
			}
			int e = SSL_get_error(c->ssl, r);

			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE)
				c->eof = true;
			return;
		}
		ssize_t n = read(c->fd, tmp, sizeof(tmp));

		if (n > 0) {
			TEST_ASSERT(buf_append(&c->in, tmp, (size_t)n) == 0);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->eof = true;
		return;
	}
}

static void
step(struct client *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	pump();
	client_fill(c);
	(void)poll(&pfd, 1, 1);
	pump();
}

static void
client_connect_rcvbuf(struct client *c, const struct config_listener *l,
    SSL_CTX *tls, int rcvbuf)
{
	int sfd;

	memset(c, 0, sizeof(*c));
	buf_init(&c->in, 0);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd != -1 && rcvbuf > 0)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (c->fd == -1 || connect(c->fd, (struct sockaddr *)&T.laddr,
	    sizeof(T.laddr)) == -1)
		panic("client_connect: %s", strerror(errno));
	sfd = accept(T.lfd, NULL, NULL);
	if (sfd == -1)
		panic("client_connect: accept: %s", strerror(errno));
	if (T.server_sndbuf > 0)
		(void)setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &T.server_sndbuf,
		    sizeof(T.server_sndbuf));
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) == -1)
		panic("client_connect: fcntl");
	imapd_testlib_start(&H, sfd, l, tls);
}

static void
client_free(struct client *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->ssl = NULL;
	buf_clear(&c->in);
}

static void
client_send(struct client *c, const void *data, size_t len)
{
	const char *p = data;
	long long deadline = imapd_testlib_now_ms() + WAIT_MS;
	size_t off = 0;

	while (off < len) {
		ssize_t n;

		if (c->ssl != NULL) {
			size_t chunk = len - off > INT_MAX ? INT_MAX :
			    len - off;
			int r = SSL_write(c->ssl, p + off, (int)chunk);

			if (r > 0) {
				n = r;
			} else {
				int e = SSL_get_error(c->ssl, r);

				if (e != SSL_ERROR_WANT_READ &&
				    e != SSL_ERROR_WANT_WRITE) {
					test_fail(__FILE__, __LINE__,
					    "SSL_write failed (%d)", e);
					return;
				}
				n = -1;
				errno = EAGAIN;
			}
		} else {
			n = send(c->fd, p + off, len - off, MSG_NOSIGNAL);
		}
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR) && imapd_testlib_now_ms() < deadline) {
			step(c);
			continue;
		}
		test_fail(__FILE__, __LINE__, "send: %s", strerror(errno));
		return;
	}
}

static void
client_send_str(struct client *c, const char *s)
{
	client_send(c, s, strlen(s));
}

/* The next line without its CRLF (heap), or NULL on EOF or timeout. */
static char *
client_line(struct client *c)
{
	long long deadline = imapd_testlib_now_ms() + WAIT_MS;

	for (;;) {
		const char *crlf = c->in.len > 0 ?
		    memmem(c->in.data, c->in.len, "\r\n", 2) : NULL;

		if (crlf != NULL) {
			size_t n = (size_t)(crlf - c->in.data);
			char *r = xstrndup(c->in.data, n);

			buf_consume(&c->in, n + 2);
			return r;
		}
		if (c->eof || imapd_testlib_now_ms() > deadline)
			return NULL;
		step(c);
	}
}

static char *
expect_at(const char *file, int line, struct client *c, const char *prefix)
{
	char *r = client_line(c);

	if (r == NULL || strncmp(r, prefix, strlen(prefix)) != 0)
		test_fail(file, line, "reply \"%s\", want \"%s...\"",
		    r != NULL ? r : "(none)", prefix);
	return r;
}

#define EXPECT(c, prefix) free(expect_at(__FILE__, __LINE__, (c), (prefix)))
#define EXPECT_GET(c, prefix) expect_at(__FILE__, __LINE__, (c), (prefix))

/* The exact line. */
static void
expect_line_at(const char *file, int line, struct client *c,
    const char *want)
{
	char *r = client_line(c);

	if (r == NULL || strcmp(r, want) != 0)
		test_fail(file, line, "reply \"%s\", want \"%s\"",
		    r != NULL ? r : "(none)", want);
	free(r);
}

#define EXPECT_LINE(c, want) expect_line_at(__FILE__, __LINE__, (c), (want))

static void
wait_eof_at(const char *file, int line, struct client *c)
{
	long long deadline = imapd_testlib_now_ms() + WAIT_MS;

	while (!c->eof && imapd_testlib_now_ms() < deadline)
		step(c);
	if (!c->eof)
		test_fail(file, line, "connection still open");
	if (c->in.len > 0)
		test_fail(file, line, "unexpected bytes before EOF: \"%.*s\"",
		    (int)(c->in.len > 200 ? 200 : c->in.len), c->in.data);
}

static void
wait_sessions_gone_at(const char *file, int line)
{
	long long deadline = imapd_testlib_now_ms() + WAIT_MS;

	while (H.ended < H.started && imapd_testlib_now_ms() < deadline) {
		pump();
		usleep(1000);
	}
	if (H.ended != H.started)
		test_fail(file, line, "%u sessions still alive",
		    H.started - H.ended);
}

#define WAIT_SESSIONS_GONE() wait_sessions_gone_at(__FILE__, __LINE__)

static void
client_closed_at(const char *file, int line, struct client *c)
{
	wait_eof_at(file, line, c);
	client_free(c);
	wait_sessions_gone_at(file, line);
}

#define CLIENT_CLOSED(c) client_closed_at(__FILE__, __LINE__, (c))

static bool
client_handshake(struct client *c)
{
	long long deadline = imapd_testlib_now_ms() + WAIT_MS;
	SSL *ssl = SSL_new(T.client_tls);

	if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1)
		panic("client_handshake: SSL_new");
	SSL_set_connect_state(ssl);
	for (;;) {
		int r = SSL_do_handshake(ssl);

		if (r == 1)
			break;
		int e = SSL_get_error(ssl, r);

		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    imapd_testlib_now_ms() > deadline) {
			test_fail(__FILE__, __LINE__, "handshake failed (%d)",
			    e);
			SSL_free(ssl);
			client_free(c);
			WAIT_SESSIONS_GONE();
			return false;
		}
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		pump();
		(void)poll(&pfd, 1, 1);
	}
	c->ssl = ssl;
	return true;
}

#define GREETING_PREFIX "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "

static void
client_plain(struct client *c)
{
	client_connect_rcvbuf(c, &T.plain, NULL, 0);
	EXPECT(c, GREETING_PREFIX);
}

static void
client_carol(struct client *c)
{
	client_plain(c);
	client_send_str(c, "l1 LOGIN carol@example.org \"carol pw\"\r\n");
	EXPECT(c, "l1 OK [CAPABILITY IMAP4rev1 ");
}

static void
client_logout(struct client *c)
{
	client_send_str(c, "z LOGOUT\r\n");
	EXPECT_LINE(c, "* BYE Logging out");
	EXPECT_LINE(c, "z OK Logout completed.");
	CLIENT_CLOSED(c);
}

static void
reset_config(void)
{
	config_limits_defaults(&H.config.limits);
	config_auth_defaults(&H.config.auth);
	H.config.auth.failure_delay = 0;
	imapd_testlib_reset_login(&H);
}

static char *
b64(const void *raw, size_t len)
{
	size_t cap = (len + 2) / 3 * 4 + 1;
	char *out = xmalloc(cap);

	base64_encode(raw, len, out, cap);
	return out;
}

static const char MSG[] = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";

/* --- tests ---------------------------------------------------------------- */

static void
test_greeting_capability(void)
{
	struct client c;
	char *line;

	client_connect_rcvbuf(&c, &T.starttls, T.server_tls, 0);
	line = EXPECT_GET(&c, GREETING_PREFIX);
	TEST_ASSERT(line != NULL && strstr(line, " STARTTLS") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "AUTH=PLAIN") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "] petrel ready.") != NULL);
	free(line);
	client_send_str(&c, "a CAPABILITY\r\n");
	line = EXPECT_GET(&c, "* CAPABILITY IMAP4rev1 IMAP4rev2 ");
	TEST_ASSERT(line != NULL && strstr(line, "LITERAL+") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "IDLE") != NULL);
	free(line);
	EXPECT_LINE(&c, "a OK Capability completed.");
	client_send_str(&c, "b NOOP\r\nc ID NIL\r\n");
	EXPECT_LINE(&c, "b OK NOOP completed.");
	EXPECT_LINE(&c, "* ID (\"name\" \"petrel\")");
	EXPECT_LINE(&c, "c OK ID completed.");
	client_logout(&c);
}

static void
test_preauth_refusals(void)
{
	struct client c;

	client_plain(&c);
	client_send_str(&c, "a SELECT INBOX\r\nb ENABLE IMAP4rev2\r\n"
	    "c FOO\r\nd UID FETCH 1 FLAGS\r\n");
	EXPECT_LINE(&c, "a BAD Not logged in.");
	EXPECT_LINE(&c, "b BAD Not logged in.");
	EXPECT_LINE(&c, "c BAD Unknown command.");
	EXPECT_LINE(&c, "d BAD Not logged in.");
	/* A literal over the pre-login limit never gets "+". */
	client_send_str(&c, "e LOGIN {9000}\r\n");
	EXPECT_LINE(&c, "e BAD Literal too large.");
	client_send_str(&c, "f LOGIN {4294967295}\r\n");
	EXPECT(&c, "f BAD ");
	/* A small one does. */
	client_send_str(&c, "g LOGIN {17}\r\n");
	EXPECT_LINE(&c, "+ Ready for literal data");
	client_send_str(&c, "carol@example.org {8}\r\n");
	EXPECT_LINE(&c, "+ Ready for literal data");
	client_send_str(&c, "carol pw\r\n");
	EXPECT(&c, "g OK [CAPABILITY ");
	client_logout(&c);
}

static void
test_login_failures(void)
{
	struct client c;
	char *pl;
	static const char nul_pw[] = "\0carol@example.org\0carol pw\0junk";

	client_plain(&c);
	client_send_str(&c, "a LOGIN carol@example.org wrong\r\n");
	EXPECT_LINE(&c, "a NO [AUTHENTICATIONFAILED] Authentication failed.");
	/* A NUL in the password never logs in with its prefix. */
	pl = b64(nul_pw, sizeof(nul_pw) - 1);
	client_send_str(&c, "b AUTHENTICATE PLAIN ");
	client_send_str(&c, pl);
	client_send_str(&c, "\r\n");
	free(pl);
	EXPECT(&c, "b BAD ");
	client_send_str(&c, "c LOGIN carol@example.org {13+}\r\ncarol pw\1junk"
	    "\r\n");
	EXPECT(&c, "c NO ");
	client_send_str(&c, "d LOGIN nobody@example.org x\r\n");
	EXPECT_LINE(&c, "d NO [AUTHENTICATIONFAILED] Authentication failed.");
	/* The third failure closes. */
	EXPECT_LINE(&c, "* BYE Too many failed authentication attempts.");
	CLIENT_CLOSED(&c);
}

static void
test_authenticate(void)
{
	struct client c;
	static const char plain[] = "\0carol@example.org\0carol pw";
	char *pl = b64(plain, sizeof(plain) - 1), *u, *p;

	client_plain(&c);
	client_send_str(&c, "a AUTHENTICATE PLAIN\r\n");
	EXPECT_LINE(&c, "+ ");
	client_send_str(&c, "*\r\n");
	EXPECT_LINE(&c, "a BAD Authentication canceled.");
	client_send_str(&c, "b AUTHENTICATE LOGIN\r\n");
	EXPECT_LINE(&c, "+ VXNlcm5hbWU6");
	u = b64("carol@example.org", 17);
	p = b64("carol pw", 8);
	client_send_str(&c, u);
	client_send_str(&c, "\r\n");
	EXPECT_LINE(&c, "+ UGFzc3dvcmQ6");
	client_send_str(&c, p);
	client_send_str(&c, "\r\n");
	EXPECT(&c, "b OK [CAPABILITY ");
	client_logout(&c);
	/* SASL-IR. */
	client_plain(&c);
	client_send_str(&c, "a AUTHENTICATE PLAIN ");
	client_send_str(&c, pl);
	client_send_str(&c, "\r\n");
	EXPECT(&c, "a OK [CAPABILITY ");
	client_send_str(&c, "b LOGIN x y\r\n");
	EXPECT_LINE(&c, "b BAD Already logged in.");
	client_logout(&c);
	free(pl);
	free(u);
	free(p);
}

static void
test_plaintext_never(void)
{
	struct client c;
	char *line;

	H.config.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	client_connect_rcvbuf(&c, &T.plain, NULL, 0);
	line = EXPECT_GET(&c, GREETING_PREFIX);
	TEST_ASSERT(line != NULL && strstr(line, "LOGINDISABLED") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "AUTH=PLAIN") == NULL);
	free(line);
	client_send_str(&c, "a LOGIN carol@example.org \"carol pw\"\r\n");
	EXPECT(&c, "a NO [PRIVACYREQUIRED] ");
	client_logout(&c);
	reset_config();
}

static void
test_select_and_sync(void)
{
	struct client c, d;
	char *line;

	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	client_carol(&c);
	client_send_str(&c, "s SELECT INBOX\r\n");
	EXPECT(&c, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	EXPECT(&c, "* OK [PERMANENTFLAGS (");
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && strstr(line, " EXISTS") != NULL);
	free(line);
	EXPECT_LINE(&c, "* 0 RECENT");
	EXPECT(&c, "* OK [UNSEEN 1]");
	EXPECT(&c, "* OK [UIDVALIDITY ");
	EXPECT(&c, "* OK [UIDNEXT ");
	EXPECT(&c, "* OK [HIGHESTMODSEQ ");
	EXPECT(&c, "* OK [MAILBOXID (M");
	EXPECT_LINE(&c, "s OK [READ-WRITE] Select completed.");

	/* Another session's delivery is told at NOOP. */
	client_carol(&d);
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	client_send_str(&c, "n NOOP\r\n");
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && strstr(line, " EXISTS") != NULL);
	free(line);
	EXPECT_LINE(&c, "* 1 RECENT");
	EXPECT_LINE(&c, "n OK NOOP completed.");
	client_send_str(&d, "z LOGOUT\r\n");
	EXPECT_LINE(&d, "* BYE Logging out");
	EXPECT_LINE(&d, "z OK Logout completed.");
	wait_eof_at(__FILE__, __LINE__, &d);
	client_free(&d);

	/* EXAMINE of another mailbox closes the first one. */
	client_send_str(&c, "e EXAMINE Sent\r\n");
	EXPECT_LINE(&c, "* OK [CLOSED] Previous mailbox closed.");
	EXPECT(&c, "* FLAGS (");
	EXPECT_LINE(&c, "* OK [PERMANENTFLAGS ()] Read-only mailbox.");
	EXPECT_LINE(&c, "* 0 EXISTS");
	EXPECT_LINE(&c, "* 0 RECENT");
	EXPECT(&c, "* OK [UIDVALIDITY ");
	EXPECT(&c, "* OK [UIDNEXT ");
	EXPECT(&c, "* OK [HIGHESTMODSEQ ");
	EXPECT(&c, "* OK [MAILBOXID (M");
	EXPECT_LINE(&c, "e OK [READ-ONLY] Examine completed.");
	client_send_str(&c, "u UNSELECT\r\nv UNSELECT\r\nw SELECT Nope\r\n");
	EXPECT_LINE(&c, "u OK Unselect completed.");
	EXPECT_LINE(&c, "v BAD No mailbox selected.");
	EXPECT(&c, "w NO [NONEXISTENT] ");
	client_send_str(&c, "x ENABLE QRESYNC IMAP4rev2 FOO\r\n");
	EXPECT_LINE(&c, "* ENABLED QRESYNC IMAP4rev2");
	EXPECT_LINE(&c, "x OK Enabled.");
	client_send_str(&c, "y NAMESPACE\r\n");
	EXPECT_LINE(&c, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	EXPECT_LINE(&c, "y OK Namespace completed.");
	client_logout(&c);
}

static void
test_idle_wakeup(void)
{
	struct client c;
	char *line;
	long long t0;

	client_carol(&c);
	client_send_str(&c, "s SELECT INBOX\r\n");
	for (;;) {
		line = client_line(&c);
		if (line == NULL || strncmp(line, "s ", 2) == 0)
			break;
		free(line);
	}
	TEST_ASSERT(line != NULL && strncmp(line, "s OK", 4) == 0);
	free(line);
	client_send_str(&c, "i IDLE\r\n");
	EXPECT_LINE(&c, "+ idling");
	t0 = imapd_testlib_now_ms();
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && strstr(line, " EXISTS") != NULL);
	free(line);
	/* Pushed, not polled (generous for a loaded machine). */
	TEST_ASSERT(imapd_testlib_now_ms() - t0 < 2000);
	EXPECT_LINE(&c, "* 1 RECENT");
	client_send_str(&c, "DONE\r\n");
	EXPECT_LINE(&c, "i OK Idle completed.");
	client_send_str(&c, "j IDLE\r\n");
	EXPECT_LINE(&c, "+ idling");
	client_send_str(&c, "FOO\r\n");
	EXPECT_LINE(&c, "j BAD Expected DONE.");
	client_logout(&c);
}

static void
test_pipelining(void)
{
	struct client c;
	struct buf script;
	char want[32];
	unsigned n = 500;

	client_carol(&c);
	buf_init(&script, 0);
	for (unsigned i = 0; i < n; i++)
		(void)buf_printf(&script, "p%u NOOP\r\n", i);
	client_send(&c, script.data, script.len);
	buf_clear(&script);
	for (unsigned i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "p%u OK NOOP completed.", i);
		EXPECT_LINE(&c, want);
		if (test_current_failed)
			break;
	}
	client_logout(&c);
}

static void
test_byte_at_a_time(void)
{
	static const char script[] = "a LOGIN {17}\r\ncarol@example.org "
	    "\"carol pw\"\r\nb SELECT INBOX\r\nc LOGOUT\r\n";
	struct client c;
	char *line;

	client_plain(&c);
	for (size_t i = 0; i < sizeof(script) - 1; i++)
		client_send(&c, script + i, 1);
	EXPECT_LINE(&c, "+ Ready for literal data");
	EXPECT(&c, "a OK [CAPABILITY ");
	for (;;) {
		line = client_line(&c);
		if (line == NULL || strncmp(line, "b ", 2) == 0)
			break;
		free(line);
	}
	TEST_ASSERT(line != NULL && strcmp(line,
	    "b OK [READ-WRITE] Select completed.") == 0);
	free(line);
	EXPECT_LINE(&c, "* BYE Logging out");
	EXPECT_LINE(&c, "c OK Logout completed.");
	CLIENT_CLOSED(&c);
}

static void
test_starttls_injection(void)
{
	struct client c;
	char *line;

	client_connect_rcvbuf(&c, &T.starttls, T.server_tls, 0);
	EXPECT(&c, GREETING_PREFIX);
	/* "b" is plaintext sent before the handshake: never run. */
	client_send_str(&c, "a STARTTLS\r\nb LOGIN carol@example.org "
	    "\"carol pw\"\r\n");
	EXPECT_LINE(&c, "a OK Begin TLS negotiation now.");
	if (!client_handshake(&c))
		return;
	client_send_str(&c, "c CAPABILITY\r\n");
	line = EXPECT_GET(&c, "* CAPABILITY ");
	TEST_ASSERT(line != NULL && strstr(line, "STARTTLS") == NULL);
	free(line);
	EXPECT_LINE(&c, "c OK Capability completed.");
	client_send_str(&c, "d STARTTLS\r\n");
	EXPECT_LINE(&c, "d BAD TLS is already active.");
	client_logout(&c);
}

static void
test_implicit_tls(void)
{
	struct client c;

	client_connect_rcvbuf(&c, &T.implicit, T.server_tls, 0);
	if (!client_handshake(&c))
		return;
	EXPECT(&c, GREETING_PREFIX);
	client_send_str(&c, "l LOGIN carol@example.org \"carol pw\"\r\n");
	EXPECT(&c, "l OK [CAPABILITY ");
	client_logout(&c);
}

static void
test_errors_budget(void)
{
	struct client c;
	char want[32];

	H.config.limits.max_errors = 5;
	client_plain(&c);
	for (unsigned i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "e%u FOO\r\n", i);
		client_send_str(&c, want);
	}
	for (unsigned i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "e%u BAD Unknown command.", i);
		EXPECT_LINE(&c, want);
	}
	EXPECT_LINE(&c, "* BYE Too many invalid commands.");
	CLIENT_CLOSED(&c);
	reset_config();
}

static void
test_drop_during_job(void)
{
	struct client c;

	/* Gone while the login is checked, and while SELECT runs. */
	client_plain(&c);
	client_send_str(&c, "a LOGIN carol@example.org \"carol pw\"\r\n");
	client_free(&c);
	WAIT_SESSIONS_GONE();
	client_carol(&c);
	client_send_str(&c, "s SELECT INBOX\r\nt NOOP\r\n");
	client_free(&c);
	WAIT_SESSIONS_GONE();
}

static void
test_graceful_shutdown(void)
{
	struct client c;

	client_carol(&c);
	service_thread_shutdown(H.thread);
	EXPECT_LINE(&c, "* BYE Server shutting down.");
	CLIENT_CLOSED(&c);
}

/* --- hostile review (found by review and fuzz_imapd_session) ------------ */

/* Reads lines up to the tagged one, which is returned (heap). */
static char *
until_tag(struct client *c, const char *tag)
{
	size_t n = strlen(tag);

	for (;;) {
		char *line = client_line(c);

		if (line == NULL || (strncmp(line, tag, n) == 0 &&
		    line[n] == ' '))
			return line;
		free(line);
	}
}

static void
expect_tagged_at(const char *file, int line, struct client *c,
    const char *tag, const char *want)
{
	char *r = until_tag(c, tag);

	if (r == NULL || strncmp(r + strlen(tag) + 1, want,
	    strlen(want)) != 0)
		test_fail(file, line, "reply \"%s\", want \"%s %s...\"",
		    r != NULL ? r : "(none)", tag, want);
	free(r);
}

#define EXPECT_TAGGED(c, tag, want) \
	expect_tagged_at(__FILE__, __LINE__, (c), (tag), (want))

static void
test_empty_mailbox_commands(void)
{
	struct client c;

	/* The view of an empty mailbox was a NULL array: SEARCH and SORT
	   copied it with memcpy(dst, NULL, 0), which UBSan aborts on. */
	client_carol(&c);
	client_send_str(&c, "a CREATE Empty\r\nb SELECT Empty\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	EXPECT_TAGGED(&c, "b", "OK [READ-WRITE]");
	client_send_str(&c, "c SEARCH ALL\r\n");
	EXPECT_LINE(&c, "* SEARCH");
	EXPECT_LINE(&c, "c OK Search completed.");
	client_send_str(&c, "d UID SEARCH RETURN (ALL COUNT) UNSEEN\r\n");
	EXPECT_TAGGED(&c, "d", "OK");
	client_send_str(&c, "e SORT (DATE) UTF-8 ALL\r\n");
	EXPECT_TAGGED(&c, "e", "OK");
	client_send_str(&c, "f FETCH 1:* FLAGS\r\ng UID FETCH * UID\r\n");
	/* Any sequence set is invalid in an empty mailbox (Dovecot). */
	EXPECT_TAGGED(&c, "f", "BAD Invalid messageset.");
	EXPECT_TAGGED(&c, "g", "OK");
	client_send_str(&c, "h EXPUNGE\r\ni STORE 1:* +FLAGS (\\Seen)\r\n");
	EXPECT_TAGGED(&c, "h", "OK");
	EXPECT_TAGGED(&c, "i", "BAD Invalid messageset.");
	client_logout(&c);
}

static void
test_append_over_limit(void)
{
	struct client c;

	/* A message past what the parser holds at all (APPENDLIMIT plus
	   two lines) was a BAD [TOOBIG] syntax error; RFC 7889 wants the
	   same NO [TOOBIG] as for one just over the limit. */
	H.config.limits.max_message_size = 10000;
	client_carol(&c);
	client_send_str(&c, "a APPEND INBOX {10001}\r\n");
	EXPECT_LINE(&c, "a NO [TOOBIG] Message too large.");
	client_send_str(&c, "b APPEND INBOX {4294967296}\r\n");
	EXPECT_LINE(&c, "b NO [TOOBIG] Message too large.");
	client_send_str(&c, "c APPEND INBOX (\\Seen) {99999999999}\r\n");
	EXPECT_LINE(&c, "c NO [TOOBIG] Message too large.");
	/* Not an APPEND message: still a syntax error. */
	client_send_str(&c, "d CREATE {99999999999}\r\n");
	EXPECT(&c, "d BAD ");
	client_send_str(&c, "e NOOP\r\n");
	EXPECT_LINE(&c, "e OK NOOP completed.");
	client_logout(&c);
	reset_config();
}

/* n messages into mailbox of carol in one transaction, hard links of one
   file (fast enough for tens of thousands). */
static void
bulk_append(const char *mailbox, size_t n)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	char *error = NULL, *path = xasprintf("%s/bulk.eml", H.dir);
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f != NULL && fwrite(MSG, 1, sizeof(MSG) - 1, f) ==
	    sizeof(MSG) - 1 && fclose(f) == 0);
	if (store_open(H.dir, T.carol, NULL, &store, &error) != STORE_OK)
		panic("bulk_append: %s", error);
	TEST_ASSERT(store_mailbox_get(store, mailbox, &mb) == STORE_OK);
	TEST_ASSERT(store_begin(store) == STORE_OK);
	for (size_t i = 0; i < n; i++) {
		struct store_append a = { .mailbox_id = mb.id, .path = path };

		TEST_ASSERT(store_append(store, &a, NULL) == STORE_OK);
	}
	TEST_ASSERT(store_commit(store) == STORE_OK);
	store_mailbox_clear(&mb);
	store_close(&store);
	free(path);
}

/* Counts untagged lines containing what up to the tagged line of tag;
   *ms_r how long that took. Scans the buffer in place: a memmove per
   line (client_line) is quadratic over tens of thousands of lines. */
static size_t
count_until(struct client *c, const char *tag, const char *what,
    long long *ms_r)
{
	long long t0 = imapd_testlib_now_ms();
	long long deadline = t0 + 4 * WAIT_MS;
	size_t n = 0, off = 0, tl = strlen(tag), wl = strlen(what);

	for (;;) {
		const char *p = c->in.data + off;
		const char *crlf = c->in.len > off ? memmem(p, c->in.len -
		    off, "\r\n", 2) : NULL;

		if (crlf == NULL) {
			if (c->eof || imapd_testlib_now_ms() > deadline) {
				test_fail(__FILE__, __LINE__, "no tagged %s",
				    tag);
				break;
			}
			step(c);
			continue;
		}
		size_t len = (size_t)(crlf - p);

		off += len + 2;
		if (len > tl && strncmp(p, tag, tl) == 0 && p[tl] == ' ')
			break;
		n += memmem(p, len, what, wl) != NULL;
	}
	buf_consume(&c->in, off);
	if (ms_r != NULL)
		*ms_r = imapd_testlib_now_ms() - t0;
	return n;
}

static void
test_large_mailbox_sync(void)
{
	enum { N = 30000 };
	struct client c, d;
	long long ms;
	size_t n;

	/* Each sync compared every change with every change the session
	   had told itself (and applied every expunge with a memmove of the
	   whole view): "mark all as read" in a big mailbox held the I/O
	   thread for seconds to minutes. Linear now. */
	client_carol(&c);
	client_send_str(&c, "a CREATE Big\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	bulk_append("Big", N);
	client_carol(&d);
	client_send_str(&c, "b SELECT Big\r\n");
	EXPECT_TAGGED(&c, "b", "OK");
	client_send_str(&d, "b SELECT Big\r\n");
	EXPECT_TAGGED(&d, "b", "OK");
	client_send_str(&d, "c STORE 1:* +FLAGS.SILENT (\\Seen)\r\n");
	n = count_until(&d, "c", " FETCH ", &ms);
	TEST_ASSERT(n == 0);
	/* The store's own work is most of it now. */
	TEST_ASSERT(ms < 10000);
	client_send_str(&d, "d NOOP\r\n");
	n = count_until(&d, "d", " FETCH ", NULL);
	TEST_ASSERT(n == 0);	/* its own change, told (silently) */
	client_send_str(&c, "d NOOP\r\n");
	n = count_until(&c, "d", " FETCH (FLAGS (\\Seen))", &ms);
	TEST_ASSERT(n == N);
	TEST_ASSERT(ms < 10000);
	/* Two expunged by d: c is told at its NOOP, highest first, each
	   number as of its moment. */
	client_send_str(&d, "e STORE 2,4 +FLAGS.SILENT (\\Deleted)\r\n"
	    "f EXPUNGE\r\n");
	EXPECT_TAGGED(&d, "e", "OK");
	EXPECT_LINE(&d, "* 4 EXPUNGE");
	EXPECT_LINE(&d, "* 2 EXPUNGE");
	EXPECT_TAGGED(&d, "f", "OK");
	client_send_str(&c, "g FETCH 3 UID\r\n");
	EXPECT_LINE(&c, "* 3 FETCH (UID 3)");
	EXPECT_TAGGED(&c, "g", "OK");
	client_send_str(&c, "h NOOP\r\n");
	EXPECT_LINE(&c, "* 4 EXPUNGE");
	EXPECT_LINE(&c, "* 2 EXPUNGE");
	EXPECT_TAGGED(&c, "h", "OK");
	client_send_str(&c, "i FETCH 2:3 UID\r\n");
	EXPECT_LINE(&c, "* 2 FETCH (UID 3)");
	EXPECT_LINE(&c, "* 3 FETCH (UID 5)");
	EXPECT_TAGGED(&c, "i", "OK");
	/* Then all the others. */
	client_send_str(&d, "j STORE 1:* +FLAGS.SILENT (\\Deleted)\r\n"
	    "k EXPUNGE\r\n");
	EXPECT_TAGGED(&d, "j", "OK");
	n = count_until(&d, "k", " EXPUNGE", &ms);
	TEST_ASSERT(n == N - 2);
	TEST_ASSERT(ms < 10000);
	client_send_str(&c, "l NOOP\r\n");
	n = count_until(&c, "l", " EXPUNGE", &ms);
	TEST_ASSERT(n == N - 2);
	/* No store work in this one, only telling: ~0.1 s, 3.5 s with a
	   memmove of the view per expunge. */
	TEST_ASSERT(ms < 1500);
	client_send_str(&c, "m NOOP\r\n");
	EXPECT_LINE(&c, "m OK NOOP completed.");
	client_send_str(&d, "z LOGOUT\r\n");
	EXPECT_LINE(&d, "* BYE Logging out");
	EXPECT_LINE(&d, "z OK Logout completed.");
	wait_eof_at(__FILE__, __LINE__, &d);
	client_free(&d);
	client_logout(&c);
}

/* Deflates text (raw, RFC 4978) and sends it, flushed. */
static void
send_deflated(struct client *c, z_stream *z, const char *text)
{
	unsigned char out[4096];

	z->next_in = (unsigned char *)(uintptr_t)text;
	z->avail_in = (unsigned)strlen(text);
	z->next_out = out;
	z->avail_out = sizeof(out);
	TEST_ASSERT(deflate(z, Z_SYNC_FLUSH) == Z_OK && z->avail_in == 0);
	client_send(c, out, sizeof(out) - z->avail_out);
}

/* Inflates what arrives until want is in the text; returns it (heap). */
static char *
recv_inflated(struct client *c, z_stream *z, const char *want)
{
	long long deadline = imapd_testlib_now_ms() + WAIT_MS;
	struct buf text;
	unsigned char out[4096];

	buf_init(&text, 0);
	for (;;) {
		if (c->in.len > 0) {
			z->next_in = (unsigned char *)c->in.data;
			z->avail_in = (unsigned)c->in.len;
			do {
				z->next_out = out;
				z->avail_out = sizeof(out);
				(void)inflate(z, Z_SYNC_FLUSH);
				(void)buf_append(&text, out,
				    sizeof(out) - z->avail_out);
			} while (z->avail_out == 0);
			buf_consume(&c->in, c->in.len - z->avail_in);
		}
		if ((text.len > 0 && memmem(text.data, text.len, want,
		    strlen(want)) != NULL) || c->eof ||
		    imapd_testlib_now_ms() > deadline)
			break;
		step(c);
	}
	(void)buf_append(&text, "", 1);
	return buf_steal(&text);
}

static void
test_compress_with_pending_change(void)
{
	struct client c;
	z_stream zin, zout;
	char *text;

	/* A change of the selected mailbox was pending (another session's
	   delivery): COMPRESS's OK waited for the sync job, the switch to
	   DEFLATE came first, and the OK went out compressed. */
	client_carol(&c);
	client_send_str(&c, "a SELECT INBOX\r\n");
	EXPECT_TAGGED(&c, "a", "OK [READ-WRITE]");
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	for (int i = 0; i < 20; i++)
		step(&c);	/* the notification runs */
	client_send_str(&c, "b COMPRESS DEFLATE\r\n");
	EXPECT_LINE(&c, "b OK DEFLATE active");
	memset(&zin, 0, sizeof(zin));
	memset(&zout, 0, sizeof(zout));
	TEST_ASSERT(inflateInit2(&zin, -15) == Z_OK);
	TEST_ASSERT(deflateInit2(&zout, 6, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY) == Z_OK);
	/* The update comes with the next command, compressed. */
	send_deflated(&c, &zout, "c NOOP\r\n");
	text = recv_inflated(&c, &zin, "c OK NOOP completed.\r\n");
	TEST_ASSERT(strstr(text, " EXISTS\r\n") != NULL);
	TEST_ASSERT(strstr(text, "c OK NOOP completed.\r\n") != NULL);
	free(text);
	send_deflated(&c, &zout, "z LOGOUT\r\n");
	text = recv_inflated(&c, &zin, "z OK Logout completed.\r\n");
	TEST_ASSERT(strstr(text, "z OK Logout completed.\r\n") != NULL);
	free(text);
	inflateEnd(&zin);
	deflateEnd(&zout);
	CLIENT_CLOSED(&c);
}

/* Sets or clears \Flagged on every message of mailbox, as another
   session would. */
static void
flag_all(const char *mailbox, bool on)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	struct store_range all = { 1, UINT32_MAX };
	char *error = NULL;

	if (store_open(H.dir, T.carol, NULL, &store, &error) != STORE_OK)
		panic("flag_all: %s", error);
	TEST_ASSERT(store_mailbox_get(store, mailbox, &mb) == STORE_OK);
	TEST_ASSERT(store_flags(store, mb.id, &all, 1, on ? STORE_FLAGS_ADD :
	    STORE_FLAGS_REMOVE, STORE_FLAG_FLAGGED, NULL, 0, NULL, NULL,
	    NULL, NULL) == STORE_OK);
	store_mailbox_clear(&mb);
	store_close(&store);
}

static void
test_idle_client_not_reading(void)
{
	enum { N = 3000, ROUNDS = 12 };
	struct client c;
	size_t n;

	/* IDLE wrote every sync whatever the client had read: one that
	   never reads, while another session toggles flags of a big
	   mailbox, grew the server's output without bound. Now a change
	   waits while output is full and is told, once, after it drains. */
	client_carol(&c);
	client_send_str(&c, "a CREATE Idle\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	client_logout(&c);
	bulk_append("Idle", N);
	T.server_sndbuf = 4096;
	client_connect_rcvbuf(&c, &T.plain, NULL, 4096);
	T.server_sndbuf = 0;
	EXPECT(&c, GREETING_PREFIX);
	client_send_str(&c, "l LOGIN carol@example.org \"carol pw\"\r\n"
	    "b SELECT Idle\r\n");
	EXPECT_TAGGED(&c, "l", "OK");
	EXPECT_TAGGED(&c, "b", "OK");
	client_send_str(&c, "c IDLE\r\n");
	EXPECT_LINE(&c, "+ idling");
	for (int i = 0; i < ROUNDS; i++) {
		flag_all("Idle", i % 2 == 0);
		/* The server's loop only: the client reads nothing. */
		for (int k = 0; k < 20; k++) {
			pump();
			usleep(1000);
		}
	}
	client_send_str(&c, "DONE\r\n");
	n = count_until(&c, "c", " FETCH (FLAGS (", NULL);
	/* Every round was ROUNDS * N lines; now the first syncs until the
	   output is full, and one more after. */
	TEST_ASSERT(n >= N);
	TEST_ASSERT(n <= (size_t)N * ROUNDS / 3);
	/* ROUNDS is even: the last round cleared \Flagged, and that is
	   what the session knows now. */
	client_send_str(&c, "d FETCH 1:* FLAGS\r\n");
	n = count_until(&c, "d", "\\Flagged", NULL);
	TEST_ASSERT(n == 0);
	client_logout(&c);
}

static void
test_store_answer_rev2_no_recent(void)
{
	struct client c;
	char *line, want[64];
	unsigned n;

	/* STORE's FETCH answers carried \Recent to IMAP4rev2 sessions,
	   which RFC 9051 removed (the sync's FETCHes already left it out). */
	client_carol(&c);
	client_send_str(&c, "a ENABLE IMAP4rev2\r\nb SELECT INBOX\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	EXPECT_TAGGED(&c, "b", "OK [READ-WRITE]");
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	client_send_str(&c, "c NOOP\r\n");
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && sscanf(line, "* %u EXISTS", &n) == 1);
	free(line);
	EXPECT_TAGGED(&c, "c", "OK");
	snprintf(want, sizeof(want), "d STORE %u FLAGS (\\Seen)\r\n", n);
	client_send_str(&c, want);
	snprintf(want, sizeof(want), "* %u FETCH (FLAGS (\\Seen))", n);
	EXPECT_LINE(&c, want);
	EXPECT_TAGGED(&c, "d", "OK");
	client_logout(&c);
}

/* Messages in carol's mailbox, read through a store handle of its own. */
static uint32_t
mailbox_messages(const char *mailbox)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	char *error = NULL;
	uint32_t n = 0;

	if (store_open(H.dir, T.carol, NULL, &store, &error) != STORE_OK)
		panic("mailbox_messages: %s", error);
	if (store_mailbox_get(store, mailbox, &mb) == STORE_OK)
		n = mb.messages;
	store_mailbox_clear(&mb);
	store_close(&store);
	return n;
}

static void
test_drop_during_everything(void)
{
	struct client c;
	uint32_t before = mailbox_messages("INBOX");
	char junk[100];

	/* An abandoned APPEND leaves nothing behind. */
	client_carol(&c);
	client_send_str(&c, "a APPEND INBOX {5000}\r\n");
	EXPECT_LINE(&c, "+ Ready for literal data");
	memset(junk, 'x', sizeof(junk));
	client_send(&c, junk, sizeof(junk));
	client_free(&c);
	WAIT_SESSIONS_GONE();
	TEST_ASSERT(mailbox_messages("INBOX") == before);
	/* Gone inside IDLE, and while a FETCH of every body streams to a
	   client that reads nothing, and with a SEARCH running. */
	client_carol(&c);
	client_send_str(&c, "b SELECT INBOX\r\nc IDLE\r\n");
	EXPECT_TAGGED(&c, "b", "OK");
	EXPECT_LINE(&c, "+ idling");
	client_free(&c);
	WAIT_SESSIONS_GONE();
	client_connect_rcvbuf(&c, &T.plain, NULL, 4096);
	EXPECT(&c, GREETING_PREFIX);
	client_send_str(&c, "l LOGIN carol@example.org \"carol pw\"\r\n"
	    "d SELECT Idle\r\ne FETCH 1:* (BODY[] ENVELOPE)\r\n");
	EXPECT_TAGGED(&c, "l", "OK");
	for (int i = 0; i < 50; i++) {
		pump();
		usleep(1000);
	}
	client_free(&c);
	WAIT_SESSIONS_GONE();
	client_carol(&c);
	client_send_str(&c, "f SELECT Idle\r\ng SEARCH TEXT nothing-like-it\r\n"
	    "h LOGOUT\r\n");
	EXPECT_TAGGED(&c, "f", "OK");
	client_free(&c);
	WAIT_SESSIONS_GONE();
}

/* Idle store handles are closed by the sweep; a session whose account
   was disabled meanwhile gets no store and a BYE at its next command
   after the directory re-check. */
static void
test_store_sweep_and_account_gone(void)
{
	struct directory_error err = { 0 };
	struct directory *dir = NULL;
	struct client c;
	char *error = NULL;
	long long until;

	client_carol(&c);
	client_send_str(&c, "s SELECT INBOX\r\n");
	EXPECT_TAGGED(&c, "s", "OK");
	client_logout(&c);
	WAIT_SESSIONS_GONE();
	TEST_ASSERT(imapd_job_pool_idle(H.jobs) > 0);
	TEST_EQ_INT(imapd_job_pool_sweep(H.jobs, 60000), 0);
	usleep(5000);
	TEST_ASSERT(imapd_job_pool_sweep(H.jobs, 1) > 0);
	TEST_EQ_INT(imapd_job_pool_idle(H.jobs), 0);

	if (directory_open(H.dir, false, &dir, &error) == -1)
		panic("directory_open: %s", error);
	TEST_EQ_INT(directory_admin_account_add(dir, "dave@example.org", NULL,
	    "{PLAIN}dave pw", 0, NULL, &err), 0);
	client_plain(&c);
	client_send_str(&c, "l LOGIN dave@example.org \"dave pw\"\r\n"
	    "s SELECT INBOX\r\n");
	EXPECT_TAGGED(&c, "l", "OK");
	EXPECT_TAGGED(&c, "s", "OK");
	TEST_EQ_INT(directory_admin_account_set_enabled(dir, "dave@example.org",
	    false, &err), 0);
	/* Within the check interval the session goes on ... */
	client_send_str(&c, "n NOOP\r\n");
	EXPECT_TAGGED(&c, "n", "OK");
	/* ... after it, the next job finds the account disabled. */
	until = imapd_testlib_now_ms() + IMAPD_ACCOUNT_CHECK_MS + 100;
	while (imapd_testlib_now_ms() < until) {
		pump();
		usleep(10000);
	}
	client_send_str(&c, "x STATUS INBOX (MESSAGES)\r\n");
	EXPECT(&c, "x NO ");
	EXPECT_LINE(&c, "* BYE Account was deleted or disabled.");
	CLIENT_CLOSED(&c);
	directory_error_clear(&err);
	directory_close(&dir);
}

/* --- setup ------------------------------------------------------------------ */

static int
fill_directory(struct directory *dir, struct directory_error *err)
{
	return directory_admin_domain_add(dir, "example.org", err) == -1 ||
	    directory_admin_account_add(dir, "carol@example.org", NULL,
	    "{PLAIN}carol pw", 0, NULL, err) == -1 ? -1 : 0;
}

static void
setup(void)
{
	char *error = NULL, *cert, *key;
	socklen_t alen = sizeof(T.laddr);
	int one = 1;

	imapd_testlib_init(&H, HOST);
	H.config.auth.failure_delay = 0;
	imapd_testlib_open(&H, test_tmpdir(), fill_directory);
	T.carol = imapd_testlib_account_id(&H, "carol@example.org");
	T.plain = (struct config_listener){ .name = "plain",
	    .address = "127.0.0.1", .port = 143,
	    .protocol = CONFIG_PROTOCOL_IMAP, .tls = CONFIG_TLS_NONE };
	T.starttls = T.plain;
	T.starttls.name = "starttls";
	T.starttls.tls = CONFIG_TLS_STARTTLS;
	T.implicit = T.plain;
	T.implicit.name = "implicit";
	T.implicit.tls = CONFIG_TLS_IMPLICIT;

	cert = xasprintf("%s/cert.pem", H.dir);
	key = xasprintf("%s/key.pem", H.dir);
	if (tls_generate_self_signed(HOST, cert, key, &error) == -1 ||
	    (T.server_tls = tls_server_ctx_new(cert, key, &error)) == NULL)
		panic("setup: tls: %s", error);
	free(cert);
	free(key);
	T.client_tls = SSL_CTX_new(TLS_client_method());
	if (T.client_tls == NULL)
		panic("setup: SSL_CTX_new");
	SSL_CTX_set_verify(T.client_tls, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(T.client_tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	T.lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&T.laddr, 0, sizeof(T.laddr));
	T.laddr.sin_family = AF_INET;
	T.laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(T.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (T.lfd == -1 || bind(T.lfd, (struct sockaddr *)&T.laddr,
	    sizeof(T.laddr)) == -1 || listen(T.lfd, 16) == -1 ||
	    getsockname(T.lfd, (struct sockaddr *)&T.laddr, &alen) == -1)
		panic("setup: listen: %s", strerror(errno));
}

static void
teardown(void)
{
	close(T.lfd);
	SSL_CTX_free(T.server_tls);
	SSL_CTX_free(T.client_tls);
	imapd_testlib_clear(&H);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("PETREL_TEST_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	setup();
	TEST_RUN(test_greeting_capability);
	TEST_RUN(test_preauth_refusals);
	TEST_RUN(test_login_failures);
	TEST_RUN(test_authenticate);
	TEST_RUN(test_plaintext_never);
	TEST_RUN(test_select_and_sync);
	TEST_RUN(test_idle_wakeup);
	TEST_RUN(test_pipelining);
	TEST_RUN(test_byte_at_a_time);
	TEST_RUN(test_starttls_injection);
	TEST_RUN(test_implicit_tls);
	TEST_RUN(test_errors_budget);
	TEST_RUN(test_drop_during_job);
	TEST_RUN(test_empty_mailbox_commands);
	TEST_RUN(test_append_over_limit);
	TEST_RUN(test_large_mailbox_sync);
	TEST_RUN(test_compress_with_pending_change);
	TEST_RUN(test_idle_client_not_reading);
	TEST_RUN(test_store_answer_rev2_no_recent);
	TEST_RUN(test_drop_during_everything);
	TEST_RUN(test_store_sweep_and_account_gone);
	TEST_RUN(test_graceful_shutdown);
	teardown();
	return test_done();
}
