/* imapd_session.c — one IMAP session's life: the conn callbacks, the
   greeting, replies, the error budget, held answers (failed logins),
   login, the graceful shutdown and the free. The input loop, the parser
   and command dispatch are imapd_session_input.c's.

   Lifetime (as pop3d): every entry from the event loop brackets itself
   with imapd_session_enter/leave; on_close only marks the session dead,
   and the outermost leave frees it once no job or login names it. The
   session never holds a store handle (imapd_job.c lends one per job), so
   nothing blocking is left to do at the free. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "imap/imap_parser.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "service/service_login.h"
#include "service/service_reply.h"
#include "store/store.h"

/* Post-login capabilities: only what works (the lead adjusts the list as
   the command files land). APPENDLIMIT is added with its number. */
#define IMAPD_CAPS_COMMON "IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+"
/* Only what works (tests/imap/test_imap_gaps.py exercises each). */
#define IMAPD_CAPS_AUTH " NAMESPACE UNSELECT UIDPLUS CHILDREN LIST-EXTENDED " \
	"LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE MOVE CONDSTORE QRESYNC " \
	"ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=REFERENCES " \
	"THREAD=ORDEREDSUBJECT QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE " \
	"BINARY STATUS=SIZE UTF8=ACCEPT WITHIN SAVEDATE OBJECTID"

bool
imapd_session_is_gone(const struct imapd_session *s)
{
	return s->conn == NULL || s->priv->closing || s->priv->dead;
}

void
imapd_write(struct imapd_session *s, const void *data, size_t len)
{
	if (!imapd_session_is_gone(s))
		conn_write(s->conn, data, len);
}

/* format(printf, 2, 0): clang's -Wformat-nonliteral (make fuzz) wants
   the va_list's format checked at imapd_reply's callers. */
static void imapd_vreply(struct imapd_session *s, const char *fmt,
    va_list ap) __attribute__((format(printf, 2, 0)));

static void
imapd_vreply(struct imapd_session *s, const char *fmt, va_list ap)
{
	if (!imapd_session_is_gone(s))
		service_vreply(s->conn, "imapd", s->id, fmt, ap);
}

void
imapd_reply(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imapd_vreply(s, fmt, ap);
	va_end(ap);
}

bool
imapd_output_full(const struct imapd_session *s)
{
	return s->conn != NULL &&
	    conn_output_pending(s->conn) > s->priv->out_limit;
}

void
imapd_output_ready(struct imapd_session *s, imapd_ready_fn *fn, void *ctx)
{
	struct imapd_session_private *p = s->priv;

	if (p->ready_fn != NULL)
		panic("imapd_output_ready: already waiting");
	p->ready_fn = fn;
	p->ready_ctx = ctx;
	p->wait_drain = true;
}

void
imapd_session_close(struct imapd_session *s, const char *line)
{
	if (imapd_session_is_gone(s))
		return;
	if (line != NULL)
		imapd_reply(s, "%s", line);
	s->priv->closing = true;
	s->state = IMAPD_STATE_LOGOUT;
	/* The conn flushes, then calls on_close from its own event. */
	conn_close(s->conn);
}

bool
imapd_session_plaintext_ok(const struct imapd_session *s)
{
	if (s->conn == NULL)
		return false;
	return service_login_plaintext_ok(s->config, conn_is_tls(s->conn),
	    conn_peer_is_loopback(s->conn));
}

void
imapd_session_capability(const struct imapd_session *s, struct buf *out)
{
	const struct imapd_session_private *p = s->priv;

	(void)buf_append_str(out, IMAPD_CAPS_COMMON);
	if (s->state == IMAPD_STATE_NOT_AUTH) {
		if (p->tls_offered && s->conn != NULL && !conn_is_tls(s->conn))
			(void)buf_append_str(out, " STARTTLS");
		if (imapd_session_plaintext_ok(s))
			(void)buf_append_str(out, " AUTH=PLAIN AUTH=LOGIN");
		else
			(void)buf_append_str(out, " LOGINDISABLED");
		return;
	}
	(void)buf_append_str(out, IMAPD_CAPS_AUTH);
	(void)buf_printf(out, " APPENDLIMIT=%llu",
	    (unsigned long long)s->config->limits.max_message_size);
	/* RFC 4978 §3: not offered once active. */
	if (!p->compress)
		(void)buf_append_str(out, " COMPRESS=DEFLATE");
}

