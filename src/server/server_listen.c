/* server_listen.c — a listener's sockets, one per I/O thread
   (SO_REUSEPORT), and what happens to an accepted socket: the global and
   per-IP connection limits are checked (a slot is taken, or the peer gets
   the protocol's busy line and is closed), then the protocol's accept hook
   runs on the listener's thread. Every slot taken is released exactly once,
   by server_client_done on the same thread. The per-IP table is shared by
   the threads and guarded by limits_lock. */
#include "server/server_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* As nginx and Redis; the kernel caps it at net.core.somaxconn. */
#define SERVER_BACKLOG 511
/* Accepts per readiness event, so that one busy listener does not starve
   the thread's connections. */
#define SERVER_ACCEPT_BATCH 32
/* Out of descriptors: stop accepting this long instead of spinning on a
   listener that stays readable. */
#define SERVER_EMFILE_PAUSE_MS 100

struct server_client {
	struct server_thread *thread;
	unsigned char key[SERVER_IP_KEY];
};

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

void
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
int
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

/* ---- public ------------------------------------------------------- */

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
