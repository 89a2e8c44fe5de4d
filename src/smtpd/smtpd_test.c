/* smtpd_test.c — SMTP sessions end to end inside one process: the real
   conn on a loopback TCP socket, a real event_base, a temporary data dir
   whose directory is made through the admin API, and the real queue.
   The test is the client: it writes bytes (whole, pipelined, or one at a
   time), runs the event loop until replies arrive, and checks the replies,
   the queued envelopes and the queued bytes. The base, data dir, queue
   and session start are smtpd_testlib's, shared with the session fuzzer. */
#include <arpa/inet.h>
#include <dirent.h>
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
#include <sqlite3.h>

#include "config/config.h"
#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "directory/directory_send_as.h"
#include "lib/buf.h"
#include "lib/base64.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/test.h"
#include "lib/tls.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "queue/queue.h"
#include "smtp/smtp_data.h"
#include "smtpd/smtpd_session.h"
#include "smtpd/smtpd_testlib.h"
#include "service/service_login.h"
#include "service/service_testclient.h"
#include "service/service_thread.h"

#define HOST "mx.example.test"
/* NOOPs a flooding client pipelines before it reads a reply. */
#define FLOOD_N 20000

static struct smtpd_testlib H;		/* base, data dir, queue, thread */
static struct service_testclient_server S;	/* listener, TLS contexts */

static struct {
	bool submission;		/* sessions start as submission */
} T;

/* --- harness ------------------------------------------------------------ */

static void
pump(void)
{
	event_base_loop(H.base, EVLOOP_NONBLOCK);
}

/* rcvbuf: the client socket's receive buffer (0: the system's), small
   to make the server's output back up. */
static void
client_connect_rcvbuf(struct service_testclient *c,
    struct service_thread *thread, const struct config_listener *listener,
    SSL_CTX *tls, int rcvbuf)
{
	int sfd = service_testclient_connect(c, &S, rcvbuf);

	c->smtp = true;
	smtpd_testlib_start(&H, sfd, thread, listener, tls, T.submission);
}

static void
client_connect(struct service_testclient *c, struct service_thread *thread,
    const struct config_listener *listener, SSL_CTX *tls)
{
	client_connect_rcvbuf(c, thread, listener, tls, 0);
}

/* The usual client: the plaintext listener, the main thread state. */
static void
client_plain(struct service_testclient *c)
{
	client_connect(c, H.thread, &S.plain, NULL);
}

/* Each reply of the NULL-terminated list, in turn. */
static void
expect_all_at(const char *file, int line, struct service_testclient *c,
    const char *const *replies)
{
	for (size_t i = 0; replies[i] != NULL; i++)
		free(service_testclient_expect_at(file, line, c, replies[i]));
}

#define EXPECT_ALL(c, ...) expect_all_at(__FILE__, __LINE__, (c), \
	(const char *const[]){ __VA_ARGS__, NULL })

#define WAIT_SESSIONS_GONE() \
	service_testclient_wait_gone_at(__FILE__, __LINE__, &S)

static void
client_quit(struct service_testclient *c)
{
	service_testclient_send_str(c, "QUIT\r\n");
	EXPECT(c, "221 2.0.0");
	CLIENT_CLOSED(c);
}

static void
client_hello(struct service_testclient *c)
{
	EXPECT(c, "220 " HOST " ESMTP petrel");
	service_testclient_send_str(c, "EHLO client.test\r\n");
	EXPECT(c, "250-" HOST);
}

/* EHLO again: whether its reply holds what. */
static bool
ehlo_offers(struct service_testclient *c, const char *what)
{
	char *r;
	bool found;

	service_testclient_send_str(c, "EHLO client.test\r\n");
	r = EXPECT_GET(c, "250-");
	found = r != NULL && strstr(r, what) != NULL;
	free(r);
	return found;
}

/* MAIL and RCPT for alice and DATA, in one write, and their replies. */
static void
client_to_data(struct service_testclient *c)
{
	service_testclient_send_str(c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org>\r\nDATA\r\n");
	EXPECT_ALL(c, "250 2.1.0", "250 2.1.5", "354 ");
}

/* A transaction for alice up to DATA, then body (with its end or not). */
static void
send_message(struct service_testclient *c, const char *body)
{
	client_to_data(c);
	service_testclient_send_str(c, body);
}

/* A plaintext session sent script in one write: it must answer with
   replies (NULL-terminated), in order, and then close. */
static void
closing_script(const char *script, const char *const *replies)
{
	struct service_testclient c;

	client_plain(&c);
	EXPECT(&c, "220 ");
	service_testclient_send_str(&c, script);
	expect_all_at(__FILE__, __LINE__, &c, replies);
	CLIENT_CLOSED(&c);
}

/* One line the client sends and the start of the reply it must get. */
struct exchange {
	const char *send;
	const char *reply;
};

/* Each exchange in turn: send, then wait for the reply. */
static void
converse_at(const char *file, int line, struct service_testclient *c,
    const struct exchange *ex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		service_testclient_send_str(c, ex[i].send);
		free(service_testclient_expect_at(file, line, c, ex[i].reply));
	}
}

#define CONVERSE(c, ex) converse_at(__FILE__, __LINE__, (c), (ex), \
	sizeof(ex) / sizeof((ex)[0]))

static void
reset_config(void)
{
	H.config.limits = H.defaults;
}

/* "250 2.0.0 Ok: queued as <id>" -> id (heap), or NULL. */
static char *
queued_id(const char *reply)
{
	const char *p = reply != NULL ? strstr(reply, "queued as ") : NULL;

	return p != NULL ? xstrdup(p + strlen("queued as ")) : NULL;
}

/* The reply to a message's end: its queue id (heap), or NULL. */
static char *
expect_queued_at(const char *file, int line, struct service_testclient *c)
{
	char *r = service_testclient_expect_at(file, line, c,
	    "250 2.0.0 Ok: queued as ");
	char *id = queued_id(r);

	free(r);
	return id;
}

#define EXPECT_QUEUED(c) expect_queued_at(__FILE__, __LINE__, (c))

/* The envelope of id into *env (the caller clears it), or false, with the
   failure reported when there is an id. */
static bool
queued_envelope_at(const char *file, int line, const char *id,
    struct queue_envelope *env)
{
	char *error = NULL;
	int r;

	if (id == NULL)
		return false;
	r = queue_show(H.queue, id, env, &error);
	if (r != 0)
		test_fail(file, line, "queue_show %s: %d %s", id, r,
		    error != NULL ? error : "");
	free(error);
	return r == 0;
}

#define QUEUED_ENVELOPE(id, env) \
	queued_envelope_at(__FILE__, __LINE__, (id), (env))

static size_t
queue_count(void)
{
	struct queue_envelope *envs = NULL;
	char *error = NULL;
	size_t n = 0;

	if (queue_list(H.queue, &envs, &n, &error) == -1) {
		test_fail(__FILE__, __LINE__, "queue_list: %s", error);
		free(error);
		return 0;
	}
	queue_envelopes_free(envs, n);
	return n;
}

