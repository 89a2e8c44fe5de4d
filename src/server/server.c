/* server.c — the daemon runtime (server.h). The caller of server_run runs
   a small event_base for signals and control; each I/O thread runs its own
   base with one SO_REUSEPORT socket per listener. Shared state is small and
   locked (connection counts, current TLS context); everything else of a
   thread is touched on that thread only, and the main thread reaches it
   through event_active(). Shutdown: listeners close, protocols' hooks run,
   a thread ends with its last client or at limits.shutdown_timeout (then
   its conns are aborted, with a short grace); a second signal forces the
   deadline. */
#include "server/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/conn.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/tls.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"

#define SERVER_NPROTOCOLS (CONFIG_PROTOCOL_HTTP + 1)
/* As nginx and Redis; the kernel caps it at net.core.somaxconn. */
#define SERVER_BACKLOG 511
/* Accepts per readiness event, so that one busy listener does not starve
   the thread's connections. */
#define SERVER_ACCEPT_BATCH 32
/* Out of descriptors: stop accepting this long instead of spinning on a
   listener that stays readable. */
#define SERVER_EMFILE_PAUSE_MS 100
/* After the shutdown deadline: time for aborted conns' on_close. */
#define SERVER_GRACE_MS 2000
#define SERVER_IO_THREADS_MAX 256
#define SERVER_IP_BUCKETS 4096		/* power of two */
/* Family byte, then the address: IPv4 whole, IPv6 by its /64. */
#define SERVER_IP_KEY 17

struct server_socket {
	struct server_thread *thread;
	const struct config_listener *listener;
	int fd;
	struct event *ev, *ev_retry;
};

struct server_thread {
	struct server *server;
	unsigned index;
	pthread_t tid;
	pthread_t self;		/* as seen by the thread itself */
	bool started;
	struct event_base *base;
	struct server_socket *socks;	/* one per listener, config order */
	struct event *ev_shutdown, *ev_force, *ev_reload;
	struct event *ev_deadline, *ev_grace;
	SSL_CTX *tls;		/* this thread's reference */
	unsigned nclients;
	bool shutting_down;
	time_t refuse_logged;	/* one refusal line per second */
	unsigned refuse_suppressed;
	time_t fd_limit_logged;
};

struct server_ip {
	unsigned char key[SERVER_IP_KEY];
	unsigned count;
	struct server_ip *next;
};

struct server_client {
	struct server_thread *thread;
	unsigned char key[SERVER_IP_KEY];
};

struct server {
	const struct config *config;
	unsigned nthreads;
	struct server_thread *threads;
	struct server_protocol protos[SERVER_NPROTOCOLS];
	bool proto_set[SERVER_NPROTOCOLS];
	struct worker_pool *workers;

	pthread_mutex_t tls_lock;
	SSL_CTX *tls;		/* current; written by the main thread */

	pthread_mutex_t limits_lock;
	unsigned total;
	uint64_t ip_seed;
	struct server_ip *ip_buckets[SERVER_IP_BUCKETS];

	struct event_base *main_base;
	struct event *ev_stop, *ev_thread_exit;
	struct event *ev_signals[3];
	atomic_uint threads_exited;
	unsigned threads_started;
	bool ran, shutting_down;
};

static const int server_signals[3] = { SIGTERM, SIGINT, SIGHUP };

static const char *
server_tls_mode_name(enum config_tls_mode mode)
{
	switch (mode) {
	case CONFIG_TLS_NONE:
		return "none";
	case CONFIG_TLS_STARTTLS:
		return "starttls";
	case CONFIG_TLS_IMPLICIT:
		return "implicit";
	}
	return "unknown";
}

/* ---- addresses and per-IP counts ---------------------------------- */

static void
server_addr_text(const struct sockaddr_storage *ss, char *out, size_t max)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)max);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], out,
			    (socklen_t)max);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    (socklen_t)max);
	} else {
		snprintf(out, max, "unknown");
	}
}

/* IPv4 counts per address; IPv6 per /64, the smallest network handed to
   one site (RFC 6177): counting single IPv6 addresses would let one host
   open a connection from each of 2^64 of them. IPv4-mapped is IPv4. */
static void
server_ip_key(const struct sockaddr_storage *ss,
    unsigned char key[SERVER_IP_KEY])
{
	memset(key, 0, SERVER_IP_KEY);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		key[0] = 4;
		memcpy(key + 1, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, &sin6->sin6_addr, 8);
		}
	}
}

