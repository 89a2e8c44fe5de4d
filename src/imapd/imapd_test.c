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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

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
	TEST_RUN(test_graceful_shutdown);
	teardown();
	return test_done();
}
