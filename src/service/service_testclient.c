/* service_testclient.c — the session tests' client; see
   service_testclient.h. */
#include "service/service_testclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/test.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"

long long
service_testclient_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
service_testclient_server_open(struct service_testclient_server *s,
    struct event_base *base, const unsigned *started, const unsigned *ended,
    const char *dir, const char *hostname, enum config_protocol protocol,
    uint16_t port)
{
	char *error = NULL, *cert, *key;
	socklen_t alen = sizeof(s->laddr);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->started = started;
	s->ended = ended;
	s->plain = (struct config_listener){ .name = "plain",
	    .address = "127.0.0.1", .port = port,
	    .protocol = protocol, .tls = CONFIG_TLS_NONE };
	s->starttls = s->plain;
	s->starttls.name = "starttls";
	s->starttls.tls = CONFIG_TLS_STARTTLS;
	s->implicit = s->plain;
	s->implicit.name = "implicit";
	s->implicit.tls = CONFIG_TLS_IMPLICIT;

	cert = xasprintf("%s/cert.pem", dir);
	key = xasprintf("%s/key.pem", dir);
	if (tls_generate_self_signed(hostname, cert, key, &error) == -1 ||
	    (s->server_tls = tls_server_ctx_new(cert, key, &error)) == NULL)
		panic("service_testclient_server_open: tls: %s", error);
	free(cert);
	free(key);
	s->client_tls = SSL_CTX_new(TLS_client_method());
	if (s->client_tls == NULL)
		panic("service_testclient_server_open: SSL_CTX_new");
	SSL_CTX_set_verify(s->client_tls, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(s->client_tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	s->laddr.sin_family = AF_INET;
	s->laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->lfd == -1 || bind(s->lfd, (struct sockaddr *)&s->laddr,
	    sizeof(s->laddr)) == -1 || listen(s->lfd, 16) == -1 ||
	    getsockname(s->lfd, (struct sockaddr *)&s->laddr, &alen) == -1)
		panic("service_testclient_server_open: listen: %s",
		    strerror(errno));
}

void
service_testclient_server_close(struct service_testclient_server *s)
{
	if (s->lfd != -1)
		close(s->lfd);
	s->lfd = -1;
	SSL_CTX_free(s->server_tls);
	SSL_CTX_free(s->client_tls);
	s->server_tls = NULL;
	s->client_tls = NULL;
}

int
service_testclient_connect(struct service_testclient *c,
    const struct service_testclient_server *s, int rcvbuf)
{
	int sfd;

	memset(c, 0, sizeof(*c));
	c->server = s;
	buf_init(&c->in, 0);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd != -1 && rcvbuf > 0)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (c->fd == -1 || connect(c->fd, (const struct sockaddr *)&s->laddr,
	    sizeof(s->laddr)) == -1)
		panic("service_testclient_connect: %s", strerror(errno));
	sfd = accept(s->lfd, NULL, NULL);
	if (sfd == -1)
		panic("service_testclient_connect: accept: %s",
		    strerror(errno));
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) == -1)
		panic("service_testclient_connect: fcntl");
	return sfd;
}

void
service_testclient_free(struct service_testclient *c)
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
service_testclient_pump(const struct service_testclient *c)
{
	event_base_loop(c->server->base, EVLOOP_NONBLOCK);
}

/* Reads whatever is there into c->in; EOF or an error sets c->eof. */
static void
service_testclient_fill(struct service_testclient *c)
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

void
service_testclient_step(struct service_testclient *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	service_testclient_pump(c);
	service_testclient_fill(c);
	(void)poll(&pfd, 1, 1);
	service_testclient_pump(c);
}

/* One write of at most len octets: what was written, -1 with errno
   (EAGAIN when TLS wants to wait), or -2 when TLS failed (reported). */
static ssize_t
service_testclient_write(struct service_testclient *c, const char *p,
    size_t len)
{
	if (c->ssl == NULL)
		return send(c->fd, p, len, MSG_NOSIGNAL);

	int r = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);

	if (r > 0)
		return r;
	int e = SSL_get_error(c->ssl, r);

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		test_fail(__FILE__, __LINE__, "SSL_write failed (%d)", e);
		return -2;
	}
	errno = EAGAIN;
	return -1;
}

void
service_testclient_send(struct service_testclient *c, const void *data,
    size_t len)
{
	const char *p = data;
	long long deadline = service_testclient_now_ms() +
	    SERVICE_TESTCLIENT_WAIT_MS;
	size_t off = 0;

	while (off < len) {
		ssize_t n = service_testclient_write(c, p + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -2)
			return;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR) && service_testclient_now_ms() < deadline) {
			service_testclient_step(c);
			continue;
		}
		test_fail(__FILE__, __LINE__, "send: %s", strerror(errno));
		return;
	}
}

