/* pop3d_test.c — POP3 sessions end to end inside one process: the real
   conn on a loopback TCP socket, a real event_base and worker pool, a
   temporary data dir whose directory is made through the admin API, and
   real account stores. The test is the client: it writes bytes (whole,
   pipelined, or one at a time), runs the event loop until replies arrive,
   and checks the replies and the stores afterwards. */
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

#include "auth/auth_sasl.h"
#include "auth/password.h"
#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/base64.h"
#include "lib/test.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_session.h"
#include "pop3d/pop3d_testlib.h"
#include "service/service_testclient.h"
#include "service/service_thread.h"
#include "store/store.h"

#define HOST "mx.example.test"
#define WAIT_MS SERVICE_TESTCLIENT_WAIT_MS

static struct pop3d_testlib H;
static struct service_testclient_server S;	/* listener, TLS contexts */

static struct {
	int64_t bob, carol;		/* account ids */
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

	pop3d_testlib_start(&H, sfd, H.thread, l, tls);
}

/* The body of a multi-line reply as a client decodes it (RFC 1939 §3:
   split on LF, a leading '.' dropped, "." alone ends). Heap, *len_r
   octets; NULL when the end never came. */
static char *
client_multi(struct service_testclient *c, size_t *len_r)
{
	long long deadline = service_testclient_now_ms() + WAIT_MS;
	struct buf out;
	size_t pos = 0;

	buf_init(&out, 0);
	for (;;) {
		const char *lf;

		while (pos < c->in.len && (lf = memchr(c->in.data + pos, '\n',
		    c->in.len - pos)) != NULL) {
			const char *l = c->in.data + pos;
			size_t n = (size_t)(lf - l) + 1;

			if (n == 3 && memcmp(l, ".\r\n", 3) == 0) {
				buf_consume(&c->in, pos + 3);
				buf_append(&out, "", 0);
				*len_r = out.len;
				return buf_steal(&out);
			}
			if (l[0] == '.')
				buf_append(&out, l + 1, n - 1);
			else
				buf_append(&out, l, n);
			pos += n;
		}
		if (c->eof || service_testclient_now_ms() > deadline) {
			buf_clear(&out);
			return NULL;
		}
		service_testclient_step(c);
	}
}

#define WAIT_SESSIONS_GONE() \
	service_testclient_wait_gone_at(__FILE__, __LINE__, &S)

static void
client_plain(struct service_testclient *c)
{
	client_connect_rcvbuf(c, &S.plain, NULL, 0);
	EXPECT_LINE(c, "+OK petrel ready.");
}

/* Connects and logs carol in with USER/PASS. */
static void
client_carol(struct service_testclient *c)
{
	client_plain(c);
	service_testclient_send_str(c,
	    "USER carol@example.org\r\nPASS carol pw\r\n");
	EXPECT_LINE(c, "+OK");
	EXPECT_LINE(c, "+OK Logged in.");
}

static void
client_quit(struct service_testclient *c, const char *want)
{
	service_testclient_send_str(c, "QUIT\r\n");
	EXPECT_LINE(c, want);
	CLIENT_CLOSED(c);
}

/* The CAPA listing (heap), or NULL. */
static char *
client_capa(struct service_testclient *c)
{
	size_t n;

	service_testclient_send_str(c, "CAPA\r\n");
	EXPECT_LINE(c, "+OK");
	return client_multi(c, &n);
}

static void
reset_config(void)
{
	config_limits_defaults(&H.config.limits);
	config_auth_defaults(&H.config.auth);
	H.config.auth.failure_delay = 0;
	pop3d_testlib_reset_throttle(&H);
}

static char *
b64(const void *raw, size_t len)
{
	size_t cap = (len + 2) / 3 * 4 + 1;
	char *out = xmalloc(cap);

	base64_encode(raw, len, out, cap);
	return out;
}

/* Messages in the account's INBOX, and how many carry flag. */
static size_t
inbox_count(int64_t account, unsigned flag, size_t *flagged_r)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	char *error = NULL;
	size_t n;

	if (store_open(H.dir, account, NULL, &store, &error) != STORE_OK)
		panic("inbox_count: %s", error);
	if (store_mailbox_get(store, "INBOX", &mb) != STORE_OK)
		panic("inbox_count: INBOX");
	n = mb.messages;
	if (flagged_r != NULL)
		*flagged_r = flag == STORE_FLAG_SEEN ? mb.messages - mb.unseen :
		    mb.deleted;
	store_mailbox_clear(&mb);
	store_close(&store);
	return n;
}

/* n copies of text in the account's INBOX, in one transaction. */
static void
append_many(int64_t account, const char *text, unsigned n)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	struct store_append a;
	char *error = NULL;

	if (store_open(H.dir, account, NULL, &store, &error) != STORE_OK ||
	    store_mailbox_get(store, "INBOX", &mb) != STORE_OK ||
	    store_begin(store) != STORE_OK)
		panic("append_many: %s", error != NULL ? error :
		    store_error(store));
	memset(&a, 0, sizeof(a));
	a.mailbox_id = mb.id;
	a.data = text;
	a.len = strlen(text);
	for (unsigned i = 0; i < n; i++)
		if (store_append(store, &a, NULL) != STORE_OK)
			panic("append_many: %s", store_error(store));
	if (store_commit(store) != STORE_OK)
		panic("append_many: commit: %s", store_error(store));
	store_mailbox_clear(&mb);
	store_close(&store);
}

/* Empties an INBOX. */
static void
inbox_clear(int64_t account)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	char *error = NULL;

	if (store_open(H.dir, account, NULL, &store, &error) != STORE_OK)
		panic("inbox_clear: %s", error);
	if (store_mailbox_get(store, "INBOX", &mb) != STORE_OK ||
	    store_flags(store, mb.id, NULL, 0, STORE_FLAGS_ADD,
	    STORE_FLAG_DELETED, NULL, 0, NULL, NULL, NULL, NULL) != STORE_OK ||
	    store_expunge(store, mb.id, NULL, 0, NULL, NULL) != STORE_OK)
		panic("inbox_clear: %s", store_error(store));
	store_mailbox_clear(&mb);
	store_close(&store);
}

