/* fuzz_smtpc_session.c — a whole SMTP client session (src/smtpc) against a
   server whose every byte is fuzz input. The first byte picks the client's
   settings (TLS policy, implicit TLS, AUTH, a second transaction, the
   message's 8BITMIME/SMTPUTF8 needs); the rest is the server's output in
   NUL-separated chunks: the greeting at once, then one chunk per line the
   client sends (or after 1 ms of silence, so a client waiting for a reply
   gets the next chunk), and an EOF after the last. Both ends run on one
   event_base over an abstract AF_UNIX socket (no ports used up). The
   session must end with exactly one callback per step, free everything
   and never read past a reply's bounds (ASan, UBSan, leak check). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "smtpc/smtpc.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A message with what dot-stuffing and the end of data must get right:
   a leading dot, a bare LF, a lone dot line, no final line end. */
static const char fz_body[] = ".first\r\nSubject: x\n\r\n.\r\nbare\nlf\n.."
    "\r\nend";

static SSL_CTX *fz_ctx;
static int fz_lfd = -1, fz_msg_fd = -1;
static struct sockaddr_storage fz_addr;
static socklen_t fz_addrlen;

struct fz {
	struct event_base *base;
	struct smtpc *c;
	struct smtpc_message msg;
	int sfd;
	struct event *ev_accept, *ev_read, *ev_timer;
	const uint8_t *in, *end;	/* chunks not sent yet */
	unsigned sends, dones, readies;
	bool client_gone;
};

static void
fz_init(void)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&fz_addr;
	char *error = NULL;
	char name[64];

	log_set_level(getenv("PETREL_FUZZ_LOG") != NULL ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	fz_ctx = smtpc_tls_ctx_new(NULL, &error);
	CHECK(fz_ctx != NULL);
	snprintf(name, sizeof(name), "petrel-fuzz-smtpc-%d", (int)getpid());
	memset(&fz_addr, 0, sizeof(fz_addr));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, name, strlen(name));
	fz_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(name));
	fz_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fz_lfd != -1);
	CHECK(bind(fz_lfd, (struct sockaddr *)&fz_addr, fz_addrlen) == 0);
	CHECK(listen(fz_lfd, 16) == 0);
	fz_msg_fd = memfd_create("fuzz-smtpc-msg", MFD_CLOEXEC);
	CHECK(fz_msg_fd != -1);
	CHECK(write(fz_msg_fd, fz_body, sizeof(fz_body) - 1) ==
	    (ssize_t)sizeof(fz_body) - 1);
}

static void
fz_server_close(struct fz *f)
{
	if (f->ev_read != NULL)
		event_free(f->ev_read);
	if (f->ev_timer != NULL)
		event_free(f->ev_timer);
	f->ev_read = f->ev_timer = NULL;
	if (f->sfd != -1)
		close(f->sfd);
	f->sfd = -1;
}

/* Sends the next chunk; after the last one, EOF. */
static void
fz_server_next(struct fz *f)
{
	if (f->sfd == -1)
		return;
	if (f->in >= f->end) {
		(void)shutdown(f->sfd, SHUT_WR);
		return;
	}
	const uint8_t *nul = memchr(f->in, '\0', (size_t)(f->end - f->in));
	size_t len = nul != NULL ? (size_t)(nul - f->in) :
	    (size_t)(f->end - f->in);

	if (len > 0)
		(void)send(f->sfd, f->in, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	f->in += len + (nul != NULL ? 1 : 0);
}

static void
fz_server_arm(struct fz *f)
{
	struct timeval tv = { 0, 1000 };

	if (f->ev_timer != NULL && f->in < f->end)
		evtimer_add(f->ev_timer, &tv);
}

static void
fz_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fz *f = arg;

	(void)fd;
	(void)what;
	fz_server_next(f);
	fz_server_arm(f);
}

static void
fz_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct fz *f = arg;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	(void)what;
	if (n <= 0) {
		fz_server_close(f);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			fz_server_next(f);
	fz_server_arm(f);
}

