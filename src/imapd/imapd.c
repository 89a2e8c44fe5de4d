/* imapd.c — glue between the server runtime and IMAP sessions: the
   server_protocol accept and shutdown hooks, the per-thread state array
   (as pop3d.c: sized on first use, each slot made by and used on its own
   I/O thread; the mutex guards only the array) and the process-wide pool
   of store handles (imapd_job.c), whose sweep timer runs on the first
   thread that got a client and stops at its shutdown. */
#include "imapd/imapd.h"

#include <pthread.h>
#include <stdlib.h>

#include "imapd/imapd_private.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "server/server.h"
#include "service/service_login.h"
#include "service/service_thread.h"

struct imapd {
	const struct config *config;
	struct service_login *login;
	struct imapd_job_pool *jobs;
	pthread_mutex_t mutex;
	struct service_thread **threads;
	unsigned n_threads;
	struct server_protocol proto;
};

static void
imapd_warm_work(void *ctx)
{
	service_login_warm(ctx);
}

static struct service_thread *
imapd_thread_of(struct imapd *imapd, struct server_thread *thread)
{
	unsigned idx = server_thread_index(thread);
	struct service_thread *t;

	pthread_mutex_lock(&imapd->mutex);
	if (imapd->threads == NULL) {
		imapd->n_threads = server_thread_count(thread);
		imapd->threads = xcalloc(imapd->n_threads,
		    sizeof(*imapd->threads));
		/* The first client: the dummy hash is made now, on a
		   worker (see pop3d.c). */
		worker_submit(server_workers(server_thread_server(thread)),
		    NULL, imapd_warm_work, NULL, imapd->login);
	}
	if (idx >= imapd->n_threads)
		panic("imapd_thread_of: thread %u of %u", idx,
		    imapd->n_threads);
	if (imapd->threads[idx] == NULL) {
		imapd->threads[idx] = service_thread_new(
		    server_thread_base(thread), imapd->config, "imapd",
		    imapd_session_shutdown_link);
		/* The first thread with a client runs the store-handle
		   sweep (the later calls do nothing). */
		imapd_job_pool_sweep_start(imapd->jobs,
		    server_thread_base(thread),
		    server_workers(server_thread_server(thread)));
	}
	t = imapd->threads[idx];
	pthread_mutex_unlock(&imapd->mutex);
	return t;
}

static void
imapd_client_done(void *ctx)
{
	server_client_done(ctx);
}

static void
imapd_accept(struct server_thread *thread,
    const struct config_listener *listener, int fd,
    struct server_client *client, void *ctx)
{
	struct imapd *imapd = ctx;
	struct imapd_session_params params = {
		.config = imapd->config,
		.listener = listener,
		.thread = imapd_thread_of(imapd, thread),
		.workers = server_workers(server_thread_server(thread)),
		.login = imapd->login,
		.jobs = imapd->jobs,
		.tls = server_thread_tls(thread),
		.on_end = imapd_client_done,
		.end_ctx = client,
	};

	if (server_thread_is_shutting_down(thread))
		service_thread_shutdown(params.thread);
	imapd_session_start(fd, &params);
}

static void
imapd_shutdown(struct server_thread *thread, void *ctx)
{
	struct imapd *imapd = ctx;

	service_thread_shutdown(imapd_thread_of(imapd, thread));
	/* The timer goes with its thread's loop (its base is freed by
	   server_free, before imapd_free). */
	imapd_job_pool_sweep_stop(imapd->jobs, server_thread_base(thread));
}

struct imapd *
imapd_new(const struct config *config, struct service_login *login)
{
	struct imapd *imapd = xcalloc(1, sizeof(*imapd));

	imapd->config = config;
	imapd->login = login;
	imapd->jobs = imapd_job_pool_new(config->data_dir);
	if (pthread_mutex_init(&imapd->mutex, NULL) != 0)
		panic("imapd_new: pthread_mutex_init");
	imapd->proto.accept = imapd_accept;
	imapd->proto.shutdown = imapd_shutdown;
	/* Plaintext, before any greeting (server.h); RFC 9051 §7.1.5. */
	imapd->proto.busy_line = "* BYE Too many connections.\r\n";
	imapd->proto.ctx = imapd;
	return imapd;
}

void
imapd_free(struct imapd **imapdp)
{
	struct imapd *imapd = *imapdp;

	if (imapd == NULL)
		return;
	for (unsigned i = 0; i < imapd->n_threads; i++)
		service_thread_free(&imapd->threads[i]);
	free(imapd->threads);
	imapd_job_pool_free(&imapd->jobs);
	pthread_mutex_destroy(&imapd->mutex);
	free(imapd);
	*imapdp = NULL;
}

const struct server_protocol *
imapd_protocol(struct imapd *imapd, enum config_protocol protocol)
{
	if (protocol != CONFIG_PROTOCOL_IMAP)
		panic("imapd_protocol: %s is not IMAP",
		    config_protocol_name(protocol));
	return &imapd->proto;
}
