/* pop3d_private.h — what the files of src/pop3d/ share: the session
   structure, its states, and the functions of pop3d_cmd.c (the command
   table and the commands), pop3d_login.c (USER, PASS, AUTH and the login
   job) and pop3d_retr.c (RETR and TOP streaming). Nothing outside
   src/pop3d/ includes it.

   Invariants: the state changes only in pop3d_session_set_state(), which
   panics on an illegal transition; a session is touched only on the I/O
   thread of its conn; at most one worker job per session is in flight
   (the store handle is one SQLite connection), and while one is the
   session's input is paused so replies stay in command order; a session
   is freed only when nothing of it is on the stack (depth == 0), no job
   names it and its store is closed. */
#ifndef PETREL_POP3D_PRIVATE_H
#define PETREL_POP3D_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pop3d/pop3d_session.h"
#include "service/service_delay.h"
#include "service/service_thread.h"

struct conn;
struct event;
struct pop3d_command;
struct pop3d_maildrop;
struct pop3d_message;
struct pop3d_retr;
struct store;

enum pop3d_state {
	POP3D_STATE_HANDSHAKE,	/* TLS handshake: implicit TLS or STLS */
	POP3D_STATE_AUTH,	/* AUTHORIZATION (RFC 1939 §4) */
	POP3D_STATE_SASL,	/* AUTH: waiting for the client's response */
	POP3D_STATE_LOGIN,	/* the login job, or a failure's delay */
	POP3D_STATE_TRANSACTION,/* RFC 1939 §5: logged in, maildrop open */
	POP3D_STATE_LIST,	/* a LIST or UIDL listing goes out */
	POP3D_STATE_RETR,	/* a RETR or TOP streams out */
	POP3D_STATE_UPDATE,	/* RFC 1939 §6: QUIT's job */
	POP3D_STATE_CLOSING,	/* last reply written, conn closing */
	POP3D_STATE_COUNT
};

#define POP3D_ST(x) (1u << POP3D_STATE_##x)

/* Logins that fail in one connection before it is closed: a client that
   keeps guessing reconnects and meets the throttle's delay each time. */
#define POP3D_MAX_AUTH_FAILURES 3

struct pop3d_session {
	struct pop3d_session_params params;	/* copied at start */
	const struct config *config;		/* params.config */
	struct conn *conn;			/* NULL once closed */
	char id[32];				/* conn_id(), kept for logs */
	char addr[64];				/* peer address */

	enum pop3d_state state;
	unsigned depth;		/* callbacks of this session on the stack */
	bool dead;		/* conn gone: free when nothing runs */
	bool processing;	/* inside pop3d_session_process */
	bool wait_drain;	/* output over the limit: wait for on_drain */
	bool shutdown;		/* graceful shutdown: close when idle */
	bool stls_offered;	/* listener is STARTTLS and TLS is loaded */
	bool job;		/* a worker job names this session */
	size_t out_limit;	/* output pending above this: stop */
	unsigned idle_ms;	/* conn idle timeout, off while we hold a
				   reply back */

	/* AUTHORIZATION. */
	char *user;		/* USER's argument, until PASS */
	const char *login_method; /* "USER"/"PLAIN" while a login runs */
	unsigned auth_failures;
	struct service_delay delay;	/* a failed login's answer waits */
	bool close_after_delay;

	/* TRANSACTION. */
	char *account;		/* the address logged in as */
	int64_t account_id;
	struct store *store;	/* used by worker jobs only */
	struct pop3d_maildrop *md;
	bool list_uidl;		/* the listing is UIDL, not LIST */
	size_t list_next;	/* index of the next message to list */
	struct pop3d_retr *retr;	/* RETR/TOP in progress */

	/* Counters for the log. */
	unsigned errors;	/* toward limits.max_errors */
	unsigned n_commands;
	unsigned n_retrieved;
	uint64_t bytes_retrieved;

	struct service_link link;	/* the thread's list of sessions */
};

