/* smtpc.c — an SMTP client session's life (smtpc.h): the non-blocking
   connect, the conn callbacks, reading replies and matching each to the
   command it answers (a FIFO, so pipelined replies pair up in order, RFC
   2920 §3.1), and telling the caller. Invariants: the caller's callbacks
   run only from ev_notify, never inside a conn callback or a public call,
   so the caller may free the session from any of them; once freed, a
   session with a live conn lingers (QUIT or abort) until on_close frees
   it; every reply is bounded by smtp_reply (lines, count, bytes). */
#include "smtpc/smtpc_private.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define SMTPC_CONNECT_DEFAULT_MS 30000
#define SMTPC_COMMAND_DEFAULT_MS (5 * 60 * 1000)
#define SMTPC_DATA_DEFAULT_MS (10 * 60 * 1000)
/* A freed session waits this long at most for the reply to QUIT. */
#define SMTPC_QUIT_MAX_MS 10000

static void smtpc_destroy(struct smtpc *c);

static char *
smtpc_strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
smtpc_reply_set(struct smtpc_reply *r, unsigned code, const char *enhanced,
    const char *text)
{
	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s",
	    enhanced != NULL ? enhanced : "");
	free(r->text);
	r->text = xstrndup(text, SMTPC_TEXT_MAX);
	r->synthetic = true;
}

void
smtpc_reply_clear(struct smtpc_reply *r)
{
	xfree(&r->text);
	r->code = 0;
	r->enhanced[0] = '\0';
}

void
smtpc_reply_from(struct smtpc_reply *dst, const struct smtp_reply *src)
{
	size_t len = src->text.len < SMTPC_TEXT_MAX ? src->text.len :
	    SMTPC_TEXT_MAX;

	free(dst->text);
	dst->text = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		dst->text[i] = src->text.data[i] == '\n' ? ' ' :
		    src->text.data[i];
	dst->text[len] = '\0';
	dst->code = src->code;
	memcpy(dst->enhanced, src->enhanced, sizeof(dst->enhanced));
	dst->synthetic = false;
}

void
smtpc_expect(struct smtpc *c, enum smtpc_cmd cmd, size_t arg)
{
	if (c->expect_len == SMTPC_EXPECT_MAX)
		panic("smtpc_expect: more than %d replies outstanding",
		    SMTPC_EXPECT_MAX);
	c->expect[(c->expect_head + c->expect_len) % SMTPC_EXPECT_MAX] =
	    (struct smtpc_expect){ cmd, arg };
	c->expect_len++;
}

void
smtpc_write_line(struct smtpc *c, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	conn_write(c->conn, line, strlen(line));
	conn_write(c->conn, "\r\n", 2);
	free(line);
}

void
smtpc_set_reply_timeout(struct smtpc *c, unsigned ms)
{
	if (c->conn != NULL)
		conn_set_idle_timeout(c->conn, ms);
}

static void
smtpc_on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;
	enum smtpc_notify kind = c->notify;

	(void)fd;
	(void)what;
	c->notify = SMTPC_NOTIFY_NONE;
	if (c->freed)
		return;
	if (kind == SMTPC_NOTIFY_READY) {
		struct smtpc_status st = c->status;

		memset(&c->status.reply, 0, sizeof(c->status.reply));
		c->ready(c, &st, c->ready_ctx);
		smtpc_reply_clear(&st.reply);
	} else if (kind == SMTPC_NOTIFY_DONE) {
		struct smtpc_txn *t = c->txn;

		c->txn = NULL;
		t->done(c, &t->res, t->ctx);
		smtpc_txn_free(&t);
	}
}

void
smtpc_schedule_notify(struct smtpc *c, enum smtpc_notify what)
{
	if (c->notify != SMTPC_NOTIFY_NONE)
		panic("smtpc_schedule_notify: %d already pending", c->notify);
	c->notify = what;
	event_active(c->ev_notify, 0, 0);
}

