/* server.c — the daemon runtime (server.h). The caller of server_run runs
   a small event_base for signals and control; each I/O thread runs its own
   base with one SO_REUSEPORT socket per listener (server_thread.c,
   server_listen.c). Shared state is small and locked (connection counts,
   current TLS context); everything else of a thread is touched on that
   thread only, and the main thread reaches it through event_active().
   Shutdown: listeners close, protocols' hooks run, a thread ends with its
   last client or at limits.shutdown_timeout (then its conns are aborted,
   with a short grace); a second signal forces the deadline. */
#include "server/server_private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/tls.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"

#define SERVER_IO_THREADS_MAX 256

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
	server_process_raise_nofile();
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
	if (server_process_drop_privileges(config, error_r) == -1)
		return -1;
	if (server_process_check_data_dir(config->data_dir, 2, &error) == -1) {
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