static const char MSG1[] =
    "From: a@example.net\r\nSubject: one\r\n\r\nLine 1\r\n.\r\n"
    "..two dots\r\n.x\r\n\xc3\xa9t\xc3\xa9\r\nlast\r\n";
static const char MSG2[] =
    "From: b@example.net\r\nSubject: two\r\n\r\nno final CRLF";
static const char MSG3[] =
    "Subject: three\r\nX: y\r\n\r\nb1\r\nb2\r\nb3\r\nb4\r\n";

/* carol's INBOX holds MSG1, MSG2, MSG3 and nothing else. */
static void
inbox_fill(void)
{
	inbox_clear(T.carol);
	pop3d_testlib_append(&H, T.carol, MSG1, sizeof(MSG1) - 1);
	pop3d_testlib_append(&H, T.carol, MSG2, sizeof(MSG2) - 1);
	pop3d_testlib_append(&H, T.carol, MSG3, sizeof(MSG3) - 1);
}

/* --- tests -------------------------------------------------------------- */

static void
test_greeting_and_capa(void)
{
	struct service_testclient c;
	char *capa;

	reset_config();
	client_connect_rcvbuf(&c, &S.starttls, S.server_tls, 0);
	EXPECT_LINE(&c, "+OK petrel ready.");
	capa = client_capa(&c);
	TEST_EQ_STR(capa, "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
	    "AUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN\r\nSTLS\r\n"
	    "IMPLEMENTATION petrel\r\n");
	free(capa);
	/* The RFC 1734 listing. */
	service_testclient_send_str(&c, "AUTH\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "PLAIN");
	EXPECT_LINE(&c, ".");
	client_quit(&c, "+OK Logging out.");

	/* After login: no USER, SASL or STLS. */
	client_carol(&c);
	capa = client_capa(&c);
	TEST_EQ_STR(capa, "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
	    "AUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION petrel\r\n");
	free(capa);
	client_quit(&c, "+OK Logging out.");
}

static void
test_retr_list_uidl(void)
{
	struct service_testclient c;
	char *body, *r, uidl[3][64];
	size_t n;

	reset_config();
	inbox_fill();
	client_carol(&c);
	service_testclient_send_str(&c, "STAT\r\n");
	{
		char want[64];

		snprintf(want, sizeof(want), "+OK 3 %zu", sizeof(MSG1) - 1 +
		    sizeof(MSG2) - 1 + sizeof(MSG3) - 1);
		EXPECT_LINE(&c, want);
	}
	service_testclient_send_str(&c, "LIST\r\n");
	EXPECT(&c, "+OK 3 messages");
	body = client_multi(&c, &n);
	{
		char want[128];

		snprintf(want, sizeof(want), "1 %zu\r\n2 %zu\r\n3 %zu\r\n",
		    sizeof(MSG1) - 1, sizeof(MSG2) - 1, sizeof(MSG3) - 1);
		TEST_EQ_STR(body, want);
	}
	free(body);
	service_testclient_send_str(&c, "LIST 2\r\n");
	{
		char want[64];

		snprintf(want, sizeof(want), "+OK 2 %zu", sizeof(MSG2) - 1);
		EXPECT_LINE(&c, want);
	}
	service_testclient_send_str(&c, "LIST 4\r\n");
	EXPECT_LINE(&c, "-ERR There's no message 4.");
	service_testclient_send_str(&c, "UIDL\r\n");
	EXPECT_LINE(&c, "+OK");
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL);
	if (body != NULL) {
		char *p = body;

		for (int i = 0; i < 3; i++) {
			int num = 0, used = 0;

			TEST_ASSERT(sscanf(p, "%d %63s%n", &num, uidl[i],
			    &used) == 2);
			TEST_EQ_INT(num, i + 1);
			TEST_EQ_INT(strlen(uidl[i]), 16);
			p += used + 2;
		}
		TEST_ASSERT(strcmp(uidl[0], uidl[1]) != 0);
	}
	free(body);
	service_testclient_send_str(&c, "UIDL 3\r\n");
	r = EXPECT_GET(&c, "+OK 3 ");
	if (r != NULL)
		TEST_EQ_STR(r + 6, uidl[2]);
	free(r);

	/* RETR: byte-identical after unstuffing; CRLF added to MSG2. */
	service_testclient_send_str(&c, "RETR 1\r\n");
	{
		char want[64];

		snprintf(want, sizeof(want), "+OK %zu octets",
		    sizeof(MSG1) - 1);
		EXPECT_LINE(&c, want);
	}
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == sizeof(MSG1) - 1 &&
	    memcmp(body, MSG1, n) == 0);
	free(body);
	service_testclient_send_str(&c, "RETR 2\r\n");
	EXPECT(&c, "+OK ");
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == sizeof(MSG2) - 1 + 2 &&
	    memcmp(body, MSG2, sizeof(MSG2) - 1) == 0 &&
	    memcmp(body + n - 2, "\r\n", 2) == 0);
	free(body);

	/* TOP n 0 and n 3. */
	service_testclient_send_str(&c, "TOP 3 0\r\nTOP 3 3\r\nTOP 3 100\r\n");
	EXPECT_LINE(&c, "+OK");
	body = client_multi(&c, &n);
	TEST_EQ_STR(body, "Subject: three\r\nX: y\r\n\r\n");
	free(body);
	EXPECT_LINE(&c, "+OK");
	body = client_multi(&c, &n);
	TEST_EQ_STR(body, "Subject: three\r\nX: y\r\n\r\nb1\r\nb2\r\nb3\r\n");
	free(body);
	EXPECT_LINE(&c, "+OK");
	body = client_multi(&c, &n);
	TEST_EQ_STR(body, MSG3);
	free(body);
	service_testclient_send_str(&c, "NOOP\r\n");
	EXPECT_LINE(&c, "+OK");
	/* Retrieved messages get \Seen at QUIT; TOP does not count. */
	client_quit(&c, "+OK Logging out.");
	{
		size_t seen = 0;

		TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_SEEN, &seen), 3);
		TEST_EQ_INT(seen, 2);
	}

	/* UIDLs are the same in the next session. */
	client_carol(&c);
	service_testclient_send_str(&c, "UIDL 1\r\n");
	r = EXPECT_GET(&c, "+OK 1 ");
	if (r != NULL)
		TEST_EQ_STR(r + 6, uidl[0]);
	free(r);
	client_quit(&c, "+OK Logging out.");
}

