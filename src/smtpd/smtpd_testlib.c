/* smtpd_testlib.c — the session-test harness; see smtpd_testlib.h. */
#include "smtpd/smtpd_testlib.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "lib/fsutil.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "queue/queue.h"
#include "smtpd/smtpd_session.h"
#include "service/service_thread.h"

void
smtpd_testlib_init(struct smtpd_testlib *t, const char *hostname)
{
	memset(t, 0, sizeof(*t));
	config_limits_defaults(&t->defaults);
	t->config.limits = t->defaults;
	t->config.hostname = xstrdup(hostname);
	worker_threads_init();
	t->base = event_base_new();
	if (t->base == NULL)
		panic("smtpd_testlib_init: event_base_new");
	worker_base_attach(t->base);
}

void
smtpd_testlib_open(struct smtpd_testlib *t, char *dir,
    smtpd_testlib_fill_fn *fill)
{
	struct directory_error derr = { 0 };
	struct directory *d = NULL;
	char *error = NULL;

	t->dir = dir;
	free(t->config.data_dir);
	t->config.data_dir = xstrdup(dir);
	if (directory_open(dir, true, &d, &error) == -1)
		panic("smtpd_testlib_open: directory_open: %s", error);
	if (fill(d, &derr) == -1)
		panic("smtpd_testlib_open: directory: %s", derr.message);
	directory_close(&d);
	if (queue_open(dir, &t->queue, &error) == -1)
		panic("smtpd_testlib_open: queue_open: %s", error);
	t->thread = service_thread_new(t->base, &t->config, "smtpd",
	    smtpd_session_shutdown_link);
}

void
smtpd_testlib_close(struct smtpd_testlib *t)
{
	service_thread_free(&t->thread);
	queue_close(&t->queue);
	if (t->dir != NULL)
		(void)fsutil_remove_tree(t->dir);
	xfree(&t->dir);
}

void
smtpd_testlib_clear(struct smtpd_testlib *t)
{
	smtpd_testlib_close(t);
	if (t->base != NULL) {
		worker_base_detach(t->base);
		event_base_free(t->base);
		t->base = NULL;
	}
	xfree(&t->config.hostname);
	xfree(&t->config.data_dir);
}

static void
smtpd_testlib_on_end(void *ctx)
{
	struct smtpd_testlib *t = ctx;

	t->ended++;
}

void
smtpd_testlib_start(struct smtpd_testlib *t, int fd,
    struct service_thread *thread, const struct config_listener *listener,
    SSL_CTX *tls, bool is_submission)
{
	struct smtpd_session_params params = {
		.config = &t->config,
		.listener = listener,
		.queue = t->queue,
		.thread = thread,
		.tls = tls,
		.is_submission = is_submission,
		.login = is_submission ? t->login : NULL,
		.workers = t->workers,
		.on_end = smtpd_testlib_on_end,
		.end_ctx = t,
	};

	t->started++;
	smtpd_session_start(fd, &params);
}