static void
fz_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct fz *f = arg;

	(void)what;
	f->sfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	event_free(f->ev_accept);
	f->ev_accept = NULL;
	if (f->sfd == -1)
		return;
	f->ev_read = event_new(f->base, f->sfd, EV_READ | EV_PERSIST,
	    fz_on_read, f);
	f->ev_timer = evtimer_new(f->base, fz_on_timer, f);
	CHECK(f->ev_read != NULL && f->ev_timer != NULL);
	event_add(f->ev_read, NULL);
	fz_server_next(f);		/* the greeting */
	fz_server_arm(f);
}

static void fz_ready(struct smtpc *c, const struct smtpc_status *st,
    void *ctx);

static void
fz_done(struct smtpc *c, const struct smtpc_result *res, void *ctx)
{
	struct fz *f = ctx;

	f->dones++;
	CHECK(res->rcpt_count == f->msg.rcpt_count);
	size_t accepted = 0;
	for (size_t i = 0; i < res->rcpt_count; i++) {
		CHECK(res->rcpt[i].code >= 200 && res->rcpt[i].code <= 599);
		CHECK(res->rcpt[i].text != NULL);
		accepted += res->rcpt[i].code / 100 == 2;
	}
	CHECK(accepted == res->accepted);
	/* Delivered means the server answered the end of the data. */
	CHECK(accepted == 0 || res->message.code / 100 == 2);
	if (f->dones < f->sends && res->usable) {
		smtpc_send(c, &f->msg, fz_done, f);
		return;
	}
	smtpc_free(&f->c);
}

static void
fz_ready(struct smtpc *c, const struct smtpc_status *st, void *ctx)
{
	struct fz *f = ctx;

	f->readies++;
	CHECK(st->ok || (st->reply.code >= 400 && st->reply.code <= 599) ||
	    st->reply.code / 100 == 2 || st->reply.code / 100 == 3);
	if (!st->ok || f->sends == 0) {
		smtpc_free(&f->c);
		return;
	}
	smtpc_send(c, &f->msg, fz_done, f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct smtpc_rcpt rcpts[] = {
		{ .address = "a@remote.test", .notify = 2 | 4,
		  .orcpt = "utf-8;j\xc3\xb6rg@remote.test" },
		{ .address = "b@remote.test", .notify = 1 },
		{ .address = "c@remote.test", .orcpt = "rfc822;c+x@remote.test" },
	};
	struct smtpc_settings set = {
		.helo_name = "client.test", .remote_name = "mx.remote.test",
		.connect_timeout_ms = 500, .command_timeout_ms = 100,
		.data_timeout_ms = 100,
	};
	struct fz f = { .sfd = -1 };
	uint8_t flags;

	if (size < 1 || size > 16384)
		return 0;
	if (fz_lfd == -1)
		fz_init();
	flags = data[0];
	f.in = data + 1;
	f.end = data + size;
	set.tls = (enum smtpc_tls)(flags & 3);
	set.implicit_tls = (flags & 0x04) != 0;
	if (flags & 0x08) {
		set.auth_user = "user";
		set.auth_password = "secret";
		set.auth_plaintext_ok = (flags & 0x10) != 0;
	}
	f.sends = (flags & 0x20) ? 2 : 1;
	f.msg = (struct smtpc_message){ .mail_from = "s@here.test",
	    .rcpts = rcpts, .rcpt_count = 1 + (flags >> 6) % 3,
	    .fd = fz_msg_fd, .size = sizeof(fz_body) - 1,
	    .prepend = "DKIM-Signature: v=1\r\n", .prepend_len = 21,
	    .eightbit = (flags & 0x40) != 0, .smtputf8 = (flags & 0x80) != 0,
	    .ret = 2, .envid = "env id" };

	f.base = event_base_new();
	CHECK(f.base != NULL);
	f.ev_accept = event_new(f.base, fz_lfd, EV_READ, fz_on_accept, &f);
	event_add(f.ev_accept, NULL);
	f.c = smtpc_connect(f.base, (struct sockaddr *)&fz_addr, fz_addrlen,
	    &set, fz_ctx, fz_ready, &f);
	event_base_dispatch(f.base);
	/* Every path ends in exactly one ready and at most `sends` dones,
	   and the session is gone. */
	CHECK(f.c == NULL);
	CHECK(f.readies == 1);
	CHECK(f.dones <= f.sends);
	if (f.ev_accept != NULL)
		event_free(f.ev_accept);
	fz_server_close(&f);
	event_base_free(f.base);
	return 0;
}
