/* smtpc.h — the SMTP client session of outbound delivery (RFC 5321): one
   connection to one address, then any number of transactions on it.
   Greeting, EHLO (HELO when EHLO gets 5xx), STARTTLS (RFC 3207;
   opportunistic, verified against CAs and a name, or DANE RFC 7672), AUTH
   PLAIN/LOGIN (RFC 4954) for smarthosts, then per message MAIL FROM with
   SIZE, BODY=8BITMIME, SMTPUTF8, RET/ENVID, RCPT with NOTIFY/ORCPT
   (RFC 3461), DATA (dot-stuffed) or BDAT (RFC 3030), PIPELINING (RFC 2920:
   MAIL, the RCPTs and DATA in one write, replies matched in order).

   A struct smtpc lives on one thread (the outbound runner's event_base):
   every function is called there and callbacks run from its event loop,
   never from inside the call that started the step. Nothing blocks but
   the pread(2) of the message file (the runner's thread is not an I/O
   thread; the file is a queue file in the page cache). Every reply is
   bounded (lines, line count, total), every step has a timeout. */
#ifndef PETREL_SMTPC_H
#define PETREL_SMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

struct event_base;
struct smtpc;
typedef struct ssl_ctx_st SSL_CTX;

enum smtpc_tls {
	SMTPC_TLS_NONE,		/* never STARTTLS (a retry after an
				   opportunistic handshake failure) */
	SMTPC_TLS_OPPORTUNISTIC, /* STARTTLS when offered, no verification
				   required (RFC 7435); handshake failure is
				   reported with tls_failed set */
	SMTPC_TLS_VERIFY,	/* STARTTLS required, chain verified against
				   tls_ca_file and tls_name (smarthost "TLS
				   required", MTA-STS enforce) */
	SMTPC_TLS_DANE,		/* STARTTLS required, verified with the TLSA
				   records (RFC 7672 §3: DANE-EE(3) ignores
				   names and expiry, DANE-TA(2) checks
				   tls_name and the mx host) */
};

/* One TLSA record (dns_tlsa has the same fields; smtpc does not depend on
   dns). Data is copied by smtpc_connect. */
struct smtpc_tlsa {
	uint8_t usage, selector, mtype;
	const uint8_t *data;
	size_t len;
};

struct smtpc_settings {
	const char *helo_name;	/* our host name for EHLO/HELO */
	const char *remote_name; /* the MX or smarthost name: logs, results,
				   SNI; may be NULL (then the address) */
	unsigned connect_timeout_ms;	/* 0: 30 s */
	unsigned command_timeout_ms;	/* each reply; 0: 5 min (RFC 5321
				   §4.5.3.2 asks for 5 min for most) */
	unsigned data_timeout_ms;	/* the reply after the final dot or
				   last BDAT; 0: 10 min (§4.5.3.2.6) */
	bool implicit_tls;	/* TLS from the first byte (port 465);
				   verification as for tls below */
	enum smtpc_tls tls;
	const char *tls_name;	/* the name the certificate must carry
				   (VERIFY, DANE-TA); NULL: remote_name. The
				   CAs are tls_client's (smtpc_tls_ctx_new) */
	const struct smtpc_tlsa *tlsa;	/* DANE: usable records */
	size_t tlsa_count;
	const char *auth_user;	/* AUTH for smarthosts, NULL: none */
	const char *auth_password;
	bool auth_plaintext_ok;	/* allow AUTH without TLS (a rule's
				   explicit choice); otherwise no TLS means
				   no AUTH and a failure */
	uint16_t port;		/* for logs only; the address carries it */
};

/* Where a session or a transaction stopped. */
enum smtpc_stage {
	SMTPC_STAGE_CONNECT,
	SMTPC_STAGE_GREETING,
	SMTPC_STAGE_EHLO,
	SMTPC_STAGE_STARTTLS,	/* the STARTTLS command or the handshake */
	SMTPC_STAGE_TLS_VERIFY,	/* handshake done, peer not authenticated */
	SMTPC_STAGE_AUTH,
	SMTPC_STAGE_MAIL,
	SMTPC_STAGE_RCPT,
	SMTPC_STAGE_DATA,	/* DATA command, the body, BDAT chunks */
	SMTPC_STAGE_DOT,	/* the reply after the end of the message */
	SMTPC_STAGE_DONE,
};

/* A server's reply, or one smtpc made up for a local or network failure
   (synthetic: code 4xx/5xx with an enhanced code, e.g. "421 4.4.2
   connection lost"). text is all lines' text after the code (and the
   enhanced code) joined with a space, control bytes removed, at most
   SMTPC_TEXT_MAX bytes. Valid as long as the result holding it. */
struct smtpc_reply {
	unsigned code;		/* 200..599; 0: not reached */
	char enhanced[16];	/* "5.1.1", or "" */
	char *text;
	bool synthetic;		/* made by smtpc, not sent by the server */
};
#define SMTPC_TEXT_MAX 1024

/* How a connection attempt ended (ready callback). */
struct smtpc_status {
	bool ok;		/* ready for smtpc_send */
	enum smtpc_stage stage;	/* where it failed (DONE when ok) */
	struct smtpc_reply reply;	/* the failing reply (code 4xx: try the
				   next host/later, 5xx: the server refuses
				   us: RFC 5321 §3.8 still says try the next
				   MX), or the last good one when ok */
	bool tls_failed;	/* OPPORTUNISTIC: STARTTLS was offered but
				   the handshake failed; the caller may
				   reconnect with SMTPC_TLS_NONE */
};

typedef void smtpc_ready_cb(struct smtpc *c, const struct smtpc_status *st,
    void *ctx);