static void
test_dele(void)
{
	struct service_testclient c;
	char *body;
	size_t n, deleted;

	reset_config();
	/* DELE + QUIT removes. */
	inbox_fill();
	client_carol(&c);
	service_testclient_send_str(&c, "DELE 2\r\n");
	EXPECT_LINE(&c, "+OK Marked to be deleted.");
	service_testclient_send_str(&c,
	    "DELE 2\r\nRETR 2\r\nLIST 2\r\nTOP 2 1\r\n");
	EXPECT_LINE(&c, "-ERR Message is deleted.");
	EXPECT_LINE(&c, "-ERR Message is deleted.");
	EXPECT_LINE(&c, "-ERR Message is deleted.");
	EXPECT_LINE(&c, "-ERR Message is deleted.");
	service_testclient_send_str(&c, "STAT\r\nLIST\r\n");
	EXPECT(&c, "+OK 2 ");
	EXPECT(&c, "+OK 2 messages");
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && strncmp(body, "1 ", 2) == 0 &&
	    strstr(body, "\r\n3 ") != NULL && strstr(body, "\r\n2 ") == NULL);
	free(body);
	client_quit(&c, "+OK Logging out, messages deleted.");
	TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_DELETED, &deleted), 2);
	TEST_EQ_INT(deleted, 0);

	/* DELE + RSET + QUIT keeps. */
	inbox_fill();
	client_carol(&c);
	service_testclient_send_str(&c, "DELE 1\r\nDELE 3\r\nRSET\r\n");
	EXPECT_LINE(&c, "+OK Marked to be deleted.");
	EXPECT_LINE(&c, "+OK Marked to be deleted.");
	EXPECT(&c, "+OK 3 messages");
	client_quit(&c, "+OK Logging out.");
	TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_DELETED, NULL), 3);

	/* DELE + a dropped connection keeps. */
	client_carol(&c);
	service_testclient_send_str(&c, "DELE 1\r\n");
	EXPECT_LINE(&c, "+OK Marked to be deleted.");
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_DELETED, &deleted), 3);
	TEST_EQ_INT(deleted, 0);
}

/* QUIT's UPDATE fails (the store stays locked by another writer past
   its busy timeout): -ERR, and neither the deletion nor the \Seen of the
   retrieved message happened. */
static void
test_update_failure(void)
{
	struct store *other = NULL;
	struct service_testclient c;
	char *error = NULL;
	size_t n, seen = 0, deleted = 0;

	reset_config();
	inbox_fill();
	client_carol(&c);
	service_testclient_send_str(&c, "RETR 1\r\nDELE 2\r\n");
	EXPECT(&c, "+OK ");
	free(client_multi(&c, &n));
	EXPECT_LINE(&c, "+OK Marked to be deleted.");
	if (store_open(H.dir, T.carol, NULL, &other, &error) != STORE_OK ||
	    store_begin(other) != STORE_OK)
		panic("test_update_failure: %s", error != NULL ? error :
		    store_error(other));
	service_testclient_send_str(&c, "QUIT\r\n");
	EXPECT_LINE(&c, "-ERR [SYS/TEMP] Some deleted messages were not "
	    "removed.");
	CLIENT_CLOSED(&c);
	store_rollback(other);
	store_close(&other);
	TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_SEEN, &seen), 3);
	TEST_EQ_INT(seen, 0);
	TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_DELETED, &deleted), 3);
	TEST_EQ_INT(deleted, 0);
}

/* The snapshot: a message delivered meanwhile is not shown; one expunged
   by another session answers -ERR cleanly. */
static void
test_snapshot(void)
{
	struct service_testclient c, d;
	char *body;
	size_t n;

	reset_config();
	inbox_fill();
	client_carol(&c);
	pop3d_testlib_append(&H, T.carol, MSG3, sizeof(MSG3) - 1);
	service_testclient_send_str(&c, "STAT\r\n");
	EXPECT(&c, "+OK 3 ");
	/* Another session deletes message 1. */
	client_carol(&d);
	service_testclient_send_str(&d, "STAT\r\n");
	EXPECT(&d, "+OK 4 ");
	service_testclient_send_str(&d, "DELE 1\r\nQUIT\r\n");
	EXPECT_LINE(&d, "+OK Marked to be deleted.");
	EXPECT_LINE(&d, "+OK Logging out, messages deleted.");
	service_testclient_wait_eof_at(__FILE__, __LINE__, &d);
	service_testclient_free(&d);
	service_testclient_send_str(&c, "RETR 1\r\nRETR 3\r\n");
	EXPECT_LINE(&c, "-ERR Message was removed by another session.");
	EXPECT(&c, "+OK ");
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == sizeof(MSG3) - 1);
	free(body);
	/* DELE of the vanished message: QUIT still works. */
	service_testclient_send_str(&c, "DELE 1\r\n");
	EXPECT_LINE(&c, "+OK Marked to be deleted.");
	client_quit(&c, "+OK Logging out.");
	TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_SEEN, NULL), 3);
}