/* pop3d_session.c */
void pop3d_session_set_state(struct pop3d_session *s, enum pop3d_state to);
const char *pop3d_session_state_name(enum pop3d_state state);
/* One reply line; text without CRLF. */
void pop3d_session_reply(struct pop3d_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Raw octets (a listing's lines, a message body). */
void pop3d_session_write(struct pop3d_session *s, const void *data,
    size_t len);
/* A reply that counts against max_errors; past the budget the
   connection closes after it. */
void pop3d_session_error(struct pop3d_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes a last reply (may be NULL) and closes after flushing. */
void pop3d_session_close(struct pop3d_session *s, const char *reply);
/* Holds reply back for delay_ms with input paused, then writes it (and
   closes when close_after) and goes on with pipelined commands. */
void pop3d_session_delay_reply(struct pop3d_session *s, unsigned delay_ms,
    const char *reply, bool close_after);
/* Runs work(job) on the worker pool, then done(s, job) on the session's
   thread, with input paused in between. done runs even when the
   connection is gone meanwhile (s->conn NULL): it must free job. */
typedef void pop3d_job_work_fn(void *job);
typedef void pop3d_job_done_fn(struct pop3d_session *s, void *job);
void pop3d_session_submit(struct pop3d_session *s, pop3d_job_work_fn *work,
    pop3d_job_done_fn *done, void *job);
/* For a job's done(): the connection is gone or closing, so nothing is
   written and the state stays. */
bool pop3d_session_is_gone(const struct pop3d_session *s);
/* Brackets an asynchronous wait that is not a worker job of ours (the
   shared login): begin counts it as the session's job (input paused, no
   idle timeout, not freed); end, on the session's thread, enters the
   session: the caller finishes with pop3d_session_leave. */
void pop3d_session_wait_begin(struct pop3d_session *s);
void pop3d_session_wait_end(struct pop3d_session *s);
/* A command's wait is over: resumes input and reads what is pipelined. */
void pop3d_session_resume(struct pop3d_session *s);
/* Whether output waits above out_limit: if so input pauses until
   on_drain, and the caller stops writing. */
bool pop3d_session_output_full(struct pop3d_session *s);
void pop3d_session_enter(struct pop3d_session *s);
void pop3d_session_leave(struct pop3d_session *s);
/* "conn=<id>" text for log lines. */
#define POP3D_LOG_PREFIX "pop3d: conn=%s"

/* pop3d_cmd.c — the command table and every command but those of
   pop3d_login.c and pop3d_retr.c. */
void pop3d_cmd_dispatch(struct pop3d_session *s, struct pop3d_command *cmd);
/* The TLS handshake after STLS finished (RFC 2595 §4: forget USER). */
void pop3d_cmd_tls_done(struct pop3d_session *s);
/* The message a command names by number, or an error reply (counted)
   and NULL. */
struct pop3d_message *pop3d_cmd_message(struct pop3d_session *s,
    uint32_t number);
/* LIST/UIDL state: writes the next lines. 1: go on, 0: wait. */
int pop3d_cmd_list_continue(struct pop3d_session *s);

/* pop3d_login.c */
void pop3d_login_user(struct pop3d_session *s, struct pop3d_command *cmd);
void pop3d_login_pass(struct pop3d_session *s, struct pop3d_command *cmd);
void pop3d_login_auth(struct pop3d_session *s, struct pop3d_command *cmd);
/* SASL state: the client's response line. */
void pop3d_login_sasl_line(struct pop3d_session *s, const char *line,
    size_t len);
/* Whether USER, PASS and AUTH PLAIN are allowed on this connection now
   ([auth] plaintext, TLS, loopback). */
bool pop3d_login_plaintext_ok(const struct pop3d_session *s);

/* pop3d_retr.c */
void pop3d_retr_cmd(struct pop3d_session *s, struct pop3d_command *cmd);
/* RETR state: starts the next chunk when output has room. 0: wait. */
int pop3d_retr_continue(struct pop3d_session *s);
/* Frees a stream whose connection is gone (no job in flight). */
void pop3d_retr_free(struct pop3d_retr **retr);
#endif