/* FNV-1a with a per-process random seed: peers choose their addresses,
   so the bucket of an address must not be predictable. */
static size_t
server_ip_bucket(const struct server *server,
    const unsigned char key[SERVER_IP_KEY])
{
	uint64_t h = 14695981039346656037ull ^ server->ip_seed;

	for (size_t i = 0; i < SERVER_IP_KEY; i++) {
		h ^= key[i];
		h *= 1099511628211ull;
	}
	h ^= h >> 29;
	return (size_t)(h & (SERVER_IP_BUCKETS - 1));
}

static struct server_ip **
server_ip_find(struct server *server, const unsigned char key[SERVER_IP_KEY])
{
	struct server_ip **pp = &server->ip_buckets[server_ip_bucket(server,
	    key)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (memcmp((*pp)->key, key, SERVER_IP_KEY) == 0)
			break;
	}
	return pp;
}

/* Takes a global and a per-IP slot. NULL, or why the peer is refused. */
static const char *
server_limits_take(struct server *server,
    const unsigned char key[SERVER_IP_KEY])
{
	const struct config_limits *limits = &server->config->limits;
	const char *why = NULL;

	pthread_mutex_lock(&server->limits_lock);
	struct server_ip **pp = server_ip_find(server, key);

	if (limits->max_connections != 0 &&
	    server->total >= limits->max_connections) {
		why = "max_connections";
	} else if (limits->max_connections_per_ip != 0 && *pp != NULL &&
	    (*pp)->count >= limits->max_connections_per_ip) {
		why = "max_connections_per_ip";
	} else {
		if (*pp == NULL) {
			*pp = xcalloc(1, sizeof(**pp));
			memcpy((*pp)->key, key, SERVER_IP_KEY);
		}
		(*pp)->count++;
		server->total++;
	}
	pthread_mutex_unlock(&server->limits_lock);
	return why;
}

static void
server_limits_release(struct server *server,
    const unsigned char key[SERVER_IP_KEY])
{
	pthread_mutex_lock(&server->limits_lock);
	struct server_ip **pp = server_ip_find(server, key);

	if (*pp == NULL || server->total == 0)
		panic("server_limits_release: no slot held");
	server->total--;
	if (--(*pp)->count == 0) {
		struct server_ip *ip = *pp;

		*pp = ip->next;
		free(ip);
	}
	pthread_mutex_unlock(&server->limits_lock);
}

/* ---- accepting ---------------------------------------------------- */

static void
server_socket_close(struct server_socket *sock)
{
	if (sock->ev != NULL)
		event_del(sock->ev);
	if (sock->ev_retry != NULL)
		evtimer_del(sock->ev_retry);
	if (sock->fd != -1) {
		close(sock->fd);
		sock->fd = -1;
	}
}

static void
server_thread_close_listeners(struct server_thread *t)
{
	for (size_t i = 0; i < t->server->config->n_listeners; i++)
		server_socket_close(&t->socks[i]);
}

/* Over a limit: the protocol's busy line, best effort, and close. */
static void
server_refuse(struct server_socket *sock, int fd,
    const struct sockaddr_storage *ss, const char *why)
{
	struct server_thread *t = sock->thread;
	const struct server_protocol *proto =
	    &t->server->protos[sock->listener->protocol];
	time_t now = time(NULL);

	/* Plaintext means nothing to a client that expects a TLS
	   handshake; it is closed without a word. */
	if (proto->busy_line != NULL &&
	    sock->listener->tls != CONFIG_TLS_IMPLICIT)
		(void)!send(fd, proto->busy_line, strlen(proto->busy_line),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	close(fd);
	/* A flood of refusals is one line a second per thread. */
	if (now == t->refuse_logged) {
		t->refuse_suppressed++;
		return;
	}
	char addr[INET6_ADDRSTRLEN];

	server_addr_text(ss, addr, sizeof(addr));
	log_info("server: event=refused reason=%s address=%s listener=%s "
	    "suppressed=%u", why, addr, sock->listener->name,
	    t->refuse_suppressed);
	t->refuse_logged = now;
	t->refuse_suppressed = 0;
}

static void
server_accepted(struct server_socket *sock, int fd,
    const struct sockaddr_storage *ss)
{
	struct server_thread *t = sock->thread;
	struct server *server = t->server;
	const struct server_protocol *proto =
	    &server->protos[sock->listener->protocol];
	unsigned char key[SERVER_IP_KEY];
	struct server_client *client;
	const char *why;

	server_ip_key(ss, key);
	why = server_limits_take(server, key);
	if (why != NULL) {
		server_refuse(sock, fd, ss, why);
		return;
	}
	client = xcalloc(1, sizeof(*client));
	client->thread = t;
	memcpy(client->key, key, SERVER_IP_KEY);
	t->nclients++;
	proto->accept(t, sock->listener, fd, client, proto->ctx);
}

static void
server_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct server_socket *sock = arg;

	(void)fd;
	(void)what;
	if (sock->fd != -1 && !sock->thread->shutting_down)
		event_add(sock->ev, NULL);
}

