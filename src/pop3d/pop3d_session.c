/* pop3d_session.c — the POP3 server session: conn callbacks, the input
   loop, the state machine, replies, the error budget, worker jobs and
   lifetime.

   The loop reads every full command already buffered (RFC 2449 §6.6
   PIPELINING) and stops while a reply waits for something: a worker job
   (login, the file of a RETR, the update after QUIT), a failed login's
   delay, a TLS handshake, or a client that does not read its replies
   (output over out_limit: resumed by on_drain). Input is paused meanwhile,
   so replies stay in command order and a client's half-close waits for
   its last reply.
   Lifetime: every entry from the event loop brackets itself with
   pop3d_session_enter/leave; on_close only marks the session dead, and the
   outermost leave frees it once no job names it, after a last job has
   closed its store (SQLite's close may checkpoint: not on an I/O thread). */
#include "pop3d/pop3d_session.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_command.h"
#include "pop3d/pop3d_maildrop.h"
#include "pop3d/pop3d_private.h"
#include "service/service_delay.h"
#include "service/service_reply.h"
#include "service/service_thread.h"
#include "store/store.h"

static const char *const pop3d_state_names[POP3D_STATE_COUNT] = {
	[POP3D_STATE_HANDSHAKE] = "handshake",
	[POP3D_STATE_AUTH] = "authorization",
	[POP3D_STATE_SASL] = "sasl",
	[POP3D_STATE_LOGIN] = "login",
	[POP3D_STATE_TRANSACTION] = "transaction",
	[POP3D_STATE_LIST] = "list",
	[POP3D_STATE_RETR] = "retr",
	[POP3D_STATE_UPDATE] = "update",
	[POP3D_STATE_CLOSING] = "closing",
};

/* Legal transitions: from -> mask of to. */
static const unsigned pop3d_state_next[POP3D_STATE_COUNT] = {
	[POP3D_STATE_HANDSHAKE] = POP3D_ST(AUTH) | POP3D_ST(CLOSING),
	[POP3D_STATE_AUTH] = POP3D_ST(SASL) | POP3D_ST(LOGIN) |
	    POP3D_ST(HANDSHAKE) | POP3D_ST(CLOSING),
	[POP3D_STATE_SASL] = POP3D_ST(AUTH) | POP3D_ST(LOGIN) |
	    POP3D_ST(CLOSING),
	[POP3D_STATE_LOGIN] = POP3D_ST(AUTH) | POP3D_ST(TRANSACTION) |
	    POP3D_ST(CLOSING),
	[POP3D_STATE_TRANSACTION] = POP3D_ST(LIST) | POP3D_ST(RETR) |
	    POP3D_ST(UPDATE) | POP3D_ST(CLOSING),
	[POP3D_STATE_LIST] = POP3D_ST(TRANSACTION) | POP3D_ST(CLOSING),
	[POP3D_STATE_RETR] = POP3D_ST(TRANSACTION) | POP3D_ST(CLOSING),
	[POP3D_STATE_UPDATE] = POP3D_ST(CLOSING),
	[POP3D_STATE_CLOSING] = 0,
};

/* States in which the input is read as command lines. */
#define POP3D_ST_COMMANDS (POP3D_ST(AUTH) | POP3D_ST(TRANSACTION))

/* Commands handled per input event before yielding to the loop. */
#define POP3D_COMMANDS_PER_TURN 64

static void pop3d_session_process(struct pop3d_session *s);

const char *
pop3d_session_state_name(enum pop3d_state state)
{
	return (unsigned)state < POP3D_STATE_COUNT ?
	    pop3d_state_names[state] : "?";
}

void
pop3d_session_set_state(struct pop3d_session *s, enum pop3d_state to)
{
	if ((unsigned)to >= POP3D_STATE_COUNT ||
	    (pop3d_state_next[s->state] & (1u << to)) == 0)
		panic("pop3d_session_set_state: %s -> %s",
		    pop3d_state_names[s->state],
		    pop3d_session_state_name(to));
	s->state = to;
}

static bool
pop3d_session_can_write(const struct pop3d_session *s)
{
	return s->conn != NULL && s->state != POP3D_STATE_CLOSING;
}

bool
pop3d_session_is_gone(const struct pop3d_session *s)
{
	return !pop3d_session_can_write(s);
}

void
pop3d_session_write(struct pop3d_session *s, const void *data, size_t len)
{
	if (pop3d_session_can_write(s))
		conn_write(s->conn, data, len);
}

