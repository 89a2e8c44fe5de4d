/* smtpd_session.c — the SMTP server session: conn callbacks, the input
   loop, the state machine, replies, error budget and lifetime.

   The loop reads every full command already buffered (RFC 2920 pipelining)
   and stops while a reply waits for something: the queue's durable commit,
   the unknown-recipient delay timer, a TLS handshake, or a client that
   does not read its replies (output over out_low: resumed by on_drain).
   Input is paused meanwhile so replies stay in command order.
   Lifetime: every entry from the event loop brackets itself with
   smtpd_session_enter/leave; on_close only marks the session dead, and the
   outermost leave frees it, so no callback ever runs on freed memory. */
#include "smtpd/smtpd_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtp/smtp_command.h"
#include "smtpd/smtpd_private.h"
#include "service/service_delay.h"
#include "service/service_reply.h"
#include "service/service_thread.h"

static const char *const smtpd_state_names[SMTPD_STATE_COUNT] = {
	[SMTPD_STATE_HANDSHAKE] = "handshake",
	[SMTPD_STATE_INIT] = "init",
	[SMTPD_STATE_READY] = "ready",
	[SMTPD_STATE_MAIL] = "mail",
	[SMTPD_STATE_BDAT] = "bdat",
	[SMTPD_STATE_DATA] = "data",
	[SMTPD_STATE_CHUNK] = "chunk",
	[SMTPD_STATE_COMMIT] = "commit",
	[SMTPD_STATE_SASL] = "sasl",
	[SMTPD_STATE_LOGIN] = "login",
	[SMTPD_STATE_CLOSING] = "closing",
};

/* Legal transitions (OpenSMTPD smtp_enter_state): from -> mask of to. */
static const unsigned smtpd_state_next[SMTPD_STATE_COUNT] = {
	[SMTPD_STATE_HANDSHAKE] = SMTPD_ST(INIT) | SMTPD_ST(CLOSING),
	[SMTPD_STATE_INIT] = SMTPD_ST(INIT) | SMTPD_ST(READY) |
	    SMTPD_ST(HANDSHAKE) | SMTPD_ST(CHUNK) | SMTPD_ST(CLOSING),
	[SMTPD_STATE_READY] = SMTPD_ST(READY) | SMTPD_ST(MAIL) |
	    SMTPD_ST(HANDSHAKE) | SMTPD_ST(CHUNK) | SMTPD_ST(CLOSING) |
	    SMTPD_ST(SASL) | SMTPD_ST(LOGIN),
	[SMTPD_STATE_MAIL] = SMTPD_ST(READY) | SMTPD_ST(DATA) |
	    SMTPD_ST(CHUNK) | SMTPD_ST(CLOSING),
	[SMTPD_STATE_BDAT] = SMTPD_ST(READY) | SMTPD_ST(CHUNK) |
	    SMTPD_ST(CLOSING),
	[SMTPD_STATE_DATA] = SMTPD_ST(READY) | SMTPD_ST(COMMIT) |
	    SMTPD_ST(CLOSING),
	/* A refused chunk returns to where it came from (INIT, READY, MAIL);
	   a kept one goes on (BDAT) or ends the message (COMMIT). */
	[SMTPD_STATE_CHUNK] = SMTPD_ST(INIT) | SMTPD_ST(READY) |
	    SMTPD_ST(MAIL) | SMTPD_ST(BDAT) | SMTPD_ST(COMMIT) |
	    SMTPD_ST(CLOSING),
	[SMTPD_STATE_COMMIT] = SMTPD_ST(READY) | SMTPD_ST(CLOSING),
	[SMTPD_STATE_SASL] = SMTPD_ST(READY) | SMTPD_ST(LOGIN) |
	    SMTPD_ST(CLOSING),
	[SMTPD_STATE_LOGIN] = SMTPD_ST(READY) | SMTPD_ST(CLOSING),
	[SMTPD_STATE_CLOSING] = 0,
};

static void smtpd_session_process(struct smtpd_session *s);

void
smtpd_session_set_state(struct smtpd_session *s, enum smtpd_state to)
{
	if ((unsigned)to >= SMTPD_STATE_COUNT ||
	    (smtpd_state_next[s->state] & (1u << to)) == 0)
		panic("smtpd_session_set_state: %s -> %s",
		    smtpd_state_names[s->state],
		    (unsigned)to < SMTPD_STATE_COUNT ?
		    smtpd_state_names[to] : "?");
	s->state = to;
}

