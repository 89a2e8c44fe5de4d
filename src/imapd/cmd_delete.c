/* cmd_delete.c — DELETE (RFC 9051 §6.3.5). INBOX and a mailbox with
   children are refused by the store (Dovecot answers both NO; RFC 9051
   would let the latter become \Noselect, which no store of ours has).
   Deleting the selected mailbox is allowed and unselects it. */
#include "imapd/imapd_commands.h"

#include <stdlib.h>
#include <string.h>

#include "imapd/imapd_private.h"
#include "lib/xmalloc.h"

struct imapd_delete_job {
	char *name;
	int status;
	char *error;
};

static void
imapd_delete_work(struct store *store, void *ctx)
{
	struct imapd_delete_job *job = ctx;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_mailbox_delete(store, job->name);
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

static void
imapd_delete_done(struct imapd_session *s, void *ctx)
{
	struct imapd_delete_job *job = ctx;

	if (imapd_session_is_gone(s))
		goto out;
	if (job->status == STORE_NOT_ALLOWED) {
		imapd_command_done(s, 0, "NO [CANNOT] %s",
		    strcmp(job->name, "INBOX") == 0 ?
		    "INBOX can't be deleted." :
		    "Mailbox has children, delete them first.");
		goto out;
	}
	if (job->status != STORE_OK) {
		imapd_command_store_error(s, job->status, job->error);
		goto out;
	}
	/* The selected mailbox is gone: back to the authenticated state,
	   as Dovecot does (the client learns it at its next command). */
	if (s->state == IMAPD_STATE_SELECTED && s->sel != NULL &&
	    strcmp(s->sel->name, job->name) == 0)
		imapd_session_unselect(s);
	imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK, "OK Delete completed.");
out:
	free(job->name);
	free(job->error);
	free(job);
}

void
imapd_cmd_delete(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_delete_job *job;
	char *name;

	if (n != 1 || !imap_arg_is_astring(&args[0])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if ((name = imapd_mailbox_arg(s, &args[0])) == NULL)
		return;
	job = xcalloc(1, sizeof(*job));
	job->name = name;
	imapd_job_submit(s, imapd_delete_work, imapd_delete_done, job);
}
