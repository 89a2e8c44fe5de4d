/* smtpc_test.c — the SMTP client against a scripted fake server on
   loopback (a thread with blocking sockets; the client runs on an
   event_base here): greeting failure, multiline replies, HELO fallback,
   pipelining, 4xx/5xx per recipient, dot-stuffing, BDAT, STARTTLS with a
   generated certificate, DANE-EE with a matching and a wrong TLSA record,
   AUTH, SMTPUTF8 refusal, reuse, timeouts, a server closing mid-DATA,
   and hostile servers: bare LFs in the body, "250" to DATA, a 421, a
   reply line over the limit; ORCPT=utf-8 encoding. */
#include "smtpc/smtpc.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/buf.h"
#include "lib/test.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"
#include "smtp/smtp_reply.h"
#include "smtp/smtp_xtext.h"

static char *cert_file, *key_file;
static SSL_CTX *server_ctx, *client_ctx;

/* ---- the fake server ----------------------------------------------- */

/* Script steps: "S..." send the rest plus CRLF; "C..." read a line, it
   must start with the rest; "P..." as C, and the line must have arrived
   with the previous one (pipelined); "D" read DATA to ".", keep it; "B"
   read a BDAT chunk (the size from the last line); "R" read DATA raw up
   to CRLF.CRLF, keep it; "T" TLS handshake;
   "X" close; "W" wait for the client to close. */
struct fake {
	const char *const *script;
	int lfd, fd;
	pthread_t thread;
	SSL *ssl;
	struct buf in, data, lines;
	bool pipelined_ok;
	char fail[256];
};

static ssize_t
fake_recv(struct fake *f, char *b, size_t n)
{
	return f->ssl != NULL ? SSL_read(f->ssl, b, (int)n) :
	    recv(f->fd, b, n, 0);
}

static void
fake_send(struct fake *f, const char *s)
{
	size_t len = strlen(s);

	if (f->ssl != NULL)
		(void)SSL_write(f->ssl, s, (int)len);
	else
		(void)send(f->fd, s, len, MSG_NOSIGNAL);
}

/* One line into *line (without CRLF); returns whether more bytes were
   already buffered before this read, -1 on EOF. */
static int
fake_line(struct fake *f, char **line, bool *had_it)
{
	char *nl;
	char tmp[4096];

	*had_it = memchr(f->in.data != NULL ? f->in.data : "", '\n',
	    f->in.len) != NULL;
	while ((nl = f->in.len > 0 ? memchr(f->in.data, '\n', f->in.len) :
	    NULL) == NULL) {
		ssize_t n = fake_recv(f, tmp, sizeof(tmp));

		if (n <= 0)
			return -1;
		buf_append(&f->in, tmp, (size_t)n);
	}
	size_t len = (size_t)(nl - f->in.data);

	*line = xstrndup(f->in.data, len > 0 && nl[-1] == '\r' ? len - 1 :
	    len);
	buf_consume(&f->in, len + 1);
	buf_append_str(&f->lines, *line);
	buf_append_str(&f->lines, "\n");
	return 0;
}

static int
fake_exact(struct fake *f, size_t n)
{
	char tmp[4096];

	while (f->in.len < n) {
		ssize_t r = fake_recv(f, tmp, sizeof(tmp));

		if (r <= 0)
			return -1;
		buf_append(&f->in, tmp, (size_t)r);
	}
	buf_append(&f->data, f->in.data, n);
	buf_consume(&f->in, n);
	return 0;
}

/* The DATA bytes exactly as sent, up to and including "<CRLF>.<CRLF>"
   (the only end RFC 5321 §4.1.1.4 knows), into f->data. */
