/* server_test.c — the runtime on loopback: accepts on I/O threads (not the
   caller's), per-IP and global limits with the busy line, implicit TLS
   with the thread's context, SIGHUP reload (and a failed reload keeping
   the old certificate), graceful shutdown by server_stop and by SIGTERM
   (idle sessions told, busy ones aborted at the deadline), a second
   signal forcing it, EMFILE backing off instead of spinning, and the
   errors server_new reports. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/conn.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/test.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"

#define BUSY_LINE "421 4.7.0 Too many connections\r\n"

static char *tmpdir, *cert_file, *key_file;
static SSL_CTX *client_ctx;

/* ---- the test protocol -------------------------------------------- */

struct tsess {
	struct conn *conn;
	struct server_client *client;
	bool in_txn;
	struct tsess *prev, *next;
};

/* Each I/O thread's sessions, touched only on that thread. */
static _Thread_local struct tsess *tsess_list;

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t seen_threads[64];
static unsigned seen_count;
static atomic_int seen_bad_base, shutdown_calls;

static void
tsess_on_input(struct conn *conn, void *ctx)
{
	struct tsess *s = ctx;
	const char *line;
	size_t len;
	int r;

	while ((r = conn_read_line(conn, 512, &line, &len, NULL)) != 0) {
		if (r == -1) {
			conn_skip_line(conn);
			continue;
		}
		if (strcmp(line, "TXN") == 0) {
			s->in_txn = true;
			conn_printf(conn, "250 txn\r\n");
		} else if (strcmp(line, "QUIT") == 0) {
			conn_printf(conn, "221 bye\r\n");
			conn_close(conn);
		} else {
			conn_printf(conn, "250 %s\r\n", line);
		}
	}
}

static void
tsess_on_close(struct conn *conn, void *ctx, enum conn_close_reason reason)
{
	struct tsess *s = ctx;

	(void)conn;
	(void)reason;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		tsess_list = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	server_client_done(s->client);
	free(s);
}

static const struct conn_callbacks tsess_cb = {
	.on_input = tsess_on_input,
	.on_close = tsess_on_close,
};

static void
t_accept(struct server_thread *thread, const struct config_listener *l,
    int fd, struct server_client *client, void *ctx)
{
	struct tsess *s = xcalloc(1, sizeof(*s));
	SSL_CTX *tls = NULL;

	(void)ctx;
	pthread_mutex_lock(&seen_lock);
	if (seen_count < 64)
		seen_threads[seen_count++] = pthread_self();
	pthread_mutex_unlock(&seen_lock);
	if (server_thread_index(thread) >= server_thread_count(thread) ||
	    server_thread_server(thread) == NULL ||
	    server_thread_is_shutting_down(thread))
		atomic_fetch_add(&seen_bad_base, 1);
	if (l->tls == CONFIG_TLS_IMPLICIT) {
		tls = server_thread_tls(thread);
		if (tls == NULL)
			atomic_fetch_add(&seen_bad_base, 1);
	}
	s->client = client;
	s->conn = conn_new(server_thread_base(thread), fd, tls, NULL,
	    &tsess_cb, s);
	if (conn_event_base(s->conn) != server_thread_base(thread))
		atomic_fetch_add(&seen_bad_base, 1);
	conn_printf(s->conn, "220 %s thread=%u\r\n", l->name,
	    server_thread_index(thread));
	s->next = tsess_list;
	if (tsess_list != NULL)
		tsess_list->prev = s;
	tsess_list = s;
}

/* Idle sessions are told and closed; those in a "transaction" stay. */
static void
t_shutdown(struct server_thread *thread, void *ctx)
{
	(void)ctx;
	if (!server_thread_is_shutting_down(thread))
		atomic_fetch_add(&seen_bad_base, 1);
	atomic_fetch_add(&shutdown_calls, 1);
	for (struct tsess *s = tsess_list; s != NULL; s = s->next) {
		if (!s->in_txn) {
			conn_printf(s->conn, "421 4.3.2 Shutting down\r\n");
			conn_close(s->conn);
		}
	}
}