void
pop3d_session_reply(struct pop3d_session *s, const char *fmt, ...)
{
	va_list ap;

	if (!pop3d_session_can_write(s))
		return;
	va_start(ap, fmt);
	service_vreply(s->conn, "pop3d", s->id, fmt, ap);
	va_end(ap);
}

void
pop3d_session_close(struct pop3d_session *s, const char *reply)
{
	if (s->state == POP3D_STATE_CLOSING || s->conn == NULL)
		return;
	if (reply != NULL)
		pop3d_session_reply(s, "%s", reply);
	pop3d_session_set_state(s, POP3D_STATE_CLOSING);
	/* The conn flushes the reply, then calls on_close from its own
	   event callback; until then s->conn stays valid but unused. */
	conn_close(s->conn);
}

void
pop3d_session_error(struct pop3d_session *s, const char *fmt, ...)
{
	unsigned max = s->config->limits.max_errors;
	va_list ap;

	if (pop3d_session_can_write(s)) {
		va_start(ap, fmt);
		service_vreply(s->conn, "pop3d", s->id, fmt, ap);
		va_end(ap);
	}
	/* POP3 has no unsolicited replies: the error just sent is the last
	   thing the client reads before the close. */
	s->errors++;
	if (max != 0 && s->errors >= max) {
		log_info(POP3D_LOG_PREFIX " event=too_many_errors errors=%u",
		    s->id, s->errors);
		pop3d_session_close(s, NULL);
	}
}

bool
pop3d_session_output_full(struct pop3d_session *s)
{
	if (s->conn == NULL || conn_output_pending(s->conn) <= s->out_limit)
		return false;
	log_debug(POP3D_LOG_PREFIX " event=output_backlog pending=%zu", s->id,
	    conn_output_pending(s->conn));
	s->wait_drain = true;
	/* Paused too, or the client's half-close would end the connection
	   with commands unanswered. */
	conn_pause_input(s->conn);
	return true;
}

void
pop3d_session_enter(struct pop3d_session *s)
{
	s->depth++;
}

static void
pop3d_session_free(struct pop3d_session *s)
{
	void (*on_end)(void *) = s->params.on_end;
	void *end_ctx = s->params.end_ctx;

	service_thread_remove(s->params.thread, &s->link);
	service_delay_clear(&s->delay);
	if (s->user != NULL)
		explicit_bzero(s->user, strlen(s->user));
	free(s->user);
	free(s->account);
	pop3d_retr_free(&s->retr);
	pop3d_maildrop_free(&s->md);
	free(s);
	/* Last: the server may end the thread's loop once its last client
	   is done. */
	if (on_end != NULL)
		on_end(end_ctx);
}

struct pop3d_job {
	struct pop3d_session *s;
	pop3d_job_work_fn *work;
	pop3d_job_done_fn *done;
	void *job;
};

static void
pop3d_session_job_work(void *ctx)
{
	struct pop3d_job *j = ctx;

	j->work(j->job);
}

static void
pop3d_session_job_done(void *ctx)
{
	struct pop3d_job *j = ctx;
	struct pop3d_session *s = j->s;

	pop3d_session_wait_end(s);
	j->done(s, j->job);
	free(j);
	pop3d_session_leave(s);
}

void
pop3d_session_wait_begin(struct pop3d_session *s)
{
	if (s->job)
		panic("pop3d_session_wait_begin: a job is already running");
	s->job = true;
	if (s->conn != NULL) {
		conn_pause_input(s->conn);
		/* The client waits for us: no idle timeout meanwhile. */
		conn_set_idle_timeout(s->conn, 0);
	}
}

void
pop3d_session_wait_end(struct pop3d_session *s)
{
	s->job = false;
	pop3d_session_enter(s);
	if (s->conn != NULL)
		conn_set_idle_timeout(s->conn, s->idle_ms);
}

void
pop3d_session_submit(struct pop3d_session *s, pop3d_job_work_fn *work,
    pop3d_job_done_fn *done, void *job)
{
	struct pop3d_job *j = xmalloc(sizeof(*j));

	pop3d_session_wait_begin(s);
	*j = (struct pop3d_job){ s, work, done, job };
	worker_submit(s->params.workers, service_thread_base(s->params.thread),
	    pop3d_session_job_work, pop3d_session_job_done, j);
}

