/* imapd_testlib.c — the session-test harness; see imapd_testlib.h. */
#include "imapd/imapd_testlib.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "directory/directory.h"
#include "directory/directory_admin.h"
#include "imapd/imapd_private.h"
#include "lib/fsutil.h"
#include "lib/worker.h"
#include "lib/xmalloc.h"
#include "service/service_login.h"
#include "service/service_thread.h"
#include "store/store.h"

void
imapd_testlib_init(struct imapd_testlib *t, const char *hostname)
{
	memset(t, 0, sizeof(*t));
	config_limits_defaults(&t->config.limits);
	config_auth_defaults(&t->config.auth);
	t->config.hostname = xstrdup(hostname);
	worker_threads_init();
	t->base = event_base_new();
	if (t->base == NULL)
		panic("imapd_testlib_init: event_base_new");
	worker_base_attach(t->base);
	t->workers = worker_pool_new(2);
}

void
imapd_testlib_reset_login(struct imapd_testlib *t)
{
	service_login_free(&t->login);
	t->login = service_login_new(&t->config);
	service_login_set_dummy_hash(t->login, "{PLAIN}no such password");
}

void
imapd_testlib_open(struct imapd_testlib *t, char *dir,
    imapd_testlib_fill_fn *fill)
{
	struct directory_error derr = { 0 };
	struct directory *d = NULL;
	char *error = NULL;

	t->dir = dir;
	free(t->config.data_dir);
	t->config.data_dir = xstrdup(dir);
	if (directory_open(dir, true, &d, &error) == -1)
		panic("imapd_testlib_open: directory_open: %s", error);
	if (fill(d, &derr) == -1)
		panic("imapd_testlib_open: directory: %s", derr.message);
	directory_close(&d);
	imapd_testlib_reset_login(t);
	t->jobs = imapd_job_pool_new(dir);
	t->thread = service_thread_new(t->base, &t->config, "imapd",
	    imapd_session_shutdown_link);
}

int64_t
imapd_testlib_account_id(struct imapd_testlib *t, const char *address)
{
	struct directory_account account;
	struct directory_error derr = { 0 };
	struct directory *d = NULL;
	char *error = NULL;
	int64_t id;

	if (directory_open(t->dir, false, &d, &error) == -1)
		panic("imapd_testlib_account_id: %s", error);
	if (directory_admin_account_get(d, address, &account, &derr) == -1)
		panic("imapd_testlib_account_id: %s", derr.message);
	id = account.id;
	directory_account_clear(&account);
	directory_close(&d);
	return id;
}

uint32_t
imapd_testlib_append(struct imapd_testlib *t, int64_t account_id,
    const char *mailbox, const void *data, size_t len)
{
	struct store *store = NULL;
	struct store_mailbox mb;
	struct store_append a;
	char *error = NULL;
	uint32_t uid = 0;

	if (store_open(t->dir, account_id, NULL, &store, &error) != STORE_OK)
		panic("imapd_testlib_append: store_open: %s", error);
	if (store_mailbox_get(store, mailbox, &mb) != STORE_OK)
		panic("imapd_testlib_append: %s: %s", mailbox,
		    store_error(store));
	memset(&a, 0, sizeof(a));
	a.mailbox_id = mb.id;
	a.data = data;
	a.len = len;
	store_mailbox_clear(&mb);
	if (store_append(store, &a, &uid) != STORE_OK)
		panic("imapd_testlib_append: %s", store_error(store));
	store_close(&store);
	return uid;
}

void
imapd_testlib_clear(struct imapd_testlib *t)
{
	service_thread_free(&t->thread);
	imapd_job_pool_free(&t->jobs);
	service_login_free(&t->login);
	worker_pool_free(&t->workers);
	if (t->base != NULL) {
		worker_base_detach(t->base);
		event_base_free(t->base);
		t->base = NULL;
	}
	if (t->dir != NULL)
		(void)fsutil_remove_tree(t->dir);
	xfree(&t->dir);
	xfree(&t->config.hostname);
	xfree(&t->config.data_dir);
}

static void
imapd_testlib_on_end(void *ctx)
{
	struct imapd_testlib *t = ctx;

	t->ended++;
}

void
imapd_testlib_start(struct imapd_testlib *t, int fd,
    const struct config_listener *listener, SSL_CTX *tls)
{
	struct imapd_session_params params = {
		.config = &t->config,
		.listener = listener,
		.thread = t->thread,
		.workers = t->workers,
		.login = t->login,
		.jobs = t->jobs,
		.tls = tls,
		.on_end = imapd_testlib_on_end,
		.end_ctx = t,
	};

	t->started++;
	imapd_session_start(fd, &params);
}