static void
test_auth_failures(void)
{
	struct service_testclient c;
	long long t0;
	char *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL;

	reset_config();
	/* Unknown user, wrong password, disabled account, disabled domain,
	   account without password: one answer. */
	client_plain(&c);
	service_testclient_send_str(&c,
	    "USER nobody@example.org\r\nPASS x\r\n");
	EXPECT_LINE(&c, "+OK");
	r1 = service_testclient_line(&c);
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS wrong\r\n");
	EXPECT_LINE(&c, "+OK");
	r2 = service_testclient_line(&c);
	service_testclient_send_str(&c,
	    "USER off@example.org\r\nPASS off pw\r\n");
	EXPECT_LINE(&c, "+OK");
	r3 = service_testclient_line(&c);
	TEST_EQ_STR(r1, "-ERR [AUTH] Authentication failed.");
	TEST_EQ_STR(r2, r1);
	TEST_EQ_STR(r3, r1);
	/* The third failure closes the connection. */
	CLIENT_CLOSED(&c);
	client_plain(&c);
	service_testclient_send_str(&c,
	    "USER dave@off.example\r\nPASS dave pw\r\n");
	EXPECT_LINE(&c, "+OK");
	r4 = service_testclient_line(&c);
	TEST_EQ_STR(r4, "-ERR [AUTH] Authentication failed.");
	service_testclient_send_str(&c, "USER nopw@example.org\r\nPASS \r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "-ERR Missing argument.");
	/* The USER stays until a PASS is tried. */
	service_testclient_send_str(&c, "PASS x\r\n");
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	service_testclient_send_str(&c, "PASS x\r\n");
	EXPECT_LINE(&c, "-ERR No username given.");
	/* NUL in a password never reaches the check. */
	service_testclient_send(&c, "PASS a\0b\r\n", 10);
	EXPECT_LINE(&c, "-ERR Invalid characters in the command.");
	service_testclient_send_str(&c, "STAT\r\n");
	EXPECT_LINE(&c, "-ERR Not logged in.");
	client_quit(&c, "+OK Logging out.");
	free(r1);
	free(r2);
	free(r3);
	free(r4);

	/* The delay: an answer to a failure waits failure_delay. */
	H.config.auth.failure_delay = 300;
	pop3d_testlib_reset_throttle(&H);
	client_plain(&c);
	t0 = service_testclient_now_ms();
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS nope\r\nNOOP\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	TEST_ASSERT(service_testclient_now_ms() - t0 >= 290);
	/* The pipelined command is answered after the held reply. */
	EXPECT_LINE(&c, "-ERR Not logged in.");
	client_quit(&c, "+OK Logging out.");
	/* Bob's Argon2 hash: right and wrong. */
	client_plain(&c);
	service_testclient_send_str(&c,
	    "USER bob@EXAMPLE.org\r\nPASS bob secret\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	client_quit(&c, "+OK Logging out.");
}

/* The time a failed login takes to answer: USER name, then PASS. */
static long long
failure_ms(const char *user)
{
	struct service_testclient c;
	long long t0;
	char *line;

	client_plain(&c);
	line = xasprintf("USER %s\r\n", user);
	service_testclient_send_str(&c, line);
	free(line);
	EXPECT_LINE(&c, "+OK");
	t0 = service_testclient_now_ms();
	service_testclient_send_str(&c, "PASS wrong\r\n");
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	t0 = service_testclient_now_ms() - t0;
	client_quit(&c, "+OK Logging out.");
	return t0;
}

/* No timing oracle: an unknown user's password is checked against the
   Argon2 dummy, carol's against her fast {PLAIN} hash (a migrated
   account, say), yet both answers take about as long. */
static void
test_failure_timing(void)
{
	long long unknown = 0, plain = 0, off = 0;

	reset_config();
	H.config.auth.max_failures_per_ip = 0;
	H.config.auth.max_failures_per_account = 0;
	pop3d_testlib_reset_throttle(&H);
	/* Warm up: the dummy hash is made by the first login needing it. */
	(void)failure_ms("nobody@example.org");
	for (int i = 0; i < 3; i++) {
		unknown += failure_ms("nobody@example.org");
		plain += failure_ms("carol@example.org");
		off += failure_ms("off@example.org");
	}
	TEST_ASSERT(unknown >= 3 * 5);
	TEST_ASSERT(plain * 2 >= unknown);
	TEST_ASSERT(off * 2 >= unknown);
	reset_config();
}

static void
test_throttle(void)
{
	struct service_testclient c;

	reset_config();
	H.config.auth.max_failures_per_ip = 3;
	pop3d_testlib_reset_throttle(&H);
	for (int i = 0; i < 3; i++) {
		client_plain(&c);
		service_testclient_send_str(&c,
		    "USER carol@example.org\r\nPASS bad\r\n");
		EXPECT_LINE(&c, "+OK");
		EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
		client_quit(&c, "+OK Logging out.");
	}
	/* Now even the right password is refused, without a check. */
	client_plain(&c);
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS carol pw\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "-ERR [SYS/TEMP] Too many failed logins, try again "
	    "later.");
	CLIENT_CLOSED(&c);

	/* Per account. */
	reset_config();
	H.config.auth.max_failures_per_account = 2;
	pop3d_testlib_reset_throttle(&H);
	client_plain(&c);
	service_testclient_send_str(&c, "USER carol@example.org\r\nPASS bad\r\n"
	    "USER CAROL@example.org\r\nPASS bad\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	service_testclient_send_str(&c,
	    "USER bob@example.org\r\nPASS bob secret\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	client_quit(&c, "+OK Logging out.");
	client_plain(&c);
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS carol pw\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT(&c, "-ERR [SYS/TEMP] ");
	CLIENT_CLOSED(&c);
	reset_config();
}

static void
test_auth_plain(void)
{
	static const char carol[] = "\0carol@example.org\0carol pw";
	static const char other[] = "bob@example.org\0carol@example.org\0"
	    "carol pw";
	struct service_testclient c;
	char *ir = b64(carol, sizeof(carol) - 1), *line;

	reset_config();
	/* Initial response. */
	client_plain(&c);
	line = xasprintf("AUTH PLAIN %s\r\n", ir);
	service_testclient_send_str(&c, line);
	free(line);
	EXPECT_LINE(&c, "+OK Logged in.");
	client_quit(&c, "+OK Logging out.");
	/* Continuation; mechanism in lower case. */
	client_plain(&c);
	service_testclient_send_str(&c, "AUTH plain\r\n");
	EXPECT_LINE(&c, "+ ");
	line = xasprintf("%s\r\n", ir);
	service_testclient_send_str(&c, line);
	free(line);
	EXPECT_LINE(&c, "+OK Logged in.");
	service_testclient_send_str(&c, "AUTH PLAIN\r\n");
	EXPECT_LINE(&c, "-ERR Already logged in.");
	client_quit(&c, "+OK Logging out.");
	/* Cancel, empty, malformed, another authzid, other mechanisms. */
	client_plain(&c);
	service_testclient_send_str(&c, "AUTH PLAIN\r\n*\r\n");
	EXPECT_LINE(&c, "+ ");
	EXPECT_LINE(&c, "-ERR Authentication aborted.");
	service_testclient_send_str(&c, "AUTH PLAIN =\r\n");
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	service_testclient_send_str(&c, "AUTH PLAIN\r\n!!!!\r\n");
	EXPECT_LINE(&c, "+ ");
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	service_testclient_send_str(&c, "AUTH CRAM-MD5\r\n");
	EXPECT_LINE(&c, "-ERR Unsupported authentication mechanism.");
	line = b64(other, sizeof(other) - 1);
	service_testclient_send_str(&c, "AUTH PLAIN ");
	service_testclient_send_str(&c, line);
	service_testclient_send_str(&c, "\r\n");
	free(line);
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	CLIENT_CLOSED(&c);	/* the third failure */
	free(ir);
}

static void
test_plaintext_never(void)
{
	struct service_testclient c;
	char *capa;

	reset_config();
	H.config.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	client_connect_rcvbuf(&c, &S.starttls, S.server_tls, 0);
	EXPECT_LINE(&c, "+OK petrel ready.");
	capa = client_capa(&c);
	TEST_ASSERT(capa != NULL && strstr(capa, "USER") == NULL &&
	    strstr(capa, "SASL") == NULL && strstr(capa, "STLS") != NULL);
	free(capa);
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS carol pw\r\n"
	    "AUTH PLAIN AGNhcm9sQGV4YW1wbGUub3JnAGNhcm9sIHB3\r\n");
	EXPECT_LINE(&c, "-ERR [AUTH] Plaintext authentication disallowed on "
	    "non-secure connections.");
	EXPECT_LINE(&c, "-ERR [AUTH] Plaintext authentication disallowed on "
	    "non-secure connections.");
	EXPECT_LINE(&c, "-ERR [AUTH] Plaintext authentication disallowed on "
	    "non-secure connections.");
	/* After STLS: allowed, and CAPA says so. A USER injected after STLS
	   in the same packet is dropped with the plaintext. */
	service_testclient_send_str(&c, "STLS\r\nUSER carol@example.org\r\n");
	EXPECT_LINE(&c, "+OK Begin TLS negotiation now.");
	if (!service_testclient_handshake(&c))
		return;
	capa = client_capa(&c);
	TEST_ASSERT(capa != NULL && strstr(capa, "USER\r\n") != NULL &&
	    strstr(capa, "SASL PLAIN") != NULL && strstr(capa, "STLS") == NULL);
	free(capa);
	service_testclient_send_str(&c, "PASS carol pw\r\n");
	EXPECT_LINE(&c, "-ERR No username given.");
	service_testclient_send_str(&c, "STLS\r\n");
	EXPECT_LINE(&c, "-ERR TLS is already active.");
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS carol pw\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	client_quit(&c, "+OK Logging out.");
	/* STLS on a listener without it. */
	client_plain(&c);
	service_testclient_send_str(&c, "STLS\r\n");
	EXPECT_LINE(&c, "-ERR STLS is not available.");
	client_quit(&c, "+OK Logging out.");
	reset_config();
}

static void
test_implicit_tls(void)
{
	struct service_testclient c;
	char *body;
	size_t n;

	reset_config();
	H.config.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	inbox_fill();
	client_connect_rcvbuf(&c, &S.implicit, S.server_tls, 0);
	if (!service_testclient_handshake(&c))
		return;
	EXPECT_LINE(&c, "+OK petrel ready.");
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS carol pw\r\n"
	    "RETR 1\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	EXPECT(&c, "+OK ");
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == sizeof(MSG1) - 1);
	free(body);
	client_quit(&c, "+OK Logging out.");
	reset_config();
}

