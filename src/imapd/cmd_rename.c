/* cmd_rename.c — RENAME (RFC 9051 §6.3.6). The store renames children
   with the mailbox and their subscriptions; renaming INBOX moves its
   messages to the new name and leaves INBOX empty. When the selected
   mailbox (or one of its parents) is renamed, the session keeps it
   selected under its new name, as Dovecot does. */
#include "imapd/imapd_commands.h"

#include <stdlib.h>
#include <string.h>

#include "imapd/imapd_private.h"
#include "lib/xmalloc.h"

struct imapd_rename_job {
	char *old_name, *new_name;
	int status;
	char *error;
};

static void
imapd_rename_work(struct store *store, void *ctx)
{
	struct imapd_rename_job *job = ctx;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_mailbox_rename(store, job->old_name,
	    job->new_name);
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

/* The selected mailbox's name after old → new (it or a parent renamed). */
static void
imapd_rename_selected(struct imapd_session *s, const char *old_name,
    const char *new_name)
{
	struct imapd_selected *sel = s->sel;
	size_t len = strlen(old_name);
	char *renamed;

	if (s->state != IMAPD_STATE_SELECTED || sel == NULL ||
	    strcmp(old_name, "INBOX") == 0)
		return;
	if (strncmp(sel->name, old_name, len) != 0 ||
	    (sel->name[len] != '\0' && sel->name[len] != '/'))
		return;
	renamed = xasprintf("%s%s", new_name, sel->name + len);
	free(sel->name);
	sel->name = renamed;
}

static void
imapd_rename_done(struct imapd_session *s, void *ctx)
{
	struct imapd_rename_job *job = ctx;

	if (imapd_session_is_gone(s))
		goto out;
	if (job->status != STORE_OK) {
		imapd_command_store_error(s, job->status, job->error);
		goto out;
	}
	imapd_rename_selected(s, job->old_name, job->new_name);
	/* Renaming INBOX empties it: the sync tells the expunges. */
	imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK | IMAPD_DONE_SYNC,
	    "OK Rename completed.");
out:
	free(job->old_name);
	free(job->new_name);
	free(job->error);
	free(job);
}

void
imapd_cmd_rename(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_rename_job *job;
	char *old_name, *new_name;

	if (n != 2 || !imap_arg_is_astring(&args[0]) ||
	    !imap_arg_is_astring(&args[1])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if ((old_name = imapd_mailbox_arg(s, &args[0])) == NULL)
		return;
	if ((new_name = imapd_mailbox_arg(s, &args[1])) == NULL) {
		free(old_name);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->old_name = old_name;
	job->new_name = new_name;
	imapd_job_submit(s, imapd_rename_work, imapd_rename_done, job);
}