static void
pop3d_session_close_store_work(void *job)
{
	struct store *store = job;

	store_close(&store);
}

static void
pop3d_session_close_store_done(struct pop3d_session *s, void *job)
{
	(void)s;
	(void)job;
}

void
pop3d_session_leave(struct pop3d_session *s)
{
	struct store *store;

	if (s->depth == 0)
		panic("pop3d_session_leave: not entered");
	s->depth--;
	if (s->depth > 0 || !s->dead || s->job)
		return;
	if (s->store != NULL) {
		/* The store goes first, on a worker; the free follows when
		   that job is back. */
		store = s->store;
		s->store = NULL;
		pop3d_session_submit(s, pop3d_session_close_store_work,
		    pop3d_session_close_store_done, store);
		return;
	}
	pop3d_session_free(s);
}

static void
pop3d_session_delay_done(void *ctx)
{
	struct pop3d_session *s = ctx;
	char *reply;

	pop3d_session_enter(s);
	reply = service_delay_take(&s->delay, s->conn, s->idle_ms);
	if (s->conn != NULL && reply != NULL) {
		if (s->close_after_delay) {
			pop3d_session_close(s, reply);
		} else {
			pop3d_session_reply(s, "%s", reply);
			pop3d_session_resume(s);
		}
	}
	free(reply);
	pop3d_session_leave(s);
}

void
pop3d_session_delay_reply(struct pop3d_session *s, unsigned delay_ms,
    const char *reply, bool close_after)
{
	if (s->conn == NULL)
		return;
	s->close_after_delay = close_after;
	service_delay_start(&s->delay, s->conn, delay_ms, reply,
	    pop3d_session_delay_done, s);
}

void
pop3d_session_resume(struct pop3d_session *s)
{
	if (s->conn == NULL || s->state == POP3D_STATE_CLOSING)
		return;
	/* A stream (RETR) or listing keeps input paused until it is over:
	   the next command is read after the last line went out. */
	if ((POP3D_ST_COMMANDS | POP3D_ST(SASL)) & (1u << s->state))
		conn_resume_input(s->conn);
	pop3d_session_process(s);
}

/* Reads and runs one command line. 1: go on, 0: need more input. */
static int
pop3d_session_command(struct pop3d_session *s)
{
	struct pop3d_command cmd;
	const char *line, *error;
	size_t len;
	int ret;

	ret = conn_read_line(s->conn, POP3D_LINE_MAX, &line, &len, NULL);
	if (ret == 0)
		return 0;
	s->n_commands++;
	if (ret == -1) {
		/* RFC 2449 §4. Skipped up to its LF; the session goes on. */
		log_info(POP3D_LOG_PREFIX " event=line_too_long", s->id);
		(void)conn_skip_line(s->conn);
		pop3d_session_error(s, "-ERR Line too long.");
		return 1;
	}
	if (pop3d_command_parse(line, len, &cmd, &error) == -1) {
		pop3d_session_error(s, "%s", error);
		return 1;
	}
	log_debug(POP3D_LOG_PREFIX " event=command verb=%s", s->id,
	    pop3d_verb_name(cmd.verb));
	pop3d_cmd_dispatch(s, &cmd);
	pop3d_command_clear(&cmd);
	return 1;
}

/* SASL state: one response line (RFC 5034 §4). */
static int
pop3d_session_sasl_line(struct pop3d_session *s)
{
	const char *line;
	size_t len;
	int ret;

	ret = conn_read_line(s->conn, POP3D_LINE_MAX, &line, &len, NULL);
	if (ret == 0)
		return 0;
	if (ret == -1) {
		(void)conn_skip_line(s->conn);
		pop3d_session_set_state(s, POP3D_STATE_AUTH);
		pop3d_session_error(s, "-ERR Line too long.");
		return 1;
	}
	pop3d_login_sasl_line(s, line, len);
	return 1;
}

/* Waiting for the client's next line, with nothing of ours in flight. */
static bool
pop3d_session_is_idle(const struct pop3d_session *s)
{
	return ((POP3D_ST_COMMANDS | POP3D_ST(SASL)) & (1u << s->state)) !=
	    0 && !s->job && !service_delay_is_pending(&s->delay);
}