void
imapd_session_enter(struct imapd_session *s)
{
	s->priv->depth++;
}

void
imapd_selected_free(struct imapd_selected **selp)
{
	struct imapd_selected *sel = *selp;

	if (sel == NULL)
		return;
	free(sel->name);
	free(sel->uids);
	free(sel->saved);
	free(sel->expunged);
	free(sel->reported);
	free(sel);
	*selp = NULL;
}

void
imapd_session_unselect(struct imapd_session *s)
{
	imapd_selected_free(&s->sel);
	if (s->state == IMAPD_STATE_SELECTED)
		s->state = IMAPD_STATE_AUTH;
}

static void
imapd_session_free(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;
	void (*on_end)(void *) = p->params.on_end;
	void *end_ctx = p->params.end_ctx;

	service_thread_remove(p->params.thread, &s->link);
	/* Waits only for a notification being delivered right now. */
	store_watch_remove(&p->watch);
	imapd_notify_detach(&p->notify);
	service_delay_clear(&s->delay);
	imap_parser_free(&s->parser);
	imapd_selected_free(&s->sel);
	free(s->account);
	free(s->tag);
	free(p->done_text);
	if (p->line_ctx != NULL)
		explicit_bzero(p->line_ctx, p->line_ctx_len);
	free(p->line_ctx);
	free(p);
	free(s);
	if (on_end != NULL)
		on_end(end_ctx);
}

void
imapd_session_leave(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;

	if (p->depth == 0)
		panic("imapd_session_leave: not entered");
	p->depth--;
	if (p->depth > 0 || !p->dead || p->job)
		return;
	imapd_session_free(s);
}

static void
imapd_session_delay_fire(void *ctx)
{
	struct imapd_session *s = ctx;
	char *text;
	bool close_after = s->priv->close_after_reply;

	imapd_session_enter(s);
	text = service_delay_take(&s->delay, s->conn, s->priv->idle_ms);
	if (text != NULL && !imapd_session_is_gone(s)) {
		imapd_command_done(s, 0, "%s", text);
		if (close_after)
			imapd_session_close(s, "* BYE Too many failed "
			    "authentication attempts.");
	}
	free(text);
	imapd_session_leave(s);
}

void
imapd_session_delay_done(struct imapd_session *s, unsigned ms,
    const char *text, bool close_after)
{
	if (imapd_session_is_gone(s))
		return;
	s->priv->close_after_reply = close_after;
	service_delay_start(&s->delay, s->conn, ms, text,
	    imapd_session_delay_fire, s);
}

void
imapd_session_logged_in(struct imapd_session *s,
    const struct service_login_result *r)
{
	struct imapd_session_private *p = s->priv;

	free(s->account);
	s->account = xstrdup(r->address);
	s->account_id = r->account_id;
	s->limits.quota_bytes = r->quota_bytes;
	s->limits.quota_messages = r->quota_messages;
	s->state = IMAPD_STATE_AUTH;
	p->notify = imapd_notify_new(s);
	p->watch = store_watch_add(s->account_id, imapd_notify_fire,
	    p->notify);
	/* Literals may be larger now (APPEND): a fresh parser is made with
	   the post-login limits at the next command. */
	imap_parser_free(&s->parser);
}