/* A message larger than every buffer on the way, to a client with a small
   receive buffer: it arrives whole and byte-identical. */
static void
test_large_message(void)
{
	struct service_testclient c;
	struct buf msg;
	char *body, *want;
	size_t n, size = 3 * 1024 * 1024 + 17;

	reset_config();
	inbox_clear(T.carol);
	buf_init(&msg, 0);
	buf_append_str(&msg, "Subject: big\r\n\r\n");
	for (size_t i = 0; msg.len < size; i++) {
		/* Lines of dots and text, some starting with '.'. */
		buf_printf(&msg, i % 7 == 0 ? ".%zu......\r\n" :
		    "line %zu of the large message\r\n", i);
	}
	pop3d_testlib_append(&H, T.carol, msg.data, msg.len);
	client_connect_rcvbuf(&c, &S.plain, NULL, 4096);
	EXPECT_LINE(&c, "+OK petrel ready.");
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS carol pw\r\n"
	    "RETR 1\r\nSTAT\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	want = xasprintf("+OK %zu octets", msg.len);
	EXPECT_LINE(&c, want);
	free(want);
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == msg.len &&
	    memcmp(body, msg.data, n) == 0);
	free(body);
	EXPECT(&c, "+OK 1 ");
	client_quit(&c, "+OK Logging out.");
	buf_clear(&msg);
}