static const struct server_protocol t_proto = {
	.accept = t_accept,
	.shutdown = t_shutdown,
	.busy_line = BUSY_LINE,
};

/* ---- configuration ------------------------------------------------ */

static uint16_t
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static struct config *
config_make(unsigned io_threads, size_t nlisteners)
{
	struct config *c = xcalloc(1, sizeof(*c));

	c->hostname = xstrdup("mail.test");
	c->data_dir = xstrdup(tmpdir);
	c->io_threads = io_threads;
	c->workers = 2;
	c->log_level = LOG_LEVEL_INFO;
	c->tls_cert = xstrdup(cert_file);
	c->tls_key = xstrdup(key_file);
	config_limits_defaults(&c->limits);
	c->limits.max_connections_per_ip = 2;
	c->limits.shutdown_timeout = 1;
	c->listeners = xcalloc(nlisteners, sizeof(*c->listeners));
	c->n_listeners = nlisteners;
	for (size_t i = 0; i < nlisteners; i++) {
		struct config_listener *l = &c->listeners[i];

		l->name = i == 0 ? xstrdup("smtp") :
		    xasprintf("submissions%zu", i);
		l->address = xstrdup("127.0.0.1");
		l->port = free_port();
		l->protocol = i == 0 ? CONFIG_PROTOCOL_SMTP :
		    CONFIG_PROTOCOL_SUBMISSION;
		l->tls = i == 0 ? CONFIG_TLS_STARTTLS : CONFIG_TLS_IMPLICIT;
	}
	return c;
}

