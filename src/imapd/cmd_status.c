/* cmd_status.c — STATUS (RFC 9051 §6.3.11). Allowed on the selected
   mailbox too (Dovecot answers it; RFC 9051 only advises against it);
   its RECENT is the session's own count. */
#include "imapd/imapd_commands.h"

#include <stdlib.h>

#include "imapd/imapd_private.h"
#include "imapd/imapd_status.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

struct imapd_status_job {
	char *name;
	unsigned items;
	struct imapd_status_view view;
	struct store_mailbox mb;
	int status;
	char *error;
};

static void
imapd_status_work(struct store *store, void *ctx)
{
	struct imapd_status_job *job = ctx;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_mailbox_get(store, job->name, &job->mb);
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

static void
imapd_status_done(struct imapd_session *s, void *ctx)
{
	struct imapd_status_job *job = ctx;
	struct buf out;

	buf_init(&out, 0);
	if (imapd_session_is_gone(s))
		goto out;
	if (job->status != STORE_OK) {
		imapd_command_store_error(s, job->status, job->error);
		goto out;
	}
	/* Bounded: one name and nine numbers. */
	(void)imapd_status_write(&out, &job->mb, job->items, &job->view);
	imapd_write(s, out.data, out.len);
	imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK, "OK Status completed.");
out:
	buf_clear(&out);
	store_mailbox_clear(&job->mb);
	free(job->name);
	free(job->error);
	free(job);
}

void
imapd_cmd_status(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_status_job *job;
	const char *error;
	unsigned items;
	char *name;

	if (n != 2 || args[1].type != IMAP_ARG_LIST) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if (imapd_status_items(args[1].list, args[1].n_list, &items,
	    &error) == -1) {
		imapd_command_bad(s, "%s.", error);
		return;
	}
	if ((name = imapd_mailbox_arg(s, &args[0])) == NULL)
		return;
	if ((items & IMAPD_STATUS_HIGHESTMODSEQ) != 0)
		imapd_condstore_enable(s);	/* RFC 7162 §3.1 */
	job = xcalloc(1, sizeof(*job));
	job->name = name;
	job->items = items;
	imapd_status_view_init(&job->view, s);
	imapd_job_submit(s, imapd_status_work, imapd_status_done, job);
}