void
imapd_session_idle_push(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;

	if (imapd_session_is_gone(s) || s->state != IMAPD_STATE_SELECTED ||
	    !p->idling || !p->changed || p->job)
		return;
	if (imapd_output_full(s)) {
		/* A client that does not read gets no more: on_drain pushes
		   what changed meanwhile, in one sync. */
		p->wait_drain = true;
		return;
	}
	imapd_sync(s, true, imapd_session_idle_synced);
}

void
imapd_session_notified(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;

	if (imapd_session_is_gone(s))
		return;
	/* Also outside SELECTED: a SELECT job may be reading the mailbox
	   this change is about, and the view it makes must not miss it
	   (SELECT clears the flag before it reads). */
	p->changed = true;
	/* IDLE pushes at once (RFC 2177); otherwise the next command's end
	   tells (RFC 9051 §5.2). A sync already running leaves changed set
	   and its end pushes again (imapd_session_idle_synced). */
	imapd_session_idle_push(s);
}

/* --- conn callbacks ----------------------------------------------------- */

static void
imapd_session_on_input(struct conn *conn, void *ctx)
{
	(void)conn;
	imapd_session_process(ctx);
}

static void
imapd_session_on_drain(struct conn *conn, void *ctx)
{
	struct imapd_session *s = ctx;
	struct imapd_session_private *p = s->priv;
	imapd_ready_fn *fn = p->ready_fn;

	(void)conn;
	if (!p->wait_drain)
		return;
	p->wait_drain = false;
	imapd_session_enter(s);
	if (fn != NULL) {
		p->ready_fn = NULL;
		fn(s, p->ready_ctx);
	} else {
		imapd_session_idle_push(s);
		imapd_session_resume(s);
	}
	imapd_session_leave(s);
}

static void
imapd_session_on_timeout(struct conn *conn, void *ctx)
{
	struct imapd_session *s = ctx;

	(void)conn;
	imapd_session_enter(s);
	log_info(IMAPD_LOG_PREFIX " event=timeout", s->id);
	/* RFC 9051 §5.4: the autologout timer. Untagged BYE is fine in any
	   state, also between a literal's octets (the client sees it after
	   its command). */
	if (!imapd_session_is_gone(s))
		imapd_reply(s, "* BYE Disconnected for inactivity.");
	s->priv->closing = true;
	imapd_session_leave(s);
}

static void
imapd_session_greet(struct imapd_session *s)
{
	struct buf caps;

	buf_init(&caps, 0);
	imapd_session_capability(s, &caps);
	imapd_reply(s, "* OK [CAPABILITY %s] petrel ready.", caps.data);
	buf_clear(&caps);
}

static void
imapd_session_on_tls(struct conn *conn, void *ctx)
{
	struct imapd_session *s = ctx;
	const char *desc = conn_tls_description(conn);
	char esc[LOG_STR_MAX];
	bool was = s->priv->handshake;

	imapd_session_enter(s);
	log_info(IMAPD_LOG_PREFIX " event=tls tls=%s", s->id,
	    desc != NULL ? log_str(esc, sizeof(esc), desc, strlen(desc)) :
	    "unknown");
	s->priv->handshake = false;
	if (was) {
		if (s->priv->params.listener->tls == CONFIG_TLS_IMPLICIT)
			imapd_session_greet(s);
		imapd_session_resume(s);
	}
	imapd_session_leave(s);
}

static void
imapd_session_on_close(struct conn *conn, void *ctx,
    enum conn_close_reason reason)
{
	static const char *const reasons[] = {
		[CONN_CLOSE_EOF] = "eof",
		[CONN_CLOSE_ERROR] = "error",
		[CONN_CLOSE_TIMEOUT] = "timeout",
		[CONN_CLOSE_LOCAL] = "local",
	};
	struct imapd_session *s = ctx;
	char esc[LOG_STR_MAX];