/* Stops accepting on sock for SERVER_EMFILE_PAUSE_MS. */
static void
server_socket_pause(struct server_socket *sock, int err)
{
	struct server_thread *t = sock->thread;
	struct timeval tv = { 0, SERVER_EMFILE_PAUSE_MS * 1000 };
	time_t now = time(NULL);

	event_del(sock->ev);
	evtimer_add(sock->ev_retry, &tv);
	if (now != t->fd_limit_logged) {
		log_warn("server: event=accept_paused listener=%s thread=%u "
		    "error=%s", sock->listener->name, t->index, strerror(err));
		t->fd_limit_logged = now;
	}
}

static void
server_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct server_socket *sock = arg;

	(void)what;
	for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd;

		memset(&ss, 0, sizeof(ss));
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			/* accept(2), Linux: errors already pending on the
			   new socket; "treat them like EAGAIN by retrying". */
			case ENETDOWN:
			case EPROTO:
			case ENOPROTOOPT:
			case EHOSTDOWN:
			case ENONET:
			case EHOSTUNREACH:
			case EOPNOTSUPP:
			case ENETUNREACH:
			case EPERM:	/* firewall rules */
				continue;
			default:
				/* EMFILE, ENFILE, ENOBUFS, ENOMEM, and
				   anything unexpected: back off, no spin. */
				server_socket_pause(sock, errno);
				return;
			}
		}
		server_accepted(sock, fd, &ss);
		if (sock->fd == -1)
			return;	/* an accept hook began the shutdown */
	}
}

/* ---- listening sockets -------------------------------------------- */

static int
server_socket_open(const struct addrinfo *ai, bool reuseport, int *err_r)
{
	int one = 1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);

	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	/* "::" means IPv6 only; IPv4 gets its own listener, so that the
	   two can be configured (and logged) apart. */
	if (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto fail;
	if (reuseport && listen(fd, SERVER_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	*err_r = errno;
	if (fd != -1)
		close(fd);
	return -1;
}

/* One socket per thread for listener li. */
static int
server_listen(struct server *server, size_t li, char **error_r)
{
	const struct config_listener *l = &server->config->listeners[li];
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int r, err = 0, probe;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", (unsigned)l->port);
	r = getaddrinfo(l->address, port, &hints, &ai);
	if (r != 0) {
		*error_r = xasprintf("listener %s: address %s: %s", l->name,
		    l->address, gai_strerror(r));
		return -1;
	}
	/* SO_REUSEPORT lets a second petrel of the same user share the port
	   silently. A socket bound without it fails with EADDRINUSE if
	   anyone holds the port; it is closed before ours are bound. */
	probe = server_socket_open(ai, false, &err);
	if (probe == -1)
		goto fail;
	close(probe);
	for (unsigned t = 0; t < server->nthreads; t++) {
		struct server_socket *sock = &server->threads[t].socks[li];

		sock->fd = server_socket_open(ai, true, &err);
		if (sock->fd == -1)
			goto fail;
		sock->ev = event_new(server->threads[t].base, sock->fd,
		    EV_READ | EV_PERSIST, server_on_accept, sock);
		sock->ev_retry = evtimer_new(server->threads[t].base,
		    server_on_retry, sock);
		if (sock->ev == NULL || sock->ev_retry == NULL)
			panic("server_listen: event_new failed");
	}
	freeaddrinfo(ai);
	return 0;
fail:
	*error_r = xasprintf("listener %s: %s port %u: %s", l->name,
	    l->address, (unsigned)l->port, strerror(err));
	freeaddrinfo(ai);
	return -1;
}

/* ---- per-thread control ------------------------------------------- */

static void
server_thread_on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct server_thread *t = arg;

	(void)fd;
	(void)what;
	if (t->nclients > 0)
		log_warn("server: event=shutdown_abandoned thread=%u "
		    "clients=%u", t->index, t->nclients);
	event_base_loopexit(t->base, NULL);
}

static void
server_thread_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct server_thread *t = arg;
	struct timeval tv = { SERVER_GRACE_MS / 1000,
	    (SERVER_GRACE_MS % 1000) * 1000 };

	(void)fd;
	(void)what;
	if (t->nclients == 0) {
		event_base_loopexit(t->base, NULL);
		return;
	}
	log_warn("server: event=shutdown_deadline thread=%u clients=%u",
	    t->index, t->nclients);
	/* The conns' on_close run from the loop; their sessions call
	   server_client_done, and the last one ends the loop. */
	conn_abort_all(t->base);
	evtimer_add(t->ev_grace, &tv);
}

