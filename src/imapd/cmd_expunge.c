/* cmd_expunge.c — EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (UIDPLUS, RFC
   4315 §2.1). Only messages the session knows are expunged: EXPUNGE
   covers UIDs up to the last one in the view, so a message that arrived
   (and got \Deleted by another session) since the last synchronisation
   is left for a later EXPUNGE, as Dovecot does. The untagged EXPUNGE (or
   VANISHED) answers come from the session's synchronisation; under
   QRESYNC the tagged OK carries the HIGHESTMODSEQ that synchronisation
   reached (RFC 7162 §3.2.10, as Dovecot), which moves with the
   expunges' own modseqs. */
#include <inttypes.h>
#include "imapd/imapd_commands.h"

#include <stdlib.h>

#include "imapd/imapd_msgset.h"
#include "imapd/imapd_private.h"
#include "lib/xmalloc.h"

struct imapd_expunge_job {
	int64_t mailbox_id;
	struct store_range *ranges;
	size_t n_ranges;
	int status;
	char *error;
};

static void
imapd_expunge_work(struct store *store, void *ctx)
{
	struct imapd_expunge_job *job = ctx;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_expunge(store, job->mailbox_id, job->ranges,
	    job->n_ranges, NULL, NULL);
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

/* QRESYNC: the synchronisation ran; its HIGHESTMODSEQ goes in the OK. */
static void
imapd_expunge_synced(struct imapd_session *s)
{
	if (imapd_session_is_gone(s) || s->sel == NULL) {
		imapd_command_done(s, 0, "NO Mailbox is gone.");
		return;
	}
	imapd_command_done(s, IMAPD_DONE_EXPUNGE_OK,
	    "OK [HIGHESTMODSEQ %" PRIu64 "] Expunge completed.",
	    s->sel->highestmodseq);
}

/* Ends a successful EXPUNGE. */
static void
imapd_expunge_ok(struct imapd_session *s)
{
	if (s->qresync)
		imapd_sync(s, true, imapd_expunge_synced);
	else
		imapd_command_done(s, IMAPD_DONE_SYNC | IMAPD_DONE_EXPUNGE_OK,
		    "OK Expunge completed.");
}

static void
imapd_expunge_done(struct imapd_session *s, void *ctx)
{
	struct imapd_expunge_job *job = ctx;

	if (imapd_session_is_gone(s))
		goto out;
	if (job->status != STORE_OK)
		imapd_command_store_error(s, job->status, job->error);
	else
		imapd_expunge_ok(s);
out:
	free(job->ranges);
	free(job->error);
	free(job);
}

void
imapd_cmd_expunge(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_selected *sel = s->sel;
	struct imapd_expunge_job *job;
	struct store_range *ranges = NULL;
	size_t n_ranges = 0;

	if (n != (s->uid ? 1u : 0u)) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if (s->uid && imapd_msgset_arg(s, &args[0], &ranges, &n_ranges) == -1)
		return;
	if (sel->readonly) {
		free(ranges);
		imapd_command_done(s, 0,
		    "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	if (!s->uid && sel->n > 0) {
		ranges = xmalloc(sizeof(*ranges));
		ranges[0] = (struct store_range){ .lo = 1,
		    .hi = sel->uids[sel->n - 1] };
		n_ranges = 1;
	}
	/* Nothing in the set: no store call (no ranges would mean all). */
	if (n_ranges == 0) {
		free(ranges);
		imapd_expunge_ok(s);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->mailbox_id = sel->mailbox_id;
	job->ranges = ranges;
	job->n_ranges = n_ranges;
	imapd_job_submit(s, imapd_expunge_work, imapd_expunge_done, job);
}