void
smtpc_kill(struct smtpc *c)
{
	if (c->conn != NULL)
		conn_abort(c->conn);
}

void
smtpc_setup_failed(struct smtpc *c, enum smtpc_stage stage,
    const struct smtp_reply *reply, unsigned code, const char *enhanced,
    const char *text, bool tls_failed)
{
	c->status.ok = false;
	c->status.stage = stage;
	c->status.tls_failed = tls_failed;
	if (reply != NULL)
		smtpc_reply_from(&c->status.reply, reply);
	else
		smtpc_reply_set(&c->status.reply, code, enhanced, text);
	log_info("smtpc: conn=%s event=setup_failed host=%s addr=%s "
	    "stage=%d code=%u", c->id, c->remote_name, c->addr_text, stage,
	    c->status.reply.code);
	smtpc_schedule_notify(c, SMTPC_NOTIFY_READY);
	if (c->conn == NULL) {
		c->phase = SMTPC_PHASE_DEAD;
	} else if (reply != NULL || stage == SMTPC_STAGE_TLS_VERIFY ||
	    stage == SMTPC_STAGE_EHLO || stage == SMTPC_STAGE_STARTTLS ||
	    stage == SMTPC_STAGE_AUTH) {
		/* The server still talks SMTP: say goodbye. */
		c->phase = SMTPC_PHASE_QUIT;
		c->expect_len = 0;
		smtpc_write_line(c, "QUIT");
		smtpc_expect(c, SMTPC_CMD_QUIT, 0);
		smtpc_set_reply_timeout(c, SMTPC_QUIT_MAX_MS);
	} else {
		c->phase = SMTPC_PHASE_QUIT;
		conn_abort(c->conn);
	}
}

void
smtpc_became_ready(struct smtpc *c)
{
	c->phase = SMTPC_PHASE_READY;
	c->status.ok = true;
	c->status.stage = SMTPC_STAGE_DONE;
	log_info("smtpc: conn=%s event=ready host=%s addr=%s tls=%s",
	    c->id, c->remote_name, c->addr_text, c->tls_auth);
	smtpc_schedule_notify(c, SMTPC_NOTIFY_READY);
}

/* ---- conn callbacks ---------------------------------------------- */

static void
smtpc_dispatch(struct smtpc *c, const struct smtp_reply *r)
{
	struct smtpc_expect e = c->expect[c->expect_head];

	c->expect_head = (c->expect_head + 1) % SMTPC_EXPECT_MAX;
	c->expect_len--;
	switch (e.cmd) {
	case SMTPC_CMD_QUIT:
		conn_close(c->conn);
		break;
	case SMTPC_CMD_GREETING:
	case SMTPC_CMD_EHLO:
	case SMTPC_CMD_HELO:
	case SMTPC_CMD_STARTTLS:
	case SMTPC_CMD_AUTH:
		smtpc_setup_reply(c, e.cmd, r);
		break;
	case SMTPC_CMD_RSET:
	case SMTPC_CMD_MAIL:
	case SMTPC_CMD_RCPT:
	case SMTPC_CMD_DATA:
	case SMTPC_CMD_DOT:
		smtpc_txn_reply(c, e.cmd, e.arg, r);
		break;
	}
}

static void
smtpc_on_input(struct conn *conn, void *ctx)
{
	struct smtpc *c = ctx;
	const char *line, *error;
	size_t len;
	int ret;

	while (c->conn != NULL && c->phase != SMTPC_PHASE_DEAD) {
		ret = conn_read_line(conn, SMTP_REPLY_LINE_MAX + 2, &line,
		    &len, NULL);
		if (ret == 0)
			return;
		if (ret == -1) {
			/* conn_read_line sets no line on -1: log what is
			   buffered (log_str caps it), not a stale pointer. */
			conn_peek(conn, &line, &len);
			error = "reply line too long";
			goto bad;
		}
		if (c->expect_len == 0) {
			error = "reply without a command";
			goto bad;
		}
		ret = smtp_reply_feed(&c->reply, line, len, &error);
		if (ret == -1)
			goto bad;
		if (ret == 0)
			continue;
		smtpc_dispatch(c, &c->reply);
		smtp_reply_reset(&c->reply);
		if (c->tls_started && !c->tls_up)
			return;	/* input was dropped; the handshake runs */
	}
	return;
bad:;
	char esc[LOG_STR_MAX];

	log_info("smtpc: conn=%s event=protocol_error host=%s error=\"%s\" "
	    "line=%s", c->id, c->remote_name, error,
	    log_str(esc, sizeof(esc), line, len));
	c->lost_reason = error;
	conn_abort(conn);
}

