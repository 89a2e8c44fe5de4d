/* smtpd_private.h — what the files of src/smtpd/ share: the session
   structure, its states, and the command handlers of smtpd_cmd.c,
   smtpd_mail.c and smtpd_data.c. Nothing outside src/smtpd/ includes it.

   Invariants: the state changes only in smtpd_session_set_state(), which
   panics on an illegal transition; a session is touched only on the I/O
   thread of its conn; a session is freed only when nothing of it is on the
   stack (depth == 0) and no queue commit still names it. */
#ifndef PETREL_SMTPD_PRIVATE_H
#define PETREL_SMTPD_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "queue/queue.h"
#include "service/service_delay.h"
#include "auth/auth_sasl.h"
#include "service/service_thread.h"
#include "smtp/smtp_data.h"
#include "smtpd/smtpd_headers.h"
#include "smtpd/smtpd_session.h"

struct conn;
struct event;
struct smtp_command;

/* Input fed to smtp_data_feed at once. It writes at most 2 * len + 1
   bytes (repaired line ends, plus a held-back ".\r"), so data_out never
   needs more than SMTPD_DATA_OUT_MAX; and should it be full, the decoder
   stops early and the rest is fed again. The decoded bytes go to the
   queue file after each feed, so a message never sits in memory. */
#define SMTPD_DATA_FEED_MAX	(32 * 1024)
#define SMTPD_DATA_OUT_MAX	(2 * SMTPD_DATA_FEED_MAX + 1)

enum smtpd_state {
	SMTPD_STATE_HANDSHAKE,	/* TLS handshake: implicit TLS or STARTTLS */
	SMTPD_STATE_INIT,	/* greeted; HELO/EHLO expected */
	SMTPD_STATE_READY,	/* HELO/EHLO done, no transaction */
	SMTPD_STATE_MAIL,	/* MAIL accepted; RCPTs, then DATA or BDAT */
	SMTPD_STATE_BDAT,	/* between the BDAT chunks of a transaction */
	SMTPD_STATE_DATA,	/* reading the DATA body */
	SMTPD_STATE_CHUNK,	/* reading the octets of one BDAT chunk */
	SMTPD_STATE_COMMIT,	/* waiting for the queue's durable commit */
	SMTPD_STATE_SASL,	/* AUTH: waiting for the client's response */
	SMTPD_STATE_LOGIN,	/* AUTH: the shared login runs */
	SMTPD_STATE_CLOSING,	/* last reply written, conn closing */
	SMTPD_STATE_COUNT
};

#define SMTPD_ST(x) (1u << SMTPD_STATE_##x)
/* States in which the input is read as command lines. */
#define SMTPD_ST_COMMANDS \
	(SMTPD_ST(INIT) | SMTPD_ST(READY) | SMTPD_ST(MAIL) | SMTPD_ST(BDAT))

/* Logins that fail in one connection before it is closed: a client that
   keeps guessing reconnects and meets the throttle's delay each time. */
#define SMTPD_MAX_AUTH_FAILURES 3
/* An AUTH command line or SASL response: "AUTH PLAIN " and the longest
   PLAIN response (AUTH_SASL_PLAIN_B64_MAX) with CRLF, rounded up. */
#define SMTPD_AUTH_LINE_MAX 1100

/* What the SASL state waits for. */
enum smtpd_sasl {
	SMTPD_SASL_PLAIN,		/* the PLAIN response */
	SMTPD_SASL_LOGIN_USER,		/* LOGIN: the user name */
	SMTPD_SASL_LOGIN_PASS,		/* LOGIN: the password */
};

/* Why a BDAT chunk is read but not kept: answered at the chunk's end
   (RFC 3030 §2: the octets are consumed whatever the reply). */