void
service_testclient_send_str(struct service_testclient *c, const char *s)
{
	service_testclient_send(c, s, strlen(s));
}

/* Where the first whole reply in c->in ends (its last CRLF), or -1. */
static ssize_t
service_testclient_reply_end(const struct service_testclient *c, bool smtp)
{
	size_t pos = 0;

	while (pos < c->in.len) {
		const char *line = c->in.data + pos;
		const char *crlf = memmem(line, c->in.len - pos, "\r\n", 2);

		if (crlf == NULL)
			return -1;
		size_t llen = (size_t)(crlf - line);

		/* SMTP: "250-" continues, anything else is the last line. */
		if (!smtp || llen < 4 || line[3] != '-')
			return (ssize_t)(pos + llen);
		pos += llen + 2;
	}
	return -1;
}

/* The next reply, lines as one when smtp. */
static char *
service_testclient_next(struct service_testclient *c, bool smtp)
{
	long long deadline = service_testclient_now_ms() +
	    SERVICE_TESTCLIENT_WAIT_MS;
	for (;;) {
		ssize_t end = service_testclient_reply_end(c, smtp);

		if (end >= 0) {
			char *r = xstrndup(c->in.data, (size_t)end);

			buf_consume(&c->in, (size_t)end + 2);
			return r;
		}
		if (c->eof || service_testclient_now_ms() > deadline)
			return NULL;
		service_testclient_step(c);
	}
}

char *
service_testclient_line(struct service_testclient *c)
{
	return service_testclient_next(c, false);
}

char *
service_testclient_reply(struct service_testclient *c)
{
	return service_testclient_next(c, c->smtp);
}

char *
service_testclient_expect_at(const char *file, int line,
    struct service_testclient *c, const char *prefix)
{
	char *r = service_testclient_reply(c);

	if (r == NULL || strncmp(r, prefix, strlen(prefix)) != 0)
		test_fail(file, line, "reply \"%s\", want \"%s...\"",
		    r != NULL ? r : "(none)", prefix);
	return r;
}

void
service_testclient_expect_line_at(const char *file, int line,
    struct service_testclient *c, const char *want)
{
	char *r = service_testclient_line(c);

	if (r == NULL || strcmp(r, want) != 0)
		test_fail(file, line, "reply \"%s\", want \"%s\"",
		    r != NULL ? r : "(none)", want);
	free(r);
}

void
service_testclient_wait_eof_at(const char *file, int line,
    struct service_testclient *c)
{
	long long deadline = service_testclient_now_ms() +
	    SERVICE_TESTCLIENT_WAIT_MS;

	while (!c->eof && service_testclient_now_ms() < deadline)
		service_testclient_step(c);
	if (!c->eof)
		test_fail(file, line, "connection still open");
	if (c->in.len > 0)
		test_fail(file, line, "unexpected bytes before EOF: \"%.*s\"",
		    (int)(c->in.len > 200 ? 200 : c->in.len), c->in.data);
}

void
service_testclient_wait_gone_at(const char *file, int line,
    const struct service_testclient_server *s)
{
	long long deadline = service_testclient_now_ms() +
	    SERVICE_TESTCLIENT_WAIT_MS;

	while (*s->ended < *s->started &&
	    service_testclient_now_ms() < deadline) {
		event_base_loop(s->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	if (*s->ended != *s->started)
		test_fail(file, line, "%u sessions still alive",
		    *s->started - *s->ended);
}

void
service_testclient_closed_at(const char *file, int line,
    struct service_testclient *c)
{
	service_testclient_wait_eof_at(file, line, c);
	service_testclient_free(c);
	service_testclient_wait_gone_at(file, line, c->server);
}

bool
service_testclient_handshake(struct service_testclient *c)
{
	long long deadline = service_testclient_now_ms() +
	    SERVICE_TESTCLIENT_WAIT_MS;
	SSL *ssl = SSL_new(c->server->client_tls);

	if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1)
		panic("service_testclient_handshake: SSL_new");
	SSL_set_connect_state(ssl);
	for (;;) {
		int r = SSL_do_handshake(ssl);

		if (r == 1)
			break;
		int e = SSL_get_error(ssl, r);

		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    service_testclient_now_ms() > deadline) {
			test_fail(__FILE__, __LINE__, "handshake failed (%d)",
			    e);
			SSL_free(ssl);
			service_testclient_free(c);
			service_testclient_wait_gone_at(__FILE__, __LINE__,
			    c->server);
			return false;
		}
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		service_testclient_pump(c);
		(void)poll(&pfd, 1, 1);
	}
	c->ssl = ssl;
	return true;
}