static void
test_errors(void)
{
	struct service_testclient c;
	char line[300];

	reset_config();
	inbox_fill();
	client_carol(&c);
	service_testclient_send_str(&c,
	    "FOO\r\nRETR\r\nRETR 0\r\nTOP 1\r\nLIST x\r\n"
	    "USER x\r\nSTLS\r\n");
	EXPECT_LINE(&c, "-ERR Unknown command.");
	EXPECT_LINE(&c, "-ERR Missing argument.");
	EXPECT_LINE(&c, "-ERR Invalid message number.");
	EXPECT_LINE(&c, "-ERR Missing argument.");
	EXPECT_LINE(&c, "-ERR Invalid message number.");
	EXPECT_LINE(&c, "-ERR Already logged in.");
	EXPECT_LINE(&c, "-ERR Already logged in.");
	/* 256 octets with CRLF: too long, and the session goes on. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 254, "\r\n", 2);
	service_testclient_send(&c, line, 256);
	EXPECT_LINE(&c, "-ERR Line too long.");
	/* Longer than any line: skipped to its end. */
	for (int i = 0; i < 5; i++)
		service_testclient_send(&c, line, 250);
	service_testclient_send_str(&c, "\r\nNOOP\r\n");
	EXPECT_LINE(&c, "-ERR Line too long.");
	EXPECT_LINE(&c, "+OK");
	client_quit(&c, "+OK Logging out.");

	/* The error budget closes after the error that uses it up. */
	H.config.limits.max_errors = 3;
	client_plain(&c);
	service_testclient_send_str(&c, "A\r\nB\r\nC\r\nD\r\n");
	EXPECT_LINE(&c, "-ERR Unknown command.");
	EXPECT_LINE(&c, "-ERR Unknown command.");
	EXPECT_LINE(&c, "-ERR Unknown command.");
	CLIENT_CLOSED(&c);
	reset_config();
}

/* The whole conversation sent one byte at a time. */
static void
test_byte_at_a_time(void)
{
	static const char script[] = "USER carol@example.org\r\nPASS carol pw"
	    "\r\nSTAT\r\nTOP 1 0\r\nQUIT\r\n";
	struct service_testclient c;
	char *body;
	size_t n;

	reset_config();
	inbox_fill();
	client_plain(&c);
	for (size_t i = 0; i < sizeof(script) - 1; i++) {
		service_testclient_send(&c, script + i, 1);
		service_testclient_step(&c);
	}
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	EXPECT(&c, "+OK 3 ");
	EXPECT_LINE(&c, "+OK");
	body = client_multi(&c, &n);
	TEST_EQ_STR(body, "From: a@example.net\r\nSubject: one\r\n\r\n");
	free(body);
	EXPECT_LINE(&c, "+OK Logging out.");
	CLIENT_CLOSED(&c);
}

/* Everything pipelined, then a half-close: every reply still comes, in
   order, and the UPDATE happens. */
static void
test_pipelined_half_close(void)
{
	struct service_testclient c;
	char *body;
	size_t n;

	reset_config();
	inbox_fill();
	client_plain(&c);
	service_testclient_send_str(&c,
	    "CAPA\r\nUSER carol@example.org\r\nPASS carol pw"
	    "\r\nLIST\r\nRETR 1\r\nUIDL\r\nDELE 1\r\nRETR 3\r\nQUIT\r\n");
	(void)shutdown(c.fd, SHUT_WR);
	EXPECT_LINE(&c, "+OK");
	free(client_multi(&c, &n));
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	EXPECT(&c, "+OK 3 messages");
	free(client_multi(&c, &n));
	EXPECT(&c, "+OK ");
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == sizeof(MSG1) - 1);
	free(body);
	EXPECT_LINE(&c, "+OK");
	free(client_multi(&c, &n));
	EXPECT_LINE(&c, "+OK Marked to be deleted.");
	EXPECT(&c, "+OK ");
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == sizeof(MSG3) - 1);
	free(body);
	EXPECT_LINE(&c, "+OK Logging out, messages deleted.");
	CLIENT_CLOSED(&c);
	TEST_EQ_INT(inbox_count(T.carol, STORE_FLAG_SEEN, NULL), 2);
}

/* A long listing to a client that does not read: the server stops
   (backpressure), then finishes once the client reads. */