static int
fake_raw_data(struct fake *f)
{
	char tmp[4096];
	const char *end;

	while ((end = f->in.len > 0 ? memmem(f->in.data, f->in.len,
	    "\r\n.\r\n", 5) : NULL) == NULL) {
		ssize_t n = fake_recv(f, tmp, sizeof(tmp));

		if (n <= 0)
			return -1;
		buf_append(&f->in, tmp, (size_t)n);
	}
	size_t len = (size_t)(end - f->in.data) + 5;

	buf_append(&f->data, f->in.data, len);
	buf_consume(&f->in, len);
	return 0;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	char *line = NULL, *last = NULL;
	bool had;

	f->fd = accept(f->lfd, NULL, NULL);
	f->pipelined_ok = true;
	for (const char *const *s = f->script; *s != NULL; s++) {
		const char *step = *s;

		switch (step[0]) {
		case 'S':
			fake_send(f, step + 1);
			fake_send(f, "\r\n");
			break;
		case 'C':
		case 'P':
			if (fake_line(f, &line, &had) == -1) {
				snprintf(f->fail, sizeof(f->fail), "EOF, "
				    "wanted %s", step + 1);
				goto out;
			}
			if (strncasecmp(line, step + 1, strlen(step + 1)) != 0)
				snprintf(f->fail, sizeof(f->fail), "got \"%s\" "
				    "wanted \"%s\"", line, step + 1);
			if (step[0] == 'P' && !had)
				f->pipelined_ok = false;
			free(last);
			last = line;
			line = NULL;
			break;
		case 'D':
			for (;;) {
				if (fake_line(f, &line, &had) == -1)
					goto out;
				if (strcmp(line, ".") == 0)
					break;
				buf_append_str(&f->data, line);
				buf_append_str(&f->data, "\r\n");
				xfree(&line);
			}
			xfree(&line);
			break;
		case 'R':
			if (fake_raw_data(f) == -1)
				goto out;
			break;
		case 'B':
			if (last == NULL || fake_exact(f,
			    strtoull(last + 5, NULL, 10)) == -1)
				goto out;
			break;
		case 'T':
			f->ssl = SSL_new(server_ctx);
			SSL_set_fd(f->ssl, f->fd);
			buf_reset(&f->in);
			if (SSL_accept(f->ssl) != 1)
				goto out;
			break;
		case 'X':
			goto out;
		case 'W': {
			char tmp[512];

			while (fake_recv(f, tmp, sizeof(tmp)) > 0)
				;
			goto out;
		}
		}
	}
out:
	free(line);
	free(last);
	if (f->ssl != NULL) {
		SSL_free(f->ssl);
		f->ssl = NULL;
	}
	close(f->fd);
	return NULL;
}

static void
fake_start(struct fake *f, const char *const *script,
    struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);

	memset(f, 0, sizeof(*f));
	buf_init(&f->in, 0);
	buf_init(&f->data, 0);
	buf_init(&f->lines, 0);
	f->script = script;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(f->lfd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    listen(f->lfd, 1) == -1 ||
	    getsockname(f->lfd, (struct sockaddr *)sin, &len) == -1)
		panic("fake_start: bind/listen");
	pthread_create(&f->thread, NULL, fake_main, f);
}

static void
fake_finish(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	if (f->fail[0] != '\0')
		test_fail(__FILE__, __LINE__, "server: %s", f->fail);
}

static void
fake_clear(struct fake *f)
{
	buf_clear(&f->in);
	buf_clear(&f->data);
	buf_clear(&f->lines);
}

/* ---- the client side ---------------------------------------------- */

struct run {
	struct event_base *base;
	struct smtpc *c;
	bool got_ready, got_done;
	bool ready_ok, tls_failed;
	enum smtpc_stage stage;
	unsigned code;
	char text[512], enhanced[16];
	const struct smtpc_message *msg;
	unsigned sends;		/* transactions to run */
	struct smtpc_reply rcpt[4][4];
	size_t accepted[4];
	unsigned message_code[4];
	bool usable[4];
	unsigned done_count;
	char tls_auth[16];
};

