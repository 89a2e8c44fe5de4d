/* cmd_store.c — STORE and UID STORE (RFC 9051 §6.4.6) with CONDSTORE's
   UNCHANGEDSINCE (RFC 7162 §3.1.3).

   The answer is one "* n FETCH (FLAGS (...))" per message that changed
   (UID for UID STORE, MODSEQ once CONDSTORE is on); .SILENT sends none,
   except that with UNCHANGEDSINCE the client still learns each new
   MODSEQ (RFC 7162 §3.1.3 example). Either way the session notes what it
   told (imapd_selected_reported), so its next synchronisation does not
   repeat the change as if another session had made it. Messages that
   failed UNCHANGEDSINCE go into "OK [MODIFIED set]". */
#include "imapd/imapd_commands.h"

#include <inttypes.h>
#include <stdlib.h>

#include "imap/imap_seqset.h"
#include "imap/imap_write.h"
#include "imapd/imapd_msgset.h"
#include "imapd/imapd_private.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

struct imapd_store_changed {
	uint32_t uid;
	unsigned flags;
	char *keywords;
	uint64_t modseq;
};

struct imapd_store_job {
	int64_t mailbox_id;
	struct store_range *ranges;
	size_t n_ranges;
	enum store_flags_op op;
	unsigned flags;
	char *keywords;			/* NULL: none */
	bool silent;
	bool conditional;		/* UNCHANGEDSINCE given */
	uint64_t unchangedsince;
	struct imapd_store_changed *changed;
	size_t n_changed, cap_changed;
	uint32_t *failed;		/* UIDs, ascending */
	size_t n_failed;
	int status;
	char *error;
};

static void
imapd_store_changed_cb(uint32_t uid, unsigned flags, const char *keywords,
    uint64_t modseq, void *ctx)
{
	struct imapd_store_job *job = ctx;

	if (job->n_changed == job->cap_changed) {
		job->cap_changed = job->cap_changed == 0 ? 16 :
		    job->cap_changed * 2;
		job->changed = xreallocarray(job->changed, job->cap_changed,
		    sizeof(*job->changed));
	}
	job->changed[job->n_changed++] = (struct imapd_store_changed){
		.uid = uid, .flags = flags,
		.keywords = xstrdup(keywords != NULL ? keywords : ""),
		.modseq = modseq,
	};
}

static void
imapd_store_work(struct store *store, void *ctx)
{
	struct imapd_store_job *job = ctx;

	/* The account's store could not be opened (logged by the job). */
	if (store == NULL) {
		job->status = STORE_IO;
		return;
	}
	job->status = store_flags(store, job->mailbox_id, job->ranges,
	    job->n_ranges, job->op, job->flags, job->keywords,
	    job->unchangedsince, imapd_store_changed_cb, job, &job->failed,
	    &job->n_failed);
	if (job->status != STORE_OK)
		job->error = xstrdup(store_error(store));
}

static void
imapd_store_job_free(struct imapd_store_job *job)
{
	for (size_t i = 0; i < job->n_changed; i++)
		free(job->changed[i].keywords);
	free(job->changed);
	free(job->failed);
	free(job->ranges);
	free(job->keywords);
	free(job->error);
	free(job);
}

/* The untagged FETCH answers, noting each as told. */
static void
imapd_store_answer(struct imapd_session *s, struct imapd_store_job *job,
    struct buf *out)
{
	struct imapd_selected *sel = s->sel;

	for (size_t i = 0; i < job->n_changed; i++) {
		const struct imapd_store_changed *c = &job->changed[i];
		uint32_t seq = imapd_selected_seq(sel, c->uid);
		const char *sep = "";

		/* A UID the view does not hold yet (UID STORE on a new
		   arrival): the sync announces it with its flags. */
		if (seq == 0)
			continue;
		imapd_selected_reported(sel, c->uid, c->modseq);
		if (job->silent && !job->conditional)
			continue;
		buf_printf(out, "* %" PRIu32 " FETCH (", seq);
		if (!job->silent) {
			buf_append_str(out, "FLAGS ");
			/* RFC 9051 has no \Recent: only rev1 hears it. */
			imap_write_flags(out, c->flags, c->keywords,
			    !s->rev2 && imapd_selected_is_recent(sel,
			    c->uid));
			sep = " ";
		}
		if (s->uid) {
			buf_printf(out, "%sUID %" PRIu32, sep, c->uid);
			sep = " ";
		}
		if (s->condstore)
			buf_printf(out, "%sMODSEQ (%" PRIu64 ")", sep,
			    c->modseq);
		buf_append_str(out, ")\r\n");
	}
}

/* "[MODIFIED set]": UIDs for UID STORE, sequence numbers for STORE. */
static void
imapd_store_modified(struct imapd_session *s, const uint32_t *uids,
    size_t n, struct buf *out)
{
	uint32_t *seqs = NULL;
	size_t n_seqs = 0;

	if (s->uid) {
		imap_seqset_write_list(uids, n, out);
		return;
	}
	seqs = xreallocarray(NULL, n, sizeof(*seqs));
	for (size_t i = 0; i < n; i++) {
		uint32_t seq = imapd_selected_seq(s->sel, uids[i]);

		if (seq != 0)
			seqs[n_seqs++] = seq;	/* ascending, as the UIDs */
	}
	imap_seqset_write_list(seqs, n_seqs, out);
	free(seqs);
}

