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
#include "service/service_testclient.h"
#include "store/store.h"

#define HOST "mx.example.test"
#define WAIT_MS SERVICE_TESTCLIENT_WAIT_MS

static struct imapd_testlib H;
static struct service_testclient_server S;	/* listener, TLS contexts */

static struct {
	int64_t carol;
	int server_sndbuf;	/* SO_SNDBUF of the server's end, 0: default */
} T;

/* --- harness ------------------------------------------------------------ */

static void
pump(void)
{
	event_base_loop(H.base, EVLOOP_NONBLOCK);
}

static void
client_connect_rcvbuf(struct service_testclient *c,
    const struct config_listener *l, SSL_CTX *tls, int rcvbuf)
{
	int sfd = service_testclient_connect(c, &S, rcvbuf);

	if (T.server_sndbuf > 0)
		(void)setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &T.server_sndbuf,
		    sizeof(T.server_sndbuf));
	imapd_testlib_start(&H, sfd, l, tls);
}

#define WAIT_SESSIONS_GONE() \
	service_testclient_wait_gone_at(__FILE__, __LINE__, &S)

#define GREETING_PREFIX "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "

static void
client_plain(struct service_testclient *c)
{
	client_connect_rcvbuf(c, &S.plain, NULL, 0);
	EXPECT(c, GREETING_PREFIX);
}

static void
client_carol(struct service_testclient *c)
{
	client_plain(c);
	service_testclient_send_str(c,
	    "l1 LOGIN carol@example.org \"carol pw\"\r\n");
	EXPECT(c, "l1 OK [CAPABILITY IMAP4rev1 ");
}

static void
client_logout(struct service_testclient *c)
{
	service_testclient_send_str(c, "z LOGOUT\r\n");
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
	struct service_testclient c;
	char *line;

	client_connect_rcvbuf(&c, &S.starttls, S.server_tls, 0);
	line = EXPECT_GET(&c, GREETING_PREFIX);
	TEST_ASSERT(line != NULL && strstr(line, " STARTTLS") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "AUTH=PLAIN") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "] petrel ready.") != NULL);
	free(line);
	service_testclient_send_str(&c, "a CAPABILITY\r\n");
	line = EXPECT_GET(&c, "* CAPABILITY IMAP4rev1 IMAP4rev2 ");
	TEST_ASSERT(line != NULL && strstr(line, "LITERAL+") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "IDLE") != NULL);
	free(line);
	EXPECT_LINE(&c, "a OK Capability completed.");
	service_testclient_send_str(&c, "b NOOP\r\nc ID NIL\r\n");
	EXPECT_LINE(&c, "b OK NOOP completed.");
	EXPECT_LINE(&c, "* ID (\"name\" \"petrel\")");
	EXPECT_LINE(&c, "c OK ID completed.");
	client_logout(&c);
}

static void
test_preauth_refusals(void)
{
	struct service_testclient c;

	client_plain(&c);
	service_testclient_send_str(&c,
	    "a SELECT INBOX\r\nb ENABLE IMAP4rev2\r\n"
	    "c FOO\r\nd UID FETCH 1 FLAGS\r\n");
	EXPECT_LINE(&c, "a BAD Not logged in.");
	EXPECT_LINE(&c, "b BAD Not logged in.");
	EXPECT_LINE(&c, "c BAD Unknown command.");
	EXPECT_LINE(&c, "d BAD Not logged in.");
	/* A literal over the pre-login limit never gets "+". */
	service_testclient_send_str(&c, "e LOGIN {9000}\r\n");
	EXPECT_LINE(&c, "e BAD Literal too large.");
	service_testclient_send_str(&c, "f LOGIN {4294967295}\r\n");
	EXPECT(&c, "f BAD ");
	/* A small one does. */
	service_testclient_send_str(&c, "g LOGIN {17}\r\n");
	EXPECT_LINE(&c, "+ Ready for literal data");
	service_testclient_send_str(&c, "carol@example.org {8}\r\n");
	EXPECT_LINE(&c, "+ Ready for literal data");
	service_testclient_send_str(&c, "carol pw\r\n");
	EXPECT(&c, "g OK [CAPABILITY ");
	client_logout(&c);
}