/* ---- clients ------------------------------------------------------ */

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
client_socket(const char *src)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, src, &sin.sin_addr);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		abort();
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
client_connect_fd(int fd, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port) };

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* Connects from src (a 127/8 address: distinct per-IP counts). */
static int
client_connect(const char *src, uint16_t port)
{
	int fd = client_socket(src);

	if (client_connect_fd(fd, port) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One line, byte by byte; "" on EOF or timeout. */
static char *
client_line(int fd)
{
	char line[512];
	size_t n = 0;
	char c;

	while (n + 1 < sizeof(line) && read(fd, &c, 1) == 1) {
		line[n++] = c;
		if (c == '\n')
			break;
	}
	line[n] = '\0';
	return xstrdup(line);
}

static bool
client_line_starts(int fd, const char *prefix)
{
	char *line = client_line(fd);
	bool ok = strncmp(line, prefix, strlen(prefix)) == 0;

	if (!ok)
		fprintf(stderr, "got \"%s\", want \"%s...\"\n", line, prefix);
	free(line);
	return ok;
}

static bool
client_eof(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);

	return n == 0 || (n == -1 && errno == ECONNRESET);
}

/* Sends cmd; whether it went out and the reply line starts with prefix. */
static bool
client_command(int fd, const char *cmd, const char *prefix)
{
	return fsutil_write_all(fd, cmd, strlen(cmd)) == 0 &&
	    client_line_starts(fd, prefix);
}

/* A connection from src over a limit: the busy line, then EOF. */
static void
client_busy_at(const char *file, int line, const char *src, uint16_t port)
{
	int fd = client_connect(src, port);

	if (fd == -1) {
		test_fail(file, line, "connect from %s: %s", src,
		    strerror(errno));
		return;
	}
	if (!client_line_starts(fd, BUSY_LINE) || !client_eof(fd))
		test_fail(file, line, "no busy line and EOF for %s", src);
	close(fd);
}

#define CLIENT_BUSY(src, port) client_busy_at(__FILE__, __LINE__, (src), (port))

/* The CN of the certificate a TLS client gets from port, or "". */
static char *
client_tls_cn(const char *src, uint16_t port)
{
	int fd = client_connect(src, port);
	SSL *ssl;
	char cn[256] = "";

	if (fd == -1)
		return xstrdup("");
	ssl = SSL_new(client_ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1) {
		X509 *x = SSL_get1_peer_certificate(ssl);
		char buf[512];
		int n = SSL_read(ssl, buf, sizeof(buf) - 1);

		if (x != NULL) {
			X509_NAME_get_text_by_NID(X509_get_subject_name(x),
			    NID_commonName, cn, sizeof(cn));
			X509_free(x);
		}
		/* The greeting arrives under TLS. */
		if (n <= 0 || strncmp(buf, "220 submissions1", 16) != 0)
			cn[0] = '\0';
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(fd);
	return xstrdup(cn);
}

/* ---- running a server --------------------------------------------- */

struct runner {
	struct server *server;
	pthread_t tid;
	int ret;
	char *error;
	atomic_bool finished;
	long finished_at;
};

static void *
runner_main(void *arg)
{
	struct runner *r = arg;

	r->ret = server_run(r->server, &r->error);
	r->finished_at = now_ms();
	atomic_store(&r->finished, true);
	return NULL;
}

static void
runner_start(struct runner *r, struct server *server)
{
	memset(r, 0, sizeof(*r));
	r->server = server;
	pthread_create(&r->tid, NULL, runner_main, r);
}

static bool
runner_wait(struct runner *r, long ms)
{
	long end = now_ms() + ms;

	while (!atomic_load(&r->finished) && now_ms() < end)
		usleep(5000);
	if (!atomic_load(&r->finished))
		return false;
	pthread_join(r->tid, NULL);
	return true;
}

/* server_new on c with the test protocol for SMTP (and for submission
   when asked), run on r's thread; NULL (reported) if it cannot be made. */
static struct server *
runner_serve(struct runner *r, struct config *c, bool submission)
{
	char *error = NULL;
	struct server *server = server_new(c, &error);

	TEST_ASSERT(server != NULL);
	if (server == NULL) {
		fprintf(stderr, "server_new: %s\n", error);
		free(error);
		return NULL;
	}
	server_set_protocol(server, CONFIG_PROTOCOL_SMTP, &t_proto);
	if (submission)
		server_set_protocol(server, CONFIG_PROTOCOL_SUBMISSION,
		    &t_proto);
	runner_start(r, server);
	return server;
}

/* server_stop, then the clean return within ms, and the server freed. */
static void
runner_stop(struct runner *r, struct server **server, long ms)
{
	server_stop(*server);
	TEST_ASSERT(runner_wait(r, ms));
	TEST_EQ_INT(r->ret, 0);
	server_free(server);
}

/* Connects until the greeting comes (the server may still be starting). */
static int
connect_greeted(const char *src, uint16_t port, const char *prefix)
{
	long end = now_ms() + 5000;

	while (now_ms() < end) {
		int fd = client_connect(src, port);

		if (fd != -1) {
			char *line = client_line(fd);
			bool ok = strncmp(line, prefix, strlen(prefix)) == 0;

			free(line);
			if (ok)
				return fd;
			close(fd);
		}
		usleep(10000);
	}
	return -1;
}

static void
write_cert(const char *cn)
{
	char *error = NULL;

	if (tls_generate_self_signed(cn, cert_file, key_file, &error) == -1) {
		fprintf(stderr, "%s\n", error);
		abort();
	}
}

/* ---- tests -------------------------------------------------------- */

static void
test_serve(void)
{
	struct config *c = config_make(2, 2);
	uint16_t smtp = c->listeners[0].port, smtps = c->listeners[1].port;
	struct runner r;
	struct server *server;
	char *cn;
	int a, b, busy, d, e;

	write_cert("one.test");
	seen_count = 0;
	server = runner_serve(&r, c, true);
	if (server == NULL) {
		config_free(&c);
		return;
	}
	TEST_ASSERT(server_workers(server) != NULL);

	a = connect_greeted("127.0.0.1", smtp, "220 smtp thread=");
	TEST_ASSERT(a != -1);
	b = connect_greeted("127.0.0.1", smtp, "220 smtp thread=");
	TEST_ASSERT(b != -1);
	/* Third from the same address: the busy line, then EOF. */
	CLIENT_BUSY("127.0.0.1", smtp);
	/* Over the limit on the implicit TLS port: closed, no plaintext. */
	busy = client_connect("127.0.0.1", smtps);
	TEST_ASSERT(busy != -1);
	TEST_ASSERT(client_eof(busy));
	close(busy);

	/* The accept ran on I/O threads, never on ours or the runner's. */
	pthread_mutex_lock(&seen_lock);
	TEST_ASSERT(seen_count >= 2);
	for (unsigned i = 0; i < seen_count; i++) {
		TEST_ASSERT(!pthread_equal(seen_threads[i], pthread_self()));
		TEST_ASSERT(!pthread_equal(seen_threads[i], r.tid));
	}
	pthread_mutex_unlock(&seen_lock);
	TEST_EQ_INT(atomic_load(&seen_bad_base), 0);

	/* A slot comes back when a client leaves. */
	TEST_ASSERT(client_command(a, "QUIT\r\n", "221 bye"));
	TEST_ASSERT(client_eof(a));
	close(a);
	d = connect_greeted("127.0.0.1", smtp, "220 smtp thread=");
	TEST_ASSERT(d != -1);
	TEST_ASSERT(client_command(d, "hello\r\n", "250 hello"));

	/* Implicit TLS from another address, with the thread's context. */
	cn = client_tls_cn("127.0.0.3", smtps);
	TEST_EQ_STR(cn, "one.test");
	free(cn);

	/* SIGHUP: new connections get the new certificate. */
	write_cert("two.test");
	raise(SIGHUP);
	long end = now_ms() + 5000;

	for (;;) {
		cn = client_tls_cn("127.0.0.4", smtps);
		if (strcmp(cn, "two.test") == 0 || now_ms() > end)
			break;
		free(cn);
		usleep(20000);
	}
	TEST_EQ_STR(cn, "two.test");
	free(cn);

	/* A reload that fails keeps the working certificate. */
	TEST_EQ_INT(fsutil_write_file(cert_file, "junk\n", 5, 0644), 0);
	raise(SIGHUP);
	usleep(200000);
	cn = client_tls_cn("127.0.0.5", smtps);
	TEST_EQ_STR(cn, "two.test");
	free(cn);

	/* Shutdown: b is idle and told; e is in a transaction and is
	   aborted at the deadline (shutdown_timeout = 1 s). */
	e = connect_greeted("127.0.0.6", smtp, "220 smtp thread=");
	TEST_ASSERT(e != -1);
	TEST_ASSERT(client_command(e, "TXN\r\n", "250 txn"));
	long stop_at = now_ms();

	server_stop(server);
	TEST_ASSERT(client_line_starts(b, "421 4.3.2 Shutting down"));
	TEST_ASSERT(client_eof(b));
	TEST_ASSERT(client_line_starts(d, "421 4.3.2 Shutting down"));
	TEST_ASSERT(client_eof(d));
	TEST_ASSERT(client_eof(e));
	TEST_ASSERT(runner_wait(&r, 10000));
	TEST_EQ_INT(r.ret, 0);
	TEST_ASSERT(r.finished_at - stop_at >= 900);
	TEST_ASSERT(r.finished_at - stop_at < 5000);
	TEST_EQ_INT(atomic_load(&shutdown_calls), 2 * 2);	/* 2 protocols x 2 threads */
	/* Nothing listens any more. */
	TEST_EQ_INT(client_connect("127.0.0.1", smtp), -1);
	close(b);
	close(d);
	close(e);
	server_free(&server);
	TEST_ASSERT(server == NULL);
	config_free(&c);
}

/* SIGTERM with no clients: a prompt, clean return. A second signal
   forces a shutdown that a busy client would otherwise hold up. */
static void
test_signals(void)
{
	struct config *c = config_make(1, 1);
	uint16_t smtp = c->listeners[0].port;
	struct runner r;
	struct server *server;
	int fd;

	write_cert("one.test");
	server = runner_serve(&r, c, false);
	if (server == NULL) {
		config_free(&c);
		return;
	}
	fd = connect_greeted("127.0.0.1", smtp, "220 smtp");
	TEST_ASSERT(fd != -1);
	TEST_ASSERT(client_command(fd, "QUIT\r\n", "221"));
	TEST_ASSERT(client_eof(fd));
	close(fd);
	usleep(50000);	/* the server sees the close */
	raise(SIGTERM);
	TEST_ASSERT(runner_wait(&r, 3000));
	TEST_EQ_INT(r.ret, 0);
	server_free(&server);
	config_free(&c);

	c = config_make(1, 1);
	c->limits.shutdown_timeout = 60;
	smtp = c->listeners[0].port;
	server = runner_serve(&r, c, false);
	if (server == NULL) {
		config_free(&c);
		return;
	}
	fd = connect_greeted("127.0.0.1", smtp, "220 smtp");
	TEST_ASSERT(fd != -1);
	TEST_ASSERT(client_command(fd, "TXN\r\n", "250 txn"));
	long start = now_ms();

	raise(SIGINT);
	usleep(100000);
	TEST_ASSERT(!atomic_load(&r.finished));	/* waiting for fd */
	raise(SIGTERM);
	TEST_ASSERT(client_eof(fd));
	TEST_ASSERT(runner_wait(&r, 5000));
	TEST_EQ_INT(r.ret, 0);
	TEST_ASSERT(now_ms() - start < 5000);
	close(fd);
	server_free(&server);
	config_free(&c);
}

/* max_connections counts every address together. */
static void
test_global_limit(void)
{
	struct config *c = config_make(2, 1);
	uint16_t smtp = c->listeners[0].port;
	struct runner r;
	struct server *server;
	int a, b, busy;

	c->limits.max_connections = 2;
	c->limits.max_connections_per_ip = 0;	/* no per-IP limit */
	server = runner_serve(&r, c, false);
	if (server == NULL) {
		config_free(&c);
		return;
	}
	a = connect_greeted("127.0.0.1", smtp, "220 smtp");
	b = connect_greeted("127.0.0.1", smtp, "220 smtp");
	TEST_ASSERT(a != -1 && b != -1);
	CLIENT_BUSY("127.0.0.9", smtp);
	close(a);
	/* The freed slot is taken by the next client. */
	busy = connect_greeted("127.0.0.9", smtp, "220 smtp");
	TEST_ASSERT(busy != -1);
	close(busy);
	close(b);
	runner_stop(&r, &server, 5000);
	config_free(&c);
}

/* Out of descriptors: accept backs off (no spinning), and serves the
   waiting client once descriptors are free again. */
static void
test_emfile(void)
{
	struct config *c = config_make(1, 1);
	uint16_t smtp = c->listeners[0].port;
	struct rlimit saved, low;
	struct rusage ru0, ru1;
	struct runner r;
	struct server *server;
	int fd, pre, fillers[4096], nfill = 0;

	server = runner_serve(&r, c, false);
	if (server == NULL) {
		config_free(&c);
		return;
	}
	pre = connect_greeted("127.0.0.1", smtp, "220 smtp");
	TEST_ASSERT(pre != -1);

	fd = client_socket("127.0.0.7");
	getrlimit(RLIMIT_NOFILE, &saved);
	low = saved;
	low.rlim_cur = (rlim_t)fd + 64;
	TEST_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 4096) {
		int x = dup(fd);

		if (x == -1)
			break;
		fillers[nfill++] = x;
	}
	TEST_EQ_INT(client_connect_fd(fd, smtp), 0);
	getrusage(RUSAGE_SELF, &ru0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	TEST_EQ_INT(poll(&pfd, 1, 400), 0);	/* no greeting yet */
	getrusage(RUSAGE_SELF, &ru1);
	long cpu_ms = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000 +
	    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1000 +
	    (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000 +
	    (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1000;

	TEST_ASSERT(cpu_ms < 200);
	while (nfill > 0)
		close(fillers[--nfill]);
	setrlimit(RLIMIT_NOFILE, &saved);
	TEST_ASSERT(client_line_starts(fd, "220 smtp"));
	close(fd);
	close(pre);
	runner_stop(&r, &server, 5000);
	config_free(&c);
}

static void
test_errors(void)
{
	struct config *c = config_make(2, 1);
	struct server *server;
	char *error = NULL;

	/* The port is taken by someone else (even one who set
	   SO_REUSEPORT, as a second petrel would). */
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(c->listeners[0].port) };
	int one = 1, holder = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	setsockopt(holder, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	TEST_EQ_INT(bind(holder, (struct sockaddr *)&sin, sizeof(sin)), 0);
	TEST_EQ_INT(listen(holder, 4), 0);
	server = server_new(c, &error);
	TEST_ASSERT(server == NULL);
	TEST_ASSERT(error != NULL && strstr(error, "listener smtp") != NULL &&
	    strstr(error, "in use") != NULL);
	free(error);
	close(holder);

	/* TLS asked for, none configured. */
	free(c->tls_cert);
	free(c->tls_key);
	c->tls_cert = c->tls_key = NULL;
	error = NULL;
	server = server_new(c, &error);
	TEST_ASSERT(server == NULL);
	TEST_ASSERT(error != NULL && strstr(error, "needs [tls]") != NULL);
	free(error);

	/* A bad certificate names the file. */
	c->tls_cert = xstrdup("/nonexistent/cert.pem");
	c->tls_key = xstrdup(key_file);
	error = NULL;
	server = server_new(c, &error);
	TEST_ASSERT(server == NULL);
	TEST_ASSERT(error != NULL &&
	    strstr(error, "/nonexistent/cert.pem") != NULL);
	free(error);

	/* A bad address. */
	free(c->tls_cert);
	c->tls_cert = xstrdup(cert_file);
	free(c->listeners[0].address);
	c->listeners[0].address = xstrdup("not-an-address");
	write_cert("one.test");
	error = NULL;
	server = server_new(c, &error);
	TEST_ASSERT(server == NULL);
	TEST_ASSERT(error != NULL && strstr(error, "not-an-address") != NULL);
	free(error);

	/* No protocol for any listener: server_run refuses. */
	free(c->listeners[0].address);
	c->listeners[0].address = xstrdup("127.0.0.1");
	error = NULL;
	server = server_new(c, &error);
	TEST_ASSERT(server != NULL);
	if (server != NULL) {
		TEST_EQ_INT(server_run(server, &error), -1);
		TEST_ASSERT(error != NULL);
		free(error);
		server_free(&server);
	}
	server_free(&server);	/* NULL is fine */
	config_free(&c);
}

int
main(void)
{
	log_set_timestamps(false);
	tmpdir = test_tmpdir();
	cert_file = xasprintf("%s/cert.pem", tmpdir);
	key_file = xasprintf("%s/key.pem", tmpdir);
	write_cert("one.test");
	client_ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);

	TEST_RUN(test_serve);
	TEST_RUN(test_signals);
	TEST_RUN(test_global_limit);
	TEST_RUN(test_emfile);
	TEST_RUN(test_errors);

	SSL_CTX_free(client_ctx);
	fsutil_remove_tree(tmpdir);
	free(tmpdir);
	free(cert_file);
	free(key_file);
	return test_done();
}
