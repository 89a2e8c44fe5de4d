/* server.h — the daemon runtime: N I/O threads, each with its own
   event_base and its own SO_REUSEPORT socket per listener, so a connection
   lives on one thread all its life (DESIGN.md §2); the worker pool; TLS
   contexts reloaded on SIGHUP; graceful shutdown on SIGTERM/SIGINT; binding
   as root, then dropping to the configured user.

   The server knows no protocol. main wires protocols in with
   server_set_protocol(): for each accepted socket the server checks the
   global and per-IP connection limits (refusing over-limit sockets with the
   protocol's busy line and closing them), then calls the protocol's accept
   function on the listener's thread, which creates a conn and a session. */
#ifndef PETREL_SERVER_H
#define PETREL_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct event_base;
struct server;
struct server_thread;
struct server_client;
struct worker_pool;
typedef struct ssl_ctx_st SSL_CTX;

struct server_protocol {
	/* Called on the listener's I/O thread for each accepted socket. The
	   callee owns fd (usually: conn_new) and must call
	   server_client_done(client) exactly once when the connection ends. */
	void (*accept)(struct server_thread *thread,
	    const struct config_listener *listener, int fd,
	    struct server_client *client, void *ctx);
	/* Graceful shutdown began: called once per I/O thread on that thread.
	   Close idle sessions now (e.g. "421 4.3.2 Shutting down"); let
	   sessions inside a transaction finish. The server ends the thread's
	   loop when its last client is done or at the shutdown deadline,
	   whichever comes first. May be NULL. */
	void (*shutdown)(struct server_thread *thread, void *ctx);
	/* Sent to an over-limit client before its socket is closed, e.g.
	   "421 4.7.0 Too many connections\r\n" (plaintext). May be NULL. */
	const char *busy_line;
	void *ctx;
};

/* Creates the server for config (which must outlive it): opens every
   listener socket (SO_REUSEPORT, one per I/O thread), loads TLS files.
   Returns NULL with *error_r (heap) on failure: bad certificate, port in
   use, permission denied... Nothing is accepted before server_run. */
struct server *server_new(const struct config *config, char **error_r);
void server_set_protocol(struct server *server,
    enum config_protocol protocol, const struct server_protocol *proto);
/* Drops privileges if running as root and config->user is set (after
   every socket and key file is open); starts the threads; serves until
   SIGTERM/SIGINT and the graceful shutdown complete. Returns 0 after a
   clean shutdown, -1 with *error_r if it could not start. */
int server_run(struct server *server, char **error_r);
/* Requests the graceful shutdown (as SIGTERM does). Thread-safe. */
void server_stop(struct server *server);
void server_free(struct server **server);

struct worker_pool *server_workers(struct server *server);

/* When running as root and config->user is set, becomes that user (the
   CLI, before it touches the data directory). 0 (done, or nothing to do),
   or -1 with *error_r (heap). */
int server_drop_privileges(const struct config *config, char **error_r);

/* For protocol code, on the thread's own I/O thread. */
struct event_base *server_thread_base(struct server_thread *thread);
unsigned server_thread_index(const struct server_thread *thread);
unsigned server_thread_count(const struct server_thread *thread);
struct server *server_thread_server(struct server_thread *thread);
/* The current TLS context (replaced on SIGHUP; a context handed out stays
   valid for the connection that got it: it is reference counted and conn
   takes its own reference via SSL_new). NULL when no TLS is configured. */
SSL_CTX *server_thread_tls(struct server_thread *thread);
bool server_thread_is_shutting_down(const struct server_thread *thread);

/* The connection of client ended; releases its connection-limit slots. */
void server_client_done(struct server_client *client);
#endif