static void
server_thread_on_shutdown(evutil_socket_t fd, short what, void *arg)
{
	struct server_thread *t = arg;
	struct server *server = t->server;
	struct timeval tv = { server->config->limits.shutdown_timeout, 0 };

	(void)fd;
	(void)what;
	if (t->shutting_down)
		return;
	t->shutting_down = true;
	server_thread_close_listeners(t);
	for (int p = 0; p < SERVER_NPROTOCOLS; p++) {
		if (server->proto_set[p] && server->protos[p].shutdown != NULL)
			server->protos[p].shutdown(t, server->protos[p].ctx);
	}
	if (t->nclients == 0) {
		event_base_loopexit(t->base, NULL);
		return;
	}
	evtimer_add(t->ev_deadline, &tv);
}

static void
server_thread_on_force(evutil_socket_t fd, short what, void *arg)
{
	struct server_thread *t = arg;

	server_thread_on_shutdown(fd, what, arg);
	if (evtimer_pending(t->ev_deadline, NULL) &&
	    !evtimer_pending(t->ev_grace, NULL)) {
		evtimer_del(t->ev_deadline);
		server_thread_on_deadline(fd, what, arg);
	}
}

/* Takes the context the main thread installed; the old one lives on in
   the connections that hold it. */
static void
server_thread_on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct server_thread *t = arg;
	struct server *server = t->server;
	SSL_CTX *ctx;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&server->tls_lock);
	ctx = server->tls;
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&server->tls_lock);
	SSL_CTX_free(t->tls);
	t->tls = ctx;
}

static void *
server_thread_main(void *arg)
{
	struct server_thread *t = arg;
	struct server *server = t->server;

	t->self = pthread_self();
	worker_base_attach(t->base);
	for (size_t i = 0; i < server->config->n_listeners; i++) {
		if (t->socks[i].fd != -1)
			event_add(t->socks[i].ev, NULL);
	}
	event_base_loop(t->base, EVLOOP_NO_EXIT_ON_EMPTY);
	server_thread_close_listeners(t);
	worker_base_detach(t->base);
	atomic_fetch_add(&server->threads_exited, 1);
	event_active(server->ev_thread_exit, EV_READ, 0);
	return NULL;
}

/* ---- main-thread control ------------------------------------------ */

static void
server_begin_shutdown(struct server *server, bool force)
{
	if (server->shutting_down) {
		if (!force)
			return;
		log_warn("server: event=shutdown_forced");
		for (unsigned i = 0; i < server->nthreads; i++) {
			if (server->threads[i].started)
				event_active(server->threads[i].ev_force,
				    EV_READ, 0);
		}
		return;
	}
	server->shutting_down = true;
	log_info("server: event=shutdown timeout=%u",
	    server->config->limits.shutdown_timeout);
	for (unsigned i = 0; i < server->nthreads; i++) {
		if (server->threads[i].started)
			event_active(server->threads[i].ev_shutdown, EV_READ,
			    0);
	}
}

