/* cmd_copy.c — COPY and MOVE with their UID forms (RFC 9051 §6.4.7,
   §6.4.8; MOVE RFC 6851; COPYUID RFC 4315). The store copies in one
   transaction (all or nothing), hard-linking the files. MOVE tells the
   COPYUID in an untagged OK before the expunges the session's
   synchronisation sends (RFC 6851 §4.3), then "OK Move completed.".
   When every message of the set that the session knows was expunged by
   another session meanwhile, the answer is "NO [EXPUNGEISSUED]" (RFC
   9051 §7.1, Dovecot); a UID set naming no known message stays "OK". */
#include "imapd/imapd_commands.h"

#include <inttypes.h>
#include <stdlib.h>

#include "imap/imap_seqset.h"
#include "imapd/imapd_msgset.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

struct imapd_copy_job {
	int64_t src_id;
	char *dst_name;
	bool move;
	struct store_range *ranges;
	size_t n_ranges;
	bool known;		/* the set names messages of the view */
	int64_t dst_id;
	uint32_t dst_uidvalidity;
	uint32_t *src_uids, *dst_uids;
	size_t n_uids, cap_uids;
	int status;
	char *error;
};

static void
imapd_copy_map_cb(uint32_t src_uid, uint32_t dst_uid, void *ctx)
{
	struct imapd_copy_job *job = ctx;

	if (job->n_uids == job->cap_uids) {
		job->cap_uids = job->cap_uids == 0 ? 16 : job->cap_uids * 2;
		job->src_uids = xreallocarray(job->src_uids, job->cap_uids,
		    sizeof(*job->src_uids));
		job->dst_uids = xreallocarray(job->dst_uids, job->cap_uids,
		    sizeof(*job->dst_uids));
	}
	job->src_uids[job->n_uids] = src_uid;
	job->dst_uids[job->n_uids++] = dst_uid;
}

static void
imapd_copy_work(struct store *store, void *ctx)
{
	struct imapd_copy_job *job = ctx;
	struct store_mailbox dst;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_mailbox_get(store, job->dst_name, &dst);
	if (job->status == STORE_OK) {
		job->dst_id = dst.id;
		job->dst_uidvalidity = dst.uidvalidity;
		store_mailbox_clear(&dst);
		job->status = store_copy(store, job->src_id, job->ranges,
		    job->n_ranges, job->dst_id, job->move, imapd_copy_map_cb,
		    job);
	}
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

/* Whether a UID of the view lies in ranges: a bisection per range. */
static bool
imapd_copy_known(const struct imapd_selected *sel,
    const struct store_range *ranges, size_t n_ranges)
{
	for (size_t k = 0; k < n_ranges; k++) {
		size_t lo = 0, hi = sel->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (sel->uids[mid] < ranges[k].lo)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < sel->n && sel->uids[lo] <= ranges[k].hi)
			return true;
	}
	return false;
}

static void
imapd_copy_job_free(struct imapd_copy_job *job)
{
	free(job->dst_name);
	free(job->ranges);
	free(job->src_uids);
	free(job->dst_uids);
	free(job->error);
	free(job);
}

static void
imapd_copy_finish(struct imapd_session *s, struct imapd_copy_job *job)
{
	unsigned done = IMAPD_DONE_EXPUNGE_OK;
	struct buf code;

	if (job->move || (s->sel != NULL && job->dst_id == s->sel->mailbox_id))
		done |= IMAPD_DONE_SYNC;
	if (job->n_uids == 0 && job->known) {
		imapd_command_done(s, done, "NO [EXPUNGEISSUED] Some of the "
		    "requested messages no longer exist.");
		return;
	}
	if (job->n_uids == 0) {
		/* Nothing matched (UID sets may name no message): no
		   COPYUID (RFC 4315 §3). */
		imapd_command_done(s, done, "OK No messages found.");
		return;
	}
	buf_init(&code, 0);
	buf_printf(&code, "COPYUID %" PRIu32 " ", job->dst_uidvalidity);
	imap_seqset_write_list(job->src_uids, job->n_uids, &code);
	buf_append_str(&code, " ");
	imap_seqset_write_list(job->dst_uids, job->n_uids, &code);
	if (job->move) {
		imapd_reply(s, "* OK [%s] Moved UIDs.", code.data);
		imapd_command_done(s, done, "OK Move completed.");
	} else {
		imapd_command_done(s, done, "OK [%s] Copy completed.",
		    code.data);
	}
	buf_clear(&code);
}

static void
imapd_copy_done(struct imapd_session *s, void *ctx)
{
	struct imapd_copy_job *job = ctx;

	if (imapd_session_is_gone(s))
		goto out;
	if (job->status == STORE_NOT_FOUND && job->dst_id == 0)
		/* RFC 9051 §6.4.7: the client may CREATE and retry. */
		imapd_command_done(s, 0,
		    "NO [TRYCREATE] Mailbox doesn't exist.");
	else if (job->status != STORE_OK)
		imapd_command_store_error(s, job->status, job->error);
	else
		imapd_copy_finish(s, job);
out:
	imapd_copy_job_free(job);
}

static void
imapd_copy_start(struct imapd_session *s, const struct imap_arg *args,
    size_t n, bool move)
{
	struct imapd_copy_job *job;
	struct store_range *ranges;
	size_t n_ranges;
	char *dst;

	if (n != 2 || !imap_arg_is_astring(&args[1])) {
		imapd_command_bad(s, "Invalid arguments.");
		return;
	}
	if (imapd_msgset_arg(s, &args[0], &ranges, &n_ranges) == -1)
		return;
	if (move && s->sel->readonly) {
		free(ranges);
		imapd_command_done(s, 0,
		    "NO [READ-ONLY] Mailbox is read-only.");
		return;
	}
	if ((dst = imapd_mailbox_arg(s, &args[1])) == NULL) {
		free(ranges);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->src_id = s->sel->mailbox_id;
	job->dst_name = dst;
	job->move = move;
	job->ranges = ranges;
	job->n_ranges = n_ranges;
	job->known = imapd_copy_known(s->sel, ranges, n_ranges);
	if (n_ranges == 0) {
		/* No store call: no ranges would mean every message. */
		imapd_copy_finish(s, job);
		imapd_copy_job_free(job);
		return;
	}
	imapd_job_submit(s, imapd_copy_work, imapd_copy_done, job);
}

void
imapd_cmd_copy(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	imapd_copy_start(s, args, n, false);
}

void
imapd_cmd_move(struct imapd_session *s, const struct imap_arg *args, size_t n)
{
	imapd_copy_start(s, args, n, true);
}
