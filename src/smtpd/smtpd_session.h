/* smtpd_session.h — one SMTP server session (RFC 5321 and its extensions)
   on one conn: the MTA role on port 25, and — with is_submission — mail
   submission (RFC 6409): AUTH PLAIN/LOGIN, relaying for logged-in users
   and relay networks, the sender/login match, Message-ID and Date added.

   A session lives on the I/O thread of its conn and frees itself when the
   connection ends, after calling params.on_end once. */
#ifndef PETREL_SMTPD_SESSION_H
#define PETREL_SMTPD_SESSION_H

#include <stdbool.h>

struct config;
struct config_listener;
struct queue;
struct smtpd_session;
struct service_login;
struct service_thread;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

struct smtpd_session_params {
	const struct config *config;		/* outlives the session */
	const struct config_listener *listener;	/* name and TLS mode */
	struct queue *queue;
	struct service_thread *thread;		/* this I/O thread's state */
	SSL_CTX *tls;		/* the thread's TLS context, NULL if none */
	bool is_submission;
	/* Submission AUTH: the shared login and the pool its checks run
	   on. NULL on the MTA port. */
	struct service_login *login;
	struct worker_pool *workers;
	/* Called once when the session is gone (server_client_done). */
	void (*on_end)(void *ctx);
	void *end_ctx;
};

/* Takes ownership of fd: creates the conn on the thread's event_base and
   the session, then writes the greeting (plaintext or STARTTLS listener)
   or starts the handshake (implicit TLS). Must run on that thread. The
   session frees itself; nothing is returned because it may already be
   gone (an implicit-TLS listener without a TLS context closes at once). */
void smtpd_session_start(int fd, const struct smtpd_session_params *params);

/* Graceful shutdown (server_protocol.shutdown): a session outside a
   transaction answers "421 4.3.2 Service shutting down" and closes; one
   inside a transaction finishes it first, then closes the same way. */
void smtpd_session_shutdown(struct smtpd_session *s);
/* The same, for service_thread_shutdown: link is the session's. */
struct service_link;
void smtpd_session_shutdown_link(struct service_link *link);
#endif