static bool
smtpd_session_can_write(const struct smtpd_session *s)
{
	return s->conn != NULL && s->state != SMTPD_STATE_CLOSING;
}

void
smtpd_session_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	if (!smtpd_session_can_write(s))
		return;
	va_start(ap, fmt);
	service_vreply(s->conn, "smtpd", s->id, fmt, ap);
	va_end(ap);
}

void
smtpd_session_close(struct smtpd_session *s, const char *reply)
{
	if (s->state == SMTPD_STATE_CLOSING || s->conn == NULL)
		return;
	if (reply != NULL)
		smtpd_session_reply(s, "%s", reply);
	smtpd_session_set_state(s, SMTPD_STATE_CLOSING);
	/* The conn flushes the reply, then calls on_close from its own
	   event callback; until then s->conn stays valid but unused. */
	conn_close(s->conn);
}

/* Counts one error; past max_errors (0: no limit) the session closes. */
static void
smtpd_session_count_error(struct smtpd_session *s)
{
	unsigned max = s->config->limits.max_errors;

	s->errors++;
	if (max != 0 && s->errors >= max) {
		log_info(SMTPD_LOG_PREFIX " event=too_many_errors errors=%u",
		    s->id, s->errors);
		smtpd_session_close(s, "421 4.7.0 Too many errors");
	}
}

void
smtpd_session_error(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	if (smtpd_session_can_write(s)) {
		va_start(ap, fmt);
		service_vreply(s->conn, "smtpd", s->id, fmt, ap);
		va_end(ap);
	}
	smtpd_session_count_error(s);
}

void
smtpd_session_junk(struct smtpd_session *s)
{
	unsigned max = s->config->limits.max_commands_before_data;

	/* Postfix smtpd_junk_command_limit: a client that only talks gets
	   closer to the error budget with each command past the limit. */
	s->junk++;
	if (max != 0 && s->junk > max)
		smtpd_session_count_error(s);
}

void
smtpd_session_clear_transaction(struct smtpd_session *s)
{
	queue_writer_abort(&s->writer);
	smtpd_mail_envelope_clear(s);
	buf_reset(&s->data_out);
	s->rcpt_attempts = 0;
	s->bdat_used = false;
	s->data_size = 0;
	s->data_too_big = false;
	s->data_write_error = false;
	s->chunk_size = s->chunk_left = 0;
	s->chunk_last = false;
	s->chunk_fail = SMTPD_CHUNK_OK;
}

void
smtpd_session_end_transaction(struct smtpd_session *s)
{
	smtpd_session_clear_transaction(s);
	if (s->state == SMTPD_STATE_CLOSING)
		return;
	smtpd_session_set_state(s, s->helo != NULL ? SMTPD_STATE_READY :
	    SMTPD_STATE_INIT);
}

void
smtpd_session_enter(struct smtpd_session *s)
{
	s->depth++;
}

static void
smtpd_session_free(struct smtpd_session *s)
{
	void (*on_end)(void *) = s->params.on_end;
	void *end_ctx = s->params.end_ctx;

	service_thread_remove(s->params.thread, &s->link);
	service_delay_clear(&s->delay);
	smtpd_session_clear_transaction(s);
	buf_clear(&s->data_out);
	free(s->helo);
	smtpd_auth_clear(s);
	free(s);
	/* Last: the server may end the thread's loop once its last client
	   is done, and a commit still in flight must have come back first. */
	if (on_end != NULL)
		on_end(end_ctx);
}

void
smtpd_session_leave(struct smtpd_session *s)
{
	if (s->depth == 0)
		panic("smtpd_session_leave: not entered");
	s->depth--;
	/* A commit or a login in flight still names the session. */
	if (s->depth == 0 && s->dead && s->state != SMTPD_STATE_COMMIT &&
	    !s->login_pending)
		smtpd_session_free(s);
}