static void
test_login_failures(void)
{
	struct service_testclient c;
	char *pl;
	static const char nul_pw[] = "\0carol@example.org\0carol pw\0junk";

	client_plain(&c);
	service_testclient_send_str(&c, "a LOGIN carol@example.org wrong\r\n");
	EXPECT_LINE(&c, "a NO [AUTHENTICATIONFAILED] Authentication failed.");
	/* A NUL in the password never logs in with its prefix. */
	pl = b64(nul_pw, sizeof(nul_pw) - 1);
	service_testclient_send_str(&c, "b AUTHENTICATE PLAIN ");
	service_testclient_send_str(&c, pl);
	service_testclient_send_str(&c, "\r\n");
	free(pl);
	EXPECT(&c, "b BAD ");
	service_testclient_send_str(&c,
	    "c LOGIN carol@example.org {13+}\r\ncarol pw\1junk"
	    "\r\n");
	EXPECT(&c, "c NO ");
	service_testclient_send_str(&c, "d LOGIN nobody@example.org x\r\n");
	EXPECT_LINE(&c, "d NO [AUTHENTICATIONFAILED] Authentication failed.");
	/* The third failure closes. */
	EXPECT_LINE(&c, "* BYE Too many failed authentication attempts.");
	CLIENT_CLOSED(&c);
}

static void
test_authenticate(void)
{
	struct service_testclient c;
	static const char plain[] = "\0carol@example.org\0carol pw";
	char *pl = b64(plain, sizeof(plain) - 1), *u, *p;

	client_plain(&c);
	service_testclient_send_str(&c, "a AUTHENTICATE PLAIN\r\n");
	EXPECT_LINE(&c, "+ ");
	service_testclient_send_str(&c, "*\r\n");
	EXPECT_LINE(&c, "a BAD Authentication canceled.");
	service_testclient_send_str(&c, "b AUTHENTICATE LOGIN\r\n");
	EXPECT_LINE(&c, "+ VXNlcm5hbWU6");
	u = b64("carol@example.org", 17);
	p = b64("carol pw", 8);
	service_testclient_send_str(&c, u);
	service_testclient_send_str(&c, "\r\n");
	EXPECT_LINE(&c, "+ UGFzc3dvcmQ6");
	service_testclient_send_str(&c, p);
	service_testclient_send_str(&c, "\r\n");
	EXPECT(&c, "b OK [CAPABILITY ");
	client_logout(&c);
	/* SASL-IR. */
	client_plain(&c);
	service_testclient_send_str(&c, "a AUTHENTICATE PLAIN ");
	service_testclient_send_str(&c, pl);
	service_testclient_send_str(&c, "\r\n");
	EXPECT(&c, "a OK [CAPABILITY ");
	service_testclient_send_str(&c, "b LOGIN x y\r\n");
	EXPECT_LINE(&c, "b BAD Already logged in.");
	client_logout(&c);
	free(pl);
	free(u);
	free(p);
}

static void
test_plaintext_never(void)
{
	struct service_testclient c;
	char *line;

	H.config.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	client_connect_rcvbuf(&c, &S.plain, NULL, 0);
	line = EXPECT_GET(&c, GREETING_PREFIX);
	TEST_ASSERT(line != NULL && strstr(line, "LOGINDISABLED") != NULL);
	TEST_ASSERT(line != NULL && strstr(line, "AUTH=PLAIN") == NULL);
	free(line);
	service_testclient_send_str(&c,
	    "a LOGIN carol@example.org \"carol pw\"\r\n");
	EXPECT(&c, "a NO [PRIVACYREQUIRED] ");
	client_logout(&c);
	reset_config();
}