static void
run_done(struct smtpc *c, const struct smtpc_result *res, void *ctx)
{
	struct run *r = ctx;
	unsigned k = r->done_count++;

	for (size_t i = 0; i < res->rcpt_count && i < 4; i++) {
		r->rcpt[k][i] = res->rcpt[i];
		r->rcpt[k][i].text = xstrdup(res->rcpt[i].text);
	}
	r->accepted[k] = res->accepted;
	r->message_code[k] = res->message.code;
	r->usable[k] = res->usable;
	if (r->done_count < r->sends && res->usable) {
		smtpc_send(c, r->msg, run_done, r);
		return;
	}
	r->got_done = true;
	smtpc_free(&r->c);
}

static void
run_ready(struct smtpc *c, const struct smtpc_status *st, void *ctx)
{
	struct run *r = ctx;

	r->got_ready = true;
	r->ready_ok = st->ok;
	r->tls_failed = st->tls_failed;
	r->stage = st->stage;
	r->code = st->reply.code;
	snprintf(r->text, sizeof(r->text), "%s", st->reply.text != NULL ?
	    st->reply.text : "");
	snprintf(r->enhanced, sizeof(r->enhanced), "%s", st->reply.enhanced);
	snprintf(r->tls_auth, sizeof(r->tls_auth), "%s", smtpc_tls_auth(c));
	if (!st->ok || r->sends == 0) {
		smtpc_free(&r->c);
		return;
	}
	smtpc_send(c, r->msg, run_done, r);
}

static void
run_clear(struct run *r)
{
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 4; i++)
			free(r->rcpt[k][i].text);
}

/* Runs a session to its end against script. */
static void
run_session(struct run *r, const char *const *script,
    const struct smtpc_settings *set, const struct smtpc_message *msg,
    unsigned sends, struct fake *f)
{
	struct sockaddr_in sin;

	memset(r, 0, sizeof(*r));
	fake_start(f, script, &sin);
	r->base = event_base_new();
	r->msg = msg;
	r->sends = sends;
	r->c = smtpc_connect(r->base, (struct sockaddr *)&sin, sizeof(sin),
	    set, client_ctx, run_ready, r);
	event_base_dispatch(r->base);
	TEST_ASSERT(r->c == NULL);
	event_base_free(r->base);
}