static void
smtpd_session_delay_done(void *ctx)
{
	struct smtpd_session *s = ctx;
	char *reply;

	smtpd_session_enter(s);
	reply = service_delay_take(&s->delay, s->conn, s->idle_ms);
	if (s->conn != NULL && reply != NULL && s->close_after_delay) {
		smtpd_session_close(s, reply);
	} else if (s->conn != NULL && reply != NULL) {
		smtpd_session_reply(s, "%s", reply);
		conn_resume_input(s->conn);
		smtpd_session_process(s);
	}
	free(reply);
	smtpd_session_leave(s);
}

void
smtpd_session_delay_reply(struct smtpd_session *s, unsigned delay_ms,
    const char *reply)
{
	if (s->conn != NULL)
		service_delay_start(&s->delay, s->conn, delay_ms, reply,
		    smtpd_session_delay_done, s);
}

void
smtpd_session_resume(struct smtpd_session *s)
{
	if (s->conn == NULL || s->state == SMTPD_STATE_CLOSING)
		return;
	conn_resume_input(s->conn);
	smtpd_session_process(s);
}

/* True for "BDAT" as the line's verb: its chunk follows the line, so a
   BDAT we cannot parse leaves us without framing. */
static bool
smtpd_session_is_bdat_line(const char *line, size_t len)
{
	return len >= 4 && strncasecmp(line, "BDAT", 4) == 0 &&
	    (len == 4 || line[4] == ' ' || line[4] == '\t');
}

/* Reads and runs one command line. 1: go on, 0: need more input. */
static int
smtpd_session_command(struct smtpd_session *s)
{
	size_t max = s->config->limits.max_command_line, read_max = max;
	struct smtp_command cmd;
	const char *line, *reply;
	size_t len;
	bool bare_lf;
	int ret;

	/* RFC 4954 §4: an AUTH line with its initial response may be
	   longer than 512 octets (PLAIN of three 255-octet fields). */
	if (s->params.is_submission && read_max < SMTPD_AUTH_LINE_MAX)
		read_max = SMTPD_AUTH_LINE_MAX;
	ret = conn_read_line(s->conn, read_max, &line, &len, &bare_lf);
	if (ret == 0)
		return 0;
	s->n_commands++;
	if (ret == 1 && len + (bare_lf ? 1 : 2) > max &&
	    len + (bare_lf ? 1 : 2) <= read_max &&
	    len >= 5 && strncasecmp(line, "AUTH ", 5) == 0)
		max = read_max;
	/* RFC 5321 §4.5.3.1.4: 512 octets with the CRLF. A longer line is
	   skipped up to its LF and the session goes on (Postfix). */
	if (ret == -1 || len + (bare_lf ? 1 : 2) > max) {
		log_info(SMTPD_LOG_PREFIX " event=line_too_long", s->id);
		/* Still buffered on -1: its verb is there to see. */
		if (ret == -1)
			conn_peek(s->conn, &line, &len);
		if (smtpd_session_is_bdat_line(line, len)) {
			/* Its chunk follows and we did not read its size:
			   going on would run the chunk's octets as
			   commands. */
			smtpd_session_close(s, "500 5.5.2 Error: line too long");
			return 1;
		}
		if (ret == -1)
			(void)conn_skip_line(s->conn);
		smtpd_session_error(s, "500 5.5.2 Error: line too long");
		return 1;
	}
	if (smtp_command_parse(line, len, &cmd, &reply) == -1) {
		bool bdat = cmd.verb == SMTP_VERB_BDAT ||
		    smtpd_session_is_bdat_line(line, len);

		smtp_command_clear(&cmd);
		if (bdat) {
			/* RFC 3030 §2: without a valid size the chunk's end
			   is unknown; close after the reply (STYLE.md §8). */
			log_info(SMTPD_LOG_PREFIX " event=bdat_syntax", s->id);
			smtpd_session_close(s, reply);
		} else {
			smtpd_session_error(s, "%s", reply);
		}
		return 1;
	}
	smtpd_cmd_dispatch(s, &cmd);
	smtp_command_clear(&cmd);
	return 1;
}