static void
smtpc_on_drain(struct conn *conn, void *ctx)
{
	struct smtpc *c = ctx;

	(void)conn;
	if (c->phase == SMTPC_PHASE_TXN && c->txn != NULL)
		smtpc_txn_drain(c);
}

static void
smtpc_on_timeout(struct conn *conn, void *ctx)
{
	struct smtpc *c = ctx;

	(void)conn;
	c->lost_reason = "timeout waiting for the server";
}

static void
smtpc_on_tls(struct conn *conn, void *ctx)
{
	struct smtpc *c = ctx;

	c->tls_up = true;
	free(c->tls_desc);
	c->tls_desc = smtpc_strdup_or_null(conn_tls_description(conn));
	if (c->phase == SMTPC_PHASE_SETUP)
		smtpc_setup_tls_done(c);
}

static void
smtpc_on_close(struct conn *conn, void *ctx,
    enum conn_close_reason reason)
{
	struct smtpc *c = ctx;
	enum smtpc_phase phase = c->phase;

	(void)conn;
	c->conn = NULL;
	c->expect_len = 0;
	if (c->lost_reason == NULL)
		c->lost_reason = reason == CONN_CLOSE_TIMEOUT ?
		    "timeout waiting for the server" :
		    reason == CONN_CLOSE_EOF ? "connection closed by the server" :
		    reason == CONN_CLOSE_ERROR ? "connection error" :
		    "connection dropped";
	if (c->freed) {
		smtpc_destroy(c);
		return;
	}
	c->phase = SMTPC_PHASE_DEAD;
	if (phase == SMTPC_PHASE_SETUP)
		smtpc_setup_lost(c, reason == CONN_CLOSE_ERROR ||
		    reason == CONN_CLOSE_EOF || reason == CONN_CLOSE_TIMEOUT);
	else if (phase == SMTPC_PHASE_TXN)
		smtpc_txn_lost(c, c->lost_reason);
}

static const struct conn_callbacks smtpc_conn_cb = {
	.on_input = smtpc_on_input,
	.on_drain = smtpc_on_drain,
	.on_timeout = smtpc_on_timeout,
	.on_tls = smtpc_on_tls,
	.on_close = smtpc_on_close,
};

/* ---- connecting -------------------------------------------------- */

static void
smtpc_connect_failed(struct smtpc *c, const char *what, int err)
{
	char text[256];

	snprintf(text, sizeof(text), "%s %s [%s]: %s", what,
	    c->remote_name, c->addr_text, strerror(err));
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	smtpc_setup_failed(c, SMTPC_STAGE_CONNECT, NULL, 421, "4.4.1", text,
	    false);
}

static void
smtpc_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;
	struct conn_limits limits = { 0 };
	int err = 0;
	socklen_t len = sizeof(err);

	(void)fd;
	if (what & EV_TIMEOUT) {
		smtpc_connect_failed(c, "connect to", ETIMEDOUT);
		return;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		smtpc_connect_failed(c, "connect to", err);
		return;
	}
	limits.idle_timeout_ms = c->set.command_timeout_ms;
	limits.handshake_timeout_ms = c->set.command_timeout_ms;
	c->phase = SMTPC_PHASE_SETUP;
	c->conn = conn_new(c->base, c->fd, NULL, &limits, &smtpc_conn_cb, c);
	c->fd = -1;
	snprintf(c->id, sizeof(c->id), "%s", conn_id(c->conn));
	smtpc_setup_start(c);
}

