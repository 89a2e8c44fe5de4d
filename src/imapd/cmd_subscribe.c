/* cmd_subscribe.c — SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8).
   Subscriptions are names: a mailbox need not exist to be subscribed
   (RFC 9051 §6.3.7; Dovecot allows it too), and UNSUBSCRIBE of a name
   never subscribed succeeds, as Dovecot's does. */
#include "imapd/imapd_commands.h"

#include <stdlib.h>

#include "imapd/imapd_private.h"
#include "lib/xmalloc.h"

struct imapd_subscribe_job {
	char *name;
	bool subscribe;
	int status;
	char *error;
};

static void
imapd_subscribe_work(struct store *store, void *ctx)
{
	struct imapd_subscribe_job *job = ctx;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_mailbox_subscribe(store, job->name,
	    job->subscribe);
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

static void
imapd_subscribe_done(struct imapd_session *s, void *ctx)
{
	struct imapd_subscribe_job *job = ctx;

	if (imapd_session_is_gone(s))
		goto out;
	if (job->status != STORE_OK)
		imapd_command_store_error(s, job->status, job->error);
	else
		imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK, "OK %s completed.",
		    job->subscribe ? "Subscribe" : "Unsubscribe");
out:
	free(job->name);
	free(job->error);
	free(job);
}

static void
imapd_subscribe_start(struct imapd_session *s, const struct imap_arg *args,
    size_t n, bool subscribe)
{
	struct imapd_subscribe_job *job;
	char *name;

	if (n != 1 || !imap_arg_is_astring(&args[0])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if ((name = imapd_mailbox_arg(s, &args[0])) == NULL)
		return;
	job = xcalloc(1, sizeof(*job));
	job->name = name;
	job->subscribe = subscribe;
	imapd_job_submit(s, imapd_subscribe_work, imapd_subscribe_done, job);
}

void
imapd_cmd_subscribe(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	imapd_subscribe_start(s, args, n, true);
}

void
imapd_cmd_unsubscribe(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	imapd_subscribe_start(s, args, n, false);
}
