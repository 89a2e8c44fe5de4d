/* service_testclient.h — the client side of the in-process session tests
   (smtpd_test.c, pop3d_test.c, imapd_test.c): a loopback listener with
   the three listener kinds and TLS contexts, and a blocking-with-deadline
   client that writes bytes, runs the sessions' event loop while it waits,
   and reads lines or SMTP replies, in plaintext or over TLS.
   Test support only: the daemon never calls it. It reports failures with
   lib/test.h's test_fail (a wait that ran out, a failed write) and panics
   when it cannot set up. */
#ifndef PETREL_SERVICE_TESTCLIENT_H
#define PETREL_SERVICE_TESTCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "config/config.h"
#include "lib/buf.h"

struct event_base;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

/* How long a client waits for anything before it reports a failure. */
#define SERVICE_TESTCLIENT_WAIT_MS 15000

/* The server side a test's clients connect to. */
struct service_testclient_server {
	struct event_base *base;	/* the sessions' loop */
	const unsigned *started;	/* the testlib's session counts */
	const unsigned *ended;
	struct config_listener plain, starttls, implicit;
	int lfd;			/* loopback listener */
	struct sockaddr_in laddr;
	SSL_CTX *server_tls;		/* self-signed for the hostname */
	SSL_CTX *client_tls;		/* verifies nothing */
};

struct service_testclient {
	const struct service_testclient_server *server;
	int fd;				/* nonblocking; -1 once freed */
	SSL *ssl;			/* after a handshake */
	struct buf in;			/* received, not yet taken */
	bool eof;
	bool smtp;			/* replies are SMTP replies (below) */
};

/* CLOCK_MONOTONIC in milliseconds. */
long long service_testclient_now_ms(void);

/* Listens on a free loopback port, makes listeners for protocol (named
   plain, starttls, implicit; port is only their configured number) and a
   self-signed certificate for hostname in dir. base runs while clients
   wait; started/ended are the counts the sessions' on_end keeps. */
void service_testclient_server_open(struct service_testclient_server *s,
    struct event_base *base, const unsigned *started, const unsigned *ended,
    const char *dir, const char *hostname, enum config_protocol protocol,
    uint16_t port);
void service_testclient_server_close(struct service_testclient_server *s);

/* Connects c to s and returns the accepted server end (blocking), which
   the caller starts a session on. rcvbuf: the client's receive buffer
   (0: the system's), small to make the server's output back up. */
int service_testclient_connect(struct service_testclient *c,
    const struct service_testclient_server *s, int rcvbuf);

/* Closes c; safe twice. */
void service_testclient_free(struct service_testclient *c);

/* Runs the server side a little and collects what c got. */
void service_testclient_step(struct service_testclient *c);

/* Writes all of data, running the loop while the socket is full; a
   failure or a wait over SERVICE_TESTCLIENT_WAIT_MS is reported. */
void service_testclient_send(struct service_testclient *c, const void *data,
    size_t len);
void service_testclient_send_str(struct service_testclient *c,
    const char *s);

/* The next line without its CRLF (heap), or NULL on EOF or timeout. */
char *service_testclient_line(struct service_testclient *c);

/* With c->smtp, one whole SMTP reply (its "250-" lines and the last,
   without the last CRLF); else the next line. Heap, or NULL on EOF or
   timeout. */
char *service_testclient_reply(struct service_testclient *c);

/* The next reply, reported unless it starts with prefix. Heap or NULL. */
char *service_testclient_expect_at(const char *file, int line,
    struct service_testclient *c, const char *prefix);

/* The next line, reported unless it is want. */
void service_testclient_expect_line_at(const char *file, int line,
    struct service_testclient *c, const char *want);

/* Waits for EOF; reported when it does not come or bytes came first. */
void service_testclient_wait_eof_at(const char *file, int line,
    struct service_testclient *c);

/* Waits until every session started on s has ended; reported if not. */
void service_testclient_wait_gone_at(const char *file, int line,
    const struct service_testclient_server *s);

/* The server closed c: EOF with nothing unread, c freed, every session
   gone. */
void service_testclient_closed_at(const char *file, int line,
    struct service_testclient *c);

/* Starts TLS on c with s->client_tls. On failure (reported) c is freed
   and its session waited out, and false is returned: the caller's test
   is over. */
bool service_testclient_handshake(struct service_testclient *c);

/* The tests' shorthand, with the caller's file and line. */
#define EXPECT(c, prefix) \
	free(service_testclient_expect_at(__FILE__, __LINE__, (c), (prefix)))
#define EXPECT_GET(c, prefix) \
	service_testclient_expect_at(__FILE__, __LINE__, (c), (prefix))
#define EXPECT_LINE(c, want) \
	service_testclient_expect_line_at(__FILE__, __LINE__, (c), (want))
#define WAIT_EOF(c) service_testclient_wait_eof_at(__FILE__, __LINE__, (c))
#define CLIENT_CLOSED(c) \
	service_testclient_closed_at(__FILE__, __LINE__, (c))
#endif
