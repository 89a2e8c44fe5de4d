/* pop3d_session.h — one POP3 server session (RFC 1939 with CAPA, UIDL,
   TOP, RESP-CODES, AUTH-RESP-CODE, PIPELINING, STLS and SASL PLAIN:
   RFC 2449, 2595, 3206, 5034) on one conn.

   A session lives on the I/O thread of its conn and frees itself when the
   connection ends and its last worker job is back, after calling
   params.on_end once. */
#ifndef PETREL_POP3D_SESSION_H
#define PETREL_POP3D_SESSION_H

struct config;
struct config_listener;
struct pop3d_session;
struct service_login;
struct service_thread;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

struct pop3d_session_params {
	const struct config *config;		/* outlives the session */
	const struct config_listener *listener;	/* name and TLS mode */
	struct service_thread *thread;		/* this I/O thread's state */
	/* Password checks, mailbox reads and updates run here; its jobs'
	   completions come back on the thread's event_base. */
	struct worker_pool *workers;
	struct service_login *login;		/* shared by all services */
	SSL_CTX *tls;		/* the thread's TLS context, NULL if none */
	/* Called once when the session is gone (server_client_done). */
	void (*on_end)(void *ctx);
	void *end_ctx;
};

/* Takes ownership of fd: creates the conn on the thread's event_base and
   the session, then greets (plaintext or STARTTLS listener) or starts
   the handshake (implicit TLS). Must run on that thread. Nothing is
   returned: the session may already be gone. */
void pop3d_session_start(int fd, const struct pop3d_session_params *params);

/* Graceful shutdown (server_protocol.shutdown): POP3 has no unsolicited
   replies (RFC 1939 §3), so a session waiting for a command closes
   without one; a session busy with a command (login, RETR, the update
   after QUIT) finishes it first, then closes. */
void pop3d_session_shutdown(struct pop3d_session *s);
/* The same, for service_thread_shutdown: link is the session's. */
struct service_link;
void pop3d_session_shutdown_link(struct service_link *link);
#endif