static void
server_reload_tls(struct server *server)
{
	const struct config *config = server->config;
	char *error = NULL, *summary;
	SSL_CTX *ctx, *old;

	if (server->tls == NULL) {
		log_info("server: event=reload tls=none");
		return;
	}
	ctx = tls_server_ctx_new(config->tls_cert, config->tls_key, &error);
	if (ctx == NULL) {
		log_error("server: event=tls_reload_failed keeping=current "
		    "error=%s", error);
		free(error);
		return;
	}
	pthread_mutex_lock(&server->tls_lock);
	old = server->tls;
	server->tls = ctx;
	pthread_mutex_unlock(&server->tls_lock);
	SSL_CTX_free(old);
	for (unsigned i = 0; i < server->nthreads; i++) {
		if (server->threads[i].started)
			event_active(server->threads[i].ev_reload, EV_READ, 0);
	}
	summary = tls_ctx_summary(ctx);
	log_info("server: event=tls_reloaded %s", summary);
	free(summary);
}

static void
server_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *server = arg;

	(void)what;
	if (sig == SIGHUP) {
		server_reload_tls(server);
		return;
	}
	log_info("server: event=signal signal=%s",
	    sig == SIGTERM ? "TERM" : "INT");
	server_begin_shutdown(server, true);
}

static void
server_on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_begin_shutdown(arg, false);
}

static void
server_on_thread_exit(evutil_socket_t fd, short what, void *arg)
{
	struct server *server = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&server->threads_exited) >= server->threads_started)
		event_base_loopexit(server->main_base, NULL);
}

/* ---- process set-up ----------------------------------------------- */

/* DESIGN.md §2: as many descriptors as the hard limit allows. */
static void
server_raise_nofile(void)
{
	struct rlimit rl;
	char *text = NULL;
	size_t len;
	uint64_t nr_open;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rlim_t old = rl.rlim_cur;

	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return;
	/* An infinite hard limit: Linux stops at fs.nr_open. */
	if (fsutil_read_file("/proc/sys/fs/nr_open", 64, &text, &len) == 0) {
		while (len > 0 && (text[len - 1] == '\n' ||
		    text[len - 1] == ' '))
			text[--len] = '\0';
		if (str_to_u64(text, &nr_open) == 0 && nr_open > old &&
		    nr_open < rl.rlim_max) {
			rl.rlim_cur = (rlim_t)nr_open;
			if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
				free(text);
				return;
			}
		}
		free(text);
	}
	log_warn("server: event=rlimit_nofile current=%llu error=%s",
	    (unsigned long long)old, strerror(errno));
}

/* After every socket and key file is open: root only for that. */
static int
server_drop_privileges(const struct config *config, char **error_r)
{
	struct passwd pw, *res = NULL;
	char *pwbuf = NULL;
	size_t pwlen = 4096;
	int err, ret = -1;

	if (geteuid() != 0)
		return 0;
	if (config->user == NULL) {
		log_warn("server: event=running_as_root hint=\"set [server] "
		    "user\"");
		return 0;
	}
	for (;;) {
		pwbuf = xrealloc(pwbuf, pwlen);
		err = getpwnam_r(config->user, &pw, pwbuf, pwlen, &res);
		if (err != ERANGE || pwlen > 1024 * 1024)
			break;
		pwlen *= 2;
	}
	if (res == NULL) {
		*error_r = err != 0 ?
		    xasprintf("user %s: %s", config->user, strerror(err)) :
		    xasprintf("user %s: no such user", config->user);
		goto out;
	}
	if (pw.pw_uid == 0) {
		*error_r = xasprintf("user %s: has uid 0; choose an "
		    "unprivileged user", config->user);
		goto out;
	}
	/* glibc applies these to every thread (the worker pool exists). */
	if (initgroups(pw.pw_name, pw.pw_gid) == -1 ||
	    setgid(pw.pw_gid) == -1 || setuid(pw.pw_uid) == -1) {
		*error_r = xasprintf("dropping privileges to %s: %s",
		    config->user, strerror(errno));
		goto out;
	}
	if (setuid(0) != -1) {
		*error_r = xasprintf("dropping privileges to %s: root could "
		    "be regained", config->user);
		goto out;
	}
	log_info("server: event=privileges_dropped user=%s uid=%u gid=%u",
	    config->user, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid);
	ret = 0;
out:
	free(pwbuf);
	return ret;
}

/* Once root is gone, everything the server writes must still be writable:
   the data dir, its subdirectories (queue/msg, queue/tmp ...) and the
   database files. Refusing to start here beats answering 451 to every
   client later because quickstart ran as root and nobody chowned. */
