/* smtpd.c — glue between the server runtime and SMTP sessions: the
   server_protocol accept and shutdown hooks, and the per-thread state
   array. The array is sized on first use from the server's thread count
   and each slot is created by, and only used on, its own I/O thread; the
   mutex guards only the array's creation and slot lookup. */
#include "smtpd/smtpd.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "server/server.h"
#include "smtpd/smtpd_session.h"
#include "service/service_thread.h"

struct smtpd_service {
	struct smtpd *smtpd;
	bool is_submission;
	struct server_protocol proto;
};

struct smtpd {
	const struct config *config;
	struct queue *queue;
	struct service_login *login;	/* submission AUTH; shared */
	pthread_mutex_t mutex;
	struct service_thread **threads;
	unsigned n_threads;
	struct smtpd_service mta, submission;
};

static struct service_thread *
smtpd_thread_of(struct smtpd *smtpd, struct server_thread *thread)
{
	unsigned idx = server_thread_index(thread);
	struct service_thread *t;

	pthread_mutex_lock(&smtpd->mutex);
	if (smtpd->threads == NULL) {
		smtpd->n_threads = server_thread_count(thread);
		smtpd->threads = xcalloc(smtpd->n_threads,
		    sizeof(*smtpd->threads));
	}
	if (idx >= smtpd->n_threads)
		panic("smtpd_thread_of: thread %u of %u", idx,
		    smtpd->n_threads);
	if (smtpd->threads[idx] == NULL)
		smtpd->threads[idx] = service_thread_new(
		    server_thread_base(thread), smtpd->config, "smtpd",
		    smtpd_session_shutdown_link);
	t = smtpd->threads[idx];
	pthread_mutex_unlock(&smtpd->mutex);
	return t;
}

static void
smtpd_client_done(void *ctx)
{
	server_client_done(ctx);
}

static void
smtpd_accept(struct server_thread *thread,
    const struct config_listener *listener, int fd,
    struct server_client *client, void *ctx)
{
	struct smtpd_service *svc = ctx;
	struct smtpd *smtpd = svc->smtpd;
	struct smtpd_session_params params = {
		.config = smtpd->config,
		.listener = listener,
		.queue = smtpd->queue,
		.thread = smtpd_thread_of(smtpd, thread),
		.tls = server_thread_tls(thread),
		.is_submission = svc->is_submission,
		.login = svc->is_submission ? smtpd->login : NULL,
		.workers = server_workers(server_thread_server(thread)),
		.on_end = smtpd_client_done,
		.end_ctx = client,
	};

	if (server_thread_is_shutting_down(thread))
		service_thread_shutdown(params.thread);
	smtpd_session_start(fd, &params);
}

static void
smtpd_shutdown(struct server_thread *thread, void *ctx)
{
	struct smtpd_service *svc = ctx;

	service_thread_shutdown(smtpd_thread_of(svc->smtpd, thread));
}

static void
smtpd_service_init(struct smtpd_service *svc, struct smtpd *smtpd,
    bool is_submission)
{
	svc->smtpd = smtpd;
	svc->is_submission = is_submission;
	svc->proto.accept = smtpd_accept;
	svc->proto.shutdown = smtpd_shutdown;
	/* Plaintext, before any greeting (server.h); RFC 5321 §3.8. */
	svc->proto.busy_line = "421 4.7.0 Error: too many connections\r\n";
	svc->proto.ctx = svc;
}

struct smtpd *
smtpd_new(const struct config *config, struct queue *queue,
    struct service_login *login)
{
	struct smtpd *smtpd = xcalloc(1, sizeof(*smtpd));

	smtpd->config = config;
	smtpd->queue = queue;
	smtpd->login = login;
	if (pthread_mutex_init(&smtpd->mutex, NULL) != 0)
		panic("smtpd_new: pthread_mutex_init");
	smtpd_service_init(&smtpd->mta, smtpd, false);
	smtpd_service_init(&smtpd->submission, smtpd, true);
	return smtpd;
}

void
smtpd_free(struct smtpd **smtpdp)
{
	struct smtpd *smtpd = *smtpdp;

	if (smtpd == NULL)
		return;
	for (unsigned i = 0; i < smtpd->n_threads; i++)
		service_thread_free(&smtpd->threads[i]);
	free(smtpd->threads);
	pthread_mutex_destroy(&smtpd->mutex);
	free(smtpd);
	*smtpdp = NULL;
}

const struct server_protocol *
smtpd_protocol(struct smtpd *smtpd, enum config_protocol protocol)
{
	switch (protocol) {
	case CONFIG_PROTOCOL_SMTP:
		return &smtpd->mta.proto;
	case CONFIG_PROTOCOL_SUBMISSION:
		return &smtpd->submission.proto;
	default:
		panic("smtpd_protocol: %s is not SMTP",
		    config_protocol_name(protocol));
	}
}