static void
test_listing_backpressure(void)
{
	struct service_testclient c;
	char *body;
	size_t n, lines = 0;
	int64_t id = pop3d_testlib_account_id(&H, "many@example.org");

	reset_config();
	append_many(id, "S: x\r\n\r\nb\r\n", 3000);
	client_connect_rcvbuf(&c, &S.plain, NULL, 4096);
	EXPECT_LINE(&c, "+OK petrel ready.");
	service_testclient_send_str(&c,
	    "USER many@example.org\r\nPASS many pw\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	for (int i = 0; i < 20; i++)
		service_testclient_send_str(&c, "UIDL\r\nLIST\r\n");
	service_testclient_send_str(&c, "QUIT\r\n");
	for (int i = 0; i < 20; i++) {
		EXPECT_LINE(&c, "+OK");
		body = client_multi(&c, &n);
		TEST_ASSERT(body != NULL);
		lines = 0;
		for (size_t k = 0; body != NULL && k < n; k++)
			lines += body[k] == '\n';
		TEST_EQ_INT(lines, 3000);
		free(body);
		EXPECT(&c, "+OK 3000 messages");
		free(client_multi(&c, &n));
	}
	EXPECT_LINE(&c, "+OK Logging out.");
	CLIENT_CLOSED(&c);
}

static void
test_idle_timeout(void)
{
	struct service_testclient c;

	reset_config();
	H.config.limits.pop3_idle_timeout = 1;
	client_carol(&c);
	EXPECT_LINE(&c, "-ERR Disconnected for inactivity.");
	CLIENT_CLOSED(&c);
	reset_config();
}

/* The idle timeout cuts a client that stopped reading in the middle of a
   body: the connection ends without the terminator and without an -ERR
   line, which a client would take for a line of the message. */
static void
test_idle_timeout_mid_body(void)
{
	int64_t id = pop3d_testlib_account_id(&H, "many@example.org");
	struct service_testclient c;
	struct buf msg;
	long long until;
	char *status;

	reset_config();
	H.config.limits.pop3_idle_timeout = 1;
	buf_init(&msg, 0);
	buf_append_str(&msg, "Subject: big\r\n\r\n");
	while (msg.len < 8 * 1024 * 1024)
		buf_append_str(&msg, "a line of the body\r\n");
	inbox_clear(id);
	pop3d_testlib_append(&H, id, msg.data, msg.len);
	client_connect_rcvbuf(&c, &S.plain, NULL, 4096);
	EXPECT_LINE(&c, "+OK petrel ready.");
	service_testclient_send_str(&c,
	    "USER many@example.org\r\nPASS many pw\r\n"
	    "RETR 1\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	status = EXPECT_GET(&c, "+OK ");
	free(status);
	/* The client stops reading; the server stalls, then times out. */
	until = service_testclient_now_ms() + 2500;
	while (service_testclient_now_ms() < until) {
		pump();
		usleep(1000);
	}
	until = service_testclient_now_ms() + WAIT_MS;
	while (!c.eof && service_testclient_now_ms() < until)
		service_testclient_step(&c);
	TEST_ASSERT(c.eof);
	TEST_ASSERT(c.in.len > 0 && c.in.len < msg.len);
	TEST_ASSERT(memmem(c.in.data, c.in.len, "-ERR", 4) == NULL);
	TEST_ASSERT(c.in.len < 5 || memcmp(c.in.data + c.in.len - 5,
	    "\r\n.\r\n", 5) != 0);
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	inbox_clear(id);
	buf_clear(&msg);
	reset_config();
}

static void
test_graceful_shutdown(void)
{
	struct service_thread *thread = service_thread_new(H.base, &H.config,
	    "pop3d", pop3d_session_shutdown_link);
	struct service_thread *saved = H.thread;
	struct service_testclient a, b, c;

	reset_config();
	H.config.auth.failure_delay = 300;
	pop3d_testlib_reset_throttle(&H);
	H.thread = thread;
	client_plain(&a);
	client_carol(&b);
	/* c is inside a failed login's delay when the shutdown comes. */
	client_plain(&c);
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS bad\r\n");
	EXPECT_LINE(&c, "+OK");
	for (int i = 0; i < 20; i++)
		service_testclient_step(&c);
	service_thread_shutdown(thread);
	/* Idle ones close without a word. */
	CLIENT_CLOSED(&a);
	CLIENT_CLOSED(&b);
	EXPECT_LINE(&c, "-ERR [AUTH] Authentication failed.");
	CLIENT_CLOSED(&c);
	/* A new one gets the -ERR greeting. */
	client_connect_rcvbuf(&a, &S.plain, NULL, 0);
	EXPECT_LINE(&a, "-ERR [SYS/TEMP] Server shutting down.");
	CLIENT_CLOSED(&a);
	H.thread = saved;
	service_thread_free(&thread);
	reset_config();
}

/* The client goes away while a worker job (the login's check, a RETR
   chunk, the UPDATE) or a failed login's delay is in flight: the job's
   completion finds the session gone, and it frees itself once (ASan
   checks the rest). */
static void
test_drop_during_jobs(void)
{
	static const char *const scripts[] = {
		"USER carol@example.org\r\nPASS carol pw\r\n",
		"USER carol@example.org\r\nPASS carol pw\r\nRETR 1\r\n",
		"USER carol@example.org\r\nPASS carol pw\r\nDELE 3\r\n"
		    "QUIT\r\n",
		"USER carol@example.org\r\nPASS bad\r\n",
		"USER carol@example.org\r\nPASS carol pw\r\nTOP 1 1\r\n"
		    "RETR 2\r\n",
	};

	reset_config();
	H.config.auth.failure_delay = 200;
	pop3d_testlib_reset_throttle(&H);
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		for (int steps = 0; steps < 12; steps += 3) {
			struct service_testclient c;

			inbox_fill();
			client_plain(&c);
			service_testclient_send_str(&c, scripts[i]);
			for (int k = 0; k < steps; k++)
				pump();
			service_testclient_free(&c);
			WAIT_SESSIONS_GONE();
		}
	}
	reset_config();
}

/* SIGTERM while a RETR streams: the message is finished, whole, and then
   the connection closes without a word. */
static void
test_shutdown_during_retr(void)
{
	struct service_thread *thread = service_thread_new(H.base, &H.config,
	    "pop3d", pop3d_session_shutdown_link);
	struct service_thread *saved = H.thread;
	struct service_testclient c;
	struct buf msg;
	char *body;
	size_t n;

	reset_config();
	inbox_clear(T.carol);
	buf_init(&msg, 0);
	buf_append_str(&msg, "Subject: big\r\n\r\n");
	while (msg.len < 2 * 1024 * 1024)
		buf_append_str(&msg, ".a line of the body\r\n");
	pop3d_testlib_append(&H, T.carol, msg.data, msg.len);
	H.thread = thread;
	client_connect_rcvbuf(&c, &S.plain, NULL, 4096);
	EXPECT_LINE(&c, "+OK petrel ready.");
	service_testclient_send_str(&c,
	    "USER carol@example.org\r\nPASS carol pw\r\n"
	    "RETR 1\r\nNOOP\r\n");
	EXPECT_LINE(&c, "+OK");
	EXPECT_LINE(&c, "+OK Logged in.");
	EXPECT(&c, "+OK ");
	service_thread_shutdown(thread);
	body = client_multi(&c, &n);
	TEST_ASSERT(body != NULL && n == msg.len &&
	    memcmp(body, msg.data, n) == 0);
	free(body);
	CLIENT_CLOSED(&c);
	H.thread = saved;
	service_thread_free(&thread);
	buf_clear(&msg);
	inbox_clear(T.carol);
	reset_config();
}

/* Random lines, in and out of a login: the session answers each with
   one +OK/-ERR line (or a listing) and ends cleanly. */
static void
test_random_lines(void)
{
	static const char *const words[] = {
		"USER carol@example.org", "PASS carol pw", "STAT", "LIST",
		"LIST 1", "UIDL", "UIDL 9", "RETR 1", "RETR 3", "DELE 2",
		"RSET", "TOP 1 1", "NOOP", "CAPA", "AUTH PLAIN", "*", "X",
		"TOP 1 x", "RETR 99999999999", "",
	};
	uint32_t seed = 2024;
	long long deadline = service_testclient_now_ms() + 4 * WAIT_MS;

	reset_config();
	H.config.limits.max_errors = 0;
	for (int round = 0; round < 30; round++) {
		struct service_testclient c;
		struct buf script;

		inbox_fill();
		buf_init(&script, 0);
		for (int i = 0; i < 25; i++) {
			seed = seed * 1103515245u + 12345u;
			buf_printf(&script, "%s\r\n",
			    words[(seed >> 8) % (sizeof(words) /
			    sizeof(words[0]))]);
		}
		buf_append_str(&script, "QUIT\r\n");
		client_plain(&c);
		service_testclient_send(&c, script.data, script.len);
		/* A session left inside AUTH PLAIN took QUIT for its
		   response: EOF ends it too. */
		(void)shutdown(c.fd, SHUT_WR);
		while (!c.eof && service_testclient_now_ms() < deadline) {
			service_testclient_step(&c);
			buf_reset(&c.in);
		}
		TEST_ASSERT(c.eof);
		service_testclient_free(&c);
		WAIT_SESSIONS_GONE();
		buf_clear(&script);
	}
	reset_config();
}

/* --- setup -------------------------------------------------------------- */

static int
fill_directory(struct directory *dir, struct directory_error *err)
{
	char *bob, *error = NULL;
	int ret;

	bob = password_hash("bob secret", PASSWORD_SCHEME_ARGON2ID, &error);
	if (bob == NULL)
		panic("password_hash: %s", error);
	ret = directory_admin_domain_add(dir, "example.org", err) == -1 ||
	    directory_admin_domain_add(dir, "off.example", err) == -1 ||
	    directory_admin_account_add(dir, "bob@example.org", NULL, bob, 0,
	    NULL, err) == -1 ||
	    directory_admin_account_add(dir, "carol@example.org", NULL,
	    "{PLAIN}carol pw", 0, NULL, err) == -1 ||
	    directory_admin_account_add(dir, "many@example.org", NULL,
	    "{PLAIN}many pw", 0, NULL, err) == -1 ||
	    directory_admin_account_add(dir, "off@example.org", NULL,
	    "{PLAIN}off pw", 0, NULL, err) == -1 ||
	    directory_admin_account_set_enabled(dir, "off@example.org", false,
	    err) == -1 ||
	    directory_admin_account_add(dir, "nopw@example.org", NULL, NULL,
	    0, NULL, err) == -1 ||
	    directory_admin_account_add(dir, "dave@off.example", NULL,
	    "{PLAIN}dave pw", 0, NULL, err) == -1 ||
	    directory_admin_domain_set_enabled(dir, "off.example", false,
	    err) == -1 ? -1 : 0;
	free(bob);
	return ret;
}

static void
setup(void)
{
	pop3d_testlib_init(&H, HOST);
	pop3d_testlib_open(&H, test_tmpdir(), fill_directory);
	T.bob = pop3d_testlib_account_id(&H, "bob@example.org");
	T.carol = pop3d_testlib_account_id(&H, "carol@example.org");
	service_testclient_server_open(&S, H.base, &H.started, &H.ended, H.dir,
	    HOST, CONFIG_PROTOCOL_POP3, 110);
}

static void
teardown(void)
{
	service_testclient_server_close(&S);
	pop3d_testlib_clear(&H);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("PETREL_TEST_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	setup();
	TEST_RUN(test_greeting_and_capa);
	TEST_RUN(test_retr_list_uidl);
	TEST_RUN(test_dele);
	TEST_RUN(test_snapshot);
	TEST_RUN(test_update_failure);
	TEST_RUN(test_auth_failures);
	TEST_RUN(test_throttle);
	TEST_RUN(test_failure_timing);
	TEST_RUN(test_auth_plain);
	TEST_RUN(test_plaintext_never);
	TEST_RUN(test_implicit_tls);
	TEST_RUN(test_large_message);
	TEST_RUN(test_errors);
	TEST_RUN(test_byte_at_a_time);
	TEST_RUN(test_pipelined_half_close);
	TEST_RUN(test_listing_backpressure);
	TEST_RUN(test_idle_timeout);
	TEST_RUN(test_idle_timeout_mid_body);
	TEST_RUN(test_graceful_shutdown);
	TEST_RUN(test_drop_during_jobs);
	TEST_RUN(test_shutdown_during_retr);
	TEST_RUN(test_random_lines);
	teardown();
	return test_done();
}