/* Files in DATA/queue/tmp: messages being received, or leaked. */
static size_t
queue_tmp_files(void)
{
	char *path = xasprintf("%s/queue/tmp", H.dir);
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	free(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Nothing left in tmp/, and want messages queued in all. */
static void
check_queue_at(const char *file, int line, size_t want)
{
	size_t tmp = queue_tmp_files(), n = queue_count();

	if (tmp != 0)
		test_fail(file, line, "%zu files left in queue/tmp", tmp);
	if (n != want)
		test_fail(file, line, "%zu messages queued, want %zu", n,
		    want);
}

#define CHECK_QUEUE(want) check_queue_at(__FILE__, __LINE__, (want))

/* The stored message of id split into its Received header (heap, through
   the CRLF ending it) and the rest (heap, *body_len_r bytes). */
static bool
queued_message(const char *id, char **hdr_r, char **body_r,
    size_t *body_len_r)
{
	char *path = queue_message_path(H.queue, id);
	char *data = NULL;
	size_t len = 0, i;
	bool ok = false;

	*hdr_r = *body_r = NULL;
	if (fsutil_read_file(path, 64 * 1024 * 1024, &data, &len) == -1)
		goto out;
	/* The header ends at the first CRLF not followed by a tab. */
	for (i = 0; i + 1 < len; i++) {
		if (data[i] == '\r' && data[i + 1] == '\n' &&
		    (i + 2 >= len || data[i + 2] != '\t'))
			break;
	}
	if (i + 1 >= len || strncmp(data, "Received: ", 10) != 0)
		goto out;
	*hdr_r = xstrndup(data, i + 2);
	*body_len_r = len - (i + 2);
	*body_r = xmalloc(*body_len_r + 1);
	memcpy(*body_r, data + i + 2, *body_len_r);
	(*body_r)[*body_len_r] = '\0';
	ok = true;
out:
	free(data);
	free(path);
	return ok;
}

/* What smtp_data makes of raw DATA input: the bytes the queue must hold. */
static char *
decoded(const char *raw, size_t len, size_t *len_r)
{
	struct smtp_data d;
	struct buf out;

	buf_init(&out, 2 * len + 16);
	smtp_data_init(&d, 1000);
	(void)smtp_data_feed(&d, raw, len, &out);
	TEST_ASSERT(d.done);
	*len_r = out.len;
	return buf_steal(&out);
}

static void
check_queued_body_at(const char *file, int line, const char *id,
    const void *want, size_t want_len, char **hdr_r)
{
	char *hdr, *body;
	size_t len;

	if (id == NULL || !queued_message(id, &hdr, &body, &len)) {
		test_fail(file, line, "no queued message %s",
		    id != NULL ? id : "(null)");
		if (hdr_r != NULL)
			*hdr_r = NULL;
		return;
	}
	if (len != want_len || memcmp(body, want, len) != 0)
		test_fail(file, line, "queued body differs: got %zu bytes "
		    "\"%.*s\", want %zu", len, (int)(len > 200 ? 200 : len),
		    body, want_len);
	free(body);
	if (hdr_r != NULL)
		*hdr_r = hdr;
	else
		free(hdr);
}

#define CHECK_QUEUED(id, want, len, hdr_r) \
	check_queued_body_at(__FILE__, __LINE__, (id), (want), (len), (hdr_r))

/* --- tests -------------------------------------------------------------- */

static void
test_greeting_and_ehlo(void)
{
	struct service_testclient c;
	char *r;

	reset_config();
	client_plain(&c);
	EXPECT(&c, "220 " HOST " ESMTP petrel");
	service_testclient_send_str(&c, "EHLO client.test\r\n");
	r = EXPECT_GET(&c, "250-" HOST "\r\n");
	if (r != NULL) {
		TEST_ASSERT(strstr(r, "\r\n250-PIPELINING\r\n") != NULL);
		TEST_ASSERT(strstr(r, "\r\n250-SIZE 52428800\r\n") != NULL);
		TEST_ASSERT(strstr(r, "\r\n250-8BITMIME\r\n") != NULL);
		TEST_ASSERT(strstr(r, "\r\n250-SMTPUTF8\r\n") != NULL);
		TEST_ASSERT(strstr(r, "\r\n250-ENHANCEDSTATUSCODES\r\n") !=
		    NULL);
		TEST_ASSERT(strstr(r, "\r\n250-DSN\r\n") != NULL);
		TEST_ASSERT(strstr(r, "\r\n250-CHUNKING\r\n") != NULL);
		TEST_ASSERT(strstr(r, "\r\n250 BINARYMIME") != NULL);
		/* Plaintext listener: no STARTTLS, no AUTH. */
		TEST_ASSERT(strstr(r, "STARTTLS") == NULL);
		TEST_ASSERT(strstr(r, "AUTH") == NULL);
	}
	free(r);
	service_testclient_send_str(&c, "HELO client.test\r\n");
	EXPECT(&c, "250 " HOST);
	service_testclient_send_str(&c, "EHLO\r\n");
	EXPECT(&c, "501 5.5.4");
	client_quit(&c);
}

static const char pipelined_body[] =
    "Subject: pipelined\r\n"
    "\r\n"
    "..leading dot\r\n"
    "smuggled\n.\nMAIL FROM:<evil@attacker.test>\r\n"
    "bare\r.\rcr\r\n"
    "\r\n.\n"
    "last line\r\n"
    ".\r\n";

static void
test_pipelined_transaction(void)
{
	struct queue_envelope env = { 0 };
	size_t before = queue_count(), want_len;
	char *id, *want, *hdr = NULL;
	struct service_testclient c;

	reset_config();
	client_plain(&c);
	EXPECT(&c, "220 ");
	/* RFC 2920: everything up to DATA in one write. */
	service_testclient_send_str(&c, "EHLO client.test\r\n"
	    "MAIL FROM:<sender@remote.test> SIZE=300 BODY=8BITMIME "
	    "RET=HDRS ENVID=env+2Bid\r\n"
	    "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;alice@example.org\r\n"
	    "RCPT TO:<nobody@example.org>\r\n"
	    "DATA\r\n");
	EXPECT(&c, "250-" HOST);
	EXPECT(&c, "250 2.1.0");
	EXPECT(&c, "250 2.1.5");
	EXPECT(&c, "550 5.1.1 <nobody@example.org>");
	EXPECT(&c, "354 End data with <CR><LF>.<CR><LF>");
	/* The body and the next command in one write: "\n.\n" and
	   "\r\n.\n" are data (SMTP smuggling); only CRLF.CRLF ends it. */
	service_testclient_send_str(&c, pipelined_body);
	service_testclient_send_str(&c, "NOOP\r\n");
	id = EXPECT_QUEUED(&c);
	EXPECT(&c, "250 2.0.0 Ok");
	TEST_EQ_INT(queue_count(), before + 1);

	want = decoded(pipelined_body, strlen(pipelined_body), &want_len);
	CHECK_QUEUED(id, want, want_len, &hdr);
	/* Dot-unstuffed, the smuggled command kept as text. */
	TEST_ASSERT(memmem(want, want_len, "\r\n.leading dot\r\n", 16) !=
	    NULL);
	TEST_ASSERT(memmem(want, want_len, "..leading", 9) == NULL);
	TEST_ASSERT(memmem(want, want_len, "MAIL FROM:<evil@attacker.test>",
	    30) != NULL);
	TEST_ASSERT(memmem(want, want_len, "last line\r\n", 11) != NULL);
	free(want);
	if (hdr != NULL && id != NULL) {
		char *head = xasprintf("Received: from client.test (unknown "
		    "[127.0.0.1])\r\n\tby " HOST " (petrel) with ESMTP id "
		    "%s\r\n\tfor <alice@example.org>; ", id);

		TEST_ASSERT(strncmp(hdr, head, strlen(head)) == 0);
		free(head);
	}
	free(hdr);

	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_EQ_STR(env.mail_from, "sender@remote.test");
		TEST_EQ_STR(env.helo, "client.test");
		TEST_EQ_STR(env.client_addr, "127.0.0.1");
		TEST_EQ_INT(env.body, QUEUE_BODY_8BITMIME);
		TEST_EQ_INT(env.ret, QUEUE_RET_HDRS);
		TEST_EQ_STR(env.envid, "env+id");
		TEST_ASSERT(!env.smtputf8);
		TEST_EQ_INT(env.n_rcpts, 1);
		if (env.n_rcpts == 1) {
			TEST_EQ_STR(env.rcpts[0].address, "alice@example.org");
			TEST_EQ_INT(env.rcpts[0].notify,
			    QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
			TEST_EQ_STR(env.rcpts[0].orcpt,
			    "rfc822;alice@example.org");
		}
		queue_envelope_clear(&env);
	}
	free(id);
	client_quit(&c);
}

/* The same conversation, every byte in its own write with the event loop
   run in between: every parser on the way must wait, never guess. */
static void
test_byte_at_a_time(void)
{
	static const char body[] = "Subject: slow\r\n\r\n..dot\r\nx\n.\ny\r\n"
	    ".\r\n";
	static const char *const script[] = {
		"EHLO slow.test\r\n",
		"MAIL FROM:<slow@remote.test>\r\n",
		"RCPT TO:<bob@example.org>\r\n",
		"DATA\r\n",
		body,
		"MAIL FROM:<slow@remote.test>\r\n",
		"RCPT TO:<bob@example.org>\r\n",
		"BDAT 7\r\nchunk\r\n",
		"BDAT 3 LAST\r\nxyz",
		"QUIT\r\n",
	};
	static const char *const replies[] = {
		"220 ", ("250-" HOST), "250 2.1.0", "250 2.1.5", "354 ",
		"250 2.0.0 Ok: queued as ", "250 2.1.0", "250 2.1.5",
		"250 2.0.0 7 octets received", "250 2.0.0 Ok: queued as ",
		"221 2.0.0",
	};
	char *ids[2] = { NULL, NULL }, *want;
	size_t n_ids = 0, want_len;
	struct service_testclient c;

	reset_config();
	client_plain(&c);
	for (size_t i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
		for (const char *p = script[i]; *p != '\0'; p++) {
			service_testclient_send(&c, p, 1);
			pump();
			pump();
		}
	}
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		char *r = EXPECT_GET(&c, replies[i]);

		if (strstr(replies[i], "queued") != NULL && n_ids < 2)
			ids[n_ids++] = queued_id(r);
		free(r);
	}
	CLIENT_CLOSED(&c);

	want = decoded(body, strlen(body), &want_len);
	CHECK_QUEUED(ids[0], want, want_len, NULL);
	free(want);
	CHECK_QUEUED(ids[1], "chunk\r\nxyz", 10, NULL);
	free(ids[0]);
	free(ids[1]);
}

static void
test_relay_and_recipients(void)
{
	static const struct exchange ex[] = {
		{ "MAIL FROM:<sender@remote.test>\r\n", "250 2.1.0" },
		/* Not our domain: no relaying without AUTH. */
		{ "RCPT TO:<someone@other.test>\r\n",
		  "550 5.7.1 <someone@other.test>: Relay access denied" },
		/* Relay tricks through our own domain. */
		{ "RCPT TO:<alice%other.test@example.org>\r\n",
		  "550 5.7.1 <alice%other.test@example.org>: Relay access "
		  "denied" },
		{ "RCPT TO:<other.test!alice@example.org>\r\n", "550 5.7.1" },
		{ "RCPT TO:<\"alice@other.test\"@example.org>\r\n",
		  "550 5.7.1" },
		{ "RCPT TO:<@relay.test:alice@example.org>\r\n", "501 5.1.3" },
		/* Directory verdicts. */
		{ "RCPT TO:<carol@example.org>\r\n", "550 5.2.1" },
		{ "RCPT TO:<nobody@example.org>\r\n",
		  "550 5.1.1 <nobody@example.org>" },
		/* RFC 5321 §4.5.1: <Postmaster> is always accepted; the host
		   name mx.example.test is not a domain of ours, its parent
		   is. */
		{ "RCPT TO:<Postmaster>\r\n", "250 2.1.5" },
		{ "RCPT TO:<ALICE@EXAMPLE.ORG>\r\n", "250 2.1.5" },
		{ "DATA\r\n", "354 " },
	};
	struct queue_envelope env = { 0 };
	char *id, *hdr = NULL;
	struct service_testclient c;

	reset_config();
	client_plain(&c);
	client_hello(&c);
	CONVERSE(&c, ex);
	service_testclient_send_str(&c, "Subject: two\r\n\r\nhi\r\n.\r\n");
	id = EXPECT_QUEUED(&c);
	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_EQ_INT(env.n_rcpts, 2);
		if (env.n_rcpts == 2) {
			TEST_EQ_STR(env.rcpts[0].address,
			    "postmaster@example.test");
			TEST_EQ_STR(env.rcpts[1].address, "ALICE@EXAMPLE.ORG");
		}
		queue_envelope_clear(&env);
		/* Two recipients: no "for" clause. */
		CHECK_QUEUED(id, "Subject: two\r\n\r\nhi\r\n", 20, &hdr);
		TEST_ASSERT(hdr != NULL && strstr(hdr, "\tfor <") == NULL);
		free(hdr);
	}
	free(id);
	client_quit(&c);
}