static int
server_check_data_dir(const char *path, unsigned depth, char **error_r)
{
	DIR *d;
	struct dirent *e;
	int ret = 0;

	if (access(path, W_OK | X_OK) == -1) {
		*error_r = xasprintf("%s: %s (as uid %u)", path, strerror(errno),
		    (unsigned)geteuid());
		return -1;
	}
	if (depth == 0 || (d = opendir(path)) == NULL)
		return 0;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		char *sub;
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || strcmp(e->d_name, "tls") == 0 ||
		    strcmp(e->d_name, "msg") == 0 || strcmp(e->d_name, "tmp") == 0)
			continue;
		sub = xasprintf("%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR) {
			ret = server_check_data_dir(sub, depth - 1, error_r);
		} else if ((len > 3 && strcmp(e->d_name + len - 3, ".db") == 0) &&
		    access(sub, R_OK | W_OK) == -1) {
			*error_r = xasprintf("%s: %s (as uid %u)", sub,
			    strerror(errno), (unsigned)geteuid());
			ret = -1;
		}
		free(sub);
	}
	closedir(d);
	/* msg/ and tmp/ are checked without listing them: they may be big. */
	if (ret == 0 && depth > 0) {
		static const char *const spool[] = { "msg", "tmp" };

		for (size_t i = 0; ret == 0 && i < 2; i++) {
			char *sub = xasprintf("%s/%s", path, spool[i]);

			if (access(sub, F_OK) == 0)
				ret = server_check_data_dir(sub, 0, error_r);
			free(sub);
		}
	}
	return ret;
}

static void
server_thread_init(struct server *server, struct server_thread *t,
    unsigned index)
{
	t->server = server;
	t->index = index;
	t->base = event_base_new();
	if (t->base == NULL)
		panic("server_new: event_base_new failed");
	t->socks = xcalloc(server->config->n_listeners, sizeof(*t->socks));
	for (size_t i = 0; i < server->config->n_listeners; i++) {
		t->socks[i].thread = t;
		t->socks[i].listener = &server->config->listeners[i];
		t->socks[i].fd = -1;
	}
	t->ev_shutdown = event_new(t->base, -1, 0, server_thread_on_shutdown,
	    t);
	t->ev_force = event_new(t->base, -1, 0, server_thread_on_force, t);
	t->ev_reload = event_new(t->base, -1, 0, server_thread_on_reload, t);
	t->ev_deadline = evtimer_new(t->base, server_thread_on_deadline, t);
	t->ev_grace = evtimer_new(t->base, server_thread_on_grace, t);
	if (t->ev_shutdown == NULL || t->ev_force == NULL ||
	    t->ev_reload == NULL || t->ev_deadline == NULL ||
	    t->ev_grace == NULL)
		panic("server_new: event_new failed");
	if (server->tls != NULL) {
		SSL_CTX_up_ref(server->tls);
		t->tls = server->tls;
	}
}

static int
server_check_config(const struct config *config, char **error_r)
{
	if (config->n_listeners == 0) {
		*error_r = xstrdup("no listeners configured");
		return -1;
	}
	if ((config->tls_cert == NULL) != (config->tls_key == NULL)) {
		*error_r = xstrdup("[tls] needs both cert and key");
		return -1;
	}
	for (size_t i = 0; i < config->n_listeners; i++) {
		const struct config_listener *l = &config->listeners[i];

		if ((unsigned)l->protocol >= SERVER_NPROTOCOLS) {
			*error_r = xasprintf("listener %s: unknown protocol",
			    l->name);
			return -1;
		}
		if (l->tls != CONFIG_TLS_NONE && config->tls_cert == NULL) {
			*error_r = xasprintf("listener %s: tls = %s needs "
			    "[tls] cert and key", l->name,
			    server_tls_mode_name(l->tls));
			return -1;
		}
	}
	return 0;
}

/* ---- public ------------------------------------------------------- */