static int
temp_message(const char *text)
{
	char *path = xasprintf("%s/msgXXXXXX", getenv("TMPDIR") != NULL ?
	    getenv("TMPDIR") : "/tmp");
	int fd = mkstemp(path);

	unlink(path);
	free(path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		panic("temp_message: write");
	return fd;
}

static struct smtpc_settings
settings(void)
{
	return (struct smtpc_settings){
		.helo_name = "client.test", .remote_name = "mx.test",
		.connect_timeout_ms = 5000, .command_timeout_ms = 5000,
		.tls = SMTPC_TLS_OPPORTUNISTIC,
	};
}

static const char body[] = "Subject: hi\r\n\r\n.leading dot\r\n..two\r\n"
    "end";

static struct smtpc_rcpt two_rcpts[] = {
	{ .address = "a@remote.test", .notify = 2 | 4,
	  .orcpt = "rfc822;a+x@remote.test" },
	{ .address = "bad@remote.test" },
};

/* ---- tests ---------------------------------------------------------- */

static void
test_pipelined_data(void)
{
	static const char *const script[] = {
		"S220-mx.test ESMTP", "S220 second line",
		"CEHLO client.test",
		"S250-mx.test", "S250-PIPELINING", "S250-SIZE 100000",
		"S250-8BITMIME", "S250 DSN",
		"CMAIL FROM:<s@here.test> SIZE=",
		"PRCPT TO:<a@remote.test> NOTIFY=SUCCESS,FAILURE "
		    "ORCPT=rfc822;a+2Bx@remote.test",
		"PRCPT TO:<bad@remote.test>", "PDATA",
		"S250 2.1.0 ok", "S250 2.1.5 ok",
		"S550-5.1.1 no such", "S550 5.1.1 user here", "S354 go",
		"D", "S250 2.0.0 queued as X1", "CQUIT", "S221 bye", "X", NULL,
	};
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = two_rcpts, .rcpt_count = 2, .eightbit = true,
	    .ret = 2, .envid = "e 1" };
	struct fake f;
	struct run r;

	msg.fd = temp_message(body);
	msg.size = strlen(body);
	msg.prepend = "DKIM-Signature: x\r\n";
	msg.prepend_len = strlen(msg.prepend);
	run_session(&r, script, &set, &msg, 1, &f);
	TEST_ASSERT(r.ready_ok);
	TEST_ASSERT(r.got_done);
	TEST_EQ_INT(r.rcpt[0][0].code, 250);
	TEST_EQ_STR(r.rcpt[0][0].enhanced, "2.0.0");
	TEST_EQ_STR(r.rcpt[0][0].text, "queued as X1");
	TEST_EQ_INT(r.rcpt[0][1].code, 550);
	TEST_EQ_STR(r.rcpt[0][1].enhanced, "5.1.1");
	TEST_EQ_STR(r.rcpt[0][1].text, "no such user here");
	TEST_EQ_INT(r.accepted[0], 1);
	TEST_EQ_INT(r.message_code[0], 250);
	fake_finish(&f);
	TEST_ASSERT(f.pipelined_ok);
	TEST_ASSERT(strstr(f.lines.data, "BODY=8BITMIME RET=HDRS ENVID=e+201"
	    ) != NULL);
	TEST_EQ_STR(f.data.data, "DKIM-Signature: x\r\nSubject: hi\r\n\r\n"
	    "..leading dot\r\n...two\r\nend\r\n");
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

static void
test_greeting_failure(void)
{
	static const char *const script[] = { "S554 5.7.1 go away",
		"CQUIT", "S221 bye", "X", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(r.got_ready && !r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_GREETING);
	TEST_EQ_INT(r.code, 554);
	TEST_EQ_STR(r.text, "go away");
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_helo_fallback_one_by_one(void)
{
	static const char *const script[] = { "S220 old",
		"CEHLO", "S502 what", "CHELO client.test", "S250 ok",
		"CMAIL FROM:<>", "S250 ok", "CRCPT TO:<a@remote.test>",
		"S451 4.3.0 later", "CRCPT TO:<bad@remote.test>", "S250 ok",
		"CDATA", "S354 go", "D", "S250 ok",
		"CMAIL FROM:<>", "S250 ok", "CRCPT", "S250", "CRCPT", "S250",
		"CDATA", "S354", "D", "S452 4.3.1 full", "CQUIT", "S221", "X",
		NULL };
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "", .rcpts = two_rcpts,
	    .rcpt_count = 2 };
	struct fake f;
	struct run r;

	msg.fd = temp_message("x\r\n");
	msg.size = 3;
	run_session(&r, script, &set, &msg, 2, &f);
	TEST_ASSERT(r.ready_ok);
	TEST_EQ_INT(r.done_count, 2);
	TEST_EQ_INT(r.rcpt[0][0].code, 451);
	TEST_EQ_INT(r.rcpt[0][1].code, 250);
	TEST_EQ_INT(r.accepted[0], 1);
	TEST_EQ_INT(r.rcpt[1][0].code, 452);
	TEST_EQ_INT(r.rcpt[1][1].code, 452);
	TEST_EQ_STR(r.rcpt[1][1].enhanced, "4.3.1");
	TEST_ASSERT(r.usable[1]);
	fake_finish(&f);
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

static void
test_bdat_and_mail_refused(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250-x", "S250-CHUNKING", "S250 PIPELINING",
		/* First: MAIL refused, replies to the pipelined RCPTs. */
		"CMAIL FROM:<s@here.test>", "PRCPT", "PRCPT",
		"S553 5.7.1 sender refused", "S503 5.5.1 no", "S503 no",
		"CMAIL FROM:<s@here.test>", "PRCPT", "PRCPT",
		"S250 ok", "S250 ok", "S250 ok",
		"CBDAT 39 LAST", "B", "S250 2.0.0 got it", "CQUIT", "S221",
		"X", NULL };
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = two_rcpts, .rcpt_count = 2 };
	struct fake f;
	struct run r;

	msg.fd = temp_message(body);
	msg.size = strlen(body);
	run_session(&r, script, &set, &msg, 2, &f);
	TEST_EQ_INT(r.done_count, 2);
	TEST_EQ_INT(r.rcpt[0][0].code, 553);
	TEST_EQ_INT(r.rcpt[0][1].code, 553);
	TEST_EQ_STR(r.rcpt[0][1].text, "sender refused");
	TEST_EQ_INT(r.rcpt[1][0].code, 250);
	TEST_EQ_STR(r.rcpt[1][1].text, "got it");
	fake_finish(&f);
	TEST_EQ_STR(f.data.data, body);
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

static void
test_starttls_auth(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250-x", "S250-AUTH PLAIN", "S250 STARTTLS", "CSTARTTLS",
		"S220 go", "T", "CEHLO client.test", "S250-x",
		"S250 AUTH LOGIN PLAIN",
		/* base64("\0user\0pw") */
		"CAUTH PLAIN AHVzZXIAcHc=", "S235 2.7.0 ok", "CQUIT", "S221",
		"X", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	set.auth_user = "user";
	set.auth_password = "pw";
	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(r.ready_ok);
	TEST_EQ_STR(r.tls_auth, "unverified");
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_auth_login_refused(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 AUTH LOGIN", "CAUTH LOGIN", "S334 VXNlcm5hbWU6",
		"CdXNlcg==", "S334 UGFzc3dvcmQ6", "CcHc=",
		"S535 5.7.8 bad credentials", "CQUIT", "S221", "X", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	set.tls = SMTPC_TLS_NONE;
	set.auth_user = "user";
	set.auth_password = "pw";
	set.auth_plaintext_ok = true;
	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(!r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_AUTH);
	TEST_EQ_INT(r.code, 535);
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_tls_required_not_offered(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250 x", "CQUIT", "S221", "X", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	set.tls = SMTPC_TLS_VERIFY;
	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(!r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_STARTTLS);
	TEST_EQ_INT(r.code, 421);
	TEST_EQ_STR(r.enhanced, "4.7.10");
	fake_finish(&f);
	fake_clear(&f);
}

/* SHA-256 of the certificate's SubjectPublicKeyInfo (TLSA 3 1 1). */
static void
spki_sha256(uint8_t out[32])
{
	FILE *fp = fopen(cert_file, "r");
	X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	unsigned n = 32;

	EVP_Digest(der, (size_t)len, out, &n, EVP_sha256(), NULL);
	OPENSSL_free(der);
	X509_free(x);
	fclose(fp);
}

static void
test_dane(void)
{
	static const char *const ok_script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 STARTTLS", "CSTARTTLS", "S220 go", "T",
		"CEHLO", "S250 x", "CQUIT", "S221", "X", NULL };
	static const char *const bad_script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 STARTTLS", "CSTARTTLS", "S220 go", "T",
		"CQUIT", "S221", "X", NULL };
	struct smtpc_settings set = settings();
	uint8_t digest[32];
	struct smtpc_tlsa tlsa = { 3, 1, 1, digest, 32 };
	struct fake f;
	struct run r;

	spki_sha256(digest);
	set.tls = SMTPC_TLS_DANE;
	set.tlsa = &tlsa;
	set.tlsa_count = 1;
	set.remote_name = "other-name.test";	/* DANE-EE ignores names */
	run_session(&r, ok_script, &set, NULL, 0, &f);
	TEST_ASSERT(r.ready_ok);
	TEST_EQ_STR(r.tls_auth, "dane-ee");
	fake_finish(&f);
	fake_clear(&f);

	digest[0] ^= 1;
	run_session(&r, bad_script, &set, NULL, 0, &f);
	TEST_ASSERT(!r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_TLS_VERIFY);
	TEST_EQ_STR(r.enhanced, "4.7.5");
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_verify_ca(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 STARTTLS", "CSTARTTLS", "S220 go", "T",
		"CEHLO", "S250 x", "CQUIT", "S221", "X", NULL };
	static const char *const bad_script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 STARTTLS", "CSTARTTLS", "S220 go", "T",
		"CQUIT", "S221", "X", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	set.tls = SMTPC_TLS_VERIFY;
	set.remote_name = "mx.test";
	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(r.ready_ok);
	TEST_EQ_STR(r.tls_auth, "verified");
	fake_finish(&f);
	fake_clear(&f);

	set.remote_name = "wrong.test";
	run_session(&r, bad_script, &set, NULL, 0, &f);
	TEST_ASSERT(!r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_TLS_VERIFY);
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_tls_handshake_failure(void)
{
	/* The server says 220 to STARTTLS and then talks plaintext. */
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 STARTTLS", "CSTARTTLS", "S220 go",
		"Snot tls at all", "X", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(!r.ready_ok);
	TEST_ASSERT(r.tls_failed);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_STARTTLS);
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_smtputf8_refused(void)
{
	static const char *const script[] = { "S220 x", "CEHLO", "S250 x",
		"CQUIT", "S221", "X", NULL };
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = two_rcpts, .rcpt_count = 2, .smtputf8 = true };
	struct fake f;
	struct run r;

	msg.fd = temp_message("x\r\n");
	msg.size = 3;
	run_session(&r, script, &set, &msg, 1, &f);
	TEST_EQ_INT(r.rcpt[0][0].code, 553);
	TEST_EQ_STR(r.rcpt[0][0].enhanced, "5.6.7");
	TEST_ASSERT(strstr(r.rcpt[0][1].text, "does not support SMTPUTF8") !=
	    NULL);
	TEST_ASSERT(r.usable[0]);
	fake_finish(&f);
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

static void
test_timeout(void)
{
	static const char *const script[] = { "W", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	set.command_timeout_ms = 300;
	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(!r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_GREETING);
	TEST_EQ_INT(r.code, 421);
	TEST_ASSERT(strstr(r.text, "timeout") != NULL);
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_close_mid_data(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250 x", "CMAIL", "S250 ok", "CRCPT", "S250 ok", "CRCPT",
		"S250 ok", "CDATA", "S354 go", "CSubject", "X", NULL };
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = two_rcpts, .rcpt_count = 2 };
	struct fake f;
	struct run r;

	msg.fd = temp_message(body);
	msg.size = strlen(body);
	run_session(&r, script, &set, &msg, 1, &f);
	TEST_EQ_INT(r.rcpt[0][0].code, 421);
	TEST_EQ_INT(r.rcpt[0][1].code, 421);
	TEST_EQ_STR(r.rcpt[0][1].enhanced, "4.4.2");
	TEST_ASSERT(!r.usable[0]);
	fake_finish(&f);
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

/* A body with bare LFs, a CRLF split over two 64 KiB reads and no CRLF
   at the end goes out as CRLF lines ending in "<CRLF>.<CRLF>": before,
   the final bare LF made it "<LF>.<CRLF>" and the session hung. */
static void
test_data_bare_lf(void)
{
	static const char *const script[] = { "S220 x", "CEHLO", "S250 x",
		"CMAIL", "S250 ok", "CRCPT", "S250 ok", "CRCPT", "S250 ok",
		"CDATA", "S354 go", "R", "S250 2.0.0 ok", "CQUIT", "S221", "X",
		NULL };
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = two_rcpts, .rcpt_count = 2 };
	struct buf text, want;
	struct fake f;
	struct run r;

	buf_init(&text, 0);
	buf_init(&want, 0);
	buf_append_str(&text, "Subject: lf\n\n.dot\nmid\r\n");
	buf_append_str(&want, "Subject: lf\r\n\r\n..dot\r\nmid\r\n");
	while (text.len < 64 * 1024 - 1) {
		buf_append_str(&text, "x");
		buf_append_str(&want, "x");
	}
	buf_append_str(&text, "\r\n.end\n");	/* CR ends the first read */
	buf_append_str(&want, "\r\n..end\r\n.\r\n");
	msg.fd = temp_message(text.data);
	msg.size = text.len;
	set.data_timeout_ms = 2000;
	run_session(&r, script, &set, &msg, 1, &f);
	TEST_EQ_INT(r.rcpt[0][0].code, 250);
	TEST_EQ_INT(r.rcpt[0][1].code, 250);
	fake_finish(&f);
	TEST_EQ_INT(f.data.len, want.len);
	TEST_ASSERT(f.data.len == want.len &&
	    memcmp(f.data.data, want.data, want.len) == 0);
	fake_clear(&f);
	buf_clear(&text);
	buf_clear(&want);
	close(msg.fd);
	run_clear(&r);
}

/* "250" to DATA (a server out of step) is no verdict on the message: it
   used to mark both recipients delivered without a body having been
   sent. */
static void
test_data_answered_250(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 PIPELINING", "CMAIL", "PRCPT", "PRCPT", "PDATA",
		"S250 ok", "S250 ok", "S250 ok", "S250 2.0.0 queued", "W",
		NULL };
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = two_rcpts, .rcpt_count = 2 };
	struct fake f;
	struct run r;

	msg.fd = temp_message(body);
	msg.size = strlen(body);
	run_session(&r, script, &set, &msg, 1, &f);
	TEST_EQ_INT(r.done_count, 1);
	TEST_EQ_INT(r.accepted[0], 0);
	TEST_EQ_INT(r.rcpt[0][0].code, 451);
	TEST_EQ_STR(r.rcpt[0][1].enhanced, "4.5.0");
	TEST_ASSERT(!r.usable[0]);
	fake_finish(&f);
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

/* ORCPT=utf-8 goes out in utf-8-addr-xtext (RFC 6533 §3); it was sent
   as "+C3+B6", which a strict server (ours) refuses with the whole RCPT. */
static void
test_orcpt_utf8(void)
{
	static const char *const script[] = { "S220 x", "CEHLO",
		"S250-x", "S250 DSN", "CMAIL", "S250 ok",
		"CRCPT TO:<a@remote.test> ORCPT=utf-8;j\\x{F6}rg\\x{2B}t\\x{3D}"
		    "\\x{5C}\\x{1F642}@x",
		"S550 no", "CRCPT TO:<b@remote.test> ORCPT=rfc822;b+2Bc@x",
		"S550 no", "CRCPT TO:<c@remote.test>", "S550 no", "CQUIT",
		"S221", "X", NULL };
	struct smtpc_rcpt rcpts[] = {
		{ .address = "a@remote.test",
		  .orcpt = "utf-8;j\xc3\xb6rg+t=\\\xf0\x9f\x99\x82@x" },
		{ .address = "b@remote.test", .orcpt = "RFC822;b+c@x" },
		{ .address = "c@remote.test", .orcpt = "x400;c" },
	};
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = rcpts, .rcpt_count = 3 };
	struct fake f;
	struct run r;

	msg.fd = temp_message("x\r\n");
	msg.size = 3;
	run_session(&r, script, &set, &msg, 1, &f);
	TEST_EQ_INT(r.done_count, 1);
	TEST_EQ_INT(r.rcpt[0][2].code, 550);
	fake_finish(&f);
	/* What our own server's parser makes of it is the original. */
	struct buf dec;
	const char *v = strstr(f.lines.data, "ORCPT=utf-8;");

	buf_init(&dec, 0);
	TEST_ASSERT(v != NULL);
	if (v != NULL) {
		v += strlen("ORCPT=utf-8;");
		TEST_EQ_INT(smtp_xtext_decode_utf8(v, strcspn(v, "\n"), &dec),
		    0);
		buf_append(&dec, "", 1);
		TEST_EQ_STR(dec.data, "j\xc3\xb6rg+t=\\\xf0\x9f\x99\x82@x");
	}
	TEST_ASSERT(strstr(f.lines.data, "RCPT TO:<c@remote.test>\n") != NULL);
	buf_clear(&dec);
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

/* A 421 (the server is closing) leaves the connection unusable: it used
   to be offered for the next message, which then only met a dead
   connection and waited for its retry. */
static void
test_421_not_reused(void)
{
	static const char *const script[] = { "S220 x", "CEHLO", "S250 x",
		"CMAIL", "S421 4.3.2 shutting down", "W", NULL };
	struct smtpc_settings set = settings();
	struct smtpc_message msg = { .mail_from = "s@here.test",
	    .rcpts = two_rcpts, .rcpt_count = 2 };
	struct fake f;
	struct run r;

	msg.fd = temp_message("x\r\n");
	msg.size = 3;
	set.command_timeout_ms = 1000;
	run_session(&r, script, &set, &msg, 2, &f);
	TEST_EQ_INT(r.done_count, 1);
	TEST_EQ_INT(r.rcpt[0][0].code, 421);
	TEST_EQ_STR(r.rcpt[0][1].enhanced, "4.3.2");
	TEST_ASSERT(!r.usable[0]);
	fake_finish(&f);
	fake_clear(&f);
	close(msg.fd);
	run_clear(&r);
}

/* A greeting longer than a reply line may be, without a line end: the
   session fails cleanly. The error path logged the line through a
   pointer conn_read_line had not set (a crash, or stack bytes in the
   log). */
static void
test_reply_line_too_long(void)
{
	static char big[SMTP_REPLY_LINE_MAX + 600];
	static const char *const script[] = { big, "W", NULL };
	struct smtpc_settings set = settings();
	struct fake f;
	struct run r;

	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "S220-", 5);
	big[sizeof(big) - 1] = '\0';
	run_session(&r, script, &set, NULL, 0, &f);
	TEST_ASSERT(r.got_ready && !r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_GREETING);
	TEST_EQ_INT(r.code, 421);
	fake_finish(&f);
	fake_clear(&f);
}

static void
test_connect_refused(void)
{
	struct smtpc_settings set = settings();
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct run r;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	close(fd);	/* nothing listens there now */
	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	r.c = smtpc_connect(r.base, (struct sockaddr *)&sin, sizeof(sin),
	    &set, client_ctx, run_ready, &r);
	event_base_dispatch(r.base);
	event_base_free(r.base);
	TEST_ASSERT(!r.ready_ok);
	TEST_EQ_INT(r.stage, SMTPC_STAGE_CONNECT);
	TEST_EQ_STR(r.enhanced, "4.4.1");
}

int
main(void)
{
	char *dir = test_tmpdir(), *error = NULL;

	cert_file = xasprintf("%s/cert.pem", dir);
	key_file = xasprintf("%s/key.pem", dir);
	if (tls_generate_self_signed("mx.test", cert_file, key_file,
	    &error) == -1)
		panic("certificate: %s", error);
	server_ctx = tls_server_ctx_new(cert_file, key_file, &error);
	client_ctx = smtpc_tls_ctx_new(cert_file, &error);
	if (server_ctx == NULL || client_ctx == NULL)
		panic("contexts: %s", error);
	TEST_RUN(test_pipelined_data);
	TEST_RUN(test_greeting_failure);
	TEST_RUN(test_helo_fallback_one_by_one);
	TEST_RUN(test_bdat_and_mail_refused);
	TEST_RUN(test_starttls_auth);
	TEST_RUN(test_auth_login_refused);
	TEST_RUN(test_tls_required_not_offered);
	TEST_RUN(test_dane);
	TEST_RUN(test_verify_ca);
	TEST_RUN(test_tls_handshake_failure);
	TEST_RUN(test_smtputf8_refused);
	TEST_RUN(test_timeout);
	TEST_RUN(test_close_mid_data);
	TEST_RUN(test_connect_refused);
	TEST_RUN(test_data_bare_lf);
	TEST_RUN(test_data_answered_250);
	TEST_RUN(test_orcpt_utf8);
	TEST_RUN(test_421_not_reused);
	TEST_RUN(test_reply_line_too_long);
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
	unlink(cert_file);
	unlink(key_file);
	rmdir(dir);
	free(cert_file);
	free(key_file);
	free(dir);
	return test_done();
}