static void
test_bad_sequence(void)
{
	static const char vrfy[] = "252 2.5.2 Cannot VRFY user, but will "
	    "accept message and attempt delivery";
	static const struct exchange ex[] = {
		{ "MAIL FROM:<a@remote.test>\r\n",
		  "503 5.5.1 Error: send HELO/EHLO first" },
		{ "RCPT TO:<alice@example.org>\r\n",
		  "503 5.5.1 Error: need MAIL command" },
		{ "DATA\r\n", "503 5.5.1" },
		{ "EHLO client.test\r\n", "250-" },
		{ "RCPT TO:<alice@example.org>\r\n",
		  "503 5.5.1 Error: need MAIL command" },
		{ "MAIL FROM:<a@remote.test>\r\n", "250 2.1.0" },
		{ "MAIL FROM:<a@remote.test>\r\n",
		  "503 5.5.1 Error: nested MAIL command" },
		{ "DATA\r\n", "503 5.5.1 Error: need RCPT command" },
		{ "RCPT TO:<nobody@example.org>\r\n", "550 5.1.1" },
		{ "DATA\r\n", "554 5.5.1 Error: no valid recipients" },
		/* STARTTLS inside a transaction. */
		{ "STARTTLS\r\n", "503 5.5.1" },
		{ "RSET\r\n", "250 2.0.0 Ok" },
		{ "RCPT TO:<alice@example.org>\r\n", "503 5.5.1" },
		/* EHLO mid-transaction resets it (RFC 5321 §4.1.4). */
		{ "MAIL FROM:<a@remote.test>\r\n", "250 2.1.0" },
		{ "EHLO again.test\r\n", "250-" },
		{ "RCPT TO:<alice@example.org>\r\n", "503 5.5.1" },
		{ "FROB\r\n", "500 5.5.2" },
		{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "503 5.5.1" },
		{ "STARTTLS\r\n", "454 4.7.0" },
		{ "VRFY alice\r\n", vrfy },
		{ "VRFY nobody@example.org\r\n", vrfy },
		{ "EXPN staff\r\n", "502 5.5.1" },
		{ "HELP\r\n", "214 2.0.0" },
		{ "NOOP whatever\r\n", "250 2.0.0 Ok" },
		{ "QUIT now\r\n", "501 5.5.4" },
	};
	struct service_testclient c;

	reset_config();
	client_plain(&c);
	EXPECT(&c, "220 ");
	CONVERSE(&c, ex);
	client_quit(&c);
}

static void
test_nul_and_utf8(void)
{
	static const struct exchange ex[] = {
		/* RFC 6531 §3.4: UTF-8 addresses need SMTPUTF8. */
		{ "MAIL FROM:<jos\xc3\xa9@remote.test>\r\n", "553 5.6.7" },
		{ "MAIL FROM:<a@remote.test>\r\n", "250 2.1.0" },
		{ "RCPT TO:<\xc3\xbc@example.org>\r\n", "553 5.6.7" },
		{ "RSET\r\n", "250 " },
		{ "MAIL FROM:<jos\xc3\xa9@remote.test> SMTPUTF8\r\n",
		  "250 2.1.0" },
		{ "RCPT TO:<\xc3\xbc@example.org>\r\n", "550 5.1.1" },
		{ "RCPT TO:<alice@example.org>\r\n", "250 2.1.5" },
		{ "DATA\r\n", "354 " },
	};
	struct queue_envelope env = { 0 };
	char *id, *hdr = NULL;
	struct service_testclient c;

	reset_config();
	client_plain(&c);
	EXPECT(&c, "220 ");
	service_testclient_send(&c, "NOOP\0hidden\r\n", 13);
	EXPECT(&c, "501 5.5.2");
	service_testclient_send(&c, "EHLO a\0b\r\n", 10);
	EXPECT(&c, "501 5.5.2");
	service_testclient_send_str(&c, "EHLO client.test\r\n");
	EXPECT(&c, "250-");
	service_testclient_send(&c, "MAIL FROM:<a\0@remote.test>\r\n", 28);
	EXPECT(&c, "501 5.5.2");
	CONVERSE(&c, ex);
	service_testclient_send_str(&c,
	    "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe\r\n.\r\n");
	id = EXPECT_QUEUED(&c);
	CHECK_QUEUED(id, "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe\r\n", 22, &hdr);
	TEST_ASSERT(hdr != NULL && strstr(hdr, " with UTF8SMTP id ") != NULL);
	free(hdr);
	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_ASSERT(env.smtputf8);
		TEST_EQ_STR(env.mail_from, "jos\xc3\xa9@remote.test");
		queue_envelope_clear(&env);
	}
	free(id);
	client_quit(&c);
}

static void
test_command_line_limits(void)
{
	struct service_testclient c;
	char line[700];
	char *flood;

	reset_config();
	client_plain(&c);
	EXPECT(&c, "220 ");
	/* 512 octets with CRLF: the longest line RFC 5321 allows. */
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'a', 505);
	memcpy(line + 510, "\r\n", 2);
	service_testclient_send(&c, line, 512);
	EXPECT(&c, "250 2.0.0 Ok");
	/* One more octet: refused, and the session goes on. */
	memset(line + 5, 'a', 506);
	memcpy(line + 511, "\r\n", 2);
	service_testclient_send(&c, line, 513);
	EXPECT(&c, "500 5.5.2");
	service_testclient_send_str(&c, "NOOP\r\n");
	EXPECT(&c, "250 2.0.0 Ok");
	/* 200 KB without a line end, in pieces: one reply, then in step. */
	flood = xmalloc(200 * 1024);
	memset(flood, 'x', 200 * 1024);
	service_testclient_send(&c, flood, 200 * 1024);
	free(flood);
	service_testclient_send_str(&c, "\r\nNOOP\r\n");
	EXPECT(&c, "500 5.5.2");
	EXPECT(&c, "250 2.0.0 Ok");
	client_quit(&c);
}