enum smtpd_chunk_fail {
	SMTPD_CHUNK_OK,
	SMTPD_CHUNK_NO_HELO,		/* 503 5.5.1 send HELO/EHLO first */
	SMTPD_CHUNK_NO_MAIL,		/* 503 5.5.1 need MAIL command */
	SMTPD_CHUNK_NO_RCPT,		/* 503 5.5.1 need RCPT command */
	SMTPD_CHUNK_NO_VALID_RCPT,	/* 554 5.5.1 no valid recipients */
	SMTPD_CHUNK_TOO_BIG,		/* 552 5.3.4 */
	SMTPD_CHUNK_WRITE_ERROR,	/* 451 4.3.0 */
};

struct smtpd_session {
	struct smtpd_session_params params;	/* copied at start */
	const struct config *config;		/* params.config */
	struct conn *conn;			/* NULL once closed */
	char id[32];				/* conn_id(), kept for logs */
	char addr[64];				/* peer address */

	enum smtpd_state state;
	unsigned depth;		/* callbacks of this session on the stack */
	bool dead;		/* conn gone: free when depth drops to 0 */
	bool processing;	/* inside smtpd_session_process */
	bool wait_drain;	/* output over the limit: wait for on_drain */
	bool shutdown;		/* graceful shutdown: close when idle */
	bool greeted;		/* the 220 greeting was written */
	bool starttls_offered;	/* listener is STARTTLS and TLS is loaded */
	size_t out_limit;	/* output pending above this: stop reading */
	unsigned idle_ms;	/* conn idle timeout; off while we make the
				   client wait (commit, held reply) */

	/* HELO/EHLO. */
	char *helo;
	bool esmtp;

	/* Submission: AUTH (RFC 4954) and who may relay. */
	enum smtpd_sasl sasl;
	const char *sasl_method;	/* "PLAIN" or "LOGIN", static */
	char sasl_user[AUTH_SASL_FIELD_MAX + 1];	/* LOGIN's name */
	bool login_pending;	/* service_login names the session */
	bool close_after_delay;	/* the held reply is the last one */
	unsigned auth_failures;
	char *auth_user;	/* the account logged in, NULL: none */
	char *auth_master;	/* the master user who logged in, or NULL */
	int64_t auth_account_id;
	bool relay_client;	/* IP in [submission] relay_networks */
	struct smtpd_headers headers;	/* Message-ID/Date still missing */

	/* The transaction (MAIL to end of data). */
	struct queue_envelope env;
	size_t rcpt_cap;
	unsigned rcpt_attempts;		/* RCPTs tried, accepted or not */
	bool bdat_used;			/* BDAT seen: DATA now refused */
	struct queue_writer *writer;	/* open from DATA/first BDAT */
	uint64_t data_size;		/* message octets, Received excluded */
	uint64_t mail_size;		/* MAIL FROM SIZE=, 0 when not given */
	/* The largest message some accepted recipient's mailbox quota
	   still takes (UINT64_MAX: no limit); over it, DATA is refused with
	   552 5.2.2 instead of queueing mail that can only bounce. */
	uint64_t quota_ceiling;
	uint64_t queued_size;		/* stored octets, for the log line */

	/* DATA body. */
	struct smtp_data data;
	struct buf data_out;		/* decoded bytes waiting for the writer */
	bool data_too_big;
	bool data_write_error;

	/* BDAT chunk being read. */
	uint64_t chunk_size, chunk_left;
	bool chunk_last;
	enum smtpd_chunk_fail chunk_fail;

	/* Reply held back by the unknown-recipient delay (No mailbox oracle). */
	struct service_delay delay;

	/* Counters. */
	unsigned errors;		/* toward max_errors */
	unsigned junk;			/* NOOP/RSET/VRFY/EXPN/HELP */
	unsigned unknown_rcpts;		/* per session */
	unsigned n_messages;		/* queued in this session */
	unsigned n_rcpts_total;		/* accepted, all transactions */
	unsigned n_commands;

	struct service_link link;	/* the thread's list of sessions */
};