static void
imapd_store_finish(struct imapd_session *s, struct imapd_store_job *job)
{
	/* Non-UID STORE keeps sequence numbers stable (RFC 9051 §7.5.1). */
	unsigned done = IMAPD_DONE_SYNC | (s->uid ? IMAPD_DONE_EXPUNGE_OK : 0);
	struct buf out, set;

	buf_init(&out, 0);
	buf_init(&set, 0);
	imapd_store_answer(s, job, &out);
	if (out.len > 0)
		imapd_write(s, out.data, out.len);
	if (job->n_failed > 0) {
		imapd_store_modified(s, job->failed, job->n_failed, &set);
		imapd_command_done(s, done,
		    "OK [MODIFIED %s] Conditional STORE failed.", set.data);
	} else {
		imapd_command_done(s, done, "OK Store completed.");
	}
	buf_clear(&set);
	buf_clear(&out);
}

static void
imapd_store_done(struct imapd_session *s, void *ctx)
{
	struct imapd_store_job *job = ctx;

	if (!imapd_session_is_gone(s)) {
		if (job->status == STORE_INVALID)
			/* Keywords the store refuses (length, count). */
			imapd_command_done(s, 0,
			    "NO [CANNOT] Invalid keywords.");
		else if (job->status != STORE_OK)
			imapd_command_store_error(s, job->status, job->error);
		else
			imapd_store_finish(s, job);
	}
	imapd_store_job_free(job);
}

/* "FLAGS", "+FLAGS.SILENT", ...: 0 with the operation, or -1. */
static int
imapd_store_item(const struct imap_arg *arg, enum store_flags_op *op_r,
    bool *silent_r)
{
	static const struct {
		const char *name;
		enum store_flags_op op;
		bool silent;
	} items[] = {
		{ "FLAGS", STORE_FLAGS_SET, false },
		{ "FLAGS.SILENT", STORE_FLAGS_SET, true },
		{ "+FLAGS", STORE_FLAGS_ADD, false },
		{ "+FLAGS.SILENT", STORE_FLAGS_ADD, true },
		{ "-FLAGS", STORE_FLAGS_REMOVE, false },
		{ "-FLAGS.SILENT", STORE_FLAGS_REMOVE, true },
	};

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		if (imap_arg_is_atom(arg, items[i].name)) {
			*op_r = items[i].op;
			*silent_r = items[i].silent;
			return 0;
		}
	}
	return -1;
}

/* "(UNCHANGEDSINCE n)": 0, or -1. */
static int
imapd_store_modifiers(const struct imap_arg *arg, uint64_t *since_r)
{
	if (arg->n_list != 2 ||
	    !imap_arg_is_atom(&arg->list[0], "UNCHANGEDSINCE"))
		return -1;
	return imap_arg_number64(&arg->list[1], since_r);
}

/* UNCHANGEDSINCE 0 fails every message without a store call (RFC 7162
   §3.1.3: no message has a MODSEQ of 0). */
static void
imapd_store_all_fail(struct imapd_session *s, struct imapd_store_job *job)
{
	job->failed = imapd_msgset_view_uids(s, job->ranges, job->n_ranges,
	    &job->n_failed);
	imapd_store_finish(s, job);
	imapd_store_job_free(job);
}

void
imapd_cmd_store(struct imapd_session *s, const struct imap_arg *args,
    size_t n)
{
	struct imapd_store_job *job = xcalloc(1, sizeof(*job));
	const struct imap_arg *flags;
	const char *error;
	struct buf kw;
	size_t i = 1, n_flags;

	buf_init(&kw, 0);
	if (n >= 2 && args[1].type == IMAP_ARG_LIST) {
		if (imapd_store_modifiers(&args[1], &job->unchangedsince) ==
		    -1) {
			imapd_command_bad(s, "Invalid STORE modifiers.");
			goto fail;
		}
		job->conditional = true;
		i++;
	}
	if (n < i + 2 || imapd_store_item(&args[i], &job->op,
	    &job->silent) == -1) {
		imapd_command_bad(s, "Invalid arguments.");
		goto fail;
	}
	i++;
	/* A flag list, or flags without parentheses (RFC 3501 §9). */
	flags = &args[i];
	n_flags = n - i;
	if (n_flags == 1 && flags->type == IMAP_ARG_LIST) {
		n_flags = flags->n_list;
		flags = flags->list;
	}
	if (imap_arg_flags(flags, n_flags, &job->flags, &kw, &error) == -1) {
		imapd_command_bad(s, "%s.", error);
		goto fail;
	}
	if (imapd_msgset_arg(s, &args[0], &job->ranges, &job->n_ranges) == -1)
		goto fail;
	if (s->sel->readonly) {
		imapd_command_done(s, 0,
		    "NO [READ-ONLY] Mailbox is read-only.");
		goto fail;
	}
	if (job->conditional)
		imapd_condstore_enable(s);	/* RFC 7162 §3.1 */
	job->keywords = kw.len > 0 ? buf_steal(&kw) : NULL;
	buf_clear(&kw);
	job->mailbox_id = s->sel->mailbox_id;
	if (job->conditional && job->unchangedsince == 0) {
		imapd_store_all_fail(s, job);
		return;
	}
	if (job->n_ranges == 0) {
		imapd_store_finish(s, job);
		imapd_store_job_free(job);
		return;
	}
	imapd_job_submit(s, imapd_store_work, imapd_store_done, job);
	return;
fail:
	buf_clear(&kw);
	imapd_store_job_free(job);
}
