/* pop3d.c — glue between the server runtime and POP3 sessions: the
   server_protocol accept and shutdown hooks and the per-thread state
   array. The array is sized on first use from the
   server's thread count and each slot is created by, and only used on,
   its own I/O thread; the mutex guards only the array's creation and slot
   lookup. Logins go through the server's one service_login. */
#include "pop3d/pop3d.h"

#include <pthread.h>
#include <stdlib.h>

#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "pop3d/pop3d_private.h"
#include "pop3d/pop3d_session.h"
#include "service/service_login.h"
#include "service/service_thread.h"
#include "server/server.h"

struct pop3d {
	const struct config *config;
	struct service_login *login;	/* shared with IMAP, submission */
	pthread_mutex_t mutex;
	struct service_thread **threads;
	unsigned n_threads;
	struct server_protocol proto;
};

static void
pop3d_warm_work(void *ctx)
{
	service_login_warm(ctx);
}

static struct service_thread *
pop3d_thread_of(struct pop3d *pop3d, struct server_thread *thread)
{
	unsigned idx = server_thread_index(thread);
	struct service_thread *t;

	pthread_mutex_lock(&pop3d->mutex);
	if (pop3d->threads == NULL) {
		pop3d->n_threads = server_thread_count(thread);
		pop3d->threads = xcalloc(pop3d->n_threads,
		    sizeof(*pop3d->threads));
		/* The first client: the dummy hash is made now, on a
		   worker, rather than by the first unknown user's login
		   (which would then take twice as long) or at start-up
		   (which would hold the listening daemon ~100 ms before
		   its signal handlers are set). */
		worker_submit(server_workers(server_thread_server(thread)),
		    NULL, pop3d_warm_work, NULL, pop3d->login);
	}
	if (idx >= pop3d->n_threads)
		panic("pop3d_thread_of: thread %u of %u", idx,
		    pop3d->n_threads);
	if (pop3d->threads[idx] == NULL)
		pop3d->threads[idx] = service_thread_new(
		    server_thread_base(thread), pop3d->config, "pop3d",
		    pop3d_session_shutdown_link);
	t = pop3d->threads[idx];
	pthread_mutex_unlock(&pop3d->mutex);
	return t;
}

static void
pop3d_client_done(void *ctx)
{
	server_client_done(ctx);
}

static void
pop3d_accept(struct server_thread *thread,
    const struct config_listener *listener, int fd,
    struct server_client *client, void *ctx)
{
	struct pop3d *pop3d = ctx;
	struct pop3d_session_params params = {
		.config = pop3d->config,
		.listener = listener,
		.thread = pop3d_thread_of(pop3d, thread),
		.workers = server_workers(server_thread_server(thread)),
		.login = pop3d->login,
		.tls = server_thread_tls(thread),
		.on_end = pop3d_client_done,
		.end_ctx = client,
	};

	if (server_thread_is_shutting_down(thread))
		service_thread_shutdown(params.thread);
	pop3d_session_start(fd, &params);
}

static void
pop3d_shutdown(struct server_thread *thread, void *ctx)
{
	service_thread_shutdown(pop3d_thread_of(ctx, thread));
}

struct pop3d *
pop3d_new(const struct config *config, struct service_login *login)
{
	struct pop3d *pop3d = xcalloc(1, sizeof(*pop3d));

	pop3d->config = config;
	pop3d->login = login;
	if (pthread_mutex_init(&pop3d->mutex, NULL) != 0)
		panic("pop3d_new: pthread_mutex_init");
	pop3d->proto.accept = pop3d_accept;
	pop3d->proto.shutdown = pop3d_shutdown;
	/* Plaintext, before any greeting (server.h); RFC 1939 §4 lets the
	   greeting be -ERR. */
	pop3d->proto.busy_line = "-ERR [SYS/TEMP] Too many connections.\r\n";
	pop3d->proto.ctx = pop3d;
	return pop3d;
}

void
pop3d_free(struct pop3d **pop3dp)
{
	struct pop3d *pop3d = *pop3dp;

	if (pop3d == NULL)
		return;
	for (unsigned i = 0; i < pop3d->n_threads; i++)
		service_thread_free(&pop3d->threads[i]);
	free(pop3d->threads);
	pthread_mutex_destroy(&pop3d->mutex);
	free(pop3d);
	*pop3dp = NULL;
}

const struct server_protocol *
pop3d_protocol(struct pop3d *pop3d, enum config_protocol protocol)
{
	if (protocol != CONFIG_PROTOCOL_POP3)
		panic("pop3d_protocol: %s is not POP3",
		    config_protocol_name(protocol));
	return &pop3d->proto;
}