struct smtpc *
smtpc_connect(struct event_base *base, const struct sockaddr *addr,
    socklen_t addrlen, const struct smtpc_settings *settings,
    SSL_CTX *tls_client, smtpc_ready_cb *ready, void *ctx)
{
	struct smtpc *c = xcalloc(1, sizeof(*c));
	struct timeval tv;
	const void *ip;
	uint16_t port;

	c->base = base;
	c->set = *settings;
	c->set.helo_name = xstrdup(settings->helo_name);
	c->set.auth_user = smtpc_strdup_or_null(settings->auth_user);
	c->set.auth_password = smtpc_strdup_or_null(settings->auth_password);
	c->set.remote_name = NULL;
	c->set.tls_name = NULL;
	if (c->set.connect_timeout_ms == 0)
		c->set.connect_timeout_ms = SMTPC_CONNECT_DEFAULT_MS;
	if (c->set.command_timeout_ms == 0)
		c->set.command_timeout_ms = SMTPC_COMMAND_DEFAULT_MS;
	if (c->set.data_timeout_ms == 0)
		c->set.data_timeout_ms = SMTPC_DATA_DEFAULT_MS;
	c->tlsa = xcalloc(settings->tlsa_count + 1, sizeof(*c->tlsa));
	for (size_t i = 0; i < settings->tlsa_count; i++) {
		uint8_t *d = xmalloc(settings->tlsa[i].len + 1);

		memcpy(d, settings->tlsa[i].data, settings->tlsa[i].len);
		c->tlsa[i] = settings->tlsa[i];
		c->tlsa[i].data = d;
	}
	c->set.tlsa = c->tlsa;
	if (tls_client != NULL) {
		SSL_CTX_up_ref(tls_client);
		c->tls_ctx = tls_client;
	}
	c->ready = ready;
	c->ready_ctx = ctx;
	c->tls_auth = "none";
	c->fd = -1;
	smtp_reply_init(&c->reply);
	c->ev_notify = event_new(base, -1, 0, smtpc_on_notify, c);
	if (c->ev_notify == NULL)
		panic("smtpc_connect: event_new failed");
	c->phase = SMTPC_PHASE_CONNECTING;

	if (addrlen > sizeof(c->addr))
		addrlen = sizeof(c->addr);
	memcpy(&c->addr, addr, addrlen);
	c->addrlen = addrlen;
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)addr;

		ip = &s6->sin6_addr;
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)addr;

		ip = &s4->sin_addr;
		port = ntohs(s4->sin_port);
	}
	if (inet_ntop(addr->sa_family, ip, c->addr_text,
	    sizeof(c->addr_text)) == NULL)
		snprintf(c->addr_text, sizeof(c->addr_text), "unknown");
	if (c->set.port == 0)
		c->set.port = port;
	c->remote_name = xstrdup(settings->remote_name != NULL ?
	    settings->remote_name : c->addr_text);
	c->tls_name = xstrdup(settings->tls_name != NULL ?
	    settings->tls_name : c->remote_name);
	snprintf(c->id, sizeof(c->id), "-");

	c->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		smtpc_connect_failed(c, "socket for", errno);
		return c;
	}
	if (connect(c->fd, addr, addrlen) == -1 && errno != EINPROGRESS) {
		smtpc_connect_failed(c, "connect to", errno);
		return c;
	}
	/* Also when connect succeeded at once (loopback): the answer comes
	   from the loop either way. */
	c->ev_connect = event_new(base, c->fd, EV_WRITE, smtpc_on_connect, c);
	if (c->ev_connect == NULL)
		panic("smtpc_connect: event_new failed");
	tv.tv_sec = c->set.connect_timeout_ms / 1000;
	tv.tv_usec = (c->set.connect_timeout_ms % 1000) * 1000;
	if (event_add(c->ev_connect, &tv) == -1)
		panic("smtpc_connect: event_add failed");
	return c;
}