static void
test_select_and_sync(void)
{
	struct service_testclient c, d;
	char *line;

	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	client_carol(&c);
	service_testclient_send_str(&c, "s SELECT INBOX\r\n");
	EXPECT(&c, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	EXPECT(&c, "* OK [PERMANENTFLAGS (");
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && strstr(line, " EXISTS") != NULL);
	free(line);
	/* The first SELECT since the message arrived claims it (rev1). */
	EXPECT_LINE(&c, "* 1 RECENT");
	EXPECT(&c, "* OK [UNSEEN 1]");
	EXPECT(&c, "* OK [UIDVALIDITY ");
	EXPECT(&c, "* OK [UIDNEXT ");
	EXPECT(&c, "* OK [HIGHESTMODSEQ ");
	EXPECT(&c, "* OK [MAILBOXID (M");
	EXPECT_LINE(&c, "s OK [READ-WRITE] Select completed.");

	/* Another session's delivery is told at NOOP. */
	client_carol(&d);
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	service_testclient_send_str(&c, "n NOOP\r\n");
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && strstr(line, " EXISTS") != NULL);
	free(line);
	EXPECT_LINE(&c, "* 2 RECENT");
	EXPECT_LINE(&c, "n OK NOOP completed.");
	service_testclient_send_str(&d, "z LOGOUT\r\n");
	EXPECT_LINE(&d, "* BYE Logging out");
	EXPECT_LINE(&d, "z OK Logout completed.");
	service_testclient_wait_eof_at(__FILE__, __LINE__, &d);
	service_testclient_free(&d);

	/* EXAMINE of another mailbox closes the first one. */
	service_testclient_send_str(&c, "e EXAMINE Sent\r\n");
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
	service_testclient_send_str(&c,
	    "u UNSELECT\r\nv UNSELECT\r\nw SELECT Nope\r\n");
	EXPECT_LINE(&c, "u OK Unselect completed.");
	EXPECT_LINE(&c, "v BAD No mailbox selected.");
	EXPECT(&c, "w NO [NONEXISTENT] ");
	service_testclient_send_str(&c, "x ENABLE QRESYNC IMAP4rev2 FOO\r\n");
	EXPECT_LINE(&c, "* ENABLED QRESYNC IMAP4rev2");
	EXPECT_LINE(&c, "x OK Enabled.");
	service_testclient_send_str(&c, "y NAMESPACE\r\n");
	EXPECT_LINE(&c, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	EXPECT_LINE(&c, "y OK Namespace completed.");
	client_logout(&c);
}

static void
test_idle_wakeup(void)
{
	struct service_testclient c;
	char *line;
	long long t0;

	client_carol(&c);
	service_testclient_send_str(&c, "s SELECT INBOX\r\n");
	for (;;) {
		line = service_testclient_line(&c);
		if (line == NULL || strncmp(line, "s ", 2) == 0)
			break;
		free(line);
	}
	TEST_ASSERT(line != NULL && strncmp(line, "s OK", 4) == 0);
	free(line);
	service_testclient_send_str(&c, "i IDLE\r\n");
	EXPECT_LINE(&c, "+ idling");
	t0 = service_testclient_now_ms();
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && strstr(line, " EXISTS") != NULL);
	free(line);
	/* Pushed, not polled (generous for a loaded machine). */
	TEST_ASSERT(service_testclient_now_ms() - t0 < 2000);
	EXPECT_LINE(&c, "* 1 RECENT");
	service_testclient_send_str(&c, "DONE\r\n");
	EXPECT_LINE(&c, "i OK Idle completed.");
	service_testclient_send_str(&c, "j IDLE\r\n");
	EXPECT_LINE(&c, "+ idling");
	service_testclient_send_str(&c, "FOO\r\n");
	EXPECT_LINE(&c, "j BAD Expected DONE.");
	client_logout(&c);
}