static void
smtpd_session_process(struct smtpd_session *s)
{
	if (s->processing)
		return;
	s->processing = true;
	smtpd_session_enter(s);
	for (;;) {
		int ret;

		if (s->conn == NULL || s->dead ||
		    s->state == SMTPD_STATE_CLOSING)
			break;
		if (s->shutdown && (s->state == SMTPD_STATE_INIT ||
		    s->state == SMTPD_STATE_READY)) {
			smtpd_session_close(s, "421 4.3.2 Service shutting down");
			break;
		}
		if (s->state == SMTPD_STATE_DATA) {
			ret = smtpd_data_input(s);
		} else if (s->state == SMTPD_STATE_SASL) {
			ret = smtpd_auth_input(s);
		} else if (s->state == SMTPD_STATE_CHUNK) {
			ret = smtpd_data_chunk_input(s);
		} else if ((SMTPD_ST_COMMANDS & (1u << s->state)) != 0) {
			if (service_delay_is_pending(&s->delay))
				break;
			/* Backpressure: a client that pipelines without
			   reading its replies waits for on_drain. Input is
			   paused too, or the client's half-close would end
			   the connection with commands unanswered. */
			if (conn_output_pending(s->conn) > s->out_limit) {
				log_debug(SMTPD_LOG_PREFIX " event=output_backlog "
				    "pending=%zu", s->id,
				    conn_output_pending(s->conn));
				s->wait_drain = true;
				conn_pause_input(s->conn);
				break;
			}
			ret = smtpd_session_command(s);
		} else {
			break;		/* HANDSHAKE, COMMIT, LOGIN: wait */
		}
		if (ret == 0)
			break;
	}
	s->processing = false;
	smtpd_session_leave(s);
}

static void
smtpd_session_on_input(struct conn *conn, void *ctx)
{
	struct smtpd_session *s = ctx;

	(void)conn;
	smtpd_session_process(s);
}

static void
smtpd_session_on_drain(struct conn *conn, void *ctx)
{
	struct smtpd_session *s = ctx;

	(void)conn;
	if (!s->wait_drain)
		return;
	s->wait_drain = false;
	smtpd_session_resume(s);
}

static void
smtpd_session_on_timeout(struct conn *conn, void *ctx)
{
	struct smtpd_session *s = ctx;

	(void)conn;
	smtpd_session_enter(s);
	log_info(SMTPD_LOG_PREFIX " event=timeout state=%s", s->id,
	    smtpd_state_names[s->state]);
	/* The conn closes after this returns; a commit in flight keeps the
	   session (not the connection) alive until it comes back. */
	if (s->state != SMTPD_STATE_HANDSHAKE)
		smtpd_session_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		    s->config->hostname);
	if (s->state != SMTPD_STATE_CLOSING &&
	    s->state != SMTPD_STATE_COMMIT)
		smtpd_session_set_state(s, SMTPD_STATE_CLOSING);
	smtpd_session_leave(s);
}

static void
smtpd_session_greet(struct smtpd_session *s)
{
	s->greeted = true;
	smtpd_session_reply(s, "220 %s ESMTP petrel", s->config->hostname);
}

static void
smtpd_session_on_tls(struct conn *conn, void *ctx)
{
	struct smtpd_session *s = ctx;
	const char *desc = conn_tls_description(conn);
	char esc[LOG_STR_MAX];

	smtpd_session_enter(s);
	log_info(SMTPD_LOG_PREFIX " event=tls tls=%s", s->id,
	    desc != NULL ? log_str(esc, sizeof(esc), desc, strlen(desc)) :
	    "unknown");
	if (s->state == SMTPD_STATE_HANDSHAKE) {
		if (s->greeted) {
			smtpd_cmd_tls_done(s);
		} else {
			smtpd_session_set_state(s, SMTPD_STATE_INIT);
			smtpd_session_greet(s);
		}
		smtpd_session_process(s);
	}
	smtpd_session_leave(s);
}

static void
smtpd_session_on_close(struct conn *conn, void *ctx,
    enum conn_close_reason reason)
{
	static const char *const reasons[] = {
		[CONN_CLOSE_EOF] = "eof",
		[CONN_CLOSE_ERROR] = "error",
		[CONN_CLOSE_TIMEOUT] = "timeout",
		[CONN_CLOSE_LOCAL] = "local",
	};
	struct smtpd_session *s = ctx;