struct server *
server_new(const struct config *config, char **error_r)
{
	struct server *server;
	unsigned nthreads = config->io_threads;

	/* Before any event_base: bases made later get locks and a way to
	   be woken from other threads. */
	worker_threads_init();
	/* EPIPE from write(2) instead (OpenSSL writes to the socket). */
	signal(SIGPIPE, SIG_IGN);
	server_raise_nofile();
	if (server_check_config(config, error_r) == -1)
		return NULL;

	server = xcalloc(1, sizeof(*server));
	server->config = config;
	pthread_mutex_init(&server->tls_lock, NULL);
	pthread_mutex_init(&server->limits_lock, NULL);
	if (getrandom(&server->ip_seed, sizeof(server->ip_seed), 0) !=
	    (ssize_t)sizeof(server->ip_seed))
		server->ip_seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	if (config->tls_cert != NULL) {
		char *error = NULL;

		server->tls = tls_server_ctx_new(config->tls_cert,
		    config->tls_key, &error);
		if (server->tls == NULL) {
			*error_r = xasprintf("TLS: %s", error);
			free(error);
			goto fail;
		}
	}
	if (nthreads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		nthreads = n > 0 ? (unsigned)n : 1;
	}
	if (nthreads > SERVER_IO_THREADS_MAX)
		nthreads = SERVER_IO_THREADS_MAX;
	server->nthreads = nthreads;
	server->threads = xcalloc(nthreads, sizeof(*server->threads));
	for (unsigned i = 0; i < nthreads; i++)
		server_thread_init(server, &server->threads[i], i);
	for (size_t i = 0; i < config->n_listeners; i++) {
		if (server_listen(server, i, error_r) == -1)
			goto fail;
	}
	server->main_base = event_base_new();
	if (server->main_base == NULL)
		panic("server_new: event_base_new failed");
	server->ev_stop = event_new(server->main_base, -1, 0, server_on_stop,
	    server);
	server->ev_thread_exit = event_new(server->main_base, -1, 0,
	    server_on_thread_exit, server);
	if (server->ev_stop == NULL || server->ev_thread_exit == NULL)
		panic("server_new: event_new failed");
	server->workers = worker_pool_new(config->workers > 0 ?
	    config->workers : 1);
	return server;
fail:
	server_free(&server);
	return NULL;
}

void
server_set_protocol(struct server *server, enum config_protocol protocol,
    const struct server_protocol *proto)
{
	if ((unsigned)protocol >= SERVER_NPROTOCOLS || proto->accept == NULL)
		panic("server_set_protocol: bad protocol %d", (int)protocol);
	if (server->ran)
		panic("server_set_protocol: the server is running");
	server->protos[protocol] = *proto;
	server->proto_set[protocol] = true;
}

int
server_run(struct server *server, char **error_r)
{
	const struct config *config = server->config;
	unsigned active = 0;
	sigset_t all, old;
	char *error = NULL;

	if (server->ran)
		panic("server_run: called twice");
	server->ran = true;
	for (size_t i = 0; i < config->n_listeners; i++) {
		const struct config_listener *l = &config->listeners[i];

		if (!server->proto_set[l->protocol]) {
			log_warn("server: event=listen_skipped name=%s "
			    "protocol=%s reason=no_handler", l->name,
			    config_protocol_name(l->protocol));
			for (unsigned t = 0; t < server->nthreads; t++)
				server_socket_close(&server->threads[t].socks[i]);
			continue;
		}
		active++;
		log_info("server: event=listen name=%s address=%s port=%u "
		    "protocol=%s tls=%s", l->name, l->address,
		    (unsigned)l->port, config_protocol_name(l->protocol),
		    server_tls_mode_name(l->tls));
	}
	if (active == 0) {
		*error_r = xstrdup("no listener has a protocol to serve");
		return -1;
	}
	if (server->tls != NULL) {
		char *summary = tls_ctx_summary(server->tls);

		log_info("server: event=tls_loaded cert=%s %s",
		    config->tls_cert, summary);
		free(summary);
	}
	if (server_drop_privileges(config, error_r) == -1)
		return -1;
	if (server_check_data_dir(config->data_dir, 2, &error) == -1) {
		*error_r = xasprintf("data dir not writable by the server: %s",
		    error);
		free(error);
		return -1;
	}

	for (int i = 0; i < 3; i++) {
		server->ev_signals[i] = evsignal_new(server->main_base,
		    server_signals[i], server_on_signal, server);
		if (server->ev_signals[i] == NULL ||
		    evsignal_add(server->ev_signals[i], NULL) == -1)
			panic("server_run: signal event failed");
	}

	/* I/O threads take no signals: the main loop handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < server->nthreads; i++) {
		struct server_thread *t = &server->threads[i];
		int err = pthread_create(&t->tid, NULL, server_thread_main, t);

		if (err != 0) {
			*error_r = xasprintf("starting I/O thread %u: %s", i,
			    strerror(err));
			break;
		}
		t->started = true;
		server->threads_started++;
		char name[16];

		snprintf(name, sizeof(name), "petrel-io%u", i & 0xfffu);
		pthread_setname_np(t->tid, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (server->threads_started < server->nthreads)
		server_begin_shutdown(server, false);
	else
		log_info("server: event=started io_threads=%u workers=%u",
		    server->nthreads, config->workers);

	if (server->threads_started > 0)
		event_base_loop(server->main_base, EVLOOP_NO_EXIT_ON_EMPTY);
	for (unsigned i = 0; i < server->nthreads; i++) {
		if (server->threads[i].started)
			pthread_join(server->threads[i].tid, NULL);
	}
	/* Deleting the events puts the previous handlers back. */
	for (int i = 0; i < 3; i++) {
		event_free(server->ev_signals[i]);
		server->ev_signals[i] = NULL;
	}
	if (server->threads_started < server->nthreads)
		return -1;
	log_info("server: event=stopped");
	return 0;
}