struct smtpc_rcpt {
	const char *address;	/* without <> */
	unsigned notify;	/* enum queue_notify bits (NEVER 1, SUCCESS 2,
				   FAILURE 4, DELAY 8); 0: none */
	const char *orcpt;	/* "rfc822;x@y" as queued (decoded), or NULL;
				   sent xtext-encoded when DSN is offered */
};

struct smtpc_message {
	const char *mail_from;	/* without <>; "" for the null sender */
	const struct smtpc_rcpt *rcpts;
	size_t rcpt_count;	/* ≥ 1 */
	int fd;			/* the message (CRLF lines), read with pread
				   from offset 0; not closed; keep it open
				   until the done callback */
	uint64_t size;		/* bytes of fd to send */
	const char *prepend;	/* bytes sent before the file (a DKIM-
				   Signature header, CRLF-terminated), or
				   NULL; copied */
	size_t prepend_len;
	bool eightbit;		/* body needs 8BITMIME: BODY=8BITMIME when
				   offered; if not offered the bytes are sent
				   as they are (RFC 6152 §3 permits no
				   downgrade here; most servers accept) */
	bool smtputf8;		/* needs SMTPUTF8 (RFC 6531): not offered
				   means every recipient fails with
				   "553 5.6.7 ... does not support SMTPUTF8" */
	unsigned ret;		/* 0, 1 FULL, 2 HDRS (enum queue_ret) */
	const char *envid;	/* decoded ENVID or NULL */
};

/* The outcome of one transaction. rcpt[i] is the reply that decides
   recipient i: the RCPT reply when it was refused, else the MAIL reply
   when MAIL was refused, else the reply after the data (or a synthetic 4xx
   when the connection was lost). 2xx: delivered, 4xx: retry later, 5xx:
   bounce. */
struct smtpc_result {
	struct smtpc_reply *rcpt;	/* rcpt_count entries, in order */
	size_t rcpt_count;
	size_t accepted;	/* recipients with a 2xx in rcpt[] */
	struct smtpc_reply message;	/* the reply after the data ("250 2.0.0
				   Ok: queued as ..."); code 0 when not
				   reached */
	enum smtpc_stage stage;	/* where it ended (DONE when data was
				   answered) */
	bool usable;		/* the connection can take another
				   transaction (smtpc_send again); never
				   after a 421 (RFC 5321 §3.8) */
};

/* res is valid during the call only; copy what must outlive it. */
typedef void smtpc_done_cb(struct smtpc *c, const struct smtpc_result *res,
    void *ctx);

/* Connects to addr (non-blocking, connect_timeout_ms), then runs the
   greeting, EHLO, STARTTLS and AUTH as settings say. settings and the
   strings and TLSA data they point to are copied. tls_client is a client
   SSL_CTX (smtpc_tls_ctx_new) used for STARTTLS, shared by sessions; it
   may be NULL when settings->tls is NONE and implicit_tls is off. ready
   runs once, later: st->ok or the failure. Never returns NULL. */
struct smtpc *smtpc_connect(struct event_base *base,
    const struct sockaddr *addr, socklen_t addrlen,
    const struct smtpc_settings *settings, SSL_CTX *tls_client,
    smtpc_ready_cb *ready, void *ctx);

/* Runs one transaction on a ready session (after ready with st->ok, or
   after a done with res->usable). msg and its strings are read during
   this call and copied; msg->fd is read until done runs. An RSET is sent
   first when the previous transaction left the server mid-transaction.
   done runs once, later. Calling it on a session that is not ready is a
   bug (panic). */
void smtpc_send(struct smtpc *c, const struct smtpc_message *msg,
    smtpc_done_cb *done, void *ctx);

/* Ends the session: QUIT when the connection is usable (its reply is
   awaited briefly, then the socket is closed), else the socket is closed
   at once. No callback runs after this; may be called from inside a
   callback. Sets *cp to NULL; accepts NULL. */
void smtpc_free(struct smtpc **cp);

/* The peer: remote_name (or the address text when none), the address
   text ("192.0.2.1"), for logs and DSN Remote-MTA. Valid until
   smtpc_free. */
const char *smtpc_remote_name(const struct smtpc *c);
const char *smtpc_remote_addr(const struct smtpc *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" once TLS is up, else NULL. */
const char *smtpc_tls_description(const struct smtpc *c);
/* How the peer was authenticated: "none" (plaintext), "unverified"
   (opportunistic TLS), "verified" (chain and name), "dane-ee",
   "dane-ta". */
const char *smtpc_tls_auth(const struct smtpc *c);
/* Whether smtpc_send may be called now (ready, connection up). */
bool smtpc_is_usable(const struct smtpc *c);
/* The server's EHLO capability, keyword case-insensitive ("PIPELINING",
   "SIZE"); false after HELO. */
bool smtpc_has_ext(const struct smtpc *c, const char *keyword);
/* The SIZE limit the server announced, 0 when none. */
uint64_t smtpc_max_size(const struct smtpc *c);
/* Short id for log lines (the conn's id once connected). */
const char *smtpc_id(const struct smtpc *c);

/* A client TLS context: TLS 1.2 minimum, DANE enabled on it
   (SSL_CTX_dane_enable), verification paths from ca_file (NULL: the
   system defaults). Returns the context (caller owns one reference), or
   NULL with *error_r (heap). Reads files: call at start-up. */
SSL_CTX *smtpc_tls_ctx_new(const char *ca_file, char **error_r);

/* Fills r with a synthetic reply (text is copied); smtpc_reply_clear
   frees text. */
void smtpc_reply_set(struct smtpc_reply *r, unsigned code,
    const char *enhanced, const char *text);
void smtpc_reply_clear(struct smtpc_reply *r);
#endif