/* smtpd_session.c */
void smtpd_session_set_state(struct smtpd_session *s, enum smtpd_state to);
/* One reply line; text without CRLF. */
void smtpd_session_reply(struct smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A reply that counts against max_errors; past the budget it is followed
   by 421 and the connection closes. */
void smtpd_session_error(struct smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes a last reply (may be NULL) and closes after flushing. */
void smtpd_session_close(struct smtpd_session *s, const char *reply);
/* The transaction is over (success, RSET, error): frees the envelope,
   aborts an open writer, goes to READY (or INIT without HELO). Closes the
   session if a graceful shutdown is waiting for the transaction. */
void smtpd_session_end_transaction(struct smtpd_session *s);
/* Drops the transaction's data without changing state. */
void smtpd_session_clear_transaction(struct smtpd_session *s);
/* A command a client can repeat for free was answered: NOOP, RSET, VRFY,
   EXPN, HELP, HELO, EHLO, a refused STARTTLS, an empty BDAT chunk, and a
   MAIL, RCPT, DATA or BDAT that was refused or added nothing (unknown
   recipients have a budget of their own). Past max_commands_before_data
   each one counts as an error, so no loop of them runs for ever. */
void smtpd_session_junk(struct smtpd_session *s);
/* Holds reply back for delay_ms with input paused, then writes it and
   goes on with pipelined commands (or closes, when s->close_after_delay
   was set). */
void smtpd_session_delay_reply(struct smtpd_session *s, unsigned delay_ms,
    const char *reply);
/* After a wait (queue commit, output drain) ends: resumes input and goes on
   with pipelined commands. */
void smtpd_session_resume(struct smtpd_session *s);
void smtpd_session_enter(struct smtpd_session *s);
void smtpd_session_leave(struct smtpd_session *s);
/* "conn=<id>" text for log lines. */
#define SMTPD_LOG_PREFIX "smtpd: conn=%s"

/* smtpd_cmd.c — HELO, EHLO, STARTTLS, RSET, NOOP, QUIT, VRFY, EXPN, HELP,
   AUTH; smtpd_cmd_dispatch runs one parsed command through the table. */
void smtpd_cmd_dispatch(struct smtpd_session *s, struct smtp_command *cmd);
/* The TLS handshake finished (RFC 3207 §4.2: forget everything). */
void smtpd_cmd_tls_done(struct smtpd_session *s);

/* smtpd_mail.c — MAIL and RCPT. */
void smtpd_mail_cmd(struct smtpd_session *s, struct smtp_command *cmd);
void smtpd_mail_rcpt_cmd(struct smtpd_session *s, struct smtp_command *cmd);
/* Frees the envelope's fields and zeroes it. */
void smtpd_mail_envelope_clear(struct smtpd_session *s);

/* smtpd_auth.c — AUTH PLAIN and LOGIN on submission (RFC 4954). */
void smtpd_auth_cmd(struct smtpd_session *s, struct smtp_command *cmd);
/* SASL state: reads one response line. 1: go on, 0: need more input. */
int smtpd_auth_input(struct smtpd_session *s);
/* Whether AUTH is offered now (submission, and TLS or plaintext_ok). */
bool smtpd_auth_offered(const struct smtpd_session *s);
/* Whether the session may send to any domain: logged in, or a relay
   network's client, on submission. */
bool smtpd_auth_may_relay(const struct smtpd_session *s);
/* Forgets the login (STARTTLS, RFC 3207 §4.2) and frees its strings. */
void smtpd_auth_clear(struct smtpd_session *s);

/* smtpd_sender.c — MAIL FROM on submission: the sender/login match.
   NULL when path may be used, else the reply (heap). */
char *smtpd_sender_check(struct smtpd_session *s, const char *path);

/* smtpd_data.c — DATA and BDAT, their bodies, and the queue commit. */
void smtpd_data_cmd(struct smtpd_session *s, struct smtp_command *cmd);
void smtpd_data_bdat_cmd(struct smtpd_session *s, struct smtp_command *cmd);
/* Reads body bytes in DATA or CHUNK state. Returns 1 when it made
   progress and the caller should go on, 0 when it needs more input. */
int smtpd_data_input(struct smtpd_session *s);
int smtpd_data_chunk_input(struct smtpd_session *s);
#endif
