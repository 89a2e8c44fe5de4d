/* server_thread.c — one I/O thread: its event_base, the accept events of
   its listener sockets, and the control events the main thread activates
   (graceful shutdown, forced deadline, TLS reload). Everything here runs on
   the thread itself, except server_thread_init (before the thread starts).
   Shutdown: the listeners close, the protocols' hooks run, and the loop ends
   with the last client or at limits.shutdown_timeout, when the remaining
   conns are aborted with SERVER_GRACE_MS for their on_close. */
#include "server/server_private.h"

#include <stdlib.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/conn.h"
#include "lib/log.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"

/* After the shutdown deadline: time for aborted conns' on_close. */
#define SERVER_GRACE_MS 2000

/* ---- per-thread control ------------------------------------------- */

static void
server_thread_close_listeners(struct server_thread *t)
{
	for (size_t i = 0; i < t->server->config->n_listeners; i++)
		server_socket_close(&t->socks[i]);
}

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

void *
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

void
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

/* ---- public ------------------------------------------------------- */

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