static void
pop3d_session_process(struct pop3d_session *s)
{
	if (s->processing)
		return;
	s->processing = true;
	pop3d_session_enter(s);
	for (unsigned turns = 0;; turns++) {
		int ret;

		/* Some commands cost work in proportion to the mailbox (RSET,
		   LIST of a large one): after a batch of pipelined ones, let
		   the thread's other sessions run; the rest is re-delivered
		   from the event loop. */
		if (turns == POP3D_COMMANDS_PER_TURN && s->conn != NULL &&
		    !s->dead) {
			conn_pause_input(s->conn);
			conn_resume_input(s->conn);
			break;
		}

		if (s->conn == NULL || s->dead ||
		    s->state == POP3D_STATE_CLOSING || s->job ||
		    service_delay_is_pending(&s->delay) || s->wait_drain)
			break;
		if (s->shutdown && pop3d_session_is_idle(s)) {
			pop3d_session_close(s, NULL);
			break;
		}
		switch (s->state) {
		case POP3D_STATE_AUTH:
		case POP3D_STATE_TRANSACTION:
			ret = pop3d_session_output_full(s) ? 0 :
			    pop3d_session_command(s);
			break;
		case POP3D_STATE_SASL:
			ret = pop3d_session_output_full(s) ? 0 :
			    pop3d_session_sasl_line(s);
			break;
		case POP3D_STATE_LIST:
			ret = pop3d_cmd_list_continue(s);
			break;
		case POP3D_STATE_RETR:
			ret = pop3d_retr_continue(s);
			break;
		default:
			ret = 0;	/* HANDSHAKE, LOGIN, UPDATE: wait */
			break;
		}
		if (ret == 0)
			break;
	}
	s->processing = false;
	pop3d_session_leave(s);
}

static void
pop3d_session_on_input(struct conn *conn, void *ctx)
{
	struct pop3d_session *s = ctx;

	(void)conn;
	pop3d_session_process(s);
}

static void
pop3d_session_on_drain(struct conn *conn, void *ctx)
{
	struct pop3d_session *s = ctx;

	(void)conn;
	if (!s->wait_drain)
		return;
	s->wait_drain = false;
	pop3d_session_enter(s);
	pop3d_session_resume(s);
	pop3d_session_leave(s);
}

static void
pop3d_session_on_timeout(struct conn *conn, void *ctx)
{
	struct pop3d_session *s = ctx;

	(void)conn;
	pop3d_session_enter(s);
	log_info(POP3D_LOG_PREFIX " event=timeout state=%s", s->id,
	    pop3d_state_names[s->state]);
	/* RFC 1939 §3: the autologout timer; the session ends without the
	   UPDATE state. The conn closes after this returns. Only between
	   replies: inside a listing or a message (a client that stopped
	   reading) an -ERR line would read as part of the body, while a
	   close before the terminator says it is incomplete. */
	if (pop3d_session_is_idle(s))
		pop3d_session_reply(s, "-ERR Disconnected for inactivity.");
	if (s->state != POP3D_STATE_CLOSING)
		pop3d_session_set_state(s, POP3D_STATE_CLOSING);
	pop3d_session_leave(s);
}

static void
pop3d_session_greet(struct pop3d_session *s)
{
	/* No APOP timestamp: APOP is not offered (MD5 of the password
	   would need the password in clear on the server). */
	pop3d_session_reply(s, "+OK petrel ready.");
}

static void
pop3d_session_on_tls(struct conn *conn, void *ctx)
{
	struct pop3d_session *s = ctx;
	const char *desc = conn_tls_description(conn);
	char esc[LOG_STR_MAX];

	pop3d_session_enter(s);
	log_info(POP3D_LOG_PREFIX " event=tls tls=%s", s->id,
	    desc != NULL ? log_str(esc, sizeof(esc), desc, strlen(desc)) :
	    "unknown");
	if (s->state == POP3D_STATE_HANDSHAKE) {
		if (s->params.listener->tls == CONFIG_TLS_IMPLICIT) {
			pop3d_session_set_state(s, POP3D_STATE_AUTH);
			pop3d_session_greet(s);
		} else {
			pop3d_cmd_tls_done(s);
		}
		pop3d_session_resume(s);
	}
	pop3d_session_leave(s);
}

static void
pop3d_session_on_close(struct conn *conn, void *ctx,
    enum conn_close_reason reason)
{
	static const char *const reasons[] = {
		[CONN_CLOSE_EOF] = "eof",
		[CONN_CLOSE_ERROR] = "error",
		[CONN_CLOSE_TIMEOUT] = "timeout",
		[CONN_CLOSE_LOCAL] = "local",
	};
	struct pop3d_session *s = ctx;
	char esc[LOG_STR_MAX];