static void
test_pipelining(void)
{
	struct service_testclient c;
	struct buf script;
	char want[32];
	unsigned n = 500;

	client_carol(&c);
	buf_init(&script, 0);
	for (unsigned i = 0; i < n; i++)
		(void)buf_printf(&script, "p%u NOOP\r\n", i);
	service_testclient_send(&c, script.data, script.len);
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
	struct service_testclient c;
	char *line;

	client_plain(&c);
	for (size_t i = 0; i < sizeof(script) - 1; i++)
		service_testclient_send(&c, script + i, 1);
	EXPECT_LINE(&c, "+ Ready for literal data");
	EXPECT(&c, "a OK [CAPABILITY ");
	for (;;) {
		line = service_testclient_line(&c);
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
	struct service_testclient c;
	char *line;

	client_connect_rcvbuf(&c, &S.starttls, S.server_tls, 0);
	EXPECT(&c, GREETING_PREFIX);
	/* "b" is plaintext sent before the handshake: never run. */
	service_testclient_send_str(&c,
	    "a STARTTLS\r\nb LOGIN carol@example.org "
	    "\"carol pw\"\r\n");
	EXPECT_LINE(&c, "a OK Begin TLS negotiation now.");
	if (!service_testclient_handshake(&c))
		return;
	service_testclient_send_str(&c, "c CAPABILITY\r\n");
	line = EXPECT_GET(&c, "* CAPABILITY ");
	TEST_ASSERT(line != NULL && strstr(line, "STARTTLS") == NULL);
	free(line);
	EXPECT_LINE(&c, "c OK Capability completed.");
	service_testclient_send_str(&c, "d STARTTLS\r\n");
	EXPECT_LINE(&c, "d BAD TLS is already active.");
	client_logout(&c);
}

static void
test_implicit_tls(void)
{
	struct service_testclient c;

	client_connect_rcvbuf(&c, &S.implicit, S.server_tls, 0);
	if (!service_testclient_handshake(&c))
		return;
	EXPECT(&c, GREETING_PREFIX);
	service_testclient_send_str(&c,
	    "l LOGIN carol@example.org \"carol pw\"\r\n");
	EXPECT(&c, "l OK [CAPABILITY ");
	client_logout(&c);
}

static void
test_errors_budget(void)
{
	struct service_testclient c;
	char want[32];

	H.config.limits.max_errors = 5;
	client_plain(&c);
	for (unsigned i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "e%u FOO\r\n", i);
		service_testclient_send_str(&c, want);
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
	struct service_testclient c;

	/* Gone while the login is checked, and while SELECT runs. */
	client_plain(&c);
	service_testclient_send_str(&c,
	    "a LOGIN carol@example.org \"carol pw\"\r\n");
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	client_carol(&c);
	service_testclient_send_str(&c, "s SELECT INBOX\r\nt NOOP\r\n");
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
}

static void
test_graceful_shutdown(void)
{
	struct service_testclient c;

	client_carol(&c);
	service_thread_shutdown(H.thread);
	EXPECT_LINE(&c, "* BYE Server shutting down.");
	CLIENT_CLOSED(&c);
}

/* --- hostile review (found by review and fuzz_imapd_session) ------------ */

/* Reads lines up to the tagged one, which is returned (heap). */
static char *
until_tag(struct service_testclient *c, const char *tag)
{
	size_t n = strlen(tag);

	for (;;) {
		char *line = service_testclient_line(c);

		if (line == NULL || (strncmp(line, tag, n) == 0 &&
		    line[n] == ' '))
			return line;
		free(line);
	}
}

static void
expect_tagged_at(const char *file, int line, struct service_testclient *c,
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
	struct service_testclient c;

	/* The view of an empty mailbox was a NULL array: SEARCH and SORT
	   copied it with memcpy(dst, NULL, 0), which UBSan aborts on. */
	client_carol(&c);
	service_testclient_send_str(&c, "a CREATE Empty\r\nb SELECT Empty\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	EXPECT_TAGGED(&c, "b", "OK [READ-WRITE]");
	service_testclient_send_str(&c, "c SEARCH ALL\r\n");
	EXPECT_LINE(&c, "* SEARCH");
	EXPECT_LINE(&c, "c OK Search completed.");
	service_testclient_send_str(&c,
	    "d UID SEARCH RETURN (ALL COUNT) UNSEEN\r\n");
	EXPECT_TAGGED(&c, "d", "OK");
	service_testclient_send_str(&c, "e SORT (DATE) UTF-8 ALL\r\n");
	EXPECT_TAGGED(&c, "e", "OK");
	service_testclient_send_str(&c,
	    "f FETCH 1:* FLAGS\r\ng UID FETCH * UID\r\n");
	/* Any sequence set is invalid in an empty mailbox (Dovecot). */
	EXPECT_TAGGED(&c, "f", "BAD Invalid messageset.");
	EXPECT_TAGGED(&c, "g", "OK");
	service_testclient_send_str(&c,
	    "h EXPUNGE\r\ni STORE 1:* +FLAGS (\\Seen)\r\n");
	EXPECT_TAGGED(&c, "h", "OK");
	EXPECT_TAGGED(&c, "i", "BAD Invalid messageset.");
	client_logout(&c);
}

static void
test_append_over_limit(void)
{
	struct service_testclient c;

	/* A message past what the parser holds at all (APPENDLIMIT plus
	   two lines) was a BAD [TOOBIG] syntax error; RFC 7889 wants the
	   same NO [TOOBIG] as for one just over the limit. */
	H.config.limits.max_message_size = 10000;
	client_carol(&c);
	service_testclient_send_str(&c, "a APPEND INBOX {10001}\r\n");
	EXPECT_LINE(&c, "a NO [TOOBIG] Message too large.");
	service_testclient_send_str(&c, "b APPEND INBOX {4294967296}\r\n");
	EXPECT_LINE(&c, "b NO [TOOBIG] Message too large.");
	service_testclient_send_str(&c,
	    "c APPEND INBOX (\\Seen) {99999999999}\r\n");
	EXPECT_LINE(&c, "c NO [TOOBIG] Message too large.");
	/* Not an APPEND message: still a syntax error. */
	service_testclient_send_str(&c, "d CREATE {99999999999}\r\n");
	EXPECT(&c, "d BAD ");
	service_testclient_send_str(&c, "e NOOP\r\n");
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
count_until(struct service_testclient *c, const char *tag, const char *what,
    long long *ms_r)
{
	long long t0 = service_testclient_now_ms();
	long long deadline = t0 + 4 * WAIT_MS;
	size_t n = 0, off = 0, tl = strlen(tag), wl = strlen(what);

	for (;;) {
		const char *p = c->in.data + off;
		const char *crlf = c->in.len > off ? memmem(p, c->in.len -
		    off, "\r\n", 2) : NULL;

		if (crlf == NULL) {
			if (c->eof || service_testclient_now_ms() > deadline) {
				test_fail(__FILE__, __LINE__, "no tagged %s",
				    tag);
				break;
			}
			service_testclient_step(c);
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
		*ms_r = service_testclient_now_ms() - t0;
	return n;
}

static void
test_large_mailbox_sync(void)
{
	enum { N = 30000 };
	struct service_testclient c, d;
	long long ms;
	size_t n;

	/* Each sync compared every change with every change the session
	   had told itself (and applied every expunge with a memmove of the
	   whole view): "mark all as read" in a big mailbox held the I/O
	   thread for seconds to minutes. Linear now. */
	client_carol(&c);
	service_testclient_send_str(&c, "a CREATE Big\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	bulk_append("Big", N);
	client_carol(&d);
	service_testclient_send_str(&c, "b SELECT Big\r\n");
	EXPECT_TAGGED(&c, "b", "OK");
	service_testclient_send_str(&d, "b SELECT Big\r\n");
	EXPECT_TAGGED(&d, "b", "OK");
	service_testclient_send_str(&d,
	    "c STORE 1:* +FLAGS.SILENT (\\Seen)\r\n");
	n = count_until(&d, "c", " FETCH ", &ms);
	TEST_ASSERT(n == 0);
	/* The store's own work is most of it now. */
	TEST_ASSERT(ms < 10000);
	service_testclient_send_str(&d, "d NOOP\r\n");
	n = count_until(&d, "d", " FETCH ", NULL);
	TEST_ASSERT(n == 0);	/* its own change, told (silently) */
	service_testclient_send_str(&c, "d NOOP\r\n");
	/* c selected first: the messages are \\Recent in c. */
	n = count_until(&c, "d", " FETCH (FLAGS (\\Seen \\Recent))", &ms);
	TEST_ASSERT(n == N);
	TEST_ASSERT(ms < 10000);
	/* Two expunged by d: c is told at its NOOP, highest first, each
	   number as of its moment. */
	service_testclient_send_str(&d,
	    "e STORE 2,4 +FLAGS.SILENT (\\Deleted)\r\n"
	    "f EXPUNGE\r\n");
	EXPECT_TAGGED(&d, "e", "OK");
	EXPECT_LINE(&d, "* 4 EXPUNGE");
	EXPECT_LINE(&d, "* 2 EXPUNGE");
	EXPECT_TAGGED(&d, "f", "OK");
	service_testclient_send_str(&c, "g FETCH 3 UID\r\n");
	EXPECT_LINE(&c, "* 3 FETCH (UID 3)");
	EXPECT_TAGGED(&c, "g", "OK");
	service_testclient_send_str(&c, "h NOOP\r\n");
	EXPECT_LINE(&c, "* 4 EXPUNGE");
	EXPECT_LINE(&c, "* 2 EXPUNGE");
	EXPECT_TAGGED(&c, "h", "OK");
	service_testclient_send_str(&c, "i FETCH 2:3 UID\r\n");
	EXPECT_LINE(&c, "* 2 FETCH (UID 3)");
	EXPECT_LINE(&c, "* 3 FETCH (UID 5)");
	EXPECT_TAGGED(&c, "i", "OK");
	/* Then all the others. */
	service_testclient_send_str(&d,
	    "j STORE 1:* +FLAGS.SILENT (\\Deleted)\r\n"
	    "k EXPUNGE\r\n");
	EXPECT_TAGGED(&d, "j", "OK");
	n = count_until(&d, "k", " EXPUNGE", &ms);
	TEST_ASSERT(n == N - 2);
	TEST_ASSERT(ms < 10000);
	service_testclient_send_str(&c, "l NOOP\r\n");
	n = count_until(&c, "l", " EXPUNGE", &ms);
	TEST_ASSERT(n == N - 2);
	/* No store work in this one, only telling: ~0.1 s, 3.5 s with a
	   memmove of the view per expunge. */
	TEST_ASSERT(ms < 1500);
	service_testclient_send_str(&c, "m NOOP\r\n");
	EXPECT_LINE(&c, "m OK NOOP completed.");
	service_testclient_send_str(&d, "z LOGOUT\r\n");
	EXPECT_LINE(&d, "* BYE Logging out");
	EXPECT_LINE(&d, "z OK Logout completed.");
	service_testclient_wait_eof_at(__FILE__, __LINE__, &d);
	service_testclient_free(&d);
	client_logout(&c);
}

/* Deflates text (raw, RFC 4978) and sends it, flushed. */
static void
send_deflated(struct service_testclient *c, z_stream *z, const char *text)
{
	unsigned char out[4096];

	z->next_in = (unsigned char *)(uintptr_t)text;
	z->avail_in = (unsigned)strlen(text);
	z->next_out = out;
	z->avail_out = sizeof(out);
	TEST_ASSERT(deflate(z, Z_SYNC_FLUSH) == Z_OK && z->avail_in == 0);
	service_testclient_send(c, out, sizeof(out) - z->avail_out);
}

/* Inflates what arrives until want is in the text; returns it (heap). */
static char *
recv_inflated(struct service_testclient *c, z_stream *z, const char *want)
{
	long long deadline = service_testclient_now_ms() + WAIT_MS;
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
		    service_testclient_now_ms() > deadline)
			break;
		service_testclient_step(c);
	}
	(void)buf_append(&text, "", 1);
	return buf_steal(&text);
}

static void
test_compress_with_pending_change(void)
{
	struct service_testclient c;
	z_stream zin, zout;
	char *text;

	/* A change of the selected mailbox was pending (another session's
	   delivery): COMPRESS's OK waited for the sync job, the switch to
	   DEFLATE came first, and the OK went out compressed. */
	client_carol(&c);
	service_testclient_send_str(&c, "a SELECT INBOX\r\n");
	EXPECT_TAGGED(&c, "a", "OK [READ-WRITE]");
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	for (int i = 0; i < 20; i++)
		service_testclient_step(&c);	/* the notification runs */
	service_testclient_send_str(&c, "b COMPRESS DEFLATE\r\n");
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
	struct service_testclient c;
	size_t n;

	/* IDLE wrote every sync whatever the client had read: one that
	   never reads, while another session toggles flags of a big
	   mailbox, grew the server's output without bound. Now a change
	   waits while output is full and is told, once, after it drains. */
	client_carol(&c);
	service_testclient_send_str(&c, "a CREATE Idle\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	client_logout(&c);
	bulk_append("Idle", N);
	T.server_sndbuf = 4096;
	client_connect_rcvbuf(&c, &S.plain, NULL, 4096);
	T.server_sndbuf = 0;
	EXPECT(&c, GREETING_PREFIX);
	service_testclient_send_str(&c,
	    "l LOGIN carol@example.org \"carol pw\"\r\n"
	    "b SELECT Idle\r\n");
	EXPECT_TAGGED(&c, "l", "OK");
	EXPECT_TAGGED(&c, "b", "OK");
	service_testclient_send_str(&c, "c IDLE\r\n");
	EXPECT_LINE(&c, "+ idling");
	for (int i = 0; i < ROUNDS; i++) {
		flag_all("Idle", i % 2 == 0);
		/* The server's loop only: the client reads nothing. */
		for (int k = 0; k < 20; k++) {
			pump();
			usleep(1000);
		}
	}
	service_testclient_send_str(&c, "DONE\r\n");
	n = count_until(&c, "c", " FETCH (FLAGS (", NULL);
	/* Every round was ROUNDS * N lines; now the first syncs until the
	   output is full, and one more after. */
	TEST_ASSERT(n >= N);
	TEST_ASSERT(n <= (size_t)N * ROUNDS / 3);
	/* ROUNDS is even: the last round cleared \Flagged, and that is
	   what the session knows now. */
	service_testclient_send_str(&c, "d FETCH 1:* FLAGS\r\n");
	n = count_until(&c, "d", "\\Flagged", NULL);
	TEST_ASSERT(n == 0);
	client_logout(&c);
}

static void
test_store_answer_rev2_no_recent(void)
{
	struct service_testclient c;
	char *line, want[64];
	unsigned n;

	/* STORE's FETCH answers carried \Recent to IMAP4rev2 sessions,
	   which RFC 9051 removed (the sync's FETCHes already left it out). */
	client_carol(&c);
	service_testclient_send_str(&c,
	    "a ENABLE IMAP4rev2\r\nb SELECT INBOX\r\n");
	EXPECT_TAGGED(&c, "a", "OK");
	EXPECT_TAGGED(&c, "b", "OK [READ-WRITE]");
	imapd_testlib_append(&H, T.carol, "INBOX", MSG, sizeof(MSG) - 1);
	service_testclient_send_str(&c, "c NOOP\r\n");
	line = EXPECT_GET(&c, "* ");
	TEST_ASSERT(line != NULL && sscanf(line, "* %u EXISTS", &n) == 1);
	free(line);
	EXPECT_TAGGED(&c, "c", "OK");
	snprintf(want, sizeof(want), "d STORE %u FLAGS (\\Seen)\r\n", n);
	service_testclient_send_str(&c, want);
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
	struct service_testclient c;
	uint32_t before = mailbox_messages("INBOX");
	char junk[100];

	/* An abandoned APPEND leaves nothing behind. */
	client_carol(&c);
	service_testclient_send_str(&c, "a APPEND INBOX {5000}\r\n");
	EXPECT_LINE(&c, "+ Ready for literal data");
	memset(junk, 'x', sizeof(junk));
	service_testclient_send(&c, junk, sizeof(junk));
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	TEST_ASSERT(mailbox_messages("INBOX") == before);
	/* Gone inside IDLE, and while a FETCH of every body streams to a
	   client that reads nothing, and with a SEARCH running. */
	client_carol(&c);
	service_testclient_send_str(&c, "b SELECT INBOX\r\nc IDLE\r\n");
	EXPECT_TAGGED(&c, "b", "OK");
	EXPECT_LINE(&c, "+ idling");
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	client_connect_rcvbuf(&c, &S.plain, NULL, 4096);
	EXPECT(&c, GREETING_PREFIX);
	service_testclient_send_str(&c,
	    "l LOGIN carol@example.org \"carol pw\"\r\n"
	    "d SELECT Idle\r\ne FETCH 1:* (BODY[] ENVELOPE)\r\n");
	EXPECT_TAGGED(&c, "l", "OK");
	for (int i = 0; i < 50; i++) {
		pump();
		usleep(1000);
	}
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	client_carol(&c);
	service_testclient_send_str(&c,
	    "f SELECT Idle\r\ng SEARCH TEXT nothing-like-it\r\n"
	    "h LOGOUT\r\n");
	EXPECT_TAGGED(&c, "f", "OK");
	service_testclient_free(&c);
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
	struct service_testclient c;
	char *error = NULL;
	long long until;

	client_carol(&c);
	service_testclient_send_str(&c, "s SELECT INBOX\r\n");
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
	service_testclient_send_str(&c,
	    "l LOGIN dave@example.org \"dave pw\"\r\n"
	    "s SELECT INBOX\r\n");
	EXPECT_TAGGED(&c, "l", "OK");
	EXPECT_TAGGED(&c, "s", "OK");
	TEST_EQ_INT(directory_admin_account_set_enabled(dir, "dave@example.org",
	    false, &err), 0);
	/* Within the check interval the session goes on ... */
	service_testclient_send_str(&c, "n NOOP\r\n");
	EXPECT_TAGGED(&c, "n", "OK");
	/* ... after it, the next job finds the account disabled. */
	until = service_testclient_now_ms() + IMAPD_ACCOUNT_CHECK_MS + 100;
	while (service_testclient_now_ms() < until) {
		pump();
		usleep(10000);
	}
	service_testclient_send_str(&c, "x STATUS INBOX (MESSAGES)\r\n");
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
	imapd_testlib_init(&H, HOST);
	H.config.auth.failure_delay = 0;
	imapd_testlib_open(&H, test_tmpdir(), fill_directory);
	T.carol = imapd_testlib_account_id(&H, "carol@example.org");
	service_testclient_server_open(&S, H.base, &H.started, &H.ended, H.dir,
	    HOST, CONFIG_PROTOCOL_IMAP, 143);
}

static void
teardown(void)
{
	service_testclient_server_close(&S);
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
