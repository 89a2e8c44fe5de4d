/* cmd_list.c — LIST (RFC 9051 §6.3.9 with LIST-EXTENDED, SPECIAL-USE,
   LIST-STATUS) and LSUB (RFC 3501 §6.3.9). The arguments are parsed on
   the I/O thread; the store is read and the whole answer built on a
   worker (matching is the costly part), then written at once. */
#include "imapd/imapd_commands.h"

#include <stdlib.h>

#include "imapd/imapd_list.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

/* An answer this large means hundreds of thousands of mailboxes. */
#define IMAPD_LIST_OUT_MAX (64u * 1024 * 1024)

struct imapd_list_job {
	struct imapd_list_params params;
	struct buf out;
	int status;
	char *error;
	bool too_big;
};

static void
imapd_list_work(struct store *store, void *ctx)
{
	struct imapd_list_job *job = ctx;
	struct store_mailbox *mbs = NULL;
	char **subs = NULL;
	size_t n_mbs = 0, n_subs = 0;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	if (job->params.root_only)
		goto write;
	job->status = store_mailbox_list(store, &mbs, &n_mbs);
	if (job->status == STORE_OK &&
	    imapd_list_needs_subscriptions(&job->params))
		job->status = store_subscriptions(store, &subs, &n_subs);
	if (job->status != STORE_OK) {
		job->error = xstrdup(store_error(store));
		goto out;
	}
write:
	job->too_big = imapd_list_write(&job->params, mbs, n_mbs, subs,
	    n_subs, &job->out) == -1;
out:
	for (size_t i = 0; i < n_subs; i++)
		free(subs[i]);
	free(subs);
	store_mailbox_list_free(&mbs, n_mbs);
}

static void
imapd_list_done(struct imapd_session *s, void *ctx)
{
	struct imapd_list_job *job = ctx;

	if (imapd_session_is_gone(s))
		goto out;
	if (job->status != STORE_OK)
		imapd_command_store_error(s, job->status, job->error);
	else if (job->too_big)
		imapd_command_done(s, 0, "NO [LIMIT] Too many mailboxes.");
	else {
		imapd_write(s, job->out.data, job->out.len);
		imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK, "OK %s completed.",
		    job->params.lsub ? "Lsub" : "List");
	}
out:
	imapd_list_params_clear(&job->params);
	buf_clear(&job->out);
	free(job->error);
	free(job);
}

static void
imapd_list_start(struct imapd_session *s, const struct imap_arg *args,
    size_t n, bool lsub)
{
	struct imapd_list_job *job = xcalloc(1, sizeof(*job));
	const char *error;

	if (imapd_list_parse(args, n, lsub, s->utf8, &job->params,
	    &error) == -1) {
		free(job);
		imapd_command_bad(s, "%s.", error);
		return;
	}
	imapd_status_view_init(&job->params.view, s);
	if ((job->params.status_items & IMAPD_STATUS_HIGHESTMODSEQ) != 0)
		imapd_condstore_enable(s);	/* RFC 7162 §3.1 */
	buf_init(&job->out, IMAPD_LIST_OUT_MAX);
	imapd_job_submit(s, imapd_list_work, imapd_list_done, job);
}

void
imapd_cmd_list(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	imapd_list_start(s, args, n, false);
}

void
imapd_cmd_lsub(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	imapd_list_start(s, args, n, true);
}