	(void)conn;
	imapd_session_enter(s);
	log_info(IMAPD_LOG_PREFIX " event=disconnect reason=%s user=%s "
	    "commands=%u errors=%u", s->id,
	    (unsigned)reason < sizeof(reasons) / sizeof(reasons[0]) ?
	    reasons[reason] : "?", s->account != NULL ? log_str(esc,
	    sizeof(esc), s->account, strlen(s->account)) : "-",
	    s->priv->n_commands, s->errors);
	s->conn = NULL;
	s->priv->dead = true;
	service_delay_cancel(&s->delay);
	/* A command waiting for the output to drain learns it never
	   will, and frees what it holds. */
	if (s->priv->ready_fn != NULL) {
		imapd_ready_fn *fn = s->priv->ready_fn;

		s->priv->ready_fn = NULL;
		fn(s, s->priv->ready_ctx);
	}
	imapd_session_leave(s);
}

void
imapd_session_start(int fd, const struct imapd_session_params *params)
{
	static const struct conn_callbacks cb = {
		.on_input = imapd_session_on_input,
		.on_drain = imapd_session_on_drain,
		.on_timeout = imapd_session_on_timeout,
		.on_tls = imapd_session_on_tls,
		.on_close = imapd_session_on_close,
	};
	const struct config *config = params->config;
	const struct config_listener *l = params->listener;
	bool implicit = l->tls == CONFIG_TLS_IMPLICIT;
	struct conn_limits limits;
	struct imapd_session *s;
	struct imapd_session_private *p;

	if (implicit && params->tls == NULL) {
		log_error("imapd: event=refused listener=%s error=\"no TLS "
		    "context for implicit TLS\"", l->name);
		close(fd);
		if (params->on_end != NULL)
			params->on_end(params->end_ctx);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	p = s->priv = xcalloc(1, sizeof(*p));
	p->params = *params;
	s->config = config;
	s->thread = params->thread;
	s->login = params->login;
	s->pool = params->workers;
	s->state = IMAPD_STATE_NOT_AUTH;
	p->handshake = implicit;
	p->tls_offered = l->tls == CONFIG_TLS_STARTTLS && params->tls != NULL;

	service_conn_limits(config->limits.imap_idle_timeout, &limits);
	p->out_limit = limits.out_low;
	p->idle_ms = limits.idle_timeout_ms;

	imapd_session_enter(s);
	service_thread_add(params->thread, &s->link);
	s->conn = conn_new(service_thread_base(params->thread), fd,
	    implicit ? params->tls : NULL, &limits, &cb, s);
	snprintf(s->id, sizeof(s->id), "%s", conn_id(s->conn));
	snprintf(s->addr, sizeof(s->addr), "%s", conn_peer_addr(s->conn));
	log_info(IMAPD_LOG_PREFIX " event=connect ip=%s port=%u listener=%s",
	    s->id, s->addr, (unsigned)conn_peer_port(s->conn), l->name);
	if (service_thread_is_shutting_down(params->thread)) {
		p->shutdown = true;
		if (implicit) {
			p->closing = true;
			conn_abort(s->conn);
		} else {
			imapd_session_close(s, "* BYE Server shutting down.");
		}
	} else if (!implicit) {
		imapd_session_greet(s);
	}
	imapd_session_leave(s);
}

static void
imapd_session_shutdown(struct imapd_session *s)
{
	struct imapd_session_private *p = s->priv;

	imapd_session_enter(s);
	p->shutdown = true;
	if (!imapd_session_is_gone(s)) {
		if (p->handshake) {
			/* Nothing to flush inside a handshake. */
			p->closing = true;
			conn_abort(s->conn);
		} else if (imapd_session_is_idle(s) && !p->processing) {
			imapd_session_close(s, "* BYE Server shutting down.");
		}
		/* Otherwise the command finishes first; the input loop
		   closes once the session waits for the next one. */
	}
	imapd_session_leave(s);
}

void
imapd_session_shutdown_link(struct service_link *link)
{
	imapd_session_shutdown((struct imapd_session *)((char *)link -
	    offsetof(struct imapd_session, link)));
}