static void
test_message_limits(void)
{
	static const char too_big[] = "552 5.3.4 Message size exceeds fixed "
	    "maximum message size";
	size_t before;
	struct service_testclient c;
	struct buf body;
	char *id;

	reset_config();
	H.config.limits.max_message_size = 2000;
	client_plain(&c);
	EXPECT(&c, "220 ");
	TEST_ASSERT(ehlo_offers(&c, "250-SIZE 2000\r\n"));
	/* RFC 1870: a declared size over the limit is refused at MAIL. */
	service_testclient_send_str(&c,
	    "MAIL FROM:<a@remote.test> SIZE=2001\r\n");
	EXPECT(&c, too_big);
	before = queue_count();

	/* Over the limit without a declaration: read to the end, then 552. */
	service_testclient_send_str(&c,
	    "MAIL FROM:<a@remote.test> SIZE=2000\r\n"
	    "RCPT TO:<alice@example.org>\r\nDATA\r\n");
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5", "354 ");
	buf_init(&body, 0);
	for (int i = 0; i < 30; i++)
		TEST_ASSERT(buf_printf(&body, "%098d\r\n", i) == 0);
	TEST_ASSERT(buf_append_str(&body, ".\r\nNOOP\r\n") == 0);
	service_testclient_send(&c, body.data, body.len);
	EXPECT_ALL(&c, too_big, "250 2.0.0 Ok");
	service_testclient_send_str(&c, "RCPT TO:<alice@example.org>\r\n");
	EXPECT(&c, "503 5.5.1");

	/* A line over 998 characters (RFC 5322 §2.1.1). */
	client_to_data(&c);
	buf_reset(&body);
	TEST_ASSERT(buf_append_str(&body, "short\r\n") == 0);
	for (int i = 0; i < 1200; i++)
		TEST_ASSERT(buf_append(&body, "y", 1) == 0);
	TEST_ASSERT(buf_append_str(&body, "\r\n.\r\n") == 0);
	service_testclient_send(&c, body.data, body.len);
	EXPECT(&c, "500 5.5.2 Message line too long");
	TEST_EQ_INT(queue_count(), before);

	/* Exactly 998 characters is fine. */
	client_to_data(&c);
	buf_reset(&body);
	for (int i = 0; i < 998; i++)
		TEST_ASSERT(buf_append(&body, "z", 1) == 0);
	TEST_ASSERT(buf_append_str(&body, "\r\n.\r\n") == 0);
	service_testclient_send(&c, body.data, body.len);
	id = EXPECT_QUEUED(&c);
	CHECK_QUEUED(id, body.data, 1000, NULL);
	free(id);
	TEST_EQ_INT(queue_count(), before + 1);
	buf_clear(&body);
	client_quit(&c);
}

static void
test_bdat(void)
{
	static const char bin[12] = "\0\r\n.\r\nbin\xff\n\r";
	struct queue_envelope env = { 0 };
	struct service_testclient c;
	struct buf chunk;
	char *id;

	reset_config();
	H.config.limits.max_message_size = 2000;
	client_plain(&c);
	client_hello(&c);
	service_testclient_send_str(&c,
	    "MAIL FROM:<a@remote.test> BODY=BINARYMIME\r\n"
	    "RCPT TO:<alice@example.org>\r\nDATA\r\n");
	/* RFC 3030 §3: BINARYMIME only by BDAT. */
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5",
	    "503 5.5.1 Error: BODY=BINARYMIME requires BDAT");
	/* Binary-safe: NUL, CRLF.CRLF, bare LF and CR are just octets. */
	service_testclient_send_str(&c, "BDAT 12\r\n");
	service_testclient_send(&c, bin, sizeof(bin));
	EXPECT(&c, "250 2.0.0 12 octets received");
	service_testclient_send_str(&c, "DATA\r\n");
	EXPECT(&c, "503 5.5.1 Error: DATA after BDAT");
	service_testclient_send_str(&c, "MAIL FROM:<x@remote.test>\r\n");
	EXPECT(&c, "503 5.5.1");
	service_testclient_send_str(&c, "BDAT 6 LAST\r\nending");
	id = EXPECT_QUEUED(&c);
	CHECK_QUEUED(id, "\0\r\n.\r\nbin\xff\n\rending", 18, NULL);
	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_EQ_INT(env.body, QUEUE_BODY_BINARYMIME);
		queue_envelope_clear(&env);
	}
	free(id);

	/* BDAT 0 LAST: an empty message is still a message. */
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org>\r\nBDAT 0 LAST\r\n");
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5");
	id = EXPECT_QUEUED(&c);
	CHECK_QUEUED(id, "", 0, NULL);
	free(id);

	/* No valid recipient: the chunk is consumed, then 554. */
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<nobody@example.org>\r\nBDAT 5\r\nhelloNOOP\r\n");
	EXPECT_ALL(&c, "250 2.1.0", "550 5.1.1", "554 5.5.1", "250 2.0.0 Ok");
	service_testclient_send_str(&c, "RSET\r\nBDAT 3\r\nabcNOOP\r\n");
	EXPECT_ALL(&c, "250 2.0.0 Ok", "503 5.5.1 Error: need MAIL command",
	    "250 2.0.0 Ok");

	/* Over the size limit across chunks: consumed, 552, reset. */
	buf_init(&chunk, 0);
	TEST_ASSERT(buf_append_str(&chunk, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org>\r\nBDAT 1500\r\n") == 0);
	for (int i = 0; i < 1500; i++)
		TEST_ASSERT(buf_append(&chunk, "\n", 1) == 0);
	TEST_ASSERT(buf_append_str(&chunk, "BDAT 1000 LAST\r\n") == 0);
	for (int i = 0; i < 1000; i++)
		TEST_ASSERT(buf_append(&chunk, "B", 1) == 0);
	TEST_ASSERT(buf_append_str(&chunk, "NOOP\r\n") == 0);
	service_testclient_send(&c, chunk.data, chunk.len);
	buf_clear(&chunk);
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5",
	    "250 2.0.0 1500 octets received", "552 5.3.4", "250 2.0.0 Ok");
	service_testclient_send_str(&c, "RCPT TO:<alice@example.org>\r\n");
	EXPECT(&c, "503 5.5.1");

	/* A size we cannot even parse loses the framing: reply, close. */
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "BDAT 99999999999999999999999\r\nNOOP\r\n");
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5", "501 5.5.4");
	CLIENT_CLOSED(&c);
}

static void
test_error_budget(void)
{
	reset_config();
	H.config.limits.max_errors = 3;
	closing_script("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n", (const char *const[]){
	    "500 5.5.2", "500 5.5.2", "500 5.5.2",
	    "421 4.7.0 Too many errors", NULL });

	/* Past max_commands_before_data, each such command is an error. */
	H.config.limits.max_errors = 2;
	H.config.limits.max_commands_before_data = 2;
	closing_script("NOOP\r\nRSET\r\nNOOP\r\nVRFY x\r\nNOOP\r\n",
	    (const char *const[]){ "250 ", "250 ", "250 ", "252 ",
	    "421 4.7.0 Too many errors", NULL });
}

static void
test_unknown_recipient_throttle(void)
{
	struct service_testclient c;
	long long t0;

	reset_config();
	H.config.limits.unknown_rcpt_delay_after = 2;
	H.config.limits.unknown_rcpt_close_after = 4;
	H.config.limits.unknown_rcpt_delay_ms = 150;
	client_plain(&c);
	client_hello(&c);
	service_testclient_send_str(&c, "MAIL FROM:<harvest@remote.test>\r\n");
	EXPECT(&c, "250 2.1.0");
	t0 = service_testclient_now_ms();
	service_testclient_send_str(&c, "RCPT TO:<n1@example.org>\r\n"
	    "RCPT TO:<n2@example.org>\r\n"
	    "RCPT TO:<n3@example.org>\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "NOOP\r\n");
	EXPECT_ALL(&c, "550 5.1.1 <n1@example.org>",
	    "550 5.1.1 <n2@example.org>");
	/* From the third on, every RCPT answer waits (accepted too), and
	   the pipelined replies keep their order. */
	EXPECT(&c, "550 5.1.1 <n3@example.org>");
	/* A few ms of slack: libevent measures the delay from its cached
	   loop time, which may be read a little before t0. */
	TEST_ASSERT(service_testclient_now_ms() - t0 >= 140);
	EXPECT(&c, "250 2.1.5");
	TEST_ASSERT(service_testclient_now_ms() - t0 >= 290);
	EXPECT(&c, "250 2.0.0 Ok");
	service_testclient_send_str(&c, "RCPT TO:<n4@example.org>\r\n");
	EXPECT(&c, "550 5.1.1 <n4@example.org>");
	service_testclient_send_str(&c, "RCPT TO:<alice@example.org>\r\n");
	EXPECT(&c, "421 4.7.0 Too many unknown recipients");
	CLIENT_CLOSED(&c);
}

static void
test_recipient_limit(void)
{
	struct queue_envelope env = { 0 };
	struct service_testclient c;
	char *id;

	reset_config();
	H.config.limits.max_recipients = 2;
	client_plain(&c);
	client_hello(&c);
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "RCPT TO:<bob@example.org>\r\n"
	    "RCPT TO:<postmaster@example.test>\r\n"
	    "DATA\r\n");
	/* The second 250 2.1.5 is a duplicate, kept once. */
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5", "250 2.1.5", "250 2.1.5",
	    "452 4.5.3", "354 ");
	service_testclient_send_str(&c, "x\r\n.\r\n");
	id = EXPECT_QUEUED(&c);
	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_EQ_INT(env.n_rcpts, 2);
		queue_envelope_clear(&env);
	}
	free(id);
	client_quit(&c);
}