void
server_stop(struct server *server)
{
	event_active(server->ev_stop, EV_READ, 0);
}

void
server_free(struct server **serverp)
{
	struct server *server = *serverp;

	if (server == NULL)
		return;
	*serverp = NULL;
	/* Jobs still queued run; their completions to the (detached)
	   thread bases are dropped. */
	worker_pool_free(&server->workers);
	for (unsigned i = 0; server->threads != NULL &&
	    i < server->nthreads; i++) {
		struct server_thread *t = &server->threads[i];

		for (size_t k = 0; t->socks != NULL &&
		    k < server->config->n_listeners; k++) {
			server_socket_close(&t->socks[k]);
			if (t->socks[k].ev != NULL)
				event_free(t->socks[k].ev);
			if (t->socks[k].ev_retry != NULL)
				event_free(t->socks[k].ev_retry);
		}
		free(t->socks);
		event_free(t->ev_shutdown);
		event_free(t->ev_force);
		event_free(t->ev_reload);
		event_free(t->ev_deadline);
		event_free(t->ev_grace);
		SSL_CTX_free(t->tls);
		if (t->base != NULL)
			event_base_free(t->base);
	}
	free(server->threads);
	if (server->ev_stop != NULL)
		event_free(server->ev_stop);
	if (server->ev_thread_exit != NULL)
		event_free(server->ev_thread_exit);
	if (server->main_base != NULL)
		event_base_free(server->main_base);
	SSL_CTX_free(server->tls);
	for (size_t b = 0; b < SERVER_IP_BUCKETS; b++) {
		while (server->ip_buckets[b] != NULL) {
			struct server_ip *ip = server->ip_buckets[b];

			server->ip_buckets[b] = ip->next;
			free(ip);
		}
	}
	pthread_mutex_destroy(&server->limits_lock);
	pthread_mutex_destroy(&server->tls_lock);
	free(server);
}

struct worker_pool *
server_workers(struct server *server)
{
	return server->workers;
}

struct event_base *
server_thread_base(struct server_thread *thread)
{
	return thread->base;
}

unsigned
server_thread_index(const struct server_thread *thread)
{
	return thread->index;
}

unsigned
server_thread_count(const struct server_thread *thread)
{
	return thread->server->nthreads;
}

struct server *
server_thread_server(struct server_thread *thread)
{
	return thread->server;
}

SSL_CTX *
server_thread_tls(struct server_thread *thread)
{
	return thread->tls;
}

bool
server_thread_is_shutting_down(const struct server_thread *thread)
{
	return thread->shutting_down;
}

void
server_client_done(struct server_client *client)
{
	struct server_thread *t = client->thread;

	if (!pthread_equal(pthread_self(), t->self))
		panic("server_client_done: called off thread %u", t->index);
	if (t->nclients == 0)
		panic("server_client_done: thread %u has no clients",
		    t->index);
	server_limits_release(t->server, client->key);
	free(client);
	t->nclients--;
	if (t->shutting_down && t->nclients == 0)
		event_base_loopexit(t->base, NULL);
}