	(void)conn;
	pop3d_session_enter(s);
	log_info(POP3D_LOG_PREFIX " event=disconnect reason=%s state=%s "
	    "user=%s retrieved=%u bytes=%llu commands=%u errors=%u", s->id,
	    (unsigned)reason < sizeof(reasons) / sizeof(reasons[0]) ?
	    reasons[reason] : "?", pop3d_state_names[s->state],
	    s->account != NULL ? log_str(esc, sizeof(esc), s->account,
	    strlen(s->account)) : "-", s->n_retrieved,
	    (unsigned long long)s->bytes_retrieved, s->n_commands, s->errors);
	s->conn = NULL;
	s->dead = true;
	/* A held reply has nobody to go to. */
	service_delay_cancel(&s->delay);
	pop3d_session_leave(s);
}

void
pop3d_session_start(int fd, const struct pop3d_session_params *params)
{
	static const struct conn_callbacks cb = {
		.on_input = pop3d_session_on_input,
		.on_drain = pop3d_session_on_drain,
		.on_timeout = pop3d_session_on_timeout,
		.on_tls = pop3d_session_on_tls,
		.on_close = pop3d_session_on_close,
	};
	const struct config *config = params->config;
	const struct config_listener *l = params->listener;
	bool implicit = l->tls == CONFIG_TLS_IMPLICIT;
	struct conn_limits limits;
	struct pop3d_session *s;

	if (implicit && params->tls == NULL) {
		/* server_new loads TLS for implicit listeners; a missing
		   context is a configuration race, not a client's doing. */
		log_error("pop3d: event=refused listener=%s error=\"no TLS "
		    "context for implicit TLS\"", l->name);
		close(fd);
		if (params->on_end != NULL)
			params->on_end(params->end_ctx);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->params = *params;
	s->config = config;
	s->state = implicit ? POP3D_STATE_HANDSHAKE : POP3D_STATE_AUTH;
	s->stls_offered = l->tls == CONFIG_TLS_STARTTLS && params->tls != NULL;

	/* RFC 1939 §3: at least 10 minutes (config: pop3_idle_timeout). */
	service_conn_limits(config->limits.pop3_idle_timeout, &limits);
	s->out_limit = limits.out_low;
	s->idle_ms = limits.idle_timeout_ms;

	pop3d_session_enter(s);
	service_thread_add(params->thread, &s->link);
	s->conn = conn_new(service_thread_base(params->thread), fd,
	    implicit ? params->tls : NULL, &limits, &cb, s);
	snprintf(s->id, sizeof(s->id), "%s", conn_id(s->conn));
	snprintf(s->addr, sizeof(s->addr), "%s", conn_peer_addr(s->conn));
	log_info(POP3D_LOG_PREFIX " event=connect ip=%s port=%u listener=%s",
	    s->id, s->addr, (unsigned)conn_peer_port(s->conn), l->name);
	if (service_thread_is_shutting_down(params->thread)) {
		s->shutdown = true;
		/* RFC 1939 §4 lets the greeting be -ERR. */
		pop3d_session_close(s, implicit ? NULL :
		    "-ERR [SYS/TEMP] Server shutting down.");
	} else if (!implicit) {
		pop3d_session_greet(s);
	}
	pop3d_session_leave(s);
}

void
pop3d_session_shutdown(struct pop3d_session *s)
{
	pop3d_session_enter(s);
	s->shutdown = true;
	if (s->conn != NULL) {
		if (s->state == POP3D_STATE_HANDSHAKE) {
			/* No plaintext inside a handshake, and nothing to
			   flush: a stalled handshake must not hold the
			   shutdown for conn's linger time. */
			pop3d_session_set_state(s, POP3D_STATE_CLOSING);
			conn_abort(s->conn);
		} else if (pop3d_session_is_idle(s) && !s->processing) {
			pop3d_session_close(s, NULL);
		}
		/* Otherwise the command finishes and the input loop
		   closes once the session waits for the next one. */
	}
	pop3d_session_leave(s);
}

void
pop3d_session_shutdown_link(struct service_link *link)
{
	pop3d_session_shutdown((struct pop3d_session *)((char *)link -
	    offsetof(struct pop3d_session, link)));
}