/* ---- public ------------------------------------------------------ */

void
smtpc_send(struct smtpc *c, const struct smtpc_message *msg,
    smtpc_done_cb *done, void *ctx)
{
	if (c->freed || c->txn != NULL || c->notify != SMTPC_NOTIFY_NONE ||
	    (c->phase != SMTPC_PHASE_READY && c->phase != SMTPC_PHASE_DEAD))
		panic("smtpc_send: session %s is not ready (phase %d)", c->id,
		    c->phase);
	smtpc_txn_start(c, msg, done, ctx);
}

static void
smtpc_destroy(struct smtpc *c)
{
	if (c->ev_connect != NULL)
		event_free(c->ev_connect);
	if (c->fd != -1)
		close(c->fd);
	event_free(c->ev_notify);
	smtpc_txn_free(&c->txn);
	smtpc_reply_clear(&c->status.reply);
	smtp_reply_clear(&c->reply);
	for (size_t i = 0; i < c->set.tlsa_count; i++)
		free((void *)c->tlsa[i].data);
	free(c->tlsa);
	if (c->set.auth_password != NULL)
		explicit_bzero((char *)c->set.auth_password,
		    strlen(c->set.auth_password));
	free((char *)c->set.auth_password);
	free((char *)c->set.auth_user);
	free((char *)c->set.helo_name);
	free(c->remote_name);
	free(c->tls_name);
	free(c->tls_desc);
	free(c->ehlo_text);
	if (c->tls_ctx != NULL)
		SSL_CTX_free(c->tls_ctx);
	free(c);
}

void
smtpc_free(struct smtpc **cp)
{
	struct smtpc *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	c->freed = true;
	c->notify = SMTPC_NOTIFY_NONE;
	event_del(c->ev_notify);
	if (c->conn == NULL) {
		smtpc_destroy(c);
		return;
	}
	if (c->phase == SMTPC_PHASE_READY) {
		c->phase = SMTPC_PHASE_QUIT;
		smtpc_write_line(c, "QUIT");
		smtpc_expect(c, SMTPC_CMD_QUIT, 0);
		smtpc_set_reply_timeout(c, c->set.command_timeout_ms <
		    SMTPC_QUIT_MAX_MS ? c->set.command_timeout_ms :
		    SMTPC_QUIT_MAX_MS);
	} else if (c->phase != SMTPC_PHASE_QUIT) {
		c->phase = SMTPC_PHASE_QUIT;
		conn_abort(c->conn);
	}
}

const char *
smtpc_remote_name(const struct smtpc *c)
{
	return c->remote_name;
}

const char *
smtpc_remote_addr(const struct smtpc *c)
{
	return c->addr_text;
}

const char *
smtpc_tls_description(const struct smtpc *c)
{
	return c->tls_desc;
}

const char *
smtpc_tls_auth(const struct smtpc *c)
{
	return c->tls_auth;
}

bool
smtpc_is_usable(const struct smtpc *c)
{
	return c->phase == SMTPC_PHASE_READY && c->conn != NULL;
}

bool
smtpc_has_ext(const struct smtpc *c, const char *keyword)
{
	size_t klen = strlen(keyword);
	const char *p;

	if (!c->ext.ehlo || c->ehlo_text == NULL)
		return false;
	/* The first line is the greeting's domain, not a keyword. */
	p = strchr(c->ehlo_text, '\n');
	while (p != NULL) {
		p++;
		if (strncasecmp(p, keyword, klen) == 0 &&
		    (p[klen] == '\0' || p[klen] == '\n' || p[klen] == ' ' ||
		    p[klen] == '='))
			return true;
		p = strchr(p, '\n');
	}
	return false;
}

uint64_t
smtpc_max_size(const struct smtpc *c)
{
	return c->ext.size ? c->ext.max_size : 0;
}

const char *
smtpc_id(const struct smtpc *c)
{
	return c->id;
}