static void
test_idle_timeout(void)
{
	struct service_testclient c;
	long long t0;

	reset_config();
	H.config.limits.idle_timeout = 1;
	client_plain(&c);
	t0 = service_testclient_now_ms();
	EXPECT(&c, "220 ");
	EXPECT(&c, "421 4.4.2 " HOST " Error: timeout exceeded");
	TEST_ASSERT(service_testclient_now_ms() - t0 >= 900);
	CLIENT_CLOSED(&c);
}

static void
test_graceful_shutdown(void)
{
	static const char bye[] = "421 4.3.2 Service shutting down";
	struct service_thread *th = service_thread_new(H.base, &H.config,
	    "smtpd", smtpd_session_shutdown_link);
	struct service_testclient a, b, hs, tx, late;
	char *id;

	reset_config();
	client_connect(&a, th, &S.plain, NULL);
	client_hello(&a);
	/* Implicit TLS, the client never starts the handshake. */
	client_connect(&hs, th, &S.implicit, S.server_tls);
	client_connect(&tx, th, &S.plain, NULL);
	client_hello(&tx);
	service_testclient_send_str(&tx, "MAIL FROM:<a@remote.test>\r\n");
	EXPECT(&tx, "250 2.1.0");
	client_connect(&b, th, &S.plain, NULL);
	client_hello(&b);
	send_message(&b, "Subject: in flight\r\n\r\n");
	service_testclient_step(&b);

	service_thread_shutdown(th);
	/* Idle: told at once. */
	EXPECT(&a, bye);
	WAIT_EOF(&a);
	service_testclient_free(&a);
	/* Inside a handshake: dropped, no plaintext. */
	WAIT_EOF(&hs);
	service_testclient_free(&hs);
	/* Inside a transaction: it goes on until it ends. */
	service_testclient_send_str(&tx,
	    "RCPT TO:<alice@example.org>\r\nRSET\r\n"
	    "NOOP\r\n");
	EXPECT_ALL(&tx, "250 2.1.5", "250 2.0.0 Ok", bye);
	WAIT_EOF(&tx);
	service_testclient_free(&tx);
	/* In DATA: the message finishes and is queued, then 421. */
	service_testclient_send_str(&b, "done\r\n.\r\nNOOP\r\n");
	id = EXPECT_QUEUED(&b);
	CHECK_QUEUED(id, "Subject: in flight\r\n\r\ndone\r\n", 28, NULL);
	free(id);
	EXPECT(&b, bye);
	WAIT_EOF(&b);
	service_testclient_free(&b);
	/* A connection arriving during the shutdown. */
	client_connect(&late, th, &S.plain, NULL);
	EXPECT(&late, "421 4.3.2");
	CLIENT_CLOSED(&late);
	service_thread_free(&th);
}

static void
test_starttls(void)
{
	struct service_testclient c;
	char *id, *hdr = NULL;

	reset_config();
	client_connect(&c, H.thread, &S.starttls, S.server_tls);
	EXPECT(&c, "220 ");
	TEST_ASSERT(ehlo_offers(&c, "\r\n250-STARTTLS\r\n"));
	/* A command injected behind STARTTLS must never run (RFC 3207
	   §4.2): if it did, its 250 would come before the 503 below. */
	service_testclient_send_str(&c, "STARTTLS\r\nNOOP\r\n");
	EXPECT(&c, "220 2.0.0 Ready to start TLS");
	TEST_EQ_INT(c.in.len, 0);
	if (!service_testclient_handshake(&c))
		return;
	/* The EHLO before TLS is forgotten. */
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n");
	EXPECT(&c, "503 5.5.1 Error: send HELO/EHLO first");
	TEST_ASSERT(!ehlo_offers(&c, "STARTTLS"));
	service_testclient_send_str(&c, "STARTTLS\r\n");
	EXPECT(&c, "502 5.5.1");
	send_message(&c, "secret\r\n.\r\n");
	id = EXPECT_QUEUED(&c);
	CHECK_QUEUED(id, "secret\r\n", 8, &hdr);
	TEST_ASSERT(hdr != NULL && strstr(hdr, " with ESMTPS id ") != NULL);
	TEST_ASSERT(hdr != NULL && strstr(hdr, "\t(using TLSv1.") != NULL);
	TEST_ASSERT(hdr != NULL && strstr(hdr, " with cipher ") != NULL);
	free(hdr);
	free(id);
	client_quit(&c);

	/* A STARTTLS listener without a certificate offers nothing. */
	client_connect(&c, H.thread, &S.starttls, NULL);
	EXPECT(&c, "220 ");
	TEST_ASSERT(!ehlo_offers(&c, "STARTTLS"));
	service_testclient_send_str(&c, "STARTTLS\r\n");
	EXPECT(&c, "454 4.7.0");
	client_quit(&c);
}

static void
test_implicit_tls(void)
{
	struct service_testclient c;

	reset_config();
	client_connect(&c, H.thread, &S.implicit, S.server_tls);
	if (!service_testclient_handshake(&c))
		return;
	EXPECT(&c, "220 " HOST " ESMTP petrel");
	TEST_ASSERT(!ehlo_offers(&c, "STARTTLS"));
	service_testclient_send_str(&c, "STARTTLS\r\n");
	EXPECT(&c, "502 5.5.1");
	client_quit(&c);
}

/* FLOOD_N NOOPs and then last, in one write from a client whose receive
   buffer is small, and every reply up to the one to last (which starts
   with last_reply): the server stops at its output limit (on_drain
   resumes it) instead of buffering replies without bound, and loses
   none. half_close: the client shuts its writing side before it reads. */
static void
noop_flood(struct service_testclient *c, const char *last, const char *last_reply,
    bool half_close)
{
	struct buf flood;
	char *r;
	int replies = 0;

	reset_config();
	H.config.limits.max_errors = 0;
	H.config.limits.max_commands_before_data = 0;
	client_connect_rcvbuf(c, H.thread, &S.plain, NULL, 4096);
	client_hello(c);
	buf_init(&flood, 0);
	for (int i = 0; i < FLOOD_N; i++)
		TEST_ASSERT(buf_append_str(&flood, "NOOP\r\n") == 0);
	TEST_ASSERT(buf_append_str(&flood, last) == 0);
	service_testclient_send(c, flood.data, flood.len);
	buf_clear(&flood);
	if (half_close)
		TEST_ASSERT(shutdown(c->fd, SHUT_WR) == 0);
	/* Let the server fill its output before the client reads a byte. */
	for (int i = 0; i < 50; i++)
		pump();
	while ((r = service_testclient_reply(c)) != NULL) {
		bool end = strncmp(r, last_reply, strlen(last_reply)) == 0;

		if (!end)
			TEST_EQ_STR(r, "250 2.0.0 Ok");
		free(r);
		if (end)
			break;
		replies++;
	}
	TEST_EQ_INT(replies, FLOOD_N);
}

/* A client that pipelines thousands of commands and reads replies only
   when it must. */
static void
test_pipelining_flood(void)
{
	struct service_testclient c;

	noop_flood(&c, "HELP\r\n", "214 ", false);
	client_quit(&c);
}

/* A client that leaves mid-message: nothing is queued, nothing stays in
   tmp/. One that leaves right after the terminator: the message was
   whole, so it is queued (the 250 is simply not read). */
static void
test_client_vanishes(void)
{
	size_t before = queue_count();
	struct service_testclient c;

	reset_config();
	client_plain(&c);
	client_hello(&c);
	send_message(&c, "Subject: cut\r\n\r\npartial");
	service_testclient_step(&c);
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	CHECK_QUEUE(before);

	client_plain(&c);
	client_hello(&c);
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org>\r\nBDAT 100 LAST\r\nonly part");
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5");
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	CHECK_QUEUE(before);

	client_plain(&c);
	client_hello(&c);
	send_message(&c, "Subject: whole\r\n\r\nbody\r\n.\r\n");
	service_testclient_free(&c);
	WAIT_SESSIONS_GONE();
	CHECK_QUEUE(before + 1);

	/* Stalled inside DATA: the idle timeout ends it, nothing kept. */
	H.config.limits.idle_timeout = 1;
	client_plain(&c);
	client_hello(&c);
	send_message(&c, "Subject: stalled\r\n");
	EXPECT(&c, "421 4.4.2 " HOST " Error: timeout exceeded");
	CLIENT_CLOSED(&c);
	CHECK_QUEUE(before + 1);
}

