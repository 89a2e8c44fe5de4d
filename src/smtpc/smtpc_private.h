/* smtpc_private.h — what the files of the SMTP client share. smtpc.c owns
   a session's life (connect, the conn callbacks, reading replies and
   matching them to the commands sent, notifying the caller), smtpc_setup.c
   the steps up to "ready" (greeting, EHLO/HELO, STARTTLS, AUTH),
   smtpc_txn.c one transaction (MAIL, RCPT, DATA/BDAT and the body),
   smtpc_tls.c the client SSL objects and judging the peer. */
#ifndef PETREL_SMTPC_PRIVATE_H
#define PETREL_SMTPC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "lib/buf.h"
#include "smtp/smtp_reply.h"
#include "smtpc/smtpc.h"

struct conn;
struct event;
typedef struct ssl_st SSL;

/* The commands whose replies are awaited, in the order sent. */
enum smtpc_cmd {
	SMTPC_CMD_GREETING,
	SMTPC_CMD_EHLO,
	SMTPC_CMD_HELO,
	SMTPC_CMD_STARTTLS,
	SMTPC_CMD_AUTH,		/* each step of AUTH PLAIN/LOGIN */
	SMTPC_CMD_RSET,
	SMTPC_CMD_MAIL,
	SMTPC_CMD_RCPT,		/* arg: recipient index */
	SMTPC_CMD_DATA,
	SMTPC_CMD_DOT,		/* the end of DATA, or BDAT LAST */
	SMTPC_CMD_QUIT,
};

enum smtpc_phase {
	SMTPC_PHASE_CONNECTING,
	SMTPC_PHASE_SETUP,	/* greeting .. AUTH */
	SMTPC_PHASE_READY,	/* idle, usable */
	SMTPC_PHASE_TXN,
	SMTPC_PHASE_QUIT,	/* freed by the caller: QUIT, then close */
	SMTPC_PHASE_DEAD,	/* the connection is gone */
};

enum smtpc_notify {
	SMTPC_NOTIFY_NONE,
	SMTPC_NOTIFY_READY,
	SMTPC_NOTIFY_DONE,
};

#define SMTPC_EXPECT_MAX 1024	/* RCPTs pipelined in one go, plus a few */

struct smtpc_expect {
	enum smtpc_cmd cmd;
	size_t arg;
};

struct smtpc_ext {
	bool pipelining, eightbitmime, smtputf8, size, chunking, dsn;
	bool starttls, enhanced;
	bool auth_plain, auth_login;
	bool ehlo;		/* capabilities known (EHLO, not HELO) */
	uint64_t max_size;
};

struct smtpc_txn {
	struct smtpc_message msg;	/* strings below are heap copies */
	struct smtpc_rcpt *rcpts;
	struct smtpc_result res;
	bool *decided;		/* rcpt i has its final reply */
	size_t replies_left;	/* RCPT replies still to come */
	bool mail_ok;
	struct smtpc_reply mail_reply;	/* MAIL's refusal */
	bool dot_ignored;	/* 354 without recipients: "." alone */
	bool saw_421;		/* the server is closing: not reusable */
	bool pipelined;
	bool data_sent;		/* DATA pipelined or sent */
	bool bdat;
	bool body_started, body_done;
	uint64_t off;		/* bytes of prepend+file sent */
	uint64_t total;		/* prepend_len + size */
	bool at_line_start;	/* dot-stuffing state */
	bool prev_cr;		/* the last body byte was CR */
	bool last_was_lf;	/* the body so far ends in LF (sent as
				   CRLF, bare or not) */
	smtpc_done_cb *done;
	void *ctx;
};

struct smtpc {
	struct event_base *base;
	struct smtpc_settings set;	/* strings are heap copies */
	struct smtpc_tlsa *tlsa;
	SSL_CTX *tls_ctx;
	char *remote_name, *tls_name;
	char addr_text[64];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;			/* while connecting */
	struct event *ev_connect, *ev_notify;
	struct conn *conn;
	char id[16];

	enum smtpc_phase phase;
	enum smtpc_stage stage;	/* the step in progress, for failures */
	struct smtp_reply reply;
	struct smtpc_expect expect[SMTPC_EXPECT_MAX];
	size_t expect_head, expect_len;

	struct smtpc_ext ext;
	bool tls_started;	/* STARTTLS or implicit handshake begun */
	bool tls_up;
	bool ehlo_after_tls;	/* the second EHLO is due/sent */
	bool auth_done;
	int auth_step;
	const char *tls_auth;	/* smtpc_tls_auth() */
	size_t tlsa_usable;	/* DANE records OpenSSL took */
	bool need_rset;
	const char *lost_reason;	/* static text for the close */
	char *tls_desc;		/* copied from the conn at on_tls */
	char *ehlo_text;	/* the EHLO reply's lines, '\n' apart */

	smtpc_ready_cb *ready;
	void *ready_ctx;
	struct smtpc_status status;
	enum smtpc_notify notify;
	struct smtpc_txn *txn;
	bool freed;		/* the caller let go: no callbacks */
};

/* smtpc.c */
void smtpc_expect(struct smtpc *c, enum smtpc_cmd cmd, size_t arg);
/* Writes a command line (CRLF added); the expect entry is separate. */
void smtpc_write_line(struct smtpc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copies an smtp_reply into an smtpc_reply (text joined with spaces). */
void smtpc_reply_from(struct smtpc_reply *dst, const struct smtp_reply *src);
/* The session failed before ready: reports st and closes (QUIT when the
   server is still talking to us). */
void smtpc_setup_failed(struct smtpc *c, enum smtpc_stage stage,
    const struct smtp_reply *reply, unsigned code, const char *enhanced,
    const char *text, bool tls_failed);
void smtpc_became_ready(struct smtpc *c);
void smtpc_schedule_notify(struct smtpc *c, enum smtpc_notify what);
/* Drops the connection at once (protocol violation, local error). */
void smtpc_kill(struct smtpc *c);
void smtpc_set_reply_timeout(struct smtpc *c, unsigned ms);

/* smtpc_setup.c */
void smtpc_setup_start(struct smtpc *c);
void smtpc_setup_reply(struct smtpc *c, enum smtpc_cmd cmd,
    const struct smtp_reply *r);
void smtpc_setup_tls_done(struct smtpc *c);
/* The connection closed during setup. */
void smtpc_setup_lost(struct smtpc *c, bool tls_error);

/* smtpc_txn.c */
void smtpc_txn_start(struct smtpc *c, const struct smtpc_message *msg,
    smtpc_done_cb *done, void *ctx);
void smtpc_txn_reply(struct smtpc *c, enum smtpc_cmd cmd, size_t arg,
    const struct smtp_reply *r);
void smtpc_txn_drain(struct smtpc *c);
/* The connection closed (or must be dropped) mid-transaction: undecided
   recipients get a synthetic 4xx. */
void smtpc_txn_lost(struct smtpc *c, const char *why);
void smtpc_txn_free(struct smtpc_txn **tp);

/* smtpc_tls.c */
SSL *smtpc_tls_ssl_new(struct smtpc *c);
/* After the handshake: sets c->tls_auth; returns 0 when the peer meets
   the policy, else -1 with *error_r (static or in buf). */
int smtpc_tls_check(struct smtpc *c, char *err, size_t errlen);
#endif