	(void)conn;
	smtpd_session_enter(s);
	log_info(SMTPD_LOG_PREFIX " event=disconnect reason=%s state=%s "
	    "messages=%u rcpts=%u commands=%u errors=%u", s->id,
	    (unsigned)reason < sizeof(reasons) / sizeof(reasons[0]) ?
	    reasons[reason] : "?", smtpd_state_names[s->state],
	    s->n_messages, s->n_rcpts_total, s->n_commands, s->errors);
	s->conn = NULL;
	s->dead = true;
	/* A held reply has nobody to go to. */
	service_delay_cancel(&s->delay);
	/* An unfinished message is abandoned (never acknowledged). */
	if (s->state != SMTPD_STATE_COMMIT)
		smtpd_session_clear_transaction(s);
	smtpd_session_leave(s);
}

void
smtpd_session_start(int fd, const struct smtpd_session_params *params)
{
	static const struct conn_callbacks cb = {
		.on_input = smtpd_session_on_input,
		.on_drain = smtpd_session_on_drain,
		.on_timeout = smtpd_session_on_timeout,
		.on_tls = smtpd_session_on_tls,
		.on_close = smtpd_session_on_close,
	};
	const struct config *config = params->config;
	const struct config_listener *l = params->listener;
	bool implicit = l->tls == CONFIG_TLS_IMPLICIT;
	struct conn_limits limits;
	struct smtpd_session *s;

	if (implicit && params->tls == NULL) {
		/* server_new loads TLS for implicit listeners; a missing
		   context is a configuration race, not a client's doing. */
		log_error("smtpd: event=refused listener=%s error=\"no TLS "
		    "context for implicit TLS\"", l->name);
		close(fd);
		if (params->on_end != NULL)
			params->on_end(params->end_ctx);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->params = *params;
	s->config = config;
	s->state = implicit ? SMTPD_STATE_HANDSHAKE : SMTPD_STATE_INIT;
	s->starttls_offered = l->tls == CONFIG_TLS_STARTTLS &&
	    params->tls != NULL;
	buf_init(&s->data_out, SMTPD_DATA_OUT_MAX);

	service_conn_limits(config->limits.idle_timeout, &limits);
	s->out_limit = limits.out_low;
	s->idle_ms = limits.idle_timeout_ms;

	smtpd_session_enter(s);
	service_thread_add(params->thread, &s->link);
	s->conn = conn_new(service_thread_base(params->thread), fd,
	    implicit ? params->tls : NULL, &limits, &cb, s);
	snprintf(s->id, sizeof(s->id), "%s", conn_id(s->conn));
	snprintf(s->addr, sizeof(s->addr), "%s", conn_peer_addr(s->conn));
	/* Printers and scanners that cannot log in (issue 5). */
	s->relay_client = params->is_submission &&
	    config_networks_match(config->submission.relay_networks, s->addr);
	log_info(SMTPD_LOG_PREFIX " event=connect ip=%s port=%u listener=%s"
	    "%s%s", s->id, s->addr, (unsigned)conn_peer_port(s->conn),
	    l->name, params->is_submission ? " submission=yes" : "",
	    s->relay_client ? " relay_network=yes" : "");
	if (service_thread_is_shutting_down(params->thread)) {
		s->shutdown = true;
		if (implicit)
			smtpd_session_close(s, NULL);
		else
			smtpd_session_close(s,
			    "421 4.3.2 Service shutting down");
	} else if (!implicit) {
		smtpd_session_greet(s);
	}
	smtpd_session_leave(s);
}

void
smtpd_session_shutdown_link(struct service_link *link)
{
	smtpd_session_shutdown((struct smtpd_session *)((char *)link -
	    offsetof(struct smtpd_session, link)));
}

void
smtpd_session_shutdown(struct smtpd_session *s)
{
	smtpd_session_enter(s);
	s->shutdown = true;
	if (s->conn != NULL) {
		if (s->state == SMTPD_STATE_HANDSHAKE) {
			/* No plaintext inside a handshake, and nothing to
			   flush: a stalled handshake must not hold the
			   shutdown for conn's linger time. */
			smtpd_session_set_state(s, SMTPD_STATE_CLOSING);
			conn_abort(s->conn);
		} else if ((s->state == SMTPD_STATE_INIT ||
		    s->state == SMTPD_STATE_READY) &&
		    !service_delay_is_pending(&s->delay) && !s->processing) {
			smtpd_session_close(s,
			    "421 4.3.2 Service shutting down");
		}
		/* Otherwise the transaction finishes and the input loop
		   closes once the session is back in INIT or READY. */
	}
	smtpd_session_leave(s);
}