/* Hostile soup: random bytes after real verbs; the session must answer
   each line and stay in step (no crash, no lost framing). */
static void
test_random_lines(void)
{
	static const char *const verbs[] = {
		"EHLO ", "HELO ", "MAIL FROM:", "RCPT TO:", "NOOP", "RSET",
		"VRFY ", "EXPN ", "AUTH ", "XYZZY", "", "mail from:<",
		"RCPT TO:<", "MAIL FROM:<a@b.test> ",
	};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct service_testclient c;
	struct buf soup;
	char *r;
	int replies = 0;

	reset_config();
	H.config.limits.max_errors = 0;
	H.config.limits.max_commands_before_data = 0;
	client_plain(&c);
	EXPECT(&c, "220 ");
	buf_init(&soup, 0);
	for (int i = 0; i < 400; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		TEST_ASSERT(buf_append_str(&soup,
		    verbs[x % (sizeof(verbs) / sizeof(verbs[0]))]) == 0);
		for (unsigned n = (unsigned)(x >> 32) % 90; n > 0; n--) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			char ch = (char)(x >> 56);

			if (ch == '\n')
				ch = ' ';
			TEST_ASSERT(buf_append(&soup, &ch, 1) == 0);
		}
		TEST_ASSERT(buf_append_str(&soup, "\r\n") == 0);
	}
	TEST_ASSERT(buf_append_str(&soup, "RSET\r\nHELP\r\n") == 0);
	service_testclient_send(&c, soup.data, soup.len);
	buf_clear(&soup);
	while ((r = service_testclient_reply(&c)) != NULL) {
		bool help = strncmp(r, "214 ", 4) == 0;

		TEST_ASSERT(strlen(r) >= 4 && r[0] >= '2' && r[0] <= '5' &&
		    (r[3] == ' ' || r[3] == '-'));
		free(r);
		replies++;
		if (help)
			break;
	}
	/* One reply per line: 400 lines, RSET and HELP. */
	TEST_EQ_INT(replies, 402);
	client_quit(&c);
}

/* --- hostile review: commits, framing, junk ----------------------------- */

/* Takes the queue database's write lock, so every commit waits on it
   (for up to the queue's busy timeout) until queue_unlock: a slow disk. */
static sqlite3 *
queue_lock(void)
{
	char *path = xasprintf("%s/queue/queue.db", H.dir);
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		panic("queue_lock: %s", db != NULL ? sqlite3_errmsg(db) : path);
	free(path);
	return db;
}

static void
queue_unlock(sqlite3 *db)
{
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		panic("queue_unlock: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void
steps_for(struct service_testclient *c, long long ms)
{
	long long end = service_testclient_now_ms() + ms;

	while (service_testclient_now_ms() < end)
		service_testclient_step(c);
}

/* A commit slower than the idle timeout: the wait is the server's, so
   the client gets its 250, not a 421 for a message that is then queued
   anyway (and sent again by the client). */
static void
test_commit_outlasts_idle_timeout(void)
{
	size_t before = queue_count();
	struct service_testclient c;
	sqlite3 *lock;
	char *id;

	reset_config();
	H.config.limits.idle_timeout = 1;
	client_plain(&c);
	client_hello(&c);
	lock = queue_lock();
	send_message(&c, "Subject: slow disk\r\n\r\nbody\r\n.\r\n");
	steps_for(&c, 2500);
	TEST_EQ_INT(c.in.len, 0);
	TEST_ASSERT(!c.eof);
	queue_unlock(lock);
	id = EXPECT_QUEUED(&c);
	CHECK_QUEUED(id, "Subject: slow disk\r\n\r\nbody\r\n", 28, NULL);
	free(id);
	TEST_EQ_INT(queue_count(), before + 1);
	/* The client's idle timeout is back once the reply is out. */
	EXPECT(&c, "421 4.4.2 " HOST " Error: timeout exceeded");
	CLIENT_CLOSED(&c);
}

/* Commands pipelined behind the terminator wait for the commit and are
   answered after it, in order; a client that leaves during the commit
   still has its (complete) message queued, and the completion finds a
   session that is still there (ASan watches). */
static void
test_commit_pending(void)
{
	size_t before = queue_count();
	struct service_testclient c;
	sqlite3 *lock;

	reset_config();
	client_plain(&c);
	client_hello(&c);
	lock = queue_lock();
	send_message(&c, "x\r\n.\r\nRSET\r\nMAIL FROM:<b@remote.test>\r\n"
	    "QUIT\r\nNOOP\r\n");
	steps_for(&c, 300);
	TEST_EQ_INT(c.in.len, 0);
	queue_unlock(lock);
	/* Nothing after QUIT is answered. */
	EXPECT_ALL(&c, "250 2.0.0 Ok: queued as ", "250 2.0.0 Ok",
	    "250 2.1.0", "221 2.0.0");
	CLIENT_CLOSED(&c);
	TEST_EQ_INT(queue_count(), before + 1);

	client_plain(&c);
	client_hello(&c);
	lock = queue_lock();
	send_message(&c, "Subject: gone\r\n\r\nbye\r\n.\r\n");
	steps_for(&c, 200);
	service_testclient_free(&c);
	for (int i = 0; i < 100; i++) {
		pump();
		usleep(1000);
	}
	/* Closed, but kept until the queue answers. */
	TEST_ASSERT(H.ended < H.started);
	queue_unlock(lock);
	WAIT_SESSIONS_GONE();
	CHECK_QUEUE(before + 2);
}

/* A BDAT line too long to parse leaves the chunk's end unknown, as an
   unparsable size does: the session closes instead of running the
   chunk's octets as commands. */
static void
test_bdat_line_too_long(void)
{
	struct service_testclient c;
	struct buf line;

	reset_config();
	buf_init(&line, 0);
	TEST_ASSERT(buf_append_str(&line, "BDAT 5") == 0);
	for (int i = 0; i < 600; i++)
		TEST_ASSERT(buf_append(&line, " ", 1) == 0);
	TEST_ASSERT(buf_append_str(&line, "\r\nhelloNOOP\r\n") == 0);
	client_plain(&c);
	client_hello(&c);
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org>\r\n");
	service_testclient_send(&c, line.data, line.len);
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5", "500 5.5.2");
	CLIENT_CLOSED(&c);

	/* No line end at all: the same. */
	buf_reset(&line);
	TEST_ASSERT(buf_append_str(&line, "bdat 5 ") == 0);
	for (int i = 0; i < 2000; i++)
		TEST_ASSERT(buf_append(&line, "9", 1) == 0);
	client_plain(&c);
	EXPECT(&c, "220 ");
	service_testclient_send(&c, line.data, line.len);
	EXPECT(&c, "500 5.5.2");
	CLIENT_CLOSED(&c);
	buf_clear(&line);

	/* Any other over-long line is skipped and the session goes on. */
	client_plain(&c);
	EXPECT(&c, "220 ");
	service_testclient_send_str(&c, "BDATX ");
	for (int i = 0; i < 600; i++)
		service_testclient_send_str(&c, "x");
	service_testclient_send_str(&c, "\r\nNOOP\r\n");
	EXPECT_ALL(&c, "500 5.5.2", "250 2.0.0 Ok");
	client_quit(&c);
}

/* Every command a client can repeat for free is junk: past
   max_commands_before_data each costs an error, so no loop of them keeps
   a session forever (Postfix's smtpd_junk_command_limit, whose table
   includes HELO and EHLO). */
static void
test_junk_commands(void)
{
	static const struct {
		unsigned max_recipients;	/* 0: the default */
		const char *send;
		const char *const replies[10];	/* NULL-terminated */
	} cases[] = {
		{ 0, "EHLO a\r\nEHLO a\r\nHELO a\r\nNOOP\r\n",
		  { "250-", "250-", "250 ", "421 4.7.0", NULL } },
		{ 0, "EHLO a\r\nMAIL FROM:<a@remote.test>\r\n"
		  "RCPT TO:<x@other.test>\r\nRCPT TO:<x@other.test>\r\nNOOP\r\n",
		  { "250-", "250 2.1.0", "550 5.7.1", "550 5.7.1", "421 4.7.0",
		    NULL } },
		{ 0, "EHLO a\r\nMAIL FROM:<a@remote.test>\r\n"
		  "RCPT TO:<alice@example.org>\r\nRCPT TO:<alice@example.org>\r\n"
		  "RCPT TO:<alice@example.org>\r\nNOOP\r\n",
		  { "250-", "250 2.1.0", "250 2.1.5", "250 2.1.5", "250 2.1.5",
		    "421 4.7.0", NULL } },
		{ 0, "EHLO a\r\nMAIL FROM:<a@remote.test>\r\n"
		  "RCPT TO:<alice@example.org>\r\nBDAT 0\r\nBDAT 0\r\nNOOP\r\n",
		  { "250-", "250 2.1.0", "250 2.1.5", "250 2.0.0 0 octets",
		    "250 2.0.0 0 octets", "421 4.7.0", NULL } },
		{ 0, "EHLO a\r\nMAIL FROM:<a@remote.test> SIZE=999999999\r\n"
		  "STARTTLS\r\nNOOP\r\n",
		  { "250-", "552 5.3.4", "454 4.7.0", "421 4.7.0", NULL } },
		/* Recipients over the limit are not junk until as many again
		   were refused: a pipelining client sends them in a new
		   transaction, and the one under way must not be cut off. */
		{ 2, "EHLO a\r\nMAIL FROM:<a@remote.test>\r\n"
		  "RCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		  "RCPT TO:<n1@example.org>\r\nRCPT TO:<n2@example.org>\r\n"
		  "RCPT TO:<n3@example.org>\r\nRCPT TO:<n4@example.org>\r\n"
		  "NOOP\r\n",
		  { "250-", "250 2.1.0", "250 2.1.5", "250 2.1.5", "452 4.5.3",
		    "452 4.5.3", "452 4.5.3", "452 4.5.3", "421 4.7.0",
		    NULL } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset_config();
		if (cases[i].max_recipients != 0)
			H.config.limits.max_recipients =
			    cases[i].max_recipients;
		H.config.limits.max_commands_before_data = 2;
		H.config.limits.max_errors = 1;
		closing_script(cases[i].send, cases[i].replies);
	}
}

/* A client that pipelines more than its replies fit in our output
   buffer and then half-closes (shutdown SHUT_WR, as scripts do) before
   reading: every command is still answered. */
static void
test_half_close_flood(void)
{
	struct service_testclient c;

	noop_flood(&c, "QUIT\r\n", "221 ", true);
	CLIENT_CLOSED(&c);
}

/* The unknown-recipient delay is the server's wait too: an idle timeout
   shorter than the delay does not cut the held reply off. */
static void
test_delay_outlasts_idle_timeout(void)
{
	struct service_testclient c;
	long long t0;

	reset_config();
	H.config.limits.idle_timeout = 1;
	H.config.limits.unknown_rcpt_delay_after = 1;
	H.config.limits.unknown_rcpt_delay_ms = 1500;
	client_plain(&c);
	client_hello(&c);
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<n1@example.org>\r\nRCPT TO:<alice@example.org>\r\n");
	t0 = service_testclient_now_ms();
	EXPECT_ALL(&c, "250 2.1.0", "550 5.1.1", "250 2.1.5");
	TEST_ASSERT(service_testclient_now_ms() - t0 >= 1400);
	/* Then the client's idle timeout applies again. */
	EXPECT(&c, "421 4.4.2");
	CLIENT_CLOSED(&c);
}

/* --- submission --------------------------------------------------------- */

static void
set_password(const char *address, const char *hash)
{
	struct directory_error err = { 0 };
	struct directory *d = NULL;
	char *error = NULL;

	if (directory_open(H.dir, false, &d, &error) == -1)
		panic("set_password: %s", error);
	if (directory_admin_account_set_password(d, address, hash, &err) == -1)
		panic("set_password: %s", err.message);
	directory_close(&d);
}

/* "AUTH PLAIN <base64 of \0user\0pass>\r\n" (heap). */
static char *
auth_plain(const char *user, const char *pass)
{
	char raw[256], b64[400];
	size_t n = (size_t)snprintf(raw, sizeof(raw), "%c%s%c%s", 0, user, 0,
	    pass);

	(void)base64_encode(raw, n, b64, sizeof(b64));
	return xasprintf("AUTH PLAIN %s\r\n", b64);
}

static void
submission_begin(void)
{
	reset_config();
	config_auth_defaults(&H.config.auth);
	H.config.auth.failure_delay = 50;
	H.login = service_login_new(&H.config);
	service_login_set_dummy_hash(H.login, "{PLAIN}no such password");
	H.workers = worker_pool_new(1);
	T.submission = true;
	set_password("alice@example.org", "{PLAIN}alicepw");
}

static void
submission_end(void)
{
	WAIT_SESSIONS_GONE();
	T.submission = false;
	worker_pool_free(&H.workers);
	service_login_free(&H.login);
}

static void
test_submission_auth(void)
{
	struct queue_envelope env = { 0 };
	struct service_testclient c;
	char *line, *id, *hdr = NULL, *body = NULL;
	size_t len;
	long long t0;

	submission_begin();
	client_plain(&c);
	client_hello(&c);
	TEST_ASSERT(ehlo_offers(&c, "250-AUTH PLAIN LOGIN"));
	service_testclient_send_str(&c, "MAIL FROM:<alice@example.org>\r\n");
	EXPECT(&c, "530 5.7.0 Authentication required");
	/* Wrong password: 535 after the throttle's delay. */
	line = auth_plain("alice@example.org", "wrong");
	t0 = service_testclient_now_ms();
	service_testclient_send_str(&c, line);
	free(line);
	EXPECT(&c, "535 5.7.8");
	TEST_ASSERT(service_testclient_now_ms() - t0 >= 45);
	/* A cancelled exchange, an unknown mechanism. */
	service_testclient_send_str(&c, "AUTH PLAIN\r\n");
	EXPECT(&c, "334 ");
	service_testclient_send_str(&c, "*\r\n");
	EXPECT(&c, "501 5.7.0");
	service_testclient_send_str(&c, "AUTH CRAM-MD5\r\n");
	EXPECT(&c, "504 5.5.4");
	/* LOGIN, each step. */
	service_testclient_send_str(&c, "AUTH LOGIN\r\n");
	EXPECT(&c, "334 VXNlcm5hbWU6");
	service_testclient_send_str(&c, "YWxpY2VAZXhhbXBsZS5vcmc=\r\n");
	EXPECT(&c, "334 UGFzc3dvcmQ6");
	service_testclient_send_str(&c, "YWxpY2Vwdw==\r\n");
	EXPECT(&c, "235 2.7.0 Authentication successful");
	service_testclient_send_str(&c, "AUTH LOGIN\r\n");
	EXPECT(&c, "503 5.5.1");
	/* Logged in: any domain, pipelined. */
	service_testclient_send_str(&c, "MAIL FROM:<alice@example.org>\r\n"
	    "RCPT TO:<someone@remote.test>\r\nDATA\r\n");
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5", "354 ");
	service_testclient_send_str(&c, "Subject: s\r\n\r\nhi\r\n.\r\n");
	id = EXPECT_QUEUED(&c);
	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_EQ_STR(env.auth_user, "alice@example.org");
		TEST_EQ_INT(env.n_rcpts, 1);
		queue_envelope_clear(&env);
		/* Message-ID and Date at the end of the header block; the
		   login not named in Received. */
		TEST_ASSERT(queued_message(id, &hdr, &body, &len));
		TEST_ASSERT(body != NULL && strncmp(body, "Subject: s\r\n"
		    "Message-ID: <", 24) == 0 && strstr(body, "\r\nDate: ")
		    != NULL && strstr(body, "\r\n\r\nhi\r\n") != NULL);
		TEST_ASSERT(hdr != NULL && strstr(hdr, "ESMTPA") != NULL &&
		    strstr(hdr, "Authenticated") == NULL);
		free(hdr);
		free(body);
	}
	free(id);
	client_quit(&c);
	submission_end();
}

static void
test_submission_plaintext_never(void)
{
	struct service_testclient c;
	char *line;

	submission_begin();
	H.config.auth.plaintext = CONFIG_PLAINTEXT_NEVER;
	client_plain(&c);
	client_hello(&c);
	TEST_ASSERT(!ehlo_offers(&c, "250-AUTH"));
	line = auth_plain("alice@example.org", "alicepw");
	service_testclient_send_str(&c, line);
	free(line);
	EXPECT(&c, "530 5.7.0 Must issue a STARTTLS command first");
	client_quit(&c);
	/* The MTA port never offers it. */
	T.submission = false;
	client_plain(&c);
	client_hello(&c);
	TEST_ASSERT(!ehlo_offers(&c, "250-AUTH"));
	service_testclient_send_str(&c, "AUTH LOGIN\r\n");
	EXPECT(&c, "503 5.5.1");
	client_quit(&c);
	submission_end();
}

/* The client leaves while its login is on the worker: the session waits
   for the answer before it is freed (ASan checks the rest). */
static void
test_submission_vanishes_in_login(void)
{
	struct service_testclient c;
	char *line;

	submission_begin();
	client_plain(&c);
	client_hello(&c);
	line = auth_plain("alice@example.org", "alicepw");
	service_testclient_send_str(&c, line);
	free(line);
	service_testclient_free(&c);
	submission_end();
	TEST_EQ_INT(H.started, H.ended);
}

static void
set_sender_match(const char *domain, bool on)
{
	struct directory_error err = { 0 };
	struct directory *d = NULL;
	char *error = NULL;

	if (directory_open(H.dir, false, &d, &error) == -1)
		panic("set_sender_match: %s", error);
	if (directory_send_as_set_domain_match(d, domain, on, &err) == -1)
		panic("set_sender_match: %s", err.message);
	directory_close(&d);
}

/* The per-domain sender/login match holds for every spelling of a
   sender of that domain, the ones the directory cannot parse too. */
static void
test_submission_sender_match(void)
{
	static const struct exchange ex[] = {
		{ "MAIL FROM:<bob@example.org>\r\n", "553 5.7.1" },
		{ "MAIL FROM:<BOB@Example.ORG>\r\n", "553 5.7.1" },
		{ "MAIL FROM:<\"bob\"@example.org>\r\n", "553 5.7.1" },
		/* Valid SMTP the directory cannot parse: were let through. */
		{ "MAIL FROM:<\"bob smith\"@example.org>\r\n", "553 5.7.1" },
		{ "MAIL FROM:<\"bob.\"@example.org>\r\n", "553 5.7.1" },
		{ "MAIL FROM:<\"b..ob\"@EXAMPLE.org>\r\n", "553 5.7.1" },
		/* Refused as syntax before any check. */
		{ "MAIL FROM:<bob@example.org.>\r\n", "501 5.1.7" },
		/* Own address; another domain's is not under the switch. */
		{ "MAIL FROM:<alice@example.org>\r\n", "250 2.1.0" },
		{ "RSET\r\n", "250 2.0.0" },
		{ "MAIL FROM:<\"x y\"@remote.test>\r\n", "250 2.1.0" },
		{ "RSET\r\n", "250 2.0.0" },
		{ "MAIL FROM:<\"x.\"@example.test>\r\n", "250 2.1.0" },
		{ "RSET\r\n", "250 2.0.0" },
	};
	struct service_testclient c;
	char *line;

	submission_begin();
	set_sender_match("example.org", true);
	client_plain(&c);
	client_hello(&c);
	line = auth_plain("alice@example.org", "alicepw");
	service_testclient_send_str(&c, line);
	free(line);
	EXPECT(&c, "235 2.7.0");
	CONVERSE(&c, ex);
	client_quit(&c);
	set_sender_match("example.org", false);
	submission_end();
}

static void
add_account(const char *address)
{
	struct directory_error err = { 0 };
	struct directory *d = NULL;
	char *error = NULL;

	if (directory_open(H.dir, false, &d, &error) == -1)
		panic("add_account: %s", error);
	if (directory_admin_account_add(d, address, NULL, NULL, 0, NULL,
	    &err) == -1)
		panic("add_account: %s", err.message);
	directory_close(&d);
}

/* A +tag of one's own address is one's own, unless the tagged name is
   an account (or alias) of its own: that is someone else's. */
static void
test_submission_sender_plus(void)
{
	static const struct exchange ex[] = {
		{ "MAIL FROM:<alice+news@example.org>\r\n", "250 2.1.0" },
		{ "RSET\r\n", "250 2.0.0" },
		{ "MAIL FROM:<alice+team@example.org>\r\n", "553 5.7.1" },
		{ "MAIL FROM:<Alice+Team@example.org>\r\n", "553 5.7.1" },
		{ "MAIL FROM:<+alice@example.org>\r\n", "553 5.7.1" },
	};
	struct service_testclient c;
	char *line;

	submission_begin();
	H.config.submission.sender_login_match = true;
	add_account("alice+team@example.org");
	client_plain(&c);
	client_hello(&c);
	line = auth_plain("alice@example.org", "alicepw");
	service_testclient_send_str(&c, line);
	free(line);
	EXPECT(&c, "235 2.7.0");
	CONVERSE(&c, ex);
	client_quit(&c);
	H.config.submission.sender_login_match = false;
	submission_end();
}

/* [submission] always_bcc: one hidden copy, which never bounces to the
   sender (NOTIFY=NEVER, as Postfix's always_bcc): a failed archive
   delivery must not tell the sender the archive exists. */
static void
test_submission_always_bcc(void)
{
	struct queue_envelope env = { 0 };
	struct service_testclient c;
	char *id;

	reset_config();
	H.config.submission.always_bcc = xstrdup("bob@example.org");
	client_plain(&c);
	client_hello(&c);
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE\r\n"
	    "DATA\r\n");
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5", "354 ");
	service_testclient_send_str(&c, "Subject: s\r\n\r\nhi\r\n.\r\n");
	id = EXPECT_QUEUED(&c);
	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_EQ_INT(env.n_rcpts, 2);
		if (env.n_rcpts == 2) {
			TEST_EQ_STR(env.rcpts[1].address, "bob@example.org");
			TEST_EQ_INT(env.rcpts[1].notify, QUEUE_NOTIFY_NEVER);
			TEST_EQ_INT(env.rcpts[0].notify,
			    QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
		}
		queue_envelope_clear(&env);
	}
	free(id);
	/* Listed already (any case): no second copy. */
	service_testclient_send_str(&c, "MAIL FROM:<a@remote.test>\r\n"
	    "RCPT TO:<BOB@example.org>\r\nDATA\r\n");
	EXPECT_ALL(&c, "250 2.1.0", "250 2.1.5", "354 ");
	service_testclient_send_str(&c, "Subject: s\r\n\r\nhi\r\n.\r\n");
	id = EXPECT_QUEUED(&c);
	if (QUEUED_ENVELOPE(id, &env)) {
		TEST_EQ_INT(env.n_rcpts, 1);
		queue_envelope_clear(&env);
	}
	free(id);
	client_quit(&c);
	xfree(&H.config.submission.always_bcc);
}

/* --- setup -------------------------------------------------------------- */

/* Two domains; alice, bob and carol (disabled); a postmaster alias on the
   domain that is the parent of HOST. */
static int
fill_directory(struct directory *dir, struct directory_error *err)
{
	static const char *const dest[] = { "alice@example.org" };

	if (directory_admin_domain_add(dir, "example.org", err) == -1 ||
	    directory_admin_domain_add(dir, "example.test", err) == -1 ||
	    directory_admin_account_add(dir, "alice@example.org", NULL, NULL,
	    0, NULL, err) == -1 ||
	    directory_admin_account_add(dir, "bob@example.org", NULL, NULL, 0,
	    NULL, err) == -1 ||
	    directory_admin_account_add(dir, "carol@example.org", NULL, NULL,
	    0, NULL, err) == -1 ||
	    directory_admin_account_set_enabled(dir, "carol@example.org",
	    false, err) == -1 ||
	    directory_admin_alias_add(dir, "postmaster@example.test", dest, 1,
	    DIRECTORY_ALIAS_KEEP, err) == -1)
		return -1;
	return 0;
}

static void
setup(void)
{
	smtpd_testlib_init(&H, HOST);
	smtpd_testlib_open(&H, test_tmpdir(), fill_directory);
	service_testclient_server_open(&S, H.base, &H.started, &H.ended, H.dir,
	    HOST, CONFIG_PROTOCOL_SMTP, 25);
}

static void
teardown(void)
{
	service_testclient_server_close(&S);
	smtpd_testlib_clear(&H);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("PETREL_TEST_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	setup();
	TEST_RUN(test_greeting_and_ehlo);
	TEST_RUN(test_pipelined_transaction);
	TEST_RUN(test_byte_at_a_time);
	TEST_RUN(test_relay_and_recipients);
	TEST_RUN(test_bad_sequence);
	TEST_RUN(test_nul_and_utf8);
	TEST_RUN(test_command_line_limits);
	TEST_RUN(test_message_limits);
	TEST_RUN(test_bdat);
	TEST_RUN(test_error_budget);
	TEST_RUN(test_unknown_recipient_throttle);
	TEST_RUN(test_recipient_limit);
	TEST_RUN(test_idle_timeout);
	TEST_RUN(test_graceful_shutdown);
	TEST_RUN(test_starttls);
	TEST_RUN(test_implicit_tls);
	TEST_RUN(test_pipelining_flood);
	TEST_RUN(test_client_vanishes);
	TEST_RUN(test_random_lines);
	TEST_RUN(test_commit_outlasts_idle_timeout);
	TEST_RUN(test_commit_pending);
	TEST_RUN(test_bdat_line_too_long);
	TEST_RUN(test_junk_commands);
	TEST_RUN(test_half_close_flood);
	TEST_RUN(test_delay_outlasts_idle_timeout);
	TEST_RUN(test_submission_auth);
	TEST_RUN(test_submission_plaintext_never);
	TEST_RUN(test_submission_vanishes_in_login);
	TEST_RUN(test_submission_sender_match);
	TEST_RUN(test_submission_sender_plus);
	TEST_RUN(test_submission_always_bcc);
	teardown();
	return test_done();
}
